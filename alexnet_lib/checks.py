"""Exercise checks for the notebooks: right, a hint, or "not done yet".

Every check prints one line and returns True or False. It never raises: an untouched stub
(``...`` or a function that returns None) gets a gentle "not done yet", so a notebook with
open exercises still runs top to bottom in CI. The answers are tested in ``tests/test_checks_*.py``.
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


# Lesson 05: filters and features -----------------------------------------------------------


def check_vertical_edge_filter(answer: Any, model: nn.Module, edge: torch.Tensor) -> bool:
    """Exercise 05.1: the conv1 filter with the strongest response (max over positions) to the edge image ``edge``."""
    from .features import conv1_edge_responses

    if _is_stub(answer):
        return _not_done("replace ... with the number of the filter.")
    responses = conv1_edge_responses(model, edge)
    if isinstance(answer, torch.Tensor) and answer.numel() == 1:
        answer = answer.item()
    if isinstance(answer, bool) or not isinstance(answer, int) or not 0 <= answer < len(responses):
        return _report(False, "", f"give a filter number from 0 to {len(responses) - 1}, got {answer!r}.")
    best = int(responses.argmax())
    # Within 2% of the best also counts: computing it after relu1 or norm1 may swap near-ties.
    return _report(
        answer == best or responses[answer] >= 0.98 * responses[best],
        f"filter {best} responds most ({responses[best]:.2f}); look at it in the grid: a light and a dark side.",
        "run model.conv1 on the edge image, take each channel's largest value over positions "
        "(.amax over the last two dimensions), then the argmax over channels.",
    )


class _FailsHere(nn.Module):
    """A stage that raises: to see whether a hook survives a failed forward pass."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("this stage fails on purpose")


def check_conv3_hook(capture_conv3: Callable[[nn.Module, torch.Tensor], torch.Tensor]) -> bool:
    """Exercise 05.2: ``capture_conv3(model, images)`` returns conv3's output, via a forward hook it removes."""
    from contextlib import suppress

    from .features import capture_activations, count_hooks

    torch.manual_seed(0)
    model = alexnet("paper", num_classes=10, in_channels=1).eval()
    images = torch.randn(2, 1, 67, 67)
    try:
        mine = capture_conv3(model, images)
    except Exception as error:  # a learner's code may raise anything; show it as a hint
        return _report(False, "", f"capture_conv3 raised {type(error).__name__}: {error}")
    if _is_stub(mine):
        return _not_done("write capture_conv3 so that it returns conv3's output.")
    if count_hooks(model):
        return _report(
            False, "", "a hook was left on the model: keep register_forward_hook's handle and call .remove()."
        )
    with torch.no_grad(), capture_activations(model, ["conv3", "relu3"]) as expected:
        model(images)
    if not isinstance(mine, torch.Tensor) or mine.shape != expected["conv3"].shape:
        shape = tuple(mine.shape) if isinstance(mine, torch.Tensor) else type(mine).__name__
        return _report(False, "", f"conv3's output has shape {tuple(expected['conv3'].shape)}; got {shape}.")
    if torch.allclose(mine, expected["relu3"]) and not torch.allclose(mine, expected["conv3"]):
        return _report(False, "", "that is relu3's output; hook model.conv3 itself (its ReLU is a separate stage).")
    if not torch.allclose(mine, expected["conv3"], atol=1e-5):
        return _report(False, "", "the values differ from conv3's output: store the hook's `output` argument.")
    model.conv5 = _FailsHere()  # now a forward pass fails after conv3: is the hook still removed?
    with suppress(Exception):  # the failure is the point; the learner's function may pass it on
        capture_conv3(model, images)
    return _report(
        count_hooks(model) == 0,
        "your hook captures conv3 and is gone afterwards, even when the forward pass fails.",
        "when the forward pass raises, your hook stays on the model: remove it in a `finally:` block.",
    )


def check_nearest(my_nearest: Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]) -> bool:
    """Exercise 05.3: ``my_nearest(queries, database, k)``: Q x k indices of the nearest rows by Euclidean distance."""
    from .features import nearest_neighbours

    generator = torch.Generator().manual_seed(0)
    database = torch.randn(300, 32, generator=generator)
    queries = torch.randn(6, 32, generator=generator)
    try:
        mine = my_nearest(queries, database, 5)
    except Exception as error:  # a learner's code may raise anything; show it as a hint
        return _report(False, "", f"my_nearest raised {type(error).__name__}: {error}")
    if _is_stub(mine):
        return _not_done("write my_nearest so that it returns the indices of the k nearest rows.")
    if not isinstance(mine, torch.Tensor) or mine.shape != (6, 5):
        shape = tuple(mine.shape) if isinstance(mine, torch.Tensor) else type(mine).__name__
        return _report(False, "", f"return a (queries x k) tensor of indices, here (6, 5); got {shape}.")
    expected = nearest_neighbours(queries, database, 5).indices
    farthest = torch.cdist(queries, database).topk(5, dim=1).indices
    if torch.equal(mine.long(), expected):
        return _report(True, "exact nearest neighbours, nearest first.", "")
    if torch.equal(mine.long(), farthest):
        return _report(False, "", "those are the farthest rows: take the smallest distances (largest=False).")
    if torch.equal(mine.long().sort(1).values, expected.sort(1).values):
        return _report(False, "", "the right rows, in the wrong order: put the nearest first.")
    return _report(
        False, "", "compute every distance (torch.cdist(queries, database)), then .topk(k, largest=False).indices."
    )


