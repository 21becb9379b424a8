"""A training run's settings: one dataclass, read from YAML, every field a command-line flag
whose ``--help`` line is the field's own (``setting(default, help)``).

The paper's recipe (§5) is the default: SGD with momentum 0.9, weight decay 5e-4, batch 128,
lr 0.01 divided by 10 when validation accuracy stops improving. The validation split is
``val_size`` training images held out by a fixed seed; the test set is read once, at the end.
The deviations that make short runs work (OneCycle or cosine schedules, label smoothing, Adam)
are opt-in, and the shipped configs name the ones they use. A YAML file may hold ``profiles: {quick: ..., full: ...}``
whose keys override the top level for that profile. ``ALEXNET_PRECISION`` (auto, bf16, fp16,
fp32), when set, overrides the files' precision, so that a notebook can be run in fp32.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .cifar_nets import ALL_VARIANTS, input_problem, options_problem
from .datasets import VAL_SEED, VAL_SIZE
from .env import project_root
from .errors import CourseError
from .model import FILTERS, HEADS, NORMS


def setting(default: Any, help: str, **metadata: Any) -> Any:
    """A ``TrainConfig`` field: its default and the help that ``--help`` and the docs show (``metadata["help"]``)."""
    return field(default=default, metadata={"help": help, **metadata})


# The settings that take one of a few values: checked here, offered as choices by ``train --help``.
CHOICES: dict[str, tuple[str, ...]] = {
    "variant": ALL_VARIANTS,
    "init": ("kaiming", "paper", "torchvision"),
    "optimizer": ("sgd", "adam"),
    "schedule": ("plateau", "onecycle", "cosine", "none"),
    "precision": ("auto", "bf16", "fp16", "fp32"),
    "pipeline": ("device", "pil"),
    "activation": ("relu", "tanh"),
    "norm": NORMS,
    "pool": ("overlap", "adjacent"),
    "head": HEADS,
    "filters": FILTERS,
}


@dataclass
class TrainConfig:
    """Everything that defines a training run."""

    dataset: str = setting("fashion-mnist", "fashion-mnist, cifar10, or a prepared image-folder dataset")
    variant: str = setting(
        "paper", "paper, paper-two-tower, torchvision, or footnote 3's cuda-convnet-18pct / cuda-convnet-conv-local"
    )
    image_size: int = setting(227, "the paper net's input; 67 is the smallest it accepts")
    in_channels: int | None = setting(None, "None: the dataset's own (1 for Fashion-MNIST); 3 repeats grey")
    init: str = setting("kaiming", "kaiming, or paper (§5: Gaussian weights with std 0.01, biases of 1)")
    dropout: float = setting(0.5, "§4.2; 0 turns it off")
    activation: str = setting("relu", "relu (§3.1) or tanh (the slow arm of Fig. 1)")
    norm: str | None = setting(
        None, "lrn (§3.3), batch (batch norm, a successor: notebook 08) or none; None: the net's own (paper: lrn)"
    )
    pool: str = setting("overlap", "overlap (§3.4: 3x3 windows at stride 2) or adjacent (2x2 at stride 2)")
    head: str = setting(
        "fc", "fc (the paper's fc6-fc7-fc8) or gap (global average pooling, one linear layer: notebook 08)"
    )
    filters: str = setting(
        "paper", "paper (§3.5: conv1 11x11 stride 4, conv2 5x5), zfnet (7x7/2 and 5x5/2) or vgg (conv2 as two 3x3)"
    )
    blocks: int = setting(0, "extra blocks of two 3x3 convs after conv5 (He et al. 2015: notebook 08); 0: the paper")
    residual: bool = setting(False, "a shortcut round each extra block (ResNet); needs --blocks")
    epochs: int = setting(10, "passes over the training set (the paper: about 90)")
    time_budget_s: float | None = setting(
        None, "train only as many images as fit in this many seconds (speed measured first)"
    )
    batch_size: int = setting(128, "§5; split across processes under torchrun")
    optimizer: str = setting("sgd", "sgd (§5) or adam")
    lr: float = setting(0.01, "§5")
    momentum: float = setting(0.9, "§5")
    weight_decay: float = setting(5e-4, "§5; the cuda-convnet nets use their params files' per-layer wc unless 0")
    schedule: str = setting("plateau", "plateau (§5: lr / 10 when validation accuracy stalls), onecycle, cosine, none")
    plateau_patience: int = setting(2, "epochs without improvement before the lr is divided by 10")
    label_smoothing: float = setting(0.0, "0 in the paper")
    crop: float = setting(224 / 256, "§4.1: crop side as a fraction of the image side")
    flip: bool = setting(True, "§4.1 horizontal reflections")
    pca_std: float = setting(0.1, "§4.1 colour noise; 0 turns it off")
    train_subset: int | None = setting(None, "use this many training images (None: all)")
    val_size: int = setting(VAL_SIZE, "training images held out for validation (schedules, checkpoints); 0: none")
    val_seed: int = setting(
        VAL_SEED, "seeds which images are held out; not the run's seed, so every run holds out the same"
    )
    val_subset: int | None = setting(None, "validate on this many of them after each epoch (None: all)")
    test_subset: int | None = setting(None, "test, once at the end, on this many test images (None: all)")
    precision: str = setting("auto", "auto (bf16 where the hardware has it, else fp16 on CUDA, fp32), bf16, fp16, fp32")
    channels_last: bool = setting(True, "NHWC memory layout, faster convolutions")
    compile: bool = setting(False, "torch.compile the model")
    pipeline: str = setting("device", "device (batched tensors) or pil (per-image PIL in DataLoader workers)")
    workers: int = setting(4, "DataLoader workers for the pil pipeline")
    device: str = setting("auto", "auto, cpu, cuda, cuda:N or mps")
    seed: int = setting(0, "seeds the init, data order, augmentation and dropout")
    log_every: int = setting(20, "steps between progress updates (the only host syncs in an epoch)")
    histograms: bool = setting(True, "weight and gradient histograms in TensorBoard, once per epoch")
    checkpoint_dir: str | None = setting(None, "None: outputs/runs/<dataset>")
    resume: str | None = setting(None, "a checkpoint to continue from")
    data_dir: str | None = setting(None, "None: ALEXNET_DATA_DIR or data/")
    profile: str | None = setting(None, "the profile read from the YAML", yaml=False)

    def __post_init__(self) -> None:
        kinds = {int: "a whole number", float: "a number", bool: "true or false", str: "text"}
        for name, kind in field_types().items():  # YAML can hold anything: "abc" for a number
            value = getattr(self, name)
            accepted = (int, float) if kind is float else (kind,)
            is_bool_as_number = isinstance(value, bool) and kind is not bool
            if value is not None and (not isinstance(value, accepted) or is_bool_as_number):
                raise CourseError(f"{name} must be {kinds[kind]}; got {value!r}")
        for name, allowed in CHOICES.items():
            if getattr(self, name) not in allowed and not (name == "norm" and self.norm is None):  # None: the net's own
                raise CourseError(f"{name} must be one of {', '.join(allowed)}; got {getattr(self, name)!r}")
        positive = ("image_size", "epochs", "batch_size", "log_every")
        for name in positive:
            if getattr(self, name) < 1:
                raise CourseError(f"{name} must be at least 1; got {getattr(self, name)}")
        if self.lr <= 0:
            raise CourseError(f"lr must be positive; got {self.lr}")
        if not 0 < self.crop <= 1:
            raise CourseError(f"crop must be in (0, 1]; got {self.crop}")
        for name in ("dropout", "label_smoothing"):
            if not 0 <= getattr(self, name) < 1:
                raise CourseError(f"{name} must be in [0, 1); got {getattr(self, name)}")
        if self.time_budget_s is not None and self.time_budget_s <= 0:
            raise CourseError(f"time_budget_s must be positive; got {self.time_budget_s}")
        for name in ("momentum", "weight_decay", "pca_std", "workers", "plateau_patience", "val_size"):
            if getattr(self, name) < 0:
                raise CourseError(f"{name} must not be negative; got {getattr(self, name)}")
        if self.in_channels is not None and self.in_channels < 1:
            raise CourseError(f"in_channels must be at least 1; got {self.in_channels}")
        problem = options_problem(
            self.variant, self.norm, self.head, self.filters, self.blocks, self.residual
        ) or input_problem(self.variant, self.image_size)
        if problem:
            raise CourseError(problem)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def field_types() -> dict[str, type]:
    """Each field's basic type (int, float, str or bool), for the command line."""
    hints = typing.get_type_hints(TrainConfig)
    types = {}
    for f in dataclasses.fields(TrainConfig):
        hint = hints[f.name]
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        types[f.name] = args[0] if args else hint
    return types


