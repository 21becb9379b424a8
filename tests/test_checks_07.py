"""Lesson 07's exercise checks: the teacher's solutions pass, untouched stubs are "not done yet", typical
mistakes get their diagnosis, the course's own rule is refused, the hints give no code."""

import statistics

import pytest

from alexnet_lib.claims_report import t_quantile, verdict
from alexnet_lib.lessons.claims import (
    HINTS,
    check_ablation,
    check_record,
    check_seeds_needed,
    check_verdict,
    seeds_needed,
)

from .notebook_exercises import defined, exercise_source, outcome, stub, student_source


def assert_diagnosis(check, answer, diagnosis):
    message = outcome(check, answer)
    assert message.startswith("Not") and diagnosis in message, message
    assert "\n" not in message


NOTEBOOK = {"t_quantile": t_quantile}  # what notebook 07's imports give an exercise cell


def teacher(grade_id, name):
    return defined(exercise_source("07_claims", grade_id), name, NOTEBOOK)


def untouched(grade_id, name):
    return defined(student_source(exercise_source("07_claims", grade_id)), name, {})


# 07.1 -------------------------------------------------------------------------------------


def seeds_by(t=t_quantile, ddof=1, last_short=False, pilot_df=False):
    """A learner's my_seeds_needed, with a slip when asked (written here: the course's own code is refused)."""

    def answer(differences):
        m = len(differences)
        mean = statistics.fmean(differences)
        sd = (sum((d - mean) ** 2 for d in differences) / (m - ddof)) ** 0.5
        n = 2
        while t(m - 1 if pilot_df else n - 1) * sd / n**0.5 >= mean:
            n += 1
        return n - 1 if last_short else n

    return answer


def test_seeds_solution_passes_every_seed():
    solution = teacher("ex07_seeds", "my_seeds_needed")
    for seed in (0, 7, 11):
        assert outcome(check_seeds_needed, solution, seed).startswith("Correct!")
    assert outcome(check_seeds_needed, seeds_by()).startswith("Correct!")  # the same, written differently


@pytest.mark.parametrize(
    ("answer", "diagnosis"),
    [
        (stub, "Not done yet"),
        (untouched("ex07_seeds", "my_seeds_needed"), "Not done yet"),
        (seeds_by(t=lambda df: 1.96), "wider than 1.96"),
        (seeds_by(pilot_df=True), "not to the pilot"),
        (seeds_by(ddof=0), "m - 1"),
        (seeds_by(last_short=True), "return the first n"),
        (lambda differences: len(differences), "you say"),  # the pilot's own count
        (lambda differences: 5.0, "whole number"),
        (lambda differences: verdict(differences, [0.0] * len(differences)) and 3, "verdict, the course's own"),
    ],
)
def test_seeds_diagnoses(answer, diagnosis):
    assert_diagnosis(check_seeds_needed, answer, diagnosis)


def test_seeds_oracle_is_the_interval_itself():
    pilot = [0.0213, 0.0063, 0.0054, -0.0033, -0.0017]  # the recorded CPU run of the LRN claim, rounded
    n = seeds_needed(pilot)
    mean, sd = statistics.fmean(pilot), statistics.stdev(pilot)
    assert mean - t_quantile(n - 1) * sd / n**0.5 > 0 >= mean - t_quantile(n - 2) * sd / (n - 1) ** 0.5


# 07.2 -------------------------------------------------------------------------------------


T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571}  # the t table's 97.5% points


def rule(paired=True, student=True, one_seed=True, contradicted=True, sign=1):
    """The verdict rule with a typical slip switched on."""

    def my_verdict(baseline, claimed):
        n = len(baseline)
        if n < 2:  # with the slip: judged by the gap alone
            return "not separable at this scale" if one_seed else "reproduced"
        if paired:
            differences = [sign * (b - c) for b, c in zip(baseline, claimed, strict=True)]
            mean, se = statistics.fmean(differences), statistics.stdev(differences) / n**0.5
        else:
            mean = sign * (statistics.fmean(baseline) - statistics.fmean(claimed))
            se = ((statistics.variance(baseline) + statistics.variance(claimed)) / n) ** 0.5
        t = (T975[n - 1] if paired else T975.get(2 * n - 2, 2.3)) if student else 1.96
        low, high = mean - t * se, mean + t * se
        if low > 0:
            return "reproduced"
        if contradicted and high < 0:
            return "contradicted"
        return "not separable at this scale"

    return my_verdict


