"""Copied code: the groups of places that hold the same code, and the way out of each. Pure: no I/O.

A copy is a run of at least `min_lines` normalised lines (see `nbgit.check.fingerprints`) inside one
cell or module that also appears in another file. Every window of `min_lines` consecutive lines is
hashed; windows found in two or more files are shared, consecutive shared windows in a unit make one
place, and places that share a window belong to one group. So a function pasted into five notebooks
is one group of five places, whichever lines each copy kept or changed. Groups made of modules
alone are left to Python's own clone detectors; a group needs a notebook.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING, Iterable, Mapping, NamedTuple

if TYPE_CHECKING:  # (a report taken from the cache needs the groups, not the fingerprints' tokeniser and hashing)
    from nbgit.check.fingerprints import Unit

    Units = tuple[Unit, ...]

NOTEBOOK = ".ipynb"


class Place(NamedTuple):
    """Where a copy sits: the file, the cell (from 1; None in a module) and its physical lines there."""

    path: str
    cell: int | None
    start: int
    end: int
    lines: int  # normalised lines of code

    def text(self) -> str:
        """`a.ipynb cell 3`, `src/plots.py lines 10-31`."""
        if self.cell is not None:
            return f"{self.path} cell {self.cell}"
        return f"{self.path} line {self.start}" if self.start == self.end else f"{self.path} lines {self.start}-{self.end}"


class CopyGroup(NamedTuple):
    """The places holding the same code, notebooks first, and where the code should live instead.

    `lines` counts the copied lines of the file that holds most of them. `module` is a repository
    module that already has the code (import it from there); otherwise `suggested` is a module name
    derived from the code (the function it defines) to move it to.
    """

    lines: int
    places: tuple[Place, ...]
    module: str | None
    suggested: str

    def way_out(self) -> str:
        """What to do: import from the module that has the code, or move the code to a new one."""
        if self.module is not None:
            return f"import it from `{self.module}`"
        return f"move it to a module (for example `{self.suggested}`) and import it"

    def where(self, skip_first: bool = False) -> str:
        """The places as text, a file at a time: `a.ipynb cells 3, 7, b.ipynb cell 2, src/io.py lines 4-20`."""
        by_path: dict[str, list[Place]] = {}
        for place in self.places:
            by_path.setdefault(place.path, []).append(place)
        return ", ".join(_where(path, places) for path, places in list(by_path.items())[skip_first:])

    def record(self) -> dict[str, object]:
        """The group as plain data (for JSON and other formats): size, every place, the way out."""
        return {
            "lines": self.lines,
            "places": [place._asdict() for place in self.places],
            "module": self.module,
            "suggested_module": None if self.module else self.suggested,
            "way_out": self.way_out(),
        }


def _where(path: str, places: list[Place], shown: int = 6) -> str:
    """One file's places: `a.ipynb cell 3`, `a.ipynb cells 3, 7`, `src/io.py lines 4-20, 30-41` (then `and N more`)."""
    if places[0].cell is not None:
        spots = [str(place.cell) for place in places]
        label = "cell" if len(spots) == 1 else "cells"
    else:
        spots = [str(p.start) if p.start == p.end else f"{p.start}-{p.end}" for p in places]
        label = "line" if spots[0].isdigit() and len(spots) == 1 else "lines"
    more = f" and {len(spots) - shown} more" if len(spots) > shown else ""
    return f"{path} {label} {', '.join(spots[:shown])}{more}"


def window_hashes(unit: Unit, size: int) -> list[int]:
    """The hash of every run of `size` consecutive lines of a unit, by position."""
    hashes = unit.hashes
    if len(hashes) < size:
        return []
    return list(map(hash, zip(*(hashes[offset:] for offset in range(size)))))


def file_windows(units: Units, size: int) -> set[int]:
    """Every window hash of a file."""
    found: set[int] = set()
    for unit in units:
        found.update(window_hashes(unit, size))
    return found


def grown_windows(before: Mapping[str, Units], after: Mapping[str, Units], size: int) -> set[int]:
    """The windows that more files hold after a change than before it: what a commit copies.

    `before` has the units, at the base, of every path the change touches (empty for a path it
    adds); `after` has every file after the change (a path it deletes is absent). A file renamed,
    or a copy moved from one notebook to another, holds no more windows than before: not growth.
    """
    delta: Counter[int] = Counter()
    for path, old_units in before.items():
        old, new = file_windows(old_units, size), file_windows(after.get(path, ()), size)
        delta.update(new - old)
        delta.subtract(old - new)
    return {window for window, change in delta.items() if change > 0}


