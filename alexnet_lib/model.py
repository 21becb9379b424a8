"""AlexNet as in Krizhevsky, Sutskever & Hinton (2012), §3, in three named variants.

Variants (``alexnet(variant=...)``):

- ``"paper"``: the paper's network on one device (62,378,344 parameters at 1000 classes).
- ``"paper-two-tower"``: the paper's two-GPU layout (Fig. 2) as grouped convolutions:
  conv2, conv4 and conv5 see only their own tower, conv3 and the FC layers see both
  (60,965,224 parameters, the figure the paper's "60 million" rounds).
- ``"torchvision"``: the layout of ``torchvision.models.alexnet``: 64-192-384-256-256
  channels, no LRN, 61,100,840 parameters. torchvision credits Krizhevsky's 2014 "one weird
  trick" paper, whose footnote gives 64-192-384-384-256 (as quoted in pytorch/vision PRs 463
  and 704); conv4's 256 comes from cuda-convnet2's ``layers/layers-imagenet-1gpu.cfg`` by way
  of a Torch re-implementation, and was kept so the published weights load. Its dropout
  zeroes the inputs of fc6 and fc7 (pool5's features and fc6's outputs), not the outputs of
  fc6 and fc7 as §4.2 and the paper variants do (pytorch/vision issue 549).
  Its ``load_state_dict`` accepts torchvision's keys, so the official ImageNet weights load.

Layers carry the paper's names (``conv1``..``conv5``, ``fc6``..``fc8``) with their ReLU,
LRN, pooling and dropout beside them (``relu1``, ``norm1``, ``pool1``, ``drop6``...), so
``model.conv1.weight`` is the Fig. 3 filter bank and hooks can be put on any stage. The
ReLUs are not in-place, so a hook on ``conv1`` sees the map before its ReLU.

224 or 227? The paper says 224x224x3 inputs, but an 11x11 kernel at stride 4 only gives
the 55x55 maps of Fig. 2 from 227 pixels: (227 - 11) / 4 + 1 = 55, while 224 gives 54.25.
The paper net therefore takes 227x227. torchvision pads conv1 by 2 and takes 224.

Deviations from the paper, each taught in notebook 01:

1. Two towers are grouped convolutions on one device, not two GTX 580s (§3.2). Same
   arithmetic and connectivity; conv1 needs no grouping since both towers see the image.
2. The default initialisation is Kaiming (He et al., 2015), not the paper's zero-mean
   Gaussian with standard deviation 0.01 and biases of 1 (§5). The paper's init needs its
   90-epoch schedule; with short runs it stays at chance. ``init="paper"`` gives the original.
3. An adaptive average pool to 6x6 before fc6 (torchvision does the same). At 227 pixels
   it is the identity; it lets the quick profile feed smaller images to the same weights.
4. ``in_channels`` may be 1 for grey datasets (Fashion-MNIST); the paper has RGB only.

Options for the ablations of notebook 07 and the successors of notebook 08 (the defaults are the paper):

- ``activation="tanh"`` puts tanh where the paper has ReLUs (§3.1, Fig. 1); nothing else changes,
  not even the initialisation, so the two nets differ in the non-linearity alone.
- ``norm``: ``"lrn"``, the paper's ``norm1`` and ``norm2`` (§3.3); ``"none"`` removes them;
  ``"batch"`` puts batch norm (``bn1``..``bn5``) after every conv, before its non-linearity, and
  drops the convs' biases (Ioffe & Szegedy, 2015: a successor, not the paper). ``None`` is the
  variant's own (the paper variants have LRN, torchvision's has none).
- ``pool="adjacent"`` pools 2x2 at stride 2 (z = s = 2) instead of the paper's overlapping 3x3 at
  stride 2 (§3.4). At 227 pixels the maps keep their sizes (55 -> 27 -> 13 -> 6 either way).
- ``head="gap"`` replaces everything after ``pool5`` (fc6, fc7, fc8 and their dropout) by global
  average pooling and one linear layer from conv5's 256 channels to the classes (Lin et al., 2013,
  Network in Network; GoogLeNet): a successor, not the paper. ``"fc"`` is the paper's head.
- ``filters``: ``"paper"``, §3.5's conv1 (11x11 at stride 4) and conv2 (5x5); ``"zfnet"``, conv1 7x7 at
  stride 2 and conv2 at stride 2 (Zeiler & Fergus, 2013, §4.1, §5.1), padded so that the maps are the
  paper's from pool2 on; ``"vgg"``, conv2's 5x5 as two 3x3 convs with a ReLU between (``conv2a``,
  ``relu2a``, ``conv2``; Simonyan & Zisserman, 2014, §2.3). Successors, not the paper.
- ``blocks``: that many extra blocks of two 3x3 convs at 256 channels (``block1``, ``block2``...) between
  ``relu5`` and ``pool5``; ``residual=True`` adds each block's input to its output before its last ReLU
  (He et al., 2015, §3.2), ``False`` is the plain twin with the same layers and parameters. A successor,
  not the paper; ``blocks=0`` (no extra block) is the paper.

``filters`` and ``blocks`` are for the one-device ``"paper"`` variant only (``successors_problem``).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Literal, get_args

import torch
import torch.nn.functional as F
from torch import nn

Variant = Literal["paper", "paper-two-tower", "torchvision"]
Init = Literal["kaiming", "paper", "torchvision"]
Activation = Literal["relu", "tanh"]
Pool = Literal["overlap", "adjacent"]
Norm = Literal["lrn", "batch", "none"]
Head = Literal["fc", "gap"]
Filters = Literal["paper", "zfnet", "vgg"]

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh}  # §3.1, Fig. 1
POOLS: dict[str, tuple[int, int]] = {"overlap": (3, 2), "adjacent": (2, 2)}  # §3.4: (z, s)
NORMS = get_args(Norm)  # §3.3's LRN, its successor batch norm (notebook 08), neither
HEADS = get_args(Head)  # the paper's fc6-fc7-fc8, or global average pooling and one linear layer (notebook 08)
FILTERS = get_args(Filters)  # the paper's conv1 and conv2, ZFNet's, or VGG's two 3x3 for conv2 (notebook 08)


@dataclass(frozen=True)
class VariantInfo:
    """What a variant is: its input size, the smallest input it accepts, a one-line description."""

    input_size: int
    smallest_input: int  # below this, pool5 has no pixel left
    description: str


VARIANTS: dict[str, VariantInfo] = {
    "paper": VariantInfo(227, 67, "the 2012 paper's network on one device"),
    "paper-two-tower": VariantInfo(227, 67, "the 2012 paper's two-GPU layout, as grouped convolutions"),
    "torchvision": VariantInfo(224, 63, "torchvision's AlexNet (cuda-convnet2's 1-GPU channels, no LRN)"),
}


class LocalResponseNorm(nn.Module):
    """The paper's local response normalisation (§3.3).

    b[i] = a[i] / (k + alpha * sum_{j=i-n/2}^{i+n/2} a[j]^2) ** beta, over n neighbouring
    channels, with k=2, n=5, alpha=1e-4, beta=0.75.

    This is the formula as §3.3 prints it: alpha multiplies the *sum* of the squares.
    ``nn.LocalResponseNorm`` divides alpha by n (it averages the squares), as Krizhevsky's own
    cuda-convnet2 does (``layer.py``: ``dic['scale'] /= dic['size']``), so
    ``nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2)`` is the code's reading of the
    paper's constants, its alpha term five times smaller than the text's; the text's needs
    ``alpha=5e-4`` there. This module sums, as the text says (notebook 01, section 4).

    The window sum is a 1x1 convolution with a fixed 0/1 band matrix: one matrix product,
    fast on any device. With ``groups=2`` the matrix is block-diagonal, so channels never
    see squares from the other tower (each GPU normalised its own maps in the paper).
    """

    def __init__(
        self,
        channels: int,
        size: int = 5,
        alpha: float = 1e-4,
        beta: float = 0.75,
        k: float = 2.0,
        groups: int = 1,
    ) -> None:
        super().__init__()
        if channels % groups:
            raise ValueError(f"{channels} channels do not split into {groups} groups")
        self.size, self.alpha, self.beta, self.k, self.groups = size, alpha, beta, k, groups
        index = torch.arange(channels)
        near = (index[:, None] - index[None, :]).abs() <= size // 2
        same_group = (index[:, None] // (channels // groups)) == (index[None, :] // (channels // groups))
        band = (near & same_group).float()[:, :, None, None]
        # Not persistent: it is a constant, and keeping it out of the state dict keeps the
        # checkpoints and the torchvision key mapping clean.
        self.register_buffer("band", band, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Squares summed in float32 at least: in float16 a square overflows above 256.
        with torch.autocast(x.device.type, enabled=False):
            squares = x.to(torch.promote_types(x.dtype, torch.float32)).square()
            window_sum = F.conv2d(squares, self.band.to(squares.dtype))
            scale = (self.k + self.alpha * window_sum).pow(-self.beta)
        return (x * scale).to(x.dtype)

    def extra_repr(self) -> str:
        return f"size={self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}, groups={self.groups}"


@dataclass(frozen=True)
class Options:
    """The switches of notebooks 07 and 08: the non-linearity, the normalisation, the pooling, the head, the
    first filters, the extra blocks and their shortcuts."""

    activation: Activation = "relu"
    norm: Norm = "lrn"
    pool: Pool = "overlap"
    head: Head = "fc"
    filters: Filters = "paper"  # conv1 and conv2: the paper's, ZFNet's or VGG's (notebook 08)
    blocks: int = 0  # extra two-conv blocks after conv5 (He et al. 2015; notebook 08); 0: the paper
    residual: bool = False  # a shortcut round each extra block (ResNet), or none (the plain twin)

    def act(self) -> nn.Module:
        return ACTIVATIONS[self.activation]()

    def pooling(self) -> nn.MaxPool2d:
        size, stride = POOLS[self.pool]
        return nn.MaxPool2d(kernel_size=size, stride=stride)

    def conv(self, *args: Any, **kwargs: Any) -> nn.Conv2d:
        """A convolution; before batch norm without a bias: the norm subtracts the batch mean, which cancels
        any constant a bias adds, and its own shift (beta) does the bias's job."""
        return nn.Conv2d(*args, bias=self.norm != "batch", **kwargs)


