"""`nbgit textconv FILE` (and `nbgit-textconv FILE`): a notebook as readable text for `git diff` (diff.nbgit.textconv).

A failing textconv kills the whole `git diff`, so this command never fails: whatever it cannot read
(invalid JSON, a binary file named .ipynb, a broken policy) comes out as the raw bytes, with a
warning on stderr, and the exit code is always 0.

git starts it once per notebook blob (`git log -p` of 40 commits: 80 processes), so it starts lean:
in a repository without a policy of its own, a notebook `nbgit.quickview` can read is rendered with
nothing imported beyond the interpreter's start-up (not even os: `nbgit install` runs it without
site, `python -S`, see nbgit_textconv); the policy, the cleaning core and the warnings are imported
only when a repository or a notebook needs them, and site-packages joins sys.path before them.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing would import re and enum in every textconv process
if TYPE_CHECKING:
    from nbgit.policy import Policy

USAGE = "usage: nbgit-textconv [--] FILE"


def main(argv: list[str]) -> int:
    """`nbgit-textconv [--] FILE`, the program `nbgit install` wires as diff.nbgit.textconv."""
    operands = argv[1:] if argv[:1] == ["--"] else argv
    if len(operands) != 1 or (operands is argv and argv[0].startswith("-")):
        sys.stderr.write(f"{USAGE}\n")
        return 2
    try:
        return run(operands[0])
    except KeyboardInterrupt:
        sys.stderr.write("nbgit: interrupted\n")
        return 130


def run_as_program(argv: list[str]) -> None:
    """`main(argv)`, then the process ends at once: all is written and flushed, and tearing the
    interpreter down would only cost 2 ms more (nbgit_textconv and `nbgit-textconv` end this way)."""
    code = main(argv)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        try:
            from posix import _exit  # os._exit, without importing os (see nbgit.policy_files)
        except ImportError:
            from os import _exit
        _exit(code)


def run(path: str) -> int:
    """Write `path` as readable text to stdout; see `nbgit textconv --help`."""
    from nbgit.terminal import survive_reader_leaving

    survive_reader_leaving("stdout")  # `git log -p` quit in the pager: nothing to say about it
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        _warn(f"{path}: cannot read ({error.strerror}); showing nothing")
        return 0
    try:
        text = _rendered(data, path)
    except Exception as error:  # noqa: BLE001 - git's diff must go on whatever happens here
        _warn(f"{path}: cannot render ({type(error).__name__}: {error}); showing the raw file")
        text = data
    sys.stdout.buffer.write(text)
    sys.stdout.buffer.flush()
    return 0


def _rendered(data: bytes, path: str) -> bytes:
    """The text: by the quick view when the repository's policy renders as the defaults (it has none,
    or its files are the ones found so before: `nbgit.policy_files.cleans_as_before`) and it can read
    the notebook, else by the full renderer with the repository's policy."""
    from nbgit import __version__
    from nbgit.policy_files import cleans_as_before, root_of_working_directory

    root = root_of_working_directory()
    known = cleans_as_before(root, __version__)
    if known:
        from nbgit.quickview import quick_view

        nb = quick_view(data)
        if nb is not None:
            from nbgit.render import text_of

            return text_of(nb, max_lines=0)  # a quick view has no outputs: no text to cut
    _with_site_packages()
    from nbgit.render import textconv

    return textconv(data, path, policy_or_defaults() if known or root is None else _policy_remembered(root))


def _with_site_packages() -> None:
    """Started without site (`python -S`, as `nbgit install` wires textconv), add what site adds at
    start-up (the environment's site-packages and .pth files, the user's site-packages), as site's
    documentation offers after -S, before importing what may live there: the policy's TOML reader,
    the cleaning core's libraries. Called once, when the quick view cannot do."""
    if sys.flags.no_site:
        import site

        site.main()


def _warn(message: str) -> None:
    from nbgit.progress import warn

    warn(message)


def _policy_remembered(root: str) -> Policy:
    """`policy_or_defaults()`; when it loads and renders as the defaults, its files' bytes are remembered
    (`nbgit.policy_files.MEMO`), so that the next textconv needs no TOML: the bytes as they were both
    before and after reading the policy (a file edited meanwhile is not remembered). Never fails: the
    memo only saves time."""
    from nbgit import __version__
    from nbgit.errors import NbgitError
    from nbgit.policy import Policy, load_policy
    from nbgit.policy_files import memo_bytes

    before = memo_bytes(root, __version__)
    try:
        policy = load_policy(root)
    except NbgitError as error:
        _warn(f"{error.message}; rendering with the default policy")  # every time: nothing is remembered
        return Policy()
    if before is not None and renders_as_defaults(policy) and memo_bytes(root, __version__) == before:
        _remember(root, before)
    return policy


def renders_as_defaults(policy: Policy) -> bool:
    """Whether textconv shows every notebook as under the default policy: the cleaning keys are the
    defaults'. The rest is not textconv's: `render.view` cleans with the policy as it is, never by a
    path's `[[overrides]]` or `exclude`, and `[diff] max_output_lines` cuts outputs, which these keys strip."""
    from nbgit.policy import Policy

    return policy._replace(strict=False, exclude=(), restore_outputs=True, overrides=(), sections=None, source="defaults", flags=()) == Policy()


def _remember(root: str, data: bytes) -> None:
    """Write the memo of policy files that render as the defaults; whatever stops it (a read-only
    clone, a platform without some call) only means the next run reads the policy again."""
    from nbgit.files import replace_own_in_folder
    from nbgit.policy_files import memo_file

    memo = memo_file(root)
    if memo is not None:
        try:
            replace_own_in_folder(memo, data)
        except Exception:  # noqa: BLE001 - the memo only saves time: git's diff must go on
            pass


def policy_or_defaults() -> Policy:
    """The policy of the repository git runs us in; the defaults when it is broken (said on stderr).

    For commands git runs inside `git diff`, where an error would stop the whole diff."""
    from nbgit.errors import NbgitError
    from nbgit.policy import Policy, load_policy
    from nbgit.policy_files import root_of_working_directory

    try:
        return load_policy(root_of_working_directory())
    except NbgitError as error:
        _warn(f"{error.message}; rendering with the default policy")
        return Policy()
