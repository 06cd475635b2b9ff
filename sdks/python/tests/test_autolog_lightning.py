"""PyTorch Lightning autologging with the real Lightning and torch (scripts/test.sh installs both
from PyPI): params, epoch metrics and the trained module logged in the PyTorch flavor."""

from __future__ import annotations

import numpy as np
import torch

try:
    import lightning.pytorch as pl
except ImportError:  # the older package name
    import pytorch_lightning as pl


def test_lightning_autolog(cairn_env):
    cairn = cairn_env
    cairn.autolog()
    from torch.utils.data import DataLoader, TensorDataset

    class Tiny(pl.LightningModule):
        def __init__(self, lr: float = 0.05, hidden: int = 4) -> None:
            super().__init__()
            self.save_hyperparameters()
            self.net = torch.nn.Sequential(
                torch.nn.Linear(2, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1)
            )

        def forward(self, x):
            return self.net(x)

        def training_step(self, batch, batch_idx):
            x, y = batch
            loss = torch.nn.functional.mse_loss(self(x), y)
            self.log("train_loss", loss, on_epoch=True, on_step=False)
            return loss

        def validation_step(self, batch, batch_idx):
            x, y = batch
            self.log("val_loss", torch.nn.functional.mse_loss(self.net(x), y))

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)

    torch.manual_seed(0)
    x = torch.randn(64, 2)
    y = x.sum(dim=1, keepdim=True)
    loader = DataLoader(TensorDataset(x, y), batch_size=16)
    trainer = pl.Trainer(
        max_epochs=3,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
    )
    with cairn.start_run() as run:
        trainer.fit(Tiny(), loader, loader)
    got = cairn.get_run(run.run_id)
    assert got.data.params["epochs"] == "3"
    assert got.data.params["optimizer_name"] == "SGD"
    assert got.data.params["lr"] == "0.05"
    assert got.data.params["hidden"] == "4"
    assert "train_loss" in got.data.metrics and "val_loss" in got.data.metrics
    # the trained module, logged in the PyTorch flavor, answers what the live one does
    module = trainer.lightning_module
    module.eval()
    with torch.no_grad():
        expected = module(x[:5]).numpy()
    logged = cairn.pyfunc.load_model(f"runs:/{run.run_id}/model")
    np.testing.assert_allclose(logged.predict(x[:5].numpy()), expected, rtol=1e-6)
    cairn.autolog(disable=True)
    steps = sorted({m.step for m in cairn.get_metric_history(run.run_id, "train_loss")})
    assert steps == [0, 1, 2]

    cairn.autolog(disable=True)
    assert not hasattr(pl.Trainer.fit, "__cairn_original__")
