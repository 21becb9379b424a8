"""The CIFAR-10 nets of the paper's footnote 3: cuda-convnet's example layer files, in PyTorch (notebook 07).

§3.3 of the paper: "a four-layer CNN achieved a 13% test error rate without normalization and
11% with normalization" on CIFAR-10, footnote 3 pointing at cuda-convnet's example files. They
are read here from the GitHub mirror ``dnouri/cuda-convnet`` (the Google Code original is gone),
``example-layers/``:

- ``"cuda-convnet-18pct"``: ``layers-18pct.cfg`` + ``layer-params-18pct.cfg`` ("18% error on
  CIFAR-10 in 20 minutes"): three 5x5 convolutions (32, 32, 64 maps) and one FC layer: the
  four-layer net we use for Fig. 1 (the paper does not say which four-layer net Fig. 1 used).
- ``"cuda-convnet-conv-local"``: ``layers-conv-local-13pct.cfg`` (``norm="none"``, 13%) and
  ``layers-conv-local-11pct.cfg`` (``norm="lrn"``, 11%): two convolutions (64, 64), two locally
  connected layers (32, 32, unshared weights) and one FC layer; the 11% file adds two cross-map
  response normalisations (``cmrnorm``) and is otherwise the same, as are their params files.

Read from cuda-convnet's source (``layer.py``, ``src/cudaconv2/conv_util.cu``, ``src/layer.cu``):

- ``rnorm`` (the 18% net) normalises *within* a map over a size x size patch, ``cmrnorm`` (the
  11% net) *across* maps like the paper's §3.3. Both compute a / (1 + scale/N * sum a^2)^pow:
  k = 1, and the file's ``scale`` divided by N = size^2 (rnorm) or size (cmrnorm)
  (``layer.py`` ``NormLayerParser.add_params``; ``conv_util.cu``: ``1 + addScale * ...``).
  §3.3's LRN as the paper prints it (``model.LocalResponseNorm``) is cmrnorm with k = 2 and
  alpha not divided by n; cuda-convnet2's ImageNet files keep the division (notebook 01, section 4).
- Pools: ``outputsX = ceil((imgSize - sizeX) / stride) + 1`` (``layer.py`` ``PoolLayerParser``),
  which is PyTorch's ``ceil_mode=True``: 32 -> 16 -> 8 -> 4 and 24 -> 12 -> 6.
- Weights N(0, initW^2), biases 0 (``initB`` defaults to 0). Updates: inc = mom * inc - eps *
  (mean gradient + wc * W) (``layer.cu`` divides eps by numCases; biases get wc = 0), which is
  ``torch.optim.SGD`` with lr = epsW (2x for biases: epsB) and weight_decay = wc per layer:
  ``param_groups`` below.
- The data: pixels 0..255 minus the mean image (``convdata.py`` ``CIFARDataProvider``), which
  is why conv1's initW is 1e-4. The 13%/11% nets take random 24x24 crops, flipped half the time
  (``CroppedCIFARDataProvider``); the 18% net the whole 32x32 image.

Deviations, each named in notebook 07:

1. Our datasets normalise each channel by its mean and std; the first stage (``scale``)
   multiplies by 255 x std again, so the net sees mean-subtracted 0..255 pixels as cuda-convnet's
   did, but with the per-channel mean subtracted, not the per-pixel mean image.
2. The 11% file's recipe (train on batches 1-4, fold in batch 5 after ~300 epochs, ~150 more,
   then two lr drops, then 10-view testing) is far beyond a CPU session; the runs here are
   shorter and say how long they were, and test on the centre crop.
3. ``activation="tanh"`` replaces each ``neuron=relu`` (for Fig. 1); ``norm="none"`` on the 18%
   net drops its two ``rnorm`` layers, on the conv-local net it gives the 13% file. Notebook 08's
   batch norm and GAP head are the paper net's options only: these nets keep their files' layers.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .errors import CourseError
from .model import ACTIVATIONS, VARIANTS, LocalResponseNorm, Options, alexnet, successors_problem


@dataclass(frozen=True)
class CifarNetInfo:
    """A footnote-3 net: its input side, its files, and each layer's (initW, wc) from them."""

    input_size: int
    files: str
    init_and_decay: dict[str, tuple[float, float]]
    description: str


