"""Lesson 08's exercise checks: the teacher's solutions pass, untouched stubs are "not done yet", typical
mistakes get their one-line diagnosis, the course's own builders are refused, the hints give no code."""

import pytest
from torch import nn

from alexnet_lib.lessons.after_alexnet_checks import (
    HINTS,
    check_conv_bn,
    check_gap_savings,
    class_counts,
    conv_bn_block,
    gap_savings,
)

from .notebook_exercises import defined, exercise_source, outcome, stub, student_source

NOTEBOOK = {"nn": nn}  # what notebook 08's imports give an exercise cell


def teacher(grade_id, name):
    return defined(exercise_source("08_after_alexnet", grade_id), name, NOTEBOOK)


def untouched(grade_id, name):
    return defined(student_source(exercise_source("08_after_alexnet", grade_id)), name, {})


def assert_diagnosis(check, answer, diagnosis):
    message = outcome(check, answer)
    assert message.startswith("Not") and diagnosis in message, message
    assert "\n" not in message


# 08.1 -------------------------------------------------------------------------------------


def block(bias=False, order=("conv", "bn", "relu"), norm=nn.BatchNorm2d, **norm_options):
    """A learner's my_conv_bn, with a slip when asked."""

    def my_conv_bn(in_channels, out_channels, kernel_size, stride, padding):
        layers = {
            "conv": nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=bias),
            "bn": norm(out_channels, **norm_options),
            "relu": nn.ReLU(),
        }
        return nn.Sequential(*(layers[name] for name in order))

    return my_conv_bn


class Written(nn.Module):
    """The same block as a class of its own: any nn.Module that computes it passes."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias=False)
        self.norm = nn.BatchNorm2d(out_channels)

    def forward(self, x):
        return self.norm(self.conv(x)).relu()


@pytest.mark.parametrize("seed", [0, 7])
def test_conv_bn_solution_passes(seed):
    assert outcome(check_conv_bn, teacher("ex08_conv_bn", "my_conv_bn"), seed).startswith("Correct!")


def test_conv_bn_written_another_way_passes():
    assert outcome(check_conv_bn, block()).startswith("Correct!")
    assert outcome(check_conv_bn, Written).startswith("Correct!")


@pytest.mark.parametrize(
    ("answer", "diagnosis"),
    [
        (stub, "Not done yet"),
        (untouched("ex08_conv_bn", "my_conv_bn"), "Not done yet"),
        (block(bias=True), "needs no bias"),
        (block(order=("conv", "relu", "bn")), "the ReLU comes last"),
        (block(order=("conv", "bn")), "ends with the non-linearity"),
        (block(norm=nn.BatchNorm1d), "use nn.BatchNorm2d"),
        (block(momentum=0.5), "running statistics differ"),
        (block(affine=False), "scale and shift"),
        (block(track_running_stats=False), "running statistics"),
        (lambda i, o, k, s, p: nn.Sequential(nn.Conv2d(i, o, k, bias=False), nn.BatchNorm2d(o), nn.ReLU()), "stride"),
        (lambda i, o, k, s, p: nn.Sequential(nn.BatchNorm2d(i), nn.ReLU()), "one nn.Conv2d"),
        (lambda i, o, k, s, p: nn.Conv2d(i, o, k, s, p, bias=False), "no nn.BatchNorm2d"),
        (lambda i, o, k, s, p: [nn.Conv2d(i, o, k, s, p, bias=False), nn.BatchNorm2d(o), nn.ReLU()], "nn.Module"),
        (lambda i, o, k, s, p: nn.Sequential(block()(i, o, k, s, p), nn.Conv2d(o, o, 1)), "one nn.Conv2d"),
        (lambda i, o, k, s, p: conv_bn_block(i, o, k, s, p), "the course's own code"),
    ],
)
def test_conv_bn_diagnoses(answer, diagnosis):
    assert_diagnosis(check_conv_bn, answer, diagnosis)


# 08.2 -------------------------------------------------------------------------------------


CONV = 3 * 96 * 121 + 96 + 96 * 256 * 25 + 256 + 256 * 384 * 9 + 384 + 384 * 384 * 9 + 384 + 384 * 256 * 9 + 256


def savings(head_bias=True, head_inputs=256, fc8_goes=True, keep_head=True, denominator="paper", percent=False):
    """A learner's my_gap_savings, with a slip when asked."""

    def my_gap_savings(n):
        fc6, fc7, fc8 = 9216 * 4096 + 4096, 4096 * 4096 + 4096, 4096 * n + n
        head = head_inputs * n + (n if head_bias else 0)
        removed = fc6 + fc7 + (fc8 if fc8_goes else 0) - (head if keep_head else 0)
        total = {"paper": CONV + fc6 + fc7 + fc8, "head": fc6 + fc7 + fc8, "gap": CONV + 257 * n}[denominator]
        return head, removed / total * (100 if percent else 1)

    return my_gap_savings


def test_the_oracle_is_the_models_count():
    head, share = gap_savings(1000)
    assert head == 257_000 and share == pytest.approx((62_378_344 - 4_004_200) / 62_378_344, abs=1e-12)
    assert class_counts(7)[:2] == [1000, 10] and class_counts(7) != class_counts(0)


@pytest.mark.parametrize("seed", [0, 7])
def test_gap_savings_solution_passes(seed):
    assert outcome(check_gap_savings, teacher("ex08_gap_savings", "my_gap_savings"), seed).startswith("Correct!")
    assert outcome(check_gap_savings, savings(), seed).startswith("Correct!")


@pytest.mark.parametrize(
    ("answer", "diagnosis"),
    [
        (stub, "Not done yet"),
        (untouched("ex08_gap_savings", "my_gap_savings"), "Not done yet"),
        (savings(head_bias=False), "also has a bias"),
        (savings(head_inputs=9216), "the layer sees 256 inputs"),
        (savings(head_inputs=4096), "that is fc8's count"),
        (savings(percent=True), "not a percentage"),
        (savings(denominator="head"), "share of the old head's parameters"),
        (savings(denominator="gap"), "not the GAP net's"),
        (savings(fc8_goes=False, keep_head=False), "fc8 goes too"),
        (savings(keep_head=False), "own parameters stay"),
        (lambda n: 257 * n, "return a pair"),
        (lambda n: (257.0 * n, 0.9), "whole number"),
        (lambda n: (257 * n, "94%"), "a number between 0 and 1"),
        (lambda n: (257 * n, 0.5), "you say a share of 0.5"),
        (lambda n: gap_savings(n), "the course's own code"),
    ],
)
def test_gap_savings_diagnoses(answer, diagnosis):
    assert_diagnosis(check_gap_savings, answer, diagnosis)


def test_the_hints_do_not_give_the_answers_away():  # the rest of the convention: tests/test_hints.py
    for steps in HINTS.values():
        assert not any("bias=False" in step or "257" in step or "9216" in step for step in steps), steps
