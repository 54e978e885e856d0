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
from functools import cache, lru_cache
from hashlib import blake2b
from itertools import accumulate, compress, count, repeat
from operator import le
from typing import Any, Callable, NamedTuple, Sequence

from nbgit import fastjson
from nbgit.interrupts import held
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
_IMPORT_WORDS = ("import", "using", "library", "require", "suppressPackageStartupMessages")  # (in `from x import`, `requireNamespace`)
_CLOSERS = frozenset({")", "]", "}", ";", "end"})
_OPENERS = frozenset("([{")
_CLOSING = frozenset(")]}")
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
_COMMENT_STARTS = {"hash": ("#",), "julia": ("#",), "slash": ("//", "/*"), "dash": ("--",), "percent": ("%",)}
_LANGUAGE_COMMENTS = {
    "python": "hash", "r": "hash", "julia": "julia", "bash": "hash", "sh": "hash", "ruby": "hash", "perl": "hash",
    "powershell": "hash", "javascript": "slash", "typescript": "slash", "java": "slash", "scala": "slash",
    "kotlin": "slash", "c": "slash", "c++": "slash", "cpp": "slash", "c#": "slash", "csharp": "slash", "go": "slash",
    "rust": "slash", "swift": "slash", "dart": "slash", "groovy": "slash", "sql": "dash", "haskell": "dash",
    "lua": "dash", "matlab": "percent", "octave": "percent",
}
_STRING = r"""[A-Za-z]{0,3}(?:'''[\s\S]*?'''|\"\"\"[\s\S]*?\"\"\"|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")"""
_QUOTES = "'\""  # (the last character of every string literal, and of no other token longer than one)
_NAME_STARTS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_NAME_START = re.compile(r"[^\W\d]").match  # (for a character beyond ASCII)
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
    `invalid` check says so), none for cells tagged `nbgit:allow-copy`, and none for cells of one
    line (no copy is that short) that import nothing."""
    found = _code_cells_fast(data) if fastjson.loaded() else None  # (a process with many notebooks to read)
    language, code = found if found is not None else _code_cells(data)
    sources: list[tuple[int, str]] = []
    for number, source in code:
        if language == "python":
            source = _python_cell(source)
        if source.strip():
            sources.append((number, source))
    return _units(sources, language)


def _code_cells(data: bytes) -> tuple[str, list[tuple[int, str]]]:
    """The notebook's language and its code cells (number, source) but those tagged `nbgit:allow-copy`,
    as `json.loads` reads the bytes (no cell when they are no notebook)."""
    try:
        content = json.loads(data)
    except (ValueError, RecursionError):
        return "python", []
    if not isinstance(content, dict):
        return "python", []
    code = [(number, source_of(cell)) for number, cell in enumerate(cells(content), 1)
            if cell.get("cell_type") == "code" and ALLOW_TAG not in _tags(cell.get("metadata"))]
    return notebook_language(content), code


def _code_cells_fast(data: bytes) -> tuple[str, list[tuple[int, str]]] | None:
    """`_code_cells`, read by msgspec into the few fields it needs (outputs and the rest skipped in C,
    never made into objects: a third of the time `json.loads` takes); None where msgspec refuses the
    bytes or their shape (not JSON to it, a lone surrogate, a cell that is no object, nbformat 3's
    worksheets...): `_code_cells` then reads them as `json.loads` does. What msgspec accepts it
    reads as `json.loads` does."""
    decode, refusals, unset = _code_reader()
    try:
        notebook = decode(data)
    except refusals:
        return None
    if notebook.cells is unset and notebook.worksheets is not unset:
        return None
    code = []
    for number, cell in enumerate(notebook.cells or (), 1):
        if cell.cell_type == "code" and ALLOW_TAG not in _tags(cell.metadata):
            fields = {name: value for name, value in (("source", cell.source), ("input", cell.input)) if value is not unset}
            code.append((number, source_of(fields)))
    return notebook_language({"metadata": notebook.metadata}), code


@cache
def _code_reader() -> tuple[Callable[[bytes], Any], tuple[type[BaseException], ...], object]:
    """msgspec's decoder of a notebook's cells (type, source, metadata) and metadata, what it raises on
    what it refuses, and its marker of an absent field (made with signals held, as msgspec is loaded)."""
    import msgspec

    with held():
        absent = msgspec.UNSET
        cell = msgspec.defstruct("Cell", [("cell_type", Any, None), ("source", Any, absent), ("input", Any, absent), ("metadata", Any, None)])
        notebook = msgspec.defstruct("Notebook", [("cells", list[cell] | None, absent), ("worksheets", Any, absent), ("metadata", Any, None)])  # type: ignore[valid-type]
        decoder = msgspec.json.Decoder(notebook)
    return decoder.decode, (msgspec.DecodeError, RecursionError, UnicodeError), absent


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


def _tags(metadata: Any) -> list[Any]:
    """A cell's tags, from its metadata."""
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
    tokens: list[str]  # a name, a string literal (quotes and all), a number or an operator


