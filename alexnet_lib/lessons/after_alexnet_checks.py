"""Notebook 08's exercise checks: the batch-norm block (08.1) and what the GAP head saves (08.2).

The oracles are the course's own: the conv stage that ``alexnet(norm="batch")`` builds
(``conv_bn_block``, through ``model.Options``) and the parameter counts of ``alexnet(head="fc")`` and
``alexnet(head="gap")`` for class counts the check draws (``seed``). No expected value is stored.
Exercise 08.3 (predict which replacement helps most at this scale, then explain) is a written answer,
graded by no check.
"""

from __future__ import annotations

import math
import random
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from ..model import Options, alexnet, count_parameters
from .checking import correct, exercise_rules, learner_result, not_yet, register_hints

HINTS = {
    "08.1": (
        "Three layers in a row, the convolution first; the normalisation sits between the convolution and the "
        "non-linearity, and the convolution loses something batch norm makes useless.",
        "Reread section 2 and Ioffe & Szegedy's §3.2: batch norm is added immediately before the nonlinearity, "
        "and it subtracts the batch mean, which cancels any constant a bias would add; its learned shift beta "
        "does that job instead.",
        "Shape of the answer: an nn.Sequential of nn.Conv2d (with the given sizes, stride and padding, and no "
        "bias), nn.BatchNorm2d over the output channels with its defaults, then nn.ReLU.",
    ),
    "08.2": (
        "Count what the head keeps and what the paper net had; the convolutions are the same in both nets.",
        "Reread notebook 01 for the paper net's layer shapes (one tower: pool5 is 256 maps of 6 by 6, fc6 and fc7 "
        "have 4096 units) and section 2 for the GAP head: each of pool5's maps averaged to one number, then one "
        "linear layer to the classes. Every linear layer has a bias per output.",
        "Shape of the answer: the head's count is its weights (inputs times classes) plus its biases; the share "
        "is the parameters of fc6, fc7 and fc8 minus the head's, divided by the paper net's total for the same "
        "number of classes (convolutions included); give back both as a pair.",
    ),
}
register_hints(HINTS)


# 08.1 -------------------------------------------------------------------------------------------


def conv_bn_block(
    in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0
) -> nn.Module:
    """The course's conv stage with batch norm: what ``alexnet(norm="batch")`` builds for each conv
    (``model._normalised``): a conv without bias (``Options.conv``), ``BatchNorm2d``, then the ReLU."""
    options = Options(norm="batch")
    conv = options.conv(in_channels, out_channels, kernel_size, stride=stride, padding=padding)
    return nn.Sequential(OrderedDict(conv=conv, bn=nn.BatchNorm2d(out_channels), relu=options.act()))


