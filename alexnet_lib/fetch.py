"""Getting a dataset into the data directory: prepared, a local copy, or a download (notebook 02).

``fetch(name)`` tries, in order:

1. the prepared folder ``<data dir>/<name>`` (nothing to do);
2. a local copy: the ``source`` you name, else the known places a classroom or a Debian
   machine keeps one (``../shared/datasets`` beside the checkout and ``/usr/share/datasets``,
   or instead the folders listed in ``ALEXNET_SHARED_DATASETS``);
3. torchvision's ``download=True``, when online.

Every import is built in a hidden staging folder beside the target and renamed into place
only when complete, so a failed or interrupted import leaves nothing half-written. Archives
are checked against their published checksums where those are known, and extracted only if
every member is a plain file or folder inside the target (``tarfile``'s ``data`` filter too, where it exists).
CIFAR-10's pickled batches are read by an unpickler that can rebuild NumPy arrays and
nothing else, since a pickle can otherwise run any code while loading.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import shutil
import tarfile
import tempfile
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from . import env
from .datasets import (
    KNOWN_DATASETS,
    KnownDataset,
    compute_stats,
    dataset_folder,
    is_prepared,
    write_meta,
    write_split,
)
from .errors import CourseError

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
# Names a local copy may have, in the order they are tried, under each known place.
LOCAL_NAMES = {
    "fashion-mnist": ("fashion-mnist", "FashionMNIST/raw"),
    "cifar10": ("cifar-10-python.tar.gz", "cifar-10-batches-py", "cifar10-jpg.tar.gz", "cifar10"),
}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm"}


def known_places() -> list[Path]:
    """Folders searched for local copies of the course datasets.

    ``ALEXNET_SHARED_DATASETS`` (one folder, or several separated by ``os.pathsep``) replaces
    the defaults: ``../shared/datasets`` beside the checkout, then Debian's ``/usr/share/datasets``.
    """
    listed = os.environ.get("ALEXNET_SHARED_DATASETS", "").strip()
    if listed:
        return [Path(place).expanduser() for place in listed.split(os.pathsep) if place]
    return [env.project_root().parent / "shared" / "datasets", Path("/usr/share/datasets")]


# Where a learner without a copy can get one, for the message that says how to fix it.
WHERE_TO_GET = {
    "fashion-mnist": ("/path/to/folder-with-the-4-idx-gz-files", "https://github.com/zalandoresearch/fashion-mnist"),
    "cifar10": ("/path/to/cifar-10-python.tar.gz", "https://www.cs.toronto.edu/~kriz/cifar.html"),
}


def fix_command(name: str) -> str:
    """The command that imports ``name`` from a local copy, and where to get one."""
    path, url = WHERE_TO_GET.get(name, ("/path/to/image-folder-or.tar.gz", ""))
    command = f"python -m alexnet_lib data fetch {name} --from {path}"
    return f"{command} (a copy from {url}), or the same command without --from when online" if url else command


def fetch(name: str, source: Path | str | None = None, data_dir: Path | None = None, *, download: bool = True) -> Path:
    """Make ``name`` ready in the data directory and return its folder.

    Tries the prepared folder, then ``source`` (or the known local copies when it is None), then,
    if ``download``, torchvision's download. When nothing works, raises one ``CourseError`` that
    names the dataset, the places looked in and the command that fixes it.
    """
    target = dataset_folder(name, data_dir)
    known = name in KNOWN_DATASETS
    # A course dataset is ready as tensors; any other name is an image-folder tree.
    ready = is_prepared(target) if known else (target / "train").is_dir()
    if source is not None:
        source = Path(source).expanduser()
        if not source.exists():
            raise CourseError(f"--from {source}: no such file or folder")
        if ready:
            print(f"{name}: already prepared in {target}; delete that folder to import again")
            return target
        return import_copy(name, source, target)
    if ready:
        return target
    if not known:
        raise CourseError(
            f"{name} is not prepared in {target}; import it with `python -m alexnet_lib data fetch "
            f"{name} --from PATH` (an image-folder tree or a .tar.gz of one)"
        )
    looked = [f"{target} (not prepared)"]
    for place in known_places():
        for candidate in (place / local for local in LOCAL_NAMES[name]):
            if candidate.exists():
                return import_copy(name, candidate, target)
        looked.append(f"{place} (no copy)")
    reason = "download disabled"
    if download:
        try:
            return _download(name, target)
        except CourseError:
            raise
        except Exception as error:  # offline: URLError, socket errors, torchvision's RuntimeError
            reason = f"download failed ({_one_line(error)})"
    raise CourseError(f"no copy of {name} found. Looked in: {'; '.join(looked)}; {reason}. Fix: {fix_command(name)}")


def _one_line(error: BaseException, limit: int = 200) -> str:
    """``Type: message`` on one line; of a multi-line message (torchvision's), its first and last lines."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = " ... ".join(dict.fromkeys([lines[0], lines[-1]])) if lines else ""
    return f"{type(error).__name__}: {text}"[:limit]


@contextmanager
def staging(target: Path) -> Iterator[Path]:
    """A hidden folder beside ``target``; renamed to ``target`` on success, deleted otherwise."""
    target.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    folder.chmod(0o755)  # mkdtemp makes it private
    try:
        yield folder
        if target.exists():  # an earlier, incomplete folder: replace it
            shutil.rmtree(target)
        os.replace(folder, target)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# What a damaged or wrong local copy raises while it is read; each becomes one CourseError line.
IMPORT_ERRORS = (
    OSError,
    EOFError,
    ValueError,
    RuntimeError,
    AssertionError,
    KeyError,
    IndexError,
    TypeError,
    tarfile.TarError,
    pickle.UnpicklingError,
    zlib.error,
)
PREPARED_FILES = {"train.pt", "test.pt", "meta.json"}


def import_copy(name: str, source: Path, target: Path) -> Path:
    """Import a local copy of ``name`` from ``source`` (file or folder) into ``target``.

    Everything is built in a staging folder that replaces ``target`` only once complete: on any
    error ``target`` is as it was before, and the error is one ``CourseError`` line.
    """
    started = time.perf_counter()
    source = Path(source)
    if name == "fashion-mnist" and source.is_file() and source.name.split(".")[0] in CHECKSUMS:
        source = source.parent  # one of the four IDX files was named: use the folder holding them
    _check_target(source, target)
    print(f"{name}: importing from {source} ...", flush=True)
    try:
        with staging(target) as folder:
            _import_into(name, source, folder)
    except CourseError:
        raise
    except IMPORT_ERRORS as error:
        raise CourseError(f"could not import {name} from {source}: {_one_line(error)}") from None
    print(f"{name}: ready in {target} ({time.perf_counter() - started:.0f} s)")
    return target


def _check_target(source: Path, target: Path) -> None:
    """Refuse imports that would overwrite the learner's own files (the import replaces ``target``)."""
    source, resolved = source.resolve(), target.resolve()
    if source == resolved or resolved in source.parents:
        raise CourseError(f"{source} lies inside {target}, which the import replaces; move it elsewhere first")
    if target.is_file() or target.is_dir() and any(p.name not in PREPARED_FILES for p in target.iterdir()):
        raise CourseError(f"{target} already exists and is not a prepared dataset; move it away or choose another name")


def _import_into(name: str, source: Path, folder: Path) -> None:
    """Read ``source`` and write the prepared dataset into the staging ``folder``."""
    origin = source
    if source.is_file():
        if not tarfile.is_tarfile(source):
            raise CourseError(f"{source} is not a .tar.gz archive (or it is damaged)")
        verify_checksum(source)
        source = extract(source, folder / "extracted")
    if name == "fashion-mnist":
        splits = _read_idx_folder(source, folder / "raw")
    elif name == "cifar10":
        splits = _read_cifar10(source)
    else:
        _copy_image_folder(source, folder, move=source != origin)  # files extracted here can be moved
        splits = None
    for leftover in ("extracted", "raw"):
        shutil.rmtree(folder / leftover, ignore_errors=True)
    if splits is not None:
        _save_prepared(name, splits, folder, origin)


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


def extract(archive: Path, into: Path) -> Path:
    """Extract a .tar(.gz) safely and return the folder that holds its content.

    Every member is checked first, the same way on every Python: plain files and folders inside
    ``into`` only, else one ``CourseError`` that names the member. Where ``tarfile`` has filters
    (3.11.4 and newer, and backports), the ``data`` filter guards the extraction a second time.
    """
    into.mkdir(parents=True)
    root = into.resolve()
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
        for member in members:
            path = (root / member.name).resolve()
            if not (member.isfile() or member.isdir()) or root not in (path, *path.parents):
                raise CourseError(f"{archive} holds {member.name!r}, which is not a plain file or folder inside it")
        if hasattr(tarfile, "data_filter"):
            tar.extractall(into, members=members, filter="data")
        else:
            tar.extractall(into, members=members)
    entries = [p for p in into.iterdir() if not p.name.startswith(".")]
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else into


# Fashion-MNIST: the four IDX files -----------------------------------------------------


def _read_idx_folder(source: Path, scratch: Path) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
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


def _read_cifar10(source: Path) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
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


def class_names(split_dir: Path) -> list[str]:
    """The class folders of ``split_dir``, sorted (hidden ones, like .ipynb_checkpoints, left out)."""
    return sorted(p.name for p in split_dir.iterdir() if p.is_dir() and not p.name.startswith("."))


def find_image_folder_root(source: Path) -> dict[str, Path]:
    """The ``train`` and ``test`` (or ``val``) folders of an image-folder tree at or just under ``source``.

    When both ``test/`` and ``val/`` exist, the one with the same classes as ``train/`` is taken:
    TinyImageNet's ``test/`` holds unlabelled images, its ``val/`` the labelled ones.
    """
    candidates = [source, *sorted(p for p in source.iterdir() if p.is_dir())] if source.is_dir() else []
    for root in candidates:
        tests = [root / n for n in ("test", "val") if (root / n).is_dir()]
        if (root / "train").is_dir() and tests:
            train_classes = class_names(root / "train")
            test = next((t for t in tests if class_names(t) == train_classes), tests[0])
            return {"train": root / "train", "test": test}
    raise CourseError(f"{source} is not an image-folder tree: expected train/<class>/* and test/<class>/* (or val/)")


def list_images(split_dir: Path) -> tuple[list[Path], list[int], list[str]]:
    """Image files under ``split_dir/<class>/`` (at any depth), their class indices, and the class names.

    Class indices follow the sorted folder names, as in torchvision's ``ImageFolder``; files
    without an image suffix and hidden files are skipped.
    """
    classes = class_names(split_dir)
    paths: list[Path] = []
    labels: list[int] = []
    for label, name in enumerate(classes):
        found = sorted(
            p
            for p in (split_dir / name).rglob("*")
            if p.suffix.lower() in IMAGE_SUFFIXES
            and p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(split_dir).parts)
        )
        paths += found
        labels += [label] * len(found)
    return paths, labels, classes


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


