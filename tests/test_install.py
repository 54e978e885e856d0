"""`nbgit install` / `uninstall` / `status` / `renormalize` on real repositories, through the real CLI."""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import shlex
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import CORPUS, NBGIT, copy_in, git, nbgit, within

from nbgit import __version__
from nbgit.clean import clean_bytes
from nbgit.policy import Policy

HOOK_LOG = "hook.log"
CONFLICTED = CORPUS / "bad_inputs" / "derived" / "source-conflict.git-merge-file.ipynb"
OLD_HOOK = f"""#!/bin/sh
# someone's own pre-commit hook
echo "old hook ran with $# args, index ${{GIT_INDEX_FILE:+kept}}" >> "$(git rev-parse --show-toplevel)/{HOOK_LOG}"
test ! -e "$(git rev-parse --show-toplevel)/refuse"
"""


def dirty_notebooks(count: int) -> list[Path]:
    """Small real v4 notebooks from the corpus whose outputs the filter strips."""
    rows = csv.DictReader((CORPUS / "dev" / "MANIFEST.tsv").open(encoding="utf-8"), delimiter="\t")
    chosen = [
        CORPUS / "dev" / row["local_file"]
        for row in rows
        if row["nbformat"].startswith("4.") and int(row["size"]) < 40_000 and int(row["n_outputs"] or 0) > 0 and not row["validation_error"]
    ]
    chosen = [p for p in sorted(chosen) if clean_bytes(p.read_bytes(), str(p), Policy()) != p.read_bytes()]
    if len(chosen) < count:
        pytest.skip("the corpus of real notebooks is not available")
    return chosen[:count]


def ok(done: object, code: int = 0) -> str:
    """The output of a finished nbgit run, after checking its exit code."""
    out = done.stdout.decode() + done.stderr.decode()  # type: ignore[attr-defined]
    assert done.returncode == code, out  # type: ignore[attr-defined]
    return out


def snapshot(repo: Path) -> dict[str, bytes | None]:
    """The bytes of everything install may touch (None: absent), hooks by name with their mode."""
    files = {name: (repo / name).read_bytes() if (repo / name).exists() else None for name in (".git/config", ".gitattributes", ".git/info/attributes", "jupytext.toml")}
    for hook in sorted((repo / ".git" / "hooks").iterdir()):
        files[f"hook:{hook.name}"] = hook.read_bytes() + oct(hook.stat().st_mode).encode()
    return files


def status_clean(repo: Path) -> bool:
    return git(repo, "status", "--porcelain").stdout == b""


def committed(repo: Path, path: str) -> bytes:
    return git(repo, "cat-file", "blob", f"HEAD:{path}").stdout


def assert_nbgit_hook_refuses_conflicts(repo: Path) -> None:
    """nbgit's own pre-commit hook really runs: a notebook full of conflict markers is refused."""
    copy_in(CONFLICTED, repo, "conflicted.ipynb")
    git(repo, "add", "conflicted.ipynb")
    refused = git(repo, "commit", "-q", "-m", "conflicted", check=False)
    assert refused.returncode != 0 and b"conflicted.ipynb" in refused.stderr
    git(repo, "rm", "-q", "--cached", "conflicted.ipynb")
    (repo / "conflicted.ipynb").unlink()


@pytest.fixture
def lived_in(repo: Path) -> Path:
    """A repository with its owner's config, attributes and hooks already in place."""
    git(repo, "config", "alias.st", "status --short")
    git(repo, "config", "diff.nbgit.xfuncname", "^# cell")  # a user's own key inside nbgit's section
    git(repo, "config", "core.autocrlf", "false")
    (repo / ".gitattributes").write_bytes(b"*.png binary\r\n*.csv text eol=lf\r\n")  # CRLF, kept as such
    hook = repo / ".git" / "hooks" / "post-commit"
    hook.write_text("#!/bin/sh\ntrue\n")
    hook.chmod(0o755)
    return repo


def test_install_is_idempotent_and_uninstall_restores_every_byte(lived_in: Path) -> None:
    before = snapshot(lived_in)
    out = ok(nbgit(lived_in, "install"))
    assert "attributes: wrote nbgit's block in .gitattributes" in out
    config = git(lived_in, "config", "--list").stdout.decode()
    process = Path(git(lived_in, "config", "filter.nbgit.process").stdout.decode().strip())
    assert process.is_absolute() and process.name == "nbgit-filter-process" and " " not in str(process)
    assert "filter.nbgit.clean='" in config and config.count("filter.nbgit.clean") == 1
    assert "filter.nbgit.required" not in config and "filter.nbgit.smudge" not in config
    assert "diff.nbgit.textconv=NBGIT_VERSION=" in config and "diff.nbgit.cachetextconv=true" in config
    assert "merge.nbgit.driver='" in config and config.strip().count("%O %A %B %L %P") == 1
    assert "merge.nbgit.recursive=binary" in config
    assert "difftool.nbdime.cmd=" in config and "mergetool.nbdime.trustexitcode=false" in config
    attributes = (lived_in / ".gitattributes").read_bytes().decode()
    assert "[attr]nbgit filter=nbgit diff=nbgit merge=nbgit\n*.ipynb nbgit\n" in attributes
    assert attributes.endswith("# nbgit: end\n*.png binary\r\n*.csv text eol=lf\r\n")  # nbgit's block goes first: later lines win
    assert "linguist-generated" not in attributes  # no twins committed by default
    installed = snapshot(lived_in)
    assert installed[".git/config"].startswith(before[".git/config"])  # type: ignore[union-attr]
    assert installed["hook:post-commit"] == before["hook:post-commit"]
    assert installed["hook:pre-commit"] is not None

    ok(nbgit(lived_in, "install"))
    assert snapshot(lived_in) == installed  # twice is once

    out = ok(nbgit(lived_in, "status"))
    for capability in ("filter", "diff", "merge", "hooks", "attributes"):
        assert any(line.split()[:2] == [capability, "ok"] for line in out.splitlines()), out
    assert "active driver: nbgit's text rendering" in out and "git 2." in out

    ok(nbgit(lived_in, "uninstall"))
    assert snapshot(lived_in) == before
    out = ok(nbgit(lived_in, "status"), 1)
    assert "not wired: run `nbgit install`" in out


def test_filter_stores_notebooks_clean_and_keeps_working_copies(repo: Path) -> None:
    ok(nbgit(repo, "install", "--no-hooks"))
    sources = dirty_notebooks(3)
    for i, source in enumerate(sources):
        copy_in(source, repo, f"nb/{i}.ipynb")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "notebooks")
    for i, source in enumerate(sources):
        assert committed(repo, f"nb/{i}.ipynb") == clean_bytes(source.read_bytes(), source.name, Policy())
        assert (repo / f"nb/{i}.ipynb").read_bytes() == source.read_bytes()  # outputs stay in the work tree
    for i in range(3):
        os.utime(repo / f"nb/{i}.ipynb", (1, 1))
    assert status_clean(repo)
    assert not (repo / ".git" / "hooks" / "pre-commit").exists()  # --no-hooks


