"""`nbgit diff --format html`: the report as one self-contained HTML file.

Inline CSS, no scripts, no fonts or anything else fetched: a Content-Security-Policy forbids every
network request, and images are data URIs. Control characters, bidirectional controls and invisible
characters are shown as in the text diff (`\\342\\200\\256`): a browser would reorder a line around a
U+202E (Trojan Source) as a terminal does. The summary comes first, then each notebook's changed
cells with their source diffs, output diffs, images and metadata diffs. A changed image shows before
and after side by side, and radio buttons styled as tabs (CSS `:checked`, no script) flip between
before, after and a difference picture with the changed pixels highlighted (`nbgit.pixels`). A cell
whose outputs changed shows its source, collapsed; `whole` shows every cell, the unchanged ones
collapsed between the changes.
"""

from __future__ import annotations

import base64
import itertools
from html import escape
from typing import Iterator, Sequence

from nbgit import pixels
from nbgit.render import CellView, Part, cell_lines, part_lines, source_lines
from nbgit.report.changes import ADDED, REMOVED, UNCHANGED, CellChange, NotebookChange, Report
from nbgit.report.text import counts_text, headline
from nbgit.terminal import visible

ImagePairs = Sequence[tuple[Part | None, Part | None]]

_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
_CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1f2328;
 background:#f6f8fa;margin:0;padding:24px}
