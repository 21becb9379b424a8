"""The classroom editions, through nbgrader's own commands (classroom/, make student, make grade).

(a) The student edition holds no line of a solution region or a hidden test: every committed
    notebook of student/, and what `make student` writes now, which must equal it.
(b)-(d) Autograding: the teacher edition as a submission gets full marks; the untouched student
    edition gets 0 on every test cell, each failing with "Not done yet", while every other cell
    runs without an error; a submission with one exercise answered wrongly loses exactly that
    exercise's points. (e) Written answers (nbgrader's manually graded cells): the student edition
    shows nbgrader's text stub only; an untouched one scores 0, an answered one awaits a teacher
    (nbgrader's needs_manual_grade) and `make grade` reports its points apart from the autograded
    total. Each notebook run costs a lesson's run time, so these run on a small
    notebook built here (the whole path, in seconds) and on the lessons in AUTOGRADED, through
    `make grade` itself; the others' test cells already run under nbval in `make test`.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from classroom.editions import (
    STUDENT,
    autograde,
    course_notebooks,
    generate_student_edition,
    graded_cells,
    scores,
    submit,
    written_cells,
)

from .conftest import ROOT

# The lesson autograded in CI: three runs (teacher, untouched, one wrong), the cheapest in the
# quick profile (make course on an idle 2-core CPU: 01 10 s, 02 15 s; 06 21 s there, but
# graded alone it first trains two fallback models of up to 60 s each, and took 3.5 min under
# load; 05 47 s, 03 and 04 over 150 s).
# The others are graded the same way by `make grade`; their test cells pass under nbval in
# `make test` (the teacher edition's run), and (a) covers every notebook. 02 was graded here too
# until make test had to fit 9 minutes (issue 19): a second lesson added 60 s and no new path.
AUTOGRADED = ["01_architecture"]
VENV = Path(sys.prefix)
SOLUTION = ("BEGIN SOLUTION", "END SOLUTION")
HIDDEN = ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
TEXT_STUB = "YOUR ANSWER HERE"  # classroom/nbgrader_config.py: what a written answer becomes in the student edition


def regions(source: str, markers: tuple[str, str]) -> tuple[list[int], list[str]]:
    """The line numbers inside ``markers`` (markers included) and the stripped lines outside them."""
    inside, outside, depth = [], [], False
    for number, line in enumerate(source.splitlines()):
        if markers[0] in line:
            depth = True
        if depth:
            inside.append(number)
        else:
            outside.append(line.strip())
        if markers[1] in line:
            depth = False
    return inside, outside


def secrets(source: str) -> set[str]:
    """The lines of a cell's solution regions and hidden tests that do not also stand outside them."""
    lines = source.splitlines()
    found: set[str] = set()
    for markers in (SOLUTION, HIDDEN):
        inside, outside = regions(source, markers)
        found |= {lines[n].strip() for n in inside} - set(outside) - {""}
    return found


def assert_no_secrets(teacher: Path, student: Path) -> None:
    """(a): no line of a solution region or a hidden test in the student edition's matching cell."""
    teacher_cells, student_cells = (json.loads(path.read_text())["cells"] for path in (teacher, student))
    assert len(teacher_cells) == len(student_cells), f"{student.name}: nbgrader keeps every cell"
    for number, (mine, theirs) in enumerate(zip(teacher_cells, student_cells, strict=True)):
        shown = {line.strip() for line in "".join(theirs["source"]).splitlines()}
        leaked = secrets("".join(mine["source"])) & shown
        assert not leaked, f"{student.name} cell {number} shows solution or hidden-test lines: {sorted(leaked)}"
        markers = [marker for marker in (*SOLUTION, *HIDDEN) if marker in "".join(theirs["source"])]
        assert not markers, f"{student.name} cell {number} keeps {markers}"
        grading = mine.get("metadata", {}).get("nbgrader", {})
        if grading.get("grade") and grading.get("solution"):  # a written answer: the teacher's stays hidden
            assert "".join(theirs["source"]) == TEXT_STUB, f"{student.name} cell {number} shows the teacher's answer"


