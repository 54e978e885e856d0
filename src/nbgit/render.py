"""A notebook as readable text (git's textconv), and the per-cell pieces the diff reports reuse.

Only the standard library is used: git runs textconv once per changed notebook on every `git diff`,
`git log -p` and `git show`, so start-up and rendering must stay cheap. What reaches the terminal has
its control characters shown (`nbgit.terminal`): a source line must not be able to rewrite the screen.

The text has one block per cell: a header line `[code 1a2b3c4d]` (type and the cell id's first 8
characters; just `[code]` in notebooks without ids, so that inserting, deleting or moving one cell
changes no other cell's lines), the source, then the
outputs, summarised: text shown up to a line limit, images and other binary data as mime type,
decoded size and a short hash, errors as `ename: evalue`.
"""

from __future__ import annotations

from nbgit.leanjson import compact
from nbgit.record import Record
from nbgit.terminal import one_line, visible

TYPE_CHECKING = False  # typing would import re and enum: textconv's quick path imports this module
if TYPE_CHECKING:
    from typing import Any, Iterator

    from nbgit.notebook import Notebook
    from nbgit.policy import Policy

MAX_LINE_CHARS = 400
HASH_CHARS = 8

# nbformat 1-3 keep output data under short names; v4 uses mime types
_OLD_OUTPUT_MIMES = {
    "text": "text/plain",
    "html": "text/html",
    "markdown": "text/markdown",
    "latex": "text/latex",
    "svg": "image/svg+xml",
    "png": "image/png",
    "jpeg": "image/jpeg",
    "pdf": "application/pdf",
    "json": "application/json",
    "javascript": "application/javascript",
}
# mime types whose text is shown (the rest are summarised: size and hash)
_SHOWN_MIMES = ("text/plain", "text/markdown", "text/latex", "application/json")
_ANSI = r"\x1b\[[0-9;?]*[A-Za-z]"

# (the records are Records rather than NamedTuples for the same reason)


class Part(Record):
    """One shown piece of an output: a text (`text` set) or a summarised payload (`payload` set)."""

    __slots__ = ()
    label: str
    text: str | None = None
    mime: str = ""
    size: int = 0
    digest: str = ""
    payload: str | None = None

    def summary(self) -> str:
        """`image/png 12,345 bytes sha256:1a2b3c4d` for payloads, the label for texts."""
        if self.text is not None:
            return self.label
        return f"{self.mime} {self.size:,} bytes sha256:{self.digest}"

    @property
    def is_image(self) -> bool:
        """Whether a browser can show the payload as an image."""
        return self.payload is not None and self.mime.startswith("image/")


class CellView(Record):
    """A cell as the diff sees it: handle, type, source, summarised outputs and the metadata kept."""

    __slots__ = ()
    index: int
    handle: str
    cell_type: str
    cell_id: str | None
    source: str
    parts: tuple[Part, ...]
    metadata: dict[str, Any]
    execution_count: Any
    attachments: tuple[Part, ...]

    @property
    def title(self) -> str:
        """`code 1a2b3c4d`: type and handle (just the type in notebooks without ids)."""
        return f"{self.cell_type} {self.handle}".rstrip()

    @property
    def label(self) -> str:
        """What reports call the cell: its handle, or its position (`cell 3`) in notebooks without ids."""
        return self.handle or f"cell {self.index + 1}"


class NotebookView(Record):
    """A readable, cleaned notebook: version, the metadata that matters, and its cells."""

    __slots__ = ()
    major: int
    minor: int
    metadata: dict[str, Any]
    cells: tuple[CellView, ...]
    note: str = ""


def view(data: bytes, path: str, policy: Policy) -> NotebookView:
    """Parse and clean notebook bytes with `policy` and summarise them; raises NotebookError on bad input.

    Both sides of every diff go through here, so that the raw working-tree file and the already
    clean committed blob compare like with like.
    """
    from nbgit.clean import CleanError, clean
    from nbgit.notebook import Notebook, parse

    notebook = parse(data, path)
    note = ""
    try:
        content = clean(notebook.content, notebook.major, policy).content
    except CleanError as error:
        content, note = notebook.content, f"not cleaned: {error.message}"
    return _view_of(Notebook(content, notebook.major, notebook.crlf), note)


def _view_of(notebook: Notebook, note: str) -> NotebookView:
    from nbgit.notebook import cells

    content = notebook.content
    all_cells = list(cells(content))
    ids = [c.get("id") for c in all_cells]
    use_ids = all(isinstance(i, str) and i for i in ids) and len(set(ids)) == len(ids)
    views = tuple(_cell_view(cell, index, use_ids) for index, cell in enumerate(all_cells))
    metadata = content.get("metadata") if isinstance(content.get("metadata"), dict) else {}
    return NotebookView(notebook.major, notebook.minor, metadata, views, note)


