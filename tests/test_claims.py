"""Claim experiments: the verdict rule on made-up numbers, complete records from tiny real runs, the command."""

import json
import math
import random
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from alexnet_lib.checkpoint import Checkpoint
from alexnet_lib.claims import ALEXNET, CONTROLS, EXPERIMENTS, MEASURES, SUCCESSORS, experiment
from alexnet_lib.claims_report import (
    CONTRADICTED,
    NOT_SEPARABLE,
    RECORD_KEYS,
    REPRODUCED,
    merge_records,
    rederive,
    t_quantile,
    verdict,
)
from alexnet_lib.claims_run import run_claim
from alexnet_lib.lessons.claims import old_rule, paired_rule, simulate, unpaired_rule

from .conftest import ROOT, run_cli, run_command

# A few seconds per experiment: a handful of real CIFAR-10 images, one epoch. The real quick and
# full sizes are untouched; a record made with these says so in settings["overrides"].
TINY = {"train_subset": 64, "val_subset": 32, "test_subset": 32, "batch_size": 32, "device": "cpu"}


@pytest.mark.parametrize(
    ("baseline", "claimed", "expected"),
    [
        ([0.40, 0.42, 0.41], [0.30, 0.31, 0.33], REPRODUCED),  # differences 0.10, 0.11, 0.08
        ([0.30, 0.31, 0.33], [0.40, 0.42, 0.41], CONTRADICTED),
        ([0.40, 0.50, 0.45], [0.38, 0.52, 0.40], NOT_SEPARABLE),  # differences 0.02, -0.02, 0.05
        ([0.40], [0.10], NOT_SEPARABLE),  # one seed: no interval, whatever the gap
        ([0.40, 0.42], [0.30, 0.37], NOT_SEPARABLE),  # two seeds: t(0.975, 1) = 12.7 standard errors
    ],
)
def test_verdict_rule(baseline, claimed, expected):
    result = verdict(baseline, claimed)
    assert result["verdict"] == expected
    differences = [b - c for b, c in zip(baseline, claimed, strict=True)]
    assert result["difference"] == pytest.approx(sum(differences) / len(differences))


def test_the_interval_is_students_t_over_the_paired_differences():
    result = verdict([3.0, 5.0, 4.0], [1.0, 2.0, 2.0])  # differences 2, 3, 2: mean 7/3, sd 1/sqrt(3)
    half = 4.303 * (1 / math.sqrt(3)) / math.sqrt(3)
    assert result["interval"] == pytest.approx([7 / 3 - half, 7 / 3 + half], abs=1e-3)
    assert result["verdict"] == REPRODUCED


def test_pairing_sees_what_the_arms_ranges_hide():
    # each seed moves both arms together; the claimed arm is better on every seed by about 0.01
    baseline, claimed = [0.50, 0.40, 0.45, 0.55], [0.49, 0.39, 0.44, 0.535]
    assert verdict(baseline, claimed)["verdict"] == REPRODUCED
    assert not old_rule(np.array([baseline]), np.array([claimed]))[0]  # the old rule: 0.011 against ranges of 0.15


def test_time_to_target_is_judged_as_a_ratio_and_a_capped_arm_as_a_bound():
    capped = {"baseline": [True, False, True], "claimed": [False] * 3}
    result = verdict([40.0, 30.0, 40.0], [11.0, 10.0, 12.0], log_ratio=True, censored=capped)
    assert result["verdict"] == REPRODUCED and "at least" in result["why"]
    assert result["differences"][1] == pytest.approx(math.log(3.0))
    # a capped baseline never supports "contradicted": its true value could be larger
    assert verdict([5.0, 5.0, 5.0], [20.0, 21.0, 19.0], log_ratio=True)["verdict"] == CONTRADICTED
    against = verdict([5.0, 5.0, 5.0], [20.0, 21.0, 19.0], log_ratio=True, censored=capped)
    assert against["verdict"] == NOT_SEPARABLE
    # a capped claimed arm never supports "reproduced"
    late = {"baseline": [False] * 3, "claimed": [True, False, False]}
    assert verdict([40.0, 30.0, 40.0], [11.0, 10.0, 12.0], log_ratio=True, censored=late)["verdict"] == NOT_SEPARABLE
    both = {"baseline": [True, False, False], "claimed": [True, False, False]}
    assert verdict([40.0, 30.0, 40.0], [11.0, 10.0, 12.0], log_ratio=True, censored=both)["verdict"] == NOT_SEPARABLE


def test_paired_arms_need_the_same_seeds():
    with pytest.raises(ValueError, match="same seeds"):
        verdict([0.4, 0.5], [0.3])


@pytest.mark.parametrize("path", sorted((ROOT / "results" / "claims").glob("*.json")), ids=lambda p: p.name)
def test_every_committed_verdict_follows_the_rule(path):
    record = json.loads(path.read_text())
    assert record["summary"]["verdict"] == rederive(record)["summary"]["verdict"]
    assert record["summary"]["rule"] == verdict([1.0], [1.0])["rule"]


