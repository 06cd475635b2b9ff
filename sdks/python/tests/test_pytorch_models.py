"""The PyTorch flavor against the real server: a module logged with ``registered_model_name``,
loaded back by ``models:/`` URI in a fresh process, as a module and as pyfunc (scripts/test.sh
installs torch from PyPI)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid

import numpy as np
import torch


class TinyNet(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def test_pytorch_module_round_trip_through_the_registry(cairn_env, client, server, tmp_path):
    import cairn.pytorch

    cairn = cairn_env
    torch.manual_seed(0)
    model = TinyNet()
    X = np.random.RandomState(1).rand(16, 4).astype(np.float32)
    name = f"torch-{uuid.uuid4().hex[:8]}"
    with cairn.start_run() as run:
        info = cairn.pytorch.log_model(
            model, "model", registered_model_name=name, input_example=X[:2]
        )
    assert info.model_uri == f"runs:/{run.run_id}/model"
    assert info.registered_model_version == 1
    client.set_registered_model_alias(name, "champion", 1)
    with torch.no_grad():
        expected = model(torch.from_numpy(X)).numpy()

    # Same process: the module itself, and pyfunc.
    loaded = cairn.pytorch.load_model(f"models:/{name}@champion")
    assert isinstance(loaded, torch.nn.Module)
    with torch.no_grad():
        np.testing.assert_allclose(loaded(torch.from_numpy(X)).numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(
        cairn.pyfunc.load_model(f"models:/{name}/1").predict(X), expected, rtol=1e-6
    )

    # A fresh interpreter: the class travels by value (cloudpickle) or by import; pyfunc only.
    np.save(tmp_path / "X.npy", X)
    code = f"""
        import numpy as np, cairn
        X = np.load({str(tmp_path / "X.npy")!r})
        out = cairn.pyfunc.load_model("models:/{name}@champion").predict(X)
        np.save({str(tmp_path / "out.npy")!r}, out)
    """
    env = {
        **os.environ,
        "CAIRN_TRACKING_URI": server.url,
        "PYTHONPATH": os.path.dirname(__file__),
    }
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), expected, rtol=1e-6)


def test_pytorch_save_model_refuses_what_is_not_a_module(tmp_path):
    import pytest

    import cairn.pytorch
    from cairn.exceptions import InvalidArgumentError

    with pytest.raises(InvalidArgumentError, match="torch.nn.Module"):
        cairn.pytorch.save_model(object(), str(tmp_path / "m"))
