"""The outcome of a check run: text for people, JSON for tools, GitHub Actions annotations, GitLab's
Code Quality report and SARIF 2.1.0 (code-scanning tools) for CI."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from nbgit import __version__
from nbgit.check.catalogue import CHECKS, Problem
from nbgit.check.runner import Outcome
from nbgit.terminal import one_line, shell_word, utf8_text, visible

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
PROJECT_URL = "https://github.com/OWNER/nbgit"  # this project, as README names it
# GitLab's Code Quality severities for nbgit's two
_GITLAB_SEVERITY = {False: "major", True: "info"}

_CELLS_OPEN = re.compile(rb'^( +)"cells": \[\s*$')


def render(outcome: Outcome, format: str, root: Path | None) -> str:
    """The report in `format` (text, json, github, gitlab or sarif), ending with a newline."""
    if format == "json":
        return _json([_record(p, False) for p in outcome.problems] + [_record(p, True) for p in outcome.fixed])
    if format == "gitlab":
        lines = CellLines(root, outcome.judged)
        return _json([_code_quality(p, lines) for p in outcome.problems])
    if format == "sarif":
        return _json(_sarif(outcome, CellLines(root, outcome.judged)))
    if format == "github":
        cell_lines = CellLines(root, outcome.judged)
        lines = [_annotation(p, cell_lines) for p in outcome.problems]
    else:
        lines = [_text(p) for p in outcome.problems]
    lines += [one_line(f"fixed: {p.text()} [{p.check}]") for p in outcome.fixed]
    if format == "text":
        lines += [f"hint: {hint}" for hint in _hints(outcome.problems)]
    lines.append(summary(outcome))
    return "\n".join(lines) + "\n"


def _json(report: Any) -> str:
    """A report as indented JSON, every text valid UTF-8: a file name's bytes that are not UTF-8 shown
    as git shows them (`caf\\351.ipynb`, as in the text report), never as lone surrogates (`\\udce9`)
    that strict JSON readers refuse."""
    return json.dumps(_utf8(report), indent=2) + "\n"


def _utf8(value: Any) -> Any:
    """`value` (JSON data) with `utf8_text` applied to every string in it, keys included."""
    if isinstance(value, str):
        return utf8_text(value)
    if isinstance(value, dict):
        return {utf8_text(key): _utf8(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_utf8(item) for item in value]
    return value


def summary(outcome: Outcome) -> str:
    """`3 problems in 2 notebooks (1 fixable with --fix)`, or that all is well; warnings counted apart."""
    errors = [p for p in outcome.problems if not p.warning]
    warnings = len(outcome.problems) - len(errors)
    checked = f"{outcome.notebooks} notebook{'s' * (outcome.notebooks != 1)}"
    if errors:
        places = len({p.path for p in errors if p.path})
        fixable = sum(p.fixable for p in errors)
        text = f"{len(errors)} problem{'s' * (len(errors) != 1)} in {places} notebook{'s' * (places != 1)}"
        text += f" ({fixable} fixable with --fix)" if fixable else ""
    else:
        text = f"no problems in {checked}"
    if outcome.fixed:
        text += f"; fixed {len(outcome.fixed)}"
    if warnings:
        text += f"; {warnings} warning{'s' * (warnings != 1)}"
    return text


def _hints(problems: list[Problem]) -> list[str]:
    """Each distinct hint once: naming the file when one file needs it, else with PATH standing for each."""
    paths: dict[str, set[str]] = {}
    for p in problems:
        if p.hint:
            paths.setdefault(p.hint.replace(shell_word(p.path), "PATH") if p.path else p.hint, set()).add(p.path)
    return [one_line(hint.replace("PATH", shell_word(next(iter(where)))) if len(where) == 1 else hint) for hint, where in paths.items()]


def _text(problem: Problem) -> str:
    prefix = "warning: " if problem.warning else ""
    return one_line(f"{prefix}{problem.text()} [{problem.check}]")


def _record(problem: Problem, fixed: bool) -> dict[str, object]:
    record: dict[str, object] = {
        "id": problem.check,
        "path": problem.path,
        "cell": problem.cell,
        "line": problem.line,
        "message": problem.message,
        "hint": problem.hint,
        "fixable": problem.fixable,
        "severity": "warning" if problem.warning else "error",
        "fixed": fixed,
    }
    if problem.copied is not None:
        record["copies"] = problem.copied.record()
    return record


class CellLines:
    """The line to point at for each problem of one report: its own, else where its cell opens in the
    notebook's JSON: the bytes judged (`judged`, by path: a staged blob is no working-tree file), else
    the file. Each notebook is read and scanned once per report (a notebook of 20,000 marked cells
    took `--format github` minutes when each of its problems read it again)."""

    def __init__(self, root: Path | None, judged: dict[str, bytes] | None = None) -> None:
        self.root = root
        self.judged = judged or {}
        self.openings: dict[str, list[int]] = {}  # path: the line where each cell opens

    def of(self, problem: Problem) -> int | None:
        if problem.line or not (problem.cell and problem.path):
            return problem.line
        openings = self.openings.get(problem.path)
        if openings is None:
            openings = self.openings[problem.path] = _cell_openings(self.root, problem.path, self.judged.get(problem.path))
        return openings[problem.cell - 1] if problem.cell <= len(openings) else None


def _message(problem: Problem) -> str:
    return problem.message if problem.cell is None else f"cell {problem.cell}: {problem.message}"


def _code_quality(problem: Problem, lines: CellLines) -> dict[str, Any]:
    """One issue of GitLab's Code Quality report (the Code Climate subset GitLab reads)."""
    import hashlib  # (for this format only: every other run spares its import)

    fingerprint = hashlib.md5(f"{problem.check}\0{problem.path}\0{problem.cell}\0{problem.message}".encode("utf-8", "surrogateescape"), usedforsecurity=False)
    return {
        "type": "issue",
        "check_name": f"nbgit/{problem.check}",
        "description": _message(problem) + (f" (hint: {problem.hint})" if problem.hint else ""),
        "categories": ["Style"] if problem.check == "not-clean" else ["Bug Risk"],
        "fingerprint": fingerprint.hexdigest(),
        "severity": _GITLAB_SEVERITY[problem.warning],
        "location": {"path": problem.path or ".gitattributes", "lines": {"begin": lines.of(problem) or 1}},
    }


