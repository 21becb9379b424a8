"""Where datasets come from: prepared, a local copy, a download, or one clear message; imports are safe."""

from __future__ import annotations

import io
import os
import pickle
import shutil
import subprocess
import sys
import tarfile

import numpy as np
import pytest
import torch
from PIL import Image

from alexnet_lib import fetch as fetch_module
from alexnet_lib.cli import main
from alexnet_lib.datasets import CIFAR10_CLASSES, compute_stats, is_prepared, read_meta
from alexnet_lib.errors import CourseError
from alexnet_lib.fetch import fetch, load_dataset
from alexnet_lib.published import CHECKSUMS

from .data_fixtures import (
    ROOT,
    SHARED,
    RunsACommand,
    make_tar_gz,
    truncated_copy,
    write_cifar_batches,
    write_idx,
    write_image_tree,
)


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No shared copies and no network: every source but the ones a test names is missing."""
    monkeypatch.setenv("ALEXNET_SHARED_DATASETS", str(tmp_path / "no-shared-copies"))

    def no_network(name, target):
        raise OSError("network is unreachable (test)")

    monkeypatch.setattr(fetch_module, "_download", no_network)


def leftovers(data_dir):
    """Everything in the data directory, hidden staging folders included."""
    return sorted(p.name for p in data_dir.iterdir()) if data_dir.exists() else []


# CIFAR-10's pickled batches --------------------------------------------------------------


# protocol 2 with str keys: as the published Python 2 files; 5 with bytes keys: as a copy saved again by Python 3
@pytest.mark.parametrize(("protocol", "as_bytes"), [(2, False), (5, True)])
def test_cifar_batches_import_with_every_pixel_and_label(tmp_path, offline, protocol, as_bytes):
    expected = write_cifar_batches(tmp_path / "copy" / "cifar-10-batches-py", protocol=protocol, as_bytes=as_bytes)
    fetch("cifar10", tmp_path / "copy", tmp_path / "data")  # the folder that holds cifar-10-batches-py
    data = load_dataset("cifar10", tmp_path / "data", fetch_missing=False)
    for split in ("train", "test"):
        images, labels = expected[split]
        imported = getattr(data, split)
        assert imported.images.dtype == torch.uint8 and imported.images.shape == (len(labels), 3, 32, 32)
        assert np.array_equal(imported.images.numpy(), images)
        assert np.array_equal(imported.labels.numpy(), labels)
    assert data.classes == list(CIFAR10_CLASSES)
    assert data.stats == compute_stats(torch.from_numpy(expected["train"][0]))
    assert read_meta(tmp_path / "data" / "cifar10")["counts"] == {"train": 20, "test": 6}


def test_a_pickle_that_would_run_code_is_refused_and_never_runs(tmp_path, offline):
    batches = tmp_path / "cifar-10-batches-py"
    write_cifar_batches(batches)
    marker = tmp_path / "the-payload-ran"
    (batches / "data_batch_3").write_bytes(pickle.dumps(RunsACommand(f"touch {marker}"), protocol=2))
    with pytest.raises(CourseError, match=r"could not import cifar10 .*system is not allowed in a CIFAR-10 batch"):
        fetch("cifar10", batches, tmp_path / "data")
    assert not marker.exists()
    assert leftovers(tmp_path / "data") == []
    pickle.loads(pickle.dumps(RunsACommand(f"touch {marker}")))  # the oracle: plain pickle does run it
    assert marker.exists()


def test_a_batch_that_is_not_a_dict_is_refused(tmp_path, offline):
    batches = tmp_path / "cifar-10-batches-py"
    write_cifar_batches(batches)
    (batches / "test_batch").write_bytes(pickle.dumps([1, 2, 3], protocol=2))
    with pytest.raises(CourseError, match="test_batch is not a CIFAR-10 batch"):
        fetch("cifar10", batches, tmp_path / "data")


def test_batches_with_other_classes_are_refused(tmp_path, offline):
    batches = tmp_path / "cifar-10-batches-py"
    write_cifar_batches(batches)
    (batches / "batches.meta").write_bytes(pickle.dumps({"label_names": ["cat", "dog"]}, protocol=2))
    with pytest.raises(CourseError, match="does not list CIFAR-10's classes"):
        fetch("cifar10", batches, tmp_path / "data")


# Archives: checksums, damage, unsafe members ---------------------------------------------


@pytest.mark.second_python  # extracts an archive: tarfile differs between Pythons
def test_an_archive_of_batches_imports_and_a_published_name_must_match_its_checksum(tmp_path, offline):
    write_cifar_batches(tmp_path / "cifar-10-batches-py")
    archive = make_tar_gz(tmp_path / "cifar-10-batches-py", tmp_path / "my-cifar.tar.gz")
    fetch("cifar10", archive, tmp_path / "data")
    assert is_prepared(tmp_path / "data" / "cifar10")
    assert leftovers(tmp_path / "data") == ["cifar10"]  # the extracted files and staging folder are gone

    impostor = shutil.copy(archive, tmp_path / "cifar-10-python.tar.gz")  # the official name, other bytes
    with pytest.raises(CourseError, match=r"cifar-10-python.tar.gz is damaged or not the published file: its md5"):
        fetch("cifar10", impostor, tmp_path / "other-data")
    assert leftovers(tmp_path / "other-data") == []


@pytest.mark.second_python  # extracts an archive: tarfile differs between Pythons
def test_a_truncated_archive_leaves_nothing_behind(tmp_path, offline):
    write_cifar_batches(tmp_path / "cifar-10-batches-py")
    archive = make_tar_gz(tmp_path / "cifar-10-batches-py", tmp_path / "full.tar.gz")
    truncated = truncated_copy(archive, tmp_path / "interrupted-download.tar.gz", 0.6)
    with pytest.raises(CourseError, match="could not import cifar10 from .*interrupted-download.tar.gz"):
        fetch("cifar10", truncated, tmp_path / "data")
    assert leftovers(tmp_path / "data") == []


def test_a_file_that_is_no_archive_is_refused(tmp_path, offline):
    (tmp_path / "cifar.tar.gz").write_bytes(b"<html>404 Not Found</html>")
    with pytest.raises(CourseError, match="is not a .tar.gz archive"):
        fetch("cifar10", tmp_path / "cifar.tar.gz", tmp_path / "data")
    assert leftovers(tmp_path / "data") == []


@pytest.mark.second_python  # extracts an archive: tarfile differs between Pythons
@pytest.mark.parametrize("filters", [True, False], ids=["tarfile-filters", "no-filters"])
@pytest.mark.parametrize("evil", ["../escaped.txt", "/tmp/absolute.txt", "link"])
def test_archive_members_outside_the_folder_are_refused(tmp_path, offline, monkeypatch, filters, evil):
    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name in ("train/cat/0.png", evil):
            member = tarfile.TarInfo(name)
            if name == "link":
                member.type, member.linkname = tarfile.SYMTYPE, "../../escaped.txt"
            else:
                member.size = 4
            tar.addfile(member, io.BytesIO(b"evil"))
    if not filters:  # as Debian 12's Python 3.11.2, whose tarfile predates filters (3.11.4)
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    with pytest.raises(CourseError, match=rf"evil.tar.gz holds '{evil}', which is not a plain file or folder inside"):
        fetch("pets", archive, tmp_path / "data")
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "data" / "pets").exists()
    assert leftovers(tmp_path / "data") == []


def test_the_shared_cifar10_archive_truncated_fails_its_checksum(tmp_path, offline):
    if not (SHARED / "cifar10-jpg.tar.gz").is_file():
        pytest.skip(f"no shared copy at {SHARED}")
    damaged = truncated_copy(SHARED / "cifar10-jpg.tar.gz", tmp_path / "cifar10-jpg.tar.gz", 0.5)
    with pytest.raises(CourseError, match=f"cifar10-jpg.tar.gz is damaged .*expected {CHECKSUMS[damaged.name][1]}"):
        fetch("cifar10", damaged, tmp_path / "data")
    assert leftovers(tmp_path / "data") == []


# CIFAR-10 as JPEG image folders, and any image-folder dataset --------------------------------


@pytest.mark.second_python  # extracts an archive: tarfile differs between Pythons
def test_a_jpeg_tree_in_an_archive_imports_as_cifar10(tmp_path, offline, capsys):
    tree = write_image_tree(tmp_path / "jpg", CIFAR10_CLASSES, per_class=2)
    archive = make_tar_gz(tree, tmp_path / "cifar10-small.tar.gz", arcname=".")  # train/ at the top, as shared
    fetch("cifar10", archive, tmp_path / "data")
    assert "note: train has 20 images where the full dataset has 50,000" in capsys.readouterr().out
    data = load_dataset("cifar10", tmp_path / "data", fetch_missing=False)
    assert len(data.train) == 20 and len(data.test) == 20 and data.train.images.shape[1:] == (3, 32, 32)
    birds = [
        np.asarray(Image.open(path).convert("RGB")).transpose(2, 0, 1) for path in (tree / "train" / "bird").iterdir()
    ]
    imported_birds = data.train.images[data.train.labels == CIFAR10_CLASSES.index("bird")].numpy()
    assert sorted(b.tobytes() for b in imported_birds) == sorted(b.tobytes() for b in birds)  # the same pixels
    assert data.train.class_counts().tolist() == [2] * 10
    assert data.train.labels.tolist() != sorted(data.train.labels.tolist())  # shuffled, as the published batches


def test_images_of_the_wrong_size_are_refused_for_cifar10(tmp_path, offline):
    tree = write_image_tree(tmp_path / "tree", CIFAR10_CLASSES, per_class=1, size=(28, 28))
    with pytest.raises(CourseError, match="is 28x28, expected 32x32"):
        fetch("cifar10", tree, tmp_path / "data")
    assert leftovers(tmp_path / "data") == []


@pytest.mark.second_python  # extracts an archive: tarfile differs between Pythons
def test_an_image_folder_dataset_imports_from_a_folder_or_an_archive(tmp_path, offline):
    tree = write_image_tree(tmp_path / "pets", ("cat", "dog"), per_class=3, splits=("train", "val"))
    fetch("pets", tree, tmp_path / "data")
    target = tmp_path / "data" / "pets"
    assert sorted(p.name for p in target.iterdir()) == ["test", "train"]  # val/ becomes test/
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*.jpg"))[:2] == [
        "test/cat/0000.jpg",
        "test/cat/0001.jpg",
    ]
    assert fetch("pets", data_dir=tmp_path / "data") == target  # prepared: nothing to do
    fetch("pets", make_tar_gz(tree, tmp_path / "pets.tar.gz"), tmp_path / "data2")
    assert len(list((tmp_path / "data2" / "pets").rglob("*.jpg"))) == 12
    assert (tree / "train" / "cat" / "0000.jpg").exists()  # the source itself is untouched


def test_an_image_folder_without_matching_classes_is_refused(tmp_path, offline):
    write_image_tree(tmp_path / "pets", ("cat", "dog"), per_class=1, splits=("train",))
    write_image_tree(tmp_path / "pets", ("cat",), per_class=1, splits=("test",))
    with pytest.raises(CourseError, match="must hold the same class folders"):
        fetch("pets", tmp_path / "pets", tmp_path / "data")
    with pytest.raises(CourseError, match="is not an image-folder tree"):
        fetch("pets", tmp_path / "pets" / "train", tmp_path / "data")


def test_an_unknown_dataset_without_a_copy_says_how_to_import_it(tmp_path, offline):
    with pytest.raises(CourseError, match=r"my-photos is not prepared .* data fetch my-photos --from PATH"):
        fetch("my-photos", data_dir=tmp_path / "data")


# The learner's own files are never overwritten -------------------------------------------


def test_an_import_never_replaces_a_folder_it_did_not_make(tmp_path, offline):
    write_cifar_batches(tmp_path / "cifar-10-batches-py")
    target = tmp_path / "data" / "cifar10"
    target.mkdir(parents=True)
    (target / "my-notes.txt").write_text("keep me")
    with pytest.raises(CourseError, match="already exists and is not a prepared dataset"):
        fetch("cifar10", tmp_path / "cifar-10-batches-py", tmp_path / "data")
    assert (target / "my-notes.txt").read_text() == "keep me"
    with pytest.raises(CourseError, match="not a dataset name"):
        fetch("..", tmp_path / "cifar-10-batches-py", tmp_path / "data")


def test_a_half_prepared_folder_is_replaced(tmp_path, offline):
    write_cifar_batches(tmp_path / "cifar-10-batches-py")
    target = tmp_path / "data" / "cifar10"
    target.mkdir(parents=True)
    (target / "train.pt").write_bytes(b"half a file")  # an import killed before it could clean up
    fetch("cifar10", tmp_path / "cifar-10-batches-py", tmp_path / "data")
    assert len(load_dataset("cifar10", tmp_path / "data", fetch_missing=False).train) == 20


def test_a_source_inside_the_target_is_refused(tmp_path, offline):
    write_image_tree(tmp_path / "data" / "pets" / "raw", ("cat",), per_class=1)
    with pytest.raises(CourseError, match="lies inside"):
        fetch("pets", tmp_path / "data" / "pets" / "raw", tmp_path / "data")
    assert (tmp_path / "data" / "pets" / "raw" / "train" / "cat" / "0000.jpg").exists()


# Fashion-MNIST's IDX files ------------------------------------------------------------------


def test_real_fashion_mnist_is_found_in_the_shared_folder_and_matches_the_prepared_copy(tmp_path, monkeypatch):
    if not (SHARED / "fashion-mnist").is_dir():
        pytest.skip(f"no shared copy at {SHARED}")
    monkeypatch.setenv("ALEXNET_SHARED_DATASETS", str(SHARED))
    target = fetch("fashion-mnist", data_dir=tmp_path / "data", download=False)
    assert read_meta(target)["source"] == str((SHARED / "fashion-mnist").resolve())
    imported = load_dataset("fashion-mnist", tmp_path / "data", fetch_missing=False)
    assert imported.train.images.shape == (60_000, 1, 28, 28) and imported.test.images.shape == (10_000, 1, 28, 28)
    if not is_prepared(ROOT / "data" / "fashion-mnist"):
        pytest.skip("data/fashion-mnist is not prepared (make data)")
    prepared = load_dataset("fashion-mnist", ROOT / "data", fetch_missing=False)
    for split in ("train", "test"):
        assert torch.equal(getattr(imported, split).images, getattr(prepared, split).images)
        assert torch.equal(getattr(imported, split).labels, getattr(prepared, split).labels)
    assert imported.stats == prepared.stats


def test_a_truncated_idx_file_leaves_nothing_behind(tmp_path, offline):
    if not (SHARED / "fashion-mnist").is_dir():
        pytest.skip(f"no shared copy at {SHARED}")
    copy = tmp_path / "copy"
    copy.mkdir()
    for path in (SHARED / "fashion-mnist").glob("*.gz"):
        (copy / path.name).symlink_to(path)
    (copy / "t10k-labels-idx1-ubyte.gz").unlink()
    truncated_copy(SHARED / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz", copy / "t10k-labels-idx1-ubyte.gz")
    with pytest.raises(CourseError, match="could not import fashion-mnist .*EOFError"):
        fetch("fashion-mnist", copy, tmp_path / "data")
    assert leftovers(tmp_path / "data") == []


def test_idx_files_that_are_not_the_published_ones_fail_their_checksum(tmp_path, offline):
    images = np.zeros((5, 28, 28), dtype=np.uint8)
    write_idx(tmp_path / "copy", "train-images-idx3-ubyte", images=images)
    write_idx(tmp_path / "copy", "train-labels-idx1-ubyte", labels=np.arange(5))
    with pytest.raises(CourseError, match="train-images-idx3-ubyte is damaged or not the published file: its md5"):
        fetch("fashion-mnist", tmp_path / "copy" / "train-images-idx3-ubyte.gz", tmp_path / "data")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CourseError, match="lacks train-images-idx3-ubyte.gz: Fashion-MNIST needs the four IDX files"):
        fetch("fashion-mnist", tmp_path / "empty", tmp_path / "data")
    assert leftovers(tmp_path / "data") == []


# Nothing available: one line that says what to do --------------------------------------------


@pytest.mark.parametrize("name", ["fashion-mnist", "cifar10"])
def test_nothing_available_gives_one_line_with_the_places_and_the_fix(tmp_path, monkeypatch, name):
    data_dir, first, second = tmp_path / "data", tmp_path / "shared-a", tmp_path / "shared-b"
    monkeypatch.setenv("ALEXNET_DATA_DIR", str(data_dir))
    monkeypatch.setenv("ALEXNET_SHARED_DATASETS", f"{first}{os.pathsep}{second}")

    def no_network(name, target):
        raise OSError("network is unreachable (test)")

    monkeypatch.setattr(fetch_module, "_download", no_network)
    with pytest.raises(CourseError) as caught:
        load_dataset(name)  # the default data directory, from ALEXNET_DATA_DIR
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"no copy of {name} found")
    for place in (data_dir / name, first, second):
        assert str(place) in message
    assert "download failed (OSError: network is unreachable (test))" in message
    assert f"Fix: python -m alexnet_lib data fetch {name} --from /path/to/" in message
    with pytest.raises(CourseError, match="download disabled"):
        fetch(name, download=False)
    assert leftovers(data_dir) == []


def test_a_known_local_copy_is_imported_once(tmp_path, monkeypatch, offline, capsys):
    monkeypatch.setenv("ALEXNET_SHARED_DATASETS", f"{tmp_path / 'empty'}{os.pathsep}{tmp_path / 'classroom'}")
    write_cifar_batches(tmp_path / "classroom" / "cifar-10-batches-py")
    target = fetch("cifar10", data_dir=tmp_path / "data")
    assert f"importing from {tmp_path / 'classroom' / 'cifar-10-batches-py'}" in capsys.readouterr().out
    shutil.rmtree(tmp_path / "classroom")
    assert fetch("cifar10", data_dir=tmp_path / "data") == target  # prepared: the copy is no longer needed
    assert capsys.readouterr().out == ""


# The commands ------------------------------------------------------------------------------

OFFLINE_CLI = (
    "import sys\n"
    "from alexnet_lib import fetch\n"
    "def no_network(name, target):\n"
    "    raise OSError('network is unreachable (test)')\n"
    "fetch._download = no_network\n"
    "from alexnet_lib.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def run_offline_cli(*args, env):
    """``python -m alexnet_lib ARGS`` in a subprocess whose download always fails."""
    environment = {**os.environ, "OMP_NUM_THREADS": "1", **env}
    command = [sys.executable, "-c", OFFLINE_CLI, *args]
    return subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_data_fetch_command_with_nothing_available_exits_2_with_one_line(tmp_path):
    env = {"ALEXNET_DATA_DIR": str(tmp_path / "data"), "ALEXNET_SHARED_DATASETS": str(tmp_path / "empty")}
    result = run_offline_cli("data", "fetch", "cifar10", env=env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: no copy of cifar10 found")
    assert "python -m alexnet_lib data fetch cifar10 --from" in lines[0]


def test_data_fetch_command_imports_a_local_copy_and_info_lists_it(tmp_path, capsys):
    write_cifar_batches(tmp_path / "cifar-10-batches-py")
    source, data_dir = str(tmp_path / "cifar-10-batches-py"), str(tmp_path / "data")
    assert main(["data", "fetch", "cifar10", "--from", source, "--data-dir", data_dir]) == 0
    assert main(["data", "info", "--data-dir", data_dir]) == 0
    out = capsys.readouterr().out
    assert "cifar10          train 20, test 6 | 10 classes, 3x32x32" in out
    assert "fashion-mnist    not prepared: python -m alexnet_lib data fetch fashion-mnist" in out


@pytest.mark.second_python  # extracts an archive: tarfile differs between Pythons
def test_a_corrupted_archive_through_the_command_is_one_line_and_exit_2(tmp_path, capsys):
    (tmp_path / "cifar-10-python.tar.gz").write_bytes(b"\x1f\x8b" + bytes(100))
    archive, data_dir = str(tmp_path / "cifar-10-python.tar.gz"), str(tmp_path / "data")
    code = main(["data", "fetch", "cifar10", "--from", archive, "--data-dir", data_dir])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("action", ["fetch", "info", "arrange-tinyimagenet", "sort-imagenet-val"])
def test_data_commands_have_help(action, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["data", action, "--help"])
    assert exited.value.code == 0
    assert "usage: python -m alexnet_lib data " + action in capsys.readouterr().out
