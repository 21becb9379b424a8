"""Notebook 02, the data: its exercise checks (crop side, channel statistics, mirror, PCA colour shift)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from ..datasets import compute_stats
from .checking import check_number, is_stub, learner_result, not_done, report


def check_crop_side(answer: Any) -> bool:
    """Exercise 02.1: the side, in pixels, of the paper's 224/256 crop (§4.1) taken from a 32x32 CIFAR-10 image."""
    return check_number(
        answer,
        32 * 224 // 256,
        "the crop side of a 32-pixel image",
        "the paper keeps 224 of every 256 pixels along a side: multiply 32 by 224/256.",
    )


def _as_vector(values: Any) -> torch.Tensor | None:
    """``values`` (a tensor, list, tuple or NumPy array of numbers) as a float64 vector, or None."""
    try:
        return torch.as_tensor(values, dtype=torch.float64).flatten()
    except (TypeError, ValueError, RuntimeError):
        return None


def check_channel_stats(mean: Any, std: Any, images: torch.Tensor) -> bool:
    """Exercise 02.2: per-channel mean and std of the uint8 ``images`` (N x C x H x W), in [0, 1] pixel units."""
    if is_stub(mean) or is_stub(std):
        return not_done("compute the mean and the std of each channel.")
    mine_mean, mine_std = _as_vector(mean), _as_vector(std)
    channels = images.shape[1]
    if mine_mean is None or mine_std is None or len(mine_mean) != channels or len(mine_std) != channels:
        return report(
            False, "", f"give one value per channel ({channels}): reduce over images, height and width (dim=(0, 2, 3))."
        )
    expected = compute_stats(images)
    expected_mean = torch.tensor(expected.mean, dtype=torch.float64)
    expected_std = torch.tensor(expected.std, dtype=torch.float64)
    if torch.allclose(mine_mean, expected_mean * 255, rtol=1e-3):
        return report(False, "", "those are in 0..255 units: divide the pixels by 255 first.")
    if not torch.allclose(mine_mean, expected_mean, atol=1e-4):
        return report(False, "", "the mean of a channel is the average of all its pixels in all images.")
    per_image_std = images.double().div(255).std(dim=(2, 3)).mean(0)
    # rtol: the std with or without Bessel's correction (dividing by n - 1 or n) both count.
    right_std = torch.allclose(mine_std, expected_std, rtol=1e-3, atol=1e-4)
    if torch.allclose(mine_std, per_image_std, atol=1e-4) and not right_std:
        return report(
            False, "", "that is the average of each image's own std; take the std of all pixels of all images at once."
        )
    return report(
        right_std,
        f"mean {[round(v, 4) for v in expected.mean]}, std {[round(v, 4) for v in expected.std]}.",
        "the std of a channel is the spread of all its pixels around the channel's mean: x.std(dim=(0, 2, 3)).",
    )


def check_horizontal_flip(my_flip: Callable[[torch.Tensor], torch.Tensor]) -> bool:
    """Exercise 02.3: ``my_flip(images)`` mirrors a batch (N x C x H x W) left to right, as §4.1's reflections."""
    images = torch.randint(0, 256, (2, 3, 5, 7), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    mine = learner_result(
        "my_flip", my_flip, images.clone(), todo="write my_flip so that it returns the mirrored batch."
    )
    if not isinstance(mine, torch.Tensor) or mine.shape != images.shape:
        return report(False, "", f"return a tensor of the same shape as the batch, {tuple(images.shape)}.")
    if torch.equal(mine, images.flip(-2)):
        return report(False, "", "that turns the images upside down: reverse the width (last dim), not the height.")
    if torch.equal(mine, images):
        return report(False, "", "the images came back unchanged: reverse the order of the columns.")
    return report(
        torch.equal(mine, images.flip(-1)),
        "a mirrored photo is as natural as the original: §4.1 trains on both.",
        "reverse the order of the columns of every image: the last dimension (images.flip(-1)).",
    )


def check_pca_shift(my_shift: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]) -> bool:
    """Exercise 02.4: ``my_shift(alpha, eigenvalues, eigenvectors)``: §4.1's colour shift of one image (C values).

    The eigenvectors are the columns of the C x C matrix; each is scaled by alpha times the
    square root of its eigenvalue, as Krizhevsky's cuda-convnet2 does (``convdata.py`` scales
    by ``pca_stdevs``). §4.1 as printed writes the eigenvalue itself: that answer is
    recognised and gets "Not yet" with the reason the course differs, not a bare hint.
    """
    generator = torch.Generator().manual_seed(0)
    eigenvectors, _ = torch.linalg.qr(torch.randn(3, 3, generator=generator))  # orthonormal columns
    eigenvalues = torch.tensor([0.17, 0.0125, 0.0026])  # CIFAR-10's, largest first
    alpha = torch.tensor([0.8, -1.5, 0.6])
    mine = learner_result(
        "my_shift",
        my_shift,
        alpha.clone(),
        eigenvalues.clone(),
        eigenvectors.clone(),
        todo="write my_shift so that it returns the colour shift, one value per channel.",
    )
    if not isinstance(mine, torch.Tensor) or mine.numel() != 3:
        return report(False, "", "return a tensor of 3 values, one per colour channel.")
    mine = mine.flatten().float()
    expected = eigenvectors @ (alpha * eigenvalues.sqrt())
    if torch.allclose(mine, eigenvectors @ (alpha * eigenvalues), atol=1e-5):
        return report(
            False,
            "",
            "you scaled by the eigenvalues themselves, which is exactly what §4.1 prints, so you read the "
            "paper right. This exercise asks for their square roots, as Krizhevsky's cuda-convnet2 code does: "
            "an eigenvalue is a variance (pixel units squared), its square root the std along that axis, "
            "in pixel units like the shift. Use eigenvalues.sqrt().",
        )
    if torch.allclose(mine, eigenvectors.T @ (alpha * eigenvalues.sqrt()), atol=1e-5):
        return report(False, "", "the eigenvectors are the columns of the matrix, not its rows.")
    return report(
        torch.allclose(mine, expected, atol=1e-5),
        "that is the colour shift added to every pixel of the image.",
        "multiply each alpha by the square root of its eigenvalue, then combine the eigenvector columns: "
        "eigenvectors @ (alpha * eigenvalues.sqrt()).",
    )
