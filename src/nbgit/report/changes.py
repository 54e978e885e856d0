"""The diff of notebooks between two revisions: which notebooks changed and, cell by cell, how.

Each side is shown as the commit holds it: a committed blob as it is, a working-tree file as git
would store it (through nbgit's clean filter where that is in effect). Outputs the commits hold are
shown (`[diff] outputs = "hide"` or `--outputs hide` leaves every output out); volatile metadata and
execution counts the policy strips never are. Outputs are judged as a reader sees them
(`nbgit.outputs`): a re-encoded plot with the same pixels or a timing that moved is no change, so a
notebook whose only changes are volatile is recognised as such. Cells are aligned by id when
every cell on both sides has a unique one, else by content (a longest common subsequence of whole
cells, then the most similar sources paired as edits). Only the standard library and git are used:
nbdime's diff takes minutes on large notebooks.

The formats live beside this module: `text`, `markdown`, `html`.
"""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbgit import gitrepo
from nbgit.errors import NbgitError
from nbgit.notebook import NotebookError
from nbgit.outputs import Sameness
from nbgit.policy import Policy
from nbgit.render import CellView, NotebookView, Part, notebook_summary, part_lines, source_lines, view
from nbgit.sequences import BoundedMatcher, TooMuchWork, WorkBudget, common_ends, unified_diff

# similarity (difflib ratio of sources) above which two unaligned cells count as one cell modified
SIMILAR = 0.5
# beyond this many candidate pairs in one unaligned stretch, cells are paired by position instead
MAX_PAIRINGS = 10_000

ADDED, REMOVED, MODIFIED, MOVED, UNCHANGED = "added", "removed", "modified", "moved", "unchanged"
VOLATILE, UNREADABLE, RENAMED, DELETED = "volatile only", "unreadable", "renamed", "deleted"


@dataclass(frozen=True)
class CellChange:
    """One changed cell: what happened to it and the line diffs of its source, outputs and metadata."""

    kind: str
    old: CellView | None
    new: CellView | None
    moved: bool = False
    source_diff: tuple[str, ...] = ()
    output_diff: tuple[str, ...] = ()
    images: tuple[tuple[Part | None, Part | None], ...] = ()
    metadata_diff: tuple[str, ...] = ()
    type_change: str = ""

    @property
    def cell(self) -> CellView:
        """The cell as it is now (as it was, for a removed cell)."""
        return self.new or self.old  # type: ignore[return-value]

    @property
    def name(self) -> str:
        """`code 1a2b3c4d` or, in notebooks without ids, `code cell 3` (its position now, or before removal)."""
        return f"{self.cell.cell_type} {self.cell.label}"

    @property
    def outputs_only(self) -> bool:
        """Whether the outputs changed and the source did not: the reader then needs the source as context."""
        return bool((self.output_diff or self.images) and not self.source_diff and self.kind == MODIFIED)

    @property
    def what(self) -> str:
        """`modified (source, outputs), moved from 3 to 5`: the change in a few words."""
        if self.kind in (ADDED, REMOVED):
            return self.kind
        aspects = [
            name
            for name, present in (
                ("type", self.type_change),
                ("source", self.source_diff),
                ("outputs", self.output_diff or self.images),
                ("metadata", self.metadata_diff),
            )
            if present
        ]
        words = [f"modified ({', '.join(aspects)})"] if aspects else []
        if self.moved and self.old and self.new:
            words.append(f"moved from position {self.old.index + 1} to {self.new.index + 1}")
        return ", ".join(words)


