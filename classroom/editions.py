"""The student edition and autograding, done by nbgrader itself in a course folder of its own.

A course folder is what nbgrader expects (https://nbgrader.readthedocs.io/en/stable/user_guide/
philosophy.html): ``source/<assignment>/`` holds the teacher edition, ``release/`` what
``nbgrader generate_assignment`` makes of it, ``submitted/<student>/<assignment>/`` the learners'
notebooks, ``autograded/`` what ``nbgrader autograde`` ran, and ``gradebook.db`` the scores
(SQLite, no server). Each notebook of ``notebooks/`` is one assignment, named by its file's stem.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from alexnet_lib.errors import CourseError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
STUDENT = ROOT / "student"
CONFIG = Path(__file__).with_name("nbgrader_config.py")
COURSE_ID = "alexnet-course"  # as in nbgrader_config.py
# The Colab badge opens the edition it sits in: the student edition's badge points at student/.
TEACHER_LINK = "/blob/main/notebooks/"
STUDENT_LINK = "/blob/main/student/"


@dataclass(frozen=True)
class Score:
    """One graded cell of one learner's notebook: an autograded test cell, or a written answer."""

    student: str
    notebook: str
    grade_id: str
    score: float  # nbgrader's: 0 for a written answer no teacher has graded yet
    max_score: float
    written: bool = False  # a manually graded answer cell (nbgrader: "grade" and "solution"), read by a teacher
    awaiting: bool = False  # a written answer that was answered and awaits its grade (nbgrader: needs_manual_grade)


def course_notebooks(folder: Path = NOTEBOOKS) -> list[Path]:
    """The lessons, in order: ``NN_name.ipynb``."""
    return sorted(folder.glob("[0-9][0-9]_*.ipynb"))


def nbgrader(course: Path, *args: str, timeout: float | None = None) -> str:
    """Run ``nbgrader ARGS`` in ``course``; its log, or CourseError with the log's end when it fails.

    The kernel that autograding starts finds the datasets in this checkout's data/ (or
    ALEXNET_DATA_DIR) and writes its runs under the course folder (or ALEXNET_OUTPUT_DIR).
    nbgrader runs ``alembic`` from the PATH to set up its gradebook: this venv's bin/ comes first.
    """
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "ALEXNET_DATA_DIR": os.environ.get("ALEXNET_DATA_DIR") or str(ROOT / "data"),
        # absolute: each graded notebook's kernel starts in its own folder (a relative path nested runs there)
        "ALEXNET_OUTPUT_DIR": str(Path(os.environ.get("ALEXNET_OUTPUT_DIR") or course / "outputs").resolve()),
    }
    command = [str(bin_dir / "nbgrader"), *args]
    done = subprocess.run(command, cwd=course, env=env, capture_output=True, text=True, timeout=timeout)
    log = done.stdout + done.stderr
    if done.returncode != 0:
        tail = "\n".join(log.strip().splitlines()[-15:])
        raise CourseError(f"`nbgrader {' '.join(args)}` failed in {course}:\n{tail}")
    return log


def make_course(course: Path, notebooks: Sequence[Path]) -> None:
    """A course folder with the config and each teacher notebook as ``source/<stem>/<name>``."""
    (course / "source").mkdir(parents=True, exist_ok=True)
    shutil.copy(CONFIG, course / "nbgrader_config.py")
    for notebook in notebooks:
        folder = course / "source" / notebook.stem
        folder.mkdir(exist_ok=True)
        (folder / notebook.name).write_text(notebook.read_text().replace(TEACHER_LINK, STUDENT_LINK))


def generate_student_edition(course: Path, notebooks: Sequence[Path], out: Path) -> list[Path]:
    """``nbgrader generate_assignment`` for each notebook; the released notebooks copied to ``out``.

    nbstripout then gives them the teacher edition's plain cell ids, so ``nbstripout --verify`` holds.
    """
    make_course(course, notebooks)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    nbgrader(course, "generate_assignment", "*", "--force")  # every assignment in source/, in one run
    for notebook in notebooks:
        written.append(Path(shutil.copy(course / "release" / notebook.stem / notebook.name, out / notebook.name)))
    if written:
        subprocess.run([str(Path(sys.executable).with_name("nbstripout")), *map(str, written)], check=True)
    return written


def submit(course: Path, student: str, notebook: Path) -> None:
    """Put ``notebook`` where nbgrader collects it: ``submitted/<student>/<stem>/<name>``."""
    folder = course / "submitted" / student / notebook.stem
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(notebook, folder / notebook.name)


def autograde(course: Path) -> None:
    """``nbgrader autograde "*"``: every notebook in ``submitted/``, each run top to bottom in a fresh kernel."""
    nbgrader(course, "autograde", "*", "--force")


def scores(course: Path) -> list[Score]:
    """Every graded cell's score, read from the course's gradebook.

    A written answer (a manually graded cell) is scored by nbgrader's autograde only when it is left
    as the student edition has it: 0 (its checksum is the stub's). Any other answer awaits a teacher
    (``needs_manual_grade``), and nbgrader's score for it is 0 until one gives it a grade.
    """
    from nbgrader.api import Gradebook  # the classroom extra; not needed to take the course

    found = []
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", COURSE_ID) as gradebook:
        for assignment in gradebook.assignments:
            for submission in gradebook.assignment_submissions(assignment.name):
                for notebook in submission.notebooks:
                    written = {cell.name for cell in notebook.notebook.solution_cells}
                    found += [
                        Score(
                            submission.student.id,
                            notebook.name,
                            grade.name,
                            grade.score or 0.0,
                            grade.max_score,
                            written=grade.name in written,
                            awaiting=grade.name in written and grade.needs_manual_grade,
                        )
                        for grade in notebook.grades
                        if grade.max_score
                    ]
    return sorted(found, key=lambda s: (s.student, s.notebook, s.grade_id))


def nbgrader_cells(notebook: Path) -> list[dict]:
    """The notebook's cells, each with its nbgrader metadata (``{}`` for a plain cell)."""
    cells = json.loads(notebook.read_text())["cells"]
    return [{**cell, "nbgrader": cell.get("metadata", {}).get("nbgrader", {})} for cell in cells]


def written_cells(notebook: Path) -> list[dict]:
    """The written answers: nbgrader's manually graded answer cells (``grade`` and ``solution``), in Markdown."""
    return [
        cell for cell in nbgrader_cells(notebook) if cell["nbgrader"].get("grade") and cell["nbgrader"].get("solution")
    ]


def graded_cells(notebook: Path) -> list[dict]:
    """The autograded test cells: nbgrader ``grade`` cells with points that are not solutions."""
    return [
        cell
        for cell in nbgrader_cells(notebook)
        if cell["nbgrader"].get("grade") and not cell["nbgrader"].get("solution") and cell["cell_type"] == "code"
    ]
