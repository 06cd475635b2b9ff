package dev.cairn.sdk;

import java.util.List;
import java.util.Map;

/**
 * A registered model of the model registry.
 *
 * @param id its id
 * @param name its unique name in the workspace
 * @param description its description (may be null)
 * @param tags its tags
 * @param aliases alias → version number
 * @param latestVersions the newest version per stage
 * @param createdAt Unix epoch milliseconds
 */
public record RegisteredModel(
    String id,
    String name,
    String description,
    Map<String, String> tags,
    Map<String, Integer> aliases,
    List<ModelVersion> latestVersions,
    long createdAt) {}
