"""Notebook 08, "After AlexNet": LeNet-5 and AlexNet side by side, the dated milestones between and after,
and the paper net beside its successors (batch norm for LRN, global average pooling for fc6-fc8; ZFNet's and
VGG's first filters, extra blocks with and without shortcuts).

Every count comes from the course's tools (``alexnet_lib.summary`` on the built nets), never typed in;
every figure in ``HISTORY`` comes from docs/sources_after_alexnet.md, with its status there. Speeds are
measured when asked, on the machine that asks. The exercise checks: ``after_alexnet_checks``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..lenet import lenet5
from ..model import alexnet
from ..summary import LayerInfo, layer_table
from ..timing import images_per_second


@dataclass(frozen=True)
class NetFacts:
    """One net at one input size, as the course's summary counts it."""

    model: str
    input_shape: tuple[int, int, int]  # channels, height, width
    weight_layers: int  # stages with trainable parameters (LeNet's S2 and S4 included)
    parameters: int
    macs: int  # multiply-adds of the weights per image (FLOPs / 2)
    fully_connected_share: float  # of the parameters, in layers whose every output sees every input
    fully_connected_mac_share: float  # of the multiply-adds, in those layers


def is_fully_connected(row: LayerInfo) -> bool:
    """A linear layer, or a conv whose outputs are 1x1 (its kernel covers its whole input: LeNet's C5)."""
    return row.kind == "Linear" or (row.kind == "Conv2d" and row.output_shape[1:] == (1, 1))


def net_facts(name: str, model: nn.Sequential, image_size: int, in_channels: int) -> NetFacts:
    """Count ``model``'s layers, parameters, MACs and fully connected share for one image."""
    rows = layer_table(model, image_size, in_channels)
    parameters, flops = sum(row.params for row in rows), sum(row.flops for row in rows)
    fully_connected = [row for row in rows if is_fully_connected(row)]
    return NetFacts(
        model=name,
        input_shape=(in_channels, image_size, image_size),
        weight_layers=sum(row.params > 0 for row in rows),
        parameters=parameters,
        macs=flops // 2,
        fully_connected_share=sum(row.params for row in fully_connected) / parameters,
        fully_connected_mac_share=sum(row.flops for row in fully_connected) / flops,
    )


def side_by_side() -> list[NetFacts]:
    """LeNet-5 (1998) at 1x32x32 and the paper's AlexNet (2012) at 3x227x227, 1000 classes."""
    return [
        net_facts("LeNet-5 (1998)", lenet5(), 32, 1),
        net_facts("AlexNet (2012)", alexnet("paper", num_classes=1000), 227, 3),
    ]


def format_side_by_side(nets: list[NetFacts]) -> str:
    """A plain-text table of ``side_by_side()``."""
    lines = [f"{'model':<16} {'input':>10} {'layers':>7} {'parameters':>12} {'MACs/image':>15} {'in FC':>6}"]
    for net in nets:
        shape = "x".join(map(str, net.input_shape))
        lines.append(
            f"{net.model:<16} {shape:>10} {net.weight_layers:>7} {net.parameters:>12,} {net.macs:>15,} "
            f"{net.fully_connected_share:>6.1%}"
        )
    return "\n".join(lines)


@dataclass(frozen=True)
class Milestone:
    """One dated step, its figure, and where the figure was checked."""

    year: int
    name: str
    figure: str
    source: str  # paper and section
    secondary: bool = False  # True: read only in secondary copies (SECONDARY-CONSISTENT in the sources file)


# From docs/sources_after_alexnet.md; ILSVRC errors are top-5 on the test set.
HISTORY: tuple[Milestone, ...] = (
    Milestone(
        1998,
        "LeNet-5",
        "MNIST test error 0.95% without distortions (0.8% with); 60,000 trainable parameters",
        "LeCun et al. 1998, §II.B and §III (MNIST results as tabled on LeCun's MNIST page)",
        secondary=True,
    ),
    Milestone(
        2010,
        "ILSVRC, ImageNet's challenge (from 2010)",
        "roughly 1.2 million labelled training images, about 1000 in each of 1000 classes",
        "Krizhevsky et al. 2012, §2",
    ),
    Milestone(
        2012,
        "AlexNet (SuperVision)",
        "ILSVRC-2012 15.3% against the second-best entry's 26.2% (7 CNNs, 2 pre-trained on ImageNet Fall 2011; "
        "16.4% with the supplied data only); two GTX 580 3GB GPUs, five to six days",
        "Krizhevsky et al. 2012, abstract, §1, §5, §6",
    ),
    Milestone(
        2013,
        "ZFNet",
        "conv1 11x11 stride 4 -> 7x7 stride 2; 14.8% with 6 nets",
        "Zeiler & Fergus 2013 (arXiv:1311.2901 v3 / ECCV 2014), §4.1, §5.1",
    ),
    Milestone(
        2013,
        "Network in Network",
        "global average pooling instead of fully connected layers; CIFAR-10 8.81% with augmentation",
        "Lin et al. 2013, abstract; Table 1",
        secondary=True,  # Table 1's figure; the abstract's claim was read in the paper
    ),
    Milestone(
        2014,
        "VGG",
        "2nd in ILSVRC-2014 with 7.3% (7 nets); LRN does not help (top-5 val error: A-LRN 10.5, A 10.4)",
        "Simonyan & Zisserman 2014, §4.5, §4.1, Table 3",
    ),
    Milestone(
        2014,
        "GoogLeNet",
        "1st in ILSVRC-2014 with 6.67%; 12 times fewer parameters than AlexNet",
        "Szegedy et al. 2014, §7, §1",
    ),
    Milestone(
        2015,
        "Batch normalisation",
        "the same accuracy in 14 times fewer training steps; 4.82% with 6 nets",
        "Ioffe & Szegedy 2015, abstract, §4.2.2, §4.2.3",
    ),
    Milestone(
        2015,
        "ResNet",
        "1st in ILSVRC-2015 with 3.57% (an ensemble of residual nets)",
        "He et al. 2015, abstract",
    ),
)


