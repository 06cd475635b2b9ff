package dev.cairn.sdk;

/**
 * One metric point. {@code value} may be NaN or infinite (sent as the strings {@code "NaN"},
 * {@code "Infinity"}, {@code "-Infinity"}).
 *
 * @param key the metric's key
 * @param value the value
 * @param step the step (0 when not given)
 * @param timestamp Unix epoch milliseconds
 */
public record Metric(String key, double value, long step, long timestamp) {}
