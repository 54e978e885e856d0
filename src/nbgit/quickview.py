"""textconv's view of a notebook under the default policy, for the notebooks that need nothing more.

git starts textconv once per notebook blob (`git log -p` of 40 commits: 80 processes). Through
`nbgit.render.view` each process imports the cleaning core (nbgit.notebook, nbgit.clean, nbgit.policy,
json, re, typing): about 20 ms, four times the work of reading and rendering a notebook of a megabyte.
Under the default policy the cleaned notebook as textconv shows it is simple to tell: outputs and
execution counts go, the volatile metadata keys go, sources and the rest stay. So this module builds
the same `NotebookView` from a v4 notebook directly, with nothing imported beyond the interpreter's
start-up, and returns None for everything that needs the core's judgement: another nbformat version,
keys nbformat does not define, outputs some cell or the notebook asks to keep, attachments split in lines, jupytext's
echoed settings, anything malformed. The caller then takes `nbgit.render.view`, which says what to do.
tests/test_render.py checks that both give the same text on every notebook of the corpus.
"""

from __future__ import annotations

from nbgit.leanjson import NotJSON, loads
from nbgit.render import HASH_CHARS, CellView, NotebookView, attachment_parts
from nbgit.volatile import VOLATILE_KEYS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# what nbformat 4 defines at the top and in a cell; anything else goes to the cleaning core
_NOTEBOOK_KEYS = frozenset({"cells", "metadata", "nbformat", "nbformat_minor"})
_CELL_KEYS = frozenset({"attachments", "cell_type", "execution_count", "id", "metadata", "outputs", "source"})
_CELL_TYPES = frozenset({"code", "markdown", "raw"})
# notebook metadata that nbformat's reader drops (nbgit.notebook does too)
_TRANSIENT = frozenset({"metadata.orig_nbformat", "metadata.orig_nbformat_minor"})
# the default policy's key paths to strip, and the dicts they sit in (as nbgit.clean reads them)
_STRIP = frozenset(VOLATILE_KEYS) | _TRANSIENT
_DESCEND = frozenset(path.rsplit(".", depth)[0] for path in _STRIP for depth in range(1, path.count(".") + 1))
# what jupytext echoes into a notebook's metadata (nbgit.clean drops it): the cell metadata filter
# of nbgit's jupytext.toml (a list of keys, so with commas), and a coding line atop the script
# twin of a notebook in another language than Python
_JUPYTEXT_UTF8_LINE = " -*- coding: utf-8 -*-"
_KEEP_OUTPUT = "keep_output"


def quick_view(data: bytes) -> NotebookView | None:
    """What `render.view(data, path, Policy())` gives, or None when only the cleaning core can tell."""
    try:
        content = loads(data.decode("utf-8"))
    except (UnicodeDecodeError, NotJSON, RecursionError):
        return None
    if type(content) is not dict or not _NOTEBOOK_KEYS.issuperset(content) or type(content.get("nbformat")) is not int:
        return None
    cells, metadata = content.get("cells"), content.get("metadata", {})
    if content["nbformat"] != 4 or type(cells) is not list or type(metadata) is not dict or _keeps_or_echoes(metadata):
        return None
    views = []
    for index, cell in enumerate(cells):
        view = _cell_view(cell, index)
        if view is None:
            return None
        views.append(view)
    ids = [view.cell_id for view in views]
    if all(ids) and len(set(ids)) == len(ids):  # ids of every cell, none empty, none twice
        views = [view._replace(handle=view.cell_id[:HASH_CHARS]) for view in views]
    minor = content.get("nbformat_minor", 0)
    return NotebookView(4, minor if isinstance(minor, int) else 0, _stripped(metadata, "metadata"), tuple(views))


def _keeps_or_echoes(metadata: dict[str, Any]) -> bool:
    """Whether the notebook asks to keep outputs, or holds jupytext settings nbgit may have echoed there."""
    jupytext = metadata.get("jupytext")
    if _KEEP_OUTPUT in metadata:
        return True
    if type(jupytext) is not dict:
        return False
    cell_filter, encoding = jupytext.get("cell_metadata_filter"), jupytext.get("encoding")
    if type(cell_filter) is str and "," in cell_filter:
        return True
    return type(encoding) is str and encoding.endswith(_JUPYTEXT_UTF8_LINE) and _language(metadata) != "python"


def _language(metadata: dict[str, Any]) -> str:
    """The kernel's language in lower case, as jupytext tells it ("" when the notebook does not say)."""
    kernel, info = metadata.get("kernelspec"), metadata.get("language_info")
    language = (kernel.get("language") if type(kernel) is dict else None) or (info.get("name") if type(info) is dict else None)
    return language.lower() if type(language) is str else ""


def _cell_view(cell: Any, index: int) -> CellView | None:
    """The cell as textconv shows it once cleaned (handle left empty), or None when the core must judge."""
    if type(cell) is not dict or not _CELL_KEYS.issuperset(cell) or cell.get("cell_type") not in _CELL_TYPES:
        return None
    attachments = cell.get("attachments")
    if attachments and not _plain_attachments(attachments):
        return None
    source = cell.get("source", "")
    if type(source) is list:
        if not all(type(line) is str for line in source):
            return None
        source = "".join(source)
    elif type(source) is not str:
        return None
    metadata = cell.get("metadata", {})
    if type(metadata) is not dict:
        return None
    if cell["cell_type"] == "code" and "outputs" in cell and not _outputs_go(cell["outputs"], metadata):
        return None
    cell_id = cell.get("id") if type(cell.get("id")) is str else None
    attached = attachment_parts(attachments)
    return CellView(index, "", cell["cell_type"], cell_id, source, (), _stripped(metadata, "cell.metadata"), None, attached)


def _plain_attachments(attachments: Any) -> bool:
    """Whether every attachment is a dict of single strings (as Jupyter saves pasted images), which
    nbformat's reader leaves as they are."""
    return type(attachments) is dict and all(
        type(bundle) is dict and all(type(value) is str for value in bundle.values()) for bundle in attachments.values()
    )


def _outputs_go(outputs: Any, metadata: dict[str, Any]) -> bool:
    """Whether the default policy strips these outputs, all of them well-formed (else the core judges)."""
    if type(outputs) is not list:
        return False
    tags = metadata.get("tags")
    if _KEEP_OUTPUT in metadata or "init_cell" in metadata or (type(tags) is list and _KEEP_OUTPUT in tags):
        return False
    for output in outputs:
        if type(output) is not dict:
            return False
        kind, data, text = output.get("output_type"), output.get("data", {}), output.get("text", "")
        if kind in ("execute_result", "display_data") and type(data) is not dict:
            return False
        if type(text) is list and not all(type(line) is str for line in text):
            return False
    return True


def _stripped(metadata: dict[str, Any], prefix: str) -> dict[str, Any]:
    """`metadata` (at key path `prefix`) without the keys the default policy strips, descending into
    the non-empty dicts where some are; a copy only when something goes."""
    result = metadata
    for key, value in metadata.items():
        path = f"{prefix}.{key}"
        if path in _STRIP:
            result = {k: v for k, v in result.items() if k != key}
        elif path in _DESCEND and value and type(value) is dict:
            inner = _stripped(value, path)
            if inner is not value:
                result = {**result, key: inner}
    return result
