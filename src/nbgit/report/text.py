"""`nbgit diff` as plain text for the terminal, and the per-cell diff lines the Markdown report reuses."""

from __future__ import annotations

from nbgit.render import cell_lines, source_lines
from nbgit.report.changes import ADDED, REMOVED, CellChange, NotebookChange, Report
from nbgit.terminal import one_line, visible


def change_lines(change: CellChange, max_lines: int) -> list[str]:
    """A changed cell's diff as unified-diff lines: whole cell for added/removed, else per aspect."""
    if change.kind in (ADDED, REMOVED):
        sign = "+" if change.kind == ADDED else "-"
        return [f"{sign}{line}" for line in cell_lines(change.cell, max_lines)[2:]]
    lines: list[str] = []
    if change.type_change:
        lines.append(f"cell type: {change.type_change}")
    if change.source_diff:
        lines += change.source_diff
    elif change.outputs_only:
        lines += [f" {line}" for line in source_lines(change.cell.source)]  # context: what produced the outputs
    if change.output_diff:
        lines += ["outputs:", *change.output_diff]
    for before, after in change.images:
        old = before.summary() if before else "(none)"
        new = after.summary() if after else "(none)"
        lines.append(f"image: {old} -> {new}")
    if change.metadata_diff:
        lines += ["metadata:", *change.metadata_diff]
    return lines


def counts_text(notebook: NotebookChange) -> str:
    """`2 added, 1 modified`: the notebook's cell changes in words (empty when none)."""
    return ", ".join(f"{n} {kind}" for kind, n in notebook.counts().items() if n)


def headline(report: Report) -> str:
    """`3 notebooks changed between main and HEAD`."""
    n = len(report.notebooks)
    return f"{n} notebook{'s' if n != 1 else ''} changed between {report.old_label} and {report.new_label}"


def to_text(report: Report) -> str:
    """The whole report as text: a summary table, then each notebook's changed cells with their diffs."""
    if not report.notebooks:
        return visible(f"no notebooks changed between {report.old_label} and {report.new_label}\n")
    lines = [headline(report)]
    width = max(len(nb.status) for nb in report.notebooks)
    for nb in report.notebooks:
        lines.append(f"  {nb.status:<{width}}  {one_line(nb.title)}  {counts_text(nb)}".rstrip())
    for nb in report.notebooks:
        lines += ["", f"=== {one_line(nb.title)} ({nb.status}) ==="]
        lines += [one_line(line) for line in (nb.summary, *nb.notes) if line]
        for change in nb.cells:
            lines.append(f"[{one_line(change.name)}] {change.what}")
            lines += [f"  {line}" for line in change_lines(change, report.max_lines)]
        if nb.metadata_diff:
            lines.append("[notebook metadata] modified")
            lines += [f"  {line}" for line in nb.metadata_diff]
    return visible("\n".join(lines) + "\n")

