"""The clean core: a notebook dict and a policy in, the cleaned dict and what changed out. No I/O.

Only the standard library is used: this runs inside the git filter for every notebook.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

from nbgit.errors import NbgitError
from nbgit.notebook import minor_of, parse, serialise, source_of, too_deep
from nbgit.policy import Policy
from nbgit.volatile import VOLATILE_KEYS


JUPYTEXT_UTF8_LINE = " -*- coding: utf-8 -*-"  # after the language's comment sign, as jupytext writes it
# What only code cells may carry in nbformat 4; found on markdown and raw cells in real repositories.
CODE_ONLY_KEYS = ("outputs", "execution_count")


class CleanError(NbgitError):
    """A notebook whose own markings contradict each other, so cleaning cannot decide."""


class Cleaned(NamedTuple):
    """The cleaned notebook content and what changed, as (place, what): a cell's number or `notebook`."""

    content: dict[str, Any]
    found: list[tuple[int | str, str]]

    @property
    def changes(self) -> list[str]:
        """One line per change (`cell 3: outputs (2)`): made only when asked for (the filter never asks)."""
        return [f"{_place(where)}: {what}" for where, what in self.found]


class KeyRules(NamedTuple):
    """Which key paths to strip and keep, with the dotted prefixes worth descending into.

    `steps` maps a prefix to what to do with each key below it that any rule names (`cell.metadata`
    -> `collapsed`, `scrolled`...), decided once per policy: a key no rule names is passed over.
    """

    strip: frozenset[str]
    keep: frozenset[str]
    descend: frozenset[str]
    keep_below: frozenset[str]
    steps: dict[str, dict[str, Step]]

    @classmethod
    def for_policy(cls, policy: Policy) -> KeyRules:
        """The catalogue plus the policy's extra keys, minus its kept keys."""
        return _key_rules(policy.extra_keys, policy.keep_keys)


@functools.lru_cache(maxsize=8)
def _key_rules(extra_keys: tuple[str, ...], keep_keys: tuple[str, ...]) -> KeyRules:
    keep = frozenset(keep_keys)
    strip = frozenset({*VOLATILE_KEYS, *extra_keys} - keep)
    descend = _prefixes(strip | keep)
    keep_below = _prefixes(keep)
    steps: dict[str, dict[str, Step]] = {}
    for path in (strip | descend) - keep:
        doomed = path in strip
        step = Step(path, _label(path), doomed and path not in keep_below, doomed, path in descend)
        # keys may hold dots themselves: `a.b.c` is key `b.c` below `a` as well as key `c` below `a.b`
        for prefix, key in [("", path), *((path[:i], path[i + 1 :]) for i, ch in enumerate(path) if ch == ".")]:
            steps.setdefault(prefix, {})[key] = step
    return KeyRules(strip, keep, descend, keep_below, steps)


class Step(NamedTuple):
    """What cleaning does with one key (at `path`) wherever its prefix leads: strip it, or look inside."""

    path: str
    label: str  # as a change is listed: `metadata.widgets`, and cell or output keys without `cell.`
    strips: bool  # the key goes
    doomed: bool  # a rule strips it, so below it only kept keys stay (`keep_keys` names some)
    descends: bool  # some rule names a key inside it


def _label(path: str) -> str:
    return path.split(".", 1)[1] if path.startswith(("cell.", "output.")) else path


def _prefixes(paths: frozenset[str]) -> frozenset[str]:
    return frozenset(p[:i] for p in paths for i, ch in enumerate(p) if ch == ".")


def clean_bytes(data: bytes, path: str, policy: Policy) -> bytes:
    """Clean notebook bytes into Jupyter's own layout; raises NotebookError / CleanError on bad input.

    Lines already split as nbformat splits them are cleaned and written as they were read (no join, no split).
    """
    notebook = parse(data, path, keep_lines=True)
    try:
        cleaned = clean(notebook.content, notebook.major, policy)
        return serialise(notebook._replace(content=cleaned.content))
    except CleanError as error:
        raise CleanError(f"{path}: {error.message}", error.hint) from None
    except RecursionError:  # parsed near the limit, too deep to write back (the indented writer recurses)
        raise too_deep(path) from None


