"""The paper's claims as named experiments, two arms each, same seeds (notebook 07; ``claims`` command).

Beside them, ``SUCCESSORS``: what replaced a part of the paper net after 2012 (batch norm for LRN, global
average pooling for fc6-fc8, ZFNet's and VGG's first filters) or was added to it (residual blocks), run the
same way against the paper's part (notebook 08). ``EXPERIMENTS``
holds the paper's claims only; ``experiment(name)`` finds all three kinds.

Each experiment trains a baseline arm and the arm the paper says is better, on the same seeds
(so the same held-out validation split, training subset, data order and initial weights where
the nets have the same weights), with the existing ``Trainer``. Choices are made on the
validation split; the test set is read once, at the end, only where the paper's figure is a test
figure (the CIFAR-10 LRN claim). The record, verdict and plot: ``claims_report.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import CourseError

# The footnote-3 nets as cuda-convnet trained them (``cifar_nets.py``): plain SGD, the params
# files' epsW = 0.001 and momentum 0.9, batch 128, a constant learning rate (the files lower it
# only after 120 epochs), no dropout, colour noise or label smoothing.
CUDA_CONVNET = dict(
    dataset="cifar10",
    optimizer="sgd",
    lr=0.001,
    momentum=0.9,
    batch_size=128,
    schedule="none",
    dropout=0.0,
    pca_std=0.0,
    label_smoothing=0.0,
)
FIG1 = dict(  # §3.1: "no regularization of any kind", whole 32x32 images (CIFARDataProvider)
    CUDA_CONVNET, variant="cuda-convnet-18pct", image_size=32, crop=1.0, flip=False, weight_decay=0.0, norm="none"
)
CONV_LOCAL = dict(  # random 24x24 crops, flipped half the time (CroppedCIFARDataProvider); the files' wc
    CUDA_CONVNET, variant="cuda-convnet-conv-local", image_size=24, crop=0.75, flip=True, weight_decay=0.004
)
# The paper net on CIFAR-10 (configs/cifar10.yaml, quick or full profile), with crops on so ten
# crops differ from the centre one, and without label smoothing (not in the paper).
ALEXNET = dict(crop=224 / 256, label_smoothing=0.0)


@dataclass(frozen=True)
class Experiment:
    """One claim: two arms that differ in one setting, a measure (lower is better), and two sizes."""

    name: str
    section: str
    claim: str
    paper: str
    measure: str  # one of MEASURES; a profile may name its own (its "measure")
    config: str | None  # a shipped config (its profile is the run's), or None: ``base`` alone
    base: dict[str, Any]
    baseline: tuple[str, dict[str, Any]]
    claimed: tuple[str, dict[str, Any]]
    profiles: dict[str, dict[str, Any]]  # quick / full: sizes, seeds, targets
    ten_crop_arm: bool = False  # the claimed arm is the baseline's own models, tested on ten crops
    claimed_seed_offset: int = 0  # an A/A control: the second arm runs seed i + offset, paired with seed i
    notes: tuple[str, ...] = field(default_factory=tuple)

    def measure_at(self, profile: str) -> str:
        """The measure at this size: the profile's own, else the experiment's."""
        return self.profiles[profile].get("measure", self.measure)


def _alexnet_profiles() -> dict[str, dict[str, Any]]:
    return {
        # notebook 07's size on 2 CPU cores: the procedure end to end in seconds (2 steps of 64 images at
        # 67 px); the net is still at chance, and one seed never separates: the verdict says so
        "quick": {"seeds": 1, "train_subset": 128, "epochs": 1, "val_subset": 100, "time_budget_s": None},
        # a GPU's size (benchmarks/gpu_claims.sh): the config's full profile (227 px), 5 of its 40 epochs, on
        # 15,000 images and 3 seeds (the fewest a 95% t interval can separate with; under 9 minutes in all)
        "full": {"seeds": 3, "train_subset": 15_000, "epochs": 5, "val_subset": None},
    }


EXPERIMENTS: dict[str, Experiment] = {
    e.name: e
    for e in (
        Experiment(
            "relu_vs_tanh",
            "§3.1, Fig. 1",
            "ReLUs reach 25% training error on CIFAR-10 about six times sooner than tanh units",
            "about 6x fewer epochs (a four-layer CNN, each learning rate tuned separately, no regularisation)",
            "epochs_to_target",
            None,
            FIG1,
            ("tanh", {"activation": "tanh"}),
            ("relu", {"activation": "relu"}),
            {
                # notebook 07's positive control: Fig. 1's curves read at a fixed epoch (3 epochs on 8,192
                # images, 192 steps: ~2 minutes for 3 seeds on 2 cores), at the lrs the full profile tuned
                "quick": {
                    **{"seeds": 3, "train_subset": 8192, "val_subset": 200, "epochs": 3},
                    **{"lrs": {"relu": 0.003, "tanh": 0.01}, "measure": "train_error"},
                },
                "full": {
                    **{"seeds": 2, "train_subset": 20_000, "val_subset": 1000, "epochs": 40},
                    **{"target_train_error": 0.25, "cap_factor": 6, "cap_seconds": 1500},
                    **{"lr_candidates": (0.001, 0.003, 0.01), "tune_epochs": 1},
                },
            },
            notes=(
                "the net is cuda-convnet's layers-18pct.cfg without its rnorm layers (no normalisation; "
                "the paper does not name Fig. 1's net), at the params file's lr unless the profile tunes it",
                "the quick profile reads the curves at a fixed epoch: training error over the third epoch on 8,192 "
                "images, at the lrs the full profile tuned (§3.1: relu 0.003, tanh 0.01 on one epoch of 20,000)",
                "tanh's run stops at 6x ReLU's epochs or 1,500 s of training (full), whichever comes first",
            ),
        ),
        Experiment(
            "lrn_cifar",
            "§3.3, footnote 3",
            "response normalisation lowers CIFAR-10 test error",
            "13% test error without normalisation, 11% with (cuda-convnet's conv-local nets)",
            "test_error",
            None,
            CONV_LOCAL,
            ("no LRN (13% file)", {"norm": "none"}),
            ("LRN (11% file)", {"norm": "lrn"}),
            {
                "quick": {"seeds": 1, "train_subset": 1024, "val_subset": 200, "test_subset": 500, "epochs": 1},
                "full": {"seeds": 2, "train_subset": 20_000, "val_subset": 1000, "epochs": 4},
            },
            notes=(
                "cuda-convnet trained these nets for about 470 epochs with two lr drops (params file); "
                "the full profile here: 4 epochs on 20,000 images at the file's constant lr (0.001, biases 0.002)",
            ),
        ),
        Experiment(
            "overlapping_pooling",
            "§3.4",
            "overlapping pooling (z=3, s=2) beats adjacent pooling (z=2, s=2)",
            "top-1 -0.4%, top-5 -0.3% on ImageNet; slightly harder to overfit",
            "val_error",
            "cifar10",
            ALEXNET,
            ("2x2 stride 2", {"pool": "adjacent"}),
            ("3x3 stride 2", {"pool": "overlap"}),
            _alexnet_profiles(),
        ),
        Experiment(
            "dropout",
            "§4.2",
            "without dropout the net overfits substantially",
            '"substantial overfitting" without it; it roughly doubles the iterations to converge',
            "overfit_gap",
            "cifar10",
            ALEXNET,
            ("no dropout", {"dropout": 0.0}),
            ("dropout 0.5", {"dropout": 0.5}),
            _alexnet_profiles(),
            notes=("measure: validation error minus training error, both in eval mode at the end",),
        ),
        Experiment(
            "pca_noise",
            "§4.1",
            "PCA colour noise lowers the error",
            "top-1 down by over 1% on ImageNet",
            "val_error",
            "cifar10",
            ALEXNET,
            ("no colour noise", {"pca_std": 0.0}),
            ("colour noise 0.1", {"pca_std": 0.1}),
            _alexnet_profiles(),
        ),
        Experiment(
            "ten_crops",
            "§4.1",
            "averaging ten crops at test time lowers the error",
            "§4.1 gives it as the way the network predicts at test time; no separate number",
            "val_error",
            "cifar10",
            ALEXNET,
            ("centre crop", {}),
            ("ten crops", {}),
            _alexnet_profiles(),
            ten_crop_arm=True,
        ),
        Experiment(
            "lrn_alexnet",
            "§3.3",
            "LRN lowers AlexNet's error",
            "top-1 -1.4%, top-5 -1.2% on ImageNet",
            "val_error",
            "cifar10",
            ALEXNET,
            ("no LRN", {"norm": "none"}),
            ("LRN", {"norm": "lrn"}),
            _alexnet_profiles(),
        ),
    )
}

# What others found at small scale, beside our numbers (each checked at its source; notebook 07, README).
# caffenet-benchmark (Mishkin, Sergievskiy and Matas, CVIU 2017): CaffeNet on ImageNet-2012 at 128 px (small
# side), fc6/fc7 2,048 wide, LSUV init, one run per setting ("results can vary from run to run").
CAFFENET_BENCHMARK = "github.com/ducha-aiki/caffenet-benchmark (README), ImageNet-2012 at 128 px, one run each"
CNTK_CIFAR = "github.com/microsoft/CNTK, Examples/Image/Classification/ConvNet/BrainScript/README.md, CIFAR-10"
ELSEWHERE: dict[str, tuple[tuple[str, str], ...]] = {
    "relu_vs_tanh": ((CAFFENET_BENCHMARK, "top-1 accuracy: ReLU 0.471, tanh 0.401 (final accuracy, not speed)"),),
    "lrn_alexnet": ((CAFFENET_BENCHMARK, 'top-1 accuracy: with LRN 0.470, without 0.471 ("LRN layers add nothing")'),),
    "lrn_cifar": ((CNTK_CIFAR, "test error: 14.2% without LRN, 13.8% with it (one run each, with augmentation)"),),
    "overlapping_pooling": (
        (
            CAFFENET_BENCHMARK,
            "top-1 accuracy: 3x3/2 0.471, 2x2/2 0.484 (2x2 wins; confounded: its pool5 map is 4x4, not 3x3)",
        ),
    ),
    "dropout": ((CAFFENET_BENCHMARK, "top-1 accuracy: dropout 0.5 0.471, dropout 0.3 0.497 (rates, not on/off)"),),
}

# Notebook 07's controls: the rule must also be seen to say "no" where nothing differs.
CONTROLS: dict[str, Experiment] = {
    "a_a": Experiment(
        "a_a",
        "control",
        "two identical arms, paired seed i with seed i + 100, differ only by chance",
        "nothing: an A/A control; the rule calls it either way in 5% of such experiments",
        "val_error",
        None,
        FIG1,
        ("A", {"activation": "relu", "lr": 0.003}),
        ("A again", {"activation": "relu", "lr": 0.003}),
        {
            "quick": {"seeds": 3, "train_subset": 512, "val_subset": 500, "batch_size": 32, "epochs": 3},
            "full": {"seeds": 5, "train_subset": 20_000, "val_subset": 1000, "epochs": 4},
        },
        claimed_seed_offset=100,
        notes=("Fig. 1's net with ReLUs at its tuned lr in both arms; the second arm's seeds are 100 on",),
    ),
}

# Notebook 08: what replaced a part of the paper net, each against the paper's part, on the paper net at the
# AlexNet claims' sizes. Successors, not the paper's claims: ``EXPERIMENTS`` (and the README's table of the
# paper's claims) leave them out. The sources: docs/sources_after_alexnet.md.
SUCCESSORS: dict[str, Experiment] = {
    e.name: e
    for e in (
        Experiment(
            "batch_norm",
            "Ioffe & Szegedy 2015",
            "batch normalisation instead of LRN: the same accuracy in far fewer steps, so a lower error after "
            "the same short run",
            '"the same accuracy with 14 times fewer training steps" (Inception on ImageNet), at much higher '
            'learning rates; with it LRN is "not necessary" (§4.2.1)',
            "val_error",
            "cifar10",
            ALEXNET,
            ("LRN (the paper)", {"norm": "lrn"}),
            ("batch norm", {"norm": "batch"}),
            _alexnet_profiles(),
            notes=(
                "batch norm after every conv, before its ReLU, as Ioffe & Szegedy place it (§3.2); those convs "
                "have no bias; both arms at the config's lr (the paper raised it 5x and 30x with batch norm)",
            ),
        ),
        Experiment(
            "gap_head",
            "Lin et al. 2013",
            "global average pooling instead of fc6-fc8: far fewer parameters, less overfitting, so a lower error",
            'NiN: "less prone to overfitting than traditional fully connected layers"; GoogLeNet §5: the move '
            "from fully connected layers to average pooling improved top-1 accuracy by about 0.6% (ImageNet)",
            "val_error",
            "cifar10",
            ALEXNET,
            ("fc6-fc8 (the paper)", {"head": "fc"}),
            ("global average pooling", {"head": "gap"}),
            _alexnet_profiles(),
            notes=(
                "the head averages each of pool5's 256 maps, then one linear layer to the classes (GoogLeNet's "
                "extra linear layer; NiN's last conv has one map per class instead); no dropout is left",
            ),
        ),
        Experiment(
            "zfnet_filters",
            "Zeiler & Fergus 2013",
            "smaller first filters at a smaller stride (conv1 7x7 at stride 2, conv2 at stride 2) instead of "
            "11x11 at stride 4: a lower error",
            "Table 2 (ImageNet 2012 validation, one convnet): their replication of the paper net 40.5% top-1, "
            "18.1% top-5; their Fig. 3 net, with these filters, 38.4% and 16.5% (§4.1, §5.1)",
            "val_error",
            "cifar10",
            ALEXNET,
            ("11x11/4 and 5x5 (the paper)", {"filters": "paper"}),
            ("ZFNet 7x7/2 and 5x5/2", {"filters": "zfnet"}),
            _alexnet_profiles(),
            notes=(
                "only conv1 and conv2 change, padded (1 and 2) so that the maps are the paper's from pool2 on; "
                "not ZFNet's 224 px crops, its contrast normalisation after pooling or its renormalisation of "
                "filters whose RMS exceeds 0.1 (§3); both arms keep the paper's LRN",
            ),
        ),
        Experiment(
            "vgg_stack",
            "Simonyan & Zisserman 2014",
            "two 3x3 convs with a ReLU between instead of conv2's 5x5: the same 5x5 field, one more "
            "non-linearity, a lower error",
            '§4.1: net B with each pair of 3x3 convs replaced by one 5x5 had a top-1 error "7% higher" '
            "(ImageNet, centre crop); §2.3: two stacked 3x3 convs have an effective receptive field of 5x5",
            "val_error",
            "cifar10",
            ALEXNET,
            ("one 5x5 (the paper)", {"filters": "paper"}),
            ("two 3x3 (VGG)", {"filters": "vgg"}),
            _alexnet_profiles(),
            notes=(
                "only conv2 is stacked (VGG's nets are 3x3 throughout): conv2a 96 -> 256, conv2 256 -> 256, "
                "811,520 parameters against the 5x5's 614,656, since the width changes inside the stack (§2.3's "
                "saving holds for C -> C)",
            ),
        ),
        Experiment(
            "residual",
            "He et al. 2015",
            "shortcuts round the added blocks: the deeper net trains to a lower training error than its plain "
            "twin (the degradation problem)",
            'the 34-layer plain net "has higher training error throughout the whole training procedure" than the '
            "18-layer one (§4.1, Fig. 4); Table 2 (ImageNet validation top-1, 10-crop): plain-18 27.94%, plain-34 "
            "28.54%, ResNet-18 27.88%, ResNet-34 25.03%",
            "train_error",
            "cifar10",
            dict(ALEXNET, blocks=4),
            ("plain, 16 layers", {"residual": False}),
            ("residual, 16 layers", {"residual": True}),
            _alexnet_profiles(),
            notes=(
                "16 weight layers in both arms: the paper's 5 convs, 4 blocks of two 3x3 convs at 256 channels "
                "(block1-block4, between conv5 and pool5) and fc6-fc8; the same layers and parameters, the arms "
                "differ in the shortcuts alone (§3.2: the ReLU after the addition)",
                "deviation: both arms use the course's Kaiming init and the paper's LRN, with no batch norm; He et "
                "al. put batch norm after every conv (§3.4), and their plain nets degraded even so (§4.1)",
                "measure: the training error over the last epoch, counted as it trains (dropout and augmentation "
                "on); He et al. show whole training curves, and their nets are 18 and 34 layers deep",
            ),
        ),
    )
}

MEASURES = {
    "epochs_to_target": "epochs to reach the target training error (a capped run counts its cap: a lower bound)",
    "train_error": "training error over the last epoch (a training curve read at a fixed epoch: Fig. 1's, He et al.'s)",
    "val_error": "top-1 error on the held-out validation split after the last epoch",
    "test_error": "top-1 error on the test set, read once after the last epoch",
    "overfit_gap": "validation error minus training error (eval mode, up to 5,000 training images)",
}
SIZE_KEYS = (
    "seeds",
    "target_train_error",
    "cap_factor",
    "cap_seconds",
    "lr_candidates",
    "tune_epochs",
    "lrs",
    "measure",
)


def experiment(name: str) -> Experiment:
    """A claim of ``EXPERIMENTS``, one of notebook 07's ``CONTROLS`` or one of notebook 08's ``SUCCESSORS``."""
    for group in (EXPERIMENTS, CONTROLS, SUCCESSORS):
        if name in group:
            return group[name]
    names = ", ".join([*EXPERIMENTS, *SUCCESSORS])
    raise CourseError(f"unknown claim {name!r}; choose one of {names} (see `claims list`)")


def describe_all() -> list[str]:
    """One line per experiment, for ``claims list``: the paper's claims, then the successors (notebook 08)."""
    return [f"{e.name:20} {e.section:25} {e.claim}" for e in (*EXPERIMENTS.values(), *SUCCESSORS.values())]
