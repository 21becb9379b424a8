"""The graded test cells' one entry point: ``grade("01.1", my_lrn)``, run on a fresh copy of the course's code.

A solution cell can rebind any name the notebook holds and any attribute of a module it imports,
so a test cell must not trust either. It reloads this module (``importlib.reload``: its functions
as this file defines them), and ``grade`` imports the check into a fresh copy of ``alexnet_lib``
(every ``alexnet_lib`` module taken out of ``sys.modules`` while the check runs, put back after):
whatever a cell changed in the notebook's copy, the check, its oracles and the watch over the
learner's code (``checking.learner_result``) are the files' own. This module imports only the
standard library, for the same reason.

What is left to a determined cheat: code that edits ``sys.modules``, ``importlib`` or the
interpreter itself (docs/teaching.md says so); grade in a container of its own.

Inside nbgrader (``NBGRADER_EXECUTION`` is "autograde" or "validate") a failed check raises, so
the test cell fails and scores 0; so it does with ``ALEXNET_CHECKS=strict`` (make test runs the
teacher edition so). Anywhere else it prints its one line, so that Run All goes on to the end.
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
import types
import warnings
from collections.abc import Callable
from typing import Any

INSTALLED = tuple(sorted({sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}))  # the libraries
COURSE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # alexnet_lib/

# exercise id -> (module under alexnet_lib.lessons, check function)
CHECKS = {
    "01.1": ("architecture", "check_lrn"),
    "01.2": ("architecture", "check_my_alexnet"),
    "01.3": ("architecture", "check_lrn_backward"),
    "02.1": ("data", "check_crop_and_mirror"),
    "02.2": ("data", "check_colour_shift"),
    "03.1": ("train_fashion_mnist", "check_train_step"),
    "03.2": ("train_fashion_mnist", "check_evaluation"),
    "03.3": ("train_fashion_mnist", "check_sanity"),
    "03.4": ("train_fashion_mnist", "check_fit"),
    "04.1": ("train_cifar10", "check_ten_crop"),
    "05.1": ("filters_and_features_checks", "check_capture"),
    "05.2": ("filters_and_features_checks", "check_grad_cam"),
    "05.3": ("filters_and_features_checks", "check_nearest"),
    "06.1": ("inference_checks", "check_top_k"),
    "06.2": ("inference_checks", "check_flatten_on_white"),
    "06.3": ("inference_checks", "check_five_corners"),
    "06.4": ("inference_checks", "check_confident_accuracy"),
    "07.1": ("claims", "check_seeds_needed"),
    "07.2": ("claims", "check_verdict"),
    "07.3": ("claims", "check_ablation"),
    "08.1": ("after_alexnet_checks", "check_conv_bn"),
    "08.2": ("after_alexnet_checks", "check_gap_savings"),
}


# What each exercise's check said last in this kernel, for the cells after it (``passed``); kept
# across the reload each test cell does.
RESULTS: dict[str, bool] = globals().get("RESULTS", {})


class Refused(AssertionError):
    """A check the notebook's own changes kept from running; Jupyter shows its one line, not a traceback."""

    def _render_traceback_(self) -> list[str]:
        return [str(self)]


def passed(exercise: str) -> bool:
    """Whether exercise ``exercise``'s check passed when its test cell last ran (False before it ran)."""
    return RESULTS.get(exercise, False)


def failures_raise() -> bool:
    """Whether a failed check raises: under nbgrader (autograde, or the Validate button), and wherever
    ``ALEXNET_CHECKS=strict`` (make test's runs of the teacher edition, whose every check must pass)."""
    return os.environ.get("NBGRADER_EXECUTION", "") in ("autograde", "validate") or (
        os.environ.get("ALEXNET_CHECKS", "") == "strict"
    )


def _from_a_notebook(value: Any) -> bool:
    """Whether ``value`` is a function (or partial, or object of a class) that a notebook's cell defined."""
    while isinstance(value, (functools.partial, staticmethod, classmethod, types.MethodType)):
        value = getattr(value, "func", None) or value.__func__
    code = getattr(value, "__code__", None) if isinstance(value, types.FunctionType) else None
    if code is None:
        return type(value).__module__ == "__main__"
    file = code.co_filename  # a notebook cell's: ipykernel's temporary file, or "<ipython-input-...>"
    generated = file.startswith("<") and not file.startswith("<ipython-input")  # namedtuple's, frozen modules'
    return not (file.startswith(INSTALLED) or file.startswith(COURSE_DIR) or generated)


def replaced_library_functions() -> list[str]:
    """Library functions and methods (torch.allclose, Tensor.__eq__...) that a notebook's cell replaced."""
    found = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # reading some attributes warns that they are deprecated
        for name, module in list(sys.modules.items()):
            if (
                not (getattr(module, "__file__", None) or "").startswith(INSTALLED)
                and name not in sys.builtin_module_names
            ):
                continue
            for attribute, value in list(vars(module).items()):
                if _from_a_notebook(value):
                    found.append(f"{name}.{attribute}")
                elif isinstance(value, type) and value.__module__ == name:
                    found += [
                        f"{name}.{value.__qualname__}.{member}"
                        for member, inner in list(vars(value).items())
                        if _from_a_notebook(inner)
                    ]
    return found


def _course_modules() -> dict[str, Any]:
    return {name: module for name, module in sys.modules.items() if name.split(".")[0] == "alexnet_lib"}


def grade(exercise: str, learner: Callable[..., Any], **options: Any) -> None:
    """Run exercise ``exercise``'s check on ``learner`` in a fresh copy of the course's code.

    It prints "Correct! ..." when it passes. When it does not: under nbgrader the check's ``NotYet``
    (an AssertionError) propagates; elsewhere its one line is printed. ``passed`` says which it was.
    """
    if exercise not in CHECKS:
        raise ValueError(f"no exercise {exercise!r}; the graded ones: {', '.join(CHECKS)}")
    module_name, check_name = CHECKS[exercise]
    replaced = replaced_library_functions()
    if replaced:
        _failed(
            exercise,
            Refused(
                f"Not yet: a cell replaced {', '.join(replaced[:3])}, which the check relies on: restart the kernel "
                "and run the notebook without that replacement"
            ),
        )
        return
    notebook_copy = _course_modules()
    for name in notebook_copy:
        if name != __name__:
            del sys.modules[name]
    try:
        check = getattr(importlib.import_module(f"alexnet_lib.lessons.{module_name}"), check_name)
        RESULTS[exercise] = False
        try:
            RESULTS[exercise] = bool(check(learner, **options))
        except AssertionError as failure:  # the fresh copy's NotYet
            _failed(exercise, failure)
    finally:
        for name in _course_modules():
            if name != __name__:
                del sys.modules[name]
        sys.modules.update(notebook_copy)


def _failed(exercise: str, failure: AssertionError) -> None:
    """Under nbgrader, raise ``failure`` (the test cell fails); elsewhere print its one line."""
    RESULTS[exercise] = False
    if failures_raise():
        raise failure
    print(failure)
