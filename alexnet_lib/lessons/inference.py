"""Notebook 06, inference: its props (awkward image files, a stand-in product photo,
Fashion-MNIST's own preparation, top-k bars, prediction speed, uploaded files)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from ..errors import CourseError
from ..images import to_mode
from ..inference import Predictor, ranked
from ..timing import images_per_second


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


def prediction_speed(predictor: Predictor, images: torch.Tensor, batch_size: int, *, repeats: int = 1) -> float:
    """Images/s of ``predictor`` on prepared uint8 ``images`` at ``batch_size``: one warm-up pass, ``repeats`` timed."""
    return images_per_second(
        lambda: predictor.probabilities(images, batch_size=batch_size),
        len(images),
        predictor.device,
        warmup=1,
        steps=repeats,
    )


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
