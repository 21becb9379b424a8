"""The paper's input pipeline: the batched path against PIL, crops, flips, colour noise, grey to RGB."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from alexnet_lib.datasets import ImageSet, Stats, compute_stats, dataset_folder, is_prepared
from alexnet_lib.errors import CourseError
from alexnet_lib.fetch import load_dataset
from alexnet_lib.transforms import (
    PAPER_CROP,
    BatchTransform,
    PILDataset,
    Views,
    center_views,
    crop_resize,
    pca_noise,
    pil_transform,
    ten_crop_views,
    to_pil,
)

# The two paths may differ by rounding: PIL resamples in 8-bit fixed point and rounds to whole
# grey levels, the batched path stays in float32. One grey level (1/255) bounds every pixel.
ONE_LEVEL = 1 / 255 + 1e-5


def real_or_random(name: str, n: int = 16) -> tuple[torch.Tensor, Stats]:
    """``n`` real training images of ``name`` when prepared, else random ones of the same shape."""
    if is_prepared(dataset_folder(name)):
        data = load_dataset(name, train_subset=n, test_subset=1, fetch_missing=False)
        return data.train.images, data.stats
    channels, size = (1, 28) if name == "fashion-mnist" else (3, 32)
    images = torch.randint(0, 256, (n, channels, size, size), dtype=torch.uint8)
    return images, compute_stats(images)


def pixel_units(x: torch.Tensor, stats: Stats) -> torch.Tensor:
    """Undo the normalisation: back to [0, 1] pixel values, where one grey level is 1/255."""
    c = x.shape[1]
    std = torch.tensor(stats.std * (c // len(stats.std))).view(1, c, 1, 1)
    mean = torch.tensor(stats.mean * (c // len(stats.mean))).view(1, c, 1, 1)
    return x * std + mean


@pytest.mark.parametrize("name", ["fashion-mnist", "cifar10"])
@pytest.mark.parametrize("size", [227, 224])
def test_batched_and_pil_paths_agree_on_the_centre_crop(name, size):
    images, stats = real_or_random(name)
    batched = BatchTransform(size, stats, train=False)(images)
    pil = torch.stack([pil_transform(size, stats, train=False)(to_pil(image)) for image in images])
    assert batched.shape == pil.shape == (len(images), images.shape[1], size, size)
    difference = (pixel_units(batched, stats) - pixel_units(pil, stats)).abs()
    assert difference.max() <= ONE_LEVEL
    assert difference.mean() < 0.5 / 255  # mostly rounding: on average about a quarter of a level


@pytest.mark.parametrize("name", ["fashion-mnist", "cifar10"])
def test_random_crops_and_flips_match_pil_cutting_the_same_box(name):
    images, stats = real_or_random(name)
    transform = BatchTransform(227, stats, train=True, pca_std=0)
    views = transform.draw(len(images), images.shape[-2], images.shape[-1], torch.Generator().manual_seed(0), "cpu")
    assert views.flip.any() and not views.flip.all()  # both kinds are in the batch
    batched = pixel_units(transform(images, views), stats)
    for i, image in enumerate(images):
        left, top, side = views.left[i].item(), views.top[i].item(), views.side[i].item()
        patch = to_pil(image).resize((227, 227), Image.BILINEAR, box=(left, top, left + side, top + side))
        if views.flip[i]:
            patch = patch.transpose(Image.FLIP_LEFT_RIGHT)
        expected = torch.from_numpy(np.asarray(patch, dtype=np.float32) / 255)
        expected = expected.unsqueeze(0) if expected.ndim == 2 else expected.permute(2, 0, 1)
        assert (batched[i] - expected).abs().max() <= ONE_LEVEL


def test_crop_side_is_the_papers_fraction_of_the_small_image():
    views = center_views(3, 32, 32, PAPER_CROP, torch.device("cpu"))
    assert torch.allclose(views.side, torch.tensor(28.0))  # 224/256 of 32 pixels
    assert torch.allclose(views.left, torch.tensor(2.0)) and torch.allclose(views.top, torch.tensor(2.0))
    drawn = BatchTransform(227, compute_stats(torch.zeros(1, 3, 4, 4, dtype=torch.uint8)), train=True).draw(
        1000, 32, 32, torch.Generator().manual_seed(0), torch.device("cpu")
    )
    assert drawn.left.min() >= 0 and drawn.left.max() <= 4 and drawn.top.max() <= 4
    assert drawn.left.max() > 3.9 and drawn.left.min() < 0.1  # every position can be drawn


def test_a_full_crop_at_the_same_size_changes_nothing():
    images = torch.rand(2, 3, 9, 9)
    n = len(images)
    full = Views(torch.zeros(n), torch.zeros(n), torch.full((n,), 9.0), torch.zeros(n, dtype=torch.bool))
    assert torch.allclose(crop_resize(images, full, 9), images, atol=1e-6)
    mirrored = Views(full.left, full.top, full.side, torch.ones(n, dtype=torch.bool))
    assert torch.allclose(crop_resize(images, mirrored, 9), images.flip(-1), atol=1e-6)


def test_ten_crops_are_four_corners_and_the_centre_then_their_mirrors():
    views = ten_crop_views(2, 32, 32, PAPER_CROP, torch.device("cpu"))
    corners = [(v.left[0].item(), v.top[0].item(), bool(v.flip[0])) for v in views]
    assert corners[:5] == [(0, 0, False), (4, 0, False), (0, 4, False), (4, 4, False), (2, 2, False)]
    assert [c[:2] for c in corners[5:]] == [c[:2] for c in corners[:5]] and all(c[2] for c in corners[5:])
    images = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    stats = compute_stats(images)
    transform = BatchTransform(227, stats, train=False)
    centre, mirrored = transform(images, views[4]), transform(images, views[9])
    assert torch.allclose(mirrored, centre.flip(-1), atol=1e-5)
    assert torch.allclose(centre, transform(images), atol=1e-6)  # the default test view is the centre


def test_pca_noise_is_the_eigenvector_sum_and_has_the_pixel_covariance():
    rng = np.random.default_rng(0)
    images = torch.from_numpy(rng.integers(0, 256, (40, 3, 8, 8), dtype=np.uint8))
    images[:, 2] = images[:, 0] // 3 + images[:, 2] // 2  # correlated colours
    stats = compute_stats(images)
    alpha_std = 0.1
    shifts = pca_noise(stats, 1, alpha_std, torch.Generator().manual_seed(5), torch.device("cpu"))
    alpha = torch.randn(1, 3, generator=torch.Generator().manual_seed(5)) * alpha_std
    eigenvectors = torch.tensor(stats.pca_eigenvectors)
    by_hand = sum(
        eigenvectors[:, k] * alpha[0, k] * stats.pca_eigenvalues[k] ** 0.5 for k in range(3)
    )  # [p1 p2 p3][a1 sqrt(l1), a2 sqrt(l2), a3 sqrt(l3)]^T, cuda-convnet2's scaling
    assert torch.allclose(shifts[0], by_hand.float(), atol=1e-6)
    # Over many draws the shifts' covariance is alpha_std^2 times the pixels' (sampling error ~0.5%).
    many = pca_noise(stats, 200_000, alpha_std, torch.Generator().manual_seed(1), torch.device("cpu")).double()
    pixels = images.double().div(255).transpose(0, 1).reshape(3, -1)
    expected = torch.cov(pixels, correction=0) * alpha_std**2
    assert torch.allclose(torch.cov(many.T, correction=0), expected, atol=0.02 * expected.abs().max())


def test_colour_noise_shifts_each_image_by_one_colour():
    images = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    stats = compute_stats(images)
    transform = BatchTransform(227, stats, train=True)
    views = transform.draw(4, 32, 32, torch.Generator().manual_seed(0), images.device)
    plain = Views(views.left, views.top, views.side, views.flip)
    shift = pixel_units(transform(images, views), stats) - pixel_units(transform(images, plain), stats)
    assert torch.allclose(shift, views.colour.view(4, 3, 1, 1).expand_as(shift), atol=1e-5)


def test_training_batches_are_random_but_repeatable_and_evaluation_is_fixed():
    images = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8)
    stats = compute_stats(images)
    train = BatchTransform(67, stats, train=True)
    first = train(images, generator=torch.Generator().manual_seed(0))
    assert torch.equal(first, train(images, generator=torch.Generator().manual_seed(0)))
    assert not torch.equal(first, train(images, generator=torch.Generator().manual_seed(1)))
    assert first.dtype == torch.float32 and first.is_contiguous(memory_format=torch.channels_last)
    test = BatchTransform(67, stats, train=False)
    assert torch.equal(test(images), test(images))
    no_flip = BatchTransform(67, stats, train=True, flip=False)
    assert not no_flip.draw(100, 32, 32, None, images.device).flip.any()


def test_normalised_real_images_have_zero_mean_and_unit_std():
    images, stats = real_or_random("cifar10", 64)
    x = BatchTransform(67, stats, train=False, crop=1.0)(images)
    per_channel = x.transpose(0, 1).reshape(3, -1)
    assert per_channel.mean(1).abs().max() < 0.3 and (per_channel.std(1) - 1).abs().max() < 0.3


def test_grey_images_can_be_repeated_to_three_channels_on_both_paths():
    images, stats = real_or_random("fashion-mnist", 4)
    batched = BatchTransform(227, stats, train=False, channels=3)(images)
    assert batched.shape == (4, 3, 227, 227) and torch.equal(batched[:, 0], batched[:, 2])
    pil = torch.stack([pil_transform(227, stats, train=False, channels=3)(to_pil(image)) for image in images])
    assert (pixel_units(batched, stats) - pixel_units(pil, stats)).abs().max() <= ONE_LEVEL
    colour = torch.randint(0, 256, (2, 3, 8, 8), dtype=torch.uint8)
    with pytest.raises(CourseError, match="only grey"):
        BatchTransform(67, compute_stats(colour), train=False, channels=1)(colour)


def test_the_pil_dataset_serves_transformed_images_and_labels():
    images, stats = real_or_random("cifar10", 3)
    dataset = PILDataset(ImageSet(images, torch.tensor([4, 5, 6]), ["x"] * 10), pil_transform(67, stats, train=True))
    image, label = dataset[1]
    assert len(dataset) == 3 and image.shape == (3, 67, 67) and label == 5
    assert to_pil(images[0]).mode == "RGB" and to_pil(torch.zeros(1, 5, 5, dtype=torch.uint8)).mode == "L"
