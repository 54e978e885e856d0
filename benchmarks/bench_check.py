"""`nbgit check --all` over many notebooks, first run and re-run, against the peers' check modes.

    .venv/bin/python benchmarks/bench_check.py           # 1000 notebooks per set, 3 rounds
    .venv/bin/python benchmarks/bench_check.py --quick   # 200 notebooks per set, 1 round
    .venv/bin/python benchmarks/bench_check.py --set real-50kb --skip nbstripout

The sets (benchmarks/corpora.py): generated notebooks of ~50 KB, and real ones from
../shared/corpus/dev repeated and renamed: 1000 of about 50 KB and 1000 of every size. Each in two
states of the same repository: "dirty" (as generated or as committed upstream: outputs, volatile
metadata) and "clean" (after `nbgit clean`: what a healthy repository holds and CI checks on every
push). Each tool is timed on the same files, in turn round by round after a warm-up round:

- `nbgit check --all`, first run: the verdict cache and sync's memory of pairs deleted before each
  run (a fresh clone, a new CI cache); CI=1, so the committed files are judged as they are; every check, the schema included;
- `nbgit check --all`, re-run: nothing changed since the last run, every verdict in the cache;
- nb-clean 5 `check` (Rust; execution counts, metadata and outputs only) on the folder;
- `nbstripout --verify --keep-id` (Python; `--keep-id` as nbgit keeps cell ids) on every file, one process.

The sets repeat a few dozen notebooks, so every notebook is a copy of dozens of others: a workload
no real repository gives the `duplicate-code` check, which is switched off here (the policy's
`[check] disable`) and measured on its own by bench_duplicates.py.
The peers check less than nbgit (no schema, conflict markers, hidden state or sizes). The issue's
targets: a first run <= 4x nb-clean 5, a re-run on unchanged notebooks <= 1.0x nb-clean 5.
Then `python -X importtime` of one first run: jupytext, nbdime and nbformat must not appear.
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from corpora import ABOUT_50KB, MIXED, generate, real  # noqa: E402
from harness import Took, alternate, install_peers, machine, peer, table, timed  # noqa: E402

import nbgit  # noqa: E402
from nbgit.check.catalogue import CHECKS  # noqa: E402

BIN = Path(sys.executable).parent
HEAVY = ("nbformat", "jupytext", "nbdime", "jsonschema", "git")
SETS = {
    "generated-50kb": lambda folder, n: generate(folder, n, 50_000, seed=7),
    "real-50kb": lambda folder, n: real(folder, n, ABOUT_50KB),
    "real-mixed": lambda folder, n: real(folder, n, MIXED),
}
ENV = {**os.environ, "CI": "1"}


def runs(repo: Path, notebooks: list[str], skip: list[str]) -> dict[str, object]:
    """One callable per tool, each doing one timed run."""
    cache = repo / ".git" / "nbgit"
    pairs = repo / ".git" / "nbgit-pairs.json"  # sync's memory of pairs, which check keeps too
    check = [str(BIN / "nbgit"), "check", "--all"]

    def first() -> Took:
        shutil.rmtree(cache, ignore_errors=True)
        pairs.unlink(missing_ok=True)
        return timed(check, repo, ENV, expect=(0, 1))

    def again() -> Took:
        if not cache.exists():
            timed(check, repo, ENV, expect=(0, 1))  # the run the re-run follows
        return timed(check, repo, ENV, expect=(0, 1))

    tools = {
        "nb-clean 5 check": lambda: timed([str(peer("nb-clean")), "check", "nbs"], repo, ENV, expect=(0, 1)),
        "nbgit check --all, first run": first,
        "nbgit check --all, re-run": again,
    }
    if "nbstripout" not in skip:
        tools["nbstripout --verify"] = lambda: timed([str(peer("nbstripout")), "--verify", "--keep-id", *notebooks], repo, ENV, expect=(0, 1))
    return tools


def exit_codes(repo: Path, notebooks: list[str]) -> str:
    """What each tool says about the state (0: clean, 1: problems)."""
    nbgit = subprocess.run([str(BIN / "nbgit"), "check", "--all"], cwd=repo, capture_output=True, env=ENV)
    nbclean = subprocess.run([str(peer("nb-clean")), "check", "nbs"], cwd=repo, capture_output=True, env=ENV)
    summary = nbgit.stdout.decode().strip().splitlines()[-1] if nbgit.stdout.strip() else ""
    return f"exit codes: nbgit {nbgit.returncode} ({summary}), nb-clean {nbclean.returncode}"


def heavy_imports(repo: Path) -> list[str]:
    shutil.rmtree(repo / ".git" / "nbgit", ignore_errors=True)
    (repo / ".git" / "nbgit-pairs.json").unlink(missing_ok=True)
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "nbgit", "check", "--all"], cwd=repo, capture_output=True, env=ENV)
    modules = {line.split("|")[-1].strip() for line in done.stderr.decode().splitlines() if line.startswith("import time:")}
    return sorted(m for m in modules if m.split(".")[0] in HEAVY)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 notebooks per set, one round")
    parser.add_argument("--count", type=int, default=None, help="notebooks per set (default 1000, --quick 200)")
    parser.add_argument("--set", action="append", choices=list(SETS), help="only these sets (repeatable; default: all)")
    parser.add_argument("--skip", action="append", default=[], choices=["nbstripout"], help="leave a peer out")
    parser.add_argument("--rounds", type=int, help="timed rounds (median); default 3, 1 with --quick")
    args = parser.parse_args(argv)
    count = args.count or (200 if args.quick else 1000)
    rounds = args.rounds or (1 if args.quick else 3)
    install_peers()
    # nbgit's modules compiled, as pip leaves them (under PYTHONDONTWRITEBYTECODE every run would compile them)
    compileall.compile_dir(Path(nbgit.__file__).parent, quiet=1)
    print(f"{machine()}; {rounds} timed round(s) after a warm-up, tools alternated, medians")
    for name in args.set or list(SETS):
        with tempfile.TemporaryDirectory(prefix="nbgit-bench-check-") as temporary:
            repo = Path(temporary) / "repo"
            repo.mkdir()
            subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
            if "duplicate-code" in CHECKS:  # (an nbgit from before that check has none to switch off)
                (repo / ".nbgit.toml").write_text('[check]\ndisable = ["duplicate-code"]\n')
            corpus = SETS[name](repo / "nbs", count)
            subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
            notebooks = sorted(p.relative_to(repo).as_posix() for p in corpus.files)
            for state in ("dirty", "clean"):
                if state == "clean":
                    subprocess.run([str(BIN / "nbgit"), "clean", "nbs"], cwd=repo, check=True)
                    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
                print(f"\n{name}, {state}: {corpus.describe()}; {exit_codes(repo, notebooks)}")
                results = alternate(runs(repo, notebooks, args.skip), rounds)
                table(results, "nb-clean 5 check", "first run <= 4x nb-clean 5, re-run <= 1.0x nb-clean 5")
                print(f"  load average now {os.getloadavg()[0]:.1f}")
            heavy = heavy_imports(repo)
            print(f"heavy modules imported by `nbgit check --all`: {', '.join(heavy) if heavy else 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