@pytest.mark.parametrize("name", [path.name for path in course_notebooks()])
def test_committed_student_edition_holds_no_solution(name):
    assert (STUDENT / name).is_file(), f"student/{name} is missing: run `make student` and commit it"
    assert_no_secrets(ROOT / "notebooks" / name, STUDENT / name)


def test_student_badges_open_the_student_edition():
    for path in sorted(STUDENT.glob("*.ipynb")):
        title = "".join(json.loads(path.read_text())["cells"][0]["source"])
        assert f"/blob/main/student/{path.name}" in title and "/blob/main/notebooks/" not in title, path.name


def test_readme_sends_teachers_to_the_guide_and_its_commands():
    readme = (ROOT / "README.md").read_text()
    assert "classroom" in readme and "(docs/teaching.md)" in readme
    assert "make student" in readme and "make grade SUBMISSIONS=DIR" in readme


def test_grade_says_what_is_wrong_with_its_input_in_one_line(tmp_path, capsys):
    from classroom.__main__ import main

    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "homework.ipynb").write_text("{}")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    for submissions, course, message in (
        (tmp_path / "missing", tmp_path / "course", "is not a folder"),
        (tmp_path, tmp_path / "course", "no submissions in"),
    ):
        assert main(["grade", str(submissions), "--course", str(course)]) == 2
        error = capsys.readouterr().err
        assert error.startswith("error: ") and message in error and "Traceback" not in error
    shutil.copy(ROOT / "notebooks" / "01_architecture.ipynb", tmp_path / "alice")
    assert main(["grade", str(tmp_path), "--course", str(tmp_path / "mine")]) == 2
    assert "not a course folder" in capsys.readouterr().err and (tmp_path / "mine" / "notes.txt").is_file()


def make(*args: str, timeout: float) -> subprocess.CompletedProcess:
    """``make ARGS`` in the checkout with this venv, as a teacher types it (its install step taken as done)."""
    command = ["make", "-o", f"{VENV}/.installed", f"VENV={VENV}", *args]
    env = {**os.environ, "ALEXNET_PROFILE": "quick"}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def comparable(path: Path) -> list[tuple]:
    """What the student edition is made of: each cell's type, source and nbgrader metadata."""
    cells = json.loads(path.read_text())["cells"]
    return [(cell["cell_type"], "".join(cell["source"]), cell["metadata"].get("nbgrader")) for cell in cells]


@pytest.mark.slow
def test_make_student_writes_what_is_committed(tmp_path):
    """`make student` into a temporary folder gives student/ and the guide's points table as committed."""
    guide = tmp_path / "teaching.md"
    shutil.copy(ROOT / "docs" / "teaching.md", guide)
    make("student", f"STUDENT_DIR={tmp_path / 'student'}", f"TEACHING_GUIDE={guide}", timeout=600)
    written = sorted(path.name for path in (tmp_path / "student").glob("*.ipynb"))
    assert written == sorted(path.name for path in STUDENT.glob("*.ipynb")), "run `make student` and commit student/"
    for name in written:
        assert comparable(tmp_path / "student" / name) == comparable(STUDENT / name), (
            f"student/{name} is out of date: run `make student` and commit it"
        )
    assert guide.read_text() == (ROOT / "docs" / "teaching.md").read_text(), (
        "docs/teaching.md's points table is out of date: run `make student`"
    )


