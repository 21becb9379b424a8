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