def format_history(history: tuple[Milestone, ...] = HISTORY) -> str:
    """One line per milestone, its source beneath; a secondary source says so."""
    lines = []
    for step in history:
        note = " (secondary copies only)" if step.secondary else ""
        lines.append(f"{step.year}  {step.name}: {step.figure}\n      {step.source}{note}")
    return "\n".join(lines)


# The paper net and its successors of section 2 (the ``batch_norm`` and ``gap_head`` experiments' arms).
VARIANTS: dict[str, dict[str, Any]] = {
    "paper (LRN, fc6-fc8)": {},
    "batch norm for LRN": {"norm": "batch"},
    "GAP for fc6-fc8": {"head": "gap"},
}
# The paper net beside the successors that change its filters or add depth (the arms of ``zfnet_filters``,
# ``vgg_stack`` and ``residual``): ``successor_variants(FILTERS_AND_DEPTH)``.
FILTERS_AND_DEPTH: dict[str, dict[str, Any]] = {
    "paper (11x11/4, 5x5)": {},
    "ZFNet 7x7/2, 5x5/2": {"filters": "zfnet"},
    "VGG two 3x3 for conv2": {"filters": "vgg"},
    "plain, 16 layers": {"blocks": 4},
    "residual, 16 layers": {"blocks": 4, "residual": True},
}


@dataclass(frozen=True)
class VariantFacts:
    """A variant's counts (the paper's input and classes) and its training speed as measured here."""

    facts: NetFacts
    images_per_second: float
    speed_setting: str  # what the speed was measured on


def training_images_per_second(
    model: nn.Module, image_size: int, batch_size: int, *, steps: int = 2, warmup: int = 1
) -> float:
    """Images/s of a forward and backward pass (cross-entropy on random images and labels) on the CPU:
    ``warmup`` untimed batches, then ``steps`` timed ones. No optimiser step: the net's own arithmetic."""
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(batch_size, 3, image_size, image_size, generator=generator)
    labels = torch.randint(model.fc8.out_features, (batch_size,), generator=generator)
    model.train()

    def step() -> None:
        model.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(images), labels).backward()

    return images_per_second(step, batch_size, torch.device("cpu"), warmup=warmup, steps=steps)


def successor_variants(
    variants: dict[str, dict[str, Any]] = VARIANTS,
    *,
    speed_size: int = 67,
    speed_classes: int = 10,
    batch_size: int = 16,
    steps: int = 2,
) -> list[VariantFacts]:
    """Each of ``variants`` (``VARIANTS`` or ``FILTERS_AND_DEPTH``): parameters and multiply-adds at 3x227x227
    with 1000 classes (the paper's net), and training images/s on this machine's CPU at the size notebook 08's
    runs use (67 px, 10 classes)."""
    found = []
    for name, options in variants.items():
        with torch.device("meta"):  # shapes only: counted without initialising 62 million weights
            shapes = alexnet("paper", num_classes=1000, **options)
        counts = net_facts(name, shapes.to_empty(device="cpu"), 227, 3)
        with torch.random.fork_rng(devices=[]):  # the notebook's random stream is left as it was
            torch.manual_seed(0)
            model = alexnet("paper", num_classes=speed_classes, **options)
        speed = training_images_per_second(model, speed_size, batch_size, steps=steps)
        setting = f"CPU, {torch.get_num_threads()} thread(s), {speed_size} px, batch {batch_size}, forward + backward"
        found.append(VariantFacts(counts, speed, setting))
    return found


def format_variants(variants: list[VariantFacts]) -> str:
    """A plain-text table of ``successor_variants()``; the speed's setting beneath."""
    width = max(22, *(len(variant.facts.model) for variant in variants))
    lines = [f"{'net':<{width}} {'parameters':>12} {'MACs/image':>15} {'in FC':>6} {'images/s':>9}"]
    for variant in variants:
        facts = variant.facts
        lines.append(
            f"{facts.model:<{width}} {facts.parameters:>12,} {facts.macs:>15,} {facts.fully_connected_share:>6.1%} "
            f"{variant.images_per_second:>9.1f}"
        )
    lines.append(
        f"parameters and MACs: 3x227x227, 1000 classes; images/s: measured on this machine, {variants[0].speed_setting}"
    )
    return "\n".join(lines)
