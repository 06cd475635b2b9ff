"""Serving a deployment against the real server: ``python -m cairn.models serve --deployment``
(a 90/10 split within ±3 % with per-variant metrics; an alias move and a rollback during load
with zero failed requests; weights, URIs and deletion followed through ``deploymentChanged``;
request traces linked to the model version). The deployments use the ``local`` target with
``start: false``: the test runs the serving process itself."""

from __future__ import annotations

import http.client
import json
import signal
import sys
import threading
import time
import uuid
from collections import Counter
from typing import Any, Callable, Dict, Iterator, List, Optional
from urllib.parse import urlsplit

import pytest
import requests
from test_serving import Served, _env

import cairn
import cairn.pyfunc

DEPLOYMENT = """query D($name: String!) { deployment(name: $name) {
  name status variants { name modelUri alias servedVersion weight }
  history(first: 50) { nodes { kind variant fromVersion toVersion actor summary } }
  metrics(sinceSeconds: 3600) {
    variant version requests errors errorRate latencyP50Ms latencyP95Ms latencyMeanMs
    series { at requests errors latencyMeanMs }
  }
} }"""
CREATE = """mutation C($input: CreateDeploymentInput!) {
  createDeployment(input: $input) { name status } }"""
UPDATE = """mutation U($input: UpdateDeploymentInput!) {
  updateDeployment(input: $input) { name } }"""


class ConstModel(cairn.pyfunc.PythonModel):
    """Predicts ``value`` for every row (cheap: the tests measure routing, not a model)."""

    def __init__(self, value: int) -> None:
        self.value = value

    def predict(self, context: Any, model_input: Any, params: Any = None) -> Any:
        return [self.value] * len(model_input)


@pytest.fixture(scope="module")
def versions(server: Any) -> Iterator[Dict[str, Any]]:
    """One registered model with two versions: version N predicts N for every row."""
    import pandas as pd

    from cairn import CairnClient

    previous = cairn.get_tracking_uri()
    cairn.set_tracking_uri(server.url)
    cairn.set_experiment(f"deploy-{uuid.uuid4().hex[:8]}")
    name = f"deploy-{uuid.uuid4().hex[:8]}"
    try:
        for value in (1, 2):
            with cairn.start_run():
                cairn.pyfunc.log_model(
                    "model",
                    python_model=ConstModel(value),
                    registered_model_name=name,
                    input_example=pd.DataFrame({"x": [1.0, 2.0]}),
                )
    finally:
        cairn.set_tracking_uri(previous)
    body = {"dataframe_split": {"columns": ["x"], "data": [[1.0], [2.0], [3.0]]}}
    yield {"name": name, "client": CairnClient(server.url), "body": body}


def _deploy(server: Any, variants: List[Dict[str, Any]]) -> str:
    name = f"dep-{uuid.uuid4().hex[:8]}"
    server.graphql(
        CREATE,
        {
            "input": {
                "name": name,
                "target": "local",
                "modelUri": variants[0]["modelUri"],
                "config": {"start": False},
                "variants": variants,
            }
        },
    )
    return name


def _read(server: Any, name: str) -> Optional[Dict[str, Any]]:
    return server.graphql(DEPLOYMENT, {"name": name})["deployment"]  # type: ignore[no-any-return]


