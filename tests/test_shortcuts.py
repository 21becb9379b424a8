"""A points-hunting learner's shortcuts, tried on every graded exercise through the graded path
(``reload(grading).grade(id, answer)``, as each test cell calls it; issue 20, item 3).

Each shortcut must be refused with a diagnosis: the course's own function or oracle near the
answer, the library call that does the job, a no-op, and a check, oracle or library function
replaced by a solution cell. The typical mistakes of each exercise are in tests/test_checks_NN.py.
"""

import importlib
import math
import types

import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn
from torchvision.ops import Conv2dNormActivation
from torchvision.transforms.v2 import functional as TF

import alexnet_lib.lessons.grading as grading
from alexnet_lib import alexnet
from alexnet_lib.claims_report import verdict
from alexnet_lib.evaluate import evaluate
from alexnet_lib.features import capture_activations, grad_cam, nearest_neighbours
from alexnet_lib.inference import ranked
from alexnet_lib.lessons import architecture, checking
from alexnet_lib.lessons.after_alexnet_checks import conv_bn_block, gap_savings
from alexnet_lib.lessons.architecture import PAPER_LRN, lrn_formula
from alexnet_lib.lessons.claims import paired_rule, seeds_needed
from alexnet_lib.lessons.inference_checks import _top_k_of
from alexnet_lib.lessons.train_fashion_mnist import reference_train_step
from alexnet_lib.model import count_parameters
from alexnet_lib.train import Trainer
from alexnet_lib.transforms import pca_noise, ten_crop_views

from .conftest import backward_by

COURSE = "the course's own code"
LIBRARY = "a library function that does the whole job"


def _ten_crop_by_library(model, images, side):
    views = TF.ten_crop(images, side)
    return torch.stack([model(view).softmax(1) for view in views]).mean(0)


def _autograd_through(forward):
    def gradient(a, grad_b):
        with torch.enable_grad():
            x = a.detach().requires_grad_()
            b = forward(x)
        return torch.autograd.grad(b, x, grad_b)[0]

    return gradient


