"""Training-time augmentation throughput: the course's batched path against the conventional PIL one.

For Fashion-MNIST and CIFAR-10, in one run on one machine, the same augmentation (§4.1:
random 224/256 crop, horizontal flip, PCA colour noise, normalisation, resize to the network
input) is timed two ways:

- ``batched``: the training set as one uint8 tensor on the device; each batch is an index
  lookup and a few tensor operations there (``BatchTransform``);
- ``pil``: one PIL image at a time in DataLoader workers (``pil_transform``, ``num_workers``
  = the CPU count by default), each batch then copied to the device, as most AlexNet code
  feeds its model.

Only the input pipeline is timed (no model), after ``--warmup`` batches. The table gives
images/s per path and the ratio batched / PIL; results go to ``results/data_pipeline-<cpu|gpu>.json``.

    python benchmarks/data_pipeline.py                      # GPU if there is one, else CPU
    python benchmarks/data_pipeline.py --device cpu --batches 5
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import torch

from alexnet_lib.env import device_name, pick_device
from alexnet_lib.fetch import load_dataset
from alexnet_lib.timing import batched_throughput, pil_throughput, write_record
from alexnet_lib.transforms import BatchTransform, pil_transform

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ("fashion-mnist", "cifar10")


def measure(name: str, args: argparse.Namespace, device: torch.device) -> dict[str, float]:
    """Images/s of both paths on the training set of ``name``."""
    data = load_dataset(name, ROOT / "data")
    settings = {"size": args.size, "stats": data.stats, "train": True}
    batched = batched_throughput(
        data.train.to(device),
        BatchTransform(**settings),
        batch_size=args.batch_size,
        batches=args.batches,
        warmup=args.warmup,
    )
    pil = pil_throughput(
        data.train,
        pil_transform(**settings),
        batch_size=args.batch_size,
        batches=args.batches,
        warmup=args.warmup,
        workers=args.workers,
        device=device,
    )
    return {"batched": batched, "pil": pil}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default auto)")
    parser.add_argument("--size", type=int, default=227, help="network input side (227: the paper net)")
    parser.add_argument("--batch-size", type=int, default=128, help="images per batch (default 128, the paper's)")
    parser.add_argument("--batches", type=int, default=None, help="timed batches per path (default: 200 GPU, 20 CPU)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed batches first (default: 20 GPU, 3 CPU)")
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="DataLoader workers for the PIL path")
    parser.add_argument("--datasets", default=",".join(DATASETS), help="comma-separated (default: both)")
    parser.add_argument("--out", type=Path, help="JSON file to write (default: results/data_pipeline-<cpu|gpu>.json)")
    args = parser.parse_args()
    device = pick_device(args.device)
    accelerated = device.type != "cpu"
    args.batches = args.batches or (200 if accelerated else 20)
    args.warmup = args.warmup if args.warmup is not None else (20 if accelerated else 3)

    machine = torch.cuda.get_device_name(device) if device.type == "cuda" else str(device)
    host = device_name(torch.device("cpu"))
    print(
        f"{machine}; host {host}; torch {torch.__version__}; input {args.size}px, batch {args.batch_size}, "
        f"{args.batches} timed batches after {args.warmup}; PIL path with {args.workers} workers"
    )
    rows = {name: measure(name, args, device) for name in args.datasets.split(",")}

    print(f"\n{'dataset':<15}{'batched img/s':>15}{'PIL img/s':>12}{'batched / PIL':>15}")
    for name, rates in rows.items():
        print(f"{name:<15}{rates['batched']:>15,.0f}{rates['pil']:>12,.0f}{rates['batched'] / rates['pil']:>14.1f}x")

    fields = {
        "device": machine,
        "host": host,
        "torch": torch.__version__,
        "image_size": args.size,
        "batch_size": args.batch_size,
        "batches": args.batches,
        "warmup": args.warmup,
        "workers": args.workers,
        "images_per_second": rows,
        "ratio": {name: rates["batched"] / rates["pil"] for name, rates in rows.items()},
    }
    write_record("data_pipeline", fields, device=device, root=ROOT, out=args.out)


if __name__ == "__main__":
    main()