def _units(sources: list[tuple[int, str]], language: str) -> tuple[Unit, ...]:
    """Tokenise every source, learn the imported names from all of them, then normalise and hash."""
    imported: set[str] = set()
    counted: list[tuple[int, list[_Line]]] = []  # every source's lines that count
    for cell, source in sources:
        if _may_count(source):
            lines = []
            for line in _logical_lines(source, language):
                if _is_import(line.tokens):
                    imported.update(_imported_names(line.tokens))
                elif not _says_nothing(line.tokens):
                    lines.append(line)
            counted.append((cell, lines))
    kept = KEYWORDS | imported
    return tuple(
        Unit(
            cell,
            tuple(_hash(_normalised(line.tokens, kept)) for line in lines),
            tuple(line.start for line in lines),
            tuple(line.end for line in lines),
            tuple((position, defined) for position, line in enumerate(lines) if (defined := _defined_name(line.tokens))),
        )
        for cell, lines in counted
        if lines
    )


def _may_count(source: str) -> bool:
    """Whether a source may matter: one of two lines or more (a copy is at least two), or one that may
    import (its names are kept in the other cells). Most one-line cells (`df.head()`) are neither."""
    return "\n" in source.strip() or any(word in source for word in _IMPORT_WORDS)


class _Lexer(NamedTuple):
    """A language's tokenizer, made to keep work per token in C: `tokens` lists a source's tokens,
    newlines, comments and line continuations as plain strings (spaces dropped); `depth` tells how a
    bracket moves the nesting; what starts with `ignored` is a comment or a continuation, and
    `may_hold_dropped` finds a newline or the first character of one of those in a line's text (what
    the line's tokens may hold besides its code); `comments` start the comments."""

    tokens: Callable[[str], list[str]]
    depth: dict[str, int]
    ignored: tuple[str, ...]
    may_hold_dropped: Callable[[str], object]
    python: bool
    comments: tuple[str, ...]


@lru_cache(maxsize=None)
def _lexer(language: str) -> _Lexer:
    style = _LANGUAGE_COMMENTS.get(language, "hash")
    operator = r"%[^%\n\s]*%|" + _OPERATOR if language == "r" else _OPERATOR  # R's %>%, %in%
    pattern = re.compile(  # (brackets, commas and dots first: a third of the tokens, and the start of no other)
        rf"[ \t\f\r]*([()\[\]{{}},;]|\.(?!\d)|{_COMMENTS[style]}|\\\r?\n|\n|{_STRING}|[^\W\d]\w*|\.?\d(?:[eE][-+]|[\w.])*|{operator})"
    )
    python = language == "python"
    depth = {"(": 1, "[": 1, ")": -1, "]": -1, **({"{": 1, "}": -1} if python else {})}
    ignored = (*_COMMENT_STARTS[style], "\\\n", "\\\r")
    may_hold_dropped = re.compile("[\n" + re.escape("".join({start[0] for start in ignored})) + "]").search
    return _Lexer(pattern.findall, depth, ignored, may_hold_dropped, python, _COMMENT_STARTS[style])


