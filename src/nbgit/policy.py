"""The repository's policy: defaults, `.nbgit.toml` or `[tool.nbgit]` in `pyproject.toml`, validation.

Top-level keys govern cleaning (the git filter and `nbgit clean`); each other capability owns one
table (`[pair]`, `[diff]`, `[merge]`, `[check]`) declared in `SECTIONS`. Every key is declared once
with its default, its type and one line of documentation; unknown keys and wrong types are errors
that name the file, the key and what is allowed.
"""

from __future__ import annotations

import os
from stat import S_ISREG
from typing import TYPE_CHECKING, Any, Callable, NamedTuple

from nbgit.errors import NbgitError
from nbgit.patterns import MAX_GLOBS, MAX_PATTERN_CHARS, MAX_REGEXES, glob_matches, regex_problem  # noqa: F401 - glob_matches: for pairing and the commands
from nbgit.policy_files import (
    MAX_POLICY_BYTES,
    POLICY_FILE,
    PROJECT_FILE,
    bytes_of,
    root_of,
)
from nbgit.toml_keys import MAX_KEY_PARTS, longest_key

if TYPE_CHECKING:
    from pathlib import Path

KEY_PREFIXES = ("metadata.", "cell.", "output.")


class Key(NamedTuple):
    """One policy key: its default, a check of its value, and what it does."""

    default: Any
    check: Callable[[Any], bool]
    allowed: str
    doc: str


def _choice(*options: str) -> tuple[Callable[[Any], bool], str]:
    return (lambda v: v in options), " or ".join(f'"{o}"' for o in options)


def _is_bool(v: Any) -> bool:
    return isinstance(v, bool)


def _is_str(v: Any) -> bool:
    return isinstance(v, str)