def test_existing_pre_commit_hook_is_chained_and_restored_byte_for_byte(repo: Path) -> None:
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text(OLD_HOOK)
    hook.chmod(0o750)
    original = hook.read_bytes(), stat.S_IMODE(hook.stat().st_mode)
    out = ok(nbgit(repo, "install"))
    assert "pre-commit.nbgit-chained" in out
    assert (hook.parent / "pre-commit.nbgit-chained").read_bytes() == original[0]
    assert "nbgit: hook written by `nbgit install`" in hook.read_text()

    copy_in(dirty_notebooks(1)[0], repo, "a.ipynb")
    git(repo, "add", "a.ipynb")
    git(repo, "commit", "-q", "-m", "both hooks run")
    assert (repo / HOOK_LOG).read_text() == "old hook ran with 0 args, index kept\n"
    assert_nbgit_hook_refuses_conflicts(repo)
    (repo / "refuse").write_text("")
    (repo / "a.txt").write_text("x")
    git(repo, "add", "a.txt")
    refused = git(repo, "commit", "-q", "-m", "the old hook's refusal still counts", check=False)
    assert refused.returncode != 0
    (repo / "refuse").unlink()

    ok(nbgit(repo, "install"))  # again: the chain is not doubled
    assert (hook.parent / "pre-commit.nbgit-chained").read_bytes() == original[0]
    ok(nbgit(repo, "uninstall"))
    assert (hook.read_bytes(), stat.S_IMODE(hook.stat().st_mode)) == original
    assert not (hook.parent / "pre-commit.nbgit-chained").exists()


def test_hooks_go_where_core_hooks_path_points(repo: Path) -> None:
    git(repo, "config", "core.hooksPath", ".githooks")
    ok(nbgit(repo, "install"))
    assert (repo / ".githooks" / "pre-commit").is_file()
    assert not (repo / ".git" / "hooks" / "pre-commit").exists()
    assert "hooks       ok" in ok(nbgit(repo, "status"))
    ok(nbgit(repo, "uninstall"))
    assert not (repo / ".githooks" / "pre-commit").exists()


def nbgit_within(seconds: float, repo: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    """The real CLI, which must finish within `seconds`: a hang fails the test, killing nbgit with every
    process it started (conftest's `within`)."""
    return within(seconds, repo, str(NBGIT), *args)


PLANTED = {"fifo": (os.mkfifo, "a FIFO (named pipe)"), "folder": (os.mkdir, "a folder")}


@pytest.mark.parametrize("planted", PLANTED)
def test_what_is_no_hook_file_at_a_hooks_path_is_refused_never_waited_on(repo: Path, planted: str) -> None:
    """A FIFO (which a clone cannot ship, but a local tool or a script can leave) or a folder where
    nbgit's pre-commit hook goes: install refuses before writing anything, naming it and the way out;
    status says so; neither, nor uninstall, opens it (a FIFO blocked them for good)."""
    make, kind = PLANTED[planted]
    hooks = repo / ".git" / "hooks"
    make(hooks / "pre-commit")
    said = ok(nbgit_within(60, repo, "install"), 2)
    assert said.splitlines() == [f"nbgit: error: {hooks / 'pre-commit'}: {kind}, not a hook script; left as it is",
                                 "hint: move it away (git cannot run it as a hook either), then run `nbgit install` again"]
    assert git(repo, "config", "--get", "filter.nbgit.process", check=False).returncode == 1
    assert not (repo / ".gitattributes").exists() and not (hooks / "pre-commit.nbgit-chained").exists()
    assert f"{hooks / 'pre-commit'} is {kind}, not a hook script: move it away" in ok(nbgit_within(60, repo, "status"), 1)
    assert ok(nbgit_within(60, repo, "uninstall")) == "nbgit: nothing to remove (nbgit was not installed here)\n"
    (hooks / "pre-commit").rename(repo.parent / "moved-away")
    ok(nbgit_within(60, repo, "install"))
    make(hooks / "commit-msg")  # beside nbgit's own hooks: left alone
    assert "hooks       ok" in ok(nbgit_within(60, repo, "status"))
    assert "pre-commit: removed" in ok(nbgit_within(60, repo, "uninstall"))
    assert not (hooks / "pre-commit").exists() and (hooks / "commit-msg").exists() and not (hooks / "commit-msg").is_file()


def test_hand_wired_hooks_folder_is_recognised(repo: Path) -> None:
    hand = repo / "hooks"
    hand.mkdir()
    shipped = Path(__file__).resolve().parents[1] / "hooks" / "pre-commit"
    (hand / "pre-commit").write_bytes(shipped.read_bytes())
    (hand / "pre-commit").chmod(0o755)
    git(repo, "config", "core.hooksPath", "hooks")
    assert "kept nbgit's hand-wired hook" in ok(nbgit(repo, "install"))
    assert (hand / "pre-commit").read_bytes() == shipped.read_bytes() and not (hand / "pre-commit.nbgit-chained").exists()
    assert "hooks       ok" in ok(nbgit(repo, "status"))
    assert_nbgit_hook_refuses_conflicts(repo)


def test_install_from_a_linked_worktree(repo: Path, tmp_path: Path) -> None:
    worktree = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", "-b", "side", str(worktree))
    ok(nbgit(worktree, "install"))
    assert (repo / ".git" / "hooks" / "pre-commit").is_file()  # hooks are shared by all worktrees
    assert (worktree / ".gitattributes").is_file() and not (repo / ".gitattributes").exists()
    source = dirty_notebooks(1)[0]
    copy_in(source, worktree, "w.ipynb")
    git(worktree, "add", "w.ipynb", ".gitattributes")
    git(worktree, "commit", "-q", "-m", "from the worktree")
    assert committed(worktree, "w.ipynb") == clean_bytes(source.read_bytes(), source.name, Policy())
    assert "nbgit: ok" in ok(nbgit(worktree, "status"))
    ok(nbgit(worktree, "uninstall"))
    assert "filter" not in git(repo, "config", "--list").stdout.decode()


def test_global_install_wires_every_repository_and_uninstalls_cleanly(tmp_path: Path) -> None:
    home = Path(os.environ["HOME"])
    (home / ".gitconfig").write_text("[user]\n\tname = Someone\n")
    before = (home / ".gitconfig").read_bytes()
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    ok(nbgit(outside, "install", "--global"))
    assert "filter.nbgit.process" in git(outside, "config", "--global", "--list", "--name-only").stdout.decode()
    attributes = home / ".config" / "git" / "attributes"
    assert "*.ipynb nbgit" in attributes.read_text()

    fresh = tmp_path / "fresh"
    fresh.mkdir()
    git(fresh, "init", "-q", "-b", "main")
    source = dirty_notebooks(1)[0]
    copy_in(source, fresh, "g.ipynb")
    git(fresh, "add", "g.ipynb")
    git(fresh, "commit", "-q", "-m", "global filter")
    assert committed(fresh, "g.ipynb") == clean_bytes(source.read_bytes(), source.name, Policy())
    assert not (fresh / ".gitattributes").exists()

    ok(nbgit(outside, "uninstall", "--global"))
    assert (home / ".gitconfig").read_bytes() == before
    assert not attributes.exists()


@pytest.mark.parametrize("xdg", [True, False], ids=["XDG_CONFIG_HOME", "HOME"])
@pytest.mark.parametrize("before", ["absent", "there", "filled later"])
def test_global_uninstall_removes_the_folders_install_created_once_empty(monkeypatch: pytest.MonkeyPatch, xdg: bool, before: str) -> None:
    """`install --global` creates the folders of the attribute file git reads by default
    ($XDG_CONFIG_HOME/git, else ~/.config/git) when they are absent; uninstall removes those once
    they are empty, and never a folder that was there before or that holds something of yours."""
    home = Path(os.environ["HOME"])
    if not xdg:
        monkeypatch.delenv("XDG_CONFIG_HOME")
    config = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
    if before == "there":
        (config / "git").mkdir(parents=True)
    ok(nbgit(home, "install", "--global"))
    assert "*.ipynb nbgit" in (config / "git" / "attributes").read_text()
    if before == "filled later":
        (config / "git" / "ignore").write_text(".ipynb_checkpoints/\n")
    out = ok(nbgit(home, "uninstall", "--global"))
    left = {"absent": [], "there": [config, config / "git"], "filled later": [config, config / "git", config / "git" / "ignore"]}[before]
    assert sorted(home.rglob("*")) == sorted(left)  # ~/.gitconfig, which install created, went too
    if before == "absent":
        assert f"removed the folder {config / 'git'} (install created it; it is empty now)" in out and f"removed the folder {config} " in out
    else:
        assert "removed the folder" not in out


def test_uninstall_removes_the_hooks_folder_install_created(repo: Path) -> None:
    """core.hooksPath names a folder that does not exist: install creates it for its hooks, uninstall removes it again."""
    git(repo, "config", "core.hooksPath", ".githooks")
    ok(nbgit(repo, "install"))
    assert (repo / ".githooks" / "pre-commit").is_file()
    ok(nbgit(repo, "uninstall"))
    assert not (repo / ".githooks").exists() and "nbgit" not in git(repo, "config", "--list").stdout.decode()


def write_peers(repo: Path) -> None:
    """nbstripout's wiring as `nbstripout --install` writes it (info/attributes), and nbdime's in .gitattributes."""
    git(repo, "config", "filter.nbstripout.clean", "python -m nbstripout")
    git(repo, "config", "filter.nbstripout.smudge", "cat")
    git(repo, "config", "diff.ipynb.textconv", "python -m nbstripout -t")
    git(repo, "config", "diff.jupyternotebook.command", "git-nbdiffdriver diff")
    info = repo / ".git" / "info" / "attributes"
    info.parent.mkdir(exist_ok=True)
    info.write_text("*.ipynb filter=nbstripout\n*.zpln filter=nbstripout\n*.ipynb diff=ipynb\n")
    (repo / ".gitattributes").write_text("*.csv text\n*.ipynb diff=jupyternotebook linguist-language=JSON\n")


def test_a_clash_counts_the_notebooks_of_the_repository(repo: Path) -> None:
    """Three tracked notebooks under nbstripout's filter are three paths, not four (nbgit's probe path is no notebook)."""
    for name in ("eda", "model", "report"):
        (repo / f"{name}.ipynb").write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}\n')
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "three notebooks")
    write_peers(repo)
    out = ok(nbgit(repo, "install"), 1)
    assert "makes git run nbstripout on 3 notebook path(s)" in out
    assert "filter      broken   3 notebook path(s) get filter=nbstripout instead of nbgit (e.g. eda.ipynb)" in ok(nbgit(repo, "status"), 1)


