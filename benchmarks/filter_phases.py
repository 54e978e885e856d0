"""Where the process filter's time goes per notebook, measured inside a real `git add -A`.

    .venv/bin/python benchmarks/filter_phases.py                       # the distinct 50 KB set, this nbgit
    .venv/bin/python benchmarks/filter_phases.py --before OTHER/.venv/bin --rounds 3

git runs a filter process that is nbgit's own (`nbgit.filter.main`) with each phase wrapped in a timer
(wall and the thread's CPU time); at its exit it writes each phase's mean and median per notebook.
Phases nest (`clean_as` holds `parse`, `clean`, `serialise`); `ahead.take` is the answer made
ahead on the other core (waited for when it is not ready: nbgit.ahead), `clean_as` then runs only
for what it did not answer; `settle` is the hand-over to the worker that keeps the outputs. The timers cost about a microsecond a phase. With `--before`, the
nbgit of another virtualenv is measured the same way, in turn. Medians are what a loaded machine
distorts least; the process's own CPU time (which includes starting up) is printed too.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from corpora import ABOUT_50KB, real

# the filter process git starts: nbgit's, with timers around the phases (PHASES: label -> module, attribute)
PHASES = {
    "read_content": ("nbgit.filter", "read_content"),
    "handler": ("nbgit.filter", "Cleaner.__call__"),
    "ahead.take": ("nbgit.ahead", "CleanerAhead.take"),
    "keeper.cleaned": ("nbgit.store.keeper", "OutputKeeper.cleaned"),
    "clean_as": ("nbgit.filter", "clean_as"),
    "  parse": ("nbgit.clean", "parse"),
    "  clean": ("nbgit.clean", "clean"),
    "  serialise": ("nbgit.clean", "serialise"),
    "write_content": ("nbgit.filter", "write_content"),
    "settle": ("nbgit.filter", "Cleaner.settle"),
}
TIMED_FILTER = """#!{python}
import atexit, importlib, json, sys, time
spent = {{}}
def timed(label, module, name):
    try:  # (a phase an older nbgit has not got is left out)
        owner = importlib.import_module(module)
        *path, attribute = name.split(".")
        for part in path:
            owner = getattr(owner, part)
        original = getattr(owner, attribute)
    except (ImportError, AttributeError):
        return
    times = spent.setdefault(label, [])
    def wrapper(*args, **kwargs):
        wall, cpu = time.perf_counter_ns(), time.thread_time_ns()
        try:
            return original(*args, **kwargs)
        finally:
            times.append((time.perf_counter_ns() - wall, time.thread_time_ns() - cpu))
    setattr(owner, attribute, wrapper)
for label, (module, name) in {phases!r}.items():
    timed(label, module, name)
atexit.register(lambda: open({out!r}, "w").write(json.dumps({{"phases": spent, "cpu": time.process_time()}})))
from nbgit.filter import main
sys.exit(main())
"""


def run(python: Path, notebooks: Path, work: Path) -> dict[str, object]:
    """One `git add -A` of `notebooks` into a fresh repository through the timed filter of `python`."""
    repo = work / "repo"
    shutil.rmtree(repo, ignore_errors=True)
    repo.mkdir()
    out = work / "phases.json"
    script = work / "timed-filter"
    script.write_text(TIMED_FILTER.format(python=python, phases=PHASES, out=str(out)))
    script.chmod(0o755)
    for args in (["init", "-q"], ["config", "filter.x.process", str(script)]):
        subprocess.run(["git", *args], cwd=repo, check=True)
    (repo / ".gitattributes").write_text("*.ipynb filter=x\n")
    shutil.copytree(notebooks, repo / "nbs", copy_function=os.link)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    return json.loads(out.read_text())


def report(label: str, found: dict[str, object]) -> None:
    """Per phase: mean and median wall and CPU per call, in microseconds."""
    print(f"{label}: filter process CPU {found['cpu'] * 1000:.0f} ms")
    for phase, times in found["phases"].items():  # type: ignore[union-attr]
        if not times:
            continue
        walls, cpus = sorted(t[0] for t in times), sorted(t[1] for t in times)
        middle = len(times) // 2
        print(f"  {phase:<16} wall mean {sum(walls) / len(times) / 1e3:7.1f} median {walls[middle] / 1e3:7.1f} us"
              f"   CPU mean {sum(cpus) / len(times) / 1e3:7.1f} median {cpus[middle] / 1e3:7.1f} us   x{len(times)}")


def main(argv: list[str] | None = None) -> int:
    """Build the set, then time the filter's phases, this nbgit and `--before`'s in turn."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="notebooks (default 1000)")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each nbgit, in turn")
    parser.add_argument("--before", metavar="BIN", type=Path, help="also the nbgit of this virtualenv's bin folder")
    args = parser.parse_args(argv)
    pythons = {"nbgit": Path(sys.executable)}
    if args.before:
        pythons["nbgit before"] = args.before.resolve() / "python"
    os.environ.update(GIT_CONFIG_NOSYSTEM="1", HOME=tempfile.mkdtemp(prefix="nbgit-bench-home-"))
    with tempfile.TemporaryDirectory(prefix="nbgit-phases-") as tmp:
        work = Path(tmp)
        corpus = real(work / "nbs", args.count, ABOUT_50KB, distinct=True)
        print(corpus.describe())
        for round_ in range(args.rounds):
            for label, python in pythons.items():
                report(f"round {round_ + 1}, {label}", run(python, work / "nbs", work))
    return 0


if __name__ == "__main__":
    sys.exit(main())
