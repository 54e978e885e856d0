"""Benchmark: readable notebook diffs, nbgit against the peers, side by side.

1. `git diff` of a changed 1 MB notebook (one source line edited in the work tree): plain git (no
   driver), nbgit's textconv (cached, as `nbgit install` wires it), nbdime's git diff driver and
   nbstripout's textconv. Target: nbgit <= 10x plain git.
2. The HTML report of a changed 20 MB notebook full of images (`nbgit diff --format html`, outputs
   kept) against nbdime's `nbdiff` of the same pair. Target: nbgit <= 0.5x nbdime.

Inputs are generated in a temporary folder; the peers are installed into benchmarks/.peers.
Run: .venv/bin/python benchmarks/bench_diff.py [--quick]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PEERS = HERE / ".peers"
NBGIT = Path(sys.executable).with_name("nbgit")


def peer(name: str) -> Path:
    """A peer's console script, installing the peers first when missing."""
    script = PEERS / "bin" / name
    if not script.exists():
        if not (PEERS / "bin" / "python").exists():
            subprocess.run([sys.executable, "-m", "venv", str(PEERS)], check=True)
        subprocess.run([str(PEERS / "bin" / "pip"), "install", "-q", "nbdime", "nbstripout"], check=True)
    return script


def notebook(megabytes: float, images: int, seed: int) -> dict:
    """A v4.5 notebook of about `megabytes`: code cells with text outputs, `images` of them with a PNG."""
    rng = random.Random(seed)
    cells = []
    image_bytes = int(megabytes * 1_000_000 * 0.85 / max(images, 1))
    n_cells = max(images * 2, 40)
    for k in range(n_cells):
        outputs = [{"name": "stdout", "output_type": "stream", "text": [f"step {k} value {rng.random():.6f}\n" for _ in range(5)]}]
        if k % 2 == 0 and k // 2 < images:
            payload = base64.b64encode(rng.randbytes(image_bytes * 3 // 4)).decode()
            outputs.append({"data": {"image/png": payload, "text/plain": ["<Figure>"]}, "metadata": {}, "output_type": "display_data"})
        source = [f"# cell {k}\n", f"result_{k} = compute({k}, scale={rng.randint(1, 9)})\n", f"plot(result_{k})"]
        cells.append({"cell_type": "code", "execution_count": k + 1, "id": f"c{k:05d}", "metadata": {}, "outputs": outputs, "source": source})
        if k % 5 == 0:
            cells.append({"cell_type": "markdown", "id": f"m{k:05d}", "metadata": {}, "source": [f"## Section {k}\n", "Some prose."]})
    meta = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}, "language_info": {"name": "python"}}
    return {"cells": cells, "metadata": meta, "nbformat": 4, "nbformat_minor": 5}


def dump(content: dict) -> bytes:
    return (json.dumps(content, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()


def edit(content: dict, cells: int, images: int, seed: int) -> dict:
    """A copy with `cells` source lines edited and `images` images replaced."""
    rng = random.Random(seed)
    content = json.loads(json.dumps(content))
    code = [c for c in content["cells"] if c["cell_type"] == "code"]
    for cell in rng.sample(code, cells):
        cell["source"][1] = cell["source"][1].replace("scale=", "scale=2*")
    with_images = [c for c in code if len(c["outputs"]) > 1]
    for cell in rng.sample(with_images, min(images, len(with_images))):
        data = cell["outputs"][1]["data"]
        data["image/png"] = base64.b64encode(rng.randbytes(len(data["image/png"]) * 3 // 4)).decode()
    return content


def run(command: list[str] | str, cwd: Path, env: dict[str, str] | None = None, timeout: float | None = None) -> float:
    """Seconds one run takes (inf on timeout); its output is discarded but must not fail."""
    start = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, env=env, timeout=timeout, shell=isinstance(command, str))
    except subprocess.TimeoutExpired:
        return float("inf")
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"{command} failed ({done.returncode}): {done.stderr.decode()[-800:]}")
    return elapsed


def median(command: list[str], cwd: Path, repeat: int) -> float:
    run(command, cwd)  # warm: page cache, git's textconv cache
    return statistics.median(run(command, cwd) for _ in range(repeat))


def git_repo(path: Path, attributes: str, config: dict[str, str], data: bytes, changed: bytes) -> Path:
    path.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=path, check=True)
    for key, value in {"user.name": "b", "user.email": "b@example.com", **config}.items():
        subprocess.run(["git", "config", key, value], cwd=path, check=True)
    if attributes:
        (path / ".gitattributes").write_text(attributes)
    (path / "nb.ipynb").write_bytes(data)
    subprocess.run(["git", "add", "."], cwd=path, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "nb"], cwd=path, check=True)
    (path / "nb.ipynb").write_bytes(changed)
    return path


