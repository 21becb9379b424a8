"""Notebook 02, the data: its two exercises, §4.1's random crop with mirror, and the PCA colour shift.

Both are random, so the checks test properties on many draws rather than compare with stored
values: a crop is a sub-window of its own image, mirrored or not; a colour shift moves every
pixel of an image by one vector whose coordinates along the eigenvectors, divided by the square
roots of the eigenvalues, are draws of a zero-mean Gaussian with standard deviation 0.1, new for
each image. The inputs are drawn by the check (``seed``); the bounds are many standard
deviations wide, so a right answer never fails by chance.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from .checking import correct, exercise_rules, learner_result, not_yet, register_hints

HINTS = {
    "02.1": (
        "Each image gets its own random square: choose where its top-left corner goes, cut the square out, "
        "and mirror it left to right on the toss of a coin.",
        "Reread §4.1 (random 224x224 patches of the 256x256 images, and their horizontal reflections) and "
        "section 4 of this lesson. A corner can sit anywhere from 0 to the height minus the side, both ends "
        "included: that is height minus side plus one positions per axis.",
        "Shape of the answer: N tops, N lefts and N coin tosses drawn with the generator; for each image, "
        "side rows and side columns from its corner, the columns reversed when its coin says so; the N crops "
        "stacked into one N x C x side x side tensor.",
    ),
    "02.2": (
        "Every pixel of one image moves by the same three numbers; the next image gets three new ones.",
        "Reread §4.1 on altering the intensities of the RGB channels, and section 5 of this lesson: alpha is "
        "drawn for each image and each component from a Gaussian of standard deviation 0.1, and the course "
        "scales by the square roots of the eigenvalues, as cuda-convnet2 does.",
        "Shape of the answer: an N x 3 tensor of alphas, times the square roots of the eigenvalues, combined "
        "with the eigenvector columns into an N x 3 shift, added to every pixel of each image (seen as "
        "N x 3 x 1 x 1); no clipping.",
    ),
}
register_hints(HINTS)

CROP_DRAWS = 400  # images per check: every offset and both mirror states show up many times
SHIFT_DRAWS = 2_000  # images per check: alpha's spread is measured to about 2%
ALPHA_STD = 0.1  # §4.1


def crop_candidates(images: torch.Tensor, side: int) -> torch.Tensor:
    """Every side x side window of every image, and its mirror: N x 2 x tops x lefts x (C*side*side)."""
    n, c = images.shape[:2]
    windows = images.unfold(2, side, 1).unfold(3, side, 1)  # N x C x tops x lefts x side x side
    windows = windows.permute(0, 2, 3, 1, 4, 5)  # N x tops x lefts x C x side x side
    both = torch.stack([windows, windows.flip(-1)], 1)
    return both.reshape(n, 2, windows.shape[1], windows.shape[2], c * side * side)


def locate_crops(crops: torch.Tensor, images: torch.Tensor, side: int) -> torch.Tensor:
    """For each crop, (mirrored, top, left) of the window of its own image it equals; -1s where none does."""
    candidates = crop_candidates(images, side)
    flat = crops.reshape(len(crops), 1, 1, 1, -1)
    match = (candidates == flat).all(-1)  # N x 2 x tops x lefts
    found = torch.full((len(crops), 3), -1, dtype=torch.long)
    index = match.flatten(1).float().argmax(1)
    hit = match.flatten(1).any(1)
    tops, lefts = candidates.shape[2], candidates.shape[3]
    position = torch.stack([index // (tops * lefts), index // lefts % tops, index % lefts], 1)
    found[hit] = position[hit]
    return found


def crop_layout(images: torch.Tensor, crops: torch.Tensor, side: int) -> torch.Tensor:
    """Where each crop came from; a "not yet" when it is not a (mirrored) window of its own image."""
    n, c = images.shape[:2]
    if not isinstance(crops, torch.Tensor) or tuple(crops.shape) != (n, c, side, side):
        got = tuple(crops.shape) if isinstance(crops, torch.Tensor) else type(crops).__name__
        not_yet(f"give an N x C x side x side tensor, {(n, c, side, side)} here; got {got}", "02.1")
    crops = crops.to(images.dtype)
    found = locate_crops(crops, images, side)
    missing = (found[:, 0] < 0).nonzero().flatten()
    if len(missing):
        i = int(missing[0])
        if (locate_crops(crops[i : i + 1].flip(-2), images[i : i + 1], side) >= 0).all():
            not_yet(f"crop {i} is upside down: a mirror image swaps left and right, not top and bottom", "02.1")
        if (locate_crops(crops[i : i + 1].expand(n, -1, -1, -1), images, side) >= 0).any():
            not_yet(f"crop {i} comes from another image: crop each image of the batch from itself", "02.1")
        not_yet(f"crop {i} is not a side x side block of image {i}'s pixels, as they are or mirrored", "02.1")
    return found


def check_spread(found: torch.Tensor, images: torch.Tensor, side: int) -> None:
    """The crops' positions and mirrors: one draw per image, every position possible, about half mirrored."""
    n, positions = len(found), (images.shape[2] - side + 1, images.shape[3] - side + 1)
    if (found[:, 1:] == found[0, 1:]).all():
        not_yet("every image got the same crop position: draw a corner for each image", "02.1")
    mirrored = found[:, 0].float().mean().item()
    if not 0.35 < mirrored < 0.65:  # binomial spread at 400 draws: 0.025
        not_yet(f"{mirrored:.0%} of the crops are mirrored; §4.1 mirrors each image with probability 1/2", "02.1")
    for axis, name, count in ((1, "top", positions[0]), (2, "left", positions[1])):
        seen = torch.bincount(found[:, axis], minlength=count)
        if seen[-1] == 0 and (seen[:-1] > 0).all():
            not_yet(f"no crop has the last {name} position, {count - 1}: the upper end of a draw is exclusive", "02.1")
        if (seen < n / count / 3).any():  # expected n/count each; a third of that is > 6 standard deviations off
            not_yet(f"the {name} positions 0 to {count - 1} should be equally likely; yours: {seen.tolist()}", "02.1")
    if (found[:, 1] == found[:, 2]).all() and positions[0] == positions[1]:
        not_yet("the top and the left are always equal: draw them separately", "02.1")


