"""Notebook 07, the paper's claims tested: the recorded full runs beside the quick ones, and the exercise checks.

The checks judge the learner's answer against oracles computed at check time: section 1's
interval solved for the number of seeds (``seeds_needed``) on pilots the check draws (07.1,
``seed``), the verdict rule of ``claims_report.verdict`` on per-seed values the check draws
itself (07.2, ``seed``), and the course's ``TrainConfig`` and ``Trainer`` (07.3). No expected
value is stored. Exercise 07.4 (the gap between our figures and the paper's) is a written
reflection, graded by no check.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
import statistics
import tempfile
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import claims_report
from ..claims import ELSEWHERE, EXPERIMENTS
from ..claims_report import CONTRADICTED, NOT_SEPARABLE, RECORD_KEYS, REPRODUCED, t_quantile
from ..config import TrainConfig, load_config
from ..env import outputs_dir, project_root
from ..errors import CourseError
from .checking import correct, exercise_rules, learner_result, not_yet, register_hints

HINTS = {
    "07.1": (
        "The interval's half-width shrinks as seeds are added, for two reasons: the standard error falls with "
        "the square root of n, and Student's t falls as the degrees of freedom grow.",
        "Reread section 1: the interval is the mean difference plus and minus Student's t (0.975, n minus 1 degrees "
        "of freedom) times the sd over the square root of n, with the sample sd (m minus 1 in its denominator, over "
        "the pilot's m seeds); the mean and sd come from the pilot, n is the number of seeds you are planning.",
        "Shape of the answer: the pilot's mean and sample sd once; then try 2 seeds, 3, 4 and so on until the lower "
        "end of the interval for n seeds is above zero, and return that n.",
    ),
    "07.2": (
        "Work seed by seed: the two arms of a seed share its data, so look at how much the claimed arm wins on each.",
        "Reread section 1: one difference per seed (the baseline's value minus the claimed arm's), their mean, "
        "their sample standard deviation (n - 1 in the denominator), and Student's t for n - 1 degrees of freedom "
        "(t_quantile gives it), not the normal's 1.96; one seed draws no interval.",
        "Shape of the answer: if there is one seed, not separable; else the mean difference plus and minus t "
        "times the standard error (the sd over the square root of n), then three cases: the whole interval "
        "above zero, the whole interval below zero, or neither.",
    ),
    "07.3": (
        "An ablation changes one ingredient of the method and keeps everything else as it was.",
        "Reread §3 and §4 for the ingredients this notebook has not tested (the other augmentations, the "
        "optimiser's settings, the initialisation of §5), and `python -m alexnet_lib train --help` for names; "
        "configs/cifar10.yaml says which optimiser and schedule the quick profile uses.",
        "Shape of the answer: a dict with one key, a setting's name, and the value it takes in the ablated "
        "arm, different from the quick CIFAR-10 config's, and read by the optimiser and schedule that config uses.",
    ),
}
register_hints(HINTS)

VERDICTS = (REPRODUCED, CONTRADICTED, NOT_SEPARABLE)


def records_folder() -> Path:
    """Where the recorded full runs are: the checkout's ``results/claims/``, else the copy shipped in the package
    (``alexnet_lib/records``, the same JSON files: Colab installs a wheel and has no checkout)."""
    folder = project_root() / "results" / "claims"
    if folder.is_dir():
        return folder
    return Path(str(resources.files("alexnet_lib") / "records"))


def recorded(name: str) -> list[dict[str, Any]]:
    """The full-size records of claim ``name`` (any device), their verdicts re-derived under today's rule.

    A shipped record has no plot beside it (the wheel carries the JSON only): ``show_claim`` draws one.
    """
    folder = records_folder()
    found = sorted(folder.glob(f"{name}-full-*.json")) if folder.is_dir() else []
    return [{**claims_report.rederive(json.loads(path.read_text())), "path": str(path)} for path in found]


def summary_line(record: dict[str, Any]) -> str:
    """One line: where and how big, each arm's mean, the paired interval, the verdict."""
    summary, arms = record["summary"], record["arms"]
    seeds = len(record["seeds"])
    means = ", ".join(f"{arm} {summary[arm]['mean']:.3g}" for arm in (arms["baseline"], arms["claimed"]))
    if summary.get("interval") is None:
        span = ""
    elif summary.get("scale") == "log ratio":
        span = ", ratio interval [" + ", ".join(f"{math.exp(x):.2g}x" for x in summary["interval"]) + "]"
    else:
        span = ", difference interval [" + ", ".join(f"{x:+.3g}" for x in summary["interval"]) + "]"
    extra = f", ratio {summary['ratio']}" if "ratio" in summary else ""
    return f"{record['profile']:5} {record['device']} {seeds} seed(s): {means}{extra}{span} -> {summary['verdict']}"


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
    for source, found in ELSEWHERE.get(record["name"], ()):
        print(f"  elsewhere  {found} [{source}]")
    display(Image(filename=record["plot"], width=640))
    for saved in full:
        png = Path(saved["path"]).with_suffix(".png")
        if not png.exists():  # a shipped record: its plot is drawn from the JSON
            png = claims_report.plot_record(saved, outputs_dir() / "claims-recorded" / png.name)
        display(Image(filename=str(png), width=640))


