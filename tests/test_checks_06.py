"""Lesson 06 exercise checks: right answers pass, stubs are "not done yet", wrong ones get a hint, as NotYet."""

import pytest
import torch

from alexnet_lib.lessons.inference import check_confident_accuracy, check_flatten_on_white, check_ten_crop_corners

from .conftest import fails


def flatten_on_white(rgba):
    alpha = rgba[..., 3:].float() / 255
    return (rgba[..., :3].float() * alpha + 255 * (1 - alpha)).round().to(torch.uint8)


def printed(capsys) -> str:
    return capsys.readouterr().out


def test_flatten_on_white(capsys):
    assert check_flatten_on_white(flatten_on_white) and printed(capsys).startswith("Correct!")

    def stub(rgba): ...

    assert fails(check_flatten_on_white, stub) and printed(capsys).startswith("Not done yet")
    wrong = {
        "drops alpha": lambda rgba: rgba[..., :3],
        "on black": lambda rgba: rgba[..., :3].float() * rgba[..., 3:].float() / 255,
        "0..255 scale": lambda rgba: flatten_on_white(rgba).float() / 255,
        "H x W x 3": lambda rgba: flatten_on_white(rgba).permute(2, 0, 1),
        "raised ZeroDivisionError": lambda rgba: 1 / 0,
    }
    for hint, answer in wrong.items():
        assert fails(check_flatten_on_white, answer)
        out = printed(capsys)
        assert out.startswith("Not yet") and hint in out, out


def test_ten_crop_corners(capsys):
    right = [(0, 0), (32, 0), (0, 32), (32, 32), (16, 16)]
    assert check_ten_crop_corners(right) and printed(capsys).startswith("Correct!")
    assert check_ten_crop_corners(reversed(right)) and printed(capsys).startswith("Correct!")
    assert fails(check_ten_crop_corners, ...) and printed(capsys).startswith("Not done yet")
    for answer, hint in (
        (right[:4], "the centre one"),
        ([(0, 0), (224, 0), (0, 224), (224, 224), (112, 112)], "256 - 224"),
        ([(0, 0), (32, 0), (0, 32), (32, 32), (20, 20)], "(256 - 224) / 2"),
        (5, "list of five"),
    ):
        assert fails(check_ten_crop_corners, answer)
        out = printed(capsys)
        assert out.startswith("Not yet") and hint in out, out


@pytest.fixture
def predictions():
    probs = torch.tensor([[0.9, 0.1], [0.85, 0.15], [0.2, 0.8], [0.6, 0.4], [0.45, 0.55]])
    labels = torch.tensor([0, 1, 1, 1, 0])  # confident (>= 0.8): rows 0, 1, 2; right: 0 and 2
    return probs, labels


def test_confident_accuracy(capsys, predictions):
    probs, labels = predictions
    assert check_confident_accuracy(2 / 3, probs, labels, 0.8) and printed(capsys).startswith("Correct!")
    assert check_confident_accuracy(torch.tensor(2 / 3), probs, labels, 0.8)
    printed(capsys)
    assert fails(check_confident_accuracy, ..., probs, labels, 0.8) and printed(capsys).startswith("Not done yet")
    for answer, hint in (
        (66.7, "not a percentage"),
        (0.4, "accuracy of all predictions"),
        (0.6, "share of confident predictions"),
        (0.1, "probs.max(1)"),
        ("0.67", "should be a number"),
    ):
        assert fails(check_confident_accuracy, answer, probs, labels, 0.8)
        out = printed(capsys)
        assert out.startswith("Not yet") and hint in out, out
    assert fails(check_confident_accuracy, 0.5, probs, labels, 0.95)
    assert "no prediction here reaches" in printed(capsys)
