"""Looking inside a model: hooks, activations, fc7 neighbours, PCA, Grad-CAM (notebooks 01 and 05).

Everything here works on any device and on any named-stage model (``AlexNet`` is an
``nn.Sequential`` of named stages, so a stage is found by its paper name). Every hook is
removed before a function returns, even when it raises: ``count_hooks(model)`` is 0 after each.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from .transforms import BatchTransform


@contextmanager
def capture_activations(model: nn.Module, names: Iterable[str] | None = None) -> Iterator[dict[str, torch.Tensor]]:
    """Record the outputs of ``model``'s named stages during forward passes inside the block.

    ``names`` defaults to every stage. The hooks are removed when the block ends, even if it
    raises, so no hook is ever left behind on the model.
    """
    stages = dict(model.named_children())
    names = list(names) if names is not None else list(stages)
    unknown = [n for n in names if n not in stages]
    if unknown:
        raise ValueError(f"no stage named {', '.join(unknown)}; the stages are {', '.join(stages)}")
    captured: dict[str, torch.Tensor] = {}
    handles = []
    for name in names:

        def hook(module: nn.Module, inputs: tuple, output: torch.Tensor, name: str = name) -> None:
            captured[name] = output.detach()

        handles.append(stages[name].register_forward_hook(hook))
    try:
        yield captured
    finally:
        for handle in handles:
            handle.remove()


def count_hooks(model: nn.Module) -> int:
    """How many forward hooks are registered on ``model`` and all its submodules (0 when clean)."""
    return sum(len(module._forward_hooks) + len(module._forward_pre_hooks) for module in model.modules())


@contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    """Eval mode (no dropout) inside the block; the model's own mode afterwards."""
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


def _device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def stage_outputs(
    model: nn.Module, inputs: torch.Tensor, names: Iterable[str] | None = None
) -> dict[str, torch.Tensor]:
    """Each named stage's output for a batch of network inputs: one forward pass in eval mode."""
    with _eval_mode(model), capture_activations(model, names) as captured:
        model(inputs.to(_device(model)))
    return dict(captured)


def _input_batches(
    images: torch.Tensor, transform: BatchTransform, device: torch.device, batch_size: int
) -> Iterator[torch.Tensor]:
    """uint8 images -> normalised network inputs on ``device``, ``batch_size`` at a time."""
    for start in range(0, len(images), batch_size):
        yield transform(images[start : start + batch_size].to(device, non_blocking=True))


@torch.no_grad()
def extract_features(
    model: nn.Module,
    images: torch.Tensor,
    transform: BatchTransform,
    *,
    layer: str = "relu7",
    batch_size: int = 256,
) -> torch.Tensor:
    """One row per image: ``layer``'s output flattened (N x D float32, on the CPU).

    The default, ``relu7``, is fc7's output after its ReLU: the 4096-d "last hidden layer"
    whose Euclidean distances §6.1 (Fig. 4) uses. Eval mode, so dropout is off.
    """
    rows = []
    with _eval_mode(model), capture_activations(model, [layer]) as captured:
        for inputs in _input_batches(images, transform, _device(model), batch_size):
            model(inputs)
            rows.append(captured[layer].flatten(1).float().cpu())
    return torch.cat(rows)


@torch.no_grad()
def channel_scores(
    model: nn.Module,
    images: torch.Tensor,
    transform: BatchTransform,
    layers: Sequence[str],
    *,
    batch_size: int = 256,
) -> dict[str, torch.Tensor]:
    """How strongly each channel of each layer responds to each image: N x C per layer (max over positions).

    Sorting a column gives the images that activate that channel most (notebook 05's explorer).
    """
    scores: dict[str, list[torch.Tensor]] = {layer: [] for layer in layers}
    with _eval_mode(model), capture_activations(model, layers) as captured:
        for inputs in _input_batches(images, transform, _device(model), batch_size):
            model(inputs)
            for layer in layers:
                scores[layer].append(captured[layer].flatten(2).amax(2).float().cpu())
    return {layer: torch.cat(rows) for layer, rows in scores.items()}


@dataclass
class Neighbours:
    """The ``k`` nearest database rows of each query: Q x k indices and distances, nearest first."""

    indices: torch.Tensor
    distances: torch.Tensor


