"""Notebook 05's exercises: a forward hook that always removes itself, Grad-CAM from the gradients, and
Fig. 4's nearest-neighbour search, each checked against an oracle on a small model and inputs drawn here.

The answers are never stored: the hook is checked against the layer's output computed stage by
stage, Grad-CAM against the library's ``grad_cam``, the search against ``nearest_neighbours``;
the learner's code may not call those (``refusing``). A ``seed`` draws other inputs
for nbgrader's hidden tests.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Callable
from contextlib import suppress

import torch
import torch.nn.functional as F
from torch import nn

from ..features import (
    count_hooks,
    grad_cam,
    nearest_neighbours,
)
from .checking import correct, exercise_rules, learner_result, not_yet, register_hints

HINTS = {
    "05.1": (
        "A forward hook is a function PyTorch calls after the layer's forward pass, with the layer, its inputs and "
        "its output. Keep the output somewhere your function can still read once the forward pass is over.",
        "Reread section 2 of this lesson (forward hooks) and PyTorch's documentation of "
        "nn.Module.register_forward_hook: what it returns is the only way to take the hook off again.",
        "The shape of the answer: register the hook and keep what registering returns; run the model on the images "
        "inside a try block; take the hook off in the finally block; then return the output the hook kept.",
    ),
    "05.2": (
        "Grad-CAM needs two things from one forward and one backward pass: relu5's maps for these images, and the "
        "gradient of each image's target logit with respect to those maps.",
        "Reread section 6 of this lesson, and Selvaraju et al. (2017), Grad-CAM, §3, equations 1 and 2: a channel's "
        "weight is its gradient averaged over the positions of its map.",
        "The shape of the answer: a hook on model.relu5 keeps its output (N x C x h x w); the sum over images of "
        "each one's target logit is the score; its gradient with respect to the kept maps is N x C x h x w; "
        "averaged over h and w it is N x C x 1 x 1; weight the maps with it, sum over C, keep the positive part.",
    ),
    "05.3": (
        "Nearest in Euclidean distance: the distance from every query to every database row, then the k smallest "
        "for each query.",
        "Reread section 4 of this lesson and §6.1 of the paper (Fig. 4): two images are similar when their feature "
        "vectors are close; here each row is one vector.",
        "The shape of the answer: a Q x N matrix of distances (PyTorch computes pairwise distances in one call); "
        "for each row, the positions of its k smallest values, smallest first: a Q x k tensor of indices.",
    ),
}
register_hints(HINTS)


def small_alexnet(seed: int = 0, classes: int = 7, width: int = 8) -> nn.Sequential:
    """A narrow AlexNet with the paper's stage names (conv1 ... relu5, pool5, fc6 ... fc8), fast enough for a check.

    Any square input of 35 pixels or more goes through it; relu5's maps are about a tenth of the input's side.
    """
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        c = [width, 2 * width, 3 * width, 3 * width, 2 * width]
        stages = OrderedDict(
            [
                ("conv1", nn.Conv2d(3, c[0], 5, stride=2)),
                ("relu1", nn.ReLU()),
                ("pool1", nn.MaxPool2d(3, stride=2)),
                ("conv2", nn.Conv2d(c[0], c[1], 3, padding=1)),
                ("relu2", nn.ReLU()),
                ("pool2", nn.MaxPool2d(3, stride=2)),
                ("conv3", nn.Conv2d(c[1], c[2], 3, padding=1)),
                ("relu3", nn.ReLU()),
                ("conv4", nn.Conv2d(c[2], c[3], 3, padding=1)),
                ("relu4", nn.ReLU()),
                ("conv5", nn.Conv2d(c[3], c[4], 3, padding=1)),
                ("relu5", nn.ReLU()),
                ("pool5", nn.AdaptiveMaxPool2d(2)),
                ("flatten", nn.Flatten()),
                ("fc6", nn.Linear(4 * c[4], 32)),
                ("relu6", nn.ReLU()),
                ("fc7", nn.Linear(32, 32)),
                ("relu7", nn.ReLU()),
                ("fc8", nn.Linear(32, classes)),
            ]
        )
        return nn.Sequential(stages).eval()


def _images(seed: int, count: int = 4) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    size = int(torch.randint(40, 64, (1,), generator=generator))
    return torch.randn(count, 3, size, size, generator=generator)


class _FailsHere(nn.Module):
    """A stage that raises: to see whether a hook survives a failed forward pass."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("this stage fails on purpose")


