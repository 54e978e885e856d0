"""`nbgit resolve` on notebooks broken by real conflicting `git merge`s made without nbgit's driver."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import nbformat
import pytest
from conftest import CORPUS, copy_in, git, nbgit
from test_merge import branches, code_sources, dev_notebooks, edited, has_conflict_marks, tagged_notebook, unmerged, validate, wire_driver

from nbgit.clean import clean_bytes
from nbgit.notebook import cells, has_conflict_markers, source_of
from nbgit.policy import Policy

FILES = CORPUS / "peer" / "nbdime" / "files"
CONFLICT_CASES = ["inline-conflict", "source-conflict", "mixed-conflicts", "output-conflict"]


def conflicted_merge(repo: Path, style: str = "merge") -> dict[str, tuple[bytes, bytes, bytes]]:
    """nbdime's conflict fixtures and two dev notebooks merged by git's text merge into conflict markers."""
    git(repo, "config", "merge.conflictStyle", style)
    sides = {f"{case}.ipynb": tuple((FILES / f"{case}--{i}.ipynb").read_bytes() for i in (1, 2, 3)) for case in CONFLICT_CASES}
    for path in dev_notebooks(2):
        data = path.read_bytes()
        sides[path.name] = (data, edited(data, {1: "mine = 1"}, rerun=3), edited(data, {1: "theirs = 2"}, rerun=9))
    branches(repo, *({name: triplet[i] for name, triplet in sides.items()} for i in range(3)))
    assert git(repo, "merge", "--no-edit", "other", check=False).returncode == 1
    assert unmerged(repo) == set(sides)
    for name in sides:
        assert has_conflict_markers((repo / name).read_bytes())
    return sides


@pytest.mark.parametrize("style", ["merge", "diff3"])
def test_resolve_after_a_real_conflicting_merge_without_the_driver(repo: Path, style: str) -> None:
    sides = conflicted_merge(repo, style)
    for name in sides:
        done = nbgit(repo, "resolve", name)
        assert done.returncode in (0, 1), done.stderr.decode()
        assert b"Traceback" not in done.stderr
        repaired = (repo / name).read_bytes()
        validate(repaired)
        assert (done.returncode == 1) == has_conflict_marks(repaired), name
    # the dev notebooks: the same line edited differently, marked inside the one cell
    for name in list(sides)[-2:]:
        conflicted = [s for s in code_sources((repo / name).read_bytes()) if "<<<<<<< local" in s]
        assert len(conflicted) == 1 and "mine = 1" in conflicted[0] and "theirs = 2" in conflicted[0]


@pytest.mark.parametrize("take", ["local", "remote", "base"])
def test_resolve_takes_one_side_whole(repo: Path, take: str) -> None:
    sides = conflicted_merge(repo)
    stage = {"base": 0, "local": 1, "remote": 2}[take]
    for name, triplet in sides.items():
        done = nbgit(repo, "resolve", name, "--take", take)
        assert done.returncode == 0, done.stderr.decode()
        assert (repo / name).read_bytes() == clean_bytes(triplet[stage], name, Policy())


@pytest.mark.corpus
def test_resolve_from_markers_alone_outside_a_merge(tmp_path: Path) -> None:
    """Files broken long ago (committed with markers): only the markers are left to rebuild from."""
    broken = sorted((CORPUS / "bad_inputs" / "derived").glob("*.git-merge-file.ipynb"))
    broken.append(CORPUS / "bad_inputs" / "jupyter-widgets+ipywidgets" / "tests" / "test_imagemap.ipynb")
    assert len(broken) == 5
    for index, source in enumerate(broken):
        target = copy_in(source, tmp_path, f"broken{index}.ipynb")
        done = nbgit(tmp_path, "resolve", target.name)
        assert done.returncode in (0, 1), done.stderr.decode()
        repaired = target.read_bytes()
        validate(repaired)
        assert not has_conflict_markers(repaired)  # git's markers are gone from the JSON itself
        assert (done.returncode == 1) == has_conflict_marks(repaired)
    # ipywidgets' committed conflict: both image lines survive, inside the one cell
    sources = [c.source for c in nbformat.reads(target.read_text(), as_version=4).cells]
    assert any("magician-penguin-hi.png" in s and "flocon.png" in s and "<<<<<<< local" in s for s in sources)


def test_resolve_take_local_from_markers(tmp_path: Path) -> None:
    target = copy_in(CORPUS / "bad_inputs" / "derived" / "source-conflict.git-merge-file.ipynb", tmp_path, "s.ipynb")
    assert nbgit(tmp_path, "resolve", "s.ipynb", "--take", "local").returncode == 0
    assert target.read_bytes() == clean_bytes((FILES / "source-conflict--2.ipynb").read_bytes(), "s.ipynb", Policy())
    assert nbgit(tmp_path, "resolve", "s.ipynb", "--take", "local").returncode == 2  # nothing left to rebuild from
    done = nbgit(tmp_path, "resolve", "s.ipynb")
    assert done.returncode == 0 and b"nothing to repair" in done.stderr


def test_resolve_refuses_when_a_side_is_not_json(tmp_path: Path) -> None:
    broken = b'{\n "cells": [\n<<<<<<< HEAD\n  {"cell_type": "markdown", "metadata": {}, "source": "a"}\n=======\n  {"cell_type": \n>>>>>>> other\n ],\n "metadata": {}, "nbformat": 4, "nbformat_minor": 4\n}\n'
    (tmp_path / "b.ipynb").write_bytes(broken)
    done = nbgit(tmp_path, "resolve", "b.ipynb")
    assert done.returncode == 2
    message = done.stderr.decode()
    assert "cannot rebuild" in message and "remote side" in message and "hint:" in message and "Traceback" not in message
    assert (tmp_path / "b.ipynb").read_bytes() == broken  # nothing written


def test_resolve_refuses_unclosed_markers(tmp_path: Path) -> None:
    (tmp_path / "u.ipynb").write_bytes(b'{\n<<<<<<< HEAD\n "cells": []\n}\n')
    done = nbgit(tmp_path, "resolve", "u.ipynb")
    assert done.returncode == 2 and b"never closed" in done.stderr


def paired_repo(repo: Path, policy: bool = True) -> None:
    """A notebook with its py:percent twin, committed in step, the driver wired; branch `other` from there.
    Without `policy`, the pair is one `nbgit pair` made: `[pair] enabled` is not set."""
    if policy:
        (repo / ".nbgit.toml").write_text("[pair]\nenabled = true\n")
    wire_driver(repo)
    copy_in(FILES / "multilevel-test-base.ipynb", repo, "nb.ipynb")
    assert nbgit(repo, "clean", "nb.ipynb").returncode == 0
    assert nbgit(repo, "pair", "nb.ipynb").returncode == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "paired")


def edit_and_sync(repo: Path, branch: str, edits: dict[int, str]) -> None:
    """On `branch`: edit the notebook as Jupyter would, let `nbgit sync` update the twin, commit both."""
    git(repo, "checkout", "-q", "-B", branch)
    (repo / "nb.ipynb").write_bytes(edited((repo / "nb.ipynb").read_bytes(), edits))
    assert nbgit(repo, "sync", "nb.ipynb").returncode == 0
    git(repo, "commit", "-q", "-am", branch)


def test_twin_and_notebook_merged_together_stay_in_step(repo: Path) -> None:
    paired_repo(repo)
    edit_and_sync(repo, "other", {3: "theirs = 2"})
    git(repo, "checkout", "-q", "main")
    edit_and_sync(repo, "main", {0: "mine = 1"})
    assert git(repo, "merge", "--no-edit", "other", check=False).returncode == 0
    assert nbgit(repo, "sync", "--check", "nb.ipynb").returncode == 0
    assert "mine = 1" in (repo / "nb.py").read_text() and "theirs = 2" in (repo / "nb.py").read_text()


def test_twin_conflict_is_rewritten_from_the_resolved_notebook(repo: Path) -> None:
    paired_repo(repo)
    edit_and_sync(repo, "other", {1: "value = 'remote'"})
    git(repo, "checkout", "-q", "main")
    edit_and_sync(repo, "main", {1: "value = 'local'"})
    assert git(repo, "merge", "--no-edit", "other", check=False).returncode == 1
    assert unmerged(repo) == {"nb.ipynb", "nb.py"}
    twin = (repo / "nb.py").read_text()  # git's text merge of the twin, with the labels the driver gave the notebook
    assert "<<<<<<< HEAD" in twin and ">>>>>>> other" in twin
    notebook = (repo / "nb.ipynb").read_text()  # the driver's markers (here marker cells) carry the same labels
    assert "<<<<<<< HEAD" in notebook and ">>>>>>> other" in notebook and "local</b>" not in notebook
    done = nbgit(repo, "resolve", "nb.ipynb")  # the driver's notebook is valid: only the twin is rewritten
    assert done.returncode == 1 and b"nb.py: written again from nb.ipynb" in done.stderr
    twin = (repo / "nb.py").read_text()
    assert twin.count("<<<<<<< HEAD") == 1 and "|||||||" not in twin  # the notebook's conflict, in the notebook's words
    assert twin.index("value = 'local'") < twin.index("=======") < twin.index("value = 'remote'")
    done = nbgit(repo, "resolve", "nb.ipynb", "--take", "remote")
    assert done.returncode == 0 and b"then `git add nb.ipynb nb.py`" in done.stderr, done.stderr.decode()  # both files it wrote
    assert "value = 'remote'" in (repo / "nb.py").read_text() and "<<<<<<<" not in (repo / "nb.py").read_text()
    git(repo, "add", "nb.ipynb", "nb.py")
    assert nbgit(repo, "sync", "--check", "nb.ipynb").returncode == 0
    checked = nbgit(repo, "check", "nb.ipynb")
    assert checked.returncode == 0, checked.stdout.decode() + checked.stderr.decode()


def test_a_pair_merged_without_the_driver_names_both_files_to_add(repo: Path) -> None:
    """A clone where git's text merge (not nbgit's driver) merged the notebook: resolve rebuilds it, keeps the
    conflict inside it, writes the twin again and names both files for `git add`, never the notebook alone."""
    paired_repo(repo)
    (repo / ".git" / "info" / "attributes").write_text("*.ipynb merge\n")  # git's own text merge, as without nbgit
    edit_and_sync(repo, "other", {1: "value = 'remote'"})
    git(repo, "checkout", "-q", "main")
    edit_and_sync(repo, "main", {1: "value = 'local'"})
    assert git(repo, "merge", "--no-edit", "other", check=False).returncode == 1
    assert has_conflict_markers((repo / "nb.ipynb").read_bytes())
    done = nbgit(repo, "resolve", "nb.ipynb")
    said = done.stderr.decode()
    assert done.returncode == 1 and "nb.py: written again from nb.ipynb" in said, said
    assert "its twin nb.py holds the same conflicts" in said and "`git add nb.ipynb nb.py`" in said, said
    assert "value = 'local'" in (repo / "nb.py").read_text() and "value = 'remote'" in (repo / "nb.py").read_text()


def test_a_pair_made_without_the_policy_is_resolved_and_markers_are_never_synced(repo: Path) -> None:
    """`nbgit pair` without `[pair] enabled`: resolve still writes the twin again, and sync never
    copies conflict markers from one file of the pair into the other."""
    paired_repo(repo, policy=False)
    edit_and_sync(repo, "other", {1: "value = 'remote'"})
    git(repo, "checkout", "-q", "main")
    edit_and_sync(repo, "main", {1: "value = 'local'"})
    assert git(repo, "merge", "--no-edit", "other", check=False).returncode == 1
    assert b"<<<<<<< HEAD" in (repo / "nb.py").read_bytes()
    files = (repo / "nb.ipynb").read_bytes(), (repo / "nb.py").read_bytes()
    for args in (("sync",), ("sync", "--take", "text", "nb.ipynb"), ("check", "--fix", "nb.ipynb")):
        done = nbgit(repo, *args)
        assert done.returncode == 1 and b"conflict markers" in done.stdout, done.stdout.decode() + done.stderr.decode()
        assert ((repo / "nb.ipynb").read_bytes(), (repo / "nb.py").read_bytes()) == files, args
    done = nbgit(repo, "resolve", "nb.ipynb")
    assert done.returncode == 1 and b"nb.py: written again from nb.ipynb" in done.stderr
    twin = (repo / "nb.py").read_text()
    assert twin != files[1] and "<<<<<<< HEAD" in twin  # the notebook's conflict (with git's labels), not git's text merge
    (repo / "nb.ipynb").write_bytes(edited((repo / "nb.ipynb").read_bytes(), {3: "more = 3"}))  # an edit elsewhere
    done = nbgit(repo, "sync")  # the notebook side still holds its conflict: not copied either
    assert done.returncode == 1 and b"nb.ipynb holds conflict markers" in done.stdout and b"resolve the conflicts in Jupyter" in done.stdout
    assert (repo / "nb.py").read_text() == twin
    assert nbgit(repo, "resolve", "nb.ipynb", "--take", "remote").returncode == 0
    assert "value = 'remote'" in (repo / "nb.py").read_text() and "<<<<<<<" not in (repo / "nb.py").read_text()
    assert nbgit(repo, "sync", "--check", "nb.ipynb").returncode == 0


def one_cell_notebook(source: str) -> bytes:
    cell = {"cell_type": "code", "execution_count": None, "id": "c1", "metadata": {}, "outputs": [], "source": [source]}
    return (json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1) + "\n").encode()


def test_take_after_git_add_names_the_conflict_and_how_to_get_the_sides_back(repo: Path) -> None:
    """The driver marks a conflict inside a cell; once `git add` (or a GUI's "mark resolved") settled the
    path, git's index no longer holds the sides to take one from: resolve names the conflict and
    `git checkout -m`, which brings them back, and takes a side after it."""
    wire_driver(repo)
    branches(repo, {"nb.ipynb": one_cell_notebook("value = 1")}, {"nb.ipynb": one_cell_notebook("value = 'local'")},
             {"nb.ipynb": one_cell_notebook("value = 'remote'")})
    assert git(repo, "merge", "--no-edit", "other", check=False).returncode == 1
    git(repo, "add", "nb.ipynb")
    listed = nbgit(repo, "resolve", "nb.ipynb")
    assert listed.returncode == 1 and "hint: edit them in Jupyter; or, while the merge is going on, `git checkout -m -- nb.ipynb`" in listed.stderr.decode()
    done = nbgit(repo, "resolve", "nb.ipynb", "--take", "local")
    assert done.returncode == 2 and done.stderr.decode().splitlines() == [
        "nbgit: error: nb.ipynb: conflicts are marked inside it (cell 1: source), but git no longer holds its sides to take one from (it was `git add`-ed)",
        "hint: while the merge is going on, `git checkout -m -- nb.ipynb` brings them back, then `nbgit resolve nb.ipynb --take local`; or edit the marked places in Jupyter",
    ]
    git(repo, "checkout", "-m", "--", "nb.ipynb")
    assert nbgit(repo, "resolve", "nb.ipynb", "--take", "local").returncode == 0
    assert code_sources((repo / "nb.ipynb").read_bytes()) == ["value = 'local'"]


@pytest.mark.parametrize("take", [None, "local", "remote"])
def test_a_notebook_deleted_on_one_side_is_named_as_such_with_the_way_out(repo: Path, take: str | None) -> None:
    """Modify/delete: git leaves the changed side in the work tree, no markers, the path unmerged.
    resolve said "nothing to repair" (exit 0), or "not in conflict" with --take, while `git status`
    lists it as deleted by them; it says what happened and the two ways out instead."""
    wire_driver(repo)
    branches(repo, {"nb.ipynb": one_cell_notebook("value = 1")}, {"nb.ipynb": one_cell_notebook("value = 'local'")}, {"nb.ipynb": None})
    assert git(repo, "merge", "--no-edit", "other", check=False).returncode == 1
    done = nbgit(repo, "resolve", "nb.ipynb", *(["--take", take] if take else []))
    assert done.returncode == 2 and done.stderr.decode().splitlines() == [
        "nbgit: error: nb.ipynb: deleted (or renamed) on their side of the merge and changed on ours: there is no second notebook to merge it with",
        "hint: keep it as the work tree has it: `git add nb.ipynb`; or delete it: `git rm nb.ipynb`",
    ]
    assert code_sources((repo / "nb.ipynb").read_bytes()) == ["value = 'local'"]


def rebase_stopped_on_one_cell(repo: Path) -> str:
    """Branch `other` edits cell a; main (upstream) edits cells a and b; `other` rebased onto main stops
    on cell a, the driver having merged cell b: what the rebase said."""
    wire_driver(repo)
    branches(repo, {"nb.ipynb": tagged_notebook([("a", "a = 0", []), ("b", "b = 0", [])])},
             {"nb.ipynb": tagged_notebook([("a", "a = upstream", []), ("b", "b = upstream", [])])},
             {"nb.ipynb": tagged_notebook([("a", "a = mine", []), ("b", "b = 0", [])])})
    git(repo, "checkout", "-q", "other")
    rebase = git(repo, "rebase", "main", check=False)
    assert rebase.returncode == 1
    return rebase.stderr.decode()


def test_take_says_when_it_drops_the_other_sides_edits_that_merged_cleanly(repo: Path) -> None:
    """A rebase stops on one cell edited on both sides; upstream also edited another cell, which the
    driver merged. `--take remote` (the commit being replayed, as the driver's hint offers next to
    "edit the marked places") takes that side whole, so upstream's other edit goes too, and the
    rebased commit silently reverts it. resolve says so; the hints say `--take` takes a whole side."""
    said = rebase_stopped_on_one_cell(repo)
    assert "or take one side whole, dropping the other side's edits everywhere: `nbgit resolve nb.ipynb --take local|remote`" in said
    assert "b = upstream" in code_sources((repo / "nb.ipynb").read_bytes())  # merged, until a side is taken whole
    done = nbgit(repo, "resolve", "nb.ipynb", "--take", "remote")
    assert done.returncode == 0
    assert done.stderr.decode().splitlines()[0] == (
        "nbgit: nb.ipynb: took remote whole: the edits local made are not in it, also those that merged without conflict; review it, then `git add nb.ipynb`"
    )
    assert code_sources((repo / "nb.ipynb").read_bytes()) == ["a = mine", "b = 0"]
    git(repo, "checkout", "-m", "--", "nb.ipynb")
    assert "took local whole: the edits remote made" in nbgit(repo, "resolve", "nb.ipynb", "--take", "local").stderr.decode()


def notebook_of(cells: list[tuple[str, str]], metadata: dict[str, object] | None = None, outputs: dict[str, str] | None = None) -> bytes:
    """nbformat 4.5 code cells (id, source), with the notebook's metadata and a printed output for the cells named in `outputs`."""
    printed = outputs or {}
    content = {
        "cells": [
            {"cell_type": "code", "execution_count": None, "id": ident, "metadata": {}, "source": source,
             "outputs": [{"name": "stdout", "output_type": "stream", "text": printed[ident]}] if ident in printed else []}
            for ident, source in cells
        ],
        "metadata": metadata or {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return (json.dumps(content, indent=1, sort_keys=True) + "\n").encode()


def prefer_case(repo: Path, driver: bool = True) -> None:
    """Both sides edit one line of cell a differently, and the notebook's title; local also edits cell b,
    remote cell c and line 3 of cell a, and adds cell d: main and other, merged into conflict."""
    if driver:
        wire_driver(repo)
    base = notebook_of([("a", "x = 1\ny = 2\nz = 3"), ("b", "b = 0"), ("c", "c = 0")], {"title": "base"})
    local = notebook_of([("a", "x = 'local'\ny = 2\nz = 3"), ("b", "b = 'local'"), ("c", "c = 0")], {"title": "local"})
    remote = notebook_of([("a", "x = 'remote'\ny = 2\nz = 'remote'"), ("b", "b = 0"), ("c", "c = 'remote'"), ("d", "d = 'remote'")],
                         {"title": "remote"})
    branches(repo, {"nb.ipynb": base}, {"nb.ipynb": local}, {"nb.ipynb": remote})
    assert git(repo, "merge", "--no-edit", "other", check=False).returncode == 1


@pytest.mark.parametrize("driver", [True, False], ids=["driver", "git's text merge"])
@pytest.mark.parametrize("prefer", ["local", "remote"])
def test_prefer_settles_each_conflict_one_way_and_keeps_the_other_edits(repo: Path, prefer: str, driver: bool) -> None:
    """A merge the driver marked inside the notebook (or git's text merge broke): `--prefer` settles the
    source line and the metadata key both sides changed that side's way; every other edit of both sides
    stays, which `--take` would drop; the result has no conflict left, and the commit goes through."""
    prefer_case(repo, driver)
    done = nbgit(repo, "resolve", "nb.ipynb", "--prefer", prefer)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stderr.decode().splitlines() == [
        f"nbgit: nb.ipynb: merged cell by cell, 2 conflicts settled {prefer}'s way, keeping the other edits; review it, then `git add nb.ipynb`",
        "  notebook metadata: title changed differently on both sides",
        "  cell 1: source",
    ]
    data = (repo / "nb.ipynb").read_bytes()
    validate(data)
    assert not has_conflict_marks(data)
    assert code_sources(data) == [f"x = '{prefer}'\ny = 2\nz = 'remote'", "b = 'local'", "c = 'remote'", "d = 'remote'"]
    assert json.loads(data)["metadata"] == {"title": prefer}
    git(repo, "add", "nb.ipynb")
    git(repo, "commit", "-q", "--no-edit")
    assert nbgit(repo, "check", "--all").returncode == 0


def test_prefer_settles_a_stretch_of_cells_and_a_deletion_that_side_s_way(repo: Path) -> None:
    """Cells inserted at one place on both sides (with outputs), and a cell deleted on one side and edited
    on the other: the plain merge frames both sides' new cells with marker cells and notes the deletion
    in the cell; `--prefer` takes the chosen side's cells and deletion (or edit), and the other side's
    edit of the first cell stays."""
    wire_driver(repo)
    base = notebook_of([("a", "a = 0"), ("m", "m = 0"), ("b", "b = 0"), ("z", "z = 0")])
    local = notebook_of([("a", "a = 0"), ("l", "mine = 1"), ("m", "m = 0"), ("z", "z = 0")], outputs={"l": "1\n"})
    remote = notebook_of([("a", "a = 'remote'"), ("r", "theirs = 2"), ("m", "m = 0"), ("b", "b = 'remote'"), ("z", "z = 0")], outputs={"r": "2\n"})
    branches(repo, {"nb.ipynb": base}, {"nb.ipynb": local}, {"nb.ipynb": remote})
    assert git(repo, "merge", "--no-edit", "other", check=False).returncode == 1
    marked = code_sources((repo / "nb.ipynb").read_bytes())
    assert "<<<<<<< LOCAL CELL DELETED >>>>>>>\nb = 'remote'" in marked and "mine = 1" in marked and "theirs = 2" in marked
    expected = {"local": ["a = 'remote'", "mine = 1", "m = 0", "z = 0"], "remote": ["a = 'remote'", "theirs = 2", "m = 0", "b = 'remote'", "z = 0"]}
    for prefer in ("local", "remote"):
        done = nbgit(repo, "resolve", "nb.ipynb", "--prefer", prefer)
        assert done.returncode == 0, done.stderr.decode()
        data = (repo / "nb.ipynb").read_bytes()
        assert not has_conflict_marks(data) and code_sources(data) == expected[prefer], prefer
        git(repo, "checkout", "-m", "--", "nb.ipynb")


def test_prefer_in_a_rebase_keeps_upstream_s_other_edit(repo: Path) -> None:
    """The rebase `--take` drops upstream's cleanly merged edit in (see above): `--prefer remote` keeps
    the replayed commit's line where both changed it, and upstream's edit of the other cell."""
    said = rebase_stopped_on_one_cell(repo)
    assert "or settle each conflict one way, keeping the other edits: `nbgit resolve nb.ipynb --prefer local|remote`" in said
    assert nbgit(repo, "resolve", "nb.ipynb", "--prefer", "remote").returncode == 0
    assert code_sources((repo / "nb.ipynb").read_bytes()) == ["a = mine", "b = upstream"]
    git(repo, "add", "nb.ipynb")
    assert git(repo, "-c", "core.editor=true", "rebase", "--continue").returncode == 0


def test_prefer_after_git_add_names_the_way_to_get_the_sides_back(repo: Path) -> None:
    prefer_case(repo)
    git(repo, "add", "nb.ipynb")
    done = nbgit(repo, "resolve", "nb.ipynb", "--prefer", "local")
    assert done.returncode == 2 and done.stderr.decode().splitlines() == [
        ("nbgit: error: nb.ipynb: conflicts are marked inside it (notebook metadata: title changed differently on both sides (local's kept; "
         "remote's under nbgit-remote-metadata)), but git no longer holds its sides to settle them with (it was `git add`-ed)"),
        ("hint: while the merge is going on, `git checkout -m -- nb.ipynb` brings them back, then `nbgit resolve nb.ipynb --prefer local`; "
         "or edit the marked places in Jupyter"),
    ]
    assert nbgit(repo, "resolve", "nb.ipynb", "--take", "local", "--prefer", "local").returncode == 2  # one or the other


def test_prefer_leaves_conflicts_marked_where_settling_would_drop_a_line_merged_without_conflict() -> None:
    """The guard: a settled merge that lost a line the plain merge kept outside its conflicts is refused,
    and the marked merge comes back with the reason."""
    from nbgit.merge import MergeResult
    from nbgit.repair import _settled

    marked = MergeResult(notebook_of([("a", "<<<<<<< local\nx = 1\n=======\nx = 2\n>>>>>>> remote\nkept = 1")]), ["cell 1: source"], "cell by cell")
    whole = MergeResult(notebook_of([("a", "x = 1\nkept = 1")]), [], "cell by cell")
    assert _settled(marked, whole, "local", 7).settled == ["cell 1: source"]
    lossy = _settled(marked, MergeResult(notebook_of([("a", "x = 1")]), [], "cell by cell"), "local", 7)
    assert lossy.data == marked.data and lossy.conflicts == marked.conflicts
    assert lossy.notes == ["settling the conflicts local's way would drop 'kept = 1', which merged without conflict; they are marked instead"]


@pytest.mark.corpus
@pytest.mark.parametrize("prefer", ["local", "remote"])
def test_prefer_on_nbdime_s_conflict_fixtures_and_dev_notebooks_keeps_every_line_that_side_added(repo: Path, prefer: str) -> None:
    """nbdime's conflict fixtures and two dev notebooks broken by git's text merge: `--prefer` gives a valid
    notebook, without a conflict mark where it says it settled them all, holding every source line the
    preferred side added to the base (counted as a multiset, over the whole notebook)."""
    sides = conflicted_merge(repo)
    stage = {"local": 1, "remote": 2}[prefer]
    settled = 0
    for name, triplet in sides.items():
        done = nbgit(repo, "resolve", name, "--prefer", prefer)
        assert done.returncode in (0, 1) and b"Traceback" not in done.stderr, done.stderr.decode()
        result = (repo / name).read_bytes()
        validate(result)
        assert (done.returncode == 1) == has_conflict_marks(result), name
        if done.returncode == 0:
            lines = [Counter(line for source in all_sources(side) for line in source.splitlines() if line.strip()) for side in (triplet[0], triplet[stage], result)]
            added = lines[1] - lines[0]
            assert added and not added - lines[2], name
            settled += 1
    assert settled == len(sides)  # (each one settled: none left marked)


def all_sources(data: bytes) -> list[str]:
    return [source_of(cell) for cell in cells(json.loads(data))]


def test_resolve_without_a_path_takes_every_notebook_git_lists_as_unmerged(repo: Path) -> None:
    """After a merge that conflicts in several notebooks (one of them in a folder), `nbgit resolve
    --prefer remote` settles them all; a file that is no notebook is left to git; one that cannot be
    resolved is named and the others are still done (exit 2); outside a conflict it says there is none."""
    wire_driver(repo)
    (repo / "sub").mkdir()
    sides: list[dict[str, bytes | None]] = [
        {"a.ipynb": notebook_of([("c", f"x = {value}")]), "sub/b.ipynb": notebook_of([("c", f"y = {value}")]), "notes.txt": value.encode()}
        for value in ("0", "'local'", "'remote'")
    ]
    sides[0]["sub/gone.ipynb"], sides[1]["sub/gone.ipynb"], sides[2]["sub/gone.ipynb"] = notebook_of([("c", "g = 0")]), notebook_of([("c", "g = 1")]), None
    branches(repo, *sides)
    assert git(repo, "merge", "--no-edit", "other", check=False).returncode == 1
    assert unmerged(repo) == {"a.ipynb", "sub/b.ipynb", "sub/gone.ipynb", "notes.txt"}
    done = nbgit(repo, "resolve", "--prefer", "remote")
    assert done.returncode == 2, done.stderr.decode()
    assert "nbgit: error: sub/gone.ipynb: deleted (or renamed) on their side of the merge" in done.stderr.decode()
    assert code_sources((repo / "a.ipynb").read_bytes()) == ["x = 'remote'"]
    assert code_sources((repo / "sub" / "b.ipynb").read_bytes()) == ["y = 'remote'"]
    assert has_conflict_markers((repo / "notes.txt").read_bytes())
    git(repo, "rm", "-q", "sub/gone.ipynb")
    git(repo, "add", "a.ipynb", "sub/b.ipynb", "notes.txt")
    git(repo, "commit", "-q", "--no-edit")
    idle = nbgit(repo / "sub", "resolve")
    assert idle.returncode == 2 and idle.stderr.decode().splitlines()[0] == "nbgit: error: no notebook is in conflict here (git lists none as unmerged)"


@pytest.mark.corpus
def test_prefer_writes_the_conflicted_twin_again_from_the_settled_notebook(repo: Path) -> None:
    """A pair both sides edited in one cell, and remote in another too: `--prefer local` settles the
    notebook's conflict, keeps remote's other edit, and writes the twin (in conflict by git's text merge)
    again from it; both files staged, the pair is in step and the check passes."""
    paired_repo(repo)
    edit_and_sync(repo, "other", {1: "value = 'remote'", 4: "other_edit = 3"})
    git(repo, "checkout", "-q", "main")
    edit_and_sync(repo, "main", {1: "value = 'local'"})
    assert git(repo, "merge", "--no-edit", "other", check=False).returncode == 1
    assert unmerged(repo) == {"nb.ipynb", "nb.py"}
    done = nbgit(repo, "resolve", "--prefer", "local")
    assert done.returncode == 0 and b"then `git add nb.ipynb nb.py`" in done.stderr, done.stderr.decode()
    sources = "\n".join(code_sources((repo / "nb.ipynb").read_bytes()))
    assert "value = 'local'" in sources and "value = 'remote'" not in sources and "other_edit = 3" in sources
    twin = (repo / "nb.py").read_text()
    assert "<<<<<<<" not in twin and "value = 'local'" in twin and "other_edit = 3" in twin
    git(repo, "add", "nb.ipynb", "nb.py")
    assert nbgit(repo, "sync", "--check", "nb.ipynb").returncode == 0
    checked = nbgit(repo, "check", "nb.ipynb")
    assert checked.returncode == 0, checked.stdout.decode() + checked.stderr.decode()


def both_sides_edited(data: bytes, tag: str, chosen: random.Random, shared: int) -> bytes:
    """The notebook as one side edits it: the first line of code cell `shared` (which the other side edits
    too), a line appended to another code cell, sometimes a new cell (half the time beside the shared
    one), sometimes a code cell deleted."""
    notebook = json.loads(data)
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code" and "".join(cell["source"]).strip()]
    lines = "".join(code[shared]["source"]).split("\n")
    code[shared]["source"] = "\n".join([f"{tag}_edit = 1", *lines[1:]])
    appended = chosen.choice(code)
    appended["source"] = "".join(appended["source"]).rstrip("\n") + f"\n{tag}_more = 2"
    if chosen.random() < 0.4:
        new = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": f"{tag}_new = 3"}
        near = notebook["cells"].index(code[shared]) + chosen.choice([-1, 0, 1, 2])  # (beside the shared cell: in its stretch)
        where = near if chosen.random() < 0.5 else chosen.randrange(len(notebook["cells"]) + 1)
        notebook["cells"].insert(max(where, 0), {**new, "id": f"{tag}-new"} if "id" in code[0] else new)
    if chosen.random() < 0.3:
        gone = chosen.choice(code)
        if gone is not code[shared] and gone is not appended:
            notebook["cells"].remove(gone)
    return (json.dumps(notebook, indent=1, ensure_ascii=False) + "\n").encode()


@pytest.mark.corpus
def test_prefer_on_random_edits_of_dev_notebooks_keeps_that_side_s_every_edit() -> None:
    """Both sides edit one line of the same cell, each appends a line to some cell, maybe inserts a cell,
    maybe deletes one, on 30 dev notebooks: settled either way, the preferred side's every line is in the
    result (the other side's edit of the shared line is gone only where the merge saw a conflict: a
    one-line cell both rewrote merges as two cells); or, where a guard refuses, the conflicts stay
    marked and a note says why. Never an exception."""
    from nbgit.repair import Sides, repair

    chosen = random.Random(13)
    settled = 0
    for path in dev_notebooks(30):
        base = path.read_bytes()
        shared = chosen.randrange(6)
        sides = Sides(both_sides_edited(base, "mine", chosen, shared), both_sides_edited(base, "theirs", chosen, shared), base, "test")
        for prefer in ("local", "remote"):
            result = repair(sides, path.name, Policy(), prefer=prefer)
            validate(result.data)
            if result.conflicts:
                assert result.notes and "marked instead" in result.notes[-1], (path.name, result.notes)
                continue
            settled += 1
            text = "\n".join(source_of(cell) for cell in json.loads(result.data)["cells"])
            wanted, side = ("mine", sides.local) if prefer == "local" else ("theirs", sides.remote)
            assert f"{wanted}_edit = 1" in text and f"{wanted}_more = 2" in text, (path.name, prefer)
            assert (f"{wanted}_new = 3" in text) == (f"{wanted}_new = 3".encode() in side), path.name
    assert settled >= 55, settled


@pytest.mark.parametrize("prefer", ["local", "remote"])
def test_prefer_settles_a_cell_s_metadata_and_keeps_no_record_of_the_conflict(prefer: str) -> None:
    """Tags changed differently on both sides: the merge records the conflict under `nbdime-conflicts` in
    the cell's metadata; preferring a side gives that side's tags, and no record."""
    from nbgit.repair import Sides, repair

    def tagged(tags: list[str], line: str) -> bytes:
        return tagged_notebook([("a", "a = 1", tags), ("b", f"b = 1\n{line}", [])])

    sides = Sides(tagged(["mine"], "mine = 1"), tagged(["theirs"], "theirs = 1"), tagged(["base"], ""), "test")
    assert repair(sides, "nb.ipynb", Policy()).conflicts == ["cell 1: metadata", "cell 2: source"]
    result = repair(sides, "nb.ipynb", Policy(), prefer=prefer)
    assert not result.conflicts and result.settled == ["cell 1: metadata", "cell 2: source"]
    assert not has_conflict_marks(result.data)
    side = "mine" if prefer == "local" else "theirs"
    assert [cell["metadata"] for cell in json.loads(result.data)["cells"]] == [{"tags": [side]}, {}]
    assert code_sources(result.data) == ["a = 1", f"b = 1\n{side} = 1"]


@pytest.mark.parametrize("base", ["QkFTRQ==", None], ids=["both-replaced", "both-added"])
@pytest.mark.parametrize("prefer", ["local", "remote"])
def test_prefer_settles_an_attachment_both_sides_changed_with_that_side_s_picture(repo: Path, prefer: str, base: str | None) -> None:
    """`image.png` replaced (or attached) differently on both sides, the code cell edited by remote: `--prefer`
    takes that side's picture under its own name, keeps remote's edit, and `nbgit check` accepts the result
    (nbdime failed on the attachment, both sides were kept whole and nothing could be settled)."""
    from test_merge import pictured_notebook

    wire_driver(repo)
    pictures = {"local": "TE9DQUw=", "remote": "UkVNT1RF"}
    branches(repo, {"nb.ipynb": pictured_notebook(base)}, {"nb.ipynb": pictured_notebook(pictures["local"])},
             {"nb.ipynb": pictured_notebook(pictures["remote"], "x = 3")})
    assert git(repo, "merge", "--no-edit", "other", check=False).returncode == 1
    done = nbgit(repo, "resolve", "nb.ipynb", "--prefer", prefer)
    assert done.returncode == 0, done.stderr.decode()
    assert "  cell 1: attachments" in done.stderr.decode().splitlines()
    settled = json.loads((repo / "nb.ipynb").read_bytes())
    assert settled["cells"][0]["attachments"] == {"image.png": {"image/png": pictures[prefer]}}
    assert [source_of(cell) for cell in settled["cells"]] == ["Plot:\n![image.png](attachment:image.png)", "x = 3", "Notes"]
    assert "attachments" not in settled["cells"][2]
    git(repo, "add", "nb.ipynb")
    git(repo, "commit", "-q", "--no-edit")
    checked = nbgit(repo, "check", "nb.ipynb")
    assert checked.returncode == 0, checked.stdout.decode() + checked.stderr.decode()


@pytest.mark.parametrize("removal", ["key", "table emptied"])
@pytest.mark.parametrize("removing", ["local", "remote"])
def test_an_attachment_removed_on_one_side_and_changed_on_the_other_is_a_conflict_either_way(repo: Path, removing: str, removal: str) -> None:
    """One side deletes `image.png` (its cell's whole attachments key, or leaving an empty table), the other
    replaces it: the merge keeps the new picture and names the conflict, whichever side removed it (when
    remote removed it the merge was clean, remote's removal silently dropped); `--prefer` settles it either way."""
    from test_merge import pictured_notebook

    wire_driver(repo)
    removed = pictured_notebook(None)
    if removal == "table emptied":
        removed = json.dumps({**json.loads(removed), "cells": [{**cell, "attachments": {}} if cell["id"] == "m" else cell for cell in json.loads(removed)["cells"]]}).encode()
    changed = pictured_notebook("Q0hBTkdF")
    branches(repo, {"nb.ipynb": pictured_notebook("QkFTRQ==")}, {"nb.ipynb": removed if removing == "local" else changed},
             {"nb.ipynb": changed if removing == "local" else removed})
    done = git(repo, "merge", "--no-edit", "other", check=False)
    assert done.returncode == 1, done.stderr.decode()
    assert "attachment image.png (at /cells/0/attachments): removed on one side, changed on the other; the change is kept" in done.stderr.decode()
    assert json.loads((repo / "nb.ipynb").read_bytes())["cells"][0]["attachments"] == {"image.png": {"image/png": "Q0hBTkdF"}}
    for prefer in ("local", "remote"):
        assert nbgit(repo, "resolve", "nb.ipynb", "--prefer", prefer).returncode == 0
        kept = json.loads((repo / "nb.ipynb").read_bytes())["cells"][0].get("attachments") or {}
        assert kept == ({} if prefer == removing else {"image.png": {"image/png": "Q0hBTkdF"}}), prefer
        git(repo, "checkout", "-m", "--", "nb.ipynb")
