"""Notebook 04, training on CIFAR-10: the check of its exercise, §4.1's ten-crop test.

The check draws its own images (colour, not square, crop offsets whole pixels) and a tiny
network, and compares the learner's ten-crop probabilities with ``alexnet_lib.evaluate``'s
(``tta=True``): with the crop side equal to the network's input side, the library's crop and
resize is an exact cut, so the two agree to float rounding.
"""

from __future__ import annotations

from collections.abc import Callable
from types import CodeType
from typing import Any

import torch

from .. import evaluate as evaluate_module
from .. import transforms
from ..datasets import ImageSet, Stats
from ..transforms import BatchTransform
from .checking import correct, exercise_rules, learner_result, not_yet, register_hints
from .train_fashion_mnist import tiny_net

HINTS = {
    "04.1": (
        "Ten views of each image, one set of class probabilities per view, one answer per image: "
        "the work is in cutting the views and in what exactly gets averaged.",
        "Reread the end of §4.1's 'Data augmentation': five patches (the four corners and the centre), "
        "their horizontal reflections, and the network's softmax outputs averaged over the ten. "
        "Notebook 02 shows the crops on real images.",
        "Along each axis a corner patch starts at 0 or at (that side minus the patch side), the centre "
        "patch halfway between; height and width each have their own. A reflection reverses the width "
        "axis. Run the network on each view, take the softmax over the classes, and average the ten "
        "probability tables (not the logits): an N x classes tensor whose rows sum to 1.",
    ),
}
register_hints(HINTS)

SIDE = 8  # the tiny network's input: the crop side, so the library's crop is an exact cut
# torchvision's ready-made crops: refused when the learner's code names them, or calls them once imported.
TORCHVISION_CROPS = {"torchvision.transforms.functional": ("ten_crop", "five_crop")}
READY_MADE = {"ten_crop", "five_crop", "TenCrop", "FiveCrop"}


def names_used(code: CodeType) -> set[str]:
    """The global and attribute names a function's code (and the functions defined inside it) refers to."""
    names = set(code.co_names)
    for constant in code.co_consts:
        if isinstance(constant, CodeType):
            names |= names_used(constant)
    return names


def _check_inputs(seed: int) -> tuple[torch.Tensor, BatchTransform, torch.Tensor]:
    """uint8 images (height and width differ, whole-pixel centre), their eval transform, the same images normalised."""
    generator = torch.Generator().manual_seed(seed)
    height, width = SIDE + 2 + 2 * (seed % 3), SIDE + 4 + 2 * (seed % 2)
    images = torch.randint(0, 256, (6, 3, height, width), dtype=torch.uint8, generator=generator)
    mean, std = (0.5, 0.45, 0.4), (0.25, 0.24, 0.26)
    stats = Stats(mean, std, pca_eigenvalues=(), pca_eigenvectors=())
    transform = BatchTransform(SIDE, stats, train=False, crop=SIDE / min(height, width), channels_last=False)
    normalised = (images.float() / 255 - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    return images, transform, normalised


def _library_views(model: torch.nn.Module, images: torch.Tensor, transform: BatchTransform) -> torch.Tensor:
    """10 x N x classes logits of §4.1's ten views, cut by the library: corners and centre, then mirrored."""
    n, _, height, width = images.shape
    views = transforms.ten_crop_views(n, height, width, transform.crop, images.device)
    with torch.no_grad():
        return torch.stack([model(transform(images, view)) for view in views])


def _diagnose(mine: torch.Tensor, expected: torch.Tensor, logits: torch.Tensor) -> str:
    """What a wrong ten-crop answer most likely did, from the library's ten views' ``logits``."""
    probs = logits.softmax(2)
    mistakes = {
        "the logits were averaged: §4.1 averages the softmax outputs": logits.mean(0).softmax(1),
        "that averages the five patches without their mirror images": probs[:5].mean(0),
        "that is the centre patch alone: average all ten views": probs[4],
        "that is the centre patch and its mirror: the four corners are missing": probs[[4, 9]].mean(0),
    }
    for diagnosis, wrong in mistakes.items():
        if torch.allclose(mine, wrong, atol=1e-5):
            return diagnosis
    gap = (mine - expected).abs().max().item()
    return f"up to {gap:.3g} away from the library's ten-crop average: check the offsets and the mirror's axis"


def check_ten_crop(ten_crop_probs: Callable[..., Any], seed: int = 0) -> bool:
    """Exercise 04.1: ``ten_crop_probs(model, images, side)``, §4.1's ten-view average, against ``evaluate``."""
    key = "04.1"
    images, transform, normalised = _check_inputs(seed)
    model = tiny_net(seed, in_channels=3, classes=5).eval()
    data = ImageSet(images, torch.zeros(len(images), dtype=torch.long), [str(c) for c in range(5)])
    expected = evaluate_module.evaluate(model, data, transform, tta=True).probs
    todo = "write ten_crop_probs so that it returns the averaged probabilities"
    code = getattr(ten_crop_probs, "__code__", None)
    if code is not None and names_used(code) & READY_MADE:
        ready_made = ", ".join(sorted(names_used(code) & READY_MADE))
        not_yet(f"this uses torchvision's {ready_made}: cut the five patches and mirror them yourself", key)
    with exercise_rules(refuse=("torchvision.transforms",), why="cut the five patches and mirror them yourself"):
        mine = learner_result("ten_crop_probs", ten_crop_probs, model, normalised.clone(), SIDE, todo=todo, hint=key)
    if not isinstance(mine, torch.Tensor) or tuple(mine.shape) != tuple(expected.shape):
        shape = tuple(mine.shape) if isinstance(mine, torch.Tensor) else type(mine).__name__
        not_yet(f"return one row of class probabilities per image, {tuple(expected.shape)}, got {shape}", key)
    mine = mine.detach().float().cpu()
    if not torch.allclose(mine.sum(1), torch.ones(len(mine)), atol=1e-4):
        not_yet("the rows should be probabilities, each summing to 1: softmax each view's logits", key)
    if not torch.allclose(mine, expected, atol=1e-5):
        not_yet(_diagnose(mine, expected, _library_views(model, images, transform)), key)
    height, width = images.shape[2:]
    return correct(
        f"ten views of {height} x {width} images, probabilities averaged: the same as alexnet_lib's evaluate."
    )
