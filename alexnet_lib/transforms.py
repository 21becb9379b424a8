"""The paper's input pipeline (§2, §4.1), batched on the device, and the conventional PIL one.

The paper resizes every image to 256x256 and trains on random 224x224 patches and their
mirror images; at test time it uses the centre patch, or averages ten patches (four corners,
centre, and their mirrors). A patch is 224/256 = 87.5% of the side. Our datasets are tiny
(28 or 32 pixels), so the same crops are taken as fractions of the small image and the patch
is resized straight to the network's input (227 for the paper net): one bilinear resampling
instead of two.

``BatchTransform`` does all of it for a whole uint8 batch in a few tensor operations on the
batch's device: colour noise and normalisation per channel (cheap, at the small size), then
crop + flip + resize as two batched matrix products. ``pil_transform`` does the same per image with
PIL and torchvision, as most AlexNet code does, for comparison and for image folders too
large to hold in memory. The two agree to within one grey level (``tests/test_transforms.py``).

Colour noise ("fancy PCA", §4.1): each training image gets ``eigvecs @ (alpha * sqrt(eigvals))``
added to every pixel, alpha drawn per image and component from a zero-mean Gaussian with
standard deviation 0.1. The paper writes the eigenvalues themselves; Krizhevsky's own
cuda-convnet2 (``ColorNoiseMakerThread``) scales by their square roots, the standard deviations
along each axis, which keeps the units of a pixel. We follow the code.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import KW_ONLY, dataclass
from typing import TYPE_CHECKING, Any

import torch
from PIL import Image

from .datasets import ImageSet, Stats
from .errors import CourseError

if TYPE_CHECKING:  # torchvision takes ~2 s to import: only the PIL path needs it
    from torchvision import transforms as T

PAPER_CROP = 224 / 256  # §4.1: 224x224 patches of the 256x256 images


@dataclass(frozen=True)
class Views:
    """Where each image of a batch is cut and how it is changed: a square crop (left/top corner
    and side, in source pixels), a mirror flag, and a colour shift per channel (or None)."""

    left: torch.Tensor
    top: torch.Tensor
    side: torch.Tensor
    flip: torch.Tensor
    colour: torch.Tensor | None = None  # n x C, in [0, 1] pixel units

    def __getitem__(self, index: slice) -> Views:
        colour = None if self.colour is None else self.colour[index]
        return Views(self.left[index], self.top[index], self.side[index], self.flip[index], colour)


def _full(n: int, value: float, device: torch.device) -> torch.Tensor:
    return torch.full((n,), float(value), device=device)


def center_views(n: int, height: int, width: int, fraction: float, device: torch.device) -> Views:
    """The centre crop, not mirrored: the paper's single-crop test view."""
    side = fraction * min(height, width)
    flip = torch.zeros(n, dtype=torch.bool, device=device)
    return Views(
        _full(n, (width - side) / 2, device), _full(n, (height - side) / 2, device), _full(n, side, device), flip
    )


def ten_crop_views(n: int, height: int, width: int, fraction: float, device: torch.device) -> list[Views]:
    """§4.1's test-time patches: four corners and the centre, then the same five mirrored."""
    side = fraction * min(height, width)
    corners = [
        (0, 0),
        (width - side, 0),
        (0, height - side),
        (width - side, height - side),
        ((width - side) / 2, (height - side) / 2),
    ]
    return [
        Views(
            _full(n, left, device),
            _full(n, top, device),
            _full(n, side, device),
            torch.full((n,), flip, dtype=torch.bool, device=device),
        )
        for flip in (False, True)
        for left, top in corners
    ]


def interpolation_matrix(
    start: torch.Tensor, side: torch.Tensor, length: int, size: int, flip: torch.Tensor | None = None
) -> torch.Tensor:
    """n x size x length bilinear weights: output pixel ``o`` of each crop as a mix of source pixels.

    Output pixel centres are mapped into the crop ``[start, start + side)`` with half-pixel
    centres, as PIL's ``resize(box=...)`` does; coordinates past the edge take the edge pixel.
    ``flip`` reverses the output order of the flagged images (a mirror image).
    """
    output = torch.arange(size, device=start.device, dtype=start.dtype)
    x = (start[:, None] + (output[None] + 0.5) * (side[:, None] / size) - 0.5).clamp(0, length - 1)
    left = x.floor()
    weight_right = x - left
    left = left.long()
    right = (left + 1).clamp(max=length - 1)
    matrix = torch.zeros(len(start), size, length, device=start.device, dtype=start.dtype)
    matrix.scatter_add_(2, left[..., None], (1 - weight_right)[..., None])
    matrix.scatter_add_(2, right[..., None], weight_right[..., None])
    return matrix if flip is None else torch.where(flip[:, None, None], matrix.flip(1), matrix)


