"""Image-folder datasets: your own photos, TinyImageNet, ImageNet (notebook 02); and a training
run's data, from a course dataset or an image folder (``load_training_data``).

The layout is torchvision's ``ImageFolder`` one, split in two: ``root/train/<class>/*`` and
``root/test/<class>/*`` (or ``val/``). Small ones can be decoded into memory at a fixed size
and use the fast batched path (``load_image_folder``); large ones stay on disk and go through
a DataLoader with PIL transforms (``image_folder_loader``). The two helpers below put the
validation sets of TinyImageNet and ImageNet into that layout.

Both paths see the same geometry: the shorter side resized to ``size`` and the centre square
kept (``read_image`` / ``CentreSquare``), then the paper's crops of that square (§2, §4.1).
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader
from torchvision.datasets import ImageFolder

from .config import TrainConfig
from .datasets import ImageSet, Splits, compute_stats, dataset_folder, read_dataset
from .errors import CourseError
from .fetch import prepared_folder
from .images import (
    ImageError,
    class_names,
    find_image_folder_root,
    list_image_files,
    list_images,
    no_image_files,
    open_image,
    square,
    to_mode,
)
from .transforms import pil_transform


def read_image(path: Path, size: int, mode: str = "RGB") -> np.ndarray:
    """``path`` as an H x W (x C) uint8 array, read as ``predict`` reads it (``images.py``): upright,
    transparency on white, shorter side resized to ``size``, centre square kept (§2)."""
    try:
        return np.asarray(square(to_mode(open_image(path, min_size=size), mode), size))
    except ImageError as error:
        raise CourseError(f"{path}: {error}; remove or replace it") from None


def open_rgb(path: str) -> Image.Image:
    """The disk path's image loader: ``images.open_image`` as RGB (torchvision's default loses transparency)."""
    return to_mode(open_image(path), "RGB")


class CentreSquare:
    """``images.square`` as a transform for the disk path (a class, unlike a lambda, pickles into workers)."""

    def __init__(self, size: int) -> None:
        self.size = size

    def __call__(self, image: Image.Image) -> Image.Image:
        return square(image, self.size)


class _ClassFolders(ImageFolder):
    """``ImageFolder`` without hidden folders (such as .ipynb_checkpoints) taken for classes."""

    def find_classes(self, directory: str) -> tuple[list[str], dict[str, int]]:
        classes = class_names(Path(directory))
        if not classes:
            raise CourseError(f"{directory} has no class folders: expected {directory}/<class>/<image files>")
        return classes, {name: index for index, name in enumerate(classes)}


def load_training_data(config: TrainConfig) -> Splits:
    """A run's data: the config's dataset in memory, ``val_size`` training images held out for validation,
    then the config's subsets. The one place a run's splits are made.

    A course dataset (fetched first if missing), or an image folder decoded at 256 (§2). An image
    folder's own ``test/`` (or ``val/``) folder is its test set; its validation split is held out of
    ``train/`` like a course dataset's, but never more than a tenth of the training images.
    """
    folder = dataset_folder(config.dataset, Path(config.data_dir) if config.data_dir else None)
    val_size = config.val_size
    if (folder / "train").is_dir() and not (folder / "train.pt").exists():
        splits = load_image_folder(folder, size=256)
        val_size = min(val_size, len(splits.train) // 10)
        if val_size < config.val_size:
            print(f"validation: {val_size:,} of the {len(splits.train):,} training images (a tenth)")
    else:
        splits = read_dataset(prepared_folder(folder))
    splits = splits.held_out(val_size, config.val_seed)
    return splits.subsets(config.train_subset, config.val_subset, config.test_subset, config.seed)


def load_image_folder(root: Path | str, size: int, *, grey: bool = False) -> Splits:
    """Decode a small image-folder dataset into memory at ``size`` x ``size`` (the fast path).

    ``root`` holds ``train/<class>/*`` and ``test/<class>/*`` (or ``val/``); each image's
    shorter side is resized to ``size`` and its centre square kept. ``grey`` keeps one channel.
    """
    root = Path(root)
    if not root.is_dir():
        raise CourseError(f"{root} is not a folder")
    splits = find_image_folder_root(root)
    listed = {split: list_images(folder) for split, folder in splits.items()}
    if listed["train"][2] != listed["test"][2]:
        raise CourseError(
            f"{root}: train/ and test/ must hold the same class folders, "
            f"found {listed['train'][2]} and {listed['test'][2]}"
        )
    sets = {}
    for split, (paths, labels, classes) in listed.items():
        if not paths:
            raise no_image_files(splits[split])
        arrays = [read_image(path, size, "L" if grey else "RGB") for path in paths]
        images = torch.from_numpy(np.stack(arrays))
        images = images.unsqueeze(1) if grey else images.permute(0, 3, 1, 2).contiguous()
        sets[split] = ImageSet(images, torch.tensor(labels), classes)
    return Splits(root.resolve().name, sets["train"], sets["test"], compute_stats(sets["train"].images))


def image_folder_loader(
    folder: Path | str, size: int, splits: Splits, *, train: bool, batch_size: int = 128, workers: int = 2
) -> DataLoader:
    """The conventional path: images read from ``folder`` (a split, e.g. ``root/train``) by DataLoader workers.

    Each image goes through ``CentreSquare(source_size)``, where ``source_size`` is the side of
    ``splits``' in-memory images, then the same PIL transforms as ``pil_transform``; ``splits``
    supplies the statistics and the channel count.
    """
    source_size = splits.train.images.shape[-1]
    transform = pil_transform(size, splits.stats, train=train, channels=splits.channels)
    transform.transforms.insert(0, CentreSquare(source_size))
    return DataLoader(
        _ClassFolders(str(folder), transform=transform, loader=open_rgb),
        batch_size=batch_size,
        shuffle=train,
        num_workers=workers,
        persistent_workers=workers > 0,
    )


def arrange_tinyimagenet_val(root: Path | str) -> int:
    """Move TinyImageNet's ``val/images/*`` into ``val/<wnid>/`` using ``val/val_annotations.txt``.

    The annotations file is tab-separated: file name, class id (wnid), then a bounding box.
    Returns the number of images moved; running it again on an arranged folder moves none.
    """
    val = Path(root) / "val"
    images, annotations = val / "images", val / "val_annotations.txt"
    if not images.is_dir():
        if annotations.is_file():
            return 0  # already arranged
        raise CourseError(f"{val} has no images/ folder and no val_annotations.txt: is {root} TinyImageNet?")
    if not annotations.is_file():
        raise CourseError(f"{annotations} is missing; it says which class each validation image belongs to")
    labels = _read_labels(annotations, delimiter="\t")
    return _sort_into_classes(images, val, labels, remove_source=True)


def sort_imagenet_val(val_dir: Path | str, labels_file: Path | str, synsets: Path | str | None = None) -> int:
    """Sort a flat ImageNet validation folder into ``<class>/`` subfolders by a ground-truth file.

    ``labels_file`` holds either ``file,class`` (or tab- or space-separated) per line, as in
    Kaggle's ``LOC_val_solution.csv``, or one class per line for the files in sorted order, as
    in the devkit's ``ILSVRC2012_validation_ground_truth.txt``. Classes given as numbers (the
    devkit's 1-based ILSVRC2012_IDs) need ``synsets``: a file whose line k starts with the
    class (wnid) numbered k, so that the folders get the names ``train/`` uses. Returns the
    number of images moved; running it again on a sorted folder moves none.
    """
    val_dir, labels_file = Path(val_dir), Path(labels_file)
    if not val_dir.is_dir():
        raise CourseError(f"{val_dir} is not a folder")
    if not labels_file.is_file():
        raise CourseError(f"{labels_file}: no such labels file")
    files = [p.name for p in list_image_files(val_dir, recursive=False)]
    if not files:
        return 0  # already sorted
    lines = [line.strip() for line in labels_file.read_text().splitlines() if line.strip()]
    if not lines:
        raise CourseError(f"{labels_file} is empty")
    if not any(sep in lines[0] for sep in ",\t "):  # one class per line, in file order
        if len(files) != len(lines):
            raise CourseError(f"{labels_file} has {len(lines)} labels but {val_dir} has {len(files)} images")
        labels = dict(zip(files, lines, strict=True))
    else:
        delimiter = "," if "," in lines[0] else ("\t" if "\t" in lines[0] else " ")
        labels = _read_labels(labels_file, delimiter=delimiter)
    if all(label.isdigit() for label in labels.values()):
        labels = _name_numbered_classes(labels, synsets, labels_file)
    return _sort_into_classes(val_dir, val_dir, labels, remove_source=False)


def _name_numbered_classes(labels: dict[str, str], synsets: Path | str | None, labels_file: Path) -> dict[str, str]:
    """Replace 1-based class numbers by the class names listed in ``synsets`` (line k = class k)."""
    if synsets is None:
        raise CourseError(
            f"{labels_file} gives classes as numbers; pass --synsets, the wnids in the devkit's ILSVRC2012_ID "
            f"order (meta.mat; not the sorted LOC_synset_mapping.txt), or use Kaggle's LOC_val_solution.csv"
        )
    if not Path(synsets).is_file():
        raise CourseError(f"{synsets}: no such synset list")
    names = [line.split()[0] for line in Path(synsets).read_text().splitlines() if line.strip()]
    numbers = {int(label) for label in labels.values()}
    if min(numbers) < 1 or max(numbers) > len(names):
        raise CourseError(
            f"{labels_file} has class numbers {min(numbers)}..{max(numbers)}; {synsets} lists {len(names)} classes"
        )
    return {file: names[int(label) - 1] for file, label in labels.items()}


def _read_labels(path: Path, delimiter: str) -> dict[str, str]:
    """File name -> class from a delimited file; a header row and PredictionString tails are skipped."""
    labels = {}
    with path.open(newline="") as file:
        for row in csv.reader(file, delimiter=delimiter):
            row = [cell.strip() for cell in row if cell.strip()]
            if len(row) < 2 or row[0].lower() in ("imageid", "filename", "file"):
                continue
            name, label = row[0], row[1].split()[0]
            labels[name if Path(name).suffix else name + ".JPEG"] = label
    if not labels:
        raise CourseError(f"{path} holds no 'file{delimiter}class' lines")
    return labels


def _sort_into_classes(source: Path, target: Path, labels: dict[str, str], *, remove_source: bool) -> int:
    files = list_image_files(source, recursive=False)
    missing = [p.name for p in files if p.name not in labels]
    if missing:
        raise CourseError(f"no label for {len(missing)} images, e.g. {missing[0]}; nothing was moved")
    for path in files:
        (target / labels[path.name]).mkdir(exist_ok=True)
        shutil.move(str(path), target / labels[path.name] / path.name)
    if remove_source and not any(source.iterdir()):
        source.rmdir()
    return len(files)
