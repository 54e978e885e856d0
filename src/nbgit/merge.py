"""Three-way notebook merge that never leaves invalid JSON behind.

All three sides are parsed and cleaned with the repository's policy first, so volatile state
(execution counts, timings, UI metadata, stripped outputs) can never conflict. Trivial merges (a side
unchanged, both sides equal) and merges where no side added, removed or moved cells and each cell
changed on one side only are decided here, position by position, without importing nbdime.
Everything else goes through
nbdime's cell-by-cell merge with its inline strategy, stretch by stretch between cells no side changed: a source conflict becomes git-style markers
inside the cell, cells changed or added differently on both sides are framed by marker cells, and
metadata conflicts are recorded under `nbdime-conflicts`, an attachment changed differently on both sides is
kept in both versions beside it (`LOCAL_name`, `REMOTE_name`). Outputs that read the same on two sides (a
re-run that moved only timings, addresses or PNG bytes: `nbgit.outputs`) are made identical first,
so they never conflict; real output conflicts follow `[merge] outputs`.
Where nbdime finds no way to mark a conflict (a cell deleted on one side, only its metadata changed on
the other) it would keep the base, dropping both changes, or where it keeps, unmarked, cells both sides put
in the place of one (`_replaced_differently`): both sides' cells of that stretch are kept between marker
cells instead. A guard checks that every line a side introduced survives; if nbdime
would drop one (nbdime#597), fails, or takes more than NBDIME_SECONDS, both sides are kept whole between marker cells. Sides that are not notebooks fall back to
git's own text merge.
"""

from __future__ import annotations

import bisect
import contextlib
import difflib
import functools
import hashlib
import html
import json
import os
import re
import sys
from argparse import Namespace
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterator, NamedTuple

from nbgit import gitrepo
from nbgit.clean import clean
from nbgit.deadline import OutOfTime, time_limit
from nbgit.errors import NbgitError
from nbgit.notebook import (
    NBDIME_CONFLICTS_KEY,
    REMOTE_METADATA_KEY,
    Notebook,
    NotebookError,
    cells,
    conflicted_attachments,
    minor_of,
    parse,
    serialise,
    source_of,
)
from nbgit.outputs import Sameness
from nbgit.policy import Policy
from nbgit.sequences import BoundedMatcher, TooMuchWork, common_ends

OUTPUT_STRATEGIES = {"clear": "clear-all", "local": "use-local", "remote": "use-remote"}
# what nbdime's merge of one notebook may take: it compares every cell of a stretch both sides changed with
# every other (1,000 cells without ids, each edited on both sides, took it 131 s); past it, both sides are
# kept whole between marker cells
NBDIME_SECONDS = 30
_NBDIME_MARKER_CELL = re.compile(r'^<span style="color:red"><b>(<{7} local|={7}|>{7} remote)</b></span>$')
_MARKER_CELL = re.compile(r'^<span style="color:red"><b>(<{7,} .*|={7,}|>{7,} .*)</b></span>$')
_NBDIME_DELETED = re.compile(r"^<{7} (LOCAL|REMOTE) CELL DELETED >{7}\n")


@dataclass
class MergeResult:
    """A merged notebook's bytes, where conflicts remain (empty when clean), and how it was merged."""

    data: bytes
    conflicts: list[str]
    how: str
    notes: list[str] = field(default_factory=list)
    settled: list[str] = field(default_factory=list)  # the conflicts a side was preferred in (see `merge_notebooks`)


class Markers(NamedTuple):
    """How conflicts are marked: git's marker size (`%L`) and the labels of its own markers. In a
    `git merge` the notebook's markers carry the labels git writes into a text twin's (`HEAD`, the
    branch), so both files of a pair read alike."""

    size: int = 7
    local: str = "local"
    base: str = "base"
    remote: str = "remote"


class _Unmergeable(Exception):
    """Notebooks this module cannot merge cell by cell (several worksheets, nbformat 1)."""


def read_side(data: bytes, path: str, policy: Policy) -> Notebook:
    """Parse and clean one side with the policy; raises NotebookError / CleanError when it is not a notebook
    (a cell that is no JSON object included: no notebook tool opens one, and cells are merged as objects)."""
    notebook = parse(data, path)
    odd = _first_odd_cell(notebook)
    if odd is not None:
        raise NotebookError(f"{path}: cell {odd} is not a JSON object", "fix it by hand, or restore it with git")
    return Notebook(clean(notebook.content, notebook.major, policy).content, notebook.major, notebook.crlf)


def _first_odd_cell(notebook: Notebook) -> int | None:
    """The number (from 1) of the first cell that is no JSON object, None when every cell is one
    (a worksheet's `cells` that is no list counts as an odd first cell of its own)."""
    content = notebook.content
    if "cells" in content or "worksheets" not in content:
        cell_lists = [content.get("cells") or []]
    else:
        cell_lists = [sheet.get("cells") or [] if isinstance(sheet, dict) else [] for sheet in content["worksheets"]]
    number = 0
    for cell_list in cell_lists:
        if not isinstance(cell_list, list):
            return number + 1
        for cell in cell_list:
            number += 1
            if not isinstance(cell, dict):
                return number
    return None


def merge_bytes(base: bytes, local: bytes, remote: bytes, path: str, policy: Policy, markers: Markers = Markers()) -> MergeResult:
    """Merge three versions of a notebook file (git's %O %A %B); an empty or unreadable base is an add/add."""
    try:
        local_nb, remote_nb = read_side(local, path, policy), read_side(remote, path, policy)
    except NbgitError as error:  # the message names the side's file; the driver's report names the path
        reason = f"{error.message.removeprefix(f'{path}: ')}: merged as text by git merge-file instead"
        return text_merge(base, local, remote, markers, reason, UNREADABLE_SIDE)
    try:
        base_nb: Notebook | None = read_side(base, path, policy) if base.strip() else None
    except NbgitError:
        base_nb = None
    return merge_notebooks(base_nb, local_nb, remote_nb, policy, markers)


UNREADABLE_SIDE = "text merge, a side not a notebook"
CELL_BY_CELL, IN_PLACE = "cell by cell", "cell by cell, in place"  # (how conflicts may be marked: nbdime's merge, or position by position)


def text_merge(base: bytes, local: bytes, remote: bytes, markers: Markers, reason: str, how: str = "text merge") -> MergeResult:
    """git's own line merge of the raw bytes: nothing is lost, conflicts become git's usual markers.

    A result that is not a readable notebook is a conflict too, markers or not: git must not take it
    as merged. `how` is UNREADABLE_SIDE when a side is not a notebook (no rebuilding it cell by cell).
    """
    data, conflicts = gitrepo.merge_file(local, base, remote, markers.size, (markers.local, markers.base, markers.remote))
    where = ["whole file: git's text conflict markers (`nbgit resolve` rebuilds a valid notebook)"] if conflicts else []
    if not conflicts:
        try:
            parse(data, "merged")
        except NbgitError as error:
            where = [f"whole file: merged as text, but not a readable notebook ({error.message.removeprefix('merged: ')}): fix it by hand"]
    return MergeResult(data, where, how, [reason])


