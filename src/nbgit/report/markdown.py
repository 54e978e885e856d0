"""`nbgit diff --format markdown`: the report as a GitHub pull-request comment (at most 65,536 characters).

Everything from the repository (paths, kernel names, cell ids and types, sources) is hostile: it may
hold newlines that break the table and start headings, HTML, or `@someone` and `#123` that GitHub
turns into notifications and cross-references. Such text is shown as inline code or inside diff
fences (where GitHub renders nothing), or escaped: control characters made visible, Markdown's
punctuation backslash-escaped (and `$`, which GitHub reads as the start of a mathematical expression
that can draw text of any size), mentions and references broken by a zero-width space.
"""

from __future__ import annotations

import re

from nbgit.report.changes import NotebookChange, Report
from nbgit.report.text import change_lines, counts_text, headline
from nbgit.terminal import one_line, visible

GITHUB_COMMENT_LIMIT = 65_536
MAX_DIFF_LINES = 200  # per cell, so that one huge cell cannot crowd out every other notebook
MAX_DIFF_CHARS = 10_000  # per cell, likewise: a line can be a megabyte long
MAX_LINE_CHARS = 500  # of one line shown (a diff line, a kernel's name): the HTML report has them whole
_RESERVE = 1_000  # room kept for the truncation note


def to_markdown(report: Report, full_report: str, limit: int = GITHUB_COMMENT_LIMIT) -> str:
    """The report in Markdown; past `limit` characters, whole blocks are left out and a note says
    how much and where the full report is (`full_report`). Blocks are measured as they are posted,
    control characters shown (one ESC takes four characters as `\\033`)."""
    head = visible(_summary(report, limit // 2))
    blocks = [(nb.path, visible(block)) for nb in report.notebooks for block in _notebook_blocks(nb, report.max_lines)]
    out, used = [head], len(head)
    for k, (_, block) in enumerate(blocks):
        if used + len(block) > limit - _RESERVE:
            left = blocks[k:]
            chars = sum(len(b) for _, b in left)
            notebooks = len(dict.fromkeys(p for p, _ in left))
            out.append(visible(
                f"\n> **Truncated:** {chars:,} characters ({len(left)} blocks in {notebooks} notebook"
                f"{'s' if notebooks != 1 else ''}) are left out to fit a GitHub comment. Full report: {full_report}.\n"
            ))
            break
        out.append(block)
        used += len(block)
    return "".join(out)


def _summary(report: Report, budget: int) -> str:
    """The headline and a table of the notebooks, as many rows as fit `budget` characters (a pull request
    that re-cleans a thousand notebooks would fill the comment), then a row counting the rest."""
    text = f"## Notebook diff\n\n{escape_markdown(headline(report))}.\n"
    if not report.notebooks:
        return text
    text += "\n| notebook | status | cells |\n|---|---|---|\n"
    for k, nb in enumerate(report.notebooks):
        row = visible(f"| {code_span(nb.title)} | {nb.status} | {counts_text(nb) or '-'} |\n")
        if len(text) + len(row) > budget:
            return text + f"| {len(report.notebooks) - k:,} more notebooks | | |\n"
        text += row
    return text


def _notebook_blocks(nb: NotebookChange, max_lines: int) -> list[str]:
    head = f"\n### {code_span(nb.title)} ({nb.status})\n\n"
    head += "".join(f"{escape_markdown(_cut(line))}  \n" for line in (nb.summary, *nb.notes) if line)
    blocks = [head]
    for change in nb.cells:
        lines = _within_bounds(change_lines(change, max_lines))
        blocks.append(f"\n**{escape_markdown(change.cell.cell_type)}** {code_span(change.cell.label)}: {escape_markdown(change.what)}\n{_fence(lines)}")
    if nb.metadata_diff:
        blocks.append(f"\n**notebook metadata**: modified\n{_fence(_within_bounds(nb.metadata_diff))}")
    return blocks


def _within_bounds(lines: list[str] | tuple[str, ...]) -> list[str]:
    """A cell's diff lines, each cut at MAX_LINE_CHARS (control characters shown first), as many as fit
    MAX_DIFF_LINES and MAX_DIFF_CHARS, then a line saying how many more there are."""
    shown: list[str] = []
    used = 0
    for k, line in enumerate(lines):
        line = _cut(visible(line))
        used += len(line) + 1
        if k == MAX_DIFF_LINES or used > MAX_DIFF_CHARS:
            return [*shown, f"[... {len(lines) - k} more diff lines]"]
        shown.append(line)
    return shown


def _cut(line: str) -> str:
    """The line, or its first MAX_LINE_CHARS characters and a mark that it goes on."""
    return line if len(line) <= MAX_LINE_CHARS else f"{line[:MAX_LINE_CHARS]} [...]"


def _fence(lines: list[str] | tuple[str, ...]) -> str:
    """A ```diff block whose fence is longer than any backtick run inside it."""
    if not lines:
        return ""
    body = "\n".join(lines)
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"\n{fence}diff\n{body}\n{fence}\n"


def code_span(text: str) -> str:
    """Inline code, on one line, that survives backticks and table pipes in paths."""
    text = one_line(text).replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    return f"{ticks}{text}{ticks}" if longest == 0 else f"{ticks} {text} {ticks}"


def escape_markdown(text: str) -> str:
    """Plain text that Markdown shows as it is, on one line: its punctuation escaped (no emphasis,
    links, HTML, table cells or GitHub's `$math$` of its own), no mention or issue reference left."""
    text = re.sub(r"([\\`*_{}\[\]<>|#~!&$])", r"\\\1", one_line(text))
    return re.sub(r"([@#])", r"\1&#8203;", text)
