"""Notebook 07, the paper's claims tested: the recorded full runs beside the quick ones, and the exercise checks.

The checks judge the learner's answer against oracles computed at check time: the paper's own
direction and the quick profile's seed count from ``claims.EXPERIMENTS`` (07.1), the verdict rule
of ``claims_report.verdict`` on per-seed values the check draws itself (07.2, ``seed``), and the
course's ``TrainConfig`` and ``Trainer`` (07.3). No expected value is stored. Exercise 07.4 (the
gap between our figures and the paper's) is a written reflection, graded by no check.
"""

from __future__ import annotations

import dataclasses
import json
import random
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import claims_report
from ..claims import EXPERIMENTS
from ..claims_report import CONTRADICTED, MARGIN, NOT_SEPARABLE, RECORD_KEYS, REPRODUCED
from ..config import TrainConfig, load_config
from ..env import project_root
from ..errors import CourseError
from .checking import correct, learner_result, not_yet, refusing, register_hints

HINTS = {
    "07.1": (
        "Two predictions: which arm the paper's mechanism favours, and what the rule can say about one run.",
        "Reread §4.2 (co-adaptation, 'substantial overfitting') and section 1 of this lesson: how many seeds "
        "does the quick size run (EXPERIMENTS['dropout'].profiles['quick']), and what does the rule say then?",
        "Shape of the answer: return a pair, the name of one of the two arms (spelled as in the experiment) "
        "and one of the three verdict strings.",
    ),
    "07.2": (
        "Compare the gap between the arms' means with how far each arm's own seeds disagree.",
        "Reread section 1: lower is better, the difference is the baseline's mean minus the claimed arm's, the "
        "spread is the larger of the two ranges, and the difference must be more than twice the spread, "
        "strictly; one seed measures no spread.",
        "Shape of the answer: if either list has one value, not separable; else the two means, the two ranges "
        "and the larger range, then three cases: the claimed arm clearly better, clearly worse, or neither.",
    ),
    "07.3": (
        "An ablation changes one ingredient of the method and keeps everything else as it was.",
        "Reread §3 and §4 for the ingredients this notebook has not tested (the other augmentations, the "
        "optimiser's settings, the initialisation of §5), and `python -m alexnet_lib train --help` for names.",
        "Shape of the answer: a dict with one key, a setting's name, and the value it takes in the ablated "
        "arm, different from the quick CIFAR-10 config's.",
    ),
}
register_hints(HINTS)

VERDICTS = (REPRODUCED, CONTRADICTED, NOT_SEPARABLE)


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
    expected = claims_report.verdict(baseline, claimed)["verdict"]
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


def check_prediction(my_prediction: Callable[[], Any], claim: str = "dropout") -> bool:
    """Exercise 07.1: before the run, the arm you expect to win and the verdict the quick run can reach.

    The oracle: the experiment's claimed arm (the paper's direction) and the rule applied to the
    quick profile's number of seeds. What the run measures is shown after it, not graded: one quick
    run's direction is as much seed noise as signal.
    """
    todo = 'return a pair: the arm you expect to win and the verdict, ("arm name", "verdict").'
    answer = learner_result("my_prediction", my_prediction, todo=todo, hint="07.1")
    exp = EXPERIMENTS[claim]
    arms = [exp.baseline[0], exp.claimed[0]]
    if not (isinstance(answer, tuple | list) and len(answer) == 2):
        not_yet(f"return a pair (arm, verdict), got {answer!r}.", "07.1")
    arm, said = answer
    if arm not in arms:
        not_yet(f"the arm must be one of {arms}, spelled as there; got {arm!r}.", "07.1")
    if said not in VERDICTS:
        not_yet(f"the verdict must be one of {list(VERDICTS)}; got {said!r}.", "07.1")
    if arm != exp.claimed[0]:
        not_yet(
            f"{exp.section} argues for the other arm: without dropout units come to rely on particular others "
            "(co-adaptation), and the net fits its training images far better than new ones.",
            "07.1",
        )
    seeds = exp.profiles["quick"]["seeds"]
    if seeds >= 2:  # the rule could go either way: only the direction is graded
        return correct(f"{arm}, by {exp.section}'s mechanism; the run below decides the verdict.")
    expected = claims_report.verdict([0.0] * seeds, [0.0] * seeds)["verdict"]
    if said != expected:
        not_yet(f"the quick size runs {seeds} seed per arm: what can the rule say without a spread?", "07.1")
    return correct(f"{arm}, by {exp.section}'s mechanism; and {seeds} seed can only give {expected!r}.")


def verdict_cases(seed: int) -> list[tuple[str, list[float], list[float]]]:
    """(kind, baseline, claimed) on integer epochs-to-target values, exact in floating point.

    The kinds a learner's rule may get wrong: one seed, a difference of 1.5 spreads (more than one,
    not clearly), exactly two spreads (not strictly more), a clear win, a clear loss; then random ones.
    """
    rng = random.Random(seed)
    cases = []
    for _ in range(3):
        base, step = rng.randint(20, 60), rng.choice((2, 4, 6))  # step: the spread
        pair = [float(base), float(base + step)]

        def shifted(by: float, pair: list[float] = pair) -> list[float]:
            return [value - by for value in pair]

        cases += [
            ("one seed", [float(base)], [float(base - 5 * step)]),
            ("1.5 spreads", pair, shifted(1.5 * step)),
            ("2 spreads", pair, shifted(MARGIN * step)),
            ("a clear win", pair, shifted(3 * step)),
            ("a clear loss", pair, shifted(-3 * step)),
        ]
    while len(cases) < 55:
        seeds, base, shift = rng.randint(2, 5), rng.randint(20, 60), rng.randint(-16, 16)
        baseline = [float(base + rng.randint(0, 4)) for _ in range(seeds)]
        claimed = [float(base - shift + rng.randint(0, 4)) for _ in range(seeds)]
        gap = abs(sum(baseline) / seeds - sum(claimed) / seeds)
        spread = max(max(baseline) - min(baseline), max(claimed) - min(claimed))
        if abs(gap - MARGIN * spread) > 1e-6:  # on the edge a mean's rounding could decide: the edge cases test it
            cases.append(("random", baseline, claimed))
    rng.shuffle(cases)
    return cases


