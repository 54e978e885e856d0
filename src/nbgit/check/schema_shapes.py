"""Notebooks, cells and outputs that nbformat 4's schema plainly allows, recognised without fastjsonschema.

fastjsonschema checks a cell against `oneOf` every cell type and every string that may be split
into lines against `oneOf` a string and a list of strings: valid notebooks raise and catch one
exception per failed alternative, tens of thousands per run, and compiling a schema costs about 40 ms
per minor version and process. Most notebooks are of a plain shape: the keys the notebook and each
cell and output type require and allow (read from the schema of the notebook's own minor version),
values of exactly the types the schema asks for, metadata keys the schema constrains holding what
every 4.x minor version allows. Such a notebook is valid; anything else (an odd type, a subclass, a
newline in an id, an unknown output) is not claimed valid here and goes to fastjsonschema, so the
verdict never depends on this shortcut. tests/test_schema_shapes.py holds the proof. One fault is
also found here: keys a cell's type or the notebook does not allow, when they are all that is wrong
(cell ids in a 4.4 notebook), for `nbgit.check.schema` to word as fastjsonschema words it
(tests/test_schema_messages.py proves the words).
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

CELL_TYPES = ("raw", "markdown", "code")
OUTPUT_TYPES = ("execute_result", "display_data", "stream", "error")
# stricter than the schema's patterns (no newline, which `$` lets through, whole string matched)
_STRING = frozenset([str])
_CELL_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_JSON_MIME = re.compile(r"application/(?:[^\n]*\+)?json")
MAX_ORDERS = 64  # key orders remembered per definition (JSON from other tools may order keys in any way)
_ABSENT = object()  # a key not there (None is a value)


class Keys(NamedTuple):
    """The keys a definition requires and the keys it allows (its properties: no others are), with the
    orders of keys already found to be such (`_has_keys`: a run meets a handful, tens of thousands of times)."""

    required: frozenset[str]
    allowed: frozenset[str]
    orders: set[tuple[str, ...]]


class Shapes(NamedTuple):
    """The keys of the notebook, of each cell type and of each output type in one minor version's schema."""

    notebook: Keys
    least_minor: int  # the smallest nbformat_minor the schema allows
    cells: dict[str, Keys]
    outputs: dict[str, Keys]

    @classmethod
    def from_schema(cls, schema: dict[str, Any]) -> Shapes:
        definitions = schema["definitions"]

        def keys(definition: dict[str, Any], name: str) -> Keys:
            if definition.get("additionalProperties") is not False:
                raise ValueError(f"nbformat's schema now allows other keys in {name}: the shortcut no longer holds")
            return Keys(frozenset(definition["required"]), frozenset(definition["properties"]), set())

        return cls(
            keys(schema, "the notebook"),
            schema["properties"]["nbformat_minor"]["minimum"],
            {kind: keys(definitions[f"{kind}_cell"], kind) for kind in CELL_TYPES},
            {kind: keys(definitions[kind], kind) for kind in OUTPUT_TYPES},
        )


def plainly_valid_around_cells(content: Any, shapes: Shapes) -> bool:
    """True when all of the notebook but its cells and any keys it does not allow is valid (`cells` a
    list, of anything). The schema checks those keys last: its first error, if any, is then in the
    first cell not valid for its own type, or else the keys (`unknown_keys`)."""
    if type(content) is not dict or not shapes.notebook.required <= content.keys():
        return False
    minor, metadata = content["nbformat_minor"], content["metadata"]
    if type(content["nbformat"]) is not int or content["nbformat"] != 4 or type(minor) is not int or minor < shapes.least_minor:
        return False
    if type(metadata) is not dict or not all(_NOTEBOOK_METADATA[key](metadata[key]) for key in _NOTEBOOK_METADATA.keys() & metadata.keys()):
        return False
    return type(content["cells"]) is list


def plainly_valid_cell(cell: Any, shapes: Shapes) -> bool:
    """True when the cell is valid for the schema these shapes come from; False means "not known".

    Written for speed (a run judges tens of thousands of cells): one call, tests in C where it can.
    """
    if type(cell) is not dict:
        return False
    kind = cell.get("cell_type")
    keys = shapes.cells.get(kind) if type(kind) is str else None
    if keys is None or not _has_keys(cell, keys):
        return False
    metadata, source = cell["metadata"], cell["source"]
    if type(metadata) is not dict or metadata and not _plain_metadata(metadata):
        return False
    if type(source) is not str and not _lines(source):
        return False
    cell_id = cell.get("id", _ABSENT)
    if cell_id is not _ABSENT and (type(cell_id) is not str or _CELL_ID.fullmatch(cell_id) is None):
        return False
    if kind == "code":
        outputs = cell["outputs"]
        if not _count(cell["execution_count"]) or type(outputs) is not list:
            return False
        return not outputs or all(_plain_output(output, shapes) for output in outputs)
    attachments = cell.get("attachments", _ABSENT)
    return attachments is _ABSENT or type(attachments) is dict and all(map(_mimebundle, attachments.values()))


