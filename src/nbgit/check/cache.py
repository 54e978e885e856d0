"""Verdicts of `nbgit check` remembered per notebook content, so that hooks and CI re-runs pay only for
what changed; and the folder where nbgit keeps such per-clone caches.

A verdict is what `judge` found in one notebook: a pure function of the bytes judged, the path (the
`untitled` check, per-path overrides, the messages), whether git's clean filter is in effect for the
file, the policy, and the code that judges (for a staged blob, also the working-tree file it was
staged from: its execution counts). The key holds all of them: the bytes by their git blob id (given
by git for staged blobs, else computed here), the path and the filter flag per entry, and a
fingerprint of the rest per file: the whole policy, nbgit's version and the size and time of each
of its modules (an edited checkout counts as another version), Python's version (cells are compiled
to tell merge markers from text) and nbformat's (its schema files). Anything else than a key that
matches exactly is a miss, so the cache can make a check slower, never wrong. A file that cannot be
read or parsed, or was made by another fingerprint, is ignored and replaced.

A re-run does not read the notebooks it judged before: the blob id of each working-tree file is
remembered with its stat data (size, modification and change times in nanoseconds, inode, device),
as git's index remembers them, and taken from there while the file's stat data are the same. Any
write changes the change time, which no program can set back; a file changed within
`files.RACY_SECONDS` of being looked at is not remembered, since a second change within the same tick
of its file system's clock could leave every field as it was.

Beside the verdicts, in a file of its own, one result per whole-repository check (`result`,
`remember_result`: the problems `duplicate-code` found with `--all`), under a key holding everything
it depends on besides the fingerprint (for copies: every file compared, by path and blob id); a run
that finds the same key takes the result as it is, anything else computes it afresh and replaces it;
that file is read only when a result is asked for. Both files are written with `marshal` (as the
fingerprint index is), which a re-run reads back several times faster than JSON, its records as
tuples that Python's garbage collector soon stops walking.

marshal is not made to read what someone crafted, and a CI cache is restored from outside the clone,
so every cache file is sealed (`save_cache_file`): a checksum of its marshal data, a keyed digest
(HMAC-SHA256) instead when `$NBGIT_CACHE_KEY` holds a secret, and always in `$NBGIT_CACHE_DIR`
(without that secret, under a random key the clone keeps: `nbgit.check.cache_key`). A file whose seal does not match is
never handed to marshal, nor is one larger than `MAX_FILE_BYTES` or no regular file (a FIFO is not
waited on); whatever marshal raises is a miss, and what it loads is used only piece by
piece, each piece checked to have exactly the types and ranges nbgit writes (else a miss). In the
clone's own folder without `$NBGIT_CACHE_KEY`, a file crafted with a matching checksum could plant
verdicts of the right shape, or make marshal allocate gigabytes (it sizes a tuple by what the data
claims); whoever can write there can change git's hooks as well.

The cache lives in `nbgit/` under git's common directory (shared by linked worktrees, never
committed), or in `$NBGIT_CACHE_DIR` when that is set (a folder CI keeps between runs; not used when a
repository tracks anything there: a commit could plant a file sealed with a checksum), and holds
at most `MAX_ENTRIES` verdicts, the most recently used (to the hour: a re-run within the hour of
the last one that used its verdicts writes nothing). Deleting it only costs time.
"""

from __future__ import annotations

import functools
import json
import marshal
import os
import sys
import time
import zlib
from pathlib import Path
from typing import Any, NamedTuple

from nbgit.check.cache_key import clone_key, given_key
from nbgit.check.catalogue import Problem
from nbgit.files import file_stamp, read_file

