"""Patterns from the policy, matched so that no pattern can hang git: globs in linear time, regular
expressions under a time limit.

A policy comes with the repository, so its patterns are hostile input. A glob compiled to one
backtracking regular expression takes time exponential in its number of `**` (`**/**/**/...` hung
`git add`), and a search that retries every start at each `**` takes time quadratic in the path's
depth per `**` (or overflows the stack); here a glob is matched segment by segment as an automaton,
each (pattern segment, path segment) pair tried at most once and nothing recursing, so matching costs
time linear in the path for any pattern of the policy's bounded length. Python's
regular expressions backtrack too (`^(a+)+$`), and the policy's regular expressions use its full
syntax, so each search runs under a time limit instead and a pattern that exceeds it is an error
naming its policy key. A pattern just under that limit, searched in thousands of outputs, would still
hold git for hours: all of a command's searches share a total (`TOTAL_SECONDS`, plus a second per
megabyte searched, far more than any pattern that does not backtrack takes over it), past which the
command stops with one error naming the policy.

Only the standard library: the filter matches `exclude` for every file git hands it.
"""

from __future__ import annotations

import contextlib
import functools
import re
from typing import Iterator, NamedTuple

from nbgit.deadline import OutOfTime, time_limit
from nbgit.errors import NbgitError

MAX_PATTERN_CHARS = 1000  # longer globs and regular expressions are refused when the policy is read
# Every path is matched against every glob of the policy (a few microseconds each, while compiled) and every
# output text searched with every regular expression (tens of microseconds each, under the time limit): a
# policy holding more is refused when it is read. 30,000 `[[overrides]]` (1 MB) took `git add` 1.8 s of
# CPU per notebook, recompiling globs that no cache could hold.
MAX_GLOBS = 256  # in the whole policy: `exclude`, every `[[overrides]] paths`, `[pair]`, `duplicate_exclude`
MAX_REGEXES = 32  # in one list (`[diff] volatile_patterns`)
SEARCH_SECONDS = 1.0  # what one search of a policy regular expression may take (a sane one takes microseconds)
TOTAL_SECONDS = 5.0  # what all of one process's searches of the policy's regular expressions may take together,
CHARS_PER_SECOND = 1_000_000  # plus a second for each this many characters searched (a linear pattern scans 100 MB a second)
_SPENT = [0.0]  # seconds this process spent searching with the policy's regular expressions so far
_ALLOWED = [TOTAL_SECONDS]  # what they may take in all, grown by every text searched

_ANY_DEPTH = None  # a `**` segment: any number of path segments, none included


def glob_matches(path: str, patterns: tuple[str, ...] | list[str]) -> bool:
    """Whether a repo-relative POSIX path matches any gitignore-like glob (`*`, `?`, `**`)."""
    return any(compile_glob(pattern).matches(path) for pattern in patterns)


@functools.lru_cache(maxsize=2 * MAX_GLOBS)  # a policy's globs and the commands' own stay compiled
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
    """A glob as its segments: each matches one path segment, `**` any run of them. Matching walks the
    path once, keeping the set of pattern positions reached so far (an automaton's states): each
    (pattern segment, path segment) pair is tried at most once and nothing recurses, so a path costs
    time linear in its segments times the pattern's, whatever its `**` (a regular expression, or a
    search that backtracks, goes through them again for every start)."""

    def __init__(self, segments: tuple[re.Pattern[str] | None, ...]) -> None:
        # `**/**` matches what `**` matches: one of a run is enough, and keeps the positions few
        self.segments = tuple(s for k, s in enumerate(segments) if not (s is _ANY_DEPTH and k and segments[k - 1] is _ANY_DEPTH))
        # after each position, how many path segments the rest takes, when it holds no `**`
        fixed: list[int | None] = [0] * (len(self.segments) + 1)
        for index in range(len(self.segments) - 1, -1, -1):
            after = fixed[index + 1]
            fixed[index] = None if self.segments[index] is _ANY_DEPTH or after is None else after + 1
        self.fixed = fixed

    def matches(self, path: str) -> bool:
        """Whether the whole of `path` matches. A `**` position stands for itself and the next one
        (`**` may take no segment); the last `**` hands the end of the path to the segments after it."""
        parts, segments, fixed = path.split("/"), self.segments, self.fixed
        last = len(segments)
        reached = {0}
        tail: bool | None = None  # whether the segments after the last `**` match the path's last ones
        for index, part in enumerate(parts):
            following: set[int] = set()
            for at in reached:
                if at == last:  # the pattern is used up before the path
                    continue
                if segments[at] is _ANY_DEPTH:
                    if fixed[at + 1] is not None:  # the last `**`: it takes whatever the segments after it leave
                        if tail is None:
                            tail = self._ends(at + 1, parts)
                        if tail and len(parts) - fixed[at + 1] >= index:
                            return True
                        continue
                    following.add(at)  # `**` takes this segment, and perhaps more
                    at += 1  # or none: the next position takes it
                if segments[at].fullmatch(part):
                    following.add(at + 1)
            if not following:
                return False
            reached = following
        return last in reached or (last - 1 in reached and segments[-1] is _ANY_DEPTH)

    def _ends(self, at: int, parts: list[str]) -> bool:
        """Whether `parts` ends with path segments that the segments from `at` on (no `**` among them) match."""
        start = len(parts) - self.fixed[at]
        if start < 0:
            return False
        for segment, part in zip(self.segments[at:], parts[start:]):
            if not segment.fullmatch(part):
                return False
        return True


