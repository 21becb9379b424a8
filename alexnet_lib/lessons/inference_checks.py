"""Notebook 06's exercises: top-k with labels from logits, transparency flattened on white, §4.1's five
patches, and the accuracy of confident predictions, each checked against an oracle on inputs drawn here.

The answers are never stored: top-k against ``torch.topk`` of a softmax computed here, the
flattening against PIL's compositing (``to_mode``), the corners against ``ten_crop_views``;
the learner's code may not call those (``refusing``). A ``seed`` draws other inputs
for nbgrader's hidden tests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from PIL import Image

from ..images import to_mode
from ..transforms import ten_crop_views
from .checking import correct, exercise_rules, learner_result, not_yet, register_hints

HINTS = {
    "06.1": (
        "Logits are not probabilities yet: turn each image's logits into probabilities first, then pick the k "
        "largest, and give each its class's name.",
        "Reread section 2 of this lesson (the top-5 bars), §3.5 of the paper (fc8 feeds a softmax that gives a "
        "distribution over the class labels) and §2 (the top-5 error rate). The softmax runs over one image's classes.",
        "The shape of the answer: softmax over the class dimension (N x C); the k largest values of each row and "
        "their positions, largest first; for each image, a list of k pairs (the name at that position, the "
        "probability as a Python float).",
    ),
    "06.2": (
        "A pixel with alpha a (0 to 255) shows the share a / 255 of its own colour; the rest of what you see is "
        "the background, here white: 255 in each of R, G and B.",
        "Reread section 3 of this lesson, step 2 of the pipeline: transparency is flattened on white, because a "
        "transparent pixel has no colour of its own.",
        "The shape of the answer: alpha as a fraction, H x W x 1, in floats; the colour channels (H x W x 3) times "
        "that fraction, plus white times the rest; rounded and back to uint8, H x W x 3.",
    ),
    "06.3": (
        "A patch is placed by its top-left corner. Four patches touch two of the image's edges each; the fifth is "
        "as far from the left as from the right edge, and from the top as from the bottom.",
        "Reread §4.1 of the paper ('five 224 x 224 patches (the four corner patches and the center patch)') and "
        "section 6 of this lesson.",
        "The shape of the answer: five (left, top) pairs; a left is 0 or the width minus the side, a top is 0 or the "
        "height minus the side, and the centre patch's is halfway between on each axis.",
    ),
    "06.4": (
        "Two steps: keep only the predictions that are confident enough, then measure the accuracy of those.",
        "Reread section 7 of this lesson: the confidence is the largest softmax output, and the prediction is the "
        "class where it is.",
        "The shape of the answer: per image the largest probability and its position; a mask of the images whose "
        "largest probability is at least the threshold; the mean of 'prediction equals label' over those images, "
        "as a Python float between 0 and 1.",
    ),
}
register_hints(HINTS)


def _class_names(count: int, generator: torch.Generator) -> list[str]:
    """``count`` different made-up class names, so that no answer can be a fixed list."""
    names: list[str] = []
    while len(names) < count:
        letters = torch.randint(0, 26, (6,), generator=generator).tolist()
        name = "".join(chr(ord("a") + letter) for letter in letters)
        names += [name] if name not in names else []
    return names


def _top_k_of(scores: torch.Tensor, classes: list[str], k: int) -> list[list[tuple[str, float]]]:
    values, indices = scores.topk(k, dim=1)
    return [
        [(classes[i], v) for v, i in zip(row_values, row_indices, strict=True)]
        for row_values, row_indices in zip(values.tolist(), indices.tolist(), strict=True)
    ]


def _as_pairs(answer: Any, images: int, k: int) -> list[list[tuple[Any, float]]]:
    """The learner's answer as N lists of k (name, probability) pairs, or a "not yet" that says what is off."""
    shape = f"a list with one entry per image ({images}), each a list of k = {k} (class name, probability) pairs"
    try:
        rows = [[(name, float(p)) for name, p in row] for row in answer]
    except (TypeError, ValueError, RuntimeError):  # a tensor with several numbers where one was asked
        not_yet(f"return {shape}", "06.1")
    if len(rows) != images or any(len(row) != k for row in rows):
        not_yet(f"return {shape}; yours has {len(rows)} entries of sizes {sorted({len(row) for row in rows})}", "06.1")
    return rows


