"""nbformat's JSON schema, checked fast: nbformat's own schema files through fastjsonschema.

`import nbformat` costs over a second where nbdime is installed; its schema files and the
compiled validator that nbformat itself uses by default (fastjsonschema) cost about 50 ms per minor
version and process (more than judging a hundred notebooks), so as little of it is compiled as a
notebook needs: none for a valid one or one whose only fault is keys it does not allow, one
definition for a fault in a cell. The verdict is nbformat's strict one (`nbformat.validator.isvalid`):
the schema of the notebook's own version and minor version, and cell ids unique. Failures are
narrowed down to the cell and output at fault, for a message a person can act on, worded as
fastjsonschema words them whatever was compiled (tests/test_schema_messages.py).
"""

from __future__ import annotations

import ast
import importlib.util
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator, NamedTuple

from nbgit.check.schema_shapes import CELL_TYPES, OUTPUT_TYPES, Shapes, only_unknown_keys, plainly_valid_around_cells, plainly_valid_cell, unknown_keys
from nbgit.notebook import cells

Validator = Callable[[Any], Any]

# schema files per (major, minor), as nbformat.vN.nbbase.nbformat_schema lists them
_SCHEMA_FILES = {**{(4, minor): f"v4/nbformat.v4.{minor}.schema.json" for minor in range(6)}, (3, 0): "v3/nbformat.v3.schema.json"}
_PATH_PART = re.compile(r"\.([^.\[]+)|\[(\d+)\]")
_UNKNOWN_KEYS = re.compile(r"(.*? must not contain )(\{.*\})( properties)", re.DOTALL)  # fastjsonschema's additionalProperties


class SchemaError(NamedTuple):
    """One reason a notebook breaks its schema: the cell at fault (numbered from 1) or None, and why."""

    cell: int | None
    message: str


def schema_errors(content: dict[str, Any], major: int, minor: int) -> Iterator[SchemaError]:
    """Why the notebook (in memory form) is not valid nbformat for its version; nothing when it is.

    nbformat 1 and 2 have no schema and notebooks from a newer minor version than nbformat knows
    are not judged (nbformat relaxes its schema for them).
    """
    if (major, minor) in _SCHEMA_FILES:
        error = _first_error_v4(content, minor) if major == 4 else _explained(content, major, minor, _first_error(_validator(major, minor), content))
        if error is not None:
            yield error
    if (major, minor) >= (4, 5):
        yield from _duplicate_ids(content)


def _first_error_v4(content: dict[str, Any], minor: int) -> SchemaError | None:
    """The whole schema's first error in a v4 notebook, worded (None when valid), compiling as little
    of the schema as the notebook needs.

    Importing fastjsonschema costs about 15 ms, compiling the whole schema 35 ms per minor version
    and process, one cell type's definition 5-14 ms. When all of the notebook but its cells and keys
    it does not allow is plainly valid (`schema_shapes`), the whole schema's first error is in the
    first cell not valid for its own type, or else those keys: only the definitions of the cell
    types at fault are compiled, and a cell whose only fault is keys its type does not allow needs
    none. A plain notebook needs no fastjsonschema at all.
    """
    shapes = _shapes(minor)
    if not plainly_valid_around_cells(content, shapes):
        return _explained(content, 4, minor, _first_error_cell_by_cell(content, minor))
    for number, cell in enumerate(content["cells"], 1):
        if plainly_valid_cell(cell, shapes):
            continue
        if not isinstance(cell, dict):  # (the whole schema words it)
            return _explained(content, 4, minor, _first_error(_validator(4, minor), content))
        fault = _cell_fault(cell, minor, shapes)
        if fault is not None:
            return SchemaError(number, fault)
    unknown = unknown_keys(content, shapes.notebook)
    return SchemaError(None, _must_not_contain("notebook", unknown)) if unknown else None


def _first_error_cell_by_cell(content: dict[str, Any], minor: int) -> Any:
    """The whole schema's first error in a v4 notebook (None when valid), found checking each cell
    against the definition of its own type when it can be.

    The schema checks cells against `oneOf` every cell type, so each cell is validated up to three
    times, and a valid one raises and catches an exception per other type. The definitions fix
    `cell_type` to one value each, so a cell is valid for the `oneOf` exactly when it is valid for its
    own type's definition: the same verdict at a third of the cost. A cell of a plain shape
    (`schema_shapes`) is known valid without asking fastjsonschema at all. When every cell is valid,
    the whole schema's first error is the one it finds with no cells (a kernelspec without its name,
    a minor version of the wrong type: `cells` may be empty), as it checks the rest the same way; when
    a cell is not known valid, the whole schema decides, and names it.
    """
    validator = _validator(4, minor)
    cells = content.get("cells")
    if not isinstance(cells, list):
        return _first_error(validator, content)
    shapes = _shapes(minor)
    for cell in cells:
        if plainly_valid_cell(cell, shapes):
            continue
        kind = cell.get("cell_type") if isinstance(cell, dict) else None
        if kind not in CELL_TYPES or _first_error(_definition_validator(minor, f"{kind}_cell"), cell) is not None:
            return _first_error(validator, content)
    return _first_error(validator, {**content, "cells": []})


def _first_error(validator: Validator, value: Any) -> Any:
    import fastjsonschema

    try:
        validator(value)
    except fastjsonschema.JsonSchemaException as error:
        return error
    return None


def _duplicate_ids(content: dict[str, Any]) -> Iterator[SchemaError]:
    seen: dict[str, int] = {}
    for number, cell in enumerate(cells(content), 1):
        cell_id = cell.get("id")
        if not isinstance(cell_id, str):
            continue
        if cell_id in seen:
            yield SchemaError(number, f"cell id {cell_id!r} is also the id of cell {seen[cell_id]} (ids must be unique)")
        else:
            seen[cell_id] = number


