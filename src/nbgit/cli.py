"""Argument parsing only: one parser per subcommand, each dispatching to `nbgit.commands.<name>.run`.

Command modules are imported only when their command runs, so `nbgit clean` never pays for
jupytext, nbdime or GitPython.
"""

from __future__ import annotations

import functools
import importlib
import os
import signal
import sys
from typing import TYPE_CHECKING, Any, Callable

from nbgit import __version__
from nbgit.errors import NbgitError
from nbgit.interrupts import TERMINATING_SIGNALS, after_import
from nbgit.terminal import shown_streams, survive_reader_leaving

if TYPE_CHECKING:
    import argparse
    from types import FrameType

EXIT_OK, EXIT_FOUND, EXIT_ERROR, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 70, 130

HOOKS = {
    "pre-commit": "judge the staged notebooks and refuse the commit while a problem is left; refresh them",
    "pre-merge-commit": "the same for merge commits",
    "post-merge": "refresh the merged notebooks, give renamed ones their outputs; name the pairs the merge left out of step (never fails)",
    "post-checkout": "refresh the checked-out notebooks; name the pairs left out of step (never fails)",
    "post-rewrite": "after a rebase: refresh the rebased notebooks, give renamed ones their outputs (never fails)",
    "check-install": "fail when nbgit's filter is not wired into this clone (skipped in CI)",
}

EPILOG_EXIT_CODES = "exit codes: 0 ok; 1 problems found (--check, conflicts); 2 error (bad input, policy or usage)"


