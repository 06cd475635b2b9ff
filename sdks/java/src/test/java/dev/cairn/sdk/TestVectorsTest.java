package dev.cairn.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Runs the shared SDK test vectors (sdks/test-vectors/*.json, rules in its README) against the
 * real server: one dynamic test per case, each case with a fresh client.
 */
@ExtendWith(CairnServerExtension.class)
class TestVectorsTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String UNIQ =
      "j" + Long.toString(System.currentTimeMillis(), 36) + UUID.randomUUID().toString().substring(0, 6);

  @TestFactory
  Stream<DynamicTest> vectors(CairnServerExtension.Server server) throws IOException {
    Path dir = CairnServerExtension.repoRoot().resolve("sdks/test-vectors");
    List<Path> files;
    try (Stream<Path> s = Files.list(dir)) {
      files = s.filter(p -> p.toString().endsWith(".json")).sorted().toList();
    }
    assertFalse(files.isEmpty(), "no test vectors in " + dir);
    List<DynamicTest> tests = new ArrayList<>();
    for (Path file : files) {
      JsonNode doc = JSON.readTree(file.toFile());
      assertEquals(1, doc.path("version").asInt(), file + ": version");
      for (JsonNode c : doc.path("cases")) {
        String name = file.getFileName() + ": " + c.path("name").asText();
        tests.add(DynamicTest.dynamicTest(name, () -> runCase(server, c)));
      }
    }
    return tests.stream();
  }

  private static void runCase(CairnServerExtension.Server server, JsonNode c) throws IOException {
    Map<String, String> saved = new LinkedHashMap<>();
    try (CairnClient client =
        CairnClient.builder()
            .trackingUri(server.url())
            .retryTimeout(Duration.ofSeconds(20))
            .batchRetryTimeout(Duration.ofSeconds(20))
            .build()) {
      int i = 0;
      for (JsonNode step : c.path("steps")) {
        i++;
        String op = step.path("op").asText();
        String where = "step " + i + " (" + op + ")";
        JsonNode args = substitute(step.path("args"), saved);
        Object result;
        try {
          result = call(client, op, args);
        } catch (CairnException e) {
          if (step.has("expectError")) {
            assertEquals(step.get("expectError").asText(), e.getCode(), where + ": " + e.getMessage());
            continue;
          }
          throw new AssertionError(where + " failed: " + e, e);
        }
        if (step.has("expectError")) {
          fail(where + ": expected error " + step.get("expectError").asText() + ", got " + result);
        }
        JsonNode actual = toJson(result);
        if (step.has("expect")) {
          JsonNode expect = substitute(step.get("expect"), saved);
          match(expect, actual, where);
        }
        if (step.has("save")) {
          String id = actual.isTextual() ? actual.asText() : actual.path("id").asText(null);
          assertTrue(id != null && !id.isEmpty(), where + ": no id to save in " + actual);
          saved.put(step.get("save").asText(), id);
        }
      }
    }
  }

  private static Object call(CairnClient c, String op, JsonNode a) throws IOException {
    switch (op) {
      case "createExperiment":
        return c.createExperiment(a.path("name").asText());
      case "createRun":
        Map<String, String> tags = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : a.path("tags").properties()) {
          tags.put(e.getKey(), e.getValue().asText());
        }
        return c.createRun(a.path("experimentId").asText(), text(a, "name"), tags);
      case "logParam":
        c.logParam(a.path("runId").asText(), a.path("key").asText(), a.path("value").asText());
        return null;
      case "setTag":
        c.setTag(a.path("runId").asText(), a.path("key").asText(), a.path("value").asText());
        return null;
      case "logMetric":
        c.logMetric(
            a.path("runId").asText(),
            a.path("key").asText(),
            a.path("value").asDouble(),
            a.path("step").asLong(0),
            a.has("timestamp") ? a.get("timestamp").asLong() : System.currentTimeMillis());
        return null;
      case "flush":
        c.flush();
        return null;
      case "getRun":
        return c.getRun(a.path("runId").asText());
      case "getMetricHistory":
        return c.getMetricHistory(a.path("runId").asText(), a.path("key").asText());
      case "searchRuns":
        List<String> ids = new ArrayList<>();
        a.path("experimentIds").forEach(n -> ids.add(n.asText()));
        List<String> order = new ArrayList<>();
        a.path("orderBy").forEach(n -> order.add(n.asText()));
        int max = a.path("maxResults").asInt(1000);
        return Map.of("runs", c.searchRuns(ids, text(a, "filter"), order, max));
      case "logArtifact":
        if (a.has("content")) {
          return c.logText(a.path("runId").asText(), a.get("content").asText(), a.path("path").asText());
        }
        fail("logArtifact vector without content");
        return null;
      case "createRegisteredModel":
        return c.createRegisteredModel(a.path("name").asText());
      case "createModelVersion":
        return c.createModelVersion(a.path("name").asText(), a.path("source").asText(), text(a, "runId"));
      case "setModelAlias":
        return c.setModelAlias(a.path("name").asText(), a.path("alias").asText(), a.path("version").asInt());
      case "getModelVersionByAlias":
        return c.getModelVersionByAlias(a.path("name").asText(), a.path("alias").asText());
      case "resolveModelUri":
        return c.resolveModelUri(a.path("uri").asText());
      case "createPromptVersion":
        return c.createPromptVersion(
            a.path("name").asText(), a.path("template").asText(), a.path("createPromptIfMissing").asBoolean(false));
      case "loadPrompt":
        return c.loadPrompt(a.has("nameOrUri") ? a.get("nameOrUri").asText() : a.path("uri").asText());
      default:
        fail("unknown op " + op);
        return null;
    }
  }

  private static String text(JsonNode a, String field) {
    JsonNode v = a.get(field);
    return v == null || v.isNull() ? null : v.asText();
  }

  /** Results as JSON, with a run's latestMetrics as {key: latest value} (the vectors' shape). */
  private static JsonNode toJson(Object result) {
    if (result instanceof Run r) {
      ObjectNode n = JSON.valueToTree(r);
      ObjectNode latest = JSON.createObjectNode();
      r.latestMetrics().forEach((k, m) -> latest.put(k, m.value()));
      n.set("latestMetrics", latest);
      return n;
    }
    if (result instanceof Map<?, ?> m && m.get("runs") instanceof List<?> runs) {
      ObjectNode n = JSON.createObjectNode();
      var arr = n.putArray("runs");
      runs.forEach(r -> arr.add(toJson(r)));
      return n;
    }
    return JSON.valueToTree(result);
  }

  private static JsonNode substitute(JsonNode node, Map<String, String> saved) throws IOException {
    if (node == null || node.isMissingNode()) {
      return JSON.createObjectNode();
    }
    String text = JSON.writeValueAsString(node).replace("$uniq", UNIQ);
    List<String> names = new ArrayList<>(saved.keySet());
    names.sort(Comparator.comparingInt(String::length).reversed());
    for (String name : names) {
      text = text.replace("$" + name, saved.get(name));
    }
    return JSON.readTree(text.getBytes(StandardCharsets.UTF_8));
  }

  private static void match(JsonNode expect, JsonNode actual, String where) {
    if (expect.isObject()) {
      assertTrue(actual != null && actual.isObject(), where + ": expected an object, got " + actual);
      for (Map.Entry<String, JsonNode> e : expect.properties()) {
        assertTrue(actual.has(e.getKey()), where + ": no '" + e.getKey() + "' in " + actual);
        match(e.getValue(), actual.get(e.getKey()), where + "." + e.getKey());
      }
    } else if (expect.isArray()) {
      assertTrue(actual != null && actual.isArray(), where + ": expected an array, got " + actual);
      assertEquals(expect.size(), actual.size(), where + ": array length of " + actual);
      for (int i = 0; i < expect.size(); i++) {
        match(expect.get(i), actual.get(i), where + "[" + i + "]");
      }
    } else if (expect.isNumber()) {
      assertTrue(actual != null && actual.isNumber(), where + ": expected a number, got " + actual);
      double want = expect.asDouble();
      double got = actual.asDouble();
      assertTrue(
          Math.abs(want - got) <= 1e-9 * Math.max(1.0, Math.abs(want)),
          where + ": expected " + want + ", got " + got);
    } else {
      assertEquals(expect, actual, where);
    }
  }
}