def test_records_of_more_seeds_merge_into_one():
    def part(seeds, base, claimed):
        curves = {"a": [[{"epoch": 1}]] * len(seeds), "b": [[{"epoch": 1}]] * len(seeds)}
        summary = {
            "values": {"a": base, "b": claimed},
            "censored": {"a": [False] * len(seeds), "b": [False] * len(seeds)},
        }
        settings = {"seeds": len(seeds), "lr_tuning": {}}
        return {
            "name": "lrn_cifar",
            "profile": "full",
            "device": "cpu",
            "versions": {},
            "claim": {},
            "settings": settings,
            "arms": {"baseline": "a", "claimed": "b"},
            "seeds": seeds,
            "curves": curves,
            "summary": summary,
        }

    merged = merge_records([part([0, 1], [0.5, 0.6], [0.4, 0.5]), part([2], [0.55], [0.46])])
    assert merged["seeds"] == [0, 1, 2] and merged["summary"]["values"]["a"] == [0.5, 0.6, 0.55]
    assert merged["summary"]["verdict"] == REPRODUCED and len(merged["curves"]["b"]) == 3
    assert [p["seeds"] for p in merged["settings"]["parts"]] == [[0, 1], [2]]
    again = merge_records([merged, part([3], [0.52], [0.43])])  # a merged record keeps its parts
    assert [p["seeds"] for p in again["settings"]["parts"]] == [[0, 1], [2], [3]]
    with pytest.raises(ValueError, match="twice"):
        merge_records([part([0], [0.5], [0.4]), part([0], [0.5], [0.4])])


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
    if name == "relu_vs_tanh":  # the quick size reads the curves at its last epoch, at the full profile's tuned lrs
        assert record["summary"]["measure"] == MEASURES["train_error"] and "ratio" not in record["summary"]
        values = record["summary"]["values"]
        assert values["relu"] == [curve[-1]["train_error"] for curve in record["curves"]["relu"]]
        assert record["settings"]["runs"]["tanh"]["lr"] == 0.01 and record["settings"]["runs"]["relu"]["lr"] == 0.003


def test_every_experiment_has_a_quick_and_a_full_size_and_two_arms_differing_in_one_setting():
    for exp in (*EXPERIMENTS.values(), *SUCCESSORS.values()):
        assert set(exp.profiles) == {"quick", "full"}
        differing = set(exp.baseline[1]) ^ set(exp.claimed[1]) | {
            k for k in exp.baseline[1] if exp.baseline[1][k] != exp.claimed[1].get(k)
        }
        assert len(differing) == (0 if exp.ten_crop_arm else 1), exp.name


def test_claims_list_names_every_experiment():
    done = run_cli("claims", "list")
    assert done.returncode == 0
    assert [line.split()[0] for line in done.stdout.splitlines()] == [*EXPERIMENTS, *SUCCESSORS]


SUCCESSOR_ARMS = {  # each successor: the setting its arms differ in, the paper's value (baseline), the successor's
    "batch_norm": ("norm", "lrn", "batch"),
    "gap_head": ("head", "fc", "gap"),
    "zfnet_filters": ("filters", "paper", "zfnet"),
    "vgg_stack": ("filters", "paper", "vgg"),
    "residual": ("residual", False, True),
}


def test_the_successors_are_found_but_are_not_the_papers_claims():
    assert list(SUCCESSORS) == list(SUCCESSOR_ARMS) and not set(SUCCESSORS) & set(EXPERIMENTS)
    for name, (setting, paper, successor) in SUCCESSOR_ARMS.items():
        exp = experiment(name)
        assert exp is SUCCESSORS[name] and exp.config == "cifar10" and exp.measure in MEASURES
        assert exp.baseline[1] == {setting: paper} and exp.claimed[1] == {setting: successor}  # the paper's part first
        assert exp.profiles == EXPERIMENTS["lrn_alexnet"].profiles  # the AlexNet claims' sizes, quick and full
    # what each source measured: the error on held-out images, except He et al.'s degradation, a training error
    assert {name: exp.measure for name, exp in SUCCESSORS.items()} == {
        **dict.fromkeys(["batch_norm", "gap_head", "zfnet_filters", "vgg_stack"], "val_error"),
        "residual": "train_error",
    }
    assert {name: exp.base for name, exp in SUCCESSORS.items() if exp.base != ALEXNET} == {
        "residual": {**ALEXNET, "blocks": 4}  # both arms 16 weight layers: 5 convs, 4 blocks of 2, fc6-fc8
    }


def test_the_residual_arms_have_the_same_layers_and_parameters_and_16_weight_layers():
    from alexnet_lib import alexnet, count_parameters

    exp = SUCCESSORS["residual"]
    with torch.device("meta"):
        plain, residual = (alexnet("paper", blocks=exp.base["blocks"], **arm[1]) for arm in (exp.baseline, exp.claimed))
    assert count_parameters(plain) == count_parameters(residual) == 67_098_984
    for model in (plain, residual):
        assert sum(isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)) for m in model.modules()) == 16
    assert all("16 layers" in label for label, _ in (exp.baseline, exp.claimed))


