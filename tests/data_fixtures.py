"""Small generated datasets for the data-layer tests: CIFAR-10 batches, image-folder trees, archives."""

from __future__ import annotations

import gzip
import os
import pickle
import tarfile
from pathlib import Path

import numpy as np
from PIL import Image

from alexnet_lib.datasets import CIFAR10_CLASSES

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets"  # the offline copies beside the checkout (see its README)


def write_cifar_batches(
    folder: Path, per_batch: int = 4, test: int = 6, protocol: int = 2, as_bytes: bool = False, seed: int = 0
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """A tiny ``cifar-10-batches-py``: five training batches and a test batch, laid out as the real ones.

    The real files are Python 2 pickles (protocol 2) of dicts whose keys and class names are
    Python 2 strings (read back as str with ``encoding="latin1"``), ``data`` an N x 3072 uint8
    array (1024 red, then green, then blue values, row by row) and ``labels`` a list of ints.
    ``as_bytes`` writes keys and names as bytes instead, as some re-saved copies have them.
    Returns the expected images (N x 3 x 32 x 32) and labels per split.
    """
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)

    def text(value: str) -> str | bytes:
        return value.encode() if as_bytes else value

    def dump(name: str, batch: dict) -> None:
        with (folder / name).open("wb") as file:
            pickle.dump({text(k): v for k, v in batch.items()}, file, protocol=protocol)

    dump("batches.meta", {"label_names": [text(c) for c in CIFAR10_CLASSES], "num_vis": 3072})
    expected = {}
    for split, names in (("train", [f"data_batch_{i}" for i in range(1, 6)]), ("test", ["test_batch"])):
        images, labels = [], []
        for name in names:
            n = per_batch if split == "train" else test
            data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
            batch_labels = [int(x) for x in rng.integers(0, 10, n)]
            dump(name, {"batch_label": text(name), "labels": batch_labels, "data": data})
            images.append(data.reshape(n, 3, 32, 32))
            labels += batch_labels
        expected[split] = (np.concatenate(images), np.array(labels))
    return expected


class RunsACommand:
    """A pickle payload: loading it runs ``os.system(command)`` unless the unpickler refuses."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):  # noqa: ANN204 - pickle's protocol
        return (os.system, (self.command,))


def write_image_tree(
    root: Path,
    classes: tuple[str, ...] | list[str],
    per_class: int,
    size: tuple[int, int] = (32, 32),
    splits: tuple[str, ...] = ("train", "test"),
    suffix: str = ".jpg",
    mode: str = "RGB",
    seed: int = 0,
) -> Path:
    """``root/<split>/<class>/NNNN<suffix>`` with random smooth images of ``size`` (width, height)."""
    rng = np.random.default_rng(seed)
    channels = 3 if mode == "RGB" else 1
    for split in splits:
        for name in classes:
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(per_class):
                # Smooth images (low-resolution noise, upsampled) compress well and survive JPEG.
                small = rng.integers(0, 256, (4, 4, channels), dtype=np.uint8)
                image = Image.fromarray(small.squeeze(-1) if channels == 1 else small, mode)
                image.resize(size, Image.BILINEAR).save(folder / f"{i:04d}{suffix}")
    return root


def make_tar_gz(folder: Path, archive: Path, arcname: str | None = None) -> Path:
    """``folder`` packed as ``archive`` (.tar.gz), under ``arcname`` (default: the folder's name)."""
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname=arcname or folder.name)
    return archive


def truncated_copy(source: Path, target: Path, fraction: float = 0.5) -> Path:
    """The first ``fraction`` of ``source``'s bytes, as an interrupted download leaves them."""
    data = source.read_bytes()
    target.write_bytes(data[: int(len(data) * fraction)])
    return target


def write_idx(folder: Path, stem: str, images: np.ndarray | None = None, labels: np.ndarray | None = None) -> None:
    """One gzip'd IDX file (``stem``.gz) of uint8 images (N x H x W) or labels (N), in the MNIST format."""
    folder.mkdir(parents=True, exist_ok=True)
    if images is not None:
        header = np.array([0x0803, *images.shape], dtype=">i4").tobytes()
        body = images.astype(np.uint8).tobytes()
    else:
        header = np.array([0x0801, len(labels)], dtype=">i4").tobytes()
        body = labels.astype(np.uint8).tobytes()
    with gzip.open(folder / f"{stem}.gz", "wb") as file:
        file.write(header + body)