def regex_problem(pattern: str) -> str:
    """Why a policy's regular expression is refused when the policy is read (empty when it is fine):
    it must compile, have at most MAX_PATTERN_CHARS characters, and hold no quantified group that
    itself ends in a quantifier (`(a+)+`, `(\\d*)*`), the shape that makes Python's matcher backtrack
    for ever on a long non-matching line. What this misses, the time limit of `UserRegex` catches."""
    if len(pattern) > MAX_PATTERN_CHARS:
        return f"longer than {MAX_PATTERN_CHARS} characters"
    try:
        _compiled(pattern)
    except re.error as error:
        return f"not a regular expression ({error})"
    except (OverflowError, RecursionError) as error:  # `a{4294967296}`; 500 nested groups
        return f"not a regular expression Python can compile ({'nested too deeply' if isinstance(error, RecursionError) else error})"
    if _NESTED_QUANTIFIER.search(pattern):
        return "a repeated group that repeats inside (like `(a+)+`) can take for ever to fail: rewrite it without the nesting"
    return ""


def _compiled(pattern: str) -> re.Pattern[str]:
    """`re.compile`, without the FutureWarnings Python prints about some sets (`[[a]`): the pattern means what it says today."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return re.compile(pattern)


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
        """SEARCH_SECONDS for what runs inside, and no more than what is left of the total allowed (a
        signal interrupts Python's matcher: `nbgit.deadline`)."""
        import time

        _ALLOWED[0] += len(text) / CHARS_PER_SECOND
        left = _ALLOWED[0] - _SPENT[0]
        if left <= 0:
            raise self._over_budget()
        started = time.monotonic()
        try:
            with time_limit(min(SEARCH_SECONDS, left)):
                yield
        except OutOfTime:
            if left < SEARCH_SECONDS:
                raise self._over_budget() from None
            shown = text if len(text) <= 80 else text[:77] + "..."
            raise NbgitError(
                f"{self.source}: `{self.key}` takes more than {SEARCH_SECONDS:g} s on {shown!r}: it backtracks",
                f"simplify `{self.key}` in {self.source}",
            ) from None
        finally:
            _SPENT[0] += time.monotonic() - started

    def _over_budget(self) -> NbgitError:
        """The error once the policy's regular expressions have taken all the time allowed them."""
        searched = (_ALLOWED[0] - TOTAL_SECONDS) * CHARS_PER_SECOND
        size = f"{searched / 1e6:.1f} MB" if searched >= 1e6 else f"{searched / 1e3:.0f} KB"
        return NbgitError(
            f"{self.source}: the policy's regular expressions took more than {_ALLOWED[0]:.0f} s in all, on {size} of text (`{self.key}` last): one backtracks",
            f"simplify or remove `{self.key}` in {self.source}",
        )


def user_regex(pattern: str, key: str, source: str) -> UserRegex:
    """Compile a policy regular expression (the policy has already refused a broken one, see `regex_problem`)."""
    problem = regex_problem(pattern)
    if problem:
        raise NbgitError(f"{source}: `{key}` is {problem}", f"fix `{key}` in {source}")
    return UserRegex(_compiled(pattern), key, source)