# Lesson 06: inference ------------------------------------------------------------------


def check_flatten_on_white(my_flatten: Callable[[torch.Tensor], torch.Tensor]) -> bool:
    """Exercise 06.1: ``my_flatten(rgba)``: an H x W x 4 uint8 RGBA tensor as H x W x 3 RGB on white."""
    import numpy as np
    from PIL import Image

    from .images import to_mode

    generator = torch.Generator().manual_seed(0)
    rgba = torch.randint(0, 256, (6, 7, 4), dtype=torch.uint8, generator=generator)
    rgba[0, :, 3], rgba[1, :, 3] = 0, 255  # a transparent row, an opaque row
    try:
        mine = my_flatten(rgba.clone())
    except Exception as error:  # a learner's code may raise anything; show it as a hint
        return _report(False, "", f"my_flatten raised {type(error).__name__}: {error}")
    if _is_stub(mine):
        return _not_done("write my_flatten so that it returns the H x W x 3 image.")
    if not isinstance(mine, torch.Tensor) or tuple(mine.shape) != (6, 7, 3):
        return _report(False, "", "return an H x W x 3 tensor (here 6 x 7 x 3), channels last like the input.")
    mine = mine.double()
    colour, alpha = rgba[..., :3].double(), rgba[..., 3:].double() / 255
    expected = torch.from_numpy(np.array(to_mode(Image.fromarray(rgba.numpy(), "RGBA"), "RGB"))).double()
    if (mine - expected).abs().max() <= 1.01:  # rounding may differ by one grey level
        return _report(True, "each pixel is alpha of its colour plus (1 - alpha) of white.", "")
    if mine.max() <= 1 and (mine * 255 - expected).abs().max() <= 1.01:
        return _report(False, "", "right mixture, but keep the 0..255 scale of the input.")
    if torch.allclose(mine, colour):
        return _report(False, "", "that drops alpha: transparent pixels keep the colour the file stores there.")
    if (mine - colour * alpha).abs().max() <= 1.01:
        return _report(False, "", "that is the picture on black: add the white background's share, (1 - alpha) * 255.")
    return _report(False, "", "with a = alpha / 255: result = a * colour + (1 - a) * 255, for each of R, G and B.")


def check_ten_crop_corners(answer: Any) -> bool:
    """Exercise 06.2: the (left, top) corners of §4.1's five 224x224 patches of a 256x256 image."""
    if _is_stub(answer):
        return _not_done("replace ... with five (left, top) pairs.")
    try:
        corners = {(float(left), float(top)) for left, top in answer}
    except (TypeError, ValueError):
        return _report(False, "", "give a list of five (left, top) pairs, e.g. [(0, 0), ...].")
    expected = {(0.0, 0.0), (32.0, 0.0), (0.0, 32.0), (32.0, 32.0), (16.0, 16.0)}
    if corners == expected:
        return _report(True, "four corners and the centre; their mirror images make ten.", "")
    if corners == expected - {(16.0, 16.0)}:
        return _report(False, "", "five patches: the four corners and the centre one.")
    if any(224 in pair or 256 in pair for pair in corners):
        return _report(False, "", "a patch starts at its left/top corner: a 224 patch in 256 starts at 0 or 256 - 224.")
    return _report(False, "", "corners start at 0 or 256 - 224 = 32; the centre patch at (256 - 224) / 2 on both axes.")


def check_confident_accuracy(answer: Any, probs: torch.Tensor, labels: torch.Tensor, threshold: float) -> bool:
    """Exercise 06.3: the accuracy of the predictions whose largest probability is at least ``threshold``."""
    if _is_stub(answer):
        return _not_done("replace ... with a fraction between 0 and 1.")
    if isinstance(answer, torch.Tensor) and answer.numel() == 1:
        answer = answer.item()
    if isinstance(answer, bool) or not isinstance(answer, (int, float)):
        return _report(False, "", f"the answer should be a number, got {type(answer).__name__}.")
    confidence, predicted = probs.max(1)
    confident = confidence >= threshold
    if not confident.any():
        return _report(False, "", f"no prediction here reaches {threshold}; try a lower threshold.")
    right = predicted == labels
    expected = right[confident].float().mean().item()
    if abs(answer - expected) < 5e-3:
        return _report(
            True,
            f"{expected:.1%} of the {int(confident.sum())} confident predictions are right "
            f"(all predictions: {right.float().mean():.1%}).",
            "",
        )
    if abs(answer - 100 * expected) < 0.5:
        return _report(False, "", "give a fraction (0.95), not a percentage (95).")
    if abs(answer - right.float().mean().item()) < 5e-3:
        return _report(
            False, "", f"that is the accuracy of all predictions: keep those with confidence >= {threshold}."
        )
    if abs(answer - confident.float().mean().item()) < 5e-3:
        return _report(False, "", "that is the share of confident predictions: of those, how many are right?")
    return _report(
        False, "", "confidence = probs.max(1).values; keep = confidence >= threshold; then the mean of right[keep]."
    )