SHORTCUTS = {
    "01.1": [
        (lambda a: lrn_formula(a, **PAPER_LRN).float(), "lrn_formula, " + COURSE),
        (lambda a: F.local_response_norm(a, 5, alpha=5e-4, beta=0.75, k=2.0), "local_response_norm, " + LIBRARY),
        (lambda a: nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0)(a), "LocalResponseNorm.__init__, " + LIBRARY),
        (lambda a: a.clone(), "differs from §3.3's formula"),
    ],
    "01.3": [
        (backward_by(_autograd_through(lambda a: lrn_formula(a, **PAPER_LRN))), "enable_grad"),
        (backward_by(lambda a, g: torch.func.vjp(lambda x: x.exp(), a)[1](g)[0]), LIBRARY),
        (backward_by(lambda a, g: torch.autograd.functional.vjp(F.local_response_norm, (a, 5))), LIBRARY),
        (backward_by(lambda a, g: g.clone()), "gradcheck disagrees"),
    ],
    "01.2": [
        (lambda: alexnet("paper"), "alexnet, " + COURSE),
        (lambda: torchvision.models.alexnet(), LIBRARY),
        (lambda: nn.Sequential(), "Not yet: "),
    ],
    "02.1": [
        (lambda images, side, generator: TF.crop(images, 0, 0, side, side), LIBRARY),
        (lambda images, side, generator: images[..., :side, :side].clone(), "Not yet: "),
    ],
    "02.2": [
        (lambda images, values, vectors, generator: images + pca_noise(None, 1, 0.1, generator, "cpu"), COURSE),
        (lambda images, values, vectors, generator: images.clone(), "Not yet: "),
    ],
    "03.1": [
        (reference_train_step, "reference_train_step, " + COURSE),
        (lambda model, optimizer, images, labels: 2.3, "Not yet: "),
    ],
    "03.2": [
        (lambda model, data, transform, batch_size: evaluate(model, data, transform).top1, "evaluate, " + COURSE),
        (lambda model, data, transform, batch_size: 0.5, "Not yet: "),
    ],
    "03.3": [
        (lambda model, optimizer, images, labels: (2.3, math.log(10), 0.0), "Not yet: "),
        (
            lambda model, optimizer, images, labels: (
                2.3,
                math.log(10),
                [reference_train_step(model, optimizer, images, labels) for _ in range(300)][-1],
            ),
            "reference_train_step, " + COURSE,
        ),
    ],
    "03.4": [
        (lambda model, optimizer, train, val, tt, vt, epochs, batch: 0.9, "Not yet: "),
        (
            lambda model, optimizer, train, val, tt, vt, epochs, batch: evaluate(model, val, vt).top1,
            "evaluate, " + COURSE,
        ),
        (
            lambda model, optimizer, train, val, tt, vt, epochs, batch: reference_train_step(
                model, optimizer, tt(train.images[:64]), train.labels[:64]
            ),
            "reference_train_step, " + COURSE,
        ),
        (
            lambda model, optimizer, train, val, tt, vt, epochs, batch: Trainer(None).fit(),
            "Trainer.__init__, " + COURSE,
        ),
    ],
    "04.1": [
        (lambda model, images, side: _ten_crop_by_library(model, images, side), "ten_crop, " + LIBRARY),
        (lambda model, images, side: ten_crop_views(len(images), 9, 9, 0.8, "cpu"), "ten_crop_views, " + COURSE),
        (lambda model, images, side: model(images).softmax(1), "Not yet: "),
    ],
    "05.1": [
        (lambda model, layer, images: next(iter(capture_activations(model).__enter__().values())), COURSE),
        (lambda model, layer, images: model(images), "Not yet: "),
    ],
    "05.2": [
        (lambda model, images, targets: grad_cam(model, images, targets), "grad_cam, " + COURSE),
        (lambda model, images, targets: torch.zeros(len(images), 6, 6), "Not yet: "),
    ],
    "05.3": [
        (lambda q, d, k: nearest_neighbours(q, d, k).indices, "nearest_neighbours, " + COURSE),
        (lambda q, d, k: torch.arange(k).repeat(len(q), 1), "Not yet: "),
    ],
    "06.1": [
        (lambda logits, classes, k: [ranked(row, classes, k) for row in logits.softmax(1)], "ranked, " + COURSE),
        (lambda logits, classes, k: _top_k_of(logits, classes, k), COURSE),
        (lambda logits, classes, k: [[] for _ in logits], "Not yet: "),
    ],
    "06.2": [
        (lambda rgba: rgba[..., :3].clone(), "Not yet: "),
    ],
    "06.3": [
        (lambda height, width, side: [(0, 0)] * 5, "Not yet: "),
        (lambda height, width, side: ten_crop_views(1, height, width, side / min(height, width), "cpu"), COURSE),
    ],
    "06.4": [
        (lambda probs, labels, threshold: 1.0, "Not yet: "),
    ],
    "07.1": [
        (seeds_needed, "seeds_needed, " + COURSE),
        (lambda differences: 2, "Not yet: "),
        (lambda differences: len(differences), "Not yet: "),
    ],
    "07.2": [
        (lambda baseline, claimed: verdict(baseline, claimed)["verdict"], "verdict, " + COURSE),
        (lambda baseline, claimed: paired_rule(baseline, claimed), "paired_rule, " + COURSE),
        (lambda baseline, claimed: "not separable at this scale", "Not yet: "),
    ],
    "07.3": [
        (lambda: {"precision": "fp32"}, "how the run goes"),
        (lambda: {"momentum": 0.5}, "never reads momentum"),  # the quick config trains with Adam
        (lambda: {"plateau_patience": 7}, "never reads plateau_patience"),  # ... and OneCycle
        (lambda: {"in_channels": 3}, "bitwise those of the baseline"),  # CIFAR-10 has 3 channels already
    ],
    "08.1": [
        (conv_bn_block, "conv_bn_block, " + COURSE),
        (lambda i, o, k, s, p: alexnet("paper", norm="batch").conv1, "alexnet, " + COURSE),
        (lambda i, o, k, s, p: Conv2dNormActivation(i, o, k, s, p, bias=False), LIBRARY),
        (lambda i, o, k, s, p: nn.Sequential(), "Not yet: "),
    ],
    "08.2": [
        (gap_savings, "gap_savings, " + COURSE),
        (lambda n: (count_parameters(alexnet(num_classes=n, head="gap").fc8), 0.93), "alexnet, " + COURSE),
        (lambda n: (sum(p.numel() for p in torchvision.models.alexnet(num_classes=n).parameters()), 0.9), "count"),
        (lambda n: (0, 0.0), "Not yet: "),
    ],
}
CASES = [(exercise, answer, said) for exercise, shortcuts in SHORTCUTS.items() for answer, said in shortcuts]


