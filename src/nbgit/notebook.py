"""Notebook bytes <-> plain dict, written exactly as Jupyter's own writer (nbformat) writes them.

Only the standard library is used here: this module sits on the git filter's hot path.

In memory a notebook is what `nbformat.reads(..., NO_CONVERT)` gives, as plain dicts: multi-line
strings joined, transient keys dropped. `serialise` splits them again and dumps the JSON with the
layout of the notebook's own nbformat version, so the bytes match `nbformat.write` exactly.

The clean filter reads a notebook only to write it back, mostly without outputs: with
`parse(..., keep_lines=True)` the cells' lists of lines that are exactly nbformat's split of their
own join (as Jupyter writes them all) stay as read, and a notebook left without outputs is then
written with nothing split or copied.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterator, NamedTuple

from nbgit import fastjson
from nbgit.errors import NbgitError
from nbgit.terminal import git_path_word, shell_word

# git's conflict markers at the start of a line, of any size (the `conflict-marker-size` attribute) from
# git's default of 7 up
SHORTEST_MARKER = 7
# a whole backslash run (tried from its first backslash only: from each, a run of n took n² steps), then \ud800-\udfff
_SURROGATE_ESCAPE = re.compile(rb"(?<!\\)(\\+)u[dD]([89a-fA-F])[0-9a-fA-F]{2}")
CONFLICT_MARKER = re.compile(rb"^(?:<{%d,}|>{%d,})(?: |\r?$)" % (SHORTEST_MARKER, SHORTEST_MARKER), re.MULTILINE)
MARKER_STARTS = (b"<" * SHORTEST_MARKER, b">" * SHORTEST_MARKER)  # what every marker starts with, git's or nbdime's inline ones
# metadata keys where merges record conflicts: nbdime's (in any metadata), and nbgit's merge driver's
# (in the notebook's metadata: the other side's values where both sides changed a key differently)
NBDIME_CONFLICTS_KEY = "nbdime-conflicts"
REMOTE_METADATA_KEY = "nbgit-remote-metadata"

# v4 text fields are split into lines for these mime types (besides every text/*)
_SPLIT_MIMES = frozenset({"application/javascript", "image/svg+xml"})
# notebook metadata nbformat's reader drops
_TRANSIENT_METADATA = frozenset({"orig_nbformat", "orig_nbformat_minor", "signature"})
# v2/v3 output fields holding multi-line text
_OLD_MULTILINE_OUTPUTS = ("text", "html", "svg", "latex", "javascript", "json")


class NotebookError(NbgitError):
    """Bytes that are not a notebook nbgit can read; says which file and what to do."""


class Notebook(NamedTuple):
    """A parsed notebook: its content in memory form, its nbformat major version, its line ending.

    `alike`: the C writer writes the content as nbformat does, known from reading it (`fastjson.Read`),
    so writing it walks nothing to find out. Content cleaned or edited keeps that (nbgit makes no
    floats); content built otherwise leaves it False.

    `split`: every text of the cells that nbformat writes as a list of lines (sources, attachments;
    outputs aside) is such a list, exactly as nbformat splits it: read so by `parse(...,
    keep_lines=True)`. Writing it then splits and copies the cells with outputs only. Cleaning keeps that
    (it drops text, never makes any); content built or edited otherwise leaves it False.
    """

    content: dict[str, Any]
    major: int
    crlf: bool = False
    alike: bool = False
    split: bool = False

    @property
    def minor(self) -> int:
        """nbformat_minor, 0 when absent or not an integer."""
        return minor_of(self.content)


def minor_of(content: dict[str, Any]) -> int:
    """A notebook's nbformat_minor, 0 when absent or not an integer (a stranger's may be null, a string...)."""
    minor = content.get("nbformat_minor", 0)
    return minor if isinstance(minor, int) else 0


def parse(data: bytes, path: str = "<stdin>", keep_lines: bool = False) -> Notebook:
    """Read notebook bytes; raise NotebookError naming `path` when they are not a notebook.

    `keep_lines` (nbformat 4): a list of lines in a cell's source or attachments that is exactly
    nbformat's split of its join stays a list (see `Notebook.split`); the rest is joined as usual.
    Only for content written straight back (`clean_bytes`): `clean` and `serialise` take either form,
    every other reader expects joined text.
    """
    content, alike, _ = _load_json(data, path)
    major = content.get("nbformat", 1)
    if not isinstance(major, int) or isinstance(major, bool) or major not in (1, 2, 3, 4):
        raise NotebookError(
            f"{path}: unsupported nbformat version {major!r}",
            "nbgit reads nbformat 1 to 4; open and re-save the notebook in Jupyter",
        )
    cells_key_ok = isinstance(content.get("cells"), list) if major in (1, 4) else _worksheets_ok(content)
    if not cells_key_ok or not isinstance(content.get("metadata", {}), dict):
        raise NotebookError(
            f"{path}: not a notebook (no list of cells)",
            "check that this file really is a Jupyter notebook, or remove it from the filter's patterns",
        )
    crlf = _first_line_ending_is_crlf(data)
    try:
        split = _rejoin(content, major, keep_lines)
    except (AttributeError, TypeError) as error:
        raise NotebookError(f"{path}: malformed notebook ({error})", "open and re-save it in Jupyter") from None
    return Notebook(content, major, crlf, alike, keep_lines and split)


def serialise(notebook: Notebook) -> bytes:
    """The notebook's bytes exactly as nbformat's writer for its version writes them."""
    content = notebook.content
    if notebook.major == 4:
        lines = _split_outputs(content) if notebook.split else _split_v4(content)
        data = fastjson.indented(lines, like=True if notebook.alike else content)
    elif notebook.major in (2, 3):
        # nbformat's v2 and v3 writers leave ensure_ascii at its default (True)
        data = fastjson.indented(_split_old(content, notebook.major), ascii=True, like=True if notebook.alike else content)
    else:
        data = json.dumps(content, indent=4).encode("utf-8")
    if not data.endswith(b"\n"):
        data += b"\n"
    if notebook.crlf:
        data = data.replace(b"\n", b"\r\n")
    return data


def cells(content: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every cell dict of a notebook in order, whatever its version (v2/v3 keep cells in worksheets)."""
    if "worksheets" in content and "cells" not in content:
        for worksheet in content.get("worksheets") or []:
            if isinstance(worksheet, dict):
                yield from (c for c in worksheet.get("cells") or [] if isinstance(c, dict))
    else:
        yield from (c for c in content.get("cells") or [] if isinstance(c, dict))