@dataclass
class NotebookChange:
    """One changed notebook: status, paths, every cell in reading order (changed or not), notebook
    metadata changes and notes."""

    status: str
    old_path: str | None
    new_path: str | None
    rows: list[CellChange] = field(default_factory=list)
    metadata_diff: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    summary: str = ""

    @property
    def cells(self) -> list[CellChange]:
        """The changed cells, in reading order (removed cells where they were)."""
        return [row for row in self.rows if row.kind != UNCHANGED]

    @property
    def path(self) -> str:
        """The path to name the notebook by (its new path, the old one when deleted)."""
        return self.new_path or self.old_path or ""

    @property
    def title(self) -> str:
        """`old.ipynb -> new.ipynb` for renames, the path otherwise."""
        if self.old_path and self.new_path and self.old_path != self.new_path:
            return f"{self.old_path} -> {self.new_path}"
        return self.path

    def counts(self) -> dict[str, int]:
        """How many cells were added, removed, modified and moved."""
        result = {ADDED: 0, REMOVED: 0, MODIFIED: 0, MOVED: 0}
        for change in self.cells:
            if change.kind in (ADDED, REMOVED):
                result[change.kind] += 1
            else:
                result[MODIFIED] += change.kind == MODIFIED
                result[MOVED] += change.moved
        return result


@dataclass(frozen=True)
class Report:
    """Every changed notebook between two revisions, in path order."""

    old_label: str
    new_label: str
    notebooks: list[NotebookChange]
    max_lines: int


def changed_notebooks(
    revisions: list[str], paths: list[str], cwd: Path, policy: Policy
) -> list[tuple[gitrepo.FileChange, bytes | None, bytes | None]]:
    """Each notebook changed between `revisions` (as `git diff` takes them; none: HEAD and the work tree) with both sides' bytes (None: absent).

    Blobs come from one `git cat-file --batch`, as committed. A working-tree side is read from disk
    and shown as git would store it: cleaned with the policy where nbgit's filter is in effect for
    it (so outputs the filter strips never show before a commit), as it is elsewhere.
    """
    from nbgit.check.runner import filtered_paths

    root = gitrepo.top_level(cwd)
    changes = [c for c in gitrepo.changed_files(revisions or ["HEAD"], paths, cwd) if _is_notebook(c)]
    blobs = gitrepo.read_blobs([b for c in changes for b in (c.old_blob, c.new_blob) if b and b != gitrepo.NULL_BLOB], cwd)
    on_disk = [c.new_path for c in changes if c.new_path and c.new_blob == gitrepo.NULL_BLOB]
    filtered = filtered_paths(root, on_disk) if on_disk else set()

    def content(path: str | None, blob: str | None) -> bytes | None:
        if path is None or blob is None:
            return None
        if blob != gitrepo.NULL_BLOB:
            return blobs[blob]
        data = (root / path).read_bytes()
        return stored_as(data, path, policy) if path in filtered else data

    return [(c, content(c.old_path, c.old_blob), content(c.new_path, c.new_blob)) for c in changes]


def stored_as(data: bytes, path: str, policy: Policy) -> bytes:
    """What nbgit's clean filter stores for a working-tree file: cleaned, or the bytes unchanged when they cannot be."""
    from nbgit.clean import clean_bytes

    try:
        return clean_bytes(data, path, policy.for_path(path))
    except NbgitError:
        return data


def build(revisions: list[str], paths: list[str], policy: Policy, cwd: Path, outputs: str | None = None) -> Report:
    """Compare the notebooks changed between `revisions` (as `git diff` takes them) under `paths`.

    `outputs`: "show" (the outputs the commits hold) or "hide" (none); default: the policy's `[diff] outputs`.
    """
    show = (outputs or policy.section("diff")["outputs"]) == "show"
    max_lines = policy.section("diff")["max_output_lines"]
    sameness = Sameness.of(policy)
    notebooks = [
        compare(old, new, c.old_path, c.new_path, policy, max_lines, show, sameness)
        for c, old, new in changed_notebooks(revisions, paths, cwd, policy)
    ]
    old_label, new_label = _labels(revisions)
    return Report(old_label, new_label, notebooks, max_lines)


def _is_notebook(change: gitrepo.FileChange) -> bool:
    return any(p and p.endswith(".ipynb") for p in (change.old_path, change.new_path))


