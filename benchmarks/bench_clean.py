"""`nbgit clean` start-up and per-notebook cost, against `python -c pass`, JSON parsing and the peers.

    .venv/bin/python benchmarks/bench_clean.py           # 30 runs per command
    .venv/bin/python benchmarks/bench_clean.py --quick   # 5 runs

Measures, on this machine:
- start-up: a one-shot `nbgit clean -` and `nbgit filter clean` of a small notebook, against
  `python -c pass` (the floor of any Python tool) and the peers nbstripout and nb-clean 5 (installed
  into benchmarks/.peers by bench_filter.py's installer when missing);
- the clean of a 1 MB notebook in-process, against `json.loads` of the same bytes (the issue asks
  that parsing dominate);
- which heavy libraries a one-shot clean imports (it must be none).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_filter import PEERS, install_peers, notebook  # noqa: E402

from nbgit.clean import clean_bytes  # noqa: E402
from nbgit.policy import Policy, policy_from_table  # noqa: E402

BIN = Path(sys.executable).parent
HEAVY = ("nbformat", "jupytext", "nbdime", "git", "jsonschema")


def median_seconds(command: list[str], stdin: bytes, runs: int) -> float:
    """Median wall time of running `command` with `stdin`, over `runs` runs after one warm-up."""
    subprocess.run(command, input=stdin, capture_output=True, check=True)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, input=stdin, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def best_of(work, runs: int) -> float:
    """Fastest of `runs` in-process calls (the least disturbed by the rest of the machine)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def startup(small: bytes, runs: int) -> None:
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "nbgit clean -": [str(BIN / "nbgit"), "clean", "-"],
        "nbgit filter clean": [str(BIN / "nbgit"), "filter", "clean"],
        "nbstripout (peer)": [str(PEERS / "bin" / "nbstripout")],
        "nb-clean 5 clean (peer)": [str(PEERS / "bin" / "nb-clean"), "clean"],
    }
    floor = median_seconds(commands["python -c pass"], b"", runs)
    print(f"\none-shot start-up on a {len(small) // 1024} KB notebook (median of {runs})")
    print(f"{'command':28} {'ms':>8} {'x python -c pass':>18}")
    for name, command in commands.items():
        if not Path(command[0]).exists():
            print(f"{name:28} {'missing':>8}")
            continue
        try:
            seconds = floor if command == commands["python -c pass"] else median_seconds(command, small, runs)
        except subprocess.CalledProcessError as error:
            print(f"{name:28} {'failed':>8} (exit {error.returncode})")
            continue
        print(f"{name:28} {seconds * 1000:8.1f} {seconds / floor:18.1f}")


def per_notebook(big: bytes, runs: int) -> None:
    keep = policy_from_table({"outputs": "keep", "execution_count": "keep"}, "bench")
    parse = best_of(lambda: json.loads(big), runs)
    strip = best_of(lambda: clean_bytes(big, "big.ipynb", Policy()), runs)
    kept = best_of(lambda: clean_bytes(big, "big.ipynb", keep), runs)
    print(f"\nin-process clean of a {len(big) / 1e6:.1f} MB notebook (best of {runs})")
    print(f"{'step':34} {'ms':>8} {'x json.loads':>14}")
    for name, seconds in (("json.loads", parse), ("clean_bytes, default policy", strip), ("clean_bytes, outputs kept", kept)):
        print(f"{name:34} {seconds * 1000:8.1f} {seconds / parse:14.2f}")


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
    options = parser.parse_args()
    runs = 5 if options.quick else 30
    install_peers()
    rng = random.Random(7)
    small, big = notebook(rng, 50_000), notebook(rng, 1_000_000)
    with tempfile.TemporaryDirectory():
        startup(small, runs)
        per_notebook(big, runs)
        heavy_imports(small)


if __name__ == "__main__":
    main()