def block_cases(seed: int) -> list[tuple[int, int, int, int, int]]:
    """(in_channels, out_channels, kernel_size, stride, padding): the paper's conv1 and conv3 shapes, shrunk,
    then random ones."""
    rng = random.Random(seed)
    cases = [(3, 12, 11, 4, 2), (16, 24, 3, 1, 1)]
    while len(cases) < 5:
        kernel = rng.choice((1, 3, 5, 7))
        cases.append((rng.choice((1, 2, 3, 5)), rng.choice((4, 6, 8, 10)), kernel, rng.choice((1, 2)), kernel // 2))
    return cases


def _parts(block: nn.Module, kind: type) -> list[nn.Module]:
    return [part for part in block.modules() if isinstance(part, kind)]


def _structure_problem(block: Any, case: tuple[int, int, int, int, int]) -> str | None:
    """What is wrong with the block's layers, before anything runs; None when they look right."""
    in_channels, out_channels, kernel, stride, padding = case
    if not isinstance(block, nn.Module):
        return f"return an nn.Module (an nn.Sequential of the three layers), got {type(block).__name__}."
    convs, norms = _parts(block, nn.Conv2d), _parts(block, nn.BatchNorm2d)
    if len(convs) != 1:
        return f"the block holds one nn.Conv2d; yours has {len(convs)}."
    if not norms:
        if _parts(block, nn.BatchNorm1d) or _parts(block, nn.LayerNorm):
            return (
                "use nn.BatchNorm2d: for conv maps, batch norm normalises each channel over the batch and every "
                "position of its map."
            )
        return "there is no nn.BatchNorm2d in your block."
    if len(norms) != 1:
        return f"the block holds one nn.BatchNorm2d; yours has {len(norms)}."
    (conv,), (norm,) = convs, norms
    want = (in_channels, out_channels, (kernel, kernel), (stride, stride), (padding, padding))
    got = (conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding)
    if got != want or conv.groups != 1 or conv.dilation != (1, 1):
        return (
            f"for my_conv_bn{case} the conv should take {in_channels} channels to {out_channels}, "
            f"{kernel}x{kernel}, stride {stride}, padding {padding}; yours takes {conv.in_channels} to "
            f"{conv.out_channels}, {conv.kernel_size}, stride {conv.stride}, padding {conv.padding}."
        )
    if conv.bias is not None:
        return (
            "the conv before batch norm needs no bias: batch norm subtracts the batch mean, which cancels any "
            "constant the bias adds, and its own shift (beta) does the bias's job (Ioffe & Szegedy §3.2)."
        )
    if norm.num_features != out_channels:
        return f"batch norm normalises the conv's {out_channels} output channels; yours expects {norm.num_features}."
    if not norm.affine:
        return (
            "keep batch norm's learned scale and shift (affine): without them it could only output "
            "standardised values (Ioffe & Szegedy §3)."
        )
    if not norm.track_running_stats:
        return (
            "keep batch norm's running statistics: in eval mode it normalises with the averages gathered in "
            "training, not with the batch's own."
        )
    return None


def _copy_weights(reference: nn.Module, block: nn.Module, generator: torch.Generator) -> None:
    """The reference's conv weights, and a random scale and shift, into both blocks' conv and batch norm."""
    (conv,), (norm,) = _parts(block, nn.Conv2d), _parts(block, nn.BatchNorm2d)
    with torch.no_grad():
        reference.bn.weight.copy_(torch.rand(norm.num_features, generator=generator) + 0.5)
        reference.bn.bias.copy_(torch.randn(norm.num_features, generator=generator) * 0.5)
        conv.weight.copy_(reference.conv.weight)
        norm.weight.copy_(reference.bn.weight)
        norm.bias.copy_(reference.bn.bias)


def _output_problem(mode: str, got: Any, expected: torch.Tensor, block: nn.Module) -> str | None:
    if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
        shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
        return f"in {mode} mode your block gives {shape}, the course's {tuple(expected.shape)}."
    if torch.allclose(got, expected, atol=1e-5, rtol=1e-4):
        return None
    if (got < 0).any() and not _parts(block, nn.ReLU):
        return (
            "your block's output has negative values: it ends with the non-linearity, a ReLU, as every conv stage does."
        )
    if (got < 0).any():
        return (
            f"in {mode} mode your block's output has negative values: the ReLU comes last, after batch norm "
            "(Ioffe & Szegedy add batch norm immediately before the non-linearity, §3.2)."
        )
    return f"in {mode} mode your block's output differs from conv, then batch norm, then ReLU with the same weights."


def check_conv_bn(my_conv_bn: Callable[..., Any], seed: int = 0) -> bool:
    """Exercise 08.1: ``my_conv_bn(in_channels, out_channels, kernel_size, stride, padding)``, the conv stage of
    ``alexnet(norm="batch")``: against ``conv_bn_block`` on cases drawn from ``seed``, in train and eval mode."""
    todo = "return the block: a conv without bias, then nn.BatchNorm2d, then nn.ReLU."
    why = "build the block from torch.nn's layers yourself"
    generator = torch.Generator().manual_seed(seed)
    from torchvision.ops import Conv2dNormActivation  # a library block that does the whole job

    with exercise_rules(refuse=(Conv2dNormActivation,), why=why), torch.random.fork_rng(devices=[]):
        for case in block_cases(seed):
            block = learner_result("my_conv_bn", my_conv_bn, *case, todo=todo, hint="08.1")
            problem = _structure_problem(block, case)
            if problem:
                not_yet(problem, "08.1")
            reference = conv_bn_block(*case)
            if count_parameters(block) != count_parameters(reference):
                not_yet(
                    f"your block has {count_parameters(block):,} trainable parameters, the course's "
                    f"{count_parameters(reference):,}: the conv's weights and batch norm's scale and shift, nothing "
                    "else.",
                    "08.1",
                )
            _copy_weights(reference, block, generator)
            side = case[2] + 3 * case[3] + 2
            for mode in ("train", "eval"):
                block.train(mode == "train")
                reference.train(mode == "train")
                images = torch.randn(4, case[0], side, side, generator=generator) * 2 + 1
                got = learner_result("your block", block, images.clone(), todo=todo, hint="08.1")
                problem = _output_problem(mode, got, reference(images), block)
                if problem:
                    not_yet(problem, "08.1")
                if mode == "train":
                    (norm,) = _parts(block, nn.BatchNorm2d)
                    if norm.num_batches_tracked.item() == 0 or torch.all(norm.running_mean == 0):
                        not_yet("in train mode batch norm's running statistics did not move.", "08.1")
                    if not (
                        torch.allclose(norm.running_mean, reference.bn.running_mean, atol=1e-5)
                        and torch.allclose(norm.running_var, reference.bn.running_var, atol=1e-4)
                    ):
                        not_yet(
                            "after a batch in train mode your running statistics differ from nn.BatchNorm2d's with "
                            "its defaults (momentum 0.1): keep the defaults.",
                            "08.1",
                        )
    return correct(
        f"on {len(block_cases(seed))} conv shapes your block has no conv bias and computes what the course's "
        "does, in train mode (batch statistics, running averages updated) and in eval mode."
    )


# 08.2 -------------------------------------------------------------------------------------------


def gap_savings(num_classes: int) -> tuple[int, float]:
    """The oracle of 08.2: the GAP head's parameters, and the share of the paper net's parameters
    (``alexnet("paper", num_classes=...)``, one tower, fc6-fc8) that replacing fc6-fc8 by it removes."""
    with torch.device("meta"):  # counts only: no 62 million weights drawn
        paper = alexnet("paper", num_classes=num_classes)
        gap = alexnet("paper", num_classes=num_classes, head="gap")
    head = sum(part.numel() for part in gap.fc8.parameters())
    return head, (count_parameters(paper) - count_parameters(gap)) / count_parameters(paper)


def class_counts(seed: int) -> list[int]:
    """ImageNet's 1000 classes, CIFAR-10's 10, then random counts from 2 to 5000."""
    rng = random.Random(seed)
    return [1000, 10, *(rng.randint(2, 5000) for _ in range(4))]


def _fc_parts(num_classes: int) -> dict[str, int]:
    """The paper net's parts, counted the way a learner would (for the diagnoses only; the oracle is the model)."""
    return {
        "fc6": 256 * 6 * 6 * 4096 + 4096,
        "fc7": 4096 * 4096 + 4096,
        "fc8": 4096 * num_classes + num_classes,
    }


def _share_slip(num_classes: int, share: float) -> str | None:
    """A typical wrong share's diagnosis, when ``share`` is one."""
    _, right = gap_savings(num_classes)
    with torch.device("meta"):
        total = count_parameters(alexnet("paper", num_classes=num_classes))
    parts = _fc_parts(num_classes)
    removed = right * total
    near = lambda value: math.isclose(share, value, rel_tol=1e-6)  # noqa: E731
    if near(right * 100):
        return "give the share as a fraction between 0 and 1, not a percentage"
    if near(removed / sum(parts.values())):
        return (
            "that is the share of the old head's parameters; the exercise asks for the share of the whole paper net's"
        )
    if near(removed / (total - removed)):
        return "divide by the paper net's parameters (with fc6-fc8), the net before the change, not the GAP net's"
    if near((parts["fc6"] + parts["fc7"]) / total):
        return "fc8 goes too: the new head replaces fc6, fc7 and fc8 (then subtract what the head itself holds)"
    if near(sum(parts.values()) / total):
        return "the new head's own parameters stay: subtract them from what fc6, fc7 and fc8 held"
    return None


def check_gap_savings(my_gap_savings: Callable[[int], Any], seed: int = 0) -> bool:
    """Exercise 08.2: the GAP head's parameter count and the share of the paper net's parameters it removes,
    against ``gap_savings`` (the course's models) for the class counts ``class_counts(seed)``."""
    todo = "return a pair: the GAP head's parameters and the share of the paper net's parameters removed."
    answers = []
    with exercise_rules(refuse=("torchvision.models",), why="count them from the layer shapes yourself"):
        for classes in class_counts(seed):
            answers.append(learner_result("my_gap_savings", my_gap_savings, classes, todo=todo, hint="08.2"))
    for classes, answer in zip(class_counts(seed), answers, strict=True):
        if not isinstance(answer, tuple | list) or len(answer) != 2:
            not_yet(f"return a pair (head parameters, share removed), got {answer!r}.", "08.2")
        head, share = answer
        if isinstance(head, bool) or not isinstance(head, int | np.integer):
            not_yet(f"the head's parameter count is a whole number, got {head!r}.", "08.2")
        if isinstance(share, bool) or not isinstance(share, float | int | np.floating):
            not_yet(f"the share is a number between 0 and 1, got {share!r}.", "08.2")
        right_head, right_share = gap_savings(classes)
        if head != right_head:
            if head == 256 * classes:
                slip = "each of its outputs also has a bias"
            elif head == 256 * 6 * 6 * classes + classes:
                slip = "the average turns each of pool5's 256 maps into one number, so the layer sees 256 inputs"
            elif head == 4096 * classes + classes:
                slip = "that is fc8's count; the GAP head's layer reads pool5's averaged maps, not fc7's 4096 units"
            else:
                slip = "count the one linear layer after the average: its weights and its biases"
            not_yet(f"for {classes} classes you say the head has {int(head):,} parameters: {slip}.", "08.2")
        if not math.isclose(float(share), right_share, rel_tol=0, abs_tol=1e-6):
            slip = _share_slip(classes, float(share)) or (
                "the share is the parameters of fc6, fc7 and fc8 minus the new head's, over the paper net's total "
                "for the same classes, convolutions included"
            )
            not_yet(f"for {classes} classes you say a share of {float(share):.6g}: {slip}.", "08.2")
    head, share = gap_savings(1000)
    return correct(
        f"for all {len(answers)} class counts; at ImageNet's 1000 classes the GAP head has {head:,} parameters and "
        f"removes {share:.1%} of the paper net's."
    )
