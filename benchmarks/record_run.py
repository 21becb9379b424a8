"""File a finished training run under ``results/``: its record as JSON and its curves as a PNG.

    python -m alexnet_lib train --config fashion_mnist --profile quick
    python benchmarks/record_run.py outputs/runs/fashion-mnist

writes ``results/fashion-mnist-quick-cpu.json`` (``result.json`` with the per-epoch history)
and ``results/fashion-mnist-quick-cpu.png`` (running train loss and accuracy, validation after
each epoch; the test figure, read once at the end, in the title). The device is named inside
the JSON and in the figure's title.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from alexnet_lib.progress import plot_run  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="a run folder holding result.json, history.json and steps.json")
    parser.add_argument("--out", type=Path, default=ROOT / "results", help="where to write (default: results/)")
    args = parser.parse_args()

    result = json.loads((args.run_dir / "result.json").read_text())
    result["history"] = json.loads((args.run_dir / "history.json").read_text())
    kind = "cpu" if result["device_type"] == "cpu" else "gpu"
    profile = result["profile"] or "custom"  # a run with no profile, or a YAML file without one
    name = f"{result['dataset']}-{profile}-{kind}"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    title = (
        f"{result['dataset']}, {profile} profile: test top-1 {result['test_top1']:.1%} "
        f"after {result.get('train_images', 0):,} images, {result['train_seconds']:.0f} s of training "
        f"on {result['device']}"
    )
    plot_run(args.run_dir, title).savefig(args.out / f"{name}.png", dpi=110)
    print(f"written: {args.out / name}.json and .png")


if __name__ == "__main__":
    main()