def _same(mine: torch.Tensor, expected: torch.Tensor, atol: float = 1e-5) -> bool:
    return mine.shape == expected.shape and torch.allclose(mine.float(), expected.float(), atol=atol)


def _stage_by_stage(model: nn.Sequential, images: torch.Tensor, name: str) -> dict[str, torch.Tensor]:
    """The input, the output of stage ``name`` and the logits, by running the stages one after another."""
    found, x = {}, images
    with torch.no_grad():
        for stage, module in model.named_children():
            if stage == name:
                found["input"] = x.clone()
            x = module(x)
            if stage == name:
                found["output"] = x.clone()
    return {**found, "logits": x}


def check_capture(capture: Callable[[nn.Module, nn.Module, torch.Tensor], torch.Tensor], seed: int = 0) -> bool:
    """Exercise 05.1: ``capture(model, layer, images)``: ``layer``'s output; no hook left, even on failure."""
    model, images = small_alexnet(seed), _images(seed)
    name = ["conv2", "conv3", "conv4", "conv5", "fc6", "fc7"][seed % 6]
    layer = getattr(model, name)
    with exercise_rules(why="register your own hook"):
        mine = learner_result(
            "capture",
            capture,
            model,
            layer,
            images,
            todo="write capture so that it returns the layer's output.",
            hint="05.1",
        )
    if count_hooks(model):
        not_yet(
            "a hook stays on the model after your function returns: keep what registering it returns, and remove it",
            "05.1",
        )
    expected = _stage_by_stage(model, images, name)
    if not isinstance(mine, torch.Tensor):
        not_yet(f"return the tensor your hook kept, not a {type(mine).__name__}", "05.1")
    mine = mine.detach()
    wrong = {
        "input": "that is what goes into the layer: keep the hook's output",
        "logits": "those are the model's logits: keep the output of the layer you are given",
    }
    for what, diagnosis in wrong.items():
        if _same(mine, expected[what]) and not _same(mine, expected["output"]):
            not_yet(diagnosis, "05.1")
    if mine.shape != expected["output"].shape:
        not_yet(f"{name}'s output has shape {tuple(expected['output'].shape)}; yours has {tuple(mine.shape)}", "05.1")
    if not _same(mine, expected["output"]):
        not_yet(f"the shape is right but the values are not {name}'s output", "05.1")
    failing = copy.deepcopy(model)
    failing.fc8 = _FailsHere()  # the forward pass now fails after the hook has run
    with suppress(Exception):  # the failure is the point; the learner's function may pass it on
        capture(failing, getattr(failing, name), images)
    if count_hooks(failing):
        not_yet("when the forward pass raises, your hook stays on the model: take it off where it runs anyway", "05.1")
    return correct(f"your hook captures {name}'s output and is gone afterwards, even when the forward pass fails.")


def _cam_variant(
    model: nn.Sequential,
    images: torch.Tensor,
    targets: torch.Tensor,
    *,
    layer: str = "relu5",
    score: str = "target",
    pixelwise: bool = False,
) -> torch.Tensor:
    """A coarse class-activation map, right (the defaults) or with one of the mistakes learners make."""
    kept: dict[str, torch.Tensor] = {}
    handle = getattr(model, layer).register_forward_hook(lambda module, args, output: kept.update(maps=output))
    try:
        with torch.enable_grad():
            logits = model(images)
    finally:
        handle.remove()
    chosen = logits.argmax(1) if score == "argmax" else targets
    outputs = {"all": logits.sum(), "softmax": logits.softmax(1).gather(1, targets[:, None]).sum()}
    total = outputs.get(score, logits.gather(1, chosen[:, None]).sum())
    (gradients,) = torch.autograd.grad(total, kept["maps"])
    weights = gradients if pixelwise else gradients.mean((2, 3), keepdim=True)
    return F.relu((weights * kept["maps"]).sum(1)).detach()


def _enlarged(coarse: torch.Tensor, size: int) -> torch.Tensor:
    """Coarse maps (N x h x w) as ``grad_cam`` returns them: enlarged bilinearly to ``size``, each to a maximum of 1."""
    maps = F.interpolate(coarse[:, None].float(), size=(size, size), mode="bilinear", align_corners=False)[:, 0]
    return maps / maps.flatten(1).amax(1).clamp_min(1e-12)[:, None, None]


