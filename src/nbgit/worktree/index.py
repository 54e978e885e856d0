"""git's index file: find stage-0 entries and rewrite their stat data, under git's own lock.

What `nbgit refresh` needs and nothing more. git offers no command that records a file's stat
data while keeping the entry's blob (`git add` re-reads the file and may store whatever it holds
by then; `update-index --cacheinfo` cannot check that the entry is still the one judged), so the
few bytes are rewritten here, the way git itself updates an index:

- take `<index>.lock` with O_CREAT|O_EXCL (git's protocol: no git command writes the index while
  it exists), read the index, change only the stat fields of the chosen entries, recompute the
  trailing checksum, write the whole file to the lock and rename it over the index;
- versions 2, 3 and 4 (path-compressed), SHA-1 and SHA-256 repositories; extensions are kept
  byte for byte (none of them depends on stat data, and entry sizes never change, so the offsets
  in `EOIE` and `IEOT` stay right); a split index (`link` extension) is refused;
- smudge the entries that are racily clean, as git's index writer does (read-cache.c): git trusts
  an entry's stat data only when its file was last modified before the index was written, so one
  modified in the second the old index was written may hold a change that only a content check
  finds. The new index is written later and would hide it; its size set to 0 makes git compare the
  content next time instead. Only stage-0 entries can be racy: git records no stat data (all
  zero) for the stages of an unmerged path.

The stat fields are those git's `fill_stat_data` records: ctime and mtime (seconds, nanoseconds),
device, inode, uid, gid and size, each truncated to 32 bits; the mode field stays as it is.
"""

from __future__ import annotations

import hashlib
import os
import signal
import struct
import threading
import time
from pathlib import Path
from typing import Any, Iterable, NamedTuple

from nbgit.errors import NbgitError

SIGNATURE = b"DIRC"
HEADER = struct.Struct(">4sII")  # signature, version, number of entries
STAT = struct.Struct(">10I")  # ctime s, ctime ns, mtime s, mtime ns, dev, ino, mode, uid, gid, size
FLAGS = struct.Struct(">H")
SIZE = struct.Struct(">I")  # the last stat field: 0 makes git compare the entry's content ("smudged")
GITLINK, FILE_TYPE = 0o160000, 0o170000  # a submodule's entry: git compares its HEAD, never its stat data
ASSUME_VALID, EXTENDED, STAGE_MASK, NAME_MASK = 0x8000, 0x4000, 0x3000, 0x0FFF
SKIP_WORKTREE, INTENT_TO_ADD = 0x4000, 0x2000  # in the extended flags (version 3 and later)
SPLIT_INDEX = b"link"
HASHES = {"sha1": 20, "sha256": 32}
LOCK_POLL = 0.02  # seconds between two tries at a lock another git command holds


class IndexBusy(NbgitError):
    """Another git command holds the index lock for longer than we wait."""


class Entry(NamedTuple):
    """A stage-0 index entry: its blob, where its stat data starts in the file, and whether git
    compares it with the work tree at all (not for assume-unchanged, skip-worktree, intent-to-add)."""

    blob: str
    offset: int
    compared: bool


def hash_size(object_format: str) -> int:
    """Bytes in an object name for git's `--show-object-format` answer (sha1, sha256)."""
    try:
        return HASHES[object_format]
    except KeyError:
        raise NbgitError(f"unknown git object format {object_format!r}", "upgrade nbgit") from None


class Found(NamedTuple):
    """What one walk over an index finds: the stage-0 entries asked for, and the racily clean ones."""

    entries: dict[str, Entry]  # by repo-relative path: those of the paths asked for that the index holds
    racy: dict[str, Entry]  # every stage-0 entry racily clean against the time asked for (see racily_clean)