@pytest.mark.parametrize("seed", [0, 1, 2, 7])
def test_verdict_solution_passes_every_seed(seed):
    assert outcome(check_verdict, teacher("ex07_verdict", "my_verdict"), seed).startswith("Correct!")


@pytest.mark.parametrize(
    ("answer", "diagnosis"),
    [
        (untouched("ex07_verdict", "my_verdict"), "Not done yet"),
        (rule(student=False), "Student's t"),
        (rule(paired=False), "paired"),
        (rule(one_seed=False), "one seed"),
        (rule(contradicted=False), "contradicted"),
        (rule(sign=-1), "lower is better"),
        (lambda b, c: verdict(b, c)["verdict"], "write the rule yourself"),
        (lambda b, c: {"verdict": "reproduced"}, "return one of"),
    ],
)
def test_verdict_diagnoses(answer, diagnosis):
    assert_diagnosis(check_verdict, answer, diagnosis)


def test_the_library_rule_is_restored_after_a_refusal():
    outcome(check_verdict, lambda b, c: verdict(b, c)["verdict"])
    assert verdict([0.4, 0.42, 0.41], [0.3, 0.31, 0.33])["verdict"] == "reproduced"


# 07.3 -------------------------------------------------------------------------------------


def ablation(changes):
    return lambda: changes


def test_ablation_solution_passes():
    assert outcome(check_ablation, teacher("ex07_ablation", "my_ablation")).startswith("Correct!")


@pytest.mark.parametrize(
    ("answer", "diagnosis"),
    [
        (stub, "Not done yet"),
        (ablation({"flip": False, "crop": 0.875}), "exactly one setting"),
        (ablation({"flip": True, "crop": 1.0}), "changes nothing"),  # the quick config's own values
        (ablation({"activation": "sigmoid"}), "cannot be built"),
        (ablation({"no_such_setting": 1}), "cannot be built"),
        (ablation({"dropout": 0.0}), "dropout experiment"),
        (ablation({"norm": "none"}), "lrn_cifar experiment"),  # norm: what both LRN experiments change
        (ablation({"norm": "batch"}), "lrn_cifar experiment"),
        (ablation({"lrn": False}), "cannot be built"),  # the setting's old name
        (ablation({"epochs": 3}), "not the method"),
        (ablation({"seed": 1}), "not the method"),
        (ablation(["flip", False]), "return a dict"),
        # run settings, refused by name: they change how the run goes, not what it learns
        (ablation({"precision": "fp32"}), "how the run goes"),
        (ablation({"device": "cpu"}), "how the run goes"),
        (ablation({"compile": True}), "how the run goes"),
        (ablation({"workers": 0}), "how the run goes"),
        (ablation({"channels_last": False}), "how the run goes"),
        (ablation({"histograms": False}), "how the run goes"),
        (ablation({"checkpoint_dir": "/tmp/x"}), "how the run goes"),
        # settings the quick config's optimiser (Adam) and schedule (OneCycle) never read
        (ablation({"momentum": 0.5}), "optimizer 'adam', which never reads momentum"),
        (ablation({"plateau_patience": 7}), "schedule 'onecycle', which never reads plateau_patience"),
        # a different config that computes the same: CIFAR-10 has 3 channels already (None -> 3)
        (ablation({"in_channels": 3}), "bitwise those of the baseline"),
    ],
)
def test_ablation_diagnoses(answer, diagnosis):
    assert_diagnosis(check_ablation, answer, diagnosis)


# the notebook's own checks and the hints -----------------------------------------------------


def test_record_check_recomputes_the_verdict():
    summary = verdict([0.40, 0.50], [0.38, 0.45])
    summary |= {"values": {"a": [0.40, 0.50], "b": [0.38, 0.45]}, "censored": {"a": [False] * 2, "b": [False] * 2}}
    record = {key: {} for key in ("claim", "device", "versions", "settings", "curves")}
    record |= {
        "name": "lrn_cifar",
        "profile": "full",
        "arms": {"baseline": "a", "claimed": "b"},
        "seeds": [0, 1],
        "summary": summary,
    }
    assert check_record(record)
    record["summary"]["verdict"] = "reproduced"
    with pytest.raises(AssertionError, match="does not follow the rule"):
        check_record(record)


def test_the_hints_do_not_give_the_answers_away():  # the rest of the convention: tests/test_hints.py
    for steps in HINTS.values():
        assert not any("dropout 0.5" in step or "flip" in step for step in steps), steps
