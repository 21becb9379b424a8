"""Notebook 05, filters and features: its figures (Fig. 3 filters, feature maps,
Fig. 4 neighbours, the fc7 map, explanation maps)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from ..features import colour_selectivity


def stage_label(name: str) -> str:
    """A stage's name for a figure: ``relu3`` is shown as "conv3+ReLU", ``relu7`` as "fc7+ReLU"."""
    if name.startswith("relu") and name[4:].isdigit():
        number = int(name[4:])
        return f"{'conv' if number <= 5 else 'fc'}{number}+ReLU"
    return name


def _as_display(image: torch.Tensor) -> np.ndarray:
    """One C x H x W image (uint8, or float in [0, 1]) as H x W (grey) or H x W x 3, float in [0, 1]."""
    image = image.detach().cpu()
    image = image.float() / 255 if image.dtype == torch.uint8 else image.float().clamp(0, 1)
    return (image[0] if image.shape[0] == 1 else image.permute(1, 2, 0)).numpy()


def imshow(axis: plt.Axes, image: torch.Tensor, title: str = "", **title_options: object) -> None:
    """Draw one image without ticks; grey images in grey."""
    shown = _as_display(image)
    axis.imshow(shown, cmap="gray" if shown.ndim == 2 else None, vmin=0, vmax=1)
    axis.set_xticks([])
    axis.set_yticks([])
    if title:
        axis.set_title(title, **{"fontsize": 8, **title_options})


