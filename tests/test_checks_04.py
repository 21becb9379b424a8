"""Notebook 04's check: the teacher's ten crops pass, nbgrader's stub is "not done yet", typical mistakes named."""

import pytest
import torch

from alexnet_lib.lessons.checking import NotYet
from alexnet_lib.lessons.train_cifar10 import check_ten_crop
from alexnet_lib.transforms import ten_crop_views

from .notebook_exercises import exercise

NOTEBOOK = "04_train_cifar10"


def teacher():
    return exercise(NOTEBOOK, "ex04_ten_crop", "ten_crop_probs", {"torch": torch})


def message(ten_crop_probs):
    with pytest.raises(NotYet) as verdict:
        check_ten_crop(ten_crop_probs)
    return str(verdict.value)


def views(images, side, mirrors=True):
    """The ten views (or the five unmirrored), cut the way the solution does, for the wrong answers below."""
    height, width = images.shape[-2:]
    bottom, right = height - side, width - side
    for top, left in [(0, 0), (0, right), (bottom, 0), (bottom, right), (bottom // 2, right // 2)]:
        patch = images[..., top : top + side, left : left + side]
        yield from (patch, patch.flip(-1)) if mirrors else (patch,)


def averaged_logits(model, images, side):
    return torch.stack([model(view) for view in views(images, side)]).mean(0).softmax(1)


def without_mirrors(model, images, side):
    return torch.stack([model(view).softmax(1) for view in views(images, side, mirrors=False)]).mean(0)


def vertical_mirrors(model, images, side):
    patches = list(views(images, side, mirrors=False))
    return torch.stack([model(view).softmax(1) for patch in patches for view in (patch, patch.flip(-2))]).mean(0)


def centre_only(model, images, side):
    return list(views(images, side))[8:]


def centre_patch(model, images, side):
    return model(list(views(images, side))[8]).softmax(1)


def logits_returned(model, images, side):
    return torch.stack([model(view) for view in views(images, side)]).mean(0)


def torchvision_crops(model, images, side):
    from torchvision.transforms.functional import ten_crop

    return torch.stack([model(view).softmax(1) for view in ten_crop(images, side)]).mean(0)


def library_views(model, images, side):
    return ten_crop_views(len(images), *images.shape[-2:], 1.0, images.device)


def test_the_teachers_ten_crops_pass_on_every_seed(capsys):
    ten_crop_probs = teacher()
    for seed in (0, 7, 1, 2, 3, 4, 5):  # heights and widths 10 to 14, taller and wider than long
        assert check_ten_crop(ten_crop_probs, seed) is True
    assert all(line.startswith("Correct! ten views") for line in capsys.readouterr().out.splitlines())


def test_mirroring_the_whole_image_first_gives_the_same_ten_views(capsys):
    def mirrored_first(model, images, side):
        both = [view for image in (images, images.flip(-1)) for view in views(image, side, mirrors=False)]
        return torch.stack([model(view).softmax(1) for view in both]).mean(0)

    assert check_ten_crop(mirrored_first) is True


def test_the_untouched_exercise_is_not_done_yet():
    stub = exercise(NOTEBOOK, "ex04_ten_crop", "ten_crop_probs", {"torch": torch}, student=True)
    assert message(stub).startswith("Not done yet: write ten_crop_probs")


@pytest.mark.parametrize(
    ("ten_crop_probs", "diagnosis"),
    [
        (averaged_logits, "the logits were averaged"),
        (without_mirrors, "without their mirror images"),
        (vertical_mirrors, "the mirror's axis"),
        (centre_only, "one row of class probabilities per image"),
        (centre_patch, "the centre patch alone"),
        (logits_returned, "each summing to 1"),
        (torchvision_crops, "torchvision's ten_crop"),
        (library_views, "calls alexnet_lib.transforms.ten_crop_views, the course's own code"),
    ],
)
def test_typical_mistakes_are_named(ten_crop_probs, diagnosis):
    text = message(ten_crop_probs)
    assert text.startswith("Not yet: ") and diagnosis in text