def only_unknown_keys(cell: dict[str, Any], shapes: Shapes) -> set[str] | None:
    """The keys a cell holds beyond those its type allows, when they are all that is wrong with it
    (None otherwise: no such keys, or other faults): nbformat's most common fault (cell ids in a
    notebook older than 4.5, keys other tools add), for words without fastjsonschema. The schema
    checks every other rule of a cell's definition first, so they are its first error only when the
    cell without them is valid."""
    kind = cell.get("cell_type")
    keys = shapes.cells.get(kind) if type(kind) is str else None
    if keys is None or not keys.required <= cell.keys() or cell.keys() <= keys.allowed:
        return None
    if not plainly_valid_cell({key: value for key, value in cell.items() if key in keys.allowed}, shapes):
        return None
    return unknown_keys(cell, keys)


def unknown_keys(value: dict[str, Any], keys: Keys) -> set[str]:
    """The keys of `value` that `keys` do not allow."""
    return value.keys() - keys.allowed


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
        return type(output["ename"]) is str and type(output["evalue"]) is str and type(traceback) is list and _STRING.issuperset(map(type, traceback))
    if kind == "execute_result" and not _count(output["execution_count"]):
        return False
    return _mimebundle(output["data"]) and type(output["metadata"]) is dict


def _has_keys(value: dict[Any, Any], keys: Keys) -> bool:
    order = tuple(value)
    if order in keys.orders:
        return True
    if not keys.required <= value.keys() <= keys.allowed:
        return False
    if len(keys.orders) < MAX_ORDERS:
        keys.orders.add(order)
    return True


def _plain_metadata(metadata: dict[str, Any]) -> bool:
    """Whether the keys of a cell's metadata that the schema constrains (for any cell type, any 4.x) hold what it allows."""
    return all(_CELL_METADATA[key](metadata[key]) for key in _CELL_METADATA.keys() & metadata.keys())


def _multiline(value: Any) -> bool:
    return type(value) is str or _lines(value)


def _lines(value: Any) -> bool:
    """A list of strings (as a multi-line text is written)."""
    return type(value) is list and _STRING.issuperset(map(type, value))


def _mimebundle(bundle: Any) -> bool:
    """Every value text (one string or lines), or anything under a JSON type such as application/json."""
    return type(bundle) is dict and all(_multiline(value) or (type(mime) is str and _JSON_MIME.fullmatch(mime)) for mime, value in bundle.items())


def _count(value: Any) -> bool:
    return value is None or (type(value) is int and value >= 0)


def _string(value: Any) -> bool:
    return type(value) is str


def _name(value: Any) -> bool:
    return type(value) is str and value != "" and "\n" not in value


def _tags(value: Any) -> bool:
    return type(value) is list and all(_name(tag) and "," not in tag for tag in value) and len(set(value)) == len(value)


_CELL_METADATA = {
    "name": _name,
    "tags": _tags,
    "format": _string,
    "jupyter": lambda value: type(value) is dict,
    "execution": lambda value: type(value) is dict and _STRING.issuperset(map(type, value.values())),
    "collapsed": lambda value: type(value) is bool,
    "scrolled": lambda value: type(value) is bool or value == "auto",
}


def _kernelspec(value: Any) -> bool:
    return type(value) is dict and type(value.get("name")) is str and type(value.get("display_name")) is str


def _language_info(value: Any) -> bool:
    if type(value) is not dict or type(value.get("name")) is not str or type(value.get("codemirror_mode", "")) not in (str, dict):
        return False
    return all(type(value.get(key, "")) is str for key in ("file_extension", "mimetype", "pygments_lexer"))


_NOTEBOOK_METADATA = {
    "kernelspec": _kernelspec,
    "language_info": _language_info,
    "orig_nbformat": lambda value: type(value) is int and value >= 1,
    "title": _string,
    "authors": lambda value: type(value) is list,
}
