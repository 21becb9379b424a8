"""Checks of lessons 01, 03 and 04: right answers pass, wrong ones get a hint, stubs are "not done yet", as NotYet."""

import torch

from alexnet_lib.lessons.architecture import (
    buggy_models,
    check_conv1_output_size,
    check_conv2_flops_two_tower,
    check_fc6_parameters,
    check_lrn,
    check_spot_the_bug,
)
from alexnet_lib.lessons.train_cifar10 import check_paper_throughput
from alexnet_lib.lessons.train_fashion_mnist import (
    check_accuracy_from_confusion,
    check_most_confused_pair,
    check_steps_per_epoch,
)

from .conftest import fails


def test_untouched_stubs_are_not_done_yet(capsys):
    def stub(a): ...

    assert fails(check_conv1_output_size, ...)
    assert fails(check_fc6_parameters, ...)
    assert fails(check_conv2_flops_two_tower, ...)
    assert fails(check_lrn, stub)
    assert fails(check_spot_the_bug, {"A": ..., "B": ...})
    assert fails(check_steps_per_epoch, ...)
    assert fails(check_accuracy_from_confusion, ..., torch.eye(3))
    assert fails(check_most_confused_pair, (..., ...), torch.eye(3), ["a", "b", "c"])
    assert fails(check_paper_throughput, ...)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 9 and all(line.startswith("Not done yet") for line in lines)


def test_right_answers_pass(capsys):
    assert check_conv1_output_size(54)
    assert check_fc6_parameters(37_752_832)
    assert check_conv2_flops_two_tower(2 * 27 * 27 * 256 * 48 * 25)
    assert check_spot_the_bug({"A": "relu8", "B": "norm5"})
    assert check_steps_per_epoch(468)
    assert check_paper_throughput(208)

    def my_lrn(a, k=2.0, n=5, alpha=1e-4, beta=0.75):
        squares = torch.nn.functional.pad(a.square(), (0, 0, 0, 0, n // 2, n // 2))
        window = sum(squares[:, i : i + a.shape[1]] for i in range(n))
        return a / (k + alpha * window) ** beta

    assert check_lrn(my_lrn)
    confusion = torch.tensor([[5, 1, 0], [3, 4, 0], [0, 0, 7]])
    assert check_accuracy_from_confusion(16 / 20, confusion)
    assert check_most_confused_pair(("b", "a"), confusion, ["a", "b", "c"])
    assert all(line.startswith("Correct!") for line in capsys.readouterr().out.strip().splitlines())


def test_wrong_answers_get_a_hint(capsys):
    assert fails(check_conv1_output_size, 55)
    assert fails(check_fc6_parameters, 37_748_736)  # forgot the biases
    assert fails(check_lrn, lambda a: torch.nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)(a))
    assert fails(check_lrn, lambda a: 1 / 0)
    assert fails(check_spot_the_bug, {"A": "fc8", "B": "norm5"})
    assert fails(check_most_confused_pair, ("a", "b"), torch.tensor([[5, 1], [3, 4]]), ["a", "b"])
    assert fails(check_paper_throughput, "fast")
    out = capsys.readouterr().out
    assert "divides alpha by n" in out and "ZeroDivisionError" in out
    assert all(line.startswith("Not yet:") for line in out.strip().splitlines())


def test_spot_the_bug_models_really_have_the_bugs():
    models = buggy_models()
    names_a = [name for name, _ in models["A"].named_children()]
    names_b = [name for name, _ in models["B"].named_children()]
    assert names_a[-1] == "relu8" and "norm5" in names_b
    with torch.no_grad():
        assert (models["A"](torch.randn(2, 3, 67, 67)) >= 0).all()  # a ReLU on logits: no negative logit survives
