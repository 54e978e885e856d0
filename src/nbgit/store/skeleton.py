"""A work-tree notebook as what it adds to the blob it cleans to: the skeleton a record keeps.

Jupyter and nbgit write the same layout, so a work-tree notebook and its cleaned blob share most of
their lines. The skeleton copies those from the blob (a line `NUL c OFFSET LENGTH`, in bytes), holds the lines
that cleaning removed or changed (outputs, execution counts, stripped metadata), and names each long
line (`NUL o DIGEST`: an image, a long HTML line) instead of holding it: the store keeps such a line
once, as an object, however many versions hold it. JSON text never holds a raw NUL, so a NUL always
starts a marker, and a marker always fills its line. A notebook in another layout (Colab's indent,
minified) shares few lines with its blob: its skeleton holds it nearly whole, which is only bigger.

Beside the skeleton, encoding gives its recipe, which works the other way: the blob as copies from
the work-tree bytes and the bytes no copy covers (`"outputs": []`, the newlines between copies), so
bytes cleaned before need no cleaning again (`cleaned_from`).
"""

from __future__ import annotations

import bisect
from typing import NamedTuple

from nbgit.store.disk import digest

MARK, COPY, OBJECT = b"\0", b"c", b"o"
LONG_LINE = 1024  # bytes: a line this long is an object of its own
_AGREE = 3  # lines both must have in common where copying from the blob resumes
_CHANGED = 4  # lines of the blob in a row that cleaning may have changed (`"outputs": [],` and the like)
_FARTHER = 16  # lines of the blob looked at when none of the first `_CHANGED` is found again
_TRIES = 8  # places a line occurs at that are checked before giving up on it


class Encoded(NamedTuple):
    """A work-tree notebook against its blob: its skeleton, the long lines the skeleton names, the recipe."""

    skeleton: bytes
    objects: list[tuple[str, bytes]]
    recipe: bytes  # `GAP START LENGTH ...` (the blob's next gap, then a copy from the work tree), a newline, the gaps


def encode(worktree: bytes, cleaned: bytes) -> Encoded:
    """The skeleton of `worktree` against `cleaned` (the blob it cleans to), the long lines it names,
    and the recipe of `cleaned` from `worktree`."""
    mine, theirs = worktree.split(b"\n"), cleaned.split(b"\n")
    offsets = _offsets(theirs)
    where: dict[bytes, list[int]] = {}
    for index, line in enumerate(mine):
        where.setdefault(line, []).append(index)
    out: list[bytes] = []
    objects: list[tuple[str, bytes]] = []
    steps: list[bytes] = []  # the recipe's numbers
    gaps: list[bytes] = []  # the blob's bytes between (and after) the copies
    copied = 0  # where the last copy ends in the blob
    i = j = 0
    at = 0  # where mine[i] starts in `worktree`
    while i < len(mine):
        start = j
        while i < len(mine) and j < len(theirs) and mine[i] == theirs[j]:
            i, j = i + 1, j + 1
        if j > start:
            gaps.append(cleaned[copied : offsets[start]])
            length = offsets[j] - 1 - offsets[start]
            steps.append(b"%d %d %d" % (offsets[start] - copied, at, length))
            copied = offsets[j] - 1
            at += length + 1
            out.append(b"%s%s%d %d" % (MARK, COPY, offsets[start], length))
        if i == len(mine):
            break
        resume = _resume(mine, theirs, where, i, j)
        stop = resume[0] if resume else len(mine)
        at += sum(map(len, mine[i:stop])) + stop - i
        for line in mine[i:stop]:
            if len(line) >= LONG_LINE:
                name = digest(line)
                objects.append((name, line))
                line = MARK + OBJECT + name.encode("ascii")
            out.append(line)
        if resume is None:
            break
        i, j = resume
    gaps.append(cleaned[copied:])
    return Encoded(b"\n".join(out), objects, b"%s\n%s" % (b" ".join(steps), b"".join(gaps)))


