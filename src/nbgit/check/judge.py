"""The checks on one notebook: its bytes as they would be committed in, its problems out. No I/O, no git.

Every check judges the content as it would be committed: the staged blob, or the working-tree
file as git would store it (through the clean filter when the filter is in effect for it).
`not-clean` compares that content with what `nbgit clean` makes of it; the content checks
(schema, conflict markers left inside cells, hidden state, sizes) judge the cleaned notebook, so a
problem that cleaning removes is reported once, as `not-clean`, and the rest once each.

The checks that need the repository (pairs, wiring) live in `nbgit.check.runner`; the catalogue of
checks and the problem record in `nbgit.check.catalogue`.
"""

from __future__ import annotations

import json
import re
import warnings
from typing import Any, Iterator, NamedTuple

from nbgit.check.catalogue import Problem, Settings, problem
from nbgit.clean import CleanError, clean, dropped
from nbgit.notebook import MARKER_STARTS, NBDIME_CONFLICTS_KEY, REMOTE_METADATA_KEY, Notebook, NotebookError, cells
from nbgit.notebook import conflicted_attachments, first_conflict_marker, parse, serialise, source_of
from nbgit.policy import Policy


# nbdev's merge writes marker cells `` `<<<<<<< HEAD` ``; nbdime wraps its marker cells in red HTML.
_MARKER_LINE = re.compile(r'^(?:`|<span style="color:red"><b>)?(<{7,}|>{7,})(?=[ `<]|$)', re.MULTILINE)
_FENCED = re.compile(r"^ {0,3}(```|~~~).*?(^ {0,3}\1|\Z)", re.MULTILINE | re.DOTALL)
_FIRST_CHANGES = ("outputs", "execution_count", "prompt_number", "dropped")
_RECORD_KEYS = (NBDIME_CONFLICTS_KEY.encode(), REMOTE_METADATA_KEY.encode(), b'"LOCAL_', b'"REMOTE_')  # (and an attachment's two versions)
# Of one notebook's code cells holding a marker line, the characters compiled to tell the marker from a
# string; past them a marker counts. Compiling source that does not compile takes about 3 s and 500 MB
# a MB (a 10 MB cell: 30 s and 4.8 GB), and nbdev's marker examples are a few lines.
MAX_COMPILED_CHARS = 200_000


class Judgement(NamedTuple):
    """A notebook's problems, and the notebook as read (None when it could not be): what else a caller
    wants to know of it (where its own formats place a twin, say) needs no second read."""

    problems: list[Problem]
    notebook: Notebook | None = None


def judge(
    path: str, committed: bytes, policy: Policy, settings: Settings, filtered: bool = False, work_tree: bytes | None = None
) -> Judgement:
    """Every problem of one notebook whose bytes, as they would be committed, are `committed`.

    With `filtered`, `committed` is the working-tree file and git's clean filter is in effect for
    it: what git stores is then the cleaned file (or the bytes unchanged if they cannot be cleaned,
    as the filter does). `work_tree` is the working-tree file a staged blob came from: its execution
    counts, stripped from what is committed, tell in which order the kept outputs were made.
    """
    found: list[Problem] = []
    if settings.untitled is not None and settings.enabled("untitled") and settings.untitled.search(path):
        found.append(problem("untitled", path, "named like an unnamed or copied notebook"))
    angles = MARKER_STARTS[0] in committed or MARKER_STARTS[1] in committed
    marker = first_conflict_marker(committed) if angles else None
    if marker is not None:
        if settings.enabled("conflict"):
            line = committed.count(b"\n", 0, marker.start()) + 1
            found.append(problem("conflict", path, f"git conflict markers (line {line}): not a readable notebook", line=line,
                                 hint="run `nbgit resolve PATH` to rebuild a valid notebook from both sides (`--take local` keeps your side)"))
        return Judgement(found)
    try:
        notebook = parse(committed, path)
        cleaned = clean(notebook.content, notebook.major, policy)
    except (NotebookError, CleanError) as error:
        if settings.enabled("invalid"):
            found.append(problem("invalid", path, error.message.removeprefix(f"{path}: "), hint=error.hint or None))
        return Judgement(found)
    canonical = serialise(notebook._replace(content=cleaned.content))  # read alike, cleaned: written without a walk
    as_committed = canonical == committed
    if not filtered and not as_committed and settings.enabled("not-clean"):
        found.append(_not_clean(path, cleaned.changes))
    content = cleaned.content
    if settings.enabled("invalid"):
        found.extend(_schema(path, content, notebook))
    if settings.enabled("conflict") and _may_hold_markers(canonical, angles if as_committed else None):
        found.extend(_inline_conflicts(path, content))
    if settings.enabled("hidden-state") and _keeps_outputs(content):  # without outputs nothing shown can be stale
        counted = _with_counts(path, content, notebook, committed, work_tree, policy)
        if counted is not None:
            found.extend(_hidden_state(path, counted, notebook.major, settings.execution_order, policy))
    # an output's compact JSON is shorter than the whole notebook in Jupyter's indented layout
    if settings.enabled("output-size") and settings.max_output_bytes is not None and len(canonical) > settings.max_output_bytes:
        found.extend(_large_outputs(path, content, settings.max_output_bytes))
    if settings.enabled("notebook-size") and settings.max_notebook_bytes is not None and len(canonical) > settings.max_notebook_bytes:
        found.append(problem("notebook-size", path, f"{_size(len(canonical))} (max_notebook_bytes is {_size(settings.max_notebook_bytes)})"))
    return Judgement(found, notebook)


