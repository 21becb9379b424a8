"""Notebook 06, inference: its exercise checks (flattening on white, the ten crops, confident accuracy)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from PIL import Image

from ..images import to_mode
from .checking import exercise, is_stub, learner_result, not_done, report


@exercise
def check_flatten_on_white(my_flatten: Callable[[torch.Tensor], torch.Tensor]) -> bool:
    """Exercise 06.1: ``my_flatten(rgba)``: an H x W x 4 uint8 RGBA tensor as H x W x 3 RGB on white."""
    generator = torch.Generator().manual_seed(0)
    rgba = torch.randint(0, 256, (6, 7, 4), dtype=torch.uint8, generator=generator)
    rgba[0, :, 3], rgba[1, :, 3] = 0, 255  # a transparent row, an opaque row
    mine = learner_result(
        "my_flatten", my_flatten, rgba.clone(), todo="write my_flatten so that it returns the H x W x 3 image."
    )
    if not isinstance(mine, torch.Tensor) or tuple(mine.shape) != (6, 7, 3):
        return report(False, "", "return an H x W x 3 tensor (here 6 x 7 x 3), channels last like the input.")
    mine = mine.double()
    colour, alpha = rgba[..., :3].double(), rgba[..., 3:].double() / 255
    expected = torch.from_numpy(np.array(to_mode(Image.fromarray(rgba.numpy(), "RGBA"), "RGB"))).double()
    if (mine - expected).abs().max() <= 1.01:  # rounding may differ by one grey level
        return report(True, "each pixel is alpha of its colour plus (1 - alpha) of white.", "")
    if mine.max() <= 1 and (mine * 255 - expected).abs().max() <= 1.01:
        return report(False, "", "right mixture, but keep the 0..255 scale of the input.")
    if torch.allclose(mine, colour):
        return report(False, "", "that drops alpha: transparent pixels keep the colour the file stores there.")
    if (mine - colour * alpha).abs().max() <= 1.01:
        return report(False, "", "that is the picture on black: add the white background's share, (1 - alpha) * 255.")
    return report(False, "", "with a = alpha / 255: result = a * colour + (1 - a) * 255, for each of R, G and B.")


def check_ten_crop_corners(answer: Any) -> bool:
    """Exercise 06.2: the (left, top) corners of §4.1's five 224x224 patches of a 256x256 image."""
    if is_stub(answer):
        return not_done("replace ... with five (left, top) pairs.")
    try:
        corners = {(float(left), float(top)) for left, top in answer}
    except (TypeError, ValueError):
        return report(False, "", "give a list of five (left, top) pairs, e.g. [(0, 0), ...].")
    expected = {(0.0, 0.0), (32.0, 0.0), (0.0, 32.0), (32.0, 32.0), (16.0, 16.0)}
    if corners == expected:
        return report(True, "four corners and the centre; their mirror images make ten.", "")
    if corners == expected - {(16.0, 16.0)}:
        return report(False, "", "five patches: the four corners and the centre one.")
    if any(224 in pair or 256 in pair for pair in corners):
        return report(False, "", "a patch starts at its left/top corner: a 224 patch in 256 starts at 0 or 256 - 224.")
    return report(False, "", "corners start at 0 or 256 - 224 = 32; the centre patch at (256 - 224) / 2 on both axes.")


def check_confident_accuracy(answer: Any, probs: torch.Tensor, labels: torch.Tensor, threshold: float) -> bool:
    """Exercise 06.3: the accuracy of the predictions whose largest probability is at least ``threshold``."""
    if is_stub(answer):
        return not_done("replace ... with a fraction between 0 and 1.")
    if isinstance(answer, torch.Tensor) and answer.numel() == 1:
        answer = answer.item()
    if isinstance(answer, bool) or not isinstance(answer, (int, float)):
        return report(False, "", f"the answer should be a number, got {type(answer).__name__}.")
    confidence, predicted = probs.max(1)
    confident = confidence >= threshold
    if not confident.any():
        return report(False, "", f"no prediction here reaches {threshold}; try a lower threshold.")
    right = predicted == labels
    expected = right[confident].float().mean().item()
    if abs(answer - expected) < 5e-3:
        return report(
            True,
            f"{expected:.1%} of the {int(confident.sum())} confident predictions are right "
            f"(all predictions: {right.float().mean():.1%}).",
            "",
        )
    if abs(answer - 100 * expected) < 0.5:
        return report(False, "", "give a fraction (0.95), not a percentage (95).")
    if abs(answer - right.float().mean().item()) < 5e-3:
        return report(False, "", f"that is the accuracy of all predictions: keep those with confidence >= {threshold}.")
    if abs(answer - confident.float().mean().item()) < 5e-3:
        return report(False, "", "that is the share of confident predictions: of those, how many are right?")
    return report(
        False, "", "confidence = probs.max(1).values; keep = confidence >= threshold; then the mean of right[keep]."
    )
