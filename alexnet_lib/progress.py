"""Watching a run: its progress bars, a live loss/accuracy plot for notebooks, TensorBoard logs
(notebooks 03, 04) and Ctrl-C.

The trainer hands its figures to a ``RunDisplay``, which calls ``callback(event, record)`` with
``event`` "step" (every ``log_every`` steps: running train loss and accuracy) or "epoch" (the
epoch's record, with validation accuracy: the test set is read only at the end of a run, and so
never drawn here).
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from torch import nn
from tqdm.auto import tqdm

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


class Callback(Protocol):
    def __call__(self, event: str, record: dict[str, Any]) -> None: ...


class LivePlot:
    """Redraws loss and accuracy curves in place in a notebook as training goes."""

    def __init__(self, title: str = "") -> None:
        import matplotlib.pyplot as plt
        from IPython.display import display

        self.steps: list[dict[str, Any]] = []
        self.epochs: list[dict[str, Any]] = []
        self.figure, (self.loss_axes, self.acc_axes) = plt.subplots(1, 2, figsize=(10, 3.5))
        self.figure.suptitle(title)
        plt.close(self.figure)  # shown through the display handle only
        self.handle = display(self.figure, display_id=True)

    def __call__(self, event: str, record: dict[str, Any]) -> None:
        (self.steps if event == "step" else self.epochs).append(record)
        self.draw()

    def draw(self) -> None:
        draw_curves(self.loss_axes, self.acc_axes, self.steps, self.epochs)
        self.figure.tight_layout()
        if self.handle is not None:
            self.handle.update(self.figure)


def draw_curves(loss_axes: Axes, acc_axes: Axes, steps: list[dict[str, Any]], epochs: list[dict[str, Any]]) -> None:
    """Running training loss and accuracy (step records) with validation figures after each epoch."""
    for axes in (loss_axes, acc_axes):
        axes.clear()
        axes.set_xlabel("epoch")
        axes.grid(alpha=0.3)
    x = [r["epoch_progress"] for r in steps]
    # Train figures are taken with dropout on and augmented views, so they sit below validation ones.
    loss_axes.plot(x, [r["recent_loss"] for r in steps], color="C0", alpha=0.35, label="train (recent steps)")
    acc_axes.plot(x, [r["recent_acc"] for r in steps], color="C0", alpha=0.35, label="train (recent steps)")
    loss_axes.plot(x, [r["train_loss"] for r in steps], color="C0", label="train (epoch so far)")
    acc_axes.plot(x, [r["train_acc"] for r in steps], color="C0", label="train (epoch so far)")
    validated = [r for r in epochs if "val_top1" in r]  # none in a run without a validation split
    if validated:
        ex = [r["epoch"] for r in validated]
        loss_axes.plot(ex, [r["val_loss"] for r in validated], "o-", color="C1", label="validation")
        acc_axes.plot(ex, [r["val_top1"] for r in validated], "o-", color="C1", label="validation top-1")
    loss_axes.set_ylabel("cross-entropy loss")
    acc_axes.set_ylabel("accuracy")
    acc_axes.set_ylim(0, 1)
    for axes in (loss_axes, acc_axes):
        axes.legend(loc="best", fontsize="small")


def plot_run(run_dir: Path, title: str = "") -> Figure:
    """A finished run's curves from its ``steps.json`` and ``history.json`` (for ``results/``)."""
    import matplotlib.pyplot as plt

    figure, (loss_axes, acc_axes) = plt.subplots(1, 2, figsize=(10, 3.5))
    steps = json.loads((run_dir / "steps.json").read_text())
    epochs = json.loads((run_dir / "history.json").read_text())
    draw_curves(loss_axes, acc_axes, steps, epochs)
    figure.suptitle(title)
    figure.tight_layout()
    return figure


class TensorBoardLog:
    """Scalars at every progress update, weight and gradient histograms once per epoch."""

    def __init__(self, log_dir: Path, histograms: bool = True) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(str(log_dir))
        self.histograms = histograms

    def scalars(self, step: int, values: dict[str, float]) -> None:
        for name, value in values.items():
            self.writer.add_scalar(name, value, step)

    def model(self, step: int, model: nn.Module) -> None:
        if not self.histograms:
            return
        for name, parameter in model.named_parameters():
            self.writer.add_histogram(f"weights/{name}", parameter.detach().float().cpu(), step)
            if parameter.grad is not None:
                self.writer.add_histogram(f"gradients/{name}", parameter.grad.detach().float().cpu(), step)

    def close(self) -> None:
        self.writer.close()


class RunDisplay:
    """What a run shows as it goes: a progress bar per epoch, TensorBoard and the callbacks.

    The trainer computes its figures and hands them here; only the first process shows a bar
    and writes TensorBoard (``log`` is None elsewhere), while every process calls the callbacks.
    """

    def __init__(self, callbacks: list[Callback], log: TensorBoardLog | None, *, show_bar: bool) -> None:
        self.callbacks, self.log, self.show_bar = callbacks, log, show_bar
        self.bar: tqdm | None = None

    @contextmanager
    def epoch_bar(self, epoch: int, epochs: int, steps: int, done: int) -> Iterator[None]:
        """A bar over the epoch's ``steps``, ``done`` of them already; its line ends even when a NaN stops the run."""
        self.bar = tqdm(
            total=steps,
            initial=done,
            desc=f"epoch {epoch}/{epochs}",
            disable=not self.show_bar,
            leave=True,
            dynamic_ncols=True,
        )
        try:
            yield
        finally:
            self.bar.close()

    def step(self, step: int, global_step: int, record: dict[str, Any]) -> None:
        """A "step" record: the running train figures, every ``log_every`` steps."""
        if self.bar is not None:
            self.bar.update(step - self.bar.n)
            self.bar.set_postfix(
                loss=f"{record['train_loss']:.3f}", acc=f"{record['train_acc']:.1%}", lr=f"{record['lr']:.2g}"
            )
        if self.log:
            recent = {"train/loss": record["recent_loss"], "train/accuracy": record["recent_acc"]}
            self.log.scalars(global_step, {**recent, "train/lr": record["lr"]})
        for callback in self.callbacks:
            callback("step", record)

    def epoch(self, global_step: int, record: dict[str, Any], test: dict[str, float], model: nn.Module) -> None:
        """An "epoch" record with its validation figures, and ``test`` (top1, top5) at the end of a run."""
        if self.log:
            figures = {f"val/{k[4:]}": v for k, v in record.items() if k.startswith("val_")}
            self.log.scalars(global_step, {**figures, **{f"test/{k}": v for k, v in test.items()}})
            self.log.model(record["epoch"], model)
        for callback in self.callbacks:
            callback("epoch", record)

    def close(self) -> None:
        if self.log:
            self.log.close()


class StepRecorder:
    """Keeps a run's "step" records, for plots made after it (notebook 03's init comparison)."""

    def __init__(self) -> None:
        self.steps: list[dict[str, Any]] = []

    def __call__(self, event: str, record: dict[str, Any]) -> None:
        if event == "step":
            self.steps.append(record)


@contextmanager
def stop_on_interrupt(request_stop: Callable[[], None], requested: Callable[[], bool]) -> Iterator[None]:
    """Ctrl-C (or a notebook's interrupt) calls ``request_stop``: the trainer stops at the next step
    boundary and saves a resumable checkpoint. A second Ctrl-C, once ``requested()``, aborts."""
    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        if requested():
            raise KeyboardInterrupt
        print("\nstopping after this step and saving a resumable checkpoint (Ctrl-C again to abort)", flush=True)
        request_stop()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
