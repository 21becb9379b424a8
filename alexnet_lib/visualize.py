"""Figures several lessons share: image grids, grouped-convolution wiring, confusion matrices, the most
confident mistakes, images shown as the network saw them. A figure that one lesson alone draws lives in
that lesson's module."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from torch import nn

from .evaluate import Evaluation


def show_images(
    images: torch.Tensor,
    titles: Sequence[str] | None = None,
    *,
    columns: int = 8,
    size: float = 1.4,
    title: str | None = None,
) -> Figure:
    """A grid of images: uint8 or float in [0, 1], N x C x H x W with C of 1 or 3."""
    images = images.detach().cpu()
    if images.dtype == torch.uint8:
        images = images.float() / 255
    n = len(images)
    rows = max(1, -(-n // columns))
    figure, axes = plt.subplots(rows, columns, figsize=(columns * size, rows * size * 1.15), squeeze=False)
    for index, axis in enumerate(axes.flat):
        axis.axis("off")
        if index >= n:
            continue
        image = images[index].float().clamp(0, 1).numpy()  # a NumPy array, as matplotlib expects
        if image.shape[0] == 1:
            axis.imshow(image[0], cmap="gray", vmin=0, vmax=1)
        else:
            axis.imshow(image.transpose(1, 2, 0))
        if titles is not None:
            axis.set_title(titles[index], fontsize=8)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


def plot_connectivity(conv: nn.Conv2d, title: str = "", axis: plt.Axes | None = None) -> plt.Axes:
    """Which input maps each output map of ``conv`` sees: block-diagonal when it is grouped (two towers)."""
    if axis is None:
        _, axis = plt.subplots(figsize=(4, 4))
    per_group_in = conv.in_channels // conv.groups
    per_group_out = conv.out_channels // conv.groups
    group_of_out = torch.arange(conv.out_channels) // per_group_out
    group_of_in = torch.arange(conv.in_channels) // per_group_in
    wiring = (group_of_out[:, None] == group_of_in[None, :]).float()
    axis.imshow(wiring, cmap="Blues", aspect="auto", vmin=0, vmax=1.3, interpolation="nearest")
    axis.set_xlabel(f"input maps ({conv.in_channels})")
    axis.set_ylabel(f"output maps ({conv.out_channels})")
    axis.set_title(title or f"groups={conv.groups}")
    return axis


def plot_confusion(confusion: torch.Tensor, classes: Sequence[str], title: str = "Confusion matrix") -> Figure:
    """Row-normalised confusion matrix: row = true class, column = predicted class."""
    rates = confusion.float() / confusion.sum(1, keepdim=True).clamp_min(1)
    figure, axis = plt.subplots(figsize=(6.5, 5.5))
    image = axis.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    axis.set_xticks(range(len(classes)), classes, rotation=60, ha="right", fontsize=8)
    axis.set_yticks(range(len(classes)), classes, fontsize=8)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    for i in range(len(classes)):
        for j in range(len(classes)):
            if confusion[i, j]:
                axis.text(
                    j,
                    i,
                    f"{rates[i, j]:.0%}" if rates[i, j] >= 0.005 else "",
                    ha="center",
                    va="center",
                    fontsize=6,
                    color="white" if rates[i, j] > 0.6 else "black",
                )
    figure.colorbar(image, ax=axis, fraction=0.046)
    axis.set_title(title)
    figure.tight_layout()
    return figure


def show_confident_mistakes(
    evaluation: Evaluation, images: torch.Tensor, classes: Sequence[str], count: int = 16
) -> Figure:
    """The ``count`` mistakes the model was surest of, each titled true class → prediction and its probability."""
    mistakes = evaluation.confident_mistakes(count)
    titles = [
        f"{classes[evaluation.labels[i]]}\n→ {classes[evaluation.predictions[i]]} {evaluation.probs[i].max():.0%}"
        for i in mistakes
    ]
    return show_images(images[mistakes], titles, columns=8, size=1.5, title="Most confident mistakes: true → predicted")


def denormalize(inputs: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """Network inputs (normalised) back to images in [0, 1], to show what the model saw."""
    shape = (1, -1, 1, 1)
    mean_t = torch.tensor(mean, device=inputs.device).view(shape)
    std_t = torch.tensor(std, device=inputs.device).view(shape)
    return (inputs.float() * std_t + mean_t).clamp(0, 1)