def _normalised(layers: list[tuple[str, nn.Module]], options: Options) -> OrderedDict:
    """The stages in order with ``options.norm``'s normalisation: the LRN stages kept ("lrn") or dropped;
    for "batch", a ``BatchNorm2d`` after every conv, before its non-linearity.

    Batch norm is a successor (Ioffe & Szegedy, 2015; notebook 08), not the paper: "we add the BN
    transform immediately before the nonlinearity" (their §3.2), so ``bn1`` sits between ``conv1``
    and ``relu1``, and there is no LRN.
    """
    stages = OrderedDict()
    for name, layer in layers:
        if isinstance(layer, LocalResponseNorm) and options.norm != "lrn":
            continue
        stages[name] = layer
        if isinstance(layer, nn.Conv2d) and options.norm == "batch":
            stages[name.replace("conv", "bn")] = nn.BatchNorm2d(layer.out_channels)
    return stages


class BasicBlock(nn.Module):
    """He et al.'s basic block (2015, §3.2, Fig. 2): two 3x3 convs that keep the channels and the map size, a
    successor's extra depth (notebook 08), not the paper. §4.1: "a shortcut connection is added to each pair of
    3×3 filters".

    ``residual``: y = relu(conv_b(relu(conv_a(x))) + x), "the second nonlinearity after the addition" (§3.2).
    Otherwise y = relu(conv_b(relu(conv_a(x)))): the plain twin, the same layers and parameters without the
    shortcut (§4.1's plain nets). With ``norm="batch"``, ``bn_a`` and ``bn_b`` follow the convs, as He et al.
    "adopt batch normalization (BN) right after each convolution and before activation" (§3.4), and the convs
    have no bias (``Options.conv``).
    """

    def __init__(self, channels: int, options: Options) -> None:
        super().__init__()
        self.residual, self.batch_norm = options.residual, options.norm == "batch"
        self.conv_a = options.conv(channels, channels, kernel_size=3, padding=1)
        if self.batch_norm:
            self.bn_a = nn.BatchNorm2d(channels)
        self.relu_a = options.act()
        self.conv_b = options.conv(channels, channels, kernel_size=3, padding=1)
        if self.batch_norm:
            self.bn_b = nn.BatchNorm2d(channels)
        self.relu_b = options.act()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv_a(x)
        y = self.relu_a(self.bn_a(y) if self.batch_norm else y)
        y = self.conv_b(y)
        y = self.bn_b(y) if self.batch_norm else y
        return self.relu_b(y + x if self.residual else y)

    def weight_flops(self, output: torch.Tensor) -> int:
        """Both convs' FLOPs for one image (multiply-add = 2, as ``summary.layer_flops`` counts a conv)."""
        kh, kw = self.conv_a.kernel_size
        return 2 * (2 * output.shape[-3:].numel() * self.conv_a.in_channels * kh * kw)

    def extra_repr(self) -> str:
        return f"residual={self.residual}"