def test_peers_are_explained_and_replaced(repo: Path) -> None:
    write_peers(repo)
    out = ok(nbgit(repo, "install"), 1)
    assert "nbstripout" in out and ".git/info/attributes overrides .gitattributes" in out
    out = ok(nbgit(repo, "status"), 1)
    assert "peers       broken" in out and "filter      broken" in out and "--replace-peers" in out

    out = ok(nbgit(repo, "install", "--replace-peers"))
    assert "removed nbstripout's [filter.nbstripout]" in out and "removed nbdime's `diff=jupyternotebook`" in out
    config = git(repo, "config", "--list").stdout.decode()
    assert "nbstripout" not in config and "jupyternotebook" not in config
    assert (repo / ".git" / "info" / "attributes").read_text() == ""
    assert (repo / ".gitattributes").read_text().endswith("# nbgit: end\n*.csv text\n*.ipynb linguist-language=JSON\n")
    attrs = git(repo, "check-attr", "filter", "diff", "merge", "--", "x.ipynb").stdout.decode()
    assert attrs.count(": nbgit") == 3
    assert "nbgit: ok" in ok(nbgit(repo, "status"))


def test_status_exits_1_when_a_wired_program_is_gone(repo: Path, tmp_path: Path) -> None:
    ok(nbgit(repo, "install"))
    git(repo, "config", "filter.nbgit.process", str(tmp_path / "gone" / "nbgit-filter-process"))
    out = ok(nbgit(repo, "status"), 1)
    assert "filter      broken" in out and "no longer exists" in out
    orphan = tmp_path / "nbgit"
    orphan.write_text(f"#!{tmp_path / 'deleted-venv' / 'python'}\nprint('hi')\n")
    orphan.chmod(0o755)
    ok(nbgit(repo, "install"))
    git(repo, "config", "merge.nbgit.driver", f"'{orphan}' merge-driver %O %A %B %L %P")
    out = ok(nbgit(repo, "status"), 1)
    assert "merge       broken" in out and "the interpreter of" in out
    ok(nbgit(repo, "install"))
    assert "nbgit: ok" in ok(nbgit(repo, "status"))
    with (repo / ".gitattributes").open("a") as attributes:
        attributes.write("*.ipynb -diff\n")  # a later line silently switches nbgit's diff off
    out = ok(nbgit(repo, "status"), 1)
    assert "diff        broken" in out and "diff=unset instead of nbgit" in out


def test_a_renamed_merge_driver_is_not_a_program_status_calls_gone(repo: Path) -> None:
    """Only the keys git runs as commands are checked as programs: a merge driver's name of your own
    (`merge.nbgit.name`) is not nbgit's (install rewires it), not a program that is not on PATH."""
    ok(nbgit(repo, "install"))
    git(repo, "config", "merge.nbgit.name", "My merge")
    out = ok(nbgit(repo, "status"))
    assert "merge.nbgit.name = My merge (local) is not this nbgit's" in out and "not on PATH" not in out and "broken" not in out