def check_record(record: dict[str, Any]) -> bool:
    """What any run can honestly show: the record is complete and its verdict is the rule's, not a wish."""
    assert set(RECORD_KEYS) <= set(record), f"incomplete record: {set(RECORD_KEYS) - set(record)}"
    expected = claims_report.rederive(record)["summary"]["verdict"]
    assert record["summary"]["verdict"] == expected, "the verdict does not follow the rule"
    if len(record["seeds"]) < 2:
        assert expected == NOT_SEPARABLE  # one seed never separates: no interval can be drawn
    return True


def measured_direction(record: dict[str, Any]) -> str:
    """Which arm came out better (lower) in a run, by mean: its name, or "tie"."""
    summary, arms = record["summary"], record["arms"]
    baseline, claimed = summary[arms["baseline"]]["mean"], summary[arms["claimed"]]["mean"]
    if baseline == claimed:
        return "tie"
    return arms["claimed"] if claimed < baseline else arms["baseline"]


def seeds_needed(differences: list[float], **wrong: Any) -> int:
    """The smallest number of seeds n >= 2 whose paired 95% t interval would lie above zero, if more seeds
    had the pilot's mean difference and sample sd: the oracle of 07.1 (``wrong``: a learner's slips).

    ``wrong``: ``z`` uses 1.96 for every n, ``pilot_df`` Student's t for the pilot's own m - 1 degrees of
    freedom, ``population`` the sd with n in its denominator, ``last_short`` the largest n that still fails.
    """
    mean = statistics.fmean(differences)
    sd = statistics.pstdev(differences) if wrong.get("population") else statistics.stdev(differences)
    pilot = len(differences)

    def half_width(n: int) -> float:
        t = 1.96 if wrong.get("z") else t_quantile(pilot - 1 if wrong.get("pilot_df") else n - 1)
        return t * sd / math.sqrt(n)

    n = 2
    while half_width(n) >= mean:
        n += 1
    return n - 1 if wrong.get("last_short") else n


def seed_cases(seed: int) -> list[list[float]]:
    """Pilot differences (baseline minus claimed, per seed) that favour the claimed arm: 2 to 6 seeds, effects
    from a tenth of a standard deviation to several, none whose answer sits within 0.3% of the interval's edge."""
    rng = random.Random(seed)
    cases: list[list[float]] = []
    while len(cases) < 24:
        pilot = rng.randint(2, 6)
        shift, spread = rng.uniform(0.2, 3.0), rng.choice((0.5, 1.0, 2.0, 5.0))
        values = [round(shift + spread * rng.gauss(0, 1), 3) for _ in range(pilot)]
        mean, sd = statistics.fmean(values), statistics.stdev(values)
        if not 0.15 * sd < mean or sd == 0:  # the claimed arm ahead, by an effect 300 seeds can show
            continue
        n = seeds_needed(values)
        edges = [t_quantile(k - 1) * sd / math.sqrt(k) / mean for k in (n, n - 1) if k >= 2]
        if all(abs(edge - 1) > 3e-3 for edge in edges):
            cases.append(values)
    return cases


SEED_SLIPS = (
    ({"z"}, "with few seeds the interval is wider than 1.96 standard errors: Student's t for n - 1 degrees of freedom"),
    (
        {"pilot_df"},
        "t belongs to the n seeds you are planning, not to the pilot: t(0.975, n - 1) shrinks as n grows",
    ),
    ({"population"}, "the sample sd divides by m - 1 (the pilot's seeds minus one), as section 1's interval does"),
    ({"last_short"}, "that n still draws an interval that reaches zero: return the first n whose interval does not"),
)