def clean(content: dict[str, Any], major: int, policy: Policy) -> Cleaned:
    """Strip volatile state from a notebook (in memory form, or with lines kept: see `parse`) as `policy`
    says; the input is not modified."""
    rules = KeyRules.for_policy(policy)
    changes: list[tuple[int | str, str]] = []
    result = _without_jupytext_echo(_strip_keys(content, "", rules, _Recorder(changes, "notebook")), rules, _Recorder(changes, "notebook"))
    metadata = content.get("metadata") if isinstance(content.get("metadata"), dict) else {}
    keep_all = metadata.get("keep_output") is True
    if "cells" in content or "worksheets" not in content:
        result = dict(result)
        result["cells"] = _clean_cells(content.get("cells") or [], 0, major, policy, rules, keep_all, changes)
        if policy.ids == "sequential":
            _renumber(result["cells"], (major, minor_of(content)) >= (4, 5), changes)
    else:
        result = dict(result)
        offset, worksheets = 0, []
        for worksheet in content["worksheets"]:
            sheet_cells = worksheet.get("cells") or [] if isinstance(worksheet, dict) else []
            cleaned = _clean_cells(sheet_cells, offset, major, policy, rules, keep_all, changes)
            worksheets.append({**worksheet, "cells": cleaned} if isinstance(worksheet, dict) else worksheet)
            offset += len(sheet_cells)
        result["worksheets"] = worksheets
    return Cleaned(result, changes)


def jupytext_cell_filter(rules: KeyRules) -> str:
    """jupytext's `cell_metadata_filter` leaving out of twins the cell metadata these rules strip ("" when none)."""
    keys = sorted(k.split(".", 2)[2] for k in rules.strip if k.startswith("cell.metadata.") and k.count(".") == 2)
    return ",".join(f"-{k}" for k in keys)


def _without_jupytext_echo(notebook: dict[str, Any], rules: KeyRules, record: _Recorder) -> dict[str, Any]:
    """The notebook without what jupytext echoes into `metadata.jupytext` when JupyterLab saves a paired
    notebook and writes again by itself whenever it is missing: the `cell_metadata_filter` of the
    jupytext.toml nbgit writes, and the utf-8 coding line jupytext puts atop the script twin of a
    non-Python notebook with non-ASCII sources. Kept, they would make every first save a change."""
    metadata = notebook.get("metadata")
    jupytext = metadata.get("jupytext") if isinstance(metadata, dict) else None
    if not isinstance(jupytext, dict):
        return notebook
    echoed = set()
    if _echoes_cell_filter(jupytext.get("cell_metadata_filter"), jupytext_cell_filter(rules)):
        echoed.add("cell_metadata_filter")
    if isinstance(jupytext.get("encoding"), str) and jupytext["encoding"].endswith(JUPYTEXT_UTF8_LINE) and _writes_coding_line(notebook):
        echoed.add("encoding")
    echoed = {key for key in echoed if f"metadata.jupytext.{key}" not in rules.keep}
    if not echoed:
        return notebook
    for key in sorted(echoed):
        record.add(f"metadata.jupytext.{key}")
    kept = {key: value for key, value in jupytext.items() if key not in echoed}
    return {**notebook, "metadata": {**{k: v for k, v in metadata.items() if k != "jupytext"}, **({"jupytext": kept} if kept else {})}}


def _echoes_cell_filter(value: Any, configured: str) -> bool:
    """Whether a notebook's `cell_metadata_filter` is the configured one as jupytext echoes it: the same
    keys left out, plus the cell metadata keys it read in the twin named as kept (which they are anyway)."""
    if not isinstance(value, str) or not configured:
        return False
    entries = [entry.strip() for entry in value.split(",") if entry.strip()]
    left_out = {entry[1:] for entry in entries if entry.startswith("-")}
    kept = {entry for entry in entries if not entry.startswith("-")}
    return left_out == {entry[1:] for entry in configured.split(",")} and "all" not in kept | left_out


def _writes_coding_line(notebook: dict[str, Any]) -> bool:
    """Whether jupytext writes the utf-8 coding line atop this notebook's script twin by itself: a
    kernel language other than Python and a source that is not ASCII."""
    metadata = notebook["metadata"]
    kernel = metadata.get("kernelspec") if isinstance(metadata.get("kernelspec"), dict) else {}
    info = metadata.get("language_info") if isinstance(metadata.get("language_info"), dict) else {}
    language = kernel.get("language") or info.get("name")
    cells = notebook.get("cells") if isinstance(notebook.get("cells"), list) else []
    return isinstance(language, str) and language.lower() != "python" and any(not source_of(c).isascii() for c in cells if isinstance(c, dict))


class _Recorder:
    """Collects the changes at the place being cleaned (`notebook`, a cell's number): one per notebook,
    moved from cell to cell (`place`), as the cells are cleaned one after another. Only (place, what)
    pairs are kept: the lines are written when asked for (`Cleaned.changes`)."""

    __slots__ = ("changes", "place")

    def __init__(self, changes: list[tuple[int | str, str]], place: int | str) -> None:
        self.changes = changes
        self.place = place  # a cell's number, or the name of a place

    def add(self, what: str) -> None:
        self.changes.append((self.place, what))


