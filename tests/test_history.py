"""Path histories in append-only logs (`nbgit.store.history`): real git, nbgit installed, filters that
are killed mid-append, two `git add` at once, and a store written by an older nbgit.

A path's history (its last cleaned blobs) is what the cell-by-cell restore and the clean without
cleaning start from; a history lost costs the outputs of every notebook of a pull or a merge.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import NBGIT, git, nbgit
from nbgit.store import history
from nbgit.store.disk import Store, digest
from nbgit.store.evict import entries
from nbgit.store.location import shown_size

KILLED_WRITING = """#!{python}
import os, signal
from nbgit.filter import CAPABILITIES, Cleaner, serve
write = os.write
def torn(fd, data):  # what `cut` picks of the bytes `dies_on` picks reaches the log, then the process dies
    if {dies_on}:
        write(fd, data[: {cut}])
        os.kill(os.getpid(), signal.SIGKILL)
    return write(fd, data)
os.write = torn
cleaner = Cleaner.for_directory(os.path.realpath("."))
serve(open(0, "rb", buffering=1 << 16), open(1, "wb"), cleaner, CAPABILITIES, cleaner.settle)
"""
# a history line, cut after its first key: whole keys, not a whole line
KILLED_MID_APPEND = {"dies_on": 'data.endswith(b" .")', "cut": 'data.index(b" ", 66)'}
# a new log's header, cut in its middle
KILLED_MAKING_A_LOG = {"dies_on": 'data.startswith(b"nbgit-histories")', "cut": "9"}

COMPACTING_ALWAYS = """#!{python}
import os, time
from nbgit.filter import main
from nbgit.store import history
history.COMPACT_FROM, history.GROWTH = 0, 1  # every append compacts its log
write = os.write
def slow(fd, data):  # a slow disk: appends take long enough for the other process to compact meanwhile
    if bytes(data[-2:]) == b" .":  # (a memoryview, from the pipe to the worker that keeps outputs, has no endswith)
        time.sleep(0.005)
    return write(fd, data)
