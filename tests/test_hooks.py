"""`nbgit hook`: real `git commit` through git's own hooks: refused with the message when a notebook is
dirty or conflicted, accepted when clean; partially staged notebooks judged by what is staged; the
temporary index of `commit -a` and `commit PATH`; the hooks `nbgit install` writes."""

from __future__ import annotations

import functools
import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import CORPUS, NBGIT, copy_in, git, nbgit
from nbgit.clean import clean_bytes
from nbgit.notebook import parse, serialise
from nbgit.policy import Policy

DIRTY = CORPUS / "peer/nbstripout/tests/e2e_notebooks/test_metadata.ipynb"
CONFLICTED = CORPUS / "bad_inputs/derived/source-conflict.git-merge-file.ipynb"


@functools.cache
def clean_notebook() -> bytes:
    """DIRTY as nbgit cleans it (read when a test asks: without the corpus only those tests skip)."""
    return clean_bytes(DIRTY.read_bytes(), "x", Policy())


HAND_HOOK = '#!/bin/sh\nexec nbgit hook pre-commit "$@"\n'


@pytest.fixture(params=["hand", "install"])
def hooked(request: pytest.FixtureRequest, repo: Path) -> Path:
    """A repository whose pre-commit hook runs `nbgit hook pre-commit`: written by hand, or by `nbgit install`.

    Neither wires the filter for the hand-written case: what is staged is what gets judged.
    """
    if request.param == "hand":
        hook_by_hand(repo)
    else:
        done = nbgit(repo, "install")
        assert done.returncode == 0, done.stderr.decode()
        git(repo, "add", ".gitattributes")
        git(repo, "commit", "-qm", "nbgit")
    return repo


def hook_by_hand(repo: Path) -> None:
    """Write the pre-commit hook a user would write by hand: one line that calls nbgit."""
    hook = repo / ".git/hooks/pre-commit"
    hook.write_text(HAND_HOOK)
    hook.chmod(0o755)


