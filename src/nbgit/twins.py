"""A notebook's inputs as its jupytext text twin, and a twin's text back into a notebook.

The only module that imports jupytext (and, through it, nbformat), always inside functions: a sync
with nothing to do never gets here. Twins are written from the notebook as the clean filter commits
it, so a twin agrees with the committed notebook whatever volatile state the working copy carries.
"""

from __future__ import annotations

import copy
import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from nbgit.clean import clean
from nbgit.errors import NbgitError
from nbgit.notebook import Notebook, serialise
from nbgit.pairing import AUTO, PairSettings, Twin, check_extension, extension_for, jupytext_options, own_formats, simple_paired_paths, twin_format
from nbgit.policy import Policy

Inputs = tuple[tuple[str, str, str], ...]
# Cell metadata jupytext adds to keep a text layout; not an edit of the notebook.
LAYOUT_METADATA = frozenset({"lines_to_next_cell", "cell_marker"})


def twin_extension(metadata: dict[str, Any], pair: PairSettings, path: str) -> str:
    """The twin's extension for a notebook: the format's, else its kernel language's (via jupytext if unusual)."""
    extension = extension_for(metadata, pair, path)
    if extension is None:
        _jupytext()
        from jupytext.formats import auto_ext_from_metadata

        extension = auto_ext_from_metadata(metadata)
    if not extension:
        raise _unknown_language(path, metadata)
    return check_extension(extension, path)


def _unknown_language(path: str, metadata: dict[str, Any]) -> NbgitError:
    """The error for a notebook whose twin's extension cannot follow its kernel."""
    kernel = metadata.get("kernelspec") if isinstance(metadata.get("kernelspec"), dict) else {}
    language = kernel.get("language")
    what = f"its kernel language ({language}) has no jupytext script format" if language else "it names no kernel language"
    return NbgitError(
        f"{path}: cannot place its twin: {what}",
        'give the twin a fixed format in the policy ([pair] format = "md" or "py:percent"), or exclude it with [pair] exclude',
    )


def own_twin(root: Path, notebook: str, metadata: dict[str, Any], pair: PairSettings) -> Twin | None:
    """The twin the notebook's own `metadata.jupytext.formats` names, placed by jupytext's own rules
    (prefixes, suffixes, `auto`); None when they name no text format.

    What the formats say is repository content: the path must stay in the work tree, and more than
    one text format (nbgit keeps one twin per notebook) is an error naming the notebook.
    """
    formats = own_formats(metadata)
    where = f"{notebook}: its metadata.jupytext.formats {formats!r}"
    paths = simple_paired_paths(str(root / notebook), formats)
    if paths is None:  # not a simple format string: jupytext reads it
        _jupytext()
        from jupytext.paired_paths import paired_paths

        try:
            paths = paired_paths(str(root / notebook), "ipynb", formats)
        except Exception as error:  # noqa: BLE001 - jupytext raises many types; each becomes one line naming the file
            raise NbgitError(f"{where} cannot pair it: {error}", 'fix the formats in the notebook\'s metadata, e.g. "ipynb,py:percent"') from None
    texts = [(path, fmt) for path, fmt in paths if fmt.get("extension") != ".ipynb"]
    if not texts:
        return None
    if len(texts) > 1:
        raise NbgitError(
            f"{where} name {len(texts)} text formats; nbgit keeps one twin per notebook",
            'keep one text format in the notebook\'s formats, e.g. "ipynb,py:percent" (jupytext: --set-formats)',
        )
    path, fmt = texts[0]
    extension = fmt["extension"]
    if extension == AUTO:
        extension = twin_extension(metadata, pair._replace(extension=AUTO), notebook)
        path = path[: -len(AUTO)] + extension
    relative = Path(os.path.relpath(os.path.normpath(path), root)).as_posix()
    parts = relative.split("/")
    if parts[0] == ".." or any(part.lower() == ".git" for part in parts):
        raise NbgitError(f"{where} place its twin at {relative}, outside the work tree or in .git", 'keep twins in the repository\'s own folders, e.g. formats "ipynb,py:percent"')
    return Twin(relative, twin_format(check_extension(extension, notebook), fmt.get("format_name", "")))