os.write = slow
main()
"""


def notebook(*printed: str) -> bytes:
    """A notebook as Jupyter writes it, one code cell per `printed` text, each run (with its output)."""
    cells = [{"cell_type": "code", "execution_count": n + 1, "id": f"cell-{n}", "metadata": {},
              "outputs": [{"name": "stdout", "output_type": "stream", "text": [text + "\n"]}],
              "source": [f"print({text!r})"]} for n, text in enumerate(printed)]
    content = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    return (json.dumps(content, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()


def store_of(repo: Path, worktree: str = "") -> Store:
    """The store of the clone whose main work tree is `repo`, as the work tree named `worktree` uses it."""
    return Store(repo / ".git" / "nbgit" / "outputs", worktree=worktree)


def blob_id(repo: Path, spec: str) -> str:
    return git(repo, "rev-parse", spec).stdout.decode().strip()


def script(tmp_path: Path, name: str, text: str, **fields: str) -> Path:
    path = tmp_path / name
    path.write_text(text.format(python=sys.executable, **fields))
    path.chmod(0o755)
    return path


def installed(repo: Path) -> Path:
    done = nbgit(repo, "install", "--no-hooks")
    assert done.returncode == 0, done.stderr.decode()
    return repo


def commit(repo: Path, message: str, *paths: str) -> None:
    git(repo, "add", *(paths or ("-A",)))
    git(repo, "commit", "-q", "-m", message)


def paths_in_one_log(prefix: str, count: int, worktree: str = "") -> list[str]:
    """`count` notebook paths under `prefix` whose histories in the work tree named `worktree` share one
    log (their digests start alike)."""
    found: list[str] = []
    number = 0
    while len(found) < count:
        path = f"{prefix}/nb{number}.ipynb"
        if history.path_name(path, worktree).startswith("00"):
            found.append(path)
        number += 1
    return found


def test_a_filter_killed_mid_append_leaves_the_history_before(repo: Path, tmp_path: Path) -> None:
    installed(repo)
    versions = [notebook("one", "two"), notebook("one", "two", "three"), notebook("one", "two", "three", "four")]
    keys = []
    for number, data in enumerate(versions[:2]):
        (repo / "a.ipynb").write_bytes(data)
        commit(repo, f"version {number}")
        keys.insert(0, blob_id(repo, "HEAD:a.ipynb"))
    store = store_of(repo)
    assert history.recent(store, "a.ipynb") == keys
    real = git(repo, "config", "filter.nbgit.process").stdout.decode().strip()
    git(repo, "config", "filter.nbgit.process", str(script(tmp_path, "killer.py", KILLED_WRITING, **KILLED_MID_APPEND)))
    (repo / "a.ipynb").write_bytes(versions[2])
    done = git(repo, "add", "a.ipynb")  # the history line dies half-written, after git got the blob
    assert b"died of signal 9" in done.stderr
    log = Path(history.log_file(store, digest(b"a.ipynb")))
    assert not log.read_bytes().endswith(b" .")  # the cut line is there
    assert history.recent(store, "a.ipynb") == keys  # and is no history: the one before stands
    git(repo, "config", "filter.nbgit.process", real)
    git(repo, "reset", "-q")
    os.utime(repo / "a.ipynb", (1, 1))  # git cleans it again
    commit(repo, "version 2", "a.ipynb")
    newest = blob_id(repo, "HEAD:a.ipynb")
    assert history.recent(store, "a.ipynb") == [newest, *keys]  # the next line starts on its own
    for spec, data in (("HEAD~1", versions[1]), ("main", versions[2]), ("HEAD~2", versions[0]), ("main", versions[2])):
        git(repo, "checkout", "-q", spec)
        assert (repo / "a.ipynb").read_bytes() == data, spec  # outputs and all
        assert git(repo, "status", "--porcelain").stdout == b""
    kept = history.recent(store, "a.ipynb")  # (each checkout put the version it wrote out first)
    size = log.stat().st_size
    done = nbgit(repo, "gc")
    assert done.returncode == 0 and size > log.stat().st_size
    assert f"; compacting the history logs freed {shown_size(size - log.stat().st_size)}; " in done.stdout.decode(), done.stdout.decode()
    lines = log.read_bytes().split(b"\n")
    assert lines[0].startswith(b"nbgit-histories 1 ") and all(line.endswith(b" .") for line in lines[1:])
    assert len(lines) == 2 and history.recent(store, "a.ipynb") == kept  # compacted: the last whole line only


def test_a_filter_killed_making_a_log_leaves_one_the_next_writer_makes_whole(repo: Path, tmp_path: Path) -> None:
    installed(repo)
    real = git(repo, "config", "filter.nbgit.process").stdout.decode().strip()
    git(repo, "config", "filter.nbgit.process", str(script(tmp_path, "killer.py", KILLED_WRITING, **KILLED_MAKING_A_LOG)))
    data = notebook("one", "two")
    (repo / "a.ipynb").write_bytes(data)
    assert b"died of signal 9" in git(repo, "add", "a.ipynb").stderr
    store = store_of(repo)
    log = Path(history.log_file(store, digest(b"a.ipynb")))
    assert log.read_bytes() == b"nbgit-his"
    git(repo, "config", "filter.nbgit.process", real)
    git(repo, "reset", "-q")
    done = git(repo, "add", "a.ipynb")
    assert b"warning" not in done.stderr, done.stderr.decode()
    git(repo, "commit", "-q", "-m", "a")
    assert history.recent(store, "a.ipynb") == [blob_id(repo, "HEAD:a.ipynb")]
    assert log.read_bytes().startswith(b"nbgit-histories 1 0\n")
    (repo / "a.ipynb").unlink()
    git(repo, "checkout", "--", "a.ipynb")
    assert (repo / "a.ipynb").read_bytes() == data
    assert not nbgit(repo, "status").stderr


def test_two_git_adds_at_once_keep_every_history(repo: Path, tmp_path: Path) -> None:
    """Two work trees of one clone (one store) add notebooks at once, their histories all in one log,
    compacted again and again while the other process appends."""
    installed(repo)
    (repo / "README.md").write_text("two work trees\n")
    commit(repo, "start")
    other = tmp_path / "other"
    git(repo, "worktree", "add", "-q", "-b", "other", str(other))
    process = script(tmp_path, "compacting.py", COMPACTING_ALWAYS)
    trees = {repo: "", other: "worktrees/other"}  # (each work tree keeps its own histories)
    names = {repo: paths_in_one_log("here", 40), other: paths_in_one_log("there", 40, trees[other])}
    written = {}
    for tree, paths in names.items():
        for number, path in enumerate(paths):
            (tree / path).parent.mkdir(exist_ok=True)
            written[tree, path] = notebook(f"{path} {number}", "the same second cell")
            (tree / path).write_bytes(written[tree, path])
    git(repo, "config", "filter.nbgit.process", str(process))
    adds = [subprocess.Popen(["git", "add", "-A"], cwd=tree, stderr=subprocess.PIPE) for tree in names]
    for add in adds:
        assert add.wait() == 0 and b"warning" not in add.stderr.read()
    for tree, paths in names.items():
        for path in paths:
            assert history.recent(store_of(repo, trees[tree]), path) == [blob_id(tree, f":{path}")], path
    store = store_of(repo)
    log = Path(history.log_file(store, digest(names[repo][0].encode())))
    assert log.read_bytes().count(b"\n") == 80  # compacted after the last append: a line per path
    for tree, paths in names.items():  # and every record is whole: outputs come back exactly
        commit(tree, "notebooks")
        for path in paths:
            (tree / path).unlink()
        git(tree, "checkout", "--", ".")
        for path in paths:
            assert (tree / path).read_bytes() == written[tree, path]
        assert git(tree, "status", "--porcelain").stdout == b""


def test_histories_of_an_older_store_are_read_and_moved_to_the_logs(repo: Path, tmp_path: Path) -> None:
    """A store written before the logs (a history file per path): a pull restores cell by cell from
    those histories, and the next version recorded moves them into a log."""
    installed(repo)
    first = notebook("one", "two", "three")
    (repo / "a.ipynb").write_bytes(first)
    commit(repo, "three cells")
    store = store_of(repo)
    keys = history.recent(store, "a.ipynb")
    assert keys == [blob_id(repo, "HEAD:a.ipynb")]
    name = digest(b"a.ipynb")  # as nbgit 0.x kept it: paths/ab/<digest>, no logs
    store.write("paths", name, ("nbgit-history 1\n" + "\n".join(keys) + "\n").encode())
    for log in (store.directory / history.FOLDER).iterdir():
        log.unlink()
    assert history.recent(store, "a.ipynb") == keys
    elsewhere = tmp_path / "elsewhere"
    git(tmp_path, "clone", "-q", str(repo), str(elsewhere))
    edited = json.loads(git(elsewhere, "show", "HEAD:a.ipynb").stdout)
    edited["cells"][1]["source"] = ["print('changed elsewhere')"]
    (elsewhere / "a.ipynb").write_text(json.dumps(edited, indent=1, sort_keys=True) + "\n")
    commit(elsewhere, "an edit elsewhere")
    git(repo, "pull", "-q", str(elsewhere), "main")
    pulled = json.loads((repo / "a.ipynb").read_bytes())
    assert [cell["outputs"] != [] for cell in pulled["cells"]] == [True, False, True]  # unchanged cells have theirs
    assert git(repo, "status", "--porcelain").stdout == b""
    assert not Path(store.file("paths", name)).exists()  # recorded anew: the history is in a log now
    assert history.recent(store, "a.ipynb") == [blob_id(repo, "HEAD:a.ipynb"), *keys]


def test_a_log_claiming_a_size_it_never_had_is_still_compacted(repo: Path) -> None:
    """A log whose header says it was compacted to more bytes than it holds (damaged, or crafted so
    that it is never compacted) is compacted once it is past `COMPACT_FROM`, keeping every history."""
    installed(repo)
    (repo / "a.ipynb").write_bytes(notebook("one"))
    commit(repo, "one")
    store = store_of(repo)
    keys = history.recent(store, "a.ipynb")
    log = Path(history.log_file(store, digest(b"a.ipynb")))
    other = log.name + "0" * 62  # another path's history in this log, recorded over and over
    stale = b"".join(b"\n%s %s ." % (other.encode(), b"%040x" % n) for n in range(history.COMPACT_FROM // 100))
    log.write_bytes(b"nbgit-histories 1 " + b"9" * 40 + log.read_bytes().partition(b"\n")[2].join([b"\n", stale]))
    assert log.stat().st_size > history.COMPACT_FROM and history.recent(store, "a.ipynb") == keys
    (repo / "a.ipynb").write_bytes(notebook("two"))
    commit(repo, "two")
    keys.insert(0, blob_id(repo, "HEAD:a.ipynb"))
    assert log.stat().st_size < 1000 and history.recent(store, "a.ipynb") == keys
    assert history.recent(store, other) == [] and log.read_bytes().count(other.encode()) == 1


def test_a_lock_holder_that_stays_stopped_never_blocks_git(repo: Path) -> None:
    """Whoever holds the logs' lock (here this test; a filter stopped with ^Z, or hung on a network disk)
    holds up a `git add` of five notebooks by `LOCK_WAIT` once, not for ever nor once per notebook: their
    histories are written as files of their own, and every output comes back; the lock free again, the
    next writer moves a history into its log."""
    import fcntl

    installed(repo)
    paths = [f"nb{n}.ipynb" for n in range(5)]
    for path in paths:
        (repo / path).write_bytes(notebook(path, "first"))
    commit(repo, "first versions")
    store = store_of(repo)
    first = {path: blob_id(repo, f"HEAD:{path}") for path in paths}
    written = {path: notebook(path, "second") for path in paths}
    with open(store.directory / history.FOLDER / history.LOCK, "rb") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for path, data in written.items():
            (repo / path).write_bytes(data)
        started = time.monotonic()
        done = subprocess.run(["git", "add", *paths], cwd=repo, capture_output=True, timeout=60, check=False)
        took = time.monotonic() - started
    assert done.returncode == 0 and b"warning" not in done.stderr, done.stderr.decode()
    assert history.LOCK_WAIT <= took < 3 * history.LOCK_WAIT  # (waiting once per notebook would take 5 times)
    git(repo, "commit", "-q", "-m", "second versions")
    for path in paths:
        assert Path(store.file("paths", digest(path.encode()))).is_file()  # a file of its own
        assert history.recent(store, path) == [blob_id(repo, f"HEAD:{path}"), first[path]]
        (repo / path).unlink()
    git(repo, "checkout", "--", ".")
    for path, data in written.items():
        assert (repo / path).read_bytes() == data  # outputs and all
    assert git(repo, "status", "--porcelain").stdout == b""
    (repo / paths[0]).write_bytes(notebook(paths[0], "third"))
    commit(repo, "a third version", paths[0])
    assert history.recent(store, paths[0]) == [blob_id(repo, f"HEAD:{paths[0]}"), blob_id(repo, f"HEAD~1:{paths[0]}"), first[paths[0]]]
    assert not Path(store.file("paths", digest(paths[0].encode()))).exists()  # in its log now


def test_gc_never_waits_for_ever_on_a_lock_holder_nor_removes_a_log_under_it(repo: Path) -> None:
    """`nbgit gc --max-size 0` while the logs' lock stays held: it ends after waiting `LOCK_WAIT` once,
    having compacted nothing and removed every entry but the log, which the holder may be appending to."""
    import fcntl

    installed(repo)
    (repo / "a.ipynb").write_bytes(notebook("one"))
    commit(repo, "one")
    store = store_of(repo)
    log = Path(history.log_file(store, digest(b"a.ipynb")))
    kept = log.read_bytes()
    with open(store.directory / history.FOLDER / history.LOCK, "rb") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        started = time.monotonic()
        done = subprocess.run([str(NBGIT), "gc", "--max-size", "0"], cwd=repo, capture_output=True, timeout=60, check=False)
        took = time.monotonic() - started
    assert done.returncode == 0 and history.LOCK_WAIT <= took < 3 * history.LOCK_WAIT, done.stderr.decode()
    assert log.read_bytes() == kept and not [entry for entry in entries(store.directory) if entry.kind != history.FOLDER]


LOCKS_REFUSED = """#!{python}
import errno, fcntl
def refused(fd, operation):  # as on an NFS mount without a lock daemon
    raise OSError(errno.ENOLCK, "No locks available")
