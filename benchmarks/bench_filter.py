"""nbgit's git filter against no filter, a `cat` filter, nbstripout and nb-clean 5, side by side.

    .venv/bin/python benchmarks/bench_filter.py            # every set below, 3 rounds
    .venv/bin/python benchmarks/bench_filter.py --quick    # 200 files per set (20 of 1 MB), 1 round
    .venv/bin/python benchmarks/bench_filter.py --set real-50kb --skip nbstripout

The sets (benchmarks/corpora.py): generated notebooks of ~50 KB (1000) and ~1 MB (100), a few big
cells each; and real ones from ../shared/corpus/dev, repeated and renamed: 1000 of about 50 KB
(about 50 cells and 30 small outputs each) and 1000 of every size the corpus has; and both again with
every copy made distinct (`-distinct`: a number atop its first source line). Copies are identical
otherwise, and git stores identical content once: without a filter, `git add -A` of the repeated
sets writes a few dozen objects for a thousand files, while each distinct copy is an object of its
own, as in a real repository (`git status` writes no object: both kinds time the same). Measured in real
repositories, the tools taken in turn round by round after a warm-up round of each:

- `git status` right after touching every notebook (git re-filters each one to compare it);
- `git add -A` of every notebook into a fresh repository;
- the filter's peak memory on a 20 MB notebook, against the file's size.

nbgit runs as a clone has it by default, keeping the outputs it strips in the clone's store
(`git checkout`, which puts them back, is measured by benchmarks/bench_restore.py), and in a clone
that keeps none (`nbgit.restore = false`). `--before BIN` adds the nbgit installed in another
virtualenv (its bin folder) as `nbgit before`, and that nbgit keeping no outputs, taken in turn with
the rest: how to measure a change.

A "protocol floor" row runs a process that reads every notebook and answers `{}` without cleaning:
the least any process filter can cost, since git still reads each file and pipes it through. A
"blob floor" row runs a process that answers each notebook with nbgit's cleaned blob of it, computed
before the timing: git's own part of nbgit's `git add -A` (reading, piping, storing the blobs nbgit
makes), the least a filter that stores those blobs can cost, whatever language it cleans in. (It
also loads its answers when git starts it, 10-25 ms for the 50 KB set: the floor is that much high.)

Prints absolute times (medians) and nbgit's ratio to each of the others, with the issue's targets.
"""

from __future__ import annotations

import argparse
import marshal
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from corpora import ABOUT_50KB, MIXED, Corpus, generate, notebook, real  # noqa: E402
from harness import PEERS, Took, git, install_peers, machine, median, touch_all  # noqa: E402

FILTER_PROCESS = Path(sys.executable).with_name("nbgit-filter-process")

# name -> git config lines (key, value) of a driver `x`; None: no filter at all
TOOLS: dict[str, list[tuple[str, str]] | None] = {
    "no filter": None,
    "cat": [("filter.x.clean", "cat")],
    "nbstripout": [("filter.x.clean", str(PEERS / "bin" / "nbstripout"))],
    "nb-clean 5": [("filter.x.clean", f"{PEERS / 'bin' / 'nb-clean'} clean")],
    "nbgit": [("filter.x.process", str(FILTER_PROCESS))],
    "nbgit keeping no outputs": [("filter.x.process", str(FILTER_PROCESS)), ("nbgit.restore", "false")],
}
# the protocol's floor: a process that reads every notebook and answers `{}` without cleaning; what
# no process filter can beat, since git must still read each file and send it through the pipe
FLOOR = "protocol floor"
FLOOR_SCRIPT = """#!{python}
from nbgit.filter import serve
serve(open(0, "rb", buffering=1 << 18), open(1, "wb", buffering=1 << 18), lambda command, path, data, request: ("success", b"{{}}"))
"""
# the floor of a filter storing nbgit's blobs: it answers each path with the blob read from a file
# made before the timing (`blobs.marshal`: {pathname: nbgit's cleaned bytes}), and does no other work
BLOB_FLOOR = "blob floor"
BLOB_FLOOR_SCRIPT = """#!{python}
import marshal
from nbgit.filter import serve
blobs = marshal.loads(open({blobs!r}, "rb").read())
serve(open(0, "rb", buffering=1 << 18), open(1, "wb", buffering=1 << 18), lambda command, path, data, request: ("success", blobs[path]))
"""
# name -> (count, quick count, `git add -A` target as a multiple of no filter, how to build it)
SETS = {
    "generated-50kb": (1000, 200, 1.0, lambda folder, n: generate(folder, n, 50_000, seed=n)),
    "generated-1mb": (100, 20, 0.15, lambda folder, n: generate(folder, n, 1_000_000, seed=n)),
    "real-50kb": (1000, 200, 1.0, lambda folder, n: real(folder, n, ABOUT_50KB)),
    "real-mixed": (1000, 200, 1.0, lambda folder, n: real(folder, n, MIXED)),
    "real-50kb-distinct": (1000, 200, 1.0, lambda folder, n: real(folder, n, ABOUT_50KB, distinct=True)),
    "real-mixed-distinct": (1000, 200, 1.0, lambda folder, n: real(folder, n, MIXED, distinct=True)),
}
STATUS_TARGETS = {"nb-clean 5": 0.25, "cat": 0.4, "no filter": 3.0}


