"""Layer-by-layer shapes, parameters and FLOPs of a model, by hand arithmetic (notebooks 01 and 08).

FLOPs count a multiply-add as 2 and only the multiply-adds of the weights, as the paper's
arithmetic does: conv = 2 * H_out * W_out * C_out * (C_in / groups) * k * k, linear =
2 * in * out. ReLU, LRN, pooling and bias adds are left out (torchinfo's "mult-adds" also
counts bias adds, so its totals are a fraction of a percent higher). A layer with a
``weight_flops(output)`` method counts its own: LeNet-5's partly connected C3 and its
subsampling layers (``alexnet_lib.lenet``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class LayerInfo:
    """One named stage of a model: what comes out of it and what it costs."""

    name: str
    kind: str
    output_shape: tuple[int, ...]
    params: int
    flops: int


def layer_flops(layer: nn.Module, output: torch.Tensor) -> int:
    """Forward FLOPs of one image through ``layer`` (multiply-add = 2), weights only."""
    if hasattr(layer, "weight_flops"):
        return layer.weight_flops(output)
    if isinstance(layer, nn.Conv2d):
        kh, kw = layer.kernel_size
        positions = output.shape[-3:].numel()  # C_out * H_out * W_out
        return 2 * positions * (layer.in_channels // layer.groups) * kh * kw
    if isinstance(layer, nn.Linear):
        return 2 * layer.in_features * layer.out_features
    return 0


@torch.no_grad()
def layer_table(model: nn.Sequential, image_size: int, in_channels: int = 3) -> list[LayerInfo]:
    """Run one image through ``model`` and describe every named stage it passes."""
    rows: list[LayerInfo] = []
    x = torch.zeros(1, in_channels, image_size, image_size, device=next(model.parameters()).device)
    was_training = model.training
    model.eval()
    try:
        for name, layer in model.named_children():
            x = layer(x)
            params = sum(p.numel() for p in layer.parameters())
            rows.append(LayerInfo(name, type(layer).__name__, tuple(x.shape[1:]), params, layer_flops(layer, x)))
    finally:
        model.train(was_training)
    return rows


def total_flops(model: nn.Sequential, image_size: int, in_channels: int = 3) -> int:
    """Forward FLOPs for one image (multiply-add = 2)."""
    return sum(row.flops for row in layer_table(model, image_size, in_channels))


def format_table(rows: list[LayerInfo]) -> str:
    """A plain-text table of ``layer_table`` rows with totals."""
    lines = [f"{'layer':<8} {'kind':<18} {'output':>14} {'params':>12} {'MFLOPs':>9}"]
    for r in rows:
        shape = "x".join(map(str, r.output_shape))
        lines.append(f"{r.name:<8} {r.kind:<18} {shape:>14} {r.params:>12,} {r.flops / 1e6:>9.1f}")
    params, flops = sum(r.params for r in rows), sum(r.flops for r in rows)
    lines.append(f"{'total':<8} {'':<18} {'':>14} {params:>12,} {flops / 1e6:>9.1f}")
    return "\n".join(lines)
