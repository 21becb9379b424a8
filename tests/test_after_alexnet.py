"""Notebook 08's side-by-side table against the built nets, and its history against the checked sources."""

import re

from alexnet_lib import alexnet, count_parameters
from alexnet_lib.lenet import lenet5
from alexnet_lib.lessons.after_alexnet import HISTORY, format_history, format_side_by_side, side_by_side

from .conftest import ROOT

SOURCES = (ROOT / "docs" / "sources_after_alexnet.md").read_text()


def test_side_by_side_counts_the_built_nets():
    lenet, alex = side_by_side()
    assert lenet.parameters == 60_000 + 84 * 10 + 10 == count_parameters(lenet5())  # the paper's + our output layer
    assert alex.parameters == count_parameters(alexnet("paper", num_classes=1000)) == 62_378_344
    assert (lenet.input_shape, alex.input_shape) == ((1, 32, 32), (3, 227, 227))
    assert (lenet.weight_layers, alex.weight_layers) == (7, 8)  # C1 S2 C3 S4 C5 F6 output; conv1-5, fc6-8
    # by hand: C1, S2, C3 (60 connected kernels), S4, C5, F6, output
    assert lenet.macs == 28 * 28 * 6 * 25 + 6 * 14 * 14 + 10 * 10 * 60 * 25 + 16 * 25 + 16 * 25 * 120 + 120 * 84 + 840
    assert round(alex.macs * 2 / 1e9, 2) == 2.27  # notebook 01's 2.27 GFLOPs
    # C5, F6 and the output layer; fc6, fc7, fc8
    assert lenet.fully_connected_share == (48_120 + 10_164 + 850) / 60_850
    assert alex.fully_connected_share == (9216 * 4096 + 4096 + 4096 * 4097 + 4096 * 1000 + 1000) / 62_378_344
    assert lenet.fully_connected_mac_share == (120 * 16 * 25 + 120 * 84 + 840) / lenet.macs
    assert alex.fully_connected_mac_share == (9216 * 4096 + 4096 * 4096 + 4096 * 1000) / alex.macs
    table = format_side_by_side([lenet, alex])
    assert "60,850" in table and "62,378,344" in table and "1x32x32" in table


def test_history_is_dated_in_order_and_every_figure_is_in_the_sources_file():
    years = [step.year for step in HISTORY]
    assert years == sorted(years) and years[0] == 1998 and years[-1] == 2015
    names = " ".join(step.name for step in HISTORY)
    for name in ("LeNet-5", "ILSVRC", "AlexNet", "ZFNet", "VGG", "GoogLeNet", "Batch normalisation", "ResNet"):
        assert name in names
    for step in HISTORY:
        for figure in re.findall(r"\d+\.\d+%?", step.figure):  # 15.3%, 1.2 (million), 10.5
            assert figure in SOURCES, (step.name, figure)
        assert "§" in step.source or "abstract" in step.source
    alexnet_step = next(step for step in HISTORY if step.year == 2012)
    assert "15.3%" in alexnet_step.figure and "26.2%" in alexnet_step.figure
    assert [step.name for step in HISTORY if step.secondary] == ["LeNet-5", "Network in Network"]
    assert format_history().count("(secondary copies only)") == 2


def test_the_successors_are_counted_from_the_built_nets_and_timed_here():
    from alexnet_lib.lessons.after_alexnet import VARIANTS, format_variants, successor_variants

    variants = successor_variants(batch_size=2, steps=1)
    paper, batch_norm, gap = (variant.facts for variant in variants)
    assert [variant.facts.model for variant in variants] == list(VARIANTS)
    assert paper.parameters == 62_378_344 and gap.parameters == 4_004_200  # fc6-fc8 out, a 256 x 1000 layer in
    assert batch_norm.parameters - paper.parameters == 1_376  # gamma and beta per conv channel, minus the biases
    assert batch_norm.macs == paper.macs > gap.macs
    assert all(variant.images_per_second > 0 for variant in variants)
    assert "measured on this machine" in format_variants(variants)


def test_the_filter_and_depth_successors_are_counted_from_the_built_nets_and_timed_here():
    from alexnet_lib.claims import SUCCESSORS
    from alexnet_lib.lessons.after_alexnet import FILTERS_AND_DEPTH, format_variants, successor_variants

    variants = successor_variants(FILTERS_AND_DEPTH, batch_size=2, steps=1)
    paper, zfnet, vgg, plain, residual = (variant.facts for variant in variants)
    assert [variant.facts.model for variant in variants] == list(FILTERS_AND_DEPTH)
    # the rows are the arms of the zfnet_filters, vgg_stack and residual experiments
    assert [SUCCESSORS[name].claimed[1] for name in ("zfnet_filters", "vgg_stack")] == [
        FILTERS_AND_DEPTH["ZFNet 7x7/2, 5x5/2"],
        FILTERS_AND_DEPTH["VGG two 3x3 for conv2"],
    ]
    exp = SUCCESSORS["residual"]
    for label, arm in (exp.baseline, exp.claimed):
        assert FILTERS_AND_DEPTH[label] == {"blocks": exp.base["blocks"], **{k: v for k, v in arm.items() if v}}
    # parameters, by hand: conv1 11x11 -> 7x7; conv2's 5x5 -> 3x3 96->256 and 3x3 256->256; 4 blocks of 2 3x3 convs
    assert paper.parameters == 62_378_344
    assert zfnet.parameters == paper.parameters - 3 * 96 * (121 - 49) == 62_357_608
    assert vgg.parameters == paper.parameters - (96 * 256 * 25 + 256) + (96 * 256 * 9 + 256) + (256 * 256 * 9 + 256)
    assert plain.parameters == residual.parameters == paper.parameters + 4 * 2 * (256 * 256 * 9 + 256) == 67_098_984
    # multiply-adds, by hand (3x227x227): conv1 at 112x112 instead of 55x55, conv2 at 28x28 instead of 27x27; ...
    conv1 = 112 * 112 * 96 * 3 * 49 - 55 * 55 * 96 * 3 * 121
    conv2 = (28 * 28 - 27 * 27) * 256 * 96 * 25
    assert zfnet.macs - paper.macs == conv1 + conv2 == 105_397_728  # ZFNet's smaller stride costs arithmetic
    assert vgg.macs - paper.macs == 27 * 27 * 256 * (96 * 9 + 256 * 9 - 96 * 25) == 143_327_232
    assert plain.macs - paper.macs == residual.macs - paper.macs == 4 * 2 * 13 * 13 * 256 * 256 * 9  # 13x13 maps
    assert all(variant.images_per_second > 0 for variant in variants)
    table = format_variants(variants)
    assert "residual, 16 layers" in table and "67,098,984" in table and "measured on this machine" in table
