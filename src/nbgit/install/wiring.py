"""What `nbgit install` wires, capability by capability, as plain data.

Every command git runs with file names puts `--` before them: a file named `-rf.ipynb` is a file,
never an option.

Each capability (the filter, the diff and merge drivers, hosting hints, hooks, jupytext's config)
declares here the git config entries, notebook attributes, hooks and files it needs. `nbgit.install`
applies, removes and inspects that data without knowing any capability in particular, so adding a
capability means adding one function to `CAPABILITIES`.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Callable, NamedTuple

from nbgit import __version__, gitrepo
from nbgit.errors import NbgitError
from nbgit.policy import Policy

MANAGED_MARKER = "# nbgit: managed by `nbgit install`; `nbgit uninstall` removes it"
NOTEBOOKS = "*.ipynb"
# git's hunk headers (`@@ -3,4 +3,5 @@ [code 1a2b3c4d]`) name the cell: the nearest header line textconv wrote above
CELL_HEADER_REGEX = r"^(\[(code|markdown|raw|heading|unknown)[^]]*\].*)$"


class ConfigEntry(NamedTuple):
    """One git config value. A `shared` key lives outside nbgit's own sections (`difftool.nbdime.cmd`):
    install writes it only where it is unset and records that it did; uninstall removes only what it recorded."""

    key: str
    value: str
    shared: bool = False


class ManagedFile(NamedTuple):
    """A file in the work tree that nbgit writes (marked with MANAGED_MARKER); `text` None: none is wanted now."""

    path: str
    text: str | None


class Wiring(NamedTuple):
    """Everything one capability wires into git."""

    capability: str
    summary: str  # what it gives, for `nbgit status`
    config: tuple[ConfigEntry, ...] = ()
    owned_keys: tuple[str, ...] = ()  # every key of nbgit's own sections this capability may ever write
    tokens: tuple[str, ...] = ()  # attributes every notebook gets through the `nbgit` macro ("filter=nbgit")
    lines: tuple[str, ...] = ()  # attribute lines of their own
    hooks: tuple[str, ...] = ()  # git hooks that run `nbgit hook NAME`
    files: tuple[ManagedFile, ...] = ()
    optional: bool = False  # missing is not a problem for `nbgit status`
    off: str = ""  # why this capability wires nothing here
    broken: str = ""  # why it cannot work as this clone is configured (`nbgit status`: broken)
    warnings: tuple[str, ...] = ()  # said by install


class Setup(NamedTuple):
    """What the wiring depends on: where nbgit's programs are, the policy, the user's choices."""

    bin_dir: Path
    policy: Policy
    diff_driver: str  # "text" or "nbdime"
    global_: bool
    restore: bool = True  # keep outputs in the clone (`--no-restore`: this clone keeps none)
    root: Path | None = None  # the work tree, when the run is inside one


def program(name: str, bin_dir: Path) -> Path | None:
    """The absolute path of a console script: beside the running interpreter first, else on PATH."""
    beside = bin_dir / name
    if beside.is_file():
        return beside.absolute()
    found = shutil.which(name)
    return Path(found).absolute() if found else None


def interpreter_bin_dir() -> Path:
    """The folder of the running interpreter (a venv's bin/, not the resolved system python)."""
    return Path(sys.executable).absolute().parent


def quote(path: Path | str) -> str:
    """`path` single-quoted for the shell git runs commands through."""
    return "'" + str(path).replace("'", "'\"'\"'") + "'"


def nbgit_command(setup: Setup) -> str:
    """The quoted absolute path of the `nbgit` console script."""
    found = program("nbgit", setup.bin_dir)
    if found is None:
        raise NbgitError("cannot find the `nbgit` command", "install nbgit with pip or pipx so that `nbgit` is a console script")
    return quote(found)


def filter_wiring(setup: Setup) -> Wiring:
    """The clean filter: the long-running process, the one-shot clean, and smudge only if the filter requires it."""
    from nbgit import filter as nbfilter

    nbgit = nbgit_command(setup)
    process = program("nbgit-filter-process", setup.bin_dir)
    if process is None:
        raise NbgitError("cannot find the `nbgit-filter-process` command", "reinstall nbgit: it provides that console script")
    warnings: tuple[str, ...] = ()
    if any(c.isspace() for c in str(process)):
        warnings = (
            (
                f"the filter's path contains spaces ({process}): before git 2.55, if it ever disappears every git command "
                "that touches a notebook fails until `nbgit uninstall`; install nbgit where its path has no spaces (e.g. pipx)"
            ),
        )
    config = [
        ConfigEntry("filter.nbgit.process", quote(process) if warnings else str(process)),
        ConfigEntry("filter.nbgit.clean", f"{nbgit} filter clean"),
    ]
    if getattr(nbfilter, "REQUIRED", False):
        config += [ConfigEntry("filter.nbgit.smudge", f"{nbgit} filter smudge"), ConfigEntry("filter.nbgit.required", "true")]
    return Wiring(
        "filter",
        "strips notebooks as git stores them (one process per git command)",
        tuple(config),
        ("filter.nbgit.process", "filter.nbgit.clean", "filter.nbgit.smudge", "filter.nbgit.required"),
        tokens=("filter=nbgit",),
        warnings=warnings,
    )


def outputs_wiring(setup: Setup) -> Wiring:
    """Outputs (or, where the policy keeps outputs, the cells it drops) kept in the clone by the filter
    and put back on checkout (`nbgit.store.keeper.uses_store`); a clone can say no (`nbgit.restore`)."""
    from nbgit.clean import drops_cells
    from nbgit.store.keeper import uses_store
    from nbgit.store.location import ENABLED_KEY, clone_settings, shown_size, store_dir

    owned = (ENABLED_KEY,)
    policy = setup.policy
    if not setup.restore:
        kept = "no outputs" if policy.outputs == "strip" or not drops_cells(policy) else "none of the cells the policy drops"
        return Wiring(
            "outputs", "", (ConfigEntry(ENABLED_KEY, "false"),), owned, optional=True,
            off=f"this clone keeps {kept}: checkouts write notebooks as committed (`nbgit install --restore` turns it back on)",
        )
    overridden = _kept_by_overrides(setup) if not uses_store(policy) else None
    if overridden is not None and not overridden[0]:
        off = (
            "the policy says restore_outputs = false: notebooks come out as committed" if not policy.restore_outputs
            else 'the policy says outputs = "keep" and drops no cells: git stores the outputs, the clone has nothing to keep'
        )
        return Wiring("outputs", "", owned_keys=owned, optional=True, off=off)
    if overridden is not None:
        kept, tracked = overridden
        summary = (f"kept for {kept} of {tracked} notebooks, those whose [[overrides]] in the policy turn it on "
                   "(the rest come out as committed), put back when git writes notebooks out (checkout, stash, pull, merge...)")
    elif policy.outputs == "strip":
        summary = "kept in the clone as git strips them, put back when git writes notebooks out (checkout, stash, pull, merge...)"
    else:
        summary = (
            'git stores them (outputs = "keep"); what the filter takes out (the cells the policy drops, counts, editor metadata) '
            "is kept in the clone, put back when git writes notebooks out (checkout, stash, pull, merge...)"
        )
    directory = store_dir(setup.root) if setup.root is not None and not setup.global_ else None
    if setup.root is not None and directory is not None:
        from nbgit.store.evict import measure

        shown = directory.relative_to(setup.root) if directory.is_relative_to(setup.root) else directory
        try:
            limit = shown_size(clone_settings(setup.root).limit)
        except NbgitError as error:  # (the filter warns and keeps no outputs; status says so instead of stopping)
            problem = f"{error.message}: the filter keeps no outputs until it is fixed ({error.hint})"
            return Wiring("outputs", summary, owned_keys=owned, optional=True, broken=problem)
        summary += f"; store {shown_size(measure(directory).bytes)} of {limit} in {shown} (`nbgit gc` prunes it)"
    return Wiring("outputs", summary, owned_keys=owned, optional=True)


def _kept_by_overrides(setup: Setup) -> tuple[int, int]:
    """Of the work tree's notebooks (tracked, or not ignored), how many the store keeps what the filter
    takes out of under their own policy (`[[overrides]]` applied), and how many there are: where the
    top-level policy keeps nothing, overrides may keep it for some paths. (0, 0) without overrides, or
    outside a repository."""
    from nbgit.store.keeper import uses_store

    if setup.root is None or setup.global_ or not setup.policy.overrides:
        return 0, 0
    notebooks = gitrepo.tracked_files("*.ipynb", cwd=setup.root, untracked=True)
    return sum(uses_store(setup.policy.for_path(path)) for path in notebooks), len(notebooks)


def textconv_command(setup: Setup) -> str:
    """diff.nbgit.textconv: nbgit_textconv.py run by this interpreter without site (`-S`; see that
    module), or the `nbgit-textconv` script where nbgit_textconv is no file beside nbgit (a zipped
    install). The version is part of the command so that git's textconv cache is dropped when nbgit
    changes; git runs the command through sh, which `exec` spares a fork."""
    from importlib.util import find_spec

    spec = find_spec("nbgit_textconv")
    entry = Path(spec.origin) if spec is not None and spec.origin else None
    if entry is not None and entry.is_file() and (entry.parent / "nbgit").is_dir():
        return f"NBGIT_VERSION={__version__} exec {quote(Path(sys.executable).absolute())} -S {quote(entry.absolute())} --"
    # a program of its own, started once per notebook blob: `nbgit textconv` (what older installs wired)
    # pays for the console script's imports each time
    textconv = program("nbgit-textconv", setup.bin_dir)
    if textconv is None:
        raise NbgitError("cannot find the `nbgit-textconv` command", "reinstall nbgit: it provides that script")
    return f"NBGIT_VERSION={__version__} {quote(textconv)} --"


def diff_wiring(setup: Setup) -> Wiring:
    """`git diff` as readable cells (textconv, cached per nbgit version), or nbdime's diff; nbdime as difftool."""
    nbgit = nbgit_command(setup)
    config = [
        ConfigEntry("diff.nbgit.textconv", textconv_command(setup)),
        ConfigEntry("diff.nbgit.cachetextconv", "true"),
        # shared: a pattern of the user's own is kept (written only when unset, removed only if nbgit wrote it)
        ConfigEntry("diff.nbgit.xfuncname", CELL_HEADER_REGEX, shared=True),
    ]
    summary = "git diff / log -p show notebooks as readable cells"
    if setup.diff_driver == "nbdime":
        config.append(ConfigEntry("diff.nbgit.command", f"{nbgit} diff-driver --"))
        summary = "git diff shows nbdime's diff of the cleaned notebooks; git log -p shows readable cells"
    tool = program("git-nbdifftool", setup.bin_dir)
    if tool is not None:
        config.append(ConfigEntry("difftool.nbdime.cmd", f'{quote(tool)} diff -- "$LOCAL" "$REMOTE" "$BASE"', shared=True))
    return Wiring(
        "diff",
        summary,
        tuple(config),
        ("diff.nbgit.textconv", "diff.nbgit.cachetextconv", "diff.nbgit.command"),
        tokens=("diff=nbgit",),
    )


def merge_wiring(setup: Setup) -> Wiring:
    """The cell-by-cell merge driver, and nbdime's web merge tool for `git mergetool --tool=nbdime`."""
    nbgit = nbgit_command(setup)
    config = [
        ConfigEntry("merge.nbgit.name", "nbgit notebook merge"),
        ConfigEntry("merge.nbgit.driver", f"{nbgit} merge-driver -- %O %A %B %L %P"),
        ConfigEntry("merge.nbgit.recursive", "binary"),
    ]
    tool = program("git-nbmergetool", setup.bin_dir)
    if tool is not None:
        config += [
            ConfigEntry("mergetool.nbdime.cmd", f'{quote(tool)} merge -- "$BASE" "$LOCAL" "$REMOTE" "$MERGED"', shared=True),
            ConfigEntry("mergetool.nbdime.trustExitCode", "false", shared=True),
        ]
    return Wiring(
        "merge",
        "git merge / rebase merge notebooks cell by cell (nbgit merge-driver)",
        tuple(config),
        ("merge.nbgit.name", "merge.nbgit.driver", "merge.nbgit.recursive"),
        tokens=("merge=nbgit",),
    )


def hosting_wiring(setup: Setup) -> Wiring:
    """When text twins are committed, GitHub and GitLab collapse the notebook JSON in pull requests."""
    if not setup.policy.section("pair")["enabled"]:
        return Wiring("hosting", "", optional=True, off="pairing is off: pull requests show the notebooks")
    return Wiring(
        "hosting",
        "GitHub / GitLab collapse notebook JSON in pull requests and show the text twins",
        lines=(f"{NOTEBOOKS} linguist-generated gitlab-generated",),
        optional=True,
    )


def hooks_wiring(setup: Setup) -> Wiring:
    """nbgit's pre-commit checks, refreshes after commits and checkouts (and, with pairing, reminders after merges and
    checkouts), chained with hooks already there."""
    if setup.global_:
        return Wiring("hooks", "", optional=True, off="hooks are per repository: run `nbgit install` inside one")
    shared = _shared_hooks_folder(setup.root)
    if shared is not None:
        return Wiring("hooks", "", optional=True, off=(
            f"core.hooksPath ({shared.scope} config) names {shared.value}, a hooks folder every repository of yours uses: "
            "nbgit writes no hook there (its checks would refuse commits everywhere); "
            "call `nbgit hook pre-commit` from your own hook there, or set core.hooksPath in this repository"
        ))
    refreshing = ("pre-commit / post-merge / post-checkout / post-rewrite keep notebooks they touch out of git status when only outputs "
                  "changed, and give renamed notebooks the outputs they had")
    names: tuple[str, ...] = ("pre-commit", "post-merge", "post-checkout", "post-rewrite")
    if setup.policy.section("pair")["enabled"]:
        summary = f"pre-commit runs nbgit's checks; post-merge / post-checkout remind when pairs fall out of step; {refreshing}"
    else:
        summary = f"pre-commit runs nbgit's checks; {refreshing}"
    committed = _committed_hooks_folder(setup.root, names)
    if committed is not None:
        return Wiring("hooks", "", optional=True, off=(
            f"core.hooksPath names {committed}, a folder of the repository with committed files: nbgit writes no hook there "
            "(committed, its hooks would carry this machine's paths to everyone); "
            "call `nbgit hook NAME` from the hooks there, as the hooks in nbgit's hooks/ folder do"
        ))
    return Wiring("hooks", summary, hooks=names, optional=True)

def _shared_hooks_folder(root: Path | None) -> gitrepo.ConfigValue | None:
    """core.hooksPath as git uses it here when it comes from the global or system config (a folder shared by
    every repository), else None."""
    if root is None:
        return None
    entries = gitrepo.config_entries(r"^core\.hookspath$", (), root)
    return entries[-1] if entries and entries[-1].scope not in ("local", "worktree", "command") else None


def _committed_hooks_folder(root: Path | None, names: tuple[str, ...]) -> str | None:
    """The hooks folder, relative to the work tree, when it lies in it (core.hooksPath), holds committed files
    and not already nbgit's hand-wired hooks under every one of `names` (those install leaves as they are)."""
    from nbgit.install.hooks import HAND_HOOK_MARKER, is_ours

    if root is None:
        return None
    hooks = gitrepo.git_dir_path("hooks", root).resolve()
    if not hooks.is_relative_to(root) or ".git" in hooks.relative_to(root).parts:
        return None
    if all(is_ours(hooks / name, HAND_HOOK_MARKER) for name in names):
        return None
    folder = hooks.relative_to(root).as_posix()
    return folder if gitrepo.tracked_files(f":(literal){folder}/", root) else None

JUPYTEXT_CONFIG = "jupytext.toml"


def jupytext_wiring(setup: Setup) -> Wiring:
    """jupytext's config matching the pairing policy, so JupyterLab keeps pairs in step on save."""
    if setup.global_:
        return Wiring("jupytext", "", optional=True, off="jupytext's config is per repository")
    try:
        from nbgit.pairing import jupytext_config_text
    except (ImportError, AttributeError):
        return Wiring("jupytext", "", optional=True, off="this nbgit has no pairing")
    text = jupytext_config_text(setup.policy)
    files = (ManagedFile(JUPYTEXT_CONFIG, f"{MANAGED_MARKER}\n{text}" if text else None),)
    if not text:
        return Wiring("jupytext", "", files=files, optional=True, off="pairing is off in the policy")
    return Wiring("jupytext", "JupyterLab with jupytext keeps notebooks and twins in step on save", files=files, optional=True)


CAPABILITIES: tuple[Callable[[Setup], Wiring], ...] = (
    filter_wiring,
    outputs_wiring,
    diff_wiring,
    merge_wiring,
    hosting_wiring,
    hooks_wiring,
    jupytext_wiring,
)


def wirings(setup: Setup) -> list[Wiring]:
    """The wiring of every capability for this setup."""
    return [capability(setup) for capability in CAPABILITIES]
