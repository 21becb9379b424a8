"""Judging and recording a claim experiment: the verdict rule, the JSON record, the Fig.-1-style plot (notebook 07).

The verdict rule, the same for every claim. Each arm gives one number per seed (lower is
better: an error, or epochs to a training error). Let

- ``difference`` = mean(baseline arm) - mean(claimed arm): positive when the claim's arm is better;
- ``spread`` = the larger of the two arms' ranges (max - min over seeds).

Then "reproduced" if ``difference > MARGIN * spread`` (MARGIN = 2: the difference clearly exceeds
the spread, not merely matches it), "contradicted" if ``-difference > MARGIN * spread``, and "not
separable at this scale" otherwise, and always with fewer than two seeds (no spread measured).
Why twice the spread: with two seeds a range is one draw of the disagreement between two runs, a
noisy yardstick. Under seed noise alone (both arms the same, normal per-seed noise; 200,000
simulated experiments) a difference beyond one spread comes out about one time in ten in each
direction with two seeds per arm (10.7%), and 2.4% with three; beyond twice the spread 3.6% with
two seeds and 0.25% with three.
"""

from __future__ import annotations

import json
import platform
import statistics
from pathlib import Path
from typing import Any

import torch

from .files import write_text_atomically

REPRODUCED, CONTRADICTED, NOT_SEPARABLE = "reproduced", "contradicted", "not separable at this scale"
MARGIN = 2  # a difference must exceed MARGIN times the seed spread (module docstring)
RULE = (
    f"reproduced if mean(baseline) - mean(claimed) > {MARGIN} x the spread, the larger arm's range (max - min "
    "over seeds); contradicted if it exceeds it the other way; else not separable (always with one seed)"
)
RECORD_KEYS = ("name", "claim", "profile", "device", "versions", "settings", "arms", "seeds", "curves", "summary")


def verdict(baseline: list[float], claimed: list[float]) -> dict[str, Any]:
    """The rule of the module docstring, applied to per-seed values (lower is better) of the two arms."""
    if not baseline or not claimed:
        raise ValueError("each arm needs at least one value")
    difference = statistics.fmean(baseline) - statistics.fmean(claimed)
    spread = max(max(baseline) - min(baseline), max(claimed) - min(claimed))
    if min(len(baseline), len(claimed)) < 2:
        outcome, why = NOT_SEPARABLE, "one seed: no spread measured"
    elif difference > MARGIN * spread:
        outcome, why = REPRODUCED, f"the difference {difference:.4g} exceeds {MARGIN}x the seed spread {spread:.4g}"
    elif -difference > MARGIN * spread:
        outcome, why = (
            CONTRADICTED,
            f"the difference {-difference:.4g} the other way exceeds {MARGIN}x the spread {spread:.4g}",
        )
    else:
        outcome, why = (
            NOT_SEPARABLE,
            f"the difference {difference:.4g} is not over {MARGIN}x the seed spread {spread:.4g}",
        )
    return {
        "verdict": outcome,
        "why": why,
        "difference": difference,
        "spread": spread,
        "rule": RULE,
    }


def describe(values: list[float]) -> dict[str, float]:
    """Mean, standard deviation (0 with one seed), min and max."""
    return {
        "mean": statistics.fmean(values),
        "std": statistics.stdev(values) if len(values) > 1 else 0.0,
        "min": min(values),
        "max": max(values),
    }


def versions() -> dict[str, str]:
    return {"torch": torch.__version__, "python": platform.python_version()}


def record_path(folder: Path, name: str, profile: str, device: str) -> Path:
    """``results/claims/NAME-PROFILE-DEVICE.json`` (device: cpu, or the GPU's name: nvidia-h200)."""
    return folder / f"{name}-{profile}-{device}.json"


def write_record(path: Path, record: dict[str, Any]) -> Path:
    missing = [key for key in RECORD_KEYS if key not in record]
    if missing:
        raise ValueError(f"a claim record needs {', '.join(missing)}")
    return write_text_atomically(path, json.dumps(record, indent=2) + "\n")


def plot_record(record: dict[str, Any], path: Path) -> Path:
    """Fig. 1's layout: each arm's curve against epochs (left) and against seconds (right), one line per seed."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    key = record["summary"]["curve"]  # the per-epoch quantity the claim is about
    figure, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    styles = {record["arms"]["claimed"]: "-", record["arms"]["baseline"]: "--"}
    for arm, style in styles.items():
        for index, curve in enumerate(record["curves"][arm]):
            label = arm if index == 0 else None
            values = [row[key] for row in curve]
            epochs = [row["epoch"] for row in curve]
            seconds = [row["seconds"] for row in curve]
            colour = "C0" if style == "-" else "C1"
            axes[0].plot(epochs, values, style, color=colour, label=label, marker=".")
            axes[1].plot(seconds, values, style, color=colour, label=label, marker=".")
    target = record["settings"].get("target_train_error")
    for ax, xlabel in zip(axes, ("epochs", "seconds of training"), strict=True):
        if target is not None:
            ax.axhline(target, color="grey", linewidth=0.8)
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(key.replace("_", " "))
    axes[0].legend()
    summary = record["summary"]
    figure.suptitle(f"{record['name']} ({record['profile']}, {record['device']}): {summary['verdict']}", fontsize=10)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
