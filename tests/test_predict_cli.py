"""``python -m alexnet_lib predict`` as a learner runs it: every bad input is one line, never a traceback.

Each case runs the command line in-process (``run_cli``: what the command prints and returns),
once per module; one slow test types the command as a learner does and checks it prints the same.
Exit codes: 0 all predicted, 1 some images failed, 2 a usage or checkpoint problem.
"""

import json
import pickle
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from alexnet_lib import alexnet
from alexnet_lib.checkpoint import FORMAT, save_checkpoint
from alexnet_lib.errors import CourseError
from alexnet_lib.inference import load_predictor
from alexnet_lib.transforms import to_pil

from .conftest import run_cli, run_command
from .test_inference import encoded, png_bytes, rgb16_png


class Payload:
    """Unpickling this creates ``marker``: what a malicious checkpoint could do instead."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"import pathlib; pathlib.Path({str(self.marker)!r}).touch()",))


BAD_FILES = {  # name: what its error line says
    "notes.jpg": "holds text",
    "junk.png": "not a known image format",
    "cut.png": "truncated",
    "empty.jpg": "empty",
    "bomb.png": r"400\.0 megapixels is over the limit",
    "big.png": r"10000 x 10000 pixels \(100\.0 megapixels\) is over the limit",
}


def write_images(folder: Path, fashion) -> dict[str, Path]:
    """Good images in every awkward mode, and one file for each way a file can be bad."""
    folder.mkdir()
    (folder / "sub").mkdir()
    grey = fashion.test.images[0]
    garment = to_pil(grey)
    rgba = Image.merge("RGBA", [garment, garment, garment, garment])  # transparent where the image is black
    rotated = garment.convert("RGB").resize((56, 28))
    exif = rotated.getexif()
    exif[0x0112] = 6
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    grey16 = Image.fromarray(grey[0].numpy().astype(np.uint16) * 257)
    files = {
        "shirt.png": encoded(garment, "PNG"),
        "rgba.png": encoded(rgba, "PNG"),
        "la.png": encoded(rgba.convert("LA"), "PNG"),
        "palette.gif": encoded(garment.convert("P"), "GIF"),
        "cmyk.jpg": encoded(garment.convert("CMYK"), "JPEG"),
        "rotated.jpg": encoded(rotated, "JPEG", exif=exif),
        "grey16.png": encoded(grey16, "PNG"),
        "rgb16.png": rgb16_png(np.repeat(grey[0].numpy()[:, :, None], 3, 2).astype(np.uint16) * 257),
        "sub/nested.png": encoded(garment, "PNG"),
        "notes.jpg": b"this is a text file with a .jpg name\n",
        "junk.png": bytes(range(256)) * 8,
        "cut.png": encoded(noise, "PNG")[:2000],
        "empty.jpg": b"",
        "bomb.png": png_bytes(20_000, 20_000, 8, 2),
        "big.png": png_bytes(10_000, 10_000, 8, 2),
        "readme.txt": b"not an image file name: skipped\n",
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return {name: folder / name for name in files}


@pytest.fixture(scope="module")
def files(tmp_path_factory, fashion_small):
    """A tiny real checkpoint (untrained paper net, Fashion-MNIST's classes and statistics), broken
    variants of it, and a folder of good and bad images."""
    root = tmp_path_factory.mktemp("predict")
    torch.manual_seed(0)
    model = alexnet("paper", num_classes=10, in_channels=1)
    payload = dict(
        model=model.state_dict(),
        variant="paper",
        num_classes=10,
        in_channels=1,
        classes=list(fashion_small.classes),
        image_size=67,
        crop=1.0,
        normalization={"mean": list(fashion_small.stats.mean), "std": list(fashion_small.stats.std)},
        dataset="fashion-mnist",
    )
    good = save_checkpoint(root / "good.pt", payload)
    # The misfits carry the paper net's weight shapes as zero-stride views (a few kilobytes, not
    # 233 MB): shapes are all the check reads before it refuses them.
    shapes_only = {name: torch.zeros(()).expand(w.shape) for name, w in payload["model"].items()}
    misfit = {**payload, "model": shapes_only}
    save_checkpoint(root / "torchvision.pt", {**misfit, "variant": "torchvision"})
    save_checkpoint(root / "five.pt", {**misfit, "num_classes": 5, "classes": payload["classes"][:5]})
    with good.open("rb") as file:
        (root / "truncated.pt").write_bytes(file.read(1 << 20))
    torch.save({"weights": torch.zeros(3)}, root / "foreign.pt")
    torch.save({"format": FORMAT, "model": Payload(root / "payload-ran")}, root / "payload.pt")
    (root / "empty").mkdir()
    (root / "empty" / "notes.txt").write_text("no images here\n")
    images = write_images(root / "images", fashion_small)
    return SimpleNamespace(root=root, good=good, payload=payload, images=images, folder=root / "images")


def cases(f) -> dict[str, list]:
    shirt, rotated = f.images["shirt.png"], f.images["rotated.jpg"]
    return {
        "folder": ["--checkpoint", f.good, "--image-dir", f.folder, "--json", "--batch-size", "4"],
        "files": ["--checkpoint", f.good, "--image", shirt, rotated, "--tta", "--all-probs"],
        "missing_file": ["--checkpoint", f.good, "--image", shirt, f.root / "missing.jpg", "--topk", "3"],
        "missing_dir": ["--checkpoint", f.good, "--image-dir", f.root / "nowhere"],
        "empty_dir": ["--checkpoint", f.good, "--image-dir", f.root / "empty"],
        "no_checkpoint": ["--checkpoint", f.root / "missing.pt", "--image", shirt],
        "truncated": ["--checkpoint", f.root / "truncated.pt", "--image", shirt],
        "foreign": ["--checkpoint", f.root / "foreign.pt", "--image", shirt],
        "payload": ["--checkpoint", f.root / "payload.pt", "--image", shirt],
        "variant": ["--checkpoint", f.root / "torchvision.pt", "--image", shirt],
        "classes": ["--checkpoint", f.root / "five.pt", "--image", shirt],
    }


@pytest.fixture(scope="module")
def predict(files):
    """``predict(case)``: ``python -m alexnet_lib predict`` for that case, run in-process once."""
    commands = {name: ["predict", *map(str, args)] for name, args in cases(files).items()}
    runs = {}

    def run(name):
        if name not in runs:
            runs[name] = run_cli(*commands[name])
        return runs[name]

    return run


@pytest.mark.slow  # a new interpreter per case
@pytest.mark.parametrize("case", ["folder", "payload"])
def test_the_command_as_typed_prints_what_the_in_process_run_prints(predict, files, case):
    typed = run_command("predict", *map(str, cases(files)[case]), timeout=120)
    assert (typed.returncode, typed.stdout, typed.stderr) == (
        predict(case).returncode,
        predict(case).stdout,
        predict(case).stderr,
    )
    assert not (files.root / "payload-ran").exists()


def one_error_line(result) -> str:
    """The run's single stderr line, after checking that nothing else (no traceback) was printed."""
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_folder_predicts_good_images_and_reports_each_bad_one(predict, files, fashion_small):
    result = predict("folder")
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    errors = {}
    for line in result.stderr.splitlines():
        assert line.startswith("error: "), line
        path, _, reason = line[len("error: ") :].partition(": ")
        errors[Path(path).name] = reason
    assert sorted(errors) == sorted(BAD_FILES)
    for name, reason in BAD_FILES.items():
        assert re.search(reason, errors[name]), (name, errors[name])

    records = [json.loads(line) for line in result.stdout.splitlines()]
    image_names = sorted(n for n in files.images if not n.endswith(".txt"))
    assert sorted(Path(r["path"]).relative_to(files.folder).as_posix() for r in records) == image_names
    for record in records:
        name = Path(record["path"]).name
        if name in BAD_FILES:
            assert record == {"path": record["path"], "error": errors[name]}
        else:
            probs = [p["prob"] for p in record["predictions"]]
            assert len(probs) == 5 and probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-5
            assert {p["label"] for p in record["predictions"]} <= set(fashion_small.classes)


def test_lossless_copies_predict_exactly_alike(predict):
    """16-bit grey, 16-bit RGB, a palette GIF and a nested copy hold the same garment: the same answer."""
    records = {Path(r["path"]).name: r for r in map(json.loads, predict("folder").stdout.splitlines())}
    reference = records["shirt.png"]["predictions"]
    for name in ("grey16.png", "rgb16.png", "palette.gif", "nested.png"):
        assert records[name]["predictions"] == reference, name
    # Flattened on white, the transparent copy is another picture: the comparison above can fail.
    assert records["rgba.png"]["predictions"] != reference


def test_files_with_ten_crops_and_all_classes(predict, files):
    result = predict("files")
    assert result.returncode == 0 and result.stderr == ""
    blocks = result.stdout.strip().split("\n")
    assert blocks[0] == str(files.images["shirt.png"]) and blocks[11] == str(files.images["rotated.jpg"])
    for start in (0, 11):
        lines = blocks[start + 1 : start + 11]
        assert len(lines) == 10 and all(line.strip().split()[0].endswith("%") for line in lines)
    assert blocks[-1] == "2 of 2 images predicted"


def test_missing_file_is_reported_and_the_rest_predicted(predict, files):
    result = predict("missing_file")
    assert result.returncode == 1
    assert one_error_line(result) == f"error: {files.root / 'missing.jpg'}: no such file"
    lines = result.stdout.splitlines()
    assert lines[0] == str(files.images["shirt.png"]) and len(lines) == 1 + 3 + 1
    assert lines[-1] == "1 of 2 images predicted, 1 failed"


REFUSED = {  # case: what its one error line says
    "missing_dir": "nowhere: no such folder",
    "empty_dir": "holds no image files .* 1 other files were skipped",
    "no_checkpoint": "missing.pt not found",
    "truncated": "truncated or damaged",
    "foreign": "is not an AlexNet course checkpoint",
    "payload": "holds Python objects, not just tensors, and was refused",
    "variant": "do not fit the torchvision net with 10 classes it declares: "
    "conv1.weight is 96x1x11x11, a torchvision net's is 64x1x11x11",
    "classes": "do not fit the paper net with 5 classes it declares: fc8.weight is 10x4096, a paper net's is 5x4096",
}


@pytest.mark.parametrize("case", REFUSED)
def test_usage_and_checkpoint_problems_exit_2_with_one_line(predict, case):
    result = predict(case)
    assert result.returncode == 2
    assert re.search(REFUSED[case], one_error_line(result))
    assert result.stdout == ""


def test_payload_never_runs(predict, files, tmp_path):
    assert predict("payload").returncode == 2
    assert not (files.root / "payload-ran").exists()
    # The same payload is live: plain pickle (what torch.load(weights_only=False) uses) runs it.
    control = tmp_path / "control-ran"
    pickle.loads(pickle.dumps(Payload(control)))
    assert control.exists()


def test_inconsistent_checkpoint_is_refused_in_process(files, tmp_path):
    nine = {**files.payload, "model": {}, "classes": files.payload["classes"][:9]}  # refused before the weights
    save_checkpoint(tmp_path / "nine.pt", nine)
    with pytest.raises(CourseError, match="names 9 classes but declares num_classes=10"):
        load_predictor(tmp_path / "nine.pt")
    conv1 = save_checkpoint(tmp_path / "conv1.pt", {"epochs": [0], "weights": [torch.zeros(96, 1, 11, 11)]})
    with pytest.raises(CourseError, match="lacks 'variant'"):
        load_predictor(conv1)
