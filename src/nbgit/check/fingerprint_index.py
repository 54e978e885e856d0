"""Fingerprints of files kept between runs, by blob id, under git's common directory.

`nbgit check` and the pre-commit hook compare every notebook and module of the repository, but
tokenise only what they have not seen: a file's fingerprint depends only on its bytes (its blob id)
and on nbgit's normalisation, so it is kept as `fingerprints` in the folder of nbgit's caches
(`<git common dir>/nbgit`, shared by linked work trees and never committed, or `$NBGIT_CACHE_DIR`) with nbgit's version and the normalisation's format. The
policy is applied after the index (minimum size, excluded paths), so changing it never needs a
new fingerprint. The file is replaced atomically, holds only the fingerprints recent runs used,
and a missing, unreadable or foreign one only costs the time to rebuild it.

Anyone can compute the version and a file's blob id, so a file planted in a folder others write
(`$NBGIT_CACHE_DIR`: a CI cache) could say a notebook holds no code, or another's: there the file is
sealed under a secret (`nbgit.check.cache_key`), and one sealed otherwise is foreign.
"""

from __future__ import annotations

from array import array
from pathlib import Path
from typing import Any, NamedTuple

from nbgit import __version__, fastjson, gitrepo
from nbgit.check.cache import (
    cache_folder,
    load_cache_file,
    plain_count,
    save_cache_file,
)
from nbgit.check.fingerprints import FORMAT, Unit, module_units, notebook_units
from nbgit.parallel import map_on_all_cores

INDEX_FILE = "fingerprints"  # in the folder of nbgit's caches (nbgit.check.cache.cache_folder)
PARALLEL_FROM = 64  # files per worker: fewer are tokenised faster here than a process starts
KEEP_UNUSED = 10_000  # fingerprints kept beyond those a run used, for switching branches
Units = tuple[Unit, ...]
Packed = tuple[tuple[int, bytes, bytes, bytes, tuple[tuple[int, str], ...]], ...]


class Job(NamedTuple):
    """A file to fingerprint: its index key, its blob, its language (None for a notebook) and its
    bytes when read from the work tree (else they come from git by blob)."""

    key: str
    blob: str
    language: str | None
    data: bytes | None


class FingerprintIndex:
    """The kept fingerprints of one repository (in memory only outside a repository)."""

    def __init__(self, path: Path | None, entries: dict[str, Packed], key: bytes | None = None) -> None:
        self.path = path
        self.key = key  # what the file is sealed under (`cache_folder`)
        self.entries = entries
        self.unpacked: dict[str, Units | None] = {}  # the entries read so far (None: absent or damaged)
        self.used: set[str] = set()
        self.dirty = False

    @classmethod
    def open(cls, root: Path | None) -> FingerprintIndex:
        """The index of the repository at `root`; empty when absent, unreadable or made by another nbgit."""
        folder = cache_folder(root)
        if folder is None:
            return cls(None, {})
        path = folder.path / INDEX_FILE
        saved = load_cache_file(path, folder.key)
        if not (type(saved) is tuple and len(saved) == 2 and saved[0] == _version() and type(saved[1]) is dict):
            return cls(path, {}, folder.key)
        return cls(path, saved[1], folder.key)  # (each entry is checked when first used: `_unpacked`)

    def fingerprints(self, root: Path | None, jobs: list[Job]) -> dict[str, Units]:
        """{key: units} for every job: from the index, else computed (in parallel when there are many)."""
        found: dict[str, Units] = {}
        missing: dict[str, Job] = {}
        for job in jobs:
            if job.key in found or job.key in missing:
                continue
            units = self._kept(job.key)
            if units is None:
                missing[job.key] = job
            else:
                found[job.key] = units
            self.used.add(job.key)
        if missing:
            blobs = gitrepo.read_blobs([j.blob for j in missing.values() if j.data is None], cwd=root)
            work = [(job.data if job.data is not None else blobs[job.blob], job.language) for job in missing.values()]
            fastjson.loaded(sum(language is None for _, language in work))  # (notebooks enough to pay for msgspec's import: loaded before the workers fork)
            for key, packed in zip(missing, map_on_all_cores(_fingerprint, work, PARALLEL_FROM)):
                self.entries[key] = packed
                found[key] = self.unpacked[key] = _units(packed)  # (made here: nothing to check)
            self.dirty = True
        return found

    def knows(self, key: str) -> bool:
        """Whether the index holds a usable fingerprint for `key` (a job for it then needs no bytes)."""
        return self._kept(key) is not None

    def _kept(self, key: str) -> Units | None:
        if key not in self.unpacked:
            self.unpacked[key] = _unpacked(self.entries.get(key))
        return self.unpacked[key]

    def save(self) -> None:
        """Write the index when it changed, keeping what this run used and a bounded number of others."""
        if self.path is None:
            return
        if len(self.entries) > len(self.used) + KEEP_UNUSED:
            self.entries = {key: value for key, value in self.entries.items() if key in self.used}
            self.dirty = True
        if self.dirty:
            save_cache_file(self.path, (_version(), self.entries), self.key)  # (read-only: the next run computes them again)


def _version() -> str:
    return f"nbgit {__version__}, fingerprints {FORMAT}"


def _fingerprint(work: tuple[bytes, str | None]) -> Packed:
    data, language = work
    if language is None:
        units = notebook_units(data)
    else:
        units = module_units(data.decode("utf-8", "replace"), language)
    return tuple(
        (unit.cell or 0, array("Q", unit.hashes).tobytes(), array("I", unit.starts).tobytes(), array("I", unit.ends).tobytes(), unit.defines)
        for unit in units
    )


def _unpacked(packed: Any) -> Units | None:
    """Units from their kept form; None when absent or not exactly of that form, every number one nbgit
    writes (a damaged or crafted index: the file's fingerprints are computed again)."""
    if type(packed) is not tuple:
        return None
    units = []
    for unit in packed:
        if not (type(unit) is tuple and len(unit) == 5 and plain_count(unit[0]) and all(type(part) is bytes for part in unit[1:4])
                and type(unit[4]) is tuple and all(type(d) is tuple and len(d) == 2 and plain_count(d[0]) and type(d[1]) is str for d in unit[4])):
            return None
        try:
            found = _unit(unit)
        except ValueError:  # (a length no whole number of items)
            return None
        if not len(found.hashes) == len(found.starts) == len(found.ends):
            return None
        units.append(found)
    return tuple(units)


def _units(packed: Packed) -> Units:
    """Units from their kept form, as `_fingerprint` made it."""
    return tuple(map(_unit, packed))


def _unit(packed: tuple[int, bytes, bytes, bytes, tuple[tuple[int, str], ...]]) -> Unit:
    cell, hashes, starts, ends, defines = packed
    return Unit(cell or None, array("Q", hashes), array("I", starts), array("I", ends), defines)