def _explained(content: dict[str, Any], major: int, minor: int, error: Any) -> SchemaError | None:
    return None if error is None else _explain(content, major, minor, error)


def _explain(content: dict[str, Any], major: int, minor: int, error: Any) -> SchemaError:
    """The whole schema's error narrowed to its cell and output: `oneOf` failures are re-checked against the cell's own type."""
    parts = _path_parts(error.name)
    if major != 4 or len(parts) < 2 or parts[0] != "cells" or not isinstance(parts[1], int):
        return SchemaError(None, _sentence(error.message, "notebook"))
    number = parts[1] + 1
    cell = content["cells"][parts[1]]
    if error.rule != "oneOf" or len(parts) > 2 or not isinstance(cell, dict):
        return SchemaError(number, _sentence(error.message, "cell", 2))
    fault = _cell_fault(cell, minor, _shapes(minor))  # (None only were a definition alone to disagree with the whole schema)
    return SchemaError(number, fault or _sentence(error.message, "cell", 2))


def _cell_fault(cell: dict[str, Any], minor: int, shapes: Shapes) -> str | None:
    """Why the cell is not valid for its own type's definition, narrowed to the output at fault (None when valid)."""
    kind = cell.get("cell_type")
    if kind not in CELL_TYPES:
        return f"unknown cell type {kind!r}"
    unknown = only_unknown_keys(cell, shapes)
    if unknown is not None:
        return _must_not_contain(f"{kind} cell", unknown)
    narrowed = _first_error(_definition_validator(minor, f"{kind}_cell"), cell)
    if narrowed is None:
        return None
    inner = _path_parts(narrowed.name)
    if narrowed.rule == "oneOf" and len(inner) == 2 and inner[0] == "outputs" and isinstance(inner[1], int):
        output = cell["outputs"][inner[1]]
        output_kind = output.get("output_type") if isinstance(output, dict) else None
        if output_kind not in OUTPUT_TYPES:
            return f"output {inner[1] + 1}: unknown output type {output_kind!r}"
        deeper = _first_error(_definition_validator(minor, output_kind), output)
        if deeper is not None:
            return f"output {inner[1] + 1}: " + _sentence(deeper.message, "output")
    return _sentence(narrowed.message, f"{kind} cell")


def _must_not_contain(what: str, unknown: set[str]) -> str:
    """fastjsonschema's words for keys a definition does not allow, relative to `what`, the keys sorted."""
    return f"{what} must not contain {_sorted_set(unknown)} properties"


def _sorted_set(keys: set[str]) -> str:
    """A set of keys as Python shows it (`{'a', 'b'}`), in sorted order rather than the set's own, which
    changes from one process to the next (string hashes are salted: PYTHONHASHSEED)."""
    return "{" + ", ".join(repr(key) for key in sorted(keys)) + "}"


def _keys_sorted(message: str) -> str:
    """fastjsonschema's message with the keys it lists as a set (`must not contain {'b', 'a'} properties`)
    sorted, so that one notebook gets the same words in every run; any other message as it is."""
    match = _UNKNOWN_KEYS.fullmatch(message)
    if match is None:
        return message
    try:
        keys = ast.literal_eval(match[2])  # (a literal only: never eval)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return message
    if not isinstance(keys, set) or not all(isinstance(key, str) for key in keys):
        return message
    return f"{match[1]}{_sorted_set(keys)}{match[3]}"


def _path_parts(name: str) -> list[str | int]:
    """`data.cells[3].outputs[0]` -> ["cells", 3, "outputs", 0]."""
    return [key if key else int(index) for key, index in _PATH_PART.findall(name.removeprefix("data"))]


def _sentence(message: str, what: str, drop: int = 0) -> str:
    """fastjsonschema's `data.cells[3].metadata must ...` as `cell metadata must ...`, relative to `what`
    (keys it lists as a set sorted)."""
    subject, _, rest = _keys_sorted(message).partition(" ")
    parts = _path_parts(subject)[drop:]
    where = ".".join(str(p) for p in parts)
    return f"{what} {where} {rest}" if where else f"{what} {rest}"


@lru_cache(maxsize=None)
def _validator(major: int, minor: int) -> Validator | None:
    if (major, minor) not in _SCHEMA_FILES:
        return None
    return _compile(_schema(major, minor))


@lru_cache(maxsize=None)
def _shapes(minor: int) -> Shapes:
    return Shapes.from_schema(_schema(4, minor))


@lru_cache(maxsize=None)
def _definition_validator(minor: int, definition: str) -> Validator:
    """The validator of one definition (`code_cell`, `stream`), compiled with only the definitions it
    refers to (a fifth of the whole schema's code for a markdown cell, a third for a code cell). Its
    errors are those the whole schema's own function for it raises: named from `data`, the same rules."""
    schema = _schema(4, minor)
    return _compile({"$schema": schema["$schema"], "definitions": schema["definitions"], "$ref": f"#/definitions/{definition}"})


def _compile(schema: dict[str, Any]) -> Validator:
    import fastjsonschema

    return fastjsonschema.compile(schema)


@lru_cache(maxsize=None)
def _schema(major: int, minor: int) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((_nbformat_folder() / _SCHEMA_FILES[(major, minor)]).read_text(encoding="utf-8"))
    return schema


@lru_cache(maxsize=1)
def _nbformat_folder() -> Path:
    """Where nbformat is installed, found without importing it."""
    spec = importlib.util.find_spec("nbformat")
    if spec is None or not spec.submodule_search_locations:
        from nbgit.errors import NbgitError

        raise NbgitError("nbformat is not installed: the schema check needs its schema files", "pip install nbformat")
    return Path(next(iter(spec.submodule_search_locations)))

