"""What every exercise check shares: "Correct!", or ``NotYet`` raised with one line, and stepped hints.

A check that passes prints "Correct! ..." and returns True. One that does not RAISES ``NotYet``
(an ``AssertionError``) whose message is one line: "Not done yet: ..." while the exercise is
untouched, else "Not yet: <diagnosis> (hint('01.2') for a hint)". Raising is what gives an
nbgrader test cell 0 points; ``NotYet._render_traceback_`` makes Jupyter show that one line
instead of a traceback (IPython's ``InteractiveShell.showtraceback`` calls it when present).

A check runs the learner's function through ``learner_result``: nbgrader's stub
(``raise NotImplementedError()``), ``...`` or a missing return is "not done yet", any other
exception a "not yet" naming it. Hints are data: each lesson module registers
``{"01.2": (nudge, where to reread, shape of the answer)}`` and ``hint("01.2")`` prints the next
step. The checks are tested in ``tests/test_checks_*.py``, this module in ``tests/test_checking.py``.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import re
import sys
import threading
import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from torch import nn

from .grading import CHECKS

HINT_STEPS = 3  # a nudge; the section of the paper or the lesson to reread; the shape of the answer
HINT_ID = re.compile(r"\d\d\.\d+")  # notebook number . exercise number, e.g. "01.2"

_hints: dict[str, tuple[str, ...]] = {}
_hints_given: dict[str, int] = {}


class NotYet(AssertionError):
    """A check that did not pass; Jupyter shows its one-line message, never a traceback."""

    def _render_traceback_(self) -> list[str]:
        return [str(self)]


def hint_suffix(hint: str | None) -> str:
    """The end of a failure message: " (hint('01.2') for a hint)", or "" without a hint id."""
    return f" (hint({hint!r}) for a hint)" if hint else ""


def correct(message: str) -> bool:
    """Print "Correct! <message>"; return True."""
    print(f"Correct! {message}")
    return True


def not_yet(diagnosis: str, hint: str | None = None) -> NoReturn:
    """Raise ``NotYet("Not yet: <diagnosis> (hint(...) for a hint)")``."""
    raise NotYet(f"Not yet: {diagnosis}{hint_suffix(hint)}")


def not_done(what: str, hint: str | None = None) -> NoReturn:
    """Raise ``NotYet("Not done yet: <what>")``: the exercise is still untouched."""
    raise NotYet(f"Not done yet: {what}{hint_suffix(hint)}")


def report(ok: bool, success: str, diagnosis: str, hint: str | None = None) -> bool:
    """``correct(success)`` when ``ok``, else ``not_yet(diagnosis, hint)``."""
    if not ok:
        not_yet(diagnosis, hint)
    return correct(success)


def is_stub(answer: Any) -> bool:
    """Whether ``answer`` is still a placeholder (``...``) or a function's missing return."""
    return answer is ... or answer is None


def learner_result(name: str, function: Callable[..., Any], *args: Any, todo: str, hint: str | None = None) -> Any:
    """``function(*args)``: the learner's code run on the check's own input, watched (``_Watch``).

    Raises ``NotYet``: "Not done yet: <todo>" while it is nbgrader's stub (NotImplementedError)
    or returns ``...``/None; "Not yet: <name> raised <error>" when it raises anything else;
    "Not yet: <name> calls <what>..." when it reached code the exercise's ``Rules`` refuse.
    """
    watch = _Watch(_rules, args)
    try:
        result = watch.run(function, args)
    except NotYet:
        raise
    except NotImplementedError:
        watch.refuse_if_found(name, hint)
        not_done(todo, hint)
    except Exception as error:  # a learner's code may raise anything; name it in one line
        watch.refuse_if_found(name, hint)
        not_yet(f"{name} raised {type(error).__name__}: {error}", hint)
    watch.refuse_if_found(name, hint)
    if is_stub(result):
        not_done(todo, hint)
    made_here = _course_type_in(result, watch.allowed)
    if made_here:
        not_yet(f"{name} returns the course's own {made_here}: {_rules.why}", hint)
    return result


