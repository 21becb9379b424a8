"""Notebook 03, training on Fashion-MNIST: its exercise checks (steps per epoch, the confusion matrix)."""

from __future__ import annotations

from typing import Any

import torch

from .checking import check_number, is_stub, not_done, report


def check_steps_per_epoch(answer: Any) -> bool:
    """Exercise 03.1: optimiser steps in one epoch of 60,000 images at batch 128 (the last partial batch is dropped)."""
    return check_number(
        answer,
        60_000 // 128,
        "steps per epoch",
        "divide the number of images by the batch size and round down: a partial batch is not used.",
    )


def check_accuracy_from_confusion(answer: Any, confusion: torch.Tensor) -> bool:
    """Exercise 03.2: top-1 accuracy (a fraction) computed from a confusion matrix."""
    if is_stub(answer):
        return not_done("compute the accuracy from the confusion matrix.")
    expected = (confusion.diagonal().sum() / confusion.sum()).item()
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return report(False, "", f"the accuracy should be a number between 0 and 1, got {answer!r}.")
    return report(
        abs(value - expected) < 1e-6,
        f"top-1 = {expected:.2%}.",
        "correct predictions are on the diagonal (confusion.diagonal()); divide their sum by all predictions.",
    )


def check_most_confused_pair(answer: Any, confusion: torch.Tensor, classes: list[str]) -> bool:
    """Exercise 03.3: the (true class, predicted class) pair with the most mistakes."""
    if is_stub(answer) or (isinstance(answer, tuple) and any(is_stub(a) for a in answer)):
        return not_done('give a pair of class names, like ("Shirt", "T-shirt/top").')
    mistakes = confusion.clone()
    mistakes.fill_diagonal_(0)
    true, predicted = divmod(int(mistakes.argmax()), len(classes))
    expected = (classes[true], classes[predicted])
    return report(
        tuple(answer) == expected,
        f"{expected[0]} is most often taken for {expected[1]} ({int(mistakes.max())} times).",
        "set the diagonal to zero and find the largest entry: its row is the true class, its column the prediction.",
    )
