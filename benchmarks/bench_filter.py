"""nbgit's git filter against no filter, a `cat` filter, nbstripout and nb-clean 5, side by side.

    .venv/bin/python benchmarks/bench_filter.py            # 1000 x 50 KB and 100 x 1 MB notebooks
    .venv/bin/python benchmarks/bench_filter.py --quick    # 200 x 50 KB and 20 x 1 MB, one run each

Generates notebooks (outputs, base64 PNG images, widget and editor metadata) in a temporary folder,
installs the peers into benchmarks/.peers (a virtualenv, once), and measures in real repositories:

- `git status` right after touching every notebook (git re-filters each one to compare it);
- `git add -A` of every notebook into a fresh repository;
- `git checkout` of every notebook (deleted first) with nbgit announcing clean only (what it
  does) and clean plus a pass-through smudge (the alternative that `filter.nbgit.required` needs);
- the filter's peak memory on a 20 MB notebook, against the file's size.

A "protocol floor" row runs a process that reads every notebook and answers `{}` without cleaning:
the least any process filter can cost, since git still reads each file and pipes it through.

Prints absolute times (medians) and nbgit's ratio to each of the others, with the issue's targets.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import resource
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
PEERS = HERE / ".peers"
FILTER_PROCESS = Path(sys.executable).with_name("nbgit-filter-process")
SMUDGING_PROCESS = f"{sys.executable} -c 'from nbgit.filter import main; main((\"clean\", \"smudge\"))'"

# name -> git config lines (key, value) of a driver `x`; None: no filter at all
TOOLS: dict[str, list[tuple[str, str]] | None] = {
    "no filter": None,
    "cat": [("filter.x.clean", "cat")],
    "nbstripout": [("filter.x.clean", str(PEERS / "bin" / "nbstripout"))],
    "nb-clean 5": [("filter.x.clean", f"{PEERS / 'bin' / 'nb-clean'} clean")],
    "nbgit": [("filter.x.process", str(FILTER_PROCESS))],
}
# the protocol's floor: a process that reads every notebook and answers `{}` without cleaning; what
# no process filter can beat, since git must still read each file and send it through the pipe
FLOOR = "protocol floor"
FLOOR_SCRIPT = """#!{python}
from nbgit.filter import serve
serve(open(0, "rb", buffering=1 << 18), open(1, "wb", buffering=1 << 18), lambda command, path, data: ("success", b"{{}}"))
"""
CHECKOUT_VARIANTS: dict[str, list[tuple[str, str]] | None] = {
    "no filter": None,
    "nbgit clean only": [("filter.x.process", str(FILTER_PROCESS))],
    "nbgit clean+smudge, required": [("filter.x.process", SMUDGING_PROCESS), ("filter.x.required", "true")],
}


# --- inputs ------------------------------------------------------------------------------------


def png(rng: random.Random, size: int) -> bytes:
    """A valid PNG of about `size` bytes (noise does not compress, like real plots' base64 payload)."""
    width = max(8, int((size / 3) ** 0.5))
    rows = b"".join(b"\0" + rng.randbytes(width * 3) for _ in range(width))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, width, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 1)) + chunk(b"IEND", b"")


