"""Repair of notebooks broken by git's textual conflict markers (a merge made without nbgit's driver).

The marked text is split back into its sides (local, remote, and base when the markers carry
diff3-style `|||||||` sections), each side is parsed as a notebook, and the sides are merged cell by
cell by `nbgit.merge`, so what remains in conflict is marked inside cells of a valid notebook.
During a conflicted merge git's index holds the real sides (stages 1-3): those are preferred.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nbgit.errors import NbgitError
from nbgit.merge import Markers, MergeResult, merge_notebooks, read_side
from nbgit.notebook import Notebook, has_conflict_markers, serialise
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


def repair(sides: Sides, path: str, policy: Policy, take: str | None = None, marker_size: int = 7) -> MergeResult:
    """A valid notebook from the sides: one side whole (`take`), or merged cell by cell."""
    chosen = {"local": sides.local, "remote": sides.remote, "base": sides.base}
    if take is not None:
        data = chosen[take]
        if data is None:
            raise NbgitError(f"{path}: no base version is recorded", "the markers have no `|||||||` base sections; take local or remote")
        notebook = _readable(data, path, f"{take} side, from {sides.origin}", policy)
        return MergeResult(serialise(notebook), [], f"took {take}")
    local = _readable(sides.local, path, f"local side, from {sides.origin}", policy)
    remote = _readable(sides.remote, path, f"remote side, from {sides.origin}", policy)
    base = None
    if sides.base is not None and sides.base.strip():
        try:
            base = read_side(sides.base, path, policy)
        except NbgitError:
            base = None  # a broken base only costs precision: the sides are merged as if added on both
    return merge_notebooks(base, local, remote, policy, Markers(marker_size))


def _readable(data: bytes, path: str, side: str, policy: Policy) -> Notebook:
    try:
        return read_side(data, f"{path} ({side})", policy)
    except NbgitError as error:
        raise NbgitError(
            f"cannot rebuild {error.message}",
            f"fix that side by hand, or take the other one: `nbgit resolve {shell_word(path)} --take local|remote`",
        ) from None
