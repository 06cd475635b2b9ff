package dev.cairn.sdk;

/**
 * An artifact the server stored.
 *
 * @param path its path relative to the run's artifact root
 * @param size its size in bytes
 * @param sha256 the sha256 of its content, as the server computed it (hex)
 */
public record ArtifactInfo(String path, long size, String sha256) {}
