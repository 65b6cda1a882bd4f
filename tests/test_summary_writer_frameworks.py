"""Lightning's TensorBoardLogger and HF transformers' TensorBoardCallback on tblog's writer.

Both are optional test dependencies (CPU only; the models are made here, nothing is downloaded);
each test runs the same training once on the peer's writer and once on tblog's and compares what
TensorBoard reads.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
from tbread import event_files, read_run
from test_summary_writer_peers import _sessions

import tblog

needs = {
    name: pytest.mark.skipif(importlib.util.find_spec(name) is None, reason=f"needs {name}")
    for name in ("torch", "lightning", "transformers")
}


def _lightning_fit(logger: Any) -> None:
    """Two training steps of a one-layer model that saves its hyperparameters."""
    import lightning
    import torch

    class Tiny(lightning.LightningModule):
        def __init__(self, lr: float = 0.1, width: int = 4) -> None:
            super().__init__()
            self.save_hyperparameters()
            self.layer = torch.nn.Linear(width, 1)

        def training_step(self, batch: Any, batch_idx: int) -> Any:
            loss = self.layer(batch[0]).pow(2).mean()
            self.log("train_loss", loss)
            return loss

        def configure_optimizers(self) -> Any:
            return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)

    data = torch.utils.data.TensorDataset(torch.ones(4, 4))
    trainer = lightning.Trainer(
        max_steps=2,
        logger=logger,
        accelerator="cpu",
        devices=1,
        log_every_n_steps=1,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(Tiny(), torch.utils.data.DataLoader(data, batch_size=2))


@pytest.mark.e2e
@needs["torch"]
@needs["lightning"]
def test_lightning_tensorboard_logger_on_tblog_keeps_the_hparams_tab(tmp_path: Path) -> None:
    """A ``TensorBoardLogger`` whose experiment is tblog's writer shows what torch's shows."""
    from lightning.pytorch.loggers import TensorBoardLogger

    class TblogLogger(TensorBoardLogger):
        """README's recipe: the logger's experiment is a ``tblog.SummaryWriter``."""

        @property
        def experiment(self) -> Any:
            if self._experiment is None:
                self._experiment = tblog.SummaryWriter(log_dir=self.log_dir, **self._kwargs)
            return self._experiment

    _lightning_fit(TensorBoardLogger(str(tmp_path / "peer"), name="", version=0))
    _lightning_fit(TblogLogger(str(tmp_path / "tblog"), name="", version=0))
    theirs, ours = (
        read_run(tmp_path / "peer" / "version_0"),
        read_run(tmp_path / "tblog" / "version_0"),
    )
    assert [
        "_hparams_/experiment",
        "_hparams_/session_end_info",
        "_hparams_/session_start_info",
    ] == (ours.plugins["hparams"])
    assert theirs.plugins["hparams"] == ours.plugins["hparams"]
    assert theirs.steps("train_loss") == ours.steps("train_loss") == [0, 1]
    assert set(theirs.scalars) == set(ours.scalars)
    sessions = _sessions(tmp_path / "peer", 1, metrics=1)
    assert [({"lr": 0.1, "width": 4.0}, {"hp_metric": -1.0})] == sessions
    assert sessions == _sessions(tmp_path / "tblog", 1, metrics=1)


def _hf_train(callback: Any, output: Path) -> None:
    """Three steps of a tiny GPT-2 built from its config (no download), on CPU."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, Trainer, TrainingArguments

    torch.manual_seed(0)
    config = GPT2Config(vocab_size=32, n_positions=16, n_embd=8, n_layer=1, n_head=2)
    model = GPT2LMHeadModel(config)
    ids = torch.randint(0, 32, (8, 6))
    dataset = [{"input_ids": row, "labels": row} for row in ids]
    args = TrainingArguments(
        output_dir=str(output),
        max_steps=3,
        logging_steps=1,
        per_device_train_batch_size=4,
        report_to=[],
        save_strategy="no",
        use_cpu=True,
        disable_tqdm=True,
    )
    Trainer(model=model, args=args, train_dataset=dataset, callbacks=[callback]).train()


@needs["torch"]
@needs["transformers"]
def test_hf_tensorboard_callback_with_tblog_writer_works_fully(tmp_path: Path) -> None:
    """``TensorBoardCallback(tb_writer=tblog.SummaryWriter(...))``: the same tags, steps, texts."""
    from torch.utils.tensorboard import SummaryWriter as TorchWriter
    from transformers.integrations import TensorBoardCallback

    for name, writer_class in (("peer", TorchWriter), ("tblog", tblog.SummaryWriter)):
        writer = writer_class(str(tmp_path / name / "tb"))
        _hf_train(TensorBoardCallback(tb_writer=writer), tmp_path / name / "out")
    theirs, ours = read_run(tmp_path / "peer" / "tb"), read_run(tmp_path / "tblog" / "tb")
    assert {t: theirs.steps(t) for t in theirs.scalars} == {t: ours.steps(t) for t in ours.scalars}
    assert [1, 2, 3] == ours.steps("train/loss")
    assert {t.removesuffix("/text_summary") for t in theirs.texts} == set(ours.texts)
    assert {"args", "model_config"} <= set(ours.texts)
    assert 1 == len(event_files(tmp_path / "tblog" / "tb"))