fcntl.flock = refused
from nbgit.filter import main
main()
"""
NO_FCNTL = """#!{python}
import sys
sys.modules["fcntl"] = None  # as on Windows: `import fcntl` fails
from nbgit.filter import main
main()
"""


@pytest.mark.parametrize("process", [LOCKS_REFUSED, NO_FCNTL], ids=["flock refused", "no fcntl"])
def test_without_locks_histories_are_files_of_their_own(repo: Path, tmp_path: Path, process: str) -> None:
    """Where no lock can be taken, every history is kept (as a file per path), newer than the logs' lines:
    outputs come back on checkout and cell by cell on a pull, and a filter with locks takes over after."""
    installed(repo)
    real = git(repo, "config", "filter.nbgit.process").stdout.decode().strip()
    first = notebook("one", "two", "three")
    (repo / "a.ipynb").write_bytes(first)
    commit(repo, "with locks")
    store = store_of(repo)
    keys = [blob_id(repo, "HEAD:a.ipynb")]
    git(repo, "config", "filter.nbgit.process", str(script(tmp_path, "lockless.py", process)))
    second = notebook("one", "two", "three", "four")
    (repo / "a.ipynb").write_bytes(second)
    git(repo, "add", "a.ipynb")
    done = git(repo, "commit", "-q", "-m", "without locks")
    assert b"warning" not in done.stderr, done.stderr.decode()
    keys.insert(0, blob_id(repo, "HEAD:a.ipynb"))
    assert Path(store.file("paths", digest(b"a.ipynb"))).is_file()  # a file of its own
    assert history.recent(store, "a.ipynb") == keys  # newer than the log's line
    for spec, data in (("HEAD~1", first), ("main", second)):
        git(repo, "checkout", "-q", spec)
        assert (repo / "a.ipynb").read_bytes() == data, spec
    elsewhere = tmp_path / "elsewhere"
    git(tmp_path, "clone", "-q", str(repo), str(elsewhere))
    edited = json.loads(git(elsewhere, "show", "HEAD:a.ipynb").stdout)
    edited["cells"][1]["source"] = ["print('changed elsewhere')"]
    (elsewhere / "a.ipynb").write_text(json.dumps(edited, indent=1, sort_keys=True) + "\n")
    commit(elsewhere, "an edit elsewhere")
    done = git(repo, "pull", "-q", str(elsewhere), "main")
    assert b"warning" not in done.stderr, done.stderr.decode()
    pulled = json.loads((repo / "a.ipynb").read_bytes())
    assert [cell["outputs"] != [] for cell in pulled["cells"]] == [True, False, True, True]  # cell by cell
    keys.insert(0, blob_id(repo, "HEAD:a.ipynb"))
    assert history.recent(store, "a.ipynb") == keys
    assert nbgit(repo, "gc").returncode == 0  # (nbgit itself, with locks: compacts the log; the file of its own stays the newest)
    assert history.recent(store, "a.ipynb") == keys
    git(repo, "config", "filter.nbgit.process", real)  # locks again: the history moves into its log
    (repo / "a.ipynb").write_bytes(notebook("five"))
    commit(repo, "with locks again", "a.ipynb")
    keys.insert(0, blob_id(repo, "HEAD:a.ipynb"))
    assert history.recent(store, "a.ipynb") == keys[:history.HISTORY]
    assert not Path(store.file("paths", digest(b"a.ipynb"))).exists()
