"""Notebook 01, the architecture: its exercise checks and the models with a bug to spot."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from ..model import LocalResponseNorm, alexnet
from .checking import check_number, is_stub, learner_result, not_done, report


def check_conv1_output_size(answer: Any) -> bool:
    """Exercise 01.1: the side of conv1's output for a 224x224 input (paper net, no padding)."""
    return check_number(
        answer,
        (224 - 11) // 4 + 1,
        "conv1's output side at 224 pixels",
        "use floor((size + 2*padding - kernel) / stride) + 1 with size 224, kernel 11, stride 4, padding 0.",
    )


def check_fc6_parameters(answer: Any) -> bool:
    """Exercise 01.2: fc6's parameter count, weights and biases."""
    return check_number(
        answer,
        256 * 6 * 6 * 4096 + 4096,
        "fc6's parameter count",
        "fc6 maps the 256x6x6 pool5 output to 4096 units: count the weights, then add one bias per unit.",
    )


def check_conv2_flops_two_tower(answer: Any) -> bool:
    """Exercise 01.3: forward FLOPs of conv2 in the two-tower net, one image, multiply-add = 2."""
    return check_number(
        answer,
        2 * 27 * 27 * 256 * (96 // 2) * 5 * 5,
        "conv2's FLOPs in the two-tower net",
        "2 * H_out * W_out * C_out * (C_in / towers) * k * k: each tower's kernels see only 48 input maps.",
    )


def check_lrn(my_lrn: Callable[[torch.Tensor], torch.Tensor]) -> bool:
    """Exercise 01.4: ``my_lrn(a)`` implements §3.3's formula with k=2, n=5, alpha=1e-4, beta=0.75."""
    generator = torch.Generator().manual_seed(0)
    a = torch.rand(2, 12, 5, 5, generator=generator) * 40  # large enough for the sum to matter
    mine = learner_result("my_lrn", my_lrn, a.clone(), todo="write my_lrn so that it returns the normalised tensor.")
    if not isinstance(mine, torch.Tensor) or mine.shape != a.shape:
        return report(False, "", f"my_lrn should return a tensor of shape {tuple(a.shape)}.")
    expected = LocalResponseNorm(12)(a)
    if torch.allclose(mine, nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)(a), rtol=1e-4):
        return report(False, "", "that matches nn.LocalResponseNorm, which divides alpha by n: sum the squares.")
    return report(
        torch.allclose(mine, expected, rtol=1e-4, atol=1e-6),
        "your LRN matches the paper's formula.",
        "b_i = a_i / (k + alpha * sum of a_j^2 over the n channels around i) ** beta; "
        "clip the window at the first and last channel.",
    )


def buggy_models() -> dict[str, nn.Sequential]:
    """Two AlexNets, each with a mistake found in published AlexNet code (notebook 01 cites where)."""
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
    if is_stub(answer) or not isinstance(answer, dict) or any(is_stub(v) for v in answer.values()):
        return not_done('give a dict like {"A": "stage name", "B": "stage name"}.')
    expected = {"A": "relu8", "B": "norm5"}
    wrong = sorted(k for k in expected if answer.get(k) != expected[k])
    hints = {
        "A": "look at the last stage: what does a ReLU do to negative logits before the softmax?",
        "B": "§3.3 puts LRN after the ReLUs of conv1 and conv2 only.",
    }
    return report(not wrong, "relu8 clips the logits; norm5 is not in the paper.", " ".join(hints[k] for k in wrong))