def _wait_for(what: str, check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


class Load:
    """``clients`` keep-alive threads POSTing ``body`` until ``done(answered)`` or ``limit``
    requests; every answer is recorded as (status, variant header, version header,
    predictions or error)."""

    def __init__(self, url: str, body: Any, clients: int = 8, limit: int = 50_000) -> None:
        self.url, self.body, self.limit = url + "/invocations", body, limit
        self.lock = threading.Lock()
        self.issued = 0
        self.seen: Counter[tuple] = Counter()
        self.failures: List[str] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run) for _ in range(clients)]

    @property
    def answered(self) -> int:
        with self.lock:
            return sum(self.seen.values())

    def count(self, **match: Any) -> int:
        keys = ("status", "variant", "version", "predictions")
        with self.lock:
            return sum(
                n
                for key, n in self.seen.items()
                if all(dict(zip(keys, key))[k] == v for k, v in match.items())
            )

    def start(self) -> "Load":
        for t in self.threads:
            t.start()
        return self

    def join(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(120)

    def _run(self) -> None:
        # http.client on one keep-alive connection: a third of requests' CPU per call, which
        # matters with the server on the same two cores
        parts = urlsplit(self.url)
        body = json.dumps(self.body).encode()
        conn: Optional[http.client.HTTPConnection] = None
        while not self.stop.is_set():
            with self.lock:
                if self.issued >= self.limit:
                    break
                self.issued += 1
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
                conn.request("POST", parts.path, body, {"Content-Type": "application/json"})
                r = conn.getresponse()
                data = r.read()
                preds = str(json.loads(data)["predictions"]) if r.status == 200 else data
                key = (
                    r.status,
                    r.getheader("x-cairn-variant"),
                    r.getheader("x-cairn-model-version"),
                    preds,
                )
                if r.getheader("connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except Exception as exc:  # noqa: BLE001 - every failure is counted
                key = (0, None, None, f"{type(exc).__name__}: {exc}")
                if conn is not None:
                    conn.close()
                    conn = None
            with self.lock:
                self.seen[key] += 1
                if key[0] != 200:
                    self.failures.append(str(key))
        if conn is not None:
            conn.close()


def _serve(server: Any, name: str, *more: str) -> Served:
    return Served(
        [
            sys.executable,
            "-m",
            "cairn.models",
            "serve",
            "--deployment",
            name,
            *more,
        ],
        _env(server),
    )


# ---------------------------------------------------------------------- A/B


def test_a_90_10_split_routes_by_weight_and_reports_per_variant_metrics(
    server: Any, versions: Dict[str, Any]
) -> None:
    model, client = versions["name"], versions["client"]
    client.set_registered_model_alias(model, "ab", 1)
    name = _deploy(
        server,
        [
            {"name": "primary", "modelUri": f"models:/{model}@ab", "weight": 90},
            {"name": "candidate", "modelUri": f"models:/{model}/2", "weight": 10},
        ],
    )
    srv = _serve(server, name, "--workers", "2")
    try:
        info = requests.get(srv.url + "/version", timeout=5).json()
        assert info["deployment"] == name
        assert [(v["name"], v["weight"], v["model_version"]) for v in info["variants"]] == [
            ("primary", 90, 1),
            ("candidate", 10, 2),
        ]
        load = Load(srv.url, versions["body"], limit=5000).start()
        for t in load.threads:
            t.join(120)
        # a request can ask for a variant (x-cairn-variant), outside the 5,000
        forced = requests.post(
            srv.url + "/invocations",
            json=versions["body"],
            headers={"x-cairn-variant": "candidate"},
            timeout=10,
        )
        assert forced.headers["x-cairn-variant"] == "candidate"
        assert forced.json() == {"predictions": [2, 2, 2]}
    finally:
        code = srv.stop()
    assert code == 0, srv.tail()
    assert load.failures == [], load.failures[:5]
    # each variant answered with its own version's predictions and headers
    assert set(load.seen) == {
        (200, "primary", "1", "[1, 1, 1]"),
        (200, "candidate", "2", "[2, 2, 2]"),
    }, load.seen
    candidate = load.count(variant="candidate")
    assert load.answered == 5000
    assert 0.07 <= candidate / 5000 <= 0.13, candidate
    assert "drain: final metrics reported" in srv.tail()

    # the reports (every 2 s and the last one on drain) add up to every request, per variant
    def reported() -> Optional[Dict[str, Any]]:
        d = _read(server, name)
        assert d is not None
        per = Counter()
        for m in d["metrics"]:
            per[m["variant"]] += m["requests"]
        return d if sum(per.values()) >= 5001 else None

    d = _wait_for("the metrics of 5,001 requests", reported, 20)
    metrics = {m["variant"]: m for m in d["metrics"]}
    assert metrics["primary"]["requests"] == 5000 - candidate
    assert metrics["candidate"]["requests"] == candidate + 1
    assert metrics["primary"]["version"] == "1" and metrics["candidate"]["version"] == "2"
    for m in metrics.values():
        assert m["errors"] == 0 and m["errorRate"] == 0
        assert m["latencyP50Ms"] is not None and 0 < m["latencyP50Ms"] <= m["latencyP95Ms"]
        assert 0 < m["latencyMeanMs"] < 1000
        assert sum(p["requests"] for p in m["series"]) == m["requests"]


# ---------------------------------------------------------------------- alias move, rollback


def test_alias_move_and_rollback_during_load_switch_with_zero_failures(
    server: Any, versions: Dict[str, Any]
) -> None:
    """5,000 requests from 8 clients; after 1,000 the alias moves to version 2 (the poll
    interval is 10 minutes: the subscription's push switches it); once 500 answers came from
    version 2, ``rollbackDeployment`` moves it back; the load ends 500 answers later."""
    model, client = versions["name"], versions["client"]
    client.set_registered_model_alias(model, "live", 1)
    name = _deploy(
        server, [{"name": "primary", "modelUri": f"models:/{model}@live", "weight": 100}]
    )
    srv = _serve(server, name, "--workers", "2", "--poll-interval", "600")

    def versions_served() -> set:
        return {
            requests.get(srv.url + "/version", timeout=5).json()["model_version"] for _ in range(8)
        }

    try:
        load = Load(srv.url, versions["body"], limit=20_000).start()
        _wait_for("1,000 answers", lambda: load.answered >= 1000)
        moved = time.monotonic()
        client.set_registered_model_alias(model, "live", 2)
        _wait_for("every worker on version 2", lambda: versions_served() == {2})
        switched_after = time.monotonic() - moved
        _wait_for("500 answers of version 2", lambda: load.count(version="2") >= 500)
        rolled = server.graphql(
            "mutation R($name: String!) { rollbackDeployment(name: $name) "
            "{ variants { name servedVersion } } }",
            {"name": name},
        )["rollbackDeployment"]
        assert rolled["variants"][0]["servedVersion"] == "1"
        _wait_for("every worker back on version 1", lambda: versions_served() == {1})
        back = load.count(version="1")
        _wait_for(
            "500 more answers of version 1 and 5,000 in all",
            lambda: load.count(version="1") >= back + 500 and load.answered >= 5000,
            60,
        )
        load.join()
    finally:
        code = srv.stop()
    assert code == 0, srv.tail()
    assert load.failures == [], load.failures[:5]
    assert load.answered >= 5000
    assert set(load.seen) == {
        (200, "primary", "1", "[1, 1, 1]"),
        (200, "primary", "2", "[2, 2, 2]"),
    }, load.seen
    assert switched_after < 30
    assert "primary: switching from version 1 to version 2" in srv.tail()
    assert "primary: switching from version 2 to version 1" in srv.tail()
    d = _read(server, name)
    assert d is not None and d["variants"][0]["servedVersion"] == "1"
    kinds = [(h["kind"], h["fromVersion"], h["toVersion"]) for h in d["history"]["nodes"]]
    assert ("VERSION_CHANGED", "1", "2") in kinds, kinds
    assert any(k == "ROLLED_BACK" for k, _, _ in kinds), kinds
    # the registry's own history has both alias moves
    moves = [
        (h.version, h.previous_version)
        for h in client.get_registered_model_history(model)
        if h.kind == "ALIAS_SET" and h.alias == "live"
    ]
    assert (2, 1) in moves and (1, 2) in moves, moves


# ---------------------------------------------------------------------- deploymentChanged


def test_weights_uris_and_deletion_are_followed_and_requests_are_traced(
    server: Any, versions: Dict[str, Any]
) -> None:

    model = versions["name"]
    name = _deploy(
        server,
        [
            {"name": "primary", "modelUri": f"models:/{model}/1", "weight": 100},
            {"name": "candidate", "modelUri": f"models:/{model}/1", "weight": 0},
        ],
    )
    srv = _serve(server, name, "--log-traces", "--poll-interval", "600")

    def variants_seen(n: int = 40) -> Counter:
        out: Counter = Counter()
        for _ in range(n):
            r = requests.post(srv.url + "/invocations", json=versions["body"], timeout=10)
            assert r.status_code == 200, r.text
            out[(r.headers["x-cairn-variant"], r.headers["x-cairn-model-version"])] += 1
        return out

    try:
        assert variants_seen() == Counter({("primary", "1"): 40})
        # all traffic to the candidate, now on version 2: weights at once, the URI when loaded
        server.graphql(
            UPDATE,
            {
                "input": {
                    "name": name,
                    "variants": [
                        {"name": "primary", "modelUri": f"models:/{model}/1", "weight": 0},
                        {"name": "candidate", "modelUri": f"models:/{model}/2", "weight": 100},
                    ],
                }
            },
        )
        _wait_for(
            "the candidate on version 2",
            lambda: set(variants_seen(5)) == {("candidate", "2")},
        )
        # deleted: the server drains and exits 0 by itself
        assert server.graphql(
            "mutation X($n: String!) { deleteDeployment(name: $n) }", {"n": name}
        )["deleteDeployment"]
        srv.proc.wait(30)
    finally:
        code = srv.stop(signal.SIGTERM)
    assert code == 0, srv.tail()
    assert f"deployment {name} was deleted: draining" in srv.tail()

    # one trace per request, linked to the version that scored it
    previous = cairn.get_tracking_uri()
    cairn.set_tracking_uri(server.url)
    try:
        traces = _wait_for(
            "the request traces",
            lambda: (
                cairn.tracing.search_traces(f"name = '{name} /invocations'", max_results=500)
                or None
            ),
        )
        v2 = next(t for t in traces if t["modelVersion"] == f"{model}/2")
        full = cairn.tracing.get_trace(v2["id"])
    finally:
        cairn.set_tracking_uri(previous)
    by_version = Counter(t["modelVersion"] for t in traces)
    assert by_version[f"{model}/1"] >= 40 and by_version[f"{model}/2"] >= 5, by_version
    assert v2["status"] == "OK" and v2["spanCount"] == 1
    assert "dataframe_split" in str(v2["inputs"])
    assert "2,2,2" in str(v2["outputs"]).replace(" ", "")
    assert full is not None
    attrs = full["spans"][0]["attributes"]
    assert attrs["cairn.deployment.name"] == name
    assert attrs["cairn.deployment.variant"] == "candidate"
    assert attrs["cairn.model.version"] == "2" and attrs["http.response.status_code"] == 200
    assert full["spans"][0]["durationMs"] is not None
