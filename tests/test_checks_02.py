"""Lesson 02's checks: the notebook's solutions pass, nbgrader's stubs are "not done yet", slips get their diagnosis."""

import pytest
import torch

from alexnet_lib.lessons.data import check_colour_shift, check_crop_and_mirror
from alexnet_lib.transforms import BatchTransform, pca_noise

from .conftest import fails
from .notebook_exercises import exercise

NOTEBOOK = "02_data"
FUNCTIONS = {"ex02_crop": "my_crop_and_mirror", "ex02_colour": "my_colour_shift"}


def solution(grade_id: str, student: bool = False):
    """The function the notebook's exercise cell ``grade_id`` defines; ``student``: with nbgrader's stub."""
    return exercise(NOTEBOOK, grade_id, FUNCTIONS[grade_id], {"torch": torch}, student=student)


def test_the_notebook_solutions_pass_on_several_seeds(capsys):
    crop, shift = solution("ex02_crop"), solution("ex02_colour")
    for seed in range(8):  # the bounds are many standard deviations wide: no seed fails a right answer
        assert check_crop_and_mirror(crop, seed=seed)
        assert check_colour_shift(shift, seed=seed)
    assert all(line.startswith("Correct! ") for line in capsys.readouterr().out.splitlines())


def test_untouched_stubs_are_not_done_yet():
    with pytest.raises(AssertionError, match=r"^Not done yet: write my_crop_and_mirror .*\(hint\('02\.1'\)"):
        check_crop_and_mirror(solution("ex02_crop", student=True))
    with pytest.raises(AssertionError, match=r"^Not done yet: write my_colour_shift .*\(hint\('02\.2'\)"):
        check_colour_shift(solution("ex02_colour", student=True))


def crops_at(images, side, tops, lefts, mirrored):
    """The side x side windows at the given corners, mirrored where asked."""
    corners = zip(images, tops.tolist(), lefts.tolist(), strict=True)
    crops = [image[:, top : top + side, left : left + side] for image, top, left in corners]
    return torch.stack([c.flip(-1) if m else c for c, m in zip(crops, mirrored.tolist(), strict=True)])


def test_crop_slips_get_their_diagnosis(capsys):
    right = solution("ex02_crop")

    def exclusive_end(images, side, generator):
        n, _, height, width = images.shape
        tops = torch.randint(0, height - side, (n,), generator=generator)
        lefts = torch.randint(0, width - side, (n,), generator=generator)
        return crops_at(images, side, tops, lefts, torch.rand(n, generator=generator) < 0.5)

    def one_position(images, side, generator):
        n = len(images)
        return crops_at(
            images, side, torch.ones(n, dtype=torch.long), torch.ones(n, dtype=torch.long), torch.rand(n) < 0.5
        )

    assert fails(check_crop_and_mirror, lambda images, side, g: right(images, side, g).flip(-2))
    assert fails(check_crop_and_mirror, lambda images, side, g: right(images, side, g).roll(1, 0))
    assert fails(check_crop_and_mirror, exclusive_end)
    assert fails(check_crop_and_mirror, one_position)
    assert fails(
        check_crop_and_mirror, lambda images, side, g: right(images, side, g).flip(-1) * 0 + images[..., :side, :side]
    )
    assert fails(check_crop_and_mirror, lambda images, side, g: right(images, side, None))  # the global generator
    assert fails(check_crop_and_mirror, lambda images, side, g: images)
    assert fails(check_crop_and_mirror, lambda images, side, g: BatchTransform(side, None, train=True)(images))
    lines = capsys.readouterr().out.splitlines()
    assert "upside down" in lines[0] and "another image" in lines[1] and "exclusive" in lines[2]
    assert "same crop position" in lines[3] and "same crop position" in lines[4] and "generator" in lines[5]
    assert "N x C x side x side" in lines[6] and "BatchTransform.__call__, the course's own code" in lines[7]
    assert all(line.startswith("Not yet: ") for line in lines)


def shifted(alpha_draw, scale, vectors_t=True):
    """A colour shift built from ``alpha_draw(n, generator)``, scaled by ``scale(eigenvalues)``."""

    def shift(images, eigenvalues, eigenvectors, generator):
        alpha = alpha_draw(len(images), generator)
        vectors = eigenvectors.T if vectors_t else eigenvectors
        return images + ((alpha * scale(eigenvalues)) @ vectors)[:, :, None, None]

    return shift


def test_colour_shift_slips_get_their_diagnosis(capsys):
    gaussian = lambda n, g: torch.randn(n, 3, generator=g) * 0.1  # noqa: E731
    right = solution("ex02_colour")
    assert check_colour_shift(shifted(gaussian, torch.sqrt))  # an equivalent written differently passes too
    assert fails(check_colour_shift, shifted(gaussian, lambda values: values))  # §4.1 as printed
    assert fails(check_colour_shift, shifted(gaussian, torch.sqrt, vectors_t=False))
    assert fails(check_colour_shift, lambda images, *args: right(images, *args).clamp(0, 1))
    assert fails(
        check_colour_shift, shifted(lambda n, g: torch.randn(1, 3, generator=g).expand(n, 3) * 0.1, torch.sqrt)
    )
    assert fails(
        check_colour_shift, shifted(lambda n, g: torch.randn(n, 1, generator=g).expand(n, 3) * 0.1, torch.sqrt)
    )
    assert fails(check_colour_shift, shifted(lambda n, g: torch.randn(n, 3, generator=g), torch.sqrt))
    assert fails(
        check_colour_shift, shifted(lambda n, g: (torch.rand(n, 3, generator=g) - 0.5) * 0.1 * 12**0.5, torch.sqrt)
    )
    assert fails(
        check_colour_shift, lambda images, values, vectors, g: images + torch.randn(images.shape, generator=g) / 50
    )
    assert fails(check_colour_shift, lambda images, values, vectors, g: right(images, values, vectors, None))
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Correct!")
    assert "read the paper right" in lines[1] and "cuda-convnet2" in lines[1] and "columns" in lines[2]
    assert "do not clip" in lines[3] and "same vector" in lines[4] and "one alpha per component" in lines[5]
    assert "std [1.0" in lines[6] and "not Gaussian" in lines[7] and "different amounts" in lines[8]
    assert "generator" in lines[9]
    assert all(line.startswith("Not yet: ") and line.endswith("(hint('02.2') for a hint)") for line in lines[1:])


def test_colour_shift_check_refuses_the_library(capsys):
    stats_like = type("Stats", (), {"pca_eigenvectors": None, "pca_eigenvalues": None})
    assert fails(
        check_colour_shift, lambda images, values, vectors, g: pca_noise(stats_like, len(images), 0.1, g, "cpu")
    )
    assert "calls alexnet_lib.transforms.pca_noise, the course's own code" in capsys.readouterr().out
