"""Shared fixtures: the real datasets (prepared by `make test` before pytest runs) and the repo root."""

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from alexnet_lib.fetch import load_dataset
from alexnet_lib.lessons.checking import NotYet

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def fashion_small():
    """512 training, 128 validation and 256 test images of the real Fashion-MNIST."""
    data = load_dataset("fashion-mnist", ROOT / "data", fetch_missing=False)
    return data.held_out(5000).subsets(512, 128, 256)


def run_command(
    *args: str, cwd: Path = ROOT, env: dict | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    """``python -m alexnet_lib ARGS`` in a subprocess, as a learner would type it."""
    environment = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "alexnet_lib", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """``alexnet_lib.cli.main(ARGS)`` in this process: what ``run_command`` gives, without a new interpreter.

    For the tests where no signal and no ``torchrun`` is involved; each README command keeps one
    test through the real ``python -m alexnet_lib`` (marked slow). One thread, as ``run_command``
    gives its process, so that runs made either way agree to the bit.
    """
    import torch

    from alexnet_lib.cli import main

    stdout, stderr = io.StringIO(), io.StringIO()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            code = main(list(args))
        except SystemExit as exit_:  # argparse: --help, a usage error
            code = exit_.code if isinstance(exit_.code, int) else 0 if exit_.code is None else 1
        finally:
            torch.set_num_threads(threads)
    return subprocess.CompletedProcess(["alexnet_lib", *args], code, stdout.getvalue(), stderr.getvalue())


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--browser", action="store_true", help="run tests/browser (JupyterLab in Chromium)")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """tests/browser runs only under `make test-browser` (it needs Chromium and takes minutes)."""
    if collection_path == ROOT / "tests" / "browser" and not config.getoption("browser"):
        return True
    return None


def fails(check: Callable[..., bool], *args: Any) -> bool:
    """True when ``check(*args)`` raises ``NotYet``; prints its message, as a notebook shows it, for capsys."""
    with pytest.raises(NotYet) as verdict:
        check(*args)
    print(verdict.value)
    return True


def backward_by(gradient):
    """An autograd Function whose backward is ``gradient(a, grad_b)``, as a learner's 01.3 cell would write it."""

    class Learners(torch.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a

        @staticmethod
        def backward(ctx, grad_b):
            (a,) = ctx.saved_tensors
            return gradient(a, grad_b)

    return Learners
