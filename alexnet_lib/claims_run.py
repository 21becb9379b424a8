"""Running a claim experiment with the course's ``Trainer`` and writing its record and plot (``claims run``)."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import time
from pathlib import Path
from typing import Any

from . import env
from .claims import EXPERIMENTS, SIZE_KEYS, Experiment, experiment
from .claims_report import plot_record, record_path, summarize, versions, write_record
from .config import TrainConfig, load_config
from .errors import CourseError
from .evaluate import evaluate
from .train import Trainer

CLEARABLE = ("time_budget_s", "train_subset", "val_subset", "test_subset")  # None in a size clears the file's


def make_config(
    exp: Experiment, profile: str, arm: dict[str, Any], seed: int, run_dir: Path, **extra: Any
) -> TrainConfig:
    """The run's settings: the shipped config's profile (if any), the experiment's base, its size, the arm."""
    size = {k: v for k, v in exp.profiles[profile].items() if k not in SIZE_KEYS}
    values = {**exp.base, **size, **arm, **extra, "seed": seed, "checkpoint_dir": str(run_dir)}
    values |= {"histograms": False, "log_every": 1000}
    config = load_config(exp.config, profile, **values)
    cleared = {k: None for k in CLEARABLE if k in values and values[k] is None}
    return dataclasses.replace(config, **cleared) if cleared else config


def train_arm(
    config: TrainConfig,
    *,
    target: float | None,
    cap_seconds: float | None,
    read_test: bool,
    ten_crops: bool,
    checkpoints: bool = False,
    eval_train: bool = False,
) -> dict[str, Any]:
    """Train one arm on one seed; its per-epoch curve and the final figures the measures need.

    No checkpoint is written unless ``checkpoints``: the record holds all a claim needs, and an
    AlexNet's checkpoint with its optimiser state takes seconds to write on a CPU (and ~750 MB at 227 px).
    """

    def watch(event: str, record: dict[str, Any]) -> None:  # Fig. 1 stops at the target training error
        reached = target is not None and 1 - record["train_acc"] <= target
        if event == "epoch" and (reached or (cap_seconds and record["train_seconds"] >= cap_seconds)):
            trainer.request_stop()

    trainer = Trainer(config, [watch], read_test=read_test, checkpoints=checkpoints)
    result = trainer.fit()
    curve = [
        {
            "epoch": row["epoch"],
            "train_error": 1 - row["train_acc"],
            "train_loss": row["train_loss"],
            "val_error": 1 - row["val_top1"],
            "val_top5_error": 1 - row["val_top5"],
            "seconds": row["train_seconds"],
        }
        for row in result.history
    ]
    out: dict[str, Any] = {"curve": curve, "lr": config.lr}
    if result.evaluation is not None:
        out["test_error"] = 1 - result.evaluation.top1
    if ten_crops and trainer.val_data is not None:
        tta = evaluate(trainer.model, trainer.val_data, trainer.test_transform, tta=True, dtype=trainer.dtype)
        out["val_error_ten_crops"] = 1 - tta.top1
    if eval_train:  # the overfitting gap's training error, in eval mode (dropout off)
        train_images = trainer.train_data.subset(min(5000, len(trainer.train_data)), config.seed)
        on_train = evaluate(trainer.model, train_images, trainer.test_transform, dtype=trainer.dtype)
        out["train_error_eval"] = 1 - on_train.top1
    return out


def measure(
    exp: Experiment, profile: str, run: dict[str, Any], target: float | None, ten_crops: bool = False
) -> tuple[float, bool]:
    """The arm's value on this seed (lower is better) and whether it is censored (a lower bound)."""
    curve, name = run["curve"], exp.measure_at(profile)
    if name == "epochs_to_target":
        reached = [row["epoch"] for row in curve if row["train_error"] <= target]
        return (float(reached[0]), False) if reached else (float(curve[-1]["epoch"]), True)
    if name == "train_error":
        return curve[-1]["train_error"], False
    if name == "test_error":
        return run["test_error"], False
    if name == "overfit_gap":
        return curve[-1]["val_error"] - run["train_error_eval"], False
    return (run["val_error_ten_crops"] if ten_crops else curve[-1]["val_error"]), False


def tune_lr(exp: Experiment, profile: str, arm: dict[str, Any], run_dir: Path, extra: dict) -> tuple[float, dict]:
    """§3.1: each net's lr "chosen independently to make training as fast as possible": lowest training
    error after ``tune_epochs`` epochs on seed 0, among the profile's candidates."""
    errors, epochs = {}, exp.profiles[profile].get("tune_epochs", 1)
    for lr in exp.profiles[profile]["lr_candidates"]:
        config = make_config(exp, profile, {**arm, "lr": lr, "epochs": epochs}, 0, run_dir / f"lr{lr:g}", **extra)
        run = train_arm(config, target=None, cap_seconds=None, read_test=False, ten_crops=False)
        errors[f"{lr:g}"] = run["curve"][-1]["train_error"]
    best = min(errors, key=errors.get)
    return float(best), errors


