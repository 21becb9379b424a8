"""The model against the paper's arithmetic and against torchvision."""

import pytest
import torch
import torchinfo
import torchvision
from torch import nn

from alexnet_lib import alexnet, count_parameters
from alexnet_lib.model import LocalResponseNorm, Options, conv_output_size, init_weights
from alexnet_lib.summary import format_table, layer_table, total_flops


@pytest.mark.parametrize(
    ("variant", "expected"),
    [("paper", 62_378_344), ("paper-two-tower", 60_965_224), ("torchvision", 61_100_840)],
)
def test_parameter_counts_at_1000_classes(variant, expected):
    assert count_parameters(alexnet(variant, num_classes=1000, in_channels=3)) == expected


def test_torchvision_variant_matches_torchvision_parameter_count():
    assert count_parameters(alexnet("torchvision")) == count_parameters(torchvision.models.alexnet())


def test_paper_net_shape_after_every_stage():
    rows = {row.name: row.output_shape for row in layer_table(alexnet("paper"), 227)}
    assert rows["conv1"] == (96, 55, 55)
    assert rows["pool1"] == (96, 27, 27)
    assert rows["conv2"] == (256, 27, 27)
    assert rows["pool2"] == (256, 13, 13)
    assert rows["conv3"] == (384, 13, 13)
    assert rows["conv4"] == (384, 13, 13)
    assert rows["conv5"] == (256, 13, 13)
    assert rows["pool5"] == (256, 6, 6)
    assert rows["flatten"] == (9216,)
    assert rows["fc6"] == rows["fc7"] == (4096,)
    assert rows["fc8"] == (1000,)


def test_224_does_not_give_55_but_227_does():
    assert conv_output_size(227, 11, 4) == 55
    assert conv_output_size(224, 11, 4) == 54
    assert conv_output_size(224, 11, 4, padding=2) == 55  # torchvision's fix


def test_no_relu_on_logits_and_lrn_only_after_conv1_and_conv2():
    for variant in ("paper", "paper-two-tower"):
        names = [name for name, _ in alexnet(variant).named_children()]
        assert names[-1] == "fc8"
        norms = [name for name, layer in alexnet(variant).named_children() if isinstance(layer, LocalResponseNorm)]
        assert norms == ["norm1", "norm2"]
        assert names.index("norm1") == names.index("relu1") + 1
        assert names.index("norm2") == names.index("relu2") + 1


def test_dropout_on_fc6_and_fc7_outputs():
    model = alexnet("paper")
    names = [name for name, _ in model.named_children()]
    assert names.index("drop6") == names.index("relu6") + 1
    assert names.index("drop7") == names.index("relu7") + 1
    assert model.drop6.p == model.drop7.p == 0.5


def test_torchvision_variant_gives_torchvision_logits_on_the_same_weights():
    torch.manual_seed(0)
    reference = torchvision.models.alexnet(weights=None).eval()
    for parameter in reference.parameters():  # random weights, not the defaults
        nn.init.normal_(parameter, std=0.02)
    ours = alexnet("torchvision").eval()
    ours.load_state_dict(reference.state_dict())  # torchvision's own keys: features.0.weight, ...
    images = torch.randn(4, 3, 224, 224)
    with torch.no_grad():
        assert torch.equal(ours(images), reference(images))


def _lrn_by_hand(a, k=2.0, n=5, alpha=1e-4, beta=0.75):
    """§3.3, literally: b_i = a_i / (k + alpha * sum_{j=max(0,i-n/2)}^{min(N-1,i+n/2)} a_j^2)^beta."""
    channels = a.shape[1]
    out = torch.empty_like(a)
    for i in range(channels):
        lo, hi = max(0, i - n // 2), min(channels - 1, i + n // 2)
        total = sum(a[:, j] ** 2 for j in range(lo, hi + 1))
        out[:, i] = a[:, i] / (k + alpha * total) ** beta
    return out


def test_lrn_follows_the_papers_formula():
    torch.manual_seed(0)
    a = torch.rand(2, 16, 4, 4, dtype=torch.float64) * 60  # large enough that the sum matters
    ours = LocalResponseNorm(16).double()(a)
    torch.testing.assert_close(ours, _lrn_by_hand(a), rtol=1e-12, atol=0)


def test_nn_local_response_norm_divides_alpha_by_n():
    a = torch.rand(2, 16, 4, 4, dtype=torch.float64) * 60
    ours = LocalResponseNorm(16).double()(a)
    torch.testing.assert_close(nn.LocalResponseNorm(5, alpha=5 * 1e-4, beta=0.75, k=2.0)(a), ours)
    assert not torch.allclose(nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)(a), ours)


