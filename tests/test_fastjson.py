"""fastjson.py: the C fast path writes exactly the standard library's bytes, or declines to write."""

from __future__ import annotations

import json
import math
import re
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import corpus_files, corpus_id
from nbgit import fastjson
from nbgit.notebook import Notebook, NotebookError, _split_old, _split_v4, parse, serialise

# every character, lone surrogates included (hypothesis leaves them out unless asked)
ANY_CHARACTER = st.characters(codec=None, categories=None)
ANY_TEXT = st.text(ANY_CHARACTER, max_size=40)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**200), max_value=2**200)
    | st.floats(allow_nan=True, allow_infinity=True)
    | ANY_TEXT
)
JSON_VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(ANY_TEXT, inner, max_size=5), max_leaves=40)
# what a notebook written by the fast path holds: no float Python writes with an exponent, no NaN
PLAIN_FLOATS = st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: "e" not in repr(f))
PLAIN_TEXT = st.text(st.characters(codec="utf-8"), max_size=40)
PLAIN_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**200), max_value=2**200) | PLAIN_FLOATS | PLAIN_TEXT,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(PLAIN_TEXT, inner, max_size=5),
    max_leaves=40,
)


def stdlib_or_error(value: object, ascii: bool = False) -> bytes | type[Exception]:
    try:
        return fastjson.write_stdlib(value, ascii)
    except (UnicodeError, ValueError, TypeError) as error:
        return type(error)


def test_the_fast_path_is_installed() -> None:
    assert fastjson.write_fast({"a": [1, "b"]}) == b'{\n "a": [\n  1,\n  "b"\n ]\n}'


@settings(max_examples=400, deadline=None)
@given(JSON_VALUES, st.booleans())
def test_fast_path_writes_the_same_bytes_or_declines(value: object, ascii: bool) -> None:
    expected = stdlib_or_error(value, ascii)
    fast = fastjson.write_fast(value, ascii)
    if isinstance(expected, bytes):
        assert fast is None or fast == expected
    else:
        assert fast is None, "the fast path wrote what the standard library refuses"


@settings(max_examples=400, deadline=None)
@given(PLAIN_VALUES)
def test_fast_path_takes_everything_plain(value: object) -> None:
    assert fastjson.write_fast(value) == fastjson.write_stdlib(value)
    ascii = fastjson.write_fast(value, ascii=True)
    assert ascii == fastjson.write_stdlib(value, ascii=True) or (ascii is None and not _ascii_only(value))


def _ascii_only(value: object) -> bool:
    """Whether every string of `value` is printable ASCII, as nbformat 3's writer leaves it unescaped."""
    text = fastjson.write_stdlib(value)
    return text.isascii() and b"\x7f" not in text


@pytest.mark.parametrize("text", ["\x7f", "é", "\U0001f600", "\u2028", "plain \t\n\x00"])
def test_ascii_mode_escapes_as_nbformat_3_does(text: str) -> None:
    value = {"source": [text, "x"], text: 1}
    fast = fastjson.write_fast(value, ascii=True)
    if text.isascii() and "\x7f" not in text:
        assert fast == fastjson.write_stdlib(value, ascii=True)
    else:
        assert fast is None
    assert fastjson.indented(value, ascii=True) == fastjson.write_stdlib(value, ascii=True)


@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_of_every_magnitude(number: float) -> None:
    value = {"x": [number, -number, number / 3]}
    fast = fastjson.write_fast(value)
    assert fast is None or fast == fastjson.write_stdlib(value)
    assert (fast is None) == any("e" in repr(f) for f in value["x"])


@pytest.mark.parametrize("exponent", range(-324, 309, 7))
def test_powers_of_ten_and_their_neighbours(exponent: int) -> None:
    numbers = [float(f"1e{exponent}"), float(f"1.5e{exponent}"), float(f"9.999999999999999e{exponent}") if exponent < 308 else 1.0]
    value = {"numbers": numbers}
    fast = fastjson.write_fast(value)
    assert fast is None or fast == fastjson.write_stdlib(value)


@pytest.mark.parametrize("number", [2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64, 10**40, -(10**100)])
def test_integers_beyond_64_bits(number: int) -> None:
    assert fastjson.write_fast([number]) == fastjson.write_stdlib([number])


@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf])
def test_nan_and_infinities_go_to_the_standard_library(number: float) -> None:
    assert fastjson.write_fast({"x": number}) is None
    assert fastjson.write_stdlib({"x": number}) in (b'{\n "x": NaN\n}', b'{\n "x": Infinity\n}', b'{\n "x": -Infinity\n}')


