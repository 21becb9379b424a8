"""Datasets in memory: a uint8 image tensor and a label tensor per split (notebook 02).

Fashion-MNIST (70,000 images) and CIFAR-10 (60,000) fit in memory many times over, so each
split is one ``uint8`` tensor of shape N x C x H x W, moved to the GPU when there is one.
Batches are then index lookups, and resizing and augmentation run batched on the device
(``transforms.py``): no per-image Python work per step.

Training never sees the test set: ``Splits.held_out`` (called by ``folders.load_training_data``, the one
place a run's splits are made) holds out a validation split from the training images (``VAL_SIZE`` of
them, chosen by a permutation seeded with ``VAL_SEED``, independent of the run's seed, so every run of
the course holds out the same images).
Schedules and checkpoints look at the validation split; the test set is read once, at the
end, for the reported figure.

A prepared dataset is a folder in the data directory holding ``train.pt`` and ``test.pt``
(plain tensors, loaded with ``weights_only=True``) and ``meta.json`` (classes, counts,
source, and the statistics below). This module alone writes and reads that folder;
``fetch.py`` fills it from a local copy or a download, and its ``load_dataset`` reads it.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from . import env
from .errors import CourseError

FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


VAL_SIZE = 5_000  # validation images held out of each course training set
VAL_SEED = 2012  # seeds the held-out choice; not the run's seed, so every run holds out the same images


@dataclass(frozen=True)
class KnownDataset:
    """What a course dataset must look like once prepared."""

    classes: tuple[str, ...]
    channels: int
    size: int
    train: int
    test: int


KNOWN_DATASETS = {
    "fashion-mnist": KnownDataset(FASHION_MNIST_CLASSES, 1, 28, 60_000, 10_000),
    "cifar10": KnownDataset(CIFAR10_CLASSES, 3, 32, 50_000, 10_000),
}
FOLDER_SIZE = 256  # §2: image-folder datasets (and ImageNet) are decoded at 256 x 256


@dataclass(frozen=True)
class Stats:
    """Per-channel statistics of a training set, pixel values scaled to [0, 1].

    ``pca_eigenvalues`` (largest first) and ``pca_eigenvectors`` (one per column) are those
    of the channels' covariance matrix: the paper's "fancy PCA" colour augmentation (§4.1).
    """

    mean: tuple[float, ...]
    std: tuple[float, ...]
    pca_eigenvalues: tuple[float, ...]
    pca_eigenvectors: tuple[tuple[float, ...], ...]


def compute_stats(images: torch.Tensor, chunk: int = 4096) -> Stats:
    """Mean, std and colour PCA of uint8 ``images`` (N x C x H x W), in float64, chunk by chunk."""
    channels = images.shape[1]
    total = torch.zeros(channels, dtype=torch.float64)
    outer = torch.zeros(channels, channels, dtype=torch.float64)
    count = 0
    for start in range(0, len(images), chunk):
        pixels = images[start : start + chunk].to("cpu", torch.float64).div_(255)
        pixels = pixels.transpose(0, 1).reshape(channels, -1)  # C x (n*H*W)
        total += pixels.sum(1)
        outer += pixels @ pixels.T
        count += pixels.shape[1]
    mean = total / count
    covariance = outer / count - torch.outer(mean, mean)
    eigenvalues, eigenvectors = torch.linalg.eigh(covariance)  # ascending
    order = eigenvalues.argsort(descending=True)
    eigenvalues, eigenvectors = eigenvalues[order].clamp_min(0), eigenvectors[:, order]
    return Stats(
        mean=tuple(mean.tolist()),
        std=tuple(covariance.diagonal().sqrt().tolist()),
        pca_eigenvalues=tuple(eigenvalues.tolist()),
        pca_eigenvectors=tuple(tuple(row) for row in eigenvectors.tolist()),
    )


@dataclass
class ImageSet:
    """One split in memory: ``images`` uint8 N x C x H x W, ``labels`` int64 N."""

    images: torch.Tensor
    labels: torch.Tensor
    classes: list[str]

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, n: int | None, seed: int = 0) -> ImageSet:
        """``n`` images drawn at random (the same ones for the same seed); all if ``n`` is None."""
        if n is None or n >= len(self):
            return self
        if n < 1:
            raise CourseError(f"a subset needs at least 1 image, got {n}")
        keep = torch.randperm(len(self), generator=torch.Generator().manual_seed(seed))[:n]
        keep = keep.to(self.labels.device)
        return ImageSet(self.images[keep], self.labels[keep], self.classes)

    def to(self, device: torch.device | str) -> ImageSet:
        """The same split with its tensors on ``device``."""
        return ImageSet(self.images.to(device), self.labels.to(device), self.classes)

    def class_counts(self) -> torch.Tensor:
        """Images per class, as a tensor indexed by class."""
        return torch.bincount(self.labels.cpu(), minlength=len(self.classes))


def split_validation(train: ImageSet, val_size: int, seed: int = VAL_SEED) -> tuple[ImageSet, ImageSet]:
    """``(train, val)``: ``val_size`` images held out of ``train`` by a permutation seeded with ``seed``.

    The held-out images depend on ``seed`` and the training set only, never on a run's seed.
    """
    if not 0 < val_size < len(train):
        raise CourseError(f"val_size must be between 1 and {len(train) - 1} for {len(train):,} training images")
    order = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))
    held, kept = order[:val_size].sort().values, order[val_size:].sort().values
    held, kept = held.to(train.labels.device), kept.to(train.labels.device)
    return (
        ImageSet(train.images[kept], train.labels[kept], train.classes),
        ImageSet(train.images[held], train.labels[held], train.classes),
    )


@dataclass
class Splits:
    """A dataset: its train, validation and test splits and its training-set statistics.

    ``val`` is empty when no validation split was held out (``val_size=0``).
    """

    name: str
    train: ImageSet
    test: ImageSet
    stats: Stats
    val: ImageSet | None = None

    @property
    def classes(self) -> list[str]:
        """The class names, in label order."""
        return self.train.classes

    @property
    def channels(self) -> int:
        """Channels per image: 1 for grey, 3 for colour."""
        return self.train.images.shape[1]

    def to(self, device: torch.device | str) -> Splits:
        """Every split on ``device``."""
        val = self.val.to(device) if self.val is not None else None
        return Splits(self.name, self.train.to(device), self.test.to(device), self.stats, val)

    def held_out(self, val_size: int, seed: int = VAL_SEED) -> Splits:
        """These splits with ``val_size`` training images moved to ``val`` (see ``split_validation``)."""
        if val_size == 0:
            return self
        train, val = split_validation(self.train, val_size, seed)
        return Splits(self.name, train, self.test, self.stats, val)

    def subsets(self, train: int | None, val: int | None = None, test: int | None = None, seed: int = 0) -> Splits:
        """Each split cut to that many images drawn at random (``ImageSet.subset``); None keeps all."""
        return Splits(
            self.name,
            self.train.subset(train, seed),
            self.test.subset(test, seed),
            self.stats,
            self.val.subset(val, seed) if self.val is not None else None,
        )


DATASET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def dataset_folder(name: str, data_dir: Path | None = None) -> Path:
    """``<data dir>/<name>``; ``name`` must be a plain folder name (imports replace that folder)."""
    if not DATASET_NAME.fullmatch(name):
        raise CourseError(f"{name!r} is not a dataset name: use letters, digits, '.', '_' and '-', like my-photos")
    return Path(data_dir or env.data_dir()) / name


def is_prepared(folder: Path) -> bool:
    """Whether ``folder`` holds a prepared in-memory dataset (train.pt, test.pt, meta.json)."""
    return all((folder / f).is_file() for f in ("train.pt", "test.pt", "meta.json"))


def read_meta(folder: Path) -> dict:
    """A prepared dataset's ``meta.json``: classes, counts, source and training-set statistics."""
    path = folder / "meta.json"
    try:
        meta = json.loads(path.read_text())
        meta["stats"], meta["counts"]  # noqa: B018 - the keys every reader needs
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise CourseError(
            f"{path} is damaged ({type(error).__name__}); delete {folder} and run "
            f"`python -m alexnet_lib data fetch {folder.name}` again"
        ) from None
    return meta


