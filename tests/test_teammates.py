"""Pairs between real clones: a teammate without nbgit commits one file of a pair (hosting sites run
no hooks either), you edit the other file, and the two meet through a merge, a rebase or a
fast-forward pull. Whatever then syncs the pair (`nbgit sync`, `nbgit check --fix`, the framework's
`nbgit-sync` hook) keeps both edits in both files, and the post-merge hook says the edits merge:
nothing reverts the teammate's commit."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from conftest import git, nbgit
from test_precommit import commit as framework_commit
from test_precommit import use_manifest

from nbgit.notebook import Notebook, parse, serialise
from nbgit.policy import load_policy
from nbgit.twins import twin_text

PLAIN = ("-c", "core.hooksPath=/dev/null")  # the teammate commits without nbgit's hooks
SOURCES = ["# Analysis", "x = 1\ny = 2", "def f(a):\n    return a + 1", "print(f(x))"]
THEIRS = "x = 'teammate'\ny = 2"  # the teammate's edit of cell 2
MINE = "print(f(x) * 'mine')"  # your edit of cell 4


def notebook_bytes(sources: list[str]) -> bytes:
    cells = [{"cell_type": "markdown", "id": "c0", "metadata": {}, "source": sources[0]}]
    cells += [
        {"cell_type": "code", "execution_count": None, "id": f"c{n}", "metadata": {}, "outputs": [], "source": source}
        for n, source in enumerate(sources[1:], 1)
    ]
    metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}, "language_info": {"name": "python", "file_extension": ".py"}}
    return serialise(Notebook({"cells": cells, "metadata": metadata, "nbformat": 4, "nbformat_minor": 5}, 4))


def twin_of(repo: Path, sources: list[str]) -> str:
    return twin_text(parse(notebook_bytes(sources)).content, load_policy(repo), "a.ipynb", "py:percent")


def edit(repo: Path, side: str, cell: int, source: str) -> None:
    """Edit one cell of the pair on one side only: the notebook's JSON, or the twin's text."""
    if side == "notebook":
        notebook = parse((repo / "a.ipynb").read_bytes())
        notebook.content["cells"][cell]["source"] = source
        (repo / "a.ipynb").write_bytes(serialise(notebook))
    else:
        text = (repo / "a.py").read_text()
        old = parse(notebook_bytes(SOURCES)).content["cells"][cell]["source"]
        assert text.count(old) == 1
        (repo / "a.py").write_text(text.replace(old, source))


@pytest.fixture
def clones(tmp_path: Path) -> tuple[Path, Path]:
    """A shared repository with a pair in step, your clone (nbgit installed: filter, driver, hooks)
    and the teammate's (plain git)."""
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    seed = tmp_path / "seed"
    git(tmp_path, "clone", "-q", str(origin), str(seed))
    (seed / ".nbgit.toml").write_text("[pair]\nenabled = true\n")
    (seed / "a.ipynb").write_bytes(notebook_bytes(SOURCES))
    (seed / "a.py").write_text(twin_of(seed, SOURCES))
    git(seed, "add", "-A")
    git(seed, *PLAIN, "commit", "-q", "-m", "a pair in step")
    git(seed, "push", "-q", "origin", "main")
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    for clone in (mine, theirs):
        git(tmp_path, "clone", "-q", str(origin), str(clone))
        git(clone, "config", "pull.rebase", "false")
    done = nbgit(mine, "install")
    assert done.returncode == 0, done.stderr.decode()
    return mine, theirs


def meet(mine: Path, theirs: Path, their_side: str, how: str) -> str:
    """The teammate edits `their_side` and pushes; you edit the other side and integrate with `how`.
    Returns what `git pull` said (the hooks git ran included)."""
    edit(theirs, their_side, 1, THEIRS)
    git(theirs, *PLAIN, "commit", "-q", "-am", f"{their_side} only")
    git(theirs, "push", "-q", "origin", "main")
    edit(mine, "twin" if their_side == "notebook" else "notebook", 3, MINE)
    if how == "ff":
        pulled = git(mine, "pull", "--ff-only")  # your edit is not committed yet
    else:
        git(mine, "commit", "-q", "--no-verify", "-am", "my side only")  # out of step, as a commit without nbgit's hook
        pulled = git(mine, "pull", "--rebase" if how == "rebase" else "--no-rebase", "--no-edit")
    return (pulled.stdout + pulled.stderr).decode()


