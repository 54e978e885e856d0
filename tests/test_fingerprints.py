"""The fast tokenizer and normaliser of `nbgit.check.fingerprints` give exactly what the plain one
(one Python step per token, kept in tests/fingerprints_reference.py) gives: the same lines, physical
line numbers, definitions and normalised text, on the code of every corpus notebook and module and on
generated code in each comment syntax; a cell of one line that imports nothing gives no unit, and its
import still counts in the other cells. msgspec's reading of a notebook's code cells gives what
`json.loads` gives, on every corpus notebook and on crafted shapes, or refuses and leaves them to it."""

from __future__ import annotations

import json
from pathlib import Path

import fingerprints_reference as reference
import pytest
from conftest import CORPUS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbgit import fastjson
from nbgit.check import fingerprints
from nbgit.check.fingerprints import _code_cells, _code_cells_fast, _hash, _logical_lines, _normalised, _python_cell, _units, notebook_units
from nbgit.notebook import cells, source_of

MODULES = {".py": "python", ".R": "r", ".r": "r", ".jl": "julia"}


def sources_of(path: Path) -> tuple[list[tuple[int, str]], str]:
    """A notebook's code cells as `notebook_units` reads them, and its language (none when it is no notebook)."""
    try:
        content = json.loads(path.read_bytes())
    except ValueError:
        return [], "python"
    if not isinstance(content, dict):
        return [], "python"
    language = fingerprints.notebook_language(content)
    found = []
    for number, cell in enumerate(cells(content), 1):
        if cell.get("cell_type") == "code":
            source = source_of(cell)
            found.append((number, _python_cell(source) if language == "python" else source))
    return found, language


def fast(sources: list[tuple[int, str]], language: str) -> list[tuple[int, list[str], list[int], list[int], list[tuple[int, str]]]]:
    """What the fast code finds in every source, one line cells included (as `reference.units` gives it)."""
    imported: set[str] = set()
    tokenised = [(cell, _logical_lines(source, language)) for cell, source in sources]
    for _, lines in tokenised:
        for line in lines:
            if fingerprints._is_import(line.tokens):
                imported.update(fingerprints._imported_names(line.tokens))
    found = []
    for cell, lines in tokenised:
        kept = [line for line in lines if not fingerprints._is_import(line.tokens) and not fingerprints._says_nothing(line.tokens)]
        if kept:
            defines = [(n, fingerprints._defined_name(line.tokens)) for n, line in enumerate(kept)]
            found.append((cell, [_normalised(line.tokens, fingerprints.KEYWORDS | imported) for line in kept], [line.start for line in kept],
                          [line.end for line in kept], [(n, name) for n, name in defines if name]))
    return found


corpus_notebooks = sorted(CORPUS.rglob("*.ipynb")) if CORPUS.is_dir() else []
corpus_modules = sorted(p for p in CORPUS.rglob("*") if p.suffix in MODULES and p.is_file()) if CORPUS.is_dir() else []


@pytest.mark.skipif(not corpus_notebooks, reason="needs ../shared/corpus")
def test_every_corpus_notebook_and_module_gives_what_the_plain_tokenizer_gives() -> None:
    fastjson.loaded(len(corpus_notebooks))  # (as a cold run of many notebooks reads them: with msgspec)
    compared = 0
    for path in corpus_notebooks:
        sources, language = sources_of(path)
        expected = reference.units(sources, language)
        assert fast(sources, language) == expected, path
        # and notebook_units hashes those lines, leaving out only the cells of one line that import nothing
        units = notebook_units(path.read_bytes())
        kept = [found for found in expected if any(cell == found[0] for cell, source in sources if fingerprints._may_count(source))]
        assert [(u.cell, list(u.hashes), list(u.starts), list(u.ends), list(u.defines)) for u in units] == [
            (cell, [_hash(text) for text in texts], starts, ends, defines) for cell, texts, starts, ends, defines in kept], path
        compared += len(expected)
    for path in corpus_modules:
        text = path.read_text("utf-8", "replace")
        language = MODULES[path.suffix]
        source = _python_cell(text) if language == "python" else text
        assert fast([(0, source)], language) == reference.units([(0, source)], language), path
    assert compared > 3000  # (every notebook of the corpus has been read: thousands of cells with code)


