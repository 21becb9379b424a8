"""Judging and recording a claim experiment: the verdict rule, the JSON record, the Fig.-1-style plot (notebook 07).

The verdict rule, the same for every claim, fixed before the runs it judges (issue 21). Each arm
gives one number per seed, lower is better (an error, or epochs to a training error), and the two
arms of a seed share its data order, held-out split and, where the nets match, starting weights:
the design is paired, so the rule works on the per-seed differences.

1. Per seed i, ``d_i`` = baseline_i - claimed_i (positive when the claim's arm is better); for
   epochs to a target, ``d_i`` = log(baseline_i / claimed_i), since the claim is a ratio ("six
   times sooner") and seeds change it by a factor, not by a number of epochs.
2. The mean of the ``d_i`` and its 95% confidence interval by Student's t with n - 1 degrees of
   freedom: mean +- t(0.975, n - 1) * sd / sqrt(n).
3. "reproduced" when the interval lies wholly above zero, "contradicted" when wholly below, "not
   separable at this scale" otherwise, and always with one seed (no interval can be drawn).

Why t over the paired differences: with 3 to 5 seeds it is the standard interval, exact when the
differences are normal, and it widens with few seeds through t (12.7 sd/sqrt(n) with 2 seeds, 4.30
with 3, 2.78 with 5). The exact alternatives cannot conclude at these sizes: a sign or permutation
interval over n = 3 differences has at most 2**3 = 8 equally likely sign patterns, so the smallest
two-sided p-value it can reach is 2/8 = 0.25 and its 95% interval always contains zero (5 seeds:
2/32 = 0.0625, still above 0.05); a bootstrap with 3 values has the same few distinct resamples and
is known to be too narrow for small n. Tested by simulation (tests/test_claims.py): about 5% of
experiments on identical arms are called either way (2.5% each way), the power rises with the seeds
(80% for a true effect of 1.5 per-seed standard deviations by 10 seeds), and pairing beats an
unpaired interval when the seeds share noise.

Censoring (epochs to a target): an arm that hits its epoch or time cap gives a lower bound on its
epochs. A capped baseline makes that seed's ratio a lower bound ("at least"); the rule then uses
the bound as the value. It may still say "reproduced" (the claim's side, read as "at least this
much faster", since each true ratio is as large or larger), but never "contradicted", which the
true values could overturn. A capped claimed arm makes the ratio an upper bound: the rule may then
not say "reproduced". A seed where both arms hit their caps bounds nothing: not separable.

History: until issue 21 the rule was "reproduced if mean(baseline) - mean(claimed) > 2 x the
larger arm's range over seeds" (at first "> 1 x the range"). It compared a difference with a
range, which grows with the number of seeds, so it lost power as seeds were added (simulated, an
effect of 3 per-seed standard deviations was found 49% / 24% / 5% / 0.1% of the time with 2 / 3 /
5 / 10 seeds), and it ignored the pairing. The CIFAR-10 LRN record was "reproduced" under the
first form and "not separable" under the second; it is re-derived under this one.
"""

from __future__ import annotations

import json
import math
import platform
import statistics
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .files import write_text_atomically

REPRODUCED, CONTRADICTED, NOT_SEPARABLE = "reproduced", "contradicted", "not separable at this scale"
LEVEL = 0.95  # the confidence interval's coverage (module docstring)
RULE = (
    "paired: per seed, baseline minus claimed (log ratio for epochs to a target); reproduced if the 95% "
    "Student-t interval of the mean difference lies wholly above 0, contradicted if wholly below, else not "
    "separable (always with one seed); a capped arm's bound never supports the verdict it could overturn"
)
RECORD_KEYS = ("name", "claim", "profile", "device", "versions", "settings", "arms", "seeds", "curves", "summary")

