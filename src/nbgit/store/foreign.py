"""Which blobs a checkout writes may have been committed without nbgit, decided without cleaning them.

A teammate's clone without nbgit, a hosting site's web editor or a script commits a notebook as its
editor saved it: with outputs, execution counts, an editor's metadata, or in another layout. The
smudge records such a blob as written (`restore.as_committed`), which needs to know which blobs clean
to something else; cleaning every blob a checkout writes to find out would cost a checkout of a
thousand notebooks about half a second, and nearly every one is a blob nbgit stored. Only the
standard library: the clean filter asks this too.
"""

from __future__ import annotations

import functools
import re

from nbgit.policy import Policy

_LAYOUT = b'{\n "cells": ['  # how every nbformat 4 notebook nbgit (or Jupyter) writes begins


def may_be_unclean(blob: bytes, policy: Policy) -> bool:
    """Whether `blob` may hold what the filter strips: another layout than Jupyter's (Colab's indent,
    a minified file), what running leaves that `policy` strips (outputs, execution counts) or VS Code's
    metadata (written on every save). One scan in C, so that the blobs nbgit stored (nearly every one a
    checkout writes) are not cleaned again to find out; a blob committed without nbgit that differs
    from its clean version in other metadata alone is not looked at (git may then list it as modified
    until `nbgit renormalize`)."""
    if not blob.startswith(_LAYOUT):
        return True
    return _traces(policy.outputs == "strip", policy.execution_count == "strip").search(blob) is not None


@functools.lru_cache(maxsize=4)
def _traces(outputs: bool, counts: bool) -> re.Pattern[bytes]:
    """What a policy that strips `outputs` and `counts` (or keeps them) looks for in a blob."""
    found = [rb'"vscode":']
    if outputs:
        found.append(rb'"output_type"')
    if counts:
        found += [rb'"execution_count": *[0-9]', rb'"prompt_number": *[0-9]']
    return re.compile(b"|".join(found))