def wrong_submission(teacher: Path, out: Path) -> tuple[Path, set[str]]:
    """The teacher edition with its first exercise answered wrongly; that exercise's test cells' ids.

    The solution region becomes ``return <first argument>`` (the input handed back, a typical
    wrong answer of the right kind); the exercise's test cells are those up to the next exercise.
    """
    notebook = nbformat.read(teacher, as_version=4)
    cells = notebook.cells
    for number, cell in enumerate(cells):
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
            wrong = wrong_answer(cell.source)
            tests = []
            for later in cells[number + 1 :]:
                grading = later.metadata.get("nbgrader", {})
                if grading.get("solution"):
                    break
                if grading.get("grade"):
                    tests.append(grading["grade_id"])
            if wrong is not None and tests:
                cell.source = wrong
                out.mkdir(parents=True, exist_ok=True)
                nbformat.write(notebook, out / teacher.name)
                return out / teacher.name, set(tests)
    raise AssertionError(f"{teacher.name} has no exercise (a solution region in a function, then a test cell)")


def wrong_answer(source: str) -> str | None:
    """``source`` with its solution region replaced by ``return <first argument>``; None if it is in no function."""
    inside, _ = regions(source, SOLUTION)
    if not inside:
        return None
    begin = inside[0] + 1  # ast counts lines from 1
    functions = [
        node
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.lineno < begin <= node.end_lineno
    ]
    if not functions:
        return None
    arguments = [arg.arg for arg in functions[-1].args.posonlyargs + functions[-1].args.args if arg.arg != "self"]
    lines = source.splitlines()
    indent = lines[inside[0]][: len(lines[inside[0]]) - len(lines[inside[0]].lstrip())]
    answer = f"return {arguments[0]}" if arguments else "return 0"
    return "\n".join([*lines[: inside[0]], f"{indent}{answer}  # deliberately wrong", *lines[inside[-1] + 1 :]])


def outputs(autograded: Path) -> list[tuple[dict, list[dict]]]:
    """Each cell's nbgrader metadata and its error outputs, in an autograded notebook."""
    cells = json.loads(autograded.read_text())["cells"]
    return [
        (
            cell["metadata"].get("nbgrader", {}),
            [out for out in cell.get("outputs", []) if out["output_type"] == "error"],
        )
        for cell in cells
    ]


SHADOWING = """

# A points hunter's additions: every name and module attribute a test cell could call, replaced.
import alexnet_lib.lessons.checking as _checking  # noqa: E402
import alexnet_lib.lessons.grading as _grading  # noqa: E402


def _correct(*args, **kwargs):
    print("Correct!")
    return True


_lessons = [module for name, module in __import__("sys").modules.items() if name.startswith("alexnet_lib.lessons.")]
for _module in (_checking, _grading, *_lessons):
    for _name in [n for n in vars(_module) if n.startswith(("check_", "grade", "learner_result", "not_"))]:
        setattr(_module, _name, _correct)
        globals()[_name] = _correct
"""


def shadowing_submission(student: Path, out: Path) -> Path:
    """The student edition, stubs untouched, with every solution cell replacing the checks it could reach."""
    notebook = nbformat.read(student, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source += SHADOWING
    out.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, out / student.name)
    return out / student.name


