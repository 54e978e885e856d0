"""Each path's last cleaned versions (in each work tree), kept in 256 logs that grow by appending: no file is made per version.

    histories/ab    the histories of the paths whose digest starts with `ab`: a header, then one line
                    per change, `DIGEST KEY... .` (the path's digest, its newest cleaned blobs first);
                    a path's history is its last whole line

Making a file costs 0.15-0.9 ms on ext4 (an inode; measured on 2 shared cores), appending to one 4-10 µs: a history written as a
file of its own per path, as stores before this one did (`paths/ab/<digest>`), cost `git add` one
file per notebook. Those files are still read, first: a path's file, when there is one, is newer
than its lines in the logs (see below), and it is removed once the path's history is appended to a log.

A line is appended in one write, starting with a newline and ending with ` .`: what a killed writer
leaves (a line cut short) never reads as a history, and the next line starts on its own. Writers
append under one exclusive `flock` (of `histories/lock`); past a size (`COMPACT_FROM`, and `GROWTH`
times its size when last compacted) a log is rewritten with the last line of each path (a temporary
file, then a rename) by the writer holding the lock, and eviction removes a log under it too, so no
line is ever appended to a log being replaced or removed. Readers take no lock: a rename shows them
the whole old log or the whole new one. A log whose header
is not this one is damaged: ignored with one warning, and removed.

Where no lock can be taken (Windows, which has no `flock`; a network mount whose lock daemon is
missing, which refuses it with ENOLCK), or the lock stays held for `LOCK_WAIT` seconds (its holder
stopped or hung: git must not wait on it), a history is written as a file of its own, as before the
logs: slower, never lost. Such a file, when there is one, is a path's newest history: the logs'
writers remove it once its history is in a log.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from contextlib import contextmanager
from types import ModuleType
from typing import Iterator

from nbgit.files import replace_own, write_whole
from nbgit.store.disk import Store, digest, is_name

HISTORY = 4  # cleaned versions remembered per path, for the cell-by-cell restore
FOLDER = "histories"
LOCK = "lock"  # beside the logs: held by whatever changes one
COMPACT_FROM = 1 << 16  # bytes: a log this long, and `GROWTH` times as long as when last compacted, is compacted
GROWTH = 4
_HEADER = b"nbgit-histories 1 "  # then the size of the lines when last compacted
_END = b" ."
_OLD_FORMAT = "nbgit-history 1"  # a history file of its own per path (`paths/ab/<digest>`)
LOCK_WAIT = 2.0  # seconds a writer waits for the logs' lock (held for microseconds, milliseconds to compact) before writing a file of its own
LOCK_RETRY = 0.005  # seconds between tries to take it
_waited_in_vain = False  # this process waited LOCK_WAIT and the lock stayed held: it waits no more until it takes it again


def recent(store: Store, path: str) -> list[str]:
    """The keys of the last cleaned blobs recorded at `path` in this work tree, newest first."""
    return _history_of(store, path_name(path, store.worktree))[0]


def recent_for_restore(store: Store, path: str) -> tuple[str, list[str]]:
    """The name (`path_name`) and history of `path` that restoring goes by: this work tree's; for a path it
    never recorded, those of the first of the clone's other work trees that did (the main one first), so
    that a new linked worktree starts from the outputs the others had; this work tree's name and [] when
    none did."""
    own = path_name(path, store.worktree)
    keys = _history_of(store, own)[0]
    if keys:
        return own, keys
    for tree in store.other_worktrees():
        name = path_name(path, tree)
        keys = _history_of(store, name)[0]
        if keys:
            return name, keys
    return own, []


def remember(store: Store, path: str, key: str, read_later: Callable[[str], bool] | None = None) -> None:
    """Put `key` first in the history of `path` in this work tree, after those of the first keys that
    `read_later` says git read later (recorded before it by a faster process); nothing is written when
    that changes nothing."""
    name = path_name(path, store.worktree)
    known, in_old_file = _history_of(store, name)
    if known[:1] == [key]:
        return
    others = [k for k in known if k != key]
    ahead = 0
    while read_later is not None and ahead < len(others) and read_later(others[ahead]):
        ahead += 1
    keys = [*others[:ahead], key, *others[ahead:]][:HISTORY]
    if keys == known:
        return
    line = b"\n%s %s%s" % (name.encode("ascii"), " ".join(keys).encode("ascii"), _END)
    try:
        _append(log_file(store, name), line)
    except NoLocks:
        store.write("paths", name, "\n".join([_OLD_FORMAT, *keys, ""]).encode("ascii"))
        return
    store.written += len(line)
    if in_old_file:
        store.remove("paths", name)  # the log holds it now


def log_file(store: Store, name: str) -> str:
    """The log that holds the history of the path whose digest is `name`."""
    return os.path.join(store.directory, FOLDER, name[:2])


def compact(path: str) -> None:
    """Rewrite a log with the last whole line of each path only (what `nbgit gc` does to every log;
    nothing where no lock can be taken)."""
    try:
        _append(path, b"", force=True)
    except NoLocks:
        pass


def is_log(name: str) -> bool:
    """Whether `name` names a history log (the first two hex digits of the digests of its paths)."""
    return is_name(name, (2,))


def path_name(path: str, worktree: str = "") -> str:
    """The digest that names a repo-relative path of one work tree in the store (its history; the origin of
    a record): the main work tree's by the path alone, as before linked worktrees had names of their own,
    a linked worktree's by its name (`location.worktree_name`) and the path, joined by a NUL, which no git
    path holds. Each work tree keeps its own versions of a path, though the clone's work trees share the store."""
    return digest((f"{worktree}\0{path}" if worktree else path).encode("utf-8", "surrogateescape"))