def test_two_tower_lrn_does_not_mix_channels_across_the_towers():
    a = torch.rand(1, 8, 3, 3) * 60
    bumped = a.clone()
    bumped[:, 3] += 100  # the last channel of tower 1
    norm = LocalResponseNorm(8, groups=2)
    assert torch.equal(norm(a)[:, 4:], norm(bumped)[:, 4:])
    assert not torch.equal(LocalResponseNorm(8)(a)[:, 4:6], LocalResponseNorm(8)(bumped)[:, 4:6])


def test_perturbing_one_towers_conv3_output_changes_only_that_tower_downstream():
    torch.manual_seed(0)
    model = alexnet("paper-two-tower").eval()
    x = torch.randn(2, 3, 227, 227)
    stages = list(model.named_children())
    with torch.no_grad():
        for name, layer in stages:
            x = layer(x)
            if name == "conv3":
                break
        outputs = {}
        for tag, conv3 in (
            ("clean", x),
            ("bumped", x.clone().index_add_(1, torch.arange(192), torch.ones(2, 192, 13, 13))),
        ):
            y = model.relu3(conv3)
            outputs[tag, "conv4"] = model.conv4(y)
            outputs[tag, "conv5"] = model.conv5(model.relu4(outputs[tag, "conv4"]))
    for stage, half in (("conv4", 192), ("conv5", 128)):
        clean, bumped = outputs["clean", stage], outputs["bumped", stage]
        assert not torch.equal(clean[:, :half], bumped[:, :half]), f"tower 1 of {stage} should change"
        assert torch.equal(clean[:, half:], bumped[:, half:]), f"tower 2 of {stage} must not see tower 1"


# Hand arithmetic, multiply-add = 2: 2 * H_out * W_out * C_out * C_in/groups * k * k, 2 * in * out.
PAPER_FLOPS = {
    "conv1": 2 * 55 * 55 * 96 * 3 * 11 * 11,
    "conv2": 2 * 27 * 27 * 256 * 96 * 5 * 5,
    "conv3": 2 * 13 * 13 * 384 * 256 * 3 * 3,
    "conv4": 2 * 13 * 13 * 384 * 384 * 3 * 3,
    "conv5": 2 * 13 * 13 * 256 * 384 * 3 * 3,
    "fc6": 2 * 9216 * 4096,
    "fc7": 2 * 4096 * 4096,
    "fc8": 2 * 4096 * 1000,
}


def test_flops_per_layer_match_hand_arithmetic():
    rows = {row.name: row.flops for row in layer_table(alexnet("paper"), 227)}
    assert {name: flops for name, flops in rows.items() if flops} == PAPER_FLOPS
    assert sum(PAPER_FLOPS.values()) == 2_270_512_192  # the 2.27 GFLOPs of the one-tower net
    assert total_flops(alexnet("paper"), 227) == 2_270_512_192


def test_two_tower_halves_the_flops_of_grouped_layers():
    rows = {row.name: row.flops for row in layer_table(alexnet("paper-two-tower"), 227)}
    for name in ("conv2", "conv4", "conv5"):
        assert rows[name] == PAPER_FLOPS[name] // 2
    assert rows["conv3"] == PAPER_FLOPS["conv3"]


def test_torchinfo_agrees_once_bias_adds_are_counted():
    model = alexnet("paper")
    stats = torchinfo.summary(model, input_size=(1, 3, 227, 227), verbose=0)
    rows = layer_table(model, 227)
    bias_adds = sum(torch.Size(row.output_shape).numel() for row in rows if row.kind in ("Conv2d", "Linear"))
    assert 2 * stats.total_mult_adds == total_flops(model, 227) + 2 * bias_adds


