"""What the smudge costs on clean notebooks (nearly every one a checkout writes), in process, two nbgit trees alternated.

    .venv/bin/python benchmarks/bench_smudge_scan.py OLD_SRC NEW_SRC          # e.g. ../main/src src
    .venv/bin/python benchmarks/bench_smudge_scan.py OLD_SRC NEW_SRC --quick  # 200 notebooks, 3 rounds

The notebooks are the real ones of ../shared/corpus/dev, cleaned by nbgit, those of about 50 KB once
clean (35-75 KB), repeated until there are 1000, each copy made distinct. A child process per round
imports nbgit from one tree and times (CPU, `time.process_time`) the smudge of every notebook through
`OutputKeeper.smudge` in a real repository, as the filter process calls it, with the output store on
(and empty: a clone that never recorded these notebooks) and off (`nbgit.restore = false`); also the
scan alone (`store.foreign.may_be_unclean`). The trees are taken in turn round by round (a burst of
load on the shared machine then costs each the same); medians of the rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from corpora import ABOUT_50KB, distinguish, real_sources


def make_blobs(folder: Path, count: int, src: str) -> Path:
    """`count` clean notebooks of about 50 KB in `folder/blobs` and a repository with nbgit's attributes; the repository."""
    sys.path.insert(0, src)
    from nbgit.clean import clean_bytes
    from nbgit.policy import Policy

    clean = []
    for path in real_sources():
        try:
            blob = clean_bytes(path.read_bytes(), path.name, Policy())
        except Exception:  # noqa: BLE001, S112 - a notebook nbgit refuses is not one a checkout writes clean
            continue
        if ABOUT_50KB[0] <= len(blob) <= ABOUT_50KB[1] and blob.startswith(b'{\n "cells": ['):
            clean.append(blob)
    if not clean:
        raise SystemExit("no clean notebook of about 50 KB in the corpus")
    blobs = folder / "blobs"
    blobs.mkdir()
    for i in range(count):
        (blobs / f"{i:04d}.ipynb").write_bytes(distinguish(clean[i % len(clean)], i))
    repo = folder / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / ".gitattributes").write_text("*.ipynb filter=nbgit diff=nbgit merge=nbgit\n")
    print(f"{count} clean notebooks ({len(clean)} distinct), median {statistics.median(len(b) for b in clean) / 1000:.0f} KB", flush=True)
    return repo


def child(src: str, repo: Path, blobs: Path, store: str) -> None:
    """In the child: the CPU seconds of the smudge of every blob (and of the scan alone), as JSON on stdout."""
    sys.path.insert(0, src)
    from nbgit.policy import load_policy
    from nbgit.store.foreign import may_be_unclean
    from nbgit.store.keeper import OutputKeeper

    subprocess.run(["git", "config", "nbgit.restore", "true" if store == "on" else "false"], cwd=repo, check=True)
    policy = load_policy(repo)
    named = [(f"nb/{p.name}", p.read_bytes()) for p in sorted(blobs.iterdir())]
    keeper = OutputKeeper(repo, count_at_exit=True)
    keeper.smudge(*named[0], policy)  # (the store opened, the clone's config read: once per git command)
    start = time.process_time()
    for path, blob in named:
        keeper.smudge(path, blob, policy.for_path(path))
    smudge = time.process_time() - start
    start = time.process_time()
    for _, blob in named:
        may_be_unclean(blob, policy)
    scan = time.process_time() - start
    print(json.dumps({"smudge": smudge, "scan": scan}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        src, repo, blobs, store = args.child
        child(src, Path(repo), Path(blobs), store)
        return
    count, rounds = (200, 3) if args.quick else (1000, 7)
    trees = {"before": str(Path(args.old).resolve()), "after": str(Path(args.new).resolve())}
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        repo = make_blobs(folder, count, trees["after"])
        times: dict[tuple[str, str], list[dict[str, float]]] = {}
        for round_ in range(rounds + 1):
            for store in ("on", "off"):
                for name, src in trees.items():
                    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
                    done = subprocess.run([sys.executable, __file__, "x", "x", "--child", src, str(repo), str(folder / "blobs"), store],
                                          capture_output=True, check=True, env=env)
                    if round_:  # the first round warms the caches up
                        times.setdefault((store, name), []).append(json.loads(done.stdout))
        for (store, name), runs in times.items():
            smudge = statistics.median(r["smudge"] for r in runs)
            scan = statistics.median(r["scan"] for r in runs)
            print(f"store {store:<3} {name:<6}: smudge {smudge * 1000:7.1f} ms CPU ({smudge / count * 1e6:6.1f} µs a notebook), "
                  f"may_be_unclean alone {scan * 1000:6.1f} ms")


if __name__ == "__main__":
    main()
