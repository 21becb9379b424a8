"""Exercise checks for the notebooks: right, a hint, or "not done yet".

Every check prints one line and returns True or False. It never raises: an untouched stub
(``...`` or a function that returns None) gets a gentle "not done yet", so a notebook with
open exercises still runs top to bottom in CI. The answers are tested in ``tests/test_checks.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from .model import LocalResponseNorm, alexnet


def _is_stub(answer: Any) -> bool:
    return answer is ... or answer is None


def _report(ok: bool, success: str, hint: str) -> bool:
    print(("Correct! " + success) if ok else ("Not yet: " + hint))
    return ok


def _not_done(what: str) -> bool:
    print(f"Not done yet: {what}")
    return False


def _check_number(answer: Any, expected: int, what: str, hint: str) -> bool:
    if _is_stub(answer):
        return _not_done(f"replace ... with {what}.")
    if isinstance(answer, bool) or not isinstance(answer, (int, float)):
        return _report(False, "", f"{what} should be a number, got {answer!r}.")
    return _report(answer == expected, f"{what} = {expected:,}.", hint)


# Lesson 01: architecture ---------------------------------------------------------------


def check_conv1_output_size(answer: Any) -> bool:
    """Exercise 01.1: the side of conv1's output for a 224x224 input (paper net, no padding)."""
    return _check_number(
        answer,
        (224 - 11) // 4 + 1,
        "conv1's output side at 224 pixels",
        "use floor((size + 2*padding - kernel) / stride) + 1 with size 224, kernel 11, stride 4, padding 0.",
    )


def check_fc6_parameters(answer: Any) -> bool:
    """Exercise 01.2: fc6's parameter count, weights and biases."""
    return _check_number(
        answer,
        256 * 6 * 6 * 4096 + 4096,
        "fc6's parameter count",
        "fc6 maps the 256x6x6 pool5 output to 4096 units: count the weights, then add one bias per unit.",
    )


def check_conv2_flops_two_tower(answer: Any) -> bool:
    """Exercise 01.3: forward FLOPs of conv2 in the two-tower net, one image, multiply-add = 2."""
    return _check_number(
        answer,
        2 * 27 * 27 * 256 * (96 // 2) * 5 * 5,
        "conv2's FLOPs in the two-tower net",
        "2 * H_out * W_out * C_out * (C_in / towers) * k * k: each tower's kernels see only 48 input maps.",
    )


def check_lrn(my_lrn: Callable[[torch.Tensor], torch.Tensor]) -> bool:
    """Exercise 01.4: ``my_lrn(a)`` implements §3.3's formula with k=2, n=5, alpha=1e-4, beta=0.75."""
    generator = torch.Generator().manual_seed(0)
    a = torch.rand(2, 12, 5, 5, generator=generator) * 40  # large enough for the sum to matter
    try:
        mine = my_lrn(a.clone())
    except Exception as error:  # a learner's code may raise anything; show it as a hint
        return _report(False, "", f"my_lrn raised {type(error).__name__}: {error}")
    if _is_stub(mine):
        return _not_done("write my_lrn so that it returns the normalised tensor.")
    if not isinstance(mine, torch.Tensor) or mine.shape != a.shape:
        return _report(False, "", f"my_lrn should return a tensor of shape {tuple(a.shape)}.")
    expected = LocalResponseNorm(12)(a)
    if torch.allclose(mine, nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)(a), rtol=1e-4):
        return _report(False, "", "that matches nn.LocalResponseNorm, which divides alpha by n: sum the squares.")
    return _report(
        torch.allclose(mine, expected, rtol=1e-4, atol=1e-6),
        "your LRN matches the paper's formula.",
        "b_i = a_i / (k + alpha * sum of a_j^2 over the n channels around i) ** beta; "
        "clip the window at the first and last channel.",
    )


