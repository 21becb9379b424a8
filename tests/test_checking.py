"""The check convention (alexnet_lib.lessons.checking): "Correct!" or one NotYet line, stubs, hints, the watch."""

import sys
import threading
import types

import nbformat
import pytest
import torch
from nbclient import NotebookClient

from alexnet_lib.lessons import checking
from alexnet_lib.lessons.checking import (
    NotYet,
    correct,
    exercise_rules,
    hint,
    learner_result,
    not_done,
    not_yet,
    register_hints,
    report,
)

STEPS = ("look at the shapes", "reread §3.3", "a ratio of two sums")


@pytest.fixture
def hints():
    """Two registered exercises, removed again after the test."""
    register_hints({"98.1": STEPS, "98.2": ("a", "b", "c")})
    yield
    for exercise_id in ("98.1", "98.2"):
        checking._hints.pop(exercise_id, None)
        checking._hints_given.pop(exercise_id, None)


def test_a_pass_prints_correct_and_returns_true(capsys):
    assert correct("54 = (224 - 11) // 4 + 1.") is True
    assert report(True, "right.", "never shown") is True
    assert capsys.readouterr().out.splitlines() == ["Correct! 54 = (224 - 11) // 4 + 1.", "Correct! right."]


def test_a_failure_raises_one_line_that_names_its_hint():
    with pytest.raises(NotYet, match=r"^Not yet: off by one \(hint\('01\.2'\) for a hint\)$"):
        not_yet("off by one", "01.2")
    with pytest.raises(NotYet, match=r"^Not done yet: write my_lrn\.$"):
        not_done("write my_lrn.")
    with pytest.raises(NotYet, match="^Not yet: use the formula"):
        report(False, "", "use the formula")
    assert issubclass(NotYet, AssertionError)  # a failed check fails a test cell like any assert


def test_render_traceback_is_the_message_alone():
    error = NotYet("Not yet: off by one")
    assert error._render_traceback_() == ["Not yet: off by one"]


def test_learner_result_turns_stubs_into_not_done_and_errors_into_not_yet():
    def nbgrader_stub(a):
        # YOUR CODE HERE
        raise NotImplementedError()

    def ellipsis_stub(a): ...

    for stub in (nbgrader_stub, ellipsis_stub, lambda a: ...):
        with pytest.raises(NotYet, match=r"^Not done yet: write my_lrn\. \(hint\('01\.2'\) for a hint\)$"):
            learner_result("my_lrn", stub, 1, todo="write my_lrn.", hint="01.2")
    with pytest.raises(NotYet, match="^Not yet: my_lrn raised ZeroDivisionError: division by zero"):
        learner_result("my_lrn", lambda a: a / 0, 1, todo="write my_lrn.")
    assert learner_result("my_lrn", lambda a, b: a + b, 1, 2, todo="write my_lrn.") == 3


def watched(function, *args, **rules):
    """``learner_result`` under ``exercise_rules(**rules)``: the learner's result, or NotYet's one line."""
    try:
        with exercise_rules(why="write it yourself", **rules):
            return learner_result("my_fn", function, *args, todo="write my_fn.")
    except NotYet as verdict:
        return str(verdict)


def test_the_course_code_is_refused_wherever_the_learner_reaches_it():
    from alexnet_lib.lessons.architecture import lrn_formula  # an oracle, importable like any function

    a = torch.randn(2, 7, 3, 3)
    expected = "Not yet: my_fn calls alexnet_lib.lessons.architecture.lrn_formula, the course's own code: write it"
    assert watched(lambda x: lrn_formula(x), a).startswith(expected)
    assert "the course's own code" in watched(lambda x: list(map(lrn_formula, [x]))[0], a)  # through C code
    copy = types.FunctionType(lrn_formula.__code__, {**lrn_formula.__globals__})  # its code, rebound
    assert "lrn_formula, the course's own code" in watched(lambda x: copy(x, 5, 1e-4, 0.75, 2.0), a)
    assert "lrn_formula" in watched(lambda x: (lrn_formula(x, 5, 1e-4, 0.75, 2.0), 1 / 0), a)  # refusal named first
    assert "ZeroDivisionError" in watched(lambda x: 1 / 0, a)
    assert torch.equal(watched(lambda x: x * 2, a), a * 2)  # tensor operations are everyone's


