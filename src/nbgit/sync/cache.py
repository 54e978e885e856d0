"""What sync remembers between runs, in `.git/nbgit-pairs.json` (per work tree, never committed):
the pairs nbgit last saw in step, by the sha1 of both files, and where notebooks' own jupytext formats
place their twins, by the stat data of the notebooks' files. A pair whose two files hash as remembered
is in step without jupytext; a notebook whose file has the stat data remembered is not read again.

Any tool in the clone can replace that file, so it is read as untrusted: never waited on (a FIFO),
never past `CACHE_MAX_BYTES`, and used only when every entry has exactly the shape nbgit writes (else
the whole file is a miss). It is saved by replacing whatever stands at its path, never writing into
it or through a link. The file is remade under other pairing settings; deleting it only costs time.
"""

from __future__ import annotations

import json
from itertools import chain
from pathlib import Path
from typing import Any

from nbgit import gitrepo
from nbgit.errors import NbgitError
from nbgit.files import read_file, replace_own
from nbgit.pairing import PairSettings, Twin

CACHE_NAME = "nbgit-pairs.json"
CACHE_VERSION = 1
# some 300 bytes a notebook: 200,000 notebooks; a file crafted to this size may still cost JSON's reader a gigabyte or so
CACHE_MAX_BYTES = 64 << 20
_HEX_DIGITS = b"0123456789abcdef"


class PairCache:
    """Pairs nbgit last saw in step, by the sha1 of both files: {notebook: [twin, nb sha1, twin sha1]};
    and where notebooks' own formats place their twins, by the stat data of the notebooks' files."""

    def __init__(self, path: Path | None, key: str, pairs: dict[str, list[str]], own: dict[str, list] | None = None) -> None:
        self.path, self.key, self.pairs = path, key, pairs
        self.own = own if own is not None else {}  # {notebook: [*file_stamp, twin, format]}: see `own_twin`
        self.dirty = False

    @classmethod
    def load(cls, root: Path, pair: PairSettings) -> PairCache:
        """The cache of this work tree; empty when absent, no regular file, larger than `CACHE_MAX_BYTES`,
        unreadable, of another shape than `save` writes, or made under other settings."""
        key = pair.key()
        try:
            path = gitrepo.git_path(root, CACHE_NAME)
        except NbgitError:
            return cls(None, key, {})
        try:
            saved = json.loads(read_file(path, CACHE_MAX_BYTES).data)
        except (NbgitError, ValueError, RecursionError):  # (ValueError: not JSON, not UTF-8, an int of thousands of digits)
            saved = None
        readable = _readable(saved, key)
        return cls(path, key, *readable) if readable is not None else cls(path, key, {})

    def twin_of(self, notebook: str) -> tuple[str, str] | None:
        """(twin, notebook sha1) of a remembered pair."""
        entry = self.pairs.get(notebook)
        return (entry[0], entry[1]) if entry else None

    def in_step(self, notebook: str, twin: str, nb_digest: str | None, tw_digest: str | None) -> bool:
        """Whether both files are byte for byte as when the pair was last seen in step."""
        return nb_digest is not None and tw_digest is not None and self.pairs.get(notebook) == [twin, nb_digest, tw_digest]

    def remember(self, relative: tuple[str, str], nb_digest: str | None, tw_digest: str | None) -> None:
        """Record a pair seen in step."""
        if nb_digest is None or tw_digest is None:
            return
        entry = [relative[1], nb_digest, tw_digest]
        if self.pairs.get(relative[0]) != entry:
            self.pairs[relative[0]] = entry
            self.dirty = True

    def own_twin(self, notebook: str, stamp: list[int] | None) -> tuple[Twin | None] | None:
        """(the twin its own formats place,) for a notebook whose file had these stat data; None when unknown."""
        entry = self.own.get(notebook)
        if stamp is None or entry is None or entry[:-2] != stamp:
            return None
        twin, fmt = entry[-2:]
        return (None,) if twin is None else (Twin(twin, fmt),)

    def remember_own_twin(self, notebook: str, stamp: list[int], twin: Twin | None) -> None:
        """Record what a notebook's own formats place (`own_twin`), under its file's stat data."""
        entry = [*stamp, *(twin if twin is not None else (None, None))]
        if self.own.get(notebook) != entry:
            self.own[notebook] = entry
            self.dirty = True

    def save(self) -> None:
        """Write the cache when it changed: atomically, replacing whatever stands at its path (a link is
        replaced, never written through; a FIFO is not written into). A failure (a folder there, a
        read-only clone) only costs speed next time."""
        if not self.dirty or self.path is None:
            return
        saved = {"version": CACHE_VERSION, "settings": self.key, "pairs": self.pairs, "own": self.own, "nbgit": _version()}
        try:
            replace_own(str(self.path), json.dumps(saved, sort_keys=True).encode())
        except OSError:
            pass


def _readable(saved: Any, key: str) -> tuple[dict[str, list], dict[str, list]] | None:
    """(pairs, own) of a cache as `save` writes it under the settings `key`; None for anything else, a
    single entry of another shape included. Where notebooks' own formats place twins counts only as
    this nbgit wrote it: another version may place them otherwise."""
    if type(saved) is not dict or type(saved.get("version")) is not int or saved["version"] != CACHE_VERSION or saved.get("settings") != key:
        return None
    pairs = saved.get("pairs")
    own = saved.get("own", {}) if saved.get("nbgit") == _version() else {}
    if type(pairs) is not dict or type(own) is not dict or not _pair_entries(list(pairs.values())) or not _own_entries(list(own.values())):
        return None
    return pairs, own


# The entries are checked column by column, all at once, by builtins: a re-run of a repository with a
# thousand notebooks reads a thousand of each, and checking them one by one would cost more than JSON's reader.


def _pair_entries(entries: list[Any]) -> bool:
    """Whether every entry is [twin, notebook sha1, twin sha1], as `remember` writes it."""
    if not _only(entries, list) or set(map(len, entries)) - {3}:
        return False
    fields = list(chain.from_iterable(entries))
    return _only(fields, str) and _sha1s(fields[1::3] + fields[2::3])


def _own_entries(entries: list[Any]) -> bool:
    """Whether every entry is [*stat data, twin, format], as `remember_own_twin` writes it: as many whole
    numbers as `files.file_stamp` gives in each, then the twin's path and format (None and None: no twin). A number
    that no stat data hold is harmless: it never matches."""
    if not _only(entries, list):
        return False
    widths = set(map(len, entries))
    if len(widths) != 1:
        return not widths
    width = widths.pop()
    fields = list(chain.from_iterable(entries))
    stamps = list(chain.from_iterable(fields[column::width] for column in range(width - 2)))
    twins = set(zip(map(type, fields[width - 2 :: width]), map(type, fields[width - 1 :: width])))
    return width >= 2 and _only(stamps, int) and twins <= {(str, str), (type(None), type(None))}


def _only(values: list[Any], kind: type) -> bool:
    """Whether every value is exactly of the type `kind` (True is no int here)."""
    return set(map(type, values)) <= {kind}


def _sha1s(digests: list[str]) -> bool:
    """Whether every string is a sha1 in lowercase hex, as `model.sha1` gives it."""
    joined = "".join(digests)
    return set(map(len, digests)) <= {40} and joined.isascii() and not joined.encode().translate(None, _HEX_DIGITS)


def _version() -> str:
    import nbgit

    return nbgit.__version__
