"""What keeps every benchmark's comparisons fair: the peers installed once, tools alternated round by
round after a warm-up of each, medians, and the machine's state printed with the numbers.

On a shared machine the load changes from one second to the next: timing one tool's runs, then
the next tool's, lets a burst of load land on one tool only. Alternating puts every tool in every
round, so a burst costs each the same.
"""

from __future__ import annotations

import os
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, NamedTuple

# an installed nbgit runs from compiled bytecode: let every process write it (the warm-up rounds do)
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

HERE = Path(__file__).resolve().parent
PEERS = HERE / ".peers"
PEER_PACKAGES = {"nbstripout": "nbstripout", "nb-clean": "nb-clean>=5,<6", "nbmerge": "nbdime", "git-nbdiffdriver": "nbdime"}


def peer(script: str, package: str | None = None) -> Path:
    """A peer's console script in benchmarks/.peers (a virtualenv), installed from the package index once."""
    path = PEERS / "bin" / script
    if not path.exists():
        if not (PEERS / "bin" / "pip").exists():
            subprocess.run([sys.executable, "-m", "venv", str(PEERS)], check=True)
        wanted = package or PEER_PACKAGES[script]
        print(f"installing {wanted} into benchmarks/.peers ...", file=sys.stderr)
        subprocess.run([str(PEERS / "bin" / "pip"), "install", "-q", wanted], check=True)
    return path


def install_peers() -> None:
    """nbstripout and nb-clean 5, the filter and check peers."""
    peer("nbstripout")
    peer("nb-clean")


def machine() -> str:
    """git's version, the cores and the load average: the state of the machine the numbers come from."""
    git = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.split()[-1]
    return f"git {git}, Python {sys.version.split()[0]}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}"


class Took(NamedTuple):
    """Seconds of wall time and of CPU time (the command and every process it started: git's filters,
    textconv). On a shared machine the wall time depends on what else runs; the CPU time much less."""

    wall: float
    cpu: float


def alternate(runs: dict[str, Callable[[], Took]], rounds: int, warmups: int = 1) -> dict[str, Took]:
    """Median times of each run, the runs taken in turn round by round after `warmups` untimed rounds.

    Each callable does one run and returns its times (it may time only part of what it does).
    """
    times: dict[str, list[Took]] = {name: [] for name in runs}
    for round_ in range(warmups + rounds):
        for name, run in runs.items():
            took = run()
            if round_ >= warmups:
                times[name].append(took)
    return {name: median(values) for name, values in times.items()}


def median(runs: list[Took]) -> Took:
    """The median wall time and the median CPU time of several runs."""
    return Took(statistics.median(t.wall for t in runs), statistics.median(t.cpu for t in runs))


def timed(
    command: list[str] | str, cwd: Path | None = None, env: dict[str, str] | None = None, expect: tuple[int, ...] = (0,),
    input: bytes | None = None, timeout: float | None = None,
) -> Took:
    """The times of one run of `command` (inf past `timeout`); a run that exits otherwise than `expect` stops the benchmark."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, input=input, shell=isinstance(command, str), timeout=timeout)
    except subprocess.TimeoutExpired:
        return Took(float("inf"), float("inf"))
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode not in expect:
        shown = command if isinstance(command, str) else " ".join(map(str, command[:4]))
        raise SystemExit(f"{shown} exited {done.returncode} in {cwd}:\n{done.stdout.decode()[-600:]}{done.stderr.decode()[-600:]}")
    return Took(elapsed, cpu)


def git(repo: Path, *args: str) -> Took:
    """The times of `git ARGS` run in `repo` (its filters and textconv counted); a failure stops the benchmark."""
    return timed(["git", *args], cwd=repo)


def touch_all(folder: Path) -> None:
    """A new modification time for every file in `folder` (content unchanged): git must read each again."""
    stamp = time.time() + 10 + random.random()
    for path in folder.iterdir():
        os.utime(path, (stamp, stamp))


def table(rows: dict[str, Took], reference: str, target: str) -> None:
    """One line per tool: wall and CPU milliseconds and their ratios to `reference`, then the target."""
    ref = rows[reference]
    print(f"  {'':<28} {'wall ms':>9} {'x ' + reference:>14} {'CPU ms':>9} {'x ' + reference:>14}")
    for name, took in rows.items():
        if took.wall == float("inf"):
            print(f"  {name:<28} {'timed out':>9}")
            continue
        print(f"  {name:<28} {took.wall * 1000:9.0f} {took.wall / ref.wall:13.2f}x {took.cpu * 1000:9.0f} {took.cpu / ref.cpu if ref.cpu else 0:13.2f}x")
    print(f"  target: {target}")