def notebook(rng: random.Random, size: int) -> bytes:
    """A notebook of about `size` bytes: code with outputs and images, markdown, volatile metadata."""
    cells = []
    images = max(1, size // 40_000)
    image_bytes = int(size * 0.98 / images / 1.37)
    for n in range(images):
        cells.append({"cell_type": "markdown", "id": f"md{n}", "metadata": {}, "source": [f"## Step {n}\n", "Some words about the plot below.\n"]})
        source = [f"x{n} = load({n})\n", f"plt.plot(x{n}, x{n} ** 2)\n", "plt.show()"]
        outputs = [
            {"name": "stdout", "output_type": "stream", "text": [f"loaded {rng.randint(1, 10**6)} rows\n"] * 5},
            {
                "data": {"image/png": base64.b64encode(png(rng, image_bytes)).decode(), "text/plain": ["<Figure size 640x480 with 1 Axes>"]},
                "metadata": {"needs_background": "light"},
                "output_type": "display_data",
            },
            {
                "data": {"text/html": [f"<tr><td>{rng.random()}</td></tr>\n" for _ in range(20)], "text/plain": ["table"]},
                "execution_count": n + 1,
                "metadata": {},
                "output_type": "execute_result",
            },
        ]
        metadata = {"ExecuteTime": {"end_time": "2024-05-01T10:00:00.000Z", "start_time": "2024-05-01T09:59:59.000Z"}}
        cells.append({"cell_type": "code", "execution_count": n + 1, "id": f"code{n}", "metadata": metadata, "outputs": outputs, "source": source})
    content = {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python", "version": "3.11.4"},
            "vscode": {"interpreter": {"hash": rng.randbytes(32).hex()}},
            "widgets": {"application/vnd.jupyter.widget-state+json": {"state": {rng.randbytes(16).hex(): {"model_name": "IntSliderModel", "state": {"value": rng.randint(0, 99)}}}, "version_major": 2, "version_minor": 0}},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return (json.dumps(content, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()


def generate(folder: Path, count: int, size: int, seed: int) -> int:
    """`count` notebooks of about `size` bytes in `folder`; returns the total bytes."""
    folder.mkdir(parents=True)
    total = 0
    for i in range(count):
        data = notebook(random.Random(seed * 100_000 + i), size)
        (folder / f"nb{i:04d}.ipynb").write_bytes(data)
        total += len(data)
    return total


# --- measuring ---------------------------------------------------------------------------------


def git(repo: Path, *args: str) -> tuple[float, float]:
    """Run git in `repo`, failing loudly; return (wall, CPU) seconds, CPU counting git and its filters.

    On a shared machine the wall time depends on what else runs; the CPU time much less.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} failed in {repo}:\n{done.stderr.decode()}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def make_repo(path: Path, notebooks: Path, config: list[tuple[str, str]] | None) -> None:
    """A fresh repository at `path` whose work tree hard-links the generated notebooks."""
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


def touch_all(folder: Path) -> None:
    """A new modification time for every file (content unchanged)."""
    stamp = time.time() + random.random()
    for path in folder.iterdir():
        os.utime(path, (stamp, stamp))


def median(runs: list[tuple[float, float]]) -> tuple[float, float]:
    """Median wall and median CPU time of several runs."""
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def measure_tool(
    work: Path, notebooks: Path, config: list[tuple[str, str]] | None, repeat: int, check_clean: bool = True
) -> dict[str, tuple[float, float]]:
    """Median `git add -A` (fresh repository) and `git status` (after touching) times for one setup."""
    repo = work / "repo"
    adds, statuses = [], []
    for _ in range(repeat):
        make_repo(repo, notebooks, config)
        adds.append(git(repo, "add", "-A"))
    git(repo, "commit", "-q", "-m", "notebooks")
    for _ in range(repeat):
        time.sleep(1.1)  # past the index's own timestamp: no racily-clean entries
        touch_all(repo / "nbs")
        statuses.append(git(repo, "status", "--porcelain"))
        left = subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True).stdout
        if left.strip() and check_clean:
            print(f"  note: git status not clean after touching: {left[:200]!r}", file=sys.stderr)
    return {"add": median(adds), "status": median(statuses)}


def measure_checkout(work: Path, notebooks: Path, config: list[tuple[str, str]] | None, repeat: int) -> tuple[float, float]:
    """Median `git checkout -- nbs` time after deleting every notebook."""
    repo = work / "repo"
    make_repo(repo, notebooks, config)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "notebooks")
    times = []
    for _ in range(repeat):
        shutil.rmtree(repo / "nbs")
        times.append(git(repo, "checkout", "--", "nbs"))
    return median(times)


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


# --- peers and report --------------------------------------------------------------------------


def install_peers() -> None:
    """nbstripout and nb-clean 5 in benchmarks/.peers, once."""
    if (PEERS / "bin" / "nb-clean").exists() and (PEERS / "bin" / "nbstripout").exists():
        return
    print("installing nbstripout and nb-clean 5 into benchmarks/.peers ...", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(PEERS)], check=True)
    subprocess.run([str(PEERS / "bin" / "pip"), "install", "-q", "nbstripout", "nb-clean>=5"], check=True)


def ratio_line(ours: str, name: str, mine: tuple[float, float], other: tuple[float, float], target: float | None) -> str:
    """`ours / name` as wall and CPU ratios, with the target's verdict."""
    wall, cpu = (n / o if o else float("nan") for n, o in zip(mine, other))
    verdict = "" if target is None else f"  target <= {target}: wall {'met' if wall <= target else 'MISSED'}, CPU {'met' if cpu <= target else 'MISSED'}"
    return f"    {ours} / {name:<14} wall {wall:6.2f}x  CPU {cpu:6.2f}x{verdict}"


def report_set(label: str, results: dict[str, dict[str, tuple[float, float]]], targets: dict[str, dict[str, float]]) -> None:
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
    floor = results.get(FLOOR)
    if floor:
        print("  git status, the floor (no process filter can do better):")
        for tool in ("cat", "nb-clean 5", "no filter"):
            if tool in results:
                print(ratio_line("floor", tool, floor["status"], results[tool]["status"], None))


def main(argv: list[str] | None = None) -> int:
    """Run every measurement and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer notebooks, one run each")
    parser.add_argument("--skip", action="append", default=[], choices=[*TOOLS, FLOOR], help="leave a tool out (repeatable)")
    parser.add_argument("--repeat", type=int, help="runs per measurement (median); default 3, 1 with --quick")
    args = parser.parse_args(argv)
    repeat = args.repeat or (1 if args.quick else 3)
    sets = [("50 KB", 200 if args.quick else 1000, 50_000, 1.0), ("1 MB", 20 if args.quick else 100, 1_000_000, 0.15)]
    install_peers()
    # an installed nbgit runs from compiled bytecode: let Python write it, then warm it up once
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    baseline_memory()
    os.environ.update(
        HOME=tempfile.mkdtemp(prefix="nbgit-bench-home-"), GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@example.com",
        GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@example.com",
    )
    print(f"git {subprocess.run(['git', '--version'], capture_output=True, text=True).stdout.split()[-1]}, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}, repeat {repeat} (medians)")
    with tempfile.TemporaryDirectory(prefix="nbgit-bench-") as tmp:
        work = Path(tmp)
        floor = work / "floor.py"
        floor.write_text(FLOOR_SCRIPT.format(python=sys.executable))
        floor.chmod(0o755)
        TOOLS[FLOOR] = [("filter.x.process", str(floor))]
        for label, count, size, add_target in sets:
            notebooks = work / f"set-{count}"
            total = generate(notebooks, count, size, seed=count)
            results = {}
            for tool, config in TOOLS.items():
                if tool in args.skip:
                    continue
                print(f"  {label}: {tool} ...", file=sys.stderr)
                results[tool] = measure_tool(work, notebooks, config, repeat, check_clean=tool != FLOOR)
            targets = {"status": {"nb-clean 5": 0.25, "cat": 0.4, "no filter": 3.0}, "add": {"no filter": add_target}}
            report_set(f"{count} notebooks of ~{label} ({total / 1e6:.0f} MB in all)", results, targets)
            print("  git checkout -- nbs (every notebook deleted first):")
            for variant, config in CHECKOUT_VARIANTS.items():
                wall, cpu = measure_checkout(work, notebooks, config, repeat)
                print(f"    {variant:<30} wall {wall:7.3f} s  CPU {cpu:7.3f} s")
            shutil.rmtree(notebooks)
        size, peak = peak_memory(work, 20_000_000)
        base = baseline_memory()
        print(f"\nfilter peak RSS on a {size / 1e6:.1f} MB notebook: {peak / 1e6:.1f} MB = {peak / size:.2f}x the file "
              f"(target <= 4x; the idle interpreter alone: {base / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