def crop_resize(images: torch.Tensor, views: Views, size: int) -> torch.Tensor:
    """Cut each image's crop, mirror it if asked, and resize it to ``size`` x ``size`` (bilinear).

    Bilinear resampling is separable: rows then columns. So the whole batch is two batched
    matrix products, ``rows @ image @ columns.T``, with a small interpolation matrix per image
    that also encodes the crop and the mirror. Same result as ``F.grid_sample`` (to 5e-6) at a
    fraction of its cost: matrix products are what CPUs and GPUs do fastest.
    """
    _, _, height, width = images.shape
    rows = interpolation_matrix(views.top, views.side, height, size).to(images.dtype)
    columns = interpolation_matrix(views.left, views.side, width, size, views.flip).to(images.dtype)
    return rows[:, None] @ images @ columns.transpose(1, 2)[:, None]


def pca_noise(
    stats: Stats, n: int, std: float, generator: torch.Generator | None, device: torch.device
) -> torch.Tensor:
    """Per-image colour shifts (n x C), in [0, 1] pixel units: eigvecs @ (alpha * sqrt(eigvals))."""
    eigvecs = torch.tensor(stats.pca_eigenvectors, device=device)
    scales = torch.tensor(stats.pca_eigenvalues, device=device).sqrt()
    alpha = torch.randn(n, len(scales), generator=generator, device=device) * std
    return (alpha * scales) @ eigvecs.T