def register_hints(hints: Mapping[str, Sequence[str]]) -> None:
    """Make ``hint(id)`` know these exercises' hints: ``{"01.2": (nudge, where to reread, answer's shape)}``."""
    for exercise_id, steps in hints.items():
        if not HINT_ID.fullmatch(exercise_id):
            raise ValueError(f"hint id {exercise_id!r} is not 'NN.k' (notebook number . exercise number)")
        if len(steps) != HINT_STEPS or not all(isinstance(step, str) and step.strip() for step in steps):
            raise ValueError(f"hint {exercise_id!r} needs {HINT_STEPS} non-empty steps, got {len(steps)}")
        if _hints.get(exercise_id, tuple(steps)) != tuple(steps):
            raise ValueError(f"hint {exercise_id!r} is registered twice with different steps")
        _hints[exercise_id] = tuple(steps)


def hint(exercise_id: str) -> None:
    """Print the next hint step for ``exercise_id`` (1, 2, 3, then 3 again)."""
    if exercise_id not in _hints and exercise_id in CHECKS:  # its lesson's checks register its hints on import
        importlib.import_module(f"{__package__}.{CHECKS[exercise_id][0]}")
    if exercise_id not in _hints:
        known = ", ".join(sorted(_hints)) or "none (run the notebook's first cell)"
        print(f"No hint called {exercise_id!r}; hints exist for: {known}.")
        return
    step = min(_hints_given.get(exercise_id, 0) + 1, HINT_STEPS)
    _hints_given[exercise_id] = step
    print(f"Hint {step}/{HINT_STEPS} for {exercise_id}: {_hints[exercise_id][step - 1]}")


# Watching what a learner's code calls -----------------------------------------------------------
#
# Why not a library: no well-kept package records which functions a piece of code reaches and
# refuses some of them (coverage and the profilers record, they do not judge), and rebinding
# names (the first way this course tried) misses every other reference to the same function.

COURSE_DIR = str(Path(__file__).resolve().parents[1])  # alexnet_lib/: every course module lives here
SWITCHES = (sys.setprofile, threading.setprofile)  # switching the watch off is itself refused
INSTALLED = tuple(sorted({sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}))  # libraries live here


@dataclass(frozen=True)
class Rules:
    """What an exercise's code may call while its check runs it.

    Always refused: the course's own code (everything under ``alexnet_lib/``: lessons, oracles,
    private helpers), except ``allow`` (functions or classes the exercise hands over, e.g. a
    ``t_quantile`` to use) and the objects the check passes in (their classes and submodules).
    ``refuse``: the library functions or classes that do the whole job (``F.local_response_norm``),
    or a module's name ("torchvision.transforms") for all of it. ``why`` ends the diagnosis.
    """

    refuse: tuple[Any, ...] = ()
    allow: tuple[Any, ...] = ()
    why: str = "write it yourself"


_rules = Rules()


@contextmanager
def exercise_rules(*, refuse: Sequence[Any] = (), allow: Sequence[Any] = (), why: str) -> Iterator[None]:
    """Within the block, ``learner_result`` watches the learner's code under these ``Rules``."""
    global _rules
    saved, _rules = _rules, Rules(tuple(refuse), tuple(allow), why)
    try:
        yield
    finally:
        _rules = saved


Key = tuple[str, str]  # (file, qualified name prefix): "" for a whole file or folder


def _keys(thing: Any) -> list[Key]:
    """Where ``thing``'s code lives: a function's (file, qualname), a class's, or a module's file or folder."""
    if isinstance(thing, str):
        spec = importlib.util.find_spec(thing)
        if spec is None or spec.origin is None:
            return []
        path = Path(spec.origin)
        return [(str(path.parent) if path.name == "__init__.py" else str(path), "")]
    if isinstance(thing, type):
        file = getattr(sys.modules.get(thing.__module__), "__file__", None)
        return [(file, thing.__qualname__)] if file else []
    code = getattr(inspect.unwrap(thing), "__code__", None)
    return [(code.co_filename, code.co_qualname)] if code is not None else []


def _matches(code: types.CodeType, keys: Sequence[Key]) -> bool:
    """Whether ``code`` is one of ``keys``: its file (or one under its folder) and, when given, its name or a member."""
    file, name = code.co_filename, code.co_qualname
    return any(
        (file == where and (not qualname or name == qualname or name.startswith(qualname + ".")))
        or (not qualname and file.startswith(where + os.sep))
        for where, qualname in keys
    )


HOOKS = ("_forward_pre_hooks", "_forward_hooks", "_backward_pre_hooks", "_backward_hooks")


