"""Checks of lessons 03 and 04: right answers pass, wrong ones get a hint, stubs are "not done yet", as NotYet."""

import torch

from alexnet_lib.lessons.train_cifar10 import check_paper_throughput
from alexnet_lib.lessons.train_fashion_mnist import (
    check_accuracy_from_confusion,
    check_most_confused_pair,
    check_steps_per_epoch,
)

from .conftest import fails


def test_untouched_stubs_are_not_done_yet(capsys):
    assert fails(check_steps_per_epoch, ...)
    assert fails(check_accuracy_from_confusion, ..., torch.eye(3))
    assert fails(check_most_confused_pair, (..., ...), torch.eye(3), ["a", "b", "c"])
    assert fails(check_paper_throughput, ...)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4 and all(line.startswith("Not done yet") for line in lines)


def test_right_answers_pass(capsys):
    assert check_steps_per_epoch(468)
    assert check_paper_throughput(208)
    confusion = torch.tensor([[5, 1, 0], [3, 4, 0], [0, 0, 7]])
    assert check_accuracy_from_confusion(16 / 20, confusion)
    assert check_most_confused_pair(("b", "a"), confusion, ["a", "b", "c"])
    assert all(line.startswith("Correct!") for line in capsys.readouterr().out.strip().splitlines())


def test_wrong_answers_get_a_hint(capsys):
    assert fails(check_most_confused_pair, ("a", "b"), torch.tensor([[5, 1], [3, 4]]), ["a", "b"])
    assert fails(check_paper_throughput, "fast")
    out = capsys.readouterr().out
    assert all(line.startswith("Not yet:") for line in out.strip().splitlines())