def assert_graded_as_promised(course: Path, name: str, wrong_tests: set[str]) -> None:
    """(b), (c) and (d) from the gradebook and the autograded notebooks of teacher, untouched and wrong."""
    got = {(score.student, score.grade_id): (score.score, score.max_score) for score in scores(course)}
    tests = {
        cell["nbgrader"]["grade_id"]: float(cell["nbgrader"]["points"])
        for cell in graded_cells(course / "source" / name / f"{name}.ipynb")
    }
    assert tests, f"{name} has no autograded test cell"
    for grade_id, points in tests.items():
        assert got[("teacher", grade_id)] == (points, points), f"(b) teacher edition, {grade_id}"
        assert got[("untouched", grade_id)] == (0, points), f"(c) untouched student edition, {grade_id}"
        lost = grade_id in wrong_tests
        assert got[("wrong", grade_id)] == (0 if lost else points, points), f"(d) one wrong exercise, {grade_id}"
        if ("shadowing", grade_id) in got:
            assert got[("shadowing", grade_id)] == (0, points), f"(e) a submission replacing the checks, {grade_id}"
    written = {
        cell["nbgrader"]["grade_id"]: float(cell["nbgrader"]["points"])
        for cell in written_cells(course / "source" / name / f"{name}.ipynb")
    }
    awaiting = {(score.student, score.grade_id): score.awaiting for score in scores(course) if score.written}
    for grade_id, points in written.items():  # (e): answered, it awaits a teacher; untouched, it scores 0
        assert got[("teacher", grade_id)] == (0, points) and awaiting[("teacher", grade_id)], grade_id
        assert got[("untouched", grade_id)] == (0, points) and not awaiting[("untouched", grade_id)], grade_id
    for student in ("teacher", "untouched"):
        for grading, errors in outputs(course / "autograded" / student / name / f"{name}.ipynb"):
            if student == "untouched" and grading.get("grade") and not grading.get("solution"):
                assert [(e["ename"], e["evalue"].split(":")[0]) for e in errors] == [("NotYet", "Not done yet")], (
                    f"(c) an untouched exercise says 'Not done yet', in {grading['grade_id']}: {errors}"
                )
            else:
                assert not errors, f"({'b' if student == 'teacher' else 'c'}) {student}: {errors[0]['evalue']}"


def fixture_notebook(path: Path) -> Path:
    """A two-exercise teacher notebook written to the course's conventions, cheap to run."""
    setup = "\n".join(
        [
            "import random",
            "from alexnet_lib.lessons.checking import learner_result, report",
            "",
            "def check_scaled(function, factor, seed=0):",
            "    x = random.Random(seed).randint(1, 100)",
            '    got = learner_result(function.__name__, function, x, todo="write it.", hint="99.1")',
            '    return report(got == factor * x, "right.", f"gave {got!r} for {x}.", "99.1")',
        ]
    )
    cells = [
        new_markdown_cell(
            f"# 99\n[badge](https://colab.research.google.com/github/x/y/blob/main/notebooks/{path.name})"
        ),
        new_code_cell(setup, metadata=nbgrader_meta("setup99_checks", locked=True)),
        new_code_cell(
            "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION",
            metadata=nbgrader_meta("ex99_double", solution=True),
        ),
        new_code_cell(
            "check_scaled(double, 2)\n### BEGIN HIDDEN TESTS\ncheck_scaled(double, 2, seed=7)\n### END HIDDEN TESTS",
            metadata=nbgrader_meta("test99_double", points=2),
        ),
        new_code_cell(
            "def triple(x):\n    ### BEGIN SOLUTION\n    return 3 * x\n    ### END SOLUTION",
            metadata=nbgrader_meta("ex99_triple", solution=True),
        ),
        new_code_cell("check_scaled(triple, 3)", metadata=nbgrader_meta("test99_triple", points=1)),
        new_markdown_cell("Why triple? A model answer.", metadata=written_meta("written99_why")),
        new_code_cell("print('the lesson goes on')"),
    ]
    kernel = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}}
    nbformat.write(new_notebook(cells=cells, metadata=kernel), path)
    return path


def nbgrader_meta(grade_id: str, *, points: int = 0, solution: bool = False, locked: bool = False) -> dict:
    """A cell's nbgrader metadata: a test cell when it has points, else an exercise or a read-only cell."""
    grading = {"grade": bool(points), "grade_id": grade_id, "locked": locked or bool(points), "schema_version": 3}
    grading |= {"solution": solution, "task": False} | ({"points": points} if points else {})
    return {"nbgrader": grading}


def written_meta(grade_id: str, points: int = 1) -> dict:
    """A written answer's nbgrader metadata: a manually graded answer cell, as nbgrader's toolbar sets it."""
    grading = {"grade": True, "grade_id": grade_id, "locked": False, "points": points, "schema_version": 3}
    return {"nbgrader": grading | {"solution": True, "task": False}}


