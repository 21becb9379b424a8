"""The lessons as a learner meets them in JupyterLab: notebooks open, widgets render and answer.

Screenshots of every check go to outputs/browser/. Run with `make test-browser`.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
import torch

from alexnet_lib.env import resolve_precision
from alexnet_lib.fetch import load_dataset
from alexnet_lib.inference import load_predictor, ranked
from alexnet_lib.transforms import to_pil

from .conftest import ROOT, SHOTS, Lab

NOTEBOOKS = sorted(path.name for path in (ROOT / "notebooks").glob("*.ipynb"))
WIDGET_ERRORS = ("Error displaying widget", "model not found", "Failed to load model class")
WIDGET_MANAGER = "@jupyter-widgets/jupyterlab-manager"  # jupyterlab_widgets' extension
# JupyterLab logs this when no widget manager takes a kernel's widget: the widget then shows as
# its text repr (`IntSlider(value=3)`, `0%|  |`), with no error on the page itself.
COMM_REFUSED = "Exception opening new comm"
RUN_ALL_MINUTES = 25  # notebook 03's quick run is the longest: about 4 minutes on 2 idle cores


def open_notebook(page, lab: Lab, name: str):
    """Open ``name`` in a workspace of its own; wait until its kernel is idle. Returns its panel."""
    page.goto(lab.open_url(name, re.sub(r"\W", "-", name)))
    config = "JSON.parse(document.getElementById('jupyter-config-data').textContent)"
    extensions = page.evaluate(f"{config}.federated_extensions.map(e => e.name)")
    assert WIDGET_MANAGER in extensions, f"JupyterLab has no {WIDGET_MANAGER} (jupyterlab_widgets): {extensions}"
    panel = page.locator(".jp-NotebookPanel").filter(has=page.locator(".jp-Notebook"))
    deadline = time.monotonic() + 120
    while not any(
        s["path"].endswith(name) and s["kernel"]["execution_state"] == "idle" for s in lab.api("GET", "/api/sessions")
    ):
        assert time.monotonic() < deadline, f"{name}: its kernel did not start"
        time.sleep(0.5)
    cells = len(json.loads((lab.notebooks / name).read_text())["cells"])
    deadline = time.monotonic() + 60
    while panel.locator(".jp-Cell").count() < cells:  # JupyterLab attaches cells a few at a time
        assert time.monotonic() < deadline, f"{name}: {panel.locator('.jp-Cell').count()} of {cells} cells shown"
        time.sleep(0.5)
    return panel


def assert_no_errors_shown(page, name: str) -> None:
    """No dialog and no widget error anywhere on the page."""
    dialogs = page.locator(".jp-Dialog")
    assert dialogs.count() == 0, f"{name}: a dialog is open: {dialogs.first.inner_text()!r}"
    text = page.locator("body").inner_text() + "".join(page.locator(".jp-OutputArea").all_text_contents())
    for message in WIDGET_ERRORS:
        assert message not in text, f"{name}: the page shows {message!r}"
    refused = [line for line in page.console_messages if COMM_REFUSED in line or line.startswith("pageerror")]
    assert not refused, (
        f"{name}: the frontend took none of the kernel's widgets ({len(refused)} times {refused[0]!r}): "
        "is jupyterlab_widgets missing or not matching ipywidgets?"
    )


def prompts(panel) -> list[str]:
    # text_content: JupyterLab skips rendering cells out of view, and their inner text reads empty.
    return panel.locator(".jp-CodeCell .jp-InputArea-prompt").all_text_contents()


def run_all(page, panel, name: str) -> None:
    """Run → Run All Cells, and wait until no cell is running or waiting to run."""
    for attempt in range(3):  # a click before the page has settled can go nowhere: then again
        page.keyboard.press("Escape")
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
        started = time.monotonic() + 20
        while not any(re.search(r"[*\d]", prompt) for prompt in prompts(panel)):  # queued, or already done
            if time.monotonic() > started:
                break
            time.sleep(0.5)
        else:
            break
        assert attempt < 2, f"{name}: Run All Cells started nothing"
    deadline = time.monotonic() + RUN_ALL_MINUTES * 60
    while (
        any("*" in prompt for prompt in prompts(panel))
        or not panel.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").count()
    ):
        assert time.monotonic() < deadline, f"{name}: Run All took over {RUN_ALL_MINUTES} minutes"
        time.sleep(2)
    not_run = [i for i, prompt in enumerate(prompts(panel)) if not re.search(r"\d", prompt)]
    if not_run:
        tracebacks = panel.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        error = tracebacks.last.text_content().strip().splitlines()[-3:] if tracebacks.count() else []
        pytest.fail(f"{name}: code cells {not_run} did not run; the error shown: {' | '.join(error) or 'none'}")


def saved(page, lab: Lab, name: str) -> dict:
    """Save the notebook (Ctrl+S, as a learner would) and read it back from disk."""
    path = lab.notebooks / name
    before = path.stat().st_mtime_ns
    page.keyboard.press("Escape")
    page.keyboard.press("ControlOrMeta+s")
    deadline = time.monotonic() + 60
    while path.stat().st_mtime_ns == before:
        assert time.monotonic() < deadline, f"{name}: Ctrl+S did not save the notebook"
        time.sleep(0.5)
    time.sleep(1)  # the file is written in one go, but give the server its moment
    return json.loads(path.read_text())


def error_outputs(notebook: dict) -> list[str]:
    return [
        f"cell {index}: {output['ename']}: {output['evalue']}"
        for index, cell in enumerate(notebook["cells"])
        for output in cell.get("outputs", [])
        if output["output_type"] == "error"
    ]


def shot(locator, name: str) -> bytes:
    return locator.screenshot(path=SHOTS / name)


def wait_for_new_picture(picture, before: str, what: str) -> None:
    deadline = time.monotonic() + 180
    while picture.count() == 0 or picture.first.get_attribute("src") == before:
        assert time.monotonic() < deadline, f"the explorer's picture did not change after {what}"
        time.sleep(1)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_opens_without_errors(page, lab: Lab, name: str) -> None:
    open_notebook(page, lab, name)
    assert_no_errors_shown(page, name)
    page.screenshot(path=SHOTS / f"open-{Path(name).stem}.png")


def test_03_progress_bars_are_widgets_and_finish(page, lab: Lab) -> None:
    name = "03_train_fashion_mnist.ipynb"
    panel = open_notebook(page, lab, name)
    run_all(page, panel, name)
    assert_no_errors_shown(page, name)
    notebook = saved(page, lab, name)
    assert not error_outputs(notebook), error_outputs(notebook)

    bars = panel.locator(".widget-hprogress")
    # Three runs, one epoch each: the paper-init and Kaiming-init comparison, then the lesson's run.
    assert bars.count() >= 3, f"{bars.count()} progress widgets rendered; tqdm fell back to text?"
    for index in range(bars.count()):
        bar = bars.nth(index)
        bar.scroll_into_view_if_needed()
        filled = bar.locator(".progress-bar").bounding_box()
        track = bar.locator(".progress").bounding_box()
        assert filled and track and filled["width"] >= 0.99 * track["width"], f"progress bar {index} is not at 100%"
        shot(bar.locator("xpath=.."), f"03-progress-{index}.png")
    text = panel.locator(".jp-OutputArea-output").all_text_contents()
    fallbacks = [line for block in text for line in block.splitlines() if re.search(r"\d+%\|", line)]
    assert not fallbacks, f"text progress bars shown: {fallbacks[:3]}"
    training = next(c for c in notebook["cells"] if "Trainer(run_config" in "".join(c["source"]))
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in training["outputs"])


def test_05_explorer_answers_slider_and_layer_menu(page, lab: Lab) -> None:
    name = "05_filters_and_features.ipynb"
    panel = open_notebook(page, lab, name)
    run_all(page, panel, name)
    assert_no_errors_shown(page, name)
    notebook = saved(page, lab, name)
    assert not error_outputs(notebook), error_outputs(notebook)

    explorer = panel.locator(".widget-vbox").filter(has=page.locator(".widget-dropdown")).last
    explorer.scroll_into_view_if_needed()
    picture = explorer.locator(".widget-output img")
    assert picture.count() == 1, "the activation explorer shows no picture (static fallback or a broken widget?)"
    shot(explorer, "05-explorer-start.png")
    start = shot(picture, "05-picture-start.png")
    before = picture.first.get_attribute("src")

    # A learner drags the image slider to the right.
    slider = explorer.locator(".widget-slider").filter(has_text="image")
    handle = slider.locator(".noUi-handle, .ui-slider-handle").first
    box = handle.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 60, box["y"] + box["height"] / 2, steps=6)
    page.mouse.up()
    wait_for_new_picture(picture, before, "moving the image slider")
    time.sleep(1)
    moved = shot(picture, "05-picture-after-slider.png")
    shot(explorer, "05-explorer-after-slider.png")
    assert moved != start, "moving the image slider left the picture as it was"

    # ... and picks another layer.
    menu = explorer.locator(".widget-dropdown select")
    chosen = menu.input_value()
    other = next(
        value for value in menu.locator("option").evaluate_all("os => os.map(o => o.value)") if value != chosen
    )
    before = picture.first.get_attribute("src")
    menu.select_option(other)
    wait_for_new_picture(picture, before, "picking another layer")
    time.sleep(1)
    layered = shot(picture, "05-picture-after-layer.png")
    shot(explorer, "05-explorer-after-layer.png")
    assert layered not in (start, moved), "picking another layer left the picture as it was"
    assert_no_errors_shown(page, name)


def test_06_upload_takes_a_jpeg_and_shows_its_top5(page, lab: Lab, tmp_path: Path) -> None:
    # A real photo-sized JPEG made from a CIFAR-10 test image, as a learner would upload one.
    test = load_dataset("cifar10", ROOT / "data", train_subset=1, test_subset=1, seed=3, fetch_missing=False).test
    jpeg = tmp_path / f"cifar10-{test.classes[int(test.labels[0])]}.jpg"
    to_pil(test.images[0]).resize((160, 160)).save(jpeg, quality=90)

    name = "06_inference.ipynb"
    panel = open_notebook(page, lab, name)
    run_all(page, panel, name)
    assert_no_errors_shown(page, name)
    assert not error_outputs(saved(page, lab, name))

    upload = panel.locator(".widget-upload").first
    upload.scroll_into_view_if_needed()
    with page.expect_file_chooser() as chooser:
        upload.click()
    chooser.value.set_files(str(jpeg))
    page.wait_for_function("u => /\\(1\\)/.test(u.textContent)", arg=upload.element_handle(), timeout=30_000)
    shot(upload, "06-upload-chosen.png")

    # Run the cell below the upload (Shift+Enter), then ask the kernel what it predicted.
    cell = panel.locator(".jp-CodeCell").filter(has_text="uploads = uploaded_files(upload)")
    prompt = cell.locator(".jp-InputArea-prompt")
    before = prompt.text_content()  # Run All showed the default photo's prediction here
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")
    deadline = time.monotonic() + 120
    while (now := prompt.text_content()) == before or "*" in now or not cell.locator(".jp-OutputArea img").count():
        assert time.monotonic() < deadline, "the upload cell showed no prediction"
        time.sleep(1)
    shot(cell.locator(".jp-Cell-outputArea"), "06-upload-top5.png")
    assert "the model sees this" in cell.locator(".jp-Cell-outputArea").inner_text()

    last = panel.locator(".jp-Cell").last
    last.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")  # a new cell below, as a learner adds one
    page.keyboard.press("Enter")
    page.keyboard.insert_text(  # ranked is imported again: the notebook deletes it before its top-k exercise
        "from alexnet_lib.inference import ranked\n"
        'print("UPLOAD", json.dumps({"name": my_image.name, "checkpoint": str(paths["cifar10"]), '
        '"top5": [label for label, _ in ranked(probs_mine[0], cifar.classes, 5)]}))'
    )
    page.keyboard.press("Shift+Enter")
    # A regular expression: has_text with a string ignores case, and "upload" is all over this notebook.
    answer = panel.locator(".jp-OutputArea-output", has_text=re.compile(r"UPLOAD \{")).first
    answer.wait_for(timeout=60_000)
    shown = json.loads(answer.text_content().split("UPLOAD", 1)[1])
    assert shown["name"] == jpeg.name, f"the cell predicted {shown['name']}, not the uploaded {jpeg.name}"
    # The oracle: the same checkpoint, read and run here, outside the browser and the kernel.
    predictor = load_predictor(shown["checkpoint"], "cpu", resolve_precision(torch.device("cpu")))
    probs = predictor.probabilities(predictor.read(jpeg)[None])[0]
    expected = [label for label, _ in ranked(probs, predictor.classes, 5)]
    assert shown["top5"] == expected
    assert_no_errors_shown(page, name)