def check_crop_and_mirror(my_crop_and_mirror: Callable[..., torch.Tensor], seed: int = 0) -> bool:
    """Exercise 02.1: ``my_crop_and_mirror(images, side, generator)``: §4.1's random crop and mirror, per image.

    ``images`` N x C x H x W; the answer N x C x side x side, each a side x side window of its
    own image at a uniformly random integer position, mirrored left to right with probability
    1/2, drawn with ``generator`` (the same seed gives the same crops).
    """
    draw = torch.Generator().manual_seed(seed)
    height, width = (int(v) for v in torch.randint(9, 15, (2,), generator=draw))
    side = min(height, width) - int(torch.randint(3, 6, (), generator=draw))
    # Every pixel value different, so each crop tells where it came from.
    images = torch.randperm(CROP_DRAWS * 3 * height * width, generator=draw).double().view(CROP_DRAWS, 3, height, width)
    given = images.clone()
    why = "cut the windows yourself"
    with exercise_rules(refuse=("torchvision.transforms",), why=why):
        crops = learner_result(
            "my_crop_and_mirror",
            my_crop_and_mirror,
            given,
            side,
            torch.Generator().manual_seed(seed + 1),
            todo="write my_crop_and_mirror so that it returns the crops.",
            hint="02.1",
        )
        again = learner_result(
            "my_crop_and_mirror",
            my_crop_and_mirror,
            images.clone(),
            side,
            torch.Generator().manual_seed(seed + 1),
            todo="",
            hint="02.1",
        )
    if not torch.equal(given, images):
        not_yet("my_crop_and_mirror changed its input images in place: cut copies instead", "02.1")
    found = crop_layout(images, crops, side)
    check_spread(found, images, side)
    if not torch.equal(torch.as_tensor(again).to(images.dtype), crops.to(images.dtype)):
        not_yet("the same generator seed gave different crops: draw with the generator you are given", "02.1")
    return correct(
        f"{CROP_DRAWS} crops of {side}x{side} from {height}x{width} images: each a window of its own image, "
        f"{found[:, 0].float().mean().item():.0%} mirrored, every position reached."
    )


