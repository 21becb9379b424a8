"""``python -m alexnet_lib``: data, train, predict and course commands.

Every problem a learner can cause (a missing file, a bad flag, no data, a damaged
checkpoint) ends as one ``error: ...`` line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import CourseError

if TYPE_CHECKING:
    from .config import TrainConfig
    from .inference import FileResult


def _config_help() -> dict[str, str]:
    """Each ``TrainConfig`` field's help, kept beside the field (``metadata["help"]``)."""
    from .config import TrainConfig

    return {f.name: f.metadata["help"] for f in dataclasses.fields(TrainConfig) if "help" in f.metadata}


def _add_train_parser(commands: argparse._SubParsersAction) -> None:
    from .config import CHOICES, TrainConfig, field_types

    parser = commands.add_parser(
        "train",
        help="train AlexNet on a dataset",
        description="Train AlexNet. Settings come from --config (a YAML file, see configs/), its profile "
        "section, then these flags. Ends with one line: test accuracy and images/s.",
    )
    parser.add_argument("--config", type=Path, help="YAML file of settings, e.g. configs/fashion_mnist.yaml")
    parser.add_argument(
        "--profile",
        choices=("quick", "full"),
        help="the config's profile (default: ALEXNET_PROFILE, else full on a GPU, quick on a CPU)",
    )
    helps, types = _config_help(), field_types()
    for f in dataclasses.fields(TrainConfig):
        if f.metadata.get("yaml") is False:
            continue
        flag = "--" + f.name.replace("_", "-")
        if types[f.name] is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=helps.get(f.name))
        elif f.name in CHOICES:
            parser.add_argument(flag, choices=CHOICES[f.name], default=None, help=helps.get(f.name))
        else:
            metavar = f.name.upper() if types[f.name] is str else types[f.name].__name__.upper()
            parser.add_argument(flag, type=types[f.name], default=None, metavar=metavar, help=helps.get(f.name))
    parser.set_defaults(run=_train)


# Settings that say how a run is carried out, not what it computes: a resumed run may change
# them. ``epochs`` trains further (the engine refuses it where the schedule cannot stretch).
CHANGEABLE_ON_RESUME = (
    "epochs",
    "device",
    "precision",
    "compile",
    "channels_last",
    "workers",
    "log_every",
    "histograms",
    "checkpoint_dir",
    "data_dir",
    "resume",
)


def _train(args: argparse.Namespace) -> int:
    from .config import TrainConfig, load_config
    from .env import current_profile
    from .train import train

    names = {f.name for f in dataclasses.fields(TrainConfig) if f.metadata.get("yaml") is not False}
    overrides = {k: v for k, v in vars(args).items() if k in names and v is not None}
    if args.resume:
        config = _resume_config(args, overrides)
    else:
        profile = args.profile or (current_profile() if args.config else None)
        config = load_config(args.config, profile, **overrides)
    result = train(config)
    print(result.summary())
    return 130 if result.interrupted else 0


def _resume_config(args: argparse.Namespace, overrides: dict) -> TrainConfig:
    """The checkpoint's own settings, with the flags that may change; flags that contradict it are an error.

    The first run's flags (and its ``--config``/``--profile``) may be given again: they must agree with
    the checkpoint. The run continues in the checkpoint's folder unless ``--checkpoint-dir`` says otherwise.
    """
    from .checkpoint import ResumeState
    from .config import load_config
    from .env import current_profile

    state, _ = ResumeState.read(args.resume)  # a file with no resume state is one CourseError
    saved = dict(state.config)
    profile = saved.pop("profile", None)
    asked = dict(overrides)
    if args.config is not None:  # the file's settings, as the first run read them, count as asked for
        from_file = load_config(args.config, args.profile or profile or current_profile()).to_dict()
        asked = {k: v for k, v in from_file.items() if k not in CHANGEABLE_ON_RESUME or k == "epochs"} | asked
    if args.profile is not None:
        asked["profile"] = args.profile
    recorded = {**saved, "profile": profile}
    contradicted = [k for k in asked if k not in CHANGEABLE_ON_RESUME and k in recorded and recorded[k] != asked[k]]
    if contradicted:
        had = ", ".join(f"{k}={recorded[k]}" for k in contradicted)
        wanted = ", ".join(f"{k}={asked[k]}" for k in contradicted)
        flags = ", ".join("--" + k.replace("_", "-") for k in CHANGEABLE_ON_RESUME if k != "resume")
        raise CourseError(
            f"--resume: the checkpoint's run has {had} but the command asks for {wanted}; a resumed run keeps "
            f"its settings (only {flags} may change): give the first run's values or none (no --config), "
            "or start a new run without --resume"
        )
    changes = {k: v for k, v in asked.items() if k in CHANGEABLE_ON_RESUME}
    changes.setdefault("checkpoint_dir", str(Path(args.resume).parent))
    return load_config(None, profile, **{**saved, **changes, "resume": str(args.resume)})