def _sarif(outcome: Outcome, lines: CellLines) -> dict[str, Any]:
    """A SARIF 2.1.0 log: one run of nbgit, its checks as rules, each problem a result."""
    from urllib.parse import quote  # (for this format only)

    rules = list(CHECKS)
    results = []
    for problem in outcome.problems:
        result: dict[str, Any] = {
            "ruleId": problem.check,
            "ruleIndex": rules.index(problem.check),
            "level": "warning" if problem.warning else "error",
            "message": {"text": _message(problem) + (f"\nhint: {problem.hint}" if problem.hint else "")},
        }
        if problem.path:
            region = {"startLine": lines.of(problem) or 1}
            uri = quote(problem.path, errors="surrogateescape")  # a URI: `my nb#1.ipynb` is no file `my nb` with a fragment
            location = {"artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"}, "region": region}
            result["locations"] = [{"physicalLocation": location}]
        results.append(result)
    driver = {
        "name": "nbgit",
        "version": __version__,
        "informationUri": PROJECT_URL,
        "rules": [
            {"id": check.id, "shortDescription": {"text": check.catches}, "help": {"text": check.hint.replace("PATH", "NOTEBOOK.ipynb")}}
            for check in CHECKS.values()
        ],
    }
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [{"tool": {"driver": driver}, "results": results}]}


def _annotation(problem: Problem, lines: CellLines) -> str:
    """`::error file=PATH,line=N,title=nbgit ID::message` (GitHub's workflow command syntax, escaped)."""
    properties = []
    if problem.path:
        properties.append(f"file={_escape(problem.path, True)}")
        line = lines.of(problem)
        if line:
            properties.append(f"line={line}")
    properties.append(f"title={_escape('nbgit ' + problem.check, True)}")
    text = _message(problem)
    body = _escape(f"{text}\nhint: {problem.hint}" if problem.hint else text, False)
    return f"::{'warning' if problem.warning else 'error'} {','.join(properties)}::{body}"


def _escape(text: str, property: bool) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    text = visible(text)  # GitHub's log viewer reads ANSI sequences: other control characters are shown
    return text.replace(":", "%3A").replace(",", "%2C") if property else text


def _cell_openings(root: Path | None, path: str, data: bytes | None = None) -> list[int]:
    """The line where each cell opens in the notebook's bytes `data`, else its file, for notebooks written
    with an indent (none for others, or for what is no regular file: a FIFO is not waited on)."""
    from nbgit.errors import NbgitError
    from nbgit.files import read_file

    if data is None:
        try:
            data = read_file((root or Path.cwd()) / path).data
        except NbgitError:
            return []
    lines = data.splitlines()
    for number, line in enumerate(lines):
        found = _CELLS_OPEN.match(line)
        if found is None:
            continue
        indent = len(found.group(1))
        opening, closing = b" " * (2 * indent) + b"{", b" " * indent + b"]"
        openings = []
        for offset, inner in enumerate(lines[number + 1 :], number + 2):
            if inner.startswith(closing):
                break
            if inner.rstrip() == opening:
                openings.append(offset)
        return openings
    return []
