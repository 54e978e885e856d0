"""What the `duplicate-code` check costs: `nbgit check --all` and the pre-commit hook, with and without it.

    .venv/bin/python benchmarks/bench_duplicates.py            # 1000 notebooks plus twins, 5 rounds
    .venv/bin/python benchmarks/bench_duplicates.py --quick    # 200 notebooks, 2 rounds
    .venv/bin/python benchmarks/bench_duplicates.py --tokenise # the fingerprints alone, in this process

The repository is built from the real notebooks of ../shared/corpus/dev of 15-150 KB (every kernel
language), repeated under `nbs/rNN/` until there are 1000, each paired with its `py:percent` twin by
`nbgit sync --all` (pairing on, as a team using twins has it), committed. Each repeat shifts the numbers in its code (`0.5` -> `3.5`), so repeats are copies only
where a line has no number; with `--identical` they are exact copies (every notebook copied 5 times:
the worst case for grouping). Timed, with CI=1 (files judged as they are), tools alternated round by
round, medians of wall time and of CPU time (user + system of every process: steadier than wall time
on a shared machine):

- `nbgit check --all`, every check, the fingerprint index warm; the same with `duplicate-code`
  disabled; and `duplicate-code` alone with its index and the kept copies deleted before each run
  (cold: every file read and tokenised, on every core). The policy changes from one run to the next,
  so no run finds the verdicts or the copies of the one before in the cache (bench_check.py times
  re-runs);
- the pre-commit hook (`nbgit hook pre-commit`) on a commit of 5 changed notebooks, with the check
  and without it.

`--tokenise` times only what a cold run does per file, in this process: `notebook_units` (parse,
tokenise, normalise, hash) over every notebook of ../shared/corpus/dev as it is (distinct notebooks,
outputs and all), and over the clean code alone (the notebooks with their outputs dropped), CPU time,
medians of 7 rounds. Run it with another virtualenv's python to time that nbgit's tokenizer.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from corpora import CORPUS  # the corpus of real notebooks (benchmarks/corpora.py)

NBGIT = str(Path(sys.executable).with_name("nbgit"))
OTHER_CHECKS = ["not-clean", "invalid", "conflict", "unsynced", "orphan", "hidden-state", "untitled", "output-size", "notebook-size", "not-installed"]
PAIRING = '[pair]\nenabled = true\nformat = "py:percent"\n'
POLICIES = {
    "with duplicate-code": PAIRING,
    "without duplicate-code": PAIRING + '[check]\ndisable = ["duplicate-code"]\n',
    "duplicate-code alone": PAIRING + f"[check]\ndisable = {json.dumps(OTHER_CHECKS)}\n",
}


def build(repo: Path, count: int, identical: bool) -> tuple[int, int]:
    """The repository: `count` corpus notebooks (those of 15-150 KB) paired with twins by `nbgit sync`, committed."""
    sources = sorted(p for p in CORPUS.rglob("*.ipynb") if 15_000 <= p.stat().st_size <= 150_000)
    total = 0
    for number in range(count):
        source = sources[number % len(sources)]
        repeat = number // len(sources)
        content = json.loads(source.read_bytes())
        if repeat and not identical:
            for cell in content.get("cells", []):
                if cell.get("cell_type") == "code":
                    text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
                    cell["source"] = re.sub(r"\b\d+\b", lambda m: str(int(m.group()) + 3 * repeat), text)
        target = repo / "nbs" / f"r{repeat:02d}" / source.relative_to(CORPUS).as_posix().replace("/", "__")
        target.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps(content, indent=1, ensure_ascii=False).encode()
        target.write_bytes(data)
        total += len(data)
    (repo / ".nbgit.toml").write_text(PAIRING)
    subprocess.run([NBGIT, "sync", "--all"], cwd=repo, capture_output=True)  # twins for every notebook jupytext can write
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", "corpus", "--no-verify"], cwd=repo, check=True)
    return count, total


def timed(command: list[str], cwd: Path, env: dict[str, str], before: object = None) -> tuple[float, float]:
    """Wall seconds, and CPU seconds (user + system, the command and every process it started)."""
    if before:
        before()  # type: ignore[operator]
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, env=env)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr.decode()[-800:]}")
    return elapsed, after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime


def measure_all(repo: Path, rounds: int) -> dict[str, tuple[float, float]]:
    """`nbgit check --all` under each policy, alternated round by round (index warm unless cold)."""
    env = {**os.environ, "CI": "1"}
    cache = repo / ".git" / "nbgit"

    def cold() -> None:
        for name in ("fingerprints", "check-results"):  # (an nbgit from before the kept results has none)
            (cache / name).unlink(missing_ok=True)

    cases = {
        **{f"check --all, {name}": (POLICIES[name], None) for name in ("with duplicate-code", "without duplicate-code", "duplicate-code alone")},
        "check --all, duplicate-code alone, index deleted (cold)": (POLICIES["duplicate-code alone"], cold),
    }
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
    for round_ in range(rounds + 1):
        for name, (policy, before) in cases.items():
            (repo / ".nbgit.toml").write_text(policy)
            elapsed = timed([NBGIT, "check", "--all"], repo, env, before)
            if round_:  # the first round warms up every case
                times[name].append(elapsed)
    (repo / ".nbgit.toml").write_text(PAIRING)
    return {name: _medians(values) for name, values in times.items()}


def measure_hook(repo: Path, rounds: int) -> dict[str, tuple[float, float]]:
    """The pre-commit hook on 5 changed notebooks (a cell added to each), with and without the check."""
    notebooks = sorted(repo.glob("nbs/r00/*.ipynb"))[:5]
    for path in notebooks:
        content = json.loads(path.read_bytes())
        content["cells"].append({"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": ["total = sum(range(10))\n"]})
        path.write_text(json.dumps(content, indent=1))
    subprocess.run(["git", "add", *map(str, notebooks)], cwd=repo, check=True)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    names = ("with duplicate-code", "without duplicate-code")
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
    for round_ in range(rounds + 1):
        for name in names:
            (repo / ".nbgit.toml").write_text(POLICIES[name])
            elapsed = timed([NBGIT, "hook", "pre-commit"], repo, env)
            if round_:
                times[name].append(elapsed)
    return {f"hook pre-commit, 5 notebooks, {name}": _medians(values) for name, values in times.items()}


def measure_tokenising(rounds: int = 7) -> None:
    """CPU time of `notebook_units` over the corpus's notebooks, as they are and with their outputs dropped."""
    from nbgit import fastjson
    from nbgit.check.fingerprints import notebook_units

    originals = [path.read_bytes() for path in sorted(CORPUS.rglob("*.ipynb"))]
    if hasattr(fastjson, "loaded"):  # (msgspec loaded as the fingerprint index has it loaded for a cold run; an older nbgit has no such step)
        fastjson.loaded(len(originals))
    sets = {"as they are": originals, "outputs dropped": [_without_outputs(data) for data in originals]}
    for label, datas in sets.items():
        times = []
        for _ in range(rounds):
            start = time.process_time()
            for data in datas:
                notebook_units(data)
            times.append(time.process_time() - start)
        took = statistics.median(times)
        print(f"  notebook_units, {len(datas)} notebooks {label} ({sum(map(len, datas)) / 1e6:.1f} MB): "
              f"{took * 1000:.0f} ms CPU, {took / len(datas) * 1e6:.0f} µs per notebook")