def _labels(revisions: list[str]) -> tuple[str, str]:
    if not revisions:
        return "HEAD", "working tree"
    if len(revisions) == 1:
        for sep in ("...", ".."):
            if sep in revisions[0]:
                old, new = revisions[0].split(sep, 1)
                return (f"merge base of {old or 'HEAD'} and {new or 'HEAD'}" if sep == "..." else old or "HEAD"), new or "HEAD"
        return revisions[0], "working tree"
    return revisions[0], revisions[1]


def compare(
    old: bytes | None,
    new: bytes | None,
    old_path: str | None,
    new_path: str | None,
    policy: Policy,
    max_lines: int,
    show_outputs: bool = True,
    sameness: Sameness | None = None,
) -> NotebookChange:
    """The change from `old` to `new` notebook bytes (None: the side is absent); never raises on bad input.

    Each side is shown as it is, its volatile metadata stripped; its outputs too unless `show_outputs`.
    """
    sameness = sameness or Sameness.of(policy)
    sides: list[NotebookView | None] = []
    errors: list[str] = []
    for label, data, path in (("old", old, old_path), ("new", new, new_path)):
        if data is None:
            sides.append(None)
            continue
        try:
            shown = view(data, path or "", as_committed(policy.for_path(path or "")))
            sides.append(shown if show_outputs else _without_outputs(shown))
        except NotebookError as error:
            sides.append(None)
            errors.append(f"{label} side unreadable: {error.message}")
    before, after = sides
    status = _status(old, new, old_path, new_path)
    if errors:
        return NotebookChange(UNREADABLE, old_path, new_path, notes=errors)
    result = NotebookChange(status, old_path, new_path)
    result.summary = notebook_summary(after or before)  # type: ignore[arg-type]
    if before and after and before.major != after.major:
        result.notes.append(f"nbformat version changed: {before.major}.{before.minor} -> {after.major}.{after.minor}")
    result.notes += [note for note in dict.fromkeys(side.note for side in (before, after) if side) if note]
    result.rows = diff_cells(before.cells if before else (), after.cells if after else (), max_lines, sameness)
    result.metadata_diff = _lines_diff(_json_lines(before.metadata if before else {}), _json_lines(after.metadata if after else {}))
    if status in (MODIFIED, RENAMED) and not result.cells and not result.metadata_diff and not result.notes:
        result.status = VOLATILE if old != new else status
    return result


def as_committed(policy: Policy) -> Policy:
    """The policy that shows a notebook as its commit holds it: volatile metadata (and execution counts,
    where the policy strips them) hidden, every output, cell and id kept as committed."""
    return policy._replace(
        outputs="keep",
        ids="keep",
        max_output_size=None,
        keep_output_types=(),
        drop_output_types=(),
        drop_empty_cells=False,
        drop_tagged_cells=(),
        strict=False,
        overrides=(),
    )


def _without_outputs(nb: NotebookView) -> NotebookView:
    """The notebook with every output and execution count left out (`--outputs hide`)."""
    cells = tuple(c._replace(parts=(), execution_count=None) for c in nb.cells)
    return nb._replace(cells=cells)


def _status(old: bytes | None, new: bytes | None, old_path: str | None, new_path: str | None) -> str:
    if old is None:
        return ADDED
    if new is None:
        return DELETED
    return RENAMED if old_path != new_path else MODIFIED


def diff_cells(
    old: tuple[CellView, ...] | list[CellView], new: tuple[CellView, ...] | list[CellView], max_lines: int, sameness: Sameness
) -> list[CellChange]:
    """Every cell from `old` to `new` in reading order (removed cells where they were), unchanged ones as UNCHANGED."""
    pairs = align(list(old), list(new))
    budget = WorkBudget()  # one for all the notebook's line diffs: a thousand hostile cells cost one budget, not a thousand
    changes: list[CellChange] = []
    for i, j, moved in pairs:
        if i is None:
            changes.append(CellChange(ADDED, None, new[j]))  # type: ignore[index]
        elif j is None:
            changes.append(CellChange(REMOVED, old[i], None))
        else:
            changes.append(_cell_change(old[i], new[j], moved, max_lines, sameness, budget))
    return changes


