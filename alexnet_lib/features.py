"""Looking inside a model: activations captured with forward hooks (notebooks 01 and 05)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import torch
from torch import nn


@contextmanager
def capture_activations(model: nn.Module, names: Iterable[str] | None = None) -> Iterator[dict[str, torch.Tensor]]:
    """Record the outputs of ``model``'s named stages during forward passes inside the block.

    ``names`` defaults to every stage. The hooks are removed when the block ends, even if it
    raises, so no hook is ever left behind on the model.
    """
    stages = dict(model.named_children())
    names = list(names) if names is not None else list(stages)
    unknown = [n for n in names if n not in stages]
    if unknown:
        raise ValueError(f"no stage named {', '.join(unknown)}; the stages are {', '.join(stages)}")
    captured: dict[str, torch.Tensor] = {}
    handles = []
    for name in names:

        def hook(module: nn.Module, inputs: tuple, output: torch.Tensor, name: str = name) -> None:
            captured[name] = output.detach()

        handles.append(stages[name].register_forward_hook(hook))
    try:
        yield captured
    finally:
        for handle in handles:
            handle.remove()
