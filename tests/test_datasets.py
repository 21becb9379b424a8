"""Datasets in memory: the real copies' counts, shapes, balance and statistics; subsets; damaged files."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from alexnet_lib.config import TrainConfig
from alexnet_lib.datasets import (
    CIFAR10_CLASSES,
    FASHION_MNIST_CLASSES,
    ImageSet,
    compute_stats,
    dataset_folder,
    is_prepared,
    split_validation,
)
from alexnet_lib.env import data_dir
from alexnet_lib.errors import CourseError
from alexnet_lib.fetch import load_dataset
from alexnet_lib.folders import load_training_data

from .data_fixtures import write_cifar_batches, write_image_tree

# name: classes, image shape, train and test images per class (both datasets are balanced)
REAL = {
    "fashion-mnist": (FASHION_MNIST_CLASSES, (1, 28, 28), 6_000, 1_000),
    "cifar10": (CIFAR10_CLASSES, (3, 32, 32), 5_000, 1_000),
}
# Published per-channel statistics (Fashion-MNIST's README and many papers; CIFAR-10's original
# pickles). The shared CIFAR-10 copy is JPEG, hence the tolerance.
PUBLISHED = {
    "fashion-mnist": ((0.2860,), (0.3530,)),
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
}


@pytest.fixture(scope="module", params=sorted(REAL))
def real(request):
    """A real dataset as prepared in the default data directory (make data, or `data fetch`)."""
    if not is_prepared(dataset_folder(request.param)):
        pytest.skip(f"{request.param} is not prepared in {data_dir()}: run `make data`")
    return load_dataset(request.param, fetch_missing=False)


def test_real_datasets_have_the_published_counts_shapes_and_classes(real):
    classes, shape, train_per_class, test_per_class = REAL[real.name]
    for split, per_class in (("train", train_per_class), ("test", test_per_class)):
        images = getattr(real, split)
        assert images.images.dtype == torch.uint8 and images.images.shape == (10 * per_class, *shape)
        assert images.labels.dtype == torch.int64
        assert images.class_counts().tolist() == [per_class] * 10
    assert real.classes == list(classes) and real.channels == shape[0]


def test_real_statistics_match_the_published_ones(real):
    mean, std = PUBLISHED[real.name]
    assert np.allclose(real.stats.mean, mean, atol=0.005)
    assert np.allclose(real.stats.std, std, atol=0.005)
    assert list(real.stats.pca_eigenvalues) == sorted(real.stats.pca_eigenvalues, reverse=True)


def test_saved_statistics_are_those_of_the_training_images():
    if not is_prepared(dataset_folder("fashion-mnist")):
        pytest.skip("fashion-mnist is not prepared")
    data = load_dataset("fashion-mnist", fetch_missing=False)
    assert data.stats == compute_stats(data.train.images)  # JSON keeps every digit of a float


def test_compute_stats_agrees_with_numpy():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (50, 3, 7, 5), dtype=np.uint8)
    images[:, 1] = images[:, 0] // 2 + images[:, 1] // 2  # correlated channels, as in photos
    stats = compute_stats(torch.from_numpy(images), chunk=7)  # several chunks, the last one short
    pixels = images.transpose(1, 0, 2, 3).reshape(3, -1) / 255
    covariance = np.cov(pixels, bias=True)
    assert np.allclose(stats.mean, pixels.mean(1)) and np.allclose(stats.std, pixels.std(1))
    eigenvalues, eigenvectors = np.array(stats.pca_eigenvalues), np.array(stats.pca_eigenvectors)
    assert np.all(np.diff(eigenvalues) <= 0)  # largest first
    assert np.allclose(eigenvectors.T @ eigenvectors, np.eye(3))  # orthonormal columns
    assert np.allclose(eigenvectors @ np.diag(eigenvalues) @ eigenvectors.T, covariance)
    in_one_chunk = compute_stats(torch.from_numpy(images))
    assert np.allclose(in_one_chunk.mean, stats.mean) and np.allclose(in_one_chunk.pca_eigenvalues, eigenvalues)


def test_grey_statistics_have_one_channel():
    stats = compute_stats(torch.full((4, 1, 3, 3), 51, dtype=torch.uint8))
    assert stats.mean == pytest.approx((0.2,)) and stats.std == pytest.approx((0.0,), abs=1e-6)
    assert len(stats.pca_eigenvectors) == 1 and stats.pca_eigenvalues[0] == pytest.approx(0, abs=1e-9)


def test_subsets_are_random_repeatable_and_keep_labels_with_their_images():
    images = torch.arange(100, dtype=torch.uint8).view(100, 1, 1, 1).expand(100, 1, 2, 2).contiguous()
    data = ImageSet(images, torch.arange(100), ["a"])
    small = data.subset(10, seed=3)
    assert len(small) == 10 and torch.equal(small.images[:, 0, 0, 0].long(), small.labels)
    assert torch.equal(data.subset(10, seed=3).labels, small.labels)
    assert not torch.equal(data.subset(10, seed=4).labels, small.labels)
    assert len(set(small.labels.tolist())) == 10  # drawn without replacement
    assert data.subset(None) is data and data.subset(1000) is data
    with pytest.raises(CourseError, match="at least 1 image"):
        data.subset(0)
    moved = small.to("cpu")
    assert moved.images.device.type == "cpu" and moved.classes == ["a"]


def test_load_dataset_takes_subsets_of_both_splits(tmp_path):
    write_cifar_batches(tmp_path / "cifar-10-batches-py", per_batch=6, test=9)
    from alexnet_lib.fetch import fetch

    fetch("cifar10", tmp_path / "cifar-10-batches-py", tmp_path / "data")
    data = load_dataset("cifar10", tmp_path / "data", train_subset=7, test_subset=4, seed=1)
    assert (len(data.train), len(data.test)) == (7, 4)
    full = load_dataset("cifar10", tmp_path / "data")
    assert data.stats == full.stats  # statistics are always those of the whole training set


def test_a_damaged_split_file_names_itself_and_the_fix(tmp_path):
    write_cifar_batches(tmp_path / "cifar-10-batches-py")
    from alexnet_lib.fetch import fetch

    folder = fetch("cifar10", tmp_path / "cifar-10-batches-py", tmp_path / "data")
    (folder / "test.pt").write_bytes(b"not a tensor file")
    with pytest.raises(CourseError, match=r"test.pt is damaged .* data fetch cifar10` again"):
        load_dataset("cifar10", tmp_path / "data")
    meta = json.loads((folder / "meta.json").read_text())
    del meta["stats"]
    (folder / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(CourseError, match=r"meta.json is damaged \(KeyError\)"):
        load_dataset("cifar10", tmp_path / "data")


def test_load_dataset_points_image_folders_and_missing_datasets_elsewhere(tmp_path):
    write_image_tree(tmp_path / "data" / "pets", ("cat", "dog"), per_class=1)
    with pytest.raises(CourseError, match="is an image-folder dataset; load it with .*load_image_folder"):
        load_dataset("pets", tmp_path / "data")
    with pytest.raises(CourseError, match=r"cifar10 is not prepared in .*; run `python -m alexnet_lib data fetch"):
        load_dataset("cifar10", tmp_path / "data", fetch_missing=False)
    for bad in ("../data", "", "a/b", ".hidden"):
        with pytest.raises(CourseError, match="is not a dataset name"):
            dataset_folder(bad, tmp_path)


def test_validation_split_is_fixed_by_its_own_seed_and_disjoint_from_training():
    data = load_dataset("fashion-mnist", data_dir(), fetch_missing=False)
    held = data.held_out(5000)  # the course's split: VAL_SEED, whatever the run's seed
    assert (len(held.train), len(held.val), len(held.test)) == (55_000, 5_000, 10_000)
    config = TrainConfig(dataset="fashion-mnist", data_dir=str(data_dir()), val_size=5000, seed=7, train_subset=100)
    again = load_training_data(config)  # a run's data
    assert torch.equal(again.val.images, held.val.images) and torch.equal(again.val.labels, held.val.labels)
    assert len(held.train) + len(held.val) == len(data.train)
    other = data.held_out(5000, seed=1)
    assert not torch.equal(other.val.labels, held.val.labels)
    counts = held.val.class_counts()
    assert counts.min() > 400 and counts.max() < 600  # a random draw keeps the classes near 500 each
    assert load_dataset("fashion-mnist", data_dir(), fetch_missing=False).val is None  # looking at data: none held out


def test_validation_split_takes_whole_images_and_refuses_a_size_that_leaves_nothing():
    images = torch.arange(10, dtype=torch.uint8).view(10, 1, 1, 1).expand(10, 1, 2, 2).contiguous()
    data = ImageSet(images, torch.arange(10), ["a"] * 10)
    train, val = split_validation(data, 3, seed=5)
    kept = sorted(train.labels.tolist() + val.labels.tolist())
    assert kept == list(range(10)) and len(val) == 3  # disjoint, nothing lost
    assert torch.equal(val.images[:, 0, 0, 0].long(), val.labels)  # labels stay with their images
    for size in (0, 10):
        with pytest.raises(CourseError, match="val_size must be between 1 and 9"):
            split_validation(data, size)
