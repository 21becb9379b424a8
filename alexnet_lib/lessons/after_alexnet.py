"""Notebook 08, "After AlexNet": LeNet-5 and AlexNet side by side, and the dated milestones between and after.

Every count comes from the course's tools (``alexnet_lib.summary`` on the built nets), never typed in;
every figure in ``HISTORY`` comes from docs/sources_after_alexnet.md, with its status there.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from ..lenet import lenet5
from ..model import alexnet
from ..summary import LayerInfo, layer_table


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
