"""Notebook 05, filters and features: its exercise checks."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from typing import Any

import torch
from torch import nn

from ..features import capture_activations, conv1_edge_responses, count_hooks, nearest_neighbours
from ..model import alexnet
from .checking import exercise, is_stub, learner_result, not_done, report


def check_vertical_edge_filter(answer: Any, model: nn.Module, edge: torch.Tensor) -> bool:
    """Exercise 05.1: the conv1 filter with the strongest response (max over positions) to the edge image ``edge``."""
    if is_stub(answer):
        return not_done("replace ... with the number of the filter.")
    responses = conv1_edge_responses(model, edge)
    if isinstance(answer, torch.Tensor) and answer.numel() == 1:
        answer = answer.item()
    if isinstance(answer, bool) or not isinstance(answer, int) or not 0 <= answer < len(responses):
        return report(False, "", f"give a filter number from 0 to {len(responses) - 1}, got {answer!r}.")
    best = int(responses.argmax())
    # Within 2% of the best also counts: computing it after relu1 or norm1 may swap near-ties.
    return report(
        answer == best or responses[answer] >= 0.98 * responses[best],
        f"filter {best} responds most ({responses[best]:.2f}); look at it in the grid: a light and a dark side.",
        "run model.conv1 on the edge image, take each channel's largest value over positions "
        "(.amax over the last two dimensions), then the argmax over channels.",
    )


class _FailsHere(nn.Module):
    """A stage that raises: to see whether a hook survives a failed forward pass."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("this stage fails on purpose")


@exercise
def check_conv3_hook(capture_conv3: Callable[[nn.Module, torch.Tensor], torch.Tensor]) -> bool:
    """Exercise 05.2: ``capture_conv3(model, images)`` returns conv3's output, via a forward hook it removes."""
    torch.manual_seed(0)
    model = alexnet("paper", num_classes=10, in_channels=1).eval()
    images = torch.randn(2, 1, 67, 67)
    mine = learner_result(
        "capture_conv3", capture_conv3, model, images, todo="write capture_conv3 so that it returns conv3's output."
    )
    if count_hooks(model):
        return report(
            False, "", "a hook was left on the model: keep register_forward_hook's handle and call .remove()."
        )
    with torch.no_grad(), capture_activations(model, ["conv3", "relu3"]) as expected:
        model(images)
    if not isinstance(mine, torch.Tensor) or mine.shape != expected["conv3"].shape:
        shape = tuple(mine.shape) if isinstance(mine, torch.Tensor) else type(mine).__name__
        return report(False, "", f"conv3's output has shape {tuple(expected['conv3'].shape)}; got {shape}.")
    if torch.allclose(mine, expected["relu3"]) and not torch.allclose(mine, expected["conv3"]):
        return report(False, "", "that is relu3's output; hook model.conv3 itself (its ReLU is a separate stage).")
    if not torch.allclose(mine, expected["conv3"], atol=1e-5):
        return report(False, "", "the values differ from conv3's output: store the hook's `output` argument.")
    model.conv5 = _FailsHere()  # now a forward pass fails after conv3: is the hook still removed?
    with suppress(Exception):  # the failure is the point; the learner's function may pass it on
        capture_conv3(model, images)
    return report(
        count_hooks(model) == 0,
        "your hook captures conv3 and is gone afterwards, even when the forward pass fails.",
        "when the forward pass raises, your hook stays on the model: remove it in a `finally:` block.",
    )


@exercise
def check_nearest(my_nearest: Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]) -> bool:
    """Exercise 05.3: ``my_nearest(queries, database, k)``: Q x k indices of the nearest rows by Euclidean distance."""
    generator = torch.Generator().manual_seed(0)
    database = torch.randn(300, 32, generator=generator)
    queries = torch.randn(6, 32, generator=generator)
    mine = learner_result(
        "my_nearest",
        my_nearest,
        queries,
        database,
        5,
        todo="write my_nearest so that it returns the indices of the k nearest rows.",
    )
    if not isinstance(mine, torch.Tensor) or mine.shape != (6, 5):
        shape = tuple(mine.shape) if isinstance(mine, torch.Tensor) else type(mine).__name__
        return report(False, "", f"return a (queries x k) tensor of indices, here (6, 5); got {shape}.")
    expected = nearest_neighbours(queries, database, 5).indices
    farthest = torch.cdist(queries, database).topk(5, dim=1).indices
    if torch.equal(mine.long(), expected):
        return report(True, "exact nearest neighbours, nearest first.", "")
    if torch.equal(mine.long(), farthest):
        return report(False, "", "those are the farthest rows: take the smallest distances (largest=False).")
    if torch.equal(mine.long().sort(1).values, expected.sort(1).values):
        return report(False, "", "the right rows, in the wrong order: put the nearest first.")
    return report(
        False, "", "compute every distance (torch.cdist(queries, database)), then .topk(k, largest=False).indices."
    )