def test_status_calls_filter_and_outputs_broken_when_the_filter_program_cannot_start(repo: Path, tmp_path: Path) -> None:
    """The program `filter.nbgit.process` names is gone (the virtualenv nbgit was installed from was
    deleted), not on PATH, or not executable: git stores notebooks as they are, outputs and all, so
    status calls the filter and the outputs broken (never "kept"), says what git does, names the way
    out and exits 1; with `filter.nbgit.required` every git add fails, and status says so."""
    ok(nbgit(repo, "install"))
    gone = tmp_path / "deleted-venv" / "bin" / "nbgit-filter-process"
    git(repo, "config", "filter.nbgit.process", str(gone))
    ran = code_notebook("x = 1")
    ran["cells"][0]["outputs"] = [{"name": "stdout", "output_type": "stream", "text": "ran\n"}]  # type: ignore[index]
    raw = json.dumps(ran).encode()
    (repo / "ran.ipynb").write_bytes(raw)
    added = git(repo, "add", "ran.ipynb")  # what the status line says git does: one error, the notebook stored as it is
    assert b"cannot run" in added.stderr and git(repo, "cat-file", "blob", ":ran.ipynb").stdout == raw
    way_out = "fix: re-run `nbgit install` from an environment where nbgit is installed"
    stored_raw = "git prints an error for each notebook and stores it as it is, outputs and all; checkouts put no outputs back"
    out = ok(nbgit(repo, "status"), 1)
    assert f"filter      broken   filter.nbgit.process runs {gone}, which no longer exists: {stored_raw}; {way_out}\n" in out, out
    assert "outputs     broken   no outputs are kept or put back while the filter cannot start (see filter)\n" in out, out

    git(repo, "config", "filter.nbgit.process", "nbgit-filter-process")  # a bare name, where PATH lacks nbgit's folder
    bare_path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if Path(p) != NBGIT.parent)
    out = ok(nbgit(repo, "status", env={**os.environ, "PATH": bare_path}), 1)
    assert "filter      broken   filter.nbgit.process runs nbgit-filter-process, which is not on PATH: git prints" in out, out
    assert "outputs     broken" in out

    copy = tmp_path / "nbgit-filter-process"
    copy.write_bytes(NBGIT.with_name("nbgit-filter-process").read_bytes())  # mode 644: there, but git cannot start it
    git(repo, "config", "filter.nbgit.process", str(copy))
    git(repo, "config", "filter.nbgit.required", "true")
    assert git(repo, "add", "--renormalize", "ran.ipynb", check=False).returncode != 0
    out = ok(nbgit(repo, "status"), 1)
    fails = "with filter.nbgit.required set, every git command that reads or writes a notebook fails"
    assert f"filter      broken   filter.nbgit.process runs {copy}, which is not executable: {fails}" in out and way_out in out, out
    assert "outputs     broken" in out and "outputs     ok" not in out

    git(repo, "config", "--unset", "filter.nbgit.required")
    ok(nbgit(repo, "install"))
    assert "nbgit: ok" in ok(nbgit(repo, "status"))


def test_status_outputs_are_missing_where_no_filter_is_wired(repo: Path) -> None:
    """Without nbgit's filter nothing keeps outputs: status does not call them kept."""
    out = ok(nbgit(repo, "status"), 1)
    assert "filter      missing" in out and "outputs     missing  no outputs are kept or put back while the filter is not wired (see filter)" in out, out


def code_notebook(source: str) -> dict[str, object]:
    cell = {"cell_type": "code", "execution_count": 1, "id": "a", "metadata": {}, "outputs": [], "source": source}
    return {"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def installed_interpreter() -> str:
    """The interpreter of the `nbgit` console script: the one `nbgit install` runs in."""
    return NBGIT.read_text().splitlines()[0][2:].split()[0]


def textconv_entry() -> str:
    spec = importlib.util.find_spec("nbgit_textconv")
    assert spec is not None and spec.origin is not None
    return spec.origin


def committed_twice(repo: Path) -> None:
    """a.ipynb committed with `x = 1`, then `x = 2` (outputs and counts as a run leaves them), then `x = 3` in the work tree."""
    for number in (1, 2):
        notebook = code_notebook(f"x = {number}")
        notebook["cells"][0]["outputs"] = [{"name": "stdout", "output_type": "stream", "text": [f"{number}\n"]}]  # type: ignore[index]
        (repo / "a.ipynb").write_text(json.dumps(notebook))
        git(repo, "add", "a.ipynb")
        git(repo, "commit", "-q", "-m", f"x = {number}")
    (repo / "a.ipynb").write_text(json.dumps(code_notebook("x = 3")))


def test_textconv_runs_without_site_and_git_caches_it_per_nbgit_version(repo: Path) -> None:
    """install wires nbgit_textconv.py run by nbgit's interpreter with -S (no site: a fifth of each
    process's start-up) and the version in the command: `git log -p` and `git diff` read notebooks
    through it, git's textconv cache is kept under that command, and a command with another version
    (what install writes after an upgrade) empties it."""
    ok(nbgit(repo, "install", "--no-hooks"))
    wired = git(repo, "config", "diff.nbgit.textconv").stdout.decode().strip()
    assert shlex.split(wired) == [f"NBGIT_VERSION={__version__}", "exec", installed_interpreter(), "-S", textconv_entry(), "--"]
    committed_twice(repo)
    log = git(repo, "log", "-p", "-1").stdout.decode()
    assert "-x = 1\n+x = 2\n" in log and "[code a] In" not in log and '"outputs"' not in log  # rendered, outputs gone
    assert "-x = 2\n+x = 3\n" in git(repo, "diff").stdout.decode()
    cache = "refs/notes/textconv/nbgit"
    filled = git(repo, "rev-parse", cache).stdout.strip()
    assert git(repo, "log", "-1", "--format=%B", cache).stdout.decode().strip() == wired  # git's cache, valid for this command
    git(repo, "log", "-p", "-1")
    assert git(repo, "rev-parse", cache).stdout.strip() == filled  # answered from the cache: nothing added
    upgraded = wired.replace(f"NBGIT_VERSION={__version__} ", "NBGIT_VERSION=999.0 ", 1)
    git(repo, "config", "diff.nbgit.textconv", upgraded)
    assert "-x = 1\n+x = 2\n" in git(repo, "log", "-p", "-1").stdout.decode()
    assert git(repo, "log", "-1", "--format=%B", cache).stdout.decode().strip() == upgraded  # dropped, filled again
    assert git(repo, "rev-list", "--count", cache).stdout.strip() == b"1"  # a new cache, not the old one added to


@pytest.mark.parametrize("older", ["'{nbgit}' textconv --", "'{script}' --"])
def test_textconv_wired_by_an_older_install_keeps_working_until_install_upgrades_it(repo: Path, older: str) -> None:
    """Installs before nbgit_textconv wired `nbgit textconv --`, then `nbgit-textconv --`: git diff still
    reads notebooks through them, status calls them an older nbgit's wiring, and `nbgit install` wires
    the quicker program."""
    ok(nbgit(repo, "install"))
    wired = git(repo, "config", "diff.nbgit.textconv").stdout.decode().strip()
    older = f"NBGIT_VERSION={__version__} " + older.format(nbgit=NBGIT, script=NBGIT.with_name("nbgit-textconv"))
    git(repo, "config", "diff.nbgit.textconv", older)
    (repo / "a.ipynb").write_text(json.dumps(code_notebook("x = 1")))
    git(repo, "add", "a.ipynb")
    git(repo, "commit", "-q", "-m", "a")
    (repo / "a.ipynb").write_text(json.dumps(code_notebook("x = 2")))
    assert "-x = 1\n+x = 2\n" in git(repo, "diff").stdout.decode()
    out = ok(nbgit(repo, "status"))  # stale wiring works: exit 0
    assert "diff        stale" in out and "was written by an older nbgit: `nbgit install` upgrades it" in out, out
    ok(nbgit(repo, "install"))
    assert git(repo, "config", "diff.nbgit.textconv").stdout.decode().strip() == wired
    assert "diff        ok" in ok(nbgit(repo, "status"))
    assert "-x = 1\n+x = 2\n" in git(repo, "diff").stdout.decode()


def test_status_says_when_the_file_textconv_runs_is_gone(repo: Path, tmp_path: Path) -> None:
    """The interpreter is there but nbgit_textconv.py is not (nbgit moved): git diff would fail, status says so."""
    ok(nbgit(repo, "install"))
    wired = git(repo, "config", "diff.nbgit.textconv").stdout.decode().strip()
    gone = tmp_path / "gone" / "nbgit_textconv.py"
    git(repo, "config", "diff.nbgit.textconv", wired.replace(shlex.quote(textconv_entry()), shlex.quote(str(gone))))
    out = ok(nbgit(repo, "status"), 1)
    assert "diff        broken" in out and f"runs {gone} (the file {installed_interpreter()} runs), which no longer exists" in out, out


def test_global_install_with_an_attributes_file_points_git_at_it(tmp_path: Path) -> None:
    attributes = tmp_path / "my-attributes"
    ok(nbgit(tmp_path, "install", "--global", "--attributes", str(attributes)))
    assert git(tmp_path, "config", "--global", "core.attributesFile").stdout.decode().strip() == str(attributes)
    assert "*.ipynb nbgit" in attributes.read_text()
    ok(nbgit(tmp_path, "uninstall", "--global", "--attributes", str(attributes)))
    assert git(tmp_path, "config", "--global", "core.attributesFile", check=False).returncode == 1
    assert not attributes.exists() and not (Path(os.environ["HOME"]) / ".gitconfig").exists()


def test_renormalize_cleans_notebooks_committed_before_nbgit(repo: Path) -> None:
    sources = dirty_notebooks(3)
    for i, source in enumerate(sources):
        copy_in(source, repo, f"old/{i}.ipynb")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "dirty history")
    ok(nbgit(repo, "renormalize"), 2)  # nothing wired yet: an error with the way out
    ok(nbgit(repo, "install", "--no-hooks"))
    assert not status_clean(repo)  # every dirty notebook now shows as modified
    edited = repo / "old" / "0.ipynb"
    edited.write_bytes(edited.read_bytes().replace(b'"cell_type": "code"', b'"cell_type": "raw"', 1))  # a real edit, not staged
    out = ok(nbgit(repo, "renormalize"))
    assert out.count("renormalized old/") == 3 and "git commit" in out
    git(repo, "add", ".gitattributes")
    git(repo, "commit", "-q", "-m", "store clean")
    assert git(repo, "status", "--porcelain").stdout == b" M old/0.ipynb\n"  # the edit is still there, unstaged
    for i, source in enumerate(sources):
        assert committed(repo, f"old/{i}.ipynb") == clean_bytes(source.read_bytes(), source.name, Policy())
        os.utime(repo / f"old/{i}.ipynb", (2, 2))
    git(repo, "checkout", "--", "old/0.ipynb")
    assert status_clean(repo)
    assert "already stored clean" in ok(nbgit(repo, "renormalize"))


