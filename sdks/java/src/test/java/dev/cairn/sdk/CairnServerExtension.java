package dev.cairn.sdk;

import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * Starts one real {@code cairn server} (the repository's CLI, {@code node apps/cli/bin/cairn.js
 * server}: local mode, embedded PostgreSQL, a temporary home, a free loopback port) for the whole
 * test run, and stops it at the end. {@code CAIRN_TEST_SERVER_URL} points the tests at a server
 * that is already running instead. Tests get it as a {@link Server} parameter.
 */
public final class CairnServerExtension implements BeforeAllCallback, ParameterResolver {
  /** The running server. */
  public record Server(String url) {}

  private static final Object LOCK = new Object();

  @Override
  public void beforeAll(ExtensionContext context) {
    server(context);
  }

  @Override
  public boolean supportsParameter(ParameterContext p, ExtensionContext e) {
    return p.getParameter().getType() == Server.class;
  }

  @Override
  public Object resolveParameter(ParameterContext p, ExtensionContext e) {
    return server(e);
  }

  private static Server server(ExtensionContext context) {
    synchronized (LOCK) {
      ExtensionContext.Store store = context.getRoot().getStore(ExtensionContext.Namespace.GLOBAL);
      Running running = store.getOrComputeIfAbsent(Running.class, k -> Running.start(), Running.class);
      return running.server;
    }
  }

  /** Closed by JUnit (an AutoCloseable in the root store) at the end of the run. */
  static final class Running implements AutoCloseable {
    final Server server;
    final Process process;
    final Path home;

    Running(Server server, Process process, Path home) {
      this.server = server;
      this.process = process;
      this.home = home;
    }

    static Running start() {
      String external = System.getenv("CAIRN_TEST_SERVER_URL");
      if (external != null && !external.isEmpty()) {
        return new Running(new Server(external.replaceAll("/+$", "")), null, null);
      }
      try {
        Path repo = repoRoot();
        Path home = Files.createTempDirectory("cairn-java-sdk-test-");
        int port = freePort();
        Path log = home.resolve("server.log");
        ProcessBuilder pb =
            new ProcessBuilder(
                    "node",
                    repo.resolve("apps/cli/bin/cairn.js").toString(),
                    "server",
                    "--home",
                    home.toString(),
                    "--port",
                    Integer.toString(port))
                .directory(repo.toFile())
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        Process process = pb.start();
        String url = "http://127.0.0.1:" + port;
        Running running = new Running(new Server(url), process, home);
        waitReady(running, log, port, Duration.ofSeconds(120));
        return running;
      } catch (IOException e) {
        throw new IllegalStateException("could not start cairn server: " + e, e);
      }
    }

    private static void waitReady(Running r, Path log, int port, Duration timeout) throws IOException {
      HttpClient http = HttpClient.newBuilder()
              .version(HttpClient.Version.HTTP_1_1)
              .connectTimeout(Duration.ofSeconds(2))
              .build();
      long deadline = System.nanoTime() + timeout.toNanos();
      String banner = "Cairn is running at http://127.0.0.1:" + port;
      while (System.nanoTime() < deadline) {
        if (!r.process.isAlive()) {
          String tail = tail(log);
          r.close();
          throw new IllegalStateException(
              "cairn server exited with " + r.process.exitValue() + ":\n" + tail);
        }
        String text = Files.readString(log, StandardCharsets.UTF_8);
        if (text.contains(banner)) {
          try {
            HttpResponse<Void> res =
                http.send(
                    HttpRequest.newBuilder(URI.create(r.server.url() + "/healthz"))
                        .timeout(Duration.ofSeconds(2))
                        .build(),
                    HttpResponse.BodyHandlers.discarding());
            if (res.statusCode() == 200) {
              return;
            }
          } catch (IOException e) {
            // not yet
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
          }
        }
        try {
          Thread.sleep(100);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException(e);
        }
      }
      String tail = tail(log);
      r.close();
      throw new IllegalStateException("cairn server did not start within " + timeout + ":\n" + tail);
    }

    private static String tail(Path log) throws IOException {
      List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    }

    @Override
    public void close() {
      if (process == null) {
        return;
      }
      // SIGTERM: the CLI shuts the embedded PostgreSQL down cleanly.
      process.destroy();
      try {
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
          process.destroyForcibly();
          process.waitFor(10, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      try (Stream<Path> walk = Files.walk(home)) {
        walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      } catch (IOException ignored) {
        // a temp dir left behind
      }
    }
  }

  static Path repoRoot() {
    Path dir = Path.of("").toAbsolutePath();
    for (Path p = dir; p != null; p = p.getParent()) {
      if (Files.exists(p.resolve("apps/cli/bin/cairn.js"))) {
        return p;
      }
    }
    throw new IllegalStateException("apps/cli/bin/cairn.js not found above " + dir);
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