def test_table_lists_every_stage_with_totals():
    text = format_table(layer_table(alexnet("paper"), 227))
    assert "conv1" in text and "fc8" in text
    assert "62,378,344" in text


def test_paper_init():
    torch.manual_seed(0)
    model = alexnet("paper", init="paper")
    for name in ("conv2", "conv4", "conv5", "fc6", "fc7"):
        assert torch.all(getattr(model, name).bias == 1)
    for name in ("conv1", "conv3", "fc8"):
        assert torch.all(getattr(model, name).bias == 0)
    assert abs(model.fc6.weight.std().item() - 0.01) < 1e-3


def test_paper_init_gives_every_image_the_same_logits_and_kaiming_does_not():
    torch.manual_seed(0)
    x = torch.randn(8, 3, 227, 227)
    kaiming, paper = alexnet("paper").eval(), alexnet("paper", init="paper").eval()
    with torch.no_grad():  # spread of each logit across the batch: how much the image matters
        assert kaiming(x).std(0).mean() > 100 * paper(x).std(0).mean()
    init_weights(kaiming, "kaiming")
    assert abs(kaiming.conv1.weight.std().item() - (2 / (3 * 11 * 11)) ** 0.5) < 0.01


def test_grey_input_and_errors():
    assert alexnet("paper", num_classes=10, in_channels=1)(torch.zeros(2, 1, 67, 67)).shape == (2, 10)
    with pytest.raises(ValueError, match="unknown variant"):
        alexnet("vgg")
    with pytest.raises(ValueError, match="unknown init"):
        alexnet("paper", init="xavier")


@pytest.mark.slow  # 60 Adam steps on the paper net's 58M weights: the longest of the fast tests otherwise
def test_overfits_one_small_batch():
    torch.manual_seed(0)
    model = alexnet("paper", num_classes=10, in_channels=1)
    images, labels = torch.randn(16, 1, 67, 67), torch.arange(16) % 10
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    for _ in range(60):
        loss = nn.functional.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        assert (model(images).argmax(1) == labels).all()
    assert loss.item() < 0.1


# -- the ablation options of notebook 07 (§3.1, §3.3, §3.4) -----------------------------------


def _stages(model):
    return [(name, type(module)) for name, module in model.named_children()]


def test_tanh_and_relu_nets_differ_only_in_the_activation():
    relu, tanh = alexnet("paper", num_classes=10), alexnet("paper", num_classes=10, activation="tanh")
    differ = [(a, b) for a, b in zip(_stages(relu), _stages(tanh), strict=True) if a != b]
    assert differ and all(a[0] == b[0] and (a[1], b[1]) == (nn.ReLU, nn.Tanh) for a, b in differ)
    assert len(differ) == 7  # relu1..relu7: every conv and hidden FC layer
    assert relu.state_dict().keys() == tanh.state_dict().keys()
    torch.manual_seed(0)
    x = torch.randn(2, 3, 67, 67)
    tanh.load_state_dict(relu.state_dict())
    relu.eval(), tanh.eval()
    assert not torch.allclose(relu(x), tanh(x))  # the same weights, another non-linearity


@pytest.mark.parametrize("variant", ["paper", "paper-two-tower"])
def test_norm_none_has_no_lrn_module_and_nothing_else_changes(variant):
    with_lrn, without = alexnet(variant, num_classes=10), alexnet(variant, num_classes=10, norm="none")
    assert not any(isinstance(m, LocalResponseNorm) for m in without.modules())
    names = [n for n, _ in _stages(with_lrn) if n not in ("norm1", "norm2")]
    assert [n for n, _ in _stages(without)] == names
    assert count_parameters(without) == count_parameters(with_lrn)  # LRN has no weights


def test_torchvision_has_no_lrn_to_switch_on():
    assert not any(isinstance(m, LocalResponseNorm) for m in alexnet("torchvision").modules())
    assert alexnet("torchvision").options.norm == "none"
    with pytest.raises(ValueError, match="no LRN"):
        alexnet("torchvision", norm="lrn")