def write_split(folder: Path, split: str, images: torch.Tensor, labels: torch.Tensor, classes: list[str]) -> None:
    """Save one split as plain tensors (readable with ``weights_only=True``)."""
    torch.save(
        {"images": images.contiguous(), "labels": labels.long(), "classes": list(classes)}, folder / f"{split}.pt"
    )


def write_meta(folder: Path, meta: dict, stats: Stats) -> None:
    (folder / "meta.json").write_text(json.dumps({**meta, "stats": asdict(stats)}, indent=2) + "\n")


def read_split(folder: Path, split: str) -> ImageSet:
    """One prepared split (``train`` or ``test``) from ``folder``; a damaged file is one CourseError line."""
    path = folder / f"{split}.pt"
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        return ImageSet(saved["images"], saved["labels"], list(saved["classes"]))
    except Exception as error:  # a damaged file: say which, and how to rebuild it
        raise CourseError(
            f"{path} is damaged ({type(error).__name__}); delete {folder} and run "
            f"`python -m alexnet_lib data fetch {folder.name}` again"
        ) from None


def read_dataset(folder: Path) -> Splits:
    """The prepared dataset in ``folder``, whole: no validation split held out, no subsets
    (``folders.load_training_data`` makes a run's, ``Splits.held_out`` and ``Splits.subsets``)."""
    meta = read_meta(folder)
    stats = Stats(
        **{k: tuple(map(tuple, v)) if k == "pca_eigenvectors" else tuple(v) for k, v in meta["stats"].items()}
    )
    return Splits(folder.name, read_split(folder, "train"), read_split(folder, "test"), stats)
