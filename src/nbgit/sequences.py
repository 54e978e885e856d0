"""What two sequences share at their ends: the diffs and the merge look only between them."""

from __future__ import annotations

from collections.abc import Sequence


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