def check_seeds_needed(my_seeds_needed: Callable[[list[float]], Any], seed: int = 0) -> bool:
    """Exercise 07.1: how many seeds a claim needs, from a pilot's per-seed differences (``seeds_needed``)."""
    todo = "return the smallest number of seeds whose interval would lie above zero."
    pilots = seed_cases(seed)
    answers = []
    with exercise_rules(allow=(claims_report.t_quantile,), why="work it out yourself (t_quantile is yours to use)"):
        for pilot in pilots:
            got = learner_result("my_seeds_needed", my_seeds_needed, list(pilot), todo=todo, hint="07.1")
            if isinstance(got, bool) or not isinstance(got, int | np.integer):
                not_yet(f"return a whole number of seeds, got {got!r}.", "07.1")
            answers.append(int(got))
    wrong = [(pilot, got) for pilot, got in zip(pilots, answers, strict=True) if got != seeds_needed(pilot)]
    if wrong:
        pilot, got = wrong[0]
        slip = next(  # a slip that gives every one of the learner's answers, else the formula for this pilot
            (
                why
                for kind, why in SEED_SLIPS
                if answers == [seeds_needed(p, **dict.fromkeys(kind, True)) for p in pilots]
            ),  # noqa: E501
            f"the smallest n with mean - t(0.975, n - 1) x sd / sqrt(n) above zero is {seeds_needed(pilot)}",
        )
        not_yet(f"for the pilot differences {pilot} you say {got} seeds: {slip}.", "07.1")
    return correct("your seed counts agree with section 1's interval on every pilot the check drew.")


def verdict_cases(seed: int) -> list[tuple[str, list[float], list[float]]]:
    """(kind, baseline, claimed) per-seed values, integers as floats.

    The kinds a learner's rule may get wrong: one seed; two seeds that agree (t with one degree of
    freedom is 12.7, not 1.96); arms that move together from seed to seed (pairing cancels it); a
    clear win; a clear loss; then random ones, none within a hair of the interval's edge.
    """
    rng = random.Random(seed)
    cases = []
    for _ in range(3):
        base, step = rng.randint(20, 60), rng.randint(5, 15)
        offsets = [0, 2 * step, step, 3 * step]  # what each seed does to both arms
        wins = [rng.choice((2, 3)) for _ in offsets]
        wins[0], wins[1] = 2, 3
        cases += [
            ("one seed", [float(base)], [float(base - 5 * step)]),
            ("two seeds", [float(base), float(base + step)], [float(base - 3), float(base + step - 2)]),
            ("a clear win", [float(base + i) for i in range(3)], [float(base + i - 6 - i) for i in range(3)]),
            ("a clear loss", [float(base + i) for i in range(3)], [float(base + i + 6 + i) for i in range(3)]),
            ("together", [float(base + o) for o in offsets], [float(base + o - w) for o, w in zip(offsets, wins)]),  # noqa: B905
        ]
    # the named cases first, in this order, so a slip gets its name; then random ones
    named = len(cases)
    while len(cases) < 55:
        seeds, base, shift = rng.randint(2, 6), rng.randint(20, 60), rng.randint(-8, 8)
        common = [rng.randint(0, 10) for _ in range(seeds)]
        baseline = [float(base + c + rng.randint(0, 4)) for c in common]
        claimed = [float(base - shift + c + rng.randint(0, 4)) for c in common]
        low, high = claims_report.verdict(baseline, claimed).get("interval") or (-1.0, 1.0)
        if min(abs(low), abs(high)) > 1e-3:  # on the edge the arithmetic's rounding could decide
            cases.append(("random", baseline, claimed))
    assert len(cases) > named
    return cases


VERDICT_SLIPS = {
    "one seed": "with one seed per arm no interval can be drawn, so the rule says not separable whatever the gap",
    "two seeds": f"with two seeds the interval is t(0.975, 1) = {t_quantile(1):.1f} standard errors wide each way, "
    "not 1.96: Student's t for n - 1 degrees of freedom",
    "together": "here both arms move together from seed to seed and the claimed arm wins on every seed: take the "
    "differences seed by seed (paired), not the arms' own spreads",
    "a clear win": "here the claimed arm's values are lower (better) on every seed: lower is better, and each "
    "difference is the baseline's value minus the claimed arm's",
    "a clear loss": "here the claimed arm's values are higher (worse) on every seed: lower is better, so the "
    "paper's claim is contradicted",
}