# Notebook 08's successors: batch norm instead of LRN, global average pooling instead of fc6-fc8 -------------


def test_the_defaults_are_the_papers_lrn_and_fc_head():
    default, named = alexnet(), alexnet(norm="lrn", head="fc")
    assert default.options == named.options == Options(activation="relu", norm="lrn", pool="overlap", head="fc")
    assert _stages(default) == _stages(named)
    assert default.state_dict().keys() == named.state_dict().keys()
    assert count_parameters(default) == 62_378_344  # test_parameter_counts_at_1000_classes


@pytest.mark.parametrize("size", [227, 67])  # the paper's input and the smallest it accepts
@pytest.mark.parametrize("head", ["fc", "gap"])
@pytest.mark.parametrize("norm", ["lrn", "batch", "none"])
def test_every_norm_and_head_gives_the_logits_at_227_and_67_pixels(norm, head, size):
    model = alexnet("paper", num_classes=10, norm=norm, head=head).eval()
    rows = {row.name: row.output_shape for row in layer_table(model, size)}
    pool5 = (256, 6, 6) if size == 227 else (256, 1, 1)
    assert rows["pool5"] == pool5 and rows["fc8"] == (10,)
    assert model(torch.randn(2, 3, size, size)).shape == (2, 10)
    assert ("fc6" in rows, "gap" in rows) == (head == "fc", head == "gap")
    assert ("norm1" in rows, "bn1" in rows) == (norm == "lrn", norm == "batch")


def test_batch_norm_sits_after_every_conv_before_its_relu_and_replaces_the_conv_biases():
    lrn, batch = alexnet("paper"), alexnet("paper", norm="batch")
    names = [n for n, _ in _stages(batch)]
    convs = [n for n in names if n.startswith("conv")]
    assert [n for n, m in _stages(batch) if m is nn.BatchNorm2d] == [c.replace("conv", "bn") for c in convs]
    for conv in convs:
        bn, relu = conv.replace("conv", "bn"), conv.replace("conv", "relu")
        assert names.index(bn) == names.index(conv) + 1 and names.index(relu) == names.index(conv) + 2
        assert batch[conv].bias is None and batch[bn].num_features == batch[conv].out_channels
    assert not any(isinstance(m, LocalResponseNorm) for m in batch.modules())
    channels = sum(lrn[c].out_channels for c in convs)
    assert channels == 96 + 256 + 384 + 384 + 256 == 1376
    # + a scale and a shift per channel, - the conv biases they replace
    assert count_parameters(batch) == count_parameters(lrn) + 2 * channels - channels == 62_379_720


@pytest.mark.parametrize("classes", [1000, 10])
def test_the_gap_head_replaces_fc6_fc7_fc8_by_one_linear_layer_from_conv5s_channels(classes):
    fc, gap = alexnet("paper", num_classes=classes), alexnet("paper", num_classes=classes, head="gap")
    removed = sum(count_parameters(fc[name]) for name in ("fc6", "fc7", "fc8"))
    assert removed == 9216 * 4096 + 4096 + 4096 * 4096 + 4096 + 4096 * classes + classes
    added = 256 * classes + classes
    assert (gap.fc8.in_features, gap.fc8.out_features) == (256, classes)
    assert count_parameters(gap) == count_parameters(fc) - removed + added
    assert count_parameters(gap) == {1000: 4_004_200, 10: 3_749_770}[classes]
    names = [n for n, _ in _stages(gap)]
    assert names[names.index("pool5") :] == ["pool5", "gap", "flatten", "fc8"]
    assert not any(isinstance(m, nn.Dropout) for m in gap.modules())


def test_batch_norm_and_the_gap_head_fit_the_other_variants_too():
    for variant in ("paper-two-tower", "torchvision"):
        model = alexnet(variant, num_classes=10, norm="batch", head="gap").eval()
        assert model(torch.randn(2, 3, 224, 224)).shape == (2, 10)
        assert [n for n, m in _stages(model) if m is nn.BatchNorm2d] == ["bn1", "bn2", "bn3", "bn4", "bn5"]


def test_the_paper_init_skips_the_biases_batch_norm_removed():
    model = alexnet("paper", num_classes=10, norm="batch", init="paper")
    assert model.conv2.bias is None and torch.all(model.fc6.bias == 1)


