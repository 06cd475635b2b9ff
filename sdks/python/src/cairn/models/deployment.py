"""``python -m cairn.models serve --deployment NAME``: serving a deployment (docs/deployment.md,
"Serving a deployment").

A deployment (GraphQL ``deployment(name)``) has one or two variants, each a model URI and a
weight. The scoring server (``serve.py``) loads every variant; each request is routed to one
variant at random by weight and answered with ``x-cairn-variant`` and
``x-cairn-model-version`` headers. What this module adds to the plain server:

- ``DeploymentApp``: the routing and the per-variant stats of one worker;
- ``StatsTable``: request counts, errors, latency sum and fixed latency buckets per
  (variant, version); workers send their deltas every 0.5 s as JSON lines on a shared pipe
  (one line is below ``PIPE_BUF``: atomic; a full pipe keeps the delta for the next try, so a
  request never waits for it);
- ``MetricsReporter`` (its own process): merges the deltas and calls
  ``recordDeploymentMetrics`` every ``interval`` seconds and on drain; a failed report is kept
  and merged into the next window;
- ``DeploymentWatcher`` (its own process): follows ``deploymentChanged(name)`` over graphql-ws
  (and re-reads ``deployment(name)`` every poll interval) and reports new variants, URIs and
  weights, or the deletion, to the master;
- ``TraceLogger`` (``--log-traces``): one span per request through the SDK's span exporter
  (its background thread batches them), linked to the model version it was scored by.
"""

from __future__ import annotations

import bisect
import datetime as _dt
import json
import os
import random
import select
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from ..exceptions import CairnError
from .scoring import ScoringError
from .serve import ScoringApp, ServedModel, _error

#: fixed latency bucket upper bounds (ms); the 13th count is everything above 5000 ms
LATENCY_BUCKETS_MS: Tuple[float, ...] = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)
N_BUCKETS = len(LATENCY_BUCKETS_MS) + 1

DEFAULT_REPORT_INTERVAL = 2.0
#: how often a worker hands its stats to the reporter (s)
WORKER_FLUSH_INTERVAL = 0.5
#: request and response text kept on a logged trace (characters)
TRACE_TEXT_LIMIT = 2048

DEPLOYMENT_FIELDS = "name status variants { name modelUri weight }"
DEPLOYMENT_QUERY = (
    "query CairnServeDeployment($name: String!) "
    f"{{ deployment(name: $name) {{ {DEPLOYMENT_FIELDS} }} }}"
)
DEPLOYMENT_SUBSCRIPTION = (
    "subscription CairnServeDeploymentFollow($name: String) "
    f"{{ deploymentChanged(name: $name) {{ {DEPLOYMENT_FIELDS} }} }}"
)
RECORD_METRICS = (
    "mutation CairnServeMetrics($input: RecordDeploymentMetricsInput!) "
    "{ recordDeploymentMetrics(input: $input) }"
)


def _log(message: str) -> None:
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"
    sys.stderr.write(f"{stamp} cairn-models[{os.getpid()}] {message}\n")
    sys.stderr.flush()


def _iso(epoch: float) -> str:
    return (
        _dt.datetime.fromtimestamp(epoch, _dt.timezone.utc)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


# ---------------------------------------------------------------------- the deployment


@dataclass(frozen=True)
class Variant:
    name: str
    model_uri: str
    weight: int


@dataclass(frozen=True)
class DeploymentSpec:
    """What the serving process needs of ``deployment(name)``."""

    name: str
    status: str
    variants: Tuple[Variant, ...]

    @staticmethod
    def from_graphql(data: Dict[str, Any]) -> "DeploymentSpec":
        variants = tuple(
            Variant(str(v["name"]), str(v["modelUri"]), int(v["weight"]))
            for v in data.get("variants") or []
        )
        return DeploymentSpec(str(data["name"]), str(data.get("status") or ""), variants)

    def routing(self) -> List[Dict[str, Any]]:
        return [{"name": v.name, "weight": v.weight} for v in self.variants]

    def to_json(self) -> Dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "variants": [
                {"name": v.name, "modelUri": v.model_uri, "weight": v.weight} for v in self.variants
            ],
        }