def find_entries(data: bytes, object_format: str, paths: Iterable[str], racy_since: int = 0) -> Found:
    """The stage-0 entries of `paths` in an index file's bytes and, given `racy_since` (ns), every
    stage-0 entry racily clean against it; NbgitError when the index is damaged or unsupported.

    One walk over every entry, which decodes only the names it keeps: in an index of 90,000
    entries that is about 20 ms, where building every entry took ten times as long (the lock is
    held meanwhile). In versions 2 and 3 a name is looked at only when its length is one asked for.
    """
    size = hash_size(object_format)
    _check_sum(data, object_format)
    signature, version, count = HEADER.unpack_from(data, 0)
    if signature != SIGNATURE or version not in (2, 3, 4):
        raise NbgitError(f"the index is not a git index of version 2, 3 or 4 (version {version})", "upgrade nbgit, or let git rewrite it")
    wanted = {path.encode("utf-8", "surrogateescape") for path in paths}
    lengths = {len(name) for name in wanted}
    second = (racy_since // 1_000_000_000) & 0xFFFFFFFF or 0x100000000  # no time asked for: no entry is racy
    head = struct.Struct(f">8xI{28 + size}xH").unpack_from  # the modification second and the flags
    fixed = STAT.size + size + FLAGS.size
    entries: dict[str, Entry] = {}
    racy: dict[str, Entry] = {}
    at, previous = HEADER.size, b""
    for _ in range(count):
        offset = at
        mtime, flags = head(data, at)
        at += fixed
        extended = 0
        if flags & EXTENDED:
            extended = FLAGS.unpack_from(data, at)[0]
            at += FLAGS.size
        if version == 4:
            strip, at = _varint(data, at)
            end = data.index(b"\0", at)
            name = previous = previous[: len(previous) - strip] + data[at:end]
            at = end + 1
        else:
            start, length = at, flags & NAME_MASK
            end = start + length if length < NAME_MASK else data.index(b"\0", start)
            at = offset + ((end - offset + 8) & ~7)  # NUL-padded to a multiple of 8 bytes, at least one NUL
            if length not in lengths and length < NAME_MASK and mtime < second:
                continue  # neither asked for nor racy: its name is not even read
            name = data[start:end]
        if flags & STAGE_MASK or not (name in wanted or mtime >= second):
            continue
        entry = Entry(data[offset + STAT.size : offset + STAT.size + size].hex(), offset, not (flags & ASSUME_VALID or extended & (SKIP_WORKTREE | INTENT_TO_ADD)))
        path = name.decode("utf-8", "surrogateescape")
        if name in wanted:
            entries[path] = entry
        if mtime >= second and _racy(data, offset):
            racy[path] = entry
    _refuse_split_index(data, at, len(data) - size)
    return Found(entries, racy)


def with_stat(data: bytes, changes: list[tuple[Entry, os.stat_result]], smudged: Iterable[Entry], object_format: str) -> bytes:
    """The index bytes with each changed entry's stat data set from its `os.stat_result` and each
    smudged entry's size set to 0 (git then compares its content), checksum recomputed."""
    updated = bytearray(data)
    for entry in smudged:
        SIZE.pack_into(updated, entry.offset + STAT.size - SIZE.size, 0)
    for entry, stat in changes:
        mode = STAT.unpack_from(data, entry.offset)[6]
        STAT.pack_into(
            updated,
            entry.offset,
            *(n & 0xFFFFFFFF for n in (*divmod(stat.st_ctime_ns, 1_000_000_000), *divmod(stat.st_mtime_ns, 1_000_000_000))),
            stat.st_dev & 0xFFFFFFFF,
            stat.st_ino & 0xFFFFFFFF,
            mode,
            stat.st_uid & 0xFFFFFFFF,
            stat.st_gid & 0xFFFFFFFF,
            stat.st_size & 0xFFFFFFFF,
        )
    size = hash_size(object_format)
    if any(data[-size:]):  # an all-zero checksum means git skips it (index.skipHash): keep it so
        updated[-size:] = hashlib.new(object_format, updated[:-size]).digest()
    return bytes(updated)


def racily_clean(data: bytes, entries: dict[str, Entry], since: int) -> dict[str, Entry]:
    """Those of `entries` whose file git recorded as modified at or after the second of `since` (ns):
    git trusts their stat data only while the index is not newer (read-cache.c is_racy_timestamp,
    which also compares nanoseconds when git is built to; the whole second is safe either way)."""
    second = (since // 1_000_000_000) & 0xFFFFFFFF
    return {path: entry for path, entry in entries.items() if second and STAT.unpack_from(data, entry.offset)[2] >= second and _racy(data, entry.offset)}


def _racy(data: bytes, offset: int) -> bool:
    """Whether an entry recorded late enough can be racily clean at all: gitlinks (git compares a
    submodule's HEAD) and entries already smudged (size 0) are not."""
    fields = STAT.unpack_from(data, offset)
    return fields[6] & FILE_TYPE != GITLINK and fields[9] != 0


def listed_by_size(data: bytes, entry: Entry, seen: os.stat_result) -> bool:
    """Whether git lists the entry as modified on its size alone, never reading the file: the size it
    recorded differs from the file's. A size of 0 (just checked out, or smudged) is not trusted:
    git compares the content then, as it does when only the times differ (read-cache.c ie_match_stat)."""
    recorded = STAT.unpack_from(data, entry.offset)[9]
    return recorded != 0 and recorded != seen.st_size & 0xFFFFFFFF


def stat_matches(data: bytes, entry: Entry, file: Path) -> bool:
    """Whether `file` has the size and modification second `entry` records: stat fields git always
    compares, so a file that differs in either is listed by git however old the index is."""
    try:
        seen = os.lstat(file)
    except OSError:
        return False
    fields = STAT.unpack_from(data, entry.offset)
    return (fields[2], fields[9]) == ((seen.st_mtime_ns // 1_000_000_000) & 0xFFFFFFFF, seen.st_size & 0xFFFFFFFF)


def _check_sum(data: bytes, object_format: str) -> None:
    size = hash_size(object_format)
    if len(data) < HEADER.size + size:
        raise NbgitError("the index file is truncated", "run `git status` to let git report it")
    stored = data[-size:]
    if any(stored) and hashlib.new(object_format, data[:-size]).digest() != stored:
        raise NbgitError("the index file's checksum does not match", "run `git status` to let git report it")


def _varint(data: bytes, at: int) -> tuple[int, int]:
    """git's offset varint (varint.c): the number and where the bytes after it start."""
    byte = data[at]
    value = byte & 0x7F
    while byte & 0x80:
        at += 1
        byte = data[at]
        value = ((value + 1) << 7) | (byte & 0x7F)
    return value, at + 1


def _refuse_split_index(data: bytes, at: int, end: int) -> None:
    """NbgitError when the index is split (its entries partly live in a shared index file)."""
    while at + 8 <= end:
        signature, length = data[at : at + 4], struct.unpack_from(">I", data, at + 4)[0]
        if signature == SPLIT_INDEX:
            raise NbgitError("this repository uses a split index (core.splitIndex), which nbgit cannot update", "run `git update-index --no-split-index`")
        at += 8 + length


class IndexLock:
    """`<index>.lock` held as git holds it: taken with O_CREAT|O_EXCL, written, renamed over the index.

    Used as a context manager; the lock never outlives the block, whatever happens in it, and a
    lock renamed over the index is never removed afterwards (another git command may hold a new one).
    """

    def __init__(self, index: Path, wait: float) -> None:
        self.index = index
        self.path = index.with_name(index.name + ".lock")
        self.wait = wait
        self.held = False
        self.taken = 0  # when the lock was taken, by the file system's clock (ns): no git command wrote the index since
        self.on_terminate: Any = None

    def __enter__(self) -> IndexLock:
        deadline = time.monotonic() + self.wait
        self._exit_cleanly_on_sigterm()
        try:
            while True:
                try:
                    descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
                    self.taken = os.fstat(descriptor).st_mtime_ns
                    os.close(descriptor)
                    self.held = True
                    return self
                except FileExistsError:
                    if time.monotonic() >= deadline:
                        raise IndexBusy(
                            f"another git command is using the index ({self.path} exists)",
                            "run it again once that command is done; if no git command is running, a crashed one left the lock: remove it",
                        ) from None
                    time.sleep(LOCK_POLL)
                except OSError as error:
                    raise NbgitError(f"cannot lock the index: {error}", "check the permissions of the repository's .git folder") from None
        except BaseException:
            self._restore_sigterm()
            raise

    def read(self) -> tuple[bytes, int]:
        """The index's bytes and when they were written (its mtime, ns), from one open file."""
        return read_index(self.index)

    def write(self, data: bytes) -> int:
        """Write `data` to the lock, not yet over the index; when it was written (its mtime, ns)."""
        with open(self.path, "wb") as handle:
            handle.write(data)
            handle.flush()
            return os.fstat(handle.fileno()).st_mtime_ns

    def commit(self) -> None:
        """Rename the lock, as last written, over the index, keeping the index's permissions."""
        try:
            os.chmod(self.path, self.index.stat().st_mode & 0o777)
        except FileNotFoundError:
            pass
        os.replace(self.path, self.index)
        self.held = False

    def __exit__(self, *exc: object) -> None:
        if self.held:
            self.path.unlink(missing_ok=True)
            self.held = False
        self._restore_sigterm()

    def _exit_cleanly_on_sigterm(self) -> None:
        """In a process that would die at once on SIGTERM (nbgit's commands, not a Jupyter Server, which
        handles it), make SIGTERM an exception while the lock is held, so that the lock goes with it."""
        if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            self.on_terminate = signal.signal(signal.SIGTERM, _terminated)

    def _restore_sigterm(self) -> None:
        if self.on_terminate is not None:
            signal.signal(signal.SIGTERM, self.on_terminate)
            self.on_terminate = None


def _terminated(number: int, frame: object) -> None:
    raise SystemExit(128 + number)


def read_index(index: Path) -> tuple[bytes, int]:
    """An index file's bytes and when they were written (its mtime, ns), from one open file."""
    with open(index, "rb") as handle:
        return handle.read(), os.fstat(handle.fileno()).st_mtime_ns


def blob_id(data: bytes, object_format: str) -> str:
    """The name git gives a blob holding `data` (what `git hash-object` prints), without running git."""
    digest = hashlib.new(object_format, b"blob %d\0" % len(data))
    digest.update(data)
    return digest.hexdigest()
