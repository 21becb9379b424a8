"""The check convention (alexnet_lib.lessons.checking): "Correct!" or one NotYet line, stubs, hints, refusals."""

import nbformat
import pytest
from nbclient import NotebookClient

from alexnet_lib.lessons import checking
from alexnet_lib.lessons.checking import (
    NotYet,
    correct,
    hint,
    learner_result,
    not_done,
    not_yet,
    refusing,
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


def library_answer(x):
    return x + 1


def test_refusing_blocks_the_library_answer_only_while_the_check_runs():
    def learner(x):
        return library_answer(x)

    with refusing(learner, library_answer, why="write it yourself"), pytest.raises(NotYet) as verdict:
        learner_result("my_fn", learner, 1, todo="write my_fn.")
    assert str(verdict.value) == (
        "Not yet: this calls the library's library_answer, which computes the answer: write it yourself."
    )
    assert learner(1) == 2  # restored


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