def _not_clean(path: str, changes: list[str]) -> Problem:
    """One problem per notebook: what would be stripped, grouped (`outputs in 12 cells, metadata.widgets`)."""
    if not changes:
        return problem("not-clean", path, "not in Jupyter's own JSON layout (re-saved by another tool)")
    first_cell: int | None = None
    counts: dict[str, int] = {}
    for change in changes:
        where, _, what = change.partition(": ")
        what = what.split(" (", 1)[0]
        if where.startswith("cell "):
            first_cell = first_cell or int(where[5:])
            counts[what] = counts.get(what, 0) + 1
        else:
            counts.setdefault(what, 0)
    first = sorted(counts, key=lambda what: what not in _FIRST_CHANGES)  # the changes that matter most lead
    parts = [f"{what} in {counts[what]} cell{'s' * (counts[what] != 1)}" if counts[what] else what for what in first]
    shown = ", ".join(parts[:4]) + (f" and {len(parts) - 4} more" if len(parts) > 4 else "")
    return problem("not-clean", path, f"not clean: {shown}", cell=first_cell)


def _schema(path: str, content: dict[str, Any], notebook: Notebook) -> Iterator[Problem]:
    from nbgit.check.schema import schema_errors

    for error in schema_errors(content, notebook.major, notebook.minor):
        version = f"{notebook.major}.{notebook.minor}"
        yield problem("invalid", path, f"not valid nbformat {version}: {error.message}", cell=error.cell)


def _may_hold_markers(canonical: bytes, angles: bool | None = None) -> bool:
    """Whether the cleaned notebook, in Jupyter's layout (which never escapes `<` or `>`), could hold an
    inline marker, nbdime's conflict record, the other side's metadata or an attachment's two versions: a scan in C that spares the
    per-cell search on almost every notebook. `angles`: whether it holds `<<<<<<<` or `>>>>>>>`, when
    known already (its bytes are those committed, scanned for git's markers)."""
    if angles is None:
        angles = MARKER_STARTS[0] in canonical or MARKER_STARTS[1] in canonical
    return angles or any(key in canonical for key in _RECORD_KEYS)


def _inline_conflicts(path: str, content: dict[str, Any]) -> Iterator[Problem]:
    """Markers left inside cells by nbdime's inline merge or nbdev's merge, nbdime's recorded conflicts, and
    attachments a merge kept in two versions."""
    if NBDIME_CONFLICTS_KEY in (content.get("metadata") or {}):
        yield problem("conflict", path, "unresolved nbdime conflicts recorded in the notebook's metadata (nbdime-conflicts)",
                      hint="resolve them with `nbdime mergetool`, then delete the `nbdime-conflicts` key")
    if REMOTE_METADATA_KEY in (content.get("metadata") or {}):
        yield problem("conflict", path, f"notebook metadata changed differently on both sides of a merge ({REMOTE_METADATA_KEY} holds the other side's)",
                      hint=f"keep the values you want in the notebook's metadata, then delete the `{REMOTE_METADATA_KEY}` key")
    python = _is_python(content)
    compilable = MAX_COMPILED_CHARS
    for number, cell in enumerate(cells(content), 1):
        metadata = cell.get("metadata")
        if isinstance(metadata, dict) and NBDIME_CONFLICTS_KEY in metadata:
            yield problem("conflict", path, "unresolved nbdime conflicts recorded in the cell's metadata (nbdime-conflicts)", cell=number,
                          hint="resolve them with `nbdime mergetool`, then delete the cell's `nbdime-conflicts` key")
            continue
        for name in conflicted_attachments(cell):
            yield problem("conflict", path, f"attachment {name} changed differently on both sides of a merge (LOCAL_{name} and REMOTE_{name} hold each side's)",
                          cell=number, hint=f"keep the version you want as {name}, then delete LOCAL_{name} and REMOTE_{name}")
        marker, compiled = _source_marker(cell, python, compilable)
        compilable -= compiled
        marker = marker or _output_marker(cell)
        if marker is not None:
            yield problem("conflict", path, f"merge conflict marker {marker.group(1)} left in the cell", cell=number)


def _is_python(content: dict[str, Any]) -> bool:
    metadata = content.get("metadata") if isinstance(content.get("metadata"), dict) else {}
    for key in ("kernelspec", "language_info"):
        table = metadata.get(key)
        if isinstance(table, dict) and isinstance(table.get("language", table.get("name")), str):
            return str(table.get("language", table.get("name"))).lower().startswith("python")
    return "kernelspec" not in metadata  # nbformat's default kernel is Python


