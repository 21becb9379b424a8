"""Notebook 03, training on Fashion-MNIST: the checks of its exercises, the training step and the evaluation loop.

Each check builds a tiny network and data of its own from ``seed`` (hidden tests use other
seeds) and compares the learner's code with an oracle: the step with ``reference_train_step``
taken on a copy of the same network, the evaluation loop with ``alexnet_lib.evaluate.evaluate``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .. import evaluate as evaluate_module
from ..datasets import ImageSet, Stats
from ..transforms import BatchTransform
from .checking import correct, exercise_rules, learner_result, not_yet, register_hints

HINTS = {
    "03.1": (
        "One step is a fixed sequence: switch the network to training, compute the loss of one batch, "
        "turn it into gradients, let the optimiser move the weights. What is left over from the last step "
        "must not leak into this one.",
        "Reread §5 (the update rule, momentum 0.9, weight decay 0.0005) and §4.2 (dropout is on only while "
        "training), then this notebook's section 3, which sets §5's update beside PyTorch's SGD.",
        "Training mode first; one forward pass gives logits; the mean cross-entropy of logits and labels "
        "(the loss function applies the softmax itself); clear the optimiser's old gradients, backpropagate "
        "the loss, step the optimiser; return the loss as a plain Python number.",
    ),
    "03.2": (
        "Top-1 accuracy is the share of images whose highest-scoring class is the true one. The care is in "
        "how the network runs while you count, and in leaving it as you found it.",
        "Reread §4.2 (at test time dropout is off and every neuron is used) and notebook 02's evaluation "
        "transform (the centre crop, normalised, at the network's input size).",
        "Note the network's mode, switch it to evaluation and turn gradient tracking off; walk the images in "
        "slices of batch_size (the last slice may be shorter), transform each slice on the network's device, "
        "take the class with the highest logit, count the matches with the labels; put the mode back; "
        "return the count divided by the number of images.",
    ),
}
register_hints(HINTS)

STEPS = 5  # training steps the check takes on one fixed batch


def reference_train_step(
    model: nn.Module, optimizer: torch.optim.Optimizer, images: torch.Tensor, labels: torch.Tensor
) -> float:
    """One step of §5's loop (training mode, forward, cross-entropy, backward, SGD step): the oracle of 03.1."""
    model.train()  # §4.2: dropout on while training
    loss = F.cross_entropy(model(images), labels)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.item()


def _step_without_zeroing(
    model: nn.Module, optimizer: torch.optim.Optimizer, images: torch.Tensor, labels: torch.Tensor
) -> float:
    """A typical mistake: gradients never cleared, so each step adds to the last one's."""
    model.train()
    loss = F.cross_entropy(model(images), labels)
    loss.backward()
    optimizer.step()
    return loss.item()


def _step_on_probabilities(
    model: nn.Module, optimizer: torch.optim.Optimizer, images: torch.Tensor, labels: torch.Tensor
) -> float:
    """A typical mistake: a softmax before cross-entropy, which applies its own."""
    model.train()
    loss = F.cross_entropy(model(images).softmax(1), labels)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.item()


def tiny_net(seed: int, in_channels: int = 1, classes: int = 4, dropout: float = 0.5) -> nn.Sequential:
    """An 8 x 8-input network in AlexNet's shape, a few hundred weights: what the checks train and evaluate."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return nn.Sequential(
            OrderedDict(
                conv1=nn.Conv2d(in_channels, 4, 3),  # 8 -> 6
                relu1=nn.ReLU(),
                pool1=nn.MaxPool2d(2),  # 6 -> 3
                flatten=nn.Flatten(),
                drop6=nn.Dropout(dropout),
                fc8=nn.Linear(4 * 3 * 3, classes),
            )
        )


def _sgd(model: nn.Module) -> torch.optim.Optimizer:
    return torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)  # §5, a larger lr


@contextmanager
def forward_modes(model: nn.Module) -> Iterator[list[tuple[bool, bool]]]:
    """Records (training mode, gradient tracking) at each forward pass of ``model`` while inside."""
    seen: list[tuple[bool, bool]] = []
    handle = model.register_forward_pre_hook(
        lambda module, args: seen.append((module.training, torch.is_grad_enabled()))
    )
    try:
        yield seen
    finally:
        handle.remove()


def _seeded(seed: int, step: Callable[..., Any], *args: Any) -> Any:
    """``step(*args)`` with the global generator at ``seed`` (the same dropout masks), leaving it as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return step(*args)


