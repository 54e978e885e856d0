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
import itertools
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
    where = _Where(mine)
    out: list[bytes] = []
    objects: list[tuple[str, bytes]] = []
    steps: list[bytes] = []  # the recipe's numbers
    gaps: list[bytes] = []  # the blob's bytes between (and after) the copies
    copied = 0  # where the last copy ends in the blob
    i = j = 0
    at = 0  # where mine[i] starts in `worktree`
    while i < len(mine):
        start = j
        equal = _equal_run(mine, i, theirs, j)
        i, j = i + equal, j + equal
        if equal:
            gaps.append(cleaned[copied : offsets[start]])
            length = offsets[j] - 1 - offsets[start]
            steps.append(b"%d %d %d" % (offsets[start] - copied, at, length))
            copied = offsets[j] - 1
            at += length + 1
            out.append(b"%s%s%d %d" % (MARK, COPY, offsets[start], length))
        if i == len(mine):
            break
        resume = _resume(theirs, where, i, j)
        stop = resume[0] if resume else len(mine)
        held = mine[i:stop]
        lengths = list(map(len, held))
        at += sum(lengths) + len(held)
        if held and max(lengths) >= LONG_LINE:
            held = [_named(line, objects) if len(line) >= LONG_LINE else line for line in held]
        out += held
        if resume is None:
            break
        i, j = resume
    gaps.append(cleaned[copied:])
    return Encoded(b"\n".join(out), objects, b"%s\n%s" % (b" ".join(steps), b"".join(gaps)))


def _equal_run(mine: list[bytes], i: int, theirs: list[bytes], j: int) -> int:
    """How many lines from `mine[i]` and `theirs[j]` on are equal: stretches twice as long each time are
    compared as lists (in C), then the one that differs is halved down to its first differing line."""
    limit = min(len(mine) - i, len(theirs) - j)
    same, step = 0, 8
    while same < limit:
        upto = min(same + step, limit)
        if mine[i + same : i + upto] != theirs[j + same : j + upto]:
            break
        same, step = upto, step * 2
    else:
        return limit
    while upto - same > 1:  # the lines before `same` are equal, and one from there to `upto` is not
        middle = (same + upto) // 2
        if mine[i + same : i + middle] == theirs[j + same : j + middle]:
            same = middle
        else:
            upto = middle
    return same


def _named(line: bytes, objects: list[tuple[str, bytes]]) -> bytes:
    """A long line as the skeleton holds it: a marker naming it, the line itself added to `objects`."""
    name = digest(line)
    objects.append((name, line))
    return MARK + OBJECT + name.encode("ascii")


def _offsets(lines: list[bytes]) -> list[int]:
    """Where each of `lines` starts in the bytes they were split from (and one past the end)."""
    return list(itertools.accumulate(map(_PLUS_ONE, map(len, lines)), initial=0))  # (in C: no Python per line)


_PLUS_ONE = (1).__add__
_SCAN = 256  # lines of the work tree walked for where copying resumes before all its lines are indexed
_NEAR = 32  # lines walked first once they are: most resumes are within a cell's few output lines


class _Where:
    """The work tree's lines, and where each occurs: indexed (a Python step per line) only once a
    search walks past `_SCAN` lines, which a notebook's outputs rarely span."""

    def __init__(self, lines: list[bytes]) -> None:
        self.lines = lines
        self._places: dict[bytes, list[int]] | None = None

    @property
    def indexed(self) -> bool:
        """Whether every line's places are indexed already (then looking them up costs less than a walk)."""
        return self._places is not None

    def places(self, line: bytes, start: int) -> list[int]:
        """The first `_TRIES` places of `line` from `start` on."""
        if self._places is None:
            self._places = {}
            for index, each in enumerate(self.lines):
                self._places.setdefault(each, []).append(index)
        places = self._places.get(line, [])
        first = bisect.bisect_left(places, start)
        return places[first : first + _TRIES]


def _resume(theirs: list[bytes], where: _Where, i: int, j: int) -> tuple[int, int] | None:
    """Where copying from the blob resumes: the nearest line of the work tree (from `i` on) from which
    `_AGREE` lines (or all that are left) equal the blob's from one of its next `_CHANGED` lines on;
    failing that, from one of the lines after those up to the `_FARTHER`th (cleaning dropped a long
    stretch and what follows it changed too: papermill's and Jupyter's timing metadata of a cell with
    outputs)."""
    return _nearest(theirs, where, i, range(j, min(j + _CHANGED, len(theirs)))) or _nearest(
        theirs, where, i, range(j + _CHANGED, min(j + _FARTHER, len(theirs))))


def _nearest(theirs: list[bytes], where: _Where, i: int, starts: range) -> tuple[int, int] | None:
    """The nearest line of the work tree (from `i` on) from which `_AGREE` lines equal the blob's from
    one of the lines `starts` on (the first of them on a tie), looking at the first `_TRIES` places
    of each one's first line only, with that line; None when there is none.

    The work tree is walked from `i` (the lines it holds there are mostly outputs, a few dozen);
    past `_SCAN` lines (`_NEAR` once the index is built: a walk that short costs less than looking up
    every start), the places are looked up in the index of all its lines. A walk finds the nearest
    line within its reach, and the index the nearest beyond: the same answer either way."""
    mine = where.lines
    starting: dict[bytes, list[int]] = {}
    for at in starts:
        starting.setdefault(theirs[at], []).append(at)
    tries = dict.fromkeys(starts, 0)
    end = min(i + (_NEAR if where.indexed else _SCAN), len(mine))
    for k in range(i, end):
        for at in starting.get(mine[k], ()):
            if tries[at] < _TRIES:
                tries[at] += 1
                want = theirs[at : at + _AGREE]
                if mine[k : k + len(want)] == want:
                    return k, at
    return None if end == len(mine) else _looked_up(theirs, where, i, starts)


def _looked_up(theirs: list[bytes], where: _Where, i: int, starts: range) -> tuple[int, int] | None:
    """`_nearest`, by the index of all the work tree's lines."""
    best: tuple[int, int] | None = None
    for at in starts:
        want = theirs[at : at + _AGREE]
        for k in where.places(theirs[at], i):
            if where.lines[k : k + len(want)] == want and (best is None or k < best[0]):
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
