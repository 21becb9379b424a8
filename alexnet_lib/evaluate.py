"""How good a trained model is: top-1/top-5, the paper's 10-crop averaging, where it errs (notebooks 03, 04)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .checkpoint import Checkpoint
from .datasets import ImageSet
from .env import autocast
from .transforms import BatchTransform, ten_crop_views


@dataclass
class Evaluation:
    """Predictions on a test set and the figures made from them."""

    probs: torch.Tensor  # N x classes, softmax (averaged over crops with 10-crop)
    labels: torch.Tensor  # N
    classes: list[str]

    @property
    def predictions(self) -> torch.Tensor:
        return self.probs.argmax(1)

    @property
    def top1(self) -> float:
        return (self.predictions == self.labels).float().mean().item()

    @property
    def top5(self) -> float:
        k = min(5, self.probs.shape[1])
        return (self.probs.topk(k, 1).indices == self.labels[:, None]).any(1).float().mean().item()

    @property
    def loss(self) -> float:
        return F.nll_loss(self.probs.clamp_min(1e-12).log(), self.labels).item()

    def confusion(self) -> torch.Tensor:
        """classes x classes counts: row = true class, column = predicted class."""
        n = len(self.classes)
        return torch.bincount(self.labels * n + self.predictions, minlength=n * n).view(n, n)

    def per_class_accuracy(self) -> torch.Tensor:
        confusion = self.confusion()
        return confusion.diagonal() / confusion.sum(1).clamp_min(1)

    def confident_mistakes(self, k: int = 8) -> torch.Tensor:
        """Indices of the ``k`` wrong predictions made with the highest probability."""
        wrong = (self.predictions != self.labels).nonzero().squeeze(1)
        confidence = self.probs[wrong].max(1).values
        return wrong[confidence.argsort(descending=True)[:k]]


@torch.no_grad()
def evaluate(
    model: nn.Module,
    data: ImageSet,
    transform: BatchTransform,
    *,
    tta: bool = False,
    batch_size: int = 256,
    dtype: torch.dtype = torch.float32,
) -> Evaluation:
    """Softmax probabilities for every image of ``data``: centre crop, or §4.1's ten crops averaged."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    all_probs = []
    try:
        for start in range(0, len(data), batch_size):
            images = data.images[start : start + batch_size].to(device, non_blocking=True)
            n, _, height, width = images.shape
            views = ten_crop_views(n, height, width, transform.crop, device) if tta else [None]
            probs = 0
            for view in views:
                with autocast(device, dtype):
                    logits = model(transform(images, view))
                probs = probs + logits.float().softmax(1)
            all_probs.append((probs / len(views)).cpu())
    finally:
        model.train(was_training)
    return Evaluation(torch.cat(all_probs), data.labels.cpu(), data.classes)


def evaluate_checkpoint(
    path: Path | str, data: ImageSet, *, dtype: torch.dtype = torch.float32
) -> tuple[Evaluation, Evaluation]:
    """A saved model on ``data`` (on its device), fed as in training: centre crop, then §4.1's ten crops averaged."""
    checkpoint = Checkpoint.read(path)
    model = checkpoint.model().to(data.images.device)
    transform = checkpoint.eval_transform(channels_last=True)
    return evaluate(model, data, transform, dtype=dtype), evaluate(model, data, transform, tta=True, dtype=dtype)