def assert_both_edits_in_both_files(repo: Path) -> None:
    cells = [c["source"] for c in parse((repo / "a.ipynb").read_bytes()).content["cells"]]
    assert cells == [SOURCES[0], THEIRS, SOURCES[2], MINE], "the notebook keeps the teammate's edit and yours"
    assert (repo / "a.py").read_text() == twin_of(repo, cells), "the twin is the notebook's text"


SIDES = ["notebook", "twin"]
HOWS = ["merge", "rebase", "ff"]


@pytest.mark.parametrize("how", HOWS)
@pytest.mark.parametrize("their_side", SIDES)
def test_sync_keeps_the_teammates_commit(clones: tuple[Path, Path], their_side: str, how: str) -> None:
    mine, theirs = clones
    meet(mine, theirs, their_side, how)
    done = nbgit(mine, "sync")
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    assert done.stdout == b"merged the edits of a.ipynb and a.py (they do not overlap)\n"
    assert_both_edits_in_both_files(mine)


@pytest.mark.parametrize("how", HOWS)
@pytest.mark.parametrize("their_side", SIDES)
def test_check_fix_keeps_the_teammates_commit(clones: tuple[Path, Path], their_side: str, how: str) -> None:
    mine, theirs = clones
    meet(mine, theirs, their_side, how)
    done = nbgit(mine, "check", "--fix", "a.ipynb", env={k: v for k, v in os.environ.items() if k != "CI"})
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    assert "fixed: a.ipynb: it and its twin a.py both changed (the edits merge)" in done.stdout.decode()
    assert_both_edits_in_both_files(mine)


@pytest.mark.parametrize("how", HOWS)
@pytest.mark.parametrize("their_side", SIDES)
def test_the_frameworks_sync_hook_keeps_the_teammates_commit(clones: tuple[Path, Path], their_side: str, how: str) -> None:
    mine, theirs = clones
    (mine / ".git/hooks/pre-commit").unlink()  # only the framework's hook judges the commit
    use_manifest(mine, skip=("nbgit-clean", "nbgit-check", "nbgit-check-install"))
    git(mine, "push", "-q", "origin", "main")  # the framework's config, shared before the story starts
    git(theirs, "pull", "-q")
    meet(mine, theirs, their_side, how)
    (mine / "tool.py").write_text("print('a script of mine')\n")  # a file the hook's pattern selects
    git(mine, "add", "tool.py", "a.ipynb", "a.py")
    code, said = framework_commit(mine)
    assert code == 1 and "merged the edits of a.ipynb and a.py" in said, said  # it wrote both files: the commit waits
    assert_both_edits_in_both_files(mine)
    git(mine, "add", "a.ipynb", "a.py")
    code, said = framework_commit(mine)
    assert code == 0, said
    committed = parse(git(mine, "show", "HEAD:a.ipynb").stdout).content["cells"]
    assert [c["source"] for c in committed] == [SOURCES[0], THEIRS, SOURCES[2], MINE]


def test_a_twin_the_teammates_editor_saved_with_crlf_still_merges(clones: tuple[Path, Path]) -> None:
    """The teammate's editor saves the twin with CRLF line ends along with their edit of cell 2; you
    edit cell 4 of the notebook and pull. Their line ends are layout, not an edit of every line: the
    edits still merge (a conflict there invites `--take`, which drops one of them)."""
    mine, theirs = clones
    edit(theirs, "twin", 1, THEIRS)
    (theirs / "a.py").write_bytes((theirs / "a.py").read_bytes().replace(b"\n", b"\r\n"))
    git(theirs, *PLAIN, "commit", "-q", "-am", "twin only, saved on Windows")
    git(theirs, "push", "-q", "origin", "main")
    edit(mine, "notebook", 3, MINE)
    git(mine, "pull", "-q", "--ff-only")
    done = nbgit(mine, "sync")
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    assert done.stdout == b"merged the edits of a.ipynb and a.py (they do not overlap)\n"
    assert_both_edits_in_both_files(mine)


