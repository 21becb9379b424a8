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

import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn

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
    """``function(*args)``: the learner's code run on the check's own input.

    Raises ``NotYet``: "Not done yet: <todo>" while it is nbgrader's stub (NotImplementedError)
    or returns ``...``/None; "Not yet: <name> raised <error>" when it raises anything else.
    A ``NotYet`` raised inside (by ``refusing``) passes through unchanged.
    """
    try:
        result = function(*args)
    except NotYet:
        raise
    except NotImplementedError:
        not_done(todo, hint)
    except Exception as error:  # a learner's code may raise anything; name it in one line
        not_yet(f"{name} raised {type(error).__name__}: {error}", hint)
    if is_stub(result):
        not_done(todo, hint)
    return result


@contextmanager
def refusing(learner: Callable[..., Any], *answers: Any, why: str) -> Iterator[None]:
    """While the block runs, the library ``answers`` raise NotYet when the ``learner``'s code calls them.

    Rebinds every name in the learner's module globals (a notebook's namespace) that is one of
    ``answers``, and the name in each answer's defining module, to a function that refuses;
    restores them after. Re-exports elsewhere (``nn.LocalResponseNorm``) are not covered: keep
    those out of the notebook. ``why`` ends the message, e.g. "write the formula yourself".
    """
    namespace = getattr(learner, "__globals__", {})
    saved: list[tuple[Any, str, Any]] = []  # (namespace dict or module, name, original)
    for answer in answers:
        label = getattr(answer, "__name__", repr(answer))

        def refuse(*args: Any, _label: str = label, **kwargs: Any) -> NoReturn:
            not_yet(f"this calls the library's {_label}, which computes the answer: {why}.")

        for name, value in list(namespace.items()):
            if value is answer:
                saved.append((namespace, name, value))
                namespace[name] = refuse
        module = sys.modules.get(getattr(answer, "__module__", ""))
        if module is not None and getattr(module, label, None) is answer:
            saved.append((module, label, answer))
            setattr(module, label, refuse)
    try:
        yield
    finally:
        for owner, name, original in reversed(saved):
            if isinstance(owner, dict):
                owner[name] = original
            else:
                setattr(owner, name, original)


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
    if exercise_id not in _hints:
        known = ", ".join(sorted(_hints)) or "none (run the notebook's first cell)"
        print(f"No hint called {exercise_id!r}; hints exist for: {known}.")
        return
    step = min(_hints_given.get(exercise_id, 0) + 1, HINT_STEPS)
    _hints_given[exercise_id] = step
    print(f"Hint {step}/{HINT_STEPS} for {exercise_id}: {_hints[exercise_id][step - 1]}")
