"""Artifacts through the mlflow-artifacts proxy: log_artifact, log_dict, log_figure, list and
download."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import mlflow


def test_log_artifact_dict_figure(mlflow_env: Any, client: Any, tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    src = tmp_path / "notes.txt"
    src.write_text("hello cairn\n")
    fig, ax = plt.subplots()
    ax.plot([0, 1, 2], [1, 0, 1])
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(src))
        mlflow.log_artifact(str(src), artifact_path="sub/dir")
        mlflow.log_dict({"a": 1, "b": [1, 2]}, "config.json")
        mlflow.log_figure(fig, "plots/curve.png")
    plt.close(fig)

    run_id = run.info.run_id
    top = {f.path: f.is_dir for f in client.list_artifacts(run_id)}
    assert top == {"notes.txt": False, "sub": True, "config.json": False, "plots": True}
    assert [f.path for f in client.list_artifacts(run_id, "sub/dir")] == ["sub/dir/notes.txt"]

    out = tmp_path / "out"
    out.mkdir()
    local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="notes.txt", dst_path=str(out))
    assert Path(local).read_text() == "hello cairn\n"
    assert mlflow.artifacts.load_dict(f"runs:/{run_id}/config.json") == {"a": 1, "b": [1, 2]}
    png = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="plots/curve.png", dst_path=str(out))
    assert Path(png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    whole = mlflow.artifacts.download_artifacts(run_id=run_id, dst_path=str(tmp_path / "all"))
    assert sorted(os.path.relpath(os.path.join(d, f), whole) for d, _, fs in os.walk(whole) for f in fs) == [
        "config.json",
        "notes.txt",
        "plots/curve.png",
        "sub/dir/notes.txt",
    ]
    assert json.loads((Path(whole) / "config.json").read_text()) == {"a": 1, "b": [1, 2]}