def copy_groups(files: Mapping[str, Units], size: int, only: set[int] | None = None, first: Iterable[str] = ()) -> list[CopyGroup]:
    """The groups of copied code among `files` (path -> units), largest first.

    With `only`, just the groups holding one of those windows (`grown_windows`); the paths in
    `first` lead each group's places (the notebooks a commit changes).
    """
    windows = {path: [window_hashes(unit, size) for unit in units] for path, units in files.items()}
    seen: set[int] = set()
    shared: set[int] = set()
    for per_unit in windows.values():
        hashes = set().union(*per_unit)
        shared |= hashes & seen
        seen |= hashes
    regions: list[_Region] = []
    owner: dict[int, int] = {}  # a window -> the first region holding it
    parent: list[int] = []
    for path, per_unit in windows.items():
        for unit, hashes in zip(files[path], per_unit):
            if shared.isdisjoint(hashes):
                continue
            for begin, end in _runs(hashes, shared):
                number = len(regions)
                regions.append(_Region(path, unit, begin, end, hashes[begin : end + 1]))
                parent.append(number)
                for window in regions[-1].windows:
                    other = owner.setdefault(window, number)
                    if other != number:
                        _union(parent, other, number)
    components: dict[int, list[_Region]] = {}
    for number, region in enumerate(regions):
        components.setdefault(_find(parent, number), []).append(region)
    by_files: dict[frozenset[str], list[_Region]] = {}  # the copies between the same files read as one
    for found in components.values():
        if only is None or any(not only.isdisjoint(region.windows) for region in found):
            by_files.setdefault(frozenset(region.path for region in found), []).extend(found)
    leading = set(first)
    groups = [_group(found, size, leading) for paths, found in by_files.items() if len(paths) > 1 and any(p.endswith(NOTEBOOK) for p in paths)]
    return sorted(groups, key=lambda g: (-g.lines, -len(g.places), g.places[0].path, g.places[0].cell or 0))


class _Region(NamedTuple):
    """Consecutive shared windows of one unit, from position `begin` to `end`."""

    path: str
    unit: Unit
    begin: int
    end: int
    windows: list[int]


def _runs(hashes: list[int], shared: set[int]) -> list[tuple[int, int]]:
    """(first, last) positions of the runs of consecutive shared windows."""
    runs, begin = [], None
    for position, window in enumerate(hashes):
        if window in shared:
            if begin is None:
                begin = position
        elif begin is not None:
            runs.append((begin, position - 1))
            begin = None
    if begin is not None:
        runs.append((begin, len(hashes) - 1))
    return runs


def _find(parent: list[int], number: int) -> int:
    while parent[number] != number:
        parent[number] = parent[parent[number]]
        number = parent[number]
    return number


def _union(parent: list[int], a: int, b: int) -> None:
    parent[_find(parent, b)] = _find(parent, a)


def _group(regions: list[_Region], size: int, leading: set[str]) -> CopyGroup:
    """One group from its regions: places ordered notebooks first (changed ones leading), the way out."""
    places, name = [], None
    for path, unit, begin, end, _ in sorted(regions, key=lambda r: r.end - r.begin, reverse=True):
        last = end + size - 1
        places.append(Place(path, unit.cell, unit.starts[begin], unit.ends[last], last - begin + 1))
        name = name or next((defined for position, defined in unit.defines if begin <= position <= last and not defined.startswith("_")), None)
    places.sort(key=lambda p: (not p.path.endswith(NOTEBOOK), p.path not in leading, p.path, p.cell or 0, p.start))
    lines: dict[str, int] = {}
    for place in places:
        lines[place.path] = lines.get(place.path, 0) + place.lines
    modules = sorted((path for path in lines if not path.endswith(NOTEBOOK)), key=lambda path: (-lines[path], path))
    return CopyGroup(max(lines.values()), tuple(places), modules[0] if modules else None, f"{_module_name(name, places)}.py")


def _module_name(defined: str | None, places: list[Place]) -> str:
    """A module name for the code: the function or class it defines (`load_data`), else the common
    start of the notebooks' names (`titanic` for `titanic-eda` and `titanic-model`), else `common`."""
    if defined:
        return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", defined).lower()
    stems = [re.split(r"[^A-Za-z0-9]+", p.path.rsplit("/", 1)[-1].removesuffix(NOTEBOOK).lower()) for p in places]
    common = []
    for words in zip(*stems):
        if len(set(words)) != 1 or not words[0]:
            break
        common.append(words[0])
    name = "_".join(common)
    return name if len(name) >= 3 and name.isidentifier() else "common"