def _without_outputs(data: bytes) -> bytes:
    try:
        content = json.loads(data)
        for cell in content["cells"]:
            cell.pop("outputs", None)
        return json.dumps(content).encode()
    except (ValueError, KeyError, TypeError, AttributeError):
        return data  # (not a notebook of cells: timed as it is)


def _medians(values: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(v[0] for v in values), statistics.median(v[1] for v in values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 notebooks, 2 rounds")
    parser.add_argument("--count", type=int, default=None, help="notebooks (default 1000, --quick 200)")
    parser.add_argument("--identical", action="store_true", help="repeats are exact copies (the worst case)")
    parser.add_argument("--tokenise", action="store_true", help="time only the fingerprints of the corpus's notebooks, in this process")
    args = parser.parse_args(argv)
    if not CORPUS.is_dir():
        raise SystemExit(f"needs the corpus at {CORPUS}")
    if args.tokenise:
        measure_tokenising()
        return 0
    count = args.count or (200 if args.quick else 1000)
    rounds = 2 if args.quick else 5
    with tempfile.TemporaryDirectory(prefix="nbgit-bench-duplicates-") as temporary:
        repo = Path(temporary) / "repo"
        repo.mkdir()
        subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
        notebooks, size = build(repo, count, args.identical)
        twins = len(list(repo.glob("nbs/*/*.py")))
        print(f"{notebooks} notebooks ({size / notebooks / 1000:.0f} KB on average) and {twins} twins, "
              f"{'identical' if args.identical else 'numbers shifted in'} repeats; {os.cpu_count()} cores; median of {rounds} rounds")
        done = subprocess.run([NBGIT, "check", "--all", "--format", "json"], cwd=repo, capture_output=True, env={**os.environ, "CI": "1"})
        groups = [r for r in json.loads(done.stdout) if r["id"] == "duplicate-code"]
        print(f"duplicate-code groups: {len(groups)}, places: {sum(len(r['copies']['places']) for r in groups)}")
        results = {**measure_all(repo, rounds), **measure_hook(repo, rounds)}
        width = max(map(len, results))
        print(f"  {'':<{width}}  wall s   CPU s")
        for name, (wall, cpu) in results.items():
            print(f"  {name:<{width}} {wall:7.2f} {cpu:7.2f}")
        shutil.rmtree(repo / ".git" / "nbgit", ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