def nearest_neighbours(
    queries: torch.Tensor,
    database: torch.Tensor,
    k: int = 5,
    *,
    metric: Literal["euclidean", "cosine"] = "euclidean",
    chunk: int = 8192,
    device: torch.device | str | None = None,
) -> Neighbours:
    """Exact k-nearest-neighbour search: every query's distance to every database row, no approximate index.

    ``euclidean`` is the L2 distance the paper uses for Fig. 4; ``cosine`` is 1 - cosine
    similarity. The work is done on ``device`` (default: the queries'), the database moved
    there ``chunk`` rows at a time, so 50,000 x 4096 features fit; results come back on the
    queries' device.
    """
    home = queries.device
    queries = queries.to(device) if device is not None else queries
    if metric not in ("euclidean", "cosine"):
        raise ValueError(f"metric must be 'euclidean' or 'cosine', got {metric!r}")
    if not 1 <= k <= len(database):
        raise ValueError(f"k must be between 1 and the database size {len(database)}, got {k}")
    queries, database = queries.flatten(1).float(), database.flatten(1).float()
    if metric == "cosine":
        queries, database = F.normalize(queries, dim=1), F.normalize(database, dim=1)
    best_distances = torch.full((len(queries), 0), 0.0, device=queries.device)
    best_indices = torch.zeros((len(queries), 0), dtype=torch.long, device=queries.device)
    for start in range(0, len(database), chunk):
        rows = database[start : start + chunk].to(queries.device)
        if metric == "cosine":
            distances = 1 - queries @ rows.T
        else:  # |q - x|^2 = |q|^2 - 2 q.x + |x|^2: one matrix product instead of Q x N differences
            squared = queries.square().sum(1, keepdim=True) - 2 * queries @ rows.T + rows.square().sum(1)
            distances = squared.clamp_min(0).sqrt()
        distances = torch.cat([best_distances, distances], 1)
        indices = torch.cat(
            [best_indices, torch.arange(start, start + len(rows), device=queries.device).expand(len(queries), -1)], 1
        )
        best_distances, order = distances.topk(min(k, distances.shape[1]), dim=1, largest=False)
        best_indices = indices.gather(1, order)
    if metric == "euclidean":  # the expansion above loses digits to cancellation; the k reported are recomputed
        chosen = database[best_indices.cpu()].to(queries.device)
        best_distances, order = (chosen - queries[:, None, :]).norm(dim=2).sort(1)
        best_indices = best_indices.gather(1, order)
    return Neighbours(best_indices.to(home), best_distances.to(home))


@dataclass
class Projection:
    """A PCA: ``coords`` (N x k), the ``directions`` (D x k, unit columns), the ``mean`` (D) and
    the fraction of the total variance each direction explains."""

    coords: torch.Tensor
    directions: torch.Tensor
    mean: torch.Tensor
    explained: torch.Tensor


def pca(features: torch.Tensor, components: int = 2, *, oversample: int = 10, iterations: int = 6) -> Projection:
    """The top principal components of ``features`` (N x D), in torch: a 2-D map of fc7 space.

    Randomised SVD of the centred data (``torch.pca_lowrank``, Halko et al. 2011) with
    ``oversample`` extra directions and ``iterations`` power iterations: the top components
    agree with an exact ``torch.linalg.svd`` to float precision, 40x faster on 2000 x 4096
    features. A fixed seed makes it repeatable; each direction's sign is fixed so that its
    largest entry is positive.
    """
    features = features.float()
    rank = min(components + oversample, *features.shape)
    mean = features.mean(0)
    devices = [features.device] if features.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(0)
        _, singular, directions = torch.pca_lowrank(features, q=rank, center=True, niter=iterations)
    directions = directions[:, :components]
    signs = directions.gather(0, directions.abs().argmax(0, keepdim=True)).sign()
    directions = directions * signs
    centred = features - mean
    total = centred.square().sum()
    return Projection(centred @ directions, directions, mean, singular[:components].square() / total)


