"""Independent work spread over every core, in worker processes, when there is enough of it."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def map_on_all_cores(work: Callable[[Item], Result], items: Sequence[Item], per_worker: int) -> list[Result]:
    """`[work(item) for item in items]`, in order, on up to one worker per core.

    A worker is added for every `per_worker` items beyond the first batch, since starting one costs
    more than judging a few items. The first item runs here first: on Linux the workers are forked
    and inherit what it imported and compiled (jupytext, the schema validator). `work` and the items
    must be picklable where processes are spawned instead.
    """
    workers = min(os.cpu_count() or 1, 1 + len(items) // per_worker)
    if workers < 2:
        return [work(item) for item in items]
    # imported here: about 10 ms of start-up that runs with few items never need
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    first = work(items[0])
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else None)
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_leave_signals_to_the_main_process)
    try:
        with _signals_held():  # the workers start (at the first submit) with ^C and SIGTERM held
            results = pool.map(work, items[1:], chunksize=max(1, len(items) // (workers * 8)))
        return [first, *results]
    finally:
        pool.shutdown(cancel_futures=True)  # stopped (^C, SIGTERM): only the chunks under way are finished


def _stop_signals() -> set[int]:
    from nbgit.cli import TERMINATING_SIGNALS

    return {signal.SIGINT, *TERMINATING_SIGNALS}


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold ^C and terminating signals while workers are forked; one that came meanwhile reaches this process after."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _stop_signals())
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _leave_signals_to_the_main_process() -> None:
    """In a worker: ^C and terminating signals sent to the whole group are the main process's to handle.

    It stops handing out work and the workers end with the chunk under way. A worker unwound by the
    signal (nbgit's handler, inherited through fork) could leave the main process waiting on it for
    ever, and one that died would make the pool print a traceback.
    """
    for number in _stop_signals():
        signal.signal(number, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _stop_signals())
