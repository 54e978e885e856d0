"""`json.loads` and compact `json.dumps`, done by the same C code, without importing `json`.

`import json` brings `re`, `enum`, `functools` and `collections` along: about 8 ms, more than reading
and rendering a notebook of a megabyte, in a process git starts once per notebook (textconv).
The standard library's json module drives two C functions of its accelerator `_json`: a scanner
(what `json.loads` runs) and an encoder (what `json.dumps` runs when it writes on one line). This
module drives them the same way, so values and text are the same. Where `_json` is missing
(another Python implementation) or refuses, the json module does the work.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

_WHITESPACE = " \t\n\r"  # what json.loads skips around the value
# the values json.loads gives NaN and the infinities (its parse_constant)
_CONSTANTS = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}


class NotJSON(ValueError):
    """Text that json.loads would refuse (it says why; this only says that)."""


class _Reading:
    """The settings json.loads gives its scanner: strict strings, plain dicts, floats and ints."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = _CONSTANTS.__getitem__


def _scanner() -> Callable[[str, int], tuple[Any, int]] | None:
    try:
        from _json import make_scanner
    except ImportError:
        return None
    return make_scanner(_Reading)


def _refuse(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _encoder() -> Callable[[Any, int], Any] | None:
    try:
        from _json import encode_basestring, make_encoder
    except ImportError:
        return None
    # json.dumps(sort_keys=True, ensure_ascii=False): circular references checked, no indent, NaN allowed
    return make_encoder({}, _refuse, encode_basestring, None, ": ", ", ", True, False, True)


_scan = _scanner()
_encode = _encoder()


def loads(text: str) -> Any:
    """The value `json.loads(text)` gives; NotJSON where it would raise (RecursionError stays itself)."""
    if _scan is None or text.startswith("\ufeff"):  # json.loads refuses a byte order mark; the scanner would not see it
        return _loads_with_json(text)
    start = len(text) - len(text.lstrip(_WHITESPACE))
    try:
        value, end = _scan(text, start)
    except Exception:  # noqa: BLE001 - broken JSON: the scanner needs json.decoder imported to say why (else SystemError)
        return _loads_with_json(text)
    if text[end:].strip(_WHITESPACE):
        return _loads_with_json(text)  # "Extra data"
    return value


def _loads_with_json(text: str) -> Any:
    import json

    try:
        return json.loads(text)
    except ValueError:  # not JSON, or an integer longer than Python converts
        raise NotJSON from None


def compact(value: Any) -> str:
    """`json.dumps(value, sort_keys=True, ensure_ascii=False)`: one line, keys sorted, text as it is."""
    if _encode is None:
        import json

        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return "".join(_encode(value, 0))
