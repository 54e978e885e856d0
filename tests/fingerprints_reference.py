"""The tokenizer and normaliser of `nbgit.check.fingerprints` as first written, one Python step per
token (`finditer`, a kind and a text per token, a bracket stack): kept here only as the oracle that
the fast one (tokens as plain strings, work per line) is compared with in tests/test_fingerprints.py.
It shares the fast one's tables (keywords, comment syntax, the token patterns), not its code.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from nbgit.check.fingerprints import (
    _ATTRIBUTE_OPERATORS, _CLOSERS, _COMMENTS, _CONTINUING, _DEFINERS, _IMPORT_STARTS, _LANGUAGE_COMMENTS, _OPERATOR, _STRING, KEYWORDS,
)

Token = tuple[str, str]  # (kind, text), kind one of "name", "string", "number", "op"


class Line(NamedTuple):
    start: int
    end: int
    tokens: list[Token]


def units(sources: list[tuple[int, str]], language: str) -> list[tuple[int, list[str], list[int], list[int], list[tuple[int, str]]]]:
    """(cell, normalised lines, starts, ends, defines) of every source that has a line left."""
    tokenised = [(cell, logical_lines(source, language)) for cell, source in sources]
    imported: set[str] = set()
    for _, lines in tokenised:
        for line in lines:
            if is_import(line.tokens):
                imported.update(imported_names(line.tokens))
    found = []
    for cell, lines in tokenised:
        texts, starts, ends, defines = [], [], [], []
        for line in lines:
            if is_import(line.tokens) or says_nothing(line.tokens):
                continue
            defined = defined_name(line.tokens)
            if defined:
                defines.append((len(texts), defined))
            texts.append(normalised(line.tokens, imported))
            starts.append(line.start)
            ends.append(line.end)
        if texts:
            found.append((cell, texts, starts, ends, defines))
    return found


@lru_cache(maxsize=None)
def tokenizer(language: str) -> re.Pattern[str]:
    comment = _COMMENTS[_LANGUAGE_COMMENTS.get(language, "hash")]
    operator = r"%[^%\n\s]*%|" + _OPERATOR if language == "r" else _OPERATOR
    return re.compile(
        rf"(?P<space>[ \t\f\r]+|\\\r?\n)|(?P<newline>\n)|(?P<comment>{comment})|(?P<string>{_STRING})"
        rf"|(?P<name>[^\W\d]\w*)|(?P<number>\.?\d(?:[eE][-+]|[\w.])*)|(?P<op>{operator})"
    )


def logical_lines(source: str, language: str) -> list[Line]:
    brackets = "([{" if language == "python" else "(["
    closing = ")]}" if language == "python" else ")]"
    lines: list[Line] = []
    tokens: list[Token] = []
    depth, line, start = 0, 1, 1
    for match in tokenizer(language).finditer(source):
        kind = match.lastgroup
        text = match.group()
        if kind == "newline":
            if tokens and depth <= 0 and not (language != "python" and continues(tokens[-1])):
                lines.append(Line(start, line, tokens))
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
        lines.append(Line(start, line, tokens))
    return lines


def continues(token: Token) -> bool:
    kind, text = token
    return kind == "op" and (text in _CONTINUING or (len(text) > 2 and text[0] == text[-1] == "%"))


def is_import(tokens: list[Token]) -> bool:
    first = tokens[0][1]
    return first in _IMPORT_STARTS or (first == "from" and any(t == "import" for _, t in tokens))


def imported_names(tokens: list[Token]) -> list[str]:
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


def says_nothing(tokens: list[Token]) -> bool:
    if all(text in _CLOSERS for _, text in tokens):
        return True
    if len(tokens) == 1 and tokens[0][0] == "string":
        return True
    body = tokens[:-2] if len(tokens) > 2 and tokens[-2][1] == "(" and tokens[-1][1] == ")" else tokens
    return all(kind == "name" if index % 2 == 0 else text == "." for index, (kind, text) in enumerate(body)) and len(body) % 2 == 1


def defined_name(tokens: list[Token]) -> str | None:
    words = [text for _, text in tokens[:4]]
    if words and words[0] == "async":
        words = words[1:]
    if len(words) >= 2 and words[0] in _DEFINERS and tokens[1 + (tokens[0][1] == "async")][0] == "name":
        return words[1]
    if len(words) >= 3 and words[1] in ("<-", "=") and words[2] == "function" and tokens[0][0] == "name":
        return words[0]
    return None


def normalised(tokens: list[Token], imported: set[str]) -> str:
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
            out.append(string_value(text))
        elif kind == "op":
            if text in ("(", "[", "{"):
                stack.append("def(" if text == "(" and _DEFINERS.intersection(t for _, t in tokens[max(0, index - 2) : index]) else text)
            elif text in (")", "]", "}") and stack:
                stack.pop()
            if text == "," and following in (")", "]", "}"):
                continue
            out.append(text)
        else:
            out.append(text)
    return " ".join(out)


def string_value(token: str) -> str:
    prefix = len(token) - len(token.lstrip("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    body = token[prefix:]
    quote = 3 if body[:3] in ("'''", '"""') else 1
    return token[:prefix].lower() + '"' + body[quote:-quote] + '"'
