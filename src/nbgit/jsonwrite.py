"""Jupyter's JSON layout written fast: exactly the bytes of the standard library's indented dump.

nbformat writes `json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False)`. The standard
library writes indented JSON in pure Python (about 0.5 ms for a cleaned 50-cell notebook, several
ms with outputs): on a thousand notebooks that is most of the clean filter's work. msgspec encodes
with sorted keys and re-indents in C, ten times faster, and writes the same bytes for everything a
notebook holds except floats in exponent notation (it writes `1e16` where Python writes `1e+16`,
`0.000015` for `1.5e-05`) and NaN or infinities (it writes `null`). So the fast path takes only
dicts, lists, strings, integers (of any size), booleans, None and floats that Python writes without
an exponent; anything else, or anything msgspec refuses (a lone surrogate, a key that is no string),
goes through the standard library, which then writes it (or fails) exactly as nbformat would.

Importing msgspec costs about 15 ms, more than a one-shot command writing a notebook or two saves,
so a process writes its first `FAST_FROM - 1` notebooks with the standard library and loads the
fast path only when it has more to write (the filter process, `nbgit clean` of a folder, checks).
"""

from __future__ import annotations

import json
from typing import Any, Callable

FAST_FROM = 8  # the notebook (counted per process) from which the C encoder is worth its import

_LEAVES = frozenset({str, int, bool, type(None)})
_written = 0
_encoder: Callable[[Any], bytes] | None = None
_loaded = False


def indented(value: Any, ascii: bool = False) -> bytes:
    """`value` as nbformat writes a notebook: one-space indent, sorted keys, UTF-8; with `ascii`,
    non-ASCII escaped (nbformat 2 and 3), else kept (nbformat 4).

    Raises what the standard library raises (UnicodeEncodeError for a lone surrogate, TypeError,
    ValueError for circular data).
    """
    global _written
    _written += 1
    if _written >= FAST_FROM:
        fast = write_fast(value, ascii)
        if fast is not None:
            return fast
    return write_stdlib(value, ascii)


def write_stdlib(value: Any, ascii: bool = False) -> bytes:
    """The reference: nbformat's own call to the standard library."""
    return json.dumps(value, indent=1, sort_keys=True, ensure_ascii=ascii, separators=(",", ": ")).encode("utf-8")


def write_fast(value: Any, ascii: bool = False) -> bytes | None:
    """`write_stdlib(value, ascii)` written in C, or None when the fast path cannot promise the same bytes.

    msgspec never escapes non-ASCII: with `ascii` its output serves only when it is all ASCII and
    holds no DEL (which Python's ASCII mode escapes as `\\u007f`).
    """
    encode = _fast_encoder()
    if encode is None or not _writes_alike(value):
        return None
    try:
        data = encode(value)
    except (TypeError, ValueError, OverflowError, UnicodeError):
        return None
    if ascii and (not data.isascii() or b"\x7f" in data):
        return None
    return data


def _fast_encoder() -> Callable[[Any], bytes] | None:
    global _encoder, _loaded
    if not _loaded:
        _loaded = True
        try:
            import msgspec
        except ImportError:  # an environment without it still writes the same bytes, slower
            return None
        encoder = msgspec.json.Encoder(order="sorted")
        reformat = msgspec.json.format

        def encode(value: Any) -> bytes:
            return reformat(encoder.encode(value), indent=1)

        _encoder = encode
    return _encoder


def _writes_alike(value: Any) -> bool:
    """Whether msgspec writes `value` as the standard library does: only JSON's own types, and floats
    that Python writes without an exponent (both then write the shortest repr)."""
    stack = [value]
    pop, extend = stack.pop, stack.extend
    while stack:
        item = pop()
        kind = type(item)
        if kind is str:
            continue
        if kind is dict:
            extend(item.values())
        elif kind is list:
            extend(item)
        elif kind is float:
            text = float.__repr__(item)
            if "e" in text or "n" in text:  # 1e+16, 1.5e-05, nan, inf
                return False
        elif kind not in _LEAVES:
            return False
    return True