def _same_ranking(mine: list, expected: list) -> bool:
    return all(
        [name for name, _ in a] == [name for name, _ in b]
        and all(abs(p - q) < 1e-5 for (_, p), (_, q) in zip(a, b, strict=True))
        for a, b in zip(mine, expected, strict=True)
    )


def check_top_k(my_top_k: Callable[[torch.Tensor, list[str], int], Any], seed: int = 0) -> bool:
    """Exercise 06.1: ``my_top_k(logits, classes, k)``: per image, the k most probable (name, probability), sorted."""
    generator = torch.Generator().manual_seed(seed)
    images, count, k = 5, 6 + seed % 7, 3 + seed % 2
    logits = 3 * torch.randn(images, count, generator=generator)
    classes = _class_names(count, generator)
    with exercise_rules(why="rank the softmax yourself"):
        answer = learner_result(
            "my_top_k",
            my_top_k,
            logits.clone(),
            list(classes),
            k,
            todo="write my_top_k so that it returns the pairs.",
            hint="06.1",
        )
    mine = _as_pairs(answer, images, k)
    if any(isinstance(name, (int, torch.Tensor)) for row in mine for name, _ in row):
        not_yet("give the classes' names, not their positions in the list", "06.1")
    if _same_ranking(mine, _top_k_of(logits.softmax(1), classes, k)):
        return correct(
            f"the top {k} of {count} made-up classes, with their softmax probabilities, for {images} images."
        )
    least = [[(name, -p) for name, p in row] for row in _top_k_of(-logits.softmax(1), classes, k)]
    mistakes = {
        "those are logits: turn them into probabilities first (a softmax over each image's classes)": (
            _top_k_of(logits, classes, k)
        ),
        "each image's probabilities should sum to 1 over its classes; yours were normalised across images": (
            _top_k_of(logits.softmax(0), classes, k)
        ),
        "those are log-probabilities: give the probabilities themselves": _top_k_of(logits.log_softmax(1), classes, k),
        "those are the least probable classes: take the largest probabilities": least,
    }
    for diagnosis, expected in mistakes.items():
        if _same_ranking(mine, expected):
            not_yet(diagnosis, "06.1")
    if _same_ranking(
        [sorted(row, key=lambda pair: -pair[1]) for row in mine], _top_k_of(logits.softmax(1), classes, k)
    ):
        not_yet("the right classes and probabilities, in the wrong order: most probable first", "06.1")
    not_yet("those are not the k most probable classes with their softmax probabilities", "06.1")


def check_flatten_on_white(my_flatten: Callable[[torch.Tensor], torch.Tensor], seed: int = 0) -> bool:
    """Exercise 06.2: ``my_flatten(rgba)``: an H x W x 4 uint8 RGBA tensor as H x W x 3 RGB on white."""
    generator = torch.Generator().manual_seed(seed)
    height, width = 5 + seed % 4, 7
    rgba = torch.randint(0, 256, (height, width, 4), dtype=torch.uint8, generator=generator)
    rgba[0, :, 3], rgba[1, :, 3] = 0, 255  # a transparent row, an opaque row
    with exercise_rules(refuse=("PIL",), why="mix the colour with white yourself"):
        mine = learner_result(
            "my_flatten",
            my_flatten,
            rgba.clone(),
            todo="write my_flatten so that it returns the H x W x 3 image.",
            hint="06.2",
        )
    if not isinstance(mine, torch.Tensor) or tuple(mine.shape) != (height, width, 3):
        not_yet(f"return an H x W x 3 tensor (here {height} x {width} x 3), channels last like the input", "06.2")
    mine = mine.double()
    colour, alpha = rgba[..., :3].double(), rgba[..., 3:].double() / 255
    # The oracle: PIL's own alpha compositing onto white, as the course's pipeline does it.
    expected = torch.from_numpy(np.array(to_mode(Image.fromarray(rgba.numpy(), "RGBA"), "RGB"))).double()
    if (mine - expected).abs().max() <= 1.01:  # rounding may differ by one grey level
        return correct("each pixel is alpha of its colour plus (1 - alpha) of white.")
    if mine.max() <= 1 and (mine * 255 - expected).abs().max() <= 1.01:
        not_yet("right mixture, but keep the 0..255 scale of the input", "06.2")
    if torch.allclose(mine, colour):
        not_yet("that drops alpha: transparent pixels keep the colour the file stores there", "06.2")
    if (mine - colour * alpha).abs().max() <= 1.01:
        not_yet("that is the picture on black: the white background's share is missing", "06.2")
    not_yet("that is not the picture on white: each channel mixes the pixel's colour and white by alpha", "06.2")


