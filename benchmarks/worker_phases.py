"""Where the output-recording worker's time goes per notebook: what the process filter's worker does
for each notebook git cleans, timed phase by phase.

    .venv/bin/python benchmarks/worker_phases.py                      # this nbgit, the distinct 50 KB set
    OTHER/.venv/bin/python benchmarks/worker_phases.py                # another nbgit, the same way

The notebooks are cleaned first (untimed), as the filter cleans them, into a fresh repository with no
output store; then each is recorded as the worker records it (`Cleaner._keep`, in this process), with
a timer (the process's CPU time, which counts the system calls that create files) around each phase:
the skeleton encoded, compressed, the record file written, the path's history appended to, the
store's entries looked up. Phases nest (`record` holds the others); `rounds` runs take a fresh
store each, and the fastest of them is shown (the machine is shared).
"""

from __future__ import annotations

import argparse
import collections
import functools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from corpora import ABOUT_50KB, real

# label -> (module, attribute): what is timed
PHASES = {
    "record": ("nbgit.store.record", "record"),
    "  encode": ("nbgit.store.skeleton", "encode"),
    "  pack": ("nbgit.store.record", "pack"),
    "  lookups": ("nbgit.store.record", "recorded"),
    "  put_record": ("nbgit.store.disk", "Store.put_record"),
    "  put_object": ("nbgit.store.disk", "Store.put_object"),
    "  history": ("nbgit.store.history", "remember"),
}


def timed(spent: dict[str, list[int]], label: str, module: str, name: str) -> None:
    """Wrap `module.name` so that each call adds its CPU time to `spent[label]`."""
    import importlib

    owner: Any = importlib.import_module(module)
    *path, attribute = name.split(".")
    for part in path:
        owner = getattr(owner, part)
    original: Callable[..., Any] = getattr(owner, attribute)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.process_time_ns()
        try:
            return original(*args, **kwargs)
        finally:
            spent[label].append(time.process_time_ns() - start)

    setattr(owner, attribute, wrapper)


def run(notebooks: Path, work: Path) -> tuple[int, int, dict[str, list[int]]]:
    """Clean every notebook into a fresh repository, then record each as the worker does: (notebooks,
    the CPU time of all the records in ns, each phase's times)."""
    from nbgit.filter import Cleaner

    repo = work / "repo"
    shutil.rmtree(repo, ignore_errors=True)
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    (repo / ".gitattributes").write_text("*.ipynb filter=nbgit\n")
    shutil.copytree(notebooks, repo / "nbs", copy_function=os.link)
    cleaner = Cleaner.for_directory(repo, one_command=True)
    items = []
    for path in sorted((repo / "nbs").rglob("*.ipynb")):
        cleaner.clean(path.relative_to(repo).as_posix(), path.read_bytes())
        items += cleaner._unsettled
        cleaner._unsettled.clear()
    spent: dict[str, list[int]] = collections.defaultdict(list)
    for label, (module, name) in PHASES.items():
        timed(spent, label, module, name)
    start = time.process_time_ns()
    for path, worktree, cleaned, _own, read_at in items:
        cleaner._keep(path.encode(), worktree, cleaned, b"%d" % read_at)
    assert cleaner.keeper is not None
    cleaner.keeper.flush()
    total = time.process_time_ns() - start
    for label, (module, name) in PHASES.items():  # unwrapped for the next round
        owner: Any = sys.modules[module]
        *path_, attribute = name.split(".")
        for part in path_:
            owner = getattr(owner, part)
        setattr(owner, attribute, getattr(owner, attribute).__wrapped__)
    return len(items), total, spent


def main(argv: list[str] | None = None) -> int:
    """Build the set, record it `--rounds` times into fresh stores, print the fastest round's phases."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="notebooks (default 1000)")
    parser.add_argument("--rounds", type=int, default=3, help="runs, each into a fresh store (default 3)")
    args = parser.parse_args(argv)
    os.environ.update(GIT_CONFIG_NOSYSTEM="1", HOME=tempfile.mkdtemp(prefix="nbgit-bench-home-"))
    with tempfile.TemporaryDirectory(prefix="nbgit-worker-") as tmp:
        work = Path(tmp)
        corpus = real(work / "nbs", args.count, ABOUT_50KB, distinct=True)
        print(corpus.describe())
        runs = [run(work / "nbs", work) for _ in range(args.rounds)]
    count, total, spent = min(runs, key=lambda found: found[1])
    import nbgit

    print(f"nbgit {nbgit.__file__}: {count} records, CPU {total / 1e6:.0f} ms ({total / count / 1e3:.0f} us a notebook; "
          f"rounds {', '.join(f'{found[1] / 1e6:.0f}' for found in runs)} ms)")
    for label in PHASES:
        times = sorted(spent[label])
        if times:
            print(f"  {label:<12} CPU mean {sum(times) / count / 1e3:6.1f} us a notebook, median {times[len(times) // 2] / 1e3:6.1f} us a call   x{len(times)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