def _conv1(in_channels: int, options: Options) -> nn.Conv2d:
    """§3.5's 96 kernels of 11x11 at stride 4 (96x55x55 at 227), or ZFNet's 7x7 at stride 2 (96x112x112).

    Zeiler & Fergus §4.1: "we (i) reduced the 1st layer filter size from 11x11 to 7x7 and (ii) made the stride
    of the convolution 2, rather than 4" (stride 4 left aliasing in the 2nd layer's features, their Fig. 6).
    The padding of 1 is ours: (227 + 2 - 7) // 2 + 1 = 112, pooled to 55x55, the size of the maps their Fig. 3
    gives after layer 1.
    """
    if options.filters == "zfnet":
        return options.conv(in_channels, 96, kernel_size=7, stride=2, padding=1)
    return options.conv(in_channels, 96, kernel_size=11, stride=4)


def _conv2(towers: int, options: Options) -> list[tuple[str, nn.Module]]:
    """§3.5's conv2: 256 kernels of 5x5 (256x27x27), at stride 2 for ZFNet (256x28x28, so pool2 gives the
    paper's 13x13), or VGG's stack of two 3x3 convs.

    ZFNet §5.1: "stride 2 convolutions in layers 1 & 2"; the padding of 2 is the paper's. What ZFNet did besides,
    not copied here: a 224x224 crop (Fig. 3), contrast normalisation across feature maps after each pool (Fig. 3;
    ours keeps the paper's LRN after the ReLU), and renormalising "each filter in the convolutional layers whose
    RMS value exceeds a fixed radius of 10^-1 to this fixed radius" (§3).

    VGG §2.3: "a stack of two 3x3 conv. layers (without spatial pooling in between) has an effective receptive
    field of 5x5", with a ReLU more. The first conv of the stack changes the width, 96 -> 256, as the first conv
    after each pool does in VGG's Table 1; the second keeps conv2's name, so relu2, norm2 and pool2 follow it as
    before. Parameters: the paper's conv2 has 96*256*25 + 256 = 614,656; the stack 96*256*9 + 256 + 256*256*9
    + 256 = 221,440 + 590,080 = 811,520, more, since the width changes inside it. §2.3's saving (three 3x3
    have 27C² weights, one 7x7 49C²; two 3x3 18C², one 5x5 25C²) holds for C -> C.
    """
    conv = options.conv
    if options.filters == "vgg":
        return [
            ("conv2a", conv(96, 256, kernel_size=3, padding=1)),  # 256x27x27
            ("relu2a", options.act()),
            ("conv2", conv(256, 256, kernel_size=3, padding=1)),  # 256x27x27
        ]
    stride = 2 if options.filters == "zfnet" else 1
    return [("conv2", conv(96, 256, kernel_size=5, stride=stride, padding=2, groups=towers))]


