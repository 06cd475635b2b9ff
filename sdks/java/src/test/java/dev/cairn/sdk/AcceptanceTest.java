package dev.cairn.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 18's acceptance, against the real server: a run with params, 10,000 metric points and a
 * tag, read back; a model version registered from the run's artifact and an alias moved.
 */
@ExtendWith(CairnServerExtension.class)
class AcceptanceTest {
  private static String uniq() {
    return UUID.randomUUID().toString().substring(0, 8);
  }

  @Test
  void runWithTenThousandPointsReadsBack(CairnServerExtension.Server server) {
    try (CairnClient cairn = CairnClient.builder().trackingUri(server.url()).build()) {
      String exp = cairn.createExperiment("java-acceptance-" + uniq());
      Run run = cairn.createRun(exp, "ten-thousand");
      assertEquals("RUNNING", run.status());
      cairn.logParam(run.id(), "lr", "0.01");
      cairn.logParam(run.id(), "optimizer", "adam");
      long t0 = System.currentTimeMillis();
      long started = System.nanoTime();
      for (int step = 0; step < 10_000; step++) {
        cairn.logMetric(run.id(), "loss", 1.0 / (step + 1), step, t0 + step);
      }
      long queuedMs = (System.nanoTime() - started) / 1_000_000;
      cairn.setTag(run.id(), "team", "java");
      cairn.flush();
      assertTrue(queuedMs < 5_000, "10,000 logMetric calls took " + queuedMs + " ms");

      Run back = cairn.getRun(run.id());
      assertEquals(Map.of("lr", "0.01", "optimizer", "adam"), back.params());
      assertEquals("java", back.tags().get("team"));
      Metric latest = back.latestMetrics().get("loss");
      assertNotNull(latest, "latest loss of " + back);
      assertEquals(9_999, latest.step());
      assertEquals(1.0 / 10_000, latest.value(), 1e-12);

      List<Metric> history = cairn.getMetricHistory(run.id(), "loss");
      assertEquals(10_000, history.size());
      for (int step = 0; step < 10_000; step++) {
        Metric m = history.get(step);
        assertEquals(step, m.step());
        assertEquals(1.0 / (step + 1), m.value(), 1e-12);
        assertEquals(t0 + step, m.timestamp());
      }

      List<Run> found =
          cairn.searchRuns(List.of(exp), "params.optimizer = 'adam' AND metrics.loss < 0.001", List.of("metrics.loss ASC"), 10);
      assertEquals(List.of(run.id()), found.stream().map(Run::id).toList());

      Run ended = cairn.endRun(run.id());
      assertEquals("FINISHED", ended.status());
      assertNotNull(ended.endTime());
    }
  }

  @Test
  void registerAVersionFromAnArtifactAndMoveTheAlias(CairnServerExtension.Server server, @TempDir Path dir)
      throws Exception {
    try (CairnClient cairn = CairnClient.builder().trackingUri(server.url()).build()) {
      String exp = cairn.createExperiment("java-registry-" + uniq());
      Run run = cairn.createRun(exp, "train");
      Path weights = dir.resolve("weights.bin");
      byte[] bytes = new byte[300_000];
      new java.util.Random(7).nextBytes(bytes);
      Files.write(weights, bytes);
      ArtifactInfo stored = cairn.logArtifact(run.id(), weights, "model/weights.bin");
      assertEquals("model/weights.bin", stored.path());
      assertEquals(bytes.length, stored.size());
      assertEquals(sha256(bytes), stored.sha256());
      cairn.logText(run.id(), "flavors: {}\n", "model/MLmodel");

      String name = "java-model-" + uniq();
      RegisteredModel model = cairn.createRegisteredModel(name);
      assertEquals(name, model.name());
      ModelVersion v1 = cairn.createModelVersion(name, "runs:/" + run.id() + "/model", run.id());
      ModelVersion v2 = cairn.createModelVersion(name, "runs:/" + run.id() + "/model", run.id());
      assertEquals(1, v1.version());
      assertEquals(2, v2.version());
      assertEquals(run.id(), v1.runId());

      cairn.setModelAlias(name, "champion", 1);
      assertEquals(1, cairn.getModelVersionByAlias(name, "champion").version());
      ModelVersion moved = cairn.setModelAlias(name, "champion", 2);
      assertEquals(List.of("champion"), moved.aliases());
      ModelVersion resolved = cairn.getModelVersionByAlias(name, "champion");
      assertEquals(2, resolved.version());
      assertEquals("runs:/" + run.id() + "/model", resolved.source());
      assertEquals(Map.of("champion", 2), cairn.getRegisteredModel(name).aliases());

      CairnException missing =
          assertThrows(CairnException.class, () -> cairn.getModelVersionByAlias(name, "nobody"));
      assertEquals("NOT_FOUND", missing.getCode());
    }
  }

