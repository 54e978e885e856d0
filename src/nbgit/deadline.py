"""A time limit for Python code that a stranger's repository can make run for minutes: a policy's
regular expression that backtracks, nbdime's diff and merge, which compare every cell with every other.

A signal interrupts the code inside at its next bytecode; only the main thread gets signals (nbgit runs
such code there: worker processes, never threads), and where there is no `setitimer` there is no limit.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


class OutOfTime(Exception):
    """What ran inside `time_limit` took longer than it was given."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise OutOfTime inside the block once `seconds` have passed (a limit around it still holds after)."""
    import signal  # only here: the filter, which matches globs for every file, never needs these
    import threading
    import time

    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return
    started = time.monotonic()
    previous = signal.signal(signal.SIGALRM, _out_of_time)
    outer, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer:
            signal.setitimer(signal.ITIMER_REAL, max(outer - (time.monotonic() - started), 0.001))


def _out_of_time(signum: int, frame: object) -> None:
    raise OutOfTime