_CAM_MISTAKES = {
    "the maps of conv5, before its ReLU: Grad-CAM weights relu5's maps": {"layer": "conv5"},
    "each position weighted by its own gradient: a channel's weight is its gradient averaged over the map": {
        "pixelwise": True
    },
    "the map of the predicted class: explain the target class you are given": {"score": "argmax"},
    "the gradient of the probability: Grad-CAM takes the gradient of the logit, before the softmax": {
        "score": "softmax"
    },
    "the gradient of all logits together: take each image's target logit only": {"score": "all"},
}


def check_grad_cam(my_grad_cam: Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor], seed: int = 0) -> bool:
    """Exercise 05.2: ``my_grad_cam(model, images, targets)``: N x h x w Grad-CAM maps at relu5's size."""
    model, images = small_alexnet(seed), _images(seed)
    generator = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        predicted = model(images).argmax(1)
    targets = torch.randint(0, model.fc8.out_features, (len(images),), generator=generator)
    targets[0] = (predicted[0] + 1) % model.fc8.out_features  # at least one target is not the prediction
    with exercise_rules(why="compute the maps and their gradients yourself"):
        mine = learner_result(
            "my_grad_cam",
            my_grad_cam,
            model,
            images.clone(),
            targets.clone(),
            todo="write my_grad_cam so that it returns the maps.",
            hint="05.2",
        )
    if count_hooks(model):
        not_yet("a hook stays on the model after your function returns: remove it, in a finally block", "05.2")
    coarse = _cam_variant(model, images, targets)
    if not isinstance(mine, torch.Tensor):
        not_yet(f"return a tensor of maps, not a {type(mine).__name__}", "05.2")
    mine = mine.detach().float()
    if mine.ndim == 4 and mine.shape[1] == 1:
        mine = mine[:, 0]
    if mine.shape != coarse.shape:
        not_yet(
            f"return one map per image at relu5's size, {tuple(coarse.shape)}; yours is {tuple(mine.shape)}", "05.2"
        )
    if (mine < 0).any():
        not_yet("your maps have negative values: Grad-CAM keeps only the positive part of the weighted sum", "05.2")
    size = images.shape[-1]
    if torch.allclose(_enlarged(mine, size), grad_cam(model, images, targets), atol=1e-4):
        return correct("your maps, enlarged and scaled, are the library's grad_cam on a model and images drawn here.")
    for diagnosis, mistake in _CAM_MISTAKES.items():
        if torch.allclose(
            _enlarged(mine, size), _enlarged(_cam_variant(model, images, targets, **mistake), size), atol=1e-4
        ):
            not_yet(f"that is {diagnosis}", "05.2")
    not_yet(
        "the maps differ from Grad-CAM's: weight each relu5 map by its average gradient, sum, keep the positive part",
        "05.2",
    )


def check_nearest(my_nearest: Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor], seed: int = 0) -> bool:
    """Exercise 05.3: ``my_nearest(queries, database, k)``: Q x k indices of the nearest rows by Euclidean distance."""
    generator = torch.Generator().manual_seed(seed)
    database = torch.randn(300, 32, generator=generator)
    queries = torch.randn(6, 32, generator=generator)
    k = 3 + seed % 4
    with exercise_rules(why="compute the distances yourself"):
        mine = learner_result(
            "my_nearest",
            my_nearest,
            queries,
            database,
            k,
            todo="write my_nearest so that it returns the indices of the k nearest rows.",
            hint="05.3",
        )
    if not isinstance(mine, torch.Tensor) or mine.shape != (6, k):
        shape = tuple(mine.shape) if isinstance(mine, torch.Tensor) else type(mine).__name__
        not_yet(f"return a (queries x k) tensor of indices, here (6, {k}); yours is {shape}", "05.3")
    expected = nearest_neighbours(queries, database, k).indices
    farthest = torch.cdist(queries, database).topk(k, dim=1).indices
    if torch.equal(mine.long(), expected):
        return correct("exact nearest neighbours, nearest first.")
    if torch.equal(mine.long(), farthest):
        not_yet("those are the farthest rows: keep the smallest distances", "05.3")
    if torch.equal(mine.long().sort(1).values, expected.sort(1).values):
        not_yet("the right rows, in the wrong order: put the nearest first", "05.3")
    not_yet("those are not the k nearest rows: compare every query with every row by Euclidean distance", "05.3")
