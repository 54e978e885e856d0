"""`nbgit refresh` against the `git status` it replaces, and what nbgit's Jupyter save hook adds to a save.

    .venv/bin/python benchmarks/bench_refresh.py            # 1000 notebooks, 5 rounds; a 1 MB notebook saved 15 times
    .venv/bin/python benchmarks/bench_refresh.py --quick    # 200 notebooks, 2 rounds; 5 saves

1. A repository wired with nbgit's filter holds 1000 copies of the real notebooks of about 50 KB
   from ../shared/corpus/dev (repeated and renamed). Round by round, on the same files:
   - `nbgit refresh` right after re-running every notebook (new execution counts, timings and
     outputs of other sizes, written as Jupyter writes them: the re-run of tests/conftest.py),
     when `git status` lists all 1000 without running the filter; `git status` must be quiet after;
   - `git status` right after touching every one of those re-run notebooks: git runs the filter on
     each to compare it, which finds the bytes `nbgit refresh` recorded and makes their blob without
     cleaning them. (Right after a re-run git lists each notebook by its size alone, running no
     filter: no `git status` does the cleaning refresh does.)
2. A real notebook of about 1 MB, re-run and saved, in its own small repository and beside 90,000
   more files (an index of 7.9 MB, as large as a big repository's):
   - in process: the refresh's own time (`refresh_after_save` outside a save, which waits for it)
     and how long it holds `index.lock`; the same with two such notebooks saved in turn (each save
     finds the other racily clean, and git compares it under the lock);
   - the `PUT` of the re-run notebook to real Jupyter Servers with and without the extension,
     alternating, as JupyterLab sends it; and how long a save holds up the server's event loop:
     while another such `PUT` is in flight a second client asks `GET /api/status` back to back,
     and the longest of those answers is the longest the loop was busy with something else.

Prints medians and the targets: refresh at most the time of `git status` after a touch; at most
50 ms added to the event loop by saving a 1 MB notebook, whatever the size of the index.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
from conftest import CORPUS, rerun, track_many  # noqa: E402  - the re-run and the large index the tests use
from corpora import ABOUT_50KB, distinguish, real_sources  # noqa: E402
from harness import timed  # noqa: E402

BIN = Path(sys.executable).parent
ABOUT_1MB = (900_000, 1_500_000)
MORE_FILES = 90_000  # the large index: this many small files besides the notebook
TOKEN = "bench"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout


def wired_repo(repo: Path) -> None:
    """A repository with nbgit's filter, as `nbgit install` wires it (without hooks)."""
    repo.mkdir(parents=True)
    git(repo, "init", "-q")
    subprocess.run([str(BIN / "nbgit"), "install", "--no-hooks"], cwd=repo, capture_output=True, check=True)


def many_notebooks(work: Path, count: int, rounds: int, distinct: bool) -> dict[str, tuple[float, float]]:
    """Median wall and CPU seconds of `nbgit refresh` after a re-run, and of `git status` after touching the same files.

    `distinct`: every copy made a notebook of its own (`corpora.distinguish`), as in a real repository;
    else copies re-run alike share their records in the store, which no real repository gives it."""
    repo = work / ("many-distinct" if distinct else "many")
    wired_repo(repo)
    sources = real_sources(ABOUT_50KB)
    originals = {}
    for number in range(count):
        source = sources[number % len(sources)]
        name = f"nb{number:04d}-{source.stem[:30].replace(' ', '_')}.ipynb"
        originals[name] = distinguish(source.read_bytes(), number) if distinct else source.read_bytes()
        (repo / name).write_bytes(originals[name])
    sizes = sorted(len(data) for data in originals.values())
    print(f"{count} real notebooks from {len(sources)} of the corpus, {sum(sizes) / 1e6:.0f} MB, median {statistics.median(sizes) / 1000:.0f} KB")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "-m", "notebooks")
    times: dict[str, list[tuple[float, float]]] = {"nbgit refresh after re-running them": [], "git status after touching them": []}
    for round_ in range(rounds + 1):  # the first round warms the caches and is not counted
        for name, data in originals.items():
            (repo / name).write_bytes(rerun(data, round_))
        listed = len(git(repo, "diff-files", "--name-only").splitlines())  # what git status lists, read without writing
        refresh = timed([str(BIN / "nbgit"), "refresh", "-q"], repo)
        left = git(repo, "status", "--porcelain")
        assert listed == count and not left, (listed, left[:200])
        moment = time.time() + 2
        for name in originals:  # the same re-run files, now with the sizes the index records: git must filter each
            os.utime(repo / name, (moment, moment))
        status = timed(["git", "status", "--porcelain"], repo)
        if round_:
            times["nbgit refresh after re-running them"].append(refresh)
            times["git status after touching them"].append(status)
    return {name: (statistics.median(v[0] for v in values), statistics.median(v[1] for v in values)) for name, values in times.items()}