def merge_notebooks(
    base: Notebook | None, local: Notebook, remote: Notebook, policy: Policy, markers: Markers = Markers(), prefer: str | None = None
) -> MergeResult:
    """Merge cleaned notebooks; `base` None means none is shared (add/add, or a two-sided repair).

    The notebook's metadata is merged here, key by key, before the cells (see `merge_metadata`), so
    that nbdime never merges it: its string patches glue two versions together.

    `prefer` ("local" or "remote") settles every conflict that side's way instead of marking it, as
    `git merge -X ours|theirs` does for text: a source conflict takes that side's lines (git's own
    line merge decides which lines conflict), a stretch of cells changed differently on both sides
    takes that side's cells, a metadata key that side's value; every edit of the other side that
    conflicts with none is kept. Where it cannot be settled so (nbdime fails, or would drop a line of
    the preferred side), the conflicts are marked as without `prefer`.
    """
    positional = _positional(local.content.get("cells"))
    base, local, remote = _shared_ids(base, local, remote, renumbered=policy.ids != "keep")
    _settle_outputs(base, local, remote, Sameness.of(policy))
    trivial = _trivial(base, local, remote)
    if trivial is not None:
        return MergeResult(serialise(_numbered(trivial[0]) if positional else trivial[0]), [], trivial[1])
    try:
        major, views = _common_views(base, local, remote)
    except _Unmergeable as error:
        return text_merge(_bytes_of(base), serialise(local), serialise(remote), markers, str(error))
    old, mine, other = (view.get("metadata") or {} for view in views)
    metadata, theirs = merge_metadata(old, other, mine) if prefer == "remote" else merge_metadata(old, mine, other)  # (written with sorted keys)
    theirs = {} if prefer else theirs
    base_view, local_view, remote_view = ({**view, "metadata": metadata} for view in views)
    notes: list[str] = []
    merged = _merge_in_place(base_view, local_view, remote_view) if base is not None else None
    conflicted, unmarked, how = False, [], IN_PLACE
    if merged is None:
        try:
            with time_limit(NBDIME_SECONDS):
                merged, conflicted, unmarked = _merge_with_nbdime(base_view, local_view, remote_view, policy, markers, prefer)
            lost = _lost_line(base_view, local_view, remote_view, merged, prefer)
            notes = [f"nbdime's merge would drop {lost!r}; both sides kept whole instead"] if lost else []
        except OutOfTime:
            notes = [f"nbdime's merge took more than {NBDIME_SECONDS} s (it compares every changed cell with every other); both sides kept whole instead"]
        except Exception as error:  # noqa: BLE001 - a bug in nbdime must not cost either side
            notes = [f"nbdime's merge failed ({type(error).__name__}: {error}); both sides kept whole instead"]
        if notes:
            merged, conflicted, unmarked = keep_both(local_view, remote_view, markers), True, []
        how = "both sides kept whole" if notes else CELL_BY_CELL
    if theirs:
        merged["metadata"] = {**merged.get("metadata", {}), REMOTE_METADATA_KEY: theirs}
    content = _restore_version(merged, major, local.content)
    notebook = Notebook(content, major, local.crlf)
    conflicts = [*describe_conflicts(content, markers.size), *unmarked] if conflicted or theirs else []
    return MergeResult(serialise(_numbered(notebook) if positional else notebook), conflicts, how, notes)


# the notebook's kernel is one thing: its two keys are taken together, from one side
KERNEL_KEYS = ("kernelspec", "language_info")
_ABSENT = object()