def test_library_functions_that_do_the_job_are_refused_by_function_class_or_module():
    a = torch.randn(1, 6, 4, 4)
    library = (torch.nn.functional.local_response_norm, torch.nn.LocalResponseNorm)
    line = watched(lambda x: torch.nn.functional.local_response_norm(x, 5), a, refuse=library)
    assert line.endswith(
        "torch.nn.functional.local_response_norm, a library function that does the whole job: write it yourself"
    )
    assert "LocalResponseNorm.__init__" in watched(lambda x: torch.nn.LocalResponseNorm(5)(x), a, refuse=library)
    from torchvision.transforms.v2 import functional

    assert "five_crop" in watched(lambda x: functional.five_crop(x, 2)[0], a, refuse=("torchvision.transforms",))
    assert torch.equal(watched(lambda x: x.flip(-1), a, refuse=("torchvision.transforms",)), a.flip(-1))


def test_what_the_check_hands_over_or_allows_may_be_used():
    from alexnet_lib.claims_report import t_quantile
    from alexnet_lib.model import LocalResponseNorm

    model = torch.nn.Sequential(LocalResponseNorm(6), torch.nn.ReLU())  # the course's LRN inside a handed-over net
    a = torch.randn(1, 6, 4, 4)
    assert torch.equal(watched(lambda net, x: net[0](x), model, a), model[0](a))
    assert watched(lambda: t_quantile(4), allow=(t_quantile,)) == t_quantile(4)
    assert "t_quantile, the course's own code" in watched(lambda: t_quantile(4))


def test_switching_the_watch_off_or_returning_the_course_object_is_refused():
    from alexnet_lib.model import LocalResponseNorm

    built_before = LocalResponseNorm(6)
    before = sys.getprofile()
    assert "sys.setprofile, which switches" in watched(lambda: (sys.setprofile(None), 1)[1])
    assert "threading.setprofile" in watched(lambda: (threading.setprofile(None), 1)[1])
    line = watched(lambda: built_before)
    assert line.startswith("Not yet: my_fn returns the course's own "), line
    assert sys.getprofile() is before  # the watch is gone after the check


def test_hints_step_through_three_steps_then_stay_on_the_last(capsys, hints):
    for _ in range(4):
        hint("98.1")
    hint("98.2")
    assert capsys.readouterr().out.splitlines() == [
        "Hint 1/3 for 98.1: look at the shapes",
        "Hint 2/3 for 98.1: reread §3.3",
        "Hint 3/3 for 98.1: a ratio of two sums",
        "Hint 3/3 for 98.1: a ratio of two sums",
        "Hint 1/3 for 98.2: a",
    ]


def test_an_unknown_hint_is_one_line_not_a_traceback(capsys, hints):
    hint("98.9")
    assert capsys.readouterr().out.startswith("No hint called '98.9'; hints exist for: ")


def test_register_hints_refuses_malformed_hints(hints):
    register_hints({"98.1": STEPS})  # registering the same steps again (a re-imported module) is fine
    for bad in ({"1.2": STEPS}, {"98.3": STEPS[:2]}, {"98.3": (*STEPS[:2], " ")}, {"98.1": ("x", "y", "z")}):
        with pytest.raises(ValueError):
            register_hints(bad)


@pytest.mark.slow  # starts an IPython kernel
def test_jupyter_shows_a_failed_check_as_its_one_line():
    """In a real IPython kernel the error output's traceback is the message alone (what JupyterLab shows)."""
    cell = "from alexnet_lib.lessons.checking import not_yet, correct\ncorrect('fine.')\nnot_yet('off by one', '01.2')"
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell)])
    NotebookClient(notebook, timeout=120, allow_errors=True, kernel_name="python3").execute()
    outputs = notebook.cells[0].outputs
    error = next(output for output in outputs if output.output_type == "error")
    assert error.ename == "NotYet"
    assert error.traceback == ["Not yet: off by one (hint('01.2') for a hint)"]
    assert outputs[0].text == "Correct! fine.\n"


def test_reaching_into_the_checks_frame_is_refused():
    def peek():
        return sys._getframe(1).f_locals  # the check's variables, where an expected answer could sit

    assert "sys._getframe, which reaches into the check's own variables" in watched(peek)