def check_verdict(my_verdict: Callable[[list[float], list[float]], Any], seed: int = 0) -> bool:
    """Exercise 07.2: the verdict rule, against ``claims_report.verdict`` on cases drawn from ``seed``."""
    cases = verdict_cases(seed)
    expected = [claims_report.verdict(baseline, claimed)["verdict"] for _, baseline, claimed in cases]
    todo = "return one of the three verdict strings for the two lists of per-seed values."
    with exercise_rules(allow=(claims_report.t_quantile,), why="write the rule yourself (t_quantile is yours to use)"):
        for (kind, baseline, claimed), right in zip(cases, expected, strict=True):
            got = learner_result("my_verdict", my_verdict, list(baseline), list(claimed), todo=todo, hint="07.2")
            if got not in VERDICTS:
                not_yet(f"return one of {list(VERDICTS)}, got {got!r}.", "07.2")
            if got != right:
                slip = VERDICT_SLIPS.get(kind, "the rule gives something else")
                not_yet(f"for baseline {baseline}, claimed {claimed} you say {got!r}: {slip}.", "07.2")
    return correct(f"your rule agrees with the course's on all {len(cases)} cases, edges included.")


# Settings that change how a run goes, not what it computes or learns: both arms of an ablation share them.
RUN_SETTINGS = {  # where and how fast it runs, and what it writes down (config.py's fields)
    *("precision", "channels_last", "compile", "pipeline", "workers", "device"),
    *("log_every", "histograms", "checkpoint_dir", "resume", "data_dir", "profile"),
}
SIZE_SETTINGS = {  # how big the experiment is and which images it holds out: the design, shared by both arms
    *("dataset", "epochs", "time_budget_s", "train_subset", "val_size", "val_seed", "val_subset", "test_subset"),
    "seed",
}
NOT_AN_ABLATION = RUN_SETTINGS | SIZE_SETTINGS
# A setting read only under another setting's value: (that setting, the value, why it is ignored otherwise).
IGNORED_UNLESS = {
    "momentum": ("optimizer", "sgd", "Adam keeps its own running averages (its betas); momentum is SGD's setting"),
    "plateau_patience": ("schedule", "plateau", "only the plateau schedule waits for validation accuracy to stall"),
}
NO_OP_STEPS = 2  # steps of the tiny runs whose weights must differ


def _differing_fields(first: TrainConfig, second: TrainConfig) -> list[str]:
    a, b = first.to_dict(), second.to_dict()
    return [key for key in a if a[key] != b[key]]


def _weights_after_a_few_steps(config: TrainConfig, changed: str, seed: int) -> dict[str, Any]:
    """The model's weights after ``NO_OP_STEPS`` steps of ``config`` on the CPU in fp32, from ``seed``; the
    run settings and the run's size fixed (``changed``, the ablated setting, keeps its value)."""
    from ..train import Trainer

    batch = config.batch_size if changed == "batch_size" else 8
    tiny = {"train_subset": NO_OP_STEPS * batch, "batch_size": batch, "val_subset": 16, "test_subset": 16}
    fixed = {"epochs": 1, "seed": seed, "time_budget_s": None, "device": "cpu", "precision": "fp32"}
    fixed |= {"compile": False, "pipeline": "device", "histograms": False, "resume": None}
    with tempfile.TemporaryDirectory() as folder:
        run = dataclasses.replace(config, **tiny, **fixed, checkpoint_dir=folder)
        with torch.random.fork_rng(devices=[]):  # the notebook's random stream is left as it was
            trainer = Trainer(run, read_test=False, checkpoints=False)
            trainer._train_epoch()  # its steps only: what is learned, without validating or writing a record
        return {name: value.clone() for name, value in trainer.model.state_dict().items()}