def _same_weights(a: nn.Module, b: nn.Module) -> bool:
    return all(torch.allclose(p, q, rtol=1e-4, atol=1e-6) for p, q in zip(a.parameters(), b.parameters(), strict=True))


def _number(value: Any, what: str, key: str) -> float:
    """``value`` as a float (a 0-d tensor counts), or NotYet."""
    try:
        return float(value.detach() if isinstance(value, torch.Tensor) else value)
    except (TypeError, ValueError, RuntimeError):
        not_yet(f"{what} should be a number, got {type(value).__name__}", key)


MISTAKES = {  # typical wrong steps, each with what the check says when the learner's weights match it
    _step_without_zeroing: "the gradients pile up from step to step: clear the old ones before backward",
    _step_on_probabilities: "that is cross-entropy of softmax outputs: the loss takes logits and applies a softmax",
}


@dataclass
class StepCase:
    """What check_train_step trains: a tiny network, a copy for the oracle, one fixed batch."""

    seed: int
    model: nn.Module = field(init=False)
    reference: nn.Module = field(init=False)
    images: torch.Tensor = field(init=False)
    labels: torch.Tensor = field(init=False)

    def __post_init__(self) -> None:
        generator = torch.Generator().manual_seed(self.seed)
        self.images = torch.randn(16, 1, 8, 8, generator=generator)
        self.labels = torch.randint(0, 4, (16,), generator=generator)
        self.model, self.reference = tiny_net(self.seed), tiny_net(self.seed)

    def run(
        self, step_function: Callable[..., Any], model: nn.Module, optimizer: torch.optim.Optimizer, step: int
    ) -> Any:
        """``step_function`` on the batch, with the dropout masks of step number ``step``."""
        return _seeded(self.seed * 1000 + step, step_function, model, optimizer, self.images, self.labels)

    def mistake(self, steps: int) -> str:
        """Which typical mistake, taken ``steps`` times from the start, gives the learner's weights; "" if none."""
        for mistake, diagnosis in MISTAKES.items():
            model = tiny_net(self.seed)
            optimizer = _sgd(model)
            for step in range(steps):
                self.run(mistake, model, optimizer, step)
            if _same_weights(model, self.model):
                return diagnosis
        return ""


def _diagnose_step(case: StepCase, step: int, modes: list[tuple[bool, bool]], before: list[torch.Tensor]) -> None:
    """NotYet unless the learner's step ``step`` ran once in training mode and matches the oracle's weights."""
    key = "03.1"
    if len(modes) != 1:
        not_yet(f"train_step ran the network {len(modes)} times: one forward pass gives the loss", key)
    if not modes[0][0]:
        not_yet("the forward pass ran in evaluation mode, dropout off: switch to training mode first", key)
    if not case.model.training:
        not_yet("train_step left the network in evaluation mode: a training step trains", key)
    if all(torch.equal(p, q) for p, q in zip(before, case.model.parameters(), strict=True)):
        not_yet("the weights did not change: step the optimiser after backward, with the gradients there", key)
    if not _same_weights(case.model, case.reference):
        diagnosis = case.mistake(step + 1)
        not_yet(diagnosis or f"after step {step + 1} the weights differ from one SGD step on the cross-entropy", key)


