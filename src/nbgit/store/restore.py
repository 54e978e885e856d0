"""The smudge side: the outputs a notebook had in this clone, put back into a cleaned blob git writes out.

- Exactly: the blob is one this work tree cleaned before at this path (else one another work tree of
  the clone did, at this path; or, for a path the clone never recorded, at another path: a copy
  arriving). The work-tree bytes it came from are rebuilt
  from it without parsing (`skeleton`), every part checked whole; they are trusted when recorded
  under the same fingerprint (same nbgit, same cleaning policy: they clean to this blob by
  construction), else cleaned again to check.
- Cell by cell: a blob this clone never cleaned (git built it by merging, or it changed elsewhere).
  Each code cell whose source, type and id (and place among identical cells) match a code cell of
  a recent version of the same path in this work tree (for a path it never recorded, in the clone's
  other work trees, the main one first; rebuilt from its blob, which git gives back) gets that cell's
  outputs, execution count and stripped metadata, when the cell still cleans to itself with them;
  a cell with an id also matches by source and place a cell of a version that had no ids (nbformat
  4.4, before a newer Jupyter gave every cell one) or other ids (minted by another Jupyter, kept by a
  merge or rebase); other cells stay as they are, without outputs.
  The cells the policy drops (scratch cells: tagged, or empty) are not in any blob: those of the
  version recorded last come back, each after the cell matching the one it followed, else before
  the one matching the one it preceded, else at the end, so that a pull never loses them.

Where the policy keeps outputs (the store is in play there only when it drops cells), the blob's
outputs are the cells' own: a remembered cell comes back only where it cleans to the blob's cell (with
its count and stripped metadata), so never with outputs other than the ones the blob holds.

Whatever comes out must clean back to the very blob git handed over, or the blob goes out unchanged:
a cell's inputs never change.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, NamedTuple

from nbgit.clean import clean, clean_bytes, dropped, drops_cells
from nbgit.errors import NbgitError
from nbgit.notebook import Notebook, cells, parse, serialise, source_of
from nbgit.policy import Policy
from nbgit.store import eol, history, skeleton
from nbgit.store.disk import Record, Store, checksum, digest, is_name
from nbgit.store.foreign import may_be_unclean
from nbgit.store.record import (
    aside_key,
    belongs,
    fingerprint,
    own_key,
    record,
    recorded,
)

CellKey = tuple[str, Any, int]  # source, id (None when the policy renumbers ids), place among identical cells
Fetch = Callable[[list[str]], list[bytes | None]]  # blobs by git's ids, None for those git does not have


class Remembered(NamedTuple):
    """What recent versions of one path held: code cells by key (newest first wins), newest metadata;
    the newest version's content when the policy drops cells (to put them back), else None; and the
    cells that had ids by their keys without them (for a blob whose cells have none: an editor that
    saves nbformat 4.0, Colab's, took them away; or other ones: minted by another Jupyter)."""

    cells: dict[CellKey, dict[str, Any]]
    metadata: Any
    newest: dict[str, Any] | None = None
    by_source: dict[CellKey, dict[str, Any]] | None = None


def restore(store: Store, path: str, blob: bytes, policy: Policy, fetch: Fetch, notes: Store | None = None) -> bytes:
    """The notebook to write for `blob` at repo-relative `path`: with the outputs this clone had, else
    `blob`. `fetch` gives the blobs of older versions, for the cell-by-cell restore; `notes` (the
    clone's notes, `location.notes_dir`) also note a blob written as committed.

    A blob that is not clean (committed without nbgit: a teammate's clone, a web editor) goes out as it
    is and, when it may hold what the filter strips (`may_be_unclean`), is recorded as a version of its
    own: git compares a file it has just written (racily clean, in the same second as the index) or
    one touched since through the clean filter with the index, and a file that cleaned to anything but
    its blob would be listed by `git status` as modified and stop `git pull --rebase`, `checkout` or
    `stash` ("your local changes would be overwritten"). So the very bytes git wrote clean to that
    blob (`record.cleaned_before`); an edit cleans as usual, and `nbgit renormalize` stages it clean."""
    made_by = fingerprint(policy)
    key = store.key(blob)
    name, known = exact_version(store, path, key)
    if known is not None:
        data = rebuild(store, name, known, blob)
        if data is not None and (known.fingerprint == made_by or cleans_to(data, blob, path, policy)):
            if known.fingerprint != made_by:
                _kept_if_possible(store, lambda: store.put_record(name, known._replace(fingerprint=made_by)))  # checked: trusted from now on
            _kept_if_possible(store, lambda: _written_out(store, path, known, data, blob, made_by))
            return data
    recent = history.recent_for_restore(store, path)
    checked = bool(recent[1]) or may_be_unclean(blob, policy)  # (a path remembered: the cell-by-cell restore cleans it anyway)
    if checked and as_committed(store, path, blob, policy, notes):
        return blob
    restored = restore_cells(store, path, blob, policy, fetch, clean=checked, recent=recent)
    if restored is None:
        return blob
    _kept_if_possible(store, lambda: record(store, path, restored, blob, made_by))  # the next checkout of this blob is exact
    return restored


def _written_out(store: Store, path: str, known: Record, data: bytes, blob: bytes, made_by: str) -> None:
    """Make the version of `blob` that goes out exactly (`known`, rebuilt into `data`) the newest of `path`
    in this work tree: the one its cells come back from when git next writes a version it never
    cleaned. The work tree holds it from now on, whatever git read last: a commit that cleared the
    outputs, undone by `git reset --hard`, or stashed, must not take the outputs from the cells a pull
    leaves unchanged. Another path's or work tree's version becomes this path's own, as a version
    restored cell by cell does."""
    if belongs(known, history.path_name(path, store.worktree)):
        key = store.key(blob)
        eol.note(store, key, blob)  # (a version an nbgit before notes recorded: see `eol`)
        history.remember(store, path, key)
    else:
        record(store, path, data, blob, made_by)


def as_committed(store: Store, path: str, blob: bytes, policy: Policy, notes: Store | None = None) -> bool:
    """Whether `blob` is not clean, recorded then as a version of its own (see `restore`), in `store` and
    in `notes` when given: the very bytes git writes out clean to it."""
    if cleans_to(blob, blob, path, policy):
        return False
    made_by = fingerprint(policy)
    _kept_if_possible(store, lambda: record(store, path, blob, blob, made_by))
    if notes is not None:
        noted = notes
        _kept_if_possible(noted, lambda: record(noted, path, blob, blob, made_by))
    return True


def restore_asked(store: Store, path: str, blob: bytes, policy: Policy, fetch: Fetch) -> bytes:
    """The notebook `nbgit restore` writes for `blob` at `path` (a work-tree notebook exactly as committed):
    what a checkout writes, when that holds more than the blob; else the version a bare one replaced
    (`record.aside_key`); else, cell by cell, the outputs of the recent versions that had any (a checkout
    lets the newest version win, so that outputs cleared stay cleared; here they are asked for); else `blob`."""
    data = restore(store, path, blob, policy, fetch)
    if data != blob:
        return data
    name = aside_key(history.path_name(path, store.worktree), store.key(blob))
    aside = store.record(name)
    data = rebuild(store, name, aside, blob) if aside is not None else None
    if data is not None and data != blob and cleans_to(data, blob, path, policy):
        return data
    return restore_cells(store, path, blob, policy, fetch, ran_only=True) or blob


def restore_renamed(store: Store, path: str, old_path: str, blob: bytes, policy: Policy, fetch: Fetch) -> bytes:
    """The notebook to write for `blob` at `path`, which git's last merge, checkout or rebase renamed
    from `old_path` (and wrote exactly as committed): cell by cell from the versions this work tree
    recorded at `old_path`; else `blob`. git's filter is never told of a rename, so the checkout wrote
    the file without the outputs the old path had (the path's own versions, if any, gave none)."""
    restored = restore_cells(store, path, blob, policy, fetch, recent=history.recent_for_restore(store, old_path))
    if restored is None:
        return blob
    _kept_if_possible(store, lambda: record(store, path, restored, blob, fingerprint(policy)))  # the next checkout of this blob is exact
    return restored


def exact_version(store: Store, path: str, key: str) -> tuple[str, Record | None]:
    """Where the version of blob `key` to write out exactly at `path` is recorded, and its record: this work
    tree's own; else the one another work tree of the clone had at this path (the main one first: a commit
    made in a linked worktree comes out in the main one as it ran there); else, for a path no work tree
    recorded, the blob's record (a copy arriving: another path's version); else None (another path's
    version, and this path has its own: cell by cell from those, never the other path's outputs)."""
    origin = history.path_name(path, store.worktree)
    name, known = recorded(store, origin, key)
    if known is not None and belongs(known, origin):
        return name, known
    for tree in store.other_worktrees():
        other = history.path_name(path, tree)
        if known is not None and known.origin == other:
            return name, known
        theirs = store.record(own_key(other, key))
        if theirs is not None:
            return own_key(other, key), theirs._replace(origin=other)
    return (name, known) if known is not None and not history.recent_for_restore(store, path)[1] else (name, None)


def _kept_if_possible(store: Store, write: Callable[[], object]) -> None:
    """Write what only spares later checkouts work: a store the disk refuses to write (full, read-only)
    costs one warning (`Store.refused`), never the outputs just restored, which go out all the same
    (written nowhere, they would be recorded without their outputs the next time git reads them)."""
    try:
        write()
    except OSError as error:
        store.refused(error)


def rebuild(store: Store, key: str, known: Record, blob: bytes) -> bytes | None:
    """The work-tree bytes a record (named `key`) holds, from the blob it cleans to; None when an object was evicted
    (the record goes too) or something is damaged (removed, with a warning): the skeleton's
    compression carries a checksum, and the result must have the recorded size and checksum (when
    it does not, each object is checked against its name to find the damaged ones)."""
    try:
        lead, parts = skeleton.parse(known.skeleton())
    except ValueError as error:
        store.damaged("notebooks", key, str(error))
        return None
    read = {name: store.read("objects", name) if is_object(name) else None for name in skeleton.references(parts)}
    objects = {name: line for name, line in read.items() if line is not None}
    if len(objects) != len(read):
        store.discard("notebooks", key)  # an object was evicted: the record cannot be used again
        return None
    try:
        data = skeleton.expand(lead, parts, blob, objects)
    except ValueError as error:
        store.damaged("notebooks", key, str(error))
        return None
    if (len(data), checksum(data)) != (known.size, known.checksum):
        for name, line in objects.items():
            if digest(line) != name:
                store.damaged("objects", name, "its bytes do not match their digest")
        store.damaged("notebooks", key, "it rebuilds into other bytes than the ones recorded")
        return None
    store.touch("notebooks", key)
    for name in objects:
        store.touch("objects", name)
    return data


def is_object(name: str) -> bool:
    """Whether `name` can name an object (a sha256 digest)."""
    return len(name) == 64 and is_name(name)


def restore_cells(store: Store, path: str, blob: bytes, policy: Policy, fetch: Fetch, ran_only: bool = False,
                  clean: bool = False, recent: tuple[str, list[str]] | None = None) -> bytes | None:
    """`blob` with the outputs of its unchanged code cells and the cells the policy dropped from the version
    recorded last, as Jupyter writes it; None when nothing comes back (nothing remembered at `path`, or
    a blob that is not clean: committed without nbgit, say; `clean`: checked already). `ran_only`: a
    cell comes from the newest version in which it ran (outputs, a count), rather than from the newest.
    `recent`: `history.recent_for_restore` of `path`, when read already."""
    origin, keys = recent if recent is not None else history.recent_for_restore(store, path)
    if not keys or not (clean or cleans_to(blob, blob, path, policy)):
        return None
    notebook = parse(blob, path)
    remembered = recent_cells(store, path, origin, keys, notebook.major, policy, fetch, ran_only)
    if not remembered.cells and remembered.newest is None:
        return None
    content = _with_outputs(notebook, remembered, policy)
    if remembered.newest is not None:
        content = _with_dropped_cells(content, remembered.newest, policy)
    data = serialise(Notebook(content, notebook.major, notebook.crlf))
    return data if data != blob and cleans_to(data, blob, path, policy) else None


def cleans_to(data: bytes, blob: bytes, path: str, policy: Policy) -> bool:
    """Whether `data` cleans to exactly `blob` (what the clean filter would store for it)."""
    try:
        return clean_bytes(data, path, policy) == blob
    except (NbgitError, RecursionError):
        return False


def recent_cells(store: Store, path: str, origin: str, keys: list[str], major: int, policy: Policy, fetch: Fetch,
                 ran_only: bool = False) -> Remembered:
    """The code cells of the versions of `path` (by its name `origin`) recorded last, `keys` (of nbformat
    `major`), and the newest one's content when the policy drops cells; `ran_only`: cells not
    run are passed over, and the versions bare ones replaced (`record.aside_key`) count too.

    A version committed without nbgit that a checkout wrote as it is (recorded by `restore` so that
    git reads it back as its blob) holds a teammate's outputs, not this clone's: its cells that did not
    run there are passed over, so that a rebase onto it (which writes it, then the result) does not
    take away the outputs your cells had."""
    found: dict[CellKey, dict[str, Any]] = {}
    by_source: dict[CellKey, dict[str, Any]] = {}
    metadata = newest = None
    known = []
    for key in keys:
        name, kept = recorded(store, origin, key)
        if kept is not None and belongs(kept, origin):  # this path's own versions only
            known.append((key, name, kept))
        aside = store.record(aside_key(origin, key)) if ran_only else None
        if aside is not None:
            known.append((key, aside_key(origin, key), aside))
    blobs = eol.fetched(store, [key for key, _, _ in known], fetch) if known else []
    for (_, name, kept), blob in zip(known, blobs):
        data = rebuild(store, name, kept, blob) if blob is not None else None
        try:
            old = parse(data, path) if data is not None else None
        except NbgitError:
            continue
        if old is None or old.major != major:
            continue
        if metadata is None:
            metadata = old.content.get("metadata")
            newest = old.content if drops_cells(policy) else None
        foreign = data == blob and not cleans_to(blob, blob, path, policy)  # written as committed without nbgit
        for cell_key, without_ids, cell in keyed_cells(old.content, policy):
            if not (ran_only or foreign) or _ran(cell):
                found.setdefault(cell_key, cell)
                if cell_key[1] is not None:
                    by_source.setdefault(without_ids, cell)
    return Remembered(found, metadata, newest, by_source)


def _ran(cell: dict[str, Any]) -> bool:
    """Whether a code cell holds what running it leaves: outputs or an execution count."""
    return bool(cell.get("outputs")) or cell.get("execution_count", cell.get("prompt_number")) is not None


def keyed_cells(content: dict[str, Any], policy: Policy) -> Iterator[tuple[CellKey, CellKey, dict[str, Any]]]:
    """Every code cell with its keys (see `_keyed`)."""
    return _keyed(cells(content), policy, "code")


def _keyed(some: Iterable[dict[str, Any]], policy: Policy, only: str | None = None) -> Iterator[tuple[CellKey, CellKey, dict[str, Any]]]:
    """Each cell (of type `only`, when given) with its key: source, id (unless the policy renumbers
    ids) and its place among the cells before it with the same source and id (identical cells in
    notebooks without ids); and the key it would have without ids: source, None and its place among
    the cells with that source."""
    seen: dict[tuple[str, Any], int] = {}
    with_source: dict[str, int] = {}
    for cell in some:
        if only is not None and cell.get("cell_type") != only:
            continue
        ident = cell.get("id") if policy.ids == "keep" else None
        source = source_of(cell)
        base = (source, ident if isinstance(ident, str) else None)
        seen[base] = seen.get(base, -1) + 1
        with_source[source] = with_source.get(source, -1) + 1
        yield (*base, seen[base]), (source, None, with_source[source]), cell


# What decides how a cell cleans, besides the cell and the policy: each remembered cell is cleaned in a notebook
# of these and that cell alone, never with the notebook's other top-level keys (a copy of which per cell
# made a restore take time quadratic in the notebook: a minute for 20,000 cells beside 200,000 such keys).
SHELL = ("metadata", "nbformat", "nbformat_minor")


def _with_outputs(notebook: Notebook, remembered: Remembered, policy: Policy) -> dict[str, Any]:
    """The notebook's content with each remembered cell's outputs back where the cell still cleans to itself."""
    content, major = notebook.content, notebook.major
    shell = {k: content[k] for k in SHELL if k in content}
    restored: dict[int, dict[str, Any]] = {}
    for cell_key, without_ids, cell in keyed_cells(content, policy):
        old = remembered.cells.get(cell_key)
        if old is None and cell_key[1] is not None:
            old = remembered.cells.get(without_ids)  # run here in a version that had no cell ids
        if old is None and remembered.by_source:  # run here in a version that had cell ids, which this one lost or minted anew
            old = remembered.by_source.get(without_ids)
        if old is not None:
            better = _cell_with_outputs(cell, old, shell, major, policy)
            if better is not cell:
                restored[id(cell)] = better
    result = dict(content)
    old_metadata = remembered.metadata
    if isinstance(old_metadata, dict) and _cleaned({**shell, "metadata": old_metadata}, major, policy).get("metadata") == content.get("metadata"):
        result["metadata"] = old_metadata  # widget state and the like, where it cleans to this blob's
    if "cells" in content:
        result["cells"] = [restored.get(id(cell), cell) for cell in content["cells"]]
    else:
        result["worksheets"] = [
            {**sheet, "cells": [restored.get(id(cell), cell) for cell in sheet.get("cells") or []]} if isinstance(sheet, dict) else sheet
            for sheet in content.get("worksheets") or []
        ]
    return result


def _with_dropped_cells(content: dict[str, Any], newest: dict[str, Any], policy: Policy) -> dict[str, Any]:
    """`content` with the cells of `newest` (the version recorded last) that the policy drops, in their
    places (see `_put_back`), worksheet by worksheet in the old formats; cleaning drops them again."""
    if "cells" in content:
        return {**content, "cells": _put_back(content["cells"], newest.get("cells"), policy)}
    sheets, old_sheets = content.get("worksheets"), newest.get("worksheets")
    if not isinstance(sheets, list) or not isinstance(old_sheets, list) or len(sheets) != len(old_sheets):
        return content
    return {
        **content,
        "worksheets": [
            {**sheet, "cells": _put_back(sheet.get("cells") or [], old.get("cells"), policy)} if isinstance(sheet, dict) and isinstance(old, dict) else sheet
            for sheet, old in zip(sheets, old_sheets)
        ],
    }


def _put_back(now: list[Any], then: Any, policy: Policy) -> list[Any]:
    """The cells `now` with those of `then` that the policy drops: each run of them after the cell of
    `now` matching the cell it followed, else before the one matching the cell it preceded, else at
    the end, in their order; `now` itself when `then` has none."""
    if not isinstance(then, list):
        return now
    drop = [dropped(cell, policy) for cell in then]
    if not any(drop):
        return now
    kept = [cell for cell, gone in zip(then, drop) if not gone]
    place = _places(kept, now, policy)
    gaps: dict[int, list[Any]] = {}  # a place in `now` -> the cells to put before the cell there (or at the end)
    run: list[Any] = []
    followed = -1  # in `kept`, the cell the run follows (-1: none)
    for cell, gone in zip([*then, None], [*drop, False]):  # a last step, past the end, puts the last run in
        if gone:
            run.append(cell)
            continue
        if run:
            after = place.get(followed)
            before = place.get(followed + 1)
            gap = after + 1 if after is not None else before if before is not None else len(now)
            gaps.setdefault(gap, []).extend(run)
            run = []
        followed += 1
    result: list[Any] = []
    for index, cell in enumerate(now):
        result += gaps.get(index, [])
        result.append(cell)
    return result + gaps.get(len(now), [])


def _places(kept: list[Any], now: list[Any], policy: Policy) -> dict[int, int]:
    """Where in `now` each cell of `kept` is (by index in each), matched as outputs are: by type and
    key, and a cell of `now` with an id also by its key without ids."""
    where: dict[tuple[str, CellKey], int] = {}
    without: dict[tuple[str, CellKey], int] = {}
    for index, kind, cell_key, without_ids in _indexed_keys(now, policy):
        where[kind, cell_key] = index
        if cell_key[1] is not None:
            without.setdefault((kind, without_ids), index)
    found = {}
    for index, kind, cell_key, _ in _indexed_keys(kept, policy):
        match = where.get((kind, cell_key), without.get((kind, cell_key)) if cell_key[1] is None else None)
        if match is not None:
            found[index] = match
    return found


def _indexed_keys(some: list[Any], policy: Policy) -> Iterator[tuple[int, str, CellKey, CellKey]]:
    """The index in `some` of each cell (a dict with a type), its type, and its keys among the cells of
    its type (see `_keyed`)."""
    of_type: dict[str, list[int]] = {}
    for index, cell in enumerate(some):
        if isinstance(cell, dict) and isinstance(cell.get("cell_type"), str):
            of_type.setdefault(cell["cell_type"], []).append(index)
    for kind, at in of_type.items():
        for index, (cell_key, without_ids, _) in zip(at, _keyed((some[index] for index in at), policy)):
            yield index, kind, cell_key, without_ids


def _cell_with_outputs(cell: dict[str, Any], old: dict[str, Any], shell: dict[str, Any], major: int, policy: Policy) -> dict[str, Any]:
    """`old` (the remembered cell, with the blob cell's id), else only its outputs and count on `cell`,
    whichever cleans to `cell`; `cell` itself when neither does."""
    count = "execution_count" if major == 4 else "prompt_number"
    whole = {k: v for k, v in old.items() if k != "id"}
    if "id" in cell:
        whole["id"] = cell["id"]
    outputs_only = {**cell, "outputs": old.get("outputs", []), count: old.get(count)}
    for candidate in (whole, outputs_only):
        if _cell_cleans_to(candidate, cell, shell, major, policy):
            return candidate
    return cell


def _cell_cleans_to(candidate: dict[str, Any], cell: dict[str, Any], shell: dict[str, Any], major: int, policy: Policy) -> bool:
    alone = {**shell, "cells": [candidate]} if major == 4 else {**shell, "worksheets": [{"cells": [candidate]}]}
    cleaned = list(cells(_cleaned(alone, major, policy)))
    if len(cleaned) != 1:
        return False
    if policy.ids == "sequential":  # ids are numbered by position, which a cell alone does not have
        return {k: v for k, v in cleaned[0].items() if k != "id"} == {k: v for k, v in cell.items() if k != "id"}
    return cleaned[0] == cell


def _cleaned(content: dict[str, Any], major: int, policy: Policy) -> dict[str, Any]:
    try:
        return clean(content, major, policy).content
    except NbgitError:
        return {}