def _command(sub: Any, name: str, help: str, example: str, module: str | None = None) -> argparse.ArgumentParser:
    import argparse

    parser = sub.add_parser(
        name,
        help=help,
        description=help,
        epilog=f"example:\n  {example}\n\n{EPILOG_EXIT_CODES}",
        formatter_class=_sized(argparse.RawDescriptionHelpFormatter),
    )
    parser.set_defaults(module=module or name.replace("-", "_"))
    return parser


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The `nbgit` parser with every subcommand (argparse is imported here: the commands git runs per file
    skip it); with `only`, that subcommand's parser alone when it is one (see `_OneCommand`)."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="nbgit",
        description="Jupyter notebooks that live well in git. Start with `nbgit install` in a repository.",
        epilog=EPILOG_EXIT_CODES,
        formatter_class=_sized(argparse.HelpFormatter),
    )
    parser.add_argument("--version", action="version", version=f"nbgit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    if only is not None:
        sub = _OneCommand(sub, only)

    p = _command(sub, "clean", "strip volatile state from notebooks, rewriting only files that change", "nbgit clean notebooks/")
    p.add_argument("paths", nargs="*", default=["."], metavar="PATH", help="files or folders (default: .); - filters stdin to stdout")
    p.add_argument("--check", action="store_true", help="change nothing; exit 1 listing what would change, per file and cell")
    p.add_argument("--dry-run", action="store_true", help="change nothing; name the files that would change")
    one_run = p.add_argument_group("one-run overrides of the policy (nbstripout's and nb-clean's names work too)")
    one_run.add_argument("--keep-output", "--preserve-cell-outputs", dest="outputs", action="store_const", const="keep",
                         help='keep outputs (policy: outputs = "keep")')
    one_run.add_argument("--keep-count", "--preserve-execution-counts", dest="execution_count", action="store_const", const="keep",
                         help='keep execution counts (policy: execution_count = "keep")')
    one_run.add_argument("--extra-keys", metavar="KEYS", type=_key_paths, help='strip these key paths too, space-separated: "metadata.foo cell.metadata.bar" (adds to extra_keys)')
    one_run.add_argument("--keep-metadata-keys", dest="keep_keys", metavar="KEYS", type=_key_paths,
                         help='keep these key paths of the catalogue, space-separated (adds to keep_keys)')
    one_run.add_argument("--drop-empty-cells", "--remove-empty-cells", dest="drop_empty_cells", action="store_const", const=True,
                         help="drop cells whose source is empty (policy: drop_empty_cells = true)")

    p = _command(sub, "filter-process", "git's long-running filter (filter.nbgit.process)", "git config filter.nbgit.process nbgit-filter-process", "filter_process")
    p = _command(sub, "filter", "one-shot clean/smudge filter for git setups without `process`", "nbgit filter clean < nb.ipynb", "filter_once")
    p.add_argument("direction", choices=["clean", "smudge"])
    p.add_argument("path", nargs="?", default="<stdin>", help="the file's path, for messages and per-path policy")

    p = _command(sub, "install", "wire nbgit into this repository (or --global): filter, diff, merge, hooks", "nbgit install")
    p.add_argument("--global", dest="global_", action="store_true", help="write ~/.gitconfig instead of .git/config")
    p.add_argument("--attributes", metavar="FILE", help="write the attribute lines here instead of .gitattributes")
    p.add_argument("--diff", choices=["text", "nbdime"], help="what `git diff` shows (default: the policy's diff.driver)")
    p.add_argument("--no-hooks", action="store_true", help="do not install git hooks")
    p.add_argument("--replace-peers", action="store_true", help="remove nbstripout / nb-clean / nbdime wiring of the same files")
    p.add_argument(
        "--restore", action=argparse.BooleanOptionalAction, default=None,
        help="keep stripped outputs (and cells the policy drops) in this clone and put them back on checkout (the default); --no-restore: keep none, remove the store",
    )
    p = _command(sub, "uninstall", "remove exactly what `nbgit install` wrote", "nbgit uninstall")
    p.add_argument("--global", dest="global_", action="store_true", help="undo a --global install")
    p.add_argument("--attributes", metavar="FILE", help="the attributes file given to install")
    p = _command(sub, "status", "show what is wired, missing or broken; exit 1 when broken", "nbgit status")
    p = _command(sub, "refresh", "make git status stop listing notebooks re-run without a real change (outputs, counts, timings)", "nbgit refresh")
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or folders (default: the whole work tree)")
    p.add_argument("--wait", type=float, default=5.0, metavar="SECONDS", help="how long to wait for another git command's index lock (default: %(default)s)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but warnings")
    p = _command(sub, "restore", "put back the outputs this clone kept into notebooks that came out without them", "nbgit restore notebooks/")
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or folders (default: the whole work tree)")
    p.add_argument("-n", "--dry-run", action="store_true", help="change nothing; name the notebooks whose outputs would come back")
    p.add_argument("--wait", type=float, default=5.0, metavar="SECONDS", help="how long to wait for another git command's index lock (default: %(default)s)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but warnings")
    p = _command(sub, "gc", "prune the clone's output store: unusable entries, then the least recently used past its limit", "nbgit gc --max-size 200m")
    p.add_argument("--max-size", metavar="SIZE", help="prune down to this size (bytes, or with k, m, g) instead of nbgit.restoreMaxSize")
    p.add_argument("--all", action="store_true", help="empty the store: checkouts write notebooks as committed (no outputs, no dropped cells) until they are recorded again")
    p = _command(sub, "renormalize", "re-add every tracked notebook through the filter after install", "nbgit renormalize && git commit -m 'Clean notebooks'")

    p = _command(sub, "pair", "create jupytext text twins for notebooks that lack one", "nbgit pair notebooks/ --format md")
    p.add_argument("paths", nargs="*", default=["."], metavar="PATH")
    p.add_argument("--format", dest="twin_format", metavar="FORMAT",
                   help='the twins\' jupytext format for this run: "py:percent", "md", "md:myst"... (policy: [pair] format)')
    p = _command(sub, "sync", "bring notebooks and their twins in step, three-way, never losing an edit", "nbgit sync --all")
    p.add_argument("paths", nargs="*", metavar="PATH")
    p.add_argument("--all", action="store_true", help="every pair in the repository")
    p.add_argument("--check", action="store_true", help="change nothing; exit 1 when a pair is out of step")
    p.add_argument("--take", choices=["notebook", "text"], help="on a conflict, take this side's inputs")
    p.add_argument("--fail-on-write", action="store_true", help="exit 1 when a file was written, as fixers do in hooks (`git add` it, commit again)")

    p = _command(sub, "textconv", "a notebook as readable text (diff.nbgit.textconv)", "nbgit textconv analysis.ipynb")
    p.add_argument("path", metavar="FILE")
    p = _command(sub, "diff", "a readable diff of notebooks between revisions (text, Markdown or HTML)", "nbgit diff main..HEAD --format html --output diff.html -- notebooks/")
    p.usage = "nbgit diff [REV | REV..REV | REV REV] [--format text|markdown|html] [-o FILE] [--web] [-- PATH...]"
    p.add_argument("revisions", nargs="*", metavar="REV", help="REV, REV..REV or REV REV (default: work tree against HEAD); paths go after --")
    p.add_argument("--format", choices=["text", "markdown", "html"], default="text",
                   help="text for a terminal (default), markdown for a pull-request comment, html for a self-contained page")
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    p.add_argument("--outputs", choices=["show", "hide"], help="show the outputs the commits hold (default, or the policy's [diff] outputs), or hide every output")
    p.add_argument("--whole", action="store_true", help="HTML: the whole notebook, unchanged cells collapsed between the changes")
    p.add_argument("--web", action="store_true", help="open nbdime's web diff instead")
    p.add_argument("--paths", nargs="*", default=[], metavar="PATH", help=argparse.SUPPRESS)
    p = _command(sub, "diff-driver", "nbdime's diff on cleaned notebooks (diff.nbgit.command)", "git config diff.nbgit.command 'nbgit diff-driver --'", "diff_driver")
    p.add_argument("args", nargs="*", help="git's external diff arguments")

    p = _command(sub, "merge-driver", "merge notebooks cell by cell (merge.nbgit.driver)", "git config merge.nbgit.driver 'nbgit merge-driver -- %O %A %B %L %P'", "merge_driver")
    p.add_argument("base", metavar="BASE")
    p.add_argument("local", metavar="LOCAL")
    p.add_argument("remote", metavar="REMOTE")
    p.add_argument("marker_size", nargs="?", type=int, default=7, metavar="MARKER_SIZE")
    p.add_argument("path", nargs="?", default=None, metavar="PATH")
    p = _command(sub, "resolve", "rebuild a notebook broken by git's conflict markers into a valid one", "nbgit resolve analysis.ipynb --prefer local")
    p.add_argument("paths", nargs="*", metavar="PATH", help="the notebooks (default: every notebook git lists as unmerged)")
    one_way = p.add_mutually_exclusive_group()
    one_way.add_argument("--take", choices=["local", "remote", "base"], help="take one side whole instead of merging cell by cell")
    one_way.add_argument("--prefer", choices=["local", "remote"], help="merge cell by cell and settle each conflict this side's way, keeping the other side's other edits")

    p = _command(sub, "check", "catch unclean, broken, conflicted, unsynced and irreproducible notebooks", "nbgit check --all --format github")
    p.add_argument("paths", nargs="*", metavar="PATH")
    p.add_argument("--all", action="store_true", help="every tracked notebook")
    p.add_argument("--staged", action="store_true", help="judge the staged content (what would be committed)")
    p.add_argument("--fix", action="store_true", help="fix what can be fixed safely (clean, sync), report the rest")
    p.add_argument("--format", choices=["text", "json", "github", "gitlab", "sarif"], default="text",
                   help="gitlab: GitLab's Code Quality report; sarif: SARIF 2.1.0 for code-scanning tools")
    p.add_argument("--shard", type=_shard, metavar="K/N", help="with --all: only the K-th of N shares of the notebooks (a CI job of N)")
    p.add_argument("--no-cache", action="store_true", help="judge every notebook and find every copy afresh, neither reading nor writing the verdict cache")

    p = _command(sub, "ci", "check, report and publish in CI: annotations, job summary, one pull-request comment, Code Quality", "nbgit ci github")
    p.add_argument("platform", choices=["github", "gitlab"])
    p.add_argument("--base", metavar="REV", help="compare with this revision (default: the pull or merge request's base)")
    p.add_argument("--html", default="nbgit-report.html", metavar="FILE", help="where the HTML report goes (default: %(default)s)")
    p.add_argument("--code-quality", default="gl-code-quality-report.json", metavar="FILE", help="gitlab: where the Code Quality report goes (default: %(default)s)")

    p = _command(sub, "hook", "run one of nbgit's git hooks (called by the installed hook scripts)", "nbgit hook pre-commit")
    p.description += "\n\nhooks:\n" + "\n".join(f"  {name:<17} {what}" for name, what in HOOKS.items())
    p.add_argument("name", metavar="NAME", help="one of the hooks above")
    p.add_argument("args", nargs="*", help="the arguments git passed to the hook")
    if isinstance(sub, _OneCommand) and not sub.built:
        return build_parser()  # no such command: argparse's error lists them all
    return parser


def _sized(formatter: type[argparse.HelpFormatter]) -> Callable[..., argparse.HelpFormatter]:
    """`formatter` told the terminal's width, found as `shutil.get_terminal_size` finds it ($COLUMNS, else
    stdout's terminal, else 80): left to itself, argparse imports shutil (with bz2, lzma and fnmatch)
    for the formatter it makes per argument, 2-3 ms of every command's start."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return functools.partial(formatter, width=(columns or 80) - 2)


class _OneCommand:
    """The subcommands of `build_parser`, of which only the one named is built: the others get a stand-in
    that takes their arguments and keeps nothing (building all twenty parsers costs a run, a hook's
    `nbgit check` say, about 5 ms). What the built parser parses, prints and rejects is unchanged."""

    def __init__(self, sub: Any, name: str) -> None:
        self.sub, self.name, self.built = sub, name, False

    def add_parser(self, name: str, **options: Any) -> Any:
        if name != self.name:
            return _Unbuilt()
        self.built = True
        return self.sub.add_parser(name, **options)


class _Unbuilt:
    """A subcommand's parser not built: every call is accepted and forgotten."""

    description = ""
    usage = None

    def __getattr__(self, _name: str) -> Callable[..., _Unbuilt]:
        return lambda *args, **options: self


def _key_paths(text: str) -> tuple[str, ...]:
    """`--extra-keys "metadata.foo cell.metadata.bar"`: space-separated key paths, as nbstripout takes them."""
    return tuple(text.split())


def _shard(text: str) -> tuple[int, int]:
    """`2/4` -> (2, 4): the second of four shares."""
    k, _, n = text.partition("/")
    if not (k.isdigit() and n.isdigit()) or not 1 <= int(k) <= int(n):
        import argparse

        raise argparse.ArgumentTypeError(f"{text!r} is not K/N with 1 <= K <= N (e.g. 1/4)")
    return int(k), int(n)


def _split_pathspec(argv: list[str]) -> tuple[list[str], list[str]]:
    """`nbgit diff A..B -- x.ipynb`: what comes after `--` are paths, kept away from argparse."""
    if len(argv) > 1 and argv[0] == "diff" and "--" in argv:
        at = argv.index("--")
        return argv[:at], argv[at + 1 :]
    return argv, []


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `nbgit` command; returns the exit code. Nothing it prints sends a control
    character from a repository (a file name, a cell) to the terminal (`nbgit.terminal`)."""
    survive_reader_leaving("stdout")  # before shown_streams wraps them
    survive_reader_leaving("stderr")
    with shown_streams():
        return _main(list(sys.argv[1:] if argv is None else argv))


def _main(argv: list[str]) -> int:
    argv, pathspec = _split_pathspec(argv)
    per_file = _per_file_command(argv)
    if per_file is not None:
        return run_guarded(per_file)
    parser = build_parser(argv[0] if argv and not argv[0].startswith("-") else None)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_ERROR
    if pathspec:
        args.paths = pathspec
    return run_guarded(lambda: _dispatch(args))


def _per_file_command(argv: list[str]) -> Callable[[], int] | None:
    """The commands git starts once per file (textconv, the one-shot filter), recognised without argparse:
    importing it and building every subcommand's parser would cost each of those processes about 10 ms."""
    if argv == ["clean", "-"]:
        return lambda: importlib.import_module("nbgit.commands.clean").run(["-"])
    operands = _operands(argv[1:])
    if not argv or operands is None:
        return None
    if argv[0] == "textconv" and len(operands) == 1:
        return lambda: importlib.import_module("nbgit.commands.textconv").run(operands[0])
    if argv[0] == "filter" and len(operands) in (1, 2) and operands[0] in ("clean", "smudge"):
        return lambda: importlib.import_module("nbgit.commands.filter_once").run(*operands)
    return None


def _operands(args: list[str]) -> list[str] | None:
    """The positional arguments as argparse reads them (`--` ends the options), or None when an option
    (or `-`) is among them: those go through the parser."""
    before, after = (args[: args.index("--")], args[args.index("--") + 1 :]) if "--" in args else (args, [])
    return None if any(arg.startswith("-") for arg in before) else before + after


def _dispatch(args: argparse.Namespace) -> int:
    module = importlib.import_module(f"nbgit.commands.{args.module}")
    options = {k: v for k, v in vars(args).items() if k not in ("command", "module")}
    return module.run(**options)


def run_guarded(work: Callable[[], int]) -> int:
    """Run a command: user errors become one line and a hint, never a traceback; ^C exits 130.

    SIGTERM and SIGHUP unwind the command like ^C (so no temporary file outlives it) and exit 128+N.
    A reader that goes away (`nbgit clean --check | head -1`) does not end the command: what is left
    to print is dropped and the exit code is still the verdict.
    """
    survive_reader_leaving("stdout")
    survive_reader_leaving("stderr")
    previous = {number: _handle(number, _terminate) for number in TERMINATING_SIGNALS}
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # (not where ^C is ignored)
        previous[signal.SIGINT] = _handle(signal.SIGINT, _interrupt)
    try:
        return work()
    except NbgitError as error:
        print(error.render(), file=sys.stderr)
        return EXIT_ERROR
    except (KeyboardInterrupt, Terminated) as stopped:
        return _stopped(stopped)
    except Exception as error:  # noqa: BLE001 - the last line of defence
        if (stopped := _signal_behind(error)) is not None:  # (a signal that some code wrapped in an error of its own)
            return _stopped(stopped)
        if os.environ.get("NBGIT_DEBUG"):
            raise
        print(
            f"nbgit: internal error: {type(error).__name__}: {error}\n"
            "hint: this is a bug in nbgit; rerun with NBGIT_DEBUG=1 for the traceback and report it with the command you ran",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
    finally:
        for number, handler in previous.items():
            _handle(number, handler)


class Terminated(BaseException):
    """A terminating signal, raised where the command is so that `finally` and cleanup run."""

    def __init__(self, number: int) -> None:
        super().__init__(number)
        self.number = number


def _terminate(number: int, frame: FrameType | None) -> None:
    if after_import(number, frame):  # (raised again once the import under way is done)
        return
    for other in TERMINATING_SIGNALS:  # a second signal must not interrupt the cleanup the first one starts
        signal.signal(other, signal.SIG_IGN)
    raise Terminated(number)


def _interrupt(number: int, frame: FrameType | None) -> None:
    """^C, as Python's own handler has it, but never inside an import."""
    if not after_import(number, frame):
        raise KeyboardInterrupt


def _stopped(stopped: BaseException) -> int:
    """The line and exit code of a command stopped by ^C or a terminating signal."""
    if isinstance(stopped, Terminated):
        print(f"nbgit: stopped by {signal.Signals(stopped.number).name}", file=sys.stderr)
        return 128 + stopped.number
    print("nbgit: interrupted", file=sys.stderr)
    return EXIT_INTERRUPTED


def _signal_behind(error: BaseException) -> BaseException | None:
    """The ^C or terminating signal that `error` was raised for (its cause or context), if any."""
    seen: set[int] = set()
    behind: BaseException | None = error
    while behind is not None and id(behind) not in seen:
        if isinstance(behind, (KeyboardInterrupt, Terminated)):
            return behind
        seen.add(id(behind))
        behind = behind.__cause__ or behind.__context__
    return None


def _handle(number: int, handler: Any) -> Any:
    """Install a signal handler and return the previous one (none outside the main thread)."""
    try:
        return signal.signal(number, handler)
    except ValueError:
        return handler