def test_resolve_never_drops_a_teammates_twin_edit_that_the_notebook_lacks(clones: tuple[Path, Path]) -> None:
    """The teammate edits cell 4 in the twin alone; you edit cell 4 in the notebook and commit the pair
    in step. git merges the notebook cleanly (your side only) and leaves the twin in conflict. `nbgit
    resolve a.ipynb` (which sync's message names) must not write the twin again from the notebook:
    that would throw the teammate's edit away without a word."""
    mine, theirs = clones
    edit(theirs, "twin", 3, THEIRS)
    git(theirs, *PLAIN, "commit", "-q", "-am", "twin only")
    git(theirs, "push", "-q", "origin", "main")
    edit(mine, "notebook", 3, MINE)
    assert nbgit(mine, "sync").returncode == 0
    git(mine, "commit", "-q", "-am", "mine, in step")
    assert git(mine, "pull", "--no-rebase", "--no-edit", check=False).returncode != 0  # a.py in conflict
    done = nbgit(mine, "resolve", "a.ipynb")
    said = done.stdout.decode() + done.stderr.decode()
    assert "a.py: its conflict's theirs side holds edits that a.ipynb lacks" in said and "Traceback" not in said, said
    assert THEIRS in (mine / "a.py").read_text(), "the teammate's edit is still there to resolve"
    assert "a.py: written again" not in said, said


@pytest.mark.parametrize("how", ["merge", "ff"])  # git runs post-merge after a merge and a pull, not a rebase
@pytest.mark.parametrize("their_side", SIDES)
def test_post_merge_says_the_edits_merge(clones: tuple[Path, Path], their_side: str, how: str) -> None:
    mine, theirs = clones
    said = meet(mine, theirs, their_side, how)  # the post-merge hook nbgit install wrote runs inside `git pull`
    assert "after this merge, pairs are out of step" in said, said
    assert "a.ipynb: it and its twin a.py both changed (the edits merge)" in said and "--take" not in said, said
    cells = [c["source"] for c in parse((mine / "a.ipynb").read_bytes()).content["cells"]]
    assert THEIRS in cells or MINE in cells, "the hook writes nothing"
    assert nbgit(mine, "sync").returncode == 0
    assert_both_edits_in_both_files(mine)


def commit_outputs(theirs: Path) -> None:
    """The teammate re-runs the notebook and commits its outputs (plain git stores them), then pushes."""
    notebook = parse((theirs / "a.ipynb").read_bytes())
    notebook.content["cells"][1].update(execution_count=1, outputs=[{"output_type": "stream", "name": "stdout", "text": "ran\n"}])
    (theirs / "a.ipynb").write_bytes(serialise(notebook))
    git(theirs, *PLAIN, "commit", "-q", "-am", "re-run, outputs committed")
    git(theirs, "push", "-q", "origin", "main")


def commit_resaved(theirs: Path, editor: str) -> None:
    """The teammate's editor re-saves the notebook without running it, in its own way, and they push it:
    VS Code adds its interpreter's hash, Colab writes its own indent."""
    content = parse((theirs / "a.ipynb").read_bytes()).content
    if editor == "vscode":
        content["metadata"]["vscode"] = {"interpreter": {"hash": "b0d6" * 16}}
        data = serialise(Notebook(content, 4))
    else:
        data = json.dumps(content, indent=2, sort_keys=True).encode() + b"\n"
    (theirs / "a.ipynb").write_bytes(data)
    git(theirs, *PLAIN, "commit", "-q", "-am", f"re-saved by {editor}")
    git(theirs, "push", "-q", "origin", "main")


def outputs_of(data: bytes) -> list[object]:
    return [cell.get("outputs") for cell in parse(data).content["cells"] if cell["cell_type"] == "code"]


def test_a_teammates_outputs_pulled_are_no_change_of_yours(clones: tuple[Path, Path]) -> None:
    """After you pull a notebook a teammate committed with its outputs, git reads the file it wrote back as
    that very blob, also once touched: nothing of yours changed, so `git status` lists nothing. Your next
    edit of it is stored clean; `nbgit renormalize` stores it clean at once; the outputs stay in the file."""
    mine, theirs = clones
    commit_outputs(theirs)
    git(mine, "pull", "-q", "--ff-only")
    pulled = (mine / "a.ipynb").read_bytes()
    assert outputs_of(pulled)[0], "the teammate's outputs are in the file"
    assert git(mine, "status", "--porcelain", "--untracked-files=no").stdout == b""
    later = (mine / "a.ipynb").stat().st_mtime + 5
    os.utime(mine / "a.ipynb", (later, later))  # touched (an editor's reload, a sync tool): git compares the content
    assert git(mine, "status", "--porcelain", "--untracked-files=no").stdout == b""
    assert git(mine, "diff", "--exit-code").returncode == 0

    assert nbgit(mine, "renormalize").returncode == 0
    assert git(mine, "status", "--porcelain", "--untracked-files=no").stdout == b"M  a.ipynb\n", "staged clean, the file no change"
    git(mine, "commit", "-q", "-m", "store it clean")
    assert git(mine, "status", "--porcelain", "--untracked-files=no").stdout == b""
    assert outputs_of(git(mine, "show", "HEAD:a.ipynb").stdout) == [[], [], []]
    assert (mine / "a.ipynb").read_bytes() == pulled, "the outputs stay in the file"


