"""The GPU scripts' shared preamble (benchmarks/gpu_preamble.sh): a bad argument gets the usage line, and a
real run on a machine without a GPU is refused in one line. Their dry runs are ``make gpu-check-dry`` and
``make claims-dry`` (both claims scripts), which CI runs."""

import os
import subprocess
import sys

import pytest
import torch

from .conftest import ROOT

pytestmark = pytest.mark.slow  # each runs a script, which starts Python

SCRIPTS = ["gpu_check.sh", "gpu_claims.sh", "gpu_successors.sh"]


def run(script, *args, cwd):
    env = {**os.environ, "PYTHON": sys.executable}
    command = ["bash", str(ROOT / "benchmarks" / script), *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_bad_argument_gets_the_usage_line(script, tmp_path):
    finished = run(script, "--fast", cwd=tmp_path)
    assert (finished.returncode, finished.stderr) == (2, f"usage: bash benchmarks/{script} [--dry-run]\n")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU: the script would run")
@pytest.mark.parametrize("script", SCRIPTS)
def test_a_real_run_without_a_gpu_is_refused_in_one_line(script, tmp_path):
    finished = run(script, cwd=tmp_path)
    expected = f"error: no CUDA GPU here; bash benchmarks/{script} --dry-run checks the script on a CPU\n"
    assert (finished.returncode, finished.stderr, finished.stdout) == (1, expected, "")
