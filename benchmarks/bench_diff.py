"""Benchmark: readable notebook diffs, nbgit against the peers, side by side.

1. `git diff` of a changed 1 MB notebook (one source line edited in the work tree): plain git (no
   driver), nbgit's textconv (cached, as `nbgit install` wires it), nbdime's git diff driver and
   nbstripout's textconv. Target: nbgit <= 10x plain git.
2. The HTML report of a changed 20 MB notebook full of images (`nbgit diff --format html`, outputs
   kept) against nbdime's `nbdiff` of the same pair. Target: nbgit <= 0.5x nbdime.
3. The HTML report of the largest corpus notebook with images (committed outputs shown, images
   compared by decoded pixels, difference pictures) against `nbdiff` of the same two versions: sources
   edited, plots re-encoded with the same pixels, plots swapped. Target: nbgit <= 0.5x nbdime.
4. Cell handles in notebooks without ids: lines `git diff` (textconv) shows for one inserted, deleted,
   moved or edited cell over the corpus, with positional handles (`[code cell 3]`, nbgit before) and
   without (`[code]`, now).

Inputs are generated in a temporary folder; the peers are installed into benchmarks/.peers.
Run: .venv/bin/python benchmarks/bench_diff.py [--quick]
"""

from __future__ import annotations

import argparse
import base64
import difflib
import io
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
CORPUS = HERE.parents[1] / "shared" / "corpus"
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


def largest_corpus_notebook_with_images() -> Path | None:
    """The largest v4 corpus notebook that has PNG outputs (none when the corpus is absent)."""
    best = None
    for path in (CORPUS / "dev").glob("**/*.ipynb"):
        data = path.read_bytes()
        if b'"image/png"' in data and b'"nbformat": 4' in data and (best is None or len(data) > best.stat().st_size):
            best = path
    return best


def reviewed_version(content: dict, seed: int) -> dict:
    """The notebook after a review-sized change: 10 sources edited, 5 plots re-encoded (same pixels), 5 plots swapped."""
    from PIL import Image

    rng = random.Random(seed)
    content = json.loads(json.dumps(content))
    code = [c for c in content["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]
    for cell in rng.sample(code, min(10, len(code))):
        cell["source"] = "".join(cell["source"]) + "\n# reviewed"
    plots = [o["data"] for c in code for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    rng.shuffle(plots)
    for data in plots[:5]:
        out = io.BytesIO()
        Image.open(io.BytesIO(base64.b64decode(data["image/png"]))).save(out, "PNG", compress_level=1)
        data["image/png"] = base64.b64encode(out.getvalue()).decode()
    swapped = plots[5:10]
    for data, other in zip(swapped, swapped[1:] + swapped[:1]):
        data["image/png"], other["image/png"] = other["image/png"], data["image/png"]
    return content


def bench_corpus_report(tmp: Path, repeat: int) -> list[tuple[str, float]] | None:
    source = largest_corpus_notebook_with_images()
    if source is None:
        print("\n(no corpus at ../shared/corpus: the corpus report is skipped)")
        return None
    content = json.loads(source.read_bytes())
    data, changed = dump(content), dump(reviewed_version(content, seed=5))
    print(f"\nHTML report of {source.name} ({len(data) / 1e6:.1f} MB; 10 sources edited, 5 plots re-encoded, 5 swapped), median of {repeat}")
    repo = git_repo(tmp / "corpus-report", "", {}, data, changed)
    subprocess.run(["git", "commit", "-q", "-a", "-m", "reviewed"], cwd=repo, check=True)
    (tmp / "a.ipynb").write_bytes(data)
    (tmp / "b.ipynb").write_bytes(changed)
    nbgit_command = [str(NBGIT), "diff", "HEAD~1..HEAD", "--format", "html", "--output", str(tmp / "corpus.html")]
    nbdime_command = [str(peer("nbdiff")), "--no-color", str(tmp / "a.ipynb"), str(tmp / "b.ipynb")]
    run(nbgit_command, repo)
    html = (tmp / "corpus.html").read_text()
    pictures = html.count('<figure class="diff">')
    print(f"  (nbgit's report: {len(html) / 1e6:.1f} MB, {pictures} difference pictures)")
    times: dict[str, list[float]] = {"nbdime nbdiff": [], "nbgit diff --format html": []}
    for _ in range(repeat):  # alternate the tools round by round: the machine is shared
        times["nbdime nbdiff"].append(run(nbdime_command, tmp))
        times["nbgit diff --format html"].append(run(nbgit_command, repo))
    return [(name, statistics.median(values)) for name, values in times.items()]


def changed_lines(a: str, b: str) -> int:
    return sum(1 for line in difflib.unified_diff(a.splitlines(), b.splitlines(), lineterm="", n=0) if line[:1] in "+-" and line[:3] not in ("+++", "---"))


def positional(text: str) -> str:
    """textconv's text with the positional handles nbgit used before (`[code cell 3]`)."""
    import re

    counter = iter(range(1, 10**6))
    return re.sub(r"^\[(code|markdown|raw)\]", lambda m: f"[{m.group(1)} cell {next(counter)}]", text, flags=re.M)


def bench_handles() -> None:
    """Lines textconv shows for one-cell changes in corpus notebooks without ids, positional handles against none."""
    from nbgit.policy import Policy
    from nbgit.render import textconv

    notebooks = []
    for path in sorted((CORPUS / "dev").glob("**/*.ipynb")):
        try:
            content = json.loads(path.read_bytes())
        except ValueError:
            continue
        cells = content.get("cells", [])
        if content.get("nbformat") == 4 and len(cells) >= 6 and not any("id" in c for c in cells):
            notebooks.append(content)
    if not notebooks:
        return
    new = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": "x = compute()\nprint(x)"}
    changes = {
        "insert a cell at the top": lambda cells: cells.insert(0, new),
        "insert a cell in the middle": lambda cells: cells.insert(len(cells) // 2, new),
        "delete a cell in the middle": lambda cells: cells.pop(len(cells) // 2),
        "move a cell up": lambda cells: cells.insert(1, cells.pop(len(cells) // 2)),
    }
    print(f"\nlines textconv shows for a one-cell change, {len(notebooks)} corpus notebooks without ids (median / mean / max)")
    print(f"  {'change':<30} {'positional [code cell 3]':>26} {'no handle [code]':>20}")
    for name, change in changes.items():
        counts: dict[str, list[int]] = {"positional": [], "none": []}
        for content in notebooks:
            edited = json.loads(json.dumps(content))
            change(edited["cells"])
            before = textconv(json.dumps(content).encode(), "nb.ipynb", Policy()).decode()
            after = textconv(json.dumps(edited).encode(), "nb.ipynb", Policy()).decode()
            counts["positional"].append(changed_lines(positional(before), positional(after)))
            counts["none"].append(changed_lines(before, after))
        shown = [f"{statistics.median(v):g} / {statistics.mean(v):.1f} / {max(v)}" for v in counts.values()]
        print(f"  {name:<30} {shown[0]:>26} {shown[1]:>20}")


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
        corpus_rows = bench_corpus_report(tmp, repeat=3 if args.quick else 7)
        if corpus_rows:
            table(corpus_rows, "nbdime nbdiff", "nbgit (pixels compared) <= 0.5x nbdime nbdiff")
        bench_handles()


if __name__ == "__main__":
    main()
