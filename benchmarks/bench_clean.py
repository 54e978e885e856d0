"""`nbgit clean` start-up and per-notebook cost, against `python -c pass`, JSON parsing and the peers.

    .venv/bin/python benchmarks/bench_clean.py           # 30 rounds
    .venv/bin/python benchmarks/bench_clean.py --quick   # 5 rounds

Measures, on this machine (benchmarks/corpora.py makes the inputs):
- start-up: a one-shot `nbgit clean -`, `nbgit filter clean` and `nbgit textconv` of a generated
  and of a real notebook of about 50 KB, against `python -c pass` (the floor of any Python tool)
  and the peers nbstripout and nb-clean 5 (installed into benchmarks/.peers), commands taken in
  turn round by round; wall and CPU medians (the CPU time is what a loaded machine distorts least);
- the clean in-process, against `json.loads` of the same bytes: of a generated 1 MB notebook, and
  per notebook over the real ones of about 50 KB (about 50 cells and small outputs each), once the
  C reader and writer are loaded (as in the filter process);
- which heavy libraries a one-shot clean imports (it must be none).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from corpora import ABOUT_50KB, notebook, real_sources  # noqa: E402
from harness import PEERS, alternate, install_peers, machine, table, timed  # noqa: E402

from nbgit.clean import clean_bytes  # noqa: E402
from nbgit.policy import Policy, policy_from_table  # noqa: E402

BIN = Path(sys.executable).parent
HEAVY = ("nbformat", "jupytext", "nbdime", "git", "jsonschema")


def best_of(work, runs: int) -> float:
    """Fastest of `runs` in-process calls (the least disturbed by the rest of the machine)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def startup(label: str, small: bytes, rounds: int, folder: Path, skip: list[str]) -> None:
    path = folder / "nb.ipynb"
    path.write_bytes(small)
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "nbgit clean -": [str(BIN / "nbgit"), "clean", "-"],
        "nbgit filter clean": [str(BIN / "nbgit"), "filter", "clean"],
        "nbgit textconv": [str(BIN / "nbgit"), "textconv", str(path)],
        "nbstripout (peer)": [str(PEERS / "bin" / "nbstripout")],
        "nb-clean 5 clean (peer)": [str(PEERS / "bin" / "nb-clean"), "clean"],
    }
    commands = {name: command for name, command in commands.items() if not any(word in name for word in skip)}
    print(f"\none-shot start-up on a {label} of {len(small) // 1000} KB (median of {rounds} rounds)")
    runs = {name: (lambda command=command: timed(command, folder, input=small)) for name, command in commands.items()}
    table(alternate(runs, rounds), "python -c pass", "nbgit clean - <= 4x python -c pass")


def per_notebook(big: bytes, reals: list[bytes], runs: int) -> None:
    keep = policy_from_table({"outputs": "keep", "execution_count": "keep"}, "bench")
    try:
        from nbgit.fastjson import FAST_FROM
    except ImportError:  # an nbgit from before the C reader and writer (measuring the old one)
        FAST_FROM = 1
    for _ in range(FAST_FROM):  # load the C reader and writer, as a filter process does
        clean_bytes(big, "big.ipynb", Policy())
    print(f"\nin-process clean, C reader and writer loaded (best of {runs})")
    print(f"{'notebooks':44} {'step':30} {'ms':>8} {'x json.loads':>14}")
    for label, items in ((f"generated, {len(big) / 1e6:.1f} MB", [big]), (f"{len(reals)} real of 35-75 KB, per notebook", reals)):
        parse = best_of(lambda: [json.loads(d) for d in items], runs) / len(items)
        strip = best_of(lambda: [clean_bytes(d, "nb.ipynb", Policy()) for d in items], runs) / len(items)
        kept = best_of(lambda: [clean_bytes(d, "nb.ipynb", keep) for d in items], runs) / len(items)
        for name, seconds in (("json.loads", parse), ("clean_bytes, default policy", strip), ("clean_bytes, outputs kept", kept)):
            print(f"{label:44} {name:30} {seconds * 1000:8.3f} {seconds / parse:14.2f}")


def heavy_imports(small: bytes) -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "nbgit", "clean", "-"], input=small, capture_output=True, check=True
    )
    names = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.decode().splitlines() if "|" in line}
    found = sorted(n for n in names if n.split(".")[0] in HEAVY)
    print(f"\nheavy libraries imported by a one-shot clean: {', '.join(found) if found else 'none'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--skip", action="append", default=[], choices=["nbstripout"], help="leave a peer out (its start-up is seconds)")
    options = parser.parse_args()
    rounds = 5 if options.quick else 30
    install_peers()
    print(machine())
    rng = random.Random(7)
    small, big = notebook(rng, 50_000), notebook(rng, 1_000_000)
    reals = [p.read_bytes() for p in real_sources(ABOUT_50KB)]
    typical = min(reals, key=lambda d: abs(len(d) - 50_000))
    with tempfile.TemporaryDirectory() as folder:
        startup("generated notebook", small, rounds, Path(folder), options.skip)
        startup("real notebook", typical, rounds, Path(folder), options.skip)
    per_notebook(big, reals, rounds)
    heavy_imports(small)


if __name__ == "__main__":
    main()
