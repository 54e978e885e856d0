"""Patterns from the policy, matched so that no pattern can hang git: globs in linear time, regular
expressions under a time limit.

A policy comes with the repository, so its patterns are hostile input. A glob compiled to one
backtracking regular expression takes time exponential in its number of `**` (`**/**/**/...` hung
`git add`); here a glob is matched segment by segment, each (pattern segment, path segment) pair
tried at most once, so matching costs time linear in the path whatever the pattern. Python's
regular expressions backtrack too (`^(a+)+$`), and the policy's regular expressions use its full
syntax, so each search runs under a time limit instead and a pattern that exceeds it is an error
naming its policy key.

Only the standard library: the filter matches `exclude` for every file git hands it.
"""

from __future__ import annotations

import contextlib
import functools
import re
from typing import Iterator, NamedTuple

from nbgit.errors import NbgitError

MAX_PATTERN_CHARS = 1000  # longer globs and regular expressions are refused when the policy is read
SEARCH_SECONDS = 1.0  # what one search of a policy regular expression may take (a sane one takes microseconds)

_ANY_DEPTH = None  # a `**` segment: any number of path segments, none included


def glob_matches(path: str, patterns: tuple[str, ...] | list[str]) -> bool:
    """Whether a repo-relative POSIX path matches any gitignore-like glob (`*`, `?`, `**`)."""
    return any(compile_glob(pattern).matches(path) for pattern in patterns)


@functools.lru_cache(maxsize=256)
def compile_glob(pattern: str) -> Glob:
    """The matcher of one glob, as .gitignore reads one: a bare name (no `/`) matches at any depth, a
    trailing `/` everything below, `**` as a whole segment any number of folders (elsewhere it is `*`)."""
    if "/" not in pattern.rstrip("/"):
        pattern = "**/" + pattern
    if pattern.endswith("/"):
        pattern += "**"
    return Glob(tuple(_ANY_DEPTH if part == "**" else _segment(part) for part in pattern.split("/")))


def _segment(part: str) -> re.Pattern[str]:
    """One segment's matcher: `*` and `?` within the segment, everything else literal. fnmatch's
    translation matches each `*` without backtracking into it (linear in the segment's length)."""
    import fnmatch

    return re.compile(fnmatch.translate(part.replace("[", "[[]")))


class Glob:
    """A glob as its segments: each matches one path segment, `**` any run of them. Matching is a walk
    over (pattern segment, path segment) positions, each tried at most once: time linear in the path
    for a given pattern, whatever its `**` (a regular expression backtracks through them)."""

    def __init__(self, segments: tuple[re.Pattern[str] | None, ...]) -> None:
        self.segments = segments
        # after each segment, how many path segments the rest must take, when it holds no `**`
        fixed: list[int | None] = [0] * (len(segments) + 1)
        for index in range(len(segments) - 1, -1, -1):
            after = fixed[index + 1]
            fixed[index] = None if segments[index] is _ANY_DEPTH or after is None else after + 1
        self.fixed = fixed

    def matches(self, path: str) -> bool:
        """Whether the whole of `path` matches."""
        return self._match(0, 0, path.split("/"), set())

    def _match(self, at: int, part: int, parts: list[str], failed: set[tuple[int, int]]) -> bool:
        while at < len(self.segments):
            segment = self.segments[at]
            if segment is _ANY_DEPTH:
                rest = self.fixed[at + 1]
                if rest is not None:  # no `**` after this one: the rest takes the last `rest` segments
                    return len(parts) - rest >= part and self._match(at + 1, len(parts) - rest, parts, failed)
                if (at, part) in failed:
                    return False
                if any(self._match(at + 1, start, parts, failed) for start in range(part, len(parts) + 1)):
                    return True
                failed.add((at, part))
                return False
            if part == len(parts) or not segment.fullmatch(parts[part]):
                return False
            at, part = at + 1, part + 1
        return part == len(parts)


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
        import signal  # only here: the filter, which matches globs for every file, never needs these
        import threading

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
