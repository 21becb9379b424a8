"""Using a trained AlexNet on new images, safely (notebook 06; ``python -m alexnet_lib predict``).

A new image goes through the evaluation pipeline of its checkpoint, so the network sees what
it saw in training. Everything comes from the checkpoint (variant, classes, input size, crop,
normalisation); no config file is needed.

1. Read the file safely: upright, 8-bit RGB or grey, transparency on white, a pixel limit
   against decompression bombs (``images.py``).
2. Bring it to the size the training images had before the model's crop and resize: 28
   pixels for Fashion-MNIST, 32 for CIFAR-10, 256 for image folders and ImageNet (§2): shorter
   side resized, centre square kept, as ``folders.read_image`` does. Why not more? The
   network has only ever seen that much detail; a sharper image would be a domain shift of
   its own. And a test image saved to a file then predicts exactly as it does in memory.
3. The checkpoint's evaluation transform: the centre crop of ``crop`` resized to
   ``image_size`` and normalised with the training mean and std, or §4.1's ten crops
   (four corners, centre, and their mirrors) with their softmax outputs averaged.

Checkpoints are read with ``weights_only=True`` (``checkpoint.load_checkpoint``): a file with
a pickled payload is refused and its code never runs.
"""

from __future__ import annotations

import io
import json
import os
import socket
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from .checkpoint import Checkpoint
from .datasets import FOLDER_SIZE, Stats
from .env import autocast, pick_device
from .errors import CourseError
from .images import ImageError, first_line, image_files, image_tensor, open_image, square, to_mode
from .model import AlexNet, alexnet
from .transforms import PAPER_CROP, BatchTransform, Views, ten_crop_views

IMAGENET_MEAN = (0.485, 0.456, 0.406)  # torchvision's ImageNet statistics, [0, 1] pixel units
IMAGENET_STD = (0.229, 0.224, 0.225)


# The model with its preprocessing ----------------------------------------------------------


@dataclass(frozen=True)
class FileResult:
    """One file's outcome: class probabilities, or the reason it could not be used."""

    path: Path
    probs: torch.Tensor | None = None
    error: str | None = None


def ranked(probs: torch.Tensor, classes: Sequence[str], k: int | None = None) -> list[tuple[str, float]]:
    """The ``k`` most probable classes (all if None) as (label, probability), most probable first."""
    k = len(classes) if k is None else min(k, len(classes))
    values, indices = probs.float().topk(k)
    return [(classes[i], v) for v, i in zip(values.tolist(), indices.tolist(), strict=True)]


