"""Lesson 01's checks: the notebook's solutions pass, nbgrader's stubs are "not done yet", slips get their diagnosis."""

import pytest
import torch
from torch import nn

from alexnet_lib.lessons.architecture import buggy_models, check_lrn, check_lrn_backward, check_my_alexnet
from alexnet_lib.model import LocalResponseNorm, alexnet

from .conftest import backward_by, fails
from .notebook_exercises import exercise

NOTEBOOK = "01_architecture"


def solution(grade_id: str, name: str, student: bool = False):
    """What the notebook's exercise cell ``grade_id`` defines as ``name``; ``student``: nbgrader's stub instead."""
    return exercise(NOTEBOOK, grade_id, name, {"torch": torch, "nn": nn}, student=student)


def test_the_notebook_solutions_pass_on_the_shown_and_hidden_inputs(capsys):
    my_lrn, my_alexnet = solution("ex01_lrn", "my_lrn"), solution("ex01_network", "my_alexnet")
    for seed in (0, 7):
        assert check_lrn(my_lrn, seed=seed)
        assert check_my_alexnet(my_alexnet, seed=seed)
    assert all(line.startswith("Correct! ") for line in capsys.readouterr().out.splitlines())


def test_untouched_stubs_are_not_done_yet():
    with pytest.raises(AssertionError, match=r"^Not done yet: write my_lrn .*\(hint\('01\.1'\) for a hint\)$"):
        check_lrn(solution("ex01_lrn", "my_lrn", student=True))
    with pytest.raises(AssertionError, match=r"^Not done yet: write my_alexnet .*\(hint\('01\.2'\) for a hint\)$"):
        check_my_alexnet(solution("ex01_network", "my_alexnet", student=True))


def lrn_summing(a, alpha=1e-4, beta=0.75, k=2.0, mean=False):
    squares = nn.functional.pad(a.square(), (0, 0, 0, 0, 2, 2))
    window = sum(squares[:, i : i + a.shape[1]] for i in range(5))
    return a / (k + (alpha / 5 if mean else alpha) * window) ** beta


def test_lrn_slips_get_their_diagnosis(capsys):
    assert check_lrn(lrn_summing)  # an equivalent written differently passes too
    assert fails(check_lrn, lambda a: lrn_summing(a, mean=True))  # alpha over n: PyTorch's and cuda-convnet2's
    assert fails(check_lrn, lambda a: lrn_summing(a, alpha=5e-4))  # alpha times n: the value for PyTorch's
    assert fails(check_lrn, lambda a: lrn_summing(a, beta=1.0))
    assert fails(check_lrn, lambda a: a / (2 + 1e-4 * torch.roll(a.square(), 1, 1)) ** 0.75)
    assert fails(check_lrn, lambda a: a[:, :2])
    assert fails(check_lrn, lambda a: a.mul_(2))
    assert fails(check_lrn, lambda a: 1 / 0)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Correct!")
    assert "divides alpha by n" in lines[1] and "cuda-convnet2" in lines[1] and "sum of the squares" in lines[1]
    assert "alpha times n" in lines[2] and "alpha = 1e-4" in lines[2]
    assert "power beta" in lines[3] and "differs from §3.3" in lines[4]
    assert "a's shape" in lines[5] and "in place" in lines[6] and "ZeroDivisionError" in lines[7]
    assert all(line.startswith("Not yet: ") and line.endswith("(hint('01.1') for a hint)") for line in lines[1:])


def test_lrn_check_refuses_the_library_lrns(capsys):
    assert fails(check_lrn, lambda a: nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0)(a))
    assert fails(check_lrn, lambda a: nn.functional.local_response_norm(a, 5, alpha=5e-4, beta=0.75, k=2.0))
    assert fails(check_lrn, lambda a: LocalResponseNorm(a.shape[1])(a))
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and all(line.startswith("Not yet: my_lrn calls ") for line in lines)
    assert "a library function that does the whole job" in lines[0] and "course's own code" in lines[2]
    a = torch.rand(1, 8, 2, 2)
    assert torch.allclose(nn.LocalResponseNorm(5, alpha=5e-4, k=2.0)(a), LocalResponseNorm(8)(a))  # restored


def changed(index: int, layer: nn.Module):
    """The notebook's solution with stage ``index`` replaced (or removed, when ``layer`` is None)."""

    def build():
        stages = list(solution("ex01_network", "my_alexnet")())
        if layer is None:
            del stages[index]
        else:
            stages[index] = layer
        return nn.Sequential(*stages)

    return build


