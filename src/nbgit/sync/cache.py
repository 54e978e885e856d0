"""What sync remembers between runs, in `.git/nbgit-pairs.json` (per work tree, never committed):
the pairs nbgit last saw in step, by the sha1 of both files, and where notebooks' own jupytext formats
place their twins, by the stat data of the notebooks' files. A pair whose two files hash as remembered
is in step without jupytext; a notebook whose file has the stat data remembered is not read again.

The file is remade under other pairing settings; deleting it only costs time.
"""

from __future__ import annotations

import json
from pathlib import Path

from nbgit import gitrepo
from nbgit.errors import NbgitError
from nbgit.files import write_atomic
from nbgit.pairing import PairSettings, Twin

CACHE_NAME = "nbgit-pairs.json"
CACHE_VERSION = 1


class PairCache:
    """Pairs nbgit last saw in step, by the sha1 of both files: {notebook: [twin, nb sha1, twin sha1]};
    and where notebooks' own formats place their twins, by the stat data of the notebooks' files."""

    def __init__(self, path: Path | None, key: str, pairs: dict[str, list[str]], own: dict[str, list] | None = None) -> None:
        self.path, self.key, self.pairs = path, key, pairs
        self.own = own if own is not None else {}  # {notebook: [*file_stamp, twin, format]}: see `own_twin`
        self.dirty = False

    @classmethod
    def load(cls, root: Path, pair: PairSettings) -> PairCache:
        """The cache of this work tree, empty when absent, unreadable or made under other settings."""
        try:
            path = gitrepo.git_path(root, CACHE_NAME)
        except NbgitError:
            return cls(None, pair.key(), {})
        try:
            saved = json.loads(path.read_bytes())
            if saved.get("version") == CACHE_VERSION and saved.get("settings") == pair.key():
                own = saved.get("own") if saved.get("nbgit") == _version() else None  # another version may place twins otherwise
                return cls(path, pair.key(), dict(saved["pairs"]), dict(own or {}))
        except (OSError, ValueError, AttributeError, KeyError, TypeError):
            pass
        return cls(path, pair.key(), {})

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
        if stamp is None or not isinstance(entry, list) or len(entry) != len(stamp) + 2 or entry[: len(stamp)] != stamp:
            return None
        twin, fmt = entry[len(stamp) :]
        if twin is None:
            return (None,)
        return (Twin(twin, fmt),) if isinstance(twin, str) and isinstance(fmt, str) else None

    def remember_own_twin(self, notebook: str, stamp: list[int], twin: Twin | None) -> None:
        """Record what a notebook's own formats place (`own_twin`), under its file's stat data."""
        entry = [*stamp, *(twin if twin is not None else (None, None))]
        if self.own.get(notebook) != entry:
            self.own[notebook] = entry
            self.dirty = True

    def save(self) -> None:
        """Write the cache when it changed (atomically; a failure only costs speed next time)."""
        if not self.dirty or self.path is None:
            return
        try:
            saved = {"version": CACHE_VERSION, "settings": self.key, "pairs": self.pairs, "own": self.own, "nbgit": _version()}
            write_atomic(self.path, json.dumps(saved, sort_keys=True).encode())
        except OSError:
            pass


def _version() -> str:
    import nbgit

    return nbgit.__version__