def _place(where: int | str) -> str:
    """`cell 3` for a cell's number, the place's name otherwise."""
    return f"cell {where}" if type(where) is int else where


class _Plan(NamedTuple):
    """What the policy asks of every cell, decided once per notebook."""

    major: int  # nbformat's major version
    count_key: str  # execution_count (v4) or prompt_number (v1-v3)
    strip_counts: bool
    drops_cells: bool  # empty or tagged cells are dropped
    judges_outputs: bool  # outputs are judged one by one (types, sizes, or all kept); else all go unless kept by the cell

    @classmethod
    def of(cls, policy: Policy, major: int) -> _Plan:
        judges = bool(policy.drop_output_types or policy.keep_output_types or policy.max_output_size is not None or policy.outputs == "keep")
        return cls(
            major, "execution_count" if major == 4 else "prompt_number", policy.execution_count == "strip",
            drops_cells(policy), judges,
        )


def _clean_cells(
    cells: list[Any], offset: int, major: int, policy: Policy, rules: KeyRules, keep_all: bool, changes: list[tuple[int | str, str]]
) -> list[Any]:
    result = []
    plan = _Plan.of(policy, major)
    record = _Recorder(changes, offset)
    for number, cell in enumerate(cells, offset + 1):
        if not isinstance(cell, dict):
            result.append(cell)
            continue
        record.place = number
        reason = _drop_reason(cell, policy) if plan.drops_cells else ""
        if reason:
            record.add(f"dropped ({reason})")
            continue
        result.append(_clean_cell(cell, plan, policy, rules, keep_all, record))
    return result


def drops_cells(policy: Policy) -> bool:
    """Whether `policy` drops whole cells (empty ones, tagged ones)."""
    return bool(policy.drop_empty_cells or policy.drop_tagged_cells)


def dropped(cell: Any, policy: Policy) -> bool:
    """Whether cleaning under `policy` leaves this cell out of the notebook altogether."""
    return isinstance(cell, dict) and bool(_drop_reason(cell, policy))


def _drop_reason(cell: dict[str, Any], policy: Policy) -> str:
    if policy.drop_empty_cells and not source_of(cell).strip():
        return "empty"
    tags = _tags(cell)
    dropping = [t for t in policy.drop_tagged_cells if t in tags]
    return f"tagged {dropping[0]}" if dropping else ""


def _tags(cell: dict[str, Any]) -> list[Any]:
    metadata = cell.get("metadata")
    tags = metadata.get("tags") if isinstance(metadata, dict) else None
    return tags if isinstance(tags, list) else []


def _clean_cell(cell: dict[str, Any], plan: _Plan, policy: Policy, rules: KeyRules, keep_all: bool, record: _Recorder) -> dict[str, Any]:
    """The cleaned cell: `cell` itself when nothing goes (cells are never changed in place)."""
    result = _strip_keys(cell, "cell", rules, record)
    if cell.get("cell_type") != "code":
        if plan.major != 4 or result.keys().isdisjoint(CODE_ONLY_KEYS):
            return result
        misplaced = [k for k in CODE_ONLY_KEYS if k in result]  # schema-invalid in nbformat 4; some tools leave them
        for key in misplaced:
            record.add(f"{key} (on a {cell.get('cell_type')} cell)")
        return {k: v for k, v in result.items() if k not in misplaced} if misplaced else result
    changed: dict[str, Any] = {}
    count_key = plan.count_key
    if plan.strip_counts and result.get(count_key) is not None:
        changed[count_key] = None
        record.add(count_key)
    outputs = cell.get("outputs")
    if isinstance(outputs, list) and outputs:
        explicit = _keeps_outputs(cell, policy, keep_all, record.place)
        if explicit or (plan.judges_outputs and policy.max_output_size is None):
            kept = [_clean_output(o, count_key, plan.strip_counts, rules, record) for o in outputs if _survives(o, explicit, policy)]
        elif plan.judges_outputs:
            kept = _kept_by_size(outputs, plan, policy, rules, record)
        else:
            kept = []  # what _survives says of every output then, without asking it each time
        if len(kept) < len(outputs):
            record.add(f"outputs ({len(outputs) - len(kept)})")
        changed["outputs"] = kept
    return {**result, **changed} if changed else result


def _kept_by_size(outputs: list[Any], plan: _Plan, policy: Policy, rules: KeyRules, record: _Recorder) -> list[Any]:
    """The outputs that survive `max_output_size` (and the type rules), cleaned. Each is measured as it is
    stored (its count stripped: `null` is longer than `3`; its stripped metadata gone), so that an output
    kept is kept again when the blob is cleaned: clean(clean(x)) == clean(x)."""
    kept = []
    for output in outputs:
        noted = _Recorder([], record.place)
        cleaned = _clean_output(output, plan.count_key, plan.strip_counts, rules, noted)
        if _survives(cleaned, False, policy):
            kept.append(cleaned)
            record.changes.extend(noted.changes)
    return kept


