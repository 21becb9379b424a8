"""Notebook 04, training on CIFAR-10: its exercise check (the paper's throughput)."""

from __future__ import annotations

from typing import Any

from .checking import is_stub, not_done, report


def check_paper_throughput(answer: Any) -> bool:
    """Exercise 04.1: images/s the paper's two GTX 580s sustained: 90 epochs of 1.2M images in 6 days (§5)."""
    if is_stub(answer):
        return not_done("replace ... with the images per second.")
    expected = 90 * 1.2e6 / (6 * 24 * 3600)
    if isinstance(answer, bool) or not isinstance(answer, (int, float)):
        return report(False, "", f"give a number, got {answer!r}.")
    return report(
        abs(answer - expected) / expected < 0.05,
        f"about {expected:.0f} images/s.",
        "multiply epochs by images per epoch, then divide by the seconds in six days.",
    )
