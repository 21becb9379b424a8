"""Lesson 05's exercise checks: the teacher's solutions pass on every seed, untouched stubs are "not done yet",
typical mistakes get their diagnosis, the course's own code is refused, and the hints give no code."""

import pytest
import torch

from alexnet_lib.features import capture_activations, count_hooks, grad_cam, nearest_neighbours
from alexnet_lib.lessons.filters_and_features_checks import (
    HINTS,
    check_capture,
    check_grad_cam,
    check_nearest,
    small_alexnet,
)

from .notebook_exercises import graded_cells_say_correct, outcome, stub

# 05.1 -------------------------------------------------------------------------------------


def capture(model, layer, images):  # the teacher's solution, as in the notebook
    kept = {}
    handle = layer.register_forward_hook(lambda module, inputs, output: kept.update(output=output))
    try:
        with torch.no_grad():
            model(images)
    finally:
        handle.remove()
    return kept["output"]


def removed_only_on_success(model, layer, images):
    kept = {}
    handle = layer.register_forward_hook(lambda module, inputs, output: kept.update(output=output))
    model(images)
    handle.remove()
    return kept["output"]


def never_removed(model, layer, images):
    kept = {}
    layer.register_forward_hook(lambda module, inputs, output: kept.update(output=output))
    model(images)
    return kept["output"]


def pre_hook(model, layer, images):
    kept = {}
    handle = layer.register_forward_pre_hook(lambda module, inputs: kept.update(output=inputs[0]))
    try:
        model(images)
    finally:
        handle.remove()
    return kept["output"]


def model_hook(model, layer, images):
    kept = {}
    handle = model.register_forward_hook(lambda module, inputs, output: kept.update(output=output))
    try:
        model(images)
    finally:
        handle.remove()
    return kept["output"]


def library_capture(model, layer, images):
    name = next(name for name, stage in model.named_children() if stage is layer)
    with capture_activations(model, [name]) as kept:
        model(images)
    return kept[name]


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5, 7])
def test_capture_solution_passes_every_seed(seed):
    assert outcome(check_capture, capture, seed).startswith("Correct!")


@pytest.mark.parametrize(
    ("answer", "diagnosis"),
    [
        (stub, "Not done yet"),
        (lambda model, layer, images: None, "Not done yet"),
        (removed_only_on_success, "when the forward pass raises"),
        (never_removed, "a hook stays on the model"),
        (pre_hook, "what goes into the layer"),
        (model_hook, "the model's logits"),
        (library_capture, "capture_activations, the course's own code"),
        (lambda model, layer, images: {}["output"], "capture raised KeyError"),
    ],
)
def test_capture_diagnoses(answer, diagnosis):
    message = outcome(check_capture, answer)
    assert message.startswith("Not") and diagnosis in message, message
    assert "\n" not in message


def test_capture_input_is_told_apart_when_shapes_agree():
    # fc7 maps 32 to 32 values: its input and output have one shape, so only the values tell them apart.
    assert "what goes into the layer" in outcome(check_capture, pre_hook, seed=5)


def test_capture_refusal_leaves_the_library_working():
    outcome(check_capture, library_capture)
    model = small_alexnet()
    with capture_activations(model, ["conv3"]) as kept:
        model(torch.randn(1, 3, 48, 48))
    assert kept["conv3"].shape[1] == 24 and count_hooks(model) == 0


# 05.2 -------------------------------------------------------------------------------------


def cam(layer="relu5", score="target", pixelwise=False, positive=True):
    """Grad-CAM's coarse maps; the defaults are the teacher's solution, the options typical mistakes."""

    def my_grad_cam(model, images, targets):
        kept = {}
        handle = getattr(model, layer).register_forward_hook(lambda m, inputs, output: kept.update(maps=output))
        try:
            logits = model(images)
        finally:
            handle.remove()
        chosen = logits.argmax(1) if score == "argmax" else targets
        values = logits.softmax(1) if score == "softmax" else logits
        total = logits.sum() if score == "all" else values.gather(1, chosen[:, None]).sum()
        (gradients,) = torch.autograd.grad(total, kept["maps"])
        weights = gradients if pixelwise else gradients.mean((2, 3), keepdim=True)
        maps = (weights * kept["maps"]).sum(1)
        return torch.relu(maps) if positive else maps

    return my_grad_cam


