"""Where the course runs: device, seed, profile and folders, shared by notebooks and commands."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torch.distributed as dist

from .errors import CourseError

Profile = Literal["quick", "full"]


def pick_device(name: str = "auto") -> torch.device:
    """The device to train on: ``"auto"`` takes CUDA, then Apple MPS, then the CPU."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise CourseError(f"unknown device {name!r}; use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise CourseError("--device cuda was asked for, but PyTorch sees no CUDA GPU here; use --device cpu")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise CourseError("--device mps was asked for, but Apple's MPS is not available here; use --device cpu")
    return device


def distributed() -> tuple[int, int, int]:
    """(rank, world size, local rank), starting the process group when launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 0, 1, 0
    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return dist.get_rank(), world, int(os.environ.get("LOCAL_RANK", "0"))


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and PyTorch (every device) so that a run can be repeated."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def rng_state(device: torch.device) -> dict[str, torch.Tensor]:
    """PyTorch's global generators (the CPU's, and the GPU's on CUDA), for a checkpoint."""
    state = {"torch": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def set_rng_state(state: dict[str, torch.Tensor], device: torch.device) -> None:
    """Put back what ``rng_state`` saved; a GPU's state only on a GPU (a run may move between devices)."""
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and device.type == "cuda":
        torch.cuda.set_rng_state(state["cuda"].cpu(), device)


def current_profile(device: torch.device | None = None) -> Profile:
    """``ALEXNET_PROFILE`` if set (``quick`` or ``full``); else ``full`` on a GPU, ``quick`` otherwise."""
    value = os.environ.get("ALEXNET_PROFILE", "").strip().lower()
    if value in ("quick", "full"):
        return value  # type: ignore[return-value]
    if value:
        raise CourseError(f"ALEXNET_PROFILE={value!r} is not a profile; use quick or full")
    device = device or pick_device()
    return "full" if device.type in ("cuda", "mps") else "quick"


def time_scale() -> float:
    """``ALEXNET_TIME_SCALE`` (default 1): every training time budget is multiplied by it. CI sets 0.1 to stand
    in for a slow, busy machine, where a budget trains a tenth of the images: the lessons must still run."""
    value = os.environ.get("ALEXNET_TIME_SCALE", "").strip() or "1"
    try:
        scale = float(value)
    except ValueError:
        scale = 0.0
    if not scale > 0:
        raise CourseError(f"ALEXNET_TIME_SCALE={value!r} is not a positive number")
    return scale


def project_root() -> Path:
    """The course checkout that holds the working directory, or the working directory itself.

    Notebooks run from ``notebooks/`` and commands from the root; in Colab, where the package
    is pip-installed, there is no checkout and ``/content`` is used.
    """
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "alexnet_lib").is_dir() and (folder / "pyproject.toml").is_file():
            return folder
    return here


def data_dir() -> Path:
    """Where datasets are prepared: ``ALEXNET_DATA_DIR``, else ``data/`` in the project root."""
    return Path(os.environ.get("ALEXNET_DATA_DIR") or project_root() / "data")


def outputs_dir() -> Path:
    """Where runs write checkpoints, logs and figures: ``ALEXNET_OUTPUT_DIR``, else ``outputs/``."""
    return Path(os.environ.get("ALEXNET_OUTPUT_DIR") or project_root() / "outputs")


@dataclass(frozen=True)
class Setup:
    """What a notebook's setup cell decided."""

    device: torch.device
    profile: Profile
    seed: int
    outputs: Path

    @property
    def quick(self) -> bool:
        return self.profile == "quick"


def notebook_setup(seed: int = 0, device: str = "auto") -> Setup:
    """Pick the device, seed everything and read the profile; print one line saying so."""
    chosen = pick_device(device)
    seed_everything(seed)
    profile = current_profile(chosen)
    outputs = outputs_dir()
    outputs.mkdir(parents=True, exist_ok=True)
    threads = f", {torch.get_num_threads()} CPU threads" if chosen.type == "cpu" else ""
    print(f"device: {chosen}{threads} | profile: {profile} | seed: {seed} | torch {torch.__version__}")
    return Setup(chosen, profile, seed, outputs)


# bf16 in hardware (tensor cores, cuDNN convolutions) from compute capability 8.0 (Ampere).
# Below it, e.g. Colab's T4 (7.5), torch.cuda.is_bf16_supported() still says True because
# bf16 is emulated, slowly: there fp16 with a gradient scaler is the fast mixed precision.
BF16_FROM_CAPABILITY = (8, 0)


def resolve_precision(device: torch.device, requested: str = "auto") -> torch.dtype:
    """The autocast dtype for ``requested`` on ``device`` (``torch.float32`` means no autocast).

    ``auto``: bf16 on GPUs of compute capability 8.0 and newer, fp16 (which needs a gradient
    scaler) on older ones; bf16 on CPUs with native bf16 (AVX512-BF16 or AMX, about 1.5x faster
    training here); fp32 on Apple MPS and other CPUs. ``fp32``, ``fp16``, ``bf16``: as asked.
    """
    if requested == "fp32" or device.type == "mps" and requested == "auto":
        return torch.float32
    if requested == "fp16":
        return torch.float16
    if requested == "bf16":
        return torch.bfloat16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.get_device_capability(device) >= BF16_FROM_CAPABILITY else torch.float16
    if device.type == "cpu" and torch.ops.mkldnn._is_mkldnn_bf16_supported():
        return torch.bfloat16
    return torch.float32


def needs_grad_scaler(dtype: torch.dtype) -> bool:
    """fp16's narrow exponent lets small gradients underflow: scale the loss (bf16 and fp32 need not)."""
    return dtype == torch.float16


def autocast(device: torch.device, dtype: torch.dtype):  # noqa: ANN201 - a context manager
    """Mixed precision for the forward pass; a no-op for float32."""
    return torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32)


def device_name(device: torch.device) -> str:
    """What ``device`` is, for records of runs: the GPU's name, or the CPU's model and core count."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple MPS"
    model = "CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [
            line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")
        ]
        model = names[0] if names else model
    return f"{model} ({os.cpu_count()} cores)"
