"""Code as fingerprints: each line of a notebook's code cells or of a module, normalised and hashed.

What counts as the same line, whatever the language (one regular-expression tokenizer, with the
comment syntax and a few operators of the kernel's language):
- layout does not matter: spaces, blank lines, comments, line breaks inside brackets (a call that a
  formatter split over five lines is one line), trailing commas before a closing bracket, and the
  quotes of a string (`'a'` and `"a"`);
- renamed variables do not matter: every name that is not a keyword, an attribute (`.name`, R's
  `$name`), a called function (`name(`), a keyword argument (`f(name=...)`) or an imported module
  becomes a placeholder numbered by first appearance in its line (`total = total + x` -> `_0 = _0 + _1`);
- lines that say nothing about what the code does are left out and never count: imports (`import`,
  `from ... import`, R's `library()`, Julia's `using`), IPython magics and shell lines (`%time`, `!pip`),
  docstrings and bare strings, lines of closing brackets or `end`, and display lines (`df`,
  `df.head()`, `plt.show()`: names and attributes, at most an empty call).

A line is then a 64-bit hash, stable across processes (blake2b), so fingerprints can be kept on disk.
Pure: text in, fingerprint out; no I/O, no git.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from hashlib import blake2b
from typing import Any, NamedTuple, Sequence

from nbgit.notebook import cells, source_of

FORMAT = 1  # raise it whenever a change here changes any hash: kept fingerprints are then rebuilt
ALLOW_TAG = "nbgit:allow-copy"
# Every keyword of the languages notebooks are written in most (Python, R, Julia, JavaScript/Scala):
# one set, since a keyword of another language kept as written costs nothing.
KEYWORDS = frozenset(
    "False None True and as assert async await break class continue def del elif else except finally for from global if "
    "import in is lambda nonlocal not or pass raise return try while with yield match case "
    "TRUE FALSE NULL NA NaN Inf function repeat next "
    "begin end let local const do struct mutable abstract type module using export catch elseif quote macro true false nothing missing "
    "var new this typeof instanceof null undefined switch default throw val object extends implements".split()
)
_IMPORT_STARTS = frozenset({"import", "using", "library", "require", "requireNamespace", "suppressPackageStartupMessages"})
_CLOSERS = frozenset({")", "]", "}", ";", "end"})
_OPENERS = {"(": ")", "[": "]", "{": "}"}
_CONTINUING = frozenset({"+", "-", "*", "/", "^", "|>", "&&", "||", "&", "|", "<-", "=", ",", "~", "->", "==", "!=", "<", ">", "<=", ">="})
_ATTRIBUTE_OPERATORS = frozenset({".", "$", "@", "::"})
_DEFINERS = frozenset({"def", "class", "function", "struct"})
# IPython cell magics whose body is still Python; any other (`%%bash`, `%%html`) makes the cell another language
_PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug", "memit"})

_COMMENTS = {
    "hash": r"\#[^\n]*",
    "julia": r"\#=[\s\S]*?=\#|\#[^\n]*",
    "slash": r"//[^\n]*|/\*[\s\S]*?\*/",
    "dash": r"--[^\n]*",
    "percent": r"%[^\n]*",
}
_LANGUAGE_COMMENTS = {
    "python": "hash", "r": "hash", "julia": "julia", "bash": "hash", "sh": "hash", "ruby": "hash", "perl": "hash",
    "powershell": "hash", "javascript": "slash", "typescript": "slash", "java": "slash", "scala": "slash",
    "kotlin": "slash", "c": "slash", "c++": "slash", "cpp": "slash", "c#": "slash", "csharp": "slash", "go": "slash",
    "rust": "slash", "swift": "slash", "dart": "slash", "groovy": "slash", "sql": "dash", "haskell": "dash",
    "lua": "dash", "matlab": "percent", "octave": "percent",
}
_STRING = r"""[A-Za-z]{0,3}(?:'''[\s\S]*?'''|\"\"\"[\s\S]*?\"\"\"|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")"""
_OPERATOR = r"\*\*=?|//=?|>>=?|<<-?=?|->|<-|:=|::|==|!=|<=|>=|\|>|&&|\|\||[-+*/%&|^@=<>!~]=?|[^\s\w]"


class Unit(NamedTuple):
    """One stretch of code: a notebook cell (numbered from 1) or a whole module (cell None).

    Each normalised line has a hash and the first and last physical line it spans (from 1, within the
    cell or module); `defines` maps line positions to the function or class a line defines.
    """

    cell: int | None
    hashes: Sequence[int]
    starts: Sequence[int]
    ends: Sequence[int]
    defines: tuple[tuple[int, str], ...] = ()


def notebook_units(data: bytes) -> tuple[Unit, ...]:
    """The code cells of notebook bytes as units; none when the bytes are not a notebook (the
    `invalid` check says so) and none for cells tagged `nbgit:allow-copy`."""
    try:
        content = json.loads(data)
    except (ValueError, RecursionError):
        return ()
    if not isinstance(content, dict):
        return ()
    language = notebook_language(content)
    sources: list[tuple[int, str]] = []
    for number, cell in enumerate(cells(content), 1):
        if cell.get("cell_type") != "code" or ALLOW_TAG in _tags(cell):
            continue
        source = source_of(cell)
        if language == "python":
            source = _python_cell(source)
        if source.strip():
            sources.append((number, source))
    return _units(sources, language)


def module_units(text: str, language: str) -> tuple[Unit, ...]:
    """A module's code as one unit."""
    if language == "python":
        text = _python_cell(text)
    return _units([(None, text)], language)  # type: ignore[list-item]


