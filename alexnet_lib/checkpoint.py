"""The checkpoint format: written atomically, read without running any code from the file, checked once.

A checkpoint is a dict of tensors, numbers, strings and lists, saved with ``torch.save`` to
a temporary file beside the target and renamed over it (a crash mid-write leaves the old
file whole), and read with ``torch.load(weights_only=True)``, which refuses anything but
plain data: a pickle with a payload cannot run. Everything inference needs travels in it:
variant, classes, input size, crop, normalisation. ``Checkpoint.read`` checks those fields and
that the weights fit the declared net, then gives the model, the classes and the eval transform.
"""

from __future__ import annotations

import dataclasses
import zipfile
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch

from .cifar_nets import ALL_VARIANTS, CifarNet, build_net, input_problem
from .datasets import FOLDER_SIZE, KNOWN_DATASETS, Stats
from .errors import CourseError
from .files import write_atomically
from .model import AlexNet, Options
from .transforms import BatchTransform

FORMAT = "alexnet-course-checkpoint"
VERSION = 1


def save_checkpoint(path: Path | str, payload: dict[str, Any]) -> Path:
    """Write ``payload`` to ``path`` atomically: temporary file, fsync, rename."""
    return write_atomically(path, lambda file: torch.save({"format": FORMAT, "version": VERSION, **payload}, file))


def model_fields(
    model: AlexNet | CifarNet, classes: list[str], image_size: int, crop: float, stats: Stats, *, dataset: str
) -> dict[str, Any]:
    """What a checkpoint carries to be used alone: the weights and how images were fed (``Checkpoint`` reads them)."""
    in_channels = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d)).in_channels
    return {
        "model": model.state_dict(),
        "variant": model.variant,
        "options": dataclasses.asdict(model.options),  # tanh, no LRN, 2x2 pools: no weight shows them (saved_options)
        "num_classes": len(classes),
        "in_channels": in_channels,
        "classes": list(classes),
        "image_size": image_size,
        "crop": crop,
        "normalization": {"mean": list(stats.mean), "std": list(stats.std)},
        "dataset": dataset,
    }