@dataclass
class Predictor:
    """A trained model and everything needed to feed it new images as it was fed in training."""

    model: AlexNet
    classes: list[str]
    image_size: int  # the network's input side (67 in the quick profile, 227 in the full one)
    crop: float  # the evaluation crop, as a fraction of the image side (§4.1: 224/256)
    stats: Stats  # training mean and std: what normalisation uses
    source_size: int  # the side a new image is brought to first: what the training images had
    device: torch.device
    dtype: torch.dtype = torch.float32  # autocast dtype (float32: none)

    def __post_init__(self) -> None:
        self.model = self.model.eval().to(self.device, memory_format=torch.channels_last)  # as BatchTransform gives
        self.transform = BatchTransform(
            self.image_size, self.stats, train=False, crop=self.crop, pca_std=0.0, channels=self.in_channels
        )

    @property
    def in_channels(self) -> int:
        return self.model.conv1.in_channels

    @property
    def mode(self) -> str:
        """The PIL mode new images are converted to: that of the training images."""
        return "L" if len(self.stats.mean) == 1 else "RGB"

    def prepare(self, image: Image.Image) -> torch.Tensor:
        """A PIL image as the uint8 C x S x S tensor the training images were (steps 2 and 3 above)."""
        return image_tensor(square(to_mode(image, self.mode), self.source_size))

    def read(self, path: Path | str) -> torch.Tensor:
        """An image file, prepared; ``ImageError`` when it cannot be used."""
        image = open_image(path, min_size=self.source_size)
        try:
            return self.prepare(image)
        except Exception as error:  # an exotic mode PIL cannot convert (LAB, HSV...)
            raise ImageError(f"cannot convert its {image.mode} pixels to {self.mode} ({first_line(error)})") from None

    def _views(self, n: int, height: int, width: int, tta: bool) -> list[tuple[Views | None, int]]:
        """The views to average and how often each occurs among the ten.

        With ``crop=1`` (the quick profile) the five crops coincide, so the ten views are
        the image and its mirror, five times each: computing each once gives the same mean.
        """
        if not tta:
            return [(None, 1)]
        keys = [
            (v.left.item(), v.top.item(), v.side.item(), v.flip.item())
            for v in ten_crop_views(1, height, width, self.crop, torch.device("cpu"))
        ]
        views = ten_crop_views(n, height, width, self.crop, self.device)
        unique: dict[tuple, list] = {}
        for key, view in zip(keys, views, strict=True):
            unique.setdefault(key, [view, 0])[1] += 1
        return [(view, count) for view, count in unique.values()]

    @torch.no_grad()
    def probabilities(self, images: torch.Tensor, *, tta: bool = False, batch_size: int = 256) -> torch.Tensor:
        """Softmax outputs (N x classes, on the CPU) for uint8 ``images`` (N x C x S x S), in batches."""
        results = []
        for start in range(0, len(images), batch_size):
            batch = images[start : start + batch_size].to(self.device, non_blocking=True)
            n, _, height, width = batch.shape
            views = self._views(n, height, width, tta)
            probs = torch.zeros(n, len(self.classes), device=self.device)
            for view, count in views:
                with autocast(self.device, self.dtype):
                    logits = self.model(self.transform(batch, view))
                probs += count * logits.float().softmax(1)
            results.append((probs / sum(count for _, count in views)).cpu())
        if not results:
            return torch.zeros(0, len(self.classes))
        return torch.cat(results)

    def predict_images(self, images: Iterable[Image.Image], *, tta: bool = False) -> torch.Tensor:
        """Probabilities for PIL images (uploads, images made in a notebook)."""
        return self.probabilities(torch.stack([self.prepare(image) for image in images]), tta=tta)

    def predict_files(
        self, paths: Sequence[Path | str], *, tta: bool = False, batch_size: int = 64
    ) -> Iterator[FileResult]:
        """One ``FileResult`` per path, in order, reading and predicting ``batch_size`` files at a time."""
        for start in range(0, len(paths), batch_size):
            chunk = [Path(p) for p in paths[start : start + batch_size]]
            tensors: dict[int, torch.Tensor] = {}
            errors: dict[int, str] = {}
            for index, path in enumerate(chunk):
                try:
                    tensors[index] = self.read(path)
                except ImageError as error:
                    errors[index] = str(error)
            probs = self.probabilities(torch.stack(list(tensors.values())), tta=tta) if tensors else None
            row = {index: position for position, index in enumerate(tensors)}
            for index, path in enumerate(chunk):
                if index in errors:
                    yield FileResult(path, error=errors[index])
                else:
                    yield FileResult(path, probs=probs[row[index]])


def load_predictor(
    path: Path | str, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32
) -> Predictor:
    """A ``Predictor`` for the checkpoint at ``path`` (read with ``weights_only=True``).

    A missing, truncated or foreign file, one with a pickled payload, or one whose weights do
    not fit its declared variant and class count raises ``CourseError`` with one line.
    """
    device = pick_device(device) if isinstance(device, str) else device
    checkpoint = Checkpoint.read(path)
    return Predictor(
        checkpoint.model(),
        checkpoint.classes,
        checkpoint.image_size,
        checkpoint.crop,
        checkpoint.stats,
        checkpoint.source_size,
        device,
        dtype,
    )


# The command -------------------------------------------------------------------------------


