"""Repair of notebooks broken by git's textual conflict markers (a merge made without nbgit's driver).

The marked text is split back into its sides (local, remote, and base when the markers carry
diff3-style `|||||||` sections), each side is parsed as a notebook, and the sides are merged cell by
cell by `nbgit.merge`, so what remains in conflict is marked inside cells of a valid notebook.
During a conflicted merge git's index holds the real sides (stages 1-3): those are preferred.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace

from nbgit.errors import NbgitError
from nbgit.merge import (
    CELL_BY_CELL,
    IN_PLACE,
    Markers,
    MergeResult,
    lines_outside_conflicts,
    merge_notebooks,
    read_side,
)
from nbgit.notebook import (
    Notebook,
    cells,
    has_conflict_markers,
    parse,
    serialise,
    source_of,
)
from nbgit.policy import Policy
from nbgit.terminal import shell_word

_OPEN = re.compile(rb"^(<{7,})(?: .*)?\r?\n?$")


@dataclass(frozen=True)
class Sides:
    """The versions a conflicted file was merged from; `base` is None when nothing recorded it."""

    local: bytes
    remote: bytes
    base: bytes | None
    origin: str  # "git's index" or "conflict markers"


def split_markers(data: bytes, path: str) -> Sides:
    """Split git's conflict-marked text into its sides; raises NbgitError when the markers are malformed."""
    local: list[bytes] = []
    remote: list[bytes] = []
    base: list[bytes] = []
    with_base, seen_base = True, False
    state, size, blocks = "both", 0, 0
    for number, line in enumerate(data.splitlines(keepends=True), 1):
        if state == "both":
            opened = _OPEN.match(line)
            if opened:
                state, size, blocks, seen_base = "local", len(opened.group(1)), blocks + 1, False
                continue
            local.append(line)
            remote.append(line)
            base.append(line)
        elif state == "local" and _is_marker(line, b"|", size):
            state, seen_base = "base", True
        elif state in ("local", "base") and _is_marker(line, b"=", size, label=False):
            with_base = with_base and seen_base
            state = "remote"
        elif state == "remote" and _is_marker(line, b">", size):
            state = "both"
        elif state == "local":
            local.append(line)
        elif state == "base":
            base.append(line)
        else:
            remote.append(line)
    if state != "both":
        raise NbgitError(f"{path}: a conflict opened by `{'<' * size}` is never closed", "fix the markers by hand, or take one side: `git checkout --ours|--theirs`")
    if not blocks:
        raise NbgitError(f"{path}: no git conflict markers found", "nothing to repair")
    return Sides(b"".join(local), b"".join(remote), b"".join(base) if with_base else None, "conflict markers")


def _is_marker(line: bytes, char: bytes, size: int, label: bool = True) -> bool:
    body = line.rstrip(b"\r\n")
    if not body.startswith(char * size) or body[size : size + 1] == char:
        return False
    rest = body[size:]
    return not rest or (label and rest.startswith(b" "))


def find_sides(data: bytes, path: str, stages: dict[int, bytes]) -> Sides:
    """The sides of a conflicted notebook: git's index stages when it has them, else its markers."""
    if 2 in stages and 3 in stages:
        return Sides(stages[2], stages[3], stages.get(1), "git's index")
    if has_conflict_markers(data):
        return split_markers(data, path)
    raise NbgitError(f"{path}: not in conflict and without git conflict markers", "nothing to repair")


def repair(sides: Sides, path: str, policy: Policy, take: str | None = None, marker_size: int = 7, prefer: str | None = None) -> MergeResult:
    """A valid notebook from the sides: one side whole (`take`), or merged cell by cell, with every
    conflict settled `prefer`'s way when one is given (see `merge_notebooks`)."""
    chosen = {"local": sides.local, "remote": sides.remote, "base": sides.base}
    if take is not None:
        data = chosen[take]
        if data is None:
            raise NbgitError(f"{path}: no base version is recorded", "the markers have no `|||||||` base sections; take local or remote")
        notebook = _readable(data, path, f"{take} side, from {sides.origin}", policy)
        return MergeResult(serialise(notebook), [], f"took {take}")
    marked = _merged(sides, path, policy, marker_size)
    if prefer is None or not marked.conflicts:
        return marked
    if marked.how not in (CELL_BY_CELL, IN_PLACE):  # (both sides kept whole, or merged as text: nothing tells their conflicts apart)
        return replace(marked, notes=[*marked.notes, f"the conflicts were not settled {prefer}'s way (the merge could not tell them apart); they are marked instead"])
    return _settled(marked, _merged(sides, path, policy, marker_size, prefer), prefer, marker_size)


def _settled(marked: MergeResult, preferred: MergeResult, prefer: str, marker_size: int) -> MergeResult:
    """The merge with its conflicts settled `prefer`'s way (`preferred`), when it holds every source
    line the merge that marks them (`marked`) kept outside its conflicts; else `marked`, saying why."""
    if preferred.conflicts or preferred.notes:
        reason = preferred.notes[0] if preferred.notes else "some could not be"
        return replace(marked, notes=[*marked.notes, f"the conflicts were not settled {prefer}'s way ({reason}); they are marked instead"])
    kept = lines_outside_conflicts(parse(marked.data).content, marker_size)
    have = Counter(line for cell in cells(parse(preferred.data).content) for line in source_of(cell).splitlines())
    lost = next((line for line, count in kept.items() if have[line] < count), None)
    if lost is not None:
        return replace(marked, notes=[*marked.notes, f"settling the conflicts {prefer}'s way would drop {lost!r}, which merged without conflict; they are marked instead"])
    return replace(preferred, how=f"{marked.how}, conflicts settled {prefer}'s way", settled=marked.conflicts)


def _merged(sides: Sides, path: str, policy: Policy, marker_size: int, prefer: str | None = None) -> MergeResult:
    """The sides merged cell by cell (each read afresh: a merge settles their outputs in place)."""
    local = _readable(sides.local, path, f"local side, from {sides.origin}", policy)
    remote = _readable(sides.remote, path, f"remote side, from {sides.origin}", policy)
    base = None
    if sides.base is not None and sides.base.strip():
        try:
            base = read_side(sides.base, path, policy)
        except NbgitError:
            base = None  # a broken base only costs precision: the sides are merged as if added on both
    return merge_notebooks(base, local, remote, policy, Markers(marker_size), prefer)


def _readable(data: bytes, path: str, side: str, policy: Policy) -> Notebook:
    try:
        return read_side(data, f"{path} ({side})", policy)
    except NbgitError as error:
        raise NbgitError(
            f"cannot rebuild {error.message}",
            f"fix that side by hand, or take the other one: `nbgit resolve {shell_word(path)} --take local|remote`",
        ) from None
