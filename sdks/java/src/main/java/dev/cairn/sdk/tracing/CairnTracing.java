package dev.cairn.sdk.tracing;

import dev.cairn.sdk.CairnClient;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporterBuilder;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import java.time.Duration;

/**
 * OpenTelemetry tracing to Cairn: an OTLP/HTTP span exporter pointed at the server's {@code
 * /v1/traces} with the client's API key and workspace, and a tracer provider that batches spans
 * to it.
 *
 * <p>OpenTelemetry is an optional dependency of the SDK ({@code provided} scope): add {@code
 * io.opentelemetry:opentelemetry-sdk} and {@code io.opentelemetry:opentelemetry-exporter-otlp}
 * (either sender: the server ignores the JDK sender's h2c upgrade offer) to your application to
 * use this class. Without this class, point any OTLP exporter at {@code <trackingUri>/v1/traces}
 * (protobuf or JSON) with {@code Authorization: Bearer <key>}.
 *
 * <pre>{@code
 * SdkTracerProvider provider = CairnTracing.tracerProvider(cairn, "checkout-service");
 * Tracer tracer = provider.get("my-app");
 * Span span = tracer.spanBuilder("answer").startSpan();
 * ...
 * span.end();
 * provider.shutdown();  // flushes
 * }</pre>
 */
public final class CairnTracing {
  private CairnTracing() {}

  /**
   * An OTLP/HTTP (protobuf) exporter to {@code <trackingUri>/v1/traces}.
   *
   * @param client the client whose server, API key and workspace to use
   * @return the exporter
   */
  public static OtlpHttpSpanExporter spanExporter(CairnClient client) {
    OtlpHttpSpanExporterBuilder b =
        OtlpHttpSpanExporter.builder()
            .setEndpoint(client.trackingUri() + "/v1/traces")
            .setTimeout(Duration.ofSeconds(30));
    if (client.apiKey() != null && !client.apiKey().isEmpty()) {
      b.addHeader("Authorization", "Bearer " + client.apiKey());
    }
    if (client.workspace() != null && !client.workspace().isEmpty()) {
      b.addHeader("x-cairn-workspace", client.workspace());
    }
    return b.build();
  }

  /**
   * A tracer provider that batches spans to Cairn; {@code shutdown()} (or {@code forceFlush()})
   * sends what is pending.
   *
   * @param client the client whose server, API key and workspace to use
   * @param serviceName the {@code service.name} resource attribute
   * @return the provider
   */
  public static SdkTracerProvider tracerProvider(CairnClient client, String serviceName) {
    Resource resource =
        Resource.getDefault()
            .merge(Resource.create(Attributes.of(AttributeKey.stringKey("service.name"), serviceName)));
    return SdkTracerProvider.builder()
        .setResource(resource)
        .addSpanProcessor(BatchSpanProcessor.builder(spanExporter(client)).build())
        .build();
  }
}
