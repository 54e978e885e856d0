"""What two sequences share at their ends, and difflib's matching of them within a budget of work: the
diffs and the merge look only between the ends, and never let difflib run for minutes on what a
stranger's repository holds."""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Hashable, Sequence

# how many steps difflib's matching may take for one diff (or one notebook's similarity judgements): about
# a second of work, two or three at most (2 to 14 million steps a second here). A step is an item of `a` looked up
# or a position of that item in `b` visited, and difflib looks a stretch's items up again for every match
# it finds there: 50,000 distinct lines with every seventh changed took it 80 s, 15,000 lines of 150 distinct
# ones against the same interleaved with others minutes, 700 cells of one source against 350 of it
# interleaved with others 5 s. Past it, callers fall back: a diff shows the lines between the common start
# and end removed and added (`replaced`), a similarity counts as unlike, the merge asks git's diff.
MAX_MATCH_WORK = 5_000_000


class TooMuchWork(Exception):
    """difflib's matching would go past its budget of work (`MAX_MATCH_WORK`)."""


class WorkBudget:
    """Steps of difflib's matching left, shared by the matchers given it (one notebook's judgements)."""

    def __init__(self, steps: int = MAX_MATCH_WORK) -> None:
        self.left = steps

    def spend(self, steps: int) -> None:
        """Take `steps` from what is left, or raise TooMuchWork (leaving it) when fewer are left."""
        if steps > self.left:
            raise TooMuchWork
        self.left -= steps


class BoundedMatcher(difflib.SequenceMatcher):  # type: ignore[type-arg]
    """difflib's SequenceMatcher (no junk function) that raises TooMuchWork instead of running past its
    budget: each search for a longest match is charged, before it runs, for the items of `a` it looks up and
    every position of theirs in `b` (more than it visits, never less), so a refused search costs nothing."""

    def __init__(self, a: Sequence[Hashable], b: Sequence[Hashable], autojunk: bool, budget: WorkBudget | None = None) -> None:
        self.budget = budget or WorkBudget()
        self._visits: list[int] | None = None
        super().__init__(None, a, b, autojunk)

    def find_longest_match(self, alo: int = 0, ahi: int | None = None, blo: int = 0, bhi: int | None = None) -> difflib.Match:
        """difflib's search, paid for first out of the budget."""
        ahi = len(self.a) if ahi is None else ahi
        if self._visits is None:  # visits[i]: positions in `b` of a[:i]'s items (popular ones left out, as difflib does)
            self._visits = list(itertools.accumulate((len(self.b2j.get(item, ())) for item in self.a), initial=0))
        self.budget.spend(ahi - alo + self._visits[ahi] - self._visits[alo])
        return super().find_longest_match(alo, ahi, blo, bhi)


def common_ends(a: Sequence[object], b: Sequence[object]) -> tuple[int, int]:
    """How many items `a` and `b` share at their start, and then at their end (never overlapping the start)."""
    shorter = min(len(a), len(b))
    head = 0
    while head < shorter and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < shorter - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    return head, tail


def unified_diff(
    old: list[str], new: list[str], fromfile: str = "", tofile: str = "", n: int = 3, lineterm: str = "\n", budget: WorkBudget | None = None
) -> list[str]:
    """difflib's unified diff of two lists of lines; when difflib would go past its budget (`MAX_MATCH_WORK`,
    or what is left of one shared by several diffs), the same headers and one hunk replacing all that lies
    between the common start and end (`replaced`)."""
    if old == new:
        return []
    try:
        BoundedMatcher(old, new, autojunk=True, budget=budget).get_matching_blocks()  # what difflib.unified_diff does first
    except TooMuchWork:
        return [f"--- {fromfile}{lineterm}", f"+++ {tofile}{lineterm}", *replaced(old, new, n, lineterm)]
    return list(difflib.unified_diff(old, new, fromfile, tofile, n=n, lineterm=lineterm))


def replaced(old: list[str], new: list[str], context: int = 2, lineterm: str = "") -> list[str]:
    """One hunk, as difflib writes it with `context` lines of context (its header ended by `lineterm`):
    the lines between the common start and end removed, then the new ones added."""
    head, tail = common_ends(old, new)
    start = max(head - context, 0)
    before, after = old[start:head], old[len(old) - tail : len(old) - tail + context]
    removed, added = old[head : len(old) - tail], new[head : len(new) - tail]

    def span(length: int) -> str:
        return str(start + 1) if length == 1 else f"{start + 1 if length else start},{length}"

    hunk = f"@@ -{span(len(before) + len(removed) + len(after))} +{span(len(before) + len(added) + len(after))} @@{lineterm}"
    return [hunk, *(f" {line}" for line in before), *(f"-{line}" for line in removed), *(f"+{line}" for line in added), *(f" {line}" for line in after)]

