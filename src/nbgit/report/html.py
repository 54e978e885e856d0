"""`nbgit diff --format html`: the report as one self-contained HTML file.

Inline CSS, no scripts, no fonts or anything else fetched: a Content-Security-Policy forbids every
network request, and images are data URIs. The summary comes first, then each notebook's changed
cells with their source diffs, output diffs, images before and after, and metadata diffs.
"""

from __future__ import annotations

import base64
from html import escape

from nbgit.render import Part, cell_lines
from nbgit.report.changes import ADDED, REMOVED, CellChange, NotebookChange, Report
from nbgit.report.text import counts_text, headline

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
"""


def to_html(report: Report) -> str:
    """The whole report as one HTML document that needs nothing but itself."""
    title = f"Notebook diff: {report.old_label} \u2192 {report.new_label}"
    body = [f"<h1>{escape(title)}</h1>", f'<p class="meta">{escape(headline(report))}</p>', _summary(report)]
    body += [_notebook(nb, k, report.max_lines) for k, nb in enumerate(report.notebooks, 1)]
    return (
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


def _notebook(nb: NotebookChange, k: int, max_lines: int) -> str:
    parts = [f'<section id="nb-{k}"><h2>{_badge(nb.status)}<code>{escape(nb.title)}</code></h2>']
    parts += [f'<p class="meta">{escape(line)}</p>' for line in (nb.summary, *nb.notes) if line]
    if nb.status.startswith("volatile"):
        parts.append('<p class="none">Only volatile state changed (outputs, counts, run metadata): nothing to review.</p>')
    parts += [_cell(change, max_lines) for change in nb.cells]
    if nb.metadata_diff:
        parts.append(f'<article><h3>{_badge("modified")}notebook metadata</h3>{_pre(nb.metadata_diff)}</article>')
    parts.append("</section>\n")
    return "".join(parts)


def _cell(change: CellChange, max_lines: int) -> str:
    cell = change.cell
    kind = "moved" if change.kind == "moved" else change.kind
    head = f'<h3>{_badge(kind)}{escape(cell.cell_type)} <code>{escape(cell.handle)}</code> \u2014 {escape(change.what)}</h3>'
    parts = [f'<article class="cell {escape(change.kind)}">{head}']
    if change.kind in (ADDED, REMOVED):
        sign = "+" if change.kind == ADDED else "-"
        parts.append(_pre([f"{sign}{line}" for line in cell_lines(cell, max_lines)[2:]]))
        images = [p for p in (*cell.attachments, *cell.parts) if p.is_image]
        pairs = [((None, p) if change.kind == ADDED else (p, None)) for p in images]
        parts.append(_images(pairs))
    else:
        if change.type_change:
            parts.append(f'<p class="label">cell type: {escape(change.type_change)}</p>')
        if change.source_diff:
            parts.append(f'<p class="label">source</p>{_pre(change.source_diff)}')
        if change.output_diff:
            parts.append(f'<p class="label">outputs</p>{_pre(change.output_diff)}')
        parts.append(_images(change.images))
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


def _images(pairs: tuple[tuple[Part | None, Part | None], ...] | list[tuple[Part | None, Part | None]]) -> str:
    if not pairs:
        return ""
    figures = []
    for before, after in pairs:
        for label, part in (("before", before), ("after", after)):
            if part is not None:
                figures.append(
                    f'<figure class="{label}"><figcaption>{label}: {escape(part.summary())}</figcaption>'
                    f'<img alt="{label}: {escape(part.summary())}" src="data:{escape(part.mime)};base64,{_base64(part)}"></figure>'
                )
    return f'<div class="images">{"".join(figures)}</div>'


def _base64(part: Part) -> str:
    """The image payload as base64 (SVG, stored as text, is encoded here)."""
    payload = part.payload or ""
    if part.mime == "image/svg+xml":
        return base64.b64encode(payload.encode("utf-8")).decode("ascii")
    return escape("".join(payload.split()))