def fetch_deployment(client: Any, name: str) -> Optional[DeploymentSpec]:
    """``deployment(name)``, or None when there is none (or it is deleted)."""
    data = client.execute(DEPLOYMENT_QUERY, {"name": name}).get("deployment")
    if not data or data.get("status") == "DELETED":
        return None
    return DeploymentSpec.from_graphql(data)


def load_deployment(name: str, client: Any, workdir: str) -> Tuple[DeploymentSpec, Dict[str, Any]]:
    """Reads the deployment and downloads every variant's model: ``(spec, {variant: (path,
    meta)})``. ``NOT_FOUND`` when the deployment does not exist."""
    from .serve import resolve_and_download

    spec = fetch_deployment(client, name)
    if spec is None:
        raise CairnError(f"No deployment named {name!r}", "NOT_FOUND", {"name": name})
    if not spec.variants:
        raise CairnError(f"Deployment {name!r} has no variants", "FAILED_PRECONDITION")
    downloads: Dict[str, Any] = {}
    for i, variant in enumerate(spec.variants):
        downloads[variant.name] = resolve_and_download(
            variant.model_uri, os.path.join(workdir, f"variant{i}-v0"), client
        )
    return spec, downloads


# ---------------------------------------------------------------------- routing


def pick_variant(
    routing: List[Dict[str, Any]],
    loaded: Dict[str, Any],
    rand: float,
    forced: Optional[str] = None,
) -> Optional[str]:
    """The variant a request goes to: ``forced`` (the request's ``x-cairn-variant`` header)
    when it names a loaded variant, else one at random by weight among the loaded variants
    (``rand`` in [0, 1)). A variant whose model is not loaded yet gets no traffic; None when
    nothing is loaded."""
    if forced is not None and forced in loaded:
        return forced
    candidates = [(str(r["name"]), int(r["weight"])) for r in routing if r["name"] in loaded]
    total = sum(w for _, w in candidates)
    if total <= 0:
        # every loaded variant has weight 0 (a variant being replaced): any loaded one
        names = [n for n, _ in candidates] or sorted(loaded)
        return names[int(rand * len(names)) % len(names)] if names else None
    point = rand * total
    acc = 0
    for name, weight in candidates:
        acc += weight
        if point < acc:
            return name
    return candidates[-1][0]


# ---------------------------------------------------------------------- per-variant stats


@dataclass
class VariantStats:
    requests: int = 0
    errors: int = 0
    latency_ms_sum: float = 0.0
    buckets: List[int] = field(default_factory=lambda: [0] * N_BUCKETS)

    def record(self, latency_ms: float, error: bool) -> None:
        self.requests += 1
        if error:
            self.errors += 1
        self.latency_ms_sum += latency_ms
        self.buckets[bucket_index(latency_ms)] += 1

    def merge(self, other: "VariantStats") -> None:
        self.requests += other.requests
        self.errors += other.errors
        self.latency_ms_sum += other.latency_ms_sum
        for i, n in enumerate(other.buckets[:N_BUCKETS]):
            self.buckets[i] += n


def bucket_index(latency_ms: float) -> int:
    """The bucket of a latency: the first upper bound it does not exceed (13th: above all)."""
    return bisect.bisect_left(LATENCY_BUCKETS_MS, latency_ms)


Key = Tuple[str, Optional[str]]


