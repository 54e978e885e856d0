"""notebook.py: bytes in, bytes out exactly as nbformat's own writer writes them."""

from __future__ import annotations

import json
import logging
import sys
import warnings
from pathlib import Path

import nbformat
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import CORPUS, corpus_files, corpus_id
from nbgit import fastjson
from nbgit.notebook import CONFLICT_MARKER, Notebook, NotebookError, first_conflict_marker, has_conflict_markers, holds_lone_surrogate, parse, serialise

READABLE = [p for p in corpus_files("dev") + corpus_files("peer") + corpus_files("bad_inputs")]


def nbformat_bytes(data: bytes) -> bytes | None:
    """What `nbformat.write(nbformat.read(..., NO_CONVERT))` produces, or None when nbformat cannot read it."""
    logging.disable(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nb = nbformat.reads(data.decode("utf-8"), nbformat.NO_CONVERT)
            text = nbformat.writes(nb, nbformat.NO_CONVERT)
    except Exception:  # noqa: BLE001 - any refusal by nbformat means "not comparable"
        return None
    finally:
        logging.disable(logging.NOTSET)
    return (text if text.endswith("\n") else text + "\n").encode("utf-8")


def without_minted_ids(reference: bytes, original: dict) -> bytes:
    """nbformat mints random ids for cells that lack one (and renames duplicates); nbgit never does."""
    ours = json.loads(reference)
    originals = [c.get("id") for c in original.get("cells", [])]
    for cell, before in zip(ours.get("cells", []), originals):
        if before is None:
            cell.pop("id", None)
        else:
            cell["id"] = before
    return serialise(Notebook(ours, 4)) if "cells" in ours else reference


@pytest.mark.parametrize("writer", ["stdlib", "fast", "fast-lines-kept"])
@pytest.mark.parametrize("path", READABLE, ids=corpus_id)
def test_serialise_matches_nbformat_writer(path: Path, writer: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # the first notebooks a process reads and writes go through the standard library, the rest through C;
    # the clean filter reads with keep_lines (lists of lines kept as read where nbformat would split them so)
    monkeypatch.setattr(fastjson, "FAST_FROM", 0 if writer.startswith("fast") else sys.maxsize)
    data = path.read_bytes()
    reference = nbformat_bytes(data)
    try:
        notebook = parse(data, str(path), keep_lines=writer == "fast-lines-kept")
    except NotebookError:
        assert reference is None, "nbgit refused a notebook nbformat reads"
        return
    if reference is None:
        pytest.skip("nbformat itself cannot read this file")
    ours = serialise(notebook)
    if notebook.crlf:
        ours = ours.replace(b"\r\n", b"\n")
    if ours != reference and notebook.major == 4:
        reference = without_minted_ids(reference, json.loads(data))
    assert ours == reference


@pytest.mark.corpus
def test_every_dev_notebook_is_compared() -> None:
    assert len(corpus_files("dev")) >= 190, f"corpus missing at {CORPUS}"


@pytest.mark.corpus
def test_crlf_input_stays_crlf() -> None:
    source = corpus_files("peer", "nbstripout/tests/e2e_notebooks/test_drop_empty_cells.ipynb")[0]
    crlf = source.read_bytes().replace(b"\n", b"\r\n")
    out = serialise(parse(crlf))
    assert b"\r\n" in out and b"\n" not in out.replace(b"\r\n", b"")
    assert out.endswith(b"}\r\n")


@pytest.mark.corpus
@pytest.mark.parametrize("style", ["colab", "minified", "ascii", "unsorted-no-newline"])
def test_other_editors_layouts_come_out_in_jupyters(style: str) -> None:
    canonical_path = corpus_files("peer", "nbstripout/tests/e2e_notebooks/test_unicode.ipynb.expected")[0]
    canonical = canonical_path.read_bytes()
    content = json.loads(canonical)
    if style == "colab":
        resaved = json.dumps(content, indent=2, ensure_ascii=False).encode()
    elif style == "minified":
        # string sources instead of line lists, as some tools write them
        for cell in content["cells"]:
            cell["source"] = "".join(cell["source"])
        resaved = json.dumps(content, separators=(",", ":"), ensure_ascii=False).encode()
    elif style == "ascii":
        resaved = json.dumps(content, indent=1, sort_keys=True).encode() + b"\n"
    else:
        resaved = json.dumps(dict(reversed(list(content.items()))), indent=1, ensure_ascii=False).encode()
    assert resaved != canonical
    assert serialise(parse(resaved)) == canonical


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "empty file"),
        (b"   \n", "empty file"),
        (b"\xef\xbb\xbf{}", "byte order mark"),
        (b"\xff\xfe{\x00}\x00", "UTF-16"),
        (b'{"cells": [\n<<<<<<< HEAD\n', "conflict markers"),
        (b'{"a": \xff}', "not UTF-8"),
        (b'{"cells": [', "invalid JSON at line 1"),
        (b"[1, 2]", "top-level JSON is a list"),
        (b'{"nbformat": 9, "cells": []}', "unsupported nbformat version 9"),
        (b'{"nbformat": 4, "metadata": {}}', "no list of cells"),
        (b'{"nbformat": 3, "worksheets": 5}', "no list of cells"),
        (bytes(range(256)) * 4, "not UTF-8"),
    ],
)
@pytest.mark.parametrize("reader", ["stdlib", "fast"])
def test_unreadable_bytes_give_one_line_naming_the_file(data: bytes, expected: str, reader: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fastjson, "FAST_FROM", 0 if reader == "fast" else sys.maxsize)
    with pytest.raises(NotebookError) as raised:
        parse(data, "dir/x.ipynb")
    assert raised.value.message.startswith("dir/x.ipynb: ")
    assert expected in raised.value.message
    assert "\n" not in raised.value.message and raised.value.hint