def shift_problem(seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Images in [0, 1] (some pixels at exactly 0 and 1), 3 eigenvalues (largest first), orthonormal eigenvectors."""
    draw = torch.Generator().manual_seed(seed)
    images = torch.rand(SHIFT_DRAWS, 3, 4, 4, generator=draw)
    images[:, :, 0, 0], images[:, :, 0, 1] = 0.0, 1.0
    eigenvalues = (10 ** torch.empty(3).uniform_(-3, -0.7, generator=draw)).sort(descending=True).values
    eigenvectors, _ = torch.linalg.qr(torch.randn(3, 3, generator=draw))  # one component per column
    return images, eigenvalues, eigenvectors


def implied_alphas(shifts: torch.Tensor, eigenvalues: torch.Tensor, eigenvectors: torch.Tensor, power: float):
    """The alphas that give ``shifts`` (N x 3) when scaled by eigenvalues**power along the eigenvector columns."""
    return (shifts.double() @ eigenvectors.double()) / eigenvalues.double() ** power


def looks_like_alpha(alpha: torch.Tensor) -> bool:
    """N x 3 independent Gaussian draws, mean 0 and std 0.1: mean, spread, correlation, kurtosis within 6 SEs."""
    n = len(alpha)
    centred = alpha - alpha.mean(0)
    std = centred.square().mean(0).sqrt()
    correlation = torch.corrcoef(alpha.T) - torch.eye(3, dtype=alpha.dtype)
    kurtosis = (centred**4).mean(0) / std**4
    return bool(
        (alpha.mean(0).abs() < 6 * ALPHA_STD / math.sqrt(n)).all()
        and ((std / ALPHA_STD - 1).abs() < 6 / math.sqrt(2 * n)).all()
        and (correlation.abs() < 6 / math.sqrt(n)).all()
        and ((kurtosis - 3).abs() < 6 * math.sqrt(24 / n)).all()
    )


def per_image_shift(images: torch.Tensor, shifted: Any) -> torch.Tensor:
    """The one vector each image moved by (N x 3); a "not yet" when the pixels of an image moved differently."""
    if not isinstance(shifted, torch.Tensor) or shifted.shape != images.shape:
        got = tuple(shifted.shape) if isinstance(shifted, torch.Tensor) else type(shifted).__name__
        not_yet(f"give the shifted images, a tensor of the images' shape {tuple(images.shape)}; got {got}", "02.2")
    moved = (shifted.double() - images.double()).flatten(2)  # N x 3 x pixels
    if (moved.amax(2) - moved.amin(2)).max() > 1e-5:
        if shifted.min() >= 0 and shifted.max() <= 1:
            not_yet("pixels at 0 or 1 moved less than the others: do not clip, every pixel moves the same", "02.2")
        not_yet("the pixels of one image moved by different amounts: §4.1 adds one vector to every pixel", "02.2")
    return moved.mean(2)


def check_colour_shift(my_colour_shift: Callable[..., torch.Tensor], seed: int = 0) -> bool:
    """Exercise 02.2: ``my_colour_shift(images, eigenvalues, eigenvectors, generator)``: §4.1's PCA colour noise.

    Each image (N x 3 x H x W, [0, 1] units) moves, every pixel alike, by
    ``eigenvectors @ (alpha * eigenvalues.sqrt())`` with alpha drawn per image and component from a
    zero-mean Gaussian with std 0.1. The square roots are the course's deviation from §4.1 as
    printed, taken from cuda-convnet2 (notebook 02, section 5): that slip gets its own message.
    """
    images, eigenvalues, eigenvectors = shift_problem(seed)
    given = images.clone()
    with exercise_rules(refuse=("torchvision.transforms",), why="draw and add the shift yourself"):
        shifted = learner_result(
            "my_colour_shift",
            my_colour_shift,
            given,
            eigenvalues.clone(),
            eigenvectors.clone(),
            torch.Generator().manual_seed(seed + 1),
            todo="write my_colour_shift so that it returns the shifted images.",
            hint="02.2",
        )
        again = learner_result(
            "my_colour_shift",
            my_colour_shift,
            images.clone(),
            eigenvalues.clone(),
            eigenvectors.clone(),
            torch.Generator().manual_seed(seed + 1),
            todo="",
            hint="02.2",
        )
    if shifted is given or not torch.equal(given, images):
        not_yet("my_colour_shift changed its input images in place: give back new ones", "02.2")
    shifts = per_image_shift(images, shifted)
    if (shifts - shifts[0]).abs().max() < 1e-7:
        not_yet("every image moved by the same vector: draw new alphas for each image", "02.2")
    alpha = implied_alphas(shifts, eigenvalues, eigenvectors, 0.5)
    if not looks_like_alpha(alpha):
        diagnose_alphas(shifts, alpha, eigenvalues, eigenvectors)
    if not torch.equal(torch.as_tensor(again), shifted):
        not_yet("the same generator seed gave different shifts: draw with the generator you are given", "02.2")
    return correct(
        f"{SHIFT_DRAWS} images, each moved by one vector along the eigenvectors; the implied alphas have "
        f"std {alpha.std(0).mean().item():.3f} (0.1) and are uncorrelated."
    )


def diagnose_alphas(shifts: torch.Tensor, alpha: torch.Tensor, eigenvalues: torch.Tensor, vectors: torch.Tensor):
    """Why the implied alphas are not Gaussian draws with std 0.1: the usual slips, else their measured spread."""
    if looks_like_alpha(implied_alphas(shifts, eigenvalues, vectors, 1.0)):
        not_yet(
            "you scaled by the eigenvalues themselves, which is exactly what §4.1 prints, so you read the paper "
            "right. The course scales by their square roots, as Krizhevsky's cuda-convnet2 does: an eigenvalue "
            "is a variance (pixel units squared), its square root the std along that axis, in pixel units like "
            "the shift",
            "02.2",
        )
    if looks_like_alpha(implied_alphas(shifts, eigenvalues, vectors.T, 0.5)):
        not_yet("the eigenvectors are the columns of the matrix, not its rows", "02.2")
    if (torch.corrcoef(alpha.T) > 0.99).all():
        not_yet("the three components got the same alpha: draw one alpha per component", "02.2")
    spread = [round(v, 3) for v in alpha.std(0).tolist()]
    if all(abs(v / ALPHA_STD - 1) < 0.1 for v in spread):
        not_yet("the alphas have the right spread but are not Gaussian: §4.1 draws them from a Gaussian", "02.2")
    not_yet(
        f"along each eigenvector, divided by its square root, the shifts should have mean 0 and std 0.1; yours have "
        f"std {spread}",
        "02.2",
    )