def _add_data_parser(commands: argparse._SubParsersAction) -> None:
    data = commands.add_parser(
        "data",
        help="fetch and inspect datasets",
        description="Get datasets into the data directory and see what is there.",
    )
    actions = data.add_subparsers(dest="action", metavar="ACTION", required=True)
    fetch = actions.add_parser(
        "fetch",
        help="prepare a dataset (local copy, else download)",
        description="Prepare DATASET in the data directory: from --from PATH, else a known local copy "
        "(../shared/datasets beside the checkout and /usr/share/datasets, or instead the folders listed in "
        "ALEXNET_SHARED_DATASETS), else torchvision's download. PATH may be the folder of Fashion-MNIST's four "
        "IDX .gz files, cifar-10-python.tar.gz or cifar-10-batches-py/, or an image-folder tree "
        "(train/<class>/*, test/<class>/* or val/<class>/*) or a .tar.gz of one. A failed import leaves nothing "
        "behind. Example: python -m alexnet_lib data fetch cifar10 --from ~/Downloads/cifar-10-python.tar.gz",
    )
    fetch.add_argument(
        "dataset", metavar="DATASET", help="fashion-mnist, cifar10, or a name for an image-folder dataset"
    )
    fetch.add_argument("--from", dest="source", type=Path, metavar="PATH", help="a local copy to import")
    fetch.add_argument("--data-dir", type=Path, metavar="DIR", help="default: ALEXNET_DATA_DIR, else data/")
    fetch.set_defaults(run=_data_fetch)
    info = actions.add_parser(
        "info",
        help="list prepared datasets and their sizes",
        description="List the datasets in the data directory with images per split.",
    )
    info.add_argument("--data-dir", type=Path, metavar="DIR", help="default: ALEXNET_DATA_DIR, else data/")
    info.set_defaults(run=_data_info)
    tiny = actions.add_parser(
        "arrange-tinyimagenet",
        help="sort TinyImageNet's val/images into class folders",
        description="Move val/images/* into val/<wnid>/ using val/val_annotations.txt.",
    )
    tiny.add_argument("root", type=Path, help="the tiny-imagenet-200 folder")
    tiny.set_defaults(run=lambda a: _report_moved(_folders().arrange_tinyimagenet_val(a.root)))
    imagenet = actions.add_parser(
        "sort-imagenet-val",
        help="sort an ImageNet validation folder into class folders",
        description="Move each image of VAL_DIR into VAL_DIR/<class>/ by LABELS: "
        "'file,class' lines (Kaggle's LOC_val_solution.csv), or one class per line in file-name order "
        "(the devkit's ILSVRC2012_validation_ground_truth.txt, whose class numbers need --synsets).",
    )
    imagenet.add_argument("val_dir", type=Path, metavar="VAL_DIR", help="the folder of validation images")
    imagenet.add_argument("labels", type=Path, metavar="LABELS", help="the ground-truth file")
    imagenet.add_argument(
        "--synsets",
        type=Path,
        metavar="FILE",
        help="for numbered classes: line k is the wnid of ILSVRC2012_ID k (the devkit's meta.mat order)",
    )
    imagenet.set_defaults(
        run=lambda a: _report_moved(_folders().sort_imagenet_val(a.val_dir, a.labels, synsets=a.synsets))
    )


