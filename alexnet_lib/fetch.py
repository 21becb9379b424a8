"""Getting a dataset: into the data directory, prepared, then into memory (notebook 02).

``load_dataset(name)`` reads a prepared dataset, fetching it first when it is missing.
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
The published files themselves are read by ``published.py``.
"""

from __future__ import annotations

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

from . import env
from .datasets import (
    KNOWN_DATASETS,
    Splits,
    compute_stats,
    dataset_folder,
    is_prepared,
    read_dataset,
    write_meta,
    write_split,
)
from .errors import CourseError
from .images import class_names, find_image_folder_root, list_images, no_image_files
from .published import CHECKSUMS, read_cifar10, read_idx_folder, verify_checksum

# Names a local copy may have, in the order they are tried, under each known place.
LOCAL_NAMES = {
    "fashion-mnist": ("fashion-mnist", "FashionMNIST/raw"),
    "cifar10": ("cifar-10-python.tar.gz", "cifar-10-batches-py", "cifar10-jpg.tar.gz", "cifar10"),
}


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
    return fetch_into(dataset_folder(name, data_dir), source, download=download)


def fetch_into(target: Path, source: Path | str | None = None, *, download: bool = True) -> Path:
    """``fetch`` into the dataset folder ``target`` (``datasets.dataset_folder``), named as its dataset."""
    name = target.name
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


def load_dataset(
    name: str,
    data_dir: Path | None = None,
    *,
    train_subset: int | None = None,
    test_subset: int | None = None,
    seed: int = 0,
    fetch_missing: bool = True,
) -> Splits:
    """The train and test splits of ``name`` (``fashion-mnist``, ``cifar10`` or a prepared name), to look at.

    A dataset that is not prepared yet is fetched first (a local copy, else a download).
    ``train_subset``/``test_subset`` keep that many randomly chosen images. No validation split
    is held out: a training run's data, with its split, come from ``folders.load_training_data``.
    """
    folder = prepared_folder(dataset_folder(name, data_dir), fetch_missing=fetch_missing)
    return read_dataset(folder).subsets(train_subset, None, test_subset, seed)


def prepared_folder(folder: Path, *, fetch_missing: bool = True) -> Path:
    """``folder`` (``datasets.dataset_folder``) once it holds a prepared dataset: fetched first if missing."""
    if not is_prepared(folder):
        if (folder / "train").is_dir():
            raise CourseError(
                f"{folder} is an image-folder dataset; load it with "
                f"alexnet_lib.folders.load_image_folder({str(folder)!r}, size=...)"
            )
        if not fetch_missing:
            name = folder.name
            raise CourseError(
                f"{name} is not prepared in {folder.parent}; run `python -m alexnet_lib data fetch {name}`"
            )
        fetch_into(folder)
    return folder


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
        splits = read_idx_folder(source, folder / "raw")
    elif name == "cifar10":
        splits = read_cifar10(source)
    else:
        _copy_image_folder(source, folder, move=source != origin)  # files extracted here can be moved
        splits = None
    for leftover in ("extracted", "raw"):
        shutil.rmtree(folder / leftover, ignore_errors=True)
    if splits is not None:
        _save_prepared(name, splits, folder, origin)


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
            raise no_image_files(split_dir)
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