@pytest.mark.parametrize("text", ["\ud800", "a\udfffb", "\udc80\udc80"])
def test_lone_surrogates_fail_as_the_standard_library_fails(text: str) -> None:
    assert fastjson.write_fast({"s": text}) is None
    assert fastjson.write_fast({text: 1}) is None
    with pytest.raises(UnicodeEncodeError):
        fastjson.indented({"s": text})


def test_non_bmp_characters_and_escapes() -> None:
    text = "\U0001f600 \U00010000 \U0010ffff \u2028\u2029 \x7f \x00\x01\x08\t\n\x0b\x0c\r\x1f \"\\/ é 中"
    value = {text: [text, {text[::-1]: text}], "\U0001f600": 1, "\uffff": 2, "\ue000": 3}
    assert fastjson.write_fast(value) == fastjson.write_stdlib(value)


def test_huge_strings() -> None:
    chunk = "line of output \u00e9\U0001f600\t\"quoted\"\\ " * 10
    value = {"big": chunk * 20_000, "lines": [chunk + "\n"] * 5_000}
    assert len(value["big"]) > 4_000_000
    assert fastjson.write_fast(value) == fastjson.write_stdlib(value)


def test_other_types_go_to_the_standard_library() -> None:
    class Node(dict):  # nbformat's NotebookNode is a dict subclass
        pass

    for value in ({"t": (1, 2)}, Node(a=1), {"b": b"bytes"}, {1: "int key"}, {"s": {1, 2}}):
        assert fastjson.write_fast(value) is None
    assert fastjson.indented(Node(b=1, a=2)) == b'{\n "a": 2,\n "b": 1\n}'


def test_a_process_loads_the_fast_path_from_its_eighth_read_or_write(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fastjson, "_handled", 0)
    calls: list[object] = []
    monkeypatch.setattr(fastjson, "write_fast", lambda value, ascii, like=None: calls.append(value))
    for number in range(fastjson.FAST_FROM + 2):
        assert fastjson.indented({"n": number}) == fastjson.write_stdlib({"n": number})
    assert len(calls) == 3


@pytest.mark.parametrize(("expected", "fast_calls"), [(3, 0), (fastjson.FAST_FROM, 4)])
def test_a_process_expecting_many_notebooks_loads_the_fast_path_at_once(monkeypatch: pytest.MonkeyPatch, expected: int, fast_calls: int) -> None:
    """`expect` (a check about to judge many notebooks, before its workers are forked): the next write
    takes the fast path; a handful expected changes nothing."""
    monkeypatch.setattr(fastjson, "_handled", 0)
    calls: list[object] = []
    monkeypatch.setattr(fastjson, "write_fast", lambda value, ascii, like=None: calls.append(value))
    fastjson.expect(expected)
    for number in range(4):
        assert fastjson.indented({"n": number}) == fastjson.write_stdlib({"n": number})
    assert len(calls) == fast_calls


@pytest.mark.parametrize(("size", "fast_calls"), [(fastjson.LARGE - 100, 0), (fastjson.LARGE, 2)])
def test_a_process_reading_a_large_text_loads_the_fast_path_at_once(monkeypatch: pytest.MonkeyPatch, size: int, fast_calls: int) -> None:
    """One JSON text of `LARGE` bytes (a notebook of a megabyte): read and written in C from the first
    read of the process, where its import pays at once; a smaller one waits for `FAST_FROM` as before."""
    monkeypatch.setattr(fastjson, "_handled", 0)
    calls: list[object] = []
    monkeypatch.setattr(fastjson, "write_fast", lambda value, ascii, like=None: calls.append(value))
    text = json.dumps({"text": "x" * (size - 12)})
    assert len(text) == size and fastjson.loads(text) == json.loads(text)
    for number in range(2):
        assert fastjson.indented({"n": number}) == fastjson.write_stdlib({"n": number})
    assert len(calls) == fast_calls


JSON_TEXTS = st.builds(
    lambda value, indent, ascii: json.dumps(value, indent=indent, ensure_ascii=ascii),
    JSON_VALUES, st.sampled_from([None, 1, 2]), st.booleans(),
)


def read(reader, text: str) -> tuple[str, object]:
    try:
        return "value", reader(text)
    except (ValueError, RecursionError) as error:
        return "error", type(error)


@settings(max_examples=200, deadline=None)
@given(JSON_TEXTS)
def test_reading_gives_the_standard_librarys_value(text: str) -> None:
    expected = json.loads(text)
    assert repr(fastjson.loads(text)) == repr(expected)  # repr: NaN and -0.0 compared too
    kind, fast = read(fastjson.read_fast, text)
    assert kind == "error" or repr(fast) == repr(expected)


