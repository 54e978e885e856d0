"""A rebase where both branches edited the notebook and its twin (each branch kept its pair in step
with `nbgit sync`), through real git: `git rebase` in one clone and `git pull --rebase` between two.
Edits of different cells end in both files, the pair in step; edits of the same cell stop the rebase
with both files in conflict, each side's edit visible in both, and a way out that keeps them: a side
taken with `nbgit resolve --take`, or the notebook settled by hand and its twin written from it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import git, nbgit

from nbgit.notebook import Notebook, parse, serialise
from nbgit.policy import load_policy
from nbgit.twins import twin_text

SOURCES = ["# Analysis", "x = 1", "y = 2", "z = 3"]
KERNEL = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}, "language_info": {"name": "python", "file_extension": ".py"}}
UPSTREAM, TOPIC = "x = 'upstream'", "x = 'topic'"  # cell 1 edits (the upstream's is already pushed)
OTHER_CELL = "z = 'topic'"  # the topic's edit of cell 3, for edits that do not overlap
EDITOR = {**{k: v for k, v in os.environ.items() if k != "CI"}, "GIT_EDITOR": "true"}


def notebook_bytes(sources: list[str]) -> bytes:
    cells = [{"cell_type": "markdown", "id": "c0", "metadata": {}, "source": sources[0]}]
    cells += [{"cell_type": "code", "execution_count": None, "id": f"c{n}", "metadata": {}, "outputs": [], "source": s} for n, s in enumerate(sources[1:], 1)]
    return serialise(Notebook({"cells": cells, "metadata": KERNEL, "nbformat": 4, "nbformat_minor": 5}, 4))


def cells(repo: Path) -> list[str]:
    return [cell["source"] for cell in parse((repo / "a.ipynb").read_bytes()).content["cells"]]


def twin_of(repo: Path, sources: list[str]) -> str:
    return twin_text(parse(notebook_bytes(sources)).content, load_policy(repo), "a.ipynb", "py:percent")


def commit_pair(repo: Path, edits: dict[int, str], message: str) -> None:
    """Edit cells of the notebook as Jupyter saves them, sync the twin and commit both (nbgit's hooks run)."""
    sources = cells(repo)
    for cell, source in edits.items():
        sources[cell] = source
    (repo / "a.ipynb").write_bytes(notebook_bytes(sources))
    done = nbgit(repo, "sync")
    assert done.returncode == 0 and done.stdout == b"updated a.py from a.ipynb\n", done.stdout + done.stderr
    git(repo, "commit", "-q", "-am", message)


def install(repo: Path) -> None:
    done = nbgit(repo, "install")
    assert done.returncode == 0, done.stderr.decode()


@pytest.fixture
def clones(tmp_path: Path) -> tuple[Path, Path]:
    """A shared repository holding a pair in step and two clones with nbgit installed: yours and the teammate's."""
    origin, seed = tmp_path / "origin.git", tmp_path / "seed"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    git(tmp_path, "clone", "-q", str(origin), str(seed))
    (seed / ".nbgit.toml").write_text("[pair]\nenabled = true\n")
    (seed / "a.ipynb").write_bytes(notebook_bytes(SOURCES))
    (seed / "a.py").write_text(twin_of(seed, SOURCES))
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", "a pair in step")
    git(seed, "push", "-q", "origin", "main")
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    for clone in (mine, theirs):
        git(tmp_path, "clone", "-q", str(origin), str(clone))
        install(clone)
    return mine, theirs


def rebase(clones: tuple[Path, Path], how: str, topic: dict[int, str]) -> tuple[Path, int, str]:
    """The upstream edits cell 1 of the pair; you edit the cells `topic` of yours, then rebase onto it:
    `git rebase main` from a topic branch, or `git pull --rebase` of the teammate's push.
    Returns your clone, the rebase's exit code and what it said."""
    mine, theirs = clones
    if how == "rebase":
        git(mine, "switch", "-q", "-c", "topic")
        commit_pair(mine, topic, "topic")
        git(mine, "switch", "-q", "main")
        commit_pair(mine, {1: UPSTREAM}, "upstream")
        git(mine, "switch", "-q", "topic")
        done = git(mine, "rebase", "main", check=False)
    else:
        commit_pair(theirs, {1: UPSTREAM}, "upstream")
        git(theirs, "push", "-q", "origin", "main")
        commit_pair(mine, topic, "topic")
        done = git(mine, "pull", "--rebase", check=False)
    return mine, done.returncode, (done.stdout + done.stderr).decode()


def assert_in_step(repo: Path, sources: list[str]) -> None:
    assert cells(repo) == sources
    assert (repo / "a.py").read_text() == twin_of(repo, sources), "the twin is the notebook's text"
    done = nbgit(repo, "sync", "--check")
    assert done.returncode == 0, done.stdout + done.stderr
    assert git(repo, "status", "--porcelain", "--untracked-files=no").stdout == b""
    committed = parse(git(repo, "show", "HEAD:a.ipynb").stdout).content["cells"]
    assert [c["source"] for c in committed] == sources and git(repo, "show", "HEAD:a.py").stdout.decode() == twin_of(repo, sources)


HOWS = ["rebase", "pull-rebase"]


@pytest.mark.parametrize("how", HOWS)
def test_edits_of_different_cells_end_in_both_files(clones: tuple[Path, Path], how: str) -> None:
    mine, code, said = rebase(clones, how, {3: OTHER_CELL})
    assert code == 0, said
    assert_in_step(mine, [SOURCES[0], UPSTREAM, SOURCES[2], OTHER_CELL])


@pytest.mark.parametrize("how", HOWS)
def test_edits_of_the_same_cell_stop_with_both_edits_in_both_files(clones: tuple[Path, Path], how: str) -> None:
    mine, code, said = rebase(clones, how, {1: TOPIC, 3: OTHER_CELL})
    assert code != 0 and "CONFLICT (content): Merge conflict in a.py" in said, said
    assert ("or take one side whole, dropping the other side's edits everywhere: `nbgit resolve a.ipynb --take local|remote`"
            in said), said  # the merge driver names the ways out, and what taking a side costs
    assert git(mine, "diff", "--name-only", "--diff-filter=U").stdout == b"a.ipynb\na.py\n"
    marked = cells(mine)[1]  # the notebook stays valid JSON, the conflict inside the cell
    assert UPSTREAM in marked and TOPIC in marked and "<<<<<<<" in marked, marked
    assert cells(mine)[3] == OTHER_CELL, "the edit that does not overlap is merged already"
    twin = (mine / "a.py").read_text()
    assert UPSTREAM in twin and TOPIC in twin and "<<<<<<<" in twin and OTHER_CELL in twin
    check = nbgit(mine, "check", "a.ipynb", env=EDITOR)
    assert check.returncode == 1 and "a.ipynb cell 2: merge conflict marker" in check.stdout.decode(), check.stdout + check.stderr


@pytest.mark.parametrize("how", HOWS)
def test_resolve_take_remote_settles_both_files_and_the_rebase_goes_on(clones: tuple[Path, Path], how: str) -> None:
    """In a rebase, `remote` is the commit being replayed: taken whole, it holds both of its edits,
    and the upstream's only edit was the cell in conflict. (`--take local` would take the upstream's
    notebook whole, dropping the topic's edit of cell 3 too, as README says `--take` does.)"""
    mine, code, said = rebase(clones, how, {1: TOPIC, 3: OTHER_CELL})
    assert code != 0, said
    done = nbgit(mine, "resolve", "a.ipynb", "--take", "remote")
    assert done.returncode == 0, done.stdout + done.stderr
    continue_rebase(mine)
    assert_in_step(mine, [SOURCES[0], TOPIC, SOURCES[2], OTHER_CELL])
    assert git(mine, "show", "HEAD~1:a.ipynb").stdout.decode().count(UPSTREAM) == 1, "the upstream's edit stays in its commit"


def continue_rebase(repo: Path) -> None:
    """Stage the pair as it is now and let the rebase go on (it must)."""
    git(repo, "add", "a.ipynb", "a.py")
    done = git(repo, "-c", "core.editor=true", "rebase", "--continue", check=False)
    assert done.returncode == 0, (done.stdout + done.stderr).decode()


def settle_by_hand(repo: Path, source: str) -> None:
    """Settle the conflict of cell 1 in Jupyter: the markers gone, `source` kept."""
    notebook = json.loads((repo / "a.ipynb").read_bytes())
    notebook["cells"][1]["source"] = source
    (repo / "a.ipynb").write_text(json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n")


@pytest.mark.parametrize("how", HOWS)
def test_a_notebook_settled_by_hand_keeps_both_edits_and_its_twin_follows(clones: tuple[Path, Path], how: str) -> None:
    """You settle the cell in Jupyter keeping both lines; the twin, still marked, is not taken by sync
    (markers never go into a notebook): sync names the ways out, and the notebook's side is taken."""
    mine, code, said = rebase(clones, how, {1: TOPIC, 3: OTHER_CELL})
    assert code != 0, said
    both = f"{UPSTREAM}\n{TOPIC}"
    settle_by_hand(mine, both)
    synced = nbgit(mine, "sync")
    said = (synced.stdout + synced.stderr).decode()
    assert synced.returncode == 1 and "a.py holds conflict markers, which nbgit sync never copies" in said, said
    assert "nbgit sync --take notebook a.ipynb" in said and "--take text" not in said, said
    done = nbgit(mine, "sync", "--take", "notebook", "a.ipynb")
    assert done.returncode == 0, done.stdout + done.stderr
    continue_rebase(mine)
    assert_in_step(mine, [SOURCES[0], both, SOURCES[2], OTHER_CELL])


def test_take_text_of_a_twin_still_in_conflict_says_why_it_is_refused(clones: tuple[Path, Path]) -> None:
    """Sync offered `--take text` for that conflict, then ignored it without a word (markers are never
    copied into a notebook): now it names the markers and the ways that work."""
    mine, code, said = rebase(clones, "rebase", {1: TOPIC, 3: OTHER_CELL})
    assert code != 0, said
    settle_by_hand(mine, f"{UPSTREAM}\n{TOPIC}")
    before = (mine / "a.ipynb").read_bytes()
    done = nbgit(mine, "sync", "--take", "text", "a.ipynb")
    said = (done.stdout + done.stderr).decode()
    assert done.returncode == 1 and "a.py holds conflict markers" in said and "nbgit resolve a.ipynb" in said, said
    assert (mine / "a.ipynb").read_bytes() == before