def check_train_step(train_step: Callable[..., Any], seed: int = 0) -> bool:
    """Exercise 03.1: ``train_step(model, optimizer, images, labels)`` takes one §5 step and returns the loss."""
    key = "03.1"
    case = StepCase(seed)
    optimizer, reference_optimizer = _sgd(case.model), _sgd(case.reference)
    case.model.eval()  # as a network is after an evaluation: the step must switch to training itself

    def learner_step(*args: Any) -> Any:
        todo = "write train_step so that it takes one step and returns the loss"
        return learner_result("train_step", train_step, *args, todo=todo, hint=key)

    losses = []
    for step in range(STEPS):
        before = [p.detach().clone() for p in case.model.parameters()]
        with forward_modes(case.model) as modes:
            loss = case.run(learner_step, case.model, optimizer, step)
        expected = case.run(reference_train_step, case.reference, reference_optimizer, step)
        _diagnose_step(case, step, modes, before)
        value = _number(loss, "the returned loss", key)
        if abs(value - expected) > 1e-4 * max(1.0, abs(expected)):
            not_yet(f"train_step returned {value:.4f}; its forward pass's loss was {expected:.4f}: return that", key)
        losses.append(value)
    if not losses[-1] < losses[0]:
        not_yet(f"the loss did not fall over {STEPS} steps on one batch ({losses[0]:.3f} -> {losses[-1]:.3f})", key)
    return correct(
        f"the loss fell {losses[0]:.3f} -> {losses[-1]:.3f} in {STEPS} steps, the same weights as torch's SGD."
    )


def _check_data(seed: int) -> tuple[nn.Module, ImageSet, BatchTransform]:
    """A tiny network with dropout, 53 random 10 x 10 grey images (not a whole number of batches), its transform."""
    generator = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (53, 1, 10, 10), dtype=torch.uint8, generator=generator)
    labels = torch.randint(0, 4, (53,), generator=generator)
    data = ImageSet(images, labels, ["a", "b", "c", "d"])
    stats = Stats((0.5,), (0.25,), pca_eigenvalues=(), pca_eigenvectors=())
    return tiny_net(seed + 1), data, BatchTransform(8, stats, train=False, crop=0.8, channels_last=False)


def _evaluate_once(
    top1: Callable[..., Any], model: nn.Module, data: ImageSet, transform: BatchTransform, batch_size: int
) -> float:
    """The learner's accuracy, with the library's evaluate refused, and the modes its forward passes ran in checked."""
    key = "03.2"
    todo = "write top1_accuracy so that it returns the fraction of images it gets right"
    with forward_modes(model) as modes, exercise_rules(why="write the loop yourself"):
        accuracy = learner_result("top1_accuracy", top1, model, data, transform, batch_size, todo=todo, hint=key)
    if not modes:
        not_yet("top1_accuracy never ran the network", key)
    if any(training for training, _ in modes):
        not_yet("the network ran in training mode, dropout on: evaluate in evaluation mode", key)
    if any(grad for _, grad in modes):
        not_yet("the forward passes tracked gradients: no backward follows, so turn that off", key)
    return _number(accuracy, "the accuracy", key)


def check_evaluation(top1_accuracy: Callable[..., Any], seed: int = 0) -> bool:
    """Exercise 03.2: ``top1_accuracy(model, data, transform, batch_size)`` agrees with ``evaluate``, keeps the mode."""
    key = "03.2"
    model, data, transform = _check_data(seed)
    expected = evaluate_module.evaluate(model, data, transform).top1
    for training, batch_size in ((True, 16), (False, 64)):
        model.train(training)
        accuracy = _evaluate_once(top1_accuracy, model, data, transform, batch_size)
        if model.training != training:
            mode = "training" if training else "evaluation"
            not_yet(f"the network came in {mode} mode and left in the other: put back the mode it had", key)
        if abs(accuracy - 100 * expected) < 1e-6 and expected > 0:
            not_yet(f"{accuracy:g} looks like a percentage: return a fraction between 0 and 1", key)
        if abs(accuracy - expected) > 1e-6:
            whole = len(data) - len(data) % batch_size
            first = evaluate_module.evaluate(
                model, ImageSet(data.images[:whole], data.labels[:whole], data.classes), transform
            ).top1
            if abs(accuracy - first) < 1e-6:
                not_yet(f"that counts only the first {whole} of {len(data)} images: the last batch is shorter", key)
            not_yet(f"top-1 {accuracy:.4f}, but {expected:.4f} from alexnet_lib's evaluate on the same images", key)
    return correct(
        f"top-1 {expected:.2%} on the check's {len(data)} images, as alexnet_lib's evaluate says; mode kept."
    )
