"""``make course``: execute every notebook headless, keep what it made, and summarise; and the
checkpoint a later lesson borrows from an earlier one (``trained_checkpoint``).

Each notebook ends by calling ``record_headline`` with its main result; the runner executes
the notebooks in order with nbclient (so 05 and 06 find the checkpoints 03 and 04 saved),
writes the executed copies to ``outputs/notebooks/``, their figures to
``outputs/figures/<notebook>/``, and prints one line per notebook.
"""

from __future__ import annotations

import base64
import json
import os
import time
from pathlib import Path
from typing import Any

from .. import env
from ..checkpoint import load_checkpoint
from ..config import load_config
from ..errors import CourseError
from ..train import default_run_dir, train


def _headline_path(notebook: str) -> Path:
    return env.outputs_dir() / "headlines" / f"{notebook}.json"


def record_headline(notebook: str, text: str, **figures: Any) -> None:
    """Save a notebook's main result (a sentence, plus numbers) for the course summary."""
    path = _headline_path(notebook)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"notebook": notebook, "headline": text, **figures}, indent=2) + "\n")
    print(f"headline: {text}")


def _save_figures(notebook: Any, folder: Path) -> int:
    """Write every PNG a notebook displayed to ``folder``; returns how many."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    count = 0
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            png = output.get("data", {}).get("image/png")
            if png:
                count += 1
                (folder / f"cell{index:02d}-{count:02d}.png").write_bytes(base64.b64decode(png))
    return count


def run_course(notebooks: list[Path] | None = None, profile: str | None = None) -> int:
    """Execute ``notebooks`` (default: all, in order) and print a summary; 0 if all ran."""
    root = env.project_root()
    notebooks = notebooks or sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    profile = profile or env.current_profile()
    os.environ["ALEXNET_PROFILE"] = profile
    os.environ.setdefault("ALEXNET_CHECKS", "strict")  # the teacher edition: every exercise's check must pass
    outputs = env.outputs_dir()
    (outputs / "notebooks").mkdir(parents=True, exist_ok=True)
    print(f"running {len(notebooks)} notebooks in the {profile} profile; results in {outputs}")
    started = time.perf_counter()
    rows = [_run_notebook(path, outputs) for path in notebooks]
    total = time.perf_counter() - started
    (outputs / "course-summary.json").write_text(
        json.dumps({"profile": profile, "seconds": round(total, 1), "notebooks": rows}, indent=2) + "\n"
    )
    _print_summary(rows, profile, total, outputs)
    return 0 if all(row["status"] == "ok" for row in rows) else 1


def _run_notebook(path: Path, outputs: Path) -> dict[str, Any]:
    """Execute one notebook with nbclient, keep the executed copy and its figures; its summary row."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    _headline_path(path.stem).unlink(missing_ok=True)
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(  # log_level: no kernel start-up warnings between the summary lines
        notebook,
        timeout=None,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent.resolve())}},
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
    )
    clock = time.perf_counter()
    print(f"  {path.stem} ...", end=" ", flush=True)
    try:
        client.execute()
        status = "ok"
    except CellExecutionError as error:
        status = "failed: " + (str(error).strip().splitlines() or ["?"])[-1][:200]
    seconds = time.perf_counter() - clock
    nbformat.write(notebook, outputs / "notebooks" / path.name)
    figures = _save_figures(notebook, outputs / "figures" / path.stem)
    headline_file = _headline_path(path.stem)
    headline = json.loads(headline_file.read_text())["headline"] if headline_file.exists() else "(no headline)"
    print(f"{status} in {seconds:.0f} s")
    return {
        "notebook": path.stem,
        "status": status,
        "seconds": round(seconds, 1),
        "figures": figures,
        "headline": headline,
    }


def _print_summary(rows: list[dict[str, Any]], profile: str, total: float, outputs: Path) -> None:
    print(f"\nCourse summary ({profile} profile, {total / 60:.1f} min):")
    for row in rows:
        mark = "ok " if row["status"] == "ok" else "FAIL"
        print(
            f"  {mark} {row['notebook']:<28} {row['seconds']:>5.0f} s  {row['figures']:>2} figures  {row['headline']}"
        )
        if row["status"] != "ok":
            print(f"       {row['status']}")
    print(f"executed notebooks: {outputs / 'notebooks'}; figures: {outputs / 'figures'}")


# The checkpoint a later lesson borrows (notebooks 05 and 06) ---------------------------------


SHIPPED_CONFIGS = {"fashion-mnist": "fashion_mnist", "cifar10": "cifar10"}


def trained_checkpoint(dataset: str, *, fallback_images: int = 8000, fallback_seconds: float = 60) -> Path:
    """The checkpoint notebook 03 (Fashion-MNIST) or 04 (CIFAR-10) saved, for notebooks 05 and 06.

    When it is missing or unfinished, as on a fresh quick run, a small model is trained now
    with the quick profile on ``fallback_images`` images, or fewer if they would take more
    than ``fallback_seconds`` on this machine, and the notebook says so: a later lesson never
    fails because an earlier one was not run.
    """
    path = default_run_dir(dataset) / "last.pt"
    if path.exists():
        try:
            if load_checkpoint(path)["step"] == 0:  # saved at the end of an epoch
                return path
        except CourseError as error:
            print(f"ignoring {path}: {error}")
    fallback = default_run_dir(dataset).with_name(f"{dataset}-fallback")
    if (fallback / "last.pt").exists() and (fallback / "result.json").exists():
        print(
            f"No checkpoint from the training notebook at {path}; using the small model trained earlier in {fallback}."
        )
        return fallback / "last.pt"
    print(
        f"No checkpoint from the training notebook at {path}: training a small quick model on "
        f"at most {fallback_images:,} images now (at most {fallback_seconds:g} s of training). "
        "Run the training notebook for a better one."
    )
    config = load_config(
        SHIPPED_CONFIGS[dataset],
        "quick",
        train_subset=fallback_images,
        time_budget_s=fallback_seconds,
        val_subset=1000,
        test_subset=2000,
        checkpoint_dir=str(fallback),
        histograms=False,
    )
    train(config)
    return fallback / "last.pt"
