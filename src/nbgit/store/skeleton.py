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

from typing import NamedTuple

from nbgit.store.disk import digest

MARK, COPY, OBJECT = b"\0", b"c", b"o"
LONG_LINE = 1024  # bytes: a line this long is an object of its own
_AGREE = 3  # lines both must have in common where copying from the blob resumes
_CHANGED = 4  # lines of the blob in a row that cleaning may have changed (`"outputs": [],` and the like)
_FARTHER = 16  # lines of the blob looked at when none of the first `_CHANGED` is found again


class Encoded(NamedTuple):
    """A work-tree notebook against its blob: its skeleton, the long lines the skeleton names, the recipe."""

    skeleton: bytes
    objects: list[tuple[str, bytes]]
    recipe: bytes  # `GAP START LENGTH ...` (the blob's next gap, then a copy from the work tree), a newline, the gaps


def encode(worktree: bytes, cleaned: bytes) -> Encoded:
    """The skeleton of `worktree` against `cleaned` (the blob it cleans to), the long lines it names,
    and the recipe of `cleaned` from `worktree`.

    Both are walked as bytes, each with a newline put before and after it, so that every line lies
    between two newlines: a line is reached by the place of the newline before it (in the padded
    bytes, which is where the line starts in the bytes themselves). Runs of equal lines are found by
    comparing bytes, and where copying resumes by searching for the blob's next lines in the work
    tree: both in C, without splitting either into lines.
    """
    mine, theirs = b"\n%s\n" % worktree, b"\n%s\n" % cleaned
    mine_end = len(mine) - 1  # the place of the newline after the work tree's last line
    out: list[bytes] = []
    objects: list[tuple[str, bytes]] = []
    steps: list[bytes] = []  # the recipe's numbers
    gaps: list[bytes] = []  # the blob's bytes between (and after) the copies
    copied = 0  # where the last copy ends in the blob
    at = there = 0  # the places of the work tree's next line and of the blob's
    while at < mine_end:
        equal = _equal_run(mine, at, theirs, there)
        if equal:
            gaps.append(cleaned[copied:there])
            steps.append(b"%d %d %d" % (there - copied, at, equal - 1))
            out.append(b"%s%s%d %d" % (MARK, COPY, there, equal - 1))
            at, there = at + equal, there + equal
            copied = there - 1
        if at == mine_end:
            break
        resume = _resume(mine, theirs, at, there)
        stop = resume[0] if resume else mine_end
        if stop > at:
            out.append(_held(mine[at + 1 : stop], objects))
        if resume is None:
            break
        at, there = resume
    gaps.append(cleaned[copied:])
    return Encoded(b"\n".join(out), objects, b"%s\n%s" % (b" ".join(steps), b"".join(gaps)))


def _equal_run(mine: bytes, at: int, theirs: bytes, there: int) -> int:
    """How many bytes of equal lines follow the places `at` and `there` (both newlines), up to the newline
    after the last of them (0 when their first lines differ)."""
    return mine.rfind(b"\n", at, at + _common(mine, at, theirs, there)) - at


def _common(mine: bytes, at: int, theirs: bytes, there: int) -> int:
    """How many bytes from `at` and `there` on are equal: stretches twice as long each time are compared
    (in C), then the one that differs is halved down to a few dozen bytes, whose first difference is the
    highest bit of the two read as numbers and xor-ed."""
    limit = min(len(mine) - at, len(theirs) - there)
    same, step = 0, 256
    while same < limit:
        upto = min(same + step, limit)
        if not mine.startswith(theirs[there + same : there + upto], at + same):  # (one of the two copied, not both)
            break
        same, step = upto, step * 2
    else:
        return limit
    while upto - same > 64:  # the bytes before `same` are equal, and one from there to `upto` is not
        middle = (same + upto) // 2
        if mine.startswith(theirs[there + same : there + middle], at + same):
            same = middle
        else:
            upto = middle
    differ = int.from_bytes(mine[at + same : at + upto], "big") ^ int.from_bytes(theirs[there + same : there + upto], "big")
    return upto - (differ.bit_length() + 7) // 8


