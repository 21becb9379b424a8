"""Image-folder datasets: loading them both ways, and putting TinyImageNet's and ImageNet's val sets in order."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from alexnet_lib.cli import main
from alexnet_lib.errors import CourseError
from alexnet_lib.fetch import fetch
from alexnet_lib.folders import (
    arrange_tinyimagenet_val,
    image_folder_loader,
    load_image_folder,
    read_image,
    sort_imagenet_val,
)
from alexnet_lib.images import find_image_folder_root
from alexnet_lib.transforms import BatchTransform

from .data_fixtures import write_image_tree

WNIDS = ("n01443537", "n01629819")


def save_random(path, size=(64, 64), seed=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path)


def tiny_imagenet(root):
    """A two-class TinyImageNet: train/<wnid>/images/, val/images/ + val_annotations.txt, unlabelled test/images/."""
    for c, wnid in enumerate(WNIDS):
        for i in range(3):
            save_random(root / "train" / wnid / "images" / f"{wnid}_{i}.JPEG", seed=10 * c + i)
        (root / "train" / wnid / f"{wnid}_boxes.txt").write_text(f"{wnid}_0.JPEG\t0\t0\t10\t10\n")
    rows = []
    for i in range(4):
        save_random(root / "val" / "images" / f"val_{i}.JPEG", seed=100 + i)
        rows.append(f"val_{i}.JPEG\t{WNIDS[i % 2]}\t0\t0\t63\t63")
    (root / "val" / "val_annotations.txt").write_text("\n".join(rows) + "\n")
    save_random(root / "test" / "images" / "test_0.JPEG", seed=200)
    return root


def test_tinyimagenet_val_is_arranged_into_class_folders_once(tmp_path):
    root = tiny_imagenet(tmp_path / "tiny-imagenet-200")
    assert arrange_tinyimagenet_val(root) == 4
    assert sorted(p.relative_to(root / "val").as_posix() for p in (root / "val").rglob("*.JPEG")) == [
        "n01443537/val_0.JPEG",
        "n01443537/val_2.JPEG",
        "n01629819/val_1.JPEG",
        "n01629819/val_3.JPEG",
    ]
    assert not (root / "val" / "images").exists()
    assert arrange_tinyimagenet_val(root) == 0  # running it again changes nothing
    # test/ holds unlabelled images; val/ is the labelled split with train's classes.
    assert find_image_folder_root(root) == {"train": root / "train", "test": root / "val"}
    data = load_image_folder(root, size=32)
    assert (len(data.train), len(data.test)) == (6, 4) and data.classes == list(WNIDS)
    assert data.train.images.shape == (6, 3, 32, 32) and data.test.labels.tolist() == [0, 0, 1, 1]
    fetch("tiny", root, tmp_path / "data")  # and it imports as an image-folder dataset
    assert sorted(p.name for p in (tmp_path / "data" / "tiny" / "test").iterdir() if p.is_dir()) == list(WNIDS)


def test_tinyimagenet_with_an_unlabelled_image_moves_nothing(tmp_path):
    root = tiny_imagenet(tmp_path / "tiny")
    save_random(root / "val" / "images" / "val_99.JPEG")
    with pytest.raises(CourseError, match="no label for 1 images, e.g. val_99.JPEG; nothing was moved"):
        arrange_tinyimagenet_val(root)
    assert len(list((root / "val" / "images").iterdir())) == 5
    (root / "val" / "val_annotations.txt").unlink()
    with pytest.raises(CourseError, match="val_annotations.txt is missing"):
        arrange_tinyimagenet_val(root)
    with pytest.raises(CourseError, match="is .* TinyImageNet"):
        arrange_tinyimagenet_val(tmp_path / "elsewhere")


def flat_imagenet_val(folder, n=6):
    for i in range(1, n + 1):
        save_random(folder / f"ILSVRC2012_val_{i:08d}.JPEG", size=(20, 16), seed=i)
    return folder


def test_imagenet_val_is_sorted_by_kaggles_solution_file(tmp_path):
    val = flat_imagenet_val(tmp_path / "val")
    rows = ["ImageId,PredictionString"] + [
        f"ILSVRC2012_val_{i:08d},{WNIDS[i % 2]} 1 2 30 40 {WNIDS[i % 2]} 5 6 7 8" for i in range(1, 7)
    ]
    (tmp_path / "LOC_val_solution.csv").write_text("\n".join(rows) + "\n")
    assert sort_imagenet_val(val, tmp_path / "LOC_val_solution.csv") == 6
    assert sorted(p.name for p in (val / WNIDS[1]).iterdir()) == [f"ILSVRC2012_val_{i:08d}.JPEG" for i in (1, 3, 5)]
    assert sort_imagenet_val(val, tmp_path / "LOC_val_solution.csv") == 0


def test_imagenet_val_with_the_devkits_numbered_classes_needs_the_synset_list(tmp_path, capsys):
    val = flat_imagenet_val(tmp_path / "val")
    (tmp_path / "ground_truth.txt").write_text("2\n1\n2\n2\n1\n1\n")  # 1-based class numbers, file order
    (tmp_path / "synsets.txt").write_text(f"{WNIDS[0]} goldfinch\n{WNIDS[1]} salamander\n")
    with pytest.raises(CourseError, match="gives classes as numbers; pass --synsets"):
        sort_imagenet_val(val, tmp_path / "ground_truth.txt")
    args = ["data", "sort-imagenet-val", str(val), str(tmp_path / "ground_truth.txt")]
    assert main([*args, "--synsets", str(tmp_path / "synsets.txt")]) == 0
    assert "moved 6 images into class folders" in capsys.readouterr().out
    assert sorted(p.name for p in (val / WNIDS[0]).iterdir()) == [f"ILSVRC2012_val_{i:08d}.JPEG" for i in (2, 5, 6)]


def test_imagenet_val_with_too_few_labels_moves_nothing(tmp_path):
    val = flat_imagenet_val(tmp_path / "val")
    (tmp_path / "ground_truth.txt").write_text(f"{WNIDS[0]}\n{WNIDS[1]}\n")
    with pytest.raises(CourseError, match="has 2 labels but .* has 6 images"):
        sort_imagenet_val(val, tmp_path / "ground_truth.txt")
    assert len(list(val.iterdir())) == 6


# Loading image folders ----------------------------------------------------------------------


def test_images_of_any_shape_become_centre_squares(tmp_path):
    save_random(tmp_path / "wide.png", size=(60, 30))
    square = read_image(tmp_path / "wide.png", 30)
    original = np.asarray(Image.open(tmp_path / "wide.png"))
    assert square.shape == (30, 30, 3) and np.array_equal(square, original[:, 15:45])  # no resize needed
    assert read_image(tmp_path / "wide.png", 12, "L").shape == (12, 12)


def test_photos_are_turned_upright_by_their_exif_orientation(tmp_path):
    pixels = np.zeros((20, 40, 3), dtype=np.uint8)
    pixels[:, 20:] = 255  # left half black, right half white, as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display": the left half ends up on top
    Image.fromarray(pixels).save(tmp_path / "phone.jpg", exif=exif, quality=95)
    upright = read_image(tmp_path / "phone.jpg", 20, "L")
    assert upright[2, 17] < 30 and upright[17, 3] > 225  # top black, bottom white


def test_load_image_folder_skips_hidden_folders_and_names_bad_files(tmp_path):
    root = write_image_tree(tmp_path / "pets", ("cat", "dog"), per_class=2, size=(40, 30))
    (root / "train" / ".ipynb_checkpoints").mkdir()
    (root / "train" / "cat" / "notes.txt").write_text("not an image")
    data = load_image_folder(root, size=24)
    assert data.name == "pets" and data.classes == ["cat", "dog"] and data.train.images.shape == (4, 3, 24, 24)
    assert load_image_folder(root, size=24, grey=True).train.images.shape == (4, 1, 24, 24)
    (root / "test" / "dog" / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(CourseError, match="broken.jpg: not an image"):
        load_image_folder(root, size=24)
    (root / "test" / "dog" / "broken.jpg").unlink()
    (root / "test" / "bird").mkdir()
    with pytest.raises(CourseError, match="must hold the same class folders"):
        load_image_folder(root, size=24)


def test_the_disk_loader_agrees_with_the_in_memory_path(tmp_path):
    root = write_image_tree(tmp_path / "pets", ("cat", "dog"), per_class=3, size=(48, 36))
    data = load_image_folder(root, size=32)
    fast = BatchTransform(67, data.stats, train=False)(data.test.images)
    loader = image_folder_loader(root / "test", 67, data, train=False, batch_size=6, workers=0)
    images, labels = next(iter(loader))
    assert images.shape == fast.shape and torch.equal(labels, data.test.labels)
    std = torch.tensor(data.stats.std).view(1, 3, 1, 1)
    assert ((images - fast).abs() * std).max() <= 1 / 255 + 1e-5  # within one grey level
    train_images, _ = next(iter(image_folder_loader(root / "train", 67, data, train=True, batch_size=6, workers=0)))
    assert train_images.shape == (6, 3, 67, 67)