CACHE_ENV = "NBGIT_CACHE_DIR"
FOLDER = "nbgit"
HEADER = b"nbgit cache, sealed\n"  # every cache file starts so, then its seal, then its marshal data
VERDICTS_FILE = "check-verdicts"  # marshal: {"format", "fingerprint", "verdicts", "files"}
OLD_VERDICTS_FILE = "check-verdicts.json"  # what nbgit before FORMAT 3 kept: removed when VERDICTS_FILE is written
RESULTS_FILE = "check-results"  # marshal: (FORMAT, fingerprint, {check: (key, result)})
FORMAT = 3
MAX_ENTRIES = 20_000
MAX_FILE_BYTES = 1 << 30  # a cache file this large is not read (a miss): the fingerprints of 60 million lines of code are smaller
USED_TO_THE = 3600  # seconds: an entry's time of last use is renewed once an hour, so a re-run soon after another rewrites nothing


class CacheFolder(NamedTuple):
    """Where cache files are kept, and the secret they are sealed under (None: a checksum)."""

    path: Path
    key: bytes | None


def cache_folder(root: Path | None) -> CacheFolder | None:
    """Where nbgit keeps caches for the repository at `root`: `$NBGIT_CACHE_DIR`, else `nbgit/` in git's
    common directory; None outside a repository. The folder may not exist yet. Files in
    `$NBGIT_CACHE_DIR`, which others may write, are sealed under `$NBGIT_CACHE_KEY` or else the clone's
    own key (no cache is used where there is neither)."""
    given = os.environ.get(CACHE_ENV)
    key = given_key()
    if given:
        key = key or clone_key(root)
        return CacheFolder(Path(given), key) if key is not None and _untracked(given, root) else None
    if root is None:
        return None
    from nbgit.store.location import (
        common_dir,  # read from .git, as git does: no git process
    )

    common = common_dir(root)
    return None if common is None else CacheFolder(common / FOLDER, key)


@functools.cache  # asked by the verdicts and by the fingerprint index of one run
def _untracked(folder: str, root: Path | None) -> bool:
    """Whether `$NBGIT_CACHE_DIR` holds nothing a repository tracks: neither the work tree at `root`
    (where the folder is named) nor the one holding where it leads. Files a repository tracks there came
    with a commit, and a stranger's pull request can commit a cache file sealed with a checksum (a fork's
    CI run has no `$NBGIT_CACHE_KEY`) that plants verdicts or fingerprints, or a link that sends what
    nbgit writes elsewhere. Such a folder is not used (the run costs time only), with one warning."""
    from nbgit.policy_files import root_of

    named = os.path.abspath(folder)
    places = {(str(root), named): None} if root is not None else {}
    places[root_of(named), os.path.realpath(named)] = None
    for top, path in places:
        inside = _inside(path, top)
        if inside is not None and _tracks(top, inside):
            from nbgit.progress import warn

            warn(f"{CACHE_ENV} ({folder}) holds files the repository at {top} tracks: no cache used this run",
                 f"point {CACHE_ENV} at a folder outside the work tree, such as the CI runner's temporary folder")
            return False
    return True


def _inside(path: str, top: str | None) -> str | None:
    """`path` (absolute) relative to the work tree `top` (as named or as it really is), None outside it."""
    if top is None:
        return None
    for base in dict.fromkeys((os.path.abspath(top), os.path.realpath(top))):
        if path == base:
            return "."
        if path.startswith(os.path.join(base, "")):
            return path[len(base) + 1 :]
    return None


def _tracks(top: str, relative: str) -> bool:
    """Whether git tracks anything at or below `relative` in the work tree `top` (a file, link or submodule)."""
    from nbgit import gitrepo
    from nbgit.errors import NbgitError

    try:
        return bool(gitrepo.git("ls-files", "-z", "--cached", "--", f":(literal){relative}" if relative != "." else ".", cwd=top))
    except (NbgitError, OSError):  # git cannot tell (no repository after all, a broken index): nothing known to be planted
        return False