def _folders():  # noqa: ANN202 - a module
    from . import folders

    return folders


def _report_moved(count: int) -> int:
    print(f"moved {count} images into class folders")
    return 0


def _data_fetch(args: argparse.Namespace) -> int:
    from .fetch import fetch

    fetch(args.dataset, args.source, args.data_dir)
    return 0


def _data_info(args: argparse.Namespace) -> int:
    from . import env
    from .datasets import KNOWN_DATASETS, VAL_SEED, VAL_SIZE, is_prepared, read_meta
    from .images import list_image_files

    root = Path(args.data_dir or env.data_dir())
    print(f"data directory: {root}")
    print(
        f"training holds out {VAL_SIZE:,} training images for validation (a tenth of an image folder's train/ "
        f"at most), chosen by seed {VAL_SEED} (config: val_size, val_seed); the test split is read once, at the end"
    )
    found = set()
    for folder in sorted(p for p in root.glob("*") if p.is_dir() and not p.name.startswith(".")):
        if is_prepared(folder):
            try:
                meta = read_meta(folder)
            except CourseError as error:  # one damaged dataset should not hide the others
                print(f"  {folder.name:<16} {error}")
                found.add(folder.name)
                continue
            counts = ", ".join(f"{split} {n:,}" for split, n in meta["counts"].items())
            train = meta["counts"].get("train", 0)
            if train > VAL_SIZE:
                counts = counts.replace(
                    f"train {train:,}", f"train {train:,} ({train - VAL_SIZE:,} + {VAL_SIZE:,} val)"
                )
            print(
                f"  {folder.name:<16} {counts} | {len(meta['classes'])} classes, "
                f"{meta['channels']}x{meta['size']}x{meta['size']} | from {meta['source']}"
            )
        elif (folder / "train").is_dir():
            counts = ", ".join(
                f"{split.name} {len(list_image_files(split)):,}" for split in sorted(folder.iterdir()) if split.is_dir()
            )
            print(f"  {folder.name:<16} {counts} | image folder")
        else:
            continue
        found.add(folder.name)
    for name in sorted(set(KNOWN_DATASETS) - found):
        print(f"  {name:<16} not prepared: python -m alexnet_lib data fetch {name}")
    return 0


def _add_course_parser(commands: argparse._SubParsersAction) -> None:
    course = commands.add_parser(
        "course",
        help="execute every notebook headless and summarise",
        description="Execute the notebooks in order (quick profile on a CPU, full on a GPU), "
        "write them and their figures under outputs/, and print each one's headline.",
    )
    course.add_argument("--profile", choices=("quick", "full"), help="default: full on a GPU, quick otherwise")
    course.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")

    def run(args: argparse.Namespace) -> int:
        from .lessons.course import run_course

        return run_course(args.notebooks, args.profile)

    course.set_defaults(run=run)


def _add_predict_parser(commands: argparse._SubParsersAction) -> None:
    predict = commands.add_parser(
        "predict",
        help="classify images with a trained checkpoint",
        description="Print the most probable classes of each image. Everything needed (variant, classes, input "
        "size, normalisation) comes from the checkpoint. A file that cannot be used gets one 'error: PATH: reason' "
        "line on stderr and the others are still predicted. Exit code: 0 all predicted, 1 some images failed, "
        "2 a usage or checkpoint problem.",
    )
    predict.add_argument(
        "--checkpoint", type=Path, required=True, metavar="PATH", help="e.g. outputs/runs/cifar10/last.pt"
    )
    source = predict.add_mutually_exclusive_group(required=True)
    source.add_argument("--image", nargs="+", type=Path, default=[], metavar="FILE", help="one or more image files")
    source.add_argument("--image-dir", type=Path, metavar="DIR", help="every image file in DIR and its subfolders")
    predict.add_argument("--topk", type=int, default=5, metavar="K", help="how many classes to print (default 5)")
    predict.add_argument("--all-probs", action="store_true", help="print every class's probability")
    predict.add_argument("--tta", action="store_true", help="average the paper's 10 crops (§4.1)")
    predict.add_argument("--json", action="store_true", help='one JSON object per image: {"path", "predictions"}')
    predict.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default auto)")
    predict.add_argument("--batch-size", type=int, default=64, metavar="N", help="images per batch (default 64)")

    predict.set_defaults(run=_predict)


