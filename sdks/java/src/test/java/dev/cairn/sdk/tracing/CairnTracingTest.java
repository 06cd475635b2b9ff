package dev.cairn.sdk.tracing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cairn.sdk.CairnClient;
import dev.cairn.sdk.CairnServerExtension;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Scope;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Spans from the OpenTelemetry SDK reach the real server through CairnTracing's exporter. */
@ExtendWith(CairnServerExtension.class)
class CairnTracingTest {
  @Test
  @SuppressWarnings("try") // the scope is only made current
  void spansAreExportedToTheServer(CairnServerExtension.Server server) throws InterruptedException {
    try (CairnClient cairn = CairnClient.builder().trackingUri(server.url()).build()) {
      SdkTracerProvider provider = CairnTracing.tracerProvider(cairn, "java-sdk-test");
      Tracer tracer = provider.get("dev.cairn.sdk.test");
      Span root = tracer.spanBuilder("java-root").startSpan();
      String traceId = root.getSpanContext().getTraceId();
      try (Scope ignored = root.makeCurrent()) {
        tracer.spanBuilder("java-child").startSpan().end();
      } finally {
        root.end();
      }
      CompletableResultCode flushed = provider.forceFlush().join(30, TimeUnit.SECONDS);
      assertTrue(flushed.isSuccess(), "the exporter failed to send the spans");
      provider.shutdown().join(10, TimeUnit.SECONDS);

      // OTLP ingest answers once the spans are durable, not projected (docs/tracing.md): read
      // the committed trace until the projection has it, within a deadline.
      JsonNode trace = null;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (System.nanoTime() < deadline) {
        trace =
            cairn
                .execute(
                    "query T($id: ID!) { trace(id: $id) { id name spanCount spans { name } } }",
                    Map.of("id", traceId))
                .get("trace");
        if (trace != null && !trace.isNull() && trace.path("spanCount").asInt() == 2) {
          break;
        }
        Thread.sleep(100);
      }
      assertEquals(traceId, trace.path("id").asText(), "trace " + traceId + ": " + trace);
      assertEquals("java-root", trace.path("name").asText());
      assertEquals(2, trace.path("spanCount").asInt());
    }
  }
}
