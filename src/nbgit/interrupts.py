"""The signals that stop a command, and holding them off where Python cannot safely be interrupted.

Python runs a signal's handler between any two steps of Python code, also in the middle of a C
extension's own start-up (the Python modules it imports, the Python it calls). The handlers that stop
nbgit raise there: ^C's KeyboardInterrupt, `nbgit.cli`'s SIGTERM and SIGHUP, a deadline's SIGALRM. An
extension that takes such an exception for a failure of its own and carries on half set up loses the
signal and can crash the process later: msgspec, interrupted while it is imported, ends in a
segmentation fault at its first typed decoder. Such code runs with these signals held; one that came
meanwhile is handled as soon as it is done.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Collection, Iterator

TERMINATING_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))
STOPPING = frozenset({signal.SIGINT, *TERMINATING_SIGNALS})
_DEADLINE = frozenset({signal.SIGALRM} if hasattr(signal, "SIGALRM") else ())


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