# Lesson 02: data preparation ---------------------------------------------------------------


def check_crop_side(answer: Any) -> bool:
    """Exercise 02.1: the side, in pixels, of the paper's 224/256 crop (§4.1) taken from a 32x32 CIFAR-10 image."""
    return _check_number(
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
    from .datasets import compute_stats

    if _is_stub(mean) or _is_stub(std):
        return _not_done("compute the mean and the std of each channel.")
    mine_mean, mine_std = _as_vector(mean), _as_vector(std)
    channels = images.shape[1]
    if mine_mean is None or mine_std is None or len(mine_mean) != channels or len(mine_std) != channels:
        return _report(
            False, "", f"give one value per channel ({channels}): reduce over images, height and width (dim=(0, 2, 3))."
        )
    expected = compute_stats(images)
    expected_mean = torch.tensor(expected.mean, dtype=torch.float64)
    expected_std = torch.tensor(expected.std, dtype=torch.float64)
    if torch.allclose(mine_mean, expected_mean * 255, rtol=1e-3):
        return _report(False, "", "those are in 0..255 units: divide the pixels by 255 first.")
    if not torch.allclose(mine_mean, expected_mean, atol=1e-4):
        return _report(False, "", "the mean of a channel is the average of all its pixels in all images.")
    per_image_std = images.double().div(255).std(dim=(2, 3)).mean(0)
    # rtol: the std with or without Bessel's correction (dividing by n - 1 or n) both count.
    right_std = torch.allclose(mine_std, expected_std, rtol=1e-3, atol=1e-4)
    if torch.allclose(mine_std, per_image_std, atol=1e-4) and not right_std:
        return _report(
            False, "", "that is the average of each image's own std; take the std of all pixels of all images at once."
        )
    return _report(
        right_std,
        f"mean {[round(v, 4) for v in expected.mean]}, std {[round(v, 4) for v in expected.std]}.",
        "the std of a channel is the spread of all its pixels around the channel's mean: x.std(dim=(0, 2, 3)).",
    )


def check_horizontal_flip(my_flip: Callable[[torch.Tensor], torch.Tensor]) -> bool:
    """Exercise 02.3: ``my_flip(images)`` mirrors a batch (N x C x H x W) left to right, as §4.1's reflections."""
    images = torch.randint(0, 256, (2, 3, 5, 7), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    try:
        mine = my_flip(images.clone())
    except Exception as error:  # a learner's code may raise anything; show it as a hint
        return _report(False, "", f"my_flip raised {type(error).__name__}: {error}")
    if _is_stub(mine):
        return _not_done("write my_flip so that it returns the mirrored batch.")
    if not isinstance(mine, torch.Tensor) or mine.shape != images.shape:
        return _report(False, "", f"return a tensor of the same shape as the batch, {tuple(images.shape)}.")
    if torch.equal(mine, images.flip(-2)):
        return _report(False, "", "that turns the images upside down: reverse the width (last dim), not the height.")
    if torch.equal(mine, images):
        return _report(False, "", "the images came back unchanged: reverse the order of the columns.")
    return _report(
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
    try:
        mine = my_shift(alpha.clone(), eigenvalues.clone(), eigenvectors.clone())
    except Exception as error:  # a learner's code may raise anything; show it as a hint
        return _report(False, "", f"my_shift raised {type(error).__name__}: {error}")
    if _is_stub(mine):
        return _not_done("write my_shift so that it returns the colour shift, one value per channel.")
    if not isinstance(mine, torch.Tensor) or mine.numel() != 3:
        return _report(False, "", "return a tensor of 3 values, one per colour channel.")
    mine = mine.flatten().float()
    expected = eigenvectors @ (alpha * eigenvalues.sqrt())
    if torch.allclose(mine, eigenvectors @ (alpha * eigenvalues), atol=1e-5):
        return _report(
            False,
            "",
            "you scaled by the eigenvalues themselves, which is exactly what §4.1 prints, so you read the "
            "paper right. This exercise asks for their square roots, as Krizhevsky's cuda-convnet2 code does: "
            "an eigenvalue is a variance (pixel units squared), its square root the std along that axis, "
            "in pixel units like the shift. Use eigenvalues.sqrt().",
        )
    if torch.allclose(mine, eigenvectors.T @ (alpha * eigenvalues.sqrt()), atol=1e-5):
        return _report(False, "", "the eigenvectors are the columns of the matrix, not its rows.")
    return _report(
        torch.allclose(mine, expected, atol=1e-5),
        "that is the colour shift added to every pixel of the image.",
        "multiply each alpha by the square root of its eigenvalue, then combine the eigenvector columns: "
        "eigenvectors @ (alpha * eigenvalues.sqrt()).",
    )
