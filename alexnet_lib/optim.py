"""§5's optimiser, the learning-rate schedules a ``TrainConfig`` names, and the one training step.

The paper: SGD, momentum 0.9, weight decay 5e-4, the learning rate divided by 10 when the
validation error stops improving. The short courses' runs use one-cycle or cosine instead.
``train_step`` is the step the trainer takes and the one its time budget measures (``timing.py``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import TrainConfig
from .env import autocast

Scheduler = torch.optim.lr_scheduler.LRScheduler | torch.optim.lr_scheduler.ReduceLROnPlateau


def train_step(
    net: nn.Module,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    dtype: torch.dtype,
    label_smoothing: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of §5: forward and cross-entropy under autocast, backward (scaled for fp16), the optimiser's
    step. Gives ``(loss, logits)``, left on the device: no host sync."""
    with autocast(images.device, dtype):
        logits = net(images)
        loss = F.cross_entropy(logits, labels, label_smoothing=label_smoothing)
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    return loss, logits


def make_optimizer(model: nn.Module, c: TrainConfig) -> torch.optim.Optimizer:
    if c.optimizer == "adam":  # a deviation for short runs; the paper uses SGD
        return torch.optim.Adam(model.parameters(), lr=c.lr, weight_decay=c.weight_decay)
    params = model.parameters()
    if hasattr(model, "param_groups"):  # a footnote-3 net: lr and wc per layer, as its params file
        params = model.param_groups(c.lr, c.weight_decay > 0)
    return torch.optim.SGD(params, lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay)


def make_scheduler(optimizer: torch.optim.Optimizer, c: TrainConfig, steps_per_epoch: int) -> Scheduler | None:
    """``c.schedule`` over ``c.epochs`` epochs of ``steps_per_epoch`` steps (plateau steps once per epoch)."""
    total = c.epochs * steps_per_epoch
    if c.schedule == "plateau":  # §5: divide by 10 when the validation error stops improving
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode="max", factor=0.1, patience=c.plateau_patience
        )
    if c.schedule == "onecycle":  # warm up for a quarter of the run (at least 2 steps), then anneal;
        # like Smith's one-cycle policy it moves momentum (Adam's beta1) 0.95 -> 0.85 -> 0.95
        pct_start = max(0.25, 2 / total) if total > 2 else 0.75  # 2 steps: warm-up must end after step 1
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=c.lr, total_steps=max(total, 2), pct_start=pct_start
        )
    if c.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total)
    return None
