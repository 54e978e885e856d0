"""Outputs restored by nbgit's filter: what checkouts, `git status` and the store cost, on real notebooks.

    .venv/bin/python benchmarks/bench_restore.py            # 1000 notebooks, 5 rounds, 100 switches
    .venv/bin/python benchmarks/bench_restore.py --quick    # 200 notebooks, 2 rounds, 10 switches

The notebooks are the real ones of ../shared/corpus/dev of about 50 KB (35-75 KB, with outputs),
repeated and renamed until there are as many as asked. Measured in real repositories, the setups
alternated round by round (a burst of load on the shared machine then costs each the same), medians:

- `git checkout -- .` of every notebook (deleted first): nbgit restoring the outputs, against a
  repository that commits the same notebooks with their outputs and runs no filter at all (target:
  at most 2x), and nbgit in a clone that keeps no outputs (`nbgit.restore = false`);
- `git status` right after touching every notebook (git cleans each again, and nbgit records it):
  nbgit keeping outputs against nbgit in a clone that keeps none (target: within 10%);
- the store after switching between two branches 100 times, in a repository of the distinct
  notebooks (each has one code cell edited and run again on the other branch; `git status` after
  touching every notebook at each switch): its size against the outputs' own size, what the filter
  strips from the notebooks of one branch (target: at most 1.5x).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from corpora import ABOUT_50KB, real  # noqa: E402
from harness import Took, git, machine, median, touch_all  # noqa: E402
from nbgit.clean import clean_bytes  # noqa: E402
from nbgit.notebook import cells, parse, serialise  # noqa: E402
from nbgit.policy import Policy  # noqa: E402

NBGIT = Path(sys.executable).with_name("nbgit")


# --- the notebooks -----------------------------------------------------------------------------


def rerun_one_cell(path: Path) -> None:
    """The notebook with its first code cell that has outputs edited and run again (new output text)."""
    notebook = parse(path.read_bytes(), path.name)
    for cell in cells(notebook.content):
        if cell.get("cell_type") == "code" and cell.get("outputs"):
            key = "input" if "input" in cell else "source"
            cell[key] = cell[key] + "\n# changed on the other branch"
            stream = {"output_type": "stream", "text": "ran on the other branch\n"}
            stream.update({"stream": "stdout"} if key == "input" else {"name": "stdout"})
            cell["outputs"] = [stream, *cell["outputs"][1:]]
            break
    path.write_bytes(serialise(notebook))


# --- repositories ------------------------------------------------------------------------------


def make_repo(path: Path, notebooks: list[Path], setup: str) -> Path:
    """A repository holding `notebooks` under nbs/, committed: `plain` (no filter), `restore` or `no-restore` (nbgit)."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    if setup != "plain":
        done = subprocess.run([str(NBGIT), "install", "--no-hooks", *(["--no-restore"] if setup == "no-restore" else [])], cwd=path, capture_output=True)
        if done.returncode != 0:
            raise SystemExit(done.stderr.decode())
    (path / "nbs").mkdir()
    for source in notebooks:
        shutil.copyfile(source, path / "nbs" / source.name)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "notebooks")
    return path


def store_size(repo: Path) -> tuple[int, int, int]:
    """(apparent bytes, disk bytes, files) of the repository's output store."""
    size = disk = files = 0
    for path in (repo / ".git" / "nbgit" / "outputs").rglob("*"):
        if path.is_file():
            stat = path.stat()
            size, disk, files = size + stat.st_size, disk + stat.st_blocks * 512, files + 1
    return size, disk, files


def stripped_size(folder: Path) -> int:
    """What the filter strips from the notebooks in `folder`: their outputs' own size."""
    return sum(len(data) - len(clean_bytes(data, p.name, Policy())) for p in folder.iterdir() for data in [p.read_bytes()])


# --- the measurements --------------------------------------------------------------------------


def checkout_all(repo: Path) -> Took:
    shutil.rmtree(repo / "nbs")
    return git(repo, "checkout", "--", ".")


def status_after_touch(repo: Path, notebooks: list[Path]) -> Took:
    """`git status` with the notebooks (outputs and all) in the work tree, every one touched."""
    for source in notebooks:  # a clone that keeps no outputs got them back without: the same files for both
        shutil.copyfile(source, repo / "nbs" / source.name)
    git(repo, "add", "-A")  # the index takes their sizes (the blobs stay): else git calls them modified unread
    time.sleep(1.1)  # past the index's own timestamp: no racily clean entries
    touch_all(repo / "nbs")
    return git(repo, "status", "--porcelain")


def switches(repo: Path, count: int) -> None:
    """`count` branch switches, `git status` after touching every notebook at each."""
    for n in range(count):
        git(repo, "checkout", "-q", "other" if n % 2 == 0 else "main")
        touch_all(repo / "nbs")
        git(repo, "status", "--porcelain")