def notebook_language(content: dict[str, Any]) -> str:
    """The kernel's language, lower case (`python` when the notebook does not say, as nbformat assumes)."""
    metadata = content.get("metadata") if isinstance(content.get("metadata"), dict) else {}
    kernel = metadata.get("kernelspec") if isinstance(metadata.get("kernelspec"), dict) else {}
    info = metadata.get("language_info") if isinstance(metadata.get("language_info"), dict) else {}
    for name in (kernel.get("language"), info.get("name"), kernel.get("name")):
        if isinstance(name, str) and name:
            name = name.lower()
            return "python" if name.startswith("python") else "r" if name in ("r", "ir") else name
    return "python"


def _tags(cell: dict[str, Any]) -> list[Any]:
    metadata = cell.get("metadata")
    tags = metadata.get("tags") if isinstance(metadata, dict) else None
    return tags if isinstance(tags, list) else []


def _python_cell(source: str) -> str:
    """IPython's own syntax blanked out (line numbers kept): magics, shell escapes, help (`obj?`).

    A cell magic that runs another language (`%%bash`, `%%html`) leaves nothing to compare.
    """
    if source.startswith("%%"):
        magic = source[2:].split(None, 1)[0] if source[2:].strip() else ""
        if magic not in _PYTHON_CELL_MAGICS:
            return ""
    if "%" not in source and "!" not in source and "?" not in source:
        return source
    lines = source.split("\n")
    for index, line in enumerate(lines):
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")) or (stripped.endswith("?") and "#" not in stripped):
            lines[index] = ""
    return "\n".join(lines)


class _Line(NamedTuple):
    start: int
    end: int
    tokens: list[tuple[str, str]]  # (kind, text), kind one of "name", "string", "number", "op"


def _units(sources: list[tuple[int, str]], language: str) -> tuple[Unit, ...]:
    """Tokenise every source, learn the imported names from all of them, then normalise and hash."""
    tokenised = [(cell, _logical_lines(source, language)) for cell, source in sources]
    imported: set[str] = set()
    for _, lines in tokenised:
        for line in lines:
            if _is_import(line.tokens):
                imported.update(_imported_names(line.tokens))
    units = []
    for cell, lines in tokenised:
        hashes, starts, ends, defines = [], [], [], []
        for line in lines:
            if _is_import(line.tokens) or _says_nothing(line.tokens):
                continue
            defined = _defined_name(line.tokens)
            if defined:
                defines.append((len(hashes), defined))
            hashes.append(_hash(_normalised(line.tokens, imported)))
            starts.append(line.start)
            ends.append(line.end)
        if hashes:
            units.append(Unit(cell, tuple(hashes), tuple(starts), tuple(ends), tuple(defines)))
    return tuple(units)


@lru_cache(maxsize=None)
def _tokenizer(language: str) -> re.Pattern[str]:
    comment = _COMMENTS[_LANGUAGE_COMMENTS.get(language, "hash")]
    operator = r"%[^%\n\s]*%|" + _OPERATOR if language == "r" else _OPERATOR  # R's %>%, %in%
    return re.compile(
        rf"(?P<space>[ \t\f\r]+|\\\r?\n)|(?P<newline>\n)|(?P<comment>{comment})|(?P<string>{_STRING})"
        rf"|(?P<name>[^\W\d]\w*)|(?P<number>\.?\d(?:[eE][-+]|[\w.])*)|(?P<op>{operator})"
    )