class StatsTable:
    """Stats per (variant, version): a version switch inside a window gives two rows."""

    def __init__(self) -> None:
        self.rows: Dict[Key, VariantStats] = {}

    def record(self, variant: str, version: Optional[str], latency_ms: float, error: bool) -> None:
        key = (variant, version)
        row = self.rows.get(key)
        if row is None:
            row = self.rows[key] = VariantStats()
        row.record(latency_ms, error)

    def merge(self, other: "StatsTable") -> None:
        for key, row in other.rows.items():
            self.merge_row(key, row)

    def merge_row(self, key: Key, row: VariantStats) -> None:
        mine = self.rows.get(key)
        if mine is None:
            self.rows[key] = mine = VariantStats()
        mine.merge(row)

    def __bool__(self) -> bool:
        return any(r.requests for r in self.rows.values())

    @property
    def requests(self) -> int:
        return sum(r.requests for r in self.rows.values())

    def lines(self) -> List[Tuple[Key, bytes]]:
        """One JSON line per row (each well below ``PIPE_BUF``, so a pipe write is atomic)."""
        out = []
        for (variant, version), r in self.rows.items():
            line = {
                "variant": variant,
                "version": version,
                "requests": r.requests,
                "errors": r.errors,
                "latencyMsSum": r.latency_ms_sum,
                "latencyMsBuckets": r.buckets,
            }
            out.append(((variant, version), (json.dumps(line) + "\n").encode()))
        return out

    @staticmethod
    def parse_line(line: bytes) -> Optional[Tuple[Key, VariantStats]]:
        try:
            d = json.loads(line)
            buckets = [int(n) for n in d["latencyMsBuckets"]]
            if len(buckets) != N_BUCKETS:
                return None
            version = d.get("version")
            return (
                (str(d["variant"]), None if version is None else str(version)),
                VariantStats(
                    int(d["requests"]), int(d["errors"]), float(d["latencyMsSum"]), buckets
                ),
            )
        except (ValueError, KeyError, TypeError):
            return None

    def to_input(self) -> List[Dict[str, Any]]:
        """``recordDeploymentMetrics``' ``variants``, ordered by variant then version."""
        return [
            {
                "variant": variant,
                "version": version,
                "requests": r.requests,
                "errors": r.errors,
                "latencyMsSum": round(r.latency_ms_sum, 3),
                "latencyMsBuckets": list(r.buckets),
            }
            for (variant, version), r in sorted(
                self.rows.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")
            )
            if r.requests
        ]


# ---------------------------------------------------------------------- the worker's app


class DeploymentApp(ScoringApp):
    """A worker's routes for a deployment: ``/invocations`` routed by weight, stats per
    variant, optional trace logging; ``/version`` describes every variant."""

    def __init__(
        self,
        deployment: str,
        models: Dict[str, ServedModel],
        routing: List[Dict[str, Any]],
        timeout: float,
        stats_fd: Optional[int] = None,
        log_traces: bool = False,
    ) -> None:
        first = routing[0]["name"] if routing and routing[0]["name"] in models else None
        super().__init__(models[first] if first else next(iter(models.values())), timeout)
        self.deployment = deployment
        self.models = dict(models)
        self.routing = list(routing)
        self.stats = StatsTable()
        self.stats_fd = stats_fd
        self.rng = random.Random()  # seeded from os.urandom in each worker (after the fork)
        self.traces: Optional[TraceLogger] = TraceLogger(deployment) if log_traces else None

    # control messages from the master
    def install(self, variant: Optional[str], model: ServedModel) -> None:
        if variant is None:
            return
        if variant in {r["name"] for r in self.routing}:
            self.models[variant] = model
            if self.routing and self.routing[0]["name"] == variant:
                self.model = model

    def set_routing(self, routing: List[Dict[str, Any]]) -> None:
        names = {r["name"] for r in routing}
        self.routing = list(routing)
        for gone in [n for n in self.models if n not in names]:
            del self.models[gone]
        if self.routing and self.routing[0]["name"] in self.models:
            self.model = self.models[self.routing[0]["name"]]

    # requests
    def respond(
        self, method: str, path: str, headers: Dict[str, str], body: bytes
    ) -> Tuple[int, str, bytes, str]:
        route = path.split("?", 1)[0]
        if route == "/invocations" and method == "POST":
            return self._invoke(headers, body)
        if route == "/version" and method in ("GET", "HEAD"):
            return 200, "application/json", json.dumps(self.describe_all()).encode(), ""
        status, ctype, payload = self.handle(method, path, headers, body)
        return status, ctype, payload, ""

    def _invoke(self, headers: Dict[str, str], body: bytes) -> Tuple[int, str, bytes, str]:
        started = time.perf_counter()
        start_ns = time.time_ns() if self.traces is not None else 0
        name = pick_variant(
            self.routing, self.models, self.rng.random(), headers.get("x-cairn-variant")
        )
        if name is None:  # pragma: no cover - the master loads every variant before forking
            status, ctype, payload = _error(
                ScoringError(503, "UNAVAILABLE", "No variant of the deployment is loaded")
            )
            return status, ctype, payload, ""
        model = self.models[name]
        status, ctype, payload = self.invocations(headers.get("content-type"), body, model)
        latency_ms = (time.perf_counter() - started) * 1000.0
        version = None if model.version is None else str(model.version)
        self.stats.record(name, version, latency_ms, status != 200)
        if self.traces is not None:
            self.traces.log(name, model, body, payload, status, start_ns, latency_ms)
        extra = f"x-cairn-variant: {name}\r\n" + (
            f"x-cairn-model-version: {version}\r\n" if version is not None else ""
        )
        return status, ctype, payload, extra

    def describe_all(self) -> Dict[str, Any]:
        variants = []
        for r in self.routing:
            m = self.models.get(r["name"])
            entry: Dict[str, Any] = {"name": r["name"], "weight": r["weight"]}
            if m is not None:
                entry.update(m.describe())
            variants.append(entry)
        info = self.model.describe()
        info.update(
            deployment=self.deployment,
            variant=self.routing[0]["name"] if self.routing else None,
            variants=variants,
            worker_pid=os.getpid(),
        )
        return info

    # the stats pipe
    def flush_stats(self) -> None:
        """Hands the stats gathered since the last flush to the reporter; whatever the pipe
        does not take now (full, reporter restarting) stays for the next flush."""
        if self.stats_fd is None or not self.stats:
            return
        sent: List[Key] = []
        for key, line in self.stats.lines():
            try:
                os.write(self.stats_fd, line)
            except (BlockingIOError, BrokenPipeError, InterruptedError):
                break
            except OSError:
                break
            sent.append(key)
        for key in sent:
            del self.stats.rows[key]

    def close(self) -> None:
        self.flush_stats()
        if self.traces is not None:
            self.traces.flush(5.0)