def named_in(data: bytes) -> set[str]:
    """Every key named by a history log's whole lines, or by a history file of its own (`_OLD_FORMAT`)."""
    if data.startswith(_OLD_FORMAT.encode("ascii") + b"\n"):
        return {line.decode("ascii") for line in data.splitlines()[1 : 1 + HISTORY] if is_name(line)}
    if not data.startswith(_HEADER):
        return set()
    return {key for line in data.split(b"\n")[1:] for key in _keys(b"\n" + line, 0)}


def _history_of(store: Store, name: str) -> tuple[list[str], bool]:
    """A path's history (by its digest), and whether it came from a file of its own (an older store's,
    or one written where no lock could be taken: newer than any line of the logs)."""
    old = _old_history(store, name)
    if old:
        return old, True
    log = log_file(store, name)
    data = store.read_file(log)
    if data is not None and not data.startswith(_HEADER) and not _HEADER.startswith(data):
        store.damaged_file(log, "not an nbgit history log")  # a header cut short is one being written
        data = None
    if data is not None:
        wanted, end = b"\n%s " % name.encode("ascii"), len(data)
        while (at := data.rfind(wanted, 0, end)) >= 0:
            keys = _keys(data, at)
            if keys:
                return keys, False
            end = at  # a line cut short by a killed writer: the one before it stands
    return [], False


def _keys(data: bytes, at: int) -> list[str]:
    """The keys of the line that starts after the newline at `at`; [] unless it is whole."""
    stop = data.find(b"\n", at + 1)
    line = data[at + 1 : stop if stop >= 0 else len(data)]
    if not line.endswith(_END):
        return []
    keys = line[: -len(_END)].split(b" ")[1:]
    if not 0 < len(keys) <= HISTORY or not all(is_name(key) for key in keys):
        return []
    return [key.decode("ascii") for key in keys]


def _old_history(store: Store, name: str) -> list[str]:
    data = store.read("paths", name)
    if data is None:
        return []
    lines = data.decode("ascii", "replace").splitlines()
    if not lines or lines[0] != _OLD_FORMAT or not all(is_name(line) for line in lines[1:]):
        store.damaged("paths", name, "not an nbgit history")
        return []
    return lines[1 : 1 + HISTORY]


