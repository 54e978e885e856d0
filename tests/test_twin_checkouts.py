"""Pairs and git's own checkouts, through real git: an old commit whose notebook had no twin yet (a
teammate committed it without nbgit) is checked out (`git checkout OLD`, `git switch` to an old branch,
each step of `git bisect`, `git rebase -i` stopped there, `git worktree add`). Sync there must not
create the twin that a branch holds: git checks out no branch over an untracked file, so nbgit would
stop the next checkout, the bisect or the rebase. `--take` still creates it on request. And the
other ways a work tree keeps a twin from git: a path .gitignore matches, a sparse checkout."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from conftest import git, nbgit

from nbgit.notebook import Notebook, parse, serialise

PLAIN = ("-c", "core.hooksPath=/dev/null")  # commits made without nbgit's hooks (a teammate without nbgit)
KERNEL = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}, "language_info": {"name": "python", "file_extension": ".py"}}
NO_CI = {k: v for k, v in os.environ.items() if k != "CI"}


def notebook_bytes(*sources: str) -> bytes:
    cells = [{"cell_type": "code", "execution_count": None, "id": f"c{n}", "metadata": {}, "outputs": [], "source": s} for n, s in enumerate(sources)]
    return serialise(Notebook({"cells": cells, "metadata": KERNEL, "nbformat": 4, "nbformat_minor": 5}, 4))


def commit_notebook(repo: Path, source: str, message: str) -> str:
    """Commit a.ipynb with one cell, as a teammate without nbgit does (its twin left as it is); returns the commit."""
    (repo / "a.ipynb").write_bytes(notebook_bytes(source))
    git(repo, "add", "a.ipynb")
    git(repo, *PLAIN, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").stdout.decode().strip()


@pytest.fixture
def history(repo: Path) -> tuple[Path, list[str]]:
    """nbgit installed with pairing on; three commits of a.ipynb without a twin (a teammate's), then
    the twin a.py committed, then two more commits of the pair in step; main at the last.
    Returns the repository and the commits, oldest first."""
    (repo / ".nbgit.toml").write_text("[pair]\nenabled = true\n")
    done = nbgit(repo, "install")
    assert done.returncode == 0, done.stderr.decode()
    git(repo, "add", "-A")
    git(repo, *PLAIN, "commit", "-q", "-m", "nbgit, pairing on")
    commits = [commit_notebook(repo, f"x = {n}", f"notebook only {n}") for n in range(3)]
    for n, source in enumerate(["x = 3", "x = 'bug'", "x = 'bug' * 2"]):
        (repo / "a.ipynb").write_bytes(notebook_bytes(source))
        assert nbgit(repo, "sync").returncode == 0
        git(repo, "add", "a.ipynb", "a.py")
        git(repo, "commit", "-q", "-m", "the twin arrives" if n == 0 else f"pair {n}")
        commits.append(git(repo, "rev-parse", "HEAD").stdout.decode().strip())
    return repo, commits


def said(done: object) -> str:
    return (done.stdout + done.stderr).decode()  # type: ignore[attr-defined]


def test_sync_on_an_old_commit_leaves_the_twin_main_holds_and_git_checks_out_main(history: tuple[Path, list[str]]) -> None:
    repo, commits = history
    git(repo, "checkout", "-q", commits[1])
    done = nbgit(repo, "sync")
    assert done.returncode == 0, "how the old commit was: nothing for sync to do there"
    assert ("a.py is missing, and sync does not create it from a.ipynb: branch main holds it, and git checks out no branch over an "
            "untracked file (`git checkout main` would fail); to create it anyway and commit it here: `nbgit sync --take notebook a.ipynb`, then `git add a.py`") in said(done)
    assert not (repo / "a.py").exists()
    assert git(repo, "checkout", "-q", "main", check=False).returncode == 0, "nbgit left nothing in git's way"
    assert (repo / "a.py").is_file()


def test_check_fix_on_an_old_commit_names_the_way_out_and_creates_nothing(history: tuple[Path, list[str]]) -> None:
    repo, commits = history
    git(repo, "checkout", "-q", commits[0])
    done = nbgit(repo, "check", "--fix", "a.ipynb", env=NO_CI)
    assert done.returncode == 1
    assert "a.ipynb: a.py is missing, and sync does not create it from a.ipynb: branch main holds it" in said(done)
    assert "hint: to create it anyway and commit it here: `nbgit sync --take notebook a.ipynb`, then `git add a.py`" in said(done)
    assert "fixable" not in said(done) and not (repo / "a.py").exists()


def test_pair_on_an_old_commit_says_why_and_creates_nothing(history: tuple[Path, list[str]]) -> None:
    repo, commits = history
    git(repo, "checkout", "-q", commits[1])
    done = nbgit(repo, "pair", "a.ipynb")
    assert "branch main holds it" in said(done) and "nbgit sync --take notebook a.ipynb" in said(done), said(done)
    assert not (repo / "a.py").exists()


def test_take_creates_the_twin_on_request(history: tuple[Path, list[str]]) -> None:
    repo, commits = history
    git(repo, "checkout", "-q", commits[2])
    done = nbgit(repo, "sync", "--take", "notebook", "a.ipynb")
    assert done.returncode == 0, said(done)
    assert "x = 2" in (repo / "a.py").read_text()


def test_the_post_checkout_reminder_does_not_send_you_to_sync_an_old_commit(history: tuple[Path, list[str]]) -> None:
    """nbgit's post-checkout hook runs on each checkout: it named `nbgit sync a.ipynb` as the fix there."""
    repo, commits = history
    done = git(repo, "checkout", commits[1])
    assert "a.py" not in said(done) and "nbgit sync" not in said(done), said(done)


def test_bisect_run_whose_script_syncs_finds_the_first_bad_commit(history: tuple[Path, list[str]]) -> None:
    """Every step of the bisect checks out another commit; the script syncs the pair first, as a
    user's test script may: the bisect visits commits before the twin and must still get to the end,
    and sync's exit code must not call those commits bad."""
    repo, commits = history
    git(repo, "bisect", "start", "main", commits[0])
    done = git(repo, "bisect", "run", "sh", "-c", "nbgit sync >/dev/null 2>&1 && ! grep -q bug a.ipynb", check=False)
    assert done.returncode == 0, said(done)
    assert f"{commits[4]} is the first bad commit" in said(done)
    git(repo, "bisect", "reset")
    assert git(repo, "status", "--porcelain").stdout == b""


def test_switch_to_an_old_branch_and_back(history: tuple[Path, list[str]]) -> None:
    repo, commits = history
    git(repo, "switch", "-q", "-c", "old", commits[2])
    assert nbgit(repo, "sync").returncode == 0 and not (repo / "a.py").exists()
    assert git(repo, "switch", "-q", "main", check=False).returncode == 0


def test_rebase_stopped_at_an_old_commit_continues(history: tuple[Path, list[str]]) -> None:
    """`git rebase -i` with `edit` on a commit before the twin: a sync there must not stop the rebase
    when it goes on to the commit that adds the twin."""
    repo, commits = history
    env = {**NO_CI, "GIT_SEQUENCE_EDITOR": "sed -i -e 's/^pick \\(.* notebook only 1\\)$/edit \\1/'"}
    stopped = subprocess.run(["git", "rebase", "-i", commits[0]], check=False, cwd=repo, capture_output=True, env=env)
    assert stopped.returncode == 0 and git(repo, "rev-parse", "HEAD").stdout.decode().strip() == commits[1], said(stopped)
    assert nbgit(repo, "sync").returncode == 0 and not (repo / "a.py").exists()
    done = git(repo, "rebase", "--continue", check=False)
    assert done.returncode == 0, said(done)
    assert git(repo, "rev-parse", "HEAD").stdout.decode().strip() == commits[-1]


def test_amending_an_old_commit_in_a_rebase_names_the_way_that_works(history: tuple[Path, list[str]]) -> None:
    """nbgit's pre-commit hook refuses the notebook staged without its twin; its hint named `nbgit
    sync`, which (rightly) does not create a twin that main holds: the hint now names `--take`."""
    repo, commits = history
    env = {**NO_CI, "GIT_SEQUENCE_EDITOR": "sed -i -e 's/^pick \\(.* notebook only 1\\)$/edit \\1/'"}
    assert subprocess.run(["git", "rebase", "-i", commits[0]], check=False, cwd=repo, capture_output=True, env=env).returncode == 0
    (repo / "a.ipynb").write_bytes(notebook_bytes("x = 'one, fixed'"))
    git(repo, "add", "a.ipynb")
    done = subprocess.run(["git", "commit", "--amend", "--no-edit"], check=False, cwd=repo, capture_output=True, env=NO_CI)
    assert done.returncode == 1
    assert "hint: to create it anyway and commit it here: `nbgit sync --take notebook a.ipynb`, then `git add a.py`" in said(done), said(done)
    done = subprocess.run(["git", "commit", "--amend", "--no-edit", "--no-verify"], check=False, cwd=repo, capture_output=True, env=NO_CI)
    assert done.returncode == 0, said(done)
    assert not (repo / "a.py").exists(), "the old commit stays as it was, without the twin"


def test_a_worktree_of_an_old_commit_checks_out_a_newer_one(history: tuple[Path, list[str]], tmp_path: Path) -> None:
    repo, commits = history
    old = tmp_path / "old"
    git(repo, "worktree", "add", "-q", str(old), commits[1])
    assert nbgit(old, "sync").returncode == 0 and not (old / "a.py").exists()
    assert git(old, "checkout", "-q", commits[4], check=False).returncode == 0


def test_a_notebook_a_branch_holds_is_not_built_from_an_old_twin(repo: Path) -> None:
    """The other way round: a jupytext script committed first, its notebook later; sync on the old
    commit must not build the notebook that main holds."""
    (repo / ".nbgit.toml").write_text("[pair]\nenabled = true\n")
    (repo / "a.ipynb").write_bytes(notebook_bytes("x = 1"))
    assert nbgit(repo, "sync").returncode == 0
    (repo / "a.ipynb").unlink()
    git(repo, "add", "-A")
    git(repo, *PLAIN, "commit", "-q", "-m", "a script")
    old = git(repo, "rev-parse", "HEAD").stdout.decode().strip()
    (repo / "a.ipynb").write_bytes(notebook_bytes("x = 1"))
    git(repo, "add", "a.ipynb")
    git(repo, *PLAIN, "commit", "-q", "-m", "its notebook")
    git(repo, "checkout", "-q", old)
    done = nbgit(repo, "sync")
    assert done.returncode == 0 and "nbgit sync --take text a.py" in said(done), said(done)
    assert not (repo / "a.ipynb").exists()
    assert git(repo, "checkout", "-q", "main", check=False).returncode == 0


def test_a_twin_path_that_is_a_folder_on_another_branch_is_not_created(repo: Path) -> None:
    (repo / ".nbgit.toml").write_text("[pair]\nenabled = true\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "pairing on")
    git(repo, "switch", "-q", "-c", "other")
    (repo / "a.py").mkdir()
    (repo / "a.py" / "inside.txt").write_text("a folder named like a twin\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "a folder a.py")
    git(repo, "switch", "-q", "main")
    (repo / "a.ipynb").write_bytes(notebook_bytes("x = 1"))
    done = nbgit(repo, "sync")
    assert done.returncode == 0 and "branch other holds it" in said(done), said(done)
    assert git(repo, "switch", "-q", "other", check=False).returncode == 0


def test_a_new_notebook_no_branch_knows_still_gets_its_twin(history: tuple[Path, list[str]]) -> None:
    repo, commits = history
    git(repo, "switch", "-q", "-c", "topic", commits[1])
    (repo / "b.ipynb").write_bytes(notebook_bytes("y = 1"))
    done = nbgit(repo, "sync", "b.ipynb")
    assert done.returncode == 0 and said(done) == "created b.py from b.ipynb\n", said(done)
    assert parse((repo / "b.ipynb").read_bytes()).content["cells"][0]["source"] == "y = 1"


def test_a_twin_git_ignores_is_named_with_a_way_to_stage_it(repo: Path) -> None:
    """The pre-commit hook refuses a notebook staged without its twin and named `git add a.py`, which
    git refuses for an ignored path: every commit of the notebook was refused with no way out named."""
    (repo / ".nbgit.toml").write_text("[pair]\nenabled = true\n")
    (repo / ".gitignore").write_text("build/\n*.py\n")
    assert nbgit(repo, "install").returncode == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "pairing on, scripts ignored")
    (repo / "a.ipynb").write_bytes(notebook_bytes("x = 1"))
    assert nbgit(repo, "sync").returncode == 0 and (repo / "a.py").is_file()
    git(repo, "add", "a.ipynb")
    done = subprocess.run(["git", "commit", "-m", "a notebook"], check=False, cwd=repo, capture_output=True, env=NO_CI)
    assert done.returncode == 1
    assert "hint: git ignores a.py (.gitignore:2: *.py): `git add -f a.py`, or stop ignoring it, or stop pairing the notebook ([pair] exclude)" in said(done)
    git(repo, "add", "-f", "a.py")
    done = subprocess.run(["git", "commit", "-m", "a notebook"], check=False, cwd=repo, capture_output=True, env=NO_CI)
    assert done.returncode == 0, said(done)


def test_a_twin_outside_a_sparse_checkout_is_not_called_deleted_and_the_hint_brings_it_in(repo: Path) -> None:
    """`git sparse-checkout set notebooks` leaves scripts/ (the mirrored twins) out of the work tree.
    nbgit called each twin deleted ("commit the deletion"), and the pre-commit hook refused every
    notebook edit with a hint (`nbgit sync`, `git add` both) that cannot work outside the cone."""
    (repo / ".nbgit.toml").write_text('[pair]\nenabled = true\nfolders = {"notebooks" = "scripts"}\n')
    (repo / "notebooks").mkdir()
    (repo / "notebooks" / "a.ipynb").write_bytes(notebook_bytes("x = 1"))
    assert nbgit(repo, "install").returncode == 0 and nbgit(repo, "sync").returncode == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "a pair in mirrored folders")
    git(repo, "sparse-checkout", "set", "notebooks")
    assert not (repo / "scripts").exists()
    done = nbgit(repo, "check", "--all", env=NO_CI)
    assert done.returncode == 1 and "deleted" not in said(done), said(done)
    assert ("notebooks/a.ipynb: scripts/a.py is outside this sparse checkout (git keeps it out of the work tree), so sync cannot keep it "
            "in step with notebooks/a.ipynb [unsynced]\nhint: `git sparse-checkout add scripts` brings it in, then run nbgit sync") in said(done)
    (repo / "notebooks" / "a.ipynb").write_bytes(notebook_bytes("x = 2"))
    git(repo, "add", "notebooks/a.ipynb")
    done = subprocess.run(["git", "commit", "-m", "an edit"], check=False, cwd=repo, capture_output=True, env=NO_CI)
    assert done.returncode == 1 and "hint: scripts/a.py is outside this sparse checkout: `git sparse-checkout add scripts`, then run `nbgit sync" in said(done), said(done)
    git(repo, "sparse-checkout", "add", "scripts")
    assert nbgit(repo, "sync").returncode == 0
    git(repo, "add", "notebooks/a.ipynb", "scripts/a.py")
    done = subprocess.run(["git", "commit", "-m", "an edit"], check=False, cwd=repo, capture_output=True, env=NO_CI)
    assert done.returncode == 0, said(done)
    assert "x = 2" in git(repo, "show", "HEAD:scripts/a.py").stdout.decode()