def _cell_view(cell: dict[str, Any], index: int, use_ids: bool) -> CellView:
    from nbgit.notebook import source_of

    cell_id = cell.get("id") if isinstance(cell.get("id"), str) else None
    cell_type = cell.get("cell_type") if isinstance(cell.get("cell_type"), str) else "unknown"
    if cell_type == "heading":  # nbformat 3
        cell_type = f"heading {cell.get('level', 1)}"
    source = source_of(cell) or _v1_source(cell)
    # without ids, no handle: a position (`cell 3`) would renumber every cell below an inserted one, and
    # a hash of the content would change the header with every edit (measured in benchmarks/bench_diff.py)
    handle = cell_id[:HASH_CHARS] if use_ids and cell_id else ""
    metadata = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
    outputs = cell.get("outputs") if isinstance(cell.get("outputs"), list) else []
    parts = tuple(part for output in outputs for part in output_parts(output))
    count = cell.get("execution_count", cell.get("prompt_number"))
    return CellView(index, handle, cell_type, cell_id, source, parts, metadata, count, attachment_parts(cell.get("attachments")))


def attachment_parts(attachments: Any) -> tuple[Part, ...]:
    """A cell's attachments (pasted images), each as type, size and hash; by name, then mime type."""
    if not isinstance(attachments, dict):
        return ()
    return tuple(
        _payload_part(f"attachment {name}", mime, value)
        for name, bundle in sorted(attachments.items())
        if isinstance(bundle, dict)
        for mime, value in sorted(bundle.items())
    )


def _v1_source(cell: dict[str, Any]) -> str:
    """nbformat 1 keeps code in `code` and text in `text`."""
    text = cell.get("code", cell.get("text", ""))
    return text if isinstance(text, str) else ""


def output_parts(output: Any) -> Iterator[Part]:
    """The shown pieces of one output of any nbformat version."""
    if not isinstance(output, dict):
        yield Part("output", text=compact(output))
        return
    kind = output.get("output_type", "")
    if kind == "stream":
        name = output.get("name", output.get("stream", "stdout"))
        yield Part(str(name), text=_printable(output.get("text", "")))
    elif kind in ("error", "pyerr"):
        yield Part("error", text=f"{output.get('ename', '')}: {_printable(output.get('evalue', ''))}")
    else:
        bundle = output.get("data") if isinstance(output.get("data"), dict) else _old_bundle(output)
        label = "result" if kind in ("execute_result", "pyout") else "display"
        for mime in sorted(bundle):
            value = bundle[mime]
            if mime in _SHOWN_MIMES or (mime.startswith("text/") and mime != "text/html" and len(str(value)) < 4096):
                text = value if isinstance(value, str) else compact(value)
                yield Part(f"{label} {mime}", text=_printable(text), mime=mime)
            else:
                yield _payload_part(label, mime, value)


def _old_bundle(output: dict[str, Any]) -> dict[str, Any]:
    return {_OLD_OUTPUT_MIMES[key]: value for key, value in output.items() if key in _OLD_OUTPUT_MIMES}


def _payload_part(label: str, mime: str, value: Any) -> Part:
    """Binary (base64) or bulky data as type, decoded size and a short hash; the payload is kept for images."""
    import binascii  # only notebooks with kept images or data (attachments) pay for these imports

    text = value if isinstance(value, str) else compact(value)
    raw = text.encode("utf-8")
    if not mime.startswith("text/") and mime != "image/svg+xml" and not mime.endswith("json"):
        try:
            raw = binascii.a2b_base64(text.encode("ascii"))  # base64.b64decode(text), without base64's `re` (8 ms)
        except (binascii.Error, ValueError):
            pass
    digest = _sha256(raw).hexdigest()[:HASH_CHARS]
    payload = text if mime.startswith("image/") else None
    return Part(label, mime=mime, size=len(raw), digest=digest, payload=payload)


def _sha256(data: bytes) -> Any:
    """hashlib.sha256(data), from CPython's built-in module where there is one: hashlib loads OpenSSL (4 ms)."""
    try:
        from _sha2 import sha256  # type: ignore[import-not-found]  # CPython 3.12 and later
    except ImportError:
        try:
            from _sha256 import sha256  # type: ignore[import-not-found,no-redef]  # CPython 3.10 and 3.11
        except ImportError:
            from hashlib import sha256  # type: ignore[assignment]
    return sha256(data)


