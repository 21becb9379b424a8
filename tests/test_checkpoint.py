"""Checkpoints: atomic writes and safe, clear reads."""

import os
import pickle

import pytest
import torch

from alexnet_lib import alexnet
from alexnet_lib.checkpoint import (
    ResumeState,
    check_resumable,
    load_checkpoint,
    model_from_checkpoint,
    save_checkpoint,
)
from alexnet_lib.errors import CourseError
from alexnet_lib.model import Options


def payload(**changes):
    model = alexnet("paper", num_classes=10, in_channels=1)
    return {"model": model.state_dict(), "variant": "paper", "num_classes": 10, "in_channels": 1, **changes}


def test_round_trip_rebuilds_the_same_model(tmp_path):
    saved = payload()
    save_checkpoint(tmp_path / "last.pt", saved)
    model = model_from_checkpoint(load_checkpoint(tmp_path / "last.pt"))
    assert not model.training
    for key, value in saved["model"].items():
        assert torch.equal(model.state_dict()[key], value)


def test_a_failed_write_leaves_the_old_checkpoint_whole(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    save_checkpoint(path, payload(epoch=1))
    before = path.read_bytes()

    def crash(obj, file):
        file.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, payload(epoch=2))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]  # no temporary file left behind
    assert load_checkpoint(path)["epoch"] == 1


def test_saved_files_are_readable_by_others(tmp_path):
    save_checkpoint(tmp_path / "last.pt", payload())
    assert os.stat(tmp_path / "last.pt").st_mode & 0o044


class Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_a_pickle_with_a_payload_is_refused_and_does_not_run(tmp_path):
    marker = tmp_path / "payload-ran"
    path = tmp_path / "evil.pt"
    torch.save({"format": "alexnet-course-checkpoint", "model": Payload(marker)}, path, pickle_module=pickle)
    with pytest.raises(CourseError, match="refused"):
        load_checkpoint(path)
    assert not marker.exists()


@pytest.mark.parametrize("problem", ["missing", "truncated", "not ours", "folder", "wrong shapes"])
def test_bad_checkpoints_give_one_clear_error(tmp_path, problem):
    path = tmp_path / "last.pt"
    if problem == "truncated":
        save_checkpoint(path, payload())
        path.write_bytes(path.read_bytes()[:5000])
    elif problem == "not ours":
        torch.save({"weights": torch.zeros(3)}, path)
    elif problem == "folder":
        path.mkdir()
    elif problem == "wrong shapes":
        save_checkpoint(path, payload(variant="torchvision"))
    with pytest.raises(CourseError) as error:
        model_from_checkpoint(load_checkpoint(path))
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    "options",
    [
        *[{"activation": "tanh"}, {"norm": "none"}, {"pool": "adjacent"}, {"norm": "batch", "head": "gap"}],
        *[{"filters": "zfnet"}, {"filters": "vgg"}, {"blocks": 1}, {"blocks": 2, "residual": True, "norm": "batch"}],
    ],
)
def test_a_checkpoint_rebuilds_the_ablated_net_it_was_trained_as(tmp_path, options):
    from alexnet_lib.checkpoint import model_fields
    from alexnet_lib.datasets import Stats

    model = alexnet("paper", num_classes=2, in_channels=1, **options)
    model(torch.randn(4, 1, 67, 67))  # in training mode: batch norm's running statistics move
    stats = Stats((0.5,), (0.25,), pca_eigenvalues=(), pca_eigenvectors=())
    fields = model_fields(model, ["a", "b"], 67, 1.0, stats, dataset="x")
    save_checkpoint(tmp_path / "last.pt", fields)
    assert load_checkpoint(tmp_path / "last.pt")["options"] == {
        **{"activation": "relu", "norm": "lrn", "pool": "overlap", "head": "fc"},
        **{"filters": "paper", "blocks": 0, "residual": False},
        **options,
    }
    rebuilt = model_from_checkpoint(load_checkpoint(tmp_path / "last.pt"))
    assert rebuilt.options == model.options
    assert [type(m) for m in rebuilt.children()] == [type(m) for m in model.children()]
    x = torch.randn(2, 1, 67, 67)
    torch.testing.assert_close(rebuilt(x), model.eval()(x))