# code in pieces that exercise every rule: brackets over lines, comments of each syntax (line and block,
# unterminated), continuations, strings of every quoting and prefix, imports, definitions, display lines
PIECES = [
    "x", "total", "df", "_private", "naïve", "²", "٣", "f", "rb", "async", "def", "class", "function", "struct", "end", "import",
    "from", "as", "using", "library", "require", "pd", "np", "1", "0.5", "1e-3", ".5", "x1", " ", "  ", "\t", "\n", "\n\n", "\r\n",
    "\\\n", "\\", "(", ")", "[", "]", "{", "}", ",", ".", "$", "@", "::", "=", "==", "<-", "->", "|>", "%>%", "%in%", "%", "+",
    "-", "--", "*", "/", "//", "/*", "*/", "#", "# note\n", "#= block\n =#", "#=", "=#", ";", ":", "?", "!", "'", '"',
    "'a'", '"a b"', "'''doc\nstring'''", '"""x"""', "f'{x}'", "R'raw'", "b'\\n'", "'unterminated", "\v", "\xa0", "\x00",
]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(PIECES), max_size=60), st.sampled_from(["python", "r", "julia", "javascript", "sql", "matlab", "bash"]))
def test_generated_code_gives_what_the_plain_tokenizer_gives(pieces: list[str], language: str) -> None:
    source = "".join(pieces)
    lines = _logical_lines(source, language)
    expected = reference.logical_lines(source, language)
    assert [(line.start, line.end, line.tokens) for line in lines] == [(line.start, line.end, [t for _, t in line.tokens]) for line in expected]
    halves = [(1, source), (2, source[::-1])]
    assert fast(halves, language) == reference.units(halves, language)


def test_a_cell_of_one_line_gives_no_unit_and_its_import_still_counts() -> None:
    notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "id": "a", "metadata": {}, "outputs": [], "execution_count": None, "source": "import pandas as pd"},
        {"cell_type": "code", "id": "b", "metadata": {}, "outputs": [], "execution_count": None, "source": "frame = pd.read_csv(path)\nframe.x = 1"},
        {"cell_type": "code", "id": "c", "metadata": {}, "outputs": [], "execution_count": None, "source": "total = frame.x + 1\n"},
    ]}
    units = notebook_units(json.dumps(notebook).encode())
    assert [unit.cell for unit in units] == [2]  # (cell 3: one line; cell 1: an import, which counts nowhere)
    assert list(units[0].hashes) == [_hash("_0 = pd . read_csv ( _1 )"), _hash("_0 . x = 1")]
    assert fingerprints._may_count("total = frame.x + 1\n") is False and fingerprints._may_count("import os") is True


def test_units_of_a_module_keep_their_physical_lines() -> None:
    source = "def load(path):\n    # read it\n    frame = read(\n        path,\n    )\n    return frame\n"
    [unit] = _units([(None, source)], "python")  # type: ignore[list-item]
    assert (list(unit.starts), list(unit.ends), unit.defines) == ([1, 3, 6], [1, 5, 6], ((0, "load"),))


@pytest.mark.skipif(not corpus_notebooks, reason="needs ../shared/corpus")
def test_msgspec_reads_the_code_cells_of_every_corpus_notebook_as_json_loads_does() -> None:
    refused = []
    for path in corpus_notebooks:
        data = path.read_bytes()
        fast = _code_cells_fast(data)
        assert fast is None or fast == _code_cells(data), path
        if fast is None:
            refused.append(path)
    assert len(refused) < 0.2 * len(corpus_notebooks)  # (bad inputs, nbformat 3's worksheets)


def cell(**fields: object) -> dict[str, object]:
    return {"cell_type": "code", "metadata": {}, "source": "x = 1\ny = 2", **fields}


CRAFTED = {  # notebook text -> whether msgspec reads it (else json.loads does)
    json.dumps({"cells": [cell(), cell(cell_type="markdown"), cell(source=["a = 1\n", 2, "b = 2"]), cell(source=None)]}): True,
    json.dumps({"cells": [cell(metadata={"tags": ["nbgit:allow-copy"]}), cell(metadata={"tags": "nbgit:allow-copy"}), cell(metadata=[])]}): True,
    json.dumps({"cells": [{"cell_type": "code", "input": "a = 1\nb = 2"}, {"cell_type": "code"}, {"source": "c = 3\nd = 4"}]}): True,
    json.dumps({"cells": None, "metadata": {"kernelspec": {"language": "R"}}}): True,
    json.dumps({"metadata": {"language_info": {"name": "julia"}, "kernelspec": "x"}, "cells": [cell(source="a = 1\nb = 2")]}): True,
    '{"cells": [{"cell_type": "code", "source": "a = 1", "source": "b = 2\\nc = 3"}]}': True,  # (the last of two keys)
    json.dumps({"worksheets": [{"cells": [{"cell_type": "code", "input": "a = 1\nb = 2"}]}], "metadata": {}}): False,  # nbformat 3
    json.dumps({"cells": [cell(), "not a cell"]}): False,
    json.dumps({"cells": {"0": cell()}}): False,
    json.dumps({"cells": [cell(source="\ud800 = 1\nb = 2")]}): False,  # (a lone surrogate)
    '{"cells": [{"cell_type": "code", "source": "a = NaN\\nb = 1", "execution_count": NaN}]}': False,
    "\ufeff" + json.dumps({"cells": [cell()]}): False,  # (a byte order mark)
    json.dumps([cell()]): False,
    "{not json": False,
    "": False,
}


@pytest.mark.parametrize("text", list(CRAFTED))
def test_msgspec_reads_crafted_notebooks_as_json_loads_does_or_leaves_them_to_it(text: str) -> None:
    data = text.encode("utf-8", "surrogatepass")
    fast = _code_cells_fast(data)
    assert (fast is not None) is CRAFTED[text]
    assert fast is None or fast == _code_cells(data)
