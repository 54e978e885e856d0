"""How many parts the longest dotted key of a TOML text has, found in linear time without parsing it.

tomllib (and tomli, which it came from) takes time and memory quadratic in the parts of a dotted key
or table name: for each part it keeps the key up to that part. `a.a.a...` of 20,000 parts (40 KB)
held every git command that starts nbgit's filter for 11 s and 1.6 GB, and a policy file of a few
hundred KB would exhaust a machine's memory. A policy comes with the repository, so its keys are
counted before it is parsed (`MAX_KEY_PARTS`); real keys have a handful of parts
(`[tool.hatch.envs.default.scripts]`: 5).
"""

from __future__ import annotations

import re

MAX_KEY_PARTS = 32  # parts of one dotted key or table name; more make a policy file broken, not read

# Strings and comments, each to its end (an unterminated string to its line's or the text's end). Every
# alternative matches once its opening does, its body in one pass (no backtracking), so the whole
# text is read in linear time.
_STRING_OR_COMMENT = re.compile(
    r'"""[^"\\]*(?:(?:\\.|"(?!""))[^"\\]*)*(?:"{3,5})?'  # multi-line basic: `\"` and up to two quotes inside
    r"|'''[^']*(?:'{1,2}(?!')[^']*)*(?:'{3,5})?"  # multi-line literal
    r'|"[^"\\\n]*(?:\\.[^"\\\n]*)*"?'  # basic
    r"|'[^'\n]*'?"  # literal
    r"|#[^\n]*",  # comment
    re.DOTALL,
)
_BLANKS = re.compile(r"[ \t]+")  # allowed around a dotted key's dots
_DOTTED = re.compile(r"[\w.-]+")  # parts of a key (bare, or a string shown as x) joined by dots


def longest_key(text: str) -> int:
    """The most parts of any dotted key or table name in TOML `text` (strings and comments aside); an
    overestimate only for text that is no valid TOML."""
    skeleton = _BLANKS.sub("", _STRING_OR_COMMENT.sub("x", text))
    return max((run.count(".") + 1 for run in _DOTTED.findall(skeleton)), default=0)
