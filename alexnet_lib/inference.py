"""The predictor: a trained AlexNet fed new images as it was fed in training (notebook 06; ``predict``).

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

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image

from .checkpoint import Checkpoint
from .env import autocast, pick_device
from .imagenet import imagenet_checkpoint
from .images import ImageError, first_line, image_tensor, open_image, square, to_mode
from .transforms import Views, ten_crop_views

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
    """A trained model fed new images as it was fed in training: all of it from its ``Checkpoint``."""

    checkpoint: Checkpoint  # classes, input size, crop, normalisation, source size: see ``checkpoint.py``
    device: torch.device
    dtype: torch.dtype = torch.float32  # autocast dtype (float32: none)

    def __post_init__(self) -> None:
        self.model = self.checkpoint.model().to(self.device, memory_format=torch.channels_last)
        self.transform = self.checkpoint.eval_transform(channels_last=True)

    @property
    def classes(self) -> list[str]:
        return self.checkpoint.classes

    @property
    def mode(self) -> str:
        """The PIL mode new images are converted to: that of the training images."""
        return "L" if len(self.checkpoint.stats.mean) == 1 else "RGB"

    def prepare(self, image: Image.Image) -> torch.Tensor:
        """A PIL image as the uint8 C x S x S tensor the training images were (steps 2 and 3 above)."""
        return image_tensor(square(to_mode(image, self.mode), self.checkpoint.source_size))

    def read(self, path: Path | str) -> torch.Tensor:
        """An image file, prepared; ``ImageError`` when it cannot be used."""
        image = open_image(path, min_size=self.checkpoint.source_size)
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
            for v in ten_crop_views(1, height, width, self.checkpoint.crop, torch.device("cpu"))
        ]
        views = ten_crop_views(n, height, width, self.checkpoint.crop, self.device)
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
    return Predictor(Checkpoint.read(path), device, dtype)


# torchvision's ImageNet weights (online only) --------------------------------------------------


def imagenet_predictor(device: torch.device | str = "cpu", *, timeout: float = 3.0) -> Predictor:
    """torchvision's ImageNet AlexNet weights (``AlexNet_Weights.IMAGENET1K_V1``) in our torchvision
    variant, with the 1000 ImageNet class names and torchvision's preprocessing (256, centre 224).

    The weights come from ``imagenet.fetch_imagenet_weights``: torch hub's cache, else a download
    (233 MB); offline, a ``CourseError`` says so within ``timeout`` seconds instead of hanging.
    """
    checkpoint = imagenet_checkpoint(timeout=timeout)
    return Predictor(checkpoint, pick_device(device) if isinstance(device, str) else device, torch.float32)
