package dev.cairn.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Retries: a loopback proxy in front of the real server first answers with scripted failures
 * (HTTP 429 with Retry-After, a GraphQL UNAVAILABLE error), then forwards to the server.
 */
@ExtendWith(CairnServerExtension.class)
class RetryTest {
  private HttpServer proxy;
  private final Deque<Integer> failures = new ArrayDeque<>();
  private final AtomicInteger requests = new AtomicInteger();
  private final java.util.List<String> seenHeaders = new java.util.ArrayList<>();
  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  @BeforeEach
  void start(CairnServerExtension.Server server) throws IOException {
    proxy = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    proxy.createContext("/", ex -> handle(ex, server.url()));
    proxy.start();
  }

  @AfterEach
  void stop() {
    proxy.stop(0);
  }

  private void handle(HttpExchange ex, String target) throws IOException {
    requests.incrementAndGet();
    synchronized (seenHeaders) {
      seenHeaders.add(
          ex.getRequestHeaders().getFirst("authorization") + "|" + ex.getRequestHeaders().getFirst("x-cairn-workspace")
              + "|" + ex.getProtocol());
    }
    byte[] body = ex.getRequestBody().readAllBytes();
    Integer failure;
    synchronized (failures) {
      failure = failures.poll();
    }
    if (failure != null && failure == 429) {
      reply(ex, 429, "{\"errors\":[{\"message\":\"slow down\",\"extensions\":{\"code\":\"RESOURCE_EXHAUSTED\"}}]}", true);
      return;
    }
    if (failure != null && failure == 200) {
      reply(ex, 200, "{\"data\":{\"createExperiment\":{\"id\":\"exp-canned\"}}}", false);
      return;
    }
    if (failure != null && failure == 503) {
      reply(ex, 200, "{\"errors\":[{\"message\":\"database restarting\",\"extensions\":{\"code\":\"UNAVAILABLE\"}}]}", false);
      return;
    }
    try {
      HttpResponse<byte[]> res =
          http.send(
              HttpRequest.newBuilder(URI.create(target + ex.getRequestURI()))
                  .header("content-type", "application/json")
                  .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                  .build(),
              HttpResponse.BodyHandlers.ofByteArray());
      reply(ex, res.statusCode(), new String(res.body(), StandardCharsets.UTF_8), false);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      ex.close();
    }
  }

  private static void reply(HttpExchange ex, int status, String json, boolean retryAfter) throws IOException {
    byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().add("content-type", "application/json");
    if (retryAfter) {
      ex.getResponseHeaders().add("retry-after", "1");
    }
    ex.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(bytes);
    }
  }

  private CairnClient client(Duration window) {
    return CairnClient.builder()
        .trackingUri("http://127.0.0.1:" + proxy.getAddress().getPort())
        .retryTimeout(window)
        .batchRetryTimeout(window)
        .backoff(Duration.ofMillis(20), Duration.ofMillis(200))
        .build();
  }

  @Test
  void rateLimitedAndUnavailableAnswersAreRetried() {
    try (CairnClient cairn = client(Duration.ofSeconds(30))) {
      synchronized (failures) {
        failures.add(429);
        failures.add(503);
      }
      long started = System.nanoTime();
      String exp = cairn.createExperiment("java-retry-" + UUID.randomUUID().toString().substring(0, 8));
      long tookMs = (System.nanoTime() - started) / 1_000_000;
      assertEquals(3, requests.get(), "two failures, then the real answer");
      assertTrue(tookMs >= 900, "Retry-After: 1 honoured, took " + tookMs + " ms");
      Run run = cairn.createRun(exp, "r");
      synchronized (failures) {
        failures.add(503);
        failures.add(429);
      }
      cairn.logMetric(run.id(), "loss", 0.25, 3);
      cairn.flush();
      assertEquals(0.25, cairn.getRun(run.id()).latestMetric("loss"));
    }
  }

  @Test
  void retriesGiveUpAfterTheWindowWithUnavailable() {
    try (CairnClient cairn = client(Duration.ofMillis(600))) {
      synchronized (failures) {
        for (int i = 0; i < 1000; i++) {
          failures.add(503);
        }
      }
      CairnException e = assertThrows(CairnException.class, () -> cairn.createExperiment("never"));
      assertEquals("UNAVAILABLE", e.getCode());
      assertTrue(requests.get() >= 2, "retried: " + requests.get() + " request(s)");
      synchronized (failures) {
        failures.clear();
      }
    }
  }

  @Test
  void theApiKeyAndWorkspaceAreSentOnEveryRequest() {
    try (CairnClient cairn =
        CairnClient.builder()
            .trackingUri("http://127.0.0.1:" + proxy.getAddress().getPort() + "/")
            .apiKey("cairn_test_key")
            .workspace("ws-java")
            .backoff(Duration.ofMillis(20), Duration.ofMillis(200))
            .build()) {
      synchronized (failures) {
        failures.add(503);
        failures.add(200); // a canned answer: the real server would check the key
      }
      assertEquals("exp-canned", cairn.createExperiment("x"));
      synchronized (seenHeaders) {
        assertEquals(
            java.util.List.of("Bearer cairn_test_key|ws-java|HTTP/1.1", "Bearer cairn_test_key|ws-java|HTTP/1.1"),
            seenHeaders);
      }
    }
  }
}