def next_line(out: str) -> str | None:
    """The command line install's `next:` says to run, None when it says nothing more is needed."""
    steps = [line.removeprefix("next: ") for line in out.splitlines() if line.startswith("next: ")]
    assert len(steps) <= 1, out
    return steps[0] if steps else None


def test_install_says_what_is_left_to_commit_and_then_nothing(repo: Path) -> None:
    """The `next:` line names renormalize only when committed notebooks are not stored clean; run, it leaves
    nothing to do, and install run again says nothing more."""
    (repo / "clean.ipynb").write_bytes(clean_bytes(dirty_notebooks(1)[0].read_bytes(), "x", Policy()))
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "a clean notebook")
    assert next_line(ok(nbgit(repo, "install"))) == "git add .gitattributes && git commit -m 'Store notebooks clean with nbgit'"
    subprocess.run(["bash", "-c", next_line(ok(nbgit(repo, "install"))) or "false"], cwd=repo, check=True, capture_output=True)
    assert next_line(ok(nbgit(repo, "install"))) is None
    copy_in(dirty_notebooks(1)[0], repo, "dirty.ipynb")  # committed by a teammate without nbgit: stored with outputs
    blob = git(repo, "hash-object", "-w", "--no-filters", "dirty.ipynb").stdout.decode().strip()
    git(repo, "update-index", "--add", "--cacheinfo", f"100644,{blob},dirty.ipynb")
    git(repo, "commit", "-q", "-m", "a notebook committed with outputs")
    (repo / ".nbgit.toml").write_text('[pair]\nenabled = true\ninclude = ["paired/**"]\n')  # jupytext.toml to share too
    step = next_line(ok(nbgit(repo, "install")))
    assert step == "nbgit renormalize && git add .gitattributes .nbgit.toml jupytext.toml && git commit -m 'Store notebooks clean with nbgit'"
    subprocess.run(["bash", "-c", step], cwd=repo, check=True, capture_output=True)
    assert status_clean(repo)
    assert next_line(ok(nbgit(repo, "install"))) is None


def test_install_names_nbgit_by_its_path_when_it_is_not_on_path(repo: Path) -> None:
    """nbgit installed in its own environment and run by its path: the `next:` line works as printed."""
    copy_in(dirty_notebooks(1)[0], repo, "dirty.ipynb")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "a notebook with outputs")
    env = {**os.environ, "PATH": os.defpath}
    done = subprocess.run([str(NBGIT), "install"], cwd=repo, capture_output=True, env=env)
    step = next_line(ok(done))
    assert step == f"'{NBGIT}' renormalize && git add .gitattributes && git commit -m 'Store notebooks clean with nbgit'"
    subprocess.run(["bash", "-c", step], cwd=repo, check=True, capture_output=True, env=env)
    assert status_clean(repo)
    assert committed(repo, "dirty.ipynb") == clean_bytes(dirty_notebooks(1)[0].read_bytes(), "x", Policy())


def test_nbdime_diff_is_sticky_until_text_is_asked_for(repo: Path) -> None:
    ok(nbgit(repo, "install", "--diff", "nbdime", "--no-hooks"))
    assert git(repo, "config", "diff.nbgit.command").stdout.decode().strip().endswith("diff-driver --")
    assert "active driver: nbdime" in ok(nbgit(repo, "status"))
    ok(nbgit(repo, "install", "--no-hooks"))
    assert git(repo, "config", "diff.nbgit.command", check=False).returncode == 0
    ok(nbgit(repo, "install", "--diff", "text", "--no-hooks"))
    assert git(repo, "config", "diff.nbgit.command", check=False).returncode == 1
    assert "active driver: nbgit's text rendering" in ok(nbgit(repo, "status"))


def test_paired_repositories_get_hosting_attributes_and_jupytext_config(repo: Path) -> None:
    (repo / ".nbgit.toml").write_text('[pair]\nenabled = true\ninclude = ["paired/**"]\n')  # jupytext.toml to share too
    (repo / "sub").mkdir()
    ok(nbgit(repo, "install", "--no-hooks"))
    assert "*.ipynb linguist-generated gitlab-generated\n" in (repo / ".gitattributes").read_text()
    config = (repo / "jupytext.toml").read_text()
    assert config.startswith("# nbgit: managed") and "formats" in config
    ok(nbgit(repo, "uninstall"))
    assert not (repo / "jupytext.toml").exists() and not (repo / ".gitattributes").exists()
    (repo / "jupytext.toml").write_text('formats = "ipynb,md"\n')
    assert "kept your own jupytext.toml" in ok(nbgit(repo, "install", "--no-hooks"))
    ok(nbgit(repo, "uninstall"))
    assert (repo / "jupytext.toml").read_text() == 'formats = "ipynb,md"\n'


