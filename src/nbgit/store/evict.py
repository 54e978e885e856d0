"""The store's size limit: the least recently used entries go first, on their own and with `nbgit gc`.

Every use of an entry (rebuilt for a checkout, or shared by a version recorded anew) refreshes its
modification time, so eviction removes the oldest files until the store fits. A record whose object was evicted cannot be
rebuilt any more: the store drops it the first time it is asked for, and `collect` drops it at once,
with every object no record refers to and what killed writers left behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from pathlib import Path
from typing import Callable, Iterator, NamedTuple

from nbgit.store.disk import KINDS, Store, is_name
from nbgit.store import eol, history
from nbgit.store.skeleton import parse, references

EVICT_TO = 0.9  # of the limit, so that one more record does not start eviction again
STALE = 3600  # seconds: a temporary file this old was left by a writer that was killed


class Entry(NamedTuple):
    """One file of the store."""

    path: Path
    kind: str
    size: int
    used: float  # modification time: the last use


class Usage(NamedTuple):
    """A number of files and their bytes."""

    files: int
    bytes: int


def entries(directory: Path) -> Iterator[Entry]:
    """Every entry of the store (the history logs among them); temporary files left by killed writers
    are removed on the way."""
    now = time.time()
    for kind in KINDS:
        try:
            folders = list(os.scandir(directory / kind))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for folder in folders:
            if folder.is_dir(follow_symlinks=False):
                yield from _files(folder.path, kind, is_name, now)
    yield from _files(str(directory / history.FOLDER), history.FOLDER, history.is_log, now)


def _files(folder: str, kind: str, named: Callable[[str], bool], now: float) -> Iterator[Entry]:
    """The files of one folder of the store whose names are `named`, removing stale temporary files."""
    try:
        items = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return
    for item in items:
        try:
            stat = item.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue  # removed meanwhile by another process
        if named(item.name):  # (the bytes of a file linked under several names count once in all)
            yield Entry(Path(item.path), kind, stat.st_size // max(stat.st_nlink, 1), stat.st_mtime)
        elif item.name.startswith(".") and now - stat.st_mtime > STALE:
            Path(item.path).unlink(missing_ok=True)


def measure(directory: Path) -> Usage:
    """How many files and bytes the store holds."""
    files = size = 0
    for entry in entries(directory):
        files += 1
        size += entry.size
    return Usage(files, size)


def evict(store: Store, target: int) -> Usage:
    """Remove the least recently used entries until the store holds at most `target` bytes; what went."""
    found = sorted(entries(store.directory), key=lambda e: e.used)
    total = sum(e.size for e in found)
    files = size = 0
    for entry in found:
        if total - size <= target:
            break
        try:
            if entry.kind == history.FOLDER:
                if not history.remove(str(entry.path)):  # never while a line is appended to it
                    continue
            else:
                entry.path.unlink()
        except FileNotFoundError:
            pass
        files += 1
        size += entry.size
    store.set_usage(total - size)
    return Usage(files, size)


def account(store: Store, new_bytes: int, limit: int) -> None:
    """Count `new_bytes` just written into the store's size, and evict down to below `limit` past it.

    The size is read and written again under the history logs' lock, so that processes counting at
    once (a filter's worker, `nbgit refresh`, Jupyter's save hook) never write over each other's
    counts; where no lock can be taken, it is counted without. Eviction takes that lock itself to
    remove a log, so it runs once the count is done."""
    with contextlib.ExitStack() as held:
        with contextlib.suppress(history.NoLocks):
            held.enter_context(history.locked(str(store.directory / history.FOLDER)))
        usage = store.usage()
        total = measure(store.directory).bytes if usage is None else usage + new_bytes
        if total <= limit:
            store.set_usage(total)
            return
    evict(store, int(limit * EVICT_TO))


def compact_histories(directory: Path) -> int:
    """Rewrite every history log without the lines that later ones replace; the bytes that freed."""
    freed = 0
    for log in [e for e in entries(directory) if e.kind == history.FOLDER]:
        history.compact(str(log.path))
        try:
            freed += log.size - os.stat(log.path).st_size
        except FileNotFoundError:  # (evicted meanwhile by another gc)
            freed += log.size
    return max(0, freed)  # (0 if they grew meanwhile)


def collect(store: Store) -> Usage:
    """Remove what can never be used: damaged records, records whose objects are gone, objects no record
    has referred to for an hour, notes of CRLF versions no history names (`_unneeded_notes`), temporary
    files left by killed writers; what went. A record a newer
    nbgit wrote stays, and so does every object while one is there (which of them it uses is not this
    nbgit's to read)."""
    found = list(entries(store.directory))
    objects = {e.path.name: e for e in found if e.kind == "objects"}
    referred: set[str] = set()
    gone: list[Entry] = []
    newer = False
    for entry in found:
        if entry.kind != "notebooks":
            continue
        record = store.record(entry.path.name)
        if record is None and entry.path.exists():  # (a damaged one is removed by now, unless the store is read-only)
            newer = True
            continue
        try:
            names = references(parse(record.skeleton())[1]) if record is not None else None
        except ValueError:
            names = None
        if names is None or not all(n in objects for n in names):
            gone.append(entry)
        else:
            referred.update(names)
    recent = time.time() - STALE  # an object this new may belong to a record being written right now
    if not newer:
        gone += [e for name, e in objects.items() if name not in referred and e.used < recent]
    gone += _unneeded_notes(store, found, recent)
    for entry in gone:
        entry.path.unlink(missing_ok=True)
    store.set_usage(sum(e.size for e in found) - sum(e.size for e in gone))
    return Usage(len(gone), sum(e.size for e in gone))


def _unneeded_notes(store: Store, found: list[Entry], recent: float) -> list[Entry]:
    """The notes of versions recorded with CRLF line endings (`eol`) that can never serve: those that name
    no blob, and those older than `recent` (a note this new may be of a history being written right
    now) for versions no path's history names (the cell-by-cell restore looks for those alone)."""
    notes = [e for e in found if e.kind == eol.KIND]
    if not notes:
        return []
    named: set[str] = set()
    for entry in found:
        if entry.kind in (history.FOLDER, "paths"):
            named |= history.named_in(store.read_file(str(entry.path)) or b"")
    return [e for e in notes if not is_name((store.read_file(str(e.path)) or b"").strip()) or e.path.name not in named and e.used < recent]


def forget(directory: Path) -> Usage:
    """Remove the whole store; what it held."""
    held = measure(directory)
    shutil.rmtree(directory, ignore_errors=True)
    return held
