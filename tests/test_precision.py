"""Mixed precision by hardware: bf16 only from compute capability 8.0, else fp16 with a gradient scaler."""

import pytest
import torch

from alexnet_lib import env
from alexnet_lib.train import Trainer

from .test_train import tiny_config

CUDA = torch.device("cuda")


def fake_gpu(monkeypatch, capability: tuple[int, int]) -> None:
    """A CUDA GPU of ``capability`` that, like PyTorch on a T4, reports bf16 as supported (emulated)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: True)


@pytest.mark.parametrize(
    ("capability", "expected"),
    [
        ((7, 0), torch.float16),  # V100
        ((7, 5), torch.float16),  # T4, Colab's free tier: bf16 only emulated
        ((8, 0), torch.bfloat16),  # A100
        ((9, 0), torch.bfloat16),  # H100, H200
    ],
)
def test_auto_precision_follows_the_compute_capability(monkeypatch, capability, expected):
    fake_gpu(monkeypatch, capability)
    assert env.pick_device("auto") == CUDA
    assert env.resolve_precision(CUDA, "auto") == expected
    assert env.needs_grad_scaler(env.resolve_precision(CUDA, "auto")) == (expected == torch.float16)


@pytest.mark.parametrize("capability", [(7, 5), (9, 0)])
def test_what_the_user_asks_for_is_kept(monkeypatch, capability):
    fake_gpu(monkeypatch, capability)
    asked = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
    for name, dtype in asked.items():
        assert env.resolve_precision(CUDA, name) == dtype


def test_cpu_and_mps_keep_their_choice(monkeypatch):
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: True)
    assert env.resolve_precision(torch.device("cpu")) == torch.bfloat16  # native bf16 (AVX512-BF16, AMX)
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: False)
    assert env.resolve_precision(torch.device("cpu")) == torch.float32
    assert env.resolve_precision(torch.device("mps")) == torch.float32


@pytest.mark.parametrize(("precision", "scaled"), [("fp16", True), ("bf16", False), ("fp32", False)])
def test_the_trainer_scales_gradients_for_fp16_only(tmp_path, fashion_small, precision, scaled):
    trainer = Trainer(tiny_config(tmp_path, precision=precision), data=fashion_small)
    assert trainer.dtype == {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}[precision]
    assert isinstance(trainer.scaler, torch.amp.GradScaler) and trainer.scaler.is_enabled() == scaled