def commit(repo: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    return subprocess.run(["git", "commit", "-m", "change", *args], cwd=repo, capture_output=True, env=env)


def test_a_clean_notebook_is_committed(hooked: Path) -> None:
    (hooked / "clean.ipynb").write_bytes(clean_notebook())
    git(hooked, "add", "clean.ipynb")
    done = commit(hooked)
    assert done.returncode == 0, done.stderr.decode()
    assert git(hooked, "show", "HEAD:clean.ipynb").stdout == clean_notebook()


def test_a_conflicted_notebook_is_refused_with_the_message(hooked: Path) -> None:
    copy_in(CONFLICTED, hooked, "merged.ipynb")
    git(hooked, "add", "merged.ipynb")
    done = commit(hooked)
    assert done.returncode == 1
    err = done.stderr.decode()
    assert "merged.ipynb: git conflict markers (line 11)" in err
    assert "nbgit resolve merged.ipynb" in err
    # the last line alone (what GUI clients often show) names the problem, not only "the problems above"
    assert err.splitlines()[-1].startswith("nbgit: commit refused: merged.ipynb: git conflict markers (line 11)"), err
    assert git(hooked, "rev-list", "--count", "HEAD").stdout.strip() == (b"1" if not (hooked / ".gitattributes").exists() else b"2")


def test_a_policy_nbgit_cannot_read_refuses_the_commit_and_names_both_ways_out(hooked: Path) -> None:
    """Nothing can be judged by a broken `.nbgit.toml` (a typo, a stranger's): the commit is refused, and
    the last line (what GUI clients show alone) says how to fix it, or to skip nbgit's checks once."""
    (hooked / ".nbgit.toml").write_text("this is [not toml\n")
    notebook = {"cells": [{"cell_type": "markdown", "id": "m", "metadata": {}, "source": "hi"}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (hooked / "a.ipynb").write_text(json.dumps(notebook, indent=1) + "\n")
    git(hooked, "add", "a.ipynb", ".nbgit.toml")
    done = commit(hooked)
    assert done.returncode == 1  # (git's code for a refusing hook)
    lines = done.stderr.decode().splitlines()
    assert lines[-2].startswith("nbgit: error: commit refused: .nbgit.toml: not valid TOML"), lines
    assert lines[-1] == "hint: fix .nbgit.toml; see the policy reference in README.md; or commit with --no-verify to skip nbgit's checks once"
    assert commit(hooked, "--no-verify").returncode == 0
    assert git(hooked, "show", "HEAD:a.ipynb").stdout == (hooked / "a.ipynb").read_bytes()


def test_a_dirty_notebook_is_refused_without_the_filter_and_cleaned_with_it(hooked: Path) -> None:
    copy_in(DIRTY, hooked, "dirty.ipynb")
    git(hooked, "add", "dirty.ipynb")
    done = commit(hooked)
    if (hooked / ".gitattributes").exists():  # installed: the filter cleaned it on `git add`
        assert done.returncode == 0, done.stderr.decode()
        assert git(hooked, "show", "HEAD:dirty.ipynb").stdout == clean_notebook()
        assert (hooked / "dirty.ipynb").read_bytes() == DIRTY.read_bytes()  # the working copy keeps its outputs
    else:
        assert done.returncode == 1
        assert "dirty.ipynb cell 2: not clean: execution_count" in done.stderr.decode()


def test_a_partially_staged_notebook_is_judged_by_what_is_staged(repo: Path) -> None:
    hook_by_hand(repo)
    target = repo / "nb.ipynb"
    target.write_bytes(clean_notebook())
    git(repo, "add", "nb.ipynb")
    copy_in(DIRTY, repo, "nb.ipynb")  # outputs in the working copy, not staged
    assert commit(repo).returncode == 0
    git(repo, "add", "nb.ipynb")
    target.write_bytes(clean_notebook())  # dirty staged, clean working copy
    done = commit(repo)
    assert done.returncode == 1 and "nb.ipynb cell 2: not clean" in done.stderr.decode()


def test_commit_all_and_commit_paths_are_judged_on_their_temporary_index(repo: Path) -> None:
    hook_by_hand(repo)
    target = repo / "nb.ipynb"
    target.write_bytes(clean_notebook())
    git(repo, "add", "nb.ipynb")
    assert commit(repo).returncode == 0
    copy_in(DIRTY, repo, "nb.ipynb")  # modified, not staged: the real index still holds the clean one
    done = commit(repo, "-a")
    assert done.returncode == 1 and "nb.ipynb cell 2: not clean" in done.stderr.decode()
    done = commit(repo, "--", "nb.ipynb")
    assert done.returncode == 1 and "nb.ipynb cell 2: not clean" in done.stderr.decode()
    assert git(repo, "diff", "--cached", "--name-only").stdout == b""  # the real index is untouched
    target.write_bytes(edited(clean_notebook()))
    done = commit(repo, "-a")
    assert done.returncode == 0, done.stderr.decode()
    assert git(repo, "show", "HEAD:nb.ipynb").stdout == edited(clean_notebook())


def edited(data: bytes) -> bytes:
    """The notebook with a line added to its first cell, still clean."""
    notebook = parse(data, "x")
    notebook.content["cells"][0]["source"] += "\n# edited"
    return serialise(notebook)


def test_nothing_staged_or_no_notebook_staged_passes_quietly(repo: Path) -> None:
    (repo / "notes.txt").write_text("hello\n")
    git(repo, "add", "notes.txt")
    done = nbgit(repo, "hook", "pre-commit")
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")


def test_unknown_hook_names_are_errors(repo: Path) -> None:
    done = nbgit(repo, "hook", "pre-push")
    assert done.returncode == 2
    assert b"unknown hook `pre-push`" in done.stderr and b"pre-commit" in done.stderr


def test_check_install_fails_until_installed_and_is_skipped_in_ci(repo: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    done = nbgit(repo, "hook", "check-install", env=env)
    assert done.returncode == 1 and b"nbgit is not installed in this clone" in done.stderr and b"nbgit install" in done.stderr
    assert nbgit(repo, "hook", "check-install", env={**env, "CI": "true"}).returncode == 0
    git(repo, "config", "filter.nbgit.process", str(NBGIT.with_name("nbgit-filter-process")))
    assert nbgit(repo, "hook", "check-install", env=env).returncode == 0


def test_post_merge_and_post_checkout_stay_quiet_without_pairs(repo: Path) -> None:
    (repo / "a.ipynb").write_bytes(clean_notebook())
    git(repo, "add", "a.ipynb")
    git(repo, "commit", "-qm", "a")
    (repo / "a.ipynb").write_bytes(edited(clean_notebook()))
    git(repo, "commit", "-qam", "b")
    old, new = (git(repo, "rev-parse", rev).stdout.decode().strip() for rev in ("HEAD~1", "HEAD"))
    for args in (("post-checkout", old, new, "1"), ("post-checkout", new, new, "0")):
        done = nbgit(repo, "hook", *args)
        assert (done.returncode, done.stderr) == (0, b"")
    git(repo, "update-ref", "ORIG_HEAD", old)
    done = nbgit(repo, "hook", "post-merge", "0")
    assert (done.returncode, done.stderr) == (0, b"")


def test_post_merge_names_the_pairs_a_merge_left_out_of_step(repo: Path) -> None:
    (repo / ".nbgit.toml").write_text("[pair]\nenabled = true\n")
    (repo / "a.ipynb").write_bytes(clean_notebook())
    assert nbgit(repo, "sync", "a.ipynb").returncode == 0
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "pair")
    git(repo, "checkout", "-qb", "feature")
    with (repo / "a.py").open("a") as twin:
        twin.write("\n# %%\nx = 42\n")
    git(repo, "commit", "-qam", "edit the twin only")  # no hook: the notebook stays behind
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "feature")
    done = nbgit(repo, "hook", "post-merge", "0")
    assert done.returncode == 0
    err = done.stderr.decode()
    assert "after this merge, pairs are out of step" in err
    assert "a.ipynb: its twin a.py changed since the pair was last in step" in err and "nbgit sync a.ipynb" in err


def test_pre_commit_judges_both_files_of_a_pair_as_staged(repo: Path) -> None:
    """The pair is judged in the index, not on disk: a notebook staged without the twin sync rewrote is
    refused; a staged pair in step is committed whatever unstaged edit the twin has on disk."""
    hook_by_hand(repo)
    (repo / ".nbgit.toml").write_text("[pair]\nenabled = true\n")
    (repo / "a.ipynb").write_bytes(clean_notebook())
    assert nbgit(repo, "sync", "a.ipynb").returncode == 0
    git(repo, "add", "a.ipynb", ".nbgit.toml")
    done = commit(repo)
    assert done.returncode == 1 and "a.ipynb: staged without its twin a.py [unsynced]" in done.stderr.decode() and "git add a.py" in done.stderr.decode()
    git(repo, "add", "a.py")
    assert commit(repo).returncode == 0
    (repo / "a.ipynb").write_bytes(edited(clean_notebook()))
    assert nbgit(repo, "sync", "a.ipynb").stdout == b"updated a.py from a.ipynb\n"
    git(repo, "add", "a.ipynb")  # the twin sync rewrote is left unstaged
    done = commit(repo)
    assert done.returncode == 1 and "a.ipynb: changed since its twin a.py was last in step [unsynced]" in done.stderr.decode()
    # the way out is staging the twin: sync has run already, and `--fix` syncs files on disk only
    assert "hint: run `nbgit sync a.ipynb`, then stage both files: `git add a.ipynb a.py`" in done.stderr.decode()
    assert "fixable with --fix" not in done.stderr.decode()
    git(repo, "add", "a.py")
    with (repo / "a.py").open("a") as twin:
        twin.write("\n# %%\nnot_staged = 1\n")  # an edit on disk that this commit does not record
    done = commit(repo)
    assert done.returncode == 0, done.stderr.decode()
    assert b"# edited" in git(repo, "show", "HEAD:a.py").stdout and b"not_staged" not in git(repo, "show", "HEAD:a.py").stdout


def test_hooks_say_in_one_line_when_nbgit_itself_is_gone(repo: Path, tmp_path: Path) -> None:
    """nbgit's environment deleted after `nbgit install`: a commit is refused with one line that names the
    missing program and the way out (not the shell's "not found"), `--no-verify` still commits, a chained
    hook still runs, and checkouts go on; `nbgit status` calls the hooks broken."""
    copy = tmp_path / "env" / "bin" / "nbgit"  # nbgit as installed in an environment of its own
    copy.parent.mkdir(parents=True)
    copy.write_bytes(NBGIT.read_bytes())
    copy.chmod(0o755)
    assert nbgit(repo, "install").returncode == 0
    hooks = repo / ".git" / "hooks"
    (hooks / "pre-commit.nbgit-chained").write_text("#!/bin/sh\necho chained ran >&2\n")
    (hooks / "pre-commit.nbgit-chained").chmod(0o755)
    for hook in ("pre-commit", "post-checkout"):
        (hooks / hook).write_text((hooks / hook).read_text().replace(str(NBGIT), str(copy)))
    (repo / "clean.ipynb").write_bytes(clean_notebook())
    git(repo, "add", "-A")
    done = commit(repo)
    assert done.returncode == 0 and b"chained ran" in done.stderr, done.stderr.decode()
    copy.unlink()
    (repo / "other.ipynb").write_bytes(clean_notebook())
    git(repo, "add", "other.ipynb")
    done = commit(repo)
    said = done.stderr.decode()
    assert done.returncode == 1 and f"nbgit: {copy} is gone, so this commit cannot be checked" in said, said
    assert "`nbgit install` here (or commit with --no-verify)" in said and "not found" not in said and "chained ran" in said
    assert commit(repo, "--no-verify").returncode == 0
    switched = git(repo, "checkout", "-q", "HEAD~1")
    assert f"nbgit: {copy} is gone, so notebooks were not refreshed".encode() in switched.stderr
    status = nbgit(repo, "status")
    assert status.returncode == 1 and f"runs {copy}, which no longer exists".encode() in status.stdout, status.stdout.decode()