def _keeps_outputs(cell: dict[str, Any], policy: Policy, notebook_keeps: bool, where: int | str) -> bool:
    """Whether the cell itself (tag, metadata, init_cell) or the notebook asks to keep its outputs."""
    metadata = cell.get("metadata")
    if not metadata or not isinstance(metadata, dict):
        return notebook_keeps  # no tag, no keep_output, no init_cell: most cells
    tagged = any(tag in _tags(cell) for tag in policy.keep_output_tags)
    if metadata.get("keep_output") is False and tagged:
        raise CleanError(
            f"{_place(where)}: metadata says keep_output is false but its tags say keep_output",
            "remove the keep_output tag or the keep_output metadata from that cell",
        )
    init_cell = metadata.get("init_cell") is True and not policy.strip_init_cells
    if tagged or metadata.get("keep_output") is True or init_cell:
        return True
    return notebook_keeps and metadata.get("keep_output") is not False


def _survives(output: Any, explicit: bool, policy: Policy) -> bool:
    if not isinstance(output, dict):
        return explicit or policy.outputs == "keep"
    if policy.drop_output_types and _type_matches(output, policy.drop_output_types):
        return False
    if policy.keep_output_types:
        return _type_matches(output, policy.keep_output_types)
    if explicit:
        return True
    if policy.max_output_size is not None:
        return _size(output) <= policy.max_output_size
    return policy.outputs == "keep"


def _type_matches(output: dict[str, Any], types: tuple[str, ...]) -> bool:
    kind = output.get("output_type")
    return kind in types or f"{kind}:{output.get('name')}" in types


def _size(item: Any) -> int:
    """Characters in every string of an output (nbstripout's measure for --max-size)."""
    if isinstance(item, str):
        return len(item)
    if isinstance(item, list):
        return sum(_size(i) for i in item)
    if isinstance(item, dict):
        return sum(_size(v) for v in item.values())
    return len(str(item))


def _clean_output(output: Any, count_key: str, strip_counts: bool, rules: KeyRules, record: _Recorder) -> Any:
    if not isinstance(output, dict):
        return output
    result = _strip_keys(output, "output", rules, record)
    if strip_counts and result.get(count_key) is not None:
        result = {**result, count_key: None}
        record.add(f"outputs.{count_key}")
    return result


def _renumber(cells: list[Any], ids_required: bool, changes: list[tuple[int | str, str]]) -> None:
    """In the list (a new one), each cell whose id is not its position replaced by a copy that has it."""
    for index, cell in enumerate(cells):
        if isinstance(cell, dict) and (ids_required or "id" in cell) and cell.get("id") != str(index):
            cells[index] = {**cell, "id": str(index)}
            changes.append((index + 1, "id"))


def _strip_keys(obj: dict[str, Any], prefix: str, rules: KeyRules, record: _Recorder) -> dict[str, Any]:
    """`obj` without the keys the rules strip at `prefix` (a copy only when something goes)."""
    steps = rules.steps.get(prefix)
    if not steps:
        return obj
    named: Any = steps.keys() & obj.keys()
    if not named:
        return obj  # no key here that any rule names: the common case, decided in C
    if len(named) > 1:
        named = [key for key in obj if key in named]  # in the notebook's order, as changes are listed
    result: dict[str, Any] | None = None
    for key in named:
        step, value = steps[key], obj[key]
        if step.strips:
            if result is None:
                result = dict(obj)
            del result[key]
            record.add(step.label)
        elif step.descends and value and isinstance(value, dict):
            stripped = _strip_all_but_kept(value, step.path, rules, record) if step.doomed else _strip_keys(value, step.path, rules, record)
            if stripped is not value:
                if result is None:
                    result = dict(obj)
                result[key] = stripped
    return obj if result is None else result


def _strip_all_but_kept(obj: dict[str, Any], prefix: str, rules: KeyRules, record: _Recorder) -> dict[str, Any]:
    """`obj` (at `prefix`, which a rule strips) with only the keys `keep_keys` names, or holds below it."""
    result = dict(obj)
    for key, value in obj.items():
        path = f"{prefix}.{key}"
        if path in rules.keep:
            continue
        if path not in rules.keep_below:
            del result[key]
            record.add(_label(path))
        elif value and isinstance(value, dict):
            result[key] = _strip_all_but_kept(value, path, rules, record)
    return result