def _explain(
    model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor | None, layer: str | None
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """Forward ``inputs`` with gradients on; return d(target logit)/d(``layer``'s output, or the input)."""
    stage = dict(model.named_children())[layer] if layer else None
    saved: dict[str, torch.Tensor] = {}
    handle = stage.register_forward_hook(lambda module, args, output: saved.update(maps=output)) if stage else None
    try:
        with _eval_mode(model), torch.enable_grad():
            inputs = inputs.detach().to(_device(model)).requires_grad_(True)
            logits = model(inputs)
            targets = logits.argmax(1) if targets is None else targets.to(logits.device)
            # Each image's own target logit; summing them does not mix images (no batch statistics in eval mode).
            score = logits.gather(1, targets[:, None]).sum()
            wrt = saved["maps"] if stage else inputs
            (gradients,) = torch.autograd.grad(score, wrt)
    finally:
        if handle:
            handle.remove()
    return gradients, saved.get("maps"), inputs


def _unit_max(maps: torch.Tensor) -> torch.Tensor:
    """Scale each map (N x H x W) so that its largest value is 1; an all-zero map stays zero."""
    return maps / maps.flatten(1).amax(1).clamp_min(1e-12)[:, None, None]


def grad_cam(
    model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor | None = None, *, layer: str = "relu5"
) -> torch.Tensor:
    """Grad-CAM (Selvaraju et al., 2017): where in each image the evidence for its target class lies.

    Weights each map of ``layer`` (default: conv5 after its ReLU, the last convolutional
    maps) by the mean gradient of the target logit over the map, sums, keeps the positive
    part, and upsamples bilinearly to the input's size. ``targets`` defaults to the predicted
    class. Returns N x H x W, non-negative, each map scaled to a maximum of 1.
    """
    gradients, maps, _ = _explain(model, inputs, targets, layer)
    weights = gradients.mean((2, 3), keepdim=True)
    cam = F.relu((weights * maps).sum(1, keepdim=True)).detach().float()
    cam = F.interpolate(cam, size=inputs.shape[-2:], mode="bilinear", align_corners=False)[:, 0]
    return _unit_max(cam)


def saliency(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor | None = None) -> torch.Tensor:
    """Gradient saliency (Simonyan et al., 2013): |d target logit / d pixel|, max over colour channels.

    Returns N x H x W at the input's size, each map scaled to a maximum of 1.
    """
    gradients, _, _ = _explain(model, inputs, targets, None)
    return _unit_max(gradients.abs().amax(1).float())


def colour_selectivity(weights: torch.Tensor) -> torch.Tensor:
    """How colour-specific each filter is (F values in [0, 1]): the share of its energy that differs between channels.

    0 for a filter that is the same in every channel (colour-agnostic, grey), about 2/3 for
    random RGB noise. Notebook 05 uses it to compare the two towers' conv1 filters (Fig. 3).
    """
    weights = weights.float()
    colour_part = weights - weights.mean(1, keepdim=True)
    return colour_part.square().flatten(1).sum(1) / weights.square().flatten(1).sum(1).clamp_min(1e-12)


@torch.no_grad()
def confidence_after_masking(
    model: nn.Module, inputs: torch.Tensor, maps: torch.Tensor, targets: torch.Tensor, fraction: float = 0.25
) -> torch.Tensor:
    """Each image's target-class probability once the ``fraction`` of its pixels that ``maps`` rates highest
    are replaced by the dataset's mean colour (0 after normalisation).

    A deletion check for explanation maps (notebook 05; Samek et al. 2017, the "deletion"
    metric of RISE, Petsiuk et al. 2018): hiding the pixels a good map points at should cost
    the model more confidence than hiding as many pixels at random. Masked images lie off the
    training distribution (ROAR, Hooker et al. 2019), so compare with a random mask of the
    same shape, never read the drop alone.
    """
    flat = maps.flatten(1)
    hidden = flat.topk(max(1, round(fraction * flat.shape[1])), dim=1).indices
    keep = torch.ones_like(flat).scatter_(1, hidden, 0.0).view(len(maps), 1, *maps.shape[1:])
    device = _device(model)
    with _eval_mode(model):
        logits = model((inputs.to(device) * keep.to(device)).float())
    return logits.float().softmax(1).gather(1, targets.to(device)[:, None])[:, 0].cpu()


def random_blobs(count: int, grid: int, size: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Random maps (count x size x size, in [0, 1]) as coarse as a Grad-CAM from a ``grid`` x ``grid`` layer.

    The fair baseline for ``confidence_after_masking``: it hides one smooth region, as a
    Grad-CAM map does, rather than pixels scattered everywhere.
    """
    cells = torch.rand(count, 1, grid, grid, generator=generator)
    return F.interpolate(cells, size=(size, size), mode="bilinear", align_corners=False)[:, 0]
