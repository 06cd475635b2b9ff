package dev.cairn.sdk;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;

/**
 * GraphQL (and the artifact routes) over the JDK's HTTP client, with retries.
 *
 * <p>Retried, with jittered exponential backoff until the retry window has passed: network
 * errors, HTTP 408/425/429/500/502/503/504 (a {@code Retry-After} is honoured), and the GraphQL
 * codes {@code UNAVAILABLE}, {@code RESOURCE_EXHAUSTED} and {@code CONFLICT}; a masked {@code
 * INTERNAL} error is tried three times at most (it may be a bug, not an outage).
 */
final class Transport {
  static final ObjectMapper JSON = new ObjectMapper();
  private static final Set<String> RETRYABLE_CODES =
      Set.of("UNAVAILABLE", "RESOURCE_EXHAUSTED", "CONFLICT");
  private static final Set<Integer> RETRYABLE_HTTP = Set.of(408, 425, 429, 500, 502, 503, 504);
  private static final int MAX_INTERNAL_ATTEMPTS = 3;

  final String trackingUri;
  private final URI endpoint;
  private final HttpClient http;
  private final Map<String, String> headers;
  final Duration requestTimeout;
  final Duration retryTimeout;
  private final Duration backoffInitial;
  private final Duration backoffMax;

  Transport(
      String trackingUri,
      String apiKey,
      String workspace,
      Duration requestTimeout,
      Duration retryTimeout,
      Duration backoffInitial,
      Duration backoffMax) {
    this.trackingUri = trackingUri;
    this.endpoint = URI.create(trackingUri + "/graphql");
    this.requestTimeout = requestTimeout;
    this.retryTimeout = retryTimeout;
    this.backoffInitial = backoffInitial;
    this.backoffMax = backoffMax;
    this.http =
        HttpClient.newBuilder()
            // HTTP/1.1: the server speaks no HTTP/2 (it ignores the JDK's default h2c
            // upgrade offer), so the offer would only add headers to the first request.
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(requestTimeout)
            .followRedirects(HttpClient.Redirect.NEVER)
            .build();
    Map<String, String> h = new HashMap<>();
    h.put("User-Agent", "cairn-java/" + CairnClient.VERSION);
    if (apiKey != null && !apiKey.isEmpty()) {
      h.put("Authorization", "Bearer " + apiKey);
    }
    if (workspace != null && !workspace.isEmpty()) {
      h.put("x-cairn-workspace", workspace);
    }
    this.headers = Map.copyOf(h);
  }

  Map<String, String> headers() {
    return headers;
  }

  HttpRequest.Builder request(URI uri) {
    HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(requestTimeout);
    headers.forEach(b::header);
    return b;
  }

  /** Runs one operation and returns its {@code data}; retries within the default window. */
  JsonNode execute(String query, Map<String, ?> variables) {
    return execute(query, variables, retryTimeout);
  }

