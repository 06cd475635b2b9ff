"""Exactly once from the SDK: a ``logBatch`` whose answer is lost is retried with the same
``idempotencyKey`` and its points are stored once. A proxy in front of the real server forwards
each request, lets the server answer, and drops the first answers (the connection closes)."""

from __future__ import annotations

import http.server
import threading
import uuid
from typing import Any, Iterator, List

import pytest
import requests

from cairn import CairnClient, Metric
from cairn.config import TransportSettings


class DroppingProxy:
    """Forwards POSTs to ``upstream``; drops the next ``drop`` answers to logBatch calls."""

    def __init__(self, upstream: str) -> None:
        self.drop = 0
        self.dropped = 0
        self.bodies: List[bytes] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                answer = requests.post(
                    upstream + self.path,
                    data=body,
                    headers={"content-type": self.headers.get("Content-Type", "")},
                    timeout=60,
                )
                if b"logBatch" in body:
                    outer.bodies.append(body)
                    if outer.drop > 0:
                        # The server applied the call; the client never hears of it.
                        outer.drop -= 1
                        outer.dropped += 1
                        self.close_connection = True
                        return
                self.send_response(answer.status_code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def proxy(server: Any) -> Iterator[DroppingProxy]:
    p = DroppingProxy(server.url)
    yield p
    p.close()


def _client(url: str) -> CairnClient:
    return CairnClient(url, settings=TransportSettings(backoff_initial=0.05, backoff_max=0.2))


def _steps(client: CairnClient, run_id: str, key: str) -> List[int]:
    return [m.step for m in client.get_metric_history(run_id, key)]


def test_sync_log_batch_retried_after_a_lost_answer_stores_once(
    client: CairnClient, proxy: DroppingProxy
) -> None:
    exp = client.create_experiment(f"idem-{uuid.uuid4().hex[:8]}")
    run_id = client.create_run(exp).info.run_id
    proxy.drop = 2
    via_proxy = _client(proxy.url)
    via_proxy.log_batch(
        run_id,
        metrics=[Metric("loss", 1.0 / (i + 1), 0, i) for i in range(100)],
        params={"lr": "0.1"},
    )
    assert proxy.dropped == 2
    # Three attempts, one body: the key travels unchanged with each retry.
    assert len(proxy.bodies) == 3 and len(set(proxy.bodies)) == 1
    steps = _steps(client, run_id, "loss")
    assert sorted(steps) == list(range(100))


def test_background_batches_retried_after_lost_answers_store_once(
    client: CairnClient, proxy: DroppingProxy
) -> None:
    exp = client.create_experiment(f"idem-{uuid.uuid4().hex[:8]}")
    run_id = client.create_run(exp).info.run_id
    proxy.drop = 3
    via_proxy = _client(proxy.url)
    for step in range(200):
        via_proxy.log_metric(run_id, "acc", step / 200, step=step, synchronous=False)
    via_proxy.flush()
    assert proxy.dropped == 3
    assert sorted(_steps(client, run_id, "acc")) == list(range(200))
    # Different batches carry different keys.
    keys = {b.split(b'"idempotencyKey": "')[1][:32] for b in proxy.bodies}
    assert len(keys) == len(set(proxy.bodies))