VERDICT_SLIPS = {
    "one seed": "with one seed per arm no spread is measured, so the rule says not separable whatever the gap",
    "1.5 spreads": "here the difference is 1.5 times the spread: more than the seeds' spread, but not clearly; "
    f"the rule asks for more than {MARGIN} times it",
    "2 spreads": f"here the difference is exactly {MARGIN} times the spread: the rule asks for strictly more",
    "a clear win": "here the claimed arm's values are lower (better) by 3 spreads: lower is better, and the "
    "difference is the baseline's mean minus the claimed arm's",
    "a clear loss": "here the claimed arm's values are higher (worse) by 3 spreads: lower is better, so the "
    "paper's claim is contradicted",
}


def check_verdict(my_verdict: Callable[[list[float], list[float]], Any], seed: int = 0) -> bool:
    """Exercise 07.2: the verdict rule, against ``claims_report.verdict`` on cases drawn from ``seed``."""
    cases = verdict_cases(seed)
    expected = [claims_report.verdict(baseline, claimed)["verdict"] for _, baseline, claimed in cases]
    todo = "return one of the three verdict strings for the two lists of per-seed values."
    with refusing(my_verdict, claims_report.verdict, why="write the rule yourself"):
        for (kind, baseline, claimed), right in zip(cases, expected, strict=True):
            got = learner_result("my_verdict", my_verdict, list(baseline), list(claimed), todo=todo, hint="07.2")
            if got not in VERDICTS:
                not_yet(f"return one of {list(VERDICTS)}, got {got!r}.", "07.2")
            if got != right:
                slip = VERDICT_SLIPS.get(kind, "the rule gives something else")
                not_yet(f"for baseline {baseline}, claimed {claimed} you say {got!r}: {slip}.", "07.2")
    return correct(f"your rule agrees with the course's on all {len(cases)} cases, edges included.")


NOT_AN_ABLATION = {  # settings that change the experiment's size, bookkeeping or speed, not the method
    *("dataset", "epochs", "time_budget_s", "train_subset", "val_size", "val_seed", "val_subset", "test_subset"),
    *("channels_last", "compile", "pipeline", "workers", "device", "seed", "log_every", "histograms"),
    *("checkpoint_dir", "resume", "data_dir", "profile"),
}


def _differing_fields(first: TrainConfig, second: TrainConfig) -> list[str]:
    a, b = first.to_dict(), second.to_dict()
    return [key for key in a if a[key] != b[key]]


def check_ablation(my_ablation: Callable[[], Any], seed: int = 0) -> bool:
    """Exercise 07.3: one more ablation, a change of one method setting of the quick CIFAR-10 config, and
    one this notebook does not run already; it must train (a tiny run on ``seed``)."""
    from ..train import Trainer

    todo = 'return a dict of one setting and its value in the ablated arm, like {"name": value}.'
    changes = learner_result("my_ablation", my_ablation, todo=todo, hint="07.3")
    if not isinstance(changes, dict) or not changes:
        not_yet(f"return a dict of setting names and values, got {changes!r}.", "07.3")
    baseline = load_config("cifar10", "quick")
    try:
        ablation = load_config("cifar10", "quick", **changes)
    except CourseError as error:
        not_yet(f"that config cannot be built: {error}", "07.3")
    differ = _differing_fields(baseline, ablation)
    if len(differ) != 1:
        why = "changes nothing" if not differ else f"changes {len(differ)} settings ({', '.join(differ)})"
        not_yet(f"an ablation changes exactly one setting against the quick config; yours {why}.", "07.3")
    (name,) = differ
    tested = [e.name for e in EXPERIMENTS.values() if name in e.baseline[1] or name in e.claimed[1]]
    if tested:
        not_yet(f"{name} is what the {tested[0]} experiment of this notebook changes: design another.", "07.3")
    if name in NOT_AN_ABLATION:
        not_yet(f"{name} changes the run's size, bookkeeping or speed, not the method: both arms share it.", "07.3")
    tiny = {"train_subset": 64, "val_subset": 32, "test_subset": 32, "batch_size": 32, "epochs": 1, "seed": seed}
    with tempfile.TemporaryDirectory() as folder:
        run = dataclasses.replace(ablation, **tiny, time_budget_s=None, checkpoint_dir=folder, histograms=False)
        try:
            history = Trainer(run, read_test=False, checkpoints=False).fit().history
        except (CourseError, ValueError, RuntimeError) as error:
            not_yet(f"that setting does not train: {type(error).__name__}: {str(error).splitlines()[0]}", "07.3")
    if len(history) != 1:
        not_yet("the tiny run did not finish its epoch.", "07.3")
    return correct(f"it changes only {name} ({getattr(baseline, name)!r} -> {getattr(ablation, name)!r}) and trains.")
