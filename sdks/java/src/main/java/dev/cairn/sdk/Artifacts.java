package dev.cairn.sdk;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.Set;

/**
 * Artifact uploads over Cairn's HTTP routes (the same as the Python SDK's, see
 * sdks/python/src/cairn/_artifacts.py): {@code PUT /api/runs/<run>/artifacts/<path>} with the
 * sha256 in {@code x-cairn-sha256}, the body streamed from the file; files of {@code
 * multipartThreshold} bytes or more go through {@code /artifact-uploads} in parts.
 */
final class Artifacts {
  private static final Set<Integer> RETRYABLE_HTTP = Set.of(408, 425, 429, 500, 502, 503, 504);
  static final long PART_SIZE = 32L << 20;

  private final Transport transport;
  private final long multipartThreshold;

  Artifacts(Transport transport, long multipartThreshold) {
    this.transport = transport;
    this.multipartThreshold = multipartThreshold;
  }

  private URI url(String runId, String tail) {
    return URI.create(transport.trackingUri + "/api/runs/" + encode(runId) + tail);
  }

  static String encode(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }

  static String encodePath(String path) {
    StringBuilder sb = new StringBuilder();
    for (String seg : path.split("/", -1)) {
      if (sb.length() > 0) {
        sb.append('/');
      }
      sb.append(encode(seg));
    }
    return sb.toString();
  }

  ArtifactInfo upload(String runId, Path file, String artifactPath) {
    Validation.artifactPath(artifactPath);
    long size;
    try {
      size = Files.size(file);
    } catch (IOException e) {
      throw new CairnException("INVALID_ARGUMENT", "cannot read " + file + ": " + e, 0, Map.of(), e);
    }
    if (size >= multipartThreshold) {
      return uploadMultipart(runId, file, artifactPath, size);
    }
    String sha = sha256(file, 0, size);
    URI uri = url(runId, "/artifacts/" + encodePath(artifactPath));
    JsonNode result =
        call(
            "uploading " + artifactPath,
            () ->
                transport
                    .request(uri)
                    .header("x-cairn-sha256", sha)
                    .header("content-type", "application/octet-stream")
                    .PUT(ofFile(file))
                    .build());
    return info(result, artifactPath, sha);
  }

  ArtifactInfo upload(String runId, byte[] content, String artifactPath) {
    Validation.artifactPath(artifactPath);
    String sha = HexFormat.of().formatHex(digest().digest(content));
    URI uri = url(runId, "/artifacts/" + encodePath(artifactPath));
    JsonNode result =
        call(
            "uploading " + artifactPath,
            () ->
                transport
                    .request(uri)
                    .header("x-cairn-sha256", sha)
                    .header("content-type", "application/octet-stream")
                    .PUT(HttpRequest.BodyPublishers.ofByteArray(content))
                    .build());
    return info(result, artifactPath, sha);
  }

