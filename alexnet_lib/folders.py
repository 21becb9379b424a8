"""Image-folder datasets: your own photos, TinyImageNet, ImageNet (notebook 02).

The layout is torchvision's ``ImageFolder`` one, split in two: ``root/train/<class>/*`` and
``root/test/<class>/*`` (or ``val/``). Small ones can be decoded into memory at a fixed size
and use the fast batched path (``load_image_folder``); large ones stay on disk and go through
a DataLoader with PIL transforms (``image_folder_loader``). The two helpers below put the
validation sets of TinyImageNet and ImageNet into that layout.
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

from .datasets import ImageSet, Splits, compute_stats
from .errors import CourseError
from .fetch import IMAGE_SUFFIXES, find_image_folder_root
from .transforms import pil_transform


def read_image(path: Path, size: int, mode: str = "RGB") -> np.ndarray:
    """``path`` as an H x W (x C) uint8 array: shorter side resized to ``size``, centre square kept."""
    with Image.open(path) as image:
        image = image.convert(mode)
        scale = size / min(image.size)
        width, height = max(size, round(image.width * scale)), max(size, round(image.height * scale))
        image = image.resize((width, height), Image.BILINEAR)
        left, top = (width - size) // 2, (height - size) // 2
        return np.asarray(image.crop((left, top, left + size, top + size)))


def load_image_folder(root: Path | str, size: int, *, grey: bool = False) -> Splits:
    """Decode a small image-folder dataset into memory at ``size`` x ``size`` (the fast path)."""
    splits = find_image_folder_root(Path(root))
    sets = {}
    for split, folder in splits.items():
        dataset = ImageFolder(folder)
        if not dataset.samples:
            raise CourseError(f"{folder} holds no images")
        arrays = [read_image(Path(path), size, "L" if grey else "RGB") for path, _ in dataset.samples]
        images = torch.from_numpy(np.stack(arrays))
        images = images.unsqueeze(1) if grey else images.permute(0, 3, 1, 2).contiguous()
        sets[split] = ImageSet(images, torch.tensor(dataset.targets), list(dataset.classes))
    if sets["train"].classes != sets["test"].classes:
        raise CourseError(f"{root}: train/ and test/ hold different class folders")
    return Splits(Path(root).name, sets["train"], sets["test"], compute_stats(sets["train"].images))


def image_folder_loader(
    folder: Path | str, size: int, splits: Splits, *, train: bool, batch_size: int = 128, workers: int = 2
) -> DataLoader:
    """The conventional path: ``ImageFolder`` + per-image PIL transforms in DataLoader workers."""
    transform = pil_transform(size, splits.stats, train=train, channels=splits.channels)
    return DataLoader(
        ImageFolder(folder, transform=transform),
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


def sort_imagenet_val(val_dir: Path | str, labels_file: Path | str) -> int:
    """Sort a flat ImageNet validation folder into ``<class>/`` subfolders by a ground-truth file.

    ``labels_file`` holds either ``file,class`` (or tab- or space-separated) per line, as in
    Kaggle's ``LOC_val_solution.csv``, or one class per line for the files in sorted order, as
    in the devkit's ``ILSVRC2012_validation_ground_truth.txt``. Returns the number moved.
    """
    val_dir, labels_file = Path(val_dir), Path(labels_file)
    if not val_dir.is_dir():
        raise CourseError(f"{val_dir} is not a folder")
    if not labels_file.is_file():
        raise CourseError(f"{labels_file}: no such labels file")
    lines = [line.strip() for line in labels_file.read_text().splitlines() if line.strip()]
    if lines and not any(sep in lines[0] for sep in ",\t "):  # one class per line, in file order
        files = sorted(p.name for p in val_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if len(files) != len(lines):
            raise CourseError(f"{labels_file} has {len(lines)} labels but {val_dir} has {len(files)} images")
        labels = dict(zip(files, lines, strict=True))
    else:
        delimiter = "," if "," in lines[0] else ("\t" if "\t" in lines[0] else " ")
        labels = _read_labels(labels_file, delimiter=delimiter)
    return _sort_into_classes(val_dir, val_dir, labels, remove_source=False)


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
    files = sorted(p for p in source.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    missing = [p.name for p in files if p.name not in labels]
    if missing:
        raise CourseError(f"no label for {len(missing)} images, e.g. {missing[0]}; nothing was moved")
    for path in files:
        (target / labels[path.name]).mkdir(exist_ok=True)
        shutil.move(str(path), target / labels[path.name] / path.name)
    if remove_source and not any(source.iterdir()):
        source.rmdir()
    return len(files)