  @Test
  void artifactPathsAreCheckedBeforeUpload(CairnServerExtension.Server server, @TempDir Path dir) throws IOException {
    try (CairnClient cairn = CairnClient.builder().trackingUri(server.url()).build()) {
      Path f = Files.writeString(dir.resolve("x.txt"), "x", StandardCharsets.UTF_8);
      for (String bad : List.of("../x", "/abs", "a\\b", "a//b", "a/./b", "")) {
        CairnException e = assertThrows(CairnException.class, () -> cairn.logArtifact("r", f, bad), bad);
        assertEquals("INVALID_ARGUMENT", e.getCode());
      }
    }
  }

  @Test
  void promptsLoadByAliasAndFormat(CairnServerExtension.Server server) {
    try (CairnClient cairn = CairnClient.builder().trackingUri(server.url()).build()) {
      String name = "java-prompt-" + uniq();
      cairn.createPromptVersion(name, "Hello {{ name }}, v1", true);
      PromptVersion v2 = cairn.createPromptVersion(name, "Hi {{name}} from {{ place }}", false);
      assertEquals(2, v2.version());
      cairn.setPromptAlias(name, "prod", 1);
      PromptVersion prod = cairn.loadPrompt("prompts:/" + name + "@prod");
      assertEquals(1, prod.version());
      assertEquals("Hello Ada, v1", prod.format(Map.of("name", "Ada")));
      PromptVersion latest = cairn.loadPrompt(name);
      assertEquals(2, latest.version());
      assertEquals(List.of("name", "place"), latest.variables());
      assertEquals("Hi Ada from Paris", latest.format(Map.of("name", "Ada", "place", "Paris")));
      CairnException e = assertThrows(CairnException.class, () -> latest.format(Map.of("name", "Ada")));
      assertEquals("INVALID_ARGUMENT", e.getCode());
    }
  }

  @Test
  void aBackgroundBatchRefusedByTheServerIsRaisedByFlush(CairnServerExtension.Server server) {
    try (CairnClient cairn = CairnClient.builder().trackingUri(server.url()).build()) {
      cairn.logMetric("0000000000000000000000000000beef", "loss", 1.0, 0);
      CairnException e = assertThrows(CairnException.class, cairn::flush);
      assertEquals("NOT_FOUND", e.getCode());
      cairn.flush(); // reported once
      CairnException bad = assertThrows(CairnException.class, () -> cairn.logMetric("r", "", 1.0));
      assertEquals("INVALID_ARGUMENT", bad.getCode());
    }
  }

  private static String sha256(byte[] bytes) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
  }

  @Test
  void aFullQueueBlocksTheCallerInsteadOfDroppingPoints(CairnServerExtension.Server server) {
    try (CairnClient cairn =
        CairnClient.builder().trackingUri(server.url()).maxQueue(16).batchSize(100).build()) {
      Run run = cairn.createRun(cairn.createExperiment("java-backpressure-" + uniq()), "r");
      for (int step = 0; step < 3_000; step++) {
        cairn.logMetric(run.id(), "acc", step / 3_000.0, step);
      }
      cairn.flush();
      List<Metric> history = cairn.getMetricHistory(run.id(), "acc");
      assertEquals(3_000, history.size());
      assertEquals(2_999, history.get(2_999).step());
    }
  }

  @Test
  void largeFilesGoThroughTheMultipartRoutes(CairnServerExtension.Server server, @TempDir Path dir)
      throws Exception {
    try (CairnClient cairn =
        CairnClient.builder().trackingUri(server.url()).multipartThreshold(1 << 20).build()) {
      Run run = cairn.createRun(cairn.createExperiment("java-multipart-" + uniq()), "r");
      byte[] bytes = new byte[6 << 20];
      new java.util.Random(11).nextBytes(bytes);
      Path file = Files.write(dir.resolve("big.bin"), bytes);
      ArtifactInfo stored = cairn.logArtifact(run.id(), file, "data/big.bin");
      assertEquals("data/big.bin", stored.path());
      assertEquals(bytes.length, stored.size());
      assertEquals(sha256(bytes), stored.sha256());
      JsonNode entries =
          cairn
              .execute(
                  "query A($id: String!) { run(id: $id) { artifacts(path: \"data\") { path size sha256 } } }",
                  Map.of("id", run.id()))
              .path("run")
              .path("artifacts");
      assertEquals(1, entries.size(), entries.toString());
      assertEquals(sha256(bytes), entries.get(0).path("sha256").asText());
    }
  }
}
