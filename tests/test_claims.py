"""Claim experiments: the verdict rule on made-up numbers, complete records from tiny real runs, the command."""

import json
import re
from pathlib import Path

import pytest

from alexnet_lib.checkpoint import Checkpoint
from alexnet_lib.claims import EXPERIMENTS
from alexnet_lib.claims_report import CONTRADICTED, NOT_SEPARABLE, RECORD_KEYS, REPRODUCED, verdict
from alexnet_lib.claims_run import run_claim

from .conftest import ROOT, run_cli, run_command

# A few seconds per experiment: a handful of real CIFAR-10 images, one epoch. The real quick and
# full sizes are untouched; a record made with these says so in settings["overrides"].
TINY = {"train_subset": 64, "val_subset": 32, "test_subset": 32, "batch_size": 32, "device": "cpu"}


@pytest.mark.parametrize(
    ("baseline", "claimed", "expected"),
    [
        ([0.40, 0.42], [0.30, 0.31], REPRODUCED),  # 0.105 better, ranges 0.02 and 0.01
        ([0.30, 0.31], [0.40, 0.42], CONTRADICTED),
        ([0.40, 0.50], [0.38, 0.45], NOT_SEPARABLE),  # 0.035 better, but seeds alone moved 0.1
        ([0.40], [0.10], NOT_SEPARABLE),  # one seed: no spread measured, whatever the gap
        ([30.0, 30.0, 30.0], [5.0, 6.0, 7.0], REPRODUCED),  # epochs to a target: fewer is better
    ],
)
def test_verdict_rule(baseline, claimed, expected):
    result = verdict(baseline, claimed)
    assert result["verdict"] == expected
    assert result["spread"] == pytest.approx(max(max(baseline) - min(baseline), max(claimed) - min(claimed)))


def test_a_difference_equal_to_the_spread_is_not_a_result():
    assert verdict([0.5, 0.75], [0.25, 0.5])["verdict"] == NOT_SEPARABLE  # difference 0.25 == spread 0.25


def test_a_difference_must_clearly_exceed_the_spread():
    assert verdict([0.5, 0.6], [0.35, 0.45])["verdict"] == NOT_SEPARABLE  # difference 0.15, 1.5x the spread 0.1
    assert verdict([0.5, 0.6], [0.25, 0.35])["verdict"] == REPRODUCED  # difference 0.25, 2.5x the spread
    assert verdict([0.25, 0.35], [0.5, 0.6])["verdict"] == CONTRADICTED
    # the recorded CPU LRN run (results/claims/lrn_cifar-full-cpu.json): 1.38 points against a spread of 1.32
    assert verdict([0.5090, 0.4958], [0.4877, 0.4895])["verdict"] == NOT_SEPARABLE


@pytest.mark.parametrize("path", sorted((ROOT / "results" / "claims").glob("*.json")), ids=lambda p: p.name)
def test_every_committed_verdict_follows_the_rule(path):
    record = json.loads(path.read_text())
    summary = record["summary"]
    baseline, claimed = record["arms"]["baseline"], record["arms"]["claimed"]
    expected = verdict(summary["values"][baseline], summary["values"][claimed])["verdict"]
    if any(summary["censored"][claimed]):
        expected = NOT_SEPARABLE
    assert summary["verdict"] == expected


