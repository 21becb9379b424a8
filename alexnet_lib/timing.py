"""How fast: device-synchronised images/s, shared by the benchmarks, the lessons and the trainer's time
budget, and the benchmarks' records.

A GPU runs queued work after the Python call that queued it has returned, so a timer is
read only after ``synchronize``: it then measures the work, not its launch. Every speed the
course reports goes through ``images_per_second``.
"""

from __future__ import annotations

import copy
import itertools
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.distributed as dist
from torch import nn

from .config import TrainConfig
from .datasets import ImageSet
from .env import needs_grad_scaler, time_scale
from .errors import CourseError
from .optim import make_optimizer, train_step
from .transforms import BatchTransform, PILDataset

if TYPE_CHECKING:
    from torchvision import transforms as T


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so that a timer measures the work and not its launch."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def images_per_second(
    step: Callable[[], object],
    images_per_step: int,
    device: torch.device,
    *,
    warmup: int = 1,
    steps: int | None = None,
    min_seconds: float = 0.0,
) -> float:
    """Images/s of calling ``step``: ``warmup`` untimed calls, then timed ones until both ``steps`` calls (None:
    one) and ``min_seconds`` are done, the clock read only when the device is done."""
    for _ in range(warmup):  # compilation, autotuning, allocations, worker start-up
        step()
    synchronize(device)
    calls, started = 0, time.perf_counter()
    while calls < (steps or 1) or time.perf_counter() - started < min_seconds:
        step()
        calls += 1
    synchronize(device)
    return calls * images_per_step / (time.perf_counter() - started)


def training_speed(
    model: nn.Module,
    batches: Callable[[], tuple[torch.Tensor, torch.Tensor]],
    device: torch.device,
    *,
    dtype: torch.dtype,
    batch_size: int,
    steps: int,
    warmup: int = 1,
    compile: bool = False,
    optimizer: torch.optim.Optimizer | None = None,
    label_smoothing: float = 0.0,
    min_seconds: float = 0.0,
) -> float:
    """Training images/s of ``model``: the trainer's own step (``optim.train_step``) on the batches
    ``batches()`` returns, under autocast (with a gradient scaler for fp16), no host sync per step
    (notebook 04, benchmarks/train_speed.py, the time budget). ``optimizer`` defaults to §5's SGD."""
    net = torch.compile(model) if compile else model
    if optimizer is None:
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    scaler = torch.amp.GradScaler(device.type, enabled=needs_grad_scaler(dtype))

    def step() -> None:
        images, labels = batches()
        train_step(net, optimizer, scaler, images, labels, dtype=dtype, label_smoothing=label_smoothing)

    return images_per_second(step, batch_size, device, warmup=warmup, steps=steps, min_seconds=min_seconds)


def probe_training_speed(
    model: nn.Module,
    data: ImageSet,
    transform: BatchTransform,
    device: torch.device,
    config: TrainConfig,
    *,
    dtype: torch.dtype,
    batch_size: int,
    steps: int = 2,
    min_seconds: float = 1.0,
) -> float:
    """``training_speed`` of a throwaway copy of ``model`` on random augmented batches of ``data``, with the
    step the trainer will take: ``config``'s optimiser and compile, ``dtype``'s precision (the time budget).
    At least ``steps`` timed steps and ``min_seconds``. The run is untouched: its weights, and the global
    random state, are as before."""
    saved_rng = torch.get_rng_state()
    saved_cuda = torch.cuda.get_rng_state(device) if device.type == "cuda" else None
    generator = torch.Generator(device).manual_seed(0)
    _, _, height, width = data.images.shape

    def batch() -> tuple[torch.Tensor, torch.Tensor]:
        index = torch.randint(len(data), (batch_size,)).to(data.labels.device)
        views = transform.draw(batch_size, height, width, generator, device)
        return transform(data.images[index].to(device), views), data.labels[index].to(device)

    try:
        probe = copy.deepcopy(model).train()
        return training_speed(
            probe,
            batch,
            device,
            dtype=dtype,
            batch_size=batch_size,
            steps=steps,
            compile=config.compile,
            optimizer=make_optimizer(probe, config),
            label_smoothing=config.label_smoothing,
            min_seconds=min_seconds,
        )
    finally:
        torch.set_rng_state(saved_rng)
        if saved_cuda is not None:
            torch.cuda.set_rng_state(saved_cuda, device)


