"""The clean filter's route: lists of lines kept as read where nbformat would split them so, written
byte for byte as when every text is joined on reading and split again on writing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import corpus_files, corpus_id, rerunnable
from nbgit import notebook as notebook_module
from nbgit.clean import clean, clean_bytes
from nbgit.notebook import NotebookError, parse, serialise
from nbgit.policy import Policy, policy_from_table
from test_clean import NOTEBOOKS, POLICIES, generated_policies, readable

# every policy the clean tests use, and the ones that keep some outputs by their size, type or tag
ROUTE_POLICIES = {
    **POLICIES,
    "max-size": policy_from_table({"max_output_size": 200}, "test"),
    "output-types": policy_from_table({"keep_output_types": ["stream:stdout", "execute_result"], "drop_empty_cells": True}, "test"),
    "tagged": policy_from_table({"keep_output_tags": ["keep_output", "hide-input"], "drop_tagged_cells": ["remove-cell"]}, "test"),
}
# what str.splitlines breaks lines at: nbformat splits text with it
LINE_BREAKS = ["\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


def joined_route(data: bytes, policy: Policy) -> bytes:
    """`clean_bytes` as it was before lines were kept: every text joined on reading, split on writing."""
    notebook = parse(data)
    return serialise(notebook._replace(content=clean(notebook.content, notebook.major, policy).content))


def expected_reading(stored: Any) -> Any:
    """What `parse(keep_lines=True)` makes of a cell's text as stored: the list itself when it is exactly
    nbformat's split of its join, else joined when it holds strings only, else as it is."""
    if isinstance(stored, list) and all(isinstance(line, str) for line in stored):
        joined = "".join(stored)
        return stored if joined.splitlines(True) == stored else joined
    return stored


@pytest.mark.parametrize("path", NOTEBOOKS, ids=corpus_id)
def test_lines_kept_as_read_give_the_bytes_of_lines_joined_and_split(path: Path) -> None:
    joined = readable(path)
    if joined is None:
        pytest.skip("not a readable notebook (covered by the bad input tests)")
    data = path.read_bytes()
    kept = parse(data, str(path), keep_lines=True)
    for name, policy in ROUTE_POLICIES.items():
        assert clean_bytes(data, str(path), policy) == joined_route(data, policy), name
        # cleaning judges text the same in either form (empty cells, sizes, non-ASCII sources)
        assert clean(kept.content, kept.major, policy).changes == clean(joined.content, joined.major, policy).changes, name


@pytest.mark.corpus
def test_most_notebooks_jupyter_wrote_keep_every_line_as_read() -> None:
    read = [parse(p.read_bytes(), str(p), keep_lines=True) for p in corpus_files("dev") if readable(p) is not None]
    v4 = [notebook for notebook in read if notebook.major == 4]
    assert sum(notebook.split for notebook in v4) >= 0.9 * len(v4) > 150


@pytest.mark.corpus
def test_the_filter_splits_nothing_again_for_a_notebook_jupyter_wrote(monkeypatch: pytest.MonkeyPatch) -> None:
    def split_again(part: dict[str, Any]) -> dict[str, Any]:
        raise AssertionError("lines joined on reading and split again on writing")

    paths = rerunnable(3)
    assert paths, "no notebook with outputs in the corpus"
    for path in paths:
        data = path.read_bytes()
        expected = joined_route(data, Policy())
        with monkeypatch.context() as patched:
            patched.setattr(notebook_module, "_split_v4", split_again)  # the whole notebook
            patched.setattr(notebook_module, "_split_v4_cell", split_again)  # or a cell
            assert clean_bytes(data, str(path), Policy()) == expected
        assert b'"outputs": []' in expected and expected != data  # outputs stripped: a real cleaning