def test_summary_lists_the_batch_norms_and_the_gap_head():
    rows = {row.name: row for row in layer_table(alexnet("paper", norm="batch", head="gap"), 227)}
    assert rows["bn1"].kind == "BatchNorm2d" and rows["bn1"].output_shape == (96, 55, 55)
    assert rows["bn1"].params == 2 * 96 and rows["conv1"].params == 96 * 3 * 11 * 11  # no bias
    assert rows["gap"].output_shape == (256, 1, 1) and rows["fc8"].params == 256 * 1000 + 1000
    assert rows["fc8"].flops == 2 * 256 * 1000
    assert "bn5" in format_table(list(rows.values())) and "gap" in format_table(list(rows.values()))


@pytest.mark.parametrize("size", [227, 67])  # the paper's input and the smallest the config accepts
def test_adjacent_pooling_is_2x2_stride_2_and_the_shapes_still_fit(size):
    overlap, adjacent = alexnet("paper", num_classes=10), alexnet("paper", num_classes=10, pool="adjacent")
    pools = [m for m in adjacent.modules() if isinstance(m, nn.MaxPool2d)]
    assert [(p.kernel_size, p.stride) for p in pools] == [(2, 2)] * 3
    assert {(m.kernel_size, m.stride) for m in overlap.modules() if isinstance(m, nn.MaxPool2d)} == {(3, 2)}
    x = torch.randn(1, 3, size, size)
    assert adjacent.eval()(x).shape == overlap.eval()(x).shape == (1, 10)
    if size == 227:  # (55 - 2) // 2 + 1 = 27 = (55 - 3) // 2 + 1: the same map sizes as the paper's
        assert adjacent[:15](x).shape == overlap[:15](x).shape == (1, 256, 6, 6)  # up to pool5


def test_unknown_options_are_refused():
    with pytest.raises(ValueError, match="activation"):
        alexnet("paper", activation="sigmoid")
    with pytest.raises(ValueError, match="pool"):
        alexnet("paper", pool="huge")
    with pytest.raises(ValueError, match="norm"):
        alexnet("paper", norm="group")
    with pytest.raises(ValueError, match="head"):
        alexnet("paper", head="conv")


# Notebook 08's later successors: ZFNet's and VGG's first filters, extra blocks with and without shortcuts ---------

PAPER_STAGES = [
    *["conv1", "relu1", "norm1", "pool1", "conv2", "relu2", "norm2", "pool2", "conv3", "relu3", "conv4", "relu4"],
    *["conv5", "relu5", "pool5", "avgpool", "flatten", "fc6", "relu6", "drop6", "fc7", "relu7", "drop7", "fc8"],
]


def test_the_default_net_is_still_the_papers_stage_for_stage():
    default = alexnet()
    assert [n for n, _ in _stages(default)] == PAPER_STAGES
    assert default.options == Options(filters="paper", blocks=0, residual=False)
    assert count_parameters(default) == 62_378_344


def test_zfnet_has_7x7_stride_2_and_5x5_stride_2_filters_and_the_papers_maps_from_pool2_on():
    zfnet = alexnet("paper", num_classes=10, filters="zfnet")
    assert (zfnet.conv1.kernel_size, zfnet.conv1.stride) == ((7, 7), (2, 2))
    assert (zfnet.conv2.kernel_size, zfnet.conv2.stride) == ((5, 5), (2, 2))
    assert [n for n, _ in _stages(zfnet)] == PAPER_STAGES
    for size, maps in {227: (112, 55, 28, 13, 6), 67: (32, 15, 8, 3, 1)}.items():
        conv1 = conv_output_size(size, 7, 2, padding=1)
        pool1 = conv_output_size(conv1, 3, 2)
        conv2 = conv_output_size(pool1, 5, 2, padding=2)
        pool2 = conv_output_size(conv2, 3, 2)
        assert (conv1, pool1, conv2, pool2, conv_output_size(pool2, 3, 2)) == maps  # conv3-conv5 keep the size
        rows = {row.name: row.output_shape for row in layer_table(zfnet, size)}
        assert [rows[n][1] for n in ("conv1", "pool1", "conv2", "pool2", "pool5")] == list(maps)