def source_of(cell: dict[str, Any]) -> str:
    """A cell's source text (v4 `source`, v2/v3 code cells `input`)."""
    text = cell.get("source", cell.get("input", ""))
    if isinstance(text, list):
        return "".join(t for t in text if isinstance(t, str))
    return text if isinstance(text, str) else ""


def conflicted_attachments(cell: dict[str, Any]) -> list[str]:
    """The names of a cell's attachments that a merge left in conflict: both versions kept beside it, as
    `LOCAL_name` and `REMOTE_name` (nbdime's way, which nbgit's merge keeps)."""
    names = cell.get("attachments") if isinstance(cell.get("attachments"), dict) else {}
    return sorted({str(name).split("_", 1)[1] for name in names if str(name).startswith(("LOCAL_", "REMOTE_"))})


def too_deep(path: str) -> NotebookError:
    """The error for JSON nested deeper than Python's recursion allows (hostile or broken, never Jupyter's)."""
    return NotebookError(f"{path}: JSON nested too deeply", _restore(path))


def _restore(path: str) -> str:
    return f"restore it with `git checkout -- {git_path_word(path)}` or fix it by hand" if path != "<stdin>" else "check what is piped in"


def _load_json(data: bytes, path: str) -> fastjson.Read:
    restore = _restore(path)
    if not data.strip():
        raise NotebookError(f"{path}: empty file, not a notebook", f"delete it or {restore}")
    if data.startswith(b"\xef\xbb\xbf"):
        raise NotebookError(f"{path}: starts with a UTF-8 byte order mark", "re-save it without a BOM (Jupyter never writes one)")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise NotebookError(f"{path}: UTF-16 text, not UTF-8", "re-save it as UTF-8 (Jupyter writes UTF-8)")
    try:
        read = fastjson.read(data)
    except UnicodeDecodeError as error:
        raise NotebookError(f"{path}: not UTF-8 text (byte {error.start})", f"re-save it as UTF-8, or {restore}") from None
    except json.JSONDecodeError as error:
        # markers at the start of a line always break JSON, so valid JSON needs no scan for them
        if has_conflict_markers(data):
            raise NotebookError(
                f"{path}: contains git conflict markers",
                f"run `nbgit resolve {shell_word(path)}` to rebuild a valid notebook from both sides",
            ) from None
        raise NotebookError(f"{path}: invalid JSON at line {error.lineno} column {error.colno} ({error.msg})", restore) from None
    except ValueError:  # an integer longer than Python converts (sys.get_int_max_str_digits), as in nbformat's reader
        raise NotebookError(f"{path}: holds a number too long to read (thousands of digits)", restore) from None
    except RecursionError:
        raise too_deep(path) from None
    if not isinstance(read.value, dict):
        raise NotebookError(f"{path}: not a notebook (top-level JSON is a {type(read.value).__name__}, not an object)", restore)
    if not read.paired and holds_lone_surrogate(data):
        raise NotebookError(f"{path}: holds a lone surrogate escape (one of \\ud800-\\udfff without its pair), which no UTF-8 file can hold", f"remove it (Jupyter cannot save it either), or {restore}")
    return read