def _is_count(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _is_str_list(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(s, str) for s in v)


def _is_key_paths(v: Any) -> bool:
    return _is_str_list(v) and all(s.startswith(KEY_PREFIXES) and len(s.split(".", 1)[1]) > 0 for s in v)


# What a notebook is made of: stripping one would lose what people wrote (a cell's source, pasted
# images) or leave a notebook Jupyter refuses. A repository's policy is not trusted to remove them.
CONTENT_KEYS = frozenset({
    "cell.source", "cell.cell_type", "cell.attachments", "cell.metadata", "cell.id", "cell.outputs",
    "cell.execution_count", "output.output_type", "output.data", "output.text", "output.name",
    "output.metadata", "output.ename", "output.evalue", "output.traceback",
})


_OPEN_CONTENT_KEYS = ("cell.metadata", "output.metadata")  # required, but what is below them is anyone's


def _is_strippable_key_paths(v: Any) -> bool:
    return _is_key_paths(v) and not any(_is_content(key) for key in v)


def _is_content(key: str) -> bool:
    """Whether stripping `key` removes a notebook's content: a content key, or a part of one (an
    attachment's image, one type of an output's data)."""
    return key in CONTENT_KEYS or any(key.startswith(content + ".") for content in CONTENT_KEYS if content not in _OPEN_CONTENT_KEYS)


def _is_regex_list(v: Any) -> bool:
    return _is_str_list(v) and len(v) <= MAX_REGEXES and not any(regex_problem(s) for s in v)


def _is_regex(v: Any) -> bool:
    return isinstance(v, str) and not regex_problem(v)


def _is_globs(v: Any) -> bool:
    return _is_str_list(v) and len(v) <= MAX_GLOBS and all(len(s) <= MAX_PATTERN_CHARS for s in v)


def _is_str_table(v: Any) -> bool:
    return isinstance(v, dict) and all(isinstance(k, str) and isinstance(s, str) for k, s in v.items())


BOOL = (_is_bool, "true or false")
TEXT = (_is_str, "a string")
COUNT = (_is_count, "a whole number >= 0")
COUNT_OR_OFF = (lambda v: v is False or _is_count(v), "a whole number >= 0, or false for no limit")
STRINGS = (_is_str_list, "a list of strings")
KEY_PATHS = (_is_key_paths, 'a list of key paths starting with "metadata.", "cell." or "output."')
STRIPPABLE_KEY_PATHS = (_is_strippable_key_paths, KEY_PATHS[1] + ", none of them a notebook's content (" + ", ".join(sorted(CONTENT_KEYS)) + ")")
STRING_TABLE = (_is_str_table, "a table of strings")
REGEXES = (_is_regex_list, f"a list of at most {MAX_REGEXES} regular expressions that compile, have at most {MAX_PATTERN_CHARS} characters and repeat no group that repeats inside (like `(a+)+`)")
REGEX = (_is_regex, f"a regular expression that compiles, has at most {MAX_PATTERN_CHARS} characters and repeats no group that repeats inside (like `(a+)+`)")
GLOBS = (_is_globs, f"a list of at most {MAX_GLOBS} glob patterns of at most {MAX_PATTERN_CHARS} characters")


def _key(default: Any, kind: tuple[Callable[[Any], bool], str], doc: str) -> Key:
    return Key(default, kind[0], kind[1], doc)


# The top-level keys: cleaning. Names marked public in the README are a fixed interface.
CLEAN_KEYS: dict[str, Key] = {
    "outputs": _key("strip", _choice("strip", "keep"), "strip every cell's outputs, or keep them"),
    "execution_count": _key("strip", _choice("strip", "keep"), "strip execution counts (cells and outputs), or keep them"),
    "ids": _key("keep", _choice("keep", "sequential"), 'keep cell ids, or renumber them "0", "1", ... as nbstripout does'),
    "extra_keys": _key([], STRIPPABLE_KEY_PATHS, "key paths to strip besides the default catalogue"),
    "keep_keys": _key([], KEY_PATHS, "key paths of the catalogue (or below one) to keep"),
    "strict": _key(False, BOOL, "refuse a file that cannot be cleaned instead of passing it through unchanged"),
    "keep_output_tags": _key(["keep_output"], STRINGS, "cells with one of these tags keep their outputs"),
    "strip_init_cells": _key(False, BOOL, "strip outputs of cells marked init_cell too (kept by default)"),
    "max_output_size": _key(False, COUNT_OR_OFF, "outputs up to this many characters are kept, larger ones stripped"),
    "keep_output_types": _key([], STRINGS, 'only outputs of these types survive ("execute_result", "stream:stdout"...)'),
    "drop_output_types": _key([], STRINGS, 'outputs of these types never survive ("error", "stream:stderr"...)'),
    "drop_empty_cells": _key(False, BOOL, "drop cells whose source is empty or only whitespace"),
    "drop_tagged_cells": _key([], STRINGS, "drop cells carrying one of these tags"),
    "exclude": _key([], GLOBS, "glob patterns of notebooks that nbgit leaves alone"),
    "restore_outputs": _key(True, BOOL, "keep stripped outputs (and cells the policy drops) in the clone and put them back when git writes notebooks out"),
}

# One table per capability; each capability declares its own keys here.
SECTIONS: dict[str, dict[str, Key]] = {
    "pair": {
        "enabled": _key(False, BOOL, "pair every notebook the globs select (else only those given to `nbgit pair`)"),
        "format": _key("auto:percent", TEXT, 'the twin\'s jupytext format; "auto:" follows the kernel (.py, .R, .jl), or give one ("py:percent", "md", "md:myst")'),
        "folders": _key({}, STRING_TABLE, 'one mirror folder at the top of the repository, notebooks -> twins (e.g. {notebooks = "scripts"})'),
        "include": _key(["**/*.ipynb"], GLOBS, "glob patterns of notebooks to pair"),
        "exclude": _key([], GLOBS, "glob patterns of notebooks never paired"),
    },
    "diff": {
        "driver": _key("text", _choice("text", "nbdime"), "what `git diff` shows: nbgit's text rendering or nbdime's diff"),
        "max_output_lines": _key(20, COUNT, "text outputs longer than this are truncated in diffs"),
        "outputs": _key("show", _choice("show", "hide"), "`nbgit diff`: show the outputs the commits hold, or hide every output"),
        "volatile_patterns": _key([], REGEXES, "regular expressions for output text that changes on every run (besides the built-in addresses and timings): text that differs only there is no change"),
    },
    "merge": {
        "outputs": _key("clear", _choice("clear", "local", "remote"), "on an output conflict: clear outputs, or take one side"),
    },
    "check": {
        "disable": _key([], STRINGS, 'ids of checks that never run ("untitled", "hidden-state"...: the README lists them all)'),
        "untitled_pattern": _key(r"(^|/)(Untitled\d*( \(\d+\))?|[^/]*-Copy\d+|Copy of [^/]*)\.ipynb$", REGEX, 'regular expression searched in repo-relative notebook paths; "" turns the check off'),
        "max_output_bytes": _key(1_000_000, COUNT_OR_OFF, "largest output (bytes of compact JSON) a committed cell may keep, or false"),
        "max_notebook_bytes": _key(10_000_000, COUNT_OR_OFF, "largest committed notebook in bytes, or false"),
        "execution_order": _key("increasing", _choice("increasing", "consecutive"), 'hidden-state: counts must rise from 1 ("increasing") or go 1, 2, 3... without gaps ("consecutive")'),
        "errors": _key([], STRINGS, 'ids of checks that warn by default ("duplicate-code", "not-installed") to report as errors, failing the check'),
        "duplicate_min_lines": _key(5, COUNT, "duplicate-code: the fewest lines of code (as normalised: no blank lines, comments or imports) a copy must have"),
        "duplicate_exclude": _key([], GLOBS, "duplicate-code: glob patterns of notebooks and modules never compared"),
    },
}


class Policy(NamedTuple):
    """A repository's validated policy. Field names are the top-level keys of the policy file."""

    outputs: str = "strip"
    execution_count: str = "strip"
    ids: str = "keep"
    extra_keys: tuple[str, ...] = ()
    keep_keys: tuple[str, ...] = ()
    strict: bool = False
    keep_output_tags: tuple[str, ...] = ("keep_output",)
    strip_init_cells: bool = False
    max_output_size: int | None = None
    keep_output_types: tuple[str, ...] = ()
    drop_output_types: tuple[str, ...] = ()
    drop_empty_cells: bool = False
    drop_tagged_cells: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    restore_outputs: bool = True
    overrides: tuple[tuple[tuple[str, ...], dict[str, Any]], ...] = ()  # (path globs, values) in file order
    sections: dict[str, dict[str, Any]] | None = None  # None: every table at its defaults
    source: str = "defaults"
    flags: tuple[tuple[str, Any], ...] = ()  # one run's command-line overrides, applied after everything else

    def for_path(self, path: str) -> Policy:
        """The policy for one repo-relative notebook path: every matching `[[overrides]]` applied in order."""
        values: dict[str, Any] = {}
        for patterns, override in self.overrides:
            if glob_matches(path, patterns):
                values.update(override)
        return self._replace(**values).with_flags(dict(self.flags)) if values else self

    def with_flags(self, flags: dict[str, Any]) -> Policy:
        """This policy with one run's command-line flags on top of the policy file and its `[[overrides]]`.

        `flags` are named by policy key (`outputs`, `pair.format`); None and False mean "not given".
        List keys are extended (`--extra-keys` adds to `extra_keys`), other keys replaced.
        """
        given = {name: value for name, value in flags.items() if value is not None and value is not False}
        if not given:
            return self
        values: dict[str, Any] = {}
        sections = {name: dict(self.section(name)) for name in SECTIONS}
        for name, value in given.items():
            section, _, key = name.rpartition(".")
            spec = SECTIONS[section][key] if section else CLEAN_KEYS[name]
            _validate("the command line", name, spec, list(value) if isinstance(value, tuple) else value)
            if section:
                sections[section][key] = value
            elif isinstance(getattr(self, name), tuple):
                values[name] = tuple(dict.fromkeys((*getattr(self, name), *value)))
            else:
                values[name] = value
        return self._replace(**values, sections=sections, flags=tuple(given.items()))

    def excludes(self, path: str) -> bool:
        """Whether nbgit leaves the notebook at this repo-relative path alone (`exclude`)."""
        return bool(self.exclude) and glob_matches(path, self.exclude)

    def section(self, name: str) -> dict[str, Any]:
        """The validated table of one capability (`pair`, `diff`, `merge`, `check`), defaults filled in."""
        if self.sections is None:
            return {key: spec.default for key, spec in SECTIONS[name].items()}
        return self.sections[name]


def find_root(start: Path | str) -> Path | None:
    """The top of the git work tree holding `start`, found without running git (a `.git` entry).
    A symlink is held by the work tree it sits in, wherever it leads."""
    root = root_of(start)
    if root is None:
        return None
    from pathlib import Path  # the commands git runs per file use root_of and skip pathlib's import

    return Path(root)


def load_policy(root: Path | str | None) -> Policy:
    """The policy of the repository at `root`: `.nbgit.toml`, else `[tool.nbgit]` of `pyproject.toml`, else defaults."""
    if root is None:
        return Policy()
    own = os.path.join(root, POLICY_FILE)
    if os.path.isfile(own):
        return policy_from_table(_read_toml(own), POLICY_FILE)
    project = os.path.join(root, PROJECT_FILE)
    if os.path.isfile(project):
        tool = _read_toml(project).get("tool", {})
        if not isinstance(tool, dict):
            raise NbgitError("pyproject.toml: `tool` must be a table ([tool])", "fix pyproject.toml; see the policy reference in README.md")
        table = tool.get("nbgit")
        if table is not None:
            if not isinstance(table, dict):
                raise NbgitError("pyproject.toml: [tool.nbgit] must be a table", "fix pyproject.toml; see the policy reference in README.md")
            return policy_from_table(table, "pyproject.toml [tool.nbgit]")
    return Policy()


def policy_from_table(table: dict[str, Any], source: str) -> Policy:
    """Validate a policy table (as parsed from TOML) and build the Policy; `source` names it in errors."""
    values = _clean_values({k: v for k, v in table.items() if k not in SECTIONS and k != "overrides"}, source, "")
    overrides = _overrides(table.get("overrides", []), source)
    sections = _section_defaults(table, source)
    globs = [*values.get("exclude", ()), *(p for paths, _ in overrides for p in paths), *sections["pair"]["include"], *sections["pair"]["exclude"],
             *sections["check"]["duplicate_exclude"]]
    if len(globs) > MAX_GLOBS:  # every path is matched against each one
        raise NbgitError(f"{source}: {len(globs)} glob patterns (`exclude`, `[[overrides]]` paths, `[pair]`, `duplicate_exclude`), more than the {MAX_GLOBS} a policy may hold",
                         f"match many paths with one pattern (`legacy/**`) in {source}")
    return Policy(**values, overrides=overrides, sections=sections, source=source)


def _clean_values(table: dict[str, Any], source: str, where: str) -> dict[str, Any]:
    """Validated top-level (cleaning) keys of `table`, as Policy field values."""
    values: dict[str, Any] = {}
    for name, value in table.items():
        key = CLEAN_KEYS.get(name)
        if key is None:
            known = [*CLEAN_KEYS] if where else [*CLEAN_KEYS, "[[overrides]]", *(f"[{s}]" for s in SECTIONS)]
            raise _unknown(source, f"{where}{name}", [f"{where}{k}" for k in known])
        _validate(source, f"{where}{name}", key, value)
        if isinstance(value, list):
            value = tuple(value)
        values[name] = None if name == "max_output_size" and value is False else value
    return values


def _overrides(entries: Any, source: str) -> tuple[tuple[tuple[str, ...], dict[str, Any]], ...]:
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise NbgitError(f"{source}: `overrides` must be a list of tables ([[overrides]])", "see the policy reference in README.md")
    result = []
    for number, entry in enumerate(entries, 1):
        where = f"overrides[{number}]."
        paths = entry.get("paths")
        if not _is_globs(paths) or not paths:
            raise NbgitError(f"{source}: `{where}paths` must be a non-empty {GLOBS[1].removeprefix('a ')}", 'e.g. paths = ["docs/**"]')
        values = _clean_values({k: v for k, v in entry.items() if k != "paths"}, source, where)
        if "exclude" in values:
            raise NbgitError(f"{source}: `{where}exclude` cannot be overridden", "use the top-level `exclude`")
        result.append((tuple(paths), values))
    return tuple(result)


def _section_defaults(table: dict[str, Any], source: str) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = {}
    for section, keys in SECTIONS.items():
        given = table.get(section, {})
        if not isinstance(given, dict):
            raise NbgitError(f"{source}: `{section}` must be a table ([{section}])", "see the policy reference in README.md")
        for name, value in given.items():
            if name not in keys:
                raise _unknown(source, f"{section}.{name}", [f"{section}.{k}" for k in keys])
            _validate(source, f"{section}.{name}", keys[name], value)
        result[section] = {name: given.get(name, key.default) for name, key in keys.items()}
    return result


def _validate(source: str, name: str, key: Key, value: Any) -> None:
    if not key.check(value):
        raise NbgitError(
            f"{source}: `{name}` must be {key.allowed}, not {value!r}",
            f"`{name}`: {key.doc}",
        )


def _unknown(source: str, name: str, known: list[str]) -> NbgitError:
    import difflib

    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean `{close[0]}`?" if close else "known keys: " + ", ".join(known)
    return NbgitError(f"{source}: unknown policy key `{name}`", hint)


def _read_toml(path: str) -> dict[str, Any]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    name = os.path.basename(path)
    if os.path.islink(path):  # a stranger's clone may link its policy to a file of yours: its values would show in errors
        from pathlib import Path

        from nbgit.files import confined

        confined(Path(path))
    data = bytes_of(path)  # without waiting (a FIFO swapped in), at most MAX_POLICY_BYTES
    if data is None:
        raise _unread(path, name) from None
    try:
        text = data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")  # newlines as open() reads them
        if longest_key(text) > MAX_KEY_PARTS:  # TOML's time and memory grow with their square: never parsed
            raise NbgitError(f"{name}: a key or table name of more than {MAX_KEY_PARTS} dotted parts; not read",
                             f"shorten it in {name}; see the policy reference in README.md")
        return tomllib.loads(text)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError) as error:
        reason = "nested too deeply" if isinstance(error, RecursionError) else str(error)
        raise NbgitError(f"{name}: not valid TOML ({reason})", f"fix {name}; see the policy reference in README.md") from None


def _unread(path: str, name: str) -> NbgitError:
    """Why `bytes_of` could not read the policy file at `path`: larger than MAX_POLICY_BYTES, no regular
    file, or what the system says when asked again."""
    try:
        status = os.stat(path)
        if not S_ISREG(status.st_mode):
            from nbgit.files import kind_of

            reason = kind_of(status.st_mode)
        elif status.st_size > MAX_POLICY_BYTES:
            hint = f"shrink {name}" + (", or put nbgit's policy in .nbgit.toml, which is read instead" if name == PROJECT_FILE else "")
            return NbgitError(f"{name}: {status.st_size} bytes, more than the {MAX_POLICY_BYTES >> 20} MiB a policy file may hold; not read", hint)
        else:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
            try:
                os.read(fd, 1)
            finally:
                os.close(fd)
            reason = "it changed while it was read"
    except OSError as error:
        reason = error.strerror or type(error).__name__
    return NbgitError(f"{name}: cannot read the policy ({reason})", f"make {name} readable, or remove it")