def test_zfnets_conv1_has_fewer_weights_and_conv2_the_same():
    with torch.device("meta"):
        paper, zfnet = alexnet("paper"), alexnet("paper", filters="zfnet")
    assert count_parameters(paper.conv1) == 3 * 96 * 11 * 11 + 96 == 34_944
    assert count_parameters(zfnet.conv1) == 3 * 96 * 7 * 7 + 96 == 14_208
    assert count_parameters(zfnet.conv2) == count_parameters(paper.conv2) == 96 * 256 * 5 * 5 + 256
    assert count_parameters(zfnet) == 62_378_344 - 34_944 + 14_208 == 62_357_608


def test_vgg_replaces_conv2s_5x5_by_two_3x3_with_a_relu_between():
    vgg = alexnet("paper", num_classes=10, filters="vgg")
    names = [n for n, _ in _stages(vgg)]
    at = PAPER_STAGES.index("conv2")
    assert names == [*PAPER_STAGES[:at], "conv2a", "relu2a", *PAPER_STAGES[at:]]
    for name, (c_in, c_out) in {"conv2a": (96, 256), "conv2": (256, 256)}.items():
        conv = vgg[name]
        assert (conv.in_channels, conv.out_channels, conv.kernel_size, conv.padding) == (c_in, c_out, (3, 3), (1, 1))
    assert type(vgg.relu2a) is nn.ReLU
    rows = {row.name: row.output_shape for row in layer_table(vgg, 227)}
    assert rows["conv2a"] == rows["conv2"] == (256, 27, 27) and rows["pool5"] == (256, 6, 6)
    paper_conv2 = 96 * 256 * 5 * 5 + 256
    stack = (96 * 256 * 9 + 256) + (256 * 256 * 9 + 256)
    assert (paper_conv2, stack) == (614_656, 221_440 + 590_080) == (614_656, 811_520)
    with torch.device("meta"):
        assert count_parameters(alexnet("paper", filters="vgg")) == 62_378_344 - paper_conv2 + stack == 62_575_208


@pytest.mark.parametrize("residual", [False, True])
def test_blocks_put_two_3x3_convs_each_between_relu5_and_pool5(residual):
    with torch.device("meta"):
        model = alexnet("paper", blocks=4, residual=residual)
    names = [n for n, _ in _stages(model)]
    blocks = [f"block{i}" for i in range(1, 5)]
    assert names[names.index("relu5") : names.index("pool5") + 1] == ["relu5", *blocks, "pool5"]
    assert [n for n in names if not n.startswith("block")] == PAPER_STAGES
    for name in blocks:
        block = model[name]
        assert [n for n, _ in block.named_children()] == ["conv_a", "relu_a", "conv_b", "relu_b"]
        assert block.residual is residual
        for conv in (block.conv_a, block.conv_b):
            assert (conv.in_channels, conv.out_channels, conv.kernel_size, conv.padding) == (256, 256, (3, 3), (1, 1))
        assert count_parameters(block) == 2 * (256 * 256 * 9 + 256) == 1_180_160
    assert count_parameters(model) == 62_378_344 + 4 * 1_180_160 == 67_098_984  # plain and residual alike
    weight_layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert len(weight_layers) == 5 + 4 * 2 + 3 == 16


def test_a_residual_block_adds_its_input_before_the_last_relu_and_its_plain_twin_does_not():
    from alexnet_lib.model import BasicBlock

    torch.manual_seed(0)
    residual, plain = BasicBlock(8, Options(blocks=1, residual=True)), BasicBlock(8, Options(blocks=1))
    plain.load_state_dict(residual.state_dict())  # the same weights: the twins differ in the shortcut alone
    x = torch.randn(2, 8, 5, 5)
    branch = residual.conv_b(torch.relu(residual.conv_a(x)))  # He et al.'s F(x), Fig. 2
    torch.testing.assert_close(residual(x), torch.relu(branch + x))
    torch.testing.assert_close(plain(x), torch.relu(branch))
    with torch.no_grad():
        for parameter in residual.parameters():
            parameter.zero_()
    plain.load_state_dict(residual.state_dict())
    assert torch.equal(residual(x), torch.relu(x)) and torch.equal(plain(x), torch.zeros_like(x))