@pytest.fixture(autouse=True)
def strict(monkeypatch):
    """As nbgrader grades: a failed check raises."""
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")


def graded(exercise, answer):
    """What the test cell does; the diagnosis it fails with ("" when it passes)."""
    try:
        importlib.reload(grading).grade(exercise, answer)
    except AssertionError as failure:
        return str(failure)
    return ""


@pytest.mark.parametrize(("exercise", "answer", "said"), CASES, ids=[f"{e}-{i}" for i, (e, _, _) in enumerate(CASES)])
def test_every_shortcut_is_refused_with_a_diagnosis(exercise, answer, said):
    line = graded(exercise, answer)
    assert line.startswith("Not yet: ") and said in line, line


def stub(*args):
    raise NotImplementedError()


def test_a_solution_cell_that_replaces_the_check_its_helpers_or_oracle_still_scores_nothing(monkeypatch, capsys):
    def fake_check(*args, **kwargs):
        print("Correct! (a replacement)")
        return True

    monkeypatch.setattr(architecture, "check_lrn", fake_check)  # the module's attribute, not only a name
    monkeypatch.setattr(checking, "learner_result", lambda *args, **kwargs: torch.zeros(1))
    monkeypatch.setattr(checking, "not_yet", lambda *args, **kwargs: None)
    monkeypatch.setattr(architecture, "lrn_formula", lambda a, **kwargs: torch.zeros_like(a, dtype=torch.float64))
    monkeypatch.setattr(grading, "grade", lambda *args, **kwargs: print("Correct!"))
    monkeypatch.setitem(grading.CHECKS, "01.1", ("architecture", "check_my_alexnet"))
    assert graded("01.1", lambda a: torch.zeros_like(a)).startswith("Not yet: ")
    assert graded("01.1", stub).startswith("Not done yet: ")


def test_a_replaced_library_function_is_named_and_nothing_is_graded(monkeypatch):
    monkeypatch.setattr(torch, "allclose", lambda *args, **kwargs: True)
    assert "a cell replaced torch.allclose" in graded("01.1", lambda a: a.clone())
    monkeypatch.undo()
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    monkeypatch.setattr(torch.Tensor, "__eq__", lambda self, other: True)
    assert "torch.Tensor.__eq__" in graded("01.1", lambda a: a.clone())


def test_outside_nbgrader_a_failure_prints_its_line_and_the_next_cell_knows(monkeypatch, capsys):
    monkeypatch.delenv("NBGRADER_EXECUTION")
    monkeypatch.delenv("ALEXNET_CHECKS", raising=False)
    assert importlib.reload(grading).grade("01.1", stub) is None  # no exception: Run All goes on
    assert capsys.readouterr().out.startswith("Not done yet: write my_lrn")
    assert grading.passed("01.1") is False
    importlib.reload(grading).grade("06.4", lambda probs, labels, threshold: types.SimpleNamespace())
    assert grading.passed("06.4") is False