def fingerprint(policy: Any) -> str:
    """What, besides a notebook's bytes, path and filter flag, decides its verdict: written out in full
    (a few KB), not digested, so that two different ones never match, and a re-run imports no hashlib."""
    import nbgit

    package = os.path.dirname(nbgit.__file__)
    code = sorted(_stamp(folder, name, len(package) + 1) for folder, _, names in os.walk(package) for name in names if name.endswith(".py"))
    parts = [FORMAT, nbgit.__version__, code, sys.version, _nbformat_stamp(), repr(policy)]
    return json.dumps(parts, default=repr)


def _stamp(folder: str, name: str, inside: int) -> tuple[str, int, int]:
    """A module's path in the package (`folder` cut at `inside`), size and modification time (one stat:
    this runs for every module, every run)."""
    path = os.path.join(folder, name)
    status = os.stat(path)
    return path[inside:], status.st_size, status.st_mtime_ns


def _nbformat_stamp() -> list[Any]:
    """nbformat's installed version, without importing it: its folder and the stamp of its version file."""
    import importlib.util

    spec = importlib.util.find_spec("nbformat")
    if spec is None or spec.origin is None:
        return []
    folder = Path(spec.origin).parent
    return [str(folder), *((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.glob("_version.py")))]


def entry_key(blob: str, path: str, filtered: bool) -> str:
    """One verdict's key within a fingerprint."""
    return f"{blob}:{int(filtered)}:{path}"


def staged_identity(blob: str, work_tree: bytes | None) -> str:
    """What stands for a staged blob in `entry_key`: git's id of the blob and of the working-tree file it
    was staged from (`-` for none), whose execution counts decide `hidden-state` when the filter strips them."""
    from nbgit.worktree.index import blob_id

    return f"{blob}+{blob_id(work_tree, 'sha1') if work_tree is not None else '-'}"


def save_cache_file(path: Path, value: Any, key: bytes | None = None) -> None:
    """Replace the cache file at `path` with `value` (plain data), sealed (an HMAC under `key`, else a checksum), atomically (a reader never sees
    half of it); whatever was at `path` is replaced, never written into or through (a FIFO, a link, as a
    restored CI cache may hold). A failure to write only costs time next run."""
    from nbgit.files import replace_own_in_folder

    data = marshal.dumps(value)
    try:
        replace_own_in_folder(str(path), HEADER + _seal(data, key) + data)
    except OSError:
        pass


def load_cache_file(path: Path, key: bytes | None = None) -> Any:
    """What `save_cache_file` wrote at `path` under `key`; None when it is absent, no regular file, larger than
    `MAX_FILE_BYTES`, unreadable, not sealed under `key` (damaged, crafted without the key, another
    key's; a checksum when `key` is None) or not marshal data. Never raises: the caller checks the shape of every piece
    it uses."""
    try:
        data = memoryview(read_file(path, MAX_FILE_BYTES).data)
        start = len(HEADER) + len(_seal(b"", key))
        if data[: len(HEADER)] != HEADER or not _sealed(data[len(HEADER) : start], data[start:], key):
            return None
        return marshal.loads(data[start:])
    except Exception:  # noqa: BLE001 - marshal raises what it likes on bad data (ValueError, EOFError, TypeError, MemoryError...): a miss
        return None


def _seal(data: bytes | memoryview, key: bytes | None) -> bytes:
    """An HMAC-SHA256 of `data` under `key` when there is one, else its CRC-32 (found damage only)."""
    if key is not None:
        import hmac

        return hmac.digest(key, data, "sha256")
    return zlib.crc32(data).to_bytes(4, "big")


def _sealed(seal: memoryview, data: memoryview, key: bytes | None) -> bool:
    """Whether `seal` is `data`'s; an HMAC is compared in constant time, so that how long a refusal
    takes tells nobody how much of a forged one was right."""
    if key is not None:
        import hmac

        return hmac.compare_digest(seal, _seal(data, key))
    return seal == _seal(data, key)


PROBLEM_TYPES = (str, str, (int, type(None)), str, str, int, int, (int, type(None)))  # Problem's fields but `copied`
COUNT_LIMIT = 1 << 62  # every number nbgit writes in a cache (a cell, a line, a time) is below it