def _source_marker(cell: dict[str, Any], python: bool, compilable: int) -> tuple[re.Match[str] | None, int]:
    """A marker line in the cell's source, unless it is text: inside a Markdown code fence, or a Python
    string (nbdev's own documentation shows conflicts that way, and that source still compiles); with
    how many characters were compiled to tell (a source longer than `compilable` is not: its marker counts)."""
    source = source_of(cell)
    found = _MARKER_LINE.search(source)
    if found is None:
        return None, 0
    if cell.get("cell_type") == "markdown":
        return _MARKER_LINE.search(_FENCED.sub("", source)), 0
    if cell.get("cell_type") == "code" and python and len(source) <= compilable:
        return (None if _compiles(source) else found), len(source)
    return found, 0


def _compiles(source: str) -> bool:
    """Whether Python source (IPython's magic and shell lines blanked) compiles; never runs it."""
    code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.split("\n"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SyntaxWarnings of the user's code are not ours to print
        try:
            compile(code, "<cell>", "exec", dont_inherit=True)
        except (SyntaxError, ValueError, MemoryError, RecursionError):  # nested past the parser's limits: not compiled
            return False
    return True


def _output_marker(cell: dict[str, Any]) -> re.Match[str] | None:
    """nbdime's inline merge marks conflicting outputs with stream outputs holding the markers."""
    for output in cell.get("outputs") or []:
        if isinstance(output, dict) and output.get("output_type") == "stream" and isinstance(output.get("text"), str):
            found = _MARKER_LINE.search(output["text"])
            if found:
                return found
    return None


def _with_counts(
    path: str, content: dict[str, Any], notebook: Notebook, committed: bytes, work_tree: bytes | None, policy: Policy
) -> dict[str, Any] | None:
    """The notebook whose execution counts describe the outputs that will be committed: the cleaned one
    when the policy keeps counts; else the notebook before cleaning (the working-tree file, or the
    one a staged blob was cleaned from); None when no counts are left to judge by."""
    if policy.execution_count == "keep" or _counts(notebook.content, notebook.major):
        return content if policy.execution_count == "keep" else notebook.content
    if work_tree is None:
        return None
    try:
        before = parse(work_tree, path)
        if serialise(before._replace(content=clean(before.content, before.major, policy).content)) != committed:
            return None  # changed since it was staged: its counts are not those of the staged outputs
    except (NotebookError, CleanError):
        return None
    return before.content


def _counts(content: dict[str, Any], major: int) -> bool:
    key = "execution_count" if major == 4 else "prompt_number"
    return any(isinstance(cell.get(key), int) for cell in cells(content) if cell.get("cell_type") == "code")


def _keeps_outputs(content: dict[str, Any]) -> bool:
    """Whether some code cell of the notebook keeps an output: only then is hidden state judged."""
    return any(c.get("outputs") for c in cells(content) if c.get("cell_type") == "code")


def _hidden_state(path: str, counted: dict[str, Any], major: int, order: str, policy: Policy) -> Iterator[Problem]:
    """Execution counts of the cells that ran (count not null), in cell order: 1 first, then increasing.

    Only notebooks whose committed content keeps some output are judged (`_keeps_outputs`). The counts
    come from `counted` (see `_with_counts`), leaving out the cells the policy drops (a scratch cell run
    last never reaches the commit), so that cells are numbered as committed. With `order = "consecutive"`
    a gap (1, 2, 4) also counts: a cell ran that is not in the notebook.
    """
    key = "execution_count" if major == 4 else "prompt_number"
    previous: int | None = None
    for number, cell in enumerate((c for c in cells(counted) if not dropped(c, policy)), 1):
        count = cell.get(key) if cell.get("cell_type") == "code" else None
        if not isinstance(count, int) or isinstance(count, bool):
            continue
        if previous is None and count != 1:
            yield problem("hidden-state", path, f"the first cell that ran has execution count {count}, not 1: "
                          "the kernel had run other code before", cell=number)
            return
        if previous is not None and count <= previous:
            yield problem("hidden-state", path, f"ran before the cells above it (execution count {count} after {previous}): "
                          "its outputs may depend on state a fresh run would not have", cell=number)
            return
        if previous is not None and order == "consecutive" and count != previous + 1:
            yield problem("hidden-state", path, f"execution count {count} follows {previous}: "
                          "code ran in between that is not in the notebook (or a cell ran twice)", cell=number)
            return
        previous = count


def _large_outputs(path: str, content: dict[str, Any], limit: int) -> Iterator[Problem]:
    for number, cell in enumerate(cells(content), 1):
        for index, output in enumerate(cell.get("outputs") or [], 1):
            size = len(json.dumps(output, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
            if size > limit:
                yield problem("output-size", path, f"output {index} is {_size(size)} (max_output_bytes is {_size(limit)})", cell=number)


def _size(count: int) -> str:
    """Bytes for people: 950 bytes, 12.3 KB, 4.1 MB (powers of 1000, as file browsers show)."""
    if count < 1000:
        return f"{count} bytes"
    if count < 1_000_000:
        return f"{count / 1000:.1f} KB"
    return f"{count / 1_000_000:.1f} MB"
