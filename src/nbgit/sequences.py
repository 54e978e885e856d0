"""What two sequences share at their ends: the diffs and the merge look only between them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence

# how many pairs of equal characters (or lines) difflib may visit, one to three seconds of work: it visits
# every equal pair. Judging the similarity of the cells of one notebook: past it, sources compare by
# lines, then count as unlike (thirty rewritten cells of 1.3 KB in a notebook without ids took 50 s).
# Diffing two lists of lines: past it, the lines between the common start and end are shown removed
# and added (a 60,000-line cell of 150 distinct lines took 32 s).
MAX_MATCH_WORK = 2_000_000


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


def match_work(a: Sequence[Hashable], b: Sequence[Hashable], autojunk: bool) -> int:
    """How many pairs of equal items difflib's SequenceMatcher visits in `a` and `b` (its time grows with
    it); with `autojunk`, as difflib does, the items making up more than 1% of a long `b` are left out."""
    counts = Counter(b)
    if autojunk and len(b) >= 200:
        counts = Counter({item: n for item, n in counts.items() if n <= 1 + len(b) // 100})
    return sum(n * counts[item] for item, n in Counter(a).items())


def replaced(old: list[str], new: list[str]) -> list[str]:
    """One hunk, as difflib writes it with two lines of context: the lines between the common start and
    end removed, then the new ones added."""
    head, tail = common_ends(old, new)
    start = max(head - 2, 0)
    before, after = old[start:head], old[len(old) - tail : len(old) - tail + 2]
    removed, added = old[head : len(old) - tail], new[head : len(new) - tail]

    def span(length: int) -> str:
        return str(start + 1) if length == 1 else f"{start + 1 if length else start},{length}"

    hunk = f"@@ -{span(len(before) + len(removed) + len(after))} +{span(len(before) + len(added) + len(after))} @@"
    return [hunk, *(f" {line}" for line in before), *(f"-{line}" for line in removed), *(f"+{line}" for line in added), *(f" {line}" for line in after)]