@pytest.mark.slow  # each trains the paper net's two arms on one seed (about 15 s on one thread)
@pytest.mark.parametrize("name", ["batch_norm", "gap_head", "residual"])  # residual: the training-error measure
def test_a_tiny_successor_run_writes_a_complete_record(name, tmp_path, monkeypatch):
    monkeypatch.setenv("ALEXNET_OUTPUT_DIR", str(tmp_path / "outputs"))
    record = run_claim(name, "quick", out_dir=tmp_path, overrides={**TINY, "epochs": 1})
    _check_complete(record, seeds=1)
    assert record["path"] == str(tmp_path / f"{name}-quick-cpu.json")
    assert record["summary"]["verdict"] == NOT_SEPARABLE  # the quick size has one seed
    runs = record["settings"]["runs"]
    baseline, claimed = (runs[record["arms"][role]] for role in ("baseline", "claimed"))
    differ = {key for key in baseline if baseline[key] != claimed[key]} - {"checkpoint_dir"}
    assert differ == {SUCCESSOR_ARMS[name][0]}, differ


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


# The rule's own tests, by simulation (issue 21): known effects, normal noise, many experiments at once.


def test_the_t_quantiles_match_their_closed_forms():
    assert t_quantile(1) == pytest.approx(math.tan(math.pi * 0.475), abs=1e-3)  # Cauchy
    assert t_quantile(2) == pytest.approx(0.95 / math.sqrt(2 * 0.975 * 0.025), abs=1e-3)
    assert t_quantile(1000) == pytest.approx(1.96, abs=0.005) and t_quantile(31) < t_quantile(30)


@pytest.mark.parametrize("seeds", [2, 3, 5, 10])
def test_identical_arms_are_called_either_way_at_most_five_percent_of_the_time(seeds):
    reproduced = simulate(paired_rule, 0.0, seeds, trials=40_000, seed=seeds)
    contradicted = simulate(lambda b, c: paired_rule(c, b), 0.0, seeds, trials=40_000, seed=seeds)
    assert reproduced + contradicted <= 0.055, (reproduced, contradicted)  # 5% plus Monte Carlo error
    assert reproduced == pytest.approx(0.025, abs=0.005)


def test_power_rises_with_seeds_to_eighty_percent_for_one_and_a_half_sds_by_ten():
    power = [simulate(paired_rule, 1.5, n, trials=20_000) for n in (2, 3, 5, 10)]
    assert power == sorted(power) and power[-1] >= 0.80, power


def test_the_old_rule_lost_power_as_seeds_were_added():  # the figures in claims_report's docstring
    power = [simulate(old_rule, 3.0, n, trials=20_000) for n in (2, 3, 5, 10)]
    assert power == sorted(power, reverse=True) and power[0] == pytest.approx(0.49, abs=0.02), power
    assert power[-1] < 0.01


def test_pairing_beats_an_unpaired_interval_when_the_seeds_share_noise():
    paired = simulate(paired_rule, 2.0, 5, shared=2.0)
    unpaired = simulate(unpaired_rule, 2.0, 5, shared=2.0)
    assert paired > unpaired + 0.3, (paired, unpaired)
    assert simulate(unpaired_rule, 0.0, 5) <= 0.03  # both are honest intervals: same false-positive rate


def test_the_vectorised_rule_is_the_verdict_function():
    rng = random.Random(0)
    for _ in range(200):
        n = rng.randint(2, 6)
        baseline, claimed = [rng.gauss(0, 1) for _ in range(n)], [rng.gauss(0.5, 1) for _ in range(n)]
        said = verdict(baseline, claimed)["verdict"]
        assert (said == REPRODUCED) == bool(paired_rule(np.array(baseline), np.array(claimed)))


def test_the_a_a_control_runs_identical_arms_on_other_seeds(tmp_path, monkeypatch):
    monkeypatch.setenv("ALEXNET_OUTPUT_DIR", str(tmp_path / "outputs"))
    assert "a_a" in CONTROLS and "a_a" not in EXPERIMENTS  # a control, not one of the paper's claims
    record = run_claim("a_a", "quick", seeds=2, out_dir=tmp_path, overrides={**TINY, "epochs": 1})
    first, second = (record["settings"]["runs"][arm] for arm in ("A", "A again"))
    assert second["seed"] == first["seed"] + 100  # the last seed's runs: 1 and 101
    assert {k: v for k, v in first.items() if k not in ("seed", "checkpoint_dir")} == {
        k: v for k, v in second.items() if k not in ("seed", "checkpoint_dir")
    }
    assert record["summary"]["values"]["A"] != record["summary"]["values"]["A again"]  # chance, not a setting


def test_every_figure_a_successor_quotes_is_in_the_sources_file():
    sources = (ROOT / "docs" / "sources_after_alexnet.md").read_text()
    for exp in SUCCESSORS.values():
        for figure in re.findall(r"\d+\.\d+", exp.paper):  # 40.5, 27.94, 0.6
            assert figure in sources, (exp.name, figure)
        assert exp.section.split()[0] in sources  # the paper's first author has a section there