# --- measuring ---------------------------------------------------------------------------------


def make_repo(path: Path, notebooks: Path, config: list[tuple[str, str]] | None) -> None:
    """A fresh repository at `path` whose work tree hard-links the notebooks (the same files for every tool)."""
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    for key, value in config or []:
        git(path, "config", key, value)
    if config:
        (path / ".gitattributes").write_text("*.ipynb filter=x\n")
    target = path / "nbs"
    target.mkdir()
    for source in notebooks.iterdir():
        os.link(source, target / source.name)


def measure_tools(work: Path, notebooks: Path, tools: dict[str, list[tuple[str, str]] | None], rounds: int,
                  expected: dict[str, bytes]) -> dict[str, dict[str, Took]]:
    """Median `git add -A` (fresh repository) and `git status` (after touching) per tool, tools in turn.

    Each round: every tool's `git add -A` and commit, one pause for the index's timestamp, then every
    tool's `git status`. The first round is a warm-up (page cache, compiled bytecode) and is not counted;
    after it, what each tool stored is checked (`check_stored`): a tool that failed stops the benchmark.
    """
    adds: dict[str, list[Took]] = {tool: [] for tool in tools}
    statuses: dict[str, list[Took]] = {tool: [] for tool in tools}
    repos = {tool: work / f"repo-{number}" for number, tool in enumerate(tools)}
    for round_ in range(1 + rounds):
        for tool, config in tools.items():
            make_repo(repos[tool], notebooks, config)
            took = git(repos[tool], "add", "-A")
            git(repos[tool], "commit", "-q", "-m", "notebooks")
            if round_:
                adds[tool].append(took)
            else:
                check_stored(repos[tool], tool, notebooks, expected)
        time.sleep(1.1)  # past the index's own timestamp: no racily-clean entries
        for tool in tools:
            touch_all(repos[tool] / "nbs")
            took = git(repos[tool], "status", "--porcelain")
            if round_:
                statuses[tool].append(took)
            left = subprocess.run(["git", "status", "--porcelain"], cwd=repos[tool], capture_output=True).stdout
            if left.strip() and tool != FLOOR:
                print(f"  note: {tool}: git status not clean after touching: {left[:200]!r}", file=sys.stderr)
    for repo in repos.values():
        shutil.rmtree(repo)
    return {tool: {"add": median(adds[tool]), "status": median(statuses[tool])} for tool in tools}


