"""Lesson 06's exercise checks: the teacher's solutions pass on every seed, untouched stubs are "not done yet",
typical mistakes get their diagnosis, the course's own code is refused, and the hints give no code."""

import numpy as np
import pytest
import torch
from PIL import Image

from alexnet_lib.images import to_mode
from alexnet_lib.inference import ranked
from alexnet_lib.lessons.inference_checks import (
    HINTS,
    check_confident_accuracy,
    check_five_corners,
    check_flatten_on_white,
    check_top_k,
)
from alexnet_lib.transforms import ten_crop_views

from .notebook_exercises import graded_cells_say_correct, outcome, stub


def assert_diagnosis(check, answer, diagnosis):
    message = outcome(check, answer)
    assert message.startswith("Not") and diagnosis in message, message
    assert "\n" not in message


# 06.1 -------------------------------------------------------------------------------------


def top_k(logits, classes, k):  # the teacher's solution, as in the notebook
    values, indices = logits.softmax(1).topk(k, dim=1)
    return [
        [(classes[i], p) for p, i in zip(row_values, row_indices, strict=True)]
        for row_values, row_indices in zip(values.tolist(), indices.tolist(), strict=True)
    ]


def top_k_of(scores):
    """A top-k like the solution's, but ranking ``scores(logits)`` instead of the softmax."""

    def answer(logits, classes, k):
        values, indices = scores(logits).topk(k, dim=1)
        return [
            [(classes[i], p) for p, i in zip(v, n, strict=True)]
            for v, n in zip(values.tolist(), indices.tolist(), strict=True)
        ]

    return answer


def least_probable(logits, classes, k):
    probs = logits.softmax(1)
    indices = probs.topk(k, dim=1, largest=False).indices
    return [[(classes[i], probs[row, i].item()) for i in line] for row, line in enumerate(indices.tolist())]


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5, 7])
def test_top_k_solution_passes_every_seed(seed):
    assert outcome(check_top_k, top_k, seed).startswith("Correct!")


def test_top_k_accepts_tensors_and_tuples():
    def as_tensors(logits, classes, k):
        values, indices = logits.softmax(1).topk(k, dim=1)
        return tuple(
            tuple((classes[i], p) for p, i in zip(v, n, strict=True)) for v, n in zip(values, indices, strict=True)
        )

    assert outcome(check_top_k, as_tensors).startswith("Correct!")


@pytest.mark.parametrize(
    ("answer", "diagnosis"),
    [
        (stub, "Not done yet"),
        (top_k_of(lambda logits: logits), "those are logits"),
        (top_k_of(lambda logits: logits.softmax(0)), "normalised across images"),
        (top_k_of(lambda logits: logits.log_softmax(1)), "log-probabilities"),
        (least_probable, "least probable"),
        (lambda logits, classes, k: [row[::-1] for row in top_k(logits, classes, k)], "wrong order"),
        (
            lambda logits, classes, k: [[(i, p) for i, (_, p) in enumerate(row)] for row in top_k(logits, classes, k)],
            "names",
        ),
        (lambda logits, classes, k: logits.softmax(1).topk(k), "one entry per image"),
        (lambda logits, classes, k: top_k(logits, classes, k)[:-1], "one entry per image"),
        (lambda logits, classes, k: top_k(logits, classes, k + 1), "k = "),
        (
            lambda logits, classes, k: [ranked(row, classes, k) for row in logits.softmax(1)],
            "ranked, the course's own code",
        ),
    ],
)
def test_top_k_diagnoses(answer, diagnosis):
    assert_diagnosis(check_top_k, answer, diagnosis)


# 06.2 -------------------------------------------------------------------------------------


def flatten_on_white(rgba):  # the teacher's solution
    alpha = rgba[..., 3:].float() / 255
    return (rgba[..., :3].float() * alpha + 255 * (1 - alpha)).round().to(torch.uint8)


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 7])
def test_flatten_solution_passes_every_seed(seed):
    assert outcome(check_flatten_on_white, flatten_on_white, seed).startswith("Correct!")


@pytest.mark.parametrize(
    ("answer", "diagnosis"),
    [
        (stub, "Not done yet"),
        (lambda rgba: rgba[..., :3], "drops alpha"),
        (lambda rgba: rgba[..., :3].float() * rgba[..., 3:].float() / 255, "on black"),
        (lambda rgba: flatten_on_white(rgba).float() / 255, "0..255 scale"),
        (lambda rgba: flatten_on_white(rgba).permute(2, 0, 1), "H x W x 3"),
        (lambda rgba: 255 - flatten_on_white(rgba), "not the picture on white"),
        (lambda rgba: 1 / 0, "raised ZeroDivisionError"),
        (
            lambda rgba: torch.from_numpy(np.array(to_mode(Image.fromarray(rgba.numpy(), "RGBA"), "RGB"))),
            "PIL.Image.fromarray, a library function that does the whole job",
        ),
    ],
)
def test_flatten_diagnoses(answer, diagnosis):
    assert_diagnosis(check_flatten_on_white, answer, diagnosis)


