"""Notebook 07, the paper's claims tested: the recorded full runs beside the quick ones, and the exercise checks."""

from __future__ import annotations

import dataclasses
import json
import tempfile
from pathlib import Path
from typing import Any

from ..claims import EXPERIMENTS
from ..claims_report import NOT_SEPARABLE, RECORD_KEYS, verdict
from ..config import TrainConfig, load_config
from ..env import project_root
from ..errors import CourseError
from .checking import is_stub, not_done, report


def recorded(name: str) -> list[dict[str, Any]]:
    """The full-size records of claim ``name`` in ``results/claims/`` (any device), newest layout only."""
    folder = project_root() / "results" / "claims"
    return [{**json.loads(path.read_text()), "path": str(path)} for path in sorted(folder.glob(f"{name}-full-*.json"))]


def summary_line(record: dict[str, Any]) -> str:
    """One line: where and how big, each arm's mean (and spread), the verdict."""
    summary, arms = record["summary"], record["arms"]
    seeds = len(record["seeds"])
    means = ", ".join(
        f"{arm} {summary[arm]['mean']:.3g} (range {summary[arm]['max'] - summary[arm]['min']:.2g})"
        for arm in (arms["baseline"], arms["claimed"])
    )
    extra = f", ratio {summary['ratio']}" if "ratio" in summary else ""
    return f"{record['profile']:5} {record['device']} {seeds} seed(s): {means}{extra} -> {summary['verdict']}"


def show_claim(record: dict[str, Any]) -> None:
    """The quick run's line, the recorded full runs' lines, and their plots side by side."""
    from IPython.display import Image, display

    print(f"{record['claim']['section']}: {record['claim']['text']}")
    print(f"  paper: {record['claim']['paper']}")
    print(f"  measure: {record['summary']['measure']}")
    print(f"  this run   {summary_line(record)}")
    full = recorded(record["name"])
    for saved in full:
        print(f"  recorded   {summary_line(saved)}")
    if not full:
        print(f"  recorded   none yet: `python -m alexnet_lib claims run {record['name']} --profile full`")
    display(Image(filename=record["plot"], width=640))
    for saved in full:
        png = Path(saved["path"]).with_suffix(".png")
        if png.exists():
            display(Image(filename=str(png), width=640))


def check_record(record: dict[str, Any]) -> bool:
    """What any run can honestly show: the record is complete and its verdict is the rule's, not a wish."""
    assert set(RECORD_KEYS) <= set(record), f"incomplete record: {set(RECORD_KEYS) - set(record)}"
    values = record["summary"]["values"]
    baseline, claimed = values[record["arms"]["baseline"]], values[record["arms"]["claimed"]]
    expected = verdict(baseline, claimed)["verdict"]
    if any(record["summary"]["censored"][record["arms"]["claimed"]]):
        expected = NOT_SEPARABLE
    assert record["summary"]["verdict"] == expected, "the verdict does not follow the rule"
    if len(record["seeds"]) < 2:
        assert expected == NOT_SEPARABLE  # one seed never separates: no spread was measured
    return True


def measured_direction(record: dict[str, Any]) -> str:
    """Which arm came out better (lower) in a run, by mean: its name, or "tie"."""
    summary, arms = record["summary"], record["arms"]
    baseline, claimed = summary[arms["baseline"]]["mean"], summary[arms["claimed"]]["mean"]
    if baseline == claimed:
        return "tie"
    return arms["claimed"] if claimed < baseline else arms["baseline"]


def check_prediction(prediction: Any, record: dict[str, Any] | None) -> bool:
    """Exercise 07.1: the arm you predicted to come out better, against the direction the run measured."""
    if is_stub(prediction) or record is None:
        return not_done("set your prediction to the name of the arm you expect to win, before running.")
    arms = [record["arms"]["baseline"], record["arms"]["claimed"]]
    if prediction not in arms:
        return report(False, "", f"the prediction must be one of the arm names {arms}, got {prediction!r}.")
    measured = measured_direction(record)
    separable = record["summary"]["verdict"] != NOT_SEPARABLE
    caveat = "" if separable else " (but not separable from seed noise at this scale: rerun with more seeds)"
    return report(
        prediction == measured,
        f"the run agrees: {measured} came out better{caveat}.",
        f"the run went the other way{caveat}. Which mechanism did you count on, and does it need more training "
        "to show than this run had?",
    )


def _differing_fields(first: TrainConfig, second: TrainConfig) -> list[str]:
    a, b = first.to_dict(), second.to_dict()
    return [key for key in a if a[key] != b[key]]


def check_ablation(changes: Any) -> bool:
    """Exercise 07.2: an ablation: ``changes`` to the quick CIFAR-10 config that change exactly one setting, and run."""
    from ..train import Trainer

    if is_stub(changes) or changes == {}:
        return not_done('give a dict of one setting and its new value, like {"flip": ...}.')
    if not isinstance(changes, dict):
        return report(False, "", f"give a dict of setting names and values, got {type(changes).__name__}.")
    baseline = load_config("cifar10", "quick")
    try:
        ablation = load_config("cifar10", "quick", **changes)
    except CourseError as error:
        return report(False, "", f"that config cannot be built: {error}")
    differ = _differing_fields(baseline, ablation)
    if len(differ) != 1:
        why = "changes nothing" if not differ else f"changes {len(differ)} settings ({', '.join(differ)})"
        return report(False, "", f"an ablation changes exactly one setting against the baseline; yours {why}.")
    tiny = {"train_subset": 64, "val_subset": 32, "test_subset": 32, "batch_size": 32, "epochs": 1}
    with tempfile.TemporaryDirectory() as folder:
        run = dataclasses.replace(ablation, **tiny, time_budget_s=None, checkpoint_dir=folder, histograms=False)
        history = Trainer(run, read_test=False).fit().history
    return report(
        len(history) == 1,
        f"it changes only {differ[0]} and it trains (a tiny run); `claims` would give it two arms and seeds.",
        "the run did not finish an epoch.",
    )


GAP_IDEAS = {
    "scale": ("scale", "size", "small", "smaller", "subset", "images", "data", "imagenet"),
    "length": ("epoch", "epochs", "iterations", "longer", "shorter", "steps", "converge"),
    "noise": ("seed", "seeds", "noise", "spread", "variance"),
    "resolution": ("resolution", "pixel", "pixels", "67", "32x32", "227"),
    "recipe": ("learning rate", "lr", "schedule", "tuned", "optimizer", "optimiser", "hyperparameter"),
}


def check_gap_explanation(text: Any) -> bool:
    """Exercise 07.3: why our figure differs from the paper's, in your words: it should name at least two causes."""
    if is_stub(text) or not str(text).strip():
        return not_done("write two or three sentences in the string.")
    words = str(text).lower()
    named = [idea for idea, keys in GAP_IDEAS.items() if any(key in words for key in keys)]
    return report(
        len(named) >= 2,
        f"you named {', '.join(named)}: the main reasons a CPU session cannot show a 2012 ImageNet effect.",
        "name at least two differences between our runs and the paper's: think of how much data, how long, "
        "at what resolution, how many repeats, and with whose learning-rate recipe.",
    )


def claim_names() -> list[str]:
    return list(EXPERIMENTS)
