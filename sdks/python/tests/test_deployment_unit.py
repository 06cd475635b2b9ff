"""Serving a deployment, the pure parts (``cairn.models.deployment``): weighted routing, the
fixed latency buckets, the stats lines a worker hands over, and the reporter keeping a failed
window for the next one (against a loopback HTTP server that answers as scripted)."""

from __future__ import annotations

import json
import random
from typing import Any, Dict, List

from cairn.models.deployment import (
    LATENCY_BUCKETS_MS,
    N_BUCKETS,
    DeploymentSpec,
    MetricsReporter,
    StatsTable,
    bucket_index,
    pick_variant,
)

ROUTING = [{"name": "primary", "weight": 90}, {"name": "candidate", "weight": 10}]


def test_routing_follows_the_weights_and_skips_unloaded_variants() -> None:
    rng = random.Random(7)
    loaded = {"primary": object(), "candidate": object()}
    counts: Dict[str, int] = {"primary": 0, "candidate": 0}
    for _ in range(20000):
        name = pick_variant(ROUTING, loaded, rng.random())
        assert name is not None
        counts[name] += 1
    assert 0.08 < counts["candidate"] / 20000 < 0.12, counts
    # the edges of [0, 1)
    assert pick_variant(ROUTING, loaded, 0.0) == "primary"
    assert pick_variant(ROUTING, loaded, 0.8999) == "primary"
    assert pick_variant(ROUTING, loaded, 0.9) == "candidate"
    assert pick_variant(ROUTING, loaded, 0.99999) == "candidate"
    # a variant whose model is not loaded yet gets nothing; a forced one wins when loaded
    only_primary = {"primary": object()}
    assert {pick_variant(ROUTING, only_primary, r / 10) for r in range(10)} == {"primary"}
    assert pick_variant(ROUTING, loaded, 0.1, forced="candidate") == "candidate"
    assert pick_variant(ROUTING, only_primary, 0.95, forced="candidate") == "primary"
    assert pick_variant(ROUTING, only_primary, 0.95, forced="nope") == "primary"
    # weight 0: never picked while another has weight
    zero = [{"name": "primary", "weight": 100}, {"name": "candidate", "weight": 0}]
    assert {pick_variant(zero, loaded, r / 100) for r in range(100)} == {"primary"}
    assert pick_variant(ROUTING, {}, 0.5) is None


def test_latency_buckets_are_the_contracts() -> None:
    assert LATENCY_BUCKETS_MS == (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)
    assert N_BUCKETS == 13
    assert bucket_index(0.2) == 0 and bucket_index(1.0) == 0  # upper bounds are inclusive
    assert bucket_index(1.01) == 1 and bucket_index(7) == 3 and bucket_index(5000) == 11
    assert bucket_index(5000.1) == 12 and bucket_index(1e9) == 12


def test_stats_lines_round_trip_and_merge_per_variant_and_version() -> None:
    table = StatsTable()
    table.record("primary", "1", 0.5, False)
    table.record("primary", "1", 30.0, True)
    table.record("primary", "2", 3.0, False)  # the alias moved inside the window
    table.record("candidate", None, 7000.0, False)
    assert table.requests == 4
    merged = StatsTable()
    for key, line in table.lines():
        assert line.endswith(b"\n") and len(line) < 512  # atomic on a pipe (PIPE_BUF)
        parsed = StatsTable.parse_line(line.rstrip(b"\n"))
        assert parsed is not None and parsed[0] == key
        merged.merge_row(*parsed)
        merged.merge_row(*parsed)  # twice: counts add up
    rows = {(r["variant"], r["version"]): r for r in merged.to_input()}
    assert set(rows) == {("primary", "1"), ("primary", "2"), ("candidate", None)}
    p1 = rows[("primary", "1")]
    assert p1["requests"] == 4 and p1["errors"] == 2 and p1["latencyMsSum"] == 61.0
    assert p1["latencyMsBuckets"][0] == 2 and p1["latencyMsBuckets"][5] == 2
    assert sum(p1["latencyMsBuckets"]) == 4 and len(p1["latencyMsBuckets"]) == 13
    assert rows[("candidate", None)]["latencyMsBuckets"][12] == 2
    assert [r["variant"] for r in merged.to_input()] == ["candidate", "primary", "primary"]
    # garbage and wrong bucket counts are ignored
    assert StatsTable.parse_line(b"{") is None
    bad = json.loads(table.lines()[0][1])
    bad["latencyMsBuckets"] = [1, 2]
    assert StatsTable.parse_line(json.dumps(bad).encode()) is None
    assert not StatsTable()


def test_deployment_spec_from_graphql() -> None:
    spec = DeploymentSpec.from_graphql(
        {
            "name": "churn",
            "status": "READY",
            "variants": [
                {"name": "primary", "modelUri": "models:/m@champion", "weight": 90},
                {"name": "candidate", "modelUri": "models:/m/3", "weight": 10},
            ],
        }
    )
    assert spec.routing() == ROUTING
    assert DeploymentSpec.from_graphql(spec.to_json()) == spec


def test_a_failed_report_is_kept_and_merged_into_the_next(fake_server: Any) -> None:
    from cairn import CairnClient
    from cairn.config import TransportSettings

    now = [1_000_000.0]
    client = CairnClient(fake_server.url, settings=TransportSettings(retry_timeout=0.0))
    reporter = MetricsReporter("churn", client, clock=lambda: now[0])

    def feed(variant: str, n: int) -> None:
        table = StatsTable()
        for _ in range(n):
            table.record(variant, "1", 4.0, False)
        reporter.feed(b"".join(line for _, line in table.lines()))

    # nothing happened: nothing is sent
    now[0] += 2
    assert reporter.report() and fake_server.requests == []
    feed("primary", 3)
    now[0] += 2
    fake_server.responses = [(503, {"errors": [{"message": "down"}]})]
    assert not reporter.report()
    feed("primary", 2)
    feed("candidate", 1)
    now[0] += 2
    fake_server.responses = [(200, {"data": {"recordDeploymentMetrics": True}})]
    assert reporter.report()
    sent: List[Dict[str, Any]] = [r["body"]["variables"]["input"] for r in fake_server.requests]
    assert len(sent) == 2
    assert sent[0]["variants"] == [
        {
            "variant": "primary",
            "version": "1",
            "requests": 3,
            "errors": 0,
            "latencyMsSum": 12.0,
            "latencyMsBuckets": [0, 0, 3] + [0] * 10,
        }
    ]
    # the retried window starts where the failed one did and carries everything since
    assert sent[1]["windowStart"] == sent[0]["windowStart"] == "1970-01-12T13:46:42.000Z"
    assert sent[1]["windowEnd"] == "1970-01-12T13:46:46.000Z"
    assert [(v["variant"], v["requests"]) for v in sent[1]["variants"]] == [
        ("candidate", 1),
        ("primary", 5),
    ]
    assert sent[1]["name"] == "churn"
    # after a success the pending window is empty and the next starts at its end
    assert not reporter.pending and reporter.window_start == now[0]