def _append(path: str, line: bytes, force: bool = False) -> None:
    """Append `line` (one write) to the log at `path` under the logs' lock, then compact it when it has
    grown past its size (always with `force`)."""
    with locked(os.path.dirname(path)):
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o666)
        try:
            if os.fstat(fd).st_size <= len(_HEADER):  # made just now, or a header cut short by a killed writer
                os.ftruncate(fd, 0)
                write_whole(fd, _HEADER + b"0")
            write_whole(fd, line)
            size = os.fstat(fd).st_size
            last = os.pread(fd, 64, 0).partition(b"\n")[0].removeprefix(_HEADER)
            compacted = int(last) if last.isdigit() and int(last) < size else 0  # (a size the log never had, as a crafted header may claim: none)
            if force or size > max(COMPACT_FROM, GROWTH * compacted):
                _compact(path, os.pread(fd, size, 0))
        finally:
            os.close(fd)


def remove(path: str) -> bool:
    """Remove the log at `path` (evicted), under the logs' lock: never while a line is being appended to
    it (where no lock can be taken, no line is appended either); whether it was removed (not while the
    lock's holder stays past `LOCK_WAIT`)."""
    try:
        with locked(os.path.dirname(path)):
            os.unlink(path)
    except LockHeld:
        return False
    except NoLocks:
        os.unlink(path)
    return True


class NoLocks(Exception):
    """No `flock` here (Windows, or a file system that refuses it), or the lock held for longer than
    `LOCK_WAIT`: histories are files of their own."""


class LockHeld(NoLocks):
    """The logs' lock held for longer than `LOCK_WAIT` (its holder stopped, or hung on a network disk)."""


@contextmanager
def locked(folder: str) -> Iterator[None]:
    """The logs' exclusive lock (`flock` of the file `lock` beside them): whatever appends to, compacts or
    removes a log holds it, so that no line goes to a log that is being renamed over or removed (and
    counting into the store's size holds it: `evict.account`).
    NoLocks where none can be taken (LockHeld when its holder keeps it past `LOCK_WAIT`)."""
    try:
        import fcntl
    except ImportError:
        raise NoLocks from None
    try:
        fd = os.open(os.path.join(folder, LOCK), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    except FileNotFoundError:
        os.makedirs(folder, exist_ok=True)
        fd = os.open(os.path.join(folder, LOCK), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    try:
        _lock(fd, fcntl)
        yield
    finally:
        os.close(fd)  # and with it the lock


def _lock(fd: int, fcntl: ModuleType) -> None:
    """Take the exclusive `flock` of `fd`, waiting for its holder at most `LOCK_WAIT` seconds: git waits on
    its filter, so a holder that is stopped (SIGSTOP, ^Z) or hung (a network disk) must never block git,
    and a process that waited so in vain tries once, not waiting, until it takes the lock again (a
    `git add` of a thousand notebooks waits once). LockHeld past the wait, NoLocks where locks are refused."""
    global _waited_in_vain
    deadline = time.monotonic() + (0 if _waited_in_vain else LOCK_WAIT)
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            _waited_in_vain = False
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                _waited_in_vain = True  # (the holder is likely still there: the next history does not wait)
                raise LockHeld from None
            time.sleep(LOCK_RETRY)
        except OSError as error:  # ENOLCK: a network file system whose lock daemon is missing
            raise NoLocks from error


def _compact(path: str, data: bytes) -> None:
    """Rewrite the log at `path` (whose bytes are `data`) with each path's last whole line, oldest first."""
    last: dict[bytes, bytes] = {}
    for line in data.split(b"\n")[1:]:
        name = line.partition(b" ")[0]
        if len(name) == 64 and is_name(name) and _keys(b"\n" + line, 0):
            last.pop(name, None)
            last[name] = line
    lines = b"".join(b"\n" + line for line in last.values())
    replace_own(path, b"%s%d%s" % (_HEADER, len(lines), lines))