def check_stored(repo: Path, tool: str, notebooks: Path, expected: dict[str, bytes]) -> None:
    """Stop the benchmark unless `tool` stored what it is there to store, for the first and the last
    notebook: the file itself without a filter or with `cat`, `{}` for the protocol floor, nbgit's blob
    for nbgit and the blob floor (`expected`; a filter that fails, git stores the file unchanged)."""
    names = sorted(path.name for path in notebooks.iterdir())
    for name in (names[0], names[-1]):
        path = f"nbs/{name}"
        stored = subprocess.run(["git", "cat-file", "blob", f":{path}"], cwd=repo, capture_output=True, check=True).stdout
        want = {"no filter": (notebooks / name).read_bytes(), "cat": (notebooks / name).read_bytes(), FLOOR: b"{}"}.get(
            tool, expected.get(path) if tool.startswith("nbgit") or tool == BLOB_FLOOR else None)
        if want is not None and stored != want:
            raise SystemExit(f"{tool} stored {path} otherwise than it should ({len(stored)} bytes, not {len(want)}): its numbers would mean nothing")


def nbgit_blobs(files: list[Path]) -> dict[str, bytes]:
    """What nbgit's filter stores for each notebook (by the path git names it with: `nbs/NAME`), under the default policy."""
    from nbgit.clean import clean_bytes
    from nbgit.policy import Policy

    return {f"nbs/{path.name}": clean_bytes(path.read_bytes(), f"nbs/{path.name}", Policy()) for path in files}


def peak_memory(work: Path, size: int) -> tuple[int, int]:
    """(file size, the filter's peak RSS) for one notebook of about `size` bytes sent through the protocol."""
    data = notebook(random.Random(7), size)
    driver = f"""
import resource, subprocess, sys
data = open({str(work / 'big.ipynb')!r}, 'rb').read()
def pkt(b): return b'%04x' % (len(b) + 4) + b
msg = pkt(b'git-filter-client\\n') + pkt(b'version=2\\n') + b'0000' + pkt(b'capability=clean\\n') + b'0000'
msg += pkt(b'command=clean\\n') + pkt(b'pathname=big.ipynb\\n') + b'0000'
msg += b''.join(pkt(data[i:i + 65516]) for i in range(0, len(data), 65516)) + b'0000'
done = subprocess.run([{str(FILTER_PROCESS)!r}], input=msg, capture_output=True, cwd={str(work)!r})
assert done.returncode == 0 and b'status=success' in done.stdout, done.stderr
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)
"""
    (work / "big.ipynb").write_bytes(data)
    # a separate driver process, so that only the filter counts as its child
    peak = subprocess.run([sys.executable, "-c", driver], capture_output=True, text=True, check=True).stdout
    return len(data), int(peak)


def baseline_memory() -> int:
    """The filter process's peak RSS for an empty session (the interpreter and its imports)."""
    done = subprocess.run(
        [sys.executable, "-c", f"import resource, subprocess; subprocess.run([{str(FILTER_PROCESS)!r}], input=b'0000'); "
         "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)"],
        capture_output=True, text=True, check=True,
    )
    return int(done.stdout)


# --- report --------------------------------------------------------------------------


def ratio_line(ours: str, name: str, mine: Took, other: Took, target: float | None) -> str:
    """`ours / name` as wall and CPU ratios, with the target's verdict."""
    wall, cpu = (n / o if o else float("nan") for n, o in zip(mine, other))
    verdict = "" if target is None else f"  target <= {target}: wall {'met' if wall <= target else 'MISSED'}, CPU {'met' if cpu <= target else 'MISSED'}"
    return f"    {ours} / {name:<14} wall {wall:6.2f}x  CPU {cpu:6.2f}x{verdict}"


