"""Configs: YAML, profiles, flags, and clear errors."""

import pytest

from alexnet_lib.config import TrainConfig, config_path, load_config
from alexnet_lib.errors import CourseError
from alexnet_lib.model import Options

from .conftest import ROOT, run_cli, run_command


def test_shipped_configs_are_the_paper_net_at_227_with_a_quick_profile():
    for name in ("fashion_mnist", "cifar10"):
        full, quick = load_config(name, "full"), load_config(name, "quick")
        assert (full.variant, full.image_size, full.train_subset) == ("paper", 227, None)
        assert (full.momentum, full.weight_decay) == (0.9, 5e-4)  # §5
        assert quick.image_size == 67 and quick.profile == "quick"
    assert config_path("configs/cifar10.yaml").resolve() == ROOT / "configs" / "cifar10.yaml"


def test_overrides_beat_the_profile_which_beats_the_top_level(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("epochs: 3\nlr: 0.1\nprofiles:\n  quick:\n    epochs: 1\n")
    config = load_config(path, "quick", lr=0.5)
    assert (config.epochs, config.lr) == (1, 0.5)
    assert load_config(path, "full").epochs == 3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("epochs: 0\n", "epochs must be at least 1"),
        ("optimiser: adam\n", "unknown setting optimiser"),
        ("variant: vgg\n", "variant must be one of"),
        ("- a\n", "must hold a mapping"),
        ("a: [\n", "not valid YAML"),
        ("lr: abc\n", "lr must be a number; got 'abc'"),
        ("epochs: 2.5\n", "epochs must be a whole number"),
        ("flip: 1\n", "flip must be true or false"),
        ("dropout: 1.5\n", r"dropout must be in \[0, 1\)"),
        ("label_smoothing: 2\n", "label_smoothing must be in"),
        ("momentum: -1\n", "momentum must not be negative"),
        ("workers: -1\n", "workers must not be negative"),
        ("in_channels: 0\n", "in_channels must be at least 1"),
        ("image_size: 32\n", "image_size must be at least 67 for a paper net"),
        ("variant: torchvision\nimage_size: 62\n", "at least 63 for a torchvision net"),
        ("profiles: [quick]\n", "profiles must map quick and full"),
    ],
)
def test_bad_configs_say_what_is_wrong(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(CourseError, match=message):
        load_config(path)


def test_train_help_lists_every_flag_of_the_issue():
    done = run_cli("train", "--help")
    assert done.returncode == 0
    for flag in (
        "--config",
        "--dataset",
        "--variant",
        "--epochs",
        "--batch-size",
        "--lr",
        "--train-subset",
        "--test-subset",
        "--image-size",
        "--device",
        "--checkpoint-dir",
        "--resume",
        "--seed",
    ):
        assert flag in done.stdout
    assert "§5" in done.stdout  # help text comes from the config's own comments


def test_every_config_field_has_a_help_line():
    from alexnet_lib.cli import _config_help

    helps = _config_help()
    missing = [name for name in TrainConfig.__dataclass_fields__ if name != "profile" and name not in helps]
    assert not missing


@pytest.mark.parametrize(
    "command",
    [["--help"], ["data", "--help"], ["data", "fetch", "--help"], ["data", "info", "--help"], ["course", "--help"]],
)
@pytest.mark.slow  # each command as typed: python -m alexnet_lib ...
def test_help_works_for_every_command(command):
    done = run_command(*command)
    assert done.returncode == 0 and "usage:" in done.stdout


def test_bad_flags_give_one_error_line_and_no_traceback(tmp_path):
    done = run_cli("train", "--config", str(tmp_path / "missing.yaml"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        f"error: config file {tmp_path / 'missing.yaml'} not found (shipped configs: fashion_mnist, cifar10)"
    ]
    done = run_cli("train", "--device", "cuda", "--dataset", "fashion-mnist")
    assert done.returncode == 2 and "no CUDA GPU" in done.stderr and "Traceback" not in done.stderr


def test_shipped_configs_hold_out_5000_validation_images_and_budget_the_quick_profile():
    for name in ("fashion_mnist", "cifar10"):
        full, quick = load_config(name, "full"), load_config(name, "quick")
        assert (full.val_size, full.val_seed, full.time_budget_s) == (5000, 2012, None)
        assert (quick.val_size, quick.val_subset, quick.time_budget_s, quick.train_subset) == (5000, 1000, 300, None)


@pytest.mark.parametrize(
    ("text", "message"),
    [("val_size: -1\n", "val_size must not be negative"), ("time_budget_s: 0\n", "time_budget_s must be positive")],
)
def test_bad_validation_and_budget_settings_say_what_is_wrong(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(CourseError, match=message):
        load_config(path)


def test_alexnet_precision_overrides_the_files_precision(monkeypatch):
    monkeypatch.setenv("ALEXNET_PRECISION", "FP32")
    assert load_config("fashion_mnist", "quick").precision == "fp32"
    assert load_config("fashion_mnist", "quick", precision="bf16").precision == "bf16"  # a flag still wins
    monkeypatch.setenv("ALEXNET_PRECISION", "fp64")
    with pytest.raises(CourseError, match="precision must be one of"):
        load_config(None)


def test_train_activation_norm_pool_and_head_flags_build_that_net_and_its_checkpoint_rebuilds_it(tmp_path):
    from alexnet_lib.checkpoint import Checkpoint

    done = run_cli(
        *["train", "--dataset", "fashion-mnist", "--image-size", "67", "--batch-size", "16", "--epochs", "1"],
        *["--train-subset", "32", "--test-subset", "16", "--val-subset", "16", "--device", "cpu", "--no-histograms"],
        *["--activation", "tanh", "--norm", "batch", "--pool", "adjacent", "--head", "gap"],
        *["--checkpoint-dir", str(tmp_path)],
    )
    assert done.returncode == 0, done.stderr[-2000:]
    checkpoint = Checkpoint.read(tmp_path / "last.pt")
    assert checkpoint.payload["config"]["activation"] == "tanh"
    model = checkpoint.model()
    assert checkpoint.payload["config"]["norm"] == "batch" and checkpoint.payload["config"]["head"] == "gap"
    assert model.options == Options(activation="tanh", norm="batch", pool="adjacent", head="gap")
    assert "relu1" in dict(model.named_children()) and type(model.relu1).__name__ == "Tanh"
    assert "bn1" in dict(model.named_children()) and "gap" in dict(model.named_children())


def test_train_filters_blocks_and_residual_flags_build_that_net_and_its_checkpoint_rebuilds_it(tmp_path):
    from alexnet_lib.checkpoint import Checkpoint

    done = run_cli(
        *["train", "--dataset", "fashion-mnist", "--image-size", "67", "--batch-size", "16", "--epochs", "1"],
        *["--train-subset", "32", "--test-subset", "16", "--val-subset", "16", "--device", "cpu", "--no-histograms"],
        *["--filters", "vgg", "--blocks", "2", "--residual", "--head", "gap"],
        *["--checkpoint-dir", str(tmp_path)],
    )
    assert done.returncode == 0, done.stderr[-2000:]
    checkpoint = Checkpoint.read(tmp_path / "last.pt")
    config = checkpoint.payload["config"]
    assert (config["filters"], config["blocks"], config["residual"]) == ("vgg", 2, True)
    model = checkpoint.model()
    assert model.options == Options(head="gap", filters="vgg", blocks=2, residual=True)
    assert {"conv2a", "block1", "block2"} <= set(dict(model.named_children())) and model.block2.residual


def test_the_successor_settings_default_to_the_paper_and_read_from_yaml(tmp_path):
    config = load_config(None)
    assert (config.filters, config.blocks, config.residual) == ("paper", 0, False)
    path = tmp_path / "deeper.yaml"
    path.write_text("filters: zfnet\nblocks: 4\nresidual: true\n")
    config = load_config(path)
    assert (config.filters, config.blocks, config.residual) == ("zfnet", 4, True)


def test_train_help_offers_the_norm_and_head_choices():
    done = run_cli("train", "--help")
    assert done.returncode == 0
    assert "--norm {lrn,batch,none}" in done.stdout and "--head {fc,gap}" in done.stdout
    assert "--filters {paper,zfnet,vgg}" in done.stdout and "--blocks INT" in done.stdout
    assert "--residual, --no-residual" in done.stdout  # a bool setting, as --flip
    assert "--no-lrn" not in done.stdout  # replaced by --norm none
    done = run_cli("train", "--norm", "group")
    assert done.returncode == 2 and "invalid choice: 'group'" in done.stderr


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"activation": "sigmoid"}, "activation must be one of"),
        ({"pool": "big"}, "pool must be one of"),
        ({"norm": "group"}, "norm must be one of lrn, batch, none"),
        ({"head": "conv"}, "head must be one of fc, gap"),
        ({"variant": "torchvision", "image_size": 224, "norm": "lrn"}, "torchvision's AlexNet has no LRN"),
        ({"variant": "cuda-convnet-conv-local", "image_size": 24, "norm": "batch"}, "takes norm lrn or none"),
        ({"variant": "cuda-convnet-18pct", "image_size": 32, "head": "gap"}, "batch norm and the gap head"),
        ({"filters": "resnet"}, "filters must be one of paper, zfnet, vgg"),
        ({"blocks": -1}, "blocks must be a whole number, 0 or more"),
        ({"blocks": "four"}, "blocks must be a whole number"),
        ({"residual": "yes"}, "residual must be true or false"),
        ({"residual": True}, "residual needs blocks"),
        ({"variant": "paper-two-tower", "filters": "zfnet"}, "filters='zfnet' is for the one-device paper variant"),
        ({"variant": "torchvision", "image_size": 224, "blocks": 2}, "blocks=2 is for the one-device paper variant"),
        ({"variant": "cuda-convnet-18pct", "image_size": 32, "filters": "vgg"}, "for the one-device paper variant"),
    ],
)
def test_bad_ablation_options_say_what_is_wrong(overrides, message):
    with pytest.raises(CourseError, match=message):
        load_config(None, **overrides)
