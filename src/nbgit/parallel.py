"""Independent work spread over every core, in worker processes, when there is enough of it.

On Linux this process forks the workers and works beside them: each process takes the next share
of the work from one pipe of share numbers until none is left, and the workers send their results
back through a pipe each. That costs no import of multiprocessing and concurrent.futures (about 30
ms, more than a check of a hundred notebooks takes on two cores) and keeps every core busy with
the work rather than with a pool's bookkeeping. Elsewhere (no fork, or fork unsafe: macOS) a pool
of spawned processes does it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from nbgit.interrupts import STOPPING, held

Item = TypeVar("Item")
Result = TypeVar("Result")

SHARES_PER_PROCESS = 8  # the work is cut finer than one share per process: a slow share holds up no other


def map_on_all_cores(work: Callable[[Item], Result], items: Sequence[Item], per_worker: int) -> list[Result]:
    """`[work(item) for item in items]`, in order, on up to one process per core.

    A process is added for every `per_worker` items beyond the first batch, since starting one costs
    more than judging a few items. The first item runs here first: on Linux the workers are forked
    and inherit what it imported and compiled (jupytext, the schema validator). Elsewhere `work` and
    the items must be picklable. An error that `work` raises in a worker is raised here.
    """
    processes = min(os.cpu_count() or 1, 1 + len(items) // per_worker)
    if processes < 2:
        return [work(item) for item in items]
    first = work(items[0])
    share = max(1, (len(items) - 1) // (processes * SHARES_PER_PROCESS))
    shared = _forked if sys.platform == "linux" else _pooled
    return [first, *shared(work, items[1:], processes, share)]


def _forked(work: Callable[[Item], Result], items: Sequence[Item], processes: int, share: int) -> list[Result]:
    """The work done here and in `processes - 1` forked workers, `share` items at a time."""
    starts = range(0, len(items), share)
    taking, handing = os.pipe()
    os.write(handing, b"".join(number.to_bytes(4, "little") for number in range(len(starts))))  # a few KB at most: never blocks
    os.close(handing)  # so that a process finding the pipe empty reads its end
    done: dict[int, list[Result]] = {}
    failed: dict[int, Exception] = {}  # by share number: the first one's error is raised, as if the work ran in order
    workers: dict[int, int] = {}  # pid -> the pipe its results come through
    received: dict[int, bytearray] = {}
    for stream in (sys.stdout, sys.stderr):  # nothing written before the fork is written twice
        with contextlib.suppress(AttributeError, ValueError, OSError):
            stream.flush()
    try:
        for _ in range(processes - 1):
            reading, writing = os.pipe()
            with held(STOPPING):  # ^C and terminating signals wait until the worker is forked
                pid = os.fork()
                if pid == 0:
                    for other in (reading, *workers.values()):
                        os.close(other)
                    _leave_signals_to_the_main_process()
                    _work_in_a_worker(work, items, starts, share, taking, writing)  # never returns
            os.close(writing)
            workers[pid], received[reading] = reading, bytearray()
        for number in _share_numbers(taking):
            try:
                done[number] = [work(item) for item in items[starts[number] : starts[number] + share]]
            except Exception as error:  # noqa: BLE001 - raised once every earlier share is done (the workers take them in order)
                failed[number] = error
                break
            _receive(received, wait=False)  # (a worker whose pipe is full would wait for this process)
        _receive(received, wait=True)
    except BaseException:
        for pid in workers:
            os.kill(pid, signal.SIGKILL)  # not yet waited for: the pid is still this worker's
        raise
    finally:
        os.close(taking)
        for pid, reading in workers.items():
            os.waitpid(pid, 0)
            os.close(reading)
    _unpack(received, done, failed)
    if failed:
        raise failed[min(failed)]
    if len(done) < len(starts):
        raise RuntimeError("a worker process ended before its work was done (killed, or out of memory?)")
    return [result for number in range(len(starts)) for result in done[number]]


def _work_in_a_worker(work: Callable[[Item], Any], items: Sequence[Item], starts: range, share: int, taking: int, writing: int) -> None:
    """A forked worker's whole life: shares taken until none is left, each one's results (or the error
    that stopped it) sent back pickled, then the process ends without running this one's exit code."""
    import pickle

    status = 0
    try:
        with os.fdopen(writing, "wb") as results:
            for number in _share_numbers(taking):
                try:
                    message: tuple[int, Any, Exception | None] = (number, [work(item) for item in items[starts[number] : starts[number] + share]], None)
                except Exception as error:  # noqa: BLE001 - raised in the main process
                    message = (number, None, error)
                try:
                    results.write(pickle.dumps(message))
                except Exception as error:  # noqa: BLE001 - results or an error that cannot be pickled
                    results.write(pickle.dumps((number, None, RuntimeError(f"a worker's result cannot be sent: {error}"))))
                if message[2] is not None:
                    break
    except BaseException:  # noqa: BLE001 - the main process sees the work missing
        status = 1
    finally:
        os._exit(status)


def _share_numbers(taking: int) -> Iterator[int]:
    """Share numbers read from the pipe every process takes from, until it is empty. Each read asks
    for the 4 bytes of one number while the pipe holds whole numbers only: it gets one (Linux)."""
    while len(taken := os.read(taking, 4)) == 4:
        yield int.from_bytes(taken, "little")


def _receive(received: dict[int, bytearray], wait: bool) -> None:
    """Add what the workers sent to `received` (per pipe): what is there, or (`wait`) all until they end."""
    import select

    pipes = list(received)
    while pipes:
        ready, _, _ = select.select(pipes, [], [], None if wait else 0)
        if not ready:
            return
        for pipe in ready:
            data = os.read(pipe, 1 << 16)
            if data:
                received[pipe] += data
            else:
                pipes.remove(pipe)


def _unpack(received: dict[int, bytearray], done: dict[int, list[Any]], failed: dict[int, Exception]) -> None:
    """The workers' results put into `done`, and their errors into `failed`, by share number."""
    import io
    import pickle

    for data in received.values():
        stream = io.BytesIO(data)
        while stream.tell() < len(data):
            number, results, error = pickle.load(stream)
            if error is None:
                done[number] = results
            else:
                failed[number] = error


def _pooled(work: Callable[[Item], Result], items: Sequence[Item], processes: int, share: int) -> list[Result]:
    """The work done by a pool of `processes` spawned workers, `share` items at a time."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context(), initializer=_leave_signals_to_the_main_process)
    try:
        with held(STOPPING):  # the workers start (at the first submit) with ^C and SIGTERM held
            return list(pool.map(work, items, chunksize=share))
    finally:
        pool.shutdown(cancel_futures=True)  # stopped (^C, SIGTERM): only the chunks under way are finished


def _leave_signals_to_the_main_process() -> None:
    """In a worker: ^C and terminating signals sent to the whole group are the main process's to handle.

    It stops the workers (forked: killed; pooled: they end with the chunk under way). A worker unwound
    by the signal (nbgit's handler, inherited through fork) could leave the main process waiting on
    it for ever, and one that died would make a pool print a traceback.
    """
    for number in STOPPING:
        signal.signal(number, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPPING)
