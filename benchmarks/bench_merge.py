"""The merge driver against nbdime's `nbmerge`, on a generated 1 MB notebook and on the real one of
../shared/corpus/dev closest to 1 MB.

    .venv/bin/python benchmarks/bench_merge.py           # 9 runs per command
    .venv/bin/python benchmarks/bench_merge.py --quick   # 3 runs

Measures, on this machine (medians of wall time, one process per merge, as git runs a driver):
- a real merge: both sides re-ran a 1 MB notebook (execution counts, outputs, timings differ) and
  edited different cells: `nbgit merge-driver` against `nbmerge` (nbdime, installed into
  benchmarks/.peers when missing); the issue's target is nbgit <= 0.5x nbmerge;
- trivial merges (one side unchanged; sides equal after cleaning): nbgit's fast path, with the list
  of heavy modules it imported (must be none);
- `python -c pass`, the floor of any Python tool;
- the real notebook: both sides re-ran it (benchmarks/corpora.py's `rerun`: new counts and printed
  numbers) and edited different code cells, nbgit and nbmerge taken in turn round by round.
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

from corpora import dump, edit_source, notebook, real_sources, rerun  # noqa: E402
from harness import alternate, peer, table, timed  # noqa: E402

from nbgit.clean import clean_bytes  # noqa: E402
from nbgit.policy import Policy  # noqa: E402

BIN = Path(sys.executable).parent
HEAVY = ("nbformat", "jupytext", "nbdime", "jsonschema", "git")


def rerun_and_edit(data: bytes, cell: int, text: str, seed: int) -> bytes:
    """The notebook re-run (new counts, outputs and timings) with `text` appended to one code cell."""
    rng = random.Random(seed)
    content = json.loads(data)
    code = [c for c in content["cells"] if c["cell_type"] == "code"]
    for count, c in enumerate(code, seed):
        c["execution_count"] = count
        c["outputs"][0]["text"] = [f"loaded {rng.randint(1, 10**6)} rows\n"] * 5
        c["metadata"]["ExecuteTime"]["end_time"] = f"2024-06-{seed % 28 + 1:02}T10:00:00.000Z"
        for output in c["outputs"]:
            if "execution_count" in output:
                output["execution_count"] = count
    if text:
        code[cell]["source"].append(f"\n{text}")
    return (json.dumps(content, indent=1, ensure_ascii=False) + "\n").encode()


def with_new_cell(data: bytes, text: str) -> bytes:
    """The notebook with a new code cell inserted first: the cell structure changes, so nbdime aligns the cells."""
    content = json.loads(data)
    content["cells"].insert(0, {"cell_type": "code", "execution_count": None, "id": "added-cell", "metadata": {}, "outputs": [], "source": [text]})
    return (json.dumps(content, indent=1, ensure_ascii=False) + "\n").encode()


def median_merge(command: list[str], folder: Path, sides: dict[str, bytes], runs: int) -> tuple[float, subprocess.CompletedProcess[bytes]]:
    """Median wall time of `command` over `runs` runs (plus a warm-up), the sides written afresh each time."""
    times, done = [], None
    for run in range(runs + 1):
        for name, data in sides.items():
            (folder / name).write_bytes(data)
        start = time.perf_counter()
        done = subprocess.run(command, cwd=folder, capture_output=True)
        if run:
            times.append(time.perf_counter() - start)
    assert done is not None
    return statistics.median(times), done


def heavy_imports(folder: Path, sides: dict[str, bytes]) -> list[str]:
    for name, data in sides.items():
        (folder / name).write_bytes(data)
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "nbgit", "merge-driver", "base", "local", "remote", "7", "nb.ipynb"],
        cwd=folder, capture_output=True,
    )
    names = {line.split("|")[-1].strip() for line in done.stderr.decode().splitlines() if line.startswith("import time:")}
    return sorted({n.split(".")[0] for n in names if n.split(".")[0] in HEAVY})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3 runs per command instead of 9")
    runs = 3 if parser.parse_args().quick else 9
    nbmerge = peer("nbmerge")
    base = notebook(random.Random(1), 1_000_000)
    local = rerun_and_edit(base, 0, "local_edit = 1", 11)
    remote = rerun_and_edit(base, -1, "remote_edit = 2", 23)
    driver = [str(BIN / "nbgit"), "merge-driver", "base", "local", "remote", "7", "nb.ipynb"]
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        subprocess.run(["git", "init", "-q"], cwd=folder, check=True)  # the driver runs inside a work tree
        floor, _ = median_merge([sys.executable, "-c", "pass"], folder, {}, runs)
        print(f"notebooks: base {len(base) / 1e6:.2f} MB, local {len(local) / 1e6:.2f} MB, remote {len(remote) / 1e6:.2f} MB; median of {runs} runs")
        print(f"{'merge':46} {'seconds':>8} {'x python':>9} {'exit':>5}")
        print(f"{'python -c pass':46} {floor:8.3f} {1:9.1f}")
        merge_sides = {"base": base, "local": local, "remote": remote}
        ours, done = median_merge(driver, folder, merge_sides, runs)
        merged = (folder / "local").read_bytes()
        assert b"local_edit = 1" in merged and b"remote_edit = 2" in merged, done.stderr.decode()
        print(f"{'nbgit merge-driver (different cells edited)':46} {ours:8.3f} {ours / floor:9.1f} {done.returncode:5}")
        theirs, done = median_merge([str(nbmerge), "base", "local", "remote", "--out", "merged"], folder, merge_sides, runs)
        print(f"{'nbmerge (nbdime, same merge)':46} {theirs:8.3f} {theirs / floor:9.1f} {done.returncode:5}")
        # a cell added on one side: not a merge in place, so nbdime aligns the cells
        added = {"base": base, "local": with_new_cell(local, "added = 0"), "remote": remote}
        ours_added, done = median_merge(driver, folder, added, runs)
        merged = (folder / "local").read_bytes()
        assert b"added = 0" in merged and b"remote_edit = 2" in merged, done.stderr.decode()
        print(f"{'nbgit merge-driver (a cell added, one edited)':46} {ours_added:8.3f} {ours_added / floor:9.1f} {done.returncode:5}")
        theirs_added, done = median_merge([str(nbmerge), "base", "local", "remote", "--out", "merged"], folder, added, runs)
        print(f"{'nbmerge (nbdime, same merge)':46} {theirs_added:8.3f} {theirs_added / floor:9.1f} {done.returncode:5}")
        # the same merge on sides already cleaned (as committed through nbgit's filter): nbdime's floor
        cleaned = {name: clean_bytes(data, "nb.ipynb", Policy()) for name, data in merge_sides.items()}
        ours_cleaned, done = median_merge(driver, folder, cleaned, runs)
        print(f"{'nbgit merge-driver, sides already clean':46} {ours_cleaned:8.3f} {ours_cleaned / floor:9.1f} {done.returncode:5}")
        theirs_cleaned, done = median_merge([str(nbmerge), "base", "local", "remote", "--out", "merged"], folder, cleaned, runs)
        print(f"{'nbmerge, sides already clean':46} {theirs_cleaned:8.3f} {theirs_cleaned / floor:9.1f} {done.returncode:5}")
        trivial = {
            "nbgit merge-driver, local unchanged": {"base": base, "local": base, "remote": remote},
            "nbgit merge-driver, both made the same change": {"base": base, "local": local, "remote": local},
            "nbgit merge-driver, equal after cleaning": {"base": base, "local": local, "remote": rerun_and_edit(base, 0, "local_edit = 1", 37)},
        }
        fast = {}
        for name, sides in trivial.items():
            fast[name], done = median_merge(driver, folder, sides, runs)
            print(f"{name:46} {fast[name]:8.3f} {fast[name] / floor:9.1f} {done.returncode:5}")
        print(f"\nnbgit / nbmerge on a real merge: {ours / theirs:.2f}x (target <= 0.5x: {'met' if ours <= 0.5 * theirs else 'MISSED'})")
        print(f"nbgit / nbmerge with a cell added: {ours_added / theirs_added:.2f}x (target <= 0.5x: {'met' if ours_added <= 0.5 * theirs_added else 'MISSED'})")
        print(f"nbgit / nbmerge on clean sides: {ours_cleaned / theirs_cleaned:.2f}x (target <= 0.5x: {'met' if ours_cleaned <= 0.5 * theirs_cleaned else 'MISSED'})")
        modules = heavy_imports(folder, trivial["nbgit merge-driver, local unchanged"])
        print(f"heavy modules imported by a trivial merge: {', '.join(modules) or 'none'}")
        real_merge(folder, driver, nbmerge, runs)


def real_merge(folder: Path, driver: list[str], nbmerge: Path, rounds: int) -> None:
    """Both sides re-ran the real notebook closest to 1 MB and edited different code cells."""
    source = min(real_sources(), key=lambda p: abs(p.stat().st_size - 1_000_000))
    base = json.loads(source.read_bytes())
    sides = {
        "base": dump(base),
        "local": dump(edit_source(rerun(base, 11), 0, "local_edit = 1")),
        "remote": dump(edit_source(rerun(base, 23), -1, "remote_edit = 2")),
    }

    def merge(command: list[str]) -> object:
        for name, data in sides.items():
            (folder / name).write_bytes(data)
        return timed(command, folder, expect=(0, 1))

    results = alternate({
        "nbmerge (nbdime)": lambda: merge([str(nbmerge), "base", "local", "remote", "--out", "merged"]),
        "nbgit merge-driver": lambda: merge(driver),
    }, rounds)
    merged = (folder / "local").read_bytes()
    assert b"local_edit = 1" in merged and b"remote_edit = 2" in merged
    print(f"\nreal notebook {source.name} ({len(sides['base']) / 1e6:.2f} MB), both sides re-ran it and edited different cells; median of {rounds}")
    table(results, "nbmerge (nbdime)", "nbgit <= 0.5x nbmerge")


if __name__ == "__main__":
    main()
