"""`nbgit sync --all` against `jupytext --sync`, over paired notebooks of about 50 KB.

    .venv/bin/python benchmarks/bench_sync.py           # 100 pairs, 3 runs of each, both sets
    .venv/bin/python benchmarks/bench_sync.py --quick   # 100 pairs, 1 run; per-notebook jupytext on 10, scaled
    .venv/bin/python benchmarks/bench_sync.py --set real

Two sets: generated notebooks (12 markdown and 12 code cells, a plot every few cells) and real
Python notebooks of about 50 KB from ../shared/corpus/dev (benchmarks/corpora.py), repeated.

A repository of paired notebooks (twins made by `nbgit pair`, committed) in which every notebook then
had one code cell edited, as after a working session. The same state is copied for each tool:

- `nbgit sync --all`: one process, three-way against git;
- `jupytext --sync nbs/*.ipynb`: one process over all notebooks (pairing from the `jupytext.toml`
  that nbgit writes, so both tools pair the same way);
- `jupytext --sync NOTEBOOK` once per notebook: how pre-commit-style hooks run it.

Then the cases with nothing to do: `nbgit sync --all` again (pairs known in step), and after deleting
nbgit's cache (a fresh clone: every pair judged through jupytext), and `python -X importtime` of the
first, which must not import jupytext. The issue's target: nbgit <= 0.5x jupytext --sync once over all.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from corpora import ABOUT_50KB, edit_source, png, real_sources  # noqa: E402
from harness import peer  # noqa: E402

BIN = Path(sys.executable).parent
TARGET = 0.5


def notebook(rng: random.Random, size: int) -> dict:
    """About `size` bytes: 12 markdown and 12 code cells, text outputs and one plot per few cells."""
    cells = []
    for n in range(12):
        cells.append({"cell_type": "markdown", "id": f"md{n}", "metadata": {}, "source": f"## Step {n}\n\nWhat this step does, in a few words ({rng.random():.4f})."})
        outputs = [{"name": "stdout", "output_type": "stream", "text": f"loaded {rng.randint(1, 10**6)} rows\n" * 3}]
        if n % 4 == 0:
            image = base64.b64encode(png(rng, size // 4)).decode()
            outputs.append({"data": {"image/png": image, "text/plain": "<Figure size 640x480 with 1 Axes>"}, "metadata": {}, "output_type": "display_data"})
        source = f"x{n} = load({n})\ny{n} = transform(x{n}, factor={rng.randint(1, 9)})\nplt.plot(x{n}, y{n})\nprint(summary(y{n}))"
        cells.append({"cell_type": "code", "execution_count": n + 1, "id": f"code{n}", "metadata": {"tags": ["step"]} if n == 3 else {}, "outputs": outputs, "source": source})
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"file_extension": ".py", "name": "python", "version": "3.11.4"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def write(path: Path, content: dict) -> None:
    from nbgit.notebook import Notebook, serialise

    path.write_bytes(serialise(Notebook(content, 4)))


def run(command: list[str], cwd: Path, expect: int = 0) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True)
    elapsed = time.perf_counter() - start
    if done.returncode != expect:
        raise SystemExit(f"{' '.join(command[:3])} exited {done.returncode} in {cwd}:\n{done.stdout.decode()[-800:]}{done.stderr.decode()[-800:]}")
    return elapsed


def generated(count: int, size: int) -> list[dict]:
    return [notebook(random.Random(i), size) for i in range(count)]


def real(count: int) -> list[dict]:
    sources = real_sources(ABOUT_50KB, python_only=True)
    return [json.loads(sources[i % len(sources)].read_bytes()) for i in range(count)]


def prepare(folder: Path, contents: list[dict]) -> Path:
    """The edited repository: pairs committed in step, then one code cell edited in each notebook."""
    from nbgit.pairing import jupytext_config_text
    from nbgit.policy import policy_from_table

    repo = folder / "template"
    (repo / "nbs").mkdir(parents=True)
    run(["git", "init", "-q", "-b", "main"], repo)
    policy_text = "[pair]\nenabled = true\n"
    (repo / ".nbgit.toml").write_text(policy_text)
    import tomllib

    (repo / "jupytext.toml").write_text(jupytext_config_text(policy_from_table(tomllib.loads(policy_text), ".nbgit.toml")) or "")
    for i, content in enumerate(contents):
        write(repo / "nbs" / f"nb{i:03d}.ipynb", content)
    run([str(BIN / "nbgit"), "pair", "nbs"], repo)
    run(["git", "add", "-A"], repo)
    run(["git", "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-q", "-m", "pairs"], repo)
    time.sleep(1.1)  # jupytext --sync decides by modification time: the edits must be newer than the twins
    for i, content in enumerate(contents):
        write(repo / "nbs" / f"nb{i:03d}.ipynb", edit_source(content, 0, f"print('edited {i}')"))
    return repo


def fresh(template: Path, name: str) -> Path:
    target = template.parent / name
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(template, target, symlinks=True, copy_function=shutil.copy2)
    return target


def install_jupytext() -> Path:
    """jupytext (the version nbgit uses) in benchmarks/.peers."""
    from importlib.metadata import version

    return peer("jupytext", f"jupytext=={version('jupytext')}")


def imports_of(repo: Path) -> set[str]:
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "nbgit", "sync", "--all"], cwd=repo, capture_output=True)
    return {line.split("|")[-1].strip() for line in done.stderr.decode().splitlines() if "|" in line}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run each; per-notebook jupytext on 10 notebooks, scaled")
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--size", type=int, default=50_000, help="size of the generated notebooks")
    parser.add_argument("--set", action="append", choices=["generated", "real"], help="only this set (repeatable; default: both)")
    args = parser.parse_args(argv)
    jupytext = install_jupytext()
    status = 0
    for name in args.set or ["generated", "real"]:
        contents = generated(args.count, args.size) if name == "generated" else real(args.count)
        print(f"\n{name} notebooks")
        status |= measure(contents, args, jupytext)
    return status


def measure(contents: list[dict], args: argparse.Namespace, jupytext: Path) -> int:
    """Every measurement on one set of paired notebooks; 1 when a target is missed."""
    runs = 1 if args.quick else 3
    with tempfile.TemporaryDirectory(prefix="nbgit-bench-sync-") as folder:
        template = prepare(Path(folder), contents)
        sizes = [p.stat().st_size for p in (template / "nbs").glob("*.ipynb")]
        print(f"{len(sizes)} paired notebooks, {statistics.mean(sizes) / 1000:.0f} KB on average, one code cell edited in each\n")
        notebooks = sorted(f"nbs/{p.name}" for p in (template / "nbs").glob("*.ipynb"))
        times: dict[str, float] = {}
        nbgit_runs, once_runs = [], []
        for attempt in range(runs):
            repo = fresh(template, "nbgit")
            nbgit_runs.append(run([str(BIN / "nbgit"), "sync", "--all"], repo))
            check = subprocess.run([str(BIN / "nbgit"), "sync", "--check", "--all"], cwd=repo, capture_output=True)
            assert check.returncode == 0, check.stdout.decode()[-500:]
            assert "print('edited 0')" in (repo / "nbs" / "nb000.py").read_text()
            other = fresh(template, "jupytext")
            once_runs.append(run([str(jupytext), "--sync", *notebooks], other))
            assert "print('edited 0')" in (other / "nbs" / "nb000.py").read_text()
        times["nbgit sync --all"] = statistics.median(nbgit_runs)
        times["jupytext --sync (one call)"] = statistics.median(once_runs)
        each = fresh(template, "each")
        sample = notebooks[:10] if args.quick else notebooks
        start = time.perf_counter()
        for name in sample:
            run([str(jupytext), "--sync", name], each)
        times["jupytext --sync per notebook"] = (time.perf_counter() - start) * len(notebooks) / len(sample)

        repo = fresh(template, "nbgit")
        run([str(BIN / "nbgit"), "sync", "--all"], repo)
        idle = [run([str(BIN / "nbgit"), "sync", "--all"], repo) for _ in range(max(runs, 3))]
        times["nbgit sync --all, nothing to do"] = statistics.median(idle)
        imported = imports_of(repo)
        cache = repo / ".git" / "nbgit-pairs.json"
        cold = []
        for _ in range(runs):
            cache.unlink()
            cold.append(run([str(BIN / "nbgit"), "sync", "--all"], repo))
        times["nbgit sync --all, nothing to do, no cache"] = statistics.median(cold)
        times["jupytext --sync (one call), nothing to do"] = statistics.median(run([str(jupytext), "--sync", *notebooks], repo) for _ in range(runs))

    print(f"{'what':<46} {'seconds':>9}")
    for name, seconds in times.items():
        scaled = " (10 run, scaled)" if args.quick and "per notebook" in name else ""
        print(f"{name:<46} {seconds:>9.3f}{scaled}")
    ratio_once = times["nbgit sync --all"] / times["jupytext --sync (one call)"]
    ratio_each = times["nbgit sync --all"] / times["jupytext --sync per notebook"]
    print(f"\nnbgit / jupytext --sync once over all:   {ratio_once:.3f}x  (target <= {TARGET}: {'met' if ratio_once <= TARGET else 'MISSED'})")
    print(f"nbgit / jupytext --sync per notebook:    {ratio_each:.4f}x")
    heavy = sorted({"jupytext", "nbformat", "nbgit.twins"} & imported)
    print(f"nothing to do imports jupytext: {'NO' if not heavy else 'YES: ' + ', '.join(heavy)}")
    return 0 if ratio_once <= TARGET and not heavy else 1




if __name__ == "__main__":
    raise SystemExit(main())