@pytest.mark.parametrize("editor", ["vscode", "colab"])
def test_a_notebook_a_teammates_editor_resaved_is_no_change_of_yours(clones: tuple[Path, Path], editor: str) -> None:
    mine, theirs = clones
    commit_resaved(theirs, editor)
    git(mine, "pull", "-q", "--ff-only")
    later = (mine / "a.ipynb").stat().st_mtime + 5
    os.utime(mine / "a.ipynb", (later, later))
    assert git(mine, "status", "--porcelain", "--untracked-files=no").stdout == b""


def test_where_the_team_keeps_outputs_a_teammates_counts_are_no_change_of_yours(clones: tuple[Path, Path]) -> None:
    """A policy that keeps outputs still strips execution counts, and the store keeps no outputs there:
    a teammate's commit with counts, pulled, reads back as that blob all the same, and a rebase onto it
    goes through."""
    mine, theirs = clones
    (theirs / ".nbgit.toml").write_text('outputs = "keep"\n[pair]\nenabled = true\n')
    git(theirs, *PLAIN, "commit", "-q", "-am", "keep outputs")
    git(theirs, "push", "-q", "origin", "main")
    git(mine, "pull", "-q", "--ff-only")
    commit_outputs(theirs)
    edit(mine, "notebook", 3, MINE)
    assert nbgit(mine, "sync").returncode == 0
    git(mine, "commit", "-q", "-am", "mine")
    time.sleep(1.02 - time.time() % 1)
    pulled = git(mine, "pull", "--rebase")
    assert pulled.returncode == 0, (pulled.stdout + pulled.stderr).decode()
    assert git(mine, "status", "--porcelain", "--untracked-files=no").stdout == b""
    later = (mine / "a.ipynb").stat().st_mtime + 5
    os.utime(mine / "a.ipynb", (later, later))
    assert git(mine, "status", "--porcelain", "--untracked-files=no").stdout == b""
    assert outputs_of((mine / "a.ipynb").read_bytes())[0], "the outputs the team keeps are in the file"


def test_your_edit_of_a_teammates_notebook_with_outputs_is_stored_clean(clones: tuple[Path, Path]) -> None:
    mine, theirs = clones
    commit_outputs(theirs)
    git(mine, "pull", "-q", "--ff-only")
    edit(mine, "notebook", 3, MINE)
    assert nbgit(mine, "sync").returncode == 0
    assert git(mine, "status", "--porcelain", "--untracked-files=no").stdout == b" M a.ipynb\n M a.py\n"
    git(mine, "commit", "-q", "-am", "mine")
    assert outputs_of(git(mine, "show", "HEAD:a.ipynb").stdout) == [[], [], []]
    assert outputs_of((mine / "a.ipynb").read_bytes())[0], "the file keeps the teammate's outputs"
    assert git(mine, "status", "--porcelain", "--untracked-files=no").stdout == b""


def test_a_rebase_onto_a_teammates_outputs_never_stops_for_a_change_you_did_not_make(clones: tuple[Path, Path]) -> None:
    """`git pull --rebase` checks out the teammate's commit, then applies yours on top of it. The checkout
    wrote the notebook in the same second as the index (racily clean), so git compared it with the index
    through the clean filter; when the teammate's outputs cleaned away made it look modified, the rebase
    stopped on your own commit ("your local changes would be overwritten by merge"), with nothing changed.
    The pull starts at the start of a second, so the checkout falls in one (it almost always does: this
    test fails on nbgit without the fix three times in three)."""
    mine, theirs = clones
    commit_outputs(theirs)
    edit(mine, "notebook", 3, MINE)
    assert nbgit(mine, "sync").returncode == 0
    git(mine, "commit", "-q", "-am", "mine")
    had = (mine / "a.ipynb").read_bytes()
    time.sleep(1.02 - time.time() % 1)
    pulled = git(mine, "pull", "--rebase")
    assert pulled.returncode == 0, (pulled.stdout + pulled.stderr).decode()
    assert git(mine, "log", "--format=%s", "-2").stdout == b"mine\nre-run, outputs committed\n"
    assert git(mine, "status", "--porcelain", "--untracked-files=no").stdout == b""
    assert (mine / "a.ipynb").read_bytes() == had, "the merge is your version (the outputs clean away): you get your file back"
