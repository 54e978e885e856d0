"""The one helper that spreads work over the cores: order kept, processes really used, start-up spared."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from nbgit.errors import NbgitError
from nbgit.parallel import map_on_all_cores


def pid_and_square(number: int) -> tuple[int, int]:
    """Which process did the work, and its result; slow enough that one worker cannot take it all."""
    time.sleep(0.01)
    return os.getpid(), number * number


MANY_CORES = pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: the work runs in this process by design")


def fail_at(number: int) -> int:
    """Fails (as a user's bad file makes work fail) at some items, late enough that a worker meets them."""
    time.sleep(0.002)
    if number in (40, 55):
        raise NbgitError(f"item {number} is broken", "fix it")
    return number


def die_in_a_worker(number: int) -> int:
    """A worker killed under the work (out of memory, say) at the first item it takes; this process is slow,
    so that a worker surely takes some."""
    if os.getpid() != MAIN_PID:
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.01)
    return number


MAIN_PID = os.getpid()


def children() -> list[str]:
    """This process's child processes, zombies (ended, not waited for) included, but `ps` itself."""
    listed = subprocess.run(["ps", "-o", "pid=,stat=,comm=", "--ppid", str(os.getpid())], capture_output=True, text=True, check=True).stdout
    return [line for line in listed.splitlines() if line.split()[-1] != "ps"]


@MANY_CORES
def test_many_items_are_shared_among_processes_in_order() -> None:
    results = map_on_all_cores(pid_and_square, list(range(64)), 8)
    assert [square for _, square in results] == [n * n for n in range(64)]
    assert len({pid for pid, _ in results}) >= 2, "at least two processes did some of the work"
    assert children() == [], "every worker was waited for"


@MANY_CORES
def test_an_error_in_a_worker_is_raised_here_the_first_items_error_and_no_worker_is_left() -> None:
    for _ in range(3):  # whichever process meets the broken items
        with pytest.raises(NbgitError, match="item 40 is broken") as raised:
            map_on_all_cores(fail_at, list(range(64)), 8)
        assert raised.value.hint == "fix it"
        assert children() == []


@MANY_CORES
@pytest.mark.skipif(sys.platform != "linux", reason="workers are forked on Linux only")
def test_a_worker_that_dies_is_an_error_not_missing_results() -> None:
    with pytest.raises(RuntimeError, match="a worker process ended before its work was done"):
        map_on_all_cores(die_in_a_worker, list(range(64)), 8)
    assert children() == []


@MANY_CORES
def test_a_pool_of_spawned_workers_does_the_same_where_forking_is_not_used() -> None:
    from nbgit.parallel import _pooled

    results = _pooled(pid_and_square, list(range(64)), 2, 4)
    assert [square for _, square in results] == [n * n for n in range(64)]
    assert len({pid for pid, _ in results} - {os.getpid()}) >= 2


def test_few_items_run_here_and_import_no_process_machinery() -> None:
    assert map_on_all_cores(pid_and_square, [1, 2, 3], 8) == [(os.getpid(), 1), (os.getpid(), 4), (os.getpid(), 9)]
    probe = "import sys; from nbgit.parallel import map_on_all_cores; map_on_all_cores(abs, [-1, -2], 8); print(sorted({'multiprocessing', 'concurrent.futures'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
