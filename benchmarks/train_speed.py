"""Training throughput of the paper net: the course's pipeline against the conventional one.

Three ways to train the same network on the same CIFAR-10 images, in one run on one device:

- ``course``: data on the device as uint8, batched augmentation there, bf16 autocast (where
  the hardware has it), channels_last, no host sync per step;
- ``course+compile``: the same under ``torch.compile``;
- ``conventional``: per-image PIL transforms in DataLoader workers, float32, NCHW, as most
  AlexNet code trains.

Each is warmed up, then timed over ``--steps`` steps (device-synchronised). The table gives
images/s, the ratio to the conventional pipeline, and the achieved TFLOP/s counting a
training step as forward + backward (weight and input gradients), about 3x the forward
FLOPs. Results go to ``results/train_speed-<device>.json``.

    python benchmarks/train_speed.py                       # GPU if there is one, else CPU
    python benchmarks/train_speed.py --device cpu --size 67 --steps 10 --batch 64
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from alexnet_lib import alexnet
from alexnet_lib.datasets import load_dataset
from alexnet_lib.env import autocast, device_name, needs_grad_scaler, pick_device, resolve_precision
from alexnet_lib.summary import total_flops
from alexnet_lib.transforms import BatchTransform, PILDataset, pil_transform

ROOT = Path(__file__).resolve().parents[1]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(mode: str, args: argparse.Namespace, device: torch.device, data) -> float:
    """Training images/s of one pipeline."""
    conventional = mode == "conventional"
    torch.manual_seed(0)
    dtype = torch.float32 if conventional else resolve_precision(device, "auto")
    layout = torch.contiguous_format if conventional else torch.channels_last
    model = alexnet("paper", num_classes=10).to(device, memory_format=layout)
    net = torch.compile(model) if mode == "course+compile" else model
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    scaler = torch.amp.GradScaler(device.type, enabled=needs_grad_scaler(dtype))  # fp16, as the trainer
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True

    if conventional:
        transform = pil_transform(args.size, data.stats, train=True)
        loader = torch.utils.data.DataLoader(
            PILDataset(data.train, transform),
            batch_size=args.batch,
            shuffle=True,
            drop_last=True,
            num_workers=args.workers,
            pin_memory=device.type == "cuda",
            persistent_workers=True,
        )

        def batches():
            while True:
                for images, labels in loader:
                    yield images.to(device, non_blocking=True), labels.to(device, non_blocking=True)
    else:
        images_on_device, labels_on_device = data.train.images.to(device), data.train.labels.to(device)
        transform = BatchTransform(args.size, data.stats, train=True)
        generator = torch.Generator(device).manual_seed(0)

        def batches():
            while True:
                index = torch.randint(len(labels_on_device), (args.batch,), device=device, generator=generator)
                yield transform(images_on_device[index], generator=generator), labels_on_device[index]

    stream = batches()

    def step() -> torch.Tensor:
        images, labels = next(stream)
        with autocast(device, dtype):
            loss = F.cross_entropy(net(images), labels)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        return loss.detach()

    for _ in range(args.warmup):  # compilation, cuDNN autotuning, worker start-up
        step()
    _sync(device)
    started = time.perf_counter()
    losses = [step() for _ in range(args.steps)]
    torch.stack(losses).sum().item()  # one sync at the end, as in the course's trainer
    _sync(device)
    return args.steps * args.batch / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--size", type=int, default=227, help="input side (227: the paper net)")
    parser.add_argument("--batch", type=int, default=None, help="default: 512 on a GPU, 64 on a CPU")
    parser.add_argument("--steps", type=int, default=None, help="timed steps (default: 50 on a GPU, 5 on a CPU)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed steps first (default: 10 GPU, 2 CPU)")
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="DataLoader workers, conventional path")
    parser.add_argument("--modes", default="course,course+compile,conventional")
    parser.add_argument("--out", type=Path, help="JSON file to write (default: results/train_speed-<cpu|gpu>.json)")
    parser.add_argument("--peak-tflops", type=float, default=None, help="the device's bf16 rate, for the floor")
    args = parser.parse_args()
    device = pick_device(args.device)
    gpu = device.type == "cuda"
    args.batch = args.batch or (512 if gpu else 64)
    args.steps = args.steps or (50 if gpu else 5)
    args.warmup = args.warmup if args.warmup is not None else (10 if gpu else 2)

    data = load_dataset("cifar10", ROOT / "data", train_subset=None if gpu else 4096)
    name = device_name(device)
    flops = 3 * total_flops(alexnet("paper", num_classes=10), args.size)  # forward + both backward products
    print(
        f"{name}, torch {torch.__version__}, paper net at {args.size}px, batch {args.batch}, "
        f"{args.steps} timed steps after {args.warmup}; {flops / 1e9:.2f} GFLOP per training image"
    )

    rows = {}
    for mode in args.modes.split(","):
        try:
            rows[mode] = measure(mode, args, device, data)
        except Exception as error:  # compile needs a C++ compiler on CPU, Triton on GPU: report, go on
            print(f"{mode}: failed ({type(error).__name__}: {str(error).splitlines()[0][:120]})")
    baseline = rows.get("conventional")
    print(f"\n{'pipeline':<16}{'images/s':>10}{'vs conventional':>17}{'TFLOP/s':>9}")
    for mode, rate in rows.items():
        ratio = f"{rate / baseline:.1f}x" if baseline else "-"
        print(f"{mode:<16}{rate:>10,.0f}{ratio:>17}{rate * flops / 1e12:>9.2f}")
    if args.peak_tflops:
        print(f"arithmetic floor at {args.peak_tflops:.0f} TFLOP/s: {args.peak_tflops * 1e12 / flops:,.0f} images/s")

    record = {
        "benchmark": "train_speed",
        "device": name,
        "torch": torch.__version__,
        "image_size": args.size,
        "batch": args.batch,
        "steps": args.steps,
        "warmup": args.warmup,
        "workers": args.workers,
        "precision": str(resolve_precision(device, "auto")).replace("torch.", ""),
        "gflop_per_training_image": flops / 1e9,
        "images_per_second": rows,
        "date": time.strftime("%Y-%m-%d"),
    }
    out = args.out or ROOT / "results" / f"train_speed-{'gpu' if gpu else 'cpu'}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