  JsonNode execute(String query, Map<String, ?> variables, Duration window) {
    ObjectNode body = JSON.createObjectNode();
    body.put("query", query);
    body.set("variables", JSON.valueToTree(variables == null ? Map.of() : variables));
    byte[] bytes;
    try {
      bytes = JSON.writeValueAsBytes(body);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return withRetries(
        "POST " + endpoint,
        window,
        () -> {
          HttpRequest req =
              request(endpoint)
                  .header("Content-Type", "application/json")
                  .header("Accept", "application/json")
                  .POST(HttpRequest.BodyPublishers.ofByteArray(bytes))
                  .build();
          HttpResponse<byte[]> res = send(req, HttpResponse.BodyHandlers.ofByteArray());
          return decodeGraphQL(res);
        });
  }

  <T> HttpResponse<T> send(HttpRequest req, HttpResponse.BodyHandler<T> handler) {
    try {
      return http.send(req, handler);
    } catch (HttpTimeoutException e) {
      throw new Retry("timeout talking to " + req.uri(), null, 0);
    } catch (IOException e) {
      throw new Retry(e.getClass().getSimpleName() + " talking to " + req.uri(), null, 0);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CairnException("CANCELLED", "interrupted while talking to " + req.uri());
    }
  }

  private JsonNode decodeGraphQL(HttpResponse<byte[]> res) {
    int status = res.statusCode();
    JsonNode payload = null;
    try {
      payload = JSON.readTree(res.body());
    } catch (IOException e) {
      payload = null;
    }
    if (payload != null && payload.path("errors").isArray() && payload.path("errors").size() > 0) {
      CairnException error = toError(payload.get("errors"), status);
      if (RETRYABLE_CODES.contains(error.getCode()) || error.getCode().equals("INTERNAL")) {
        throw new Retry(error.getCode() + ": " + error.getMessage(), error, retryAfter(res));
      }
      throw error;
    }
    if (RETRYABLE_HTTP.contains(status)) {
      throw new Retry("HTTP " + status + " from " + endpoint, null, retryAfter(res));
    }
    if (status >= 400 || payload == null || !payload.has("data")) {
      String code =
          switch (status) {
            case 401 -> "UNAUTHENTICATED";
            case 403 -> "PERMISSION_DENIED";
            case 404 -> "NOT_FOUND";
            case 413 -> "PAYLOAD_TOO_LARGE";
            default -> "BAD_RESPONSE";
          };
      String text = new String(res.body(), java.nio.charset.StandardCharsets.UTF_8);
      throw new CairnException(
          code,
          "Unexpected answer from " + endpoint + " (HTTP " + status + "): " + clip(text),
          status,
          Map.of(),
          null);
    }
    return payload.get("data");
  }

  static CairnException toError(JsonNode errors, int status) {
    JsonNode first = errors.get(0);
    JsonNode ext = first.path("extensions");
    String code = ext.path("code").isTextual() ? ext.get("code").asText() : "INTERNAL";
    Map<String, Object> details = new HashMap<>();
    for (Map.Entry<String, JsonNode> e : ext.properties()) {
      if (!e.getKey().equals("code")) {
        details.put(e.getKey(), JSON.convertValue(e.getValue(), Object.class));
      }
    }
    String message = first.path("message").asText("unknown error");
    return new CairnException(code, message, status, details, null);
  }

  /** Seconds from a Retry-After header (0 when absent). */
  static long retryAfter(HttpResponse<?> res) {
    return res.headers()
        .firstValue("retry-after")
        .map(
            v -> {
              try {
                return Math.max(0L, Long.parseLong(v.trim()));
              } catch (NumberFormatException e) {
                return 0L;
              }
            })
        .orElse(0L);
  }

  static String clip(String s) {
    return s.length() > 300 ? s.substring(0, 300) + "…" : s;
  }

  /** A failure worth another attempt. */
  static final class Retry extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final transient CairnException error;
    final long retryAfterSeconds;

    Retry(String reason, CairnException error, long retryAfterSeconds) {
      super(reason, null, false, false);
      this.error = error;
      this.retryAfterSeconds = retryAfterSeconds;
    }
  }

  /** Runs {@code attempt} until it answers, throws a non-retryable error, or the window ends. */
  <T> T withRetries(String what, Duration window, Supplier<T> attempt) {
    long started = System.nanoTime();
    long delayMs = Math.max(1, backoffInitial.toMillis());
    int attempts = 0;
    int internal = 0;
    while (true) {
      attempts++;
      try {
        return attempt.get();
      } catch (Retry failure) {
        if (failure.error != null && failure.error.getCode().equals("INTERNAL")) {
          internal++;
          if (internal >= MAX_INTERNAL_ATTEMPTS) {
            throw failure.error;
          }
        }
        long elapsedMs = (System.nanoTime() - started) / 1_000_000;
        if (elapsedMs >= window.toMillis()) {
          if (failure.error != null && !failure.error.getCode().equals("UNAVAILABLE")) {
            throw failure.error;
          }
          throw new CairnException(
              "UNAVAILABLE",
              what
                  + " did not succeed after "
                  + attempts
                  + " attempt(s) over "
                  + elapsedMs / 1000
                  + " s: "
                  + failure.getMessage(),
              0,
              Map.of("attempts", attempts),
              failure.error);
        }
        long sleep = Math.min(delayMs, backoffMax.toMillis());
        sleep = (long) (sleep * (0.75 + ThreadLocalRandom.current().nextDouble() * 0.5));
        if (failure.retryAfterSeconds > 0) {
          sleep = Math.max(sleep, failure.retryAfterSeconds * 1000);
        }
        sleep = Math.min(sleep, Math.max(0, window.toMillis() - elapsedMs));
        try {
          Thread.sleep(Math.max(1, sleep));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new CairnException("CANCELLED", "interrupted while retrying " + what);
        }
        delayMs = Math.min(delayMs * 2, backoffMax.toMillis());
      }
    }
  }
}