@pytest.mark.parametrize(
    ("data", "marked"),
    [
        (b"<<<<<<< HEAD\n", True),
        (b">>>>>>> other\n", True),
        (b"x\n<<<<<<<\n", True),  # a marker without a label, at the end of its line
        (b"x\n>>>>>>>\r\ny", True),  # CRLF
        (b"x\n<<<<<<<", True),  # the last line, without a newline
        (b"x\n<<<<<<<<<< HEAD\n", True),  # conflict-marker-size=10
        (b"x\n>>>>>>>>>>\n", True),
        (b"x\n<<<<<< HEAD\n", False),  # six: shorter than any marker git writes
        (b"x\n<<<<<<<HEAD\n", False),  # no space before the label
        (b"x <<<<<<< HEAD\n", False),  # not at the start of a line
        (b"x\n=======\n", False),  # the middle marker alone is no conflict
        (b"x\n|||||||\n", False),
        (b"<<<>>>><<<<\n>>>>><<<<<<\n", False),  # runs of mixed brackets
        (b"a <<<<<<< b\n" + b"x\n" * 1000 + b">>>>>>> later\n", True),  # the first run is mid-line, a marker after it
        (b"a >>>>>>>> b\n<<<<<<< HEAD\n", True),
        (b"a <<<<<<<< b <<<<<<<<\n", False),
        (b"", False),
    ],
)
def test_conflict_markers_are_found_exactly_where_the_expression_finds_them(data: bytes, marked: bool) -> None:
    """The byte search that rules out files with no run of seven brackets, and the search from the first
    run on, find what the expression alone finds over the whole file, at the same place."""
    whole = CONFLICT_MARKER.search(data)
    assert has_conflict_markers(data) is marked is (whole is not None)
    first = first_conflict_marker(data)
    assert (first and first.span()) == (whole and whole.span())


@pytest.mark.corpus
def test_missing_nbformat_is_read_as_nbformat_1_like_nbformat_does() -> None:
    path = corpus_files("peer", "nbstripout/tests/e2e_notebooks/test_missing_nbformat.ipynb")[0]
    notebook = parse(path.read_bytes())
    assert notebook.major == 1
    assert serialise(notebook) == nbformat_bytes(path.read_bytes())


# pieces of JSON string text: surrogate halves escaped in either case, escaped backslashes before
# them (then they are literal text), other escapes, plain and non-BMP characters
_STRING_PIECES = ["\\ud83d", "\\uD83D", "\\ude00", "\\uDE00", "\\udbff", "\\udc00", "\\\\", "\\\\ud83d", "\\\\\\ud83d",
                  "\\u0041", "\\n", "a", "é", "😀", "\\ud7ff", "\\ue000"]


@given(st.lists(st.lists(st.sampled_from(_STRING_PIECES), max_size=8), min_size=1, max_size=4))
def test_a_lone_surrogate_is_found_in_the_bytes_exactly_when_json_reads_one(strings: list[list[str]]) -> None:
    """`holds_lone_surrogate` (a search of the bytes) says what writing the parsed JSON as UTF-8 says."""
    data = json.dumps({"cells": []})[:-1].encode() + b", " + b", ".join(
        b'"k%d": "%s"' % (number, "".join(pieces).encode("utf-8")) for number, pieces in enumerate(strings)) + b"}"
    try:
        json.dumps(json.loads(data), ensure_ascii=False).encode("utf-8")
        lone = False
    except UnicodeEncodeError:
        lone = True
    assert holds_lone_surrogate(data) == lone, data


def test_half_a_surrogate_pair_is_refused_whichever_reader_reads_it() -> None:
    """The standard library reads `"\\ud83d"` alone and the search of the bytes finds it; msgspec refuses
    it and the standard library reads it again: one error either way, a whole pair none."""
    bad = json.dumps({"cells": [], "metadata": {"title": "\ud83d"}, "nbformat": 4, "nbformat_minor": 5}).encode()
    good = bad.replace(b"\\ud83d", b"\\ud83d\\ude00")
    for _ in range(2):  # the first reads of a process, then (`fastjson.expect`) with msgspec
        with pytest.raises(NotebookError, match="lone surrogate"):
            parse(bad, "a.ipynb")
        assert parse(good, "a.ipynb").content["metadata"]["title"] == "😀"
        fastjson.expect(1000)
    assert fastjson.read(good).paired and not fastjson.read(bad).paired