def _handed_over(args: Sequence[Any]) -> list[Any]:
    """What the check passes in, which the learner may use: its classes, and a module's submodules and hooks."""
    found: list[Any] = []
    for arg in args:
        parts = list(arg.modules()) if isinstance(arg, nn.Module) else [arg]
        found += [type(part) for part in parts]
        found += [hook for part in parts for kind in HOOKS for hook in (getattr(part, kind, None) or {}).values()]
        if callable(arg) and not isinstance(arg, type):
            found.append(arg)
    return found


def _allowed_keys(allow: Sequence[Any], args: Sequence[Any]) -> list[Key]:
    return [key for thing in (*allow, *_handed_over(args)) for key in _keys(thing)]


def _is_course(code: types.CodeType) -> bool:
    return code.co_filename.startswith(COURSE_DIR + os.sep)


def _is_learners(code: types.CodeType) -> bool:
    """Code neither the course's nor an installed library's (the standard library included): a notebook's."""
    return not _is_course(code) and not code.co_filename.startswith(INSTALLED)


def _course_type_in(result: Any, allowed: Sequence[Key]) -> str | None:
    """A course class in ``result`` (the value itself, or any submodule of a module) that is not allowed."""
    parts = list(result.modules()) if isinstance(result, nn.Module) else [result]
    for kind in (type(part) for part in parts):
        module = getattr(kind, "__module__", "") or ""
        if module.split(".")[0] == "alexnet_lib" and not set(_keys(kind)) & set(allowed):
            return f"{kind.__name__} ({module}.{kind.__qualname__}), built by the course"
    return None


class _Watch:
    """A profile function (``sys.setprofile``): notes the first refused call; never raises inside the learner's code."""

    def __init__(self, rules: Rules, args: Sequence[Any]) -> None:
        self.refused = [key for thing in (*rules.refuse, *SWITCHES) for key in _keys(thing)]
        self.refused_builtins = {id(thing) for thing in (*rules.refuse, *SWITCHES) if inspect.isbuiltin(thing)}
        self.allowed = _allowed_keys(rules.allow, args)
        self.inside: Any = None  # the frame of allowed course code being run: what it calls is its own business
        self.found: str | None = None
        self.why = rules.why
        self.watching = False

    def __call__(self, frame: types.FrameType, event: str, arg: Any) -> None:
        if not self.watching:
            return
        if self.inside is not None:
            if event == "return" and frame is self.inside:
                self.inside = None
            return
        if event == "call":
            code = frame.f_code
            # refused before allowed: Tensor.backward stays refused though a tensor (its class) is handed over
            refused = _matches(code, self.refused)
            if _matches(code, self.allowed) and not refused:
                self.inside = frame
            elif self.found is None and (_is_course(code) or refused):
                where = frame.f_globals.get("__name__", code.co_filename)
                owner = "the course's own code" if _is_course(code) else "a library function that does the whole job"
                self.found = f"calls {where}.{code.co_qualname}, {owner}"
        elif event == "c_call" and self.found is None:
            name = f"{getattr(arg, '__module__', None) or 'builtins'}.{getattr(arg, '__name__', arg)}"
            if id(arg) in self.refused_builtins:
                what = "which switches the check's watch off" if arg in SWITCHES else "which does the whole job"
                self.found = f"calls {name}, {what}"
            elif arg is sys._getframe and _is_learners(frame.f_code):
                self.found = f"calls {name}, which reaches into the check's own variables"

    def run(self, function: Callable[..., Any], args: Sequence[Any]) -> Any:
        """``function(*args)`` with this watch as the profile function (the one before restored after)."""
        before, before_threads = sys.getprofile(), threading.getprofile()
        sys.setprofile(self)
        threading.setprofile(self)  # threads the learner's code starts are watched too
        self.watching = True
        try:
            return function(*args)
        finally:
            self.watching = False  # before the call below, which the watch would otherwise see
            switched_off = sys.getprofile() is not self
            sys.setprofile(before)
            threading.setprofile(before_threads)
            if switched_off and self.found is None:
                self.found = "switches the check's watch off (sys.setprofile)"

    def refuse_if_found(self, name: str, hint: str | None) -> None:
        """``not_yet`` naming the first refused call, if there was one."""
        if self.found is not None:
            not_yet(f"{name} {self.found}: {self.why}", hint)
