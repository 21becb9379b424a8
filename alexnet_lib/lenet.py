"""LeNet-5 as in LeCun, Bottou, Bengio & Haffner (1998), §II.B: AlexNet's ancestor (notebook 08).

Gradient-based learning applied to document recognition, Proc. IEEE 86(11). The paper's own layer
names (C1, S2, C3, S4, C5, F6) become ``c1`` .. ``f6``; a 1x32x32 grey image goes in. The counts
below are the paper's (quoted in several secondary copies; see docs/sources_after_alexnet.md, where
the PDF itself is marked as not yet read): C1 156, S2 12, C3 1,516, S4 32, C5 48,120, F6 10,164
trainable parameters, 60,000 in all.

Faithful where it is cheap:

- S2 and S4 add the four inputs of each 2x2 block, multiply the sum by a trainable coefficient and
  add a trainable bias, one of each per map (``Subsampling``), then squash.
- C3's output maps each see a subset of S2's maps (Table I), so C3 has 1,516 parameters, not 2,416
  (``PartialConv2d``: only the connected 5x5 kernels are stored).
- The squashing function is the paper's scaled tanh, f(a) = A tanh(S a) with A = 1.7159 and
  S = 2/3 (its Appendix A; read in secondary copies only), after every layer up to F6.

Deviations from the paper:

1. The output layer: the paper's 10 Euclidean RBF units, whose weights are fixed by hand and not
   counted among its 60,000 free parameters, become a trained ``nn.Linear(84, num_classes)``
   (850 parameters more at 10 classes), so the net trains with the course's cross-entropy loss.
2. Initialisation: PyTorch's defaults for C1, C5, F6 and the output layer, C3 alike (uniform in
   +-1/sqrt(fan-in)), and S2/S4 start as an average (coefficient 1/4, bias 0); not the paper's.
3. C3's connection table: Table I itself was not read. The rationale quoted from §II.B ("the first
   six C3 feature maps take inputs from every contiguous subsets of three feature maps in S2, the
   next six from every contiguous subset of four, the next three from some discontinuous subsets of
   four, the last one from all") is; ``C3_TABLE`` is the pattern as it is commonly reproduced,
   contiguous counted round the six maps (map 4 sees 4, 5, 0).
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

# Table I as commonly reproduced: which of S2's 6 maps each of C3's 16 maps sees.
C3_TABLE: tuple[tuple[int, ...], ...] = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (0, 4, 5), (0, 1, 5),  # 3 contiguous
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (0, 3, 4, 5), (0, 1, 4, 5), (0, 1, 2, 5),  # 4 contiguous
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),  # 4 not contiguous
    (0, 1, 2, 3, 4, 5),  # all six
)  # fmt: skip


class ScaledTanh(nn.Module):
    """The paper's squashing function, A tanh(S a), with A = 1.7159 and S = 2/3."""

    def __init__(self, amplitude: float = 1.7159, slope: float = 2 / 3) -> None:
        super().__init__()
        self.amplitude, self.slope = amplitude, slope

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.amplitude * torch.tanh(self.slope * x)

    def extra_repr(self) -> str:
        return f"amplitude={self.amplitude}, slope={self.slope:.4g}"


class Subsampling(nn.Module):
    """S2 and S4: each 2x2 block's four inputs added, times a trainable coefficient, plus a trainable bias, per map."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.full((channels,), 0.25))  # starts as an average (deviation 2)
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sums = 4 * F.avg_pool2d(x, 2)  # the four inputs added; stride 2, no overlap
        return sums * self.weight[:, None, None] + self.bias[:, None, None]

    def weight_flops(self, output: torch.Tensor) -> int:
        """One multiply-add (2 FLOPs) per output: the coefficient; the four-input sums are left out, as pooling is."""
        return 2 * output.shape[-3:].numel()

    def extra_repr(self) -> str:
        return f"channels={self.weight.numel()}"


class PartialConv2d(nn.Module):
    """A convolution in which output map j sees only the input maps ``table[j]`` (C3 and Table I).

    Only the connected kernels are parameters (``weight``: one k x k kernel per connection), so every
    parameter is trainable and the count is the paper's; ``kernel()`` lays them out as an ordinary
    out x in x k x k conv kernel, zero where the table has no connection.
    """

    def __init__(self, in_channels: int, table: tuple[tuple[int, ...], ...], kernel_size: int) -> None:
        super().__init__()
        connected = torch.zeros(len(table), in_channels, dtype=torch.bool)
        for out_map, in_maps in enumerate(table):
            connected[out_map, list(in_maps)] = True
        self.register_buffer("connected", connected, persistent=False)  # a constant, kept out of checkpoints
        self.kernel_size = kernel_size
        self.weight = nn.Parameter(torch.empty(int(connected.sum()), kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.empty(len(table)))
        # PyTorch's conv init (uniform in +-1/sqrt(fan-in)), with each map's own fan-in
        maps_seen = connected.sum(1)
        bound = (maps_seen * kernel_size**2).float().rsqrt()  # one per output map
        with torch.no_grad():
            self.weight.uniform_(-1, 1).mul_(bound.repeat_interleave(maps_seen)[:, None, None])
            self.bias.uniform_(-1, 1).mul_(bound)

    def kernel(self) -> torch.Tensor:
        """The full out x in x k x k kernel: the connected kernels in place, zeros elsewhere."""
        k = self.kernel_size
        full = self.weight.new_zeros(*self.connected.shape, k, k)
        full[self.connected] = self.weight  # row by row, in the table's order
        return full

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.kernel(), self.bias)

    def weight_flops(self, output: torch.Tensor) -> int:
        """2 FLOPs per multiply-add, connected kernels only: 2 * H_out * W_out * connections * k * k."""
        return 2 * output.shape[-2:].numel() * self.weight.numel()

    def extra_repr(self) -> str:
        out_maps, in_maps = self.connected.shape
        return f"{in_maps}, {out_maps}, kernel_size={self.kernel_size}, connections={int(self.connected.sum())}"


def lenet5(num_classes: int = 10) -> nn.Sequential:
    """LeNet-5 (LeCun et al., 1998, §II.B) for 1x32x32 images, its stages named after the paper's layers."""
    return nn.Sequential(
        OrderedDict(
            [
                ("c1", nn.Conv2d(1, 6, kernel_size=5)),  # 6x28x28, 156 parameters
                ("squash1", ScaledTanh()),
                ("s2", Subsampling(6)),  # 6x14x14, 12
                ("squash2", ScaledTanh()),
                ("c3", PartialConv2d(6, C3_TABLE, kernel_size=5)),  # 16x10x10, 1,516 (Table I)
                ("squash3", ScaledTanh()),
                ("s4", Subsampling(16)),  # 16x5x5, 32
                ("squash4", ScaledTanh()),
                ("c5", nn.Conv2d(16, 120, kernel_size=5)),  # 120x1x1, 48,120: a conv, in effect fully connected
                ("squash5", ScaledTanh()),
                ("flatten", nn.Flatten()),  # 120
                ("f6", nn.Linear(120, 84)),  # 84, 10,164
                ("squash6", ScaledTanh()),
                ("output", nn.Linear(84, num_classes)),  # logits; the paper's RBF units (deviation 1)
            ]
        )
    )