def config_path(name: Path | str) -> Path:
    """A YAML file: a path, or the name of a shipped config (``fashion_mnist``, ``cifar10``)."""
    path = Path(name)
    if path.is_file():
        return path
    if path.suffix in ("", ".yaml"):
        filename = f"{path.stem}.yaml"  # the checkout we run in, then the one this package was installed from
        candidates = [project_root() / "configs" / filename, Path(__file__).resolve().parents[1] / "configs" / filename]
        with contextlib.suppress(ModuleNotFoundError):  # pip-installed without a checkout (Colab)
            candidates.append(Path(str(resources.files("alexnet_lib.configs") / filename)))
        for candidate in candidates:
            if candidate.is_file():
                return candidate
    raise CourseError(f"config file {name} not found (shipped configs: fashion_mnist, cifar10)")


def load_config(path: Path | str | None, profile: str | None = None, **overrides: Any) -> TrainConfig:
    """A config from a YAML file (or the defaults), its ``profile`` section, then ``overrides``."""
    values: dict[str, Any] = {}
    if path is not None:
        path = config_path(path)
        try:
            values = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as error:
            raise CourseError(f"{path} is not valid YAML: {str(error).splitlines()[0]}") from None
        if not isinstance(values, dict):
            raise CourseError(f"{path} must hold a mapping of settings")
    profiles = values.pop("profiles", {}) or {}
    if not isinstance(profiles, dict) or not all(isinstance(p or {}, dict) for p in profiles.values()):
        raise CourseError(f"{path}: profiles must map quick and full to their settings")
    if profile is not None:
        if profile not in ("quick", "full"):
            raise CourseError(f"profile must be quick or full; got {profile!r}")
        values.update(profiles.get(profile) or {})
        values["profile"] = profile
    if os.environ.get("ALEXNET_PRECISION"):  # e.g. fp32, to time a notebook as a CPU without bf16 runs it
        values["precision"] = os.environ["ALEXNET_PRECISION"].strip().lower()
    values.update({k: v for k, v in overrides.items() if v is not None})
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise CourseError(f"unknown setting{'s' * (len(unknown) > 1)} {', '.join(unknown)} in {path or 'overrides'}")
    return TrainConfig(**values)
