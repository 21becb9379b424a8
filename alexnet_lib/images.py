"""Image files on disk: which files they are, and reading any one safely as 8-bit RGB or grey.

Listing: ``list_image_files`` is the one rule for what counts as an image file (an image
suffix, nothing hidden: no ``.name`` file or folder, such as ``.ipynb_checkpoints``), used by
``predict``, ``data fetch``, ``data info`` and the image folders; ``list_images`` adds the
class of each, from ``<split>/<class>/`` folders.

Reading (notebook 06, ``predict``, image folders):

1. Open the file safely. A file that is missing, empty, not an image, truncated, or larger
   than the pixel limit becomes one ``ImageError`` line. The limit (``PIL.Image.MAX_IMAGE_PIXELS``,
   89.5 megapixels unless changed) is a guard against decompression bombs: a tiny file that
   declares a huge image. It applies to the pixels that will be decoded: JPEGs are decoded at
   1/2, 1/4 or 1/8 scale when that still gives enough pixels (``draft``), so a large photo
   costs little memory.
2. Turn it upright (EXIF orientation) and into 8-bit RGB or grey: transparency is flattened
   on white, 16-bit images are scaled (not clipped) to 8 bits, CMYK and images with a colour
   profile are converted to sRGB.
"""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from .errors import CourseError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm"}


class ImageError(CourseError):
    """One image could not be used; the message says why (the caller names the file)."""


def pixel_limit() -> int | None:
    """The most pixels an image may decode to: PIL's ``MAX_IMAGE_PIXELS`` (None: no limit)."""
    return Image.MAX_IMAGE_PIXELS


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1e6:.1f} megapixels"


def _too_large(size_text: str, limit: int) -> ImageError:
    return ImageError(
        f"{size_text} is over the limit of {_megapixels(limit)} that guards against decompression bombs; "
        "make the image smaller first (or raise PIL.Image.MAX_IMAGE_PIXELS if you trust it)"
    )


def first_line(error: BaseException) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0]


def _looks_like_text(path: Path) -> bool:
    """No control characters but tabs and line ends in the first 512 bytes: text (UTF-8 included)."""
    with path.open("rb") as file:
        head = file.read(512)
    return all(byte >= 32 or byte in b"\t\n\r" for byte in head)


def open_image(path: Path | str, *, min_size: int = 1) -> Image.Image:
    """``path`` decoded and upright, at least ``min_size`` on its shorter side where it allows.

    Large JPEGs are decoded at a reduced scale that keeps ``min_size``. Any problem with the
    file is one ``ImageError`` line; see the module docstring for the pixel limit.
    """
    path = Path(path)
    if path.is_dir():
        raise ImageError("is a folder, not an image (use --image-dir for a folder)")
    if not path.exists():
        raise ImageError("no such file")
    if path.stat().st_size == 0:
        raise ImageError("the file is empty (0 bytes)")
    limit = pixel_limit()
    # PIL's own warnings (its 1x bomb warning, odd palettes, corrupt EXIF) are left out:
    # each problem that matters is raised below as one line.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            image = Image.open(path)
        except Image.DecompressionBombError as error:  # PIL refuses above twice its limit, at open
            declared = re.search(r"\((\d+) pixels\)", str(error))
            size_text = _megapixels(int(declared.group(1))) if declared else "the image"
            raise _too_large(size_text, limit or 0) from None
        except UnidentifiedImageError:
            kind = "it holds text" if _looks_like_text(path) else "its contents are not a known image format"
            raise ImageError(f"not an image: {kind}, whatever its name says") from None
        except PermissionError:
            raise ImageError("permission denied") from None
        except Exception as error:  # a broken header: PIL raises many types
            raise ImageError(f"not a readable image ({type(error).__name__}: {first_line(error)})") from None
        with image:
            if min_size > 1:  # JPEGs (and phones' MPOs) decode at 1/2, 1/4 or 1/8 scale if that is enough
                image.draft(None, (min_size, min_size))  # other formats ignore this
            width, height = image.size
            if limit is not None and width * height > limit:
                raise _too_large(f"{width} x {height} pixels ({_megapixels(width * height)})", limit)
            try:
                image.load()
            except Exception as error:  # truncated data, bad checksums, broken streams
                raise ImageError(f"the image is truncated or damaged ({first_line(error)})") from None
            try:
                return ImageOps.exif_transpose(image)
            except Exception:  # a corrupt EXIF block: the pixels are fine, use them as stored
                return image.copy()