def _blocks(options: Options) -> list[tuple[str, nn.Module]]:
    """``options.blocks`` basic blocks at conv5's 256 channels (256x13x13), ``block1`` first."""
    return [(f"block{i}", BasicBlock(256, options)) for i in range(1, options.blocks + 1)]


def _gap_head(channels: int, num_classes: int) -> list[tuple[str, nn.Module]]:
    """Global average pooling, then one linear layer: a successor's head (notebook 08), not the paper's.

    Network in Network (Lin et al., 2013) ends with a conv of ``num_classes`` maps and averages each
    map; a 1x1 conv then an average equals the average then a linear layer, so the linear layer is
    used here: its parameter count is plainly channels x classes + classes.
    """
    return [
        ("gap", nn.AdaptiveAvgPool2d(1)),  # channels x 1 x 1, at any input size
        ("flatten", nn.Flatten()),  # channels
        ("fc8", nn.Linear(channels, num_classes)),  # the logits, under fc8's name (its init, hooks)
    ]


def _paper_layers(in_channels: int, num_classes: int, towers: int, dropout: float, options: Options) -> OrderedDict:
    """The paper's Fig. 2, stage by stage; shapes for a 3x227x227 input."""
    act, pool, conv = options.act, options.pooling, options.conv
    g = towers  # conv2, conv4, conv5 only see their own tower (§3.2)
    features = [
        ("conv1", _conv1(in_channels, options)),  # 96x55x55 (zfnet: 96x112x112)
        ("relu1", act()),  # §3.1 ReLU after every conv and hidden FC layer (or tanh, Fig. 1)
        ("norm1", LocalResponseNorm(96, groups=g)),  # §3.3 after the ReLU of conv1
        ("pool1", pool()),  # 96x27x27, §3.4 z=3 > s=2 (or z=s=2); zfnet: 96x55x55
        *_conv2(g, options),  # 256x27x27 (zfnet: 256x28x28; vgg: conv2a, relu2a, conv2)
        ("relu2", act()),
        ("norm2", LocalResponseNorm(256, groups=g)),  # and of conv2, nowhere else
        ("pool2", pool()),  # 256x13x13
        ("conv3", conv(256, 384, kernel_size=3, padding=1)),  # 384x13x13, both towers
        ("relu3", act()),
        ("conv4", conv(384, 384, kernel_size=3, padding=1, groups=g)),  # 384x13x13
        ("relu4", act()),
        ("conv5", conv(384, 256, kernel_size=3, padding=1, groups=g)),  # 256x13x13
        ("relu5", act()),
        *_blocks(options),  # 256x13x13 each (none in the paper)
        ("pool5", pool()),  # 256x6x6
    ]
    head = (
        [
            ("avgpool", nn.AdaptiveAvgPool2d((6, 6))),  # identity at 227 (deviation 3)
            ("flatten", nn.Flatten()),  # 9216
            ("fc6", nn.Linear(256 * 6 * 6, 4096)),  # 4096
            ("relu6", act()),
            ("drop6", nn.Dropout(dropout)),  # §4.2: zeroes the outputs of fc6 (after its ReLU)...
            ("fc7", nn.Linear(4096, 4096)),  # 4096
            ("relu7", act()),
            ("drop7", nn.Dropout(dropout)),  # ...and of fc7
            ("fc8", nn.Linear(4096, num_classes)),  # logits: no ReLU, softmax is in the loss
        ]
        if options.head == "fc"
        else _gap_head(256, num_classes)
    )
    return _normalised(features + head, options)