def report_set(label: str, results: dict[str, dict[str, Took]], targets: dict[str, dict[str, float]]) -> None:
    print(f"\n{label}")
    print(f"  {'tool':<16} {'git status: wall':>17} {'CPU':>8} {'git add -A: wall':>18} {'CPU':>8}")
    for tool, times in results.items():
        (sw, sc), (aw, ac) = times["status"], times["add"]
        print(f"  {tool:<16} {sw:>15.3f} s {sc:>6.3f} s {aw:>16.3f} s {ac:>6.3f} s")
    nbgit = results.get("nbgit")
    if not nbgit:
        return
    for measure in ("status", "add"):
        print(f"  git {'status' if measure == 'status' else 'add -A'}:")
        for tool, times in results.items():
            if tool != "nbgit":
                print(ratio_line("nbgit", tool, nbgit[measure], times[measure], targets[measure].get(tool)))
        keeping_none, before = results.get("nbgit keeping no outputs"), results.get("nbgit before keeping no outputs")
        if keeping_none and before:
            print(ratio_line("nbgit keeping no outputs", "the same before", keeping_none[measure], before[measure], None))
    floor = results.get(FLOOR)
    if floor:
        print("  git status, the floor (no process filter can do better):")
        for tool in ("cat", "nb-clean 5", "no filter"):
            if tool in results:
                print(ratio_line("floor", tool, floor["status"], results[tool]["status"], None))
        if "no filter" in results:
            print("  git add -A, the floor:")
            print(ratio_line("floor", "no filter", floor["add"], results["no filter"]["add"], None))
    blob_floor = results.get(BLOB_FLOOR)
    if blob_floor and "no filter" in results:
        print("  git add -A, git's own work on nbgit's blobs (no filter storing them can do better):")
        print(ratio_line("blobs", "no filter", blob_floor["add"], results["no filter"]["add"], None))


def main(argv: list[str] | None = None) -> int:
    """Run every measurement and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer notebooks, one round")
    parser.add_argument("--set", action="append", choices=list(SETS), help="only these sets (repeatable; default: all)")
    parser.add_argument("--skip", action="append", default=[], choices=[*TOOLS, FLOOR, BLOB_FLOOR], help="leave a tool out (repeatable)")
    parser.add_argument("--rounds", type=int, help="timed rounds per measurement (median); default 3, 1 with --quick")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak memory measurement")
    parser.add_argument("--before", metavar="BIN", type=Path, help="also the nbgit of this virtualenv's bin folder, as `nbgit before`")
    args = parser.parse_args(argv)
    rounds = args.rounds or (1 if args.quick else 3)
    install_peers()
    baseline_memory()  # the first run writes the bytecode (see harness)
    os.environ.update(
        HOME=tempfile.mkdtemp(prefix="nbgit-bench-home-"), GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@example.com",
        GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@example.com",
    )
    print(f"{machine()}; {rounds} timed round(s) after a warm-up, tools alternated, medians")
    with tempfile.TemporaryDirectory(prefix="nbgit-bench-") as tmp:
        work = Path(tmp)
        floor = work / "floor.py"
        floor.write_text(FLOOR_SCRIPT.format(python=sys.executable))
        floor.chmod(0o755)
        blob_floor = work / "blob-floor.py"
        blob_floor.write_text(BLOB_FLOOR_SCRIPT.format(python=sys.executable, blobs=str(work / "blobs.marshal")))
        blob_floor.chmod(0o755)
        tools = {**TOOLS, FLOOR: [("filter.x.process", str(floor))], BLOB_FLOOR: [("filter.x.process", str(blob_floor))]}
        if args.before:
            tools["nbgit before"] = [("filter.x.process", str(args.before.resolve() / FILTER_PROCESS.name))]
            tools["nbgit before keeping no outputs"] = [*tools["nbgit before"], ("nbgit.restore", "false")]
        tools = {tool: config for tool, config in tools.items() if tool not in args.skip}
        for name in args.set or list(SETS):
            count, quick_count, add_target, build = SETS[name]
            corpus: Corpus = build(work / name, quick_count if args.quick else count)
            blobs = nbgit_blobs(corpus.files)
            (work / "blobs.marshal").write_bytes(marshal.dumps(blobs))
            print(f"  {name}: {corpus.describe()} ...", file=sys.stderr)
            results = measure_tools(work, work / name, tools, rounds, blobs)
            targets = {"status": STATUS_TARGETS, "add": {"no filter": add_target}}
            report_set(f"{name}: {corpus.describe()}; load average now {os.getloadavg()[0]:.1f}", results, targets)
            shutil.rmtree(work / name)
        if not args.no_memory:
            size, peak = peak_memory(work, 20_000_000)
            base = baseline_memory()
            print(f"\nfilter peak RSS on a {size / 1e6:.1f} MB notebook: {peak / 1e6:.1f} MB = {peak / size:.2f}x the file "
                  f"(target <= 4x; the idle interpreter alone: {base / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