@settings(max_examples=200, deadline=None)
@given(JSON_TEXTS)
def test_reading_bytes_gives_what_reading_their_text_gives(text: str) -> None:
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate written raw: no UTF-8 bytes hold it
        data = text.encode("utf-8", "surrogatepass")
        with pytest.raises(UnicodeDecodeError):
            fastjson.loads(data)
        return
    assert repr(fastjson.loads(data)) == repr(json.loads(text))


@pytest.mark.parametrize("number", [1e16, 1.5e-05, -2.5e300, 5e-324])
def test_a_float_anywhere_in_a_notebook_sends_it_to_the_standard_library(monkeypatch: pytest.MonkeyPatch, number: float) -> None:
    monkeypatch.setattr(fastjson, "_handled", fastjson.FAST_FROM)  # the fast path is in use
    cell = {"cell_type": "code", "execution_count": None, "id": "a", "metadata": {"scale": number}, "outputs": [], "source": "x = 1\ny = 2\n"}
    content = {"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    written = serialise(Notebook(content, 4))
    assert written == fastjson.write_stdlib(_split_v4(content)) + b"\n"
    assert repr(number).encode() in written


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_what_reading_calls_alike_the_c_writer_writes_as_the_standard_library(value: object) -> None:
    expected = stdlib_or_error(value)
    if not isinstance(expected, bytes):
        return  # a lone surrogate: no JSON text holds it as UTF-8 bytes
    fastjson._handled = fastjson.FAST_FROM  # the fast path is in use
    read = fastjson.read(expected)
    assert repr(read.value) == repr(json.loads(expected))
    if read.alike:
        assert fastjson.write_fast(read.value, like=True) == expected
    else:  # only a float Python writes with an exponent, NaN or an infinity makes it unlike
        assert re.search(rb"\d[eE]|NaN|Infinity", expected)


@pytest.mark.parametrize("number", [b"1e16", b"1.5e-05", b"0.000015", b"-2.5e300", b"5e-324", b"1e400", b"NaN"])
def test_a_float_written_with_an_exponent_makes_a_notebook_read_unlike(monkeypatch: pytest.MonkeyPatch, number: bytes) -> None:
    monkeypatch.setattr(fastjson, "_handled", fastjson.FAST_FROM)  # the fast path is in use
    text = b'{"cells": [], "metadata": {"scale": %s, "plain": 0.5}, "nbformat": 4, "nbformat_minor": 5}' % number
    notebook = parse(text)
    assert not notebook.alike
    assert serialise(notebook) == fastjson.write_stdlib(json.loads(text)) + b"\n"
    assert parse(text.replace(number, b"12.25")).alike


@pytest.mark.parametrize("text", [
    "NaN", "[Infinity, -Infinity]", "1E400", '"\\ud800"', '{"a": "\\udc00x"}', "123456789012345678901234567890",
    '{"a": 1, "a": 2}', "-0", "[-0.0, 1e-400, 5e-324]", '"a\x01b"', "[1,]", "[1] [2]", '"\\x"', "[" * 5000 + "]" * 5000,
])
def test_reading_edge_cases_as_the_standard_library_does(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr(fastjson, "_handled", fastjson.FAST_FROM)  # the fast path is in use
    assert read(fastjson.loads, text) == read(json.loads, text) or repr(read(fastjson.loads, text)) == repr(read(json.loads, text))


def test_importing_the_filter_loads_no_c_encoder() -> None:
    import subprocess

    done = subprocess.run([sys.executable, "-c", "import sys, nbgit.filter; print('msgspec' in sys.modules)"], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def corpus_values() -> list[tuple[str, object, bool]]:
    """Every readable v2-v4 notebook of the corpus, split into lines as the writer gets it, and its ASCII mode."""
    values = []
    for path in corpus_files("dev"):
        try:
            notebook = parse(path.read_bytes(), str(path))
        except NotebookError:
            continue
        if notebook.major == 4:
            values.append((corpus_id(path), _split_v4(notebook.content), False))
        elif notebook.major in (2, 3):
            values.append((corpus_id(path), _split_old(notebook.content, notebook.major), True))
    return values


def test_fast_path_over_the_corpus() -> None:
    values = corpus_values()
    if not values:
        pytest.skip("corpus absent")
    declined = []
    for name, value, ascii in values:
        fast = fastjson.write_fast(value, ascii)
        if fast is None:
            declined.append(name)
            assert ascii or not fastjson._writes_alike(value) or isinstance(stdlib_or_error(value), type), name
        else:
            assert fast == fastjson.write_stdlib(value, ascii), name
    assert len(declined) <= len(values) // 20, f"the fast path declined {len(declined)} of {len(values)}: {declined[:5]}"
