"""The functions an exercise cell of a teacher notebook defines, as the teacher wrote them or as nbgrader's stub."""

import io
import json
import re
from contextlib import redirect_stdout

from alexnet_lib.lessons.checking import NotYet

from .conftest import ROOT

# nbgrader's generate_assignment replaces a solution region by this, indented like its BEGIN line.
STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
REGION = re.compile(r"^([ \t]*)### BEGIN SOLUTION\n.*?^[ \t]*### END SOLUTION[ \t]*$", re.MULTILINE | re.DOTALL)


def exercise_source(notebook: str, grade_id: str) -> str:
    """The source of the cell whose nbgrader grade_id is ``grade_id`` in ``notebooks/<notebook>.ipynb``."""
    cells = json.loads((ROOT / "notebooks" / f"{notebook}.ipynb").read_text())["cells"]
    (source,) = ["".join(c["source"]) for c in cells if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id]
    return source


def student_source(source: str) -> str:
    """``source`` with each solution region replaced by nbgrader's stub."""
    return REGION.sub(lambda match: "\n".join(match[1] + line for line in STUB.splitlines()), source)


def defined(source: str, name: str, namespace: dict) -> object:
    """Run an exercise cell's ``source`` in a copy of ``namespace`` (the notebook's imports); return ``name``."""
    scope = dict(namespace)
    exec(compile(source, f"<exercise {name}>", "exec"), scope)  # the course's own notebook cell
    return scope[name]


def exercise(notebook: str, grade_id: str, name: str, namespace: dict, *, student: bool = False) -> object:
    """``name`` as exercise cell ``grade_id`` defines it: the teacher's solution, or (``student``) nbgrader's stub."""
    source = exercise_source(notebook, grade_id)
    return defined(student_source(source) if student else source, name, namespace)


def graded_cells(notebook: str) -> list[str]:
    """The sources of ``notebooks/<notebook>.ipynb``'s solution and autograded test cells (code; not the written
    answers), in order."""
    cells = json.loads((ROOT / "notebooks" / f"{notebook}.ipynb").read_text())["cells"]
    marked = [(c["source"], c["metadata"].get("nbgrader", {})) for c in cells if c["cell_type"] == "code"]
    return ["".join(source) for source, mark in marked if mark.get("solution") or mark.get("grade")]


def graded_cells_say_correct(notebook: str, namespace: dict, exercises: int) -> None:
    """Run the teacher edition's solution and test cells in ``namespace`` (the checks they call): every
    exercise's shown test and its hidden one print "Correct!", and nothing else is printed."""
    printed = io.StringIO()
    with redirect_stdout(printed):
        for source in graded_cells(notebook):
            exec(source, namespace)  # the course's own notebook cells
    lines = printed.getvalue().splitlines()
    assert len(lines) == 2 * exercises and all(line.startswith("Correct!") for line in lines), lines


def outcome(check, answer, seed=0) -> str:
    """The one line a notebook shows: "Correct! ..." printed, or the NotYet message."""
    printed = io.StringIO()
    with redirect_stdout(printed):
        try:
            check(answer, seed)
        except NotYet as verdict:
            return str(verdict)
    return printed.getvalue().strip()


def stub(*args):
    raise NotImplementedError()  # what nbgrader leaves in the student edition