def _offsets(lines: list[bytes]) -> list[int]:
    """Where each of `lines` starts in the bytes they were split from (and one past the end)."""
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    return offsets


def _resume(mine: list[bytes], theirs: list[bytes], where: dict[bytes, list[int]], i: int, j: int) -> tuple[int, int] | None:
    """Where copying from the blob resumes: the nearest line of the work tree from which `_AGREE`
    lines (or all that are left) equal the blob's from one of its next `_CHANGED` lines on; failing
    that, from one of the lines after those up to the `_FARTHER`th (cleaning dropped a long stretch
    and what follows it changed too: papermill's and Jupyter's timing metadata of a cell with outputs)."""
    return _nearest(mine, theirs, where, i, range(j, min(j + _CHANGED, len(theirs)))) or _nearest(
        mine, theirs, where, i, range(j + _CHANGED, min(j + _FARTHER, len(theirs))))


def _nearest(mine: list[bytes], theirs: list[bytes], where: dict[bytes, list[int]], i: int, starts: range) -> tuple[int, int] | None:
    """The nearest line of the work tree (from `i` on) from which `_AGREE` lines equal the blob's from
    one of the lines `starts` on (the first of them on a tie), with that line; None when there is none."""
    best: tuple[int, int] | None = None
    for at in starts:
        want = theirs[at : at + _AGREE]
        places = where.get(theirs[at], [])
        first = bisect.bisect_left(places, i)
        for k in places[first : first + _TRIES]:  # a slice of _TRIES places: never the rest of a long list
            if mine[k : k + len(want)] == want and (best is None or k < best[0]):
                best = (k, at)
                break
    return best


Part = tuple[bytes, bytes, bytes]  # a marker's kind (COPY or OBJECT), its argument, and the text after it


def parse(skeleton: bytes) -> tuple[bytes, list[Part]]:
    """A skeleton's leading text and its markers, each with the text that follows it."""
    pieces = skeleton.split(MARK)
    parts = []
    for piece in pieces[1:]:
        marker, newline, rest = piece.partition(b"\n")
        parts.append((marker[:1], marker[1:], newline + rest))
    return pieces[0], parts


def references(parts: list[Part]) -> list[str]:
    """The names of the objects a skeleton holds in place of long lines, in order."""
    return [argument.decode("ascii", "replace") for kind, argument, _ in parts if kind == OBJECT]


def expand(lead: bytes, parts: list[Part], cleaned: bytes, objects: dict[str, bytes]) -> bytes:
    """The work-tree bytes a parsed skeleton stands for, given its blob and its objects; ValueError when
    it is malformed."""
    pieces = [lead]
    for kind, argument, rest in parts:
        if kind == OBJECT:
            pieces.append(objects[argument.decode("ascii", "replace")])
        else:
            offset, _, length = argument.partition(b" ")
            if kind != COPY or not (offset.isdigit() and length.isdigit()) or int(offset) + int(length) > len(cleaned):
                raise ValueError("a malformed copy from the blob")
            pieces.append(cleaned[int(offset) : int(offset) + int(length)])
        pieces.append(rest)
    return b"".join(pieces)


def cleaned_from(recipe: bytes, worktree: bytes) -> bytes:
    """The blob a recipe makes of the work-tree bytes it was encoded from; ValueError when it is malformed.

    The caller knows `worktree` is those bytes (by their digest) and checks the result's git id."""
    numbers, _, gaps = recipe.partition(b"\n")
    steps = [int(number) for number in numbers.split()]
    if len(steps) % 3 or min(steps, default=0) < 0:
        raise ValueError("a malformed recipe")
    pieces, used = [], 0
    for index in range(0, len(steps), 3):
        gap, start, length = steps[index : index + 3]
        pieces += gaps[used : used + gap], worktree[start : start + length]
        used += gap
    pieces.append(gaps[used:])
    return b"".join(pieces)
