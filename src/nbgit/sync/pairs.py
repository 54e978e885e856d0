"""Which files are pairs: a notebook and its jupytext text twin, as `nbgit sync`, `nbgit check` and
`nbgit resolve` find them (the policy's pairs, pairs made by `nbgit pair`, a notebook's own jupytext
formats, a jupytext twin where a twin belongs), and the jupytext format of each twin.

Every path comes from repository content and is confined to the work tree (`pairing.inside_repository`):
a twin or notebook linked out of it, or into `.git`, is never read. Notebooks are read as little as
possible: where no file is named like a twin, only a notebook's own formats could place one, and what
they place is remembered by the notebook file's stat data (`nbgit.sync.cache`).
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

from nbgit import gitrepo
from nbgit.errors import NbgitError
from nbgit.files import RealPaths, file_stamp
from nbgit.pairing import (
    NOTEBOOK_SUFFIX,
    PairSettings,
    Twin,
    inside_repository,
    looks_like_twin,
    notebook_relpath,
    own_formats,
    real_path_inside,
    relative_to_root,
    selected,
    settings,
    twin_for,
    twin_format,
    twin_relpath,
)
from nbgit.policy import Policy
from nbgit.sync.cache import PairCache
from nbgit.sync.model import file_digest

# a JSON `\u` escape of a letter of "jupytext" or "formats" (all between U+0060 and U+007F): keys may be spelled so
_ESCAPED_LETTER = re.compile(rb"\\u00[67]")
# {repo-relative notebook: (its file's stat data as `files.file_stamp` gives them, the twin its own formats place)}
OwnTwins = dict[str, tuple[list[int], Twin | None]]


def twin_of(root: Path, policy: Policy, notebook: str) -> Twin | None:
    """The twin of a notebook on disk that nbgit knows as paired, as `nbgit sync` finds it (the policy's
    pairs, pairs made by `nbgit pair`, the notebook's own formats), with its format; else None."""
    pair = settings(policy)
    twin = _twin_of(root, notebook, pair, PairCache.load(root, pair), False)
    return None if twin is None else Twin(twin, pair_format(root, pair, (notebook, twin), _metadata(_read(inside_repository(root, notebook)))))


def pair_format(root: Path, pair: PairSettings, relative: tuple[str, str], metadata: dict) -> str:
    """The jupytext format of a pair's twin: what the notebook's own formats or the policy give the
    twin at that path, else the policy's format for its extension."""
    twin = twin_for(root, relative[0], metadata, pair)
    return twin.format if twin is not None and twin.path == relative[1] else twin_format(Path(relative[1]).suffix, pair.format_name)


def find_pairs(root: Path, pair: PairSettings, paths: list[Path] | None, cache: PairCache, listed: list[str] | None = None,
               real: RealPaths | None = None) -> tuple[list[tuple[str, str]], list[tuple[str, NbgitError]]]:
    """(notebook, twin) repo-relative paths of the pairs under `paths`, in path order, and the
    paired notebooks whose twin cannot be placed (an unknown kernel language, a hostile path)."""
    specs: list[str] = []
    explicit: list[str] = []
    for path in paths or []:
        relative = relative_to_root(path, root)
        if (root / relative).is_file() or (root / relative).is_symlink():
            explicit.append(relative)
        elif (root / relative).is_dir():
            specs.append(relative or ".")
        elif (root / relative).exists():
            raise NbgitError(f"{path}: not a regular file", "name notebooks, twins or folders")
        else:
            raise NbgitError(f"{path}: no such file or folder", "check the path")
    if paths is None and listed is not None:
        names = listed
    else:
        names = list(dict.fromkeys(explicit + (gitrepo.listed_files(root, specs) if (specs or paths is None) else [])))
    found: dict[str, str] = {}
    unknown: list[tuple[str, NbgitError]] = []
    folders = _Folders(root, real)
    for name in names:
        if name.endswith(NOTEBOOK_SUFFIX):
            try:
                twin = _twin_of(root, name, pair, cache, name in explicit, folders)
            except NbgitError as error:
                unknown.append((name, error))
                continue
            if twin is not None:
                found[name] = twin
    twins_found = set(found.values())
    for name in names:
        if name.endswith(NOTEBOOK_SUFFIX) or name in twins_found:
            continue
        notebook = notebook_relpath(name, pair)
        twin_path, notebook_path = _inside(root, name, folders.real), _inside(root, notebook, folders.real) if notebook else None
        if notebook is None or notebook in found or twin_path is None or notebook_path is None or not looks_like_twin(twin_path):
            continue
        if notebook_path.exists():
            try:
                if _twin_of(root, notebook, pair, cache, True) != name:
                    continue  # the notebook's twin is another file: this one is not it
            except NbgitError:
                continue
        found[notebook] = name
    return sorted(found.items()), unknown


def _twin_of(root: Path, notebook: str, pair: PairSettings, cache: PairCache, explicit: bool, folders: _Folders | None = None) -> str | None:
    """The notebook's twin when the notebook is paired: selected by the policy or named on the command
    line, remembered from an earlier sync, with its own jupytext formats and their twin on disk, or
    with a jupytext twin where its twin belongs. Notebooks nbgit has no reason to pair are never
    read when they lead out of the work tree."""
    remembered = cache.twin_of(notebook)
    wanted = selected(notebook, pair) or explicit
    real = folders.real if folders is not None else RealPaths()
    try:
        located = real_path_inside(root, notebook, real)
    except NbgitError:
        if wanted or remembered is not None:
            raise
        return None
    if remembered is not None and (remembered[1] == file_digest(Path(located)) or not os.path.exists(located)):
        return remembered[0]
    status = real.look(located).status
    if status is None or not stat.S_ISREG(status.st_mode):
        return None  # a deleted notebook: found through its twin, if that is still there
    if not wanted and remembered is None and folders is not None and not folders.may_hold(twin_relpath(notebook, "", pair)):
        # no file is named like its twin where the policy places it: only its own jupytext formats
        # could place one elsewhere (spares parsing, and jupytext, in a repository without pairs)
        own = _own_twin_by_stat(root, notebook, located, status, pair, cache)
        on_disk = _inside(root, own.path, real) if own is not None else None
        return own.path if on_disk is not None and on_disk.is_file() else None
    path = Path(located)
    metadata = _metadata(_read(path))
    try:
        twin = twin_for(root, notebook, metadata, pair)
    except NbgitError:
        if wanted or own_formats(metadata) is not None:
            from nbgit.notebook import parse

            parse(path.read_bytes(), notebook)  # an unreadable notebook says so first
            raise
        return None
    if twin is None:
        return None
    if wanted or remembered is not None:
        return twin.path
    on_disk = _inside(root, twin.path, real)
    if on_disk is None:
        return None
    return twin.path if looks_like_twin(on_disk) or (own_formats(metadata) is not None and on_disk.is_file()) else None


def _own_twin_by_stat(root: Path, notebook: str, path: str, status: os.stat_result, pair: PairSettings, cache: PairCache) -> Twin | None:
    """The twin a notebook's own jupytext formats place (None when its bytes name none), remembered by
    the file's stat data (`status`, as `files.file_stamp` keeps it): a re-run reads no notebook that did not change."""
    stamp = file_stamp(status)
    known = cache.own_twin(notebook, stamp)
    if known is not None:
        return known[0]
    data = _read(Path(path))
    twin = None if data is None else own_twin_in(root, notebook, data, pair)
    if stamp is not None and data is not None:
        cache.remember_own_twin(notebook, stamp, twin)
    return twin


def own_twin_in(root: Path, notebook: str, data: bytes, pair: PairSettings, metadata: dict | None = None) -> Twin | None:
    """The twin a notebook's own jupytext formats place, from its bytes `data` (None when they name
    none); NbgitError when the notebook cannot be read or its formats place no twin. `metadata`: the
    notebook's, when the caller has read the bytes as a notebook already."""
    if metadata is None:
        if not (b"jupytext" in data and b"formats" in data) and _ESCAPED_LETTER.search(data) is None:
            return None  # (scans in C: no JSON read for the many notebooks that name no formats)
        metadata = _metadata(data)
    if own_formats(metadata) is None:
        return None
    try:
        return twin_for(root, notebook, metadata, pair)
    except NbgitError:
        from nbgit.notebook import parse

        parse(data, notebook)  # an unreadable notebook says so first
        raise


class _Folders:
    """The names of the files that could be twins (not notebooks) in the work tree's folders, cut at each
    dot (`x.nb.py` gives `x` and `x.nb`), each folder listed once."""

    def __init__(self, root: Path, real: RealPaths | None = None) -> None:
        self.root = root
        self.listed: dict[str, set[str]] = {}
        self.real = real or RealPaths()  # and the files looked at (real paths, stat data), each folder resolved once

    def may_hold(self, base: str | None) -> bool:
        """Whether some file is named `base` + an extension (`base` repo-relative, as `twin_relpath(..., "")` gives it)."""
        if base is None:
            return False
        folder, _, name = base.rpartition("/")
        prefixes = self.listed.get(folder)
        if prefixes is None:
            try:
                names = os.listdir(self.root / folder)
            except OSError:
                names = []
            twins = (entry for entry in names if not entry.endswith(NOTEBOOK_SUFFIX))
            prefixes = self.listed[folder] = {entry[:i] for entry in twins for i, ch in enumerate(entry) if ch == "."}
        return name in prefixes


def _inside(root: Path, relative: str, real: RealPaths | None = None) -> Path | None:
    """The real path of a repo-relative path, None when it leads out of the work tree (or into .git)."""
    try:
        return inside_repository(root, relative, real)
    except NbgitError:
        return None


def _read(path: Path) -> bytes | None:
    """A notebook file's bytes; None when it is no regular file or cannot be read (a FIFO would block)."""
    if not path.is_file():
        return None
    try:
        return path.read_bytes()
    except OSError:
        return None


def _metadata(data: bytes | None) -> dict:
    """A notebook's metadata, {} when it cannot be read (the error comes when it is judged)."""
    if data is None:
        return {}
    try:
        content = json.loads(data)
    except (ValueError, RecursionError):
        return {}
    metadata = content.get("metadata") if isinstance(content, dict) else None
    return metadata if isinstance(metadata, dict) else {}
