"""A training run's folder and what it leaves there: the result, the per-epoch history and the summary.

``outputs/runs/<dataset>`` unless the config's ``checkpoint_dir`` says otherwise; the trainer writes
``history.json``/``.csv`` and ``steps.json`` after every epoch and ``result.json`` at the end, through here.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from . import env
from .config import TrainConfig
from .evaluate import Evaluation
from .files import write_text_atomically


@dataclass
class RunResult:
    """What a training run produced."""

    config: TrainConfig
    history: list[dict[str, Any]]
    evaluation: Evaluation | None  # on the test set, once the last epoch has ended
    run_dir: Path
    train_seconds: float
    images_seen: int
    interrupted: bool = False
    classes: list[str] = field(default_factory=list)

    @property
    def checkpoint(self) -> Path:
        return self.run_dir / "last.pt"

    @property
    def images_per_second(self) -> float:
        return self.images_seen / max(self.train_seconds, 1e-9)

    def summary(self) -> str:
        """The one line the command prints at the end."""
        last = self.history[-1] if self.history else {}
        val = f"validation top-1 {last['val_top1']:.2%} | " if "val_top1" in last else ""
        if self.evaluation is None:
            done = f"after epoch {last['epoch']}" if last else "before the first epoch ended"
            val = val.replace(" | ", "; ")
            return f"stopped {done} ({val}no test figure until the run ends); checkpoint {self.checkpoint}"
        return (
            f"{val}test top-1 {self.evaluation.top1:.2%} | top-5 {self.evaluation.top5:.2%} | "
            f"{self.images_seen:,} training images in {self.train_seconds:.0f} s "
            f"({self.images_per_second:,.0f} images/s) | checkpoint {self.checkpoint}"
        )


def default_run_dir(dataset: str) -> Path:
    """Where notebooks 03 and 04 save, and notebooks 05 and 06 look: ``outputs/runs/<dataset>``."""
    return env.outputs_dir() / "runs" / dataset


def write_history(run_dir: Path, history: list[dict[str, Any]], step_history: list[dict[str, Any]]) -> None:
    """``history.json`` and ``history.csv`` (one row per epoch) and ``steps.json`` (one per progress update)."""
    write_text_atomically(run_dir / "history.json", json.dumps(history, indent=2) + "\n")
    write_text_atomically(run_dir / "steps.json", json.dumps(step_history) + "\n")
    table = io.StringIO(newline="")
    writer = csv.DictWriter(table, fieldnames=list(history[0]))
    writer.writeheader()
    writer.writerows(history)
    write_text_atomically(run_dir / "history.csv", table.getvalue())


def write_result(result: RunResult, device: torch.device, dtype: torch.dtype, **run: Any) -> Path:
    """``result.json``: the headline figures, where the run ran (``device``, ``dtype``, ``run``: processes,
    train_images, budget) and its config."""
    last = result.history[-1] if result.history else {}
    evaluation = result.evaluation
    summary = {
        "dataset": result.config.dataset,
        "variant": result.config.variant,
        "profile": result.config.profile,
        "device": env.device_name(device),
        "device_type": device.type,
        "precision": str(dtype).replace("torch.", ""),
        **run,
        "epochs": last.get("epoch", 0),
        "val_top1": last.get("val_top1"),
        "test_top1": evaluation.top1 if evaluation else None,
        "test_top5": evaluation.top5 if evaluation else None,
        "train_seconds": round(result.train_seconds, 2),
        "images_seen": result.images_seen,
        "images_per_second": round(result.images_per_second, 1),
        "config": result.config.to_dict(),
    }
    return write_text_atomically(result.run_dir / "result.json", json.dumps(summary, indent=2) + "\n")
