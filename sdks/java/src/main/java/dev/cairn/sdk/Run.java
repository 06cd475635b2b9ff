package dev.cairn.sdk;

import java.util.Map;

/**
 * A run as the server has it: params and tags as maps, and the latest point of each metric.
 *
 * @param id the run id
 * @param name the run name
 * @param experimentId the experiment it belongs to
 * @param status {@code RUNNING}, {@code FINISHED}, {@code FAILED}, {@code KILLED} or {@code
 *     SCHEDULED}
 * @param startTime Unix epoch milliseconds
 * @param endTime Unix epoch milliseconds, null while the run is not ended
 * @param lifecycleStage {@code ACTIVE} or {@code DELETED}
 * @param params the params, by key (in key order)
 * @param tags the tags, by key (in key order)
 * @param latestMetrics the latest point of each metric, by key
 */
public record Run(
    String id,
    String name,
    String experimentId,
    String status,
    long startTime,
    Long endTime,
    String lifecycleStage,
    Map<String, String> params,
    Map<String, String> tags,
    Map<String, Metric> latestMetrics) {

  /** The latest value of a metric, or null when the run has none under that key. */
  public Double latestMetric(String key) {
    Metric m = latestMetrics.get(key);
    return m == null ? null : m.value();
  }
}
