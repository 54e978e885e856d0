"""Cells and outputs that nbformat 4's schema plainly allows, recognised without fastjsonschema.

fastjsonschema checks a cell against `oneOf` every cell type and every string that may be split
into lines against `oneOf` a string and a list of strings: valid notebooks raise and catch one
exception per failed alternative, tens of thousands per run. Most cells are of a plain shape: the
keys their type requires and allows (read from the schema of the notebook's own minor version),
values of exactly the types the schema asks for, metadata keys the schema constrains holding what
every 4.x minor version allows. Such a cell is valid; anything else (an odd type, a subclass, a
newline in an id, an unknown output) is not claimed valid here and goes to fastjsonschema, so the
verdict and its message never depend on this shortcut. tests/test_schema_shapes.py holds the proof.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

CELL_TYPES = ("raw", "markdown", "code")
OUTPUT_TYPES = ("execute_result", "display_data", "stream", "error")
# stricter than the schema's patterns (no newline, which `$` lets through, whole string matched)
_CELL_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_JSON_MIME = re.compile(r"application/(?:[^\n]*\+)?json")


class Keys(NamedTuple):
    """The keys a definition requires and the keys it allows (its properties: no others are)."""

    required: frozenset[str]
    allowed: frozenset[str]


class Shapes(NamedTuple):
    """The keys of each cell type and output type in one minor version's schema."""

    cells: dict[str, Keys]
    outputs: dict[str, Keys]

    @classmethod
    def from_schema(cls, schema: dict[str, Any]) -> Shapes:
        definitions = schema["definitions"]

        def keys(name: str) -> Keys:
            definition = definitions[name]
            if definition.get("additionalProperties") is not False:
                raise ValueError(f"nbformat's schema now allows other keys in {name}: the shortcut no longer holds")
            return Keys(frozenset(definition["required"]), frozenset(definition["properties"]))

        return cls({kind: keys(f"{kind}_cell") for kind in CELL_TYPES}, {kind: keys(kind) for kind in OUTPUT_TYPES})


def plainly_valid_cell(cell: Any, shapes: Shapes) -> bool:
    """True when the cell is valid for the schema these shapes come from; False means "not known"."""
    if type(cell) is not dict:
        return False
    kind = cell.get("cell_type")
    keys = shapes.cells.get(kind) if type(kind) is str else None
    if keys is None or not _has_keys(cell, keys) or not _plain_metadata(cell["metadata"]):
        return False
    if not _multiline(cell["source"]) or ("id" in cell and not _cell_id(cell["id"])):
        return False
    if kind == "code":
        outputs = cell["outputs"]
        return _count(cell["execution_count"]) and type(outputs) is list and all(_plain_output(output, shapes) for output in outputs)
    attachments = cell.get("attachments", {})
    return type(attachments) is dict and all(_mimebundle(bundle) for bundle in attachments.values())


def _plain_output(output: Any, shapes: Shapes) -> bool:
    if type(output) is not dict:
        return False
    kind = output.get("output_type")
    keys = shapes.outputs.get(kind) if type(kind) is str else None
    if keys is None or not _has_keys(output, keys):
        return False
    if kind == "stream":
        return type(output["name"]) is str and _multiline(output["text"])
    if kind == "error":
        traceback = output["traceback"]
        return type(output["ename"]) is str and type(output["evalue"]) is str and type(traceback) is list and all(type(line) is str for line in traceback)
    if kind == "execute_result" and not _count(output["execution_count"]):
        return False
    return _mimebundle(output["data"]) and type(output["metadata"]) is dict


def _has_keys(value: dict[Any, Any], keys: Keys) -> bool:
    return keys.required <= value.keys() <= keys.allowed


def _plain_metadata(metadata: Any) -> bool:
    """A metadata dict whose keys the schema constrains (for any cell type, any 4.x) hold what it allows."""
    if type(metadata) is not dict:
        return False
    for key in _CONSTRAINED.keys() & metadata.keys():
        if not _CONSTRAINED[key](metadata[key]):
            return False
    return True


def _multiline(value: Any) -> bool:
    return type(value) is str or (type(value) is list and all(type(line) is str for line in value))


def _mimebundle(bundle: Any) -> bool:
    """Every value text (one string or lines), or anything under a JSON type such as application/json."""
    return type(bundle) is dict and all(_multiline(value) or (type(mime) is str and _JSON_MIME.fullmatch(mime)) for mime, value in bundle.items())


def _count(value: Any) -> bool:
    return value is None or (type(value) is int and value >= 0)


def _cell_id(value: Any) -> bool:
    return type(value) is str and _CELL_ID.fullmatch(value) is not None


def _name(value: Any) -> bool:
    return type(value) is str and value != "" and "\n" not in value


def _tags(value: Any) -> bool:
    return type(value) is list and all(_name(tag) and "," not in tag for tag in value) and len(set(value)) == len(value)


_CONSTRAINED = {
    "name": _name,
    "tags": _tags,
    "format": lambda value: type(value) is str,
    "jupyter": lambda value: type(value) is dict,
    "execution": lambda value: type(value) is dict and all(type(time) is str for time in value.values()),
    "collapsed": lambda value: type(value) is bool,
    "scrolled": lambda value: type(value) is bool or value == "auto",
}