def test_status_says_hosting_is_missing_when_pairing_was_turned_on_after_install(repo: Path) -> None:
    """README: status prints `missing` for a capability not wired; the hosting attributes are only written by install."""
    ok(nbgit(repo, "install", "--no-hooks"))
    (repo / ".nbgit.toml").write_text("[pair]\nenabled = true\n")
    status = ok(nbgit(repo, "status"))  # hosting is optional: exit 0
    assert "hosting     missing  no attribute gives notebooks linguist-generated gitlab-generated" in status
    ok(nbgit(repo, "install", "--no-hooks"))
    assert "hosting     ok" in ok(nbgit(repo, "status"))


def test_attribute_file_choices(repo: Path) -> None:
    (repo / "notebooks").mkdir()
    ok(nbgit(repo, "install", "--no-hooks", "--attributes", "notebooks/.gitattributes"))
    nested = (repo / "notebooks" / ".gitattributes").read_text()
    assert "[attr]" not in nested and "*.ipynb filter=nbgit diff=nbgit merge=nbgit\n" in nested  # no macros in nested files
    assert "attributes  ok" in ok(nbgit(repo, "status"))
    ok(nbgit(repo, "uninstall", "--attributes", "notebooks/.gitattributes"))
    assert not (repo / "notebooks" / ".gitattributes").exists()
    out = ok(nbgit(repo, "install", "--attributes", "notes.txt"), 2)
    assert "git does not read attributes from this file" in out and "hint:" in out


FRAMEWORK_CONFIG = """repos:
- repo: local
  hooks:
  - id: log
    name: log
    entry: sh -c 'echo framework ran >> hook.log'
    language: system
    pass_filenames: false
    always_run: true
"""
PRE_COMMIT = Path(os.sys.executable).with_name("pre-commit")


@pytest.mark.parametrize("framework_first", [True, False], ids=["framework-then-nbgit", "nbgit-then-framework"])
def test_pre_commit_framework_hook_and_nbgit_hook_both_run(repo: Path, framework_first: bool) -> None:
    (repo / ".pre-commit-config.yaml").write_text(FRAMEWORK_CONFIG)
    (repo / ".gitignore").write_text(f"{HOOK_LOG}\n")
    hooks = repo / ".git" / "hooks"

    def framework_install() -> None:
        done = os.system(f"cd '{repo}' && '{PRE_COMMIT}' install >/dev/null")
        assert done == 0

    if framework_first:
        framework_install()
        framework_hook = (hooks / "pre-commit").read_bytes()
        ok(nbgit(repo, "install"))
        assert (hooks / "pre-commit.nbgit-chained").read_bytes() == framework_hook
    else:
        ok(nbgit(repo, "install"))
        framework_install()  # the framework keeps nbgit's hook as pre-commit.legacy and runs it
        assert "nbgit: hook written" in (hooks / "pre-commit.legacy").read_text()
        assert "pre-commit framework" in ok(nbgit(repo, "install"))  # not wired twice
    assert "hooks       ok" in ok(nbgit(repo, "status"))

    copy_in(dirty_notebooks(1)[0], repo, "a.ipynb")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "framework and nbgit")
    assert (repo / HOOK_LOG).read_text() == "framework ran\n"
    assert committed(repo, "a.ipynb") == clean_bytes((repo / "a.ipynb").read_bytes(), "a.ipynb", Policy())
    assert_nbgit_hook_refuses_conflicts(repo)

    ok(nbgit(repo, "uninstall"))
    if framework_first:
        assert (hooks / "pre-commit").read_bytes() == framework_hook
    else:
        assert not (hooks / "pre-commit.legacy").exists() and "pre-commit" in (hooks / "pre-commit").read_text()


def test_renormalize_run_on_its_own_names_the_shared_files_left_to_commit(repo: Path) -> None:
    """Run by itself from a subfolder after install, renormalize's `next:` line also adds the `.gitattributes`
    install wrote (a commit without it leaves teammates' clones unwired); run there, it leaves nothing to do."""
    (repo / "sub").mkdir()
    copy_in(dirty_notebooks(1)[0], repo, "sub/dirty.ipynb")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "a notebook with outputs, before nbgit")
    ok(nbgit(repo, "install"))
    step = next_line(ok(nbgit(repo / "sub", "renormalize")))
    assert step == "git add ../.gitattributes && git commit -m 'Store notebooks clean (nbgit renormalize)'"
    subprocess.run(["bash", "-c", step], cwd=repo / "sub", check=True, capture_output=True)
    assert status_clean(repo)
    assert git(repo, "ls-files", ".gitattributes").stdout == b".gitattributes\n"
    out = ok(nbgit(repo / "sub", "renormalize"))
    assert "already stored clean" in out and next_line(out) is None


HUSKY_RUNNER = """#!/usr/bin/env sh
n=$(basename "$0")
s=$(dirname "$(dirname "$0")")/$n
[ ! -f "$s" ] && exit 0
sh -e "$s" "$@"
c=$?
[ $c != 0 ] && echo "husky - $n script failed (code $c)"
exit $c
"""
DISPATCHER = '#!/bin/sh\ncase "$(basename "$0")" in pre-commit) echo "your pre-commit ran" >&2; exit 4 ;; esac\n'


def husky(repo: Path) -> Path:
    """husky 9's layout: core.hooksPath .husky/_, whose pre-commit sources `h`, which runs .husky/<basename of $0>."""
    managed = repo / ".husky" / "_"
    managed.mkdir(parents=True)
    (managed / "h").write_text(HUSKY_RUNNER)
    (managed / "pre-commit").write_text('#!/usr/bin/env sh\n. "$(dirname "$0")/h"\n')
    (managed / "pre-commit").chmod(0o755)
    (repo / ".husky" / "pre-commit").write_text('echo "your pre-commit ran" >&2\nexit 1\n')
    git(repo, "config", "core.hooksPath", ".husky/_")
    return managed / "pre-commit"


def dispatcher(repo: Path) -> Path:
    """One script for every hook, linked in under each hook's name, telling them apart by `$0`."""
    (repo / "tools").mkdir()
    (repo / "tools" / "dispatch").write_text(DISPATCHER)
    (repo / "tools" / "dispatch").chmod(0o755)
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.symlink_to("../../tools/dispatch")
    return hook


