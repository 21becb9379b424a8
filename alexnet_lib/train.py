"""Training AlexNet on any device, resumable to the bit on the device pipeline (notebooks 03, 04; CLI).

One ``Trainer`` runs the loop of §5: shuffle, augment (§4.1), then ``optim.train_step`` (forward,
cross-entropy, backward, SGD step). After each epoch it measures the held-out validation split
(``datasets.py``), which alone drives the plateau schedule; the test set is read once, after the
last epoch, for the reported figure. With ``time_budget_s`` it first keeps as many training images
as the speed of that same step allows (``timing.training_budget``: this run's optimiser, precision
and compile). What makes it fast is kept out of the way: the dataset sits on the device as uint8
and each batch is augmented there (``transforms.py``); bf16 autocast (fp16 with a gradient scaler
where bf16 is missing), channels_last, cuDNN autotuning, optional ``torch.compile``; and no host
sync per step: losses and hit counts stay on the device and are read back every ``log_every``
steps, which is also when a NaN is noticed.

Under ``torchrun`` each process takes its slice of every global batch (same order and same
random views on every rank) and DistributedDataParallel averages the gradients, so N
processes compute what one process would on the same global batch.

The run folder (``runs.py``) gets ``last.pt`` (``checkpoint.py``) after every epoch and on Ctrl-C,
the history after every epoch, ``conv1.pt`` for notebook 05, ``result.json`` and ``tensorboard/``.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from . import env, timing
from .checkpoint import ResumeState, check_resumable, model_fields, record_conv1, save_checkpoint
from .cifar_nets import build_net
from .config import TrainConfig
from .datasets import Splits
from .errors import CourseError
from .evaluate import Evaluation, evaluate
from .folders import load_training_data
from .optim import make_optimizer, make_scheduler, train_step
from .progress import Callback, RunDisplay, TensorBoardLog, stop_on_interrupt
from .runs import RunResult, default_run_dir, write_history, write_result
from .transforms import BatchTransform, device_batches, pil_batches


class TrainingDiverged(CourseError):
    """The loss became NaN or infinite."""


class Trainer:
    """Builds the data, model and optimiser for a ``TrainConfig`` and trains them."""

    def __init__(
        self,
        config: TrainConfig,
        callbacks: Sequence[Callback] = (),
        data: Splits | None = None,
        *,
        read_test: bool = True,  # False: never read the test set (experiments judged on validation, notebook 07)
        checkpoints: bool = True,  # False: write no last.pt or conv1.pt (claim experiments keep only their records)
    ) -> None:
        self.config, self.read_test, self.checkpoints = config, read_test, checkpoints
        self._place()
        self._load_data(data)
        self._build_model()

        resumed = ResumeState.read(config.resume, map_location=self.device) if config.resume else None
        self.budget: dict[str, Any] = {}  # what the time budget allowed, for the records
        if config.time_budget_s is not None:
            self._fit_time_budget(resumed[0] if resumed else None)
        self.optimizer = make_optimizer(self.model, config)
        # after the budget: OneCycle and cosine need the step count
        self.scheduler = make_scheduler(self.optimizer, config, self.steps_per_epoch)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=env.needs_grad_scaler(self.dtype))
        self.order_generator = torch.Generator().manual_seed(config.seed)
        self.augment_generator = torch.Generator(self.device).manual_seed(config.seed + 1)
        self.order_state = self.order_generator.get_state()

        self.epoch, self.step, self.global_step = 0, 0, 0
        self.partial = {"loss_sum": 0.0, "correct": 0.0, "seen": 0}
        self.history: list[dict[str, Any]] = []  # one record per epoch
        self.step_history: list[dict[str, Any]] = []  # one record per progress update
        self.train_seconds, self.images_seen = 0.0, 0
        self.evaluation: Evaluation | None = None
        self.stop_requested = False
        self.run_dir = Path(config.checkpoint_dir) if config.checkpoint_dir else default_run_dir(config.dataset)
        log = TensorBoardLog(self.run_dir / "tensorboard", config.histograms) if self.rank == 0 else None
        self.display = RunDisplay(list(callbacks), log, show_bar=self.rank == 0)
        if resumed is not None:
            self.load_state(*resumed)
        if self.rank == 0 and self.epoch == 0 and self.step == 0 and checkpoints:
            self._record_conv1()

    # -- set-up ---------------------------------------------------------------------------

    def _place(self) -> None:
        """Rank, world size and device (one GPU per process under torchrun), seeds, precision."""
        self.rank, self.world, local_rank = env.distributed()
        if self.config.batch_size % self.world:
            raise CourseError(f"batch size {self.config.batch_size} does not split evenly over {self.world} processes")
        self.device = env.pick_device(self.config.device)
        if self.device.type == "cuda" and self.world > 1:
            self.device = torch.device("cuda", local_rank)
            torch.cuda.set_device(self.device)
        env.seed_everything(self.config.seed)
        self.dtype = env.resolve_precision(self.device, self.config.precision)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True

    def _load_data(self, data: Splits | None) -> None:
        """The splits on their devices, the step count and the input pipelines."""
        self.data = data or load_training_data(self.config)
        on_device = self.config.pipeline == "device"
        self.train_data = self.data.train.to(self.device) if on_device else self.data.train
        self.val_data = self.data.val.to(self.device) if self.data.val is not None else None
        if self.val_data is None and self.config.schedule == "plateau":
            raise CourseError("schedule plateau steps on validation accuracy: set val_size above 0")
        self.test_data = self.data.test.to(self.device)
        self.in_channels = self.config.in_channels or self.data.channels
        self.steps_per_epoch = len(self.train_data) // self.config.batch_size
        if self.steps_per_epoch == 0:
            raise CourseError(
                f"batch size {self.config.batch_size} is larger than the {len(self.train_data)} training images"
            )
        self.train_transform = BatchTransform(
            self.config.image_size,
            self.data.stats,
            train=True,
            crop=self.config.crop,
            flip=self.config.flip,
            pca_std=self.config.pca_std,
            channels=self.in_channels,
            channels_last=self.config.channels_last,
        )
        self.test_transform = dataclasses.replace(self.train_transform, train=False)

    def _build_model(self) -> None:
        """The model on the device, wrapped for DDP and torch.compile where asked."""
        self.model = build_net(
            self.config.variant,
            num_classes=len(self.data.classes),
            in_channels=self.in_channels,
            init=self.config.init,
            dropout=self.config.dropout,
            activation=self.config.activation,
            norm=self.config.norm,
            pool=self.config.pool,
            head=self.config.head,
            filters=self.config.filters,
            blocks=self.config.blocks,
            residual=self.config.residual,
            pixel_std=tuple(255 * s for s in self.data.stats.std),  # the footnote-3 nets' input scale
        )
        memory_format = torch.channels_last if self.config.channels_last else torch.contiguous_format
        self.model.to(self.device, memory_format=memory_format)
        self.net: nn.Module = self.model
        if self.world > 1:
            self.net = nn.parallel.DistributedDataParallel(
                self.model, device_ids=[self.device] if self.device.type == "cuda" else None
            )
            torch.manual_seed(self.config.seed + self.rank)  # different dropout masks on each rank
        if self.config.compile:
            self.net = torch.compile(self.net)

    def _fit_time_budget(self, resumed: ResumeState | None) -> None:
        """Keep as many training images as ``time_budget_s`` allows at the speed of this run's own step;
        a resumed run keeps the count its first run measured, so its schedule is unchanged."""
        c, data = self.config, self.train_data
        self.budget = dict(resumed.budget if resumed is not None else {}) or timing.training_budget(
            self.model, data, self.train_transform, self.device, c, dtype=self.dtype, processes=self.world
        )
        if self.budget["train_images"] < len(data):
            self.train_data = data.subset(self.budget["train_images"], c.seed)
        self.steps_per_epoch = len(self.train_data) // c.batch_size
        if self.rank == 0:
            print(
                f"time budget {c.time_budget_s:g} s: {self.budget['measured_images_per_second']:,.0f} images/s "
                f"measured, so {c.epochs} epoch(s) of {len(self.train_data):,} training images "
                f"({self.steps_per_epoch} steps each)"
            )

    @property
    def lr(self) -> float:
        return self.optimizer.param_groups[0]["lr"]

    # -- the loop -------------------------------------------------------------------------

    def fit(self) -> RunResult:
        """Train until ``config.epochs`` or a stop request (Ctrl-C, ``request_stop``)."""
        with stop_on_interrupt(self.request_stop, lambda: self.stop_requested):
            while self.epoch < self.config.epochs and not self.stop_requested:
                self._train_epoch()
                if self.step < self.steps_per_epoch:  # stopped inside the epoch
                    break
                self._end_epoch()
        if self.stop_requested and self.rank == 0 and self.checkpoints:
            self.save(self.run_dir / "last.pt")
            print(
                f"stopped: a resumable checkpoint is in {self.run_dir / 'last.pt'} "
                f"(continue with --resume {self.run_dir / 'last.pt'})"
            )
        self.display.close()
        result = RunResult(
            self.config,
            self.history,
            self.evaluation,
            self.run_dir,
            self.train_seconds,
            self.images_seen,
            self.stop_requested,
            self.data.classes,
        )
        if self.rank == 0 and not self.stop_requested:
            images = len(self.train_data)
            write_result(result, self.device, self.dtype, processes=self.world, train_images=images, budget=self.budget)
        return result

    def request_stop(self) -> None:
        """Stop at the next step boundary and save a resumable checkpoint (what Ctrl-C does)."""
        self.stop_requested = True

    def _batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """This process's share of each global batch, from ``self.step`` to the end of the epoch."""
        c, local = self.config, self.config.batch_size // self.world
        self.order_generator.set_state(self.order_state)  # the same order when resuming mid-epoch
        order = torch.randperm(len(self.train_data), generator=self.order_generator)
        mine = slice(self.rank * local, (self.rank + 1) * local)
        steps = range(self.step, self.steps_per_epoch)
        batches = (order[s * c.batch_size : (s + 1) * c.batch_size] for s in steps)
        if c.pipeline == "pil":
            lists = [batch[mine].tolist() for batch in batches]
            yield from pil_batches(self.train_data, self.train_transform, lists, c.workers, self.device)
        else:
            generator = self.augment_generator
            yield from device_batches(self.train_data, self.train_transform, batches, mine, generator, self.device)

    def _train_epoch(self) -> None:
        c = self.config
        self.net.train()
        if self.step == 0:
            self.partial = {"loss_sum": 0.0, "correct": 0.0, "seen": 0}
        loss_sum = torch.zeros((), device=self.device)
        correct = torch.zeros((), device=self.device)
        seen_since_sync = 0
        started = time.perf_counter()
        with self.display.epoch_bar(self.epoch + 1, c.epochs, self.steps_per_epoch, self.step):
            for images, labels in self._batches():
                loss, logits = train_step(
                    self.net,
                    self.optimizer,
                    self.scaler,
                    images,
                    labels,
                    dtype=self.dtype,
                    label_smoothing=c.label_smoothing,
                )
                if self.scheduler is not None and c.schedule != "plateau":
                    self.scheduler.step()
                loss_sum += loss.detach() * len(labels)
                correct += (logits.argmax(1) == labels).sum()
                seen_since_sync += len(labels)
                self.step += 1
                self.global_step += 1
                if self.step % c.log_every == 0 or self.step == self.steps_per_epoch or self.stop_requested:
                    self._sync_progress(loss_sum, correct, seen_since_sync)
                    loss_sum.zero_(), correct.zero_()
                    seen_since_sync = 0
                if self.stop_requested:
                    break
        timing.synchronize(self.device)
        self.train_seconds += time.perf_counter() - started

    def _sync_progress(self, loss_sum: torch.Tensor, correct: torch.Tensor, seen: int) -> None:
        """The one host sync every ``log_every`` steps: running figures, NaN check, callbacks."""
        loss_total, correct_total = torch.stack([loss_sum, correct]).tolist()
        if not math.isfinite(loss_total):
            raise TrainingDiverged(
                f"the loss became {loss_total} at epoch {self.epoch + 1}, step {self.step}: the learning rate "
                f"({self.config.lr:g}) is too high for this run; try --lr {self.config.lr / 10:g}"
            )
        self.partial["loss_sum"] += loss_total
        self.partial["correct"] += correct_total
        self.partial["seen"] += seen
        self.images_seen += seen * self.world
        record = {
            "epoch_progress": self.epoch + self.step / self.steps_per_epoch,
            "step": self.global_step,
            "train_loss": self.partial["loss_sum"] / self.partial["seen"],
            "train_acc": self.partial["correct"] / self.partial["seen"],
            "recent_loss": loss_total / seen,  # the last log_every steps alone
            "recent_acc": correct_total / seen,
            "lr": self.lr,
        }
        self.step_history.append(record)
        self.display.step(self.step, self.global_step, record)

    def _end_epoch(self) -> None:
        totals = torch.tensor(
            [self.partial["loss_sum"], self.partial["correct"], self.partial["seen"]], dtype=torch.float64
        )
        if self.world > 1:
            dist.all_reduce(totals)
        self.epoch += 1
        self.step = 0
        self.order_state = self.order_generator.get_state()  # the next epoch's shuffle starts here
        record = {
            "epoch": self.epoch,
            "train_loss": totals[0].item() / totals[2].item(),
            "train_acc": totals[1].item() / totals[2].item(),
            "lr": self.lr,
            "train_images": len(self.train_data),
            "train_seconds": self.train_seconds,
            "images_per_second": self.images_seen / max(self.train_seconds, 1e-9),
        }
        if self.val_data is not None:  # the only figures that steer the run
            val = evaluate(self.model, self.val_data, self.test_transform, dtype=self.dtype)
            record.update(val_loss=val.loss, val_top1=val.top1, val_top5=val.top5)
        self.history.append(record)
        if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            self.scheduler.step(record["val_top1"])
        if self.epoch == self.config.epochs and self.read_test:  # the end: the test set, read once
            self.evaluation = evaluate(self.model, self.test_data, self.test_transform, dtype=self.dtype)
        if self.rank == 0:
            if self.checkpoints:
                self._record_conv1()
                self.save(self.run_dir / "last.pt")
            write_history(self.run_dir, self.history, self.step_history)
        test = {"top1": self.evaluation.top1, "top5": self.evaluation.top5} if self.evaluation else {}
        self.display.epoch(self.epoch * self.steps_per_epoch, record, test, self.model)

    # -- checkpoints and records ----------------------------------------------------------

    def resume_state(self) -> ResumeState:
        """Everything to continue this run to the bit (``checkpoint.ResumeState``)."""
        rng = {
            **env.rng_state(self.device),
            "order_epoch_start": self.order_state,
            "augment": self.augment_generator.get_state(),
        }
        last_val = {k: v for k, v in (self.history[-1] if self.history else {}).items() if k.startswith("val_")}
        test = {"test_top1": self.evaluation.top1, "test_top5": self.evaluation.top5} if self.evaluation else {}
        return ResumeState(
            config=self.config.to_dict(),
            epoch=self.epoch,
            step=self.step,
            global_step=self.global_step,
            partial=dict(self.partial),
            train_seconds=self.train_seconds,
            images_seen=self.images_seen,
            optimizer=self.optimizer.state_dict(),
            scheduler=self.scheduler.state_dict() if self.scheduler is not None else None,
            scaler=self.scaler.state_dict(),
            rng=rng,
            history=self.history,
            step_history=self.step_history,
            metrics={**last_val, **test},
            budget=self.budget,
        )

    def save(self, path: Path) -> Path:
        """``last.pt``: the model with what inference needs (``model_fields``) and the resume state."""
        c, data = self.config, self.data
        fields = model_fields(self.model, data.classes, c.image_size, c.crop, data.stats, dataset=c.dataset)
        return save_checkpoint(path, {**fields, **self.resume_state().to_payload()})

    def load_state(self, state: ResumeState, checkpoint: dict[str, Any]) -> None:
        """Continue from ``state``, with ``checkpoint``'s weights: optimiser, schedule, RNGs and place in the epoch."""
        c = self.config
        check_resumable(
            state,
            checkpoint,
            variant=c.variant,
            num_classes=len(self.data.classes),
            epochs=c.epochs,
            schedule=c.schedule,
            options=self.model.options,
        )
        self.model.load_state_dict(checkpoint["model"])
        self.optimizer.load_state_dict(state.optimizer)
        if self.scheduler is not None and state.scheduler is not None:
            self.scheduler.load_state_dict(state.scheduler)
        if state.scaler:  # empty when the run had no fp16 scaler (bf16 or fp32, e.g. on another device)
            self.scaler.load_state_dict(state.scaler)
        env.set_rng_state(state.rng, self.device)
        self.order_state = state.rng["order_epoch_start"].cpu()
        self.augment_generator.set_state(state.rng["augment"].cpu())
        self.epoch, self.step, self.global_step = state.epoch, state.step, state.global_step
        self.partial = dict(state.partial)
        self.train_seconds, self.images_seen = state.train_seconds, state.images_seen
        self.history, self.step_history = list(state.history), list(state.step_history)
        print(f"resumed from epoch {self.epoch}, step {self.step} of {self.steps_per_epoch}")

    def _record_conv1(self) -> None:
        """Append conv1's filters to ``conv1.pt`` (epoch 0 is the initialisation), for notebook 05."""
        record_conv1(self.run_dir / "conv1.pt", self.epoch, self.model.conv1.weight, self.config.variant)


def train(config: TrainConfig, callbacks: Sequence[Callback] = ()) -> RunResult:
    """Train a model as ``config`` says and return the result (see ``Trainer``)."""
    return Trainer(config, callbacks).fit()
