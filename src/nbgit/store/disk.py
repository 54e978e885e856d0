"""The output store on disk: content-addressed files under git's common directory, written atomically.

    notebooks/ab/<oid>     how to rebuild one work-tree notebook (`skeleton`), named by git's object id
                           of the cleaned blob it cleans to (or, for a path whose version of that blob
                           is not the one recorded first, by a digest of the path and the id: `record`)
    objects/ab/<sha256>    one long line of a work-tree notebook (an image, a long HTML line), named by
                           its own digest: stored once, however many versions of however many notebooks hold it
    histories/ab           the last cleaned blobs recorded at each path whose digest starts with `ab` (`history`)
    eols/ab/<oid>          the blob git stores of a version recorded with CRLF line endings, where git converts them (`eol`)
    usage                  the store's size in bytes as last counted, plus what was written since

Every file name is (a part of) a digest nbgit computed, never a name taken from the repository, so
nothing is read or written outside the store. Files are written under a temporary name and renamed
(the history logs are appended to: `history`): a reader sees a whole entry or none, also when the
writer is killed. A file that does not parse, or that rebuilds into other bytes than the ones
recorded, is damaged: ignored with one warning, and removed.
Recency is the files' modification time, refreshed on every use: eviction goes by it (`evict`).
"""

from __future__ import annotations

import hashlib
import os
import zlib
from pathlib import Path
from typing import NamedTuple

from nbgit.files import TEMPORARY_SUFFIX, replace_own_in_folder, write_atomic
from nbgit.progress import warn
from nbgit.store.location import linked_worktrees
from nbgit.worktree.index import blob_id

KINDS = ("notebooks", "objects", "paths", "eols")  # paths: histories as older stores kept them, a file per path (`history`); eols: `eol`
USAGE = "usage"
_FORMAT = b"nbgit-outputs 4"
_FORMATS = (b"nbgit-outputs 1", b"nbgit-outputs 2", b"nbgit-outputs 3", _FORMAT)  # 1 holds no recipe, 2 no origin, 3 no time read
_HEX = frozenset(b"0123456789abcdef")


def digest(data: bytes) -> str:
    """The sha256 of `data` in hex: the name of an object, or of a path's history."""
    return hashlib.sha256(data).hexdigest()


def checksum(data: bytes) -> str:
    """A quick checksum of a work-tree notebook (with its size, it tells whether the store has that
    version already; it names nothing, so speed matters more than strength: git status runs it on
    every notebook it cleans)."""
    return "%08x" % zlib.crc32(data)


def is_name(name: str | bytes, lengths: tuple[int, ...] = (40, 64)) -> bool:
    """Whether `name` is a store name (40 or 64 lower-case hex digits, or as many as `lengths` says), so it
    can never leave its folder."""
    raw = name.encode("ascii", "replace") if isinstance(name, str) else name
    return len(raw) in lengths and _HEX.issuperset(raw)


class Record(NamedTuple):
    """How to rebuild one work-tree notebook from the blob it cleans to: the checksum and size of its
    bytes, and its skeleton, compressed (`nbgit.store.skeleton`); and the other way, the digest of its
    bytes and the recipe that makes the blob of them.

    `fingerprint` names the nbgit version and cleaning policy that cleaned it (`record.fingerprint`);
    `origin` the path it was recorded at, in its work tree (`history.path_name`; "" in records of earlier formats);
    `read_at` when git handed its bytes to the filter (or nbgit read them), in nanoseconds since the
    epoch (0 in records of earlier formats): a version read earlier never replaces it (`Store.put_record`).
    """

    fingerprint: str
    checksum: str
    size: int
    packed: bytes
    digest: str = ""  # of the work-tree bytes ("" in records of nbgit-outputs 1)
    recipe: bytes = b""
    origin: str = ""
    read_at: int = 0

    def encode(self) -> bytes:
        """The record file's bytes."""
        return b"%s\n%s\n%s %d %s %d %s %d\n%s%s" % (
            _FORMAT, self.fingerprint.encode(), self.checksum.encode(), self.size, self.digest.encode(), len(self.recipe),
            self.origin.encode(), self.read_at, self.recipe, self.packed)

    @classmethod
    def decode(cls, data: bytes) -> Record:
        """A record from its file's bytes; ValueError when they are not one."""
        parts = data.split(b"\n", 3)
        if len(parts) != 4 or parts[0] not in _FORMATS:
            if written_by_newer(data):
                raise NewerFormat("a record of a newer nbgit")
            raise ValueError("not an nbgit output record")
        check, size, *more = parts[2].split(b" ")
        if len(check) != 8 or not _HEX.issuperset(check) or not size.isdigit() or not parts[1].isalnum():
            raise ValueError("a malformed record header")
        if parts[0] == _FORMATS[0]:
            return cls(parts[1].decode(), check.decode(), int(size), parts[3])
        read_at = more.pop() if parts[0] == _FORMAT and more else b"0"
        origin = more.pop() if parts[0] in _FORMATS[2:] and more else b""
        if len(more) != 2 or not is_name(more[0]) or not more[1].isdigit() or origin and not is_name(origin, (64,)) or not read_at.isdigit():
            raise ValueError("a malformed record header")
        recipe_size = int(more[1])
        return cls(parts[1].decode(), check.decode(), int(size), parts[3][recipe_size:], more[0].decode(), parts[3][:recipe_size],
                   origin.decode(), int(read_at))

    def skeleton(self) -> bytes:
        """The uncompressed skeleton; ValueError when it is damaged."""
        try:
            return zlib.decompress(self.packed)
        except zlib.error as error:
            raise ValueError(f"a damaged skeleton ({error})") from None


