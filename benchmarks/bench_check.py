"""`nbgit check --all` over many notebooks, against the peers' check modes, and what it imports.

    .venv/bin/python benchmarks/bench_check.py           # 1000 notebooks of 50 KB, 3 runs each
    .venv/bin/python benchmarks/bench_check.py --quick   # 200 notebooks, 1 run

Two states of the same repository: "dirty" (notebooks as generated: outputs, images, volatile
metadata, so every notebook fails) and "clean" (after `nbgit clean`: what a healthy repository holds
and CI checks on every push). Each tool is timed on the same files:

- `nbgit check --all` (CI=1: the committed files as they are; every check, the schema included);
- nb-clean 5 `check` (Rust; execution counts, metadata and outputs only) on the folder;
- `nbstripout --verify --keep-id` (Python; `--keep-id` as nbgit keeps cell ids) on every file, one process.

The peers check less than nbgit (no schema, conflict markers, hidden state or sizes): the ratios
say what nbgit's extra checks and its Python cost against a Rust binary.
Then `python -X importtime` of one `nbgit check --all`: jupytext, nbdime and nbformat must not appear.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_filter import PEERS, generate, install_peers  # noqa: E402

BIN = Path(sys.executable).parent
HEAVY = ("nbformat", "jupytext", "nbdime", "jsonschema", "git")


def timed(command: list[str], cwd: Path, runs: int, expect: int) -> float:
    """Median wall time of `command` in `cwd` over `runs` runs after one warm-up; checks its exit code."""
    env = {**os.environ, "CI": "1"}
    first = subprocess.run(command, cwd=cwd, capture_output=True, env=env)
    if first.returncode != expect:
        raise SystemExit(f"{command[0]} exited {first.returncode}, expected {expect}:\n{first.stdout.decode()[-500:]}{first.stderr.decode()[-500:]}")
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, cwd=cwd, capture_output=True, env=env)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(repo: Path, notebooks: list[str], runs: int, expect: int) -> dict[str, float]:
    return {
        "nbgit check --all": timed([str(BIN / "nbgit"), "check", "--all"], repo, runs, expect),
        "nb-clean 5 check": timed([str(PEERS / "bin" / "nb-clean"), "check", "nbs"], repo, runs, expect),
        "nbstripout --verify": timed([str(PEERS / "bin" / "nbstripout"), "--verify", "--keep-id", *notebooks], repo, runs, expect),
    }


def report(label: str, results: dict[str, float]) -> None:
    nbgit = results["nbgit check --all"]
    print(f"\n{label}")
    print(f"  {'tool':<22} {'seconds':>8} {'nbgit / tool':>13}")
    for tool, seconds in results.items():
        ratio = "" if tool.startswith("nbgit") else f"{nbgit / seconds:12.2f}x"
        print(f"  {tool:<22} {seconds:8.2f} {ratio:>13}")


def heavy_imports(repo: Path) -> list[str]:
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "nbgit", "check", "--all"], cwd=repo, capture_output=True, env={**os.environ, "CI": "1"})
    modules = {line.split("|")[-1].strip() for line in done.stderr.decode().splitlines() if line.startswith("import time:")}
    return sorted(m for m in modules if m.split(".")[0] in HEAVY)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 notebooks, one run")
    parser.add_argument("--count", type=int, default=None, help="notebooks (default 1000, --quick 200)")
    args = parser.parse_args(argv)
    count = args.count or (200 if args.quick else 1000)
    runs = 1 if args.quick else 3
    install_peers()
    with tempfile.TemporaryDirectory(prefix="nbgit-bench-check-") as temporary:
        repo = Path(temporary) / "repo"
        repo.mkdir()
        subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
        total = generate(repo / "nbs", count, 50_000, seed=7)
        subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
        notebooks = sorted(p.relative_to(repo).as_posix() for p in (repo / "nbs").glob("*.ipynb"))
        print(f"{count} notebooks, {total / count / 1000:.0f} KB each on average, {os.cpu_count()} cores; median of {runs} run(s)")
        report("dirty: outputs and volatile metadata in every notebook (every tool exits 1)", measure(repo, notebooks, runs, 1))
        subprocess.run([str(BIN / "nbgit"), "clean", "nbs"], cwd=repo, check=True)
        subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
        report("clean: after `nbgit clean`, what CI checks on a healthy repository (every tool exits 0)", measure(repo, notebooks, runs, 0))
        heavy = heavy_imports(repo)
        print(f"\nheavy modules imported by `nbgit check --all`: {', '.join(heavy) if heavy else 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
