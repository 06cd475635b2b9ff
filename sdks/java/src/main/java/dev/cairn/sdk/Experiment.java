package dev.cairn.sdk;

import java.util.Map;

/**
 * An experiment.
 *
 * @param id the experiment id
 * @param name its unique name in the workspace
 * @param artifactLocation where its runs' artifacts live
 * @param lifecycleStage {@code ACTIVE} or {@code DELETED}
 * @param createdAt Unix epoch milliseconds
 * @param tags its tags
 */
public record Experiment(
    String id,
    String name,
    String artifactLocation,
    String lifecycleStage,
    long createdAt,
    Map<String, String> tags) {}