# ---------------------------------------------------------------------- request traces


class TraceLogger:
    """One span per request (name ``<deployment> /invocations``, type UNKNOWN, kind SERVER)
    with the request and response text (cut to ``TRACE_TEXT_LIMIT`` characters), the variant,
    the model version (``cairn.trace.model_version`` = ``name/version``, the trace's link to
    the registry), the status and the latency. The span is queued on the SDK's exporter (a
    deque append); encoding and sending happen on its background thread."""

    def __init__(self, deployment: Optional[str]) -> None:
        self.deployment = deployment
        self._exporter: Any = None

    def _get_exporter(self) -> Any:
        if self._exporter is None:
            from ..tracing._fluent import get_exporter

            self._exporter = get_exporter()
        return self._exporter

    def log(
        self,
        variant: Optional[str],
        model: ServedModel,
        body: bytes,
        payload: bytes,
        status: int,
        start_ns: int,
        latency_ms: float,
    ) -> None:
        from ..tracing import _span as S

        try:
            span = S.LiveSpan(
                f"{self.deployment} /invocations" if self.deployment else "/invocations",
                trace=S.TraceState(S.new_trace_id()),
                parent_id=None,
                kind=2,  # SERVER
                start_time_ns=start_ns,
            )
            attrs: Dict[str, Any] = {
                "cairn.model.uri": model.uri,
                "http.response.status_code": status,
                "cairn.latency_ms": round(latency_ms, 3),
            }
            if self.deployment is not None:
                attrs["cairn.deployment.name"] = self.deployment
            if variant is not None:
                attrs["cairn.deployment.variant"] = variant
            if model.name is not None:
                attrs["cairn.model.name"] = model.name
            if model.version is not None:
                attrs["cairn.model.version"] = str(model.version)
                if model.name is not None:
                    attrs[S.TRACE_MODEL_VERSION] = f"{model.name}/{model.version}"
            # raw text, cut; JSON-quoted by the exporter's thread, not here
            span._attributes.update(attrs)
            span._inputs = _cut(body)
            span._outputs = _cut(payload)
            if status != 200:
                span.status = S.SpanStatus(S.SpanStatusCode.ERROR, f"HTTP {status}")
            else:
                span.status = S.SpanStatus(S.SpanStatusCode.OK)
            span.end_time_ns = start_ns + int(latency_ms * 1e6)
            self._get_exporter().submit(span)
        except Exception as exc:  # noqa: BLE001 - logging must never fail a request
            _log(f"could not log a request trace: {exc}")

    def flush(self, timeout: float) -> None:
        if self._exporter is not None:
            self._exporter.flush(timeout)


