"""Notebook 01, the architecture: its exercises (LRN from §3.3, its backward pass, the network of Fig. 2), buggy models.

Each check judges the learner's code against an oracle computed at check time on inputs it draws
itself (``seed``): §3.3's formula, written out here channel by channel, for LRN; the course's
``alexnet("paper")`` given the same weights for the network. No expected value is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..model import LocalResponseNorm, alexnet, count_parameters
from .checking import correct, exercise_rules, learner_result, not_yet, register_hints

HINTS = {
    "01.1": (
        "Each channel of a is divided by a number made from the squares of a few neighbouring channels at the "
        "same pixel; pixels never mix, only channels.",
        "Reread §3.3 and the formula in section 4 of this lesson: the sum runs over the channels from i minus "
        "n/2 to i plus n/2 that exist (clipped at the first and last channel), and alpha multiplies that sum, "
        "not its mean: that is §3.3's text, where PyTorch and Krizhevsky's code put alpha over n.",
        "Shape of the answer: for each channel i, the sum of the squares of channels i-2 to i+2 that exist; "
        "then a divided by k plus alpha times that sum, raised to the power beta; the result has a's shape.",
    ),
    "01.2": (
        "Walk through the table of section 1 stage by stage: every convolution and hidden fully connected "
        "layer has its ReLU, and some stages add a normalisation, a pooling or a dropout.",
        "Reread §3.5 for the layer sizes, §3.3 for where LRN goes, §3.4 for the overlapping pooling and §4.2 "
        "for dropout; section 2 of this lesson explains the 227-pixel input, and conv2 to conv5 need padding "
        "to keep their map sizes.",
        "Shape of the answer: one nn.Sequential of 5 convolutions and 3 linear layers, each followed by a ReLU "
        "except fc8; an LRN after the ReLUs of conv1 and conv2 (your my_lrn in a small module, or PyTorch's "
        "with alpha multiplied by n, since PyTorch divides it by n and §3.3's text does not); max-pools after "
        "conv1, conv2 and conv5; a flatten before fc6; dropout after the ReLUs of fc6 and fc7; nothing after fc8.",
    ),
    "01.3": (
        "Each a_j reaches the loss along two paths: through its own output b_j (the numerator and its own "
        "denominator) and through the denominators of the neighbouring channels whose window holds it.",
        "Reread §3.3 and the derivation in section 4 of this lesson: the chain rule sums dL/db_i times db_i/da_j "
        "over every channel i, and db_i/da_j is zero unless j is in i's window (clipped at the first and last "
        "channel, so the same channels as j's window).",
        "Shape of the answer: from the saved a, the denominators D of every channel (as in your forward); the "
        "first term, grad_b times D to the power -beta; then per channel j, the sum over j's window of "
        "grad_b times a times D to the power -beta-1, multiplied by 2 alpha beta a_j and subtracted; one tensor "
        "of a's shape.",
    ),
}
register_hints(HINTS)

# §3.3's constants: k, n, alpha, beta, with alpha multiplying the sum of the squares as the paper's text has it
# (nn.LocalResponseNorm and Krizhevsky's cuda-convnet2 multiply it by alpha / n: notebook 01, section 4).
PAPER_LRN = {"size": 5, "alpha": 1e-4, "beta": 0.75, "k": 2.0}


def lrn_formula(
    a: torch.Tensor, size: int = 5, alpha: float = 1e-4, beta: float = 0.75, k: float = 2.0, **wrong: Any
) -> torch.Tensor:
    """§3.3 written out channel by channel, in float64: the oracle (``wrong`` gives a learner's typical slips).

    ``wrong``: ``mean=True`` averages the squares (``nn.LocalResponseNorm``'s and cuda-convnet2's convention),
    ``wrap=True`` lets the window wrap round from the last channel to the first, ``ahead=True``
    sums channels i..i+n-1 instead of a window centred on i.
    """
    squares = a.double().square()
    channels = a.shape[1]
    out = torch.empty_like(squares)
    for i in range(channels):
        first = i if wrong.get("ahead") else i - size // 2
        window = [j % channels if wrong.get("wrap") else j for j in range(first, first + size)]
        window = [j for j in window if 0 <= j < channels]
        total = squares[:, window].sum(1)
        scale = alpha / size if wrong.get("mean") else alpha
        out[:, i] = a[:, i].double() / (k + scale * total) ** beta
    return out


LIBRARY_LRN = (F.local_response_norm, nn.LocalResponseNorm)  # PyTorch's LRN: 01.1 asks for the formula itself

LRN_SLIPS = (
    (
        {"mean": True},
        "yours divides alpha by n (it averages the squares): the convention of nn.LocalResponseNorm and of "
        "Krizhevsky's own cuda-convnet2, not a mistake there, but this exercise asks for §3.3's formula as the "
        "paper prints it, alpha times the sum of the squares",
    ),
    (
        {"alpha": 5e-4},
        "yours multiplies the sum of the squares by 5e-4, alpha times n: that is the alpha to give "
        "nn.LocalResponseNorm, which divides it by n; written out, §3.3's formula takes alpha = 1e-4 itself",
    ),
    ({"beta": 1.0}, "the denominator must be raised to the power beta = 0.75"),
    ({"k": 0.0}, "the denominator starts with k = 2 before alpha times the sum"),
    ({"wrap": True}, "the window wraps round from the last channel to the first: clip it at both ends instead"),
    ({"ahead": True}, "the window should be centred on channel i (i-2 to i+2), not start at it"),
    ({"size": 3}, "the window is n = 5 channels wide, 2 on each side of channel i"),
)


def check_lrn(my_lrn: Callable[[torch.Tensor], torch.Tensor], seed: int = 0) -> bool:
    """Exercise 01.1: ``my_lrn(a)`` is §3.3's LRN (k=2, n=5, alpha=1e-4, beta=0.75) on an N x C x H x W tensor."""
    generator = torch.Generator().manual_seed(seed)
    channels = int(torch.randint(7, 14, (), generator=generator))  # odd and even counts: the edges matter
    a = torch.randn(2, channels, 3, 4, generator=generator) * 40  # large enough for alpha's sum to matter
    given = a.clone()
    with exercise_rules(refuse=LIBRARY_LRN, why="write §3.3's formula yourself"):
        mine = learner_result("my_lrn", my_lrn, given, todo="write my_lrn so that it returns b.", hint="01.1")
    if not torch.equal(given, a):
        not_yet("my_lrn changed its input in place: compute b from a without writing into a", "01.1")
    if not isinstance(mine, torch.Tensor) or mine.shape != a.shape:
        got = tuple(mine.shape) if isinstance(mine, torch.Tensor) else type(mine).__name__
        not_yet(f"my_lrn should give a tensor of a's shape {tuple(a.shape)}, got {got}", "01.1")
    expected = lrn_formula(a, **PAPER_LRN)
    if torch.allclose(mine.double(), expected, rtol=1e-4, atol=1e-5):
        return correct(f"your LRN matches §3.3's formula on a random {channels}-channel tensor.")
    for slip, diagnosis in LRN_SLIPS:
        if torch.allclose(mine.double(), lrn_formula(a, **{**PAPER_LRN, **slip}), rtol=1e-4, atol=1e-5):
            not_yet(diagnosis, "01.1")
    worst = (mine.double() - expected).abs().argmax()
    channel = int(worst // (a.shape[2] * a.shape[3]) % channels)
    not_yet(f"the result differs from §3.3's formula, most at channel {channel} of {channels}", "01.1")


# Notebook 01, exercise 3: LRN's backward pass by hand -----------------------------------------


def lrn_backward_formula(a: torch.Tensor, grad_b: torch.Tensor, **wrong: Any) -> torch.Tensor:
    """dL/da from dL/db through §3.3's LRN, derived by hand (notebook 01, section 4): a learner's slips for the
    diagnosis only; the check's oracle is autograd through ``lrn_formula`` (``torch.autograd.gradcheck``).

    dL/da_j = g_j D_j^-beta - 2 alpha beta a_j sum_{i in window(j)} g_i a_i D_i^(-beta-1), D_i = k + alpha sum a^2.
    ``wrong``: ``own_only`` keeps only i = j in the sum (the neighbours' denominators forgotten), ``plus``
    adds the second term, ``power`` raises D_i to -beta instead of -beta-1, ``no_two`` drops the 2 of
    the square, ``wrap`` lets the windows wrap round from the last channel to the first.
    """
    size, alpha, beta, k = PAPER_LRN["size"], PAPER_LRN["alpha"], PAPER_LRN["beta"], PAPER_LRN["k"]
    a, g = a.double(), grad_b.double()
    channels = a.shape[1]

    def window(i: int) -> list[int]:
        near = [j % channels if wrong.get("wrap") else j for j in range(i - size // 2, i + size // 2 + 1)]
        return sorted({j for j in near if 0 <= j < channels})

    squares = a.square()
    denominator = torch.stack([k + alpha * squares[:, window(i)].sum(1) for i in range(channels)], 1)
    power = beta if wrong.get("power") else beta + 1
    inner = g * a * denominator ** (-power)
    near_sum = inner if wrong.get("own_only") else torch.stack([inner[:, window(j)].sum(1) for j in range(channels)], 1)
    factor = (1 if wrong.get("no_two") else 2) * alpha * beta * (-1 if wrong.get("plus") else 1)
    return g * denominator ** (-beta) - factor * a * near_sum


# The autograd engine differentiates whatever graph it recorded: inside a backward pass, any call that
# builds or walks a graph (switching grad mode on, .backward(), autograd.grad, the functional and
# torch.func transforms) or runs forward-mode dual numbers hands the derivative to PyTorch, which is
# the whole exercise. Grad mode is off while a backward pass runs, so no graph exists to walk unless
# one of these is called.
AUTOGRAD = (
    torch.autograd.grad,
    torch.autograd.backward,
    torch.Tensor.backward,
    torch.enable_grad,
    torch.set_grad_enabled,
    torch._C._set_grad_enabled,
    "torch.autograd.functional",
    "torch.autograd.forward_ad",  # dual numbers: forward mode needs no grad mode, one pass per input direction
    torch.func.grad,
    torch.func.grad_and_value,
    torch.func.vjp,
    torch.func.jvp,
    torch.func.jacrev,
    torch.func.jacfwd,
    torch.func.hessian,
    torch.func.linearize,
)

BACKWARD_SLIPS = (
    (
        {"own_only"},
        "yours keeps only channel j's own denominator: a_j also sits in the denominators of its neighbours "
        "i = j-2..j+2, so their outputs b_i change with a_j too; sum g_i a_i D_i^(-beta-1) over j's window",
    ),
    ({"plus"}, "the second term has the wrong sign: a larger a_j makes its neighbours' denominators larger"),
    ({"power"}, "the neighbours' term needs D_i to the power -beta-1 (the derivative of D_i^-beta), not -beta"),
    ({"no_two"}, "the derivative of a_j squared is 2 a_j: the neighbours' term misses a factor 2"),
    ({"wrap"}, "the windows wrap round from the last channel to the first: clip them at both ends, as the forward"),
)
BACKWARD_CHANNELS = ((1, 2, 3), (4, 5, 6), (7, 8, 9))  # fewer than n, about n, more: every edge case of the window


class _Graded(torch.autograd.Function):
    """§3.3's forward (the oracle, float64) with the learner's backward, run under the watch."""

    learner: Any = None  # the learner's Function class, set by check_lrn_backward

    @staticmethod
    def forward(ctx: Any, a: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(a)
        return lrn_formula(a, **PAPER_LRN)

    @staticmethod
    def backward(ctx: Any, grad_b: torch.Tensor) -> torch.Tensor:
        with exercise_rules(
            refuse=(*LIBRARY_LRN, *AUTOGRAD), why="derive the gradient by hand: autograd must not do it for you"
        ):
            return learner_result(
                "MyLRN.backward",
                _Graded.learner.backward,
                ctx,
                grad_b,
                todo="write MyLRN.backward so that it returns dL/da.",
                hint="01.3",
            )


def _learners_gradient(a: torch.Tensor, grad_b: torch.Tensor) -> torch.Tensor:
    """dL/da by the learner's backward for ``grad_b`` = dL/db at ``a``; NotYet naming what the engine refused."""
    a = a.detach().requires_grad_()
    try:
        (grad,) = torch.autograd.grad(_Graded.apply(a), a, grad_b)
    except RuntimeError as error:  # the engine's own complaint: a result of the wrong shape, dtype or count
        first = str(error).splitlines()[0]
        not_yet(f"MyLRN.backward's result: {first} (return one tensor of a's shape)", "01.3")
    return grad


def check_lrn_backward(my_function: Any, seed: int = 0) -> bool:
    """Exercise 01.3: ``my_function.backward(ctx, grad_b)`` gives dL/da for §3.3's LRN, ``(a,) = ctx.saved_tensors``.

    The check's own forward (``lrn_formula``, float64) saves ``a``; the learner's backward, watched,
    runs inside ``torch.autograd.gradcheck`` on small tensors of 1 to 9 channels drawn from ``seed``
    (the window's edges), and must agree with autograd through the formula to rounding (a finite
    difference agrees only to about 1e-8).
    """
    if not (isinstance(my_function, type) and issubclass(my_function, torch.autograd.Function)):
        got = my_function.__name__ if isinstance(my_function, type) else type(my_function).__name__
        not_yet(f"MyLRN should be a class derived from torch.autograd.Function, got {got}", "01.3")
    _Graded.learner = my_function
    generator = torch.Generator().manual_seed(seed)
    for counts in BACKWARD_CHANNELS:
        channels = counts[int(torch.randint(len(counts), (), generator=generator))]
        a = torch.randn(2, channels, 2, 2, generator=generator, dtype=torch.float64) * 40  # alpha's sum matters
        grad_b = torch.randn(a.shape, generator=generator, dtype=torch.float64)
        mine = _learners_gradient(a, grad_b)
        a_ = a.clone().requires_grad_()
        (expected,) = torch.autograd.grad(lrn_formula(a_, **PAPER_LRN), a_, grad_b)
        gradcheck_ok = torch.autograd.gradcheck(_Graded.apply, (a.clone().requires_grad_(),), raise_exception=False)
        if not gradcheck_ok:
            for slip, diagnosis in BACKWARD_SLIPS:
                if torch.allclose(mine, lrn_backward_formula(a, grad_b, **dict.fromkeys(slip, True)), rtol=1e-6):
                    not_yet(diagnosis, "01.3")
            worst = (mine - expected).abs().argmax()
            channel = int(worst // (a.shape[2] * a.shape[3]) % channels)
            not_yet(
                f"torch.autograd.gradcheck disagrees with your gradient on a {channels}-channel input, most at "
                f"channel {channel} of {channels}",
                "01.3",
            )
        error = float((mine - expected).abs().max() / expected.abs().max())
        if error > 1e-11:
            not_yet(
                f"your gradient agrees with autograd's only to {error:.0e} of its size: a finite difference "
                "approximates the derivative; derive it exactly, as section 4 does",
                "01.3",
            )
    return correct("torch.autograd.gradcheck agrees with your backward pass (float64, 1 to 9 channels).")


# Notebook 01, exercise 2: the network of Fig. 2 ----------------------------------------------

SKIPPED = (nn.Flatten, nn.AdaptiveAvgPool2d, nn.Identity)  # reshaping only: not a stage of Fig. 2
WEIGHTED = (nn.Conv2d, nn.Linear)
SECTION = {"ReLU": "§3.1", "LRN": "§3.3", "MaxPool2d": "§3.4", "Dropout": "§4.2"}


def kind(layer: nn.Module) -> str:
    """A stage's kind: the PyTorch class name, or "LRN" for any normalisation across channels."""
    if isinstance(layer, (nn.LocalResponseNorm, LocalResponseNorm)) or not type(layer).__module__.startswith("torch"):
        return "LRN"  # PyTorch's, the course's, or the learner's own module
    return type(layer).__name__


def article(kind_name: str) -> str:
    """A stage kind with its article: "a ReLU", "an LRN"."""
    return ("an " if kind_name == "LRN" else "a ") + kind_name


def stages(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The model's leaf modules in order, without the reshaping ones, named like the paper net's stages."""
    leaves = [m for m in model.modules() if not list(m.children()) and not isinstance(m, SKIPPED)]
    names, counts = [], {"Conv2d": 0, "Linear": 0}
    for layer in leaves:
        if kind(layer) in counts:
            counts[kind(layer)] += 1
        number = counts["Conv2d"] + counts["Linear"]
        prefix = {"Conv2d": "conv", "Linear": "fc", "ReLU": "relu", "LRN": "norm", "MaxPool2d": "pool"}
        names.append(prefix.get(kind(layer), kind(layer).lower()) + str(number))
    return list(zip(names, leaves, strict=True))


def check_layout(mine: list[tuple[str, nn.Module]], paper: list[tuple[str, nn.Module]]) -> None:
    """The sequence of stage kinds: 5 convs and 3 FCs, ReLUs, LRN, pools and dropout where Fig. 2 has them."""
    kinds, expected = [kind(m) for _, m in mine], [kind(m) for _, m in paper]
    convs, fcs = kinds.count("Conv2d"), kinds.count("Linear")
    if (convs, fcs) != (expected.count("Conv2d"), expected.count("Linear")):
        not_yet(f"Fig. 2 has 5 convolutional and 3 fully connected layers; yours has {convs} and {fcs}", "01.2")
    last_fc = len(kinds) - 1 - kinds[::-1].index("Linear")
    if last_fc != len(kinds) - 1:
        not_yet(
            f"your network has {article(kinds[-1])} after fc8: fc8's outputs are the logits, nothing comes after them "
            "(a ReLU would clip the negative ones; the softmax is in the loss)",
            "01.2",
        )
    if kinds.count("LRN") != expected.count("LRN"):
        not_yet(f"§3.3 normalises after the ReLUs of conv1 and conv2 only; yours has {kinds.count('LRN')}", "01.2")
    for i, (got, want) in enumerate(zip(kinds, expected, strict=False)):
        if got != want:
            where = paper[i - 1][0] if i else "the input"
            section = SECTION.get(want, "§3.5")
            not_yet(f"after {where} the paper net has {article(want)} ({section}); yours has {article(got)}", "01.2")
    if len(kinds) != len(expected):
        not_yet(f"your network has {len(kinds)} stages, the paper net {len(expected)}", "01.2")
    for name, layer in mine:
        if isinstance(layer, nn.Dropout) and layer.p != 0.5:
            not_yet(f"{name} drops with p={layer.p}; §4.2 sets each neuron to zero with probability 0.5", "01.2")


def run_stages(
    model: nn.Module, named: list[tuple[str, nn.Module]], x: torch.Tensor
) -> tuple[list[torch.Tensor], str | None]:
    """``model(x)`` in eval mode: every stage's output, and what went wrong if it raised (else None)."""
    outputs: list[torch.Tensor] = []
    # A clone: an in-place ReLU after a stage would otherwise change the recorded output.
    handles = [layer.register_forward_hook(lambda _m, _i, out: outputs.append(out.clone())) for _, layer in named]
    error = None
    try:
        with torch.no_grad():
            model.eval()(x)
    except NotImplementedError:
        error = "your network's forward raised NotImplementedError: is my_lrn (exercise 1) still a stub?"
    except Exception as raised:  # the learner's layers may raise anything; name where, in one line
        after = named[len(outputs) - 1][0] if outputs else "the input"
        message = str(raised).splitlines()[0] if str(raised) else ""
        error = f"your network raised {type(raised).__name__} after {after}: {message}"
    finally:
        for handle in handles:
            handle.remove()
    if error is None and len(outputs) != len(named):
        error = "a module of your network runs more than once: give every stage its own module"
    return outputs, error


def check_shapes(mine: list[tuple[str, nn.Module]], outputs: list[torch.Tensor], paper_outputs: list) -> None:
    """Every stage's output shape at 227 pixels against the paper net's (Fig. 2)."""
    for (name, layer), got, want in zip(mine, outputs, paper_outputs, strict=False):  # up to an error
        if got.shape != want.shape:
            shape = "x".join(str(s) for s in want.shape[1:])
            what = "kernel, stride and padding" if kind(layer) in ("Conv2d", "MaxPool2d") else "sizes"
            mine_shape = "x".join(str(s) for s in got.shape[1:])
            not_yet(f"at 227 pixels {name} gives {mine_shape}, Fig. 2's {name} gives {shape}: check its {what}", "01.2")


def check_weights(mine: list[tuple[str, nn.Module]], paper: list[tuple[str, nn.Module]]) -> None:
    """Each weighted layer's weight shape and bias against the paper net's: what copying weights needs."""
    for (name, layer), (_, oracle) in zip(mine, paper, strict=True):
        if not isinstance(layer, WEIGHTED):
            continue
        if layer.weight.shape != oracle.weight.shape:
            groups = " (groups=2 is the two-tower net; this exercise is the one-tower one)" if layer.groups > 1 else ""
            shapes = f"{tuple(layer.weight.shape)}, the paper net's is {tuple(oracle.weight.shape)}"
            not_yet(f"{name}'s weight is {shapes}{groups}", "01.2")
        if layer.bias is None:
            not_yet(f"{name} has no bias: every layer of the paper net has one (§5 initialises them)", "01.2")


def diagnose_outputs(mine: list[tuple[str, nn.Module]], outputs: list, paper_outputs: list) -> None:
    """With the same weights, the first stage whose output differs from the paper net's, and why."""
    for (name, layer), got, want in zip(mine, outputs, paper_outputs, strict=True):
        if torch.allclose(got, want, rtol=1e-3, atol=1e-4 * float(want.abs().max()) + 1e-6):
            continue
        if isinstance(layer, nn.LocalResponseNorm) and abs(layer.alpha - PAPER_LRN["alpha"]) < 1e-9:
            why = (
                "nn.LocalResponseNorm divides alpha by n (it averages the squares), as Krizhevsky's cuda-convnet2 "
                "does; the paper net here follows §3.3's text, alpha times the sum, so give it alpha = 5e-4"
            )
        elif kind(layer) == "LRN":
            why = "its normalisation is not §3.3's (k=2, n=5, alpha=1e-4, beta=0.75, squares summed)"
        elif isinstance(layer, nn.MaxPool2d):
            why = "§3.4's pools overlap: windows of 3 pixels placed every 2"
        else:
            why = "compare this stage's settings with the paper's"
        not_yet(f"given the paper net's weights, your outputs first differ at {name}: {why}", "01.2")


def check_my_alexnet(my_alexnet: Callable[[], nn.Module], seed: int = 0) -> bool:
    """Exercise 01.2: ``my_alexnet()`` builds Fig. 2's one-tower net (1000 classes) as an ``nn.Sequential``.

    Compared with ``alexnet("paper")``: the kinds of its stages, every stage's shape at 227 pixels,
    the parameter count, and, with the paper net's weights copied in layer by layer, every
    stage's output on random images in pixel units (large enough for LRN to matter).
    """
    with torch.random.fork_rng(devices=[]):  # building nets draws weights: the notebook's stream is left as it was
        return _check_my_alexnet(my_alexnet, seed)


def _check_my_alexnet(my_alexnet: Callable[[], nn.Module], seed: int = 0) -> bool:
    """The body of ``check_my_alexnet``."""
    with exercise_rules(refuse=("torchvision.models",), why="build the stages yourself, in an nn.Sequential"):
        model = learner_result(
            "my_alexnet", my_alexnet, todo="write my_alexnet so that it returns the net.", hint="01.2"
        )
    if not isinstance(model, nn.Sequential) or type(model).__module__.startswith("alexnet_lib"):
        not_yet(f"my_alexnet should give your own nn.Sequential, got {type(model).__name__}", "01.2")
    if any(isinstance(layer, LocalResponseNorm) for layer in model.modules()):
        not_yet("your net uses the course's LocalResponseNorm: use your my_lrn in a module, or PyTorch's", "01.2")
    torch.manual_seed(seed)  # the paper net's weights, copied into the learner's below
    paper_model = alexnet("paper").eval()
    mine, paper = stages(model), stages(paper_model)
    check_layout(mine, paper)
    x = torch.rand(2, 3, 227, 227, generator=torch.Generator().manual_seed(seed)) * 255 - 128  # pixels, centred
    paper_outputs, _ = run_stages(paper_model, paper, x)
    outputs, error = run_stages(model, mine, x[:1])
    check_shapes(mine, outputs, [out[:1] for out in paper_outputs])
    if error:
        not_yet(error, "01.2")
    check_weights(mine, paper)
    with torch.no_grad():
        for (_, layer), (_, oracle) in zip(mine, paper, strict=True):
            if isinstance(layer, WEIGHTED):
                layer.weight.copy_(oracle.weight)
                layer.bias.copy_(oracle.bias)
    outputs, error = run_stages(model, mine, x)
    if error:
        not_yet(error, "01.2")
    diagnose_outputs(mine, outputs, paper_outputs)
    return correct(
        f"your net has Fig. 2's stages and shapes, {count_parameters(model):,} parameters, and gives the "
        "paper net's outputs with its weights."
    )


def buggy_models() -> dict[str, nn.Sequential]:
    """Two AlexNets, each with a mistake found in published AlexNet code (notebook 01 cites where)."""
    relu_on_logits = alexnet("paper", num_classes=10)
    relu_on_logits.add_module("relu8", nn.ReLU())
    lrn_after_conv5 = alexnet("paper", num_classes=10)
    layers = list(lrn_after_conv5.named_children())
    at = [name for name, _ in layers].index("relu5") + 1
    layers.insert(at, ("norm5", LocalResponseNorm(256)))
    rebuilt = nn.Sequential()
    for name, layer in layers:
        rebuilt.add_module(name, layer)
    return {"A": relu_on_logits, "B": rebuilt}