def twin_text(notebook_content: dict[str, Any], policy: Policy, notebook_path: str, fmt: str, major: int = 4) -> str:
    """The text twin of a notebook (in memory form, any nbformat) in the jupytext format `fmt`,
    written from its cleaned inputs: what `nbgit sync` writes."""
    jupytext = _jupytext()
    cleaned = clean(notebook_content, major, policy).content
    try:
        return jupytext.writes(_as_v4(cleaned, major), fmt, config=_config(policy))
    except Exception as error:  # noqa: BLE001 - jupytext raises many types; each becomes one line naming the file
        raise NbgitError(f"{notebook_path}: jupytext cannot write it as {fmt}: {error}", "choose another [pair] format, or exclude this notebook with [pair] exclude") from None


def inputs(text: str, fmt: str, path: str) -> Inputs:
    """What a twin says about the notebook: each cell's type, source and metadata, as jupytext reads it."""
    nb = read_text(text, fmt, path)
    return tuple((c.cell_type, c.source, json.dumps(c.metadata, sort_keys=True)) for c in nb.cells)


def read_text(text: str, fmt: str, path: str) -> Any:
    """A twin's text as a jupytext notebook; an error naming the file when jupytext cannot read it."""
    jupytext = _jupytext()
    try:
        with _cells_unvalidated():
            return jupytext.reads(text, fmt)
    except Exception as error:  # noqa: BLE001
        raise NbgitError(f"{path}: jupytext cannot read it as {fmt}: {error}", "fix the file, or take the other side: nbgit sync --take notebook") from None


def notebook_from_text(
    text: str, fmt: str, existing: Notebook | None, policy: Policy, text_path: str, notebook_path: str, own_text: str | None = None
) -> bytes:
    """The notebook whose inputs are the twin's text: outputs and metadata of unchanged cells come from
    `existing` (the working notebook) when there is one, matched by jupytext's own alignment.

    A cell is unchanged when the twin says of it exactly what the notebook's own twin says: such a
    cell is kept as it is, byte for byte (source, metadata, id, outputs). `own_text` is the existing
    notebook's twin text when the caller has it already."""
    source = read_text(text, fmt, text_path)
    from jupytext.combine import combine_inputs_with_outputs, map_outputs_to_inputs
    from nbformat import from_dict

    if existing is None:
        result, minor, crlf = source, source.get("nbformat_minor", 5), False
    else:
        if existing.major != 4:
            raise NbgitError(
                f"{notebook_path}: nbformat {existing.major} notebooks cannot take edits from their twin",
                "open and re-save it in Jupyter (it then becomes nbformat 4), or take the notebook side: nbgit sync --take notebook",
            )
        outputs = from_dict(copy.deepcopy(existing.content))
        matches = map_outputs_to_inputs(source.cells, outputs.cells)
        result = combine_inputs_with_outputs(source, outputs, fmt)
        own_text = own_text or twin_text(existing.content, policy, notebook_path, fmt)
        own = read_text(own_text, fmt, notebook_path).cells
        views = own if len(own) == len(outputs.cells) else outputs.cells  # a policy dropping cells breaks the alignment
        for number, match in enumerate(matches):
            if match is not None and _unchanged_in_text(source.cells[number], views[match]):
                result.cells[number] = outputs.cells[match]
        minor, crlf = existing.minor, existing.crlf
    content = json.loads(json.dumps(result))
    if existing is not None:
        content = {**existing.content, **content}  # top-level keys beyond cells and metadata stay
    # the twin's header carries jupytext's own settings; the notebook keeps what it had
    content.setdefault("metadata", {}).pop("jupytext", None)
    kept = (existing.content.get("metadata") or {}).get("jupytext") if existing is not None else None
    if kept is not None:
        content["metadata"]["jupytext"] = kept
    had_ids = existing is not None and any("id" in cell for cell in existing.content.get("cells") or [])
    if minor < 5 and not had_ids:
        for cell in content.get("cells", []):
            cell.pop("id", None)  # cell ids came with nbformat 4.5: none in older notebooks
    return serialise(Notebook(content, 4, crlf))