def filter_mosaic(weights: torch.Tensor, columns: int = 12, pad: int = 1) -> torch.Tensor:
    """Filters (F x C x k x k) tiled into one image as in Fig. 3, each scaled to [0, 1] on its own.

    Each filter is stretched from its own minimum to its maximum, over all its channels at
    once, so colours keep their balance. Gaps are white. Returns H x W (grey) or H x W x 3.
    """
    weights = weights.detach().float().cpu()
    count, channels, height, width = weights.shape
    flat = weights.flatten(1)
    low, high = flat.amin(1)[:, None, None, None], flat.amax(1)[:, None, None, None]
    scaled = (weights - low) / (high - low).clamp_min(1e-12)
    rows = -(-count // columns)
    mosaic = torch.ones(channels, rows * (height + pad) + pad, columns * (width + pad) + pad)
    for index in range(count):
        row, column = divmod(index, columns)
        top, left = pad + row * (height + pad), pad + column * (width + pad)
        mosaic[:, top : top + height, left : left + width] = scaled[index]
    return mosaic[0] if channels == 1 else mosaic.permute(1, 2, 0)


def plot_filters(
    weights: torch.Tensor, title: str = "", *, columns: int = 12, axis: plt.Axes | None = None
) -> plt.Axes:
    """conv1's filters (F x C x k x k) as a Fig. 3 grid, each filter scaled on its own; grey for one channel."""
    if axis is None:
        rows = -(-len(weights) // columns)
        _, axis = plt.subplots(figsize=(columns * 0.55, rows * 0.55 + 0.4))
    mosaic = filter_mosaic(weights, columns).numpy()
    axis.imshow(mosaic, cmap="gray" if mosaic.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
    axis.set_xticks([])
    axis.set_yticks([])
    axis.set_title(title, fontsize=10)
    return axis


def plot_towers(weights: torch.Tensor, initial: torch.Tensor | None = None, towers: int = 2) -> Figure:
    """The towers' conv1 filters side by side (Fig. 3: the paper's GPU 1 above, GPU 2 below).

    Under each panel: the tower's mean ``colour_selectivity``, so that the comparison is a
    measurement. With ``initial`` (epoch 0 of ``conv1.pt``), a second row shows what training
    changed in each tower, ``weights - initial``.
    """
    rows = [("filters", weights)] + (
        [("change since initialisation", weights - initial)] if initial is not None else []
    )
    per_tower = len(weights) // towers
    figure, axes = plt.subplots(len(rows), towers, figsize=(4.4 * towers, 4.0 * len(rows)), squeeze=False)
    for row, (what, values) in enumerate(rows):
        for tower in range(towers):
            block = values[tower * per_tower : (tower + 1) * per_tower]
            axis = axes[row, tower]
            selectivity = colour_selectivity(block).mean()
            plot_filters(
                block, f"tower {tower + 1}: {what}\ncolour selectivity {selectivity:.2f}", columns=8, axis=axis
            )
    figure.tight_layout()
    return figure


def plot_filter_epochs(
    epochs: Sequence[int], weights: Sequence[torch.Tensor], *, count: int = 16, columns: int = 4, panels: int = 6
) -> Figure:
    """The first ``count`` conv1 filters at up to ``panels`` saved epochs, from initialisation (epoch 0) to the last.

    Top row: the filters. Bottom row: what training has changed so far, W - W0, each
    filter scaled on its own; titles give the relative size of the change, |W - W0| / |W0|.
    """
    shown = min(panels, len(epochs))
    picks = sorted({round(i * (len(epochs) - 1) / max(shown - 1, 1)) for i in range(shown)})
    first = weights[0][:count].float()
    figure, axes = plt.subplots(2, len(picks), figsize=(2.3 * len(picks), 5.0), squeeze=False)
    for column, pick in enumerate(picks):
        current = weights[pick][:count].float()
        label = "initialisation" if epochs[pick] == 0 else f"epoch {epochs[pick]}"
        plot_filters(current, label, columns=columns, axis=axes[0, column])
        if epochs[pick] == 0:
            axes[1, column].axis("off")
            axes[1, column].text(0.5, 0.5, "this row: W - W0,\nwhat training\nhas changed", ha="center", va="center")
            continue
        change = (current - first).norm() / first.norm()
        plot_filters(current - first, f"change: {change:.0%} of |W0|", columns=columns, axis=axes[1, column])
    figure.tight_layout()
    return figure


def plot_feature_maps(
    activations: dict[str, torch.Tensor],
    *,
    image: torch.Tensor | None = None,
    channels: int = 8,
    classes: Sequence[str] | None = None,
    title: str = "",
) -> Figure:
    """One image's activations, a row per stage: the ``channels`` most active maps of each
    convolutional stage (C x H x W), fc vectors as a square of units, and the logits as
    class probabilities. Maps share one colour scale per stage, so a dark map is a quiet channel.
    """
    names = list(activations)
    rows = len(names) + (image is not None)
    figure = plt.figure(figsize=(channels * 1.1 + 1.2, rows * 1.2 + 0.4), layout="constrained")
    grid = figure.add_gridspec(rows, channels)
    row = 0
    if image is not None:
        axis = figure.add_subplot(grid[0, 0])
        imshow(axis, image)
        axis.set_ylabel("input", fontsize=9)
        note = figure.add_subplot(grid[0, 1:])
        note.axis("off")
        note.text(0, 0.5, title, fontsize=10, va="center")
        row = 1
    for name in names:
        values = activations[name].detach().float().cpu()
        label = f"{stage_label(name)}\n{' x '.join(map(str, values.shape))}"
        if values.ndim == 3:
            strongest = values.flatten(1).mean(1).argsort(descending=True)[:channels]
            top = values.max().clamp_min(1e-12)
            for column, channel in enumerate(strongest.tolist()):
                axis = figure.add_subplot(grid[row, column])
                axis.imshow(values[channel].numpy(), cmap="magma", vmin=0, vmax=top, interpolation="nearest")
                axis.set_xticks([])
                axis.set_yticks([])
                axis.set_title(f"ch {channel}", fontsize=7, pad=2)
                if column == 0:
                    axis.set_ylabel(label, fontsize=8)
        elif classes is not None and len(values) == len(classes):
            axis = figure.add_subplot(grid[row, :])
            axis.bar(range(len(classes)), values.softmax(0).numpy(), color="tab:blue")
            axis.set_xticks(range(len(classes)), classes, fontsize=7)
            axis.set_ylim(0, 1)
            axis.set_ylabel(f"{name}\nsoftmax", fontsize=8)
        else:
            side = int(len(values) ** 0.5)
            axis = figure.add_subplot(grid[row, 0])
            axis.imshow(values[: side * side].view(side, side).numpy(), cmap="magma", vmin=0, interpolation="nearest")
            axis.set_xticks([])
            axis.set_yticks([])
            axis.set_ylabel(label, fontsize=8)
            note = figure.add_subplot(grid[row, 1:])
            note.axis("off")
            active = (values > 0).float().mean().item()
            note.text(0, 0.5, f"{active:.0%} of the {len(values)} units are active (> 0)", fontsize=8, va="center")
        row += 1
    return figure


def _frame(axis: plt.Axes, colour: str) -> None:
    for spine in axis.spines.values():
        spine.set_edgecolor(colour)
        spine.set_linewidth(2.5)


def plot_neighbours(
    queries: torch.Tensor,
    query_labels: Sequence[int],
    rows: dict[str, tuple[torch.Tensor, torch.Tensor]],
    classes: Sequence[str],
) -> Figure:
    """Fig. 4: each query image (left) and its nearest training images under each measure.

    ``rows`` maps a measure's name ("fc7", "pixels") to (images Q x k x C x H x W, labels Q x k).
    A green frame marks a neighbour of the query's class; a red one, titled, another class.
    """
    k = next(iter(rows.values()))[1].shape[1]
    widths = [1.0] + ([0.35] + [1.0] * k) * len(rows)
    figure, axes = plt.subplots(
        len(queries),
        len(widths),
        figsize=(sum(widths) * 1.0, len(queries) * 1.2 + 0.3),
        squeeze=False,
        gridspec_kw={"width_ratios": widths},
    )
    for q, query in enumerate(queries):
        imshow(axes[q, 0], query, classes[int(query_labels[q])], fontweight="bold")
        column = 1
        for measure, (images, labels) in rows.items():
            axes[q, column].axis("off")
            for j in range(k):
                axis = axes[q, column + 1 + j]
                same = int(labels[q, j]) == int(query_labels[q])
                imshow(axis, images[q, j], "" if same else classes[int(labels[q, j])])
                _frame(axis, "tab:green" if same else "tab:red")
                if q == 0 and j == k // 2:
                    axis.text(0.5, 1.6, f"nearest by {measure}", transform=axis.transAxes, ha="center", fontsize=10)
            column += k + 1
    figure.tight_layout()
    return figure


def plot_embedding(
    coords: torch.Tensor, labels: torch.Tensor, classes: Sequence[str], title: str = "", axis: plt.Axes | None = None
) -> plt.Axes:
    """A 2-D map of feature space (e.g. fc7 after PCA), one colour per class."""
    if axis is None:
        _, axis = plt.subplots(figsize=(6, 5))
    coords, labels = coords.detach().float().cpu().numpy(), labels.cpu().numpy()
    colours = plt.get_cmap("tab10")
    for index, name in enumerate(classes):
        chosen = labels == index
        axis.scatter(coords[chosen, 0], coords[chosen, 1], s=6, alpha=0.7, color=colours(index % 10), label=name)
    axis.set_xlabel("principal component 1")
    axis.set_ylabel("principal component 2")
    axis.set_title(title, fontsize=10)
    axis.legend(fontsize=7, markerscale=2.5, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    return axis


def plot_explanations(
    images: torch.Tensor,
    maps: dict[str, torch.Tensor],
    titles: Sequence[str],
    *,
    overlays: Sequence[str] | None = None,
    title: str = "",
) -> Figure:
    """Each image (columns) with each explanation map (rows), e.g. Grad-CAM and saliency.

    ``images`` are what the network saw, in [0, 1] (see ``denormalize``); each map N x H x W
    in [0, 1]. Maps named in ``overlays`` (default: all) are drawn over the image, others alone.
    """
    overlays = list(maps) if overlays is None else list(overlays)
    n = len(images)
    figure, axes = plt.subplots(1 + len(maps), n, figsize=(n * 1.55, (1 + len(maps)) * 1.75), squeeze=False)
    for column in range(n):
        imshow(axes[0, column], images[column], titles[column])
        for row, (name, values) in enumerate(maps.items(), start=1):
            axis = axes[row, column]
            if name in overlays:
                imshow(axis, images[column])
                axis.imshow(values[column].detach().float().cpu().numpy(), cmap="jet", alpha=0.5, vmin=0, vmax=1)
            else:
                axis.imshow(values[column].detach().float().cpu().numpy(), cmap="hot", vmin=0, vmax=1)
                axis.set_xticks([])
                axis.set_yticks([])
            if column == 0:
                axis.set_ylabel(name, fontsize=9)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


def save_figures(figures: dict[str, Figure], folder: Path | str, dpi: int = 150) -> list[Path]:
    """Write each figure to ``folder/<name>.png`` (the full profile's results/ for a lesson); returns the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, figure in figures.items():
        path = folder / f"{name}.png"
        figure.savefig(path, dpi=dpi, bbox_inches="tight")
        paths.append(path)
    return paths
