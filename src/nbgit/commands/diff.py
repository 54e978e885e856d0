"""`nbgit diff`: a readable diff of the notebooks changed between revisions (text, Markdown or HTML)."""

from __future__ import annotations

import importlib.util
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from nbgit.clean import clean_bytes
from nbgit.errors import NbgitError
from nbgit.files import write_atomic
from nbgit.policy import Policy, find_root, load_policy
from nbgit.report.changes import Report, build, changed_notebooks

EMPTY_NOTEBOOK = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}\n'


def run(
    revisions: list[str],
    format: str = "text",
    output: str | None = None,
    web: bool = False,
    paths: list[str] | None = None,
    outputs: str | None = None,
    whole: bool = False,
) -> int:
    """Write the report of notebooks changed between `revisions`; see `nbgit diff --help`."""
    if len(revisions) > 2:
        raise NbgitError(f"too many revisions: {' '.join(revisions)}", "give REV, REV..REV or REV REV (and paths after --)")
    if whole and format != "html":
        raise NbgitError("--whole shapes the HTML report only", "add --format html")
    cwd = Path.cwd()
    policy = load_policy(find_root(cwd))
    if web:
        return _open_web(revisions, paths or [], policy, cwd)
    report = build(revisions, paths or [], policy, cwd, outputs)
    text = render_report(report, format, revisions, whole)
    if output:
        write_atomic(Path(output), text.encode("utf-8", "surrogateescape"))  # a name's bytes that are not UTF-8 as they are
    else:
        sys.stdout.write(text)
    return 0


def render_report(report: Report, format: str, revisions: list[str], whole: bool = False) -> str:
    """The report as text, Markdown (a pull-request comment) or HTML (`whole`: every cell, unchanged ones collapsed)."""
    if format == "markdown":
        from nbgit.report.markdown import to_markdown

        return to_markdown(report, where_full_report(revisions))
    if format == "html":
        from nbgit.report.html import to_html

        return to_html(report, whole)
    from nbgit.report.text import to_text

    return to_text(report)


def where_full_report(revisions: list[str]) -> str:
    """Where a truncated Markdown report's reader finds everything: the CI run's artefacts, or the command."""
    command = "nbgit diff " + " ".join(shlex.quote(r) for r in revisions) + " --format html --output notebook-diff.html"
    run_url = "{}/{}/actions/runs/{}".format(
        os.environ.get("GITHUB_SERVER_URL", ""), os.environ.get("GITHUB_REPOSITORY", ""), os.environ.get("GITHUB_RUN_ID", "")
    )
    if all(os.environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")):
        return f"the HTML report among the artifacts of [this CI run]({run_url}), or `{command}`"
    return f"`{command}`"


def _open_web(revisions: list[str], paths: list[str], policy: Policy, cwd: Path) -> int:
    """nbdime's web diff of each changed notebook, one after the other, both sides cleaned."""
    if importlib.util.find_spec("nbdime") is None:
        raise NbgitError("nbdime is not installed, so there is no web diff", "pip install nbdime (in nbgit's environment)")
    pairs = changed_notebooks(revisions, paths, cwd, policy)
    if not pairs:
        print("no notebooks changed", file=sys.stderr)
        return 0
    with tempfile.TemporaryDirectory(prefix="nbgit-web-") as tmp:
        for k, (change, old, new) in enumerate(pairs):
            name = Path(change.new_path or change.old_path or "notebook.ipynb").name
            old_file = web_side(Path(tmp) / f"{k}-a" / name, old, change.old_path, policy)
            new_file = web_side(Path(tmp) / f"{k}-b" / name, new, change.new_path, policy)
            print(f"nbgit: opening nbdime's web diff of {change.new_path or change.old_path} (close the page to go on)", file=sys.stderr)
            subprocess.run(web_command(old_file, new_file), check=False)
    return 0


def web_side(target: Path, data: bytes | None, path: str | None, policy: Policy) -> Path:
    """Write one side for nbdime: cleaned like every diff, an empty notebook when absent, as-is when unreadable."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if data is None:
        data = EMPTY_NOTEBOOK
    else:
        try:
            data = clean_bytes(data, path or target.name, policy)
        except NbgitError:
            pass  # nbdime says itself what it cannot read
    target.write_bytes(data)
    return target


def web_command(old_file: Path, new_file: Path) -> list[str]:
    """The command that serves nbdime's web diff of two files and opens it in the browser."""
    return [sys.executable, "-m", "nbdime", "diff-web", str(old_file), str(new_file)]