def enlarged_cam(model, images, targets):
    maps = cam()(model, images, targets)[:, None]
    return torch.nn.functional.interpolate(maps, size=images.shape[-2:], mode="bilinear")[:, 0]


def no_grad_cam(model, images, targets):
    with torch.no_grad():
        return cam()(model, images, targets)


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5, 7])
def test_grad_cam_solution_passes_every_seed(seed):
    assert outcome(check_grad_cam, cam(), seed).startswith("Correct!")


def test_grad_cam_accepts_any_positive_scale_and_a_channel_dimension():
    assert outcome(check_grad_cam, lambda m, x, t: 7 * cam()(m, x, t)).startswith("Correct!")
    assert outcome(check_grad_cam, lambda m, x, t: cam()(m, x, t)[:, None]).startswith("Correct!")


@pytest.mark.parametrize(
    ("answer", "diagnosis"),
    [
        (stub, "Not done yet"),
        (cam(positive=False), "only the positive part"),
        (cam(layer="conv5"), "before its ReLU"),
        (cam(pixelwise=True), "averaged over the map"),
        (cam(score="argmax"), "the target class you are given"),
        (cam(score="softmax"), "before the softmax"),
        (cam(score="all"), "all logits"),
        (enlarged_cam, "at relu5's size"),
        (no_grad_cam, "my_grad_cam raised RuntimeError"),
        (lambda model, images, targets: grad_cam(model, images, targets), "grad_cam, the course's own code"),
        (lambda model, images, targets: torch.rand_like(cam()(model, images, targets)), "differ from Grad-CAM's"),
    ],
)
def test_grad_cam_diagnoses(answer, diagnosis):
    message = outcome(check_grad_cam, answer)
    assert message.startswith("Not") and diagnosis in message, message


def test_grad_cam_check_leaves_no_hook_and_restores_the_library():
    outcome(check_grad_cam, lambda model, images, targets: grad_cam(model, images, targets))
    model = small_alexnet()
    maps = grad_cam(model, torch.randn(2, 3, 48, 48))
    assert maps.shape == (2, 48, 48) and count_hooks(model) == 0


# 05.3 -------------------------------------------------------------------------------------


def nearest(queries, database, k):  # the teacher's solution
    return torch.cdist(queries, database).topk(k, dim=1, largest=False).indices


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 7])
def test_nearest_solution_passes_every_seed(seed):
    assert outcome(check_nearest, nearest, seed).startswith("Correct!")


@pytest.mark.parametrize(
    ("answer", "diagnosis"),
    [
        (stub, "Not done yet"),
        (lambda q, d, k: torch.cdist(q, d).topk(k, dim=1).indices, "farthest"),
        (lambda q, d, k: nearest(q, d, k).flip(1), "wrong order"),
        (lambda q, d, k: q.sum(), "tensor of indices"),
        (lambda q, d, k: nearest(q, d, k) + 1, "not the k nearest"),
        (lambda q, d, k: nearest_neighbours(q, d, k).indices, "nearest_neighbours, the course's own code"),
    ],
)
def test_nearest_diagnoses(answer, diagnosis):
    message = outcome(check_nearest, answer)
    assert message.startswith("Not") and diagnosis in message, message


# Hints ------------------------------------------------------------------------------------


def test_every_failure_points_to_its_hint():
    assert outcome(check_grad_cam, cam(positive=False)).endswith("(hint('05.2') for a hint)")
    assert outcome(check_capture, never_removed).endswith("(hint('05.1') for a hint)")


# The notebook ------------------------------------------------------------------------------


def test_the_notebooks_solutions_pass_its_tests_hidden_ones_included():
    checks = {name: value for name, value in globals().items() if name.startswith("check_")}
    graded_cells_say_correct("05_filters_and_features", {"torch": torch, **checks}, exercises=len(HINTS))


def test_a_tensor_of_another_dtype_is_a_diagnosis_not_a_traceback():
    message = outcome(check_capture, lambda model, layer, images: capture(model, layer, images).long())
    assert message.startswith("Not yet: the shape is right but the values"), message