  private ArtifactInfo uploadMultipart(String runId, Path file, String artifactPath, long size) {
    byte[] start;
    try {
      start = Transport.JSON.writeValueAsBytes(Map.of("path", artifactPath));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    JsonNode started =
        call(
            "starting the upload of " + artifactPath,
            () ->
                transport
                    .request(url(runId, "/artifact-uploads"))
                    .header("content-type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(start))
                    .build());
    String base = "/artifact-uploads/" + encode(started.path("uploadId").asText());
    int n = 0;
    for (long offset = 0; offset < Math.max(size, 1); offset += PART_SIZE) {
      n++;
      long off = offset;
      long length = Math.min(PART_SIZE, size - offset);
      String partSha = sha256(file, off, length);
      URI part = url(runId, base + "/parts/" + n);
      JsonNode got =
          call(
              "uploading part " + n + " of " + artifactPath,
              () ->
                  transport
                      .request(part)
                      .header("content-type", "application/octet-stream")
                      .PUT(
                          HttpRequest.BodyPublishers.fromPublisher(
                              HttpRequest.BodyPublishers.ofInputStream(() -> slice(file, off, length)),
                              length))
                      .build());
      if (got.hasNonNull("sha256") && !got.get("sha256").asText().equalsIgnoreCase(partSha)) {
        throw new CairnException("DATA_LOSS", "part " + n + " of " + artifactPath + " arrived damaged");
      }
    }
    String sha = sha256(file, 0, size);
    JsonNode result =
        call(
            "completing the upload of " + artifactPath,
            () ->
                transport
                    .request(url(runId, base + "/complete"))
                    .header("x-cairn-sha256", sha)
                    .POST(HttpRequest.BodyPublishers.noBody())
                    .build());
    return info(result, artifactPath, sha);
  }

  private static ArtifactInfo info(JsonNode result, String artifactPath, String sha) {
    String stored = result.path("sha256").asText(sha);
    if (!stored.equalsIgnoreCase(sha)) {
      throw new CairnException(
          "DATA_LOSS", "sha256 mismatch for " + artifactPath + ": stored " + stored + ", sent " + sha);
    }
    return new ArtifactInfo(result.path("path").asText(artifactPath), result.path("size").asLong(), stored);
  }

  private JsonNode call(String what, java.util.function.Supplier<HttpRequest> request) {
    return transport.withRetries(
        what,
        transport.retryTimeout,
        () -> {
          HttpResponse<byte[]> res = transport.send(request.get(), HttpResponse.BodyHandlers.ofByteArray());
          int status = res.statusCode();
          if (status == 200 || status == 201) {
            try {
              return Transport.JSON.readTree(res.body());
            } catch (IOException e) {
              throw new CairnException("BAD_RESPONSE", what + ": not JSON (HTTP " + status + ")");
            }
          }
          if (RETRYABLE_HTTP.contains(status)) {
            throw new Transport.Retry("HTTP " + status + " during " + what, null, Transport.retryAfter(res));
          }
          throw httpError(res, what);
        });
  }

  static CairnException httpError(HttpResponse<byte[]> res, String what) {
    int status = res.statusCode();
    String code =
        switch (status) {
          case 400 -> "INVALID_ARGUMENT";
          case 401 -> "UNAUTHENTICATED";
          case 403 -> "PERMISSION_DENIED";
          case 404 -> "NOT_FOUND";
          case 409 -> "CONFLICT";
          case 413 -> "PAYLOAD_TOO_LARGE";
          default -> "INTERNAL";
        };
    String message = Transport.clip(new String(res.body(), StandardCharsets.UTF_8));
    try {
      JsonNode err = Transport.JSON.readTree(res.body()).path("error");
      if (err.isObject()) {
        code = err.path("code").asText(code);
        message = err.path("message").asText(message);
      }
    } catch (IOException | RuntimeException ignored) {
      // not JSON: keep the status's code and the text
    }
    return new CairnException(code, what + ": " + message, status, Map.of(), null);
  }

  private static HttpRequest.BodyPublisher ofFile(Path file) {
    try {
      return HttpRequest.BodyPublishers.ofFile(file);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static InputStream slice(Path file, long offset, long length) {
    try {
      InputStream in = Files.newInputStream(file);
      in.skipNBytes(offset);
      return new java.io.FilterInputStream(in) {
        long left = length;

        @Override
        public int read() throws IOException {
          if (left <= 0) {
            return -1;
          }
          int b = super.read();
          if (b >= 0) {
            left--;
          }
          return b;
        }

        @Override
        public int read(byte[] buf, int off, int len) throws IOException {
          if (left <= 0) {
            return -1;
          }
          int r = super.read(buf, off, (int) Math.min(len, left));
          if (r > 0) {
            left -= r;
          }
          return r;
        }
      };
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static MessageDigest digest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  static String sha256(Path file, long offset, long length) {
    MessageDigest md = digest();
    byte[] buf = new byte[1 << 16];
    try (InputStream in = slice(file, offset, length)) {
      int r;
      while ((r = in.read(buf)) > 0) {
        md.update(buf, 0, r);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return HexFormat.of().formatHex(md.digest());
  }
}