def _cut(data: bytes) -> str:
    text = data[: TRACE_TEXT_LIMIT * 4].decode("utf-8", errors="replace")
    if len(text) > TRACE_TEXT_LIMIT:
        return text[:TRACE_TEXT_LIMIT] + "…"
    return text


# ---------------------------------------------------------------------- the reporter


class MetricsReporter:
    """Merges the workers' stats lines and reports them as windows. ``send`` returns True when
    the server took the window; otherwise the window stays pending, its start unchanged, and
    what arrives meanwhile is merged into it."""

    def __init__(self, name: str, client: Any, clock: Any = time.time) -> None:
        self.name = name
        self.client = client
        self.clock = clock
        self.pending = StatsTable()
        self.window_start = clock()
        self.buf = b""
        self.sent_windows = 0
        self.failed_reports = 0

    def feed(self, chunk: bytes) -> None:
        self.buf += chunk
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            parsed = StatsTable.parse_line(line)
            if parsed is not None:
                self.pending.merge_row(*parsed)

    def report(self) -> bool:
        now = self.clock()
        if not self.pending:
            self.window_start = now  # nothing happened: no window is sent for it
            return True
        variables = {
            "input": {
                "name": self.name,
                "windowStart": _iso(self.window_start),
                "windowEnd": _iso(max(now, self.window_start + 0.001)),
                "variants": self.pending.to_input(),
            }
        }
        try:
            # one attempt: a failure is retried by the next window, merged
            self.client._transport.execute(RECORD_METRICS, variables, retry_timeout=0)
        except Exception as exc:  # noqa: BLE001 - kept, merged into the next report
            self.failed_reports += 1
            if self.failed_reports == 1 or self.failed_reports % 30 == 0:
                _log(
                    f"metrics report failed ({exc}); keeping {self.pending.requests} "
                    "request(s) for the next one"
                )
            return False
        self.pending = StatsTable()
        self.window_start = now
        self.sent_windows += 1
        self.failed_reports = 0
        return True


def run_reporter(name: str, read_fd: int, interval: float, master_pid: int) -> None:
    """The reporter process: reads the stats pipe, reports every ``interval`` seconds; on
    SIGTERM (the master's drain, after the workers are gone) it reads what is left and sends a
    last report (retried for a few seconds)."""
    from ..client import CairnClient
    from ..config import TransportSettings

    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    base = TransportSettings.from_env()
    settings = TransportSettings(
        api_key=base.api_key,
        workspace=base.workspace,
        request_timeout=min(base.request_timeout, 10.0),
        retry_timeout=0.0,
        backoff_initial=base.backoff_initial,
        backoff_max=base.backoff_max,
    )
    reporter = MetricsReporter(name, CairnClient(settings=settings))
    os.set_blocking(read_fd, False)

    def read_all() -> None:
        while True:
            try:
                chunk = os.read(read_fd, 65536)
            except BlockingIOError:
                return
            except InterruptedError:
                continue
            if not chunk:
                return
            reporter.feed(chunk)

    next_report = time.monotonic() + interval
    while not stopping and os.getppid() == master_pid:
        timeout = max(0.0, next_report - time.monotonic())
        try:
            ready, _, _ = select.select([read_fd], [], [], timeout)
        except InterruptedError:
            ready = []
        if ready:
            read_all()
        if time.monotonic() >= next_report:
            reporter.report()
            next_report = time.monotonic() + interval
    read_all()
    deadline = time.monotonic() + 5.0
    while not reporter.report() and time.monotonic() < deadline:
        time.sleep(0.5)
    if reporter.pending:
        _log(f"drain: {reporter.pending.requests} request(s) could not be reported")
    else:
        _log("drain: final metrics reported")