def _check_complete(record, seeds):
    assert set(RECORD_KEYS) <= set(record)
    assert record["device"] and record["versions"]["torch"] and record["versions"]["python"]
    baseline, claimed = record["arms"]["baseline"], record["arms"]["claimed"]
    assert set(record["curves"]) == {baseline, claimed}
    for arm in (baseline, claimed):
        assert len(record["curves"][arm]) == seeds
        for curve in record["curves"][arm]:
            assert curve and {"epoch", "train_error", "train_loss", "val_error", "seconds"} <= set(curve[0])
        summary = record["summary"][arm]
        assert len(record["summary"]["values"][arm]) == seeds
        assert summary["min"] <= summary["mean"] <= summary["max"] and summary["std"] >= 0
    assert record["summary"]["verdict"] in (REPRODUCED, CONTRADICTED, NOT_SEPARABLE)
    saved = json.loads(Path(record["path"]).read_text())
    assert saved["summary"]["verdict"] == record["summary"]["verdict"]
    assert Path(record["plot"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow  # each trains two arms on two seeds
@pytest.mark.parametrize("name", ["relu_vs_tanh", "lrn_cifar", "ten_crops"])
def test_a_tiny_experiment_writes_a_complete_record(name, tmp_path, monkeypatch):
    monkeypatch.setenv("ALEXNET_OUTPUT_DIR", str(tmp_path / "outputs"))
    record = run_claim(name, "quick", seeds=2, out_dir=tmp_path, overrides={**TINY, "epochs": 2}, keep_checkpoints=True)
    _check_complete(record, seeds=2)
    assert record["path"] == str(tmp_path / f"{name}-quick-cpu.json")
    assert record["settings"]["overrides"]["train_subset"] == 64
    arm = record["settings"]["runs"][record["arms"]["claimed"]]
    checkpoint = Checkpoint.read(arm["checkpoint_dir"] + "/last.pt")  # the net rebuilds from its checkpoint
    assert checkpoint.variant == arm["variant"] and checkpoint.model().options.activation == arm["activation"]
    if name == "relu_vs_tanh":
        assert "ratio" in record["summary"] and record["settings"]["target_train_error"] == 0.7


def test_every_experiment_has_a_quick_and_a_full_size_and_two_arms_differing_in_one_setting():
    for exp in EXPERIMENTS.values():
        assert set(exp.profiles) == {"quick", "full"}
        differing = set(exp.baseline[1]) ^ set(exp.claimed[1]) | {
            k for k in exp.baseline[1] if exp.baseline[1][k] != exp.claimed[1].get(k)
        }
        assert len(differing) == (0 if exp.ten_crop_arm else 1), exp.name


def test_claims_list_names_every_experiment():
    done = run_cli("claims", "list")
    assert done.returncode == 0
    assert [line.split()[0] for line in done.stdout.splitlines()] == list(EXPERIMENTS)


@pytest.mark.slow  # the command as typed, from another folder
def test_claims_run_writes_the_record_it_names(tmp_path):
    overrides = json.dumps({**TINY, "epochs": 1})
    env = {
        "ALEXNET_CLAIMS_OVERRIDES": overrides,
        "ALEXNET_OUTPUT_DIR": str(tmp_path),
        "ALEXNET_DATA_DIR": str(ROOT / "data"),
        "PYTHONPATH": str(ROOT),  # the checkout, run from another folder
    }
    done = run_command("claims", "run", "relu_vs_tanh", "--profile", "quick", "--seeds", "1", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("relu_vs_tanh: not separable at this scale (")  # one seed, one epoch
    record = json.loads((tmp_path / "results" / "claims" / "relu_vs_tanh-quick-cpu.json").read_text())
    assert (
        record["settings"]["seeds"] == 1 and (tmp_path / "results" / "claims" / "relu_vs_tanh-quick-cpu.png").exists()
    )
    assert not list(tmp_path.rglob("*.pt"))  # no checkpoint is written: the record holds what the claim needs


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "fig9"], "error: unknown claim 'fig9'"),
        (["run", "dropout", "--seeds", "0"], "error: --seeds must be at least 1"),
    ],
)
def test_bad_claims_commands_give_one_error_line(args, message):
    done = run_cli("claims", *args)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [done.stderr.strip()] and done.stderr.startswith(message)


def test_the_readme_names_the_claims_commands_and_every_record_it_links_exists():
    readme = (ROOT / "README.md").read_text()
    assert "python -m alexnet_lib claims list" in readme and "python -m alexnet_lib claims run" in readme
    links = re.findall(r"\((results/claims/[^)]+)\)", readme)
    assert all((ROOT / link).exists() for link in links), [link for link in links if not (ROOT / link).exists()]


def test_an_arm_stops_once_its_training_error_reaches_the_target(tmp_path, monkeypatch):
    """Fig. 1's runs stop at a training error, not at their epoch count: the trainer's callback asks it to."""
    from alexnet_lib.claims_run import train_arm
    from alexnet_lib.config import load_config

    monkeypatch.setenv("ALEXNET_OUTPUT_DIR", str(tmp_path))
    tiny_net = dict(variant="cuda-convnet-18pct", image_size=32)  # the stop is the engine's, whatever the net
    config = load_config("cifar10", "quick", **TINY, **tiny_net, epochs=3, checkpoint_dir=str(tmp_path / "run"))
    common = dict(cap_seconds=None, read_test=False, ten_crops=False)
    assert len(train_arm(config, target=1.0, **common)["curve"]) == 1  # any error reaches 100%: one epoch
    assert len(train_arm(config, target=None, **common)["curve"]) == 3  # no target: every epoch