def _printable(text: Any) -> str:
    """Text as a terminal would leave it: ANSI colours gone, carriage-return progress bars collapsed."""
    if isinstance(text, list):
        text = "".join(t for t in text if isinstance(t, str))
    if not isinstance(text, str):
        return compact(text)
    import re  # only outputs need it: textconv's quick path shows none

    text = re.sub(_ANSI, "", text)
    if "\r" in text:
        text = "\n".join(line.rstrip("\r").rsplit("\r", 1)[-1] for line in text.replace("\r\n", "\n").split("\n"))
    return text


def truncated(text: str, max_lines: int) -> list[str]:
    """`text` as lines, at most `max_lines` of them (then a line saying how many more), long lines cut."""
    lines = text.splitlines()
    shown = [line if len(line) <= MAX_LINE_CHARS else line[:MAX_LINE_CHARS] + " [...]" for line in lines[:max_lines]]
    if len(lines) > max_lines:
        shown.append(f"[... {len(lines) - max_lines} more lines]")
    return shown


def source_lines(source: str) -> list[str]:
    """A cell's source as the lines Python reads: split at `\\n`, `\\r\\n` and `\\r` alone. str.splitlines
    also splits at form feeds, vertical tabs, `\\x1c`-`\\x1e`, NEL and U+2028/U+2029, which Python reads
    inside a line: split, `# check\\x0cverify(user)` would seem to call verify(), which is a comment.
    Kept in their line, they are shown as escapes (`\\f`)."""
    lines = source.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines[-1] == "":
        lines.pop()  # a final newline ends the last line, as with splitlines
    return lines


def part_lines(part: Part, max_lines: int) -> list[str]:
    """A part as text lines: `[label]` then its text indented, or one summary line."""
    if part.text is None:
        return [one_line(f"  [{part.label} {part.summary()}]")]
    return [one_line(f"  [{part.label}]"), *(f"  {line}" for line in truncated(part.text, max_lines))]


def metadata_lines(metadata: dict[str, Any], prefix: str) -> list[str]:
    """One `prefix.key: value` line per metadata key, sorted, values as compact JSON."""
    return [f"{prefix}{key}: {compact(metadata[key])}" for key in sorted(metadata)]


def notebook_summary(nb: NotebookView) -> str:
    """`nbformat 4.5, kernel python3 (Python 3), language python`: the metadata a reader needs first."""
    kernelspec = nb.metadata.get("kernelspec") if isinstance(nb.metadata.get("kernelspec"), dict) else {}
    language_info = nb.metadata.get("language_info") if isinstance(nb.metadata.get("language_info"), dict) else {}
    words = [f"nbformat {nb.major}.{nb.minor}"]
    if kernelspec.get("name"):
        display = f" ({kernelspec['display_name']})" if kernelspec.get("display_name") else ""
        words.append(f"kernel {kernelspec['name']}{display}")
    language = language_info.get("name") or kernelspec.get("language")
    if language:
        words.append(f"language {language}")
    return ", ".join(words)


def cell_lines(cell: CellView, max_lines: int) -> list[str]:
    """A cell as text: header, metadata, source, then attachments and outputs."""
    header = f"[{one_line(cell.title)}]"
    if cell.execution_count is not None:
        header += f" In [{cell.execution_count}]"
    lines = ["", header]
    lines += metadata_lines(cell.metadata, "  metadata.")
    lines += source_lines(cell.source)
    for part in (*cell.attachments, *cell.parts):
        lines += part_lines(part, max_lines)
    return lines


def render_text(nb: NotebookView, max_lines: int) -> str:
    """The whole notebook as text, for textconv: summary line, metadata, then one block per cell."""
    lines = [one_line(notebook_summary(nb))]
    if nb.note:
        lines.append(one_line(nb.note))
    other = {k: v for k, v in nb.metadata.items() if k not in ("kernelspec", "language_info")}
    lines += metadata_lines(other, "metadata.")
    for cell in nb.cells:
        lines += cell_lines(cell, max_lines)
    return "\n".join(lines) + "\n"


def textconv(data: bytes, path: str, policy: Policy) -> bytes:
    """textconv's output for notebook bytes: readable text, or the bytes as they are when they are no
    notebook; either way with control characters shown (`\033`), never sent to the terminal raw."""
    from nbgit.notebook import NotebookError

    try:
        nb = view(data, path, policy)
    except NotebookError:
        return visible(data.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")
    return text_of(nb, policy.section("diff")["max_output_lines"])


def text_of(nb: NotebookView, max_lines: int) -> bytes:
    """textconv's bytes for a notebook view: `render_text`, its control characters shown."""
    return visible(render_text(nb, max_lines)).encode("utf-8")