# ---------------------------------------------------------------------- the watcher


class DeploymentWatcher:
    """Follows ``deploymentChanged(name)`` (graphql-ws) and re-reads ``deployment(name)``
    every ``poll_interval`` seconds; writes a JSON line to the master when the variants
    (names, URIs, weights) change, and ``{"kind": "deleted"}`` when the deployment is gone.
    Pushes for metrics windows change nothing and are not reported."""

    def __init__(
        self,
        spec: DeploymentSpec,
        out_fd: int,
        poll_interval: float,
        subscribe: bool,
        master_pid: int,
        client: Any = None,
    ) -> None:
        from ..client import CairnClient

        self.name = spec.name
        self.last = spec.variants
        self.out_fd = out_fd
        self.poll_interval = max(0.2, poll_interval)
        self.subscribe = subscribe
        self.master_pid = master_pid
        self.client = client or CairnClient()

    def run(self) -> None:
        from .serve_watch import WebSocketError

        backoff = 0.5
        while os.getppid() == self.master_pid:
            if not self.subscribe:
                self.check()
                time.sleep(self.poll_interval)
                continue
            try:
                self._follow()
                backoff = 0.5
            except (OSError, WebSocketError) as exc:
                _log(f"deployment subscription unavailable ({exc}); polling until it reconnects")
                self.check()
                time.sleep(min(backoff, self.poll_interval))
                backoff = min(backoff * 2, 30.0)

    def _follow(self) -> None:
        from .serve_watch import WebSocket, WebSocketError, ws_headers

        url = self.client.tracking_uri + "/graphql"
        headers = ws_headers(self.client)
        ws = WebSocket.connect(url, headers, "graphql-transport-ws")
        try:
            init: Dict[str, Any] = {}
            if "Authorization" in headers:
                init["authorization"] = headers["Authorization"]
            if "x-cairn-workspace" in headers:
                init["x-cairn-workspace"] = headers["x-cairn-workspace"]
            ws.send_json({"type": "connection_init", "payload": init})
            ack = ws.recv_json(10.0)
            if not ack or ack.get("type") != "connection_ack":
                raise WebSocketError(f"no connection_ack: {ack}")
            ws.send_json(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": DEPLOYMENT_SUBSCRIPTION, "variables": {"name": self.name}},
                }
            )
            self.check()  # whatever changed before the subscription was open
            while os.getppid() == self.master_pid:
                message = ws.recv_json(self.poll_interval)
                if message is None:
                    self.check()
                    continue
                kind = message.get("type")
                if kind == "ping":
                    ws.send_json({"type": "pong"})
                elif kind == "next":
                    payload = message.get("payload") or {}
                    data = (payload.get("data") or {}).get("deploymentChanged")
                    if isinstance(data, dict) and data.get("name") == self.name:
                        self.seen(data)
                    else:
                        self.check()
                elif kind in ("error", "complete"):
                    raise WebSocketError(f"subscription ended ({kind}: {message.get('payload')})")
        finally:
            ws.close()

    def check(self) -> None:
        try:
            data = self.client.execute(DEPLOYMENT_QUERY, {"name": self.name}).get("deployment")
        except Exception as exc:  # noqa: BLE001 - keep serving what is loaded
            _log(f"cannot read deployment {self.name!r} ({exc}); keeping the current variants")
            return
        self.seen(data)

    def seen(self, data: Optional[Dict[str, Any]]) -> None:
        if not data or data.get("status") == "DELETED":
            self._send({"kind": "deleted", "name": self.name})
            return
        try:
            spec = DeploymentSpec.from_graphql(data)
        except (KeyError, TypeError, ValueError):
            return
        if spec.variants and spec.variants != self.last:
            self.last = spec.variants
            self._send({"kind": "deployment", **spec.to_json()})

    def _send(self, message: Dict[str, Any]) -> None:
        os.write(self.out_fd, (json.dumps(message) + "\n").encode())


def run_deployment_watcher(
    spec: DeploymentSpec, out_fd: int, poll_interval: float, subscribe: bool, master_pid: int
) -> None:
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    DeploymentWatcher(spec, out_fd, poll_interval, subscribe, master_pid).run()
