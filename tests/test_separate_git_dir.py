"""A work tree without a `.git` entry, its repository named by `GIT_DIR` and `GIT_WORK_TREE` (`git --git-dir=...
--work-tree=...`, a dotfiles repository): nbgit finds it as git does.

Before, nbgit looked for a `.git` entry alone: the pre-commit hook refused every commit ("`nbgit hook`
runs inside a git repository"), post-checkout made `git switch` fail, and the filter ran without the
repository's policy or its output store, so checkouts wrote notebooks without their outputs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import git, nbgit

NOTEBOOK = {
    "cells": [{"cell_type": "code", "execution_count": 1, "id": "a1", "metadata": {}, "outputs": [{"name": "stdout", "output_type": "stream", "text": ["1\n"]}], "source": ["print(1)"]}],
    "metadata": {},
    "nbformat": 4,
    "nbformat_minor": 5,
}


@pytest.fixture
def separate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A work tree whose repository is elsewhere, named by GIT_DIR and GIT_WORK_TREE, with nbgit installed."""
    repository, work_tree = tmp_path / "repository.git", tmp_path / "home"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(repository))
    work_tree.mkdir()
    monkeypatch.setenv("GIT_DIR", str(repository))
    monkeypatch.setenv("GIT_WORK_TREE", str(work_tree))
    git(work_tree, "config", "core.bare", "false")
    done = nbgit(work_tree, "install")
    assert done.returncode == 0, done.stderr.decode()
    return work_tree


def test_commits_checkouts_and_outputs_work_as_in_a_work_tree_with_a_git_entry(separate: Path) -> None:
    data = (json.dumps(NOTEBOOK, indent=1, sort_keys=True) + "\n").encode()
    (separate / "nb.ipynb").write_bytes(data)
    git(separate, "add", "-A")
    done = git(separate, "commit", "-q", "-m", "a notebook", check=False)
    assert done.returncode == 0, done.stderr.decode()  # the pre-commit hook ran and let it through
    assert b'"output_type"' not in git(separate, "cat-file", "-p", "HEAD:nb.ipynb").stdout
    (separate / "nb.ipynb").unlink()
    git(separate, "checkout", "--", "nb.ipynb")
    assert (separate / "nb.ipynb").read_bytes() == data  # outputs back from the store
    done = git(separate, "switch", "-q", "-c", "other", check=False)
    assert done.returncode == 0 and b"nbgit" not in done.stderr, done.stderr.decode()  # post-checkout
    assert git(separate, "status", "--porcelain").stdout == b""


def test_the_policy_of_such_a_work_tree_is_the_one_the_filter_applies(separate: Path) -> None:
    (separate / ".nbgit.toml").write_text('outputs = "keep"\n')
    (separate / "nb.ipynb").write_bytes((json.dumps(NOTEBOOK, indent=1, sort_keys=True) + "\n").encode())
    git(separate, "add", "-A")
    assert b'"output_type"' in git(separate, "cat-file", "-p", ":nb.ipynb").stdout


def test_a_work_tree_named_by_the_repository_config_has_its_policy_applied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`GIT_DIR` with `core.worktree` in the repository's config (no `GIT_WORK_TREE`): git hands its filter
    `GIT_DIR` alone, and the filter took the default policy (outputs stripped against the repository's
    `outputs = "keep"`) and kept no outputs."""
    repository, work_tree = tmp_path / "repository.git", tmp_path / "home"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(repository))
    work_tree.mkdir()
    monkeypatch.setenv("GIT_DIR", str(repository))
    monkeypatch.delenv("GIT_WORK_TREE", raising=False)
    git(work_tree, "config", "core.bare", "false")
    git(work_tree, "config", "core.worktree", str(work_tree))
    done = nbgit(work_tree, "install")
    assert done.returncode == 0, done.stderr.decode()
    data = (json.dumps(NOTEBOOK, indent=1, sort_keys=True) + "\n").encode()
    (work_tree / "nb.ipynb").write_bytes(data)
    git(work_tree, "add", "-A")
    git(work_tree, "commit", "-q", "-m", "a notebook")
    assert b'"output_type"' not in git(work_tree, "cat-file", "-p", "HEAD:nb.ipynb").stdout
    (work_tree / "nb.ipynb").unlink()
    git(work_tree, "checkout", "--", "nb.ipynb")
    assert (work_tree / "nb.ipynb").read_bytes() == data  # outputs back from the store
    (work_tree / ".nbgit.toml").write_text('outputs = "keep"\n')
    (work_tree / "kept.ipynb").write_bytes(data)
    git(work_tree, "add", "-A")
    assert b'"output_type"' in git(work_tree, "cat-file", "-p", ":kept.ipynb").stdout