class NewerFormat(ValueError):
    """A record a newer nbgit wrote (one sharing this clone: another environment's, Jupyter's say)."""


def written_by_newer(data: bytes) -> bool:
    """Whether a store file is a record of a format newer than this nbgit reads: left alone, never
    removed as damaged, so that an older nbgit beside a newer one costs neither its outputs."""
    head, _, _ = data.partition(b"\n")
    number = head.removeprefix(b"nbgit-outputs ")
    return number != head and number.isdigit() and int(number) > len(_FORMATS)


def pack(skeleton: bytes) -> bytes:
    """A skeleton compressed for its record."""
    return zlib.compress(skeleton, 1)  # level 6 takes 1.8x the time for a tenth less


class Store:
    """One clone's output store (the folder need not exist yet: it is made on the first write)."""

    def __init__(self, directory: Path, object_format: str = "sha1", worktree: str = "") -> None:
        self.directory = directory
        self.object_format = object_format  # the repository's: records are named by git's blob ids
        self.worktree = worktree  # the work tree this process runs in: "" for the main one (`location.worktree_name`)
        self._other_worktrees: list[str] | None = None
        self._root = str(directory)  # entries are reached by string: pathlib costs more than the read
        self.warned = False
        self.refusals_told = False
        self.written = 0  # bytes this process wrote, for the size accounting

    def other_worktrees(self) -> list[str]:
        """The names of the clone's other work trees (as `worktree` is named), the main one first: where a
        path's version this work tree never had may come from. Listed once per process."""
        if self._other_worktrees is None:
            linked = [name for name in linked_worktrees(self.directory) if name != self.worktree]
            self._other_worktrees = ([""] if self.worktree else []) + linked
        return self._other_worktrees

    def file(self, kind: str, name: str) -> str:
        """Where one entry lives; ValueError for a name that is not a digest."""
        if kind not in KINDS or not is_name(name):
            raise ValueError(f"not a store entry: {kind}/{name!r}")
        return f"{self._root}/{kind}/{name[:2]}/{name}"

    # --- entries ---------------------------------------------------------------------------

    def read(self, kind: str, name: str) -> bytes | None:
        """An entry's bytes, None when it is not there."""
        return self.read_file(self.file(kind, name))

    @staticmethod
    def read_file(path: str) -> bytes | None:
        """A file's bytes, None when it is not there. Read with one system call sized by fstat, no
        file object: `git status` reads a record for every notebook it cleans."""
        try:
            fd = os.open(path, os.O_RDONLY)
        except (FileNotFoundError, NotADirectoryError):
            return None
        try:
            size = os.fstat(fd).st_size
            data = os.read(fd, size + 1)
            if len(data) == size:
                return data
            parts = [data]  # a short read, or a file that grew meanwhile (never a renamed entry): the rest
            while chunk := os.read(fd, 1 << 20):
                parts.append(chunk)
            return b"".join(parts)
        finally:
            os.close(fd)

    def write(self, kind: str, name: str, data: bytes) -> None:
        """Write an entry atomically (a temporary file, then a rename)."""
        replace_own_in_folder(self.file(kind, name), data)
        self.written += len(data)

    def link(self, kind: str, name: str, other: str) -> bool:
        """Make entry `other` the very file of entry `name`, in place of what it was (a hard link, then a
        rename: no bytes written); False when that cannot be done (`name` gone meanwhile, a file system
        without links)."""
        source, target = self.file(kind, name), self.file(kind, other)
        folder, base = os.path.split(target)
        temporary = f"{folder}/.{base}.{os.getpid()}{TEMPORARY_SUFFIX}"
        try:
            for attempt in range(3):  # (a folder made, a leftover of a killed process of this id removed)
                try:
                    os.link(source, temporary)
                    break
                except FileNotFoundError:
                    if attempt or not os.path.exists(source):
                        return False
                    os.makedirs(folder, exist_ok=True)
                except FileExistsError:
                    _unlink(temporary)
            else:
                return False
            os.replace(temporary, target)
        except OSError:
            _unlink(temporary)
            return False
        return True

    def touch(self, kind: str, name: str) -> None:
        """Mark an entry as just used (eviction removes the least recently used first)."""
        try:
            os.utime(self.file(kind, name))
        except OSError:
            pass

    def remove(self, kind: str, name: str) -> None:
        """Remove an entry if it is there."""
        _unlink(self.file(kind, name))

    def discard(self, kind: str, name: str) -> None:
        """Remove an entry that can never serve again (damaged, or its object evicted), where the store can
        be changed: one that stays (a read-only store) is found unusable again the next time it is read."""
        _discard(self.file(kind, name))

    def damaged(self, kind: str, name: str, why: str) -> None:
        """Remove a damaged entry; the first one of a process gets a warning."""
        self.damaged_file(self.file(kind, name), why)

    def damaged_file(self, path: str, why: str) -> None:
        """Remove a damaged file of the store (an entry, a history log) where the store can be changed; the
        first one of a process gets a warning, which says whether it went."""
        removed = _discard(path)
        if not self.warned:
            self.warned = True
            warn(f"{path} in the output store is damaged ({why}): ignored and {'removed' if removed else 'left (the store cannot be changed)'}; "
                 "outputs that needed it are not restored until git records them again")

    def refused(self, error: OSError) -> None:
        """A write the disk refused (full, read-only), after which what the store holds still serves; the
        first one of a process gets a warning."""
        if not self.refusals_told:
            self.refusals_told = True
            warn(f"keeping outputs failed: {self.directory} cannot be written ({error.strerror or error}); "
                 "outputs kept before still come back, new versions are not kept",
                 "free some space, or check the permissions of that folder")

    # --- notebooks and objects -------------------------------------------------------------

    def key(self, blob: bytes) -> str:
        """The name of the record for a cleaned blob: git's id of it, by which git can also give it back."""
        return blob_id(blob, self.object_format)

    def record(self, key: str) -> Record | None:
        """The record for the cleaned blob named `key`; None when absent, damaged (then removed) or written
        by a newer nbgit (then left alone: `written_by_newer`)."""
        data = self.read("notebooks", key)
        if data is None:
            return None
        try:
            return Record.decode(data)
        except NewerFormat:
            return None  # (not this nbgit's to judge: a newer one wrote it)
        except ValueError as error:
            self.damaged("notebooks", key, str(error))
            return None

    def put_record(self, key: str, record: Record) -> bool:
        """Write a record, unless the one there is of a version read later (`Record.read_at`: a process
        recording what git read before, slower than the one that recorded what it read since); whether
        it was written."""
        there = self.record(key)
        if there is not None and there.read_at > record.read_at:
            return False
        self.write("notebooks", key, record.encode())
        return True

    def put_object(self, name: str, data: bytes) -> None:
        """Write an object unless it is there already (then only mark it used)."""
        try:
            os.utime(self.file("objects", name))
        except FileNotFoundError:
            self.write("objects", name, data)

    # --- size ------------------------------------------------------------------------------

    def usage(self) -> int | None:
        """The store's size as last counted, by any process (read again each time: other processes count
        what they write too); None when never counted."""
        try:
            counted = (self.directory / USAGE).read_bytes()
        except OSError:
            return None
        return int(counted) if counted.isdigit() else None  # `set_usage` writes digits only: anything else (a negative size would never evict) is counted again

    def set_usage(self, size: int) -> None:
        """Record the store's size (after counting it, or after writing)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        write_atomic(self.directory / USAGE, str(size).encode("ascii"))


def _discard(path: str) -> bool:
    """Remove a file of the store where it can be changed; whether it is gone."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return True
    except OSError:  # (a store that cannot be changed)
        return False
    return True


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
