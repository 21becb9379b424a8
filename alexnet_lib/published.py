"""The course datasets as published, read into tensors: Fashion-MNIST's four IDX files, CIFAR-10's
pickled batches or its JPEG export, each file checked against its published checksum.

CIFAR-10's pickled batches are read by an unpickler that can rebuild NumPy arrays and
nothing else, since a pickle can otherwise run any code while loading. ``fetch.py`` decides
where a copy comes from and writes what these readers return as a prepared dataset.
"""

from __future__ import annotations

import gzip
import hashlib
import pickle
import shutil
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .datasets import KNOWN_DATASETS, KnownDataset
from .errors import CourseError
from .images import find_image_folder_root, list_images

# Published checksums. Fashion-MNIST's are of the decompressed IDX files, so a copy that was
# gzipped again (Debian's is) still checks; CIFAR-10's archive is torchvision's; the JPEG
# export of CIFAR-10 is the one ../shared/datasets/README.md lists.
CHECKSUMS = {
    "train-images-idx3-ubyte": ("md5", "f4a8712d7a061bf5bd6d2ca38dc4d50a"),
    "train-labels-idx1-ubyte": ("md5", "9018921c3c673c538a1fc5bad174d6f9"),
    "t10k-images-idx3-ubyte": ("md5", "8181f5470baa50b63fa0f6fddb340f0a"),
    "t10k-labels-idx1-ubyte": ("md5", "15d484375f8d13e6eb1aabb0c3f46965"),
    "cifar-10-python.tar.gz": ("md5", "c58f30108f718f92721af3b95e74349a"),
    "cifar10-jpg.tar.gz": ("sha256", "45b041e867f5a40f79bfde38d3dd1fd511103d50068c1afecf6445e25234d4db"),
}


IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def verify_checksum(path: Path) -> None:
    """Check ``path`` against its published checksum, if its name has one."""
    if path.name not in CHECKSUMS:
        return
    algorithm, expected = CHECKSUMS[path.name]
    digest = hashlib.new(algorithm)
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected:
        raise CourseError(
            f"{path.name} is damaged or not the published file: its {algorithm} is {digest.hexdigest()}, "
            f"expected {expected}; download it again"
        )


# Fashion-MNIST: the four IDX files -----------------------------------------------------


def read_idx_folder(source: Path, scratch: Path) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Both splits from the four IDX files (plain or .gz) in ``source``, or in its torchvision-style subfolder."""
    from torchvision.datasets.mnist import read_image_file, read_label_file

    first = IDX_FILES["train"][0]
    places = (source, source / "FashionMNIST" / "raw", source / "fashion-mnist", source / "raw")
    source = next((p for p in places if (p / first).is_file() or (p / f"{first}.gz").is_file()), source)
    scratch.mkdir(parents=True, exist_ok=True)
    splits = {}
    for split, (images_name, labels_name) in IDX_FILES.items():
        paths = []
        for stem in (images_name, labels_name):
            plain, packed = source / stem, source / f"{stem}.gz"
            if packed.is_file():
                with gzip.open(packed) as zipped, (scratch / stem).open("wb") as out:
                    shutil.copyfileobj(zipped, out)
                paths.append(scratch / stem)
            elif plain.is_file():
                paths.append(plain)
            else:
                raise CourseError(
                    f"{source} lacks {stem}.gz: Fashion-MNIST needs the four IDX files "
                    f"train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
                    f"t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz"
                )
        for path in paths:
            verify_checksum(path)
        images, labels = read_image_file(str(paths[0])), read_label_file(str(paths[1]))
        splits[split] = (images.unsqueeze(1), labels)
    return splits


# CIFAR-10: python pickles or an image-folder tree --------------------------------------


class _ArraysOnly(pickle.Unpickler):
    """Unpickles CIFAR-10 batches and nothing else: only NumPy arrays may be rebuilt.

    A pickle can run any code while loading; a CIFAR batch only needs the names below: the
    original batches (Python 2, protocol 2) use ``_reconstruct``, ``ndarray``, ``dtype``, and
    ``_codecs.encode`` for bytes; a batch saved again by Python 3 may use ``_frombuffer``.
    """

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str):  # noqa: ANN201 - pickle's own signature
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a CIFAR-10 batch")
        if module.startswith("numpy"):  # numpy.core was renamed numpy._core in NumPy 2: take whichever exists
            core = np._core if hasattr(np, "_core") else np.core
            if name == "_reconstruct":
                return core.multiarray._reconstruct
            if name == "_frombuffer":
                return core.numeric._frombuffer
        return super().find_class(module, name)


def _unpickle(path: Path) -> dict:
    """One CIFAR-10 batch file as a dict with str keys, rebuilt by ``_ArraysOnly``."""
    with path.open("rb") as file:
        batch = _ArraysOnly(file, encoding="latin1").load()
    if not isinstance(batch, dict):
        raise CourseError(f"{path} is not a CIFAR-10 batch (it holds a {type(batch).__name__}, not a dict)")
    return {(k.decode() if isinstance(k, bytes) else k): v for k, v in batch.items()}


def read_cifar10(source: Path) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    batches = source / "cifar-10-batches-py" if (source / "cifar-10-batches-py").is_dir() else source
    if (batches / "data_batch_1").is_file():
        meta = _unpickle(batches / "batches.meta")
        label_names = tuple(n.decode() if isinstance(n, bytes) else n for n in meta["label_names"])
        if label_names != KNOWN_DATASETS["cifar10"].classes:
            raise CourseError(f"{batches}/batches.meta does not list CIFAR-10's classes")
        splits = {}
        for split, names in (("train", [f"data_batch_{i}" for i in range(1, 6)]), ("test", ["test_batch"])):
            parts = [_unpickle(batches / n) for n in names]
            images = np.concatenate([p["data"] for p in parts]).reshape(-1, 3, 32, 32)
            labels = np.concatenate([np.asarray(p["labels"]) for p in parts])
            splits[split] = (torch.from_numpy(images.astype(np.uint8)), torch.from_numpy(labels.astype(np.int64)))
        return splits
    root = find_image_folder_root(source)
    splits = {}
    for split, split_dir in root.items():
        images, labels = _decode_folder(split_dir, KNOWN_DATASETS["cifar10"])
        # Folders hold one class after another; the published batches are in random order.
        # Shuffle once, with a fixed seed, so that the first images of a split show every class.
        order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))
        splits[split] = (images[order], labels[order])
    return splits


def _decode_folder(split_dir: Path, known: KnownDataset) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode every image of ``split_dir/<class>/*``; class indices follow the sorted folder names."""
    paths, labels, classes = list_images(split_dir)
    if tuple(classes) != known.classes:
        raise CourseError(f"{split_dir} has classes {classes}, expected {list(known.classes)}")
    if not paths:
        raise CourseError(f"{split_dir} holds no images")
    images = []
    for path in paths:
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("RGB" if known.channels == 3 else "L"))
        if pixels.shape[:2] != (known.size, known.size):
            raise CourseError(f"{path} is {pixels.shape[1]}x{pixels.shape[0]}, expected {known.size}x{known.size}")
        images.append(pixels)
    array = np.stack(images)
    array = array[:, None] if array.ndim == 3 else array.transpose(0, 3, 1, 2)
    return torch.from_numpy(np.ascontiguousarray(array)), torch.tensor(labels)
