"""The points table of docs/teaching.md, read from the teacher notebooks' nbgrader metadata."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .editions import graded_cells, written_cells

BEGIN = "<!-- points: written by `make student` from the notebooks' nbgrader metadata; do not edit -->"
END = "<!-- points: end -->"
HIDDEN = "### BEGIN HIDDEN TESTS"


def points_table(notebooks: Sequence[Path]) -> str:
    """A Markdown table: each notebook's autograded test cells, their points and whether they hide tests, then its
    written answers (manually graded: a teacher gives their points), and the totals of both."""
    rows = ["| notebook | graded cell | points | hidden tests |", "| --- | --- | --: | --- |"]
    total, by_hand = 0.0, 0.0
    for notebook in notebooks:
        cells, written = graded_cells(notebook), written_cells(notebook)
        points = sum(float(cell["nbgrader"]["points"]) for cell in cells)
        hand = sum(float(cell["nbgrader"]["points"]) for cell in written)
        total, by_hand = total + points, by_hand + hand
        for cell in cells:
            grade_id, hidden = cell["nbgrader"]["grade_id"], "yes" if HIDDEN in "".join(cell["source"]) else ""
            rows.append(f"| {notebook.stem} | `{grade_id}` | {cell['nbgrader']['points']:g} | {hidden} |")
        for cell in written:
            grade_id, worth = cell["nbgrader"]["grade_id"], cell["nbgrader"]["points"]
            rows.append(f"| {notebook.stem} | `{grade_id}`, written | {worth:g} | |")
        count = f"{len(cells)} test cell{'' if len(cells) == 1 else 's'}"
        if written:
            count += f", {len(written)} written answer{'' if len(written) == 1 else 's'}"
        rows.append(f"| **{notebook.stem}** | {count} | **{points:g}**{f' + {hand:g} written' if hand else ''} | |")
    rows.append(f"| **all** | | **{total:g}**{f' + {by_hand:g} written' if by_hand else ''} | |")
    return "\n".join(rows)


def with_points_table(guide: str, table: str) -> str:
    """``guide`` (docs/teaching.md's text) with the table between its BEGIN and END markers replaced."""
    if BEGIN not in guide or END not in guide:
        raise ValueError(f"the teaching guide has no points markers ({BEGIN} ... {END})")
    head, _, rest = guide.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{table}\n{END}{tail}"