def buggy_models() -> dict[str, nn.Sequential]:
    """Two AlexNets, each with one of the mistakes most often seen in public AlexNet code."""
    relu_on_logits = alexnet("paper", num_classes=10)
    relu_on_logits.add_module("relu8", nn.ReLU())
    lrn_after_conv5 = alexnet("paper", num_classes=10)
    layers = list(lrn_after_conv5.named_children())
    at = [name for name, _ in layers].index("relu5") + 1
    layers.insert(at, ("norm5", LocalResponseNorm(256)))
    rebuilt = nn.Sequential()
    for name, layer in layers:
        rebuilt.add_module(name, layer)
    return {"A": relu_on_logits, "B": rebuilt}


def check_spot_the_bug(answer: Any) -> bool:
    """Exercise 01.5: the name of the stage that should not be there, for models A and B."""
    if _is_stub(answer) or not isinstance(answer, dict) or any(_is_stub(v) for v in answer.values()):
        return _not_done('give a dict like {"A": "stage name", "B": "stage name"}.')
    expected = {"A": "relu8", "B": "norm5"}
    wrong = sorted(k for k in expected if answer.get(k) != expected[k])
    hints = {
        "A": "look at the last stage: what does a ReLU do to negative logits before the softmax?",
        "B": "§3.3 puts LRN after the ReLUs of conv1 and conv2 only.",
    }
    return _report(not wrong, "relu8 clips the logits; norm5 is not in the paper.", " ".join(hints[k] for k in wrong))


# Lessons 03 and 04: training ---------------------------------------------------------------


def check_steps_per_epoch(answer: Any) -> bool:
    """Exercise 03.1: optimiser steps in one epoch of 60,000 images at batch 128 (the last partial batch is dropped)."""
    return _check_number(
        answer,
        60_000 // 128,
        "steps per epoch",
        "divide the number of images by the batch size and round down: a partial batch is not used.",
    )


def check_accuracy_from_confusion(answer: Any, confusion: torch.Tensor) -> bool:
    """Exercise 03.2: top-1 accuracy (a fraction) computed from a confusion matrix."""
    if _is_stub(answer):
        return _not_done("compute the accuracy from the confusion matrix.")
    expected = (confusion.diagonal().sum() / confusion.sum()).item()
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return _report(False, "", f"the accuracy should be a number between 0 and 1, got {answer!r}.")
    return _report(
        abs(value - expected) < 1e-6,
        f"top-1 = {expected:.2%}.",
        "correct predictions are on the diagonal (confusion.diagonal()); divide their sum by all predictions.",
    )


def check_most_confused_pair(answer: Any, confusion: torch.Tensor, classes: list[str]) -> bool:
    """Exercise 03.3: the (true class, predicted class) pair with the most mistakes."""
    if _is_stub(answer) or (isinstance(answer, tuple) and any(_is_stub(a) for a in answer)):
        return _not_done('give a pair of class names, like ("Shirt", "T-shirt/top").')
    mistakes = confusion.clone()
    mistakes.fill_diagonal_(0)
    true, predicted = divmod(int(mistakes.argmax()), len(classes))
    expected = (classes[true], classes[predicted])
    return _report(
        tuple(answer) == expected,
        f"{expected[0]} is most often taken for {expected[1]} ({int(mistakes.max())} times).",
        "set the diagonal to zero and find the largest entry: its row is the true class, its column the prediction.",
    )


def check_paper_throughput(answer: Any) -> bool:
    """Exercise 04.1: images/s the paper's two GTX 580s sustained: 90 epochs of 1.2M images in 6 days (§5)."""
    if _is_stub(answer):
        return _not_done("replace ... with the images per second.")
    expected = 90 * 1.2e6 / (6 * 24 * 3600)
    if isinstance(answer, bool) or not isinstance(answer, (int, float)):
        return _report(False, "", f"give a number, got {answer!r}.")
    return _report(
        abs(answer - expected) / expected < 0.05,
        f"about {expected:.0f} images/s.",
        "multiply epochs by images per epoch, then divide by the seconds in six days.",
    )