def plain_count(value: Any) -> bool:
    """Whether `value` is a whole number as nbgit writes one (a cell, a line, a time): an int from 0, below COUNT_LIMIT."""
    return type(value) is int and 0 <= value < COUNT_LIMIT


def plain_problem(fields: Any, more: int = 0) -> bool:
    """Whether `fields` are a Problem's plain fields as nbgit writes them (`more` fields after them unchecked)."""
    return (
        type(fields) is tuple and len(fields) == len(PROBLEM_TYPES) + more
        and all(isinstance(field, kind) and (type(field) is not int or plain_count(field)) for field, kind in zip(fields, PROBLEM_TYPES))
    )


def _readable(entry: Any) -> bool:
    """Whether a cache entry has the shape `put` writes: (last used, ((Problem fields), ...))."""
    return (
        type(entry) is tuple and len(entry) == 2 and plain_count(entry[0]) and type(entry[1]) is tuple
        and all(plain_problem(fields, 1) and fields[-1] is None for fields in entry[1])
    )


def _last_used(entry: Any) -> int:
    """When a cache entry was last used; never, for an entry that does not read back."""
    return entry[0] if _readable(entry) else -1


def file_identity(cache: Verdicts | None, path: str, status: os.stat_result | None, limit: int | None = None) -> tuple[str, bytes | None] | None:
    """The blob id of the regular file at the real `path` whose stat data are `status`, with its bytes when
    they had to be read: the id `cache` remembers for those stat data (no bytes), else the bytes' (the id
    remembered then, under the stat data taken before the read: a write since shows next run; with no
    cache or no stat data, the bytes' alone). None when the file cannot be read so (gone, no regular
    file, more than `limit` bytes when given)."""
    known = cache.blob_of(path, status) if cache is not None and status is not None else None
    if known is not None:
        return known, None
    from nbgit.errors import NbgitError
    from nbgit.worktree.index import blob_id  # (hashing: only for what the stat data do not tell)

    try:
        data = read_file(Path(path), limit).data
    except NbgitError:
        return None
    blob = blob_id(data, "sha1")
    stamp = file_stamp(status) if cache is not None and status is not None else None
    if cache is not None and stamp is not None:
        cache.remember_blob(path, stamp, blob)
    return blob, data