def report(runs: dict[str, list[Took]], base: str, labels: dict[str, str]) -> None:
    """One line per setup: median wall and CPU seconds, and each as a ratio to `base`'s."""
    reference = median(runs[base])
    for setup, label in labels.items():
        took = median(runs[setup])
        print(f"  {label:<44} {took.wall:6.3f} s {took.wall / reference.wall:5.2f}x {took.cpu:6.3f} s {took.cpu / reference.cpu:5.2f}x")


def target(what: str, mine: Took, other: Took, limit: float) -> None:
    wall, cpu = mine.wall / other.wall, mine.cpu / other.cpu
    print(f"  target: {what}: wall {wall:.2f}x {'met' if wall <= limit else 'MISSED'}, CPU {cpu:.2f}x {'met' if cpu <= limit else 'MISSED'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 notebooks, 2 rounds, 10 switches")
    parser.add_argument("--count", type=int, help="notebooks (default 1000, 200 with --quick)")
    parser.add_argument("--rounds", type=int, help="rounds of each timing (default 5, 2 with --quick)")
    parser.add_argument("--switches", type=int, help="branch switches for the store size (default 100, 10 with --quick)")
    args = parser.parse_args(argv)
    count = args.count or (200 if args.quick else 1000)
    rounds = args.rounds or (2 if args.quick else 5)
    switch_count = args.switches or (10 if args.quick else 100)
    os.environ.update(
        HOME=tempfile.mkdtemp(prefix="nbgit-bench-home-"), GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@example.com", GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@example.com",
        PATH=f"{NBGIT.parent}{os.pathsep}{os.environ['PATH']}",
    )
    print(f"{machine()}; {rounds} rounds (medians)")
    with tempfile.TemporaryDirectory(prefix="nbgit-bench-restore-") as tmp:
        work = Path(tmp)
        corpus = real(work / "notebooks", count, ABOUT_50KB, with_outputs=True)
        notebooks = corpus.files
        print(corpus.describe())
        repos = {setup: make_repo(work / setup, notebooks, setup) for setup in ("plain", "restore", "no-restore")}
        checkouts: dict[str, list[Took]] = {setup: [] for setup in repos}
        statuses: dict[str, list[Took]] = {"restore": [], "no-restore": []}
        for setup, repo in repos.items():  # warm up (bytecode, page cache), and check what each writes
            checkout_all(repo)
            written = (repo / "nbs" / notebooks[0].name).read_bytes()
            assert (written == notebooks[0].read_bytes()) == (setup != "no-restore"), setup
        for _ in range(rounds):
            for setup, repo in repos.items():
                checkouts[setup].append(checkout_all(repo))
            for setup in statuses:
                statuses[setup].append(status_after_touch(repos[setup], notebooks))
        print("\n`git checkout -- .` of every notebook (deleted first)          wall            CPU")
        report(checkouts, "plain", {"plain": "no filter, outputs committed", "restore": "nbgit, outputs restored", "no-restore": "nbgit, clone keeps no outputs"})
        target("restoring <= 2x no filter", median(checkouts["restore"]), median(checkouts["plain"]), 2.0)
        print("\n`git status` after touching every notebook                  wall            CPU")
        report(statuses, "no-restore", {"restore": "nbgit keeping outputs", "no-restore": "nbgit, clone keeps no outputs"})
        target("keeping outputs within 10% of not", median(statuses["restore"]), median(statuses["no-restore"]), 1.1)

        # the store: the distinct notebooks once each (copies would share every entry)
        distinct = list({p.read_bytes(): p for p in notebooks}.values())
        repo = make_repo(work / "switching", distinct, "restore")
        own = stripped_size(repo / "nbs")
        git(repo, "checkout", "-q", "-b", "other")
        for path in (repo / "nbs").iterdir():
            rerun_one_cell(path)
        git(repo, "commit", "-q", "-am", "one cell edited and run again in each notebook")
        git(repo, "checkout", "-q", "main")
        before = store_size(repo)
        start = time.perf_counter()
        switches(repo, switch_count)
        took = time.perf_counter() - start
        size, disk, files = store_size(repo)
        print(f"\nthe store after {switch_count} switches between two branches of {len(distinct)} notebooks ({took:.0f} s):")
        print(f"  outputs' own size (what the filter strips from one branch's notebooks): {own / 1e6:.2f} MB")
        print(f"  store: {size / 1e6:.2f} MB in {files} files ({disk / 1e6:.2f} MB on disk), {size / own:.2f}x the outputs;"
              f" {before[0] / 1e6:.2f} MB before the switches")
        print(f"  target: <= 1.5x: {'met' if size / own <= 1.5 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
