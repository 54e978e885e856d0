"""Independent work spread over every core, in worker processes, when there is enough of it."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
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

    from nbgit.cli import leave_signals_to_the_main_process

    first = work(items[0])
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else None)
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=leave_signals_to_the_main_process)
    try:
        return [first, *pool.map(work, items[1:], chunksize=max(1, len(items) // (workers * 8)))]
    finally:
        pool.shutdown(cancel_futures=True)  # stopped (^C, SIGTERM): only the chunks under way are finished
