"""`nbgit check --all` over many notebooks, first run and re-run, against the peers' check modes.

    .venv/bin/python benchmarks/bench_check.py           # 1000 notebooks per set, 3 rounds
    .venv/bin/python benchmarks/bench_check.py --quick   # 200 notebooks per set, 1 round
    .venv/bin/python benchmarks/bench_check.py --set real-50kb --skip nbstripout
    .venv/bin/python benchmarks/bench_check.py --set real-50kb --before ../main/.venv/bin   # and another nbgit

The sets (benchmarks/corpora.py): generated notebooks of ~50 KB, and real ones from
../shared/corpus/dev repeated and renamed: 1000 of about 50 KB and 1000 of every size, each also
with every copy made distinct (`-distinct`: a number atop its first source line, so that each file
is a blob of its own; their code is still the same). Each in two states of the same repository:
"dirty" (as generated or as committed upstream: outputs, volatile metadata) and "clean" (after
`nbgit clean`: what a healthy repository holds and CI checks on every push). Each tool is timed on
the same files, in turn round by round after a warm-up round:

- `nbgit check --all`, first run: the verdict cache and sync's memory of pairs deleted before each
  run (a fresh clone, a new CI cache); CI=1, so the committed files are judged as they are; every
  check, the schema and `duplicate-code` included (the default policy);
- `nbgit check --all`, re-run: nothing changed since the last run, every verdict and the groups of
  copies in the cache;
- the same two with `duplicate-code` switched off (the policy's `[check] disable`), in a repository
  of their own (the same files; the cache is kept per policy);
- with `--before BIN`, the first run and re-run of that virtualenv's nbgit (default policy), again in
  a repository of its own, so each nbgit keeps its own cache;
- nb-clean 5 `check` (Rust; execution counts, metadata and outputs only) on the folder;
- `nbstripout --verify --keep-id` (Python; `--keep-id` as nbgit keeps cell ids) on every file, one process.

A caveat for `duplicate-code`: the sets repeat a few dozen notebooks, so every notebook is a copy of
dozens of others (the `-distinct` sets too: only their first line differs), a workload no real
repository gives it: its first run groups thousands of places. bench_duplicates.py measures the
check on a repository built for it. The peers check less than nbgit (no schema, conflict markers,
hidden state, sizes or copies). The issue's targets: a first run <= 4x nb-clean 5, a re-run on
unchanged notebooks <= 1.0x nb-clean 5. Then `python -X importtime` of one first run: jupytext,
nbdime and nbformat must not appear.
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
from typing import Callable, NamedTuple

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from corpora import ABOUT_50KB, MIXED, Corpus, generate, real  # noqa: E402
from harness import Took, alternate, install_peers, machine, peer, table, timed  # noqa: E402

import nbgit  # noqa: E402
from nbgit.check.catalogue import CHECKS  # noqa: E402

BIN = Path(sys.executable).parent
HEAVY = ("nbformat", "jupytext", "nbdime", "jsonschema", "git")
SETS = {
    "generated-50kb": lambda folder, n: generate(folder, n, 50_000, seed=7),
    "real-50kb": lambda folder, n: real(folder, n, ABOUT_50KB),
    "real-mixed": lambda folder, n: real(folder, n, MIXED),
    "real-50kb-distinct": lambda folder, n: real(folder, n, ABOUT_50KB, distinct=True),
    "real-mixed-distinct": lambda folder, n: real(folder, n, MIXED, distinct=True),
}
ENV = {**os.environ, "CI": "1"}
NO_COPIES = '[check]\ndisable = ["duplicate-code"]\n'


class Variant(NamedTuple):
    """An nbgit timed in a repository of its own: its console scripts, and the policy file it runs with."""

    label: str
    bin: Path
    policy: str | None  # None: no policy file, every default


def variants(before: Path | None) -> list[Variant]:
    """nbgit with the default policy, with `duplicate-code` off, and (when given) another nbgit's."""
    found = [Variant("nbgit", BIN, None)]
    if "duplicate-code" in CHECKS:  # (an nbgit from before that check has none to switch off)
        found.append(Variant("nbgit, no copies", BIN, NO_COPIES))
    if before is not None:
        found.append(Variant("nbgit before", before.resolve(), None))
    return found


def runs(repos: dict[str, Path], chosen: list[Variant], notebooks: list[str], skip: list[str]) -> dict[str, Callable[[], Took]]:
    """One callable per tool, each doing one timed run; each nbgit in its own repository (`repos`)."""
    first_repo = repos[chosen[0].label]
    tools: dict[str, Callable[[], Took]] = {
        "nb-clean 5 check": lambda: timed([str(peer("nb-clean")), "check", "nbs"], first_repo, ENV, expect=(0, 1)),
    }
    for variant in chosen:
        first, again = nbgit_runs(repos[variant.label], variant.bin)
        tools[f"{variant.label}, first run"] = first
        tools[f"{variant.label}, re-run"] = again
    if "nbstripout" not in skip:
        tools["nbstripout --verify"] = lambda: timed([str(peer("nbstripout")), "--verify", "--keep-id", *notebooks], first_repo, ENV, expect=(0, 1))
    return tools