def notebook_repo(repo: Path, notebook: Path, more_files: int, copies: int = 1) -> list[Path]:
    """A wired repository holding `copies` copies of `notebook` (big.ipynb, big-1.ipynb...), and
    `more_files` small files more, committed; the copies."""
    wired_repo(repo)
    targets = [repo / ("big.ipynb" if number == 0 else f"big-{number}.ipynb") for number in range(copies)]
    for target in targets:
        target.write_bytes(notebook.read_bytes())
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "-m", "big")
    if more_files:
        track_many(repo, more_files)
    return targets


@contextlib.contextmanager
def lock_held() -> Iterator[list[float]]:
    """The seconds nbgit holds each index lock it takes in this process meanwhile."""
    from nbgit.worktree.index import IndexLock

    held: list[float] = []
    enter, leave = IndexLock.__enter__, IndexLock.__exit__

    def timed_enter(lock: Any) -> Any:
        taken = enter(lock)
        lock.bench_taken = time.perf_counter()
        return taken

    def timed_exit(lock: Any, *exc: object) -> None:
        held.append(time.perf_counter() - lock.bench_taken)  # renamed over the index, or removed, just now
        leave(lock, *exc)

    IndexLock.__enter__, IndexLock.__exit__ = timed_enter, timed_exit  # type: ignore[method-assign]
    try:
        yield held
    finally:
        IndexLock.__enter__, IndexLock.__exit__ = enter, leave  # type: ignore[method-assign]


def hook_in_process(work: Path, notebook: Path, saves: int, more_files: int, copies: int = 1) -> tuple[float, float]:
    """Median seconds of a refresh after a re-run of `notebook` was written (`refresh_after_save`
    outside a save waits for it), and median seconds it holds the index lock; with `copies` of it
    saved in turn, each save finds the one before racily clean (recorded in the index's second),
    and git compares that one's content under the lock."""
    from nbgit.jupyter.save_hook import refresh_after_save

    class Manager:
        log = logging.getLogger("bench")

    repo = work / f"hook-{more_files}-{copies}"
    targets = notebook_repo(repo, notebook, more_files, copies)
    times = []
    with lock_held() as held:
        for seed in range(saves + 1):
            for target in targets:
                target.write_bytes(rerun(notebook.read_bytes(), seed))
                started = time.perf_counter()
                refresh_after_save(os_path=str(target), model={}, contents_manager=Manager())
                times.append(time.perf_counter() - started)
            assert not git(repo, "status", "--porcelain")
    return statistics.median(times[copies:]), statistics.median(held[copies:])


