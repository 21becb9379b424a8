"""LeNet-5 against the paper's counts (LeCun et al., 1998, §II.B) and its C3 connection table."""

import torch

from alexnet_lib import count_parameters
from alexnet_lib.lenet import C3_TABLE, lenet5
from alexnet_lib.summary import layer_table, total_flops

# §II.B's trainable parameters per layer, summing to its "60,000 trainable free parameters"
PAPER_PARAMETERS = {"c1": 156, "s2": 12, "c3": 1_516, "s4": 32, "c5": 48_120, "f6": 10_164}


def test_output_shape_on_one_grey_32x32_image():
    assert lenet5()(torch.zeros(1, 1, 32, 32)).shape == (1, 10)
    assert lenet5(num_classes=26)(torch.zeros(3, 1, 32, 32)).shape == (3, 26)


def test_parameters_per_layer_are_the_papers():
    model = lenet5()
    counts = {name: sum(p.numel() for p in layer.parameters()) for name, layer in model.named_children()}
    assert {name: counts[name] for name in PAPER_PARAMETERS} == PAPER_PARAMETERS
    assert sum(PAPER_PARAMETERS.values()) == 60_000
    assert counts["output"] == 84 * 10 + 10  # the deviation: a linear layer for the paper's fixed RBF units
    assert count_parameters(model) == 60_000 + 850
    assert all(p.requires_grad for p in model.parameters())


def test_c3_table_is_the_commonly_reproduced_table_one():
    """§II.B: the first six see contiguous threes, the next six contiguous fours, three see
    non-contiguous fours, the last all six (contiguous counted round the six maps)."""

    def contiguous(maps):
        return any(set(maps) == {(start + i) % 6 for i in range(len(maps))} for start in range(6))

    assert len(C3_TABLE) == 16
    assert all(len(m) == 3 and contiguous(m) for m in C3_TABLE[:6])
    assert all(len(m) == 4 and contiguous(m) for m in C3_TABLE[6:12])
    assert all(len(m) == 4 and not contiguous(m) for m in C3_TABLE[12:15])
    assert C3_TABLE[15] == tuple(range(6))
    assert len(set(C3_TABLE[:6])) == len(set(C3_TABLE[6:12])) == 6  # "every contiguous subset"
    assert (sum(map(len, C3_TABLE)) * 25 + 16) == 1_516  # the table gives the paper's count
    c3 = lenet5().c3
    assert c3.connected.tolist() == [[i in maps for i in range(6)] for maps in C3_TABLE]


def test_c3_maps_see_only_their_table_row_and_masked_weights_get_no_gradient():
    c3 = lenet5().c3
    s2 = torch.randn(2, 6, 14, 14, requires_grad=True)
    out = c3(s2)
    assert out.shape == (2, 16, 10, 10)
    for out_map, in_maps in enumerate(C3_TABLE):
        (grad,) = torch.autograd.grad(out[:, out_map].sum(), s2, retain_graph=True)
        reaches = grad.abs().sum(dim=(0, 2, 3)) > 0
        assert reaches.tolist() == [i in in_maps for i in range(6)], out_map
    # against a full conv with the same kernel: the connected kernels get its gradient, the unconnected
    # ones are no parameters at all, so a training step leaves them at zero
    full = torch.nn.Conv2d(6, 16, 5)
    with torch.no_grad():
        full.weight.copy_(c3.kernel())
        full.bias.copy_(c3.bias)
    full(s2).square().mean().backward()
    c3(s2).square().mean().backward()
    assert c3.weight.grad.shape == (60, 5, 5) and (c3.weight.grad != 0).all()
    assert torch.allclose(c3.weight.grad, full.weight.grad[c3.connected], atol=1e-6)
    torch.optim.SGD(c3.parameters(), lr=0.1).step()
    assert (c3.kernel()[~c3.connected] == 0).all() and (c3.kernel()[c3.connected] != 0).all()


def test_subsampling_adds_four_inputs_times_a_coefficient_plus_a_bias():
    s2 = lenet5().s2
    with torch.no_grad():
        s2.weight.copy_(torch.arange(1.0, 7.0))
        s2.bias.fill_(0.5)
    x = torch.rand(1, 6, 28, 28)
    by_hand = x.unfold(2, 2, 2).unfold(3, 2, 2).sum(dim=(-1, -2)) * torch.arange(1.0, 7.0)[:, None, None] + 0.5
    assert torch.allclose(s2(x), by_hand, atol=1e-5)


def test_squashing_is_the_papers_scaled_tanh():
    squash = lenet5().squash1
    a = torch.linspace(-3, 3, 7)
    assert torch.allclose(squash(a), 1.7159 * torch.tanh(2 * a / 3))


def test_summary_describes_lenet_layer_by_layer():
    rows = {row.name: row for row in layer_table(lenet5(), 32, in_channels=1)}
    shapes = {name: rows[name].output_shape for name in ("c1", "s2", "c3", "s4", "c5", "f6", "output")}
    assert shapes == {
        "c1": (6, 28, 28),
        "s2": (6, 14, 14),
        "c3": (16, 10, 10),
        "s4": (16, 5, 5),
        "c5": (120, 1, 1),
        "f6": (84,),
        "output": (10,),
    }
    assert {name: rows[name].params for name in PAPER_PARAMETERS} == PAPER_PARAMETERS
    # FLOPs by hand (multiply-add = 2, weights only): the paper's connections less its biases and the adds
    # of the four subsampled inputs; C3 counts its 60 connected kernels only
    by_hand = {
        "c1": 28 * 28 * 6 * 25,
        "s2": 6 * 14 * 14,
        "c3": 10 * 10 * 60 * 25,
        "s4": 16 * 5 * 5,
        "c5": 120 * 16 * 25,
        "f6": 120 * 84,
        "output": 84 * 10,
    }
    assert {name: rows[name].flops for name in by_hand} == {name: 2 * macs for name, macs in by_hand.items()}
    assert total_flops(lenet5(), 32, in_channels=1) == 2 * sum(by_hand.values())
