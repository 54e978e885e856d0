"""leanjson.py: json.loads and compact json.dumps through _json without importing json, value for value."""

from __future__ import annotations

import json
import math
import subprocess
import sys

from hypothesis import given, settings
from hypothesis import strategies as st
from test_fastjson import ANY_TEXT, JSON_VALUES

from nbgit import leanjson


def same(a: object, b: object) -> bool:
    """Equal, NaN included."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def loads_or_refused(text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return leanjson.NotJSON


def lean_or_refused(text: str) -> object:
    try:
        return leanjson.loads(text)
    except leanjson.NotJSON:
        return leanjson.NotJSON


@settings(max_examples=400, deadline=None)
@given(JSON_VALUES, st.sampled_from([None, 1]), st.sampled_from(["", " \n", "\t\r\n "]))
def test_reads_what_json_reads(value: object, indent: int | None, space: str) -> None:
    text = space + json.dumps(value, indent=indent) + space
    assert same(leanjson.loads(text), json.loads(text))


@settings(max_examples=400, deadline=None)
@given(ANY_TEXT | st.sampled_from(["", " ", "{", '{"a": 1} x', "[1,]", "\ufeff{}", "NaN", "-Infinity", "1e400", '"\\ud800"', "[" * 5]))
def test_refuses_what_json_refuses(text: str) -> None:
    expected = loads_or_refused(text)
    got = lean_or_refused(text)
    assert got is leanjson.NotJSON if expected is leanjson.NotJSON else same(got, expected)


@settings(max_examples=400, deadline=None)
@given(JSON_VALUES)
def test_writes_what_json_dumps_writes(value: object) -> None:
    try:
        expected = json.dumps(value, sort_keys=True, ensure_ascii=False)
    except TypeError:  # keys of mixed types cannot be sorted: nothing a notebook's JSON holds
        return
    assert leanjson.compact(value) == expected


def test_json_itself_is_not_imported_until_a_text_is_refused() -> None:
    """The scanner says why JSON is broken through json.decoder, which it finds only once imported:
    a fresh process refuses broken JSON all the same."""
    code = (
        "import sys; from nbgit import leanjson; leanjson.loads('[1, 2.5, NaN]'); leanjson.compact({'b': [1], 'a': None})\n"
        "print(sorted(m for m in sys.modules if m in ('json', 're', 'enum')))\n"
        "try:\n    leanjson.loads('{\"a\": ]')\nexcept leanjson.NotJSON:\n    print('refused')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout == "[]\nrefused\n"