def serve(root: Path, config: Path, extension: bool) -> tuple[subprocess.Popen[bytes], str]:
    """A real Jupyter Server on a free port, nbgit's extension on or off."""
    config.mkdir(parents=True)
    extensions = {"nbgit.jupyter": extension, "nbdime": False, "jupyter_server_terminals": False, "jupyterlab_jupytext": False}
    (config / "jupyter_server_config.json").write_text(json.dumps({"ServerApp": {"jpserver_extensions": extensions}}))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(config), "JUPYTER_RUNTIME_DIR": str(config / "runtime")}
    command = [sys.executable, "-m", "jupyter_server", "--allow-root", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--port={port}",
               f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={root}"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            call(url, "GET", "/api/status")
            return process, url
        except OSError:
            time.sleep(0.1)
    raise SystemExit("Jupyter Server did not start")


def call(url: str, method: str, path: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url + path, data=data, method=method, headers={"Authorization": f"token {TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as answer:
        return json.loads(answer.read() or b"null")


@contextlib.contextmanager
def probing(url: str) -> Iterator[list[float]]:
    """The seconds of each `GET /api/status` to one server, asked back to back on a thread while the
    block runs: the longest answer is the longest the server's event loop was busy with something else."""
    answers: list[float] = []
    done = threading.Event()

    def ask() -> None:
        while not done.is_set():
            started = time.perf_counter()
            call(url, "GET", "/api/status")
            answers.append(time.perf_counter() - started)

    asking = threading.Thread(target=ask)
    asking.start()
    try:
        yield answers
    finally:
        done.set()
        asking.join()


def saves_through_servers(work: Path, notebook: Path, saves: int, more_files: int) -> dict[str, tuple[float, float]]:
    """Median seconds of the `PUT` of a re-run notebook, and of the longest `GET /api/status` answered
    during another such `PUT` (the probe's own requests slow the save down), to a server with
    nbgit's extension and to one without, alternating."""
    servers = {}
    for name, extension in (("with nbgit's extension", True), ("without it", False)):
        repo = work / f"served-{more_files}-{extension}"
        notebook_repo(repo, notebook, more_files)
        servers[name] = (repo, *serve(repo, work / f"config-{more_files}-{extension}", extension))
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in servers}
    content = call(servers["without it"][2], "GET", "/api/contents/big.ipynb?type=notebook&content=1")["content"]
    try:
        for seed in range(saves + 1):
            bodies = [{"type": "notebook", "format": "json", "content": json.loads(rerun(json.dumps(content).encode(), 2 * seed + probed))} for probed in (0, 1)]
            for name, (repo, _, url) in servers.items():
                started = time.perf_counter()
                call(url, "PUT", "/api/contents/big.ipynb", bodies[0])
                seconds = time.perf_counter() - started
                with probing(url) as answers:
                    call(url, "PUT", "/api/contents/big.ipynb", bodies[1])
                if seed:
                    times[name].append((seconds, max(answers)))
                listed = git(repo, "status", "--porcelain", "--untracked-files=no")
                assert bool(listed) == (name == "without it"), (name, listed)
    finally:
        for _, process, _ in servers.values():
            process.terminate()
            process.wait()
    return {name: (statistics.median(v[0] for v in values), statistics.median(v[1] for v in values)) for name, values in times.items()}


def main(argv: list[str] | None = None) -> int:
    """Run both measurements and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 notebooks, 2 rounds, 5 saves")
    options = parser.parse_args(argv)
    if not (CORPUS / "dev").is_dir():
        raise SystemExit(f"the corpus of real notebooks is not at {CORPUS}")
    count, rounds, saves = (200, 2, 5) if options.quick else (1000, 5, 15)
    git_version = git(Path.cwd(), "--version").split()[-1]
    print(f"git {git_version}, Python {sys.version.split()[0]}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; medians")
    with tempfile.TemporaryDirectory(prefix="nbgit-bench-refresh-") as folder:
        work = Path(folder)
        for distinct in (False, True):
            many = many_notebooks(work, count, rounds, distinct)
            print(f"\n{'each copy made distinct' if distinct else 'copies of the same notebooks':<40} {'wall':>8} {'CPU':>8}")
            for name, (wall, cpu) in many.items():
                print(f"{name:<40} {wall:>6.3f} s {cpu:>6.3f} s")
            refresh, status = many["nbgit refresh after re-running them"], many["git status after touching them"]
            print(f"nbgit refresh = {refresh[0] / status[0]:.2f}x the wall time of git status after a touch (target: at most 1.0x), "
                  f"{refresh[1] / status[1]:.2f}x its CPU time")

        big = real_sources(ABOUT_1MB)[0]
        print(f"\nsaving {big.relative_to(CORPUS)} ({big.stat().st_size / 1e6:.2f} MB), re-run each time, {saves} saves")
        for label, more_files in (("in its own repository", 0), (f"beside {MORE_FILES:,} more files", MORE_FILES)):
            hook, held = hook_in_process(work, big, saves, more_files)
            served = saves_through_servers(work, big, saves, more_files)
            (put, stalled), (bare_put, bare_stalled) = served["with nbgit's extension"], served["without it"]
            print(f"\n{label}:")
            in_turn, held_in_turn = hook_in_process(work, big, saves, more_files, copies=2)
            print(f"  the refresh in process (refresh_after_save):  {hook * 1000:7.1f} ms, index.lock held {held * 1000:.1f} ms")
            print(f"  the same, two such notebooks saved in turn:   {in_turn * 1000:7.1f} ms, index.lock held {held_in_turn * 1000:.1f} ms")
            print(f"  PUT to Jupyter Server with nbgit's extension: {put * 1000:7.1f} ms, event loop held up at most {stalled * 1000:.1f} ms")
            print(f"  PUT to Jupyter Server without it:             {bare_put * 1000:7.1f} ms, event loop held up at most {bare_stalled * 1000:.1f} ms")
            print(f"  added to the save: {(put - bare_put) * 1000:.1f} ms; to the event loop: {(stalled - bare_stalled) * 1000:.1f} ms (target: at most 50 ms)")
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