def run_claim(
    name: str,
    profile: str = "quick",
    seeds: int | None = None,
    *,
    out_dir: Path | None = None,
    overrides: dict[str, Any] | None = None,
    keep_checkpoints: bool = False,
    first_seed: int = 0,
    lrs: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Run claim ``name`` at ``profile`` size on ``seeds`` seeds; write and return its record.

    No run writes a checkpoint (an AlexNet's is ~750 MB with its optimiser state) unless
    ``keep_checkpoints``: the record holds everything the claim needs.
    ``overrides`` change every run's settings (tests shrink runs with it, or through the CLI with the
    ``ALEXNET_CLAIMS_OVERRIDES``, a JSON object, which only tests and ``gpu_claims.sh --dry-run`` set;
    the record's settings say so).
    ``first_seed`` and ``lrs`` (each arm's lr by its label) add seeds to an earlier record without
    tuning again: seeds ``first_seed`` .. ``first_seed + seeds - 1`` at that record's tuned lrs
    (``merge_records`` joins the two).
    """
    exp = experiment(name)
    if overrides is None and os.environ.get("ALEXNET_CLAIMS_OVERRIDES"):  # tests and dry runs: tiny runs by the CLI
        overrides = json.loads(os.environ["ALEXNET_CLAIMS_OVERRIDES"])
    if profile not in exp.profiles:
        raise CourseError(f"profile must be quick or full; got {profile!r}")
    size, extra = exp.profiles[profile], dict(overrides or {})
    seeds = size["seeds"] if seeds is None else seeds
    if seeds < 1:
        raise CourseError(f"--seeds must be at least 1; got {seeds}")
    device = env.pick_device(extra.get("device", "auto"))
    runs_dir = env.outputs_dir() / "claims" / name
    started, arms, tuning = time.perf_counter(), {"baseline": exp.baseline, "claimed": exp.claimed}, {}
    settings_of = {}
    lrs = lrs or size.get("lrs")  # given, or the profile's (tuned once, as §3.1, and written down)
    for role, (label, arm) in arms.items():
        arm = dict(arm)
        if lrs and label in lrs and "lr" not in extra:
            arm["lr"], tuning[label] = lrs[label], {"given": lrs[label]}
        elif "lr_candidates" in size and "lr" not in extra:
            arm["lr"], tuning[label] = tune_lr(exp, profile, arm, runs_dir / _slug(label) / "tune", extra)
        arms[role] = (label, arm)
    runs: dict[str, list[dict[str, Any]]] = {label: [] for label, _ in arms.values()}
    target = size.get("target_train_error")
    for seed in range(first_seed, first_seed + seeds):
        claimed_run = None
        for role in ("claimed", "baseline"):  # the claimed arm first: Fig. 1 caps tanh by ReLU's epochs
            label, arm = arms[role]
            arm = dict(arm)
            if role == "baseline" and claimed_run is not None and "cap_factor" in size:
                value, censored = measure(exp, profile, claimed_run, target)
                if not censored:
                    arm["epochs"] = min(size["epochs"], math.ceil(size["cap_factor"] * value))
            if exp.ten_crop_arm and role == "baseline":
                runs[label].append(runs[arms["claimed"][0]][-1])  # the same models, tested on the centre crop
                continue
            # an A/A control's second arm: the same settings on other seeds (0 for every claim)
            seed_of = seed + exp.claimed_seed_offset if role == "claimed" else seed
            config = make_config(exp, profile, arm, seed_of, runs_dir / _slug(label) / f"seed{seed_of}", **extra)
            settings_of[label] = config.to_dict()
            run = train_arm(
                config,
                target=target,
                cap_seconds=size.get("cap_seconds") if role == "baseline" else None,
                read_test=exp.measure_at(profile) == "test_error",
                ten_crops=exp.ten_crop_arm,
                checkpoints=keep_checkpoints,
                eval_train=exp.measure_at(profile) == "overfit_gap",
            )
            runs[label].append(run)
            claimed_run = run if role == "claimed" else claimed_run
    seed_list = list(range(first_seed, first_seed + seeds))
    return _finish(exp, profile, device, seed_list, arms, runs, settings_of, tuning, extra, started, out_dir)


def _finish(
    exp, profile, device, seed_list, arms, runs, settings_of, tuning, extra, started, out_dir
) -> dict[str, Any]:  # noqa: ANN001
    """Values, verdict, record and plot."""
    target = exp.profiles[profile].get("target_train_error")
    values, censored = {}, {}
    for role, (label, _) in arms.items():
        ten = exp.ten_crop_arm and role == "claimed"
        measured = [measure(exp, profile, run, target, ten) for run in runs[label]]
        values[label], censored[label] = [v for v, _ in measured], [c for _, c in measured]
    baseline, claimed = arms["baseline"][0], arms["claimed"][0]
    summary = summarize(exp.measure_at(profile), baseline, claimed, values, censored)
    summary["wall_seconds"] = round(time.perf_counter() - started, 1)
    record = {
        "name": exp.name,
        "claim": {"section": exp.section, "text": exp.claim, "paper": exp.paper, "notes": list(exp.notes)},
        "profile": profile,
        "device": env.device_name(device),
        "device_type": device.type,
        "versions": versions(),
        "settings": {
            **{k: v for k, v in exp.profiles[profile].items()},
            "seeds": len(seed_list),
            "overrides": extra,
            "lr_tuning": tuning,
            "runs": settings_of,
        },
        "arms": {"baseline": baseline, "claimed": claimed},
        "seeds": seed_list,
        "curves": {label: [run["curve"] for run in runs[label]] for label in runs},
        "summary": summary,
    }
    folder = out_dir or env.project_root() / "results" / "claims"
    slug = "cpu" if device.type == "cpu" else re.sub(r"[^a-z0-9]+", "-", record["device"].lower()).strip("-")
    path = write_record(record_path(folder, exp.name, profile, slug), record)
    record["path"] = str(path)
    record["plot"] = str(plot_record(record, path.with_suffix(".png")))
    return record


def _slug(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


__all__ = ["EXPERIMENTS", "run_claim"]
