"""The schema check's shortcut (`nbgit.check.schema_shapes`) never calls a notebook or cell valid that nbformat's schema refuses.

For every nbformat 4 minor version (their schemas differ: cell ids from 4.5, `jupyter` metadata from
4.3, `execution` from 4.4), cells and outputs are generated near the schema's edges (missing and extra
keys, values of the wrong type, ids and names with bad characters or lengths, every output type, mime
bundles, the metadata keys the schema constrains, the notebook's own keys and metadata) and on the
whole corpus; whenever the shortcut says
"valid", fastjsonschema with the minor version's own schema must agree. When it does not say so, the
schema itself decides, so the check's verdicts and messages stay fastjsonschema's.
"""

from __future__ import annotations

import json
from typing import Any, Callable

import fastjsonschema
import pytest
from conftest import corpus_contents, corpus_files
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbgit.check.schema import _shapes, _validator
from nbgit.errors import NbgitError
from nbgit.check.schema_shapes import CELL_TYPES, OUTPUT_TYPES, Shapes, plainly_valid_around_cells, plainly_valid_cell, unknown_keys
from nbgit.notebook import parse

MINORS = range(6)

# values the schema's edges care about, beside anything JSON holds
EDGE_STRINGS = st.sampled_from(["", "a", "a\n", "\n", "a\nb", "a,b", ",", "x" * 64, "x" * 65, "a-b_C9", "a.b", "a b", "é", "auto", "🙂", "a\x00"])
STRINGS = st.one_of(EDGE_STRINGS, st.text(max_size=8))
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2, 3), st.sampled_from([0.0, 1.0, -1.5]), STRINGS)
JSON = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(STRINGS, inner, max_size=3)), max_leaves=6)
TEXT = st.one_of(st.text(max_size=5), st.lists(st.text(max_size=5), max_size=3))
MULTILINE = st.one_of(TEXT, STRINGS, st.lists(st.one_of(STRINGS, SCALARS), max_size=3), JSON)
COUNT = st.one_of(st.sampled_from([None, 0, 7, -1, True, False, 1.0, "1", []]), st.integers())
MIMES = ["text/plain", "image/png", "application/json", "application/vnd.x+json", "application/+json", "application/json\n",
         "application/x\n+json", "application/jsonx", "application/xjson", "text/json", "Application/json", "application/json; x"]