CIFAR_NETS: dict[str, CifarNetInfo] = {
    "cuda-convnet-18pct": CifarNetInfo(
        32,
        "layers-18pct.cfg, layer-params-18pct.cfg",
        # initW from layers-18pct.cfg, wc from layer-params-18pct.cfg (fc10's wc=1 is in the file)
        {"conv1": (1e-4, 0.004), "conv2": (0.01, 0.004), "conv3": (0.01, 0.004), "fc10": (0.01, 1.0)},
        "cuda-convnet's 18% net: 3 convs + 1 FC on 32x32 (Fig. 1's four-layer net here)",
    ),
    "cuda-convnet-conv-local": CifarNetInfo(
        24,
        "layers-conv-local-13pct.cfg / -11pct.cfg (cmrnorm), layer-params-conv-local-13pct.cfg / -11pct.cfg",
        {  # conv1, conv2 wc=0.00; local3, local4, fc10 wc=0.004 in both params files
            "conv1": (1e-4, 0.0),
            "conv2": (0.01, 0.0),
            "local3": (0.04, 0.004),
            "local4": (0.04, 0.004),
            "fc10": (0.01, 0.004),
        },
        "cuda-convnet's 13% net (no LRN) / 11% net (LRN): 2 convs, 2 locally connected, 1 FC on 24x24 crops",
    ),
}