# 06.3 -------------------------------------------------------------------------------------


def five_corners(height, width, side):  # the teacher's solution
    right, bottom = width - side, height - side
    return [(0, 0), (right, 0), (0, bottom), (right, bottom), (right / 2, bottom / 2)]


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5, 7])
def test_five_corners_solution_passes_every_seed(seed):
    assert outcome(check_five_corners, five_corners, seed).startswith("Correct!")


def test_five_corners_accepts_whole_pixels_in_any_order():
    def rounded(height, width, side):
        return [(int(left), int(top)) for left, top in reversed(five_corners(height, width, side))]

    assert outcome(check_five_corners, rounded).startswith("Correct!")


@pytest.mark.parametrize(
    ("answer", "diagnosis"),
    [
        (stub, "Not done yet"),
        (lambda h, w, s: five_corners(h, w, s)[:4], "the four corners and the centre"),
        (lambda h, w, s: [(top, left) for left, top in five_corners(h, w, s)], "swapped"),
        (lambda h, w, s: [(0, 0), (s, 0), (0, s), (s, s), (s / 2, s / 2)], "not the corners"),
        (lambda h, w, s: five_corners(h, w, s) * 2, "five (left, top) pairs"),
        (lambda h, w, s: 5, "a list of five"),
        (
            lambda h, w, s: [(v.left.item(), v.top.item()) for v in ten_crop_views(1, h, w, s / min(h, w), "cpu")][:5],
            "ten_crop_views, the course's own code",
        ),
    ],
)
def test_five_corners_diagnoses(answer, diagnosis):
    assert_diagnosis(check_five_corners, answer, diagnosis)


# 06.4 -------------------------------------------------------------------------------------


def confident_accuracy(probs, labels, threshold):  # the teacher's solution
    confidence, predicted = probs.max(1)
    keep = confidence >= threshold
    return (predicted[keep] == labels[keep]).float().mean().item()


@pytest.mark.parametrize("seed", [0, 1, 2, 7])
def test_confident_accuracy_solution_passes_every_seed(seed):
    assert outcome(check_confident_accuracy, confident_accuracy, seed).startswith("Correct!")
    tensor = lambda p, y, t: torch.tensor(confident_accuracy(p, y, t))  # noqa: E731
    assert outcome(check_confident_accuracy, tensor, seed).startswith("Correct!")


@pytest.mark.parametrize(
    ("answer", "diagnosis"),
    [
        (stub, "Not done yet"),
        (lambda p, y, t: 100 * confident_accuracy(p, y, t), "not a percentage"),
        (lambda p, y, t: (p.argmax(1) == y).float().mean().item(), "accuracy of all predictions"),
        (lambda p, y, t: (p.max(1).values >= t).float().mean().item(), "share of confident predictions"),
        (lambda p, y, t: 0.5, "not the accuracy of the confident predictions"),
        (lambda p, y, t: "0.67", "a number between 0 and 1"),
    ],
)
def test_confident_accuracy_diagnoses(answer, diagnosis):
    assert_diagnosis(check_confident_accuracy, answer, diagnosis)


# Hints ------------------------------------------------------------------------------------


def test_every_failure_points_to_its_hint():
    assert outcome(check_top_k, top_k_of(lambda logits: logits)).endswith("(hint('06.1') for a hint)")
    assert outcome(check_five_corners, lambda h, w, s: [(0, 0)]).endswith("(hint('06.3') for a hint)")


# The notebook ------------------------------------------------------------------------------


def test_the_notebooks_solutions_pass_its_tests_hidden_ones_included():
    checks = {name: value for name, value in globals().items() if name.startswith("check_")}
    graded_cells_say_correct("06_inference", {"torch": torch, **checks}, exercises=len(HINTS))


def test_tensors_where_numbers_belong_are_a_diagnosis_not_a_traceback():
    rows = lambda logits, classes, k: [[(classes[0], torch.ones(2))] * k for _ in logits]  # noqa: E731
    assert "one entry per image" in outcome(check_top_k, rows)
    assert "five (left, top) pairs" in outcome(check_five_corners, lambda h, w, s: [(torch.ones(2), 0)] * 5)