main{max-width:1100px;margin:0 auto}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:0;word-break:break-all}
h3{font-size:14px;margin:0;padding:8px 12px;background:#f6f8fa;border-bottom:1px solid #d0d7de;font-weight:600}
code,pre{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace}
table{border-collapse:collapse;background:#fff;width:100%;margin:12px 0 24px}
th,td{border:1px solid #d0d7de;padding:6px 10px;text-align:left;vertical-align:top}th{background:#eef1f4}
a{color:#0969da;text-decoration:none}
section{background:#fff;border:1px solid #d0d7de;border-radius:6px;margin:0 0 24px;padding:16px}
.meta{color:#59636e;margin:4px 0 12px}
article{border:1px solid #d0d7de;border-radius:6px;margin:12px 0;overflow:hidden}
.label{font-weight:600;color:#59636e;padding:6px 12px 0;margin:0;font-size:13px}
pre{margin:0;padding:6px 0;overflow-x:auto;white-space:pre-wrap;word-break:break-word}
pre span{display:block;padding:0 12px}
.add{background:#dafbe1}.del{background:#ffebe9}.hunk{color:#59636e;background:#ddf4ff}
.badge{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;font-weight:600;margin-right:6px;
 background:#eef1f4;color:#1f2328;vertical-align:middle}
.b-added{background:#1a7f37;color:#fff}.b-removed,.b-deleted,.b-unreadable{background:#cf222e;color:#fff}
.b-modified,.b-renamed{background:#9a6700;color:#fff}.b-moved{background:#8250df;color:#fff}
.b-volatile{background:#d0d7de}
.images{display:flex;gap:12px;flex-wrap:wrap;padding:8px 12px}
figure{margin:0;border:1px solid #d0d7de;border-radius:4px;padding:6px;max-width:520px}
figure img{max-width:100%;height:auto;display:block}figcaption{font-size:12px;color:#59636e;margin-bottom:4px}
.none{color:#59636e;font-style:italic;padding:20px}
details>summary{cursor:pointer;color:#59636e;font-size:13px;padding:6px 12px}
details.unchanged{border:1px dashed #d0d7de;border-radius:6px;margin:12px 0}
.flip{padding:8px 12px}.flip>input{position:absolute;opacity:0;width:1px;height:1px}
.flip>label{display:inline-block;border:1px solid #d0d7de;padding:2px 10px;font-size:13px;cursor:pointer;
 background:#f6f8fa;margin:0 -1px 8px 0}
.flip>input:checked+label{background:#0969da;border-color:#0969da;color:#fff}
.flip>input:focus-visible+label{outline:2px solid #0969da;outline-offset:2px}
.flip .panes{display:flex;gap:12px;flex-wrap:wrap}.flip .panes figure{display:none}
.flip .v-both:checked~.panes .before,.flip .v-both:checked~.panes .after,.flip .v-before:checked~.panes .before,
.flip .v-after:checked~.panes .after,.flip .v-diff:checked~.panes .diff{display:block}
"""


def to_html(report: Report, whole: bool = False) -> str:
    """The whole report as one HTML document that needs nothing but itself (`whole`: unchanged cells too, collapsed)."""
    title = f"Notebook diff: {report.old_label} \u2192 {report.new_label}"
    body = [f"<h1>{escape(title)}</h1>", f'<p class="meta">{escape(headline(report))}</p>', _summary(report)]
    ids = itertools.count(1)
    body += [_notebook(nb, k, report.max_lines, whole, ids) for k, nb in enumerate(report.notebooks, 1)]
    return visible(  # control, bidirectional and invisible characters from the repository shown, as in the text diff
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head>\n"
        f"<body><main>\n{''.join(body)}\n</main></body></html>\n"
    )


def _summary(report: Report) -> str:
    if not report.notebooks:
        return ""
    rows = "".join(
        f'<tr><td><a href="#nb-{k}"><code>{escape(nb.title)}</code></a></td><td>{_badge(nb.status)}</td>'
        f"<td>{escape(counts_text(nb) or '-')}</td></tr>"
        for k, nb in enumerate(report.notebooks, 1)
    )
    return f'<table class="summary"><tr><th>notebook</th><th>status</th><th>cells</th></tr>{rows}</table>\n'


def _badge(status: str) -> str:
    return f'<span class="badge b-{escape(status.split()[0])}">{escape(status)}</span>'


def _notebook(nb: NotebookChange, k: int, max_lines: int, whole: bool, ids: Iterator[int]) -> str:
    parts = [f'<section id="nb-{k}"><h2>{_badge(nb.status)}<code>{escape(nb.title)}</code></h2>']
    parts += [f'<p class="meta">{escape(line)}</p>' for line in (nb.summary, *nb.notes) if line]
    if nb.status.startswith("volatile"):
        parts.append('<p class="none">Only volatile state changed (timings, addresses, re-encoded images, counts, run metadata): nothing to review.</p>')
    if whole and nb.cells:
        for unchanged, group in itertools.groupby(nb.rows, key=lambda row: row.kind == UNCHANGED):
            rows = list(group)
            if unchanged:
                cells = "".join(_unchanged_cell(row.cell, max_lines) for row in rows)
                plural = "s" if len(rows) != 1 else ""
                parts.append(f'<details class="unchanged"><summary>{len(rows)} unchanged cell{plural}</summary>{cells}</details>')
            else:
                parts += [_cell(row, max_lines, ids) for row in rows]
    else:
        parts += [_cell(change, max_lines, ids) for change in nb.cells]
    if nb.metadata_diff:
        parts.append(f'<article><h3>{_badge("modified")}notebook metadata</h3>{_pre(nb.metadata_diff)}</article>')
    parts.append("</section>\n")
    return "".join(parts)


def _cell(change: CellChange, max_lines: int, ids: Iterator[int]) -> str:
    cell = change.cell
    head = f'<h3>{_badge(change.kind)}{escape(cell.cell_type)} <code>{escape(cell.label)}</code> \u2014 {escape(change.what)}</h3>'
    parts = [f'<article class="cell {escape(change.kind)}">{head}']
    if change.kind in (ADDED, REMOVED):
        sign = "+" if change.kind == ADDED else "-"
        parts.append(_pre([f"{sign}{line}" for line in cell_lines(cell, max_lines)[2:]]))
        images = [p for p in (*cell.attachments, *cell.parts) if p.is_image]
        pairs = [((None, p) if change.kind == ADDED else (p, None)) for p in images]
        parts.append(_images(pairs, ids))
    else:
        if change.type_change:
            parts.append(f'<p class="label">cell type: {escape(change.type_change)}</p>')
        if change.source_diff:
            parts.append(f'<p class="label">source</p>{_pre(change.source_diff)}')
        elif change.outputs_only:
            parts.append(f'<details class="context"><summary>source (unchanged)</summary>{_pre(source_lines(cell.source))}</details>')
        if change.output_diff:
            parts.append(f'<p class="label">outputs</p>{_pre(change.output_diff)}')
        parts.append(_images(change.images, ids))
        if change.metadata_diff:
            parts.append(f'<p class="label">metadata</p>{_pre(change.metadata_diff)}')
    parts.append("</article>")
    return "".join(parts)


def _pre(lines: list[str] | tuple[str, ...]) -> str:
    spans = []
    for line in lines:
        css = {"+": "add", "-": "del", "@": "hunk"}.get(line[:1], "")
        attr = f' class="{css}"' if css else ""
        spans.append(f"<span{attr}>{escape(line) or '&#8203;'}</span>")
    return f"<pre>{''.join(spans)}</pre>"


def _unchanged_cell(cell: CellView, max_lines: int) -> str:
    """An unchanged cell for the whole-notebook view: its source and outputs as they are."""
    lines = source_lines(cell.source)
    for part in (*cell.attachments, *cell.parts):
        if not part.is_image:
            lines += part_lines(part, max_lines)
    figures = "".join(_figure("", part, part.summary()) for part in (*cell.attachments, *cell.parts) if part.is_image)
    images = f'<div class="images">{figures}</div>' if figures else ""
    return f'<article class="cell unchanged"><h3>{escape(cell.cell_type)} <code>{escape(cell.label)}</code></h3>{_pre(lines)}{images}</article>'


def _images(pairs: ImagePairs, ids: Iterator[int]) -> str:
    """Each image pair: a lone image as a figure, a changed one as before / after / difference tabs."""
    blocks = []
    for before, after in pairs:
        if before is not None and after is not None:
            blocks.append(_flip(before, after, next(ids)))
        else:
            label, part = ("before", before) if before is not None else ("after", after)
            blocks.append(f'<div class="images">{_figure(label, part, f"{label}: {part.summary()}")}</div>')  # type: ignore[union-attr]
    return "".join(blocks)


def _flip(before: Part, after: Part, number: int) -> str:
    """Before and after side by side, with tabs that show one at a time in the same place, or where they differ.

    The tabs are radio buttons and their labels; CSS shows the panes of the checked one: no script.
    """
    figures = [_figure("before", before, f"before: {before.summary()}"), _figure("after", after, f"after: {after.summary()}")]
    views = [("both", "side by side"), ("before", "before"), ("after", "after")]
    difference = pixels.difference(before.mime, before.payload or "", after.mime, after.payload or "")
    if difference is not None:
        share = difference.changed / difference.total if difference.total else 0.0
        caption = f"difference: {difference.changed:,} of {difference.total:,} pixels changed ({share:.1%}), highlighted"
        data = base64.b64encode(difference.picture).decode("ascii")
        figures.append(f'<figure class="diff"><figcaption>{escape(caption)}</figcaption><img alt="{escape(caption)}" src="data:image/png;base64,{data}"></figure>')
        views.append(("diff", "difference"))
    elif not pixels.available() and before.mime in pixels.RASTER:
        figures.append('<p class="meta">Compared by bytes: install nbgit[images] (Pillow) to compare pixels and see where they differ.</p>')
    tabs = "".join(
        f'<input type="radio" name="flip-{number}" id="flip-{number}-{view}" class="v-{view}"{" checked" if view == "both" else ""}>'
        f'<label for="flip-{number}-{view}">{text}</label>'
        for view, text in views
    )
    return f'<div class="flip" id="flip-{number}">{tabs}<div class="panes">{"".join(figures)}</div></div>'


def _figure(label: str, part: Part, caption: str) -> str:
    css = f' class="{label}"' if label else ""
    return (
        f'<figure{css}><figcaption>{escape(caption)}</figcaption>'
        f'<img alt="{escape(caption)}" src="data:{escape(part.mime)};base64,{_base64(part)}"></figure>'
    )


def _base64(part: Part) -> str:
    """The image payload as base64 (SVG, stored as text, is encoded here)."""
    payload = part.payload or ""
    if part.mime == "image/svg+xml":
        return base64.b64encode(payload.encode("utf-8")).decode("ascii")
    return escape("".join(payload.split()))