@dataclass
class BatchTransform:
    """uint8 batch (N x C x h x w, any device) -> normalised float batch at ``size``, on that device.

    ``train=True`` draws random crops, mirrors and colour noise (``draw``); ``train=False``
    takes the centre crop. ``channels=3`` repeats grey images to RGB. ``pil()`` gives the
    same pipeline per PIL image.
    """

    size: int  # the network's input side
    stats: Stats  # training mean, std and colour PCA
    _: KW_ONLY
    train: bool
    crop: float = PAPER_CROP  # crop side as a fraction of the image side
    flip: bool = True  # mirror half the training images
    pca_std: float = 0.1  # colour noise; 0 turns it off
    channels: int | None = None  # None: the images' own; 3 repeats grey
    channels_last: bool = True  # NHWC memory layout for the output

    def draw(self, n: int, height: int, width: int, generator: torch.Generator | None, device: torch.device) -> Views:
        """Random training views: uniformly placed crops, mirrored with p=0.5, colour noise."""
        side = self.crop * min(height, width)
        u = torch.rand(3, n, generator=generator, device=device)
        flip = (u[2] < 0.5) & self.flip
        colour = pca_noise(self.stats, n, self.pca_std, generator, device) if self.pca_std > 0 else None
        return Views(u[0] * (width - side), u[1] * (height - side), _full(n, side, device), flip, colour)

    def __call__(
        self, images: torch.Tensor, views: Views | None = None, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        n, c, height, width = images.shape
        device = images.device
        if views is None and self.train:
            views = self.draw(n, height, width, generator, device)
        elif views is None:
            views = center_views(n, height, width, self.crop, device)
        mean = torch.tensor(self.stats.mean, device=device).view(1, c, 1, 1)
        std = torch.tensor(self.stats.std, device=device).view(1, c, 1, 1)
        x = images.float().div_(255).sub_(mean)
        if views.colour is not None:
            x = x.add_(views.colour.view(n, c, 1, 1))
        # A per-channel shift and scale commute with bilinear resampling, so they are applied
        # here, on the small image, rather than on the 227x227 one.
        x = crop_resize(x.div_(std), views, self.size)
        if self.channels and self.channels != c:
            if c != 1:
                raise CourseError(f"channels={self.channels}: only grey (1-channel) images can be repeated")
            x = x.expand(-1, self.channels, -1, -1)
        return x.contiguous(memory_format=torch.channels_last if self.channels_last else torch.contiguous_format)

    def pil(self) -> T.Compose:
        """The same pipeline per PIL image, with torchvision transforms (the conventional path)."""
        from torchvision import transforms as T

        steps: list = []
        if self.channels:
            steps.append(ConvertMode("RGB" if self.channels == 3 else "L"))
        steps.append(PILCropResize(self.size, self.crop, random=self.train))
        if self.train and self.flip:
            steps.append(T.RandomHorizontalFlip())
        steps.append(T.ToTensor())
        if self.train and self.pca_std > 0:
            steps.append(PILColourNoise(self.stats, self.pca_std))
        mean, std = list(self.stats.mean), list(self.stats.std)
        if self.channels and self.channels != len(mean):  # grey statistics repeated for each RGB channel
            if len(mean) != 1:
                raise CourseError(f"channels={self.channels}: only grey (1-channel) images can be repeated")
            mean, std = mean * self.channels, std * self.channels
        steps.append(T.Normalize(mean, std))
        return T.Compose(steps)


# The conventional path: one PIL image at a time, in DataLoader workers --------------------


def to_pil(image: torch.Tensor) -> Image.Image:
    """One uint8 C x H x W tensor as a PIL image (mode L for grey, RGB for colour)."""
    pixels = image.cpu()
    return Image.fromarray(pixels[0].numpy() if pixels.shape[0] == 1 else pixels.permute(1, 2, 0).numpy())


class PILDataset(torch.utils.data.Dataset):
    """An in-memory split served one PIL image at a time, as torchvision's datasets do."""

    def __init__(self, data: ImageSet, transform: T.Compose) -> None:
        self.data, self.transform = data, transform

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.transform(to_pil(self.data.images[index])), int(self.data.labels[index])


def pil_batches(
    data: ImageSet, transform: BatchTransform, batches: list[list[int]], workers: int, device: torch.device
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The given batches of ``data`` (lists of indices), each image through ``transform``'s PIL
    equivalent in DataLoader workers, on ``device``: the pipeline the batched one is measured against."""
    loader = torch.utils.data.DataLoader(
        PILDataset(data, transform.pil()),
        batch_sampler=batches,
        num_workers=workers,
        pin_memory=device.type == "cuda",
    )
    memory_format = torch.channels_last if transform.channels_last else torch.contiguous_format
    for images, labels in loader:
        yield images.to(device, non_blocking=True, memory_format=memory_format), labels.to(device)


def device_batches(
    data: ImageSet,
    transform: BatchTransform,
    batches: Iterable[torch.Tensor],
    mine: slice,
    generator: torch.Generator,
    device: torch.device,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The batched pipeline: for each global batch (a tensor of indices into ``data``, on its device), the
    views of the whole batch drawn from ``generator``, then this process's share (``mine``) through
    ``transform``. Every process draws every view, so all take the same random views (DDP, resume)."""
    _, _, height, width = data.images.shape
    for batch in batches:
        batch = batch.to(device)
        views = transform.draw(len(batch), height, width, generator, device)
        yield transform(data.images[batch[mine]], views[mine]), data.labels[batch[mine]]


class PILCropResize:
    """Crop a square of ``fraction`` of the shorter side (random or centred), resize it to ``size``."""

    def __init__(self, size: int, fraction: float, random: bool) -> None:
        self.size, self.fraction, self.random = size, fraction, random

    def __call__(self, image: Image.Image) -> Image.Image:
        width, height = image.size
        side = self.fraction * min(width, height)
        u = torch.rand(2).tolist() if self.random else [0.5, 0.5]
        left, top = u[0] * (width - side), u[1] * (height - side)
        return image.resize((self.size, self.size), Image.BILINEAR, box=(left, top, left + side, top + side))


class ConvertMode:
    """``image.convert(mode)`` as a transform (a class, unlike a lambda, pickles into workers)."""

    def __init__(self, mode: str) -> None:
        self.mode = mode

    def __call__(self, image: Image.Image) -> Image.Image:
        return image.convert(self.mode)


class PILColourNoise:
    """§4.1's PCA colour noise on a float tensor image (torchvision has no such transform)."""

    def __init__(self, stats: Stats, std: float = 0.1) -> None:
        self.stats, self.std = stats, std

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return x + pca_noise(self.stats, 1, self.std, None, x.device).view(-1, 1, 1)


def pil_transform(size: int, stats: Stats, **settings: Any) -> T.Compose:
    """The same pipeline as ``BatchTransform(size, stats, **settings)``, per PIL image (see ``BatchTransform.pil``)."""
    return BatchTransform(size, stats, **settings).pil()