def _close(mine: list[tuple[float, float]], expected: list[tuple[float, float]]) -> bool:
    """The same corners, each coordinate within half a pixel (a centre may be rounded to whole pixels)."""
    return len(mine) == len(expected) and all(
        abs(a - b) <= 0.5 + 1e-6 for p, q in zip(mine, expected, strict=True) for a, b in zip(p, q, strict=True)
    )


def check_five_corners(five_corners: Callable[[int, int, int], Any], seed: int = 0) -> bool:
    """Exercise 06.3: ``five_corners(height, width, side)``: the (left, top) corners of §4.1's five patches."""
    generator = torch.Generator().manual_seed(seed)
    height, width = (int(v) for v in torch.randint(240, 400, (2,), generator=generator))
    side = int(torch.randint(160, min(height, width) - 10, (1,), generator=generator))
    with exercise_rules(refuse=("torchvision.transforms",), why="place the patches yourself"):
        answer = learner_result(
            "five_corners",
            five_corners,
            height,
            width,
            side,
            todo="write five_corners so that it returns the pairs.",
            hint="06.3",
        )
    try:
        mine = sorted((float(left), float(top)) for left, top in answer)
    except (TypeError, ValueError, RuntimeError):  # a tensor with several numbers where one was asked
        not_yet("return a list of five (left, top) pairs", "06.3")
    views = ten_crop_views(1, height, width, side / min(height, width), torch.device("cpu"))[:5]
    expected = sorted((float(view.left), float(view.top)) for view in views)
    if _close(mine, expected):
        return correct(f"four corners and the centre of a {width} x {height} image; their mirrors make ten.")
    if len(mine) == 4 and _close(mine, sorted(expected[:2] + expected[3:])):
        not_yet("five patches: the four corners and the centre one", "06.3")
    if _close(mine, sorted((top, left) for left, top in expected)):
        not_yet("left runs along the width and top along the height: yours are swapped", "06.3")
    if len(mine) != 5:
        not_yet(f"five patches, so five (left, top) pairs; yours has {len(mine)}", "06.3")
    not_yet(f"not the corners of {side} x {side} patches in a {width} x {height} image (width x height)", "06.3")


def check_confident_accuracy(
    confident_accuracy: Callable[[torch.Tensor, torch.Tensor, float], Any], seed: int = 0
) -> bool:
    """Exercise 06.4: ``confident_accuracy(probs, labels, threshold)``: accuracy of the predictions that sure."""
    generator = torch.Generator().manual_seed(seed)
    probs = (2.5 * torch.randn(400, 10, generator=generator)).softmax(1)
    labels = torch.where(
        torch.rand(400, generator=generator) < 0.6, probs.argmax(1), torch.randint(0, 10, (400,), generator=generator)
    )
    threshold = [0.8, 0.7, 0.9][seed % 3]
    answer = learner_result(
        "confident_accuracy",
        confident_accuracy,
        probs.clone(),
        labels.clone(),
        threshold,
        todo="write confident_accuracy so that it returns a fraction.",
        hint="06.4",
    )
    if isinstance(answer, torch.Tensor) and answer.numel() == 1:
        answer = answer.item()
    if isinstance(answer, bool) or not isinstance(answer, (int, float)):
        not_yet(f"return a number between 0 and 1, not a {type(answer).__name__}", "06.4")
    confidence, predicted = probs.max(1)
    confident, right = confidence >= threshold, predicted == labels
    expected = right[confident].float().mean().item()
    if abs(answer - expected) < 1e-6:
        return correct(
            f"{expected:.1%} of the {int(confident.sum())} predictions at least {threshold} sure are right "
            f"(all {len(probs)}: {right.float().mean():.1%})."
        )
    if abs(answer - 100 * expected) < 1e-4:
        not_yet("give a fraction (0.95), not a percentage (95)", "06.4")
    if abs(answer - right.float().mean().item()) < 1e-6:
        not_yet(f"that is the accuracy of all predictions: keep those with confidence of at least {threshold}", "06.4")
    if abs(answer - confident.float().mean().item()) < 1e-6:
        not_yet("that is the share of confident predictions: of those, how many are right?", "06.4")
    not_yet("not the accuracy of the confident predictions", "06.4")
