"""torchvision's ImageNet AlexNet weights (online only), as a course checkpoint (notebook 06).

``AlexNet_Weights.IMAGENET1K_V1`` comes from torch hub's cache, else a download (233 MB, checked
against the hash in its name); offline, a ``CourseError`` says so within a few seconds instead of
hanging. The weights load into our ``"torchvision"`` variant with torchvision's preprocessing:
shorter side to 256, centre 224, ImageNet's mean and std.
"""

from __future__ import annotations

import socket
from pathlib import Path

import torch

from .checkpoint import Checkpoint
from .datasets import Stats
from .errors import CourseError
from .model import alexnet
from .transforms import PAPER_CROP

IMAGENET_MEAN = (0.485, 0.456, 0.406)  # torchvision's ImageNet statistics, [0, 1] pixel units
IMAGENET_STD = (0.229, 0.224, 0.225)
IMAGENET_STATS = Stats(IMAGENET_MEAN, IMAGENET_STD, pca_eigenvalues=(), pca_eigenvectors=())


def _reachable(host: str, timeout: float) -> bool:
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def fetch_imagenet_weights(*, timeout: float = 3.0) -> Path:
    """The file of torchvision's ImageNet AlexNet weights (``AlexNet_Weights.IMAGENET1K_V1``) in torch hub's cache.

    Downloaded (233 MB, checked against the hash in its name) when absent. Offline, a
    ``CourseError`` says so within ``timeout`` seconds instead of hanging.
    """
    from torchvision.models import AlexNet_Weights

    url = AlexNet_Weights.IMAGENET1K_V1.url
    path = Path(torch.hub.get_dir()) / "checkpoints" / Path(url).name
    if path.exists():
        return path
    host = url.split("/")[2]
    if not _reachable(host, timeout):
        raise CourseError(f"the ImageNet weights need internet: {host} cannot be reached, and {path} is absent")
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(30)  # a stalled download fails instead of hanging the notebook
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(url, str(path), hash_prefix=path.stem.split("-")[-1])
    except Exception as error:  # network errors, a checksum mismatch
        raise CourseError(f"downloading the ImageNet weights failed: {type(error).__name__}: {error}") from None
    finally:
        socket.setdefaulttimeout(previous)
    return path


def imagenet_checkpoint(*, timeout: float = 3.0) -> Checkpoint:
    """torchvision's ImageNet weights in our torchvision variant, with the 1000 class names and its
    preprocessing (256, centre 224), as a ``Checkpoint``."""
    from torchvision.models import AlexNet_Weights

    path = fetch_imagenet_weights(timeout=timeout)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        model = alexnet("torchvision", num_classes=1000)
        model.load_state_dict(state)  # torchvision's keys (features.0...) are renamed on the way in
    except Exception as error:
        raise CourseError(f"{path} is damaged ({type(error).__name__}); delete it and run this again") from None
    classes = list(AlexNet_Weights.IMAGENET1K_V1.meta["categories"])
    return Checkpoint.of_model(
        model, classes=classes, image_size=224, crop=PAPER_CROP, stats=IMAGENET_STATS, dataset="imagenet"
    )