def bench_git_diff(tmp: Path, repeat: int) -> list[tuple[str, float]]:
    base = notebook(1.15, images=6, seed=1)
    data, changed = dump(base), dump(edit(base, cells=1, images=0, seed=2))
    print(f"git diff of a changed {len(data) / 1e6:.2f} MB notebook (one source line edited), median of {repeat}")
    setups = {
        "plain git diff": ("", {}),
        "nbgit textconv": ("*.ipynb diff=nbgit\n", {"diff.nbgit.textconv": f"'{NBGIT}' textconv", "diff.nbgit.cachetextconv": "true"}),
        "nbdime diff driver": ("*.ipynb diff=jupyternotebook\n", {"diff.jupyternotebook.command": f"'{peer('git-nbdiffdriver')}' diff"}),
        "nbstripout textconv": ("*.ipynb diff=ipynb\n", {"diff.ipynb.textconv": f"'{peer('nbstripout')}' -t"}),
    }
    rows = []
    for name, (attributes, config) in setups.items():
        repo = git_repo(tmp / name.replace(" ", "-"), attributes, config, data, changed)
        rows.append((name, median(["git", "diff"], repo, repeat)))
    return rows


def bench_report(tmp: Path, megabytes: float, timeout: float) -> list[tuple[str, float]]:
    base = notebook(megabytes, images=60, seed=3)
    data, changed = dump(base), dump(edit(base, cells=10, images=8, seed=4))
    print(f"\nreport of a changed {len(data) / 1e6:.1f} MB notebook (10 sources, 8 images changed)")
    repo = git_repo(tmp / "report", "", {}, data, changed)
    (repo / ".nbgit.toml").write_text('outputs = "keep"\n')
    (tmp / "old.ipynb").write_bytes(data)
    nbgit_time = run([str(NBGIT), "diff", "--format", "html", "--output", str(tmp / "report.html")], repo)
    size = (tmp / "report.html").stat().st_size
    print(f"  (nbgit's HTML report: {size / 1e6:.1f} MB)")
    nbdime_time = run([str(peer("nbdiff")), "--no-color", str(tmp / "old.ipynb"), str(repo / "nb.ipynb")], tmp, timeout=timeout)
    return [("nbdime nbdiff", nbdime_time), ("nbgit diff --format html", nbgit_time)]


def table(rows: list[tuple[str, float]], reference: str, target: str) -> None:
    ref = dict(rows)[reference]
    for name, seconds in rows:
        shown = "timed out" if seconds == float("inf") else f"{seconds * 1000:9.0f} ms"
        print(f"  {name:<26} {shown:>12}  {seconds / ref:7.2f}x {reference}")
    print(f"  target: {target}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repeats, a 5 MB report notebook")
    args = parser.parse_args()
    os.environ.setdefault("GIT_CONFIG_NOSYSTEM", "1")
    with tempfile.TemporaryDirectory(prefix="nbgit-bench-diff-") as name:
        tmp = Path(name)
        rows = bench_git_diff(tmp, repeat=3 if args.quick else 9)
        table(rows, "plain git diff", "nbgit textconv <= 10x plain git diff")
        rows = bench_report(tmp, megabytes=5 if args.quick else 20, timeout=120 if args.quick else 900)
        table(rows, "nbdime nbdiff", "nbgit <= 0.5x nbdime nbdiff")


if __name__ == "__main__":
    main()
