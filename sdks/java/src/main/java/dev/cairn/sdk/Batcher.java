package dev.cairn.sdk;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * The background queue that turns many {@code logMetric} calls into few {@code logBatch}
 * requests.
 *
 * <p>Caller's thread: validate, put a point in a bounded queue (blocks while the queue is full:
 * back-pressure, memory stays bounded). Daemon thread {@code cairn-batcher}: takes what is
 * queued, waits up to {@code flushInterval} for a full batch, groups points per run and sends
 * each group with {@code logBatch(sync: false)} (durable when it answers) and an idempotency
 * key, retried for {@code batchRetryTimeout}. Points the server refuses are dropped; the error is
 * raised by the next {@code flush()}. {@code flush()} puts a marker in the queue and waits for
 * the worker to reach it.
 */
final class Batcher implements AutoCloseable {
  record Point(String runId, String key, double value, long step, long timestamp) {}

  private record Marker(CompletableFuture<Void> done) {}

  private static final Object STOP = new Object();

  static final int MAX_METRICS_PER_REQUEST = 50_000;

  private final Transport transport;
  private final BlockingQueue<Object> queue;
  private final int batchSize;
  private final Duration flushInterval;
  private final Duration retryTimeout;
  private final Thread worker;
  private final List<CairnException> errors = new ArrayList<>();
  private long dropped;
  private final java.util.Set<String> unsynced = new java.util.HashSet<>();
  private volatile boolean closed;

  Batcher(
      Transport transport,
      int maxQueue,
      int batchSize,
      Duration flushInterval,
      Duration retryTimeout) {
    this.transport = transport;
    this.queue = new ArrayBlockingQueue<>(Math.max(16, maxQueue));
    this.batchSize = Math.max(1, Math.min(batchSize, MAX_METRICS_PER_REQUEST));
    this.flushInterval = flushInterval;
    this.retryTimeout = retryTimeout;
    this.worker = new Thread(this::run, "cairn-batcher");
    this.worker.setDaemon(true);
    this.worker.start();
  }

  void add(Point p) {
    if (closed) {
      throw new CairnException("FAILED_PRECONDITION", "the CairnClient is closed");
    }
    put(p);
  }

  private void put(Object o) {
    try {
      queue.put(o);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CairnException("CANCELLED", "interrupted while queueing a metric");
    }
  }

  /** Blocks until everything queued before the call is acknowledged (or failed: raised here). */
  void flush(Duration timeout) {
    if (!worker.isAlive()) {
      raiseErrors();
      return;
    }
    CompletableFuture<Void> done = new CompletableFuture<>();
    put(new Marker(done));
    try {
      done.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CairnException("CANCELLED", "interrupted while flushing");
    } catch (ExecutionException e) {
      throw new CairnException("INTERNAL", "the batcher failed: " + e.getCause(), 0, Map.of(), e);
    } catch (java.util.concurrent.TimeoutException e) {
      throw new CairnException(
          "DEADLINE_EXCEEDED", "flush did not finish within " + timeout.toSeconds() + " s");
    }
    raiseErrors();
  }