def holds_lone_surrogate(data: bytes) -> bool:
    """Whether JSON text holds half of a UTF-16 surrogate pair (`"\\ud83d"` alone), which json.loads reads
    and no UTF-8 writer, nbformat's or nbgit's, can write: an escape of a high half not followed at
    once by one of a low half, or a low half not right after a high one. Found in the bytes (a
    backslash run of odd length is an escape; of even length, literal backslashes): one pass of a
    regular expression, 30 µs on 50 KB (two `in` tests for `\\ud` took 75 µs, a fifth of a clean).
    msgspec refuses such text, so what it read needs no search (`fastjson.Read.paired`)."""
    high_ends_at = -1  # where the escape of a high half ends, while no low half has followed it
    for escape in _SURROGATE_ESCAPE.finditer(data):
        if len(escape.group(1)) % 2 == 0:
            continue
        starts_at = escape.end(1) - 1
        if escape.group(2) in b"89abAB":
            if high_ends_at != -1:
                return True
            high_ends_at = escape.end()
        elif high_ends_at != starts_at:
            return True
        else:
            high_ends_at = -1
    return high_ends_at != -1


def has_conflict_markers(data: bytes) -> bool:
    """True when git's textual conflict markers, of any size, start a line of `data`."""
    return first_conflict_marker(data) is not None


def first_conflict_marker(data: bytes) -> re.Match[bytes] | None:
    """The first of git's textual conflict markers (CONFLICT_MARKER) in `data`; None when there is none.

    Every marker starts with a run of SHORTEST_MARKER angle brackets: a byte search for the runs
    (several times faster than the regular expression, which tries every line) rules out most files,
    and the expression looks from the first run on, where the first marker can start at the earliest.
    """
    runs = [found for found in (data.find(start) for start in MARKER_STARTS) if found >= 0]
    return CONFLICT_MARKER.search(data, min(runs)) if runs else None


def _worksheets_ok(content: dict[str, Any]) -> bool:
    worksheets = content.get("worksheets")
    return isinstance(worksheets, list) and all(isinstance(w, dict) for w in worksheets)