def test_a_checkpoint_from_before_the_options_is_the_paper_net(tmp_path):
    save_checkpoint(tmp_path / "last.pt", payload())  # no "options" field
    assert model_from_checkpoint(load_checkpoint(tmp_path / "last.pt")).options == alexnet().options


def test_a_checkpoint_from_before_filters_and_blocks_is_the_papers_first_filters_without_blocks(tmp_path):
    old = {"activation": "tanh", "norm": "batch", "pool": "overlap", "head": "gap"}  # what such a checkpoint saved
    model = alexnet("paper", num_classes=10, in_channels=1, **old)
    save_checkpoint(tmp_path / "last.pt", payload(model=model.state_dict(), options=old))
    rebuilt = model_from_checkpoint(load_checkpoint(tmp_path / "last.pt"))
    assert rebuilt.options == Options(**old) == Options(**old, filters="paper", blocks=0, residual=False)
    assert "conv2a" not in dict(rebuilt.named_children()) and "block1" not in dict(rebuilt.named_children())


def test_a_run_with_blocks_resumes_only_into_the_same_blocks():
    saved = {"activation": "relu", "norm": "lrn", "pool": "overlap", "head": "fc", "blocks": 4, "residual": True}
    state = ResumeState.from_payload(
        {
            **payload(options=saved),
            "config": {"epochs": 2, "blocks": 4, "residual": True},
            **{"epoch": 1, "step": 0, "global_step": 10, "partial": {}, "train_seconds": 1.0, "images_seen": 10},
            **{"optimizer": {}, "scheduler": None, "scaler": {}, "rng": {}, "history": []},
        }
    )
    checkpoint = payload(options=saved)
    resume = {"variant": "paper", "num_classes": 10, "epochs": 2, "schedule": "none"}
    check_resumable(state, checkpoint, **resume, options=Options(blocks=4, residual=True))
    for other in (Options(), Options(blocks=4), Options(blocks=2, residual=True), Options(filters="vgg")):
        with pytest.raises(CourseError, match="the checkpoint's net has"):
            check_resumable(state, checkpoint, **resume, options=other)


@pytest.mark.parametrize(("lrn", "norm"), [(True, "lrn"), (False, "none")])
def test_a_checkpoint_from_before_norm_reads_its_lrn_flag_as_norm(tmp_path, lrn, norm):
    from alexnet_lib.model import LocalResponseNorm

    save_checkpoint(tmp_path / "last.pt", payload(options={"activation": "relu", "lrn": lrn, "pool": "overlap"}))
    model = model_from_checkpoint(load_checkpoint(tmp_path / "last.pt"))
    assert model.options == Options(norm=norm)  # and the paper's fc head
    assert any(isinstance(m, LocalResponseNorm) for m in model.modules()) == lrn


def test_a_run_from_before_norm_resumes_with_its_lrn_flag_read_as_norm():
    state = ResumeState.from_payload(
        {
            **payload(options={"activation": "relu", "lrn": False, "pool": "overlap"}),
            "config": {"epochs": 2, "lrn": False, "pool": "overlap"},
            **{"epoch": 1, "step": 0, "global_step": 10, "partial": {}, "train_seconds": 1.0, "images_seen": 10},
            **{"optimizer": {}, "scheduler": None, "scaler": {}, "rng": {}, "history": []},
        }
    )
    assert state.config == {"epochs": 2, "norm": "none", "pool": "overlap"}
    checkpoint = payload(options={"activation": "relu", "lrn": False, "pool": "overlap"})
    resume = {"variant": "paper", "num_classes": 10, "epochs": 2, "schedule": "none"}
    check_resumable(state, checkpoint, **resume, options=Options(norm="none"))
    with pytest.raises(CourseError, match="the checkpoint's net has"):
        check_resumable(state, checkpoint, **resume, options=Options())  # LRN, which that run did not have
    with pytest.raises(CourseError, match="the checkpoint's net has"):
        check_resumable(state, checkpoint, **resume, options=Options(norm="none", head="gap"))
