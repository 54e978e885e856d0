"""Patterns from the policy, matched so that no pattern can hang git: globs in linear time, regular
expressions under a time limit.

A policy comes with the repository, so its patterns are hostile input. A glob compiled to a
backtracking regular expression takes time exponential in its number of `**` (`**/**/**/...` hung
`git add`); here a glob runs as a state machine over its tokens, built lazily into a table of
transitions, so matching a path costs one table lookup per character whatever the pattern. Python's
regular expressions backtrack too (`^(a+)+$`), and the policy's regular expressions use its full
syntax, so each search runs under a time limit instead and a pattern that exceeds it is an error
naming its policy key.

Only the standard library: the filter matches `exclude` for every file git hands it.
"""

from __future__ import annotations

import contextlib
import functools
import re
import signal
import threading
from typing import Iterator, NamedTuple

from nbgit.errors import NbgitError

MAX_PATTERN_CHARS = 1000  # longer globs and regular expressions are refused when the policy is read
SEARCH_SECONDS = 1.0  # what one search of a policy regular expression may take (a sane one takes microseconds)
_MAX_TRANSITIONS = 4096  # a glob's table of transitions is dropped and rebuilt past this size

# glob tokens: a literal character, `?`, `*` (no `/`), `**` (anything) and `**/` (nothing, or anything
# ending with `/`; its token is followed by a literal `/` that the empty case skips too)
_LITERAL, _ONE, _STAR, _ANY, _DIRS = range(5)


def glob_matches(path: str, patterns: tuple[str, ...] | list[str]) -> bool:
    """Whether a repo-relative POSIX path matches any gitignore-like glob (`*`, `?`, `**/`)."""
    return any(compile_glob(pattern).matches(path) for pattern in patterns)


@functools.lru_cache(maxsize=256)
def compile_glob(pattern: str) -> Glob:
    """The matcher of one glob: a bare name (no `/`) matches at any depth, a trailing `/` everything below."""
    if "/" not in pattern.rstrip("/"):
        pattern = "**/" + pattern
    tokens: list[tuple[int, str]] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            tokens += [(_DIRS, ""), (_LITERAL, "/")]
            i += 3
        elif pattern.startswith("**", i):
            tokens.append((_ANY, ""))
            i += 2
        else:
            char = pattern[i]
            tokens.append((_STAR, "") if char == "*" else (_ONE, "") if char == "?" else (_LITERAL, char))
            i += 1
    if pattern.endswith("/"):
        tokens.append((_ANY, ""))
    return Glob(tuple(tokens))


class Glob:
    """A glob as a lazily built deterministic automaton: a state is the set of token positions reached."""

    def __init__(self, tokens: tuple[tuple[int, str], ...]) -> None:
        self.tokens = tokens
        # characters that behave alike share a column: `/`, each literal of the pattern, and the rest (0)
        self.columns = {char: k for k, char in enumerate(sorted({"/", *(c for kind, c in tokens if kind == _LITERAL)}), 1)}
        self.start = self._closure(frozenset([0]))
        self.transitions: dict[tuple[frozenset[int], int], frozenset[int]] = {}

    def matches(self, path: str) -> bool:
        """Whether the whole of `path` matches: one lookup per character once the table is warm."""
        state = self.start
        for char in path:
            key = (state, self.columns.get(char, 0))
            following = self.transitions.get(key)
            if following is None:
                if len(self.transitions) > _MAX_TRANSITIONS:
                    self.transitions.clear()
                following = self.transitions[key] = self._step(state, char)
            if not following:
                return False
            state = following
        return len(self.tokens) in state

    def _closure(self, state: frozenset[int]) -> frozenset[int]:
        """`state` plus every position reachable without reading a character (wildcards matching nothing)."""
        reached, pending = set(state), list(state)
        while pending:
            at = pending.pop()
            kind = self.tokens[at][0] if at < len(self.tokens) else None
            skips = (at + 1,) if kind in (_STAR, _ANY, _DIRS) else ()
            for following in skips + ((at + 2,) if kind == _DIRS else ()):
                if following not in reached:
                    reached.add(following)
                    pending.append(following)
        return frozenset(reached)

    def _step(self, state: frozenset[int], char: str) -> frozenset[int]:
        following = set()
        for at in state:
            if at == len(self.tokens):
                continue
            kind, literal = self.tokens[at]
            if kind == _LITERAL and char == literal or kind == _ONE and char != "/":
                following.add(at + 1)
            elif kind in (_ANY, _DIRS) or kind == _STAR and char != "/":
                following.add(at)
        return self._closure(frozenset(following)) if following else frozenset()


def regex_problem(pattern: str) -> str:
    """Why a policy's regular expression is refused when the policy is read (empty when it is fine):
    it must compile, have at most MAX_PATTERN_CHARS characters, and hold no quantified group that
    itself ends in a quantifier (`(a+)+`, `(\\d*)*`), the shape that makes Python's matcher backtrack
    for ever on a long non-matching line. What this misses, the time limit of `UserRegex` catches."""
    if len(pattern) > MAX_PATTERN_CHARS:
        return f"longer than {MAX_PATTERN_CHARS} characters"
    try:
        re.compile(pattern)
    except re.error as error:
        return f"not a regular expression ({error})"
    if _NESTED_QUANTIFIER.search(pattern):
        return "a repeated group that repeats inside (like `(a+)+`) can take for ever to fail: rewrite it without the nesting"
    return ""


# a group whose last item is quantified, itself quantified: `(...+)+`, `(...*){2,}`
_NESTED_QUANTIFIER = re.compile(r"\((?:[^()\\]|\\.)*(?:[+*}]|\+\?|\*\?)\)(?:[+*]|\{\d*,)")


class UserRegex(NamedTuple):
    """A regular expression from the policy, with where it comes from (named when it misbehaves)."""

    regex: re.Pattern[str]
    key: str  # `check.untitled_pattern`
    source: str  # `.nbgit.toml`

    def search(self, text: str) -> bool:
        """Whether the expression occurs in `text`; NbgitError naming the key when it takes too long."""
        with self._time_limit(text):
            return self.regex.search(text) is not None

    def sub(self, replacement: str, text: str) -> str:
        """`text` with every match replaced; NbgitError naming the key when it takes too long."""
        with self._time_limit(text):
            return self.regex.sub(replacement, text)

    @contextlib.contextmanager
    def _time_limit(self, text: str) -> Iterator[None]:
        """SEARCH_SECONDS for what runs inside (a signal interrupts Python's matcher; only the main
        thread gets signals, and nbgit matches there: worker processes, never threads)."""
        if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
            yield
            return
        previous = signal.signal(signal.SIGALRM, _out_of_time)
        signal.setitimer(signal.ITIMER_REAL, SEARCH_SECONDS)
        try:
            yield
        except _OutOfTime:
            shown = text if len(text) <= 80 else text[:77] + "..."
            raise NbgitError(
                f"{self.source}: `{self.key}` takes more than {SEARCH_SECONDS:g} s on {shown!r}: it backtracks",
                f"simplify `{self.key}` in {self.source}",
            ) from None
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)


class _OutOfTime(Exception):
    pass


def _out_of_time(signum: int, frame: object) -> None:
    raise _OutOfTime


def user_regex(pattern: str, key: str, source: str) -> UserRegex:
    """Compile a policy regular expression (the policy has already refused a broken one, see `regex_problem`)."""
    problem = regex_problem(pattern)
    if problem:
        raise NbgitError(f"{source}: `{key}` is {problem}", f"fix `{key}` in {source}")
    return UserRegex(re.compile(pattern), key, source)
