"""Reading new images safely and predicting them as in training (alexnet_lib.inference, notebook 06).

Oracles: a test image saved to a file predicts exactly as ``evaluate`` predicts it in memory
(single crop and ten crops); torchvision's own ImageNet preprocessing and model give the
same logits as ``imagenet_predictor``; every image mode is compared with its known pixels.
"""

import io
import struct
import warnings
import zlib

import numpy as np
import pytest
import torch
from PIL import Image, ImageCms

from alexnet_lib import alexnet
from alexnet_lib import imagenet as imagenet_module
from alexnet_lib.checkpoint import Checkpoint, checked_fields
from alexnet_lib.errors import CourseError
from alexnet_lib.evaluate import evaluate
from alexnet_lib.fetch import load_dataset
from alexnet_lib.images import ImageError, image_files, open_image, square, to_mode
from alexnet_lib.inference import Predictor, imagenet_predictor, ranked
from alexnet_lib.lessons.inference import as_product_photo, like_fashion_mnist, uploaded_files
from alexnet_lib.model import VARIANTS
from alexnet_lib.transforms import PAPER_CROP, to_pil

from .conftest import ROOT


def png_bytes(width: int, height: int, bit_depth: int, colour_type: int, raw_rows: bytes = b"") -> bytes:
    """A PNG written by hand: any header (a huge one costs nothing), any sample depth."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw_rows)) + chunk(b"IEND", b"")


def rgb16_png(pixels: np.ndarray) -> bytes:
    """A 16-bit-per-channel RGB PNG (PIL cannot write one) from an H x W x 3 uint16 array."""
    rows = b"".join(b"\x00" + row.astype(">u2").tobytes() for row in pixels)
    return png_bytes(pixels.shape[1], pixels.shape[0], 16, 2, rows)


def encoded(image: Image.Image, format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format, **options)
    return buffer.getvalue()


def write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def read_as(tmp_path, name: str, data: bytes, mode: str) -> np.ndarray:
    return np.asarray(to_mode(open_image(write(tmp_path, name, data)), mode)).astype(int)


# Image modes ------------------------------------------------------------------------------


def test_transparency_is_flattened_on_white_not_black(tmp_path):
    rgba = np.zeros((4, 4, 4), np.uint8)  # transparent black: what many PNG exporters store
    rgba[0, 0] = (255, 0, 0, 255)  # one opaque red pixel
    rgba[0, 1] = (0, 0, 255, 128)  # half-transparent blue
    rgb = read_as(tmp_path, "rgba.png", encoded(Image.fromarray(rgba, "RGBA"), "PNG"), "RGB")
    assert (rgb[3, 3] == 255).all() and tuple(rgb[0, 0]) == (255, 0, 0)
    assert abs(rgb[0, 1] - (127, 127, 255)).max() <= 1  # half blue, half white
    assert (np.asarray(Image.fromarray(rgba, "RGBA").convert("RGB"))[3, 3] == 0).all()  # the naive way: black

    la = Image.fromarray(np.stack([np.full((4, 4), 0, np.uint8), np.zeros((4, 4), np.uint8)], 2), "LA")
    assert (read_as(tmp_path, "la.png", encoded(la, "PNG"), "L") == 255).all()

    palette = Image.new("P", (4, 4), 0)
    palette.putpalette([0, 0, 0, 200, 30, 30])
    palette.putpixel((1, 1), 1)
    rgb = read_as(tmp_path, "p.png", encoded(palette, "PNG", transparency=0), "RGB")
    assert (rgb[0, 0] == 255).all() and tuple(rgb[1, 1]) == (200, 30, 30)


def test_sixteen_bit_images_are_scaled_not_clipped(tmp_path):
    grey = np.array([[0, 32768, 65535, 257]], np.uint16)
    image = Image.fromarray(grey)
    assert image.mode == "I;16"
    values = read_as(tmp_path, "grey16.png", encoded(image, "PNG"), "L")[0]
    assert values.tolist() == [0, 128, 255, 1]
    assert np.asarray(image.convert("L"))[0, 1] == 255  # the naive conversion clips mid-grey to white

    colour = np.array([[[0, 32768, 65535], [65535, 0, 32768]]], np.uint16)
    values = read_as(tmp_path, "rgb16.png", rgb16_png(colour), "RGB")
    assert values.tolist() == [[[0, 128, 255], [255, 0, 128]]]

    as_int32 = Image.fromarray(np.array([[0, 100, 255]], np.int32), "I")  # 8-bit values in a 32-bit mode
    assert np.asarray(to_mode(as_int32, "L")).tolist() == [[0, 100, 255]]


def test_cmyk_palette_bilevel_and_grey_become_rgb_or_grey(tmp_path):
    cyan = Image.new("CMYK", (8, 8), (255, 0, 0, 0))
    rgb = read_as(tmp_path, "cmyk.jpg", encoded(cyan, "JPEG", quality=95), "RGB")
    assert abs(rgb[4, 4] - (0, 255, 255)).max() <= 8
    bilevel = Image.new("1", (4, 4), 1)
    assert (read_as(tmp_path, "bw.png", encoded(bilevel, "PNG"), "RGB") == 255).all()
    grey = Image.new("L", (4, 4), 90)
    assert (read_as(tmp_path, "grey.png", encoded(grey, "PNG"), "RGB") == 90).all()


def test_colour_profile_is_applied(tmp_path):
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    image = Image.new("RGB", (4, 4), (200, 100, 50))
    rgb = read_as(tmp_path, "profiled.png", encoded(image, "PNG", icc_profile=srgb), "RGB")
    assert abs(rgb[0, 0] - (200, 100, 50)).max() <= 2  # sRGB to sRGB: unchanged


def test_exif_orientation_is_respected(tmp_path):
    pixels = np.zeros((20, 40, 3), np.uint8)
    pixels[:, :20] = (255, 0, 0)  # left half red
    pixels[:, 20:] = (0, 0, 255)  # right half blue
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    upright = open_image(write(tmp_path, "rotated.jpg", encoded(image, "JPEG", exif=exif, quality=95)))
    assert upright.size == (20, 40)
    top, bottom = np.asarray(upright)[2, 10].astype(int), np.asarray(upright)[37, 10].astype(int)
    assert top[0] > 200 and top[2] < 60 and bottom[2] > 200 and bottom[0] < 60


# Bad files ---------------------------------------------------------------------------------


def test_bad_files_give_one_line_each(tmp_path):
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    png, jpeg = encoded(noise, "PNG"), encoded(noise, "JPEG")
    cases = {
        "missing.jpg": (None, "no such file"),
        "empty.jpg": (b"", "empty"),
        "notes.jpg": (b"shopping list: eggs, milk\n", "holds text"),
        "junk.png": (bytes(range(256)) * 4, "not a known image format"),
        "cut.png": (png[: len(png) // 2], "truncated"),
        "cut.jpg": (jpeg[: len(jpeg) // 2], "truncated"),
    }
    for name, (data, reason) in cases.items():
        path = tmp_path / name if data is None else write(tmp_path, name, data)
        with pytest.raises(ImageError, match=reason) as caught:
            open_image(path)
        assert "\n" not in str(caught.value)
    with pytest.raises(ImageError, match="is a folder"):
        open_image(tmp_path)


def test_decompression_bombs_are_refused_before_decoding(tmp_path):
    # Over PIL's own hard limit (twice MAX_IMAGE_PIXELS): refused by PIL at open, reported by us.
    huge = write(tmp_path, "huge.png", png_bytes(20_000, 20_000, 8, 2))
    with pytest.raises(ImageError, match=r"400\.0 megapixels is over the limit of 89\.5 megapixels"):
        open_image(huge)
    # Between the limit and twice it PIL only warns; we refuse, naming the size, and nothing else is shown.
    big = write(tmp_path, "big.png", png_bytes(10_000, 10_000, 8, 2))
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        with pytest.raises(ImageError, match=r"10000 x 10000 pixels \(100\.0 megapixels\) is over the limit"):
            open_image(big)
    assert not shown


def test_large_jpegs_are_decoded_at_reduced_scale(tmp_path, monkeypatch):
    photo = Image.fromarray(np.random.default_rng(1).integers(0, 255, (1500, 2000, 3), dtype=np.uint8))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 2_000_000)  # the 3-megapixel photo is now "huge"
    as_png = write(tmp_path, "photo.png", encoded(photo, "PNG"))
    with pytest.raises(ImageError, match=r"2000 x 1500 pixels \(3\.0 megapixels\) is over the limit of 2\.0"):
        open_image(as_png, min_size=256)
    as_jpeg = write(tmp_path, "photo.jpg", encoded(photo, "JPEG"))
    small = open_image(as_jpeg, min_size=256)  # decoded at 1/4 scale: 500 x 375, above 256 on both sides
    assert small.size == (500, 375)
    assert open_image(as_jpeg, min_size=32).size == (250, 188)  # 1/8 is as far as JPEG goes


# Geometry and folders ----------------------------------------------------------------------


def test_square_matches_image_folder_training(tmp_path):
    from alexnet_lib.folders import read_image

    picture = Image.fromarray(np.random.default_rng(2).integers(0, 255, (90, 140, 3), dtype=np.uint8))
    path = write(tmp_path, "wide.png", encoded(picture, "PNG"))
    assert np.array_equal(np.asarray(square(to_mode(open_image(path), "RGB"), 64)), read_image(path, 64))


def test_image_files_lists_images_recursively_and_refuses_empty_folders(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    for name in ("a/one.JPG", "a/b/two.png", "a/readme.txt", "a/.hidden.png"):
        (tmp_path / name).write_bytes(b"x")
    assert [p.relative_to(tmp_path).as_posix() for p in image_files(tmp_path / "a")] == ["a/b/two.png", "a/one.JPG"]
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("x")
    with pytest.raises(CourseError, match="holds no image files.*1 other files were skipped"):
        image_files(tmp_path / "empty")
    with pytest.raises(CourseError, match="no such folder"):
        image_files(tmp_path / "nowhere")


# Predictions -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cifar():
    return load_dataset("cifar10", ROOT / "data", train_subset=16, test_subset=7, fetch_missing=False)


def predictor_of(model, data, crop):
    """A ``Predictor`` of ``model`` at 67 px, fed as if trained on ``data`` (its classes, statistics and size)."""
    checkpoint = Checkpoint.of_model(
        model, classes=data.classes, image_size=67, crop=crop, stats=data.stats, dataset=data.name
    )
    return Predictor(checkpoint, torch.device("cpu"))


@pytest.fixture(scope="module")
def cifar_model():
    torch.manual_seed(0)
    model = alexnet("paper", num_classes=10)
    with torch.no_grad():
        model.fc8.weight.mul_(20)  # untrained, but with spread-out outputs so comparisons are sharp
    return model.eval()


@pytest.mark.parametrize("crop", [PAPER_CROP, 1.0])
def test_files_predict_exactly_as_evaluate_in_memory(tmp_path, cifar, cifar_model, crop):
    predictor = predictor_of(cifar_model, cifar, crop)
    paths = []
    for index, image in enumerate(cifar.test.images):
        paths.append(tmp_path / f"{index}.png")
        to_pil(image).save(paths[-1])
    for tta in (False, True):
        results = list(predictor.predict_files(paths, tta=tta, batch_size=5))  # two batches
        assert [r.path for r in results] == paths and all(r.error is None for r in results)
        from_files = torch.stack([r.probs for r in results])
        in_memory = evaluate(cifar_model, cifar.test, predictor.transform, tta=tta)
        assert torch.allclose(from_files, in_memory.probs, atol=1e-6)
        assert from_files.max(1).values.min() > 0.2  # not a flat distribution: the comparison means something


def test_a_bad_file_does_not_stop_the_batch(tmp_path, cifar, cifar_model):
    predictor = predictor_of(cifar_model, cifar, 1.0)
    good = tmp_path / "good.png"
    to_pil(cifar.test.images[0]).save(good)
    bad = write(tmp_path, "bad.jpg", b"not an image")
    results = list(predictor.predict_files([bad, good, bad], batch_size=2))
    assert [r.error is None for r in results] == [False, True, False]
    assert torch.allclose(results[1].probs, predictor.probabilities(cifar.test.images[:1])[0])


def test_ranked_and_grey_checkpoint_on_colour_images(fashion_small):
    model = alexnet("paper", num_classes=10, in_channels=1)
    predictor = predictor_of(model, fashion_small, 1.0)
    photo = Image.new("RGB", (60, 40), (250, 10, 10))
    tensor = predictor.prepare(photo)
    assert tensor.shape == (1, 28, 28) and tensor.dtype == torch.uint8
    probs = predictor.predict_images([photo, photo])
    assert probs.shape == (2, 10) and torch.allclose(probs.sum(1), torch.ones(2))
    top = ranked(probs[0], predictor.classes, 3)
    assert len(top) == 3 and top[0][1] >= top[1][1] >= top[2][1]
    assert len(ranked(probs[0], predictor.classes)) == 10


def test_product_photo_is_restored_by_fashion_mnist_preparation(fashion_small):
    original = fashion_small.test.images[3]
    photo = as_product_photo(original, seed=3)
    assert photo.size == (240, 180) and photo.mode == "RGB"
    restored = np.asarray(like_fashion_mnist(photo), dtype=float).ravel()
    naive = np.asarray(square(to_mode(photo, "L"), 28), dtype=float).ravel()
    truth = original[0].numpy().astype(float).ravel()
    assert np.corrcoef(restored, truth)[0, 1] > 0.8  # the same garment, bright on black, centred
    assert np.corrcoef(naive, truth)[0, 1] < 0.3  # straight from the photo: nothing like the training images
    with pytest.raises(CourseError, match="no object"):
        like_fashion_mnist(Image.new("RGB", (50, 50), (255, 255, 255)))


def test_uploaded_files_reads_both_ipywidgets_shapes():
    class Upload:
        def __init__(self, value):
            self.value = value

    eight = Upload(({"name": "cat.png", "content": memoryview(b"abc"), "size": 3},))
    seven = Upload({"cat.png": {"content": b"abc", "metadata": {}}})
    assert uploaded_files(eight) == uploaded_files(seven) == [("cat.png", b"abc")]
    assert uploaded_files(Upload(())) == []


# torchvision's ImageNet weights ---------------------------------------------------------------


def test_imagenet_predictor_matches_torchvision(tmp_path, monkeypatch):
    from torchvision.models import AlexNet_Weights
    from torchvision.models import alexnet as torchvision_alexnet

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    torch.manual_seed(0)
    reference = torchvision_alexnet().eval()  # random weights stand in for the download
    (tmp_path / "checkpoints").mkdir()
    torch.save(reference.state_dict(), tmp_path / "checkpoints" / "alexnet-owt-7be5be79.pth")
    predictor = imagenet_predictor("cpu")
    assert len(predictor.classes) == 1000 and predictor.classes[:2] == ["tench", "goldfish"]

    smooth = np.linspace(0, 255, 320 * 240 * 3).reshape(240, 320, 3) % 256
    photo = Image.fromarray(
        (smooth + np.random.default_rng(4).normal(0, 20, smooth.shape)).clip(0, 255).astype("uint8")
    )
    path = write(tmp_path, "photo.png", encoded(photo, "PNG"))
    with torch.no_grad():
        ours = predictor.model(predictor.transform(predictor.read(path)[None]))
        theirs = reference(AlexNet_Weights.IMAGENET1K_V1.transforms()(Image.open(path))[None])
    assert torch.allclose(ours, theirs, rtol=1e-4, atol=1e-4)


def test_imagenet_predictor_offline_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.setattr(imagenet_module, "_reachable", lambda host, timeout: False)
    with pytest.raises(CourseError, match="need internet"):
        imagenet_predictor()


def test_checkpoint_fields_are_checked():
    good = dict(
        variant="paper",
        num_classes=3,
        in_channels=1,
        classes=["a", "b", "c"],
        image_size=67,
        crop=1.0,
        normalization={"mean": [0.5], "std": [0.2]},
    )
    assert checked_fields(good, "ok.pt")["classes"] == ["a", "b", "c"]
    for change, reason in (
        ({"classes": ["a", "b"]}, "names 2 classes but declares num_classes=3"),
        ({"variant": "resnet"}, "variant 'resnet' is not one of"),
        ({"image_size": 32}, "must be at least 67 for a paper net"),
        ({"crop": 1.5}, "crop 1.5"),
        ({"normalization": {"mean": [0.5], "std": [0.0]}}, "one positive std per channel"),
        ({"normalization": {"mean": [0.5] * 3, "std": [0.2] * 3}}, "one positive std per channel"),
        ({"normalization": {"mean": 0.5, "std": 0.2}}, "one positive std per channel"),
    ):
        with pytest.raises(CourseError, match=reason):
            checked_fields({**good, **change}, "bad.pt")
    with pytest.raises(CourseError, match="lacks 'normalization'"):
        checked_fields({k: v for k, v in good.items() if k != "normalization"}, "bad.pt")


def test_smallest_inputs_are_right():
    for variant, info in VARIANTS.items():
        side = info.smallest_input
        model = alexnet(variant, num_classes=2).eval()
        with torch.no_grad():
            model(torch.zeros(1, 3, side, side))
            with pytest.raises(RuntimeError):
                model(torch.zeros(1, 3, side - 1, side - 1))
        assert model["conv1"] is model[0]