# Any image-folder dataset --------------------------------------------------------------


def _copy_image_folder(source: Path, folder: Path, *, move: bool = False) -> None:
    """Copy (or move) the ``train`` and ``test``/``val`` folders of ``source`` to ``folder/train``, ``folder/test``."""
    roots = find_image_folder_root(source)
    classes = {split: class_names(d) for split, d in roots.items()}
    if not classes["train"] or classes["train"] != classes["test"]:
        raise CourseError(
            f"{source}: train/ and test/ must hold the same class folders, "
            f"found {classes['train']} and {classes['test']}"
        )
    for split, split_dir in roots.items():
        if not list_images(split_dir)[0]:
            raise CourseError(f"{split_dir} holds no image files ({', '.join(sorted(IMAGE_SUFFIXES))})")
        if move:
            shutil.move(str(split_dir), folder / split)
        else:
            shutil.copytree(split_dir, folder / split)


def _save_prepared(name: str, splits: dict, folder: Path, source: Path) -> None:
    known = KNOWN_DATASETS[name]
    for split, (images, labels) in splits.items():
        expected = getattr(known, split)
        if images.shape[1:] != (known.channels, known.size, known.size) or len(images) != len(labels):
            raise CourseError(
                f"{source}: the {split} images have shape {tuple(images.shape[1:])}, "
                f"expected {(known.channels, known.size, known.size)}"
            )
        if len(images) != expected:
            print(f"{name}: note: {split} has {len(images):,} images where the full dataset has {expected:,}")
        if labels.min() < 0 or labels.max() >= len(known.classes):
            raise CourseError(f"{source}: {split} labels fall outside 0..{len(known.classes) - 1}")
        write_split(folder, split, images, labels, list(known.classes))
    meta = {
        "name": name,
        "classes": list(known.classes),
        "channels": known.channels,
        "size": known.size,
        "counts": {split: len(labels) for split, (_, labels) in splits.items()},
        "source": str(source.resolve()),
        "imported": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    write_meta(folder, meta, compute_stats(splits["train"][0]))


def _download(name: str, target: Path) -> Path:
    """torchvision's download, then the same import as for a local copy."""
    from torchvision import datasets as tv

    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{name}.", suffix=".download", dir=target.parent) as scratch:
        root = Path(scratch)
        if name == "fashion-mnist":
            tv.FashionMNIST(root, train=True, download=True)
            source = root / "FashionMNIST" / "raw"
        else:
            tv.CIFAR10(root, train=True, download=True)
            source = root / "cifar-10-batches-py"
        return import_copy(name, source, target)