def merge_metadata(base: dict[str, Any], local: dict[str, Any], remote: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Notebook metadata merged three-way: (the merged metadata, remote's values where both sides
    changed a key differently, to be recorded under `nbgit-remote-metadata`; null where remote deleted it).

    Tables merge key by key; any other value changed differently on both sides keeps local's value,
    whole. The kernel (`kernelspec` and `language_info`) is one value: when either conflicts, both
    come from local, so the result is one coherent kernel (never "Julia 1.1.0-DEVJulia 0.6.2").
    """
    kernel = {key: (base.get(key, _ABSENT), local.get(key, _ABSENT), remote.get(key, _ABSENT)) for key in KERNEL_KEYS}
    kernel_conflict = any(_one_sided(*trio) is _UNMERGED for trio in kernel.values())
    merged, theirs = _merge_table(
        {k: v for k, v in base.items() if k not in KERNEL_KEYS},
        {k: v for k, v in local.items() if k not in KERNEL_KEYS},
        {k: v for k, v in remote.items() if k not in KERNEL_KEYS},
    )
    for key, (old, mine, other) in kernel.items():
        value = mine if kernel_conflict else _one_sided(old, mine, other)
        if value is not _ABSENT:
            merged[key] = value
        if kernel_conflict and mine != other:
            theirs[key] = None if other is _ABSENT else other
    return merged, theirs


def _merge_table(base: dict[str, Any], local: dict[str, Any], remote: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    merged: dict[str, Any] = {}
    theirs: dict[str, Any] = {}
    for key in dict.fromkeys([*local, *remote, *base]):
        old, mine, other = (side.get(key, _ABSENT) for side in (base, local, remote))
        value = _one_sided(old, mine, other)
        if value is _UNMERGED and all(isinstance(v, dict) for v in (mine, other)):
            value, inner = _merge_table(old if isinstance(old, dict) else {}, mine, other)
            if inner:
                theirs[key] = inner
        elif value is _UNMERGED:
            value = mine
            theirs[key] = None if other is _ABSENT else other
        if value is not _ABSENT:
            merged[key] = value
    return merged, theirs


def keep_both(local: dict[str, Any], remote: dict[str, Any], markers: Markers) -> dict[str, Any]:
    """Local's cells then remote's between marker cells (shared leading and trailing cells outside them).

    The notebook's metadata is local's: `merge_notebooks` has merged it already.
    """
    left, right = local.get("cells", []), remote.get("cells", [])
    head, tail = common_ends(left, right)
    middle = (
        [marker_cell("<" * markers.size, markers.local), *left[head : len(left) - tail], marker_cell("=" * markers.size)]
        + [*right[head : len(right) - tail], marker_cell(">" * markers.size, markers.remote)]
    )
    merged = {**local, "cells": [*left[:head], *middle, *left[len(left) - tail :]]}
    merged["nbformat_minor"] = max(minor_of(local), minor_of(remote))
    return merged


def marker_cell(marker: str, label: str = "") -> dict[str, Any]:
    """A markdown cell framing cells in conflict, shown in red by Jupyter (nbdime's own marker format).

    The label (a branch name may hold `<`) is escaped: the cell is rendered as HTML.
    """
    text = f"{marker} {html.escape(label)}" if label else marker
    return {"cell_type": "markdown", "metadata": {}, "source": f'<span style="color:red"><b>{text}</b></span>'}


def describe_conflicts(content: dict[str, Any], marker_size: int) -> list[str]:
    """One line per place where a merged notebook still holds a conflict, cells numbered from 1."""
    found: list[str] = []
    metadata = content.get("metadata") if isinstance(content.get("metadata"), dict) else {}
    if isinstance(metadata.get(REMOTE_METADATA_KEY), dict):
        keys = ", ".join(metadata[REMOTE_METADATA_KEY])
        found.append(f"notebook metadata: {keys} changed differently on both sides (local's kept; remote's under {REMOTE_METADATA_KEY})")
    elif NBDIME_CONFLICTS_KEY in metadata or REMOTE_METADATA_KEY in metadata:
        found.append("notebook metadata")
    start = "<" * marker_size + " "
    open_at = 0
    for number, cell in enumerate(cells(content), 1):
        source = source_of(cell)
        marker = _MARKER_CELL.match(source) if cell.get("cell_type") == "markdown" else None
        if marker and marker.group(1).startswith("<"):
            open_at = number
        elif marker and marker.group(1).startswith(">") and open_at:
            found.append(f"cells {open_at}-{number}: changed differently on both sides (between marker cells)")
            open_at = 0
        elif any(line.startswith(start) for line in source.splitlines()):
            found.append(f"cell {number}: source")
        metadata = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
        outputs = [o for o in cell.get("outputs") or [] if isinstance(o, dict)]
        if NBDIME_CONFLICTS_KEY in metadata or any(NBDIME_CONFLICTS_KEY in (o.get("metadata") or {}) for o in outputs):
            found.append(f"cell {number}: metadata")
        if conflicted_attachments(cell):
            found.append(f"cell {number}: attachments (both versions kept, as LOCAL_ and REMOTE_)")
    return found


def lines_outside_conflicts(content: dict[str, Any], marker_size: int) -> Counter[str]:
    """The source lines of a merged notebook that no conflict marked holds, counted: not between marker
    cells, not in a cell nbdime notes was deleted on one side, not between a source's markers."""
    found: Counter[str] = Counter()
    opened, closed = "<" * marker_size + " ", ">" * marker_size
    between_cells = False
    for cell in cells(content):
        source = source_of(cell)
        marker = _MARKER_CELL.match(source) if cell.get("cell_type") == "markdown" else None
        if marker:
            between_cells = marker.group(1).startswith(("<", "="))
            continue
        if between_cells or source.startswith((f"{opened}LOCAL CELL DELETED", f"{opened}REMOTE CELL DELETED")):
            continue
        inside = False
        for line in source.splitlines():
            if line.startswith(opened):
                inside = True
            elif inside and line.startswith(closed):
                inside = False
            elif not inside and line.strip():
                found[line] += 1
    return found


def _trivial(base: Notebook | None, local: Notebook, remote: Notebook) -> tuple[Notebook, str] | None:
    if local.content == remote.content and local.major == remote.major:
        return local, "identical sides"
    if base is not None and base.content == local.content and base.major == local.major:
        return remote, "local unchanged"
    if base is not None and base.content == remote.content and base.major == remote.major:
        return local, "remote unchanged"
    return None


def _settle_outputs(base: Notebook | None, local: Notebook, remote: Notebook, sameness: Sameness) -> None:
    """Make outputs that read the same identical, in place: base's and remote's take local's (remote's
    takes base's), so that a re-run on one or both sides that changed nothing a reader would see is no
    change and no conflict. Cells are matched by id, else by source."""
    local_cells = dict(_code_cells(local))
    base_cells = dict(_code_cells(base)) if base is not None else {}
    for key, cell in base_cells.items():
        mine = local_cells.get(key)
        if mine is not None and sameness.same_outputs(mine["outputs"], cell["outputs"]):
            cell["outputs"] = mine["outputs"]
    for key, cell in _code_cells(remote):
        for reference in (base_cells.get(key), local_cells.get(key)):
            if reference is not None and sameness.same_outputs(reference["outputs"], cell["outputs"]):
                cell["outputs"] = reference["outputs"]
                break


def _code_cells(notebook: Notebook) -> Iterator[tuple[tuple[str, int], dict[str, Any]]]:
    """Code cells that have outputs, keyed by id (else source) and occurrence."""
    seen: dict[str, int] = {}
    for cell in cells(notebook.content):
        if cell.get("cell_type") == "code" and isinstance(cell.get("outputs"), list):
            ident = cell.get("id") if isinstance(cell.get("id"), str) else "\0" + source_of(cell)
            seen[ident] = seen.get(ident, 0) + 1
            yield (ident, seen[ident]), cell


_UNMERGED = object()


def _merge_in_place(base: dict[str, Any], local: dict[str, Any], remote: dict[str, Any]) -> dict[str, Any] | None:
    """The merge position by position, when no side added, removed or moved a cell and no cell, nor the
    notebook's metadata, changed on both sides; None otherwise (nbdime decides).

    nbdime aligns cells by their content, which misplaces edits among identical cells; when the
    cell structure is untouched the position is the alignment, and nbdime is not needed at all.
    """
    sides = [side.get("cells", []) for side in (base, local, remote)]
    if len({len(side) for side in sides}) != 1:
        return None
    merged_cells = []
    for trio in zip(*sides):
        if any((cell.get("cell_type"), cell.get("id")) != (trio[0].get("cell_type"), trio[0].get("id")) for cell in trio[1:]):
            return None  # (compared, not hashed: a stranger's id may be a list or an object)
        cell = _one_sided(*trio)
        if cell is _UNMERGED:
            return None
        merged_cells.append(cell)
    rest = [{k: v for k, v in side.items() if k != "cells"} for side in (base, local, remote)]
    merged = _one_sided(*rest)
    if merged is _UNMERGED:
        return None
    return {**merged, "cells": merged_cells}


def _one_sided(base: Any, local: Any, remote: Any) -> Any:
    """The side that changed (either when both made the same change), or _UNMERGED when both changed differently."""
    if local == remote or remote == base:
        return local
    if local == base:
        return remote
    return _UNMERGED


def _bytes_of(notebook: Notebook | None) -> bytes:
    return serialise(notebook) if notebook is not None else b""


# --- versions: merge v2/v3 in their own version, upgrade only when the sides disagree ---------------


def _common_views(base: Notebook | None, local: Notebook, remote: Notebook) -> tuple[int, list[dict[str, Any]]]:
    """Every side as a v4-shaped dict (top-level `cells`, code `source`) in one nbformat major.

    Sides of one old version are only reshaped (no conversion, no ids minted); sides of different
    versions are upgraded to v4 by nbformat, without the random ids it would mint.
    """
    sides = [base, local, remote]
    majors = {side.major for side in sides if side is not None}
    if majors == {4}:
        return 4, [side.content if side is not None else _synthetic_base(local.content, remote.content) for side in sides]
    if len(majors) == 1 and majors <= {2, 3}:
        views = [_old_to_view(side.content) if side is not None else None for side in sides]
        return majors.pop(), [view if view is not None else _synthetic_base(views[1], views[2]) for view in views]
    if 1 in majors:
        raise _Unmergeable("nbformat 1 notebooks are merged as text by git merge-file")
    upgraded = [_upgrade(side) if side is not None else None for side in sides]
    return 4, [view if view is not None else _synthetic_base(upgraded[1], upgraded[2]) for view in upgraded]


def _old_to_view(content: dict[str, Any]) -> dict[str, Any]:
    worksheets = content.get("worksheets") or [{"cells": []}]
    if len(worksheets) != 1:
        raise _Unmergeable("notebooks with several worksheets are merged as text by git merge-file")
    view = {k: v for k, v in content.items() if k != "worksheets"}
    view["cells"] = [_renamed(cell, "input", "source") if cell.get("cell_type") == "code" else cell for cell in worksheets[0].get("cells") or []]
    return view


def _restore_version(merged: dict[str, Any], major: int, template: dict[str, Any]) -> dict[str, Any]:
    if major == 4:
        return _settle_ids(merged)
    content = {k: v for k, v in merged.items() if k != "cells"}
    sheet = {k: v for k, v in (template.get("worksheets") or [{}])[0].items() if k != "cells"}
    sheet["cells"] = [_renamed(cell, "source", "input") if cell.get("cell_type") == "code" else cell for cell in merged["cells"]]
    content["worksheets"] = [sheet]
    return content


def _renamed(cell: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    return {(new if key == old else key): value for key, value in cell.items()}


def _upgrade(side: Notebook) -> dict[str, Any]:
    """An older side as v4, by nbformat; its minor read as `minor_of` reads it (nbformat's upgrade fails on
    one that is no number: an AssertionError)."""
    if side.major == 4:
        return side.content
    nbformat = _nbformat()
    upgraded = _plain(nbformat.convert(nbformat.from_dict({**side.content, "nbformat_minor": side.minor}), 4))
    for cell in upgraded.get("cells", []):
        cell.pop("id", None)  # minted at random by the upgrade: never let them conflict
    upgraded["nbformat_minor"] = 4
    for key in ("orig_nbformat", "orig_nbformat_minor"):
        upgraded.get("metadata", {}).pop(key, None)
    return upgraded


def _settle_ids(content: dict[str, Any]) -> dict[str, Any]:
    """nbformat 4.5+ needs a unique id on every cell, older minors none: derive missing ones from content."""
    if minor_of(content) < 5:
        content["cells"] = [{k: v for k, v in cell.items() if k != "id"} for cell in content.get("cells", [])]
        return content
    seen: set[str] = set()
    for index, cell in enumerate(content.get("cells", [])):
        ident = cell.get("id")
        if not isinstance(ident, str) or not ident or ident in seen:
            digest = hashlib.sha1(f"{index}\0{ident}\0{source_of(cell)}".encode()).hexdigest()
            ident = next(digest[i : i + 8] for i in range(0, 33) if digest[i : i + 8] not in seen)
            cell["id"] = ident
        seen.add(ident)
    return content


def _shared_ids(base: Notebook | None, local: Notebook, remote: Notebook, renumbered: bool) -> tuple[Notebook | None, Notebook, Notebook]:
    """The sides with one set of cell ids, so that cells stay matched (nbformat 4 only).

    Ids that are only places (`"0"`, `"1"`, ...: the policy's `ids = "sequential"`, when `renumbered`,
    or nbstripout's on a side) say nothing of which cell is which: those sides are merged as if
    without ids, by content (else a cell inserted at the top made every cell below another's).

    Jupyter gives every cell a random id the first time it saves a notebook of nbformat 4.4 or older
    as 4.5, so two people who both open an old notebook give its cells different ids; some tools
    mint new ones on every save, and some save without ids. A side whose ids share none with the
    base's (or that has none where the base has some) is matched to the base by the cells' type,
    source and place, and its matched cells take the base cells' ids. Local's own ids are the ones
    kept (they are those of the user's work tree, and of the outputs nbgit keeps for it): when local
    minted them, the base's matched cells take them first (and remote's cells the same, by the base's
    old id); a base without ids takes remote's for the cells local has not.
    """
    if base is None or {base.major, local.major, remote.major} != {4}:
        return base, local, remote
    base_cells, local_cells, remote_cells = (side.content.get("cells") for side in (base, local, remote))
    if not all(isinstance(side, list) and all(isinstance(cell, dict) for cell in side) for side in (base_cells, local_cells, remote_cells)):
        return base, local, remote  # (what is no cell stays where it is: nbdime's part)
    originals = (base_cells, local_cells, remote_cells)
    base_cells, local_cells, remote_cells = (_without_ids(side) if renumbered or _positional(side) else side for side in originals)
    base_ids, local_ids, remote_ids = _ids(base_cells), _ids(local_cells), _ids(remote_cells)
    if not base_cells or all(ids & base_ids or not (ids or base_ids) for ids in (local_ids, remote_ids)):
        if (base_cells, local_cells, remote_cells) == originals:
            return base, local, remote
        return _with_cells((base, local, remote), (base_cells, local_cells, remote_cells))  # type: ignore[return-value]
    if local_ids and not local_ids & base_ids:
        renamed = _adopted_ids(local_cells, base_cells, replace=True)
        old_to_new = {old["id"]: new["id"] for old, new in zip(base_cells, renamed) if _is_id(old.get("id")) and old["id"] != new.get("id")}
        base_cells = renamed
        remote_cells = [{**cell, "id": old_to_new[cell["id"]]} if _is_id(cell.get("id")) and cell["id"] in old_to_new else cell for cell in remote_cells]
    if remote_ids and not remote_ids & base_ids:
        base_cells = _adopted_ids(remote_cells, base_cells, replace=False)
    shared = _ids(base_cells)
    local_cells, remote_cells = (side if _ids(side) & shared else _adopted_ids(base_cells, side, replace=True) for side in (local_cells, remote_cells))
    return _with_cells((base, local, remote), (base_cells, local_cells, remote_cells))  # type: ignore[return-value]


def _with_cells(sides: tuple[Notebook, ...], cell_lists: tuple[list[dict[str, Any]], ...]) -> tuple[Notebook, ...]:
    return tuple(side._replace(content={**side.content, "cells": cell_list}) for side, cell_list in zip(sides, cell_lists))


def _positional(cell_list: Any) -> bool:
    """Whether cells' ids are their places, `"0"`, `"1"`... (nbstripout's, the policy's `sequential`)."""
    return isinstance(cell_list, list) and bool(cell_list) and all(
        isinstance(cell, dict) and cell.get("id") == str(place) for place, cell in enumerate(cell_list))


def _numbered(notebook: Notebook) -> Notebook:
    """The notebook with its cells' ids their places again, where it has ids (local had such ids)."""
    cell_list = notebook.content.get("cells")
    if notebook.major != 4 or notebook.minor < 5 or not isinstance(cell_list, list):
        return notebook
    numbered = [{**cell, "id": str(place)} if isinstance(cell, dict) else cell for place, cell in enumerate(cell_list)]
    return notebook._replace(content={**notebook.content, "cells": numbered})


def _without_ids(cell_list: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{key: value for key, value in cell.items() if key != "id"} for cell in cell_list]


def _ids(cell_list: list[Any]) -> set[str]:
    return {ident for cell in cell_list if isinstance(cell, dict) and _is_id(ident := cell.get("id"))}


def _is_id(ident: Any) -> bool:
    """Whether a cell's `id` is one (a string, not empty): a stranger's may be a list or an object."""
    return isinstance(ident, str) and bool(ident)


def _adopted_ids(donor: list[dict[str, Any]], taker: list[dict[str, Any]], replace: bool) -> list[dict[str, Any]]:
    """`taker`'s cells, each that matches a cell of `donor` (`_cell_pairs`) with that cell's id: in
    place of its own id (`replace`), or only where it has none. No id is given twice."""
    keys = [[f"{cell.get('cell_type')}\0{source_of(cell)}" for cell in side] for side in (donor, taker)]
    taken = _ids(taker) - _ids(donor)
    adopted = list(taker)
    for i, j in _cell_pairs(*keys):
        ident = donor[i].get("id")
        if (isinstance(ident, str) and ident and ident not in taken and donor[i].get("cell_type") == taker[j].get("cell_type")
                and (replace or not taker[j].get("id"))):
            adopted[j] = {**taker[j], "id": ident}
            taken.add(ident)
    return adopted


def _cell_pairs(a: list[str], b: list[str]) -> list[tuple[int, int]]:
    """Which cells of `b` are cells of `a` (by their keys), in order: as git's diff would pair them (the
    same cells at both ends, then difflib's equal cells between, and cells in the place of ones
    edited); but place by place when the lists are as long and that pairs as many equal cells, since
    among identical cells (`plt.show()` five times) difflib's choice is arbitrary."""
    head, tail = common_ends(a, b)
    pairs = [*zip(range(head), range(head)), *zip(range(len(a) - tail, len(a)), range(len(b) - tail, len(b)))]
    equal = len(pairs)
    for tag, i1, i2, j1, j2 in _CellMatcher(a[head : len(a) - tail], b[head : len(b) - tail]).get_opcodes():
        if tag in ("equal", "replace"):
            pairs += zip(range(head + i1, head + i2), range(head + j1, head + j2))
            equal += (i2 - i1) * (tag == "equal")
    if len(a) == len(b) and sum(map(str.__eq__, a, b)) >= equal:
        return list(zip(range(len(a)), range(len(b))))
    return sorted(pairs, key=lambda pair: pair[1])


def _synthetic_base(local: dict[str, Any], remote: dict[str, Any]) -> dict[str, Any]:
    """A base for two sides that share none: the cells and metadata both have in common, in order (`_CellMatcher`)."""
    left, right = local.get("cells", []), remote.get("cells", [])
    matcher = _CellMatcher([_key(c) for c in left], [_key(c) for c in right])
    shared = [cell for a, _, size in matcher.get_matching_blocks() for cell in left[a : a + size]]
    meta_l, meta_r = local.get("metadata", {}), remote.get("metadata", {})
    metadata = {k: v for k, v in meta_l.items() if k in meta_r and meta_r[k] == v}
    return {**local, "cells": shared, "metadata": metadata}


def _key(cell: Any) -> str:
    return json.dumps(cell, sort_keys=True)


class _CellMatcher(BoundedMatcher):
    """difflib's matching of two lists of cells (their keys or sources); where difflib would take too long
    (thousands of cells of a few sources: it took minutes), the cells git's own diff leaves unchanged."""

    def __init__(self, a: list[str], b: list[str]) -> None:
        super().__init__(a, b, autojunk=False)

    def get_matching_blocks(self) -> list[difflib.Match]:
        """difflib's blocks of equal cells, else git's, in the same form (a last empty block at the ends)."""
        try:
            return super().get_matching_blocks()
        except TooMuchWork:
            pass
        digests = [[hashlib.sha1(item.encode("utf-8", "surrogatepass")).hexdigest() for item in side] for side in (self.a, self.b)]
        blocks: list[difflib.Match] = []
        for i, j in sorted(_unchanged(*digests).items()):
            last = blocks[-1] if blocks else None
            if last is not None and (last.a + last.size, last.b + last.size) == (i, j):
                blocks[-1] = last._replace(size=last.size + 1)
            else:
                blocks.append(difflib.Match(i, j, 1))
        self.matching_blocks = [*blocks, difflib.Match(len(self.a), len(self.b), 0)]
        return self.matching_blocks


# --- nbdime -------------------------------------------------------------------------------------------


def _nbformat() -> Any:
    _skip_slow_optional_imports()
    import nbformat

    return nbformat


# Optional format checkers jsonschema loads at import when installed; `rfc3987_syntax` alone builds a
# grammar for about 2 s (most of nbformat's import time). Notebook schemas use none of these formats.
_FORMAT_CHECKERS = ("rfc3987_syntax", "rfc3986_validator", "rfc3339_validator", "isoduration", "webcolors", "uri_template", "fqdn")


def _skip_slow_optional_imports() -> None:
    """Keep jsonschema, imported by nbformat, from loading format checkers nbgit never needs."""
    if "jsonschema" not in sys.modules:
        for name in _FORMAT_CHECKERS:
            sys.modules.setdefault(name, None)  # type: ignore[arg-type]


def _merge_with_nbdime(
    base: dict[str, Any], local: dict[str, Any], remote: dict[str, Any], policy: Policy, markers: Markers, prefer: str | None = None
) -> tuple[dict[str, Any], bool, list[str]]:
    """nbdime's merge: the merged notebook, whether conflicts remain, and those it left unmarked.

    The cells are merged stretch by stretch between anchors (`_segments`), each stretch that changed
    on both sides by nbdime, as a notebook with the base's top level (the metadata is merged already);
    the top level (`nbformat_minor`) is taken from the side that changed it, else the newer. Where
    nbdime leaves a conflict unresolved (it would keep the base there, losing both changes, and no mark
    would show it), both sides' cells of the stretch are kept between marker cells.

    With `prefer`, each conflict is settled that side's way as the merge would have marked it: a
    source's by git's line merge (`_render_source`), a cell's metadata by nbdime (its `use-local` /
    `use-remote`), cells framed by marker cells (and a stretch nbdime leaves to the
    base) by taking that side's cells, and a cell deleted on one side and edited on the other as that
    side has it. (nbdime's own `use-local` for the cells takes that side's cells of a whole stretch,
    dropping the other side's edits there that conflict with nothing.)"""
    import logging

    nbformat = _nbformat()
    from nbdime.merging.decisions import apply_decisions

    logging.getLogger("nbdime").setLevel(logging.ERROR)  # conflicts are reported by nbgit, once
    args = Namespace(
        merge_strategy="inline",
        input_strategy=None,
        output_strategy=OUTPUT_STRATEGIES[policy.section("merge")["outputs"]],
        ignore_transients=True,
        log_level="ERROR",
    )
    chosen = {"local": 1, "remote": 2}.get(prefer or "")
    top = _one_sided(*({k: v for k, v in side.items() if k != "cells"} for side in (base, local, remote)))
    if top is _UNMERGED:
        top = {**local, "nbformat_minor": max(minor_of(local), minor_of(remote))}
    merged_cells: list[dict[str, Any]] = []
    conflicted, unmarked = False, []
    for stretch, offset in _pieces(base, local, remote):
        one_sided = _one_sided(*stretch)
        if one_sided is not _UNMERGED:
            merged_cells.extend(one_sided)
            continue
        if _distinct_insertions(stretch):
            merged_cells += stretch[chosen] if chosen else keep_both({"cells": stretch[1]}, {"cells": stretch[2]}, markers)["cells"]
            conflicted = conflicted or not chosen
            continue
        nodes = [nbformat.from_dict({**base, "cells": cells_of_side}) for cells_of_side in _with_attachment_tables(stretch)]
        with _nbdime_tuned(markers, prefer):
            decisions = _decide(nodes, args, prefer)
        if any(d.conflict and d.action == "base" for d in decisions) or _replaced_differently(decisions):
            merged_cells += stretch[chosen] if chosen else keep_both({"cells": stretch[1]}, {"cells": stretch[2]}, markers)["cells"]
            conflicted = conflicted or not chosen
            continue
        conflicted = conflicted or any(d.conflict for d in decisions)
        unmarked += _unmarked_conflicts(decisions, offset)
        stretch_cells = [_without_added_table(cell) for cell in _plain(apply_decisions(nodes[0], decisions)).get("cells", [])]
        merged_cells += _settled_cells(stretch_cells, prefer) if prefer else [_relabelled_markers(cell, markers) for cell in stretch_cells]
    return {**top, "cells": merged_cells}, conflicted, unmarked


_NO_TABLE = "\0nbgit: no attachments"  # (a name no attachment Jupyter makes has)


def _with_attachment_tables(stretch: Stretch) -> Stretch:
    """The stretch with an `attachments` table holding only `_NO_TABLE` on each Markdown and raw cell without
    one, when a cell of it has attachments: an image pasted into one cell on both sides is then a conflict
    of that name, which nbdime can decide, rather than of the whole table (where its strategy fails)."""
    if not any(isinstance(cell, dict) and cell.get("attachments") for side in stretch for cell in side):
        return stretch
    return tuple([{**cell, "attachments": {_NO_TABLE: {}}} if isinstance(cell, dict) and cell.get("cell_type") in ("markdown", "raw")
                  and "attachments" not in cell else cell for cell in side] for side in stretch)  # type: ignore[return-value]


def _without_added_table(cell: dict[str, Any]) -> dict[str, Any]:
    """A merged cell without `_NO_TABLE`, and without its table when that held nothing else (no side gave it one)."""
    table = cell.get("attachments")
    if not isinstance(table, dict) or _NO_TABLE not in table:
        return cell
    rest = {name: value for name, value in table.items() if name != _NO_TABLE}
    return {**cell, "attachments": rest} if rest else {k: v for k, v in cell.items() if k != "attachments"}


def _replaced_differently(decisions: list[Any]) -> bool:
    """Whether nbdime's decisions for a stretch keep, unmarked, cells both sides put in the place of one base
    cell. A cell rewritten past recognition is to nbdime a deletion and an insertion; rewritten on both
    sides, the two insertions meet and conflict, unless one side also deleted the cell beside it: then they
    land at different places and both are kept, as if the sides had changed different cells. As git's
    merge does for lines, a base cell both sides deleted, each within a run of changes that inserts cells
    (different ones), is a conflict."""
    runs = [_changed_runs([op for d in decisions if tuple(d.common_path) == ("cells",) and not d.conflict for op in d.get(f"{side}_diff") or []])
            for side in ("local", "remote")]
    return any(mine[2] and theirs[2] and max(mine[0], theirs[0]) < min(mine[1], theirs[1]) and mine[2] != theirs[2]
               for mine in runs[0] for theirs in runs[1])


def _changed_runs(ops: list[Any]) -> list[tuple[int, int, list[Any]]]:
    """A side's insertions and deletions of cells as runs that touch: (first base cell, the one past the
    run, the cells inserted in it)."""
    spans = sorted(((op.key, op.key + (op.length if op.op == "removerange" else 0), op.valuelist if op.op == "addrange" else [])
                    for op in ops if op.op in ("addrange", "removerange")), key=lambda span: span[:2])
    runs: list[tuple[int, int, list[Any]]] = []
    for start, end, added in spans:
        if runs and start <= runs[-1][1]:
            runs[-1] = (runs[-1][0], max(runs[-1][1], end), runs[-1][2] + added)
        else:
            runs.append((start, end, list(added)))
    return runs


def _decide(nodes: list[Any], args: Namespace, prefer: str | None) -> list[Any]:
    """nbdime's decisions for one stretch (base, local, remote), as its `decide_notebook_merge` makes them,
    with the notebook's, cells' and outputs' metadata settled `prefer`'s way when given (rather than
    recorded under `nbdime-conflicts`)."""
    from nbdime.diffing.notebooks import diff_notebooks
    from nbdime.merging.generic import decide_merge_with_diff
    from nbdime.merging.notebooks import notebook_merge_strategies

    strategies = notebook_merge_strategies(args)
    if prefer:
        strategies.update(dict.fromkeys(("/metadata", "/cells/*/metadata", "/cells/*/outputs/*/metadata", "/cells/*/attachments"), f"use-{prefer}"))
    base, local, remote = nodes
    return decide_merge_with_diff(base, local, remote, diff_notebooks(base, local), diff_notebooks(base, remote), strategies)


def _settled_cells(merged: list[dict[str, Any]], prefer: str) -> list[dict[str, Any]]:
    """nbdime's merge of a stretch with what it marked settled `prefer`'s way: of the cells framed by its
    marker cells, that side's; a cell it notes was deleted on one side (and edited on the other), gone
    where that side deleted it, else without the note."""
    settled: list[dict[str, Any]] = []
    part: str | None = None  # inside marker cells: the side whose cells these are
    for cell in merged:
        source = cell.get("source") if isinstance(cell.get("source"), str) else ""
        marker = _NBDIME_MARKER_CELL.match(source) if cell.get("cell_type") == "markdown" else None
        if marker:
            part = {"<": "local", "=": "remote"}.get(marker.group(1)[0])
            continue
        deleted = _NBDIME_DELETED.match(source)
        if part not in (None, prefer) or deleted and deleted.group(1).lower() == prefer:
            continue
        settled.append({**cell, "source": source[deleted.end() :]} if deleted else cell)
    return settled


Stretch = tuple[list[Any], list[Any], list[Any]]


def _pieces(base: dict[str, Any], local: dict[str, Any], remote: dict[str, Any]) -> Iterator[tuple[Stretch, int]]:
    """The cells cut into the stretches merged one by one, each with where it starts in the base."""
    for whole, at in _segments(base, local, remote):
        for finer, finer_at in _finer(whole, at):
            yield from _at_same_cells(finer, finer_at)


def _at_same_cells(stretch: Stretch, offset: int) -> Iterator[tuple[Stretch, int]]:
    """A stretch where both sides inserted cells (ids the base has not), cut again at the cells all three
    hold with one type, id and source (only their outputs, count or metadata changed): nbdime aligns
    those as well, and the cells inserted between them are then known for insertions
    (`_distinct_insertions`)."""
    base_ids = _ids(stretch[0])
    if not all(_ids(side) - base_ids for side in stretch[1:]):
        yield stretch, offset
        return
    keys = [[(cell.get("cell_type"), cell["id"], source_of(cell)) if isinstance(cell, dict) and isinstance(cell.get("id"), str) else None
             for cell in side] for side in stretch]
    counts = [Counter(side) for side in keys]
    local_at, remote_at = ({key: index for index, key in enumerate(side)} for side in keys[1:])
    candidates = [(index, local_at[key], remote_at[key]) for index, key in enumerate(keys[0])
                  if key is not None and all(count[key] == 1 for count in counts)]
    for piece, at in _cut(stretch, _increasing(_increasing(candidates, 1), 2)):
        yield piece, offset + at


def _distinct_insertions(stretch: Stretch) -> bool:
    """Whether both sides inserted different cells at one place, which nbdime must not glue into one cell
    with the conflict inside (it would drop their outputs and ids): cells with outputs, or cells whose
    ids tell they are different cells. Versions of one cell (the same id or source on both sides: a
    cherry-picked cell run again; or no ids: an add/add of one notebook) are left to nbdime, which
    marks the lines that differ and settles outputs as `[merge] outputs` says."""
    base, local, remote = stretch
    if base or not local or not remote or not all(isinstance(cell, dict) for cell in (*local, *remote)):
        return False
    local_ids, remote_ids = _ids(local), _ids(remote)
    sources = [{(cell.get("cell_type"), source_of(cell)) for cell in side} for side in (local, remote)]
    if local_ids & remote_ids or sources[0] & sources[1]:
        return False
    if any(cell.get("outputs") for cell in (*local, *remote)):
        return True
    return len(local_ids) == len(local) and len(remote_ids) == len(remote)


def _segments(base: dict[str, Any], local: dict[str, Any], remote: dict[str, Any]) -> Iterator[tuple[Stretch, int]]:
    """The three cell lists cut at anchors: (base's, local's and remote's cells of one stretch, where it
    starts in the base), stretches between anchors alternating with the anchors themselves.

    nbdime compares every cell with every other one (quadratic: a 4,000-cell notebook took 27 s, a
    20,000-cell one a quarter of an hour); cut this way it compares only cells between anchors. An
    anchor is a cell all three hold unchanged (id included), once each, in the same order on every
    side (a longest such chain, as patience diff finds one), so nbdime would align them as well.
    """
    sides = [side.get("cells", []) for side in (base, local, remote)]
    keys = [[_key(cell) for cell in side] for side in sides]
    counts = [Counter(side) for side in keys]
    local_at, remote_at = ({key: index for index, key in enumerate(side)} for side in keys[1:])
    candidates = [(index, local_at[key], remote_at[key]) for index, key in enumerate(keys[0]) if all(count[key] == 1 for count in counts)]
    return _cut((sides[0], sides[1], sides[2]), _increasing(_increasing(candidates, 1), 2))


LONG_STRETCH = 200  # cells: nbdime's grid over a stretch this long that both sides changed takes seconds


def _finer(stretch: Stretch, offset: int) -> Iterator[tuple[Stretch, int]]:
    """A stretch between anchors, cut again when it is long and both sides changed it: at the cells git's
    own diff of the cells (Myers, in C, in time near the number of changes) leaves unchanged on both sides.
    Anchors must be unique cells, so notebooks whose cells repeat a few sources have none: a merge of 4,000
    cells alternating two sources took nbdime two minutes."""
    if max(map(len, stretch)) <= LONG_STRETCH or _one_sided(*stretch) is not _UNMERGED:
        yield stretch, offset
        return
    keys = [[hashlib.sha1(_key(cell).encode()).hexdigest() for cell in side] for side in stretch]
    local_at, remote_at = (_unchanged(keys[0], side) for side in keys[1:])
    anchors = [(index, local_at[index], remote_at[index]) for index in range(len(keys[0])) if index in local_at and index in remote_at]
    for piece, at in _cut(stretch, anchors):
        yield piece, offset + at


def _unchanged(base: list[str], side: list[str]) -> dict[int, int]:
    """Base index -> side index of the lines (cell keys) `git diff --no-index -U0` leaves unchanged; empty
    when git cannot tell (the stretch is then merged whole, as before)."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory(prefix="nbgit-merge-") as folder:
        for name, lines in (("base", base), ("side", side)):
            with open(os.path.join(folder, name), "w", encoding="ascii") as out:
                out.write("".join(f"{line}\n" for line in lines))
        done = subprocess.run(
            ["git", "diff", "--no-index", "--no-ext-diff", "--no-textconv", "--no-color", "-U0", "--diff-algorithm=myers", "--", "base", "side"],
            cwd=folder, capture_output=True, check=False,
        )
    if done.returncode not in (0, 1):
        return {}
    matched: dict[int, int] = {}
    i = j = 0  # the next line of each not yet placed
    for old_first, old_count, new_first, new_count in [*_hunks(done.stdout), (len(base), 0, len(side), 0)]:
        while i < old_first:  # the unchanged run before the hunk
            if j >= len(side) or base[i] != side[j]:
                return {}  # (never for a diff read right: unchanged lines are equal)
            matched[i] = j
            i, j = i + 1, j + 1
        if j != new_first:
            return {}
        i, j = old_first + old_count, new_first + new_count
    return matched


_HUNK = re.compile(rb"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@", re.MULTILINE)


def _hunks(diff: bytes) -> list[tuple[int, int, int, int]]:
    """Each hunk of a `-U0` diff as (first old line, old count, first new line, new count), from 0; a hunk
    that removes (adds) nothing names the line after which it adds (removes), so its first line is that."""
    found = []
    for match in _HUNK.finditer(diff):
        old_start, old_count, new_start, new_count = (int(n) if n is not None else 1 for n in match.groups())
        found.append((old_start - 1 if old_count else old_start, old_count, new_start - 1 if new_count else new_start, new_count))
    return found


def _cut(stretch: Stretch, anchors: list[tuple[int, int, int]]) -> Iterator[tuple[Stretch, int]]:
    """The stretch cut at `anchors` (indices into its three lists, increasing in each): the pieces between
    anchors alternating with the anchors themselves, each with where it starts in the stretch's base."""
    start = (0, 0, 0)
    for anchor in [*anchors, tuple(map(len, stretch))]:
        yield tuple(side[begin:end] for side, begin, end in zip(stretch, start, anchor)), start[0]  # type: ignore[misc]
        if anchor[0] < len(stretch[0]):
            yield tuple(side[at : at + 1] for side, at in zip(stretch, anchor)), anchor[0]  # type: ignore[misc]
        start = (anchor[0] + 1, anchor[1] + 1, anchor[2] + 1)


def _increasing(triples: list[tuple[int, int, int]], field: int) -> list[tuple[int, int, int]]:
    """A longest subsequence of `triples` whose `field` increases (patience sorting, n log n)."""
    ends: list[int] = []  # ends[k]: the smallest last value of an increasing run of length k + 1 so far
    last: list[int] = []  # last[k]: the index in `triples` of that run's last triple
    before: list[int] = []  # before[n]: the triple ahead of triples[n] in its run (-1: none)
    for number, triple in enumerate(triples):
        length = bisect.bisect_left(ends, triple[field])
        before.append(last[length - 1] if length else -1)
        if length == len(ends):
            ends.append(triple[field])
            last.append(number)
        else:
            ends[length], last[length] = triple[field], number
    chain, at = [], last[-1] if last else -1
    while at >= 0:
        chain.append(triples[at])
        at = before[at]
    return chain[::-1]


def _where(path: tuple[Any, ...], offset: int) -> str:
    """A decision's path in the whole notebook, for messages (`offset`: where its stretch starts)."""
    if path[:1] == ("cells",) and len(path) > 1:
        path = ("cells", path[1] + offset, *path[2:])
    return "/" + "/".join(str(part) for part in path)


def _unmarked_conflicts(decisions: list[Any], offset: int) -> list[str]:
    """Conflicts nbdime decided without leaving a mark in the notebook, described from its decisions."""
    found = []
    for decision in decisions:
        if not decision.conflict or decision.action == "custom":
            continue  # (custom: both versions kept beside the attachment, `_marked_attachments`)
        if "attachments" in decision.common_path:
            names = sorted({str(d.key) for d in [*(decision.local_diff or []), *(decision.remote_diff or [])]})
            found.append(f"attachment {', '.join(names)} (at {_where(decision.common_path, offset)}): removed on one side, changed on the other; the change is kept")
    return found


@contextlib.contextmanager
def _nbdime_tuned(markers: Markers, prefer: str | None = None) -> Iterator[None]:
    """Have nbdime, in-process for the duration only, render source conflicts through `git merge-file`
    with git's marker size and labels (nbdime hard-codes 7, local and remote) and the repository's
    conflict style, or settled `prefer`'s way; and compare and merge a cell's attachments whole, name by
    name (`_whole_attachments`, `_marked_attachments`): its own strategy fails on an attachment both
    sides changed (nbdime 4.0.4: a KeyError, the patch below the attachment's name left unadjusted)."""
    from nbdime.diffing import notebooks
    from nbdime.merging import strategies

    originals = strategies.merge_render, strategies.resolve_strategy_inline_attachments, notebooks.notebook_differs[_ATTACHMENTS]
    strategies.merge_render = functools.partial(_render_source, markers=markers, prefer=prefer)
    strategies.resolve_strategy_inline_attachments = _marked_attachments
    notebooks.notebook_differs[_ATTACHMENTS] = functools.partial(_whole_attachments, differ=originals[2])
    try:
        yield
    finally:
        strategies.merge_render, strategies.resolve_strategy_inline_attachments, notebooks.notebook_differs[_ATTACHMENTS] = originals


_ATTACHMENTS = "/cells/*/attachments"


def _whole_attachments(before: Any, after: Any, path: str = _ATTACHMENTS, config: Any = None, differ: Any = None) -> Any:
    """nbdime's diff of two cells' attachments with each changed attachment replaced whole, not patched
    mime type by mime type: a conflict is then one attachment's, which nbdime can decide."""
    from nbdime.diff_format import op_replace

    return [op_replace(entry.key, after[entry.key]) if entry.op == "patch" else entry for entry in differ(before, after, path, config)]


def _marked_attachments(path: tuple[Any, ...], attachments: dict[str, Any], decisions: Any) -> None:
    """nbdime's inline strategy for a cell's attachments, for whole ones (`_whole_attachments`): one removed
    on one side and changed on the other keeps the change (a conflict named on stderr,
    `_unmarked_conflicts`); one both sides changed differently keeps the base's version under its name and
    each side's beside it, as `LOCAL_name` and `REMOTE_name`."""
    from nbdime.diff_format import op_add, op_replace

    conflicted = [d for d in decisions if d.conflict]
    decisions.decisions = [d for d in decisions if not d.conflict]
    for decision in conflicted:
        for mine, theirs in zip(decision.local_diff, decision.remote_diff):
            if mine.op == "remove" or theirs.op == "remove":
                keep = decisions.remote if mine.op == "remove" else decisions.local
                keep(path, mine, theirs, conflict=True, strategy="inline-attachments")
                continue
            both = [(op_replace if f"{side}_{mine.key}" in attachments else op_add)(f"{side}_{mine.key}", entry.value)
                    for side, entry in (("LOCAL", mine), ("REMOTE", theirs))]
            decisions.custom(path, mine, theirs, both, conflict=True, strategy="inline-attachments")


def _render_source(base: str, local: str, remote: str, strategy: Any = None, markers: Markers = Markers(), prefer: str | None = None) -> tuple[str, int]:
    if local == remote:
        return local, 0
    labels = (markers.local, markers.base, markers.remote)
    data, conflicts = gitrepo.merge_file(local.encode(), base.encode(), remote.encode(), markers.size, labels, prefer=prefer)
    text = data.decode("utf-8")
    if conflicts and text.endswith("\n") and not local.endswith("\n") and not remote.endswith("\n"):
        text = text[:-1]  # the closing marker was the last line: sources carry no final newline
    return text, int(conflicts > 0)


def _relabelled_markers(cell: dict[str, Any], markers: Markers) -> dict[str, Any]:
    """nbdime's marker cells and deleted-cell notes, with git's marker size and labels."""
    source = cell.get("source") if isinstance(cell.get("source"), str) else ""
    marker = _NBDIME_MARKER_CELL.match(source) if cell.get("cell_type") == "markdown" else None
    if marker:
        char = marker.group(1)[0]
        return marker_cell(char * markers.size, {"<": markers.local, ">": markers.remote}.get(char, ""))
    deleted = _NBDIME_DELETED.match(source)
    if deleted:
        note = f"{'<' * markers.size} {deleted.group(1)} CELL DELETED {'>' * markers.size}\n"
        return {**cell, "source": note + source[deleted.end() :]}
    return cell


def _plain(value: Any) -> Any:
    """nbformat's NotebookNode tree as plain dicts and lists."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _lost_line(base: dict[str, Any], local: dict[str, Any], remote: dict[str, Any], merged: dict[str, Any], prefer: str | None = None) -> str:
    """A source line the merge dropped (empty when none was lost), counting lines as a multiset; with
    `prefer`, only the lines that side added count as added (the other's may lose to them).

    Cell by cell (cells matched to the base by id, or by content when ids are missing), a side's
    added lines are what its cells have beyond the base cells they came from. The merged notebook
    must hold every line of the base that neither side deleted, plus every line each side added, as
    many times as that side added it: `plt.show()` added in a new cell is missed even when the base
    has one elsewhere. (Lines both sides added count once: two similar cells inserted at one place
    become one cell with the conflict inside it, their common lines shown once.)
    """
    base_list = list(cells(base))
    base_cells = [_line_counts(cell) for cell in base_list]
    sides = [_matched_to_base(base_list, list(cells(side))) for side in (local, remote)]
    needed: Counter[str] = Counter()
    for index, counts in enumerate(base_cells):  # base lines neither side deleted (sides may delete different copies)
        local_cell, remote_cell = (side.get(("base", index), Counter()) for side in sides)
        needed.update(counts - (counts - local_cell) - (counts - remote_cell))
    added: list[Counter[str]] = [Counter(), Counter()]
    for total, side in zip(added, sides):
        for key, counts in side.items():
            total.update(counts - (base_cells[key[1]] if key[0] == "base" else Counter()))
    needed.update({"local": added[0], "remote": added[1]}.get(prefer or "", added[0] | added[1]))
    have = Counter(line for cell in cells(merged) for line in source_of(cell).splitlines() if line.strip())
    return next((line for line, count in needed.items() if have[line] < count), "")


def _line_counts(cell: dict[str, Any]) -> Counter[str]:
    return Counter(line for line in source_of(cell).splitlines() if line.strip())


def _matched_to_base(base: list[dict[str, Any]], side: list[dict[str, Any]]) -> dict[tuple[str, Any], Counter[str]]:
    """A side's cells as line counts, keyed ("base", index) when they are a base cell, else ("new",
    source): a cell both sides added with the same source is one change.

    Cells are matched by id when every cell has a unique one, then by identical source (a cell cut
    and pasted, or given a new id by another tool, is still that cell); without ids, by content and
    position (`_CellMatcher`).
    """
    matched: dict[tuple[str, Any], Counter[str]] = {}
    if _unique_ids(base) and _unique_ids(side):
        where = {cell["id"]: index for index, cell in enumerate(base)}
        pairs = [(where.get(cell["id"]), cell) for cell in side]
        free: dict[str, list[int]] = {}
        for index in sorted(set(range(len(base))) - {index for index, _ in pairs if index is not None}):
            free.setdefault(source_of(base[index]), []).append(index)
        for index, cell in pairs:
            if index is None and free.get(source_of(cell)):
                index = free[source_of(cell)].pop(0)
            matched[("base", index) if index is not None else ("new", source_of(cell))] = _line_counts(cell)
        return matched
    matcher = _CellMatcher([source_of(c) for c in base], [source_of(c) for c in side])
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        for offset, j in enumerate(range(j1, j2)):
            index = i1 + offset if tag in ("equal", "replace") and i1 + offset < i2 else None
            matched[("base", index) if index is not None else ("new", source_of(side[j]))] = _line_counts(side[j])
    return matched


def _unique_ids(cell_list: list[dict[str, Any]]) -> bool:
    ids = [cell.get("id") for cell in cell_list]
    return all(isinstance(i, str) and i for i in ids) and len(set(ids)) == len(ids)
