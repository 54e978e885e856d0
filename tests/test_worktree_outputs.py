"""Outputs per work tree: linked worktrees (`git worktree add`) share the clone's output store, and each
work tree gets back its own outputs. Real git, real `git worktree add`, the real filter (`nbgit install`).

The main work tree names a path in the store by the path alone, as every store before linked worktrees
had names of their own did; a linked worktree by its name (`worktrees/<name>`) and the path.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from conftest import git, nbgit

from nbgit.store import history
from nbgit.store.disk import Record
from nbgit.store.location import worktree_name

NAME = "nb.ipynb"


def ran(*printed: str) -> bytes:
    """A notebook as Jupyter writes it: one code cell per `printed` text, `print(N)`, run, with that text
    as its output (so notebooks that differ only in what they printed clean to one blob)."""
    cells = [{"cell_type": "code", "execution_count": n + 1, "id": f"cell-{n}", "metadata": {},
              "outputs": [{"name": "stdout", "output_type": "stream", "text": [text + "\n"]}],
              "source": [f"print({n})"]} for n, text in enumerate(printed)]
    content = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    return (json.dumps(content, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()


def edited(data: bytes, index: int) -> bytes:
    """`data` with its `index`-th cell's source edited, not run since (no output)."""
    content = json.loads(data)
    cell = content["cells"][index]
    cell["source"], cell["outputs"], cell["execution_count"] = [f"print({index}, 'edited')"], [], None
    return (json.dumps(content, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()


@pytest.fixture
def main(repo: Path) -> Path:
    """A repository wired with `nbgit install` (its `.gitattributes` committed, so linked worktrees have it
    too), a notebook run in it committed: its outputs are recorded."""
    done = nbgit(repo, "install")
    assert done.returncode == 0, done.stderr.decode()
    (repo / NAME).write_bytes(ran("main run"))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "a notebook")
    return repo


def linked(main: Path, tmp_path: Path, *args: str, name: str = "w") -> Path:
    """A linked worktree of `main` (`git worktree add`, with `args`), in a folder `name` (git names it so)."""
    tree = tmp_path / name
    git(main, "worktree", "add", "-q", str(tree), *args)
    return tree


def checked_out_again(tree: Path) -> bytes:
    """The notebook as git writes it out again in `tree` (`git checkout -- FILE`)."""
    (tree / NAME).unlink()
    git(tree, "checkout", "--", NAME)
    return (tree / NAME).read_bytes()


def assert_quiet(*trees: Path) -> None:
    for tree in trees:
        assert git(tree, "status", "--porcelain").stdout == b"", tree


def store_of(main: Path) -> Path:
    return main / ".git" / "nbgit" / "outputs"


def test_each_work_tree_gets_back_its_own_outputs(main: Path, tmp_path: Path) -> None:
    """The same notebook run in the main work tree and in a linked one (one cleaned blob, other outputs):
    each gets back, byte for byte, what it had (before: the linked worktree's record replaced the main
    one's, and the main work tree got the other's outputs), also after `nbgit gc` and a `touch`."""
    tree = linked(main, tmp_path)
    (tree / NAME).write_bytes(ran("worktree run"))
    git(tree, "add", NAME)
    assert git(tree, "rev-parse", f":{NAME}").stdout == git(main, "rev-parse", f":{NAME}").stdout  # one blob

    assert checked_out_again(main) == ran("main run")
    assert checked_out_again(tree) == ran("worktree run")
    assert_quiet(main, tree)

    assert nbgit(tree, "gc").returncode == 0
    for where in (main, tree):
        (where / NAME).touch()  # git cleans it again: the bytes each recorded last are its own
    assert_quiet(main, tree)
    assert checked_out_again(main) == ran("main run")
    assert checked_out_again(tree) == ran("worktree run")
    assert_quiet(main, tree)


def test_a_new_linked_worktree_gets_the_outputs_the_main_one_had(main: Path, tmp_path: Path) -> None:
    """A path a linked worktree never recorded: a version the main work tree ran comes out exactly as it
    had it; one it never cleaned (a teammate's edit) gets the outputs of its unchanged cells from the main
    work tree's versions (the linked worktree has none of its own yet)."""
    (main / NAME).write_bytes(ran("one", "two"))
    git(main, "commit", "-q", "-am", "two cells")
    teammate = tmp_path / "teammate"
    git(tmp_path, "clone", "-q", str(main), str(teammate))
    assert nbgit(teammate, "install").returncode == 0
    (teammate / NAME).write_bytes(edited(ran("one", "two"), 1))
    git(teammate, "commit", "-q", "-am", "an edit")
    git(main, "fetch", "-q", str(teammate), "main:edited")

    assert linked(main, tmp_path, "--detach", "main").joinpath(NAME).read_bytes() == ran("one", "two")
    tree = linked(main, tmp_path, "--detach", "edited", name="w2")
    assert (tree / NAME).read_bytes() == edited(ran("one", "two"), 1)  # the first cell's outputs, the edited one's none
    assert_quiet(main, tree)


def test_a_version_run_in_a_linked_worktree_comes_out_in_the_main_one_as_it_ran_there(main: Path, tmp_path: Path) -> None:
    """A commit made in a linked worktree, checked out in the main work tree (which has versions of its own
    of that path, none of this one): the linked worktree's bytes, not the cell-by-cell restore."""
    tree = linked(main, tmp_path, "-b", "feature")
    (tree / NAME).write_bytes(ran("main run", "new cell"))
    git(tree, "commit", "-q", "-am", "a cell more")
    git(main, "checkout", "-q", "--detach", "feature")
    assert (main / NAME).read_bytes() == ran("main run", "new cell")
    assert_quiet(main, tree)


def test_refresh_in_a_linked_worktree_keeps_its_outputs_as_its_own(main: Path, tmp_path: Path) -> None:
    """`nbgit refresh` (and Jupyter's save hook, which runs it) in a linked worktree records under that work
    tree's name: its re-run comes back there, and the main work tree keeps its own (before: the main
    work tree got the linked one's)."""
    tree = linked(main, tmp_path)
    (tree / NAME).write_bytes(ran("worktree rerun"))
    assert git(tree, "status", "--porcelain").stdout == b" M nb.ipynb\n"  # its size changed: listed, not cleaned
    done = nbgit(tree, "refresh")
    assert done.returncode == 0 and b"refreshed 1 notebook(s)" in done.stdout, done.stderr.decode()

    assert checked_out_again(main) == ran("main run")
    assert checked_out_again(tree) == ran("worktree rerun")
    assert_quiet(main, tree)
    blob = git(main, "rev-parse", f"HEAD:{NAME}").stdout.decode().strip()
    name = history.path_name(NAME, "worktrees/w")
    assert f"\n{name} {blob} .".encode() in (store_of(main) / "histories" / name[:2]).read_bytes()


def test_the_main_work_tree_names_paths_as_stores_before_it_did(main: Path, tmp_path: Path) -> None:
    """A store written before linked worktrees had names of their own goes on working in the main work
    tree: it names a path by the sha256 of the path alone, in its history and in its records; a linked
    worktree by its git directory's name in the common one (also with the `GIT_DIR` git sets for its
    filters there), and the path, after a NUL."""
    tree = linked(main, tmp_path)
    assert (worktree_name(main), worktree_name(tree)) == ("", "worktrees/w")
    old = hashlib.sha256(b"dir/nb.ipynb").hexdigest()
    assert history.path_name("dir/nb.ipynb") == history.path_name("dir/nb.ipynb", "") == old
    assert history.path_name("dir/nb.ipynb", "worktrees/w") == hashlib.sha256(b"worktrees/w\0dir/nb.ipynb").hexdigest()

    blob = git(main, "rev-parse", f"HEAD:{NAME}").stdout.decode().strip()
    name = hashlib.sha256(NAME.encode()).hexdigest()
    assert f"\n{name} {blob} .".encode() in (store_of(main) / "histories" / name[:2]).read_bytes()
    assert Record.decode((store_of(main) / "notebooks" / blob[:2] / blob).read_bytes()).origin == name


def test_git_dir_as_git_sets_it_for_a_filter_names_the_linked_worktree(main: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """git runs a linked worktree's filters with `GIT_DIR` set to its git directory (and the main work tree's
    without it): the name is the same either way."""
    tree = linked(main, tmp_path)
    monkeypatch.setenv("GIT_DIR", str(main / ".git" / "worktrees" / "w"))
    assert worktree_name(tree) == "worktrees/w"
    monkeypatch.setenv("GIT_DIR", str(main / ".git"))
    assert worktree_name(main) == ""
