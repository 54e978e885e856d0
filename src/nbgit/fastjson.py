"""JSON read and written exactly as the standard library does it, in C wherever that gives the same result.

nbformat reads with `json.loads` and writes `json.dumps(value, indent=1, sort_keys=True,
ensure_ascii=False)` (ASCII for nbformat 2 and 3). The standard library writes indented JSON in
pure Python (about 0.5 ms for a cleaned 50-cell notebook, several ms with outputs): on a thousand
notebooks that is most of the clean filter's work. msgspec (C) reads in half the time of `json.loads`
and encodes with sorted keys and re-indents ten times faster than the standard library.

Where the two differ, the standard library decides:
- reading: msgspec refuses what `json.loads` accepts beyond JSON (NaN, Infinity, numbers that
  overflow to infinity) and lone surrogate escapes; it reads every other value the same. Whatever it
  refuses is read again by `json.loads`, which gives the value or the error (with line and column).
- writing: msgspec writes floats in exponent notation differently (`1e16` for Python's `1e+16`,
  `0.000015` for `1.5e-05`), NaN and infinities as `null`, and never escapes non-ASCII. The fast
  path takes only dicts, lists, strings, integers (of any size), booleans, None and floats that
  Python writes without an exponent, and in ASCII mode only output that is printable ASCII; anything
  else, or anything msgspec refuses (a lone surrogate, a key that is no string), is written by the
  standard library, which then writes it (or fails) exactly as nbformat would.

Importing msgspec costs about 15 ms, more than a one-shot command reading and writing a notebook or
two saves, so a process does its first `FAST_FROM - 1` reads and writes (three notebooks cleaned)
with the standard library alone and loads msgspec only when it has more to do (the filter process,
`nbgit clean` of a folder, checks), or at once for a text of a megabyte or more (`LARGE`), which the
standard library's writer takes longer over than the import (a 20 MB notebook: 0.4 s one-shot, 0.1-0.15 s).
"""

from __future__ import annotations

import json
from typing import Any, Callable, NamedTuple

FAST_FROM = 8  # the JSON read or write (counted per process) from which msgspec is worth its import
LARGE = 1 << 20  # bytes of one JSON text from which msgspec is worth its import at once (reading and writing it saves more)

_LEAVES = frozenset({str, int, bool, type(None)})


class _Codec(NamedTuple):
    decode: Callable[[str | bytes], Any]
    encode: Callable[[Any], bytes]
    errors: tuple[type[BaseException], ...]


class Read(NamedTuple):
    """A JSON value as read, and whether msgspec writes it as the standard library does (`alike`): read
    by msgspec, whose only floats are ones Python writes without an exponent. Reading knows that for
    the price of a call per float (real notebooks hold a handful): writing then walks nothing.
    `paired`: read by msgspec, which refuses half a surrogate pair (`"\\ud83d"` alone) where the
    standard library reads it, so every surrogate escape of the text was one of a pair."""

    value: Any
    alike: bool
    paired: bool = False


_handled = 0
_codec: _Codec | None = None
_loaded = False
_unlike = [0]  # floats read so far that Python writes in exponent form (or as nan, inf)


def loads(data: str | bytes) -> Any:
    """`json.loads` of `data` (bytes: UTF-8): the same value, or the same exception (UnicodeDecodeError
    for bytes that are not UTF-8). msgspec reads bytes directly: no str is built for the whole text."""
    return read(data).value


def read(data: str | bytes) -> Read:
    """`loads(data)`, and whether the C writer writes the value alike (see `Read`)."""
    if len(data) >= LARGE:
        expect(FAST_FROM)  # (one text this large pays for msgspec's import at once)
    codec = _codec_if_worth_it()
    if codec is not None:
        unlike = _unlike[0]
        try:
            return Read(codec.decode(data), _unlike[0] == unlike, True)
        except codec.errors:
            pass  # beyond msgspec, or not JSON at all: the standard library says which
    return Read(json.loads(data if isinstance(data, str) else data.decode("utf-8")), False)


