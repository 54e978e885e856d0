"""The signals that stop a command, and keeping them out of code that cannot safely be interrupted.

Python runs a signal's handler between any two steps of Python code, also in the middle of an import:
a C extension's own start-up (the Python modules it imports, the Python it calls), a class body whose
`__set_name__` turns any exception into a RuntimeError, importlib's own callbacks, which drop one. The
handlers that stop nbgit raise there (^C's KeyboardInterrupt, `nbgit.cli`'s SIGTERM and SIGHUP, a
deadline's SIGALRM), and the signal is lost, reported as an internal error, or worse: msgspec, stopped
while it is imported, takes the exception for a failed import of its own, carries on half set up and
crashes the process (a segmentation fault) at its first typed decoder. So:
- `held()` holds these signals off while a block runs (msgspec's loading); one that comes meanwhile
  is handled as soon as the block is done;
- `after_import()` lets a handler that finds an import under way have its signal raised again once
  that import is done, whichever way it ends.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Collection, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types import FrameType

TERMINATING_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))
STOPPING = frozenset({signal.SIGINT, *TERMINATING_SIGNALS})
_DEADLINE = frozenset({signal.SIGALRM} if hasattr(signal, "SIGALRM") else ())
_raised_again: set[int] = set()  # signals put off until an import was done, now raised again


@contextlib.contextmanager
def held(signals: Collection[int] = STOPPING | _DEADLINE) -> Iterator[None]:
    """`signals` held off in this thread while the block runs: one that comes meanwhile is delivered
    (its handler runs) once the block is done, whichever way it ends."""
    if not hasattr(signal, "pthread_sigmask"):  # (Windows: nothing to hold them with)
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def after_import(number: int, frame: FrameType | None) -> bool:
    """Whether `frame` (where a handler of signal `number` was called) is inside an import; if so,
    `number` is raised again as soon as the outermost import under way returns or fails."""
    if number in _raised_again:  # (its handler is called from the import's last step: it goes ahead)
        _raised_again.discard(number)
        return False
    outermost = None
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            outermost = frame
        frame = frame.f_back
    if outermost is None:
        return False
    previous = sys.getprofile()

    def watch(watched: FrameType, event: str, arg: object) -> None:
        if watched is outermost and event == "return":
            sys.setprofile(previous)
            _raised_again.add(number)
            signal.raise_signal(number)

    sys.setprofile(watch)
    return True