def _logical_lines(source: str, language: str) -> list[_Line]:
    """The source's statements: physical lines joined inside brackets (and after a trailing operator,
    in languages other than Python, where R and Julia continue a pipe)."""
    brackets = "([{" if language == "python" else "(["
    closing = ")]}" if language == "python" else ")]"
    lines: list[_Line] = []
    tokens: list[tuple[str, str]] = []
    depth, line, start = 0, 1, 1
    for match in _tokenizer(language).finditer(source):
        kind = match.lastgroup
        text = match.group()
        if kind == "newline":
            if tokens and depth <= 0 and not (language != "python" and _continues(tokens[-1])):
                lines.append(_Line(start, line, tokens))
                tokens, depth = [], 0
            line += 1
            continue
        if kind == "space" or kind == "comment":
            line += text.count("\n")
            continue
        if not tokens:
            start = line
        if kind == "op":
            if text in brackets:
                depth += 1
            elif text in closing:
                depth -= 1
        tokens.append((kind, text))  # type: ignore[arg-type]
        line += text.count("\n") if kind == "string" else 0
    if tokens:
        lines.append(_Line(start, line, tokens))
    return lines


def _continues(token: tuple[str, str]) -> bool:
    """Whether a line ending with `token` goes on (R's and Julia's pipes and operators at the end of a line)."""
    kind, text = token
    return kind == "op" and (text in _CONTINUING or (len(text) > 2 and text[0] == text[-1] == "%"))


def _is_import(tokens: list[tuple[str, str]]) -> bool:
    first = tokens[0][1]
    return first in _IMPORT_STARTS or (first == "from" and any(t == "import" for _, t in tokens))


def _imported_names(tokens: list[tuple[str, str]]) -> list[str]:
    """The names an import binds: `import a.b as c` -> c, `import a.b` -> a, `from x import y, z as w` -> y, w."""
    names, after_import = [], tokens[0][1] != "from"
    previous = ""
    for index, (kind, text) in enumerate(tokens):
        if text == "import":
            after_import = True
        elif after_import and kind == "name" and text not in ("as", "import"):
            following = tokens[index + 1][1] if index + 1 < len(tokens) else ","
            if following != "as" and (previous in ("as", ",", "import", "(", "using", ":") or previous == ""):
                names.append(text)
        previous = text
    return names


def _says_nothing(tokens: list[tuple[str, str]]) -> bool:
    """Brackets or `end` alone, a bare string (docstring), or a display line (`df.head()`, `plt.show()`)."""
    if all(text in _CLOSERS for _, text in tokens):
        return True
    if len(tokens) == 1 and tokens[0][0] == "string":
        return True
    body = tokens[:-2] if len(tokens) > 2 and tokens[-2][1] == "(" and tokens[-1][1] == ")" else tokens
    return all(kind == "name" if index % 2 == 0 else text == "." for index, (kind, text) in enumerate(body)) and len(body) % 2 == 1


def _defined_name(tokens: list[tuple[str, str]]) -> str | None:
    """The function or class a line defines: `def f(`, `class C`, Julia's `function f(`, R's `f <- function(`."""
    words = [text for _, text in tokens[:4]]
    if words and words[0] == "async":
        words = words[1:]
    if len(words) >= 2 and words[0] in _DEFINERS and tokens[1 + (tokens[0][1] == "async")][0] == "name":
        return words[1]
    if len(words) >= 3 and words[1] in ("<-", "=") and words[2] == "function" and tokens[0][0] == "name":
        return words[0]
    return None


def _normalised(tokens: list[tuple[str, str]], imported: set[str]) -> str:
    """One line as text with layout gone and variables numbered (see the module's docstring)."""
    out: list[str] = []
    numbers: dict[str, str] = {}
    stack: list[str] = []
    last = len(tokens) - 1
    for index, (kind, text) in enumerate(tokens):
        following = tokens[index + 1][1] if index < last else ""
        if kind == "name":
            previous = tokens[index - 1][1] if index else ""
            keep = (
                text in KEYWORDS
                or text in imported
                or previous in _ATTRIBUTE_OPERATORS
                or following == "("
                or (following == "=" and stack and stack[-1] == "(")
            )
            out.append(text if keep else numbers.setdefault(text, f"_{len(numbers)}"))
        elif kind == "string":
            out.append(_string_value(text))
        elif kind == "op":
            if text in _OPENERS:  # a definition's parameters are variables, not keyword arguments
                stack.append("def(" if text == "(" and _DEFINERS.intersection(t for _, t in tokens[max(0, index - 2) : index]) else text)
            elif text in (")", "]", "}") and stack:
                stack.pop()
            if text == "," and following in (")", "]", "}"):
                continue  # a formatter's trailing comma
            out.append(text)
        else:
            out.append(text)
    return " ".join(out)


def _string_value(token: str) -> str:
    """A string literal with its quotes made uniform: `'a'`, `"a"` and `'''a'''` are all `"a"`."""
    prefix = len(token) - len(token.lstrip("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    body = token[prefix:]
    quote = 3 if body[:3] in ("'''", '"""') else 1
    return token[:prefix].lower() + '"' + body[quote:-quote] + '"'


def _hash(line: str) -> int:
    return int.from_bytes(blake2b(line.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")