def check_round_trip(text: str, fmt: str, notebook: Notebook, policy: Policy, notebook_path: str, text_path: str) -> None:
    """Refuse to write a twin that does not read back to the notebook's cells (types and sources).

    jupytext cannot express a few things in some formats (a final newline in a cell, some magics of
    some languages); a final newline is restored on the way back, anything else is an error naming
    the cell, so that no twin ever silently loses an input.
    """
    back = read_text(text, fmt, text_path).cells
    cells = _as_v4(clean(notebook.content, notebook.major, policy).content, notebook.major).cells
    for number, (ours, theirs) in enumerate(zip(cells, back), 1):
        if ours.cell_type != theirs.cell_type or not _same_in_text(ours.source, theirs.source):
            raise NbgitError(
                f"{notebook_path}: cell {number} does not survive the round trip through {fmt} (jupytext reads back a {theirs.cell_type} cell that differs)",
                f"choose another [pair] format, or exclude this notebook with [pair] exclude; {text_path} was not written",
            )
    if len(cells) != len(back):
        raise NbgitError(
            f"{notebook_path}: {len(cells)} cells become {len(back)} through {fmt}",
            f"choose another [pair] format, or exclude this notebook with [pair] exclude; {text_path} was not written",
        )


def _unchanged_in_text(cell: Any, existing: Any) -> bool:
    """A cell read from the twin that says nothing new about the notebook's cell: same type, same
    source up to trailing whitespace, same metadata but for jupytext's layout hints."""

    def meta(c: Any) -> dict[str, Any]:
        return {k: v for k, v in c.metadata.items() if k not in LAYOUT_METADATA}

    return cell.cell_type == existing.cell_type and _same_in_text(cell.source, existing.source) and meta(cell) == meta(existing)


def _same_in_text(ours: str, theirs: str) -> bool:
    """Equal up to trailing whitespace, which text formats do not keep."""
    return ours == theirs or ours.rstrip() == theirs.rstrip()


def _jupytext() -> Any:
    """Import jupytext, skipping two imports it never needs here and that cost most of its start-up:
    jsonschema's optional RFC 3987 grammar (built at import, about a second) and jupytext's
    Jupyter-server contents managers (tornado). Both stay importable by whoever needs them later."""
    if "jupytext" in sys.modules:
        return sys.modules["jupytext"]
    blocked = [name for name in ("rfc3987_syntax", "jupytext.sync_contentsmanager", "jupytext.async_contentsmanager") if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        import jupytext
    finally:
        for name in blocked:
            if sys.modules.get(name) is None:
                del sys.modules[name]
    return jupytext


@contextmanager
def _cells_unvalidated() -> Iterator[None]:
    """jupytext builds each cell it reads with nbformat's constructors, which check every new cell
    against the JSON schema: most of the time of reading a twin. Cells built from text are valid by
    construction and nbgit's writer does not depend on the schema, so the check is skipped here."""
    import nbformat.v4.nbbase as nbbase

    saved = nbbase.validate
    nbbase.validate = lambda node, ref=None: None
    try:
        yield
    finally:
        nbbase.validate = saved


def _config(policy: Policy) -> Any:
    from jupytext.config import JupytextConfiguration

    return JupytextConfiguration(**jupytext_options(policy))


def _as_v4(content: dict[str, Any], major: int) -> Any:
    from nbformat import convert, from_dict

    nb = from_dict(copy.deepcopy(content))
    return nb if major == 4 else convert(nb, 4)