def _logical_lines(source: str, language: str) -> list[_Line]:
    """The source's statements: physical lines joined inside brackets (and after a trailing operator,
    in languages other than Python, where R and Julia continue a pipe).

    Python code runs once per statement, not per token: the tokens, where the newlines are, the
    nesting after every token and which newlines end a statement come from the tokenizer, `map` and
    `accumulate`, in C. A source with no comment, and none of its newlines inside a string or a
    continuation, has its statements' physical lines counted from the newline tokens alone.
    """
    lexer = _lexer(language)
    tokens = lexer.tokens(source)
    newlines = list(compress(count(), map("\n".__eq__, tokens)))
    ends = _statement_ends(tokens, newlines, lexer)
    lines: list[_Line] = []
    if len(newlines) == source.count("\n") and not any(map(source.__contains__, lexer.comments)):
        previous = -1  # (the newline the statement follows, by its place in `newlines`)
        for end in ends:
            begin, stop = newlines[previous] + 1 if previous >= 0 else 0, newlines[end]
            if begin < stop:
                lines.append(_Line(previous + 2, end + 1, tokens[begin:stop] if end - previous == 1 else list(filter("\n".__ne__, tokens[begin:stop]))))
            previous = end
        begin = newlines[previous] + 1 if previous >= 0 else 0
        if begin < len(tokens):
            lines.append(_Line(previous + 2, len(newlines) + 1, list(filter("\n".__ne__, tokens[begin:]))))
        return lines
    begin, line = 0, 1  # where the current line's tokens begin, its first physical line
    for end in ends:
        newline = newlines[end]
        line = line + 1 if newline == begin else _finish(lines, tokens[begin:newline], line, lexer) + 1
        begin = newline + 1
    if begin < len(tokens):
        _finish(lines, tokens[begin:], line, lexer)
    return lines


def _statement_ends(tokens: list[str], newlines: list[int], lexer: _Lexer) -> list[int]:
    """Which newline tokens (by their place in `newlines`) end a statement or a blank line.

    A newline does when the nesting there is at most what it was where the last statement ended
    (and, outside Python, the line's last token continues nothing). In Python that level only ever
    falls: it is the lowest nesting at any newline before (or 0), so the whole test runs in C.
    """
    nesting = list(accumulate(map(lexer.depth.get, tokens, repeat(0))))
    levels = list(map(nesting.__getitem__, newlines))
    if lexer.python:
        return list(compress(count(), map(le, levels, accumulate(levels, min, initial=0))))
    ends: list[int] = []
    begin, level = 0, 0  # where the current line's tokens begin, the nesting there
    for index, newline in enumerate(newlines):
        if newline != begin:
            if levels[index] > level or _continues(tokens, begin, newline, lexer.ignored):
                continue
            level = levels[index]
        ends.append(index)
        begin = newline + 1
    return ends


def _finish(lines: list[_Line], tokens: list[str], line: int, lexer: _Lexer) -> int:
    """Add the line of `tokens` (from physical line `line`) without its newlines, comments and
    continuations, unless nothing else is left; return the physical line it ends on."""
    joined = "".join(tokens)
    end = line + joined.count("\n")  # (newlines between tokens and inside strings, comments and continuations)
    if lexer.may_hold_dropped(joined):
        kept = [text for text in tokens if text != "\n" and not text.startswith(lexer.ignored)]
        if kept and kept[0] is not tokens[0]:  # a comment or continuation before the first token moves the line's start
            line += "".join(tokens[: tokens.index(kept[0])]).count("\n")
        tokens = kept
    if tokens:
        lines.append(_Line(line, end, tokens))
    return end


def _continues(tokens: list[str], begin: int, newline: int, ignored: tuple[str, ...]) -> bool:
    """Whether a line (`tokens[begin:newline]`) goes on after its last token: R's and Julia's pipes and
    operators at the end of a line."""
    last = next((text for text in reversed(tokens[begin:newline]) if text != "\n" and not text.startswith(ignored)), "")
    return last in _CONTINUING or (len(last) > 2 and last[0] == last[-1] == "%")


def _is_name(text: str) -> bool:
    """Whether a token is a name (a keyword included): what `[^\\W\\d]\\w*` matches, and no string literal."""
    first = text[0]
    return text[-1] not in _QUOTES and (first in _NAME_STARTS or (first > "\x7f" and _NAME_START(first) is not None))


def _is_string(text: str) -> bool:
    """Whether a token is a string literal (only those end with a quote and are longer than one)."""
    return len(text) > 1 and text[-1] in _QUOTES


def _is_import(tokens: list[str]) -> bool:
    first = tokens[0]
    return first in _IMPORT_STARTS or (first == "from" and "import" in tokens)


