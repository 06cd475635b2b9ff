package dev.cairn.sdk;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A client of one Cairn server: tracking (experiments, runs, params, metrics, tags), the model
 * registry, prompts and artifacts, over Cairn's public GraphQL API ({@code POST /graphql}).
 *
 * <pre>{@code
 * try (CairnClient cairn = CairnClient.builder().trackingUri("http://127.0.0.1:4680").build()) {
 *   String exp = cairn.createExperiment("churn");
 *   Run run = cairn.createRun(exp, "baseline");
 *   cairn.logParam(run.id(), "lr", "0.01");
 *   for (int step = 0; step < 100; step++) cairn.logMetric(run.id(), "loss", 1.0 / (step + 1), step);
 *   cairn.flush();
 * }
 * }</pre>
 *
 * <p>{@code logMetric} returns at once: points go to a bounded queue that a daemon thread sends
 * with {@code logBatch}; {@link #flush()} blocks until they are acknowledged (and raises a
 * failed batch's error), {@link #close()} flushes. Everything else is sent at once. Errors are
 * {@link CairnException}s with the server's code; {@code UNAVAILABLE} and HTTP 429 answers are
 * retried. Thread-safe.
 */
public final class CairnClient implements AutoCloseable {
  /** The SDK's version. */
  public static final String VERSION = "0.1.0";

  private static final int MAX_HISTORY_POINTS = 100_000;

  private final Transport transport;
  private final Batcher batcher;
  private final Artifacts artifacts;
  private final String apiKey;
  private final String workspace;
  private final Duration flushTimeout;

  private CairnClient(Builder b) {
    String uri = b.trackingUri;
    while (uri.endsWith("/")) {
      uri = uri.substring(0, uri.length() - 1);
    }
    this.apiKey = b.apiKey;
    this.workspace = b.workspace;
    this.transport =
        new Transport(
            uri, b.apiKey, b.workspace, b.requestTimeout, b.retryTimeout, b.backoffInitial, b.backoffMax);
    this.batcher =
        new Batcher(transport, b.maxQueue, b.batchSize, b.flushInterval, b.batchRetryTimeout);
    this.artifacts = new Artifacts(transport, b.multipartThreshold);
    this.flushTimeout = b.batchRetryTimeout.plusSeconds(60);
  }

  /**
   * A builder; defaults come from {@code CAIRN_TRACKING_URI} (else {@code
   * http://127.0.0.1:4680}), {@code CAIRN_API_KEY} and {@code CAIRN_WORKSPACE}.
   *
   * @return a new builder
   */
  public static Builder builder() {
    return new Builder();
  }

  /** Options of a {@link CairnClient}. */
  public static final class Builder {
    private String trackingUri = envOr("CAIRN_TRACKING_URI", "http://127.0.0.1:4680");
    private String apiKey = envOr("CAIRN_API_KEY", null);
    private String workspace = envOr("CAIRN_WORKSPACE", null);
    private Duration requestTimeout = Duration.ofSeconds(60);
    private Duration retryTimeout = Duration.ofSeconds(120);
    private Duration batchRetryTimeout = Duration.ofSeconds(600);
    private Duration backoffInitial = Duration.ofMillis(250);
    private Duration backoffMax = Duration.ofSeconds(10);
    private Duration flushInterval = Duration.ofSeconds(1);
    private int batchSize = 10_000;
    private int maxQueue = 200_000;
    private long multipartThreshold = 64L << 20;

    private Builder() {}

    /**
     * The server's base URL, e.g. {@code http://127.0.0.1:4680}.
     *
     * @param uri the URL
     * @return this builder
     */
    public Builder trackingUri(String uri) {
      if (uri == null || !(uri.startsWith("http://") || uri.startsWith("https://"))) {
        throw CairnException.invalid("trackingUri must be an http:// or https:// URL, got " + uri);
      }
      this.trackingUri = uri;
      return this;
    }

    /**
     * The API key sent as {@code Authorization: Bearer <key>} (default: {@code CAIRN_API_KEY}).
     *
     * @param key the key, or null for none
     * @return this builder
     */
    public Builder apiKey(String key) {
      this.apiKey = key;
      return this;
    }

    /**
     * The workspace, sent as {@code x-cairn-workspace} (default: {@code CAIRN_WORKSPACE}, else
     * the key's or server's default workspace).
     *
     * @param workspace the workspace id
     * @return this builder
     */
    public Builder workspace(String workspace) {
      this.workspace = workspace;
      return this;
    }

    /**
     * How long one HTTP request may take (default 60 s).
     *
     * @param d the timeout
     * @return this builder
     */
    public Builder requestTimeout(Duration d) {
      this.requestTimeout = d;
      return this;
    }

    /**
     * How long calls on the caller's thread are retried while the server is unavailable (default
     * 120 s).
     *
     * @param d the window
     * @return this builder
     */
    public Builder retryTimeout(Duration d) {
      this.retryTimeout = d;
      return this;
    }

    /**
     * How long a background batch is retried (default 600 s).
     *
     * @param d the window
     * @return this builder
     */
    public Builder batchRetryTimeout(Duration d) {
      this.batchRetryTimeout = d;
      return this;
    }

    /**
     * Backoff between retries: first delay and cap (defaults 250 ms and 10 s).
     *
     * @param initial the first delay
     * @param max the longest delay
     * @return this builder
     */
    public Builder backoff(Duration initial, Duration max) {
      this.backoffInitial = initial;
      this.backoffMax = max;
      return this;
    }

    /**
     * How long the background thread waits for a full batch (default 1 s).
     *
     * @param d the interval
     * @return this builder
     */
    public Builder flushInterval(Duration d) {
      this.flushInterval = d;
      return this;
    }

    /**
     * Metric points per {@code logBatch} request (default 10,000, at most 50,000).
     *
     * @param n the batch size
     * @return this builder
     */
    public Builder batchSize(int n) {
      this.batchSize = n;
      return this;
    }

    /**
     * Points the queue holds before {@code logMetric} blocks (default 200,000).
     *
     * @param n the capacity
     * @return this builder
     */
    public Builder maxQueue(int n) {
      this.maxQueue = n;
      return this;
    }

    /**
     * Files of this many bytes or more are uploaded in parts (default 64 MiB).
     *
     * @param bytes the threshold
     * @return this builder
     */
    public Builder multipartThreshold(long bytes) {
      this.multipartThreshold = bytes;
      return this;
    }

    /**
     * Builds the client (starts its background thread).
     *
     * @return the client
     */
    public CairnClient build() {
      return new CairnClient(this);
    }
  }

  /**
   * The server's base URL.
   *
   * @return the tracking URI, without a trailing slash
   */
  public String trackingUri() {
    return transport.trackingUri;
  }

  /**
   * The API key in use (null when none); used by the tracing setup.
   *
   * @return the key
   */
  public String apiKey() {
    return apiKey;
  }

  /**
   * The workspace sent with each request (null when none).
   *
   * @return the workspace id
   */
  public String workspace() {
    return workspace;
  }

  /**
   * Runs any GraphQL operation and returns its {@code data} (for what the SDK has no method for).
   *
   * @param query the document
   * @param variables its variables
   * @return the {@code data} object
   */
  public JsonNode execute(String query, Map<String, ?> variables) {
    return transport.execute(query, variables);
  }

  // ------------------------------------------------------------------ experiments and runs

  /**
   * Creates an experiment (names are unique per workspace: {@code ALREADY_EXISTS}).
   *
   * @param name the experiment's name
   * @return its id
   */
  public String createExperiment(String name) {
    Validation.notNull("experiment name", name);
    return transport.execute(Queries.CREATE_EXPERIMENT, Map.of("name", name))
        .get("createExperiment")
        .get("id")
        .asText();
  }

  /**
   * The experiment with this name, or null.
   *
   * @param name the name
   * @return the experiment or null
   */
  public Experiment getExperimentByName(String name) {
    JsonNode n = transport.execute(Queries.EXPERIMENT_BY_NAME, Map.of("name", name)).get("experimentByName");
    if (n == null || n.isNull()) {
      return null;
    }
    return new Experiment(
        n.path("id").asText(),
        n.path("name").asText(),
        text(n, "artifactLocation"),
        n.path("lifecycleStage").asText(),
        n.path("createdAt").asLong(),
        keyValues(n.path("tags")));
  }

  /**
   * Starts a RUNNING run in an experiment.
   *
   * @param experimentId the experiment
   * @param name the run's name (null: the server picks one)
   * @return the new run
   */
  public Run createRun(String experimentId, String name) {
    return createRun(experimentId, name, Map.of());
  }

  /**
   * Starts a RUNNING run with tags.
   *
   * @param experimentId the experiment
   * @param name the run's name (null: the server picks one)
   * @param tags tags set at creation
   * @return the new run
   */
  public Run createRun(String experimentId, String name, Map<String, String> tags) {
    Validation.notNull("experimentId", experimentId);
    Map<String, Object> vars = new HashMap<>();
    vars.put("experimentId", experimentId);
    vars.put("name", name);
    vars.put("startTime", System.currentTimeMillis());
    if (tags != null && !tags.isEmpty()) {
      vars.put("tags", kvInput(tags));
    }
    return run(transport.execute(Queries.CREATE_RUN, vars).get("createRun"));
  }

  /**
   * Logs a param (sent at once; params are immutable: another value is {@code
   * INVALID_ARGUMENT}).
   *
   * @param runId the run
   * @param key the key
   * @param value the value
   */
  public void logParam(String runId, String key, String value) {
    Validation.key("param", key);
    transport.execute(
        Queries.LOG_PARAM,
        Map.of("runId", Validation.notNull("runId", runId), "key", key, "value", Validation.notNull("value", value)));
  }

  /**
   * Sets a tag (sent at once).
   *
   * @param runId the run
   * @param key the key
   * @param value the value
   */
  public void setTag(String runId, String key, String value) {
    Validation.key("tag", key);
    transport.execute(
        Queries.SET_TAG,
        Map.of("runId", Validation.notNull("runId", runId), "key", key, "value", Validation.notNull("value", value)));
  }

  /**
   * Queues a metric point at step 0, now.
   *
   * @param runId the run
   * @param key the key
   * @param value the value
   */
  public void logMetric(String runId, String key, double value) {
    logMetric(runId, key, value, 0, System.currentTimeMillis());
  }

  /**
   * Queues a metric point, now.
   *
   * @param runId the run
   * @param key the key
   * @param value the value
   * @param step the step
   */
  public void logMetric(String runId, String key, double value, long step) {
    logMetric(runId, key, value, step, System.currentTimeMillis());
  }

  /**
   * Queues a metric point; returns at once (blocks only while the queue is full). The key is
   * checked here; errors from the server are raised by the next {@link #flush()}.
   *
   * @param runId the run
   * @param key the key
   * @param value the value (NaN and infinities are allowed)
   * @param step the step
   * @param timestamp Unix epoch milliseconds
   */
  public void logMetric(String runId, String key, double value, long step, long timestamp) {
    Validation.notNull("runId", runId);
    Validation.key("metric", key);
    batcher.add(new Batcher.Point(runId, key, value, step, timestamp));
  }

  /**
   * Blocks until every metric point queued before the call is acknowledged by the server.
   *
   * @throws CairnException the error of a background batch that failed since the last flush
   */
  public void flush() {
    batcher.flush(flushTimeout);
  }

  /**
   * Ends a run (flushes its queued points first).
   *
   * @param runId the run
   * @param status {@code FINISHED}, {@code FAILED} or {@code KILLED}
   * @return the ended run
   */
  public Run endRun(String runId, String status) {
    flush();
    Map<String, Object> vars = new HashMap<>();
    vars.put("runId", runId);
    vars.put("status", status == null ? "FINISHED" : status);
    vars.put("endTime", System.currentTimeMillis());
    return run(transport.execute(Queries.UPDATE_RUN, vars).get("updateRun"));
  }

  /**
   * Ends a run as FINISHED.
   *
   * @param runId the run
   * @return the ended run
   */
  public Run endRun(String runId) {
    return endRun(runId, "FINISHED");
  }

  /**
   * A run with its params, tags and latest metrics.
   *
   * @param runId the run
   * @return the run
   * @throws CairnException NOT_FOUND when there is no such run
   */
  public Run getRun(String runId) {
    JsonNode n = transport.execute(Queries.GET_RUN, Map.of("id", runId)).get("run");
    if (n == null || n.isNull()) {
      throw new CairnException("NOT_FOUND", "Run " + runId + " not found");
    }
    return run(n);
  }

  /**
   * Every point of a metric, ordered by step (read in step ranges when longer than one answer).
   *
   * @param runId the run
   * @param key the metric's key
   * @return the points
   */
  public List<Metric> getMetricHistory(String runId, String key) {
    return fullHistory(runId, key, null, null);
  }

  private List<Metric> history(String runId, String key, Long start, Long end) {
    Map<String, Object> vars = new HashMap<>();
    vars.put("id", runId);
    vars.put("key", key);
    vars.put("maxPoints", MAX_HISTORY_POINTS);
    vars.put("startStep", start);
    vars.put("endStep", end);
    JsonNode run = transport.execute(Queries.METRIC_HISTORY, vars).get("run");
    if (run == null || run.isNull()) {
      throw new CairnException("NOT_FOUND", "Run " + runId + " not found");
    }
    List<Metric> out = new ArrayList<>();
    for (JsonNode p : run.get("metricHistory")) {
      out.add(new Metric(key, decodeValue(p.get("value")), p.path("step").asLong(), p.path("timestamp").asLong()));
    }
    return out;
  }

  private List<Metric> fullHistory(String runId, String key, Long start, Long end) {
    // The server downsamples above maxPoints; only an answer under half the limit is provably
    // complete. Longer ones are re-read in two step ranges (recursively).
    List<Metric> points = history(runId, key, start, end);
    int completeBelow = (MAX_HISTORY_POINTS - 2) / 2;
    if (points.size() < completeBelow) {
      return points;
    }
    long lo = points.get(0).step();
    long hi = points.get(points.size() - 1).step();
    if (lo >= hi) {
      return points;
    }
    long mid = points.get(points.size() / 2).step();
    if (mid >= hi) {
      mid = lo + (hi - lo) / 2;
    }
    List<Metric> out = new ArrayList<>(fullHistory(runId, key, lo, mid));
    out.addAll(fullHistory(runId, key, mid + 1, hi));
    return out;
  }

  /**
   * Runs of the experiments matching {@code filter} (docs/search.md), in {@code orderBy} order.
   *
   * @param experimentIds the experiments
   * @param filter e.g. {@code metrics.loss < 0.1 AND params.opt = 'adam'} (null: all)
   * @param orderBy e.g. {@code metrics.loss ASC} (null: newest first)
   * @param maxResults at most this many runs (pages are followed)
   * @return the runs
   */
  public List<Run> searchRuns(List<String> experimentIds, String filter, List<String> orderBy, int maxResults) {
    List<Run> out = new ArrayList<>();
    String after = null;
    while (out.size() < maxResults) {
      Map<String, Object> vars = new HashMap<>();
      vars.put("experimentIds", experimentIds);
      vars.put("first", Math.max(1, Math.min(1000, maxResults - out.size())));
      vars.put("after", after);
      vars.put("filter", filter == null || filter.isBlank() ? null : filter);
      vars.put("orderBy", orderBy == null || orderBy.isEmpty() ? null : orderBy);
      JsonNode runs = transport.execute(Queries.SEARCH_RUNS, vars).get("runs");
      for (JsonNode n : runs.get("nodes")) {
        out.add(run(n));
      }
      JsonNode info = runs.get("pageInfo");
      if (!info.path("hasNextPage").asBoolean() || info.path("endCursor").isNull()) {
        break;
      }
      after = info.get("endCursor").asText();
    }
    return out;
  }

  /**
   * Up to 1,000 runs matching {@code filter}.
   *
   * @param experimentIds the experiments
   * @param filter the filter (null: all)
   * @param orderBy the order (null: newest first)
   * @return the runs
   */
  public List<Run> searchRuns(List<String> experimentIds, String filter, List<String> orderBy) {
    return searchRuns(experimentIds, filter, orderBy, 1000);
  }

  // ------------------------------------------------------------------ artifacts

  /**
   * Uploads a file to {@code artifactPath} of the run, streamed from disk with its sha256 checked
   * by the server (in parts above the multipart threshold).
   *
   * @param runId the run
   * @param file the local file
   * @param artifactPath the relative POSIX path under the run's artifact root
   * @return what the server stored
   */
  public ArtifactInfo logArtifact(String runId, Path file, String artifactPath) {
    return artifacts.upload(runId, file, artifactPath);
  }

  /**
   * Uploads bytes to {@code artifactPath} of the run.
   *
   * @param runId the run
   * @param content the bytes
   * @param artifactPath the relative POSIX path
   * @return what the server stored
   */
  public ArtifactInfo logArtifact(String runId, byte[] content, String artifactPath) {
    return artifacts.upload(runId, content, artifactPath);
  }

  /**
   * Uploads a UTF-8 text to {@code artifactPath} of the run.
   *
   * @param runId the run
   * @param text the text
   * @param artifactPath the relative POSIX path
   * @return what the server stored
   */
  public ArtifactInfo logText(String runId, String text, String artifactPath) {
    return artifacts.upload(runId, text.getBytes(StandardCharsets.UTF_8), artifactPath);
  }

  // ------------------------------------------------------------------ model registry

  /**
   * Creates a registered model.
   *
   * @param name its unique name
   * @return the model
   */
  public RegisteredModel createRegisteredModel(String name) {
    Map<String, Object> vars = new HashMap<>();
    vars.put("name", name);
    return registeredModel(transport.execute(Queries.CREATE_REGISTERED_MODEL, vars).get("createRegisteredModel"));
  }

  /**
   * A registered model.
   *
   * @param name its name
   * @return the model
   * @throws CairnException NOT_FOUND when there is none
   */
  public RegisteredModel getRegisteredModel(String name) {
    JsonNode n = transport.execute(Queries.REGISTERED_MODEL, Map.of("name", name)).get("registeredModel");
    if (n == null || n.isNull()) {
      throw new CairnException("NOT_FOUND", "Registered model '" + name + "' not found");
    }
    return registeredModel(n);
  }

  /**
   * Registers a new version of a model from a run's artifact.
   *
   * @param name the registered model
   * @param source {@code runs:/<runId>/<artifact path>}
   * @param runId the run (may be null when the source names it)
   * @return the new version
   */
  public ModelVersion createModelVersion(String name, String source, String runId) {
    Map<String, Object> vars = new HashMap<>();
    vars.put("name", name);
    vars.put("source", source);
    vars.put("runId", runId);
    return modelVersion(transport.execute(Queries.CREATE_MODEL_VERSION, vars).get("createModelVersion"));
  }

  /**
   * Points an alias at a version (moving it when it exists).
   *
   * @param name the registered model
   * @param alias the alias
   * @param version the version number
   * @return the version the alias now names
   */
  public ModelVersion setModelAlias(String name, String alias, int version) {
    return modelVersion(
        transport.execute(Queries.SET_MODEL_ALIAS, Map.of("name", name, "alias", alias, "version", version))
            .get("setModelAlias"));
  }

  /**
   * The version an alias names.
   *
   * @param name the registered model
   * @param alias the alias
   * @return the version
   */
  public ModelVersion getModelVersionByAlias(String name, String alias) {
    return resolveModelUri("models:/" + name + "@" + alias);
  }

  /**
   * The version a {@code models:/} URI names ({@code @alias}, {@code /Stage}, {@code /3}, {@code
   * /latest}).
   *
   * @param uri the URI
   * @return the version
   */
  public ModelVersion resolveModelUri(String uri) {
    return modelVersion(transport.execute(Queries.RESOLVE_MODEL_URI, Map.of("uri", uri)).get("resolveModelUri"));
  }

  // ------------------------------------------------------------------ prompts

  /**
   * Loads a prompt version: {@code prompts:/<name>@<alias>}, {@code prompts:/<name>/<version>},
   * or a bare name (its latest version).
   *
   * @param nameOrUri the URI or name
   * @return the version
   */
  public PromptVersion loadPrompt(String nameOrUri) {
    String uri = nameOrUri.startsWith("prompts:/") ? nameOrUri : "prompts:/" + nameOrUri;
    if (!nameOrUri.startsWith("prompts:/") && !nameOrUri.contains("@") && !nameOrUri.contains("/")) {
      uri = uri + "@latest";
    }
    return promptVersion(transport.execute(Queries.RESOLVE_PROMPT_URI, Map.of("uri", uri)).get("resolvePromptUri"));
  }

  /**
   * Creates a new version of a text prompt.
   *
   * @param name the prompt
   * @param template the text, with {@code {{variable}}} placeholders
   * @param createPromptIfMissing create the prompt when it does not exist
   * @return the new version
   */
  public PromptVersion createPromptVersion(String name, String template, boolean createPromptIfMissing) {
    Map<String, Object> vars = new HashMap<>();
    vars.put("name", name);
    vars.put("template", template);
    vars.put("createPromptIfMissing", createPromptIfMissing);
    return promptVersion(transport.execute(Queries.CREATE_PROMPT_VERSION, vars).get("createPromptVersion"));
  }

  /**
   * Points a prompt alias at a version.
   *
   * @param name the prompt
   * @param alias the alias
   * @param version the version number
   * @return the version
   */
  public PromptVersion setPromptAlias(String name, String alias, int version) {
    return promptVersion(
        transport.execute(Queries.SET_PROMPT_ALIAS, Map.of("name", name, "alias", alias, "version", version))
            .get("setPromptAlias"));
  }

  /** Flushes queued points and stops the background thread. */
  @Override
  public void close() {
    batcher.close();
  }

  // ------------------------------------------------------------------ decoding

  static Object encodeValue(double v) {
    if (Double.isNaN(v)) {
      return "NaN";
    }
    if (Double.isInfinite(v)) {
      return v > 0 ? "Infinity" : "-Infinity";
    }
    return v;
  }

  static double decodeValue(JsonNode v) {
    if (v == null || v.isNull()) {
      return Double.NaN;
    }
    if (v.isNumber()) {
      return v.asDouble();
    }
    return switch (v.asText()) {
      case "Infinity" -> Double.POSITIVE_INFINITY;
      case "-Infinity" -> Double.NEGATIVE_INFINITY;
      default -> Double.NaN;
    };
  }

  private static String text(JsonNode n, String field) {
    JsonNode v = n.get(field);
    return v == null || v.isNull() ? null : v.asText();
  }

  private static Map<String, String> keyValues(JsonNode list) {
    Map<String, String> out = new TreeMap<>();
    if (list != null && list.isArray()) {
      for (JsonNode kv : list) {
        out.put(kv.path("key").asText(), kv.path("value").asText());
      }
    }
    return Collections.unmodifiableMap(out);
  }

  private static List<Map<String, String>> kvInput(Map<String, String> map) {
    List<Map<String, String>> out = new ArrayList<>();
    map.forEach((k, v) -> out.add(Map.of("key", k, "value", v)));
    return out;
  }

  private static List<String> strings(JsonNode list) {
    List<String> out = new ArrayList<>();
    if (list != null && list.isArray()) {
      list.forEach(s -> out.add(s.asText()));
    }
    return List.copyOf(out);
  }

  private static Run run(JsonNode n) {
    Map<String, Metric> latest = new TreeMap<>();
    for (JsonNode m : n.path("latestMetrics")) {
      String key = m.path("key").asText();
      latest.put(key, new Metric(key, decodeValue(m.get("value")), m.path("step").asLong(), m.path("timestamp").asLong()));
    }
    JsonNode end = n.get("endTime");
    return new Run(
        n.path("id").asText(),
        n.path("name").asText(),
        n.path("experimentId").asText(),
        n.path("status").asText(),
        n.path("startTime").asLong(),
        end == null || end.isNull() ? null : end.asLong(),
        n.path("lifecycleStage").asText(),
        keyValues(n.path("params")),
        keyValues(n.path("tags")),
        Collections.unmodifiableMap(latest));
  }

  private static ModelVersion modelVersion(JsonNode n) {
    return new ModelVersion(
        n.path("id").asText(),
        n.path("modelName").asText(),
        n.path("version").asInt(),
        text(n, "source"),
        text(n, "runId"),
        text(n, "description"),
        text(n, "stage"),
        text(n, "status"),
        strings(n.get("aliases")),
        keyValues(n.path("tags")),
        n.path("createdAt").asLong());
  }

  private static RegisteredModel registeredModel(JsonNode n) {
    Map<String, Integer> aliases = new LinkedHashMap<>();
    for (JsonNode a : n.path("aliases")) {
      aliases.put(a.path("alias").asText(), a.path("version").asInt());
    }
    List<ModelVersion> latest = new ArrayList<>();
    for (JsonNode v : n.path("latestVersions")) {
      latest.add(modelVersion(v));
    }
    return new RegisteredModel(
        n.path("id").asText(),
        n.path("name").asText(),
        text(n, "description"),
        keyValues(n.path("tags")),
        Collections.unmodifiableMap(aliases),
        List.copyOf(latest),
        n.path("createdAt").asLong());
  }

  private static PromptVersion promptVersion(JsonNode n) {
    List<PromptVersion.Message> messages = null;
    JsonNode ms = n.get("messages");
    if (ms != null && ms.isArray()) {
      messages = new ArrayList<>();
      for (JsonNode m : ms) {
        messages.add(new PromptVersion.Message(m.path("role").asText(), m.path("content").asText()));
      }
      messages = List.copyOf(messages);
    }
    JsonNode cfg = n.get("modelConfig");
    return new PromptVersion(
        n.path("name").asText(),
        n.path("version").asInt(),
        n.path("uri").asText(),
        n.path("templateType").asText(),
        text(n, "template"),
        messages,
        strings(n.get("variables")),
        strings(n.get("aliases")),
        cfg == null || cfg.isNull() ? null : cfg.toString(),
        text(n, "commitMessage"),
        keyValues(n.path("tags")));
  }

  private static String envOr(String name, String fallback) {
    String v = System.getenv(name);
    return v == null || v.isEmpty() ? fallback : v;
  }
}
