"""A work-tree notebook against its blob (`nbgit.store.skeleton`): the skeleton gives back the work
tree, the recipe gives back the blob, byte for byte, whatever the two hold.

The encoder walks both as bytes and searches for where they agree again, so the tests aim at what
such a walk gets wrong: lines that are prefixes of others, empty lines, a last line with or without
its newline, long lines, repeated lines, and stretches cleaning drops that are longer than the
first lines it looks at (papermill's metadata of every cell).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import corpus_files, corpus_id
from nbgit.clean import clean_bytes
from nbgit.policy import Policy
from nbgit.store.disk import digest
from nbgit.store.skeleton import LONG_LINE, cleaned_from, encode, expand, parse


def round_trip(worktree: bytes, cleaned: bytes) -> bytes:
    """The skeleton of `worktree` against `cleaned`, once both directions give back their bytes."""
    encoded = encode(worktree, cleaned)
    lead, parts = parse(encoded.skeleton)
    objects = dict(encoded.objects)
    assert expand(lead, parts, cleaned, objects) == worktree
    assert cleaned_from(encoded.recipe, worktree) == cleaned
    assert all(len(line) >= LONG_LINE and name == digest(line) for name, line in encoded.objects)
    return encoded.skeleton


def copied(worktree: bytes, cleaned: bytes) -> int:
    """How many of the blob's bytes the recipe takes from the work tree (the rest it holds itself)."""
    numbers = [int(n) for n in encode(worktree, cleaned).recipe.partition(b"\n")[0].split()]
    return sum(numbers[2::3])


POLICIES = {
    "default": Policy(),
    "keeping outputs": Policy(outputs="keep"),
    "keeping counts": Policy(execution_count="keep"),
}


@pytest.mark.parametrize("path", corpus_files("dev"), ids=corpus_id)
def test_every_corpus_notebook_round_trips_against_its_blob(path: Path) -> None:
    worktree = path.read_bytes()
    for policy in POLICIES.values():
        try:
            cleaned = clean_bytes(worktree, path.name, policy)
        except Exception:  # noqa: BLE001 - what cannot be cleaned is never recorded
            return
        round_trip(worktree, cleaned)
        round_trip(cleaned, worktree)  # the other way round: lines added rather than dropped


def test_a_long_stretch_dropped_from_every_cell_still_shares_the_rest() -> None:
    """papermill writes 7 lines of metadata in every cell, Jupyter 6 of timing: cleaning drops them
    and the outputs, so that none of the blob's next few lines is found again right after them. The
    blob's lines after those are still copied from the work tree, not held again (before, everything
    after the first such cell was)."""
    cells = []
    for n in range(40):
        timing = {"iopub.execute_input": f"2020-11-16T07:00:{n:02d}Z", "shell.execute_reply": "x"}
        papermill = {"duration": n / 7, "end_time": "2020", "exception": False, "start_time": "2020", "status": "completed"}
        cells.append({"cell_type": "code", "execution_count": n + 1, "metadata": {"_kg_hide-input": True, "execution": timing,
                      "papermill": papermill, "tags": []}, "outputs": [{"name": "stdout", "output_type": "stream", "text": [f"{n}\n"]}],
                      "source": [f"x = {n}\n", "print(x)"]})
    notebook = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 4}
    worktree = (json.dumps(notebook, indent=1, sort_keys=True) + "\n").encode()
    cleaned = clean_bytes(worktree, "a.ipynb", Policy())
    assert b"papermill" not in cleaned and len(cleaned) < len(worktree) / 2
    skeleton = round_trip(worktree, cleaned)
    assert copied(worktree, cleaned) > 0.4 * len(cleaned)  # the sources and cell headers: all but the lines around the dropped ones
    assert b"print(x)" not in skeleton  # the sources are copied from the blob, not held again


LINES = st.lists(
    st.sampled_from([b"", b"a", b"a,", b"ab", b" ]", b" ],", b"\r", b"x" * LONG_LINE, b"y" * (LONG_LINE - 1), b"\xe2\x80\xa8"])
    | st.binary(max_size=6).map(lambda raw: raw.replace(b"\n", b"").replace(b"\0", b"")),  # JSON text holds no raw NUL
    max_size=40,
)


@st.composite
def worktree_and_blob(draw: st.DrawFn) -> tuple[bytes, bytes]:
    """Lines, and a blob made of them by dropping, changing and adding lines (or unrelated lines)."""
    lines = draw(LINES)
    if draw(st.booleans()):
        blob = draw(LINES)
    else:
        blob = []
        for line in lines:
            action = draw(st.sampled_from(["keep", "keep", "keep", "drop", "change", "add"]))
            if action != "drop":
                blob.append(draw(LINES.map(lambda new: b"".join(new)[:8])) if action == "change" else line)
            if action == "add":
                blob.append(draw(st.sampled_from([b"", b"a", b" ],", b"new"])))
    ends = draw(st.sampled_from([(b"", b""), (b"\n", b"\n"), (b"\n", b""), (b"", b"\n")]))
    return b"\n".join(lines) + ends[0], b"\n".join(blob) + ends[1]