def align(old: list[CellView], new: list[CellView]) -> list[tuple[int | None, int | None, bool]]:
    """Pairs (old index, new index, moved) covering every cell once, in reading order."""
    if old and new and _unique_ids(old) and _unique_ids(new):
        matched = _align_by_id(old, new)
    else:
        matched = _align_by_content(old, new)
    return _reading_order(matched, len(old), len(new))


def _unique_ids(cells: list[CellView]) -> bool:
    ids = [c.cell_id for c in cells]
    return all(ids) and len(set(ids)) == len(ids)


def _align_by_id(old: list[CellView], new: list[CellView]) -> dict[int, tuple[int, bool]]:
    where = {c.cell_id: c.index for c in old}
    pairs = [(where[c.cell_id], c.index) for c in new if c.cell_id in where]
    in_order = _longest_increasing(pairs)
    return {i: (j, i not in in_order) for i, j in pairs}


def _longest_increasing(pairs: list[tuple[int, int]]) -> set[int]:
    """Old indices of the longest run of pairs whose old order matches the new order (the cells that stayed)."""
    tails: list[int] = []
    tail_at: list[int] = []
    parent: list[int] = [-1] * len(pairs)
    for k, (i, _) in enumerate(pairs):
        at = bisect.bisect_left(tails, i)
        if at == len(tails):
            tails.append(i)
            tail_at.append(k)
        else:
            tails[at], tail_at[at] = i, k
        parent[k] = tail_at[at - 1] if at else -1
    kept: set[int] = set()
    k = tail_at[-1] if tail_at else -1
    while k >= 0:
        kept.add(pairs[k][0])
        k = parent[k]
    return kept


def _align_by_content(old: list[CellView], new: list[CellView]) -> dict[int, tuple[int, bool]]:
    keys_old = [_key(c) for c in old]
    keys_new = [_key(c) for c in new]
    matched: dict[int, tuple[int, bool]] = {}
    similarity = _Similarity()
    for tag, i1, i2, j1, j2 in _opcodes(keys_old, keys_new):
        if tag == "equal":
            matched.update({i1 + k: (j1 + k, False) for k in range(i2 - i1)})
        else:
            matched.update(_pair_similar(old, new, range(i1, i2), range(j1, j2), similarity))
    # a cell removed in one place and added unchanged in another was moved
    lost = {keys_old[i]: i for i in range(len(old) - 1, -1, -1) if i not in matched}
    taken = {j for j, _ in matched.values()}
    for j in range(len(new)):
        i = lost.pop(keys_new[j], None) if j not in taken else None
        if i is not None:
            matched[i] = (j, True)
    return matched


def _key(cell: CellView) -> tuple[Any, ...]:
    """What must be equal for two cells to be the same unchanged cell (ids aside)."""
    return (cell.cell_type, cell.source, cell.parts, cell.attachments)


def _opcodes(a: list[Any], b: list[Any]) -> list[tuple[str, int, int, int, int]]:
    """difflib-style opcodes of a longest common subsequence that prefers keeping positions.

    difflib takes the longest contiguous block first, which turns two edited cells around a repeated
    one into a removal, an addition and a move; an LCS that steps diagonally through a mismatch
    whenever that costs no match keeps them as two edits (as nbdime does). Too large for the
    quadratic table, the stretch falls back to difflib; when even difflib would take too long (thousands
    of cells of a few sources: MAX_MATCH_WORK), the stretch is one replacement, its cells paired by position.
    """
    head, tail = common_ends(a, b)
    mid_a, mid_b = a[head : len(a) - tail], b[head : len(b) - tail]
    if len(mid_a) * len(mid_b) > MAX_PAIRINGS * 25:
        try:
            inner = BoundedMatcher(mid_a, mid_b, autojunk=False).get_opcodes()
        except TooMuchWork:
            inner = [("replace", 0, len(mid_a), 0, len(mid_b))]
    else:
        inner = _lcs_opcodes(mid_a, mid_b)
    ops = [("equal", 0, head, 0, head)] if head else []
    ops += [(t, i1 + head, i2 + head, j1 + head, j2 + head) for t, i1, i2, j1, j2 in inner]
    if tail:
        ops.append(("equal", len(a) - tail, len(a), len(b) - tail, len(b)))
    return ops


