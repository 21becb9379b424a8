"""Inference speed in images/s at batch 1 and batch 256, with and without preprocessing (notebook 06).

    python benchmarks/inference.py                       # the device `auto` picks; a few seconds on a CPU
    python benchmarks/inference.py --device cuda --image-size 227 --batch-sizes 1 64 256
    python benchmarks/inference.py --checkpoint outputs/runs/cifar10/last.pt

Results also go to ``results/inference-<cpu|gpu>.json`` (as ``data_pipeline.py``'s do).

Three columns per batch size, each including the one before:

- ``model``: the network and its softmax on a batch already preprocessed on the device;
- ``+ preprocess``: from uint8 images in host memory: copy to the device, crop, resize and
  normalise (``BatchTransform``), network, probabilities back on the host;
- ``+ decode``: from JPEG files (320x240 photos): open safely, decode, bring to the source
  size, then as above: what ``python -m alexnet_lib predict`` does.

Without ``--checkpoint`` the model is an untrained paper net with 1000 classes fed as for
ImageNet (photos brought to 256, centre crop 224/256); speed does not depend on the weights.
Precision follows ``env.resolve_precision`` (bf16 where the hardware has it) unless --precision says.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from alexnet_lib import alexnet
from alexnet_lib.checkpoint import Checkpoint
from alexnet_lib.env import autocast, current_profile, device_name, pick_device, resolve_precision
from alexnet_lib.imagenet import IMAGENET_STATS
from alexnet_lib.inference import Predictor, load_predictor
from alexnet_lib.timing import images_per_second, write_record
from alexnet_lib.transforms import PAPER_CROP

ROOT = Path(__file__).resolve().parents[1]


def write_photos(folder: Path, count: int) -> list[Path]:
    """``count`` smooth random 320x240 JPEG photos."""
    generator = np.random.default_rng(0)
    paths = []
    for index in range(count):
        coarse = Image.fromarray(generator.integers(0, 256, (12, 16, 3), dtype=np.uint8))
        paths.append(folder / f"{index:04d}.jpg")
        coarse.resize((320, 240), Image.BICUBIC).save(paths[-1], quality=90)
    return paths


def benchmark_predictor(args: argparse.Namespace, device: torch.device, dtype: torch.dtype) -> Predictor:
    if args.checkpoint:
        return load_predictor(args.checkpoint, device, dtype)
    image_size = args.image_size or (67 if current_profile(device) == "quick" else 227)
    model = alexnet("paper", num_classes=1000)
    classes = [f"class {i}" for i in range(1000)]
    checkpoint = Checkpoint.of_model(
        model, classes=classes, image_size=image_size, crop=PAPER_CROP, stats=IMAGENET_STATS, dataset="imagenet"
    )
    return Predictor(checkpoint, device, dtype)


def measure(predictor: Predictor, images: torch.Tensor, paths: list[Path], min_seconds: float) -> dict:
    """The three speeds for one batch of ``len(images)`` images (and the same photos as files)."""
    device, batch_size = predictor.device, len(images)
    ready = predictor.transform(images.to(device))

    def rate(step: Callable[[], object]) -> float:  # one warm-up call, then calls for at least min_seconds
        return images_per_second(step, batch_size, device, warmup=1, min_seconds=min_seconds)

    @torch.no_grad()
    def model_only() -> torch.Tensor:
        with autocast(device, predictor.dtype):
            return predictor.model(ready).float().softmax(1)

    return {
        "batch_size": batch_size,
        "model": rate(model_only),
        "preprocess": rate(lambda: predictor.probabilities(images, batch_size=batch_size)),
        "decode": rate(lambda: list(predictor.predict_files(paths, batch_size=batch_size))),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--checkpoint", type=Path, help="a course checkpoint (default: an untrained paper net)")
    parser.add_argument("--image-size", type=int, help="network input (default: 67 in the quick profile, else 227)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 256])
    parser.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16", "fp16"))
    parser.add_argument("--min-seconds", type=float, default=1.0, help="time each measurement at least this long")
    parser.add_argument("--out", type=Path, help="JSON file to write (default: results/inference-<cpu|gpu>.json)")
    args = parser.parse_args(argv)

    device = pick_device(args.device)
    dtype = resolve_precision(device, args.precision)
    torch.backends.cudnn.benchmark = device.type == "cuda"
    predictor = benchmark_predictor(args, device, dtype)
    largest = max(args.batch_sizes)
    with tempfile.TemporaryDirectory() as folder:
        paths = write_photos(Path(folder), largest)
        images = torch.stack([predictor.read(path) for path in paths])  # uint8 at the source size, on the host
        machine = torch.cuda.get_device_name(device) if device.type == "cuda" else str(device)
        host = f"{device_name(torch.device('cpu'))}, {torch.get_num_threads()} threads"
        print(
            f"{machine}; host {host}; {predictor.model.variant} net, input {predictor.checkpoint.image_size}px, "
            f"source {predictor.checkpoint.source_size}px; {str(dtype).replace('torch.', '')}; "
            f"torch {torch.__version__}"
        )
        print(f"{'batch':>6} {'model':>10} {'+ preprocess':>13} {'+ decode':>10}   (images/s)")
        rows = []
        for batch_size in args.batch_sizes:
            rows.append(measure(predictor, images[:batch_size], paths[:batch_size], args.min_seconds))
            row = rows[-1]
            print(f"{batch_size:>6} {row['model']:>10,.0f} {row['preprocess']:>13,.0f} {row['decode']:>10,.0f}")
    fields = {
        "device": machine,
        "host": host,
        "torch": torch.__version__,
        "precision": str(dtype).replace("torch.", ""),
        "image_size": predictor.checkpoint.image_size,
        "source_size": predictor.checkpoint.source_size,
        "images_per_second": rows,
    }
    write_record("inference", fields, device=device, root=ROOT, out=args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