@settings(max_examples=600, deadline=None)
@given(worktree_and_blob())
def test_any_two_texts_round_trip(pair: tuple[bytes, bytes]) -> None:
    worktree, cleaned = pair
    round_trip(worktree, cleaned)
    round_trip(cleaned, worktree)


@settings(max_examples=200, deadline=None)
@given(LINES, st.integers(min_value=0, max_value=39), st.integers(min_value=1, max_value=30))
def test_a_dropped_stretch_leaves_the_lines_around_it_copied(lines: list[bytes], start: int, length: int) -> None:
    """Lines dropped from among distinct lines, however many: the lines after them are copied again."""
    distinct = [b"%d %s" % (number, line) for number, line in enumerate(lines)] + [b"tail 1", b"tail 2", b"tail 3"]
    kept = distinct[:start] + distinct[start + length :]
    worktree, cleaned = b"\n".join(distinct) + b"\n", b"\n".join(kept) + b"\n"
    round_trip(worktree, cleaned)
    assert copied(worktree, cleaned) >= len(cleaned) - 2  # all of it but the newline between the two copies


@pytest.mark.parametrize("dropped", [10, 50, 51, 52, 255, 256, 257, 2000])
def test_a_stretch_longer_than_the_first_search_still_leaves_the_lines_after_it_copied(dropped: int) -> None:
    """The encoder searches the first kilobyte of the work tree (about 50 of these lines) for where copying
    resumes, then stretches twice as long each time: an output of thousands of lines, dropped, is no
    different, also where a search ends inside a line."""
    head, tail = [b"head %d" % n for n in range(10)], [b"tail %d" % n for n in range(10)]
    output = [b"     \"line %d\\n\"," % n for n in range(dropped)]
    worktree, cleaned = b"\n".join(head + output + tail) + b"\n", b"\n".join(head + tail) + b"\n"
    round_trip(worktree, cleaned)
    assert copied(worktree, cleaned) >= len(cleaned) - 2
    twice = b"\n".join(head + output + tail + output + tail) + b"\n"  # and once indexed, the index serves every later search
    round_trip(twice, b"\n".join(head + tail + tail) + b"\n")
    assert copied(twice, b"\n".join(head + tail + tail) + b"\n") >= len(b"\n".join(head + tail + tail)) - 3


@pytest.mark.parametrize("dropped", [5, 31, 32, 33, 100, 300])
def test_after_a_long_stretch_shorter_and_longer_ones_leave_every_line_after_them_copied(dropped: int) -> None:
    """After a long output, dropped, stretches shorter and longer than the first search (a kilobyte),
    dropped, leave every line after them copied: each search starts where copying stopped."""
    head = [b"head %d" % n for n in range(10)]
    first = [b"     \"first %d\\n\"," % n for n in range(300)]
    work, clean = head + first, list(head)
    for cell in range(5):
        tail = [b"cell %d line %d" % (cell, n) for n in range(10)]
        work += tail + [b"     \"out %d %d\\n\"," % (cell, n) for n in range(dropped)]
        clean += tail
    worktree, cleaned = b"\n".join(work + [b"end"]) + b"\n", b"\n".join(clean + [b"end"]) + b"\n"
    round_trip(worktree, cleaned)
    assert copied(worktree, cleaned) >= len(cleaned) - 7  # all of it but the newlines between the six copies


def test_copying_resumes_at_the_nearest_lines_the_two_share_before_ones_far_away() -> None:
    """Where the blob's next lines are in the work tree only far away (after an output of a hundred lines)
    while lines a little farther on in the blob follow right after, copying resumes there: the lines
    between are copied, not held (before, the far ones won, and everything up to them was held)."""
    near, farther = [b"near %d" % n for n in range(4)], [b"farther %d" % n for n in range(8)]
    output = [b"     \"line %d\\n\"," % n for n in range(100)]
    worktree = b"\n".join([b"head", b"dropped", *farther, *output, *near[:3]]) + b"\n"
    cleaned = b"\n".join([b"head", *near, *farther]) + b"\n"
    skeleton = round_trip(worktree, cleaned)
    assert b"farther" not in skeleton  # copied from the blob
    assert copied(worktree, cleaned) >= len(b"\n".join(farther))