class SpatialResponseNorm(nn.Module):
    """cuda-convnet's ``rnorm``: a / (1 + scale/size^2 * sum of a^2 over a size x size patch of the same map)^pow."""

    def __init__(self, size: int, scale: float, power: float) -> None:
        super().__init__()
        self.size, self.scale, self.power = size, scale, power

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # avg_pool counts the zero padding, so avg * size^2 is the sum over the in-image patch
        window_sum = F.avg_pool2d(x.square(), self.size, stride=1, padding=self.size // 2) * self.size**2
        return x * (1 + self.scale / self.size**2 * window_sum).pow(-self.power)

    def extra_repr(self) -> str:
        return f"size={self.size}, scale={self.scale}, pow={self.power}"


class LocallyConnected2d(nn.Module):
    """cuda-convnet's ``local`` layer: a convolution whose filters are not shared, one bank per output pixel.

    Biases too are per output pixel and map (``layer.py``: ``modules * filters`` biases).
    """

    def __init__(self, in_channels: int, out_channels: int, in_size: int, kernel_size: int, padding: int) -> None:
        super().__init__()
        self.kernel_size, self.padding = kernel_size, padding
        self.out_size = in_size + 2 * padding - kernel_size + 1
        positions, fan_in = self.out_size**2, in_channels * kernel_size**2
        self.weight = nn.Parameter(torch.empty(positions, out_channels, fan_in))
        self.bias = nn.Parameter(torch.zeros(out_channels, self.out_size, self.out_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        patches = F.unfold(x, self.kernel_size, padding=self.padding)  # B x fan_in x positions
        # one matrix product per output pixel: positions x (B x fan_in) @ (fan_in x out)
        out = torch.bmm(patches.permute(2, 0, 1), self.weight.to(patches.dtype).transpose(1, 2))
        return out.permute(1, 2, 0).reshape(x.shape[0], -1, self.out_size, self.out_size) + self.bias


class PixelScale(nn.Module):
    """Undo the per-channel std of our normalisation: cuda-convnet fed mean-subtracted 0..255 pixels (deviation 1)."""

    def __init__(self, pixel_std: tuple[float, ...]) -> None:
        super().__init__()
        self.register_buffer("pixel_std", torch.tensor(pixel_std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.pixel_std.to(x.dtype)


class CifarNet(nn.Sequential):
    """A footnote-3 net as named stages (``model.conv1`` ... ``model.fc10``)."""

    def __init__(self, layers: OrderedDict, variant: str, options: Options) -> None:
        super().__init__(layers)
        self.variant, self.options = variant, options
        self.input_size = CIFAR_NETS[variant].input_size

    def param_groups(self, lr: float, weight_decay: bool) -> list[dict[str, Any]]:
        """SGD groups as the params files set them: lr = epsW (2x for biases, epsB), wc per layer, none on biases."""
        groups = []
        for name, (_, wc) in CIFAR_NETS[self.variant].init_and_decay.items():
            layer = self._modules[name]
            groups.append({"params": [layer.weight], "lr": lr, "weight_decay": wc if weight_decay else 0.0})
            groups.append({"params": [layer.bias], "lr": 2 * lr, "weight_decay": 0.0})
        return groups


def _layers_18pct(in_channels: int, num_classes: int, options: Options, pixel_std: tuple[float, ...]) -> OrderedDict:
    """layers-18pct.cfg, in its order; shapes for a 3x32x32 input."""
    act = ACTIVATIONS[options.activation]
    layers = [
        ("scale", PixelScale(pixel_std)),
        ("conv1", nn.Conv2d(in_channels, 32, 5, padding=2)),  # 32x32x32, no neuron on conv1 itself...
        ("pool1", nn.MaxPool2d(3, 2, ceil_mode=True)),  # 32x16x16, max
        ("act1", act()),  # ...the file puts neuron=relu on pool1 (the same as before it: max commutes with ReLU)
        ("rnorm1", SpatialResponseNorm(3, 0.00005, 0.75)),  # params file: scale=0.00005, pow=.75
        ("conv2", nn.Conv2d(32, 32, 5, padding=2)),  # 32x16x16
        ("act2", act()),
        ("pool2", nn.AvgPool2d(3, 2, ceil_mode=True)),  # 32x8x8, avg
        ("rnorm2", SpatialResponseNorm(3, 0.00005, 0.75)),
        ("conv3", nn.Conv2d(32, 64, 5, padding=2)),  # 64x8x8
        ("act3", act()),
        ("pool3", nn.AvgPool2d(3, 2, ceil_mode=True)),  # 64x4x4, avg
        ("flatten", nn.Flatten()),  # 1024
        ("fc10", nn.Linear(64 * 4 * 4, num_classes)),  # logits; softmax in the loss (logprob)
    ]
    return OrderedDict((n, m) for n, m in layers if options.norm == "lrn" or not n.startswith("rnorm"))


def _layers_conv_local(
    in_channels: int, num_classes: int, options: Options, pixel_std: tuple[float, ...]
) -> OrderedDict:
    """layers-conv-local-11pct.cfg (with cmrnorm) / -13pct.cfg (without); shapes for a 3x24x24 crop."""
    act = ACTIVATIONS[options.activation]

    def cmrnorm() -> LocalResponseNorm:  # size=9, scale=0.001 (params file) / 9, pow=0.75, k=1
        return LocalResponseNorm(64, size=9, alpha=0.001 / 9, beta=0.75, k=1.0)

    layers = [
        ("scale", PixelScale(pixel_std)),
        ("conv1", nn.Conv2d(in_channels, 64, 5, padding=2)),  # 64x24x24
        ("act1", act()),
        ("pool1", nn.MaxPool2d(3, 2, ceil_mode=True)),  # 64x12x12
        ("rnorm1", cmrnorm()),  # 11%: after pool1
        ("conv2", nn.Conv2d(64, 64, 5, padding=2)),  # 64x12x12
        ("act2", act()),
        ("rnorm2", cmrnorm()),  # 11%: after conv2, before pool2
        ("pool2", nn.MaxPool2d(3, 2, ceil_mode=True)),  # 64x6x6
        ("local3", LocallyConnected2d(64, 32, 6, 3, padding=1)),  # 32x6x6, unshared
        ("act3", act()),
        ("local4", LocallyConnected2d(32, 32, 6, 3, padding=1)),  # 32x6x6, unshared
        ("act4", act()),
        ("flatten", nn.Flatten()),  # 1152
        ("fc10", nn.Linear(32 * 6 * 6, num_classes)),  # neuron=ident: logits
    ]
    return OrderedDict((n, m) for n, m in layers if options.norm == "lrn" or not n.startswith("rnorm"))


def cifar_net(
    variant: str,
    *,
    num_classes: int = 10,
    in_channels: int = 3,
    activation: str = "relu",
    norm: str | None = None,
    pool: str = "overlap",
    head: str = "fc",
    filters: str = "paper",
    blocks: int = 0,
    residual: bool = False,
    pixel_std: tuple[float, ...] | None = None,
    **_: Any,
) -> CifarNet:
    """A footnote-3 net, initialised as its layer file says (``N(0, initW^2)``, zero biases).

    Other keywords (``init``, ``dropout``: AlexNet's) are ignored: these nets have their files' own.
    ``norm=None`` or ``"lrn"`` keeps the file's own normalisation (18%: rnorm; conv-local: the 11% file's
    cmrnorm), ``"none"`` drops it; ``"batch"``, ``head="gap"`` and the other successors' options (``filters``,
    ``blocks``, ``residual``) are a ``CourseError`` (``options_problem``).
    ``pixel_std`` is 255 x the dataset's per-channel std (deviation 1); the pools are the files' own.
    """
    if variant not in CIFAR_NETS:
        raise ValueError(f"unknown CIFAR-10 net {variant!r}; choose one of {', '.join(CIFAR_NETS)}")
    if activation not in ACTIVATIONS or pool != "overlap":
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}; the nets' pools are their files' own")
    problem = options_problem(variant, norm, head, filters, blocks, residual)
    if problem:
        raise CourseError(problem)
    pixel_std = pixel_std or (255 * 0.25,) * in_channels  # a checkpoint's own replaces it on loading
    if len(pixel_std) not in (1, in_channels):
        raise ValueError("pixel_std needs one value per input channel")
    options = Options(activation=activation, norm=norm or "lrn")
    build = _layers_18pct if variant == "cuda-convnet-18pct" else _layers_conv_local
    model = CifarNet(build(in_channels, num_classes, options, pixel_std), variant, options)
    for name, (init_w, _) in CIFAR_NETS[variant].init_and_decay.items():
        nn.init.normal_(model._modules[name].weight, std=init_w)
        nn.init.zeros_(model._modules[name].bias)
    return model


def build_net(variant: str, **kwargs: Any) -> nn.Module:
    """Any net the course trains: an AlexNet variant (``model.alexnet``) or a footnote-3 net (``cifar_net``)."""
    if variant in CIFAR_NETS:
        return cifar_net(variant, **kwargs)
    kwargs.pop("pixel_std", None)
    return alexnet(variant, **kwargs)


def options_problem(
    variant: str, norm: str | None, head: str, filters: str = "paper", blocks: int = 0, residual: bool = False
) -> str | None:
    """Why ``norm``, ``head``, ``filters``, ``blocks`` or ``residual`` do not fit ``variant``, or None: a net
    switches only the layers it has (``model.successors_problem`` for the last three)."""
    if variant in CIFAR_NETS and (norm not in (None, "lrn", "none") or head != "fc"):
        return (
            f"{variant} takes norm lrn or none and head fc, its file's own layers; batch norm and the gap head "
            "(notebook 08) are for the paper nets"
        )
    if variant == "torchvision" and norm == "lrn":
        return "norm: torchvision's AlexNet has no LRN to switch on; use variant paper"
    return successors_problem(variant, filters, blocks, residual)


def input_problem(variant: str, image_size: int) -> str | None:
    """Why ``image_size`` does not fit ``variant``, or None."""
    if variant in CIFAR_NETS:
        size = CIFAR_NETS[variant].input_size
        return None if image_size == size else f"image_size must be {size} for {variant}; got {image_size}"
    smallest = VARIANTS[variant].smallest_input
    return (
        None
        if image_size >= smallest
        else f"image_size must be at least {smallest} for a {variant} net; got {image_size}"
    )


ALL_VARIANTS = (*VARIANTS, *CIFAR_NETS)