def predict_command(
    checkpoint: Path | str,
    images: Sequence[Path | str] = (),
    image_dir: Path | str | None = None,
    *,
    topk: int = 5,
    all_probs: bool = False,
    tta: bool = False,
    as_json: bool = False,
    device: str = "auto",
    batch_size: int = 64,
) -> int:
    """``python -m alexnet_lib predict``: print the top classes of each image; return the exit code.

    0: every image was predicted; 1: some images could not be used (each named in one
    ``error: PATH: reason`` line on stderr, and a ``{"path", "error"}`` object with ``--json``).
    Usage and checkpoint problems raise ``CourseError`` (exit 2, one line).
    """
    if topk < 1 or batch_size < 1:
        raise CourseError("--topk and --batch-size must be at least 1")
    paths = image_files(image_dir) if image_dir is not None else [Path(p) for p in images]
    if not paths:
        raise CourseError("give --image FILE... or --image-dir DIR")
    predictor = load_predictor(checkpoint, device)
    k = None if all_probs else topk
    failed = 0
    try:
        for result in predictor.predict_files(paths, tta=tta, batch_size=batch_size):
            if result.error is not None:
                failed += 1
                print(f"error: {result.path}: {result.error}", file=sys.stderr, flush=True)
                if as_json:
                    print(json.dumps({"path": str(result.path), "error": result.error}), flush=True)
                continue
            top = ranked(result.probs, predictor.classes, k)
            if as_json:
                predictions = [{"label": label, "prob": round(prob, 6)} for label, prob in top]
                print(json.dumps({"path": str(result.path), "predictions": predictions}), flush=True)
            else:
                lines = [f"{prob:8.2%}  {label}" for label, prob in top]
                print("\n".join([str(result.path), *lines]), flush=True)
        if not as_json and len(paths) > 1:
            print(f"{len(paths) - failed} of {len(paths)} images predicted" + (f", {failed} failed" if failed else ""))
    except BrokenPipeError:  # `... | head`: the reader left; stop quietly, without Python's complaint at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 1 if failed else 0


# Notebook 06 helpers --------------------------------------------------------------------


def uploaded_files(upload: Any) -> list[tuple[str, bytes]]:
    """(name, bytes) for each file in an ipywidgets ``FileUpload`` (ipywidgets 8, and 7 as in older Colab)."""
    value = upload.value
    if isinstance(value, dict):  # ipywidgets 7: {name: {"content": bytes, ...}}
        return [(name, bytes(item["content"])) for name, item in value.items()]
    return [(item["name"], bytes(item["content"])) for item in value]