def test_network_slips_get_their_diagnosis(capsys):
    my_alexnet = solution("ex01_network", "my_alexnet")
    paper_lrn = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)
    assert fails(check_my_alexnet, lambda: nn.Sequential(*my_alexnet(), nn.ReLU()))  # ReLU on the logits
    assert fails(check_my_alexnet, changed(2, paper_lrn))  # alpha=1e-4: cuda-convnet2's reading, not §3.3's text
    assert fails(check_my_alexnet, changed(3, nn.MaxPool2d(2, 2)))  # pooling that does not overlap
    assert fails(check_my_alexnet, changed(4, nn.Conv2d(96, 256, 5)))  # conv2 without padding
    assert fails(check_my_alexnet, changed(4, nn.Conv2d(96, 256, 5, padding=2, groups=2)))  # two towers
    assert fails(check_my_alexnet, changed(2, None))  # no LRN after conv1
    assert fails(check_my_alexnet, changed(18, nn.Dropout(0.2)))
    lines = capsys.readouterr().out.splitlines()
    assert "a ReLU after fc8" in lines[0] and "overlap" in lines[2]
    assert "divides alpha by n" in lines[1] and "cuda-convnet2" in lines[1] and "alpha = 5e-4" in lines[1]
    assert "conv2 gives 256x23x23, Fig. 2's conv2 gives 256x27x27" in lines[3] and "two-tower" in lines[4]
    assert "conv1 and conv2 only" in lines[5] and "probability 0.5" in lines[6]
    assert all(line.startswith("Not yet: ") and line.endswith("(hint('01.2') for a hint)") for line in lines)


def test_network_check_refuses_the_library_net(capsys):
    course_model = alexnet("paper")
    assert fails(check_my_alexnet, lambda: alexnet("paper"))
    assert fails(check_my_alexnet, lambda: nn.Sequential(*course_model.children()))
    assert fails(check_my_alexnet, lambda: course_model)
    lines = capsys.readouterr().out.splitlines()
    assert "alexnet_lib.model.alexnet, the course's own code" in lines[0], lines
    assert "the course's own LocalResponseNorm" in lines[1] and "the course's own AlexNet" in lines[2], lines
    assert alexnet("paper").conv1.out_channels == 96  # restored after the check


def test_the_buggy_models_really_have_the_bugs():
    models = buggy_models()
    names_a = [name for name, _ in models["A"].named_children()]
    names_b = [name for name, _ in models["B"].named_children()]
    assert names_a[-1] == "relu8" and "norm5" in names_b
    with torch.no_grad():
        assert (models["A"](torch.randn(2, 3, 67, 67)) >= 0).all()  # a ReLU on logits: no negative logit survives


def test_an_lrn_module_of_the_learners_own_passes_and_the_notebooks_random_stream_is_untouched(capsys):
    my_lrn = solution("ex01_lrn", "my_lrn")

    class MyLRN(nn.Module):  # defined here, not in torch: counted as the learner's own LRN
        def forward(self, a):
            return my_lrn(a)

    def my_alexnet():
        stages = list(solution("ex01_network", "my_alexnet")())
        return nn.Sequential(*(MyLRN() if isinstance(s, nn.LocalResponseNorm) else s for s in stages))

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    assert check_my_alexnet(my_alexnet)
    assert torch.equal(torch.rand(3), expected)


# Exercise 01.3: LRN's backward pass -------------------------------------------------------------


def hand_backward(a, g, own_only=False, sign=-1, power=1.75, two=2, wrap=False):
    """Section 4's gradient, with a learner's slips as options (written here: the course's own code is refused)."""
    channels, alpha, beta = a.shape[1], 1e-4, 0.75

    def window(i):
        near = [j % channels if wrap else j for j in range(i - 2, i + 3)]
        return sorted({j for j in near if 0 <= j < channels})

    d = torch.stack([2 + alpha * a.square()[:, window(i)].sum(1) for i in range(channels)], 1)
    inner = g * a * d ** (-power)
    near = inner if own_only else torch.stack([inner[:, window(j)].sum(1) for j in range(channels)], 1)
    return g * d ** (-beta) + sign * two * alpha * beta * a * near


def lrn_forward(a):
    d = torch.stack([2 + 1e-4 * a.square()[:, max(0, i - 2) : i + 3].sum(1) for i in range(a.shape[1])], 1)
    return a / d**0.75


