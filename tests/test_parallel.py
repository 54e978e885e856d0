"""The one helper that spreads work over the cores: order kept, processes really used, start-up spared."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from nbgit.parallel import map_on_all_cores


def pid_and_square(number: int) -> tuple[int, int]:
    """Which process did the work, and its result; slow enough that one worker cannot take it all."""
    time.sleep(0.01)
    return os.getpid(), number * number


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: the work runs in this process by design")
def test_many_items_are_shared_among_worker_processes_in_order() -> None:
    results = map_on_all_cores(pid_and_square, list(range(64)), 8)
    assert [square for _, square in results] == [n * n for n in range(64)]
    assert len({pid for pid, _ in results} - {os.getpid()}) >= 2, "at least two worker processes did some of the work"


def test_few_items_run_here_and_import_no_process_machinery() -> None:
    assert map_on_all_cores(pid_and_square, [1, 2, 3], 8) == [(os.getpid(), 1), (os.getpid(), 4), (os.getpid(), 9)]
    probe = "import sys; from nbgit.parallel import map_on_all_cores; map_on_all_cores(abs, [-1, -2], 8); print(sorted({'multiprocessing', 'concurrent.futures'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