def _lcs_opcodes(a: list[Any], b: list[Any]) -> list[tuple[str, int, int, int, int]]:
    n, m = len(a), len(b)
    length = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        row, below = length[i], length[i + 1]
        for j in range(m - 1, -1, -1):
            row[j] = below[j + 1] + 1 if a[i] == b[j] else max(below[j], row[j + 1])
    ops: list[tuple[str, int, int, int, int]] = []
    i = j = 0
    while i < n or j < m:
        if i < n and j < m and a[i] == b[j]:
            tag, di, dj = "equal", 1, 1
        elif i < n and j < m and length[i + 1][j + 1] == length[i][j]:
            tag, di, dj = "replace", 1, 1
        elif j < m and (i == n or length[i][j + 1] >= length[i + 1][j]):
            tag, di, dj = "insert", 0, 1
        else:
            tag, di, dj = "delete", 1, 0
        if ops and ops[-1][0] == tag or (ops and {ops[-1][0], tag} <= {"replace", "insert", "delete"}):
            last = ops[-1]
            merged = "replace" if last[0] != tag else tag
            ops[-1] = (merged, last[1], i + di, last[3], j + dj)
        else:
            ops.append((tag, i, i + di, j, j + dj))
        i, j = i + di, j + dj
    return ops


class _Similarity:
    """difflib's ratio of two sources, within one budget of work for the whole notebook (`nbgit.sequences.MAX_MATCH_WORK`)."""

    def __init__(self) -> None:
        self.budget = WorkBudget()

    def ratio(self, old: str, new: str, floor: float) -> float:
        """The ratio when it may exceed `floor`, else 0: by characters, or by lines when comparing
        characters would take more work than is left; 0 when even lines would."""
        for a, b in ((old, new), (old.splitlines(), new.splitlines())):
            matcher = BoundedMatcher(a, b, autojunk=False, budget=self.budget)
            if matcher.real_quick_ratio() <= floor or matcher.quick_ratio() <= floor:
                return 0.0
            try:
                return matcher.ratio()
            except TooMuchWork:
                continue
        return 0.0


def _pair_similar(
    old: list[CellView], new: list[CellView], olds: range, news: range, similarity: _Similarity
) -> dict[int, tuple[int, bool]]:
    """Pair cells of one unaligned stretch in order: each with the most similar cell of the same type,
    then, between those pairs, equally many cells one to one (a short cell rewritten is still that cell)."""
    if len(olds) * len(news) > MAX_PAIRINGS:
        return {i: (j, False) for i, j in zip(olds, news) if old[i].cell_type == new[j].cell_type}
    pairs: dict[int, tuple[int, bool]] = {}
    start = olds.start
    for j in news:
        best, best_ratio = None, SIMILAR
        for i in range(start, olds.stop):
            if old[i].cell_type != new[j].cell_type:
                continue
            ratio = similarity.ratio(old[i].source, new[j].source, best_ratio)
            if ratio > best_ratio:
                best, best_ratio = i, ratio
        if best is not None:
            pairs[best] = (j, False)
            start = best + 1
    bounds = [(olds.start - 1, news.start - 1), *sorted((i, j) for i, (j, _) in pairs.items()), (olds.stop, news.stop)]
    for (i1, j1), (i2, j2) in zip(bounds, bounds[1:]):
        if i2 - i1 == j2 - j1:
            pairs.update({i: (j, False) for i, j in zip(range(i1 + 1, i2), range(j1 + 1, j2)) if old[i].cell_type == new[j].cell_type})
    return pairs