def _torchvision_layers(in_channels: int, num_classes: int, dropout: float, options: Options) -> OrderedDict:
    """torchvision's AlexNet; shapes for a 3x224x224 input (it has no LRN to switch off)."""
    act, pool, conv = options.act, options.pooling, options.conv
    features = [
        ("conv1", conv(in_channels, 64, kernel_size=11, stride=4, padding=2)),  # 64x55x55
        ("relu1", act()),
        ("pool1", pool()),  # 64x27x27
        ("conv2", conv(64, 192, kernel_size=5, padding=2)),  # 192x27x27
        ("relu2", act()),
        ("pool2", pool()),  # 192x13x13
        ("conv3", conv(192, 384, kernel_size=3, padding=1)),  # 384x13x13
        ("relu3", act()),
        ("conv4", conv(384, 256, kernel_size=3, padding=1)),  # 256x13x13 (cuda-convnet2 1-GPU; paper: 384)
        ("relu4", act()),
        ("conv5", conv(256, 256, kernel_size=3, padding=1)),  # 256x13x13
        ("relu5", act()),
        ("pool5", pool()),  # 256x6x6
    ]
    head = (
        [
            ("avgpool", nn.AdaptiveAvgPool2d((6, 6))),
            ("flatten", nn.Flatten()),  # 9216
            ("drop5", nn.Dropout(dropout)),  # torchvision drops fc6's inputs (pool5's features)...
            ("fc6", nn.Linear(256 * 6 * 6, 4096)),
            ("relu6", act()),
            ("drop6", nn.Dropout(dropout)),  # ...and fc7's (fc6's outputs); fc7's outputs reach fc8 undropped
            ("fc7", nn.Linear(4096, 4096)),
            ("relu7", act()),
            ("fc8", nn.Linear(4096, num_classes)),
        ]
        if options.head == "fc"
        else _gap_head(256, num_classes)
    )
    return _normalised(features + head, options)


