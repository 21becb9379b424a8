"""``python -m classroom student`` and ``python -m classroom grade SUBMISSIONS``: see docs/teaching.md."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from alexnet_lib.errors import CourseError

from .editions import (
    ROOT,
    STUDENT,
    Score,
    autograde,
    course_notebooks,
    generate_student_edition,
    nbgrader,
    scores,
    submit,
)
from .points import points_table, with_points_table

GUIDE = ROOT / "docs" / "teaching.md"
GRADING = ROOT / "outputs" / "grading"


def run_student(args: argparse.Namespace) -> int:
    """Write the student edition and the guide's points table, both from the teacher notebooks."""
    notebooks = course_notebooks()
    with tempfile.TemporaryDirectory() as tmp:
        written = generate_student_edition(Path(tmp) / "course", notebooks, args.out)
    for stale in set(args.out.glob("*.ipynb")) - set(written):  # a lesson renamed or removed
        stale.unlink()
    args.guide.write_text(with_points_table(args.guide.read_text(), points_table(notebooks)))
    print(f"student edition: {len(written)} notebooks in {args.out}; points table in {args.guide}")
    return 0


def find_submissions(submissions: Path, names: set[str]) -> list[tuple[str, Path]]:
    """``(student, notebook)`` for each ``SUBMISSIONS/<student>/**/NN_name.ipynb`` named as a lesson."""
    if not submissions.is_dir():
        raise CourseError(f"{submissions} is not a folder; give one folder per student, each with its notebooks")
    found = [
        (folder.name, notebook)
        for folder in sorted(path for path in submissions.iterdir() if path.is_dir())
        for notebook in sorted(folder.rglob("*.ipynb"))
        if notebook.name in names and ".ipynb_checkpoints" not in notebook.parts
    ]
    if not found:
        raise CourseError(
            f"no submissions in {submissions}: expected {submissions}/<student>/NN_name.ipynb, "
            f"named as the course's notebooks ({', '.join(sorted(names))})"
        )
    return found


def score_table(found: list[Score]) -> str:
    """One row per learner: the autograded score/max per notebook and in total, and the points of written answers
    that await a teacher ("written"; "-" when none: a written answer left as the student edition has it scores 0)."""
    cells: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(lambda: [0.0, 0.0]))
    awaiting: dict[str, float] = defaultdict(float)
    for score in found:
        if score.written:
            awaiting[score.student] += score.max_score if score.awaiting else 0.0
            continue
        cells[score.student][score.notebook][0] += score.score
        cells[score.student][score.notebook][1] += score.max_score
    notebooks = sorted({score.notebook for score in found if not score.written})
    width = max([len("student"), *(len(student) for student in cells)])
    header = [f"{'student':<{width}}", *(f"{name[:16]:>16}" for name in notebooks), f"{'total':>12}", f"{'written':>8}"]
    lines = [" ".join(header)]
    for student, by_notebook in sorted(cells.items()):
        row = [f"{student:<{width}}"]
        for name in notebooks:
            got, most = by_notebook[name]
            row.append(f"{f'{got:g}/{most:g}' if most else '-':>16}")
        got, most = (sum(pair[i] for pair in by_notebook.values()) for i in (0, 1))
        row.append(f"{f'{got:g}/{most:g}':>12}")
        lines.append(" ".join([*row, f"{f'{awaiting[student]:g}' if awaiting[student] else '-':>8}"]))
    if any(score.written for score in found):
        lines.append(
            "Scores count the autograded test cells. written: points of written answers that await a teacher, not "
            "in the total (nbgrader's formgrader, or read them in autograded/<student>/); an unanswered one scores 0."
        )
    return "\n".join(lines)


def run_grade(args: argparse.Namespace) -> int:
    """Autograde every submission with nbgrader in ``--course`` (rebuilt), print the scores, export CSV."""
    args.course = args.course.resolve()  # one output folder for every graded notebook, wherever it runs
    notebooks = course_notebooks()
    found = find_submissions(args.submissions, {notebook.name for notebook in notebooks})
    if args.course.exists():
        if any(args.course.iterdir()) and not (args.course / "nbgrader_config.py").is_file():
            raise CourseError(f"{args.course} is not empty and not a course folder this command made; give another")
        shutil.rmtree(args.course)
    generate_student_edition(args.course, notebooks, args.course / "student")  # the assignments, in the gradebook
    for student, notebook in found:
        submit(args.course, student, notebook)
    assignments = sorted({notebook.stem for _, notebook in found})
    print(f"autograding {', '.join(assignments)} in {args.course} (each notebook runs top to bottom)")
    autograde(args.course)
    nbgrader(args.course, "export", "--to", "grades.csv")
    print(score_table(scores(args.course)))
    print(f"per-assignment CSV: {args.course / 'grades.csv'}; graded notebooks: {args.course / 'autograded'}")
    runs = args.course / "outputs"  # the lessons' own checkpoints (GBs: the paper net's), shared by every notebook
    if runs.is_dir() and not os.environ.get("ALEXNET_OUTPUT_DIR"):
        size = sum(path.stat().st_size for path in runs.rglob("*") if path.is_file())
        shutil.rmtree(runs)
        print(f"removed the lessons' runs ({size / 1e6:,.0f} MB in {runs}); the scores do not need them")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m classroom", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    student = commands.add_parser("student", help="write the student edition with nbgrader generate_assignment")
    student.add_argument("--out", type=Path, default=STUDENT, help="where (default: student/)")
    student.add_argument("--guide", type=Path, default=GUIDE, help="whose points table to rewrite")
    student.set_defaults(run=run_student)
    grade = commands.add_parser("grade", help="autograde SUBMISSIONS/<student>/NN_name.ipynb offline")
    grade.add_argument("submissions", type=Path, help="one folder per student, holding their notebooks")
    grade.add_argument("--course", type=Path, default=GRADING, help="the nbgrader course folder (rebuilt)")
    grade.set_defaults(run=run_grade)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except CourseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