def awkward_copies(image: Image.Image, folder: Path | str) -> dict[str, Path]:
    """The same RGB picture saved in the ways that trip up naive loaders (notebook 06), and three
    files that are not images at all: name -> path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    width, height = image.size
    corners = Image.new("L", image.size, 0)
    corners.paste(255, (width // 6, height // 6, width - width // 6, height - height // 6))
    pixels = np.array(image.convert("RGBA"))
    pixels[..., 3] = np.asarray(corners)
    pixels[pixels[..., 3] == 0] = 0  # a transparent border stored as black, as many exporters do
    transparent = Image.fromarray(pixels, "RGBA")
    grey16 = Image.fromarray(np.asarray(image.convert("L"), dtype=np.uint16) * 257)  # a 16-bit grey scan
    phone = image.transpose(Image.Transpose.ROTATE_90)  # stored sideways, as a phone held upright does...
    exif = phone.getexif()
    exif[0x0112] = 6  # ...with EXIF saying "rotate 90 degrees clockwise to display"
    saved = {
        "transparent.png": lambda path: transparent.save(path),
        "scan16.png": lambda path: grey16.save(path),
        "phone.jpg": lambda path: phone.save(path, quality=95, exif=exif),
        "print.jpg": lambda path: image.convert("CMYK").save(path, quality=95),
        "palette.gif": lambda path: image.convert("P", palette=Image.Palette.ADAPTIVE).save(path),
        "notes.jpg": lambda path: path.write_text("a shopping list, not a photo\n"),
        "cut.png": lambda path: path.write_bytes(encode_png(image)[:300]),
        "empty.png": lambda path: path.write_bytes(b""),
    }
    for name, save in saved.items():
        save(folder / name)
    return {name: folder / name for name in saved}


def encode_png(image: Image.Image) -> bytes:
    """``image`` as PNG bytes."""
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def as_product_photo(image: torch.Tensor, seed: int = 0) -> Image.Image:
    """A stand-in for a phone photo of a Fashion-MNIST item (notebook 06): a 1 x 28 x 28 uint8 image
    drawn dark and enlarged on a bright, uneven 240 x 180 background, away from the centre."""
    generator = np.random.default_rng(seed)
    garment = np.asarray(Image.fromarray(image[0].cpu().numpy()).resize((112, 112), Image.BILINEAR)) / 255.0
    height, width = 180, 240
    background = 200 + 40 * np.linspace(0, 1, width)[None, :] + generator.normal(0, 4, (height, width))
    canvas = np.repeat(background[:, :, None], 3, axis=2) * np.array([1.0, 0.97, 0.92])  # warm light
    top, left = int(generator.integers(10, 60)), int(generator.integers(10, 40))  # off-centre
    colour = np.array([40.0, 50.0, 90.0])  # a dark blue garment
    patch = canvas[top : top + 112, left : left + 112]
    canvas[top : top + 112, left : left + 112] = patch * (1 - garment[:, :, None]) + colour * garment[:, :, None]
    return Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8), "RGB")


def like_fashion_mnist(image: Image.Image) -> Image.Image:
    """A photo prepared as Fashion-MNIST's were (Xiao et al., 2017, §2): grey, trimmed to the object,
    longest side resized to 28, centred on 28 x 28, negated so the object is bright on black.

    The dataset's authors trimmed edges within 5% of the corner colour. A photo's light falls
    off across the frame, so here the background is a plane fitted to the border pixels, and
    the object is what differs from it by more than 10% (in at least two pixels per row or
    column, so that sensor noise does not count).
    """
    grey = np.asarray(to_mode(image, "L"), dtype=np.float64)
    ys, xs = np.mgrid[0 : grey.shape[0], 0 : grey.shape[1]]
    edge = np.zeros(grey.shape, bool)
    edge[[0, -1], :] = edge[:, [0, -1]] = True
    plane = np.stack([np.ones(edge.sum()), xs[edge], ys[edge]], 1)
    coefficients = np.linalg.lstsq(plane, grey[edge], rcond=None)[0]
    background = coefficients[0] + coefficients[1] * xs + coefficients[2] * ys
    # On a bright background the object is darker: negating, as the dataset did, makes it bright on black.
    contrast = background - grey if np.median(grey[edge]) > 127 else grey - background
    stands_out = contrast > 0.10 * 255
    rows, columns = np.nonzero(stands_out.sum(1) >= 2)[0], np.nonzero(stands_out.sum(0) >= 2)[0]
    if len(rows) == 0 or len(columns) == 0:
        raise CourseError("like_fashion_mnist found no object that stands out from the image's background")
    trimmed = contrast[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1].clip(0)
    garment = Image.fromarray((trimmed * 255 / trimmed.max()).astype(np.uint8), "L")
    scale = 28 / max(garment.size)
    width, height = max(1, round(garment.width * scale)), max(1, round(garment.height * scale))
    canvas = Image.new("L", (28, 28), 0)
    canvas.paste(garment.resize((width, height), Image.LANCZOS), ((28 - width) // 2, (28 - height) // 2))
    return canvas


def images_per_second(predictor: Predictor, images: torch.Tensor, batch_size: int, *, repeats: int = 1) -> float:
    """Prediction speed on prepared uint8 ``images`` at ``batch_size`` (notebook 06, benchmarks/inference.py)."""
    predictor.probabilities(images[:batch_size], batch_size=batch_size)  # warm-up: allocations, kernels
    started = time.perf_counter()
    for _ in range(repeats):
        predictor.probabilities(images, batch_size=batch_size)  # ends on the host: the device is done
    return repeats * len(images) / (time.perf_counter() - started)


def plot_top_k(
    images: Sequence[torch.Tensor | Image.Image],
    probs: torch.Tensor,
    classes: Sequence[str],
    *,
    k: int = 5,
    titles: Sequence[str] | None = None,
    truth: Sequence[str] | None = None,
    columns: int = 3,
):  # noqa: ANN201 - a matplotlib Figure
    """Each image beside a bar chart of its top-``k`` classes; the true class (if given) in green."""
    import matplotlib.pyplot as plt

    rows = -(-len(images) // columns)
    figure, axes = plt.subplots(
        rows, 2 * columns, figsize=(4.6 * columns, 1.9 * rows), width_ratios=[1, 1.5] * columns, squeeze=False
    )
    for axis in axes.flat:
        axis.axis("off")
    for index, image in enumerate(images):
        picture, bars = axes[index // columns, 2 * (index % columns)], axes[index // columns, 2 * (index % columns) + 1]
        if isinstance(image, torch.Tensor):
            pixels = image.cpu()
            image = pixels[0].numpy() if pixels.shape[0] == 1 else pixels.permute(1, 2, 0).numpy()
        picture.imshow(image, cmap="gray" if np.ndim(image) == 2 or getattr(image, "mode", "") == "L" else None)
        if titles is not None:
            picture.set_title(titles[index], fontsize=8)
        top = ranked(probs[index], classes, k)[::-1]
        colours = ["tab:green" if truth is not None and label == truth[index] else "tab:blue" for label, _ in top]
        bars.axis("on")
        bars.barh([label[:18] for label, _ in top], [p for _, p in top], color=colours)
        bars.set_xlim(0, 1)
        bars.tick_params(labelsize=7)
        bars.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    return figure


# torchvision's ImageNet weights (online only) --------------------------------------------------


def _reachable(host: str, timeout: float) -> bool:
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def imagenet_predictor(device: torch.device | str = "cpu", *, timeout: float = 3.0) -> Predictor:
    """torchvision's ImageNet AlexNet weights (``AlexNet_Weights.IMAGENET1K_V1``) in our torchvision
    variant, with the 1000 ImageNet class names and torchvision's preprocessing (256, centre 224).

    Uses the file in torch hub's cache when it is there; otherwise downloads it (233 MB). Offline,
    a ``CourseError`` says so within ``timeout`` seconds instead of hanging.
    """
    from torchvision.models import AlexNet_Weights

    weights = AlexNet_Weights.IMAGENET1K_V1
    path = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
    if not path.exists():
        host = weights.url.split("/")[2]
        if not _reachable(host, timeout):
            raise CourseError(f"the ImageNet weights need internet: {host} cannot be reached, and {path} is absent")
        previous = socket.getdefaulttimeout()
        socket.setdefaulttimeout(30)  # a stalled download fails instead of hanging the notebook
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            torch.hub.download_url_to_file(weights.url, str(path), hash_prefix=path.stem.split("-")[-1])
        except Exception as error:  # network errors, a checksum mismatch
            raise CourseError(f"downloading the ImageNet weights failed: {type(error).__name__}: {error}") from None
        finally:
            socket.setdefaulttimeout(previous)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        model = alexnet("torchvision", num_classes=1000)
        model.load_state_dict(state)  # torchvision's keys (features.0...) are renamed on the way in
    except Exception as error:
        raise CourseError(f"{path} is damaged ({type(error).__name__}); delete it and run this again") from None
    stats = Stats(IMAGENET_MEAN, IMAGENET_STD, pca_eigenvalues=(), pca_eigenvectors=())
    device = pick_device(device) if isinstance(device, str) else device
    return Predictor(
        model, list(weights.meta["categories"]), 224, PAPER_CROP, stats, FOLDER_SIZE, device, torch.float32
    )