# t(0.975, df), df = 1..30 (two-sided 95%), from the t distribution's tables; beyond 30, the normal's 1.96
# within 2%. Kept here so the rule needs no SciPy.
T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228)
T975 += (2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086)
T975 += (2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def t_quantile(df: int) -> float:
    """t(0.975, df): the half-width of a 95% interval in standard errors."""
    if df < 1:
        raise ValueError("a t interval needs at least two values")
    return T975[df - 1] if df <= len(T975) else 1.96 + 2.4 / df  # 1.96 + 2.4/df: within 0.002 for df > 30


def t_interval(differences: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, low and high ends of the 95% t interval, over the last axis (NumPy: one row per experiment)."""
    d = np.asarray(differences, dtype=float)
    n = d.shape[-1]
    mean = d.mean(axis=-1)
    half = t_quantile(n - 1) * d.std(axis=-1, ddof=1) / math.sqrt(n)
    return mean, mean - half, mean + half


def verdict(
    baseline: list[float],
    claimed: list[float],
    *,
    log_ratio: bool = False,
    censored: dict[str, list[bool]] | None = None,
) -> dict[str, Any]:
    """The rule of the module docstring on the arms' per-seed values, seed i of one arm paired with seed i of the other.

    ``log_ratio``: compare log(baseline / claimed) (epochs to a target). ``censored``: per seed, whether
    each arm's value is a lower bound (``{"baseline": [...], "claimed": [...]}``).
    """
    if not baseline or not claimed:
        raise ValueError("each arm needs at least one value")
    if len(baseline) != len(claimed):
        raise ValueError(f"paired arms need the same seeds; got {len(baseline)} and {len(claimed)} values")
    cut = censored or {}
    low_b, low_c = cut.get("baseline", [False] * len(baseline)), cut.get("claimed", [False] * len(claimed))
    if log_ratio:
        differences = [math.log(b / c) for b, c in zip(baseline, claimed, strict=True)]
    else:
        differences = [b - c for b, c in zip(baseline, claimed, strict=True)]
    out: dict[str, Any] = {
        "differences": differences,
        "rule": RULE,
        "scale": "log ratio" if log_ratio else "difference",
    }
    out["difference"] = statistics.fmean(differences)
    if len(differences) < 2:
        return out | {"verdict": NOT_SEPARABLE, "why": "one seed: no interval", "interval": None}
    mean, low, high = (float(x) for x in t_interval(differences))
    out["interval"] = [low, high]
    show = (lambda x: f"{math.exp(x):.3g}x") if log_ratio else (lambda x: f"{x:.4g}")
    span = f"{LEVEL:.0%} interval [{show(low)}, {show(high)}] over {len(differences)} seeds"
    if any(b and c for b, c in zip(low_b, low_c, strict=True)):
        return out | {"verdict": NOT_SEPARABLE, "why": f"{span}; a seed where both arms hit their caps bounds nothing"}
    if low > 0 and not any(low_c):
        bound = " (capped baselines: at least)" if any(low_b) else ""
        return out | {"verdict": REPRODUCED, "why": f"{span}, wholly on the claim's side{bound}"}
    if high < 0 and not any(low_b):
        return out | {"verdict": CONTRADICTED, "why": f"{span}, wholly on the other side"}
    if low > 0 or high < 0:
        return out | {"verdict": NOT_SEPARABLE, "why": f"{span}, but a capped arm's bound could overturn it"}
    return out | {"verdict": NOT_SEPARABLE, "why": f"{span} contains zero"}


def summarize(
    measure: str, baseline: str, claimed: str, values: dict[str, list[float]], censored: dict[str, list[bool]]
) -> dict[str, Any]:
    """A record's summary from its per-seed values: the verdict, each arm's figures, the ratio for Fig. 1."""
    from .claims import MEASURES

    ratio = measure == "epochs_to_target"
    cut = {"baseline": censored[baseline], "claimed": censored[claimed]}
    summary = verdict(values[baseline], values[claimed], log_ratio=ratio, censored=cut)
    summary |= {label: describe(v) for label, v in values.items()}
    summary |= {"values": values, "censored": censored, "measure": MEASURES[measure]}
    summary["curve"] = "train_error" if measure in ("epochs_to_target", "train_error") else "val_error"
    if ratio:  # per seed, and the geometric mean with its interval: "at least" where a baseline was capped
        per_seed = [
            ("at least " if capped else "") + f"{b / c:.2g}x"
            for b, c, capped in zip(values[baseline], values[claimed], censored[baseline], strict=True)
        ]
        mean = math.exp(summary["difference"])
        summary["ratio"] = ("at least " if any(censored[baseline]) else "") + f"{mean:.1f}x"
        summary["ratios"] = per_seed
    return summary


def rederive(record: dict[str, Any]) -> dict[str, Any]:
    """The record with its summary re-derived from its per-seed values under today's rule (runs unchanged)."""
    from .claims import experiment

    summary, arms = record["summary"], record["arms"]
    fresh = summarize(
        experiment(record["name"]).measure_at(record["profile"]),
        arms["baseline"],
        arms["claimed"],
        summary["values"],
        summary["censored"],
    )
    kept = {k: summary[k] for k in ("wall_seconds", "history") if k in summary}
    return {**record, "summary": fresh | kept}


def merge_records(records: list[dict[str, Any]]) -> dict[str, Any]:
    """One record from runs of the same claim, size and settings on different seeds (``run_claim(first_seed=...)``)."""
    first = records[0]
    if any(
        r["name"] != first["name"] or r["profile"] != first["profile"] or r["arms"] != first["arms"] for r in records
    ):
        raise ValueError("only records of the same claim, profile and arms merge")
    seeds = [seed for r in records for seed in r["seeds"]]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"a seed appears twice: {seeds}")
    labels = list(first["curves"])
    merged = {**first, "seeds": seeds}
    merged["curves"] = {label: [c for r in records for c in r["curves"][label]] for label in labels}
    values = {label: [v for r in records for v in r["summary"]["values"][label]] for label in labels}
    censored = {label: [v for r in records for v in r["summary"]["censored"][label]] for label in labels}
    merged["settings"] = {**first["settings"], "seeds": len(seeds)}
    merged["settings"]["parts"] = [  # an already merged record brings its own parts
        part
        for r in records
        for part in r["settings"].get("parts")
        or [
            {
                "seeds": r["seeds"],
                "device": r["device"],
                "lr_tuning": r["settings"]["lr_tuning"],
                "versions": r["versions"],
            }
        ]
    ]
    merged["summary"] = {
        "values": values,
        "censored": censored,
        "wall_seconds": round(sum(r["summary"].get("wall_seconds", 0) for r in records), 1),
    } | ({"history": first["summary"]["history"]} if "history" in first["summary"] else {})
    return rederive(merged)


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
    """Fig. 1's layout, one line per seed: each arm's curve against epochs and against seconds; then the
    per-seed differences (or ratios) with their mean and 95% interval, the verdict's evidence."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    summary = record["summary"]
    key = summary["curve"]  # the per-epoch quantity the claim is about
    figure, axes = plt.subplots(1, 3, figsize=(13, 3.6), gridspec_kw={"width_ratios": [3, 3, 2]})
    styles = {record["arms"]["claimed"]: "-", record["arms"]["baseline"]: "--"}
    for arm, style in styles.items():
        for index, curve in enumerate(record["curves"][arm]):
            label = arm if index == 0 else None
            values = [row[key] for row in curve]
            epochs = [row["epoch"] for row in curve]
            seconds = [row["seconds"] for row in curve]
            colour = "C0" if style == "-" else "C1"
            axes[0].plot(epochs, values, style, color=colour, label=label, marker=".", alpha=0.8)
            axes[1].plot(seconds, values, style, color=colour, label=label, marker=".", alpha=0.8)
    target = record["settings"].get("target_train_error")
    for ax, xlabel in zip(axes[:2], ("epochs", "seconds of training"), strict=True):
        if target is not None:
            ax.axhline(target, color="grey", linewidth=0.8)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(key.replace("_", " "))
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    ratio = summary.get("scale") == "log ratio"
    scale = math.exp if ratio else (lambda x: x)
    ax = axes[2]
    differences = [scale(d) for d in summary.get("differences", [])]
    ax.plot(range(len(differences)), differences, "o", color="C0", label="per seed")
    if summary.get("interval"):
        low, high = (scale(x) for x in summary["interval"])
        mean = scale(summary["difference"])
        ax.errorbar([len(differences)], [mean], yerr=[[mean - low], [high - mean]], fmt="s", color="k", capsize=4)
        ax.text(len(differences), high, " 95%", fontsize=8, va="bottom")
    ax.axhline(1.0 if ratio else 0.0, color="grey", linewidth=0.8)
    ax.set_xticks(range(len(differences) + 1), [str(s) for s in record["seeds"]] + ["mean"])
    ax.set_xlabel("seed")
    ax.set_ylabel("baseline / claimed (epochs)" if ratio else "baseline - claimed")
    if ratio:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    where = f"{record['profile']}, {record['device']}, {len(record['seeds'])} seed(s)"
    figure.suptitle(f"{record['name']} ({where}): {summary['verdict']}", fontsize=10)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