def test_the_block_convs_take_batch_norm_after_each_conv_as_the_other_convs_do():
    model = alexnet("paper", num_classes=10, blocks=2, residual=True, norm="batch", head="gap")
    names = [n for n, _ in model.block1.named_children()]
    assert names == ["conv_a", "bn_a", "relu_a", "conv_b", "bn_b", "relu_b"]
    assert model.block1.conv_a.bias is None and model.block1.conv_b.bias is None
    assert count_parameters(model.block1) == 2 * (256 * 256 * 9 + 2 * 256)  # a scale and a shift for the bias
    rows = {row.name: row for row in layer_table(model, 227)}
    assert rows["block1"].output_shape == (256, 13, 13)
    assert rows["block1"].flops == 2 * (2 * 256 * 13 * 13 * 256 * 3 * 3)  # two convs, 13x13 maps, as conv3-5


@pytest.mark.parametrize("size", [227, 67])  # the paper's input and the smallest it accepts
@pytest.mark.parametrize("norm", ["lrn", "batch"])
@pytest.mark.parametrize(
    "options", [{"filters": "zfnet"}, {"filters": "vgg"}, {"blocks": 2}, {"blocks": 2, "residual": True}]
)
def test_every_new_option_gives_the_logits_at_227_and_67_pixels(options, norm, size):
    # head="gap": the convs are what these options change, and it spares building fc6's 38 million weights
    model = alexnet("paper", num_classes=10, norm=norm, head="gap", **options).eval()
    rows = {row.name: row.output_shape for row in layer_table(model, size)}
    assert rows["pool5"] == ((256, 6, 6) if size == 227 else (256, 1, 1)) and rows["fc8"] == (10,)
    assert model(torch.randn(2, 3, size, size)).shape == (2, 10)
    assert ("bn1" in rows) == (norm == "batch")


@pytest.mark.parametrize("init", ["kaiming", "paper", "torchvision"])
def test_the_block_convs_are_initialised_as_the_convs_beside_them(init):
    torch.manual_seed(0)
    model = alexnet("paper", num_classes=10, blocks=2, init=init, head="gap")
    fan_in = 256 * 3 * 3
    # kaiming: He et al.'s sqrt(2 / fan_in); paper: §5's 0.01; torchvision: PyTorch's U(+-1/sqrt(fan_in))
    expected = {"kaiming": (2 / fan_in) ** 0.5, "paper": 0.01, "torchvision": (1 / (3 * fan_in)) ** 0.5}[init]
    for block in (model.block1, model.block2):
        for conv in (block.conv_a, block.conv_b):
            assert abs(conv.weight.std().item() - expected) < 0.02 * expected
            if init == "torchvision":
                assert conv.bias.abs().max() <= fan_in**-0.5 and conv.bias.abs().max() > 0
            else:
                assert torch.all(conv.bias == 0)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"filters": "resnet"}, "filters must be one of paper, zfnet, vgg"),
        ({"blocks": -1}, "blocks must be a whole number, 0 or more"),
        ({"blocks": 1.5}, "blocks must be a whole number"),
        ({"blocks": True}, "blocks must be a whole number"),
        ({"residual": True}, "residual needs blocks"),
        ({"variant": "paper-two-tower", "filters": "zfnet"}, "filters='zfnet' is for the one-device paper variant"),
        ({"variant": "torchvision", "filters": "vgg"}, "filters='vgg' is for the one-device paper variant"),
        ({"variant": "paper-two-tower", "blocks": 2}, "blocks=2 is for the one-device paper variant"),
        ({"variant": "torchvision", "blocks": 2, "residual": True}, "blocks=2 is for the one-device paper variant"),
    ],
)
def test_bad_successor_options_are_refused_in_one_line(options, message):
    with pytest.raises(ValueError, match=message) as error:
        alexnet(**{"variant": "paper", **options})
    assert "\n" not in str(error.value)