def _imported_names(tokens: list[str]) -> list[str]:
    """The names an import binds: `import a.b as c` -> c, `import a.b` -> a, `from x import y, z as w` -> y, w."""
    names, after_import = [], tokens[0] != "from"
    previous = ""
    for index, text in enumerate(tokens):
        if text == "import":
            after_import = True
        elif after_import and text not in ("as", "import") and _is_name(text):
            following = tokens[index + 1] if index + 1 < len(tokens) else ","
            if following != "as" and (previous in ("as", ",", "import", "(", "using", ":") or previous == ""):
                names.append(text)
        previous = text
    return names


def _says_nothing(tokens: list[str]) -> bool:
    """Brackets or `end` alone, a bare string (docstring), or a display line (`df.head()`, `plt.show()`)."""
    if tokens[0] in _CLOSERS and _CLOSERS.issuperset(tokens):
        return True
    if len(tokens) == 1 and _is_string(tokens[0]):
        return True
    body = tokens[:-2] if len(tokens) > 2 and tokens[-2] == "(" and tokens[-1] == ")" else tokens
    return len(body) % 2 == 1 and body[1::2].count(".") == len(body) // 2 and all(map(_is_name, body[::2]))


def _defined_name(tokens: list[str]) -> str | None:
    """The function or class a line defines: `def f(`, `class C`, Julia's `function f(`, R's `f <- function(`."""
    words = tokens[1:4] if tokens[0] == "async" else tokens[:4]
    if len(words) >= 2 and words[0] in _DEFINERS and _is_name(words[1]):
        return words[1]
    if len(words) >= 3 and words[1] in ("<-", "=") and words[2] == "function" and _is_name(tokens[0]):
        return words[0]
    return None


def _normalised(tokens: list[str], kept: set[str] | frozenset[str]) -> str:
    """One line as text with layout gone and variables numbered (see the module's docstring);
    `kept`: the names never numbered (the keywords and the imported names).

    Most tokens are written as they are: only names and string literals are looked at, the brackets
    open only for a name before `=` (`_keyword_arguments`), and trailing commas are taken out only
    from the lines that have one.
    """
    out: list[str] = []
    append = out.append
    numbers: dict[str, str] = {}
    keywords: set[int] | None = None
    previous = ""
    last = len(tokens) - 1
    for index, text in enumerate(tokens):
        first = text[0]
        if first in _NAME_STARTS or (first > "\x7f" and _NAME_START(first) is not None):  # (`_is_name`, inline: per token)
            if text[-1] in _QUOTES:  # a string with a prefix: f"...", rb'...'
                append(_string_value(text))
            elif text in kept or previous in _ATTRIBUTE_OPERATORS:
                append(text)
            else:
                following = tokens[index + 1] if index < last else ""
                if following == "(" or (following == "=" and index and index in (keywords if keywords is not None else (keywords := _keyword_arguments(tokens)))):
                    append(text)
                else:
                    number = numbers.get(text)
                    if number is None:
                        number = numbers[text] = f"_{len(numbers)}"
                    append(number)
        elif first in _QUOTES and len(text) > 1:
            append(_string_value(text))
        else:
            append(text)
        previous = text
    line = " ".join(out)
    if ", )" in line or ", ]" in line or ", }" in line:  # (or inside a string: then nothing is taken out)
        line = " ".join(text for text, following in zip(out, [*tokens[1:], ""]) if text != "," or following not in _CLOSING)
    return line


def _keyword_arguments(tokens: list[str]) -> set[int]:
    """The positions of the line's keyword arguments: the tokens before a `=` whose innermost open
    bracket is a call's `(` (not a definition's: `def f(x=1)` has a variable)."""
    found = set()
    stack: list[str] = []  # the brackets open, a definition's `(` as `def(`
    for index, text in enumerate(tokens):
        if text in _OPENERS:
            stack.append("def(" if text == "(" and not _DEFINERS.isdisjoint(tokens[max(0, index - 2) : index]) else text)
        elif text in _CLOSING:
            if stack:
                stack.pop()
        elif text == "=" and stack and stack[-1] == "(":
            found.add(index - 1)
    return found


def _string_value(token: str) -> str:
    """A string literal with its quotes made uniform: `'a'`, `"a"` and `'''a'''` are all `"a"`."""
    prefix = len(token) - len(token.lstrip("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    body = token[prefix:]
    quote = 3 if body[:3] in ("'''", '"""') else 1
    return token[:prefix].lower() + '"' + body[quote:-quote] + '"'


def _hash(line: str) -> int:
    return int.from_bytes(blake2b(line.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")
