"""Lesson 05's exercise checks: right answers pass, wrong ones get a hint, stubs are "not done yet", as NotYet."""

import torch

from alexnet_lib import alexnet
from alexnet_lib.features import capture_activations, conv1_edge_responses, edge_image
from alexnet_lib.lessons.filters_and_features import check_conv3_hook, check_nearest, check_vertical_edge_filter

from .conftest import fails


def test_vertical_edge_filter(capsys):
    torch.manual_seed(0)
    model = alexnet("paper", num_classes=10, in_channels=1).eval()
    edge = edge_image(67, channels=1)
    responses = conv1_edge_responses(model, edge)
    best, worst = int(responses.argmax()), int(responses.argmin())
    assert check_vertical_edge_filter(best, model, edge)
    assert check_vertical_edge_filter(torch.tensor(best), model, edge)
    assert fails(check_vertical_edge_filter, worst, model, edge)
    assert fails(check_vertical_edge_filter, 500, model, edge)
    assert fails(check_vertical_edge_filter, ..., model, edge)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0].split("!")[0] for line in lines] == [
        "Correct",
        "Correct",
        "Not yet",
        "Not yet",
        "Not done yet",
    ]


def _right_hook(model, images):
    saved = {}
    handle = model.conv3.register_forward_hook(lambda module, args, output: saved.update(conv3=output))
    try:
        with torch.no_grad():
            model(images)
    finally:
        handle.remove()
    return saved["conv3"]


def _hook_left_on_failure(model, images):
    saved = {}
    handle = model.conv3.register_forward_hook(lambda module, args, output: saved.update(conv3=output))
    with torch.no_grad():
        model(images)
    handle.remove()
    return saved["conv3"]


def _hook_never_removed(model, images):
    saved = {}
    model.conv3.register_forward_hook(lambda module, args, output: saved.update(conv3=output))
    with torch.no_grad():
        model(images)
    return saved["conv3"]


def _relu3(model, images):
    with torch.no_grad(), capture_activations(model, ["relu3"]) as captured:
        model(images)
    return captured["relu3"]


def _library(model, images):
    with torch.no_grad(), capture_activations(model, ["conv3"]) as captured:
        model(images)
    return captured["conv3"]


def _stub(model, images): ...


def _raises(model, images):
    raise KeyError("conv3")


def test_conv3_hook(capsys):
    assert check_conv3_hook(_right_hook)
    assert check_conv3_hook(_library)
    assert fails(check_conv3_hook, _hook_left_on_failure)
    assert "finally" in capsys.readouterr().out
    assert fails(check_conv3_hook, _hook_never_removed)
    assert ".remove()" in capsys.readouterr().out
    assert fails(check_conv3_hook, _relu3)
    assert "relu3" in capsys.readouterr().out
    assert fails(check_conv3_hook, _raises)
    assert "KeyError" in capsys.readouterr().out
    assert fails(check_conv3_hook, _stub)
    assert capsys.readouterr().out.startswith("Not done yet")


def test_nearest(capsys):
    def right(queries, database, k):
        return torch.cdist(queries, database).topk(k, largest=False).indices

    def farthest(queries, database, k):
        return torch.cdist(queries, database).topk(k).indices

    def unordered(queries, database, k):
        return right(queries, database, k).flip(1)

    assert check_nearest(right)
    assert fails(check_nearest, farthest)
    assert "farthest" in capsys.readouterr().out
    assert fails(check_nearest, unordered)
    assert "order" in capsys.readouterr().out
    assert fails(check_nearest, lambda q, d, k: q.sum())
    assert fails(check_nearest, lambda q, d, k: ...)
    assert capsys.readouterr().out.splitlines()[-1].startswith("Not done yet")