def finite_difference(a, g, eps=1e-5):
    grad = torch.zeros_like(a)
    for index in range(a.numel()):
        step = torch.zeros_like(a).view(-1)
        step[index] = eps
        step = step.view_as(a)
        grad.view(-1)[index] = ((lrn_forward(a + step) - lrn_forward(a - step)) * g).sum() / (2 * eps)
    return grad


def test_lrn_backward_solution_passes_and_the_stub_is_not_done_yet(capsys):
    my_function = solution("ex01_lrn_backward", "MyLRN")
    for seed in (0, 7):
        assert check_lrn_backward(my_function, seed=seed)
    assert check_lrn_backward(backward_by(hand_backward))  # the same gradient written differently
    assert all(line.startswith("Correct! ") for line in capsys.readouterr().out.splitlines())
    with pytest.raises(AssertionError, match=r"^Not done yet: write MyLRN.backward .*\(hint\('01\.3'\) for a hint\)$"):
        check_lrn_backward(solution("ex01_lrn_backward", "MyLRN", student=True))


def test_lrn_backward_slips_get_their_diagnosis(capsys):
    slips = [{"own_only": True}, {"sign": 1}, {"power": 0.75}, {"two": 1}, {"wrap": True}]
    for slip in slips:
        assert fails(check_lrn_backward, backward_by(lambda a, g, slip=slip: hand_backward(a, g, **slip)))
    assert fails(check_lrn_backward, backward_by(lambda a, g: g / (2 + 1e-4 * a.square()) ** 0.75))  # no 2nd term
    assert fails(check_lrn_backward, backward_by(finite_difference))
    assert fails(check_lrn_backward, backward_by(lambda a, g: g[:, :1]))
    assert fails(check_lrn_backward, lambda a: a)
    lines = capsys.readouterr().out.splitlines()
    assert "neighbours" in lines[0] and "wrong sign" in lines[1] and "-beta-1" in lines[2]
    assert "factor 2" in lines[3] and "wrap round" in lines[4] and "gradcheck disagrees" in lines[5]
    assert "finite difference" in lines[6] and "a's shape" in lines[7] and "torch.autograd.Function" in lines[8]
    assert all(line.startswith("Not yet: ") and line.endswith("(hint('01.3') for a hint)") for line in lines)


def autograd_does_it(a, g):
    with torch.enable_grad():
        x = a.detach().requires_grad_()
        b = lrn_forward(x)
    return torch.autograd.grad(b, x, g)[0]


def forward_mode(a, g):
    """dL/da one input direction at a time, by forward-mode dual numbers: autograd's work, needing no grad mode."""
    import torch.autograd.forward_ad as fwAD

    grad = torch.zeros_like(a)
    with fwAD.dual_level():
        for index in range(a.numel()):
            tangent = torch.zeros_like(a).view(-1)
            tangent[index] = 1
            jvp = fwAD.unpack_dual(lrn_forward(fwAD.make_dual(a, tangent.view_as(a)))).tangent
            grad.view(-1)[index] = (jvp * g).sum()
    return grad


def test_lrn_backward_check_refuses_autograd_and_the_library_lrns(capsys):
    assert fails(check_lrn_backward, backward_by(autograd_does_it))
    assert fails(check_lrn_backward, backward_by(lambda a, g: torch.autograd.functional.vjp(lrn_forward, a, g)[1]))
    assert fails(check_lrn_backward, backward_by(lambda a, g: torch.func.vjp(lrn_forward, a)[1](g)[0]))
    assert fails(check_lrn_backward, backward_by(lambda a, g: torch.func.grad(lambda x: (lrn_forward(x) * g).sum())(a)))
    assert fails(check_lrn_backward, backward_by(forward_mode))
    assert fails(check_lrn_backward, backward_by(lambda a, g: g * nn.LocalResponseNorm(5, 5e-4, 0.75, 2.0)(a) / a))
    assert fails(check_lrn_backward, backward_by(lambda a, g: g * LocalResponseNorm(a.shape[1])(a) / a))
    lines = capsys.readouterr().out.splitlines()
    assert "enable_grad" in lines[0] and "torch.autograd.functional.vjp" in lines[1]
    assert "vjp" in lines[2] and "grad" in lines[3] and "forward_ad" in lines[4] and "LocalResponseNorm" in lines[5]
    assert "the course's own code" in lines[6]
    assert all(line.startswith("Not yet: MyLRN.backward calls ") and "autograd must not" in line for line in lines)