def _predict(args: argparse.Namespace) -> int:
    """Print the top classes of each image; 0: all predicted, 1: some images could not be used.

    Each file that cannot be used is one ``error: PATH: reason`` line on stderr (and a
    ``{"path", "error"}`` object with ``--json``); usage and checkpoint problems raise ``CourseError``.
    """
    from .images import image_files
    from .inference import load_predictor

    if args.topk < 1 or args.batch_size < 1:
        raise CourseError("--topk and --batch-size must be at least 1")
    paths = image_files(args.image_dir) if args.image_dir is not None else list(args.image)
    if not paths:
        raise CourseError("give --image FILE... or --image-dir DIR")
    predictor = load_predictor(args.checkpoint, args.device)
    failed = 0
    try:
        for result in predictor.predict_files(paths, tta=args.tta, batch_size=args.batch_size):
            failed += result.error is not None
            _print_prediction(result, predictor.classes, None if args.all_probs else args.topk, args.json)
        if not args.json and len(paths) > 1:
            print(f"{len(paths) - failed} of {len(paths)} images predicted" + (f", {failed} failed" if failed else ""))
    except BrokenPipeError:  # `... | head`: the reader left; stop quietly, without Python's complaint at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 1 if failed else 0


def _print_prediction(result: FileResult, classes: list[str], k: int | None, as_json: bool) -> None:
    """One file's lines: its path and top classes, or its error (also on stderr)."""
    from .inference import ranked

    if result.error is not None:
        print(f"error: {result.path}: {result.error}", file=sys.stderr, flush=True)
        if as_json:
            print(json.dumps({"path": str(result.path), "error": result.error}), flush=True)
        return
    top = ranked(result.probs, classes, k)
    if as_json:
        predictions = [{"label": label, "prob": round(prob, 6)} for label, prob in top]
        print(json.dumps({"path": str(result.path), "predictions": predictions}), flush=True)
    else:
        print("\n".join([str(result.path), *(f"{prob:8.2%}  {label}" for label, prob in top)]), flush=True)


def _add_claims_parser(commands: argparse._SubParsersAction) -> None:
    claims = commands.add_parser(
        "claims",
        help="the paper's claims, and what replaced its parts, as experiments (notebooks 07 and 08)",
        description="Run the paper's claims (notebook 07), and its successors against its parts (notebook 08), "
        "as two-arm experiments on the same seeds; each writes results/claims/NAME-PROFILE-DEVICE.json and a "
        "Fig.-1-style plot beside it.",
    )
    actions = claims.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="the experiments, one a line").set_defaults(run=_claims_list)
    run = actions.add_parser("run", help="run one experiment and write its record")
    run.add_argument("name", help="an experiment from `claims list`")
    run.add_argument("--profile", choices=("quick", "full"), default="quick", help="its size (default: quick)")
    run.add_argument("--seeds", type=int, default=None, help="seeds per arm (default: the profile's)")
    run.add_argument("--out", type=Path, default=None, help="folder for the record and plot (default: results/claims)")
    run.set_defaults(run=_claims_run)


def _claims_list(args: argparse.Namespace) -> int:
    from .claims import describe_all

    print("\n".join(describe_all()))
    return 0


def _claims_run(args: argparse.Namespace) -> int:
    from .claims import experiment
    from .claims_run import run_claim

    experiment(args.name)  # an unknown name fails before anything loads
    record = run_claim(args.name, args.profile, args.seeds, out_dir=args.out)
    summary = record["summary"]
    print(f"{args.name}: {summary['verdict']} ({summary['why']}); record {record['path']}, plot {record['plot']}")
    return 0


PARSERS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_data_parser,
    _add_train_parser,
    _add_predict_parser,
    _add_claims_parser,
    _add_course_parser,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m alexnet_lib", description="The AlexNet course: datasets, training, prediction."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in PARSERS:
        add(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except CourseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1 if type(error).__name__ == "TrainingDiverged" else 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
