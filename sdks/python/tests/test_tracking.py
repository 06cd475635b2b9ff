"""The fluent API and CairnClient against a real Cairn server."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
import time
import uuid

import pytest
from conftest import CairnServer

RUN_QUERY = """
query($id: String!) {
  run(id: $id) {
    id name status startTime endTime experimentId lifecycleStage
    source { gitCommit entryPoint sourceType }
    parentRun { id }
    params { key value }
    tags { key value }
    latestMetrics { key value step timestamp }
  }
}"""


def stored(server: CairnServer, run_id: str) -> dict:
    return server.graphql(RUN_QUERY, {"id": run_id})["run"]


def test_fluent_run_lifecycle(cairn_env, server):
    cairn = cairn_env
    with cairn.start_run(run_name="lifecycle", tags={"team": "ml"}, description="a note") as run:
        assert cairn.active_run() is run
        cairn.log_param("lr", 0.01)
        cairn.log_params({"layers": 3, "act": "relu"})
        cairn.log_metric("loss", 0.5, step=1, timestamp=1_700_000_000_000)
        cairn.log_metric("loss", 0.25, step=2)
        cairn.log_metrics({"acc": 0.9, "f1": 0.8}, step=2)
        cairn.log_metric("nan", float("nan"))
        cairn.log_metric("pinf", float("inf"))
        cairn.log_metric("ninf", float("-inf"))
        cairn.set_tag("stage", "dev")
        cairn.set_tags({"x": 1, "y": "two"})
        cairn.set_tag("to_delete", "soon")
        cairn.delete_tag("to_delete")
    assert cairn.active_run() is None

    node = stored(server, run.run_id)
    assert node["name"] == "lifecycle"
    assert node["status"] == "FINISHED"
    assert node["endTime"] >= node["startTime"]
    params = {p["key"]: p["value"] for p in node["params"]}
    assert params == {"lr": "0.01", "layers": "3", "act": "relu"}
    tags = {t["key"]: t["value"] for t in node["tags"]}
    assert (
        tags["team"] == "ml" and tags["stage"] == "dev" and tags["x"] == "1" and tags["y"] == "two"
    )
    assert tags["mlflow.note.content"] == "a note"
    assert "to_delete" not in tags
    latest = {m["key"]: m for m in node["latestMetrics"]}
    assert latest["loss"]["value"] == 0.25 and latest["loss"]["step"] == 2
    assert latest["nan"]["value"] == "NaN"
    assert latest["pinf"]["value"] == "Infinity"
    assert latest["ninf"]["value"] == "-Infinity"

    history = cairn.get_metric_history(run.run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(1, 0.5), (2, 0.25)]
    assert history[0].timestamp == 1_700_000_000_000

    fetched = cairn.get_run(run.run_id)
    assert fetched.info.status == "FINISHED"
    assert fetched.info.run_name == "lifecycle"
    assert math.isnan(fetched.data.metrics["nan"])
    assert fetched.data.metrics["pinf"] == math.inf
    assert fetched.data.params["lr"] == "0.01"


def test_failed_and_nested_runs(cairn_env, server):
    cairn = cairn_env
    with pytest.raises(ZeroDivisionError):
        with cairn.start_run() as failing:
            cairn.log_metric("m", 1)
            1 / 0
    assert stored(server, failing.run_id)["status"] == "FAILED"

    with cairn.start_run(run_name="parent") as parent:
        with pytest.raises(cairn.CairnError) as info:
            cairn.start_run()
        assert info.value.code == "INVALID_ARGUMENT"
        with cairn.start_run(run_name="child", nested=True) as child:
            assert cairn.active_run() is child
            cairn.log_metric("child_metric", 1.0)
        assert cairn.active_run() is parent
    node = stored(server, child.run_id)
    assert node["parentRun"]["id"] == parent.run_id
    assert {t["key"]: t["value"] for t in node["tags"]}["mlflow.parentRunId"] == parent.run_id
    assert cairn.get_run(child.run_id).info.parent_run_id == parent.run_id


def test_logging_without_a_run_starts_one_and_resume(cairn_env, server):
    cairn = cairn_env
    cairn.log_metric("auto", 1.0)
    run = cairn.active_run()
    assert run is not None
    cairn.log_param("kept", "a")
    cairn.end_run()
    assert stored(server, run.run_id)["status"] == "FINISHED"

    with cairn.start_run(run_id=run.run_id) as resumed:
        assert resumed.run_id == run.run_id
        assert stored(server, run.run_id)["status"] == "RUNNING"
        cairn.log_metric("auto", 2.0, step=1)
        with pytest.raises(cairn.CairnError) as info:  # the resumed run's params are known
            cairn.log_param("kept", "b")
        assert info.value.key == "kept"
    history = cairn.get_metric_history(run.run_id, "auto")
    assert [m.value for m in history] == [1.0, 2.0]


def test_context_is_captured(server, client, tmp_path):
    """A script in a git checkout: commit, repo URL (without credentials), dirty flag, entry
    point, Python version, user and host."""
    import shutil

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "project"
    repo.mkdir()
    git = [
        "git",
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@example.com",
        "-c",
        "commit.gpgsign=false",
    ]
    script = repo / "train.py"
    script.write_text(
        "import cairn\n"
        "cairn.set_experiment('context-test')\n"
        "with cairn.start_run() as run:\n"
        "    pass\n"
        "print(run.run_id)\n"
    )
    for args in (
        ["init", "-q"],
        ["remote", "add", "origin", "https://user:s3cret@git.example.com/team/project.git"],
        ["add", "train.py"],
        ["commit", "-q", "-m", "first"],
    ):
        subprocess.run(git + args, cwd=repo, check=True, capture_output=True)
    head = subprocess.run(
        git + ["rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True
    ).stdout.strip()

    def run_script() -> dict:
        done = subprocess.run(
            [sys.executable, str(script)],
            cwd=tmp_path,
            env={**__import__("os").environ, "CAIRN_TRACKING_URI": server.url},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return stored(server, done.stdout.strip())

    node = run_script()
    tags = {t["key"]: t["value"] for t in node["tags"]}
    assert tags["mlflow.source.git.commit"] == head
    assert node["source"]["gitCommit"] == head
    assert tags["mlflow.source.git.repoURL"] == "https://git.example.com/team/project.git"
    assert tags["cairn.source.git.dirty"] == "false"
    assert tags["mlflow.source.name"] == str(script)
    assert node["source"]["entryPoint"] == str(script)
    assert node["source"]["sourceType"] == "LOCAL"
    assert tags["cairn.python.version"] == ".".join(map(str, sys.version_info[:3]))
    assert tags["mlflow.user"]
    assert tags["cairn.host"]

    with script.open("a") as f:
        f.write("# an uncommitted change\n")
    assert {t["key"]: t["value"] for t in run_script()["tags"]}["cairn.source.git.dirty"] == "true"


def test_search_runs(cairn_env, server):
    cairn = cairn_env
    for i in range(5):
        with cairn.start_run(run_name=f"r{i}"):
            cairn.log_metric("acc", i / 10)
            cairn.log_param("i", i)
            cairn.set_tag("parity", "even" if i % 2 == 0 else "odd")
    frame = cairn.search_runs()
    assert len(frame) == 5
    for column in (
        "run_id",
        "experiment_id",
        "status",
        "start_time",
        "end_time",
        "metrics.acc",
        "params.i",
        "tags.parity",
    ):
        assert column in frame.columns
    assert str(frame["start_time"].dtype).startswith("datetime64")

    runs = cairn.search_runs(
        filter_string="metrics.acc >= 0.2 and tags.parity = 'even'", output_format="list"
    )
    assert sorted(r.info.run_name for r in runs) == ["r2", "r4"]
    ordered = cairn.search_runs(order_by=["metrics.acc DESC"], output_format="list")
    assert [r.info.run_name for r in ordered] == ["r4", "r3", "r2", "r1", "r0"]
    either = cairn.search_runs(
        filter_string="params.i = '0' OR (params.i = '1')", output_format="list"
    )
    assert sorted(r.info.run_name for r in either) == ["r0", "r1"]

    with pytest.raises(cairn.CairnError) as info:
        cairn.search_runs(filter_string="metrics.acc >>> 1")
    assert info.value.code == "INVALID_ARGUMENT"

    client = cairn.get_client()
    exp_id = ordered[0].info.experiment_id
    page = client.search_runs([exp_id], max_results=2, order_by=["metrics.acc ASC"])
    assert [r.info.run_name for r in page] == ["r0", "r1"] and page.token
    page2 = client.search_runs(
        [exp_id], max_results=2, order_by=["metrics.acc ASC"], page_token=page.token
    )
    assert [r.info.run_name for r in page2] == ["r2", "r3"]

    client.delete_run(ordered[0].info.run_id)
    assert len(cairn.search_runs(output_format="list")) == 4
    deleted = cairn.search_runs(run_view_type=cairn.ViewType.DELETED_ONLY, output_format="list")
    assert [r.info.run_name for r in deleted] == ["r4"]
    assert len(cairn.search_runs(run_view_type=cairn.ViewType.ALL, output_format="list")) == 5


def test_client_explicit_ids_and_errors(client):
    from cairn import CairnError, Metric

    name = f"client-{uuid.uuid4().hex[:8]}"
    exp_id = client.create_experiment(name, tags={"owner": "me"})
    with pytest.raises(CairnError) as info:
        client.create_experiment(name)
    assert info.value.code == "ALREADY_EXISTS"
    assert client.get_experiment_by_name(name).tags == {"owner": "me"}
    assert client.get_experiment_by_name("no-such-" + name) is None

    run = client.create_run(exp_id, run_name="explicit")
    rid = run.info.run_id
    assert run.info.status == "RUNNING"
    client.log_batch(
        rid,
        metrics=[Metric("m", float(i), 1_700_000_000_000 + i, i) for i in range(10)],
        params={"p": 1},
        tags={"t": "v"},
    )
    client.log_metric(rid, "single", 3.5, step=7)
    client.log_param(rid, "q", "x")
    client.set_tag(rid, "t2", "v2")
    client.log_metric(rid, "queued", 1.0, synchronous=False)
    client.flush()
    got = client.get_run(rid)
    assert got.data.metrics == {"m": 9.0, "single": 3.5, "queued": 1.0}
    assert got.data.params == {"p": "1", "q": "x"}
    assert got.data.tags["t"] == "v" and got.data.tags["t2"] == "v2"
    assert len(client.get_metric_history(rid, "m")) == 10
    assert len(client.get_metric_history(rid, "m", max_points=5)) <= 5

    with pytest.raises(CairnError) as info:
        client.get_run("does-not-exist")
    assert info.value.code == "NOT_FOUND"
    with pytest.raises(CairnError) as info:
        client.delete_tag(rid, "nope")
    assert info.value.code == "NOT_FOUND" and info.value.key == "nope"
    with pytest.raises(CairnError) as info:
        client.log_metric(rid, "bad key!", 1.0)
    assert info.value.code == "INVALID_ARGUMENT"

    client.set_terminated(rid, "KILLED")
    assert client.get_run(rid).info.status == "KILLED"
    client.delete_run(rid)
    assert client.get_run(rid).info.lifecycle_stage == "deleted"
    client.restore_run(rid)
    assert client.get_run(rid).info.lifecycle_stage == "active"


def test_param_change_raises_naming_param_and_code(cairn_env, client):
    cairn = cairn_env
    # 1. In one process: raised at once by log_param, before anything is sent.
    with cairn.start_run() as run:
        cairn.log_param("learning_rate", 0.1)
        with pytest.raises(cairn.CairnError) as info:
            cairn.log_param("learning_rate", 0.2)
        err = info.value
        assert err.code == "INVALID_ARGUMENT"
        assert err.key == "learning_rate"
        assert "learning_rate" in str(err) and "INVALID_ARGUMENT" in str(err)
        cairn.log_param("learning_rate", 0.1)  # the same value again is fine

    # 2. The server's own check (synchronous client call).
    with pytest.raises(cairn.CairnError) as info:
        client.log_param(run.run_id, "learning_rate", "0.3")
    err = info.value
    assert err.code == "INVALID_ARGUMENT" and err.key == "learning_rate"
    assert err.details["oldValue"] == "0.1" and err.details["newValue"] == "0.3"
    assert 'Param "learning_rate"' in str(err)

    # 3. Queued writes rejected by the server (another writer set the param first): the
    #    error comes from end_run, names the param and code; the rest of the batch is kept.
    with cairn.start_run() as run2:
        client.log_param(run2.run_id, "depth", "4")
        cairn.log_param("depth", 5)
        cairn.log_metric("kept", 1.0)
        with pytest.raises(cairn.BatchLoggingError) as info:
            cairn.end_run()
    err = info.value
    assert err.code == "INVALID_ARGUMENT" and err.key == "depth" and err.dropped == 1
    assert "depth" in str(err)
    got = client.get_run(run2.run_id)
    assert got.data.params == {"depth": "4"}
    assert got.data.metrics == {"kept": 1.0}
    assert got.info.status == "FINISHED"


def test_client_side_validation_is_immediate(cairn_env):
    cairn = cairn_env
    with cairn.start_run():
        for bad in ("", "a/../b", "/lead", "x" * 251, "sp@ce"):
            with pytest.raises(cairn.CairnError) as info:
                cairn.log_metric(bad, 1.0)
            assert info.value.code == "INVALID_ARGUMENT"
        with pytest.raises(cairn.CairnError):
            cairn.log_metric("ok", "not a number")
        with pytest.raises(cairn.CairnError):
            cairn.log_metric("ok", 1.0, step=1.5)
        with pytest.raises(cairn.CairnError):
            cairn.log_param("p", "v" * 6001)


def test_system_metrics_are_sampled(cairn_env, monkeypatch):
    pytest.importorskip("psutil")
    cairn = cairn_env
    monkeypatch.setenv("CAIRN_SYSTEM_METRICS_SAMPLING_INTERVAL", "0.2")
    with cairn.start_run(log_system_metrics=True) as run:
        time.sleep(1.0)
    metrics = cairn.get_run(run.run_id).data.metrics
    assert "system/cpu_utilization_percentage" in metrics
    assert metrics["system/system_memory_usage_megabytes"] > 0
    assert len(cairn.get_metric_history(run.run_id, "system/cpu_utilization_percentage")) >= 2


def _run_script(server: CairnServer, body: str) -> subprocess.CompletedProcess:
    script = textwrap.dedent(body)
    return subprocess.run(
        [sys.executable, "-c", script],
        env={**__import__("os").environ, "CAIRN_TRACKING_URI": server.url},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_interpreter_exit_flushes_and_ends_runs(server, client):
    done = _run_script(
        server,
        """
        import cairn
        cairn.set_experiment("exit-test")
        run = cairn.start_run()
        print(run.run_id)
        for i in range(5000):
            cairn.log_metric("m", i, step=i)
        """,
    )
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.strip()
    got = client.get_run(run_id)
    assert got.info.status == "FINISHED"
    assert len(client.get_metric_history(run_id, "m")) == 5000

    crashed = _run_script(
        server,
        """
        import cairn
        cairn.set_experiment("exit-test")
        print(cairn.start_run().run_id, flush=True)
        cairn.log_metric("m", 1)
        1 / 0
        """,
    )
    assert crashed.returncode != 0
    assert client.get_run(crashed.stdout.strip()).info.status == "FAILED"