@pytest.mark.parametrize("manager", [husky, dispatcher], ids=["husky", "symlinked-dispatcher"])
def test_a_hook_that_finds_its_work_through_its_own_name_still_runs_once_chained(repo: Path, manager: Callable[[Path], Path]) -> None:
    """husky's hooks and hook dispatchers find what to run through `$0` (its name, its folder): chained
    under another name they ran nothing and let every commit through. Chained, they still refuse the
    commit their hook refuses; uninstall puts them back as they were (a link stays that link)."""
    hook = manager(repo)
    before = os.readlink(hook) if hook.is_symlink() else hook.read_bytes()
    assert b"your pre-commit ran" in git(repo, "commit", "--allow-empty", "-qm", "x", check=False).stderr
    ok(nbgit(repo, "install"))
    refused = git(repo, "commit", "--allow-empty", "-qm", "x", check=False)
    assert refused.returncode != 0 and b"your pre-commit ran" in refused.stderr, refused.stderr.decode()
    ok(nbgit(repo, "uninstall"))
    assert (os.readlink(hook) if hook.is_symlink() else hook.read_bytes()) == before


def test_a_hook_its_manager_writes_again_over_nbgits_is_taken_for_the_one_chained(repo: Path) -> None:
    """husky writes its hooks again on every `npm install`, over nbgit's: `nbgit install` then saw a hook that
    was not its own beside the one it chains and refused. The same bytes as the chained hook are that hook:
    install puts its own back and the chain runs as before."""
    hook = husky(repo)
    husky_hook = hook.read_bytes()
    ok(nbgit(repo, "install"))
    hook.write_bytes(husky_hook)  # npm install
    assert "hooks       missing" in ok(nbgit(repo, "status"))
    assert "already kept as pre-commit.nbgit-chained" in ok(nbgit(repo, "install"))
    assert "hooks       ok" in ok(nbgit(repo, "status"))
    refused = git(repo, "commit", "--allow-empty", "-qm", "x", check=False)
    assert refused.returncode != 0 and b"your pre-commit ran" in refused.stderr, refused.stderr.decode()
    assert_nbgit_hook_refuses_conflicts(repo)
    ok(nbgit(repo, "uninstall"))
    assert hook.read_bytes() == husky_hook and not hook.with_name("pre-commit.nbgit-chained").exists()


def test_a_block_whose_end_line_was_edited_never_takes_your_lines_with_it(repo: Path) -> None:
    """nbgit's end line edited (trailing blanks): uninstall takes out nbgit's block and keeps the lines after it.
    Deleted (an edit, a merge): install and uninstall stop before writing anything, naming the file and the
    way out; they took every line after the begin line with them."""
    (repo / ".gitattributes").write_text("*.png binary\n")
    ok(nbgit(repo, "install"))
    attributes = repo / ".gitattributes"
    attributes.write_text(attributes.read_text().replace("# nbgit: end\n", "# nbgit: end  \n") + "*.csv text\n")
    ok(nbgit(repo, "uninstall"))
    assert attributes.read_text() == "*.png binary\n*.csv text\n"
    ok(nbgit(repo, "install"))
    attributes.write_text(attributes.read_text().replace("# nbgit: end\n", "") + "*.R text\n")
    before = attributes.read_bytes(), (repo / ".git" / "config").read_bytes(), sorted(p.name for p in (repo / ".git" / "hooks").iterdir())
    for command in ("uninstall", "install"):
        said = ok(nbgit(repo, command), 2)
        assert said.startswith(f"nbgit: error: {attributes}: nbgit's block has no `# nbgit: end` line"), said
        assert "hint: put `# nbgit: end` back after nbgit's lines" in said
        assert (attributes.read_bytes(), (repo / ".git" / "config").read_bytes(), sorted(p.name for p in (repo / ".git" / "hooks").iterdir())) == before


def test_a_byte_order_mark_stays_first_so_your_first_line_still_counts(repo: Path) -> None:
    """git skips a UTF-8 byte order mark only at the start of an attribute file: nbgit's block written before
    it turned your first line into a pattern that matched nothing while nbgit was installed."""
    attributes = repo / ".gitattributes"
    attributes.write_bytes(b"\xef\xbb\xbf*.png binary\r\n")
    ok(nbgit(repo, "install"))
    assert git(repo, "check-attr", "binary", "--", "x.png").stdout == b"x.png: binary: set\n"
    assert git(repo, "check-attr", "filter", "--", "x.ipynb").stdout == b"x.ipynb: filter: nbgit\n"
    ok(nbgit(repo, "install"))
    assert attributes.read_bytes().count(b"# nbgit: begin") == 1
    ok(nbgit(repo, "uninstall"))
    assert attributes.read_bytes() == b"\xef\xbb\xbf*.png binary\r\n"


def test_a_hooks_folder_install_cannot_write_stops_it_before_anything_is_written(repo: Path, read_only: Callable[[Path], None]) -> None:
    """A read-only hooks folder ended install with an internal error after it had written the config and the
    attribute block. It is now one error naming the folder and the way out (`--no-hooks`), with nothing
    written; hooks nbgit installed before are no reason to stop."""
    hooks = repo / ".git" / "hooks"
    (hooks / "pre-commit").write_text("#!/bin/sh\ntrue\n")
    before = (repo / ".git" / "config").read_bytes()
    read_only(hooks)
    said = ok(nbgit(repo, "install"), 2)
    assert said.splitlines() == [f"nbgit: error: {hooks}: cannot write nbgit's hooks (pre-commit, post-merge, post-checkout, post-rewrite) into this folder; nothing was installed",
                                 "hint: make the folder writable, or run `nbgit install --no-hooks`"]
    assert (repo / ".git" / "config").read_bytes() == before and not (repo / ".gitattributes").exists()
    ok(nbgit(repo, "install", "--no-hooks"))
    assert (repo / ".gitattributes").is_file()


def test_an_attribute_file_linked_out_of_the_work_tree_stops_install_before_anything_is_written(repo: Path, tmp_path: Path) -> None:
    """A committed `.gitattributes` that links out of the repository is refused (nbgit never writes through
    it); install refused it only after writing the config, leaving the clone half wired."""
    outside = tmp_path / "outside"
    outside.write_text("*.pdf binary\n")
    (repo / ".gitattributes").symlink_to(outside)
    before = (repo / ".git" / "config").read_bytes()
    said = ok(nbgit(repo, "install"), 2)
    assert "a symbolic link to" in said and "outside the repository's work tree; not followed" in said
    assert (repo / ".git" / "config").read_bytes() == before and outside.read_text() == "*.pdf binary\n"
    assert not (repo / ".git" / "hooks" / "pre-commit").exists()


def test_your_own_values_under_the_drivers_keys_come_back_after_uninstall(repo: Path) -> None:
    """Values of yours under keys nbgit's drivers use (a `diff "nbgit"` section of your own) were overwritten
    by install and deleted by uninstall. The first install records them (`nbgit.kept`), later installs
    keep that record, and uninstall puts them back (a key may come back at the end of its section)."""
    git(repo, "config", "diff.nbgit.textconv", "cat")
    git(repo, "config", "diff.nbgit.wordRegex", "[a-z]+")
    git(repo, "config", "merge.nbgit.driver", "my-merge %A %B")
    before = git(repo, "config", "--local", "--list").stdout.decode().splitlines()
    ok(nbgit(repo, "install"))
    assert git(repo, "config", "diff.nbgit.textconv").stdout.decode().startswith("NBGIT_VERSION=")
    ok(nbgit(repo, "install"))
    ok(nbgit(repo, "uninstall"))
    assert sorted(git(repo, "config", "--local", "--list").stdout.decode().splitlines()) == sorted(before)
    ok(nbgit(repo, "install"))  # nbgit's own values, written by an install, are never taken for yours
    ok(nbgit(repo, "install"))
    ok(nbgit(repo, "uninstall"))
    assert sorted(git(repo, "config", "--local", "--list").stdout.decode().splitlines()) == sorted(before)


