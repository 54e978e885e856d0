"""The outcome of a check run, as text for people, JSON for tools, or GitHub Actions annotations."""

from __future__ import annotations

import json
import re
from pathlib import Path

from nbgit.check.runner import Outcome
from nbgit.check.judge import Problem

_CELLS_OPEN = re.compile(rb'^( +)"cells": \[\s*$')


def render(outcome: Outcome, format: str, root: Path | None) -> str:
    """The report in `format` (text, json or github), ending with a newline."""
    if format == "json":
        return json.dumps(
            [_record(p, False) for p in outcome.problems] + [_record(p, True) for p in outcome.fixed], indent=2
        ) + "\n"
    lines = [_annotation(p, root) for p in outcome.problems] if format == "github" else [_text(p) for p in outcome.problems]
    lines += [f"fixed: {p.text()} [{p.check}]" for p in outcome.fixed]
    if format == "text":
        lines += [f"hint: {hint}" for hint in _hints(outcome.problems)]
    lines.append(summary(outcome))
    return "\n".join(lines) + "\n"


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
            paths.setdefault(p.hint.replace(p.path, "PATH") if p.path else p.hint, set()).add(p.path)
    return [hint.replace("PATH", next(iter(where))) if len(where) == 1 else hint for hint, where in paths.items()]


def _text(problem: Problem) -> str:
    prefix = "warning: " if problem.warning else ""
    return f"{prefix}{problem.text()} [{problem.check}]"


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


def _annotation(problem: Problem, root: Path | None) -> str:
    """`::error file=PATH,line=N,title=nbgit ID::message` (GitHub's workflow command syntax, escaped)."""
    properties = []
    if problem.path:
        properties.append(f"file={_escape(problem.path, True)}")
        line = problem.line or (_cell_line(root, problem.path, problem.cell) if problem.cell else None)
        if line:
            properties.append(f"line={line}")
    properties.append(f"title={_escape('nbgit ' + problem.check, True)}")
    text = problem.message if problem.cell is None else f"cell {problem.cell}: {problem.message}"
    body = _escape(f"{text}\nhint: {problem.hint}" if problem.hint else text, False)
    return f"::{'warning' if problem.warning else 'error'} {','.join(properties)}::{body}"


def _escape(text: str, property: bool) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if property else text


def _cell_line(root: Path | None, path: str, cell: int) -> int | None:
    """The line where cell `cell` (from 1) opens in the file, for notebooks written with an indent."""
    try:
        data = ((root or Path.cwd()) / path).read_bytes()
    except OSError:
        return None
    lines = data.splitlines()
    for number, line in enumerate(lines):
        found = _CELLS_OPEN.match(line)
        if found is None:
            continue
        indent = len(found.group(1))
        opening, closing = b" " * (2 * indent) + b"{", b" " * indent + b"]"
        seen = 0
        for offset, inner in enumerate(lines[number + 1 :], number + 2):
            if inner.startswith(closing):
                return None
            if inner.rstrip() == opening:
                seen += 1
                if seen == cell:
                    return offset
        return None
    return None