def load_checkpoint(path: Path | str, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a course checkpoint safely; any problem becomes one clear ``CourseError``."""
    path = Path(path)
    if not path.exists():
        raise CourseError(f"checkpoint {path} not found; train one with `python -m alexnet_lib train --config ...`")
    if path.is_dir():
        raise CourseError(f"checkpoint {path} is a folder; give the .pt file inside it (e.g. {path}/last.pt)")
    try:
        # mmap: tensors are read from the file as they are used, so a look at one field is instant
        payload = torch.load(path, map_location=map_location, weights_only=True, mmap=True)
    except Exception as error:  # torch raises many types here; the learner needs one line
        message = str(error)
        if "Weights only load failed" in message or "Unsupported global" in message:
            reason = "it holds Python objects, not just tensors, and was refused (weights_only=True)"
        elif (
            isinstance(error, (zipfile.BadZipFile, EOFError)) or "zip archive" in message or "failed finding" in message
        ):
            reason = "it is truncated or damaged"
        else:
            reason = f"{type(error).__name__}: {message.splitlines()[0] if message else ''}"
        raise CourseError(f"cannot read checkpoint {path}: {reason}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CourseError(f"{path} is not an AlexNet course checkpoint (no '{FORMAT}' marker)")
    if payload.get("version", 0) > VERSION:
        raise CourseError(f"{path} was written by a newer course version; update alexnet_lib")
    return payload


@dataclass
class ResumeState:
    """Where a run stands, to continue it to the bit: a checkpoint's training half (``model_fields`` is the other).

    Its fields are the checkpoint's keys, written by ``Trainer.save`` and read back by ``Trainer`` and ``--resume``.
    """

    config: dict[str, Any]  # the run's settings (``TrainConfig.to_dict``): what --resume continues with
    epoch: int  # epochs finished
    step: int  # steps done in the epoch under way (0 at an epoch's end)
    global_step: int  # steps done in all
    partial: dict[str, float]  # the epoch under way so far: loss sum, correct predictions, images seen
    train_seconds: float  # time spent training, evaluation left out
    images_seen: int  # training images seen, all processes together
    optimizer: dict[str, Any]  # the optimiser's state_dict (momentum or Adam's moments)
    scheduler: dict[str, Any] | None  # the schedule's state_dict; None without one
    scaler: dict[str, Any]  # the fp16 gradient scaler's state; empty for bf16 and fp32
    rng: dict[str, Any]  # global generators, the epoch's shuffle at its start, the augmentation generator
    history: list[dict[str, Any]]  # one record per epoch
    step_history: list[dict[str, Any]] = field(default_factory=list)  # one per progress update (older: none)
    metrics: dict[str, float] = field(default_factory=dict)  # the last validation figures, and the test's at the end
    budget: dict[str, Any] = field(default_factory=dict)  # what the time budget allowed; a resumed run keeps it

    @classmethod
    def from_payload(cls, payload: dict[str, Any], source: str = "checkpoint") -> ResumeState:
        """The resume state of a loaded checkpoint; a file that has none (``conv1.pt``, a hand-made one) is a
        ``CourseError`` naming the first missing key."""
        names = [f.name for f in fields(cls)]
        required = [f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING]
        missing = [key for key in ("model", *required) if key not in payload]
        if missing:
            raise CourseError(f"{source} is not a training checkpoint (no {missing[0]!r}); resume from a run's last.pt")
        state = cls(**{name: payload[name] for name in names if name in payload})
        state.config = _norm_for_lrn(state.config)
        return state

    @classmethod
    def read(cls, path: Path | str, map_location: str | torch.device = "cpu") -> tuple[ResumeState, dict[str, Any]]:
        """The resume state of the checkpoint at ``path``, and the checkpoint itself (its weights and fields)."""
        payload = load_checkpoint(path, map_location=map_location)
        return cls.from_payload(payload, str(path)), payload

    def to_payload(self) -> dict[str, Any]:
        """The checkpoint keys this state is saved as (the tensors shared, not copied)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def check_resumable(
    state: ResumeState,
    checkpoint: dict[str, Any],
    *,
    variant: str,
    num_classes: int,
    epochs: int,
    schedule: str,
    options: Options,
) -> None:
    """``--resume`` from ``checkpoint`` into a run of ``epochs`` epochs: any reason it can't is one ``CourseError``."""
    if checkpoint.get("variant") != variant or checkpoint.get("num_classes") != num_classes:
        raise CourseError(
            f"--resume: the checkpoint is a {checkpoint.get('variant')} net for "
            f"{checkpoint.get('num_classes')} classes, this run a {variant} net for {num_classes}"
        )
    saved = {**dataclasses.asdict(Options()), **saved_options(checkpoint)}  # older checkpoints lack some: the paper's
    wanted = dataclasses.asdict(options)
    if saved != wanted:
        raise CourseError(f"--resume: the checkpoint's net has {saved}, this run's {wanted}")
    done, planned = state.epoch, state.config["epochs"]
    fixed_length = schedule in ("onecycle", "cosine")  # laid out for the planned epochs
    if fixed_length and done >= epochs == planned:  # finished, and no more epochs asked for
        raise CourseError(
            f"--resume: that run has finished its {done} epochs, and its {schedule} schedule "
            f"cannot stretch beyond them; start a new run with --epochs N to train longer"
        )
    if fixed_length and (done >= epochs or planned != epochs):
        raise CourseError(
            f"--resume: the {schedule} schedule was laid out for {planned} epochs and cannot "
            f"stretch to {epochs}; start a new run with --epochs N to train longer"
        )
    if done >= epochs:
        raise CourseError(f"--resume: that run has finished its {done} epochs; pass --epochs N (above {done})")


def checked_fields(checkpoint: dict[str, Any], source: str) -> dict[str, Any]:
    """The checkpoint's inference fields, checked: any gap or contradiction is one ``CourseError``."""
    try:
        variant, num_classes, in_channels = checkpoint["variant"], checkpoint["num_classes"], checkpoint["in_channels"]
        classes, image_size, crop = checkpoint["classes"], checkpoint["image_size"], checkpoint["crop"]
        mean, std = checkpoint["normalization"]["mean"], checkpoint["normalization"]["std"]
    except (KeyError, TypeError) as missing:
        raise CourseError(f"{source} lacks {missing}; it was not written by this course's trainer") from None
    problems = []
    if variant not in ALL_VARIANTS:
        problems.append(f"variant {variant!r} is not one of {', '.join(ALL_VARIANTS)}")
    if not all(isinstance(v, int) and v >= 1 for v in (num_classes, in_channels, image_size)):
        problems.append("num_classes, in_channels and image_size must be positive whole numbers")
    elif variant in ALL_VARIANTS and input_problem(variant, image_size):
        problems.append(str(input_problem(variant, image_size)))
    if not isinstance(classes, (list, tuple)) or len(classes) != num_classes:
        count = len(classes) if isinstance(classes, (list, tuple)) else "no"
        problems.append(f"it names {count} classes but declares num_classes={num_classes}")
    if not (isinstance(crop, (int, float)) and 0 < crop <= 1):
        problems.append(f"crop {crop!r} is not in (0, 1]")
    numbers = all(isinstance(v, (list, tuple)) and all(isinstance(x, (int, float)) for x in v) for v in (mean, std))
    if not numbers or len(mean) != len(std) or len(mean) not in (1, in_channels) or min(std, default=0) <= 0:
        problems.append(f"its normalization needs one mean and one positive std per channel (1 or {in_channels})")
    if problems:
        raise CourseError(f"{source} is inconsistent: {'; '.join(problems)}")
    return dict(classes=[str(c) for c in classes], image_size=image_size, crop=float(crop), mean=mean, std=std)


def check_weights(checkpoint: dict[str, Any], source: str) -> None:
    """Refuse weights that do not fit the declared variant and class count, naming the first misfit.

    The declared net is built on the ``meta`` device: shapes only, no memory, no initialisation.
    """
    try:
        variant, num_classes, in_channels = checkpoint["variant"], checkpoint["num_classes"], checkpoint["in_channels"]
    except KeyError as missing:
        raise CourseError(f"{source} lacks {missing}; it was not written by this course's trainer") from None
    weights = checkpoint.get("model")
    if not isinstance(weights, dict) or not all(isinstance(v, torch.Tensor) for v in weights.values()):
        raise CourseError(f"{source} holds no model weights; it was not written by this course's trainer")
    try:
        with torch.device("meta"):
            built = build_net(variant, num_classes=num_classes, in_channels=in_channels, **saved_options(checkpoint))
            expected = built.state_dict()
    except (ValueError, TypeError, RuntimeError) as error:  # an unknown variant, a count that is not a number
        raise CourseError(f"{source} declares a net that cannot be built: {error}") from None
    declared = f"{source}'s weights do not fit the {variant} net with {num_classes} classes it declares"
    for name, tensor in expected.items():
        if name not in weights:
            raise CourseError(f"{declared}: it has no {name}")
        if weights[name].shape != tensor.shape:
            have, need = ("x".join(map(str, t.shape)) for t in (weights[name], tensor))
            raise CourseError(f"{declared}: {name} is {have}, a {variant} net's is {need}")
    extra = sorted(weights.keys() - expected.keys())
    if extra:
        raise CourseError(f"{declared}: {extra[0]} is not part of a {variant} net")


def saved_options(checkpoint: dict[str, Any]) -> dict[str, Any]:
    """The net's options (``model.Options``: activation, norm, pool, head, filters, blocks, residual) as saved;
    those a checkpoint from before them lacks are the paper's (the net's own), and an older ``lrn`` flag reads
    as ``norm``."""
    saved = checkpoint.get("options") or {}
    if not isinstance(saved, dict):
        raise CourseError(f"the checkpoint's options {saved!r} are not a dict of settings")
    saved = _norm_for_lrn(saved)
    names = [f.name for f in dataclasses.fields(Options)]
    if not set(saved) <= set(names):
        raise CourseError(f"the checkpoint's options {saved!r} are not {', '.join(names)}")
    return saved


def _norm_for_lrn(saved: dict[str, Any]) -> dict[str, Any]:
    """Options or a run's settings written before ``norm`` replaced the boolean ``lrn``, in today's names:
    True -> "lrn", False -> "none" (None, the net's own, stays None)."""
    if "lrn" not in saved:
        return dict(saved)
    renamed = {key: value for key, value in saved.items() if key != "lrn"}
    lrn = saved["lrn"]
    return {**renamed, "norm": None if lrn is None else "lrn" if lrn else "none"}


def model_from_checkpoint(checkpoint: dict[str, Any], *, source: str = "checkpoint") -> AlexNet | CifarNet:
    """Rebuild the trained model (eval mode) from a loaded checkpoint whose weights fit (``check_weights``)."""
    check_weights(checkpoint, source)
    return _rebuild(checkpoint)


def _rebuild(checkpoint: dict[str, Any]) -> AlexNet | CifarNet:
    """The net a checked checkpoint declares, with its weights, in eval mode."""
    model = build_net(
        checkpoint["variant"],
        num_classes=checkpoint["num_classes"],
        in_channels=checkpoint["in_channels"],
        **saved_options(checkpoint),
    )
    model.load_state_dict(checkpoint["model"])
    return model.eval()


def normalization(checkpoint: dict[str, Any]) -> Stats:
    """The training mean and std a checkpoint normalises with (no colour PCA: evaluation adds no noise)."""
    saved = checkpoint["normalization"]
    return Stats(tuple(saved["mean"]), tuple(saved["std"]), pca_eigenvalues=(), pca_eigenvectors=())


def eval_transform(checkpoint: dict[str, Any], *, channels_last: bool = False) -> BatchTransform:
    """The test-time input pipeline a checkpoint was trained with: its size, centre crop and normalisation.

    The quick profile's models take 67x67 inputs, the full profile's 227x227 (notebook 05).
    """
    return BatchTransform(
        checkpoint["image_size"],
        normalization(checkpoint),
        train=False,
        crop=checkpoint["crop"],
        channels=checkpoint["in_channels"],
        channels_last=channels_last,
    )


def source_size(checkpoint: dict[str, Any]) -> int:
    """The side the checkpoint's training images had before the model's crop and resize."""
    known = KNOWN_DATASETS.get(str(checkpoint.get("dataset", "")))
    return known.size if known else FOLDER_SIZE


@dataclass(frozen=True)
class Checkpoint:
    """A course checkpoint, read and checked: its model, its classes and how its images were fed."""

    payload: dict[str, Any]  # everything saved: weights, the resume state, history, config
    source: str  # where it was read from, for messages
    classes: list[str]
    image_size: int  # the network's input side (67 in the quick profile, 227 in the full one)
    crop: float  # the evaluation crop, as a fraction of the image side (§4.1: 224/256)
    stats: Stats  # training mean and std: what normalisation uses
    source_size: int  # the side a new image is brought to first: what the training images had

    @classmethod
    def from_payload(cls, payload: dict[str, Any], source: str = "checkpoint") -> Checkpoint:
        """Check a loaded checkpoint's fields and weights; any problem is one ``CourseError`` line."""
        fields = checked_fields(payload, source)
        check_weights(payload, source)
        return cls(
            payload,
            source,
            fields["classes"],
            fields["image_size"],
            fields["crop"],
            normalization(payload),
            source_size(payload),
        )

    @classmethod
    def read(cls, path: Path | str) -> Checkpoint:
        """Read (``weights_only=True``) and check the checkpoint at ``path``."""
        return cls.from_payload(load_checkpoint(path), str(path))

    @classmethod
    def of_model(
        cls, model: AlexNet | CifarNet, *, classes: list[str], image_size: int, crop: float, stats: Stats, dataset: str
    ) -> Checkpoint:
        """A model in memory as a checkpoint (ImageNet weights, benchmarks); ``dataset`` gives the source size."""
        fields = model_fields(model, classes, image_size, crop, stats, dataset=dataset)
        return cls.from_payload(fields, f"a {model.variant} net in memory")

    @property
    def variant(self) -> str:
        return self.payload["variant"]

    @property
    def in_channels(self) -> int:
        return self.payload["in_channels"]

    def model(self) -> AlexNet | CifarNet:
        """The trained model, in eval mode (its weights were checked on reading)."""
        return _rebuild(self.payload)

    def eval_transform(self, *, channels_last: bool = False) -> BatchTransform:
        """The test-time input pipeline the model was trained with (see ``eval_transform``)."""
        return eval_transform(self.payload, channels_last=channels_last)


def record_conv1(path: Path, epoch: int, weights: torch.Tensor, variant: str) -> None:
    """Add conv1's filters after ``epoch`` to ``conv1.pt`` (epoch 0: the initialisation), for notebook 05.

    Epochs from ``epoch`` on, saved by a run that was then resumed from earlier, are replaced.
    """
    saved = load_checkpoint(path) if path.exists() and epoch > 0 else {"epochs": [], "weights": []}
    keep = [i for i, e in enumerate(saved["epochs"]) if e < epoch]
    epochs = [saved["epochs"][i] for i in keep] + [epoch]
    history = [saved["weights"][i] for i in keep] + [weights.detach().float().cpu().clone()]
    save_checkpoint(path, {"epochs": epochs, "weights": history, "variant": variant})


def load_conv1_history(checkpoint_path: Path | str) -> dict[str, Any] | None:
    """conv1's filters after each epoch, which the trainer saves as ``conv1.pt`` beside ``last.pt``, or None.

    ``{"epochs": [0, 1, ...], "weights": [F x C x 11 x 11 per epoch]}``; epoch 0 is the
    initialisation (notebook 05 subtracts it to show what training changed).
    """
    path = Path(checkpoint_path).parent / "conv1.pt"
    return load_checkpoint(path) if path.exists() else None