# torchvision's index-addressed keys and the paper's names for the same layers.
TORCHVISION_KEYS = {
    "features.0": "conv1",
    "features.3": "conv2",
    "features.6": "conv3",
    "features.8": "conv4",
    "features.10": "conv5",
    "classifier.1": "fc6",
    "classifier.4": "fc7",
    "classifier.6": "fc8",
}


class AlexNet(nn.Sequential):
    """AlexNet as a sequence of named stages: ``model.conv1``, ``model.norm1``, ``model.fc8``."""

    def __init__(self, layers: OrderedDict, variant: str, options: Options | None = None) -> None:
        super().__init__(layers)
        self.variant = variant
        self.options = options or Options()
        self.input_size = VARIANTS[variant].input_size
        self.register_load_state_dict_pre_hook(_rename_torchvision_keys)

    def __getitem__(self, index: int | slice | str) -> nn.Module:
        """``model[:5]`` is a plain ``nn.Sequential`` of those stages (a slice has no variant of its own);
        ``model["conv1"]`` and ``model[0]`` are one stage."""
        if isinstance(index, str):
            return self._modules[index]
        if isinstance(index, slice):
            return nn.Sequential(OrderedDict(list(self._modules.items())[index]))
        return super().__getitem__(index)

    def extra_repr(self) -> str:
        return f"variant={self.variant!r}, input_size={self.input_size}, {self.options}"


def _rename_torchvision_keys(module: nn.Module, state_dict: dict[str, Any], prefix: str, *_: Any) -> None:
    """Let ``load_state_dict`` take torchvision's keys (``features.0.weight`` -> ``conv1.weight``)."""
    for key in list(state_dict):
        if not key.startswith(prefix):
            continue
        layer, _, param = key[len(prefix) :].rpartition(".")
        if layer in TORCHVISION_KEYS:
            state_dict[prefix + TORCHVISION_KEYS[layer] + "." + param] = state_dict.pop(key)


def init_weights(model: nn.Module, init: Init = "kaiming") -> None:
    """Initialise ``model`` in place.

    - ``"paper"`` (§5): weights from a zero-mean Gaussian with std 0.01; biases 1 in conv2,
      conv4, conv5, fc6 and fc7 ("this accelerates the early stages of learning by providing
      the ReLUs with positive inputs"), 0 elsewhere.
    - ``"kaiming"``: He et al. (2015) normal init for ReLU layers, zero biases, and a small
      zero-mean Gaussian with std 0.01 for the logits. Activations keep their scale through all
      eight layers, so short runs learn from the first step.
    - ``"torchvision"``: PyTorch's default layer init, as ``torchvision.models.alexnet`` uses.
    """
    if init not in ("kaiming", "paper", "torchvision"):
        raise ValueError(f"unknown init {init!r}; choose 'kaiming', 'paper' or 'torchvision'")
    for name, layer in model.named_children():
        if isinstance(layer, BasicBlock):  # a successor's block: its two convs as the convs beside it (biases 0)
            _init_layer(layer.conv_a, name, init)
            _init_layer(layer.conv_b, name, init)
        elif isinstance(layer, (nn.Conv2d, nn.Linear)):
            _init_layer(layer, name, init)