def _first_line_ending_is_crlf(data: bytes) -> bool:
    newline = data.find(b"\n")
    return newline > 0 and data[newline - 1 : newline] == b"\r"


def _is_json_mime(mime: str) -> bool:
    return mime == "application/json" or (mime.startswith("application/") and mime.endswith("+json"))


def _lines_read(lines: list[Any], keep: bool) -> Any:
    """A list of strings joined (in C: no per-line work); with `keep`, the list itself when it is exactly
    nbformat's split of that join, which writing would make again. TypeError when an item is no string."""
    joined = "".join(lines)
    return lines if keep and joined.splitlines(True) == lines else joined


def _rejoin(content: dict[str, Any], major: int, keep_lines: bool = False) -> bool:
    """In place: what nbformat's reader does after json.loads (rejoin lines, drop transient keys).

    With `keep_lines` (v4), the cells' lists of lines that are as nbformat writes them stay; returns
    whether no text of the cells (outputs aside) is left to split (meaningful with `keep_lines` only).
    """
    split = major == 4
    if major == 4:
        metadata = content.get("metadata") or {}
        for key in _TRANSIENT_METADATA:
            metadata.pop(key, None)
        for cell in content["cells"]:  # a list: parse checked it
            if not isinstance(cell, dict):
                continue
            cell_metadata = cell.get("metadata")
            if isinstance(cell_metadata, dict):
                cell_metadata.pop("trusted", None)
            source = cell.get("source")
            if isinstance(source, list):
                cell["source"] = source = _lines_read(source, keep_lines)
            split = split and not isinstance(source, str)
            attachments = cell.get("attachments")
            if attachments:
                for attachment in _dicts(attachments.values()):
                    split = _rejoin_bundle(attachment, keep_lines) and split
            if cell.get("cell_type") == "code":
                for output in cell.get("outputs") or ():
                    if not isinstance(output, dict):
                        continue
                    kind = output.get("output_type", "")
                    if kind in ("execute_result", "display_data"):
                        _rejoin_bundle(output.get("data") or {}, keep=False)
                    elif kind and isinstance(output.get("text", ""), list):
                        output["text"] = "".join(output["text"])
    elif major in (2, 3):
        if major == 3:
            content.pop("orig_nbformat", None)
            content.pop("orig_nbformat_minor", None)
        for cell in cells(content):
            if major == 3:
                if isinstance(cell.get("metadata"), dict):
                    cell["metadata"].pop("trusted", None)
                cell.pop("trusted", None)
            for holder, key in _old_text_fields(cell):
                if isinstance(holder[key], list):
                    holder[key] = _join_old_lines(holder[key], major)
    return split


def _join_old_lines(lines: list[Any], major: int) -> Any:
    if not all(isinstance(line, str) for line in lines):
        return lines
    if major == 3 and lines and lines[0].endswith(("\n", "\r")):
        return "".join(lines)
    return "\n".join(lines)


def _old_text_fields(cell: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str]]:
    if cell.get("cell_type") == "code":
        if "input" in cell:
            yield cell, "input"
        for output in _dicts(cell.get("outputs") or []):
            for key in _OLD_MULTILINE_OUTPUTS:
                if key in output:
                    yield output, key
    else:
        for key in ("source", "rendered"):
            if key in cell:
                yield cell, key


def _rejoin_bundle(bundle: dict[str, Any], keep: bool) -> bool:
    """In place: a mime bundle's lists joined but JSON's; with `keep`, those as nbformat writes them
    kept, and returns whether no text is left that nbformat writes split (True without `keep`)."""
    split = True
    for mime, value in bundle.items():
        if type(value) is list and not _is_json_mime(mime):
            try:
                bundle[mime] = value = _lines_read(value, keep and _written_split(mime))
            except TypeError:  # not all strings: nbformat leaves it too
                pass
        if keep and isinstance(value, str) and _written_split(mime):
            split = False
    return split