@pytest.mark.slow
def test_autograding_a_small_notebook_through_nbgrader(tmp_path):
    """The whole path on a notebook built here: generate, (a), then (b)-(d) in nbgrader's gradebook."""
    (tmp_path / "notebooks").mkdir()
    teacher = fixture_notebook(tmp_path / "notebooks" / "99_fixture.ipynb")
    course = tmp_path / "course"
    (student,) = generate_student_edition(course, [teacher], tmp_path / "student")
    assert_no_secrets(teacher, student)
    assert "/blob/main/student/99_fixture.ipynb" in "".join(json.loads(student.read_text())["cells"][0]["source"])
    wrong, wrong_tests = wrong_submission(teacher, tmp_path / "wrong")
    assert wrong_tests == {"test99_double"}
    for who, notebook in (("teacher", teacher), ("untouched", student), ("wrong", wrong)):
        submit(course, who, notebook)
    autograde(course)
    assert_graded_as_promised(course, "99_fixture", wrong_tests)


@pytest.mark.slow
def test_make_grade_scores_teacher_untouched_and_wrong_submissions(tmp_path):
    """`make grade` on four learners' AUTOGRADED lessons: full marks, zero, exactly one exercise lost, and zero for
    the submission that replaces every check it can reach."""
    submissions, wrong_tests = tmp_path / "submissions", {}
    for name in AUTOGRADED:
        teacher = ROOT / "notebooks" / f"{name}.ipynb"
        for who, notebook in (("teacher", teacher), ("untouched", STUDENT / teacher.name)):
            (submissions / who).mkdir(parents=True, exist_ok=True)
            shutil.copy(notebook, submissions / who)
        _, wrong_tests[name] = wrong_submission(teacher, submissions / "wrong")
        shadowing_submission(STUDENT / teacher.name, submissions / "shadowing")
    course = tmp_path / "course"
    done = make("grade", f"SUBMISSIONS={submissions}", f"GRADING_DIR={course}", timeout=3000)
    for name in AUTOGRADED:
        assert_graded_as_promised(course, name, wrong_tests[name])
    lines = done.stdout.splitlines()
    header = next(n for n, line in enumerate(lines) if line.startswith("student "))
    assert lines[header].split()[-2:] == ["total", "written"], lines[header]
    rows = {line.split()[0]: line.split()[-2] for line in lines[header + 1 : header + 5]}
    by_hand = {line.split()[0]: line.split()[-1] for line in lines[header + 1 : header + 5]}
    total, written = (
        sum(
            float(cell["nbgrader"]["points"])
            for name in AUTOGRADED
            for cell in cells(ROOT / "notebooks" / f"{name}.ipynb")
        )
        for cells in (graded_cells, written_cells)
    )
    assert rows["teacher"] == f"{total:g}/{total:g}" and rows["untouched"] == f"0/{total:g}", lines[header:]
    assert rows["shadowing"] == f"0/{total:g}", lines[header:]
    # the written answers: the teacher's and the wrong one's await a teacher, the untouched ones score 0
    assert written and by_hand["teacher"] == by_hand["wrong"] == f"{written:g}", lines[header:]
    assert by_hand["untouched"] == by_hand["shadowing"] == "-", lines[header:]
    assert (course / "grades.csv").is_file()


def test_graded_notebooks_share_one_absolute_output_folder(monkeypatch, tmp_path):
    """A relative --course once nested every graded notebook's runs in its own folder (17 GB for 22 notebooks)."""
    from classroom import editions

    seen = {}

    def run(command, cwd, env, **kwargs):
        seen.update(env)
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ALEXNET_OUTPUT_DIR", raising=False)
    monkeypatch.setattr(editions.subprocess, "run", run)
    editions.nbgrader(Path("outputs/grading"), "--version")
    assert seen["ALEXNET_OUTPUT_DIR"] == str(tmp_path / "outputs" / "grading" / "outputs")