def training_budget(
    model: nn.Module,
    data: ImageSet,
    transform: BatchTransform,
    device: torch.device,
    config: TrainConfig,
    *,
    dtype: torch.dtype,
    processes: int,
) -> dict[str, Any]:
    """How many of ``data``'s images ``config.epochs`` epochs can train on in ``config.time_budget_s`` seconds,
    at the speed of the trainer's own step measured here (``probe_training_speed``); the measurement is part
    of the budget. ``config.batch_size`` is the global batch, split over ``processes``: under torchrun every
    process takes the slowest one's count."""
    started = time.perf_counter()
    seconds, batch_size = config.time_budget_s * time_scale(), config.batch_size  # a slow machine's stand-in
    local = batch_size // processes
    speed = processes * probe_training_speed(model, data, transform, device, config, dtype=dtype, batch_size=local)
    probe_seconds = time.perf_counter() - started
    steps = max(1, int((seconds - probe_seconds) * speed / batch_size / config.epochs))
    if processes > 1:  # every process must take the same number of steps
        count = torch.tensor(steps, device=device if device.type == "cuda" else "cpu")
        dist.all_reduce(count, op=dist.ReduceOp.MIN)
        steps = int(count)
    return {
        "time_budget_s": seconds,
        "measured_images_per_second": round(speed, 1),
        "probe_seconds": round(probe_seconds, 2),  # compilation included: what is left is for training
        "train_images": min(steps * batch_size, len(data)),
    }


# The two input pipelines (notebook 02, benchmarks/data_pipeline.py) --------------------------


def batched_throughput(
    data: ImageSet, transform: BatchTransform, *, batch_size: int = 128, batches: int = 10, warmup: int = 2
) -> float:
    """Images/s of the batched path: random batches of ``data`` (on its own device) through ``transform``.

    Each batch is an index lookup into the uint8 tensor, then crops, flips, colour noise,
    normalisation and resizing in a few tensor operations, as the trainer does every step.
    """
    device = data.images.device
    generator = torch.Generator(device).manual_seed(0)

    def one_batch() -> torch.Tensor:
        index = torch.randint(len(data), (batch_size,), device=device, generator=generator)
        return transform(data.images[index], generator=generator)

    return images_per_second(one_batch, batch_size, device, warmup=warmup, steps=batches)


def pil_throughput(
    data: ImageSet,
    transform: T.Compose,
    *,
    batch_size: int = 128,
    batches: int = 10,
    warmup: int = 2,
    workers: int = 0,
    device: torch.device | str = "cpu",
) -> float:
    """Images/s of the conventional path: one PIL image at a time in ``workers`` DataLoader processes.

    Batches are moved to ``device`` as a training loop would. The warm-up batches absorb the
    workers' start-up; the batches they prefetch meanwhile favour this path slightly in short runs.
    """
    device = torch.device(device)
    if len(data) < batch_size:
        raise CourseError(f"timing batches of {batch_size} needs at least {batch_size} images, got {len(data)}")
    loader = torch.utils.data.DataLoader(
        PILDataset(data.to("cpu"), transform),
        batch_size=batch_size,
        shuffle=True,
        drop_last=True,
        num_workers=workers,
        pin_memory=device.type == "cuda",
        persistent_workers=workers > 0,
        generator=torch.Generator().manual_seed(0),
    )

    def endless() -> Iterator[torch.Tensor]:
        for _ in itertools.count():
            for images, _labels in loader:
                yield images.to(device, non_blocking=True)

    stream = endless()
    return images_per_second(lambda: next(stream), batch_size, device, warmup=warmup, steps=batches)


# Benchmark records ----------------------------------------------------------------------------


def write_record(benchmark: str, fields: dict[str, Any], *, device: torch.device, root: Path, out: Path | None) -> Path:
    """Write a benchmark's record as JSON to ``out``, else ``root/results/<benchmark>-<cpu|gpu>.json``; say where."""
    out = out or root / "results" / f"{benchmark}-{'cpu' if device.type == 'cpu' else 'gpu'}.json"
    record = {"benchmark": benchmark, **fields, "date": time.strftime("%Y-%m-%d")}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"\nwritten to {out}")
    return out
