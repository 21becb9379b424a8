"""JupyterLab in a real browser: the server as `make lab` starts it, Chromium driven by Playwright.

The server runs over a temporary copy of notebooks/ with the quick profile, the project's
datasets and a temporary outputs folder, on 127.0.0.1 with a random port and token. It is
stopped, with every kernel it started, when the session ends, whether the tests passed or not.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "outputs" / "browser"
# Debian's chromium; CHROMIUM names another build. No browser download can work offline.
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Without the networking flags Chromium keeps calling Google's services, and on a closed
# network its connections are refused.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# The Makefile's LAB_FLAGS, read from it so that `make lab` and the tests cannot drift apart.
LAB_FLAGS = re.search(r"^LAB_FLAGS := (.*)$", (ROOT / "Makefile").read_text(), re.M).group(1).split()
LAB_FLAGS += ["--allow-root"] if os.geteuid() == 0 else []  # the Makefile's `ifeq ($(shell id -u),0)`


@dataclass(frozen=True)
class Lab:
    """A running JupyterLab: its address, token, and the folders it serves and writes."""

    url: str
    token: str
    notebooks: Path
    outputs: Path

    def api(self, method: str, path: str) -> object:
        request = urllib.request.Request(
            f"{self.url}{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def open_url(self, notebook: str, workspace: str) -> str:
        """The address that opens ``notebook`` in its own, empty workspace."""
        return f"{self.url}/lab/workspaces/{workspace}/tree/{notebook}?token={self.token}"

    def shut_down_kernels(self) -> None:
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def started_by(runtime: Path) -> list[int]:
    """Processes whose command line names ``runtime``: the kernels of our server, by their connection files."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if str(runtime) in command:
                pids.append(int(entry.name))
    return pids


def stop(server: subprocess.Popen, runtime: Path) -> None:
    """Stop the server's process group (TERM, then KILL), then any kernel that outlived it."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(server.pid, sig)
        except ProcessLookupError:
            break
        try:
            server.wait(timeout=30)
            break
        except subprocess.TimeoutExpired:
            continue
    for pid in started_by(runtime):  # kernels run in sessions of their own
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # so that a SIGTERM (CI's timeout) still runs the fixtures' cleanup


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    home = tmp_path_factory.mktemp("lab")
    signal.signal(signal.SIGTERM, interrupted)
    shutil.copytree(ROOT / "notebooks", home / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    jupyter = home / "jupyter"
    port, token = free_port(), os.urandom(24).hex()
    environment = {k: v for k, v in os.environ.items() if k not in ("CI", "ALEXNET_WIDGETS", "JUPYTER_TOKEN")}
    environment.update(
        ALEXNET_PROFILE="quick",
        ALEXNET_DATA_DIR=str(ROOT / "data"),
        ALEXNET_OUTPUT_DIR=str(home / "outputs"),
        # The learner's own Jupyter settings, workspaces and kernels stay out of the test.
        JUPYTER_CONFIG_DIR=str(jupyter / "config"),
        JUPYTER_DATA_DIR=str(jupyter / "data"),
        JUPYTER_RUNTIME_DIR=str(jupyter / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(jupyter / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(jupyter / "workspaces"),
    )
    # No "get notified about Jupyter news?" toast over the notebooks (it fetches from the internet).
    notification = jupyter / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True)
    notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    log = (home / "lab.log").open("w")
    # As `make lab` runs it (`jupyter lab $(LAB_FLAGS) notebooks`, here in this interpreter), headless,
    # on this test's port and token, and with no calls out for news or updates.
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "notebooks",
            "--no-browser",
            *LAB_FLAGS,
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ],
        cwd=home,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    running = Lab(f"http://127.0.0.1:{port}", token, home / "notebooks", home / "outputs")
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                running.api("GET", "/api/status")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"JupyterLab did not start; its log:\n{(home / 'lab.log').read_text()}"
                    ) from None
                time.sleep(0.5)
        yield running
    finally:
        with contextlib.suppress(OSError):
            running.shut_down_kernels()
        stop(server, jupyter / "runtime")
        log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: install it (Debian: apt-get install chromium) or set CHROMIUM")
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        # Playwright gives each launch a fresh, temporary profile (user data dir).
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    report = yield
    if report.when == "call":
        item.failed_call = report.failed  # for the page fixture's screenshot
    return report


@pytest.fixture
def page(browser: object, lab: Lab, request: pytest.FixtureRequest) -> Iterator[object]:
    """A fresh browser page; a screenshot if the test failed; its notebook's kernel shut down afterwards."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    opened = context.new_page()
    opened.set_default_timeout(60_000)
    console: list[str] = []
    opened.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    opened.on("pageerror", lambda error: console.append(f"pageerror: {error.name}: {error.message}"))
    opened.console_messages = console  # for the tests' checks of what the frontend logged
    try:
        yield opened
        if getattr(request.node, "failed_call", False):
            stem = re.sub(r"\W+", "-", request.node.name).strip("-")
            opened.screenshot(path=SHOTS / f"FAILED-{stem}.png", full_page=True)
            (SHOTS / f"FAILED-{stem}-console.txt").write_text("\n".join(console) + "\n")
    finally:
        context.close()
        lab.shut_down_kernels()