class Verdicts:
    """The verdicts of one fingerprint, read from and written back to the cache file."""

    def __init__(
        self, path: Path | None, fingerprint: str, entries: dict[str, tuple[Any, ...]], files: dict[str, tuple[Any, ...]] | None = None, key: bytes | None = None
    ) -> None:
        self.path = path
        self.key = key  # what the files are sealed under (`cache_folder`)
        self.fingerprint = fingerprint
        self.entries = entries
        self.files = files if files is not None else {}  # real path: [*file_stamp, blob id]
        self.results: dict[str, tuple[str, Any]] | None = None  # check: (key, result), read when first asked for
        self.changed = False
        self.results_changed = False
        self.known: dict[str, tuple[os.stat_result, str | None]] = {}  # this run's answers of `blob_of`, by the stat data asked with
        self.now = int(time.time())

    @classmethod
    def load(cls, root: Path | None, policy: Any) -> Verdicts:
        """The cached verdicts for this policy and code; empty when there are none usable."""
        folder = cache_folder(root)
        path = folder.path / VERDICTS_FILE if folder is not None else None
        key = folder.key if folder is not None else None
        stamp = fingerprint(policy)
        entries: dict[str, tuple[Any, ...]] = {}
        files: dict[str, tuple[Any, ...]] = {}
        saved = load_cache_file(path, key) if path is not None else None  # absent, unreadable, corrupt or another version's: start afresh
        if (
            type(saved) is dict and saved.get("format") == FORMAT and saved.get("fingerprint") == stamp
            and type(saved.get("verdicts")) is dict and type(saved.get("files")) is dict
        ):
            entries, files = saved["verdicts"], saved["files"]  # each entry is checked when used (`get`, `blob_of`)
        return cls(path, stamp, entries, files, key)

    def blob_of(self, path: str, status: os.stat_result) -> str | None:
        """The blob id remembered for the file at the real `path` when its stat data are `status`, else None.
        (Asked again with the same stat data, as the checks that share a run's look at a file do, it answers at once.)"""
        known = self.known.get(path)
        if known is not None and known[0] is status:
            return known[1]
        entry = self.files.get(path)
        stamp = file_stamp(status) if entry is not None else None
        blob = None if stamp is None or type(entry) is not tuple or entry[:-1] != tuple(stamp) or type(entry[-1]) is not str else entry[-1]
        self.known[path] = (status, blob)
        return blob

    def remember_blob(self, path: str, stamp: list[int], blob: str) -> None:
        """Remember the blob id of the file at the real `path`, read when its stat data were `stamp` (`file_stamp`)."""
        self.known.pop(path, None)  # what `blob_of` answered for other stat data no longer holds
        if self.files.get(path) != (*stamp, blob):
            self.files.pop(path, None)  # the newest last: `save` keeps the newest
            self.files[path] = (*stamp, blob)
            self.changed = True

    def result(self, check: str, key: str) -> Any:
        """The result of `check` remembered under exactly `key` (plain data: tuples, lists, text, numbers), else None."""
        entry = self._results().get(check)
        return entry[1] if type(entry) is tuple and len(entry) == 2 and entry[0] == key else None

    def remember_result(self, check: str, key: str, result: Any) -> None:
        """Remember `check`'s result for `key` (plain data that `marshal` writes), in place of the last one."""
        results = self._results()
        if results.get(check) != (key, result):
            results[check] = (key, result)
            self.results_changed = True

    def _results(self) -> dict[str, tuple[str, Any]]:
        if self.results is None:
            self.results = {}
            saved = load_cache_file(self.path.with_name(RESULTS_FILE), self.key) if self.path is not None else None
            if type(saved) is tuple and len(saved) == 3 and saved[:2] == (FORMAT, self.fingerprint) and type(saved[2]) is dict:
                self.results = saved[2]  # (a result is checked by the check that asks for it)
        return self.results

    def get(self, key: str) -> list[Problem] | None:
        """The problems remembered for `key`, or None (a miss, also for an entry that does not read back)."""
        entry = self.entries.get(key)
        if not _readable(entry):
            return None
        if not 0 <= self.now - entry[0] < USED_TO_THE:
            self.entries[key] = (self.now, entry[1])
            self.changed = True
        return [Problem(*fields) for fields in entry[1]]

    def put(self, key: str, problems: list[Problem]) -> None:
        """Remember the verdict for `key`, when every field of its problems is a plain value that reads back the same."""
        if any(not isinstance(field, (str, int, type(None))) for p in problems for field in p):
            return
        self.entries[key] = (self.now, tuple(tuple(p) for p in problems))
        self.changed = True

    def save(self) -> None:
        """Write the files back when anything changed, keeping the `MAX_ENTRIES` most recently used verdicts."""
        if self.path is None:
            return
        if self.results_changed:
            save_cache_file(self.path.with_name(RESULTS_FILE), (FORMAT, self.fingerprint, self.results), self.key)
        if not self.changed:
            return
        entries = self.entries
        if len(entries) > MAX_ENTRIES:
            kept = sorted(entries, key=lambda k: _last_used(entries[k]), reverse=True)[:MAX_ENTRIES]
            entries = {k: entries[k] for k in kept}
        files = dict(list(self.files.items())[-MAX_ENTRIES:])
        save_cache_file(self.path, {"format": FORMAT, "fingerprint": self.fingerprint, "verdicts": entries, "files": files}, self.key)
        try:
            self.path.with_name(OLD_VERDICTS_FILE).unlink(missing_ok=True)
        except OSError:
            pass  # (a file nothing reads: it only costs room)
