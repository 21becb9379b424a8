"""Lesson 02's exercise checks: right answers pass, wrong ones get a hint, stubs are "not done yet", as NotYet."""

import numpy as np
import torch

from alexnet_lib.lessons.data import check_channel_stats, check_crop_side, check_horizontal_flip, check_pca_shift

from .conftest import fails


def verdicts(capsys) -> list[str]:
    """The first words of each printed line: Correct, Not yet, or Not done yet."""
    return [line.split(":")[0].split("!")[0] for line in capsys.readouterr().out.splitlines()]


def test_crop_side(capsys):
    assert check_crop_side(28) and check_crop_side(28.0)
    assert fails(check_crop_side, 32) and fails(check_crop_side, "28")
    assert fails(check_crop_side, ...)
    assert verdicts(capsys) == ["Correct", "Correct", "Not yet", "Not yet", "Not done yet"]


def test_channel_stats(capsys):
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (20, 3, 8, 8), dtype=torch.uint8, generator=generator)
    images[:10] //= 4  # dark and bright images: the per-image std differs from the overall one
    x = images.double() / 255
    mean, std = x.mean(dim=(0, 2, 3)), x.std(dim=(0, 2, 3))
    assert check_channel_stats(mean, std, images)
    assert check_channel_stats(mean.tolist(), tuple(std.tolist()), images)  # lists and tuples are fine
    assert check_channel_stats(mean.numpy(), np.asarray(std), images)
    assert fails(check_channel_stats, mean * 255, std * 255, images)  # forgot to scale
    assert fails(check_channel_stats, mean, x.std(dim=(2, 3)).mean(0), images)  # mean of per-image stds
    assert fails(check_channel_stats, x.mean(), x.std(), images)  # one number for all channels
    assert fails(check_channel_stats, mean, std * 2, images)
    assert fails(check_channel_stats, "mean", std, images)
    assert fails(check_channel_stats, ..., ..., images)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0].split("!")[0] for line in lines] == ["Correct"] * 3 + ["Not yet"] * 5 + ["Not done yet"]
    assert "divide the pixels by 255" in lines[3] and "each image's own std" in lines[4]


def test_horizontal_flip(capsys):
    def stub(images): ...

    def crashes(images):
        raise ValueError("oops")

    assert check_horizontal_flip(lambda images: images.flip(-1))
    assert check_horizontal_flip(lambda images: images[..., torch.arange(images.shape[-1] - 1, -1, -1)])
    assert fails(check_horizontal_flip, lambda images: images.flip(-2))
    assert fails(check_horizontal_flip, lambda images: images)
    assert fails(check_horizontal_flip, lambda images: images.flip(-1)[0])
    assert fails(check_horizontal_flip, crashes)
    assert fails(check_horizontal_flip, stub)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0].split("!")[0] for line in lines] == ["Correct"] * 2 + ["Not yet"] * 4 + ["Not done yet"]
    assert "upside down" in lines[2] and "ValueError: oops" in lines[5]


def test_pca_shift(capsys):
    def stub(alpha, eigenvalues, eigenvectors): ...

    assert check_pca_shift(lambda a, values, vectors: vectors @ (a * values.sqrt()))
    assert check_pca_shift(lambda a, values, vectors: sum(vectors[:, k] * a[k] * values[k] ** 0.5 for k in range(3)))
    assert fails(check_pca_shift, lambda a, values, vectors: vectors @ (a * values))  # the paper's literal formula
    assert fails(check_pca_shift, lambda a, values, vectors: vectors.T @ (a * values.sqrt()))  # rows, not columns
    assert fails(check_pca_shift, lambda a, values, vectors: a * values.sqrt())
    assert fails(check_pca_shift, lambda a, values, vectors: 1 / 0)
    assert fails(check_pca_shift, stub)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0].split("!")[0] for line in lines] == ["Correct"] * 2 + ["Not yet"] * 4 + ["Not done yet"]
    assert "square roots" in lines[2] and "columns" in lines[3]


def test_pca_shift_literal_paper_formula_is_explained(capsys):
    """§4.1 as printed scales by the eigenvalues: the learner is told that is the paper, and why the course differs."""
    assert fails(check_pca_shift, lambda a, values, vectors: vectors @ (a * values))
    assert fails(check_pca_shift, lambda a, values, vectors: (a * values) @ vectors.T)  # the same, written row-wise
    first, second = capsys.readouterr().out.splitlines()
    assert first == second
    assert first.startswith("Not yet: ") and "§4.1" in first and "read the paper right" in first
    assert "cuda-convnet2" in first and "std" in first and "eigenvalues.sqrt()" in first
