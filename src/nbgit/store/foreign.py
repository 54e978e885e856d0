"""Which blobs a checkout writes may have been committed without nbgit, decided without cleaning them.

A teammate's clone without nbgit, a hosting site's web editor or a script commits a notebook as its
editor saved it: with outputs, execution counts, an editor's metadata (or Jupyter's own: the kernel's
exact version, a folded output), or in another layout. The smudge records such a blob as written
(`restore.as_committed`), which needs to know which blobs clean to something else; cleaning every blob
a checkout writes to find out would cost a checkout of a thousand notebooks about half a second, and
nearly every one is a blob nbgit stored. Only the standard library and the clean core: the clean
filter asks this too.
"""

from __future__ import annotations

import functools
import json
import re
from typing import NamedTuple

from nbgit.clean import KeyRules
from nbgit.policy import Policy

_LAYOUT = b'{\n "cells": ['  # how every nbformat 4 notebook nbgit (or Jupyter) writes begins


def may_be_unclean(blob: bytes, policy: Policy) -> bool:
    """Whether `blob` may hold what the filter strips: another layout than Jupyter's (Colab's indent,
    a minified file), what running leaves that `policy` strips (outputs, execution counts) or a key it
    strips (VS Code's interpreter hash, the kernel's exact Python version Jupyter writes on every save,
    a folded output area), looked for at its depth in Jupyter's layout. Two scans in C, so that the
    blobs nbgit stored (nearly every one a checkout writes) are not cleaned again to find out; a blob
    committed without nbgit that differs from its clean version otherwise (keys in an order of their
    own at Jupyter's indent) is not looked at, unless this clone remembers its path (see `restore`):
    the clean recognises it instead, as the blob the index holds (`keeper.staged_as_is`)."""
    if not blob.startswith(_LAYOUT):
        return True
    traces = _traces(policy.outputs == "strip", policy.execution_count == "strip", policy.extra_keys, policy.keep_keys)
    if traces.runs is not None and traces.runs.search(blob) is not None:
        return True
    if traces.cell_keys is not None and traces.cell_keys.search(blob) is not None:
        return True
    metadata = blob.rfind(_NOTEBOOK_METADATA)  # (after the cells: keys sort so)
    return traces.keys is not None and traces.keys.search(blob, max(metadata, 0)) is not None


# Where a key path sits in Jupyter's layout: the spaces before a key one below each root, one more per
# dot below (`metadata.x`: 2; `cell.metadata.x`: 4, in a cell of `cells`; `output.x`: 5, in `outputs`).
_DEPTH_BELOW = {"metadata": 2, "cell": 3, "output": 5}
_NOTEBOOK_METADATA = b'\n "metadata": {'


class Traces(NamedTuple):
    """What `may_be_unclean` looks for, as patterns (None: nothing): what running leaves, the keys the
    policy strips in the notebook's metadata (looked for there only), and those in cells and outputs."""

    runs: re.Pattern[bytes] | None
    keys: re.Pattern[bytes] | None
    cell_keys: re.Pattern[bytes] | None


@functools.lru_cache(maxsize=8)
def _traces(outputs: bool, counts: bool, extra_keys: tuple[str, ...], keep_keys: tuple[str, ...]) -> Traces:
    """What a policy that strips `outputs` and `counts` (or keeps them) and the keys of the catalogue
    with `extra_keys`, less `keep_keys`, looks for in a blob (each depth's alternatives start with the
    same characters, which the scan finds first: one pattern with the runs' would be five times slower)."""
    runs = [rb'"output_type"'] if outputs else []
    if counts:
        runs += [rb'"execution_count": *[0-9]', rb'"prompt_number": *[0-9]']
    by_depth: dict[tuple[bool, int], set[bytes]] = {}
    for path in KeyRules.for_policy(Policy(extra_keys=extra_keys, keep_keys=keep_keys)).strip:
        root, *below = path.split(".")
        if root in _DEPTH_BELOW and below:
            quoted = json.dumps(below[-1], ensure_ascii=False).encode()[1:-1]
            by_depth.setdefault((root == "metadata", _DEPTH_BELOW[root] + len(below) - 1), set()).add(re.escape(quoted))

    def pattern(alternatives: list[bytes]) -> re.Pattern[bytes] | None:
        return re.compile(b"|".join(alternatives)) if alternatives else None

    def keys(notebooks: bool) -> re.Pattern[bytes] | None:
        return pattern([rb'\n%s"(?:%s)":' % (b" " * depth, b"|".join(sorted(names)))
                        for (of_notebook, depth), names in sorted(by_depth.items()) if of_notebook == notebooks])

    return Traces(pattern(runs), keys(True), keys(False))