  private void raiseErrors() {
    CairnException first;
    long lost;
    synchronized (errors) {
      if (errors.isEmpty()) {
        return;
      }
      first = errors.get(0);
      lost = dropped;
      errors.clear();
      dropped = 0;
    }
    throw new CairnException(
        first.getCode(),
        "logging in the background failed; " + lost + " metric point(s) were not stored: "
            + first.getMessage(),
        first.getHttpStatus(),
        first.getDetails(),
        first);
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      flush(retryTimeout.plusSeconds(30));
    } finally {
      put(STOP);
      try {
        worker.join(10_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  // ------------------------------------------------------------------ the worker thread

  private void run() {
    List<Object> items = new ArrayList<>();
    while (true) {
      items.clear();
      Object first;
      try {
        first = queue.take();
      } catch (InterruptedException e) {
        return;
      }
      items.add(first);
      boolean stop = first == STOP;
      boolean marker = first instanceof Marker;
      long deadline = System.nanoTime() + flushInterval.toNanos();
      while (!stop && !marker && items.size() < batchSize) {
        int before = items.size();
        queue.drainTo(items, batchSize - items.size());
        for (int i = before; i < items.size(); i++) {
          Object o = items.get(i);
          stop |= o == STOP;
          marker |= o instanceof Marker;
        }
        if (stop || marker || items.size() >= batchSize) {
          break;
        }
        long wait = deadline - System.nanoTime();
        if (wait <= 0) {
          break;
        }
        Object next;
        try {
          next = queue.poll(wait, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
          return;
        }
        if (next == null) {
          break;
        }
        items.add(next);
        stop |= next == STOP;
        marker |= next instanceof Marker;
      }
      process(items);
      if (stop) {
        return;
      }
    }
  }

  private void process(List<Object> items) {
    Map<String, List<Point>> byRun = new LinkedHashMap<>();
    for (Object o : items) {
      if (o instanceof Point p) {
        byRun.computeIfAbsent(p.runId(), k -> new ArrayList<>()).add(p);
      } else if (o instanceof Marker m) {
        send(byRun, true);
        // runs sent in bulk mode earlier and not since: wait for their read model too
        for (String runId : new ArrayList<>(unsynced)) {
          sendChunk(runId, List.of(), true);
        }
        byRun.clear();
        m.done().complete(null);
      }
    }
    Object next = queue.peek();
    send(byRun, next == null || next instanceof Marker || next == STOP);
  }

  /**
   * While a backlog remains, batches are durable-on-return ({@code sync: false}, the server's
   * bulk mode); the last batch of each run before a flush marker (or when the queue is empty)
   * waits for the read model, so everything sent before it is queryable when flush() returns.
   */
  private void send(Map<String, List<Point>> byRun, boolean syncLast) {
    for (Map.Entry<String, List<Point>> e : byRun.entrySet()) {
      List<Point> points = e.getValue();
      for (int i = 0; i < points.size(); i += MAX_METRICS_PER_REQUEST) {
        int end = Math.min(points.size(), i + MAX_METRICS_PER_REQUEST);
        sendChunk(e.getKey(), points.subList(i, end), syncLast && end == points.size());
      }
    }
  }

  private void sendChunk(String runId, List<Point> chunk, boolean sync) {
    if (sync) {
      unsynced.remove(runId);
    } else {
      unsynced.add(runId);
    }
    List<Map<String, Object>> metrics = new ArrayList<>(chunk.size());
    for (Point p : chunk) {
      Map<String, Object> m = new HashMap<>(6);
      m.put("key", p.key());
      m.put("value", CairnClient.encodeValue(p.value()));
      m.put("step", p.step());
      m.put("timestamp", p.timestamp());
      metrics.add(m);
    }
    Map<String, Object> vars = new HashMap<>();
    vars.put("runId", runId);
    vars.put("metrics", metrics);
    vars.put("sync", sync);
    // The same key on every retry of this request: the server stores it once.
    vars.put("idempotencyKey", UUID.randomUUID().toString().replace("-", ""));
    try {
      transport.execute(Queries.LOG_BATCH, vars, retryTimeout);
    } catch (CairnException error) {
      synchronized (errors) {
        if (errors.size() < 100) {
          errors.add(error);
        }
        dropped += chunk.size();
      }
      System.getLogger("cairn")
          .log(
              System.Logger.Level.WARNING,
              "cairn: " + chunk.size() + " metric point(s) of run " + runId + " were not stored: "
                  + error.getMessage());
    } catch (RuntimeException unexpected) {
      synchronized (errors) {
        errors.add(new CairnException("INTERNAL", unexpected.toString(), 0, Map.of(), unexpected));
        dropped += chunk.size();
      }
    }
  }
}
