"""Background batching: speed on the caller's thread, outages, retries, back-pressure."""

from __future__ import annotations

import os
import threading
import time

import pytest
from conftest import CairnServer, FakeGraphQLServer, free_port


def test_100k_log_metric_calls_are_fast_and_all_queryable(cairn_env, client, capsys):
    cairn = cairn_env
    n = 100_000
    with cairn.start_run() as run:
        started = time.perf_counter()
        for i in range(n):
            cairn.log_metric("loss", 1.0 / (i + 1), step=i)
        elapsed = time.perf_counter() - started
        end_started = time.perf_counter()
    end_elapsed = time.perf_counter() - end_started

    read_started = time.perf_counter()
    history = client.get_metric_history(run.run_id, "loss")
    read_elapsed = time.perf_counter() - read_started
    with capsys.disabled():
        print(
            f"\n[perf] {n} log_metric calls: {elapsed:.3f} s on the caller's thread "
            f"({elapsed / n * 1e6:.2f} µs/call); end_run (flush + projection): {end_elapsed:.2f} s; "
            f"full history read: {read_elapsed:.2f} s"
        )
    assert elapsed < 2.0, f"{n} calls took {elapsed:.2f} s"
    assert elapsed / n < 20e-6
    assert len(history) == n
    assert [m.step for m in history] == list(range(n))
    assert history[-1].value == pytest.approx(1.0 / n)
    assert client.get_run(run.run_id).data.metrics["loss"] == pytest.approx(1.0 / n)


def test_server_stopped_mid_run_and_restarted_loses_nothing(
    cairn_env, server: CairnServer, client, capsys
):
    if os.environ.get("CAIRN_TEST_SERVER_URL"):
        pytest.skip("restarts the server: needs the server the harness started")
    cairn = cairn_env
    per_phase = 20_000
    with cairn.start_run() as run:
        cairn.log_param("phase_before", "1")
        for i in range(per_phase):
            cairn.log_metric("m", i, step=i)
        # stopped while batches are in flight and more are queued
        server.stop()
        down_at = time.monotonic()
        for i in range(per_phase, 2 * per_phase):
            cairn.log_metric("m", i, step=i)
        cairn.log_param("phase_during", "2")
        cairn.set_tag("during_outage", "yes")
        time.sleep(2.0)  # the background thread is retrying now
        restart_seconds = server.start()
        downtime = time.monotonic() - down_at
        for i in range(2 * per_phase, 3 * per_phase):
            cairn.log_metric("m", i, step=i)
    total = 3 * per_phase
    history = client.get_metric_history(run.run_id, "m")
    steps = [p.step for p in history]
    with capsys.disabled():
        print(
            f"\n[outage] server down {downtime:.1f} s (restart {restart_seconds:.1f} s); "
            f"{len(steps)} points stored for {total} logged, {len(set(steps))} distinct steps"
        )
    assert set(steps) == set(range(total)), "points were lost"
    got = client.get_run(run.run_id)
    assert got.info.status == "FINISHED"
    assert got.data.params == {"phase_before": "1", "phase_during": "2"}
    assert got.data.tags["during_outage"] == "yes"


def test_back_pressure_bounds_memory_and_retry_window_is_reported():
    from cairn import BatchLoggingError
    from cairn._batcher import Batcher
    from cairn._transport import GraphQLTransport
    from cairn.config import BatchSettings, TransportSettings

    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    transport = GraphQLTransport(
        dead, TransportSettings(batch_retry_timeout=1.0, backoff_initial=0.05, backoff_max=0.2)
    )
    batcher = Batcher(
        transport,
        BatchSettings(
            flush_size=100, flush_interval=0.05, max_points_per_request=50_000, max_queue=1000
        ),
    )
    total = 2500
    peak = [0]

    def produce() -> None:
        for i in range(total):
            batcher.add_metric("run-x", "m", i, i)
            peak[0] = max(peak[0], batcher.pending())

    producer = threading.Thread(target=produce)
    producer.start()
    time.sleep(0.5)
    assert producer.is_alive(), "the caller should be blocked by back-pressure"
    producer.join(30)
    assert not producer.is_alive()
    assert peak[0] <= 1000 + 1
    with pytest.raises(BatchLoggingError) as info:
        batcher.flush(timeout=30)
    assert info.value.code == "UNAVAILABLE"
    assert info.value.dropped == total
    batcher.close()


def test_retries_5xx_and_unavailable_then_sends_once_with_auth_headers(
    fake_server: FakeGraphQLServer,
):
    from cairn._batcher import Batcher
    from cairn._transport import GraphQLTransport
    from cairn.config import BatchSettings, TransportSettings

    fake_server.responses = [
        (503, {"error": "starting"}),
        (200, {"errors": [{"message": "busy", "extensions": {"code": "UNAVAILABLE"}}]}),
        (200, {"data": {"logBatch": {"id": "r1"}}}),
    ]
    transport = GraphQLTransport(
        fake_server.url,
        TransportSettings(
            api_key="secret-key", workspace="team-a", backoff_initial=0.01, backoff_max=0.05
        ),
    )
    batcher = Batcher(transport, BatchSettings(flush_interval=0.05))
    batcher.add_metric("r1", "m", float("nan"), 3, 1_700_000_000_000)
    batcher.add_param("r1", "p", 1)
    batcher.add_tag("r1", "t", "v")
    batcher.flush(timeout=10)
    batcher.close()
    assert len(fake_server.requests) == 3
    last = fake_server.requests[-1]
    headers = {k.lower(): v for k, v in last["headers"].items()}
    assert headers["authorization"] == "Bearer secret-key"
    assert headers["x-cairn-workspace"] == "team-a"
    variables = last["body"]["variables"]
    assert variables["metrics"] == [
        {"key": "m", "value": "NaN", "step": 3, "timestamp": 1_700_000_000_000}
    ]
    assert variables["params"] == [{"key": "p", "value": "1"}]
    assert variables["tags"] == [{"key": "t", "value": "v"}]
    assert variables["sync"] is True  # the batch that empties the queue waits for the read model


def test_error_without_retry_carries_code_and_details(fake_server: FakeGraphQLServer):
    from cairn import CairnClient, CairnError
    from cairn.config import TransportSettings

    fake_server.responses = [
        (
            200,
            {
                "errors": [
                    {
                        "message": 'Run r9 has no tag "k"',
                        "extensions": {"code": "NOT_FOUND", "key": "k"},
                    }
                ],
                "data": None,
            },
        )
    ]
    client = CairnClient(fake_server.url, settings=TransportSettings(backoff_initial=0.01))
    with pytest.raises(CairnError) as info:
        client.delete_tag("r9", "k")
    assert info.value.code == "NOT_FOUND"
    assert info.value.key == "k"
    assert len(fake_server.requests) == 1


def test_env_api_key_is_sent(fake_server: FakeGraphQLServer, monkeypatch):
    from cairn import CairnClient

    monkeypatch.setenv("CAIRN_API_KEY", "k-123")
    fake_server.responses = [(200, {"data": {"experimentByName": None}})]
    assert CairnClient(fake_server.url).get_experiment_by_name("x") is None
    headers = {k.lower(): v for k, v in fake_server.requests[0]["headers"].items()}
    assert headers["authorization"] == "Bearer k-123"