def _held(text: bytes, objects: list[tuple[str, bytes]]) -> bytes:
    """Lines of the work tree as the skeleton holds them: each long one named (added to `objects`)."""
    if len(text) < LONG_LINE:
        return text
    lines = text.split(b"\n")
    if max(map(len, lines)) < LONG_LINE:
        return text
    return b"\n".join([_named(line, objects) if len(line) >= LONG_LINE else line for line in lines])


def _named(line: bytes, objects: list[tuple[str, bytes]]) -> bytes:
    """A long line as the skeleton holds it: a marker naming it, the line itself added to `objects`."""
    name = digest(line)
    objects.append((name, line))
    return MARK + OBJECT + name.encode("ascii")


_WINDOW = 1024  # bytes of the work tree searched first for where copying resumes, doubled each time it is not there


def _resume(mine: bytes, theirs: bytes, at: int, there: int) -> tuple[int, int] | None:
    """Where copying from the blob resumes (the places of the two lines): the nearest line of the work tree
    (from `at` on) from which `_AGREE` lines (or all that are left) equal the blob's from one of its next
    `_CHANGED` lines on; failing that, from one of the lines after those up to the `_FARTHER`th (cleaning
    dropped a long stretch and what follows it changed too: papermill's and Jupyter's timing metadata
    of a cell with outputs); None when neither is anywhere.

    The work tree is searched in stretches that double (`_WINDOW` bytes first), each for the nearer
    lines, then the farther ones: a resume a few lines on (most are: a cell's outputs) costs a few
    short searches, and a search costs at most a few times the bytes it passes, not the whole rest of
    the work tree for each of the blob's lines (a notebook whose every cell lost lines that are
    nowhere in it: papermill's, megabytes long)."""
    near = _runs(theirs, _places(theirs, there, _CHANGED + _AGREE), 0, _CHANGED)
    farther: list[tuple[int, bytes]] | None = None
    size = _WINDOW
    while True:
        stop = at + size
        found = _nearest(mine, at, stop, near)
        if found is None:
            if farther is None:
                farther = _runs(theirs, _places(theirs, there, _FARTHER + _AGREE), _CHANGED, _FARTHER)
            found = _nearest(mine, at, stop, farther)
        if found is not None or stop >= len(mine):
            return found
        at, size = stop, size * 2  # (every run starting before `stop` was searched for whole: none is there)


def _places(theirs: bytes, there: int, count: int) -> list[int]:
    """The places of the blob's next `count` lines from `there` on, and of the newline after its last one
    when there are fewer."""
    places = [there]
    while there < len(theirs) - 1 and len(places) < count:
        there = theirs.index(b"\n", there + 1)
        places.append(there)
    return places


def _runs(theirs: bytes, places: list[int], first: int, last: int) -> list[tuple[int, bytes]]:
    """The blob's lines from `places[first:last]` on, `_AGREE` of them (or all it has left) between their
    newlines, each with its place (`places` ends with the newline after the blob's last line, when it
    holds fewer lines than asked for)."""
    end = len(places) - 1
    return [(places[start], theirs[places[start] : places[min(start + _AGREE, end)] + 1]) for start in range(first, min(last, end))]


def _nearest(mine: bytes, at: int, stop: int, runs: list[tuple[int, bytes]]) -> tuple[int, int] | None:
    """The nearest place of the work tree from `at` on, before `stop`, where one of `runs` is (the first of
    them on a tie), with that run's place in the blob; None when there is none."""
    best = found = -1
    for place, run in runs:
        where = mine.find(run, at, (stop if best < 0 else best) + len(run) - 1)
        if where >= 0:
            best, found = where, place  # (nearer than any before it: the search stopped short of those)
    return (best, found) if found >= 0 else None


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
