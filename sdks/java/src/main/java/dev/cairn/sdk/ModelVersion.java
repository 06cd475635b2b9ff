package dev.cairn.sdk;

import java.util.List;
import java.util.Map;

/**
 * One version of a registered model.
 *
 * @param id its id
 * @param modelName the registered model's name
 * @param version the version number (1, 2, ...)
 * @param source where the model's files are: an artifact of a run ({@code runs:/<runId>/<path>})
 * @param runId the run that produced it (may be null)
 * @param description its description (may be null)
 * @param stage {@code None}, {@code Staging}, {@code Production} or {@code Archived}
 * @param status {@code READY} once registered
 * @param aliases the aliases pointing at this version
 * @param tags its tags
 * @param createdAt Unix epoch milliseconds
 */
public record ModelVersion(
    String id,
    String modelName,
    int version,
    String source,
    String runId,
    String description,
    String stage,
    String status,
    List<String> aliases,
    Map<String, String> tags,
    long createdAt) {}