def nbgit_runs(repo: Path, bin: Path) -> tuple[Callable[[], Took], Callable[[], Took]]:
    """`nbgit check --all` in `repo`: a first run (every cache deleted before it) and a re-run."""
    cache = repo / ".git" / "nbgit"
    pairs = repo / ".git" / "nbgit-pairs.json"  # sync's memory of pairs, which check keeps too
    check = [str(bin / "nbgit"), "check", "--all"]

    def first() -> Took:
        shutil.rmtree(cache, ignore_errors=True)
        pairs.unlink(missing_ok=True)
        return timed(check, repo, ENV, expect=(0, 1))

    def again() -> Took:
        if not cache.exists():
            timed(check, repo, ENV, expect=(0, 1))  # the run the re-run follows
        return timed(check, repo, ENV, expect=(0, 1))

    return first, again


def exit_codes(repos: dict[str, Path], chosen: list[Variant]) -> str:
    """What each tool says about the state (0: clean, 1: problems)."""
    said = []
    for variant in chosen:
        done = subprocess.run([str(variant.bin / "nbgit"), "check", "--all"], cwd=repos[variant.label], capture_output=True, env=ENV)
        summary = done.stdout.decode().strip().splitlines()[-1] if done.stdout.strip() else ""
        said.append(f"{variant.label} {done.returncode} ({summary})")
    nbclean = subprocess.run([str(peer("nb-clean")), "check", "nbs"], cwd=repos[chosen[0].label], capture_output=True, env=ENV)
    return f"exit codes: {', '.join(said)}, nb-clean {nbclean.returncode}"


def make_repo(repo: Path, build: Callable[[Path, int], Corpus], count: int, policy: str | None) -> Corpus:
    """A repository holding the set's notebooks (built afresh: the same files for every variant) and the policy, everything added."""
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    if policy is not None:
        (repo / ".nbgit.toml").write_text(policy)
    corpus = build(repo / "nbs", count)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    return corpus


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
    parser.add_argument("--before", metavar="BIN", type=Path, help="also the nbgit of this virtualenv's bin folder, as `nbgit before`")
    args = parser.parse_args(argv)
    count = args.count or (200 if args.quick else 1000)
    rounds = args.rounds or (1 if args.quick else 3)
    install_peers()
    # nbgit's modules compiled, as pip leaves them (under PYTHONDONTWRITEBYTECODE every run would compile them)
    compileall.compile_dir(Path(nbgit.__file__).parent, quiet=1)
    chosen = variants(args.before)
    print(f"{machine()}; {rounds} timed round(s) after a warm-up, tools alternated, medians")
    print("`nbgit`: the default policy, duplicate-code on; `nbgit, no copies`: duplicate-code off"
          + ("; `nbgit before`: " + str(args.before) + ", the default policy" if args.before else ""))
    print("caveat: every notebook of a set is a copy of dozens of others, a pathological workload for duplicate-code's grouping")
    for name in args.set or list(SETS):
        with tempfile.TemporaryDirectory(prefix="nbgit-bench-check-") as temporary:
            repos = {variant.label: Path(temporary) / f"repo{number}" for number, variant in enumerate(chosen)}
            for variant in chosen:
                corpus = make_repo(repos[variant.label], SETS[name], count, variant.policy)
            notebooks = sorted(p.relative_to(repos[chosen[-1].label]).as_posix() for p in corpus.files)
            for state in ("dirty", "clean"):
                if state == "clean":
                    for variant in chosen:
                        subprocess.run([str(variant.bin / "nbgit"), "clean", "nbs"], cwd=repos[variant.label], check=True)
                        subprocess.run(["git", "add", "-A"], cwd=repos[variant.label], check=True)
                print(f"\n{name}, {state}: {corpus.describe()}; {exit_codes(repos, chosen)}")
                results = alternate(runs(repos, chosen, notebooks, args.skip), rounds)
                table(results, "nb-clean 5 check", "first run <= 4x nb-clean 5, re-run <= 1.0x nb-clean 5 (with the default policy: `nbgit`)")
                print(f"  load average now {os.getloadavg()[0]:.1f}")
            heavy = heavy_imports(repos[chosen[0].label])
            print(f"heavy modules imported by `nbgit check --all`: {', '.join(heavy) if heavy else 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
