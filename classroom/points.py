"""The points table of docs/teaching.md, read from the teacher notebooks' nbgrader metadata."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .editions import graded_cells

BEGIN = "<!-- points: written by `make student` from the notebooks' nbgrader metadata; do not edit -->"
END = "<!-- points: end -->"
HIDDEN = "### BEGIN HIDDEN TESTS"


def points_table(notebooks: Sequence[Path]) -> str:
    """A Markdown table: each notebook's autograded test cells, their points, and whether they hide tests."""
    rows = ["| notebook | test cell | points | hidden tests |", "| --- | --- | --: | --- |"]
    total = 0.0
    for notebook in notebooks:
        cells = graded_cells(notebook)
        points = sum(float(cell["nbgrader"]["points"]) for cell in cells)
        total += points
        for cell in cells:
            grade_id, hidden = cell["nbgrader"]["grade_id"], "yes" if HIDDEN in "".join(cell["source"]) else ""
            rows.append(f"| {notebook.stem} | `{grade_id}` | {cell['nbgrader']['points']:g} | {hidden} |")
        count = f"{len(cells)} test cell{'' if len(cells) == 1 else 's'}"
        rows.append(f"| **{notebook.stem}** | {count} | **{points:g}** | |")
    rows.append(f"| **all** | | **{total:g}** | |")
    return "\n".join(rows)


def with_points_table(guide: str, table: str) -> str:
    """``guide`` (docs/teaching.md's text) with the table between its BEGIN and END markers replaced."""
    if BEGIN not in guide or END not in guide:
        raise ValueError(f"the teaching guide has no points markers ({BEGIN} ... {END})")
    head, _, rest = guide.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{table}\n{END}{tail}"
