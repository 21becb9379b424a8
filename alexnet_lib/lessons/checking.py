"""What every exercise check shares: right, a hint, or "not done yet".

Every check prints one line and returns True or False. It never raises: an untouched stub
(``...`` or a function that returns None) gets a gentle "not done yet", so a notebook with
open exercises still runs top to bottom in CI. A check that runs the learner's code is an
``@exercise``: ``learner_result`` calls that code and, when it raises or is still a stub, ends
the check with its verdict. The answers are tested in ``tests/test_checks_*.py``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any


def is_stub(answer: Any) -> bool:
    """Whether ``answer`` is still the exercise's placeholder (``...``) or a function's missing return."""
    return answer is ... or answer is None


def report(ok: bool, success: str, hint: str) -> bool:
    """Print "Correct! ..." or "Not yet: <hint>"; return ``ok``."""
    print(("Correct! " + success) if ok else ("Not yet: " + hint))
    return ok


def not_done(what: str) -> bool:
    """Print "Not done yet: <what>"; return False."""
    print(f"Not done yet: {what}")
    return False


def check_number(answer: Any, expected: int, what: str, hint: str) -> bool:
    """A whole-number answer: not done, not a number, right or wrong with a hint."""
    if is_stub(answer):
        return not_done(f"replace ... with {what}.")
    if isinstance(answer, bool) or not isinstance(answer, (int, float)):
        return report(False, "", f"{what} should be a number, got {answer!r}.")
    return report(answer == expected, f"{what} = {expected:,}.", hint)


class Verdict(Exception):
    """Ends an ``@exercise`` check early with its result, already printed."""

    def __init__(self, ok: bool) -> None:
        super().__init__()
        self.ok = ok


def exercise(check: Callable[..., bool]) -> Callable[..., bool]:
    """A check that may end early through ``Verdict`` (raised by ``learner_result``)."""

    @functools.wraps(check)
    def run(*args: Any, **kwargs: Any) -> bool:
        try:
            return check(*args, **kwargs)
        except Verdict as verdict:
            return verdict.ok

    return run


def learner_result(name: str, function: Callable[..., Any], *args: Any, todo: str) -> Any:
    """``function(*args)``: the learner's code run on the check's input; ``todo`` is said while it is a stub.

    Ends the ``@exercise`` check with a hint when the code raises, and with "not done yet"
    when it returns nothing.
    """
    try:
        result = function(*args)
    except Exception as error:  # a learner's code may raise anything; show it as a hint
        raise Verdict(report(False, "", f"{name} raised {type(error).__name__}: {error}")) from None
    if is_stub(result):
        raise Verdict(not_done(todo))
    return result