def one_cell_notebook(source: Any, stream: Any, html: Any, attachment: Any, tags: tuple[str, ...] = ()) -> dict[str, Any]:
    """A markdown and a code cell whose texts are stored as given (a string, or a list split any way)."""
    outputs = [
        {"output_type": "stream", "name": "stdout", "text": stream},
        {"output_type": "execute_result", "execution_count": 1, "metadata": {}, "data": {"text/html": html, "text/plain": stream, "application/json": {"a": [1]}}},
    ]
    return {
        "cells": [
            {"cell_type": "markdown", "id": "m", "metadata": {"trusted": True}, "source": source, "attachments": {"a.txt": {"text/plain": attachment}}},
            {"cell_type": "code", "execution_count": 1, "id": "c", "metadata": {"tags": list(tags)}, "outputs": outputs, "source": source},
        ],
        "metadata": {"signature": "sha256:x", "kernelspec": {"name": "python3", "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }


ODD_SPLITS = {
    "as nbformat splits": ["a\n", "b"],
    "string": "a\nb",
    "string of one line": "a",
    "empty string": "",
    "empty list": [],
    "line cut in two": ["a", "b\n"],
    "two lines in one item": ["a\rb\n"],
    "crlf kept whole": ["a\r\n", "b"],
    "crlf cut in two": ["a\r", "\nb"],
    "empty item first": ["", "a"],
    "empty item last": ["a\n", ""],
    "only an empty item": [""],
    **{f"break {ord(b):#x}": ["a" + b, "b"] for b in LINE_BREAKS[3:]},
    **{f"break {ord(b):#x} inside": [f"a{b}b\n"] for b in LINE_BREAKS[3:]},
}


@pytest.mark.parametrize("tags", [(), ("keep_output",)])
@pytest.mark.parametrize("stored", list(ODD_SPLITS.values()), ids=list(ODD_SPLITS))
def test_text_split_any_way_is_kept_only_when_nbformat_splits_it_so(stored: Any, tags: tuple[str, ...]) -> None:
    data = json.dumps(one_cell_notebook(stored, stored, stored, stored, tags), indent=1).encode()
    kept = parse(data, keep_lines=True)
    markdown, code = kept.content["cells"]
    assert markdown["source"] == code["source"] == markdown["attachments"]["a.txt"]["text/plain"] == expected_reading(stored)
    assert type(markdown["source"]) is type(expected_reading(stored))
    assert kept.split == isinstance(expected_reading(stored), list)
    assert code["outputs"][0]["text"] == "".join(stored)  # outputs are always joined
    for policy in ROUTE_POLICIES.values():
        assert clean_bytes(data, "nb.ipynb", policy) == joined_route(data, policy)


def test_lists_holding_more_than_strings_fail_or_stay_as_with_lines_joined() -> None:
    # a source (or stream) is malformed, the same error either way; text in a mime bundle is left as it is, as nbformat does
    data = json.dumps(one_cell_notebook(["a\n", 1], "x", "y", "z")).encode()
    with pytest.raises(NotebookError) as joined:
        parse(data)
    with pytest.raises(NotebookError) as kept:
        parse(data, keep_lines=True)
    assert kept.value.message == joined.value.message == "<stdin>: malformed notebook (sequence item 1: expected str instance, int found)"
    data = json.dumps(one_cell_notebook("a", "x", ["y\n", 2], ["z\n", None])).encode()
    assert parse(data, keep_lines=True).content == parse(data).content
    for policy in ROUTE_POLICIES.values():
        assert clean_bytes(data, "nb.ipynb", policy) == joined_route(data, policy)


# property tests: texts made of line breaks of every kind, stored split every way
line_text = st.lists(st.sampled_from(["a", "é", "😀", " ", "\t", *LINE_BREAKS]), max_size=12).map("".join)


@st.composite
def stored_texts(draw: st.DrawFn) -> Any:
    """A text as a notebook may store it: a string, nbformat's split, or cut anywhere (empty items too)."""
    text = draw(line_text)
    how = draw(st.sampled_from(["string", "nbformat", "nbformat", "nbformat", "cut", "cut with empty items"]))  # Jupyter's way most
    if how == "string":
        return text
    if how == "nbformat":
        return text.splitlines(True)
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=4)))
    pieces = [text[start:end] for start, end in zip([0, *cuts], [*cuts, len(text)])]
    return pieces if how == "cut with empty items" else [piece for piece in pieces if piece]


cell_tags = st.sampled_from([(), ("keep_output",), ("remove-cell",)])
generated_notebooks = st.lists(st.builds(one_cell_notebook, stored_texts(), stored_texts(), stored_texts(), stored_texts(), cell_tags), min_size=1, max_size=3)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated_notebooks, generated_policies, st.sampled_from([None, 5]), st.booleans())
def test_property_lines_kept_as_read_write_the_bytes_of_lines_joined(
    notebooks: list[dict[str, Any]], policy: Policy, max_size: int | None, crlf: bool
) -> None:
    notebook = {**notebooks[0], "cells": [cell for nb in notebooks for cell in nb["cells"]]}
    stored = json.loads(json.dumps(notebook))
    data = json.dumps(notebook, indent=2).encode()
    if crlf:
        data = data.replace(b"\n", b"\r\n")
    policy = policy._replace(max_output_size=max_size) if max_size is not None else policy
    kept = parse(data, keep_lines=True)
    texts = []
    for before, after in zip(stored["cells"], kept.content["cells"]):
        texts.append((before["source"], after["source"]))
        if "attachments" in before:
            texts.append((before["attachments"]["a.txt"]["text/plain"], after["attachments"]["a.txt"]["text/plain"]))
    for before, after in texts:
        assert after == expected_reading(before) and type(after) is type(expected_reading(before))
    assert kept.split == all(isinstance(after, list) for _, after in texts)
    assert clean_bytes(data, "nb.ipynb", policy) == joined_route(data, policy)