def _to_8bit(image: Image.Image) -> Image.Image:
    """16- and 32-bit grey as 8-bit L, scaled rather than clipped (``convert("L")`` clips at 255)."""
    values = np.asarray(image).astype(np.float64)
    if image.mode == "F":
        top = 1.0 if values.max(initial=0) <= 1 else 255.0  # floats: [0, 1] or [0, 255]
    elif image.mode == "I" and values.max(initial=0) <= 255:
        top = 255.0  # 32-bit container holding 8-bit values
    else:
        top = 65535.0  # I;16 and 16-bit values in I
    return Image.fromarray(np.clip(np.rint(values * 255 / top), 0, 255).astype(np.uint8), "L")


def _to_srgb(image: Image.Image) -> Image.Image:
    """Apply an embedded colour profile (CMYK print, Display P3 photos) to get sRGB; else as is."""
    profile = image.info.get("icc_profile")
    if not profile or image.mode not in ("RGB", "RGBA", "CMYK"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        output = "RGBA" if image.mode == "RGBA" else "RGB"
        return ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"), outputMode=output)
    except Exception:  # a damaged or unusual profile: PIL's plain conversion is still close
        return image


def has_transparency(image: Image.Image) -> bool:
    """Whether ``image`` has an alpha channel or a transparent colour (PNG ``tRNS``, GIF)."""
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info


def to_mode(image: Image.Image, mode: str) -> Image.Image:
    """``image`` as 8-bit ``mode`` ("RGB" or "L"): transparency flattened on white, 16-bit scaled,
    colour profiles (CMYK included) converted to sRGB."""
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        image = _to_8bit(image)
    image = _to_srgb(image)
    if has_transparency(image):
        # A transparent pixel has no colour of its own: convert("RGB") would show whatever the
        # file stores there, often black. Photos and product shots sit on white.
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    return image.convert(mode)


def square(image: Image.Image, size: int) -> Image.Image:
    """The centre square of ``image`` with its shorter side resized to ``size`` (§2; image folders use it too)."""
    scale = size / min(image.size)
    width, height = max(size, round(image.width * scale)), max(size, round(image.height * scale))
    image = image.resize((width, height), Image.BILINEAR)
    left, top = (width - size) // 2, (height - size) // 2
    return image.crop((left, top, left + size, top + size))


def image_tensor(image: Image.Image) -> torch.Tensor:
    """An L or RGB image as a uint8 C x H x W tensor."""
    pixels = np.asarray(image, dtype=np.uint8)
    pixels = pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)
    return torch.from_numpy(pixels.copy())  # a C-order copy: NumPy's is 7x faster than torch's for one image


def preview(path: Path | str, size: int = 256) -> Image.Image:
    """An image file as RGB for display: safely opened, upright, at most ``size`` pixels on its longer side."""
    image = to_mode(open_image(path, min_size=size), "RGB")
    image.thumbnail((size, size))
    return image


# Image files on disk --------------------------------------------------------------------


def _visible_files(folder: Path, *, recursive: bool = True) -> list[Path]:
    """The files under ``folder`` (at any depth, or only its own), sorted; hidden files and folders left out."""
    found = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(
        p for p in found if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def list_image_files(folder: Path | str, *, recursive: bool = True) -> list[Path]:
    """The image files under ``folder`` (at any depth, or only its own), sorted; hidden ones left out."""
    return [p for p in _visible_files(Path(folder), recursive=recursive) if p.suffix.lower() in IMAGE_SUFFIXES]


def image_files(folder: Path | str) -> list[Path]:
    """The image files under ``folder`` (any depth, sorted); a missing or imageless folder is an error."""
    folder = Path(folder)
    if not folder.exists():
        raise CourseError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise CourseError(f"{folder} is a file, not a folder (use --image for one file)")
    images = list_image_files(folder)
    if not images:
        raise no_image_files(folder, others=len(_visible_files(folder)))
    return images


def no_image_files(folder: Path, *, others: int = 0) -> CourseError:
    """The error for a folder that should hold images and holds none (naming the suffixes looked for)."""
    skipped = f"; {others} other files were skipped" if others else ""
    return CourseError(f"{folder} holds no image files ({', '.join(sorted(IMAGE_SUFFIXES))}){skipped}")


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
        found = list_image_files(split_dir / name)
        paths += found
        labels += [label] * len(found)
    return paths, labels, classes