def _reading_order(matched: dict[int, tuple[int, bool]], n_old: int, n_new: int) -> list[tuple[int | None, int | None, bool]]:
    """Every cell once, ordered by new position; a removed cell follows the new place of the cell before it."""
    rows: list[tuple[float, int, tuple[int | None, int | None, bool]]] = []
    by_new = {j: (i, moved) for i, (j, moved) in matched.items()}
    for j in range(n_new):
        i, moved = by_new.get(j, (None, False))
        rows.append((j, 1, (i, j, moved)))
    anchor = -1.0
    for i in range(n_old):
        if i in matched and not matched[i][1]:
            anchor = matched[i][0]
        elif i not in matched:
            rows.append((anchor + 0.5, 0, (i, None, False)))
    return [row for _, _, row in sorted(rows, key=lambda r: (r[0], r[1]))]


def _cell_change(old: CellView, new: CellView, moved: bool, max_lines: int, sameness: Sameness, budget: WorkBudget) -> CellChange:
    source_diff = _lines_diff(source_lines(old.source), source_lines(new.source), budget)
    judged = new._replace(parts=_settled(old.parts, new.parts, sameness), attachments=_settled(old.attachments, new.attachments, sameness))
    output_diff = _lines_diff(_output_lines(old, max_lines), _output_lines(judged, max_lines), budget)
    images = _image_changes(old.parts + old.attachments, judged.parts + judged.attachments)
    metadata_diff = _lines_diff(_json_lines(old.metadata), _json_lines(new.metadata), budget)
    type_change = f"{old.cell_type} -> {new.cell_type}" if old.cell_type != new.cell_type else ""
    if old.cell_id and new.cell_id and old.cell_id != new.cell_id:  # ids gained in an nbformat upgrade are no news
        metadata_diff = _lines_diff([f"id: {old.cell_id}"], [f"id: {new.cell_id}"]) + metadata_diff
    changed = bool(source_diff or output_diff or images or metadata_diff or type_change)
    return CellChange(
        MODIFIED if changed else MOVED if moved else UNCHANGED,
        old,
        new,
        moved,
        tuple(source_diff),
        tuple(output_diff),
        images,
        tuple(metadata_diff),
        type_change,
    )


def _settled(old: tuple[Part, ...], new: tuple[Part, ...], sameness: Sameness) -> tuple[Part, ...]:
    """`new` with each part that reads the same as the old part in its place replaced by that old part,
    so that what a reader would not call a change (a timing, a re-encoded image) diffs as nothing."""
    if old == new:
        return new
    return tuple(
        old[k] if k < len(old) and part != old[k] and sameness.same_part(old[k], part) else part for k, part in enumerate(new)
    )


def _output_lines(cell: CellView, max_lines: int) -> list[str]:
    lines = [] if cell.execution_count is None else [f"execution count {cell.execution_count}"]
    for part in cell.attachments + cell.parts:
        lines += part_lines(part, max_lines)
    return lines


def _image_changes(old: tuple[Part, ...], new: tuple[Part, ...]) -> tuple[tuple[Part | None, Part | None], ...]:
    """Images that differ, paired before/after in order (None where a side has no such image)."""
    before = [p for p in old if p.is_image]
    after = [p for p in new if p.is_image]
    if [p.digest for p in before] == [p.digest for p in after]:
        return ()
    kept = {p.digest for p in before} & {p.digest for p in after}
    before = [p for p in before if p.digest not in kept]
    after = [p for p in after if p.digest not in kept]
    width = max(len(before), len(after))
    return tuple(
        (before[k] if k < len(before) else None, after[k] if k < len(after) else None) for k in range(width)
    )


def _json_lines(value: dict[str, Any]) -> list[str]:
    """Metadata as indented JSON, one line per line json.dumps writes: split at `\\n` alone, since a string
    keeps NEL and U+2028/U+2029 unescaped (str.splitlines would make a forged line of each)."""
    if not value:
        return []
    return json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False).split("\n")


def _lines_diff(old: list[str], new: list[str], budget: WorkBudget | None = None) -> list[str]:
    """A unified diff (without file headers) of two lists of lines; empty when they are equal; one hunk
    replacing all that lies between the common start and end when difflib would take too long (past
    `budget`, shared by a notebook's cells, or a budget of its own)."""
    return unified_diff(old, new, n=2, lineterm="", budget=budget)[2:]