def _init_layer(layer: nn.Conv2d | nn.Linear, name: str, init: Init) -> None:
    """One conv or linear layer of stage ``name``, as ``init_weights`` says."""
    if init == "torchvision":
        layer.reset_parameters()
        return
    if init == "paper":
        nn.init.normal_(layer.weight, mean=0.0, std=0.01)
        bias = 1.0 if name in ("conv2", "conv4", "conv5", "fc6", "fc7") else 0.0
    elif name == "fc8":
        nn.init.normal_(layer.weight, mean=0.0, std=0.01)
        bias = 0.0
    else:
        nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
        bias = 0.0
    if layer.bias is not None:  # a conv before batch norm has none
        nn.init.constant_(layer.bias, bias)


def alexnet(
    variant: Variant = "paper",
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    init: Init | None = None,
    dropout: float = 0.5,
    activation: Activation = "relu",
    norm: Norm | None = None,
    pool: Pool = "overlap",
    head: Head = "fc",
    filters: Filters = "paper",
    blocks: int = 0,
    residual: bool = False,
) -> AlexNet:
    """Build an AlexNet variant: ``"paper"``, ``"paper-two-tower"`` or ``"torchvision"``.

    ``init`` defaults to ``"kaiming"`` for the paper variants and ``"torchvision"`` for the
    torchvision one; pass ``init="paper"`` for the 2012 recipe. ``activation``, ``norm``, ``pool``,
    ``head``, ``filters``, ``blocks`` and ``residual`` are the options of notebooks 07 and 08 (see the
    module docstring); the defaults are the paper (``norm=None``: the variant's own).
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    if num_classes < 1 or in_channels < 1:
        raise ValueError("num_classes and in_channels must be positive")
    if activation not in ACTIVATIONS or pool not in POOLS:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)} and pool one of {', '.join(POOLS)}")
    if norm not in (None, *NORMS) or head not in HEADS:
        raise ValueError(f"norm must be one of {', '.join(NORMS)} and head one of {', '.join(HEADS)}")
    if variant == "torchvision" and norm == "lrn":
        raise ValueError("torchvision's AlexNet has no LRN to switch on; use a paper variant")
    problem = successors_problem(variant, filters, blocks, residual)
    if problem:
        raise ValueError(problem)
    own_norm = "none" if variant == "torchvision" else "lrn"
    options = Options(activation, norm or own_norm, pool, head, filters, blocks, residual)
    if variant == "torchvision":
        layers = _torchvision_layers(in_channels, num_classes, dropout, options)
    else:
        towers = 2 if variant == "paper-two-tower" else 1
        layers = _paper_layers(in_channels, num_classes, towers, dropout, options)
    model = AlexNet(layers, variant, options)
    init_weights(model, init or ("torchvision" if variant == "torchvision" else "kaiming"))
    return model


def successors_problem(variant: str, filters: str, blocks: int, residual: bool) -> str | None:
    """Why ``filters``, ``blocks`` or ``residual`` do not fit ``variant``, in one line, or None."""
    if filters not in FILTERS:
        return f"filters must be one of {', '.join(FILTERS)}; got {filters!r}"
    if isinstance(blocks, bool) or not isinstance(blocks, int) or blocks < 0:
        return f"blocks must be a whole number, 0 or more; got {blocks!r}"
    if not isinstance(residual, bool):
        return f"residual must be True or False; got {residual!r}"
    if residual and not blocks:
        return "residual needs blocks (say blocks=4): the shortcuts go round the extra blocks, and there are none"
    if variant != "paper" and filters != "paper":
        return f"filters={filters!r} is for the one-device paper variant, not {variant}"
    if variant != "paper" and blocks:
        return f"blocks={blocks} is for the one-device paper variant, not {variant}"
    return None


def count_parameters(model: nn.Module) -> int:
    """The number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """The side of a conv or pool output: floor((size + 2*padding - kernel) / stride) + 1."""
    return math.floor((size + 2 * padding - kernel) / stride) + 1