def check_ablation(my_ablation: Callable[[], Any], seed: int = 0) -> bool:
    """Exercise 07.3: one more ablation: a change of one method setting of the quick CIFAR-10 config, one this
    notebook does not run already, that changes what is computed or learned.

    Refused by name: run settings (device, precision, compile...) and the experiment's size or
    bookkeeping (epochs, subsets, seed...); a setting the config's optimiser or schedule ignores
    (momentum under Adam, plateau_patience under OneCycle); then, as a no-op, any change after which
    the weights after two steps of a tiny run on the CPU are bitwise those of the baseline, same seed.
    """
    todo = 'return a dict of one setting and its value in the ablated arm, like {"name": value}.'
    changes = learner_result("my_ablation", my_ablation, todo=todo, hint="07.3")
    if not isinstance(changes, dict) or not changes:
        not_yet(f"return a dict of setting names and values, got {changes!r}.", "07.3")
    for name in changes:
        if name in RUN_SETTINGS:
            not_yet(f"{name} changes how the run goes (where, how fast, what it records), not what it learns.", "07.3")
        if name in SIZE_SETTINGS:
            not_yet(f"{name} changes the experiment's size or held-out images, not the method: both share it.", "07.3")
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
    if name in IGNORED_UNLESS:
        needs, value, why = IGNORED_UNLESS[name]
        if getattr(baseline, needs) != value:
            setting = f"{needs} {getattr(baseline, needs)!r}"
            not_yet(f"the quick config has {setting}, which never reads {name}: {why}.", "07.3")
    try:
        before = _weights_after_a_few_steps(baseline, name, seed)
        after = _weights_after_a_few_steps(ablation, name, seed)
    except (CourseError, ValueError, RuntimeError) as error:
        not_yet(f"that setting does not train: {type(error).__name__}: {str(error).splitlines()[0]}", "07.3")
    same = before.keys() == after.keys() and all(
        before[key].shape == after[key].shape and torch.equal(before[key], after[key]) for key in before
    )
    if same:
        not_yet(
            f"with {name} = {getattr(ablation, name)!r} the weights after {NO_OP_STEPS} steps are bitwise those of the "
            "baseline, same seed: it changes nothing that is computed or learned.",
            "07.3",
        )
    return correct(
        f"it changes only {name} ({getattr(baseline, name)!r} -> {getattr(ablation, name)!r}), and the weights "
        f"after {NO_OP_STEPS} steps differ from the baseline's, same seed."
    )


def old_rule(baseline: np.ndarray, claimed: np.ndarray, margin: float = 2.0) -> np.ndarray:
    """The rule before issue 21, on many experiments at once (rows): the difference of the means beyond
    ``margin`` times the larger arm's range. True where it says "reproduced"."""
    spread = np.maximum(np.ptp(baseline, axis=-1), np.ptp(claimed, axis=-1))
    return baseline.mean(axis=-1) - claimed.mean(axis=-1) > margin * spread


def paired_rule(baseline: np.ndarray, claimed: np.ndarray) -> np.ndarray:
    """Today's rule (``claims_report.verdict``) on many experiments at once: True where it says "reproduced"."""
    return claims_report.t_interval(baseline - claimed)[1] > 0


def unpaired_rule(baseline: np.ndarray, claimed: np.ndarray) -> np.ndarray:
    """The same interval without the pairing (a pooled two-sample t): True where it says "reproduced"."""
    n = baseline.shape[-1]
    pooled = np.sqrt((baseline.var(axis=-1, ddof=1) + claimed.var(axis=-1, ddof=1)) / n)
    difference = baseline.mean(axis=-1) - claimed.mean(axis=-1)
    return difference - claims_report.t_quantile(2 * n - 2) * pooled > 0


def simulate(
    rule: Callable[[np.ndarray, np.ndarray], np.ndarray],
    effect: float,
    seeds: int,
    *,
    shared: float = 0.0,
    trials: int = 20_000,
    seed: int = 0,
) -> float:
    """How often ``rule`` says "reproduced" when the claimed arm is truly better by ``effect`` per-seed
    standard deviations (each arm's own noise has sd 1); ``shared``: the sd of a noise both arms of a
    seed share (its data order, its starting weights), which pairing cancels."""
    rng = np.random.default_rng(seed)
    common = shared * rng.standard_normal((trials, seeds))
    baseline = common + rng.standard_normal((trials, seeds)) + effect
    claimed = common + rng.standard_normal((trials, seeds))
    return float(rule(baseline, claimed).mean())


def show_detection_rates(
    effect: float = 1.5, seeds: tuple[int, ...] = (2, 3, 4, 5, 6, 8, 10)
) -> dict[str, list[float]]:
    """Detection rate against seeds for the old rule and today's, on a true effect of ``effect`` sds; a figure."""
    import matplotlib.pyplot as plt

    rules = {"old: difference > 2 x range": old_rule, "paired 95% t interval (today)": paired_rule}
    rates = {name: [simulate(rule, effect, n, trials=5000) for n in seeds] for name, rule in rules.items()}
    rates["today's rule, no effect (false alarms)"] = [simulate(paired_rule, 0.0, n, trials=5000) for n in seeds]
    figure, ax = plt.subplots(figsize=(6, 3.2))
    for (name, values), style in zip(rates.items(), ("o--", "o-", "x:"), strict=True):
        ax.plot(seeds, values, style, label=name)
    ax.axhline(0.8, color="grey", linewidth=0.8)
    ax.set_xlabel("seeds per arm")
    ax.set_ylabel('share of experiments called "reproduced"')
    ax.set_title(f"a true effect of {effect} per-seed standard deviations, 5,000 simulated experiments", fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    plt.show()
    return rates