def indented(value: Any, ascii: bool = False, like: Any = None) -> bytes:
    """`value` as nbformat writes a notebook: one-space indent, sorted keys, UTF-8; with `ascii`,
    non-ASCII escaped (nbformat 2 and 3), else kept (nbformat 4).

    `like`: a value holding the same numbers, booleans, None and keys as `value` in fewer containers
    (a notebook before its strings are split into lines), looked at instead of `value` to decide
    whether the C writer writes it alike; True when that is known already (`Read.alike` of what
    `value` was made from, with no number added but None). Raises what the standard library raises
    (UnicodeEncodeError for a lone surrogate, TypeError, ValueError for circular data).
    """
    if _codec_if_worth_it() is not None:
        fast = write_fast(value, ascii, value if like is None else like)
        if fast is not None:
            return fast
    return write_stdlib(value, ascii)


def expect(count: int) -> None:
    """A process about to read and write `count` notebooks: with that many, msgspec is loaded at the
    next read or write rather than after the first few, and worker processes forked after it inherit it."""
    global _handled
    if count >= FAST_FROM:
        _handled = max(_handled, FAST_FROM - 1)


def write_stdlib(value: Any, ascii: bool = False) -> bytes:
    """The reference: nbformat's own call to the standard library."""
    return json.dumps(value, indent=1, sort_keys=True, ensure_ascii=ascii, separators=(",", ": ")).encode("utf-8")


def write_fast(value: Any, ascii: bool = False, like: Any = None) -> bytes | None:
    """`write_stdlib(value, ascii)` written in C, or None when the fast path cannot promise the same bytes
    (`like`: see `indented`).

    msgspec never escapes non-ASCII: with `ascii` its output serves only when it is all ASCII and
    holds no DEL (which Python's ASCII mode escapes as `\\u007f`).
    """
    codec = _load()
    if codec is None or not (like is True or _writes_alike(value if like is None else like)):
        return None
    try:
        data = codec.encode(value)
    except (TypeError, ValueError, OverflowError, UnicodeError):
        return None
    if ascii and (not data.isascii() or b"\x7f" in data):
        return None
    return data


def loaded(expected: int = 0) -> bool:
    """Whether msgspec is loaded, for readers of their own (msgspec's typed decoders): it is once this
    process has read and written enough JSON, and is loaded now when it expects `expected` more reads
    that pay for its import (as `expect` says). Counts no read."""
    if expected >= FAST_FROM:
        expect(expected)
        return _load() is not None
    return _codec is not None


def read_fast(text: str | bytes) -> Any:
    """msgspec's reading of `text`, raising where it refuses (for tests that compare it with `json.loads`)."""
    codec = _load()
    if codec is None:
        raise ImportError("msgspec is not installed")
    return codec.decode(text)


def _codec_if_worth_it() -> _Codec | None:
    global _handled
    _handled += 1
    return _load() if _handled >= FAST_FROM else None


def _load() -> _Codec | None:
    global _codec, _loaded
    if not _loaded:
        from nbgit.interrupts import held

        with held():  # (a signal handled while msgspec sets itself up would crash it)
            _loaded = True
            try:
                import msgspec
            except ImportError:  # an environment without it reads and writes the same, slower
                return None
            encoder = msgspec.json.Encoder(order="sorted")
            reformat = msgspec.json.format
            errors = (msgspec.DecodeError, RecursionError, UnicodeError)  # ValidationError is a DecodeError
            decoder = msgspec.json.Decoder(float_hook=_read_float)

        def encode(value: Any) -> bytes:
            return reformat(encoder.encode(value), indent=1)

        _codec = _Codec(decoder.decode, encode, errors)
    return _codec


def _read_float(text: str) -> float:
    """A float as `json.loads` reads it (`float` of its text), counting those Python writes in exponent form."""
    value = float(text)
    if not _plain(value):
        _unlike[0] += 1
    return value


def _plain(number: float) -> bool:
    """Whether Python writes `number` without an exponent (not 1e+16, 1.5e-05, nan, inf): as msgspec does."""
    text = float.__repr__(number)
    return "e" not in text and "n" not in text


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
            if not _plain(item):
                return False
        elif kind not in _LEAVES:
            return False
    return True
