"""Checkpoints: written atomically, read without running any code from the file.

A checkpoint is a dict of tensors, numbers, strings and lists, saved with ``torch.save`` to
a temporary file beside the target and renamed over it (a crash mid-write leaves the old
file whole), and read with ``torch.load(weights_only=True)``, which refuses anything but
plain data: a pickle with a payload cannot run. Everything inference needs travels in it:
variant, classes, input size, normalisation.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import torch

from .errors import CourseError
from .model import AlexNet, alexnet

FORMAT = "alexnet-course-checkpoint"
VERSION = 1


def save_checkpoint(path: Path | str, payload: dict[str, Any]) -> Path:
    """Write ``payload`` to ``path`` atomically: temporary file, fsync, rename."""
    return write_atomically(path, lambda file: torch.save({"format": FORMAT, "version": VERSION, **payload}, file))


def write_text_atomically(path: Path | str, text: str) -> Path:
    """Write a run record (JSON, CSV) so that a crash leaves the old file or the new, never half of one."""
    return write_atomically(path, lambda file: file.write(text.encode()))


def write_atomically(path: Path | str, write: Callable[[BinaryIO], object]) -> Path:
    """Call ``write`` on a temporary file beside ``path``, fsync it, then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes it private; give it the usual mode
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


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


def model_from_checkpoint(checkpoint: dict[str, Any], *, source: str = "checkpoint") -> AlexNet:
    """Rebuild the trained model (eval mode) from a loaded checkpoint."""
    try:
        model = alexnet(
            checkpoint["variant"], num_classes=checkpoint["num_classes"], in_channels=checkpoint["in_channels"]
        )
        model.load_state_dict(checkpoint["model"])
    except KeyError as missing:
        raise CourseError(f"{source} lacks {missing}; it was not written by this course's trainer") from None
    except (RuntimeError, ValueError, TypeError) as error:
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        detail = lines[1] if len(lines) > 1 else (lines or [type(error).__name__])[0]  # the first bad key
        raise CourseError(
            f"{source}'s weights do not fit a {checkpoint.get('variant')!r} model "
            f"with {checkpoint.get('num_classes')} classes: {detail}"
        ) from None
    return model.eval()
