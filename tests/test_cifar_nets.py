"""Footnote 3's cuda-convnet nets against their layer files' arithmetic and PyTorch's own layers."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from alexnet_lib import count_parameters
from alexnet_lib.cifar_nets import LocallyConnected2d, SpatialResponseNorm, cifar_net
from alexnet_lib.errors import CourseError
from alexnet_lib.model import LocalResponseNorm


def test_parameter_counts_follow_the_layer_files():
    # 18pct: conv1 3x32x5x5, conv2 32x32x5x5, conv3 32x64x5x5, fc10 64*4*4 -> 10, with biases
    conv = 3 * 32 * 25 + 32 + 32 * 32 * 25 + 32 + 32 * 64 * 25 + 64
    assert count_parameters(cifar_net("cuda-convnet-18pct")) == conv + 64 * 4 * 4 * 10 + 10
    # conv-local: 2 convs of 64; local3/local4: one 3x3 bank per 6x6 output pixel, biases per pixel and map
    local3, local4 = 36 * 32 * 64 * 9 + 32 * 36, 36 * 32 * 32 * 9 + 32 * 36
    expected = 3 * 64 * 25 + 64 + 64 * 64 * 25 + 64 + local3 + local4 + 32 * 36 * 10 + 10
    assert count_parameters(cifar_net("cuda-convnet-conv-local")) == expected


@pytest.mark.parametrize(("variant", "size"), [("cuda-convnet-18pct", 32), ("cuda-convnet-conv-local", 24)])
def test_the_nets_take_their_files_input_and_give_ten_logits(variant, size):
    model = cifar_net(variant).eval()
    assert model.input_size == size
    assert model(torch.randn(2, 3, size, size)).shape == (2, 10)


def test_norm_and_activation_switches_change_only_their_layers():
    for variant in ("cuda-convnet-18pct", "cuda-convnet-conv-local"):
        full, plain = cifar_net(variant), cifar_net(variant, norm="none", activation="tanh")
        assert (full.options.norm, plain.options.norm) == ("lrn", "none")
        assert [n for n, _ in cifar_net(variant, norm="lrn").named_children()] == [n for n, _ in full.named_children()]
        norms = [n for n, _ in full.named_children() if n.startswith("rnorm")]
        assert norms == ["rnorm1", "rnorm2"]
        assert [n for n, _ in plain.named_children()] == [n for n, _ in full.named_children() if n not in norms]
        assert {type(m) for n, m in plain.named_children() if n.startswith("act")} == {nn.Tanh}
        assert {type(m) for n, m in full.named_children() if n.startswith("act")} == {nn.ReLU}


def test_cmrnorm_is_torch_local_response_norm_with_the_files_scale():
    # cuda-convnet's cmrnorm: a / (1 + scale/size * sum a^2)^pow, which is nn.LocalResponseNorm's formula
    x = torch.randn(2, 64, 6, 6) * 10
    ours = cifar_net("cuda-convnet-conv-local").rnorm1
    assert isinstance(ours, LocalResponseNorm)
    torch.testing.assert_close(ours(x), nn.LocalResponseNorm(9, alpha=0.001, beta=0.75, k=1.0)(x))


def test_rnorm_normalises_within_a_map_over_a_3x3_patch():
    x = torch.randn(1, 2, 5, 5) * 30
    ours = SpatialResponseNorm(3, 0.00005, 0.75)(x)
    padded = F.pad(x.square(), (1, 1, 1, 1))
    window = sum(padded[..., i : i + 5, j : j + 5] for i in range(3) for j in range(3))
    torch.testing.assert_close(ours, x * (1 + 0.00005 / 9 * window) ** -0.75)


def test_a_local_layer_with_one_bank_everywhere_is_a_convolution():
    layer = LocallyConnected2d(4, 3, in_size=6, kernel_size=3, padding=1)
    conv = nn.Conv2d(4, 3, 3, padding=1)
    with torch.no_grad():
        layer.weight.copy_(conv.weight.reshape(3, -1).expand(36, 3, 36))
        layer.bias.copy_(conv.bias.view(3, 1, 1).expand(3, 6, 6))
    x = torch.randn(2, 4, 6, 6)
    torch.testing.assert_close(layer(x), conv(x))


def test_param_groups_are_the_params_files():
    groups = cifar_net("cuda-convnet-18pct").param_groups(0.001, weight_decay=True)
    weights, biases = groups[0::2], groups[1::2]
    assert [g["weight_decay"] for g in weights] == [0.004, 0.004, 0.004, 1.0]  # fc10: wc=1
    assert {g["lr"] for g in weights} == {0.001} and {g["lr"] for g in biases} == {0.002}  # epsW, epsB
    assert {g["weight_decay"] for g in biases} == {0.0}
    assert all(g["weight_decay"] == 0 for g in cifar_net("cuda-convnet-18pct").param_groups(0.001, False))


def test_initial_weights_have_the_files_initw():
    torch.manual_seed(0)
    model = cifar_net("cuda-convnet-conv-local")
    for name, std in (("conv1", 1e-4), ("conv2", 0.01), ("local3", 0.04), ("fc10", 0.01)):
        assert abs(model.get_submodule(name).weight.std().item() / std - 1) < 0.05
        assert not model.get_submodule(name).bias.any()


@pytest.mark.parametrize("options", [{"norm": "batch"}, {"head": "gap"}])
def test_batch_norm_and_the_gap_head_are_refused_in_one_line(options):
    with pytest.raises(CourseError, match="takes norm lrn or none and head fc") as error:
        cifar_net("cuda-convnet-18pct", **options)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("options", [{"filters": "zfnet"}, {"blocks": 2}, {"blocks": 2, "residual": True}])
def test_the_other_successors_options_are_refused_in_one_line_not_ignored(options):
    with pytest.raises(CourseError, match="is for the one-device paper variant") as error:
        cifar_net("cuda-convnet-conv-local", **options)
    assert "\n" not in str(error.value)
    model = cifar_net("cuda-convnet-18pct", filters="paper", blocks=0, residual=False)  # a checkpoint's defaults
    assert model.options.blocks == 0