def _written_split(mime: str) -> bool:
    """Whether nbformat 4 writes text of this mime type split into lines."""
    return mime.startswith("text/") or mime in _SPLIT_MIMES


def _split_bundle(bundle: Any) -> Any:
    if not isinstance(bundle, dict):
        return bundle
    return {mime: value.splitlines(True) if isinstance(value, str) and _written_split(mime) else value for mime, value in bundle.items()}


def _split_v4(content: dict[str, Any]) -> dict[str, Any]:
    """A shallow copy of a v4 notebook with multi-line strings split into lines, as nbformat writes it."""
    result = dict(content)
    metadata = content.get("metadata")
    if isinstance(metadata, dict) and not _TRANSIENT_METADATA.isdisjoint(metadata):
        result["metadata"] = {k: v for k, v in metadata.items() if k not in _TRANSIENT_METADATA}
    result["cells"] = [_split_v4_cell(c) if isinstance(c, dict) else c for c in content.get("cells", [])]
    return result


def _split_outputs(content: dict[str, Any]) -> dict[str, Any]:
    """`_split_v4` of a notebook whose cells' own text is split already (`Notebook.split`): only the
    cells with outputs are copied and split; a notebook without outputs is written as it is."""
    cells = content["cells"]
    if not any(type(cell) is dict and cell.get("outputs") for cell in cells):
        return content
    return {**content, "cells": [_split_v4_cell(cell) if type(cell) is dict and cell.get("outputs") else cell for cell in cells]}


def _split_v4_cell(cell: dict[str, Any]) -> dict[str, Any]:
    cell = dict(cell)
    source = cell.get("source")
    if isinstance(source, str):
        cell["source"] = source.splitlines(True)
    attachments = cell.get("attachments")
    if isinstance(attachments, dict):
        cell["attachments"] = {name: _split_bundle(b) for name, b in attachments.items()}
    metadata = cell.get("metadata")
    if isinstance(metadata, dict) and "trusted" in metadata:
        cell["metadata"] = {k: v for k, v in metadata.items() if k != "trusted"}
    if cell.get("cell_type") == "code":
        outputs = cell.get("outputs")
        if outputs and isinstance(outputs, list):
            cell["outputs"] = [_split_v4_output(o) if isinstance(o, dict) else o for o in outputs]
    return cell


def _split_v4_output(output: dict[str, Any]) -> dict[str, Any]:
    kind = output.get("output_type")
    if kind in ("execute_result", "display_data") and isinstance(output.get("data"), dict):
        return {**output, "data": _split_bundle(output["data"])}
    if kind == "stream" and isinstance(output.get("text"), str):
        return {**output, "text": output["text"].splitlines(True)}
    return output


def _split_old(content: dict[str, Any], major: int) -> dict[str, Any]:
    """A copy of a v2/v3 notebook with text fields split as that version's writer splits them."""
    result = dict(content)
    if "worksheets" in content and "cells" not in content:
        result["worksheets"] = [
            {**sheet, "cells": [_split_old_cell(c, major) for c in sheet["cells"]]}
            if isinstance(sheet, dict) and isinstance(sheet.get("cells"), list)
            else sheet
            for sheet in content.get("worksheets") or []
        ]
    elif isinstance(content.get("cells"), list):
        result["cells"] = [_split_old_cell(c, major) for c in content["cells"]]
    return result


def _split_old_cell(cell: Any, major: int) -> Any:
    if not isinstance(cell, dict):
        return cell
    cell = dict(cell)
    if isinstance(cell.get("outputs"), list):
        cell["outputs"] = [dict(o) if isinstance(o, dict) else o for o in cell["outputs"]]
    for holder, key in _old_text_fields(cell):
        if isinstance(holder[key], str):
            holder[key] = holder[key].splitlines(major == 3)
    return cell


def _dicts(items: Any) -> Iterator[dict[str, Any]]:
    return (item for item in items if isinstance(item, dict))
