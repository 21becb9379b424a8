"""``python -m alexnet_lib train --resume`` (issue 10, item 1).

Every run is footnote 3's small net (``cuda-convnet-18pct``, 32 px) on 64 real Fashion-MNIST
images (4 steps of 16): resuming is the engine's, whatever the net. Every comparison is bit for
bit against one straight run. The commands run in-process (``run_cli``, one thread, as the
subprocess has), except the run that Ctrl-C interrupts: that one is typed as a learner types it,
on 2,048 images, so that its epochs (128 steps, over a second) are long enough for the signal to land
inside one.
"""

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch

from alexnet_lib.checkpoint import load_checkpoint, save_checkpoint

from .conftest import ROOT, run_cli

RUN = [
    *["--dataset", "fashion-mnist", "--variant", "cuda-convnet-18pct", "--image-size", "32"],
    *["--batch-size", "16", "--seed", "3"],
    *["--train-subset", "64", "--test-subset", "32", "--device", "cpu", "--no-histograms", "--log-every", "1"],
]  # the default schedule: plateau (§5), which may be trained further


def train(*args: str) -> subprocess.CompletedProcess:
    done = run_cli("train", *args)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
    return done


def assert_same_weights(a, b) -> None:
    first, second = load_checkpoint(a)["model"], load_checkpoint(b)["model"]
    assert first.keys() == second.keys()
    for key in first:
        assert torch.equal(first[key], second[key]), f"{key} differs"


def one_error_line(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A straight 2-epoch run and a finished 1-epoch run of the same settings."""
    root = tmp_path_factory.mktemp("runs")
    train(*RUN, "--epochs", "2", "--checkpoint-dir", str(root / "straight"))
    train(*RUN, "--epochs", "1", "--checkpoint-dir", str(root / "one"))
    return root


def copy_of_one_epoch(runs, tmp_path):
    shutil.copytree(runs / "one", tmp_path / "run")
    return tmp_path / "run" / "last.pt"


def test_epochs_flag_trains_a_finished_run_further_to_the_bit(runs, tmp_path):
    checkpoint = copy_of_one_epoch(runs, tmp_path)
    done = train("--resume", str(checkpoint), "--epochs", "2")
    assert "resumed from epoch 1, step 0 of 4" in done.stdout
    assert f"checkpoint {checkpoint}" in done.stdout  # continues in the run's own folder
    assert load_checkpoint(checkpoint)["epoch"] == 2
    assert_same_weights(runs / "straight" / "last.pt", checkpoint)


def test_the_first_runs_flags_may_be_given_again(runs, tmp_path):
    checkpoint = copy_of_one_epoch(runs, tmp_path)
    train(*RUN, "--epochs", "2", "--resume", str(checkpoint))
    assert_same_weights(runs / "straight" / "last.pt", checkpoint)


@pytest.mark.slow  # Ctrl-C needs a process of its own: the command as typed
def test_resume_with_no_other_flag_finishes_an_interrupted_run(tmp_path):
    # 128 steps an epoch (about 2.5 s on one thread): long enough for Ctrl-C to land inside epoch 2.
    longer = [*RUN, "--train-subset", "2048", "--log-every", "64"]  # the last flag wins
    train(*longer, "--epochs", "2", "--checkpoint-dir", str(tmp_path / "straight"))
    folder = tmp_path / "run"
    command = [sys.executable, "-m", "alexnet_lib", "train", *longer, "--epochs", "2", "--checkpoint-dir", str(folder)]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 120
    while not (folder / "history.json").exists() and time.time() < deadline:  # written after epoch 1
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)  # Ctrl-C during epoch 2: a resumable checkpoint
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr[-2000:]
    assert load_checkpoint(folder / "last.pt")["epoch"] == 1

    done = train("--resume", str(folder / "last.pt"))  # in-process: the Ctrl-C was the part that needed a process
    assert "resumed from epoch 1" in done.stdout
    assert load_checkpoint(folder / "last.pt")["epoch"] == 2
    assert_same_weights(tmp_path / "straight" / "last.pt", folder / "last.pt")


def test_flags_that_contradict_the_checkpoint_get_one_error_line(runs):
    checkpoint = runs / "one" / "last.pt"
    line = one_error_line(run_cli("train", "--resume", str(checkpoint), "--epochs", "2", "--batch-size", "32"))
    assert "batch_size=16" in line and "batch_size=32" in line and "--epochs" in line
    other_config = ["--config", "cifar10", "--profile", "quick"]
    line = one_error_line(run_cli("train", "--resume", str(checkpoint), *other_config))
    assert "dataset=fashion-mnist" in line and "dataset=cifar10" in line


def test_a_finished_run_or_a_fixed_length_schedule_is_refused_clearly(runs, tmp_path):
    checkpoint = runs / "one" / "last.pt"
    line = one_error_line(run_cli("train", "--resume", str(checkpoint)))
    assert line == "error: --resume: that run has finished its 1 epochs; pass --epochs N (above 1)"

    onecycle = load_checkpoint(checkpoint)  # the same run as if laid out with OneCycle: it cannot stretch
    onecycle["config"]["schedule"] = "onecycle"
    save_checkpoint(tmp_path / "onecycle.pt", onecycle)
    line = one_error_line(run_cli("train", "--resume", str(tmp_path / "onecycle.pt"), "--epochs", "2"))
    assert "onecycle schedule was laid out for 1 epochs and cannot stretch to 2" in line
    line = one_error_line(run_cli("train", "--resume", str(tmp_path / "onecycle.pt")))
    assert "finished its 1 epochs, and its onecycle schedule cannot stretch beyond them" in line