def test_a_hooks_folder_shared_by_every_repository_gets_no_hook(repo: Path, tmp_path: Path) -> None:
    """core.hooksPath in the global config names one folder for every repository: install wrote nbgit's hooks
    there, so every other repository refused commits of notebooks with outputs, nbgit or not. It writes
    none there now, says why and what to do instead; a core.hooksPath of this repository's own gets them."""
    shared = Path(os.environ["HOME"]) / ".githooks"
    shared.mkdir()
    (shared / "pre-commit").write_text("#!/bin/sh\ntrue\n")
    (shared / "pre-commit").chmod(0o755)
    git(repo, "config", "--global", "core.hooksPath", str(shared))
    out = ok(nbgit(repo, "install"))
    assert f"hooks      off: core.hooksPath (global config) names {shared}, a hooks folder every repository of yours uses" in out
    assert sorted(p.name for p in shared.iterdir()) == ["pre-commit"] and (shared / "pre-commit").read_text() == "#!/bin/sh\ntrue\n"
    assert "hooks       off      core.hooksPath (global config)" in ok(nbgit(repo, "status"))
    other = tmp_path / "other"
    git(tmp_path, "init", "-q", "-b", "main", str(other))
    (other / "ran.ipynb").write_text(json.dumps(code_notebook("x = 1")))  # execution_count 1: not clean
    git(other, "add", "ran.ipynb")
    git(other, "commit", "-qm", "a repository without nbgit")
    git(repo, "config", "core.hooksPath", ".git/hooks")
    ok(nbgit(repo, "install"))
    assert (repo / ".git" / "hooks" / "pre-commit").is_file() and "hooks       ok" in ok(nbgit(repo, "status"))


def test_install_says_why_git_gives_it_no_work_tree(repo: Path, tmp_path: Path) -> None:
    """A repository another user owns (git refuses it: safe.directory) and a bare repository were both
    "not inside a git repository", which sends the user looking for the wrong thing."""
    bare = tmp_path / "bare.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    said = ok(nbgit(bare, "install"), 2)
    assert said.startswith("nbgit: error: this is a bare repository: it has no work tree"), said
    if os.geteuid() != 0:
        pytest.skip("needs root to hand the repository to another user")
    os.chown(repo, 4321, 4321)
    for command in ("install", "uninstall"):
        said = ok(nbgit(repo, command), 2)
        assert said.splitlines() == [f"nbgit: error: git refuses the repository at {repo}: another user owns it (dubious ownership)",
                                     f"hint: if you trust it: git config --global --add safe.directory {repo}; then run the command again"]


def test_renormalize_while_another_git_command_holds_the_index_says_so(repo: Path) -> None:
    """git's long advice about a held index.lock ends with "remove the file manually to continue", and that
    last line alone was the error (which file? while another git command may be running): now git's own
    fatal line, naming the lock, and a hint that says to wait first."""
    (repo / "a.ipynb").write_text(json.dumps(code_notebook("x = 1")))
    git(repo, "add", "a.ipynb")
    git(repo, "commit", "-qm", "a notebook with an execution count")
    ok(nbgit(repo, "install"))
    (repo / ".git" / "index.lock").write_bytes(b"")
    said = ok(nbgit(repo, "renormalize"), 2)
    assert said.splitlines() == [
        f"nbgit: error: git update-index failed: Unable to create '{repo}/.git/index.lock': File exists.",
        ("hint: another git command is running in this repository: run this again once it is done "
         "(if none is, a crashed one left the lock file named above: delete it)"),
    ]
    (repo / ".git" / "index.lock").unlink()
    assert "renormalized a.ipynb" in ok(nbgit(repo, "renormalize"))


def test_a_committed_hooks_folder_gets_no_hook_of_this_machine(repo: Path) -> None:
    """core.hooksPath naming a folder the team commits (`.githooks`): install moved the team's hook aside and
    wrote its own, with this machine's absolute paths, where `git add -A` commits it for everyone (whose
    commits it then refuses: that nbgit is gone on their machines). It writes nothing there now and says
    how to call nbgit from those hooks; hooks there that already call nbgit by hand count as installed."""
    team = repo / ".githooks"
    team.mkdir()
    (team / "pre-commit").write_text("#!/bin/sh\necho team hook\n")
    (team / "pre-commit").chmod(0o755)
    git(repo, "add", ".githooks")
    git(repo, "commit", "-qm", "the team's hooks")
    git(repo, "config", "core.hooksPath", ".githooks")
    out = ok(nbgit(repo, "install"))
    assert "hooks      off: core.hooksPath names .githooks, a folder of the repository with committed files" in out
    assert git(repo, "status", "--porcelain").stdout == b"?? .gitattributes\n"
    shipped = Path(__file__).resolve().parents[1] / "hooks"
    for name in ("pre-commit", "post-merge", "post-checkout", "post-rewrite"):
        (team / name).write_bytes((shipped / name).read_bytes())
        (team / name).chmod(0o755)
    assert "kept nbgit's hand-wired hook" in ok(nbgit(repo, "install"))
    assert "hooks       ok" in ok(nbgit(repo, "status"))


def test_install_says_when_a_later_line_of_yours_keeps_nbgit_off(repo: Path) -> None:
    """A `*.ipynb` line of yours after nbgit's block (notebooks in git LFS) overrides nbgit's drivers: install
    listed every capability as wired and exited 0 while git ran none of them (only `nbgit status` told)."""
    (repo / ".gitattributes").write_text("*.ipynb filter=lfs diff=lfs merge=lfs -text\n")
    out = ok(nbgit(repo, "install"), 1)
    for driver in ("filter", "diff", "merge"):
        assert f"broken: {driver}: 1 notebook path(s) get {driver}=lfs instead of nbgit" in out, out
    assert "nbgit: another tool or a later attribute line overrides nbgit for some notebooks (see above)" in out
    (repo / ".gitattributes").write_text((repo / ".gitattributes").read_text().replace("*.ipynb filter=lfs diff=lfs merge=lfs -text\n", ""))
    assert "broken" not in ok(nbgit(repo, "install"))


def test_a_hooks_folder_uninstall_cannot_write_stops_it_before_anything_is_removed(repo: Path, read_only: Callable[[Path], None]) -> None:
    """uninstall with a read-only hooks folder ended in an internal error after removing the config: nbgit's
    hooks stayed, still checking commits for an nbgit "uninstalled". Now one error first, then a clean run."""
    ok(nbgit(repo, "install"))
    hooks = repo / ".git" / "hooks"
    before = (repo / ".git" / "config").read_bytes()
    read_only(hooks)
    said = ok(nbgit(repo, "uninstall"), 2)
    assert said.splitlines() == [f"nbgit: error: {hooks}: cannot remove nbgit's hooks (post-checkout, post-merge, post-rewrite, pre-commit) from this folder; nothing was removed",
                                 "hint: make the folder writable, then run `nbgit uninstall` again"]
    assert (repo / ".git" / "config").read_bytes() == before and (repo / ".gitattributes").is_file()