def mostly(plain: st.SearchStrategy[Any], edgy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A value of the plain shape three times in four, else one from near (or beyond) the edges."""
    return st.integers(0, 3).flatmap(lambda roll: plain if roll else edgy)


def near_edges(plain: st.SearchStrategy[dict[str, Any]], edges: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """A plain (valid) dict with up to two keys set to values near the edges or dropped; now and then not a dict."""

    @st.composite
    def draw_one(draw: st.DrawFn) -> Any:
        value = dict(draw(plain))
        for _ in range(draw(st.sampled_from([0, 0, 1, 2]))):
            key = draw(st.sampled_from(sorted(edges)))
            if draw(st.integers(0, 4)):
                value[key] = draw(edges[key])
            else:
                value.pop(key, None)
        return value

    return mostly(draw_one(), JSON)


BUNDLE = near_edges(st.fixed_dictionaries({}, optional={"text/plain": TEXT, "image/png": st.just("iVBOR"), "application/json": JSON}),
                    {mime: st.one_of(MULTILINE, JSON) for mime in MIMES})
METADATA = near_edges(
    st.fixed_dictionaries({}, optional={"tags": st.lists(st.sampled_from(["a", "b c"]), max_size=2, unique=True), "collapsed": st.booleans(),
                                        "jupyter": st.just({"source_hidden": True}), "name": st.just("n"), "other": JSON}),
    {
        "name": st.one_of(STRINGS, SCALARS),
        "tags": st.one_of(st.lists(st.one_of(EDGE_STRINGS, SCALARS), max_size=3), JSON),
        "format": st.one_of(STRINGS, SCALARS),
        "jupyter": st.one_of(st.dictionaries(st.sampled_from(["source_hidden", "outputs_hidden", "x"]), JSON, max_size=2), JSON),
        "execution": st.one_of(st.dictionaries(st.sampled_from(["iopub.status.busy", "shell.execute_reply", "x", "a\nb"]), SCALARS, max_size=2), JSON),
        "collapsed": SCALARS,
        "scrolled": st.one_of(st.just("auto"), SCALARS),
        "other": JSON,
    },
)
OUTPUT_EDGES = {
    "output_type": st.one_of(st.sampled_from([*OUTPUT_TYPES, "bogus"]), SCALARS),
    "data": BUNDLE,
    "metadata": JSON,
    "execution_count": COUNT,
    "name": SCALARS,
    "text": MULTILINE,
    "ename": SCALARS,
    "evalue": SCALARS,
    "traceback": st.one_of(st.lists(SCALARS, max_size=3), JSON),
    "extra": JSON,
}
OUTPUT = st.one_of(
    near_edges(st.fixed_dictionaries({"output_type": st.just("execute_result"), "data": BUNDLE, "metadata": st.just({}), "execution_count": COUNT}), OUTPUT_EDGES),
    near_edges(st.fixed_dictionaries({"output_type": st.just("display_data"), "data": BUNDLE, "metadata": st.just({"image/png": {"width": 3}})}), OUTPUT_EDGES),
    near_edges(st.fixed_dictionaries({"output_type": st.just("stream"), "name": st.just("stdout"), "text": TEXT}), OUTPUT_EDGES),
    near_edges(st.fixed_dictionaries({"output_type": st.just("error"), "ename": st.just("E"), "evalue": st.text(max_size=3),
                                      "traceback": st.lists(st.text(max_size=3), max_size=2)}), OUTPUT_EDGES),
)
CELL_EDGES = {
    "cell_type": st.one_of(st.sampled_from([*CELL_TYPES, "heading", "bogus"]), SCALARS),
    "id": st.one_of(st.text(alphabet="aZ9-_.:\n ", max_size=3), EDGE_STRINGS, st.text(alphabet="a", min_size=63, max_size=66), SCALARS),
    "metadata": METADATA,
    "source": MULTILINE,
    "outputs": st.one_of(st.lists(OUTPUT, max_size=3), JSON),
    "execution_count": COUNT,
    "attachments": st.one_of(st.dictionaries(st.sampled_from(["a.png", "b"]), BUNDLE, max_size=2), JSON),
    "collapsed": st.booleans(),
    "extra": JSON,
}
PLAIN_ID = st.text(alphabet="aZ9-_", min_size=1, max_size=3)
CELL = st.one_of(
    near_edges(st.fixed_dictionaries({"cell_type": st.just("code"), "metadata": METADATA, "source": TEXT, "outputs": st.lists(OUTPUT, max_size=3),
                                      "execution_count": COUNT}, optional={"id": PLAIN_ID}), CELL_EDGES),
    *(near_edges(st.fixed_dictionaries({"cell_type": st.just(kind), "metadata": METADATA, "source": TEXT},
                                       optional={"id": PLAIN_ID, "attachments": st.dictionaries(st.just("a.png"), BUNDLE, max_size=1)}), CELL_EDGES)
      for kind in ("markdown", "raw")),
)


def plainly_valid(content: Any, shapes: Shapes) -> bool:
    """The shortcut's verdict on a whole notebook, as the schema check takes it: all but the cells and
    keys of its own, then each cell, then no keys of its own."""
    if not plainly_valid_around_cells(content, shapes) or not all(plainly_valid_cell(cell, shapes) for cell in content["cells"]):
        return False
    return not unknown_keys(content, shapes.notebook)


def only_its_own_keys_wrong(notebook: Any, minor: int) -> bool:
    """Whether the whole schema finds nothing, or only keys the notebook does not allow, in the notebook without its cells."""
    try:
        _validator(4, minor)({**notebook, "cells": []})
    except fastjsonschema.JsonSchemaException as error:
        return error.rule == "additionalProperties" and error.name == "data"
    return True


def schema_valid(cell: Any, minor: int) -> bool:
    """fastjsonschema's verdict on a notebook of this minor version holding just this cell."""
    return notebook_valid({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": minor}, minor)


def notebook_valid(notebook: Any, minor: int) -> bool:
    """fastjsonschema's verdict on a notebook, with this minor version's schema."""
    try:
        _validator(4, minor)(notebook)
    except fastjsonschema.JsonSchemaException:
        return False
    return True


def test_generated_cells_the_shortcut_calls_valid_are_valid_for_every_minor_version() -> None:
    claimed: dict[int, int] = dict.fromkeys(MINORS, 0)
    refused = 0

    @settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(CELL)
    def agrees(cell: Any) -> None:
        nonlocal refused
        for minor in MINORS:
            valid = schema_valid(cell, minor)
            if plainly_valid_cell(cell, _shapes(minor)):
                assert valid, (minor, json.dumps(cell))
                claimed[minor] += 1
            refused += not valid

    agrees()
    # the generator reaches both sides of the schema's edges, and the shortcut takes valid cells of every version
    assert refused > 1000 and all(count > 50 for count in claimed.values()), f"{refused} {claimed}"


EDGE_VALUES = [None, True, False, 0, 1, -1, 2, 3, 4, 5, 6, 65, 4.0, 1.0, -0.5, "", "a", "a\n", "\n", "a\nb", "a,b", "a.b", "a b", "x" * 64, "x" * 65, "auto", "1",
               [], ["a"], ["a", "a"], ["a", "b"], ["a,b"], ["a\nb"], ["a\n"], [""], ["a", 1], [None], [[]], {}, {"a": 1}, {"a": "b"},
               {"source_hidden": True}, {"source_hidden": 1}, {"a\nb": 1}, {"iopub.status.busy": "t"}, {"text/plain": "x"}, {"text/plain": 1}]
CELL_KEYS = ["id", "cell_type", "metadata", "source", "outputs", "execution_count", "attachments", "collapsed", "name", "tags", "format", "jupyter",
             "execution", "scrolled", "output_type", "data", "text", "ename", "evalue", "traceback", "text/plain", "image/png", *MIMES, "a.png", "extra"]
NOTEBOOK_KEYS = ["nbformat", "nbformat_minor", "cells", "metadata", "kernelspec", "language_info", "name", "display_name", "codemirror_mode",
                 "file_extension", "mimetype", "pygments_lexer", "orig_nbformat", "title", "authors", "extra"]
DELETED = object()


def plain_cells(minor: int) -> list[dict[str, Any]]:
    """One valid cell of each kind, as Jupyter writes them, every output type and a mime bundle of each kind of key in them."""
    ids = {"id": "a1-B_"} if minor >= 5 else {}
    metadata = {"tags": ["x", "y"], "collapsed": False, "scrolled": "auto", "name": "n", "jupyter": {"source_hidden": True},
                "execution": {"iopub.status.busy": "2024-01-01T00:00:00Z"}}
    bundle = {"text/plain": ["1\n", "2"], "image/png": "iVBOR", "application/json": {"a": [1]}, "application/vnd.x+json": 3}
    code = {"cell_type": "code", **ids, "metadata": metadata, "execution_count": 3, "source": ["x\n", "y"], "outputs": [
        {"output_type": "execute_result", "execution_count": None, "data": bundle, "metadata": {"image/png": {"width": 3}}},
        {"output_type": "display_data", "data": {}, "metadata": {}},
        {"output_type": "stream", "name": "stdout", "text": "out\n"},
        {"output_type": "error", "ename": "E", "evalue": "", "traceback": ["a", "b"]},
    ]}
    markdown = {"cell_type": "markdown", **ids, "metadata": {}, "source": "# t", "attachments": {"a.png": {"image/png": "iVBOR"}}}
    raw = {"cell_type": "raw", **ids, "metadata": {"format": "text/x-rst"}, "source": []}
    return [code, markdown, raw]


def places(value: Any) -> list[list[Any]]:
    """The path of every dict in a cell (the cell itself, its metadata, outputs, bundles)."""
    found: list[list[Any]] = []

    def walk(node: Any, path: list[Any]) -> None:
        if isinstance(node, dict):
            found.append(path)
        children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, child in children:
            if isinstance(child, (dict, list)):
                walk(child, [*path, key])

    walk(value, [])
    return found


def changed(cell: dict[str, Any], path: list[Any], key: str, value: Any) -> dict[str, Any]:
    """A deep copy of the cell with one key of the dict at `path` set to `value` (or deleted)."""
    copy = json.loads(json.dumps(cell))
    target = copy
    for step in path:
        target = target[step]
    if value is DELETED:
        target.pop(key, None)
    else:
        target[key] = value
    return copy


def agree_on_single_changes(value: dict[str, Any], paths: list[list[Any]], keys: list[str], shortcut: Callable[[Any], bool],
                            schema: Callable[[Any], bool]) -> tuple[int, int]:
    """Each of `keys` of each dict at `paths` set to each edge value (or deleted), one at a time: whatever the
    shortcut calls valid, the schema must. How many changes were judged, and how many the shortcut took."""
    judged = claimed = 0
    for path in paths:
        for key in keys:
            for edge in [*EDGE_VALUES, DELETED]:
                near = changed(value, path, key, edge)
                if shortcut(near):
                    assert schema(near), (path, key, edge)
                    claimed += 1
                judged += 1
    return judged, claimed


@pytest.mark.parametrize("minor", MINORS)
def test_every_single_change_to_a_plain_cell_near_the_edges_is_judged_as_the_schema_judges_it(minor: int) -> None:
    """Each key of each dict in plain cells set to each value near the schema's edges (or deleted), one at a time."""
    shapes = _shapes(minor)
    judged = claimed = 0
    for cell in plain_cells(minor):
        assert schema_valid(cell, minor) and plainly_valid_cell(cell, shapes), cell
        assert plainly_valid_cell({key: value for key, value in cell.items() if key != "id"}, shapes) == (minor < 5)
        tried, taken = agree_on_single_changes(cell, places(cell), CELL_KEYS, lambda near: plainly_valid_cell(near, shapes), lambda near: schema_valid(near, minor))
        judged, claimed = judged + tried, claimed + taken
    assert judged > 10_000 and claimed > 1000, (judged, claimed)


@pytest.mark.parametrize("minor", MINORS)
def test_every_single_change_to_a_plain_notebook_near_the_edges_is_judged_as_the_schema_judges_it(minor: int) -> None:
    """The same for the notebook's own keys and metadata, around a plain markdown cell; then with every plain cell."""
    metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}, "orig_nbformat": 3, "title": "t",
                "language_info": {"name": "python", "codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py",
                                  "mimetype": "text/x-python", "pygments_lexer": "ipython3", "version": "3.11"}, "authors": [{"name": "a"}]}
    notebook = {"cells": [plain_cells(minor)[1]], "metadata": metadata, "nbformat": 4, "nbformat_minor": minor}
    shapes = _shapes(minor)
    assert plainly_valid(notebook, shapes) and plainly_valid({**notebook, "cells": plain_cells(minor)}, shapes)
    own = [path for path in places(notebook) if "cells" not in path]
    judged, claimed = agree_on_single_changes(notebook, own, NOTEBOOK_KEYS, lambda near: plainly_valid(near, shapes), lambda near: notebook_valid(near, minor))
    assert judged > 4000 and claimed > 500, (judged, claimed)
    # all but the cells: keys of its own at most (the schema checks them after the cells, so the check words them last)
    judged, claimed = agree_on_single_changes(notebook, own, NOTEBOOK_KEYS, lambda near: plainly_valid_around_cells(near, shapes),
                                              lambda near: only_its_own_keys_wrong(near, minor))
    assert judged > 4000 and claimed > 600, (judged, claimed)
    for cell in [*EDGE_VALUES, {"cell_type": "markdown", "metadata": {}, "source": "", "id": "a.b"}]:
        near = {**notebook, "cells": [cell]}
        assert not plainly_valid(near, shapes) or notebook_valid(near, minor), cell


@pytest.mark.corpus
def test_corpus_notebooks_and_cells_the_shortcut_calls_valid_are_valid_for_every_minor_version() -> None:
    """Every notebook and cell of the corpus, as stored and in memory form, judged against every 4.x schema;
    most valid ones take the shortcut."""
    judged = claimed = valid = plain_notebooks = 0
    for content in corpus_contents():
        found = content.get("cells") if isinstance(content, dict) else None
        for minor in MINORS:
            notebook = {**content, "nbformat_minor": minor} if isinstance(content, dict) else content
            if plainly_valid(notebook, _shapes(minor)):
                assert notebook_valid(notebook, minor), minor
                plain_notebooks += 1
            for cell in found if isinstance(found, list) else []:
                is_valid = schema_valid(cell, minor)
                if plainly_valid_cell(cell, _shapes(minor)):
                    assert is_valid, (minor, cell)
                    claimed += 1
                valid += is_valid
                judged += 1
    assert judged > 10_000 and claimed > 0.9 * valid and plain_notebooks > 1000, (judged, claimed, valid, plain_notebooks)


TOP_LEVEL_FAULTS: dict[str, Callable[[dict[str, Any]], None]] = {
    "an unknown key": lambda nb: nb.update(path_="x"),  # as in copies of a corpus notebook
    "two unknown keys": lambda nb: nb.update(a=1, b=2),
    "metadata not an object": lambda nb: nb.update(metadata=[]),
    "a kernelspec without its name": lambda nb: nb["metadata"].update(kernelspec={"display_name": "x"}),
    "a language_info name of another type": lambda nb: nb["metadata"].update(language_info={"name": 3}),
    "orig_nbformat 0": lambda nb: nb["metadata"].update(orig_nbformat=0),
    "nbformat 5": lambda nb: nb.update(nbformat=5),
    "no metadata": lambda nb: nb.pop("metadata"),
}
CELL_FAULTS: dict[str, Callable[[dict[str, Any]], None]] = {
    "no cell fault": lambda cell: None,
    "an unknown cell key": lambda cell: cell.update(extra=1),
    "a source of another type": lambda cell: cell.update(source=3),
}


@pytest.mark.corpus
@pytest.mark.parametrize("minor", [4, 5])
def test_a_notebook_whose_cells_are_valid_gets_the_whole_schemas_first_error(minor: int) -> None:
    """With every cell valid for its own type, the first error is found without the cells (no oneOf
    over them): it must be the very error, worded the same, that the whole schema finds first."""
    from nbgit.check.schema import _explain, _first_error, schema_errors

    compared = 0
    for path in corpus_files("dev")[:40]:
        try:
            notebook = parse(path.read_bytes(), "x")
        except NbgitError:
            continue
        if notebook.major != 4 or not notebook.content["cells"]:
            continue
        for top in TOP_LEVEL_FAULTS.values():
            for in_cell in CELL_FAULTS.values():
                content = json.loads(json.dumps({**notebook.content, "nbformat_minor": minor}))
                top(content)
                in_cell(content["cells"][0])
                whole = _first_error(_validator(4, minor), content)
                expected = [] if whole is None else [_explain(content, 4, minor, whole)]
                found = [error for error in schema_errors(content, 4, minor) if "also the id" not in error.message]
                assert found == expected, (path.name, found, expected)
                compared += bool(expected)
    assert compared > 500


@pytest.mark.parametrize("minor", MINORS)
def test_key_orders_remembered_as_plain_never_let_other_keys_through(minor: int) -> None:
    """The shortcut remembers the orders of keys it found plain (`Keys.orders`, a bounded memo): a cell
    whose keys are those in another order, or one key more or fewer, is still judged on its keys."""
    import itertools

    from nbgit.check.schema_shapes import MAX_ORDERS

    shapes = _shapes(minor)
    base = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": "x"}
    if "id" in shapes.cells["code"].required:
        base["id"] = "a"
    for order in itertools.permutations(base):
        cell = {key: base[key] for key in order}
        assert plainly_valid_cell(cell, shapes) and schema_valid(cell, minor)
        for extra in ({**cell, "extra": 1}, {key: value for key, value in cell.items() if key != "source"}):
            assert not plainly_valid_cell(extra, shapes) and not schema_valid(extra, minor)
    assert len(shapes.cells["code"].orders) <= MAX_ORDERS
