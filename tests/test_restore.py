"""Outputs that survive git: real git in temporary repositories, real corpus notebooks, nbgit installed.

After every git command that writes notebooks out (checkout, switch, stash pop, `checkout -- FILE`,
restore, `reset --hard`, pull, rebase, cherry-pick, merge through the driver) and after `nbgit
resolve`, the same checks: unchanged code cells have their outputs back exactly, edited cells have
none, `git status` is empty, and every blob git stores is what nbgit stores without restoring.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from conftest import CORPUS, NBGIT, copy_in, git, nbgit
from nbgit.clean import clean_bytes, dropped
from nbgit.notebook import Notebook, cells, parse, serialise, source_of
from nbgit.policy import Policy, load_policy
from nbgit.store.disk import Record, Store, checksum, digest
from nbgit.store.evict import entries, measure
from nbgit.store.restore import rebuild
from nbgit.store.skeleton import parse as parse_skeleton, references

DEV = CORPUS / "dev"
SAMPLES = {
    "images.ipynb": DEV / "karpathy+nn-zero-to-hero/lectures/makemore/makemore_part5_cnn1.ipynb",  # 4.4 without ids, PNGs
    "widgets.ipynb": DEV / "googlecolab+colabtools/notebooks/Talk_to_Gemini_with_Google's_Speech_to_Text_API.ipynb",  # widget state and views, Colab
    "v3.ipynb": DEV / "ogrisel+parallel_ml_tutorial/rendered_notebooks/01 - Introduction.ipynb",  # nbformat 3 with images
    "ids.ipynb": DEV / "fastai+nbdev/tests/docs_test.ipynb",  # 4.5 with cell ids and attachments
}
# per sample: a code cell with outputs (edited on one side) and another one (edited on the other)
FIRST = {"images.ipynb": 1, "widgets.ipynb": 0, "v3.ipynb": 1, "ids.ipynb": 3}
SECOND = {"images.ipynb": 4, "widgets.ipynb": 4, "v3.ipynb": 4, "ids.ipynb": 6}

pytestmark = pytest.mark.skipif(not DEV.is_dir(), reason="the corpus is not at ../shared/corpus")


# --- helpers -----------------------------------------------------------------------------------


def install(repo: Path, *flags: str) -> None:
    done = nbgit(repo, "install", "--no-hooks", *flags)
    assert done.returncode == 0, done.stderr.decode()


def commit(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


@pytest.fixture
def clone(repo: Path) -> Path:
    """A repository with nbgit installed and the four samples committed (so their outputs are kept)."""
    install(repo)
    for name, source in SAMPLES.items():
        copy_in(source, repo, name)
    commit(repo, "notebooks")
    return repo


def snapshot(repo: Path) -> dict[str, bytes]:
    return {name: (repo / name).read_bytes() for name in SAMPLES}


def code_cells(data: bytes) -> list[dict[str, Any]]:
    return [c for c in cells(parse(data).content) if c.get("cell_type") == "code"]


def count_key(cell: dict[str, Any]) -> str:
    return "prompt_number" if "input" in cell else "execution_count"


def edit(path: Path, index: int, line: str, ran: str | None = None) -> None:
    """Append `line` to the `index`-th code cell as Jupyter saves it: run (its output is `ran`), or not
    run, its outputs cleared."""
    notebook = parse(path.read_bytes())
    cell = code_cells_of(notebook.content)[index]
    key = "input" if "input" in cell else "source"
    cell[key] = cell[key].rstrip("\n") + "\n" + line
    cell["outputs"], cell[count_key(cell)] = [], None
    if ran is not None:
        cell["outputs"], cell[count_key(cell)] = [stream(ran, old=key == "input")], 99
    path.write_bytes(serialise(notebook))


def commit_edits(repo: Path, cell: dict[str, int], line: str, ran: str | None = None, branch: str | None = None) -> None:
    """`edit` every sample's `cell[name]`-th code cell and commit, on a new `branch` when one is named."""
    if branch is not None:
        git(repo, "checkout", "-q", "-b", branch)
    for name in SAMPLES:
        edit(repo / name, cell[name], line, ran)
    commit(repo, line)


def stream(text: str, old: bool = False) -> dict[str, Any]:
    """A stdout output (nbformat 3 names its stream differently)."""
    return {"output_type": "stream", "text": text + "\n", **({"stream": "stdout"} if old else {"name": "stdout"})}


def code_cells_of(content: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in cells(content) if c.get("cell_type") == "code"]


def assert_outputs(path: Path, had: bytes, edited: tuple[int, ...] = (), ran: dict[int, str] | None = None) -> None:
    """Every code cell of `path` has the outputs and count it had in `had`, except `edited` ones (none)
    and those that `ran` here after an edit (what they printed)."""
    now, before = code_cells(path.read_bytes()), code_cells(had)
    assert len(now) == len(before), path.name
    restored = 0
    for index, (cell, old) in enumerate(zip(now, before)):
        count = count_key(cell)
        if index in (ran or {}):
            expected = [stream((ran or {})[index], old="input" in cell)]
            assert (cell.get("outputs"), cell.get(count)) == (expected, 99), f"{path.name}: cell {index} ran here"
        elif index in edited:
            assert (cell.get("outputs"), cell.get(count)) == ([], None), f"{path.name}: edited cell {index} has outputs"
        else:
            assert (cell.get("outputs"), cell.get(count)) == (old.get("outputs"), old.get(count)), f"{path.name}: cell {index}"
            restored += bool(old.get("outputs"))
    assert restored, f"{path.name}: no cell with outputs to compare"


def blob(repo: Path, spec: str) -> bytes:
    return git(repo, "cat-file", "-p", spec).stdout


def clean(data: bytes, name: str) -> bytes:
    return clean_bytes(data, name, Policy())


def assert_clean_state(repo: Path) -> None:
    """`git status` is empty and git holds exactly what nbgit stores without restoring: the cleaned work tree."""
    assert git(repo, "status", "--porcelain").stdout == b""
    for name in git(repo, "ls-files", "*.ipynb").stdout.decode().split():
        staged = blob(repo, f":{name}")
        assert staged == clean(staged, name) == clean((repo / name).read_bytes(), name), name
        assert b'"output_type"' not in staged, f"{name}: outputs in a blob"


def store_of(repo: Path) -> Path:
    return Path(git(repo, "rev-parse", "--git-common-dir").stdout.decode().strip()).absolute() / "nbgit" / "outputs" if (repo / ".git").is_file() else repo / ".git" / "nbgit" / "outputs"


def assert_store_sound(directory: Path, blobs: Callable[[str], bytes | None]) -> None:
    """Every entry of the store is whole: records rebuild (from their blobs) into the bytes recorded,
    objects match their names."""
    store = Store(directory)
    for entry in entries(directory):
        if entry.kind == "objects":
            assert digest(entry.path.read_bytes()) == entry.path.name
        elif entry.kind == "notebooks" and (cleaned := blobs(entry.path.name)) is not None:
            record = Record.decode(entry.path.read_bytes())
            data = rebuild(store, entry.path.name, record, cleaned)
            assert data is not None and (checksum(data), len(data)) == (record.checksum, record.size)


def from_git(repo: Path) -> Callable[[str], bytes | None]:
    """Blobs by id from the repository; None for one it never stored (recorded by `git status`, say)."""
    return lambda key: blob(repo, key) if git(repo, "cat-file", "-e", key, check=False).returncode == 0 else None


# --- every command that writes notebooks out ----------------------------------------------------


def test_checkout_and_switch_give_back_the_exact_notebooks(clone: Path) -> None:
    original = snapshot(clone)
    commit_edits(clone, FIRST, "feature = 1", ran="feature run", branch="feature")
    on_feature = snapshot(clone)
    git(clone, "checkout", "-q", "main")
    assert snapshot(clone) == original  # byte for byte, outputs and all
    assert_clean_state(clone)
    git(clone, "switch", "-q", "feature")
    assert snapshot(clone) == on_feature
    assert_clean_state(clone)
    git(clone, "switch", "-q", "--detach", "main")
    assert snapshot(clone) == original
    assert_clean_state(clone)


def test_checkout_file_restore_and_reset_hard(clone: Path) -> None:
    original = snapshot(clone)
    for name in SAMPLES:
        (clone / name).unlink()
    git(clone, "checkout", "--", "images.ipynb", "widgets.ipynb")
    git(clone, "restore", "v3.ipynb", "ids.ipynb")
    assert snapshot(clone) == original
    assert_clean_state(clone)
    for name in SAMPLES:
        edit(clone / name, FIRST[name], "thrown_away = 1", ran="thrown away")
    git(clone, "reset", "-q", "--hard")
    assert snapshot(clone) == original
    assert_clean_state(clone)


def test_stash_and_pop(clone: Path) -> None:
    original = snapshot(clone)
    for name in SAMPLES:
        edit(clone / name, FIRST[name], "stashed = 1", ran="stashed run")
    edited = snapshot(clone)
    git(clone, "stash", "-q")
    assert snapshot(clone) == original
    assert_clean_state(clone)
    git(clone, "stash", "pop", "-q")
    assert snapshot(clone) == edited  # the outputs of the stashed edit too
    for name in SAMPLES:
        assert blob(clone, f":{name}") == blob(clone, f"HEAD:{name}")  # pop leaves the edit unstaged
        assert clean(edited[name], name) != blob(clone, f"HEAD:{name}")


def test_pull_from_a_second_clone(clone: Path, tmp_path: Path) -> None:
    original = snapshot(clone)
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(clone), str(other))
    for name in SAMPLES:  # a fresh clone has no outputs
        assert (other / name).read_bytes() == blob(other, f"HEAD:{name}")
    install(other)
    commit_edits(other, SECOND, "from_elsewhere = 2", ran="never seen here")
    git(clone, "pull", "-q", str(other), "main")
    for name in SAMPLES:
        assert_outputs(clone / name, original[name], edited=(SECOND[name],))
        assert "from_elsewhere = 2" in (clone / name).read_text(encoding="utf-8")
    assert_clean_state(clone)


def clear_outputs(path: Path) -> None:
    """Every code cell of `path` without outputs or count, as Jupyter saves it after "Clear All Outputs"."""
    notebook = parse(path.read_bytes())
    for cell in code_cells_of(notebook.content):
        cell["outputs"], cell[count_key(cell)] = [], None
    path.write_bytes(serialise(notebook))


@pytest.mark.parametrize("put_aside", [("commit",), ("stash",)], ids=["reset --hard past a commit", "stash"])
def test_a_pull_gives_cells_the_outputs_of_the_version_git_wrote_out_last(clone: Path, tmp_path: Path, put_aside: tuple[str]) -> None:
    """Outputs cleared and a cell edited, then set aside (a commit undone by `git reset --hard`, a `git
    stash`): git writes the version with outputs back, and a pull of a teammate's edit to another cell
    gave every unchanged cell the outputs of the version set aside (none) rather than those the work
    tree held: the version git wrote out last is the path's newest, as one it read is."""
    original = snapshot(clone)
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(clone), str(other))
    install(other)
    commit_edits(other, SECOND, "from_elsewhere = 2")
    for name in SAMPLES:
        clear_outputs(clone / name)
        edit(clone / name, FIRST[name], "set_aside = 1")
    if put_aside == ("commit",):
        commit(clone, "cleared")
        git(clone, "reset", "-q", "--hard", "HEAD~1")
    else:
        git(clone, "stash", "-q")
    assert snapshot(clone) == original
    git(clone, "pull", "-q", str(other), "main")
    for name in SAMPLES:
        assert_outputs(clone / name, original[name], edited=(SECOND[name],))
    assert_clean_state(clone)


def test_a_partial_clone_never_asks_its_remote_for_versions_git_never_stored(clone: Path, tmp_path: Path) -> None:
    """A blobless clone (`--filter=blob:none`): the store remembers versions `git diff` cleaned and git
    never stored; asking git for them to restore cell by cell made git fetch each from the remote, a
    network round trip or, offline, a wait per notebook during a merge of commits already fetched."""
    git(clone, "config", "uploadpack.allowFilter", "true")
    partial = tmp_path / "partial"
    git(tmp_path, "clone", "-q", "--filter=blob:none", f"file://{clone}", str(partial))
    install(partial)
    shutil.copyfile(SAMPLES["images.ipynb"], partial / "images.ipynb")  # run here: outputs, as committed upstream
    original = (partial / "images.ipynb").read_bytes()
    git(partial, "add", "images.ipynb")
    edit(partial / "images.ipynb", FIRST["images.ipynb"], "tried = 1", ran="tried")
    assert git(partial, "diff", "--quiet", check=False).returncode == 1  # cleaned, so remembered; never stored
    git(partial, "checkout", "--", "images.ipynb")
    edit(clone / "images.ipynb", SECOND["images.ipynb"], "upstream = 1")
    commit(clone, "upstream")
    git(partial, "fetch", "-q", "origin")
    git(partial, "cat-file", "-e", "origin/main:images.ipynb")  # the blobs a merge needs, fetched while online
    contacted = tmp_path / "remote-contacted"
    git(partial, "config", "remote.origin.url", "ssh://nbgit.invalid/repo")  # offline from now on
    git(partial, "config", "core.sshCommand", f"touch '{contacted}'; false")
    git(partial, "merge", "-q", "--no-edit", "origin/main")
    assert not contacted.exists()
    assert_outputs(partial / "images.ipynb", original, edited=(SECOND["images.ipynb"],))
    assert_clean_state(partial)


def test_outputs_of_a_rerun_that_nbgit_refresh_settles_are_kept(clone: Path) -> None:
    """After `nbgit refresh` (or Jupyter's save hook) git never reads a re-run notebook again: refresh keeps its outputs."""
    notebook = parse((clone / "images.ipynb").read_bytes())
    cell = code_cells_of(notebook.content)[FIRST["images.ipynb"]]
    cell["outputs"], cell["execution_count"] = [stream("the latest run")], 42
    (clone / "images.ipynb").write_bytes(serialise(notebook))
    past = time.time() - 10  # older than the index refresh writes: git will not look at it again (not racy)
    os.utime(clone / "images.ipynb", (past, past))
    rerun = (clone / "images.ipynb").read_bytes()
    assert git(clone, "status", "--porcelain").stdout == b" M images.ipynb\n"  # listed: its size changed
    done = nbgit(clone, "refresh")
    assert done.returncode == 0, done.stderr.decode()
    assert git(clone, "status", "--porcelain").stdout == b""
    git(clone, "checkout", "-q", "-b", "elsewhere")
    commit_edits(clone, SECOND, "elsewhere = 1")
    git(clone, "checkout", "-q", "main")
    assert (clone / "images.ipynb").read_bytes() == rerun  # the latest run, not the one committed


def test_a_cell_whose_metadata_changed_elsewhere_keeps_its_outputs(clone: Path, tmp_path: Path) -> None:
    original = snapshot(clone)
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(clone), str(other))
    install(other)
    notebook = parse((other / "ids.ipynb").read_bytes())
    tagged = code_cells_of(notebook.content)[FIRST["ids.ipynb"]]
    tagged["metadata"] = {**tagged.get("metadata", {}), "tags": ["tagged-elsewhere"]}
    (other / "ids.ipynb").write_bytes(serialise(notebook))
    commit(other, "a tag")
    git(clone, "pull", "-q", str(other), "main")
    assert_outputs(clone / "ids.ipynb", original["ids.ipynb"])  # the source is the same: outputs back
    assert code_cells((clone / "ids.ipynb").read_bytes())[FIRST["ids.ipynb"]]["metadata"]["tags"] == ["tagged-elsewhere"]
    assert_clean_state(clone)


def test_cells_keep_their_outputs_when_jupyter_gave_the_notebook_cell_ids(clone: Path, tmp_path: Path) -> None:
    """A teammate's Jupyter upgrades a 4.4 notebook to 4.5 on save, giving every cell a new id, and one
    cell is edited: the unchanged cells are the same source as the ones run here, and keep their outputs."""
    original = snapshot(clone)
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(clone), str(other))
    install(other)
    notebook = parse((other / "images.ipynb").read_bytes())
    assert notebook.content["nbformat_minor"] == 4 and not any("id" in cell for cell in cells(notebook.content))
    notebook.content["nbformat_minor"] = 5
    for number, cell in enumerate(cells(notebook.content)):
        cell["id"] = f"{number:04x}-from-jupyter"
    (other / "images.ipynb").write_bytes(serialise(notebook))
    edit(other / "images.ipynb", SECOND["images.ipynb"], "edited = 1")
    commit(other, "saved by a newer Jupyter: nbformat 4.5, cell ids")
    git(clone, "pull", "-q", str(other), "main")
    assert code_cells((clone / "images.ipynb").read_bytes())[0]["id"] == "0001-from-jupyter"
    assert_outputs(clone / "images.ipynb", original["images.ipynb"], edited=(SECOND["images.ipynb"],))
    assert_clean_state(clone)


def test_a_notebook_committed_with_its_outputs_comes_out_as_committed(clone: Path) -> None:
    """A collaborator without nbgit committed outputs: git writes that blob as it is, nothing mixed in."""
    raw = SAMPLES["widgets.ipynb"].read_bytes().replace(b"Speech", b"Speech (raw)")
    oid = git(clone, "hash-object", "-w", "--no-filters", "--stdin", input=raw).stdout.decode().strip()
    git(clone, "update-index", "--cacheinfo", f"100644,{oid},widgets.ipynb")
    git(clone, "commit", "-q", "-m", "committed raw, outputs and all")
    (clone / "widgets.ipynb").unlink()
    git(clone, "checkout", "--", "widgets.ipynb")
    assert (clone / "widgets.ipynb").read_bytes() == raw


def test_rebase_and_cherry_pick(clone: Path) -> None:
    original = snapshot(clone)
    commit_edits(clone, FIRST, "feature = 1", ran="feature run", branch="feature")  # run here: its outputs come along
    picked = git(clone, "rev-parse", "HEAD").stdout.decode().strip()
    git(clone, "checkout", "-q", "main")
    commit_edits(clone, SECOND, "main = 2")  # edited, never run: no outputs
    git(clone, "checkout", "-q", "feature")
    git(clone, "rebase", "-q", "main")
    for name in SAMPLES:
        assert_outputs(clone / name, original[name], edited=(SECOND[name],), ran={FIRST[name]: "feature run"})
        assert "main = 2" in (clone / name).read_text(encoding="utf-8")
    assert_clean_state(clone)
    git(clone, "checkout", "-q", "-b", "picked", "main")
    git(clone, "cherry-pick", picked)
    for name in SAMPLES:
        assert_outputs(clone / name, original[name], edited=(SECOND[name],), ran={FIRST[name]: "feature run"})
    assert_clean_state(clone)


def test_merge_through_the_driver(clone: Path) -> None:
    """git smudges what a merge driver writes, so the merged notebook gets its outputs from the filter;
    the driver itself writes the merge cleaned, which is what git stores."""
    original = snapshot(clone)
    commit_edits(clone, FIRST, "feature = 1", branch="feature")
    git(clone, "checkout", "-q", "main")
    commit_edits(clone, SECOND, "main = 2")
    done = git(clone, "merge", "--no-edit", "feature")
    assert b"Auto-merging" in done.stdout + done.stderr  # the driver merged each notebook
    for name in SAMPLES:
        text = (clone / name).read_text(encoding="utf-8")
        assert "feature = 1" in text and "main = 2" in text
        assert_outputs(clone / name, original[name], edited=(FIRST[name], SECOND[name]))
    assert_clean_state(clone)


def test_a_conflicted_merge_and_resolve(clone: Path) -> None:
    original = snapshot(clone)
    commit_edits(clone, FIRST, "mine_or_theirs = 'feature'", ran="feature run", branch="feature")
    git(clone, "checkout", "-q", "main")
    commit_edits(clone, FIRST, "mine_or_theirs = 'main'", ran="main run")
    on_main = snapshot(clone)
    assert git(clone, "merge", "--no-edit", "feature", check=False).returncode == 1
    for name in SAMPLES:  # the conflict is marked inside one cell (git's labels); every other cell has its outputs
        assert "<<<<<<< HEAD" in (clone / name).read_text(encoding="utf-8")
        assert_outputs(clone / name, original[name], edited=(FIRST[name],))
    done = nbgit(clone, "resolve", "images.ipynb", "--take", "local")
    assert done.returncode == 0, done.stderr.decode()
    assert (clone / "images.ipynb").read_bytes() == on_main["images.ipynb"]  # the very notebook main had
    git(clone, "add", "images.ipynb")
    assert blob(clone, ":images.ipynb") == clean(on_main["images.ipynb"], "images.ipynb")


def test_resolve_after_a_merge_without_the_driver(clone: Path) -> None:
    """git's own text merge writes markers (not a notebook: nothing restored); `nbgit resolve` rebuilds it with outputs."""
    original = snapshot(clone)
    git(clone, "checkout", "-q", "-b", "feature")
    edit(clone / "images.ipynb", FIRST["images.ipynb"], "feature = 1")
    commit(clone, "feature")
    git(clone, "checkout", "-q", "main")
    edit(clone / "images.ipynb", FIRST["images.ipynb"], "main = 2")
    commit(clone, "main")
    (clone / ".git" / "info" / "attributes").write_text("*.ipynb merge=text\n")
    assert git(clone, "merge", "--no-edit", "feature", check=False).returncode == 1
    assert b"<<<<<<< " in (clone / "images.ipynb").read_bytes()
    done = nbgit(clone, "resolve", "images.ipynb")
    assert done.returncode == 1, done.stderr.decode()  # the one cell stays in conflict, marked inside it
    assert_outputs(clone / "images.ipynb", original["images.ipynb"], edited=(FIRST["images.ipynb"],))


def test_notebooks_that_clean_to_one_blob_keep_their_own_outputs(repo: Path, tmp_path: Path) -> None:
    """One analysis copied into two folders and run on each folder's data: the same blob, other outputs.
    Each comes back with its own, exactly and cell by cell; a third copy arriving gets one of theirs."""
    install(repo)
    january = copy_in(SAMPLES["images.ipynb"], repo, "january/analysis.ipynb").read_bytes()
    notebook = parse(january)
    for cell in code_cells_of(notebook.content):
        if cell["outputs"]:
            cell["outputs"], cell["execution_count"] = [stream("february's data")], 7
    (repo / "february").mkdir()
    (repo / "february/analysis.ipynb").write_bytes(serialise(notebook))
    commit(repo, "one analysis, two months")
    ran = {name: (repo / name).read_bytes() for name in ("january/analysis.ipynb", "february/analysis.ipynb")}
    assert blob(repo, "HEAD:january/analysis.ipynb") == blob(repo, "HEAD:february/analysis.ipynb")
    git(repo, "checkout", "-q", "-b", "elsewhere")
    git(repo, "rm", "-q", "-r", "january", "february")
    git(repo, "commit", "-q", "-m", "gone")
    git(repo, "checkout", "-q", "main")
    assert {name: (repo / name).read_bytes() for name in ran} == ran
    for name in ran:
        (repo / name).unlink()
    git(repo, "checkout", "--", ".")
    assert {name: (repo / name).read_bytes() for name in ran} == ran
    assert_clean_state(repo)
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(repo), str(other))
    install(other)
    for name in ran:
        edit(other / name, SECOND["images.ipynb"], "edited = 1")
    commit(other, "an edit to both")
    git(repo, "pull", "-q", str(other), "main")
    for name, had in ran.items():
        assert_outputs(repo / name, had, edited=(SECOND["images.ipynb"],))
    assert_clean_state(repo)
    arrived = git(repo, "rev-parse", "HEAD~1:january/analysis.ipynb").stdout.decode().strip()
    git(repo, "update-index", "--add", "--cacheinfo", f"100644,{arrived},march/analysis.ipynb")
    git(repo, "checkout", "--", "march/analysis.ipynb")
    assert (repo / "march/analysis.ipynb").read_bytes() in ran.values()


def test_copies_with_the_same_bytes_share_one_record_and_each_keeps_its_own_after_a_rerun(repo: Path) -> None:
    """A notebook copied into ten folders and added: one record file among them (linked, no bytes written
    per copy: `git add` of copies cost a record each), counted once in the store's size. Then one copy
    is run again, the one whose record the others share and one sharing it: both come back as run again,
    every other copy as it was; two more run again as the first one was share its new record."""
    install(repo)
    names = [f"c{number}/analysis.ipynb" for number in range(10)]
    data = copy_in(SAMPLES["images.ipynb"], repo, names[0]).read_bytes()
    for name in names[1:]:
        (repo / name).parent.mkdir()
        (repo / name).write_bytes(data)
    commit(repo, "ten copies")
    records = [entry for entry in entries(store_of(repo)) if entry.kind == "notebooks"]
    assert len(records) == 10 and len({os.stat(entry.path).st_ino for entry in records}) == 1
    assert sum(entry.size for entry in records) <= os.stat(records[0].path).st_size
    ran = {name: data for name in names}
    for name in (names[0], names[5]):
        notebook = parse(data)
        for cell in code_cells_of(notebook.content):
            if cell["outputs"]:
                cell["outputs"], cell["execution_count"] = [stream(f"{name} again")], 7
        ran[name] = serialise(notebook)
        (repo / name).write_bytes(ran[name])
    git(repo, "add", "-A")  # (recorded as git reads them: the same blob)
    for name in names[1:3]:  # run again as the first one was: their records become its record
        ran[name] = ran[names[0]]
        (repo / name).write_bytes(ran[name])
    git(repo, "add", "-A")
    inodes = {os.stat(entry.path).st_ino for entry in entries(store_of(repo)) if entry.kind == "notebooks"}
    assert len(inodes) == 3  # the first three copies' bytes, the sixth's, and the other six's
    for name in names:
        (repo / name).unlink()
    git(repo, "checkout", "--", ".")
    assert {name: (repo / name).read_bytes() for name in names} == ran
    assert_clean_state(repo)
    assert_store_sound(store_of(repo), from_git(repo))


def test_linked_worktrees_share_the_store(clone: Path, tmp_path: Path) -> None:
    original = snapshot(clone)
    git(clone, "checkout", "-q", "-b", "feature")
    edit(clone / "images.ipynb", FIRST["images.ipynb"], "feature = 1", ran="feature run")
    commit(clone, "feature")
    on_feature = snapshot(clone)
    git(clone, "checkout", "-q", "main")
    linked = tmp_path / "linked"
    git(clone, "worktree", "add", "-q", str(linked), "feature")
    assert snapshot(linked) == on_feature  # recorded in the main work tree, restored in the linked one
    assert_clean_state(linked)
    edit(linked / "widgets.ipynb", SECOND["widgets.ipynb"], "linked = 1", ran="linked run")
    commit(linked, "from the linked work tree")
    in_linked = (linked / "widgets.ipynb").read_bytes()
    git(clone, "checkout", "-q", "--detach", "feature")
    assert (clone / "widgets.ipynb").read_bytes() == in_linked
    assert not (linked / ".git" / "nbgit").exists() and store_of(linked) == store_of(clone)
    assert snapshot(clone)["v3.ipynb"] == original["v3.ipynb"]


def test_a_linked_worktree_of_a_repository_in_a_folder_not_named_in_utf8_shares_its_store(tmp_path: Path) -> None:
    """The `.git` file of a linked worktree names the repository's folder in the file system's bytes: read as
    git reads it, the linked worktree finds the store (before: not UTF-8, so `nbgit gc` there said "not inside
    a git repository")."""
    os.mkdir(bytes(tmp_path) + b"/caf\xe9")
    repo = Path(os.fsdecode(bytes(tmp_path) + b"/caf\xe9")) / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    install(repo)
    for name, source in SAMPLES.items():
        copy_in(source, repo, name)
    commit(repo, "notebooks")
    linked = tmp_path / "linked"
    git(repo, "worktree", "add", "-q", "-b", "other", str(linked))
    assert snapshot(linked) == snapshot(repo)  # recorded in the main work tree, restored in the linked one
    assert_clean_state(linked)
    done = nbgit(linked, "gc")
    assert done.returncode == 0 and b"/repo/.git/nbgit/outputs: " in done.stdout, done.stderr.decode(errors="replace")


def test_a_fresh_clone_has_no_outputs_even_with_the_filter_wired(clone: Path, tmp_path: Path) -> None:
    install(clone, "--global")  # every clone runs nbgit's filter from its very first checkout
    other = tmp_path / "fresh"
    git(tmp_path, "clone", "-q", str(clone), str(other))
    for name in SAMPLES:
        assert (other / name).read_bytes() == blob(other, f"HEAD:{name}")
    assert not (other / ".git" / "nbgit").exists()
    assert_clean_state(other)


def test_the_store_survives_git_gc_and_goes_with_uninstall(clone: Path) -> None:
    original = snapshot(clone)
    git(clone, "gc", "-q", "--prune=now", "--aggressive")
    for name in SAMPLES:
        (clone / name).unlink()
    git(clone, "checkout", "--", ".")
    assert snapshot(clone) == original
    done = nbgit(clone, "uninstall")
    assert b"outputs: removed the output store" in done.stdout and not store_of(clone).exists()


def test_blobs_are_those_nbgit_stores_without_restore(tmp_path: Path) -> None:
    """The same work in two clones, one that keeps outputs and one that does not: the same trees, commit after commit."""
    trees = {}
    for flag in ("--restore", "--no-restore"):
        repo = tmp_path / flag
        repo.mkdir()
        git(repo, "init", "-q", "-b", "main")
        install(repo, flag)
        for name, source in SAMPLES.items():
            copy_in(source, repo, name)
        commit(repo, "notebooks")
        steps = [git(repo, "rev-parse", "HEAD^{tree}").stdout]
        commit_edits(repo, FIRST, "feature = 1", ran="feature run", branch="feature")
        git(repo, "checkout", "-q", "main")
        for name in SAMPLES:
            edit(repo / name, SECOND[name], "main = 2")
        git(repo, "stash", "-q")
        git(repo, "stash", "pop", "-q")
        git(repo, "commit", "-q", "-am", "main")
        steps.append(git(repo, "rev-parse", "HEAD^{tree}").stdout)
        git(repo, "merge", "-q", "--no-edit", "feature")
        steps.append(git(repo, "rev-parse", "HEAD^{tree}").stdout)
        for name in SAMPLES:  # touch: git cleans the restored work tree again
            os.utime(repo / name, (time.time() + 5, time.time() + 5))
        git(repo, "add", "-A")
        steps.append(git(repo, "write-tree").stdout)
        trees[flag] = steps
        assert ((repo / ".git" / "nbgit" / "outputs").exists()) == (flag == "--restore")
        assert_clean_state(repo)
    assert trees["--restore"] == trees["--no-restore"]


# --- cells the policy drops: scratch cells that live in one work tree ---------------------------------

SCRATCH_POLICY = 'drop_tagged_cells = ["scratch"]\ndrop_empty_cells = true\n'


def with_scratch(data: bytes, first: int, second: int) -> bytes:
    """The notebook with cells the policy drops: an empty one first, two tagged ones in a row (run) after
    its `first` code cell, one after its `second` code cell and one at the end (run)."""
    notebook = parse(data)
    content, major = notebook.content, notebook.major
    listed = content["cells"] if "cells" in content else content["worksheets"][0]["cells"]
    ids = any("id" in cell for cell in listed)
    key, count = ("source", "execution_count") if major == 4 else ("input", "prompt_number")

    def made(name: str, text: str, ran: str | None = None) -> dict[str, Any]:
        cell = {"cell_type": "code", "metadata": {"tags": ["scratch"]} if text else {}, key: text, "outputs": [], count: None}
        cell.update({"id": name} if ids else {} if major == 4 else {"language": "python", "collapsed": False})
        if ran is not None:
            cell["outputs"], cell[count] = [stream(ran, old=major < 4)], 7
        return cell

    code = code_cells_of(content)
    result = [made("empty-scratch", "")]
    for cell in listed:
        result.append(cell)
        if cell is code[first]:
            result += [made("scratch-1", "peek = 1", "peeked"), made("scratch-2", "peek_more = 2", "peeked more")]
        if cell is code[second]:
            result.append(made("scratch-3", "check = 3"))
    listed[:] = [*result, made("scratch-4", "last_look = 4", "looked")]
    return serialise(notebook)


def in_sample(source: Path, index: int) -> int:
    """The place among a sample's code cells of its `index`-th one that is not empty: the `index`-th
    code cell of its blob, as the policy drops empty cells."""
    return [place for place, cell in enumerate(code_cells(source.read_bytes())) if source_of(cell).strip()][index]


def seen(data: bytes) -> list[tuple[Any, ...]]:
    """What a user sees of each cell, in order: type, source, tags, outputs and execution count."""
    return [
        (cell.get("cell_type"), source_of(cell), (cell.get("metadata") or {}).get("tags"), cell.get("outputs"), cell.get(count_key(cell)))
        for cell in cells(parse(data).content)
    ]


@pytest.mark.parametrize("outputs", ["strip", "keep"])
@pytest.mark.parametrize("pull", [("--ff-only",), ("--no-rebase", "--no-edit"), ("--rebase",)], ids=["fast-forward", "merge", "rebase"])
def test_cells_the_policy_drops_survive_a_pull_of_a_teammates_edit(tmp_path: Path, pull: tuple[str, ...], outputs: str) -> None:
    """Scratch cells (tagged, or empty) never reach a blob, so git counts the notebook unmodified and a
    pull overwrites it: the cell-by-cell restore puts them back where they were, beside the outputs
    (those the blobs hold too, where the policy keeps outputs)."""
    origin, mine, theirs = tmp_path / "origin.git", tmp_path / "mine", tmp_path / "theirs"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    git(tmp_path, "clone", "-q", str(origin), str(mine))
    install(mine)
    (mine / ".nbgit.toml").write_text(f'outputs = "{outputs}"\n{SCRATCH_POLICY}')
    places = {name: (in_sample(source, FIRST[name]), in_sample(source, SECOND[name])) for name, source in SAMPLES.items()}
    for name, source in SAMPLES.items():
        (mine / name).write_bytes(with_scratch(source.read_bytes(), *places[name]))
    commit(mine, "notebooks, with scratch cells kept here only")
    git(mine, "push", "-q", "origin", "main")
    git(tmp_path, "clone", "-q", str(origin), str(theirs))
    install(theirs)
    commit_edits(theirs, SECOND, "from_teammate = 1")
    git(theirs, "push", "-q", "origin", "main")
    if pull != ("--ff-only",):
        (mine / "notes.txt").write_text("a commit of my own\n")
        commit(mine, "a note")
    policy = load_policy(mine)
    expected = {name: copy_in(source, tmp_path / "expected", name) for name, source in SAMPLES.items()}
    for edited, line in ((SECOND, "from_teammate = 1"), (FIRST, "again = 2")):  # the cell scratch cells follow, the second time
        if edited is FIRST:
            commit_edits(theirs, FIRST, line)
            git(theirs, "push", "-q", "origin", "main")
        pushed = {name: blob(theirs, f"HEAD:{name}") for name in SAMPLES}
        git(mine, "pull", "-q", *pull, "origin", "main")
        assert git(mine, "status", "--porcelain").stdout == b""
        for name in SAMPLES:
            edit(expected[name], places[name][edited is SECOND], line)
            now = (mine / name).read_bytes()
            # scratch cells in place with their outputs, the other cells' outputs back, the teammate's edits in
            assert seen(now) == seen(with_scratch(expected[name].read_bytes(), *places[name])), name
            assert blob(mine, f"HEAD:{name}") == blob(mine, f":{name}") == pushed[name] == clean_bytes(now, name, policy.for_path(name)), name
            assert (b'"output_type"' in pushed[name]) == (outputs == "keep"), name


def notebook_of(specs: list[tuple[str, str, str, str | None]], ids: bool) -> bytes:
    """A notebook of (name, type, source, output) cells, each named `scratch`, `later` or `other` with a
    number tagged so, given their names as ids when `ids`."""
    made = []
    for name, kind, source, output in specs:
        cell: dict[str, Any] = {"cell_type": kind, "metadata": {"tags": [name.rstrip("0123456789")]} if name.startswith(("scratch", "later", "other")) else {}, "source": source}
        if kind == "code":
            cell["outputs"], cell["execution_count"] = ([stream(output)], 1) if output else ([], None)
        made.append({**cell, "id": name} if ids else cell)
    content = {"cells": made, "metadata": {}, "nbformat": 4, "nbformat_minor": 5 if ids else 4}
    return serialise(Notebook(content, 4, False))


MINE = [
    ("title", "markdown", "# Title", None),
    ("a", "code", "a = 1", "one"),
    ("scratch1", "code", "peek = a", "peeked"),  # two in a row after a cell nobody changed
    ("scratch2", "code", "peek_more = a", "peeked more"),
    ("b", "code", "b = 2", "two"),
    ("scratch3", "code", "check = b", "checked"),  # after a cell the teammate edits: before the next one
    ("c", "code", "c = 3", "three"),
    ("d", "code", "d = 4", "four"),
    ("scratch4", "code", "look = d", "looked"),  # between a deleted cell and an edited one: at the end
    ("e", "code", "e = 5", "five"),
    ("empty", "code", "  \n", None),  # empty: dropped as well
    ("end", "markdown", "the end", None),
]
THEIRS = [
    ("title", "markdown", "# Title", None),
    ("a", "code", "a = 1", None),
    ("new", "code", "new = 0", None),  # the teammate's own cell where the scratch cells were
    ("b", "code", "b = 22", None),
    ("c", "code", "c = 3", None),
    ("e", "code", "e = 55", None),
    ("end", "markdown", "the end", None),
]


def restored_cells(tmp_path: Path, mine: bytes, theirs: bytes, recorded_under: Policy, policy: Policy) -> bytes | None:
    """What the cell-by-cell restore makes of the blob of `theirs` (cleaned by `policy`) in a store that
    recorded `mine` (cleaned by `recorded_under`)."""
    from nbgit.store.record import fingerprint, record
    from nbgit.store.restore import restore_cells

    store, name = Store(tmp_path / "store"), "scratch.ipynb"
    cleaned = clean_bytes(mine, name, recorded_under)
    record(store, name, mine, cleaned, fingerprint(recorded_under))
    restored = restore_cells(store, name, clean_bytes(theirs, name, policy), policy, lambda keys: [cleaned if key == store.key(cleaned) else None for key in keys])
    assert restored is None or clean_bytes(restored, name, policy) == clean_bytes(theirs, name, policy)  # the blob git handed over
    return restored


@pytest.mark.parametrize("ids", ["ids", "no ids", "ids given elsewhere"])
def test_cells_the_policy_drops_go_back_beside_their_neighbours(tmp_path: Path, ids: str) -> None:
    policy = Policy(drop_tagged_cells=("scratch",), drop_empty_cells=True)
    mine, theirs = notebook_of(MINE, ids == "ids"), notebook_of(THEIRS, ids != "no ids")
    restored = restored_cells(tmp_path, mine, theirs, policy, policy)
    assert restored is not None
    assert [(source_of(cell), [o["text"] for o in cell.get("outputs", [])]) for cell in cells(parse(restored).content)] == [
        ("# Title", []), ("a = 1", ["one\n"]), ("peek = a", ["peeked\n"]), ("peek_more = a", ["peeked more\n"]), ("new = 0", []),
        ("b = 22", []), ("check = b", ["checked\n"]), ("c = 3", ["three\n"]), ("e = 55", []), ("  \n", []), ("the end", []),
        ("look = d", ["looked\n"]),
    ]


def test_only_cells_the_policy_drops_now_go_back(tmp_path: Path) -> None:
    """The policy changed since: a cell it drops no more would change the blob (it stays out); one it
    drops now is the user's own again, as a scratch cell."""
    before = Policy(drop_tagged_cells=("scratch", "later"))
    now = Policy(drop_tagged_cells=("scratch", "other"))
    mine = notebook_of([*MINE[:2], ("other1", "code", "dropped_now = 1", "dropped"), *MINE[2:7], ("later1", "code", "kept_now = 1", "kept"), *MINE[7:]], ids=True)
    theirs = notebook_of(THEIRS, ids=True)
    restored = restored_cells(tmp_path, mine, theirs, before, now)
    assert restored is not None
    sources = [source_of(cell) for cell in cells(parse(restored).content)]
    assert sources[:6] == ["# Title", "a = 1", "dropped_now = 1", "peek = a", "peek_more = a", "new = 0"]
    assert "kept_now = 1" not in sources and "  \n" not in sources  # empty cells are not dropped now either


def test_a_policy_that_drops_no_cells_puts_none_back(tmp_path: Path) -> None:
    """Scratch cells recorded under a policy that dropped them, restored under one that drops none."""
    restored = restored_cells(tmp_path, notebook_of(MINE, ids=True), notebook_of(THEIRS, ids=True), Policy(drop_tagged_cells=("scratch",)), Policy())
    assert restored is not None
    assert [source_of(cell) for cell in cells(parse(restored).content)] == [source for _, _, source, _ in THEIRS]


def test_where_outputs_are_kept_cells_keep_the_outputs_their_blob_has(tmp_path: Path) -> None:
    """The policy keeps outputs: a cell the teammate ran again, or cleared, has the blob's outputs (never
    this clone's older ones); a cell whose outputs are this clone's gets its count back; scratch cells come back."""
    policy = Policy(outputs="keep", drop_tagged_cells=("scratch",), drop_empty_cells=True)
    theirs = [
        ("title", "markdown", "# Title", None),
        ("a", "code", "a = 1", "one again"),  # ran again there
        ("b", "code", "b = 2", "two"),  # as here
        ("c", "code", "c = 3", None),  # cleared there
        ("e", "code", "e = 5", "five"),
        ("end", "markdown", "the end", None),
    ]
    restored = restored_cells(tmp_path, notebook_of(MINE, ids=True), notebook_of(theirs, ids=True), policy, policy)
    assert restored is not None
    assert [(source_of(cell), [o["text"] for o in cell.get("outputs", [])], cell.get("execution_count")) for cell in cells(parse(restored).content)] == [
        ("# Title", [], None), ("a = 1", ["one again\n"], None), ("peek = a", ["peeked\n"], 1), ("peek_more = a", ["peeked more\n"], 1),
        ("b = 2", ["two\n"], 1), ("check = b", ["checked\n"], 1), ("c = 3", [], None), ("look = d", ["looked\n"], 1), ("e = 5", ["five\n"], 1),
        ("  \n", [], None), ("the end", [], None),
    ]


def kept_code_cell(path: Path, index: int, policy: Policy) -> int:
    """The place among the code cells of `path` of its `index`-th code cell that `policy` keeps."""
    return [place for place, cell in enumerate(code_cells(path.read_bytes())) if not dropped(cell, policy)][index]


def test_cells_the_policy_drops_survive_switch_and_stash_where_outputs_are_kept(repo: Path) -> None:
    """Where the policy keeps outputs, git still never stores scratch cells, and counts the notebook
    unmodified: switching away and back, and a stash and its pop, give back the very notebooks,
    scratch cells and all, while every blob is the one nbgit stores without a store."""
    install(repo)
    (repo / ".nbgit.toml").write_text(f'outputs = "keep"\n{SCRATCH_POLICY}')
    policy = load_policy(repo)
    for name, source in SAMPLES.items():
        (repo / name).write_bytes(with_scratch(source.read_bytes(), in_sample(source, FIRST[name]), in_sample(source, SECOND[name])))
    commit(repo, "notebooks, with scratch cells kept here only")
    original = snapshot(repo)
    committed = {name: blob(repo, f"HEAD:{name}") for name in SAMPLES}
    for name in SAMPLES:
        assert committed[name] == clean_bytes(original[name], name, policy), name
        assert b'"output_type"' in committed[name] and b'"scratch"' not in committed[name], name
    status = nbgit(repo, "status").stdout.decode()
    assert re.search(r"^outputs +ok +git stores them \(outputs = \"keep\"\); what the filter takes out \(the cells the policy drops", status, re.MULTILINE), status

    git(repo, "switch", "-q", "-c", "feature")
    for name in SAMPLES:
        edit(repo / name, kept_code_cell(repo / name, FIRST[name], policy), "feature = 1", ran="feature run")
    commit(repo, "feature")
    on_feature = snapshot(repo)
    git(repo, "switch", "-q", "main")
    assert snapshot(repo) == original  # byte for byte: scratch cells, their outputs, counts
    assert git(repo, "status", "--porcelain").stdout == b""
    git(repo, "switch", "-q", "feature")
    assert snapshot(repo) == on_feature
    git(repo, "switch", "-q", "main")

    for name in SAMPLES:
        edit(repo / name, kept_code_cell(repo / name, SECOND[name], policy), "stashed = 1", ran="stashed run")
    edited = snapshot(repo)
    git(repo, "stash", "-q")
    assert snapshot(repo) == original
    assert git(repo, "status", "--porcelain").stdout == b""
    git(repo, "stash", "pop", "-q")
    assert snapshot(repo) == edited  # the stashed edit, scratch cells and all
    for name in SAMPLES:
        assert blob(repo, f":{name}") == blob(repo, f"HEAD:{name}") == committed[name], name  # pop leaves the edit unstaged
    git(repo, "stash", "-q")
    assert git(repo, "status", "--porcelain").stdout == b""
    assert git(repo, "rev-parse", "HEAD^{tree}").stdout == git(repo, "write-tree").stdout


def test_a_policy_that_keeps_outputs_and_drops_no_cells_leaves_the_store_alone(repo: Path) -> None:
    """Git holds everything such a notebook has but counts and editor metadata: no store, nothing written."""
    install(repo)
    (repo / ".nbgit.toml").write_text('outputs = "keep"\n')
    for name, source in SAMPLES.items():
        copy_in(source, repo, name)
    commit(repo, "notebooks")
    commit_edits(repo, FIRST, "feature = 1", ran="feature run", branch="feature")
    git(repo, "switch", "-q", "main")
    for name in SAMPLES:
        edit(repo / name, SECOND[name], "stashed = 1", ran="stashed run")
    git(repo, "stash", "-q")
    git(repo, "stash", "pop", "-q")
    git(repo, "checkout", "--", ".")
    for name in SAMPLES:
        assert (repo / name).read_bytes() == blob(repo, f"HEAD:{name}"), name
    assert git(repo, "status", "--porcelain").stdout == b""
    assert not store_of(repo).exists()
    status = nbgit(repo, "status").stdout.decode()
    assert re.search(r'^outputs +off +the policy says outputs = "keep" and drops no cells', status, re.MULTILINE), status


def test_status_names_the_notebooks_whose_overrides_keep_outputs_where_the_policy_keeps_none(repo: Path) -> None:
    """outputs = "keep" at the top, stripped in one folder by an override: the store keeps that folder's
    outputs (they come back after a checkout), and `nbgit status` says so instead of "off"."""
    install(repo)
    (repo / ".nbgit.toml").write_text('outputs = "keep"\n[[overrides]]\npaths = ["stripped/**"]\noutputs = "strip"\n')
    ran = copy_in(SAMPLES["images.ipynb"], repo, "stripped/images.ipynb").read_bytes()
    copy_in(SAMPLES["widgets.ipynb"], repo, "kept/widgets.ipynb")
    commit(repo, "one folder stripped")
    assert b'"output_type"' not in blob(repo, "HEAD:stripped/images.ipynb") and b'"output_type"' in blob(repo, "HEAD:kept/widgets.ipynb")
    (repo / "stripped/images.ipynb").unlink()
    git(repo, "checkout", "--", ".")
    assert (repo / "stripped/images.ipynb").read_bytes() == ran
    status = nbgit(repo, "status").stdout.decode()
    assert re.search(r"^outputs +ok +kept for 1 of 2 notebooks, those whose \[\[overrides\]\] in the policy turn it on", status, re.MULTILINE), status


# --- switching it off -----------------------------------------------------------------------------


def test_no_restore_per_clone_and_back(clone: Path) -> None:
    original = snapshot(clone)
    done = nbgit(clone, "install", "--no-hooks", "--no-restore")
    assert b"outputs: removed the output store" in done.stdout
    assert git(clone, "config", "nbgit.restore").stdout.strip() == b"false"
    assert not store_of(clone).exists()
    for name in SAMPLES:
        (clone / name).unlink()
    git(clone, "checkout", "--", ".")
    for name in SAMPLES:
        assert (clone / name).read_bytes() == blob(clone, f"HEAD:{name}")
    for name, source in SAMPLES.items():
        copy_in(source, clone, name)
    git(clone, "add", "-A")
    assert not store_of(clone).exists()  # nothing kept on disk
    assert re.search(rb"^outputs +off ", nbgit(clone, "status").stdout, re.MULTILINE)
    nbgit(clone, "install", "--no-hooks")  # the choice sticks
    assert git(clone, "config", "nbgit.restore").stdout.strip() == b"false"
    install(clone, "--restore")
    assert git(clone, "config", "nbgit.restore", check=False).returncode == 1
    for name in SAMPLES:  # touched: git cleans them again, and they are kept
        os.utime(clone / name, (time.time() + 5, time.time() + 5))
    assert git(clone, "status", "--porcelain").stdout == b""
    for name in SAMPLES:
        (clone / name).unlink()
    git(clone, "checkout", "--", ".")
    assert snapshot(clone) == original


def test_the_policy_key_turns_it_off(repo: Path) -> None:
    install(repo)
    (repo / ".nbgit.toml").write_text('restore_outputs = false\n\n[[overrides]]\npaths = ["kept/*"]\nrestore_outputs = true\n')
    copy_in(SAMPLES["images.ipynb"], repo, "images.ipynb")
    kept = copy_in(SAMPLES["images.ipynb"], repo, "kept/images.ipynb").read_bytes()
    commit(repo, "notebooks")
    for name in ("images.ipynb", "kept/images.ipynb"):
        (repo / name).unlink()
    git(repo, "checkout", "--", ".")
    assert (repo / "images.ipynb").read_bytes() == blob(repo, "HEAD:images.ipynb")
    assert (repo / "kept/images.ipynb").read_bytes() == kept
    assert re.search(rb"^outputs +ok +kept for 1 of 2 notebooks, those whose \[\[overrides\]\] in the policy turn it on", nbgit(repo, "status").stdout, re.MULTILINE)
    (repo / ".nbgit.toml").write_text("restore_outputs = false\n")
    assert re.search(rb"^outputs +off +the policy says restore_outputs = false", nbgit(repo, "status").stdout, re.MULTILINE)


def test_a_size_limit_git_cannot_read_is_a_broken_outputs_line_not_a_dead_status(clone: Path) -> None:
    """`nbgit.restoreMaxSize = 1x`: the filter warns and keeps no outputs; `nbgit status` (the command
    that diagnoses a clone) said only that the value is not a size and printed no status at all. It
    now shows every line, the outputs one broken with the way out, and exits 1; install says it too."""
    git(clone, "config", "nbgit.restoreMaxSize", "1x")
    done = nbgit(clone, "status")
    out = done.stdout.decode()
    assert done.returncode == 1, done.stderr
    assert re.search(r"^outputs +broken +nbgit.restoreMaxSize = '1x' is not a size: the filter keeps no outputs until it is fixed", out, re.MULTILINE), out
    assert re.search(r"^filter +ok ", out, re.MULTILINE) and out.rstrip().endswith("nbgit: broken or missing wiring (see above)"), out
    done = nbgit(clone, "install", "--no-hooks")
    assert done.returncode == 0 and b"outputs    broken: nbgit.restoreMaxSize = '1x' is not a size" in done.stdout, done.stdout
    git(clone, "config", "--unset", "nbgit.restoreMaxSize")
    assert nbgit(clone, "status").returncode == 0


def test_status_shows_the_store_and_gc_prunes_it(clone: Path) -> None:
    status = nbgit(clone, "status").stdout.decode()
    line = next(line for line in status.splitlines() if line.startswith("outputs "))
    size = measure(store_of(clone)).bytes
    assert " ok " in line and "nbgit gc" in line and f"{size / 1024:.1f} KiB of 1.0 GiB" in line, line
    done = nbgit(clone, "gc")
    assert done.returncode == 0 and b"removed 0 B in 0 files" in done.stdout, done.stdout
    done = nbgit(clone, "gc", "--max-size", "1k")
    assert done.returncode == 0
    assert measure(store_of(clone)).bytes <= 1024
    done = nbgit(clone, "gc", "--all")
    assert done.returncode == 0 and not store_of(clone).exists()
    for name in SAMPLES:
        (clone / name).unlink()
    git(clone, "checkout", "--", ".")
    for name in SAMPLES:  # nothing kept: the blobs as committed, and git sees nothing changed
        assert (clone / name).read_bytes() == blob(clone, f"HEAD:{name}")
    assert_clean_state(clone)
    assert nbgit(clone, "gc", "--max-size", "lots").returncode == 2


def test_a_bad_size_limit_in_git_config_costs_outputs_with_one_warning(clone: Path) -> None:
    git(clone, "config", "nbgit.restoreMaxSize", "lots")
    for name in SAMPLES:
        (clone / name).unlink()
    done = git(clone, "checkout", "--", ".")
    warnings = [line for line in done.stderr.decode().splitlines() if line.startswith("nbgit: warning:")]
    assert len(warnings) == 1 and "nbgit.restoreMaxSize = 'lots' is not a size" in warnings[0], warnings
    for name in SAMPLES:
        assert (clone / name).read_bytes() == blob(clone, f"HEAD:{name}")
    status = nbgit(clone, "status")  # (the whole status, the outputs line broken: see the test below)
    assert status.returncode == 1 and b"outputs     broken   nbgit.restoreMaxSize = 'lots' is not a size" in status.stdout
    assert b"(give bytes or a whole number with k, m or g" in status.stdout


# --- a bounded, damaged or broken store --------------------------------------------------------


def test_least_recently_used_entries_are_evicted_past_the_limit(clone: Path) -> None:
    original = snapshot(clone)
    directory = store_of(clone)
    oldest = set()  # v3's and ids' records and objects: the least recently used, whatever the folder order
    for name in ("v3.ipynb", "ids.ipynb"):
        key = git(clone, "rev-parse", f"HEAD:{name}").stdout.decode().strip()
        record = Store(directory).record(key)
        assert record is not None
        oldest |= {key, *references(parse_skeleton(record.skeleton())[1])}
    past = time.time() - 1000
    for name in SAMPLES:  # written in the index's second, git would clean them again (a use) on every command
        os.utime(clone / name, (past, past))
    git(clone, "update-index", "-q", "--refresh")
    for entry in entries(directory):
        used = past - 1000 if entry.path.name in oldest else past
        os.utime(entry.path, (used, used))
    (clone / "widgets.ipynb").unlink()
    git(clone, "checkout", "--", "widgets.ipynb")  # a use: widgets' entries are the most recent now
    limit = measure(directory).bytes
    git(clone, "config", "nbgit.restoreMaxSize", str(limit))
    edit(clone / "images.ipynb", FIRST["images.ipynb"], "new = 1", ran="new run")
    edited = (clone / "images.ipynb").read_bytes()
    commit(clone, "a new version")  # recorded: past the limit, the least recently used go
    assert measure(directory).bytes <= limit
    for name in ("widgets.ipynb", "images.ipynb", "v3.ipynb", "ids.ipynb"):
        (clone / name).unlink()
    git(clone, "checkout", "--", ".")
    assert (clone / "widgets.ipynb").read_bytes() == original["widgets.ipynb"]
    assert (clone / "images.ipynb").read_bytes() == edited
    lost = [name for name in ("v3.ipynb", "ids.ipynb") if (clone / name).read_bytes() == blob(clone, f"HEAD:{name}")]
    assert lost  # evicted: back as committed, without outputs
    assert_clean_state(clone)
    assert_store_sound(directory, from_git(clone))


def test_what_nbgit_refresh_records_counts_into_the_store_size(clone: Path) -> None:
    """refresh keeps the outputs of the notebooks it settles in processes of its own and counts what
    they wrote into the store's size once they are done: past the limit, the least recently used go."""
    directory = store_of(clone)
    limit = measure(directory).bytes
    git(clone, "config", "nbgit.restoreMaxSize", str(limit))
    past = time.time() - 10  # older than the index refresh writes: not racy
    for name in SAMPLES:
        notebook = parse((clone / name).read_bytes())
        cell = code_cells_of(notebook.content)[FIRST[name]]
        cell["outputs"], cell[count_key(cell)] = [stream("a new run", old="input" in cell)], 42
        (clone / name).write_bytes(serialise(notebook))
        os.utime(clone / name, (past, past))
    usage = int((directory / "usage").read_text())
    done = nbgit(clone, "refresh")
    assert done.returncode == 0 and b"refreshed 4" in done.stderr + done.stdout, done.stderr.decode()
    assert measure(directory).bytes <= limit  # counted: the records went past the limit, so the oldest went
    assert int((directory / "usage").read_text()) != usage
    assert_store_sound(directory, from_git(clone))


COUNTING_AT_ONCE = """
import sys, time
from pathlib import Path
from nbgit.store.disk import Store
from nbgit.store.evict import account
store, start = Store(Path(sys.argv[1])), float(sys.argv[2])
time.sleep(max(0.0, start - time.time()))
for _ in range(50):
    account(store, 1000, 10**12)
"""


def test_processes_counting_into_the_store_size_at_once_lose_no_count(tmp_path: Path) -> None:
    """A filter's worker, `nbgit refresh` and Jupyter's save hook may count what they wrote at the same
    moment: each count reads the size again and writes it under the store's lock, so none is lost."""
    directory = tmp_path / "outputs"
    Store(directory).set_usage(0)
    start = time.time() + 1
    counting = [subprocess.Popen([sys.executable, "-c", COUNTING_AT_ONCE, str(directory), str(start)]) for _ in range(4)]
    assert [process.wait() for process in counting] == [0, 0, 0, 0]
    assert int((directory / "usage").read_text()) == 4 * 50 * 1000


def test_a_size_the_store_cannot_have_is_counted_again(clone: Path) -> None:
    """The store's `usage` file holding a negative size (damaged, or crafted to keep the store from ever
    being evicted): the size is counted again, and the limit holds."""
    directory = store_of(clone)
    limit = measure(directory).bytes
    git(clone, "config", "nbgit.restoreMaxSize", str(limit))
    (directory / "usage").write_text(str(-10**12))
    edit(clone / "images.ipynb", FIRST["images.ipynb"], "new = 1", ran="new run")
    commit(clone, "a new version")  # recorded: past the limit
    assert measure(directory).bytes <= limit and int((directory / "usage").read_text()) >= 0


@pytest.mark.parametrize("damage", ["truncated record", "garbage record", "truncated object", "garbage history"])
def test_a_damaged_entry_is_ignored_with_one_warning(clone: Path, damage: str) -> None:
    directory = store_of(clone)
    kind = {"truncated record": "notebooks", "garbage record": "notebooks", "truncated object": "objects", "garbage history": "histories"}[damage]
    victims = {e.path: e.path.read_bytes() for e in entries(directory) if e.kind == kind}
    assert victims
    for path, data in victims.items():
        victims[path] = data[: len(data) // 2] if damage.startswith("truncated") else os.urandom(300)
        path.write_bytes(victims[path])
    if kind == "histories":  # a history is read when a new version is recorded (or a merge is restored)
        for name in SAMPLES:
            edit(clone / name, FIRST[name], "new = 1", ran="new run")
        done = git(clone, "add", "-A")
    else:
        for name in SAMPLES:
            (clone / name).unlink()
        done = git(clone, "checkout", "--", ".")
        for name in SAMPLES:
            data = (clone / name).read_bytes()
            assert clean(data, name) == blob(clone, f"HEAD:{name}")  # never a damaged notebook
    warnings = [line for line in done.stderr.decode().splitlines() if "nbgit: warning:" in line]
    assert len(warnings) == 1 and "is damaged" in warnings[0], done.stderr.decode()
    assert warnings[0].endswith("outputs that needed it are not restored until git records them again")  # (a record, an object or a log)
    if kind == "histories":
        git(clone, "commit", "-q", "-m", "new versions")
    assert_clean_state(clone)
    assert_store_sound(directory, from_git(clone))
    assert not any(path.exists() and path.read_bytes() == damaged for path, damaged in victims.items())  # removed


def test_a_store_that_cannot_be_written_costs_outputs_not_checkouts(clone: Path) -> None:
    directory = store_of(clone)
    for entry in entries(directory):
        entry.path.unlink()
    for name in SAMPLES:
        edit(clone / name, FIRST[name], "x = 1", ran="x")
    shutil.rmtree(directory / "notebooks")
    (directory / "notebooks").write_text("a file where a folder should be")
    done = git(clone, "commit", "-q", "-am", "recorded nowhere")
    assert done.stderr.decode().count("nbgit: warning: keeping outputs failed") == 1
    git(clone, "checkout", "-q", "HEAD~1")
    for name in SAMPLES:
        assert (clone / name).read_bytes() == blob(clone, f"HEAD:{name}")
    assert_clean_state(clone)


KILLED_WHILE_WRITING = """#!{python}
import os, signal
from nbgit.filter import CAPABILITIES, Cleaner, serve
os.replace = lambda *args: os.kill(os.getpid(), signal.SIGKILL)  # dies after writing a file, before renaming it
cleaner = Cleaner.for_directory(os.path.realpath("."))
serve(open(0, "rb", buffering=1 << 16), open(1, "wb"), cleaner, CAPABILITIES, cleaner.settle)
"""


def test_a_filter_killed_while_writing_leaves_nothing_readable_but_wrong(clone: Path, tmp_path: Path) -> None:
    original = snapshot(clone)
    killer = tmp_path / "killer.py"
    killer.write_text(KILLED_WHILE_WRITING.format(python=sys.executable))
    killer.chmod(0o755)
    real = git(clone, "config", "filter.nbgit.process").stdout.decode().strip()
    git(clone, "config", "filter.nbgit.process", str(killer))
    edit(clone / "images.ipynb", FIRST["images.ipynb"], "killed = 1", ran="a new image would be here")
    done = git(clone, "add", "images.ipynb")  # recording (after the answer) dies mid-write: git has its blob
    assert b"died of signal 9" in done.stderr
    git(clone, "config", "filter.nbgit.process", real)
    git(clone, "reset", "-q")
    directory = store_of(clone)
    leftovers = [p for p in directory.rglob(".*") if p.is_file()]
    assert leftovers  # the half-written file, under a temporary name only
    assert_store_sound(directory, from_git(clone))
    git(clone, "checkout", "-q", "--", ".")
    assert snapshot(clone) == original
    assert_clean_state(clone)
    past = time.time() - 7200
    for path in leftovers:
        os.utime(path, (past, past))
    nbgit(clone, "gc")
    assert not any(p.exists() for p in leftovers)


KILLED_ON_SMUDGE = """#!{python}
import os, signal
from nbgit.filter import CAPABILITIES, Cleaner, serve
cleaner = Cleaner.for_directory(os.path.realpath("."))
def handler(command, path, data, request):
    if command == "smudge":
        os.kill(os.getpid(), signal.SIGKILL)
    return cleaner(command, path, data, request)
serve(open(0, "rb", buffering=1 << 16), open(1, "wb"), handler, CAPABILITIES)
"""


@pytest.mark.parametrize("broken", ["gone", "killed on smudge"])
def test_a_broken_nbgit_during_checkout_gives_clean_notebooks(clone: Path, tmp_path: Path, broken: str) -> None:
    process = clone / "no-such-nbgit-filter-process"
    if broken == "killed on smudge":
        process = tmp_path / "killed.py"
        process.write_text(KILLED_ON_SMUDGE.format(python=sys.executable))
        process.chmod(0o755)
    git(clone, "config", "filter.nbgit.process", str(process))
    git(clone, "config", "--unset", "filter.nbgit.clean")
    for name in SAMPLES:
        (clone / name).unlink()
    done = git(clone, "checkout", "--", ".")
    assert done.returncode == 0
    for name in SAMPLES:
        assert (clone / name).read_bytes() == blob(clone, f"HEAD:{name}")


# --- upgrades, the one-shot filter, archives ----------------------------------------------------------


def test_an_install_made_before_restore_existed_restores(repo: Path) -> None:
    """Old installs wrote `filter.nbgit.process` and `filter.nbgit.clean` only: the process announces smudge itself."""
    process = Path(sys.executable).with_name("nbgit-filter-process")
    git(repo, "config", "filter.nbgit.process", str(process))
    (repo / ".gitattributes").write_text("*.ipynb filter=nbgit\n")
    original = copy_in(SAMPLES["widgets.ipynb"], repo, "widgets.ipynb").read_bytes()
    commit(repo, "notebooks")
    (repo / "widgets.ipynb").unlink()
    git(repo, "checkout", "--", ".")
    assert (repo / "widgets.ipynb").read_bytes() == original


def archived(repo: Path, *args: str, config: tuple[str, ...] = ()) -> dict[str, bytes]:
    """The samples as `git [config] archive [args]` writes them, in every format: {format:name: bytes}."""
    import io
    import tarfile
    import zipfile

    found = {}
    with tarfile.open(fileobj=io.BytesIO(git(repo, *config, "archive", "--format=tar", *args).stdout)) as tar:
        for name in SAMPLES:
            member = tar.extractfile(name)
            found[f"tar:{name}"] = member.read() if member is not None else b""
    with zipfile.ZipFile(io.BytesIO(git(repo, *config, "archive", "--format=zip", *args).stdout)) as archive:
        found.update({f"zip:{name}": archive.read(name) for name in SAMPLES})
    return found


def back_and_forth(repo: Path) -> None:
    """Commit an edit on a branch and check out back to main (outputs restored), then the branch and
    main again: whatever the store holds has been through checkouts."""
    original = snapshot(repo)
    commit_edits(repo, FIRST, "elsewhere = 1", branch="elsewhere")
    git(repo, "checkout", "-q", "main")
    git(repo, "checkout", "-q", "elsewhere")
    git(repo, "checkout", "-q", "main")
    assert snapshot(repo) == original


@pytest.mark.parametrize("driver", ["process", "one-shot"])
def test_archive_holds_the_commit_not_this_clones_outputs(clone: Path, tmp_path: Path, driver: str) -> None:
    """`git archive` smudges as checkout does (with the same keys), but its archive may be published:
    it holds the blobs as committed, from a branch, HEAD, a commit or a tree, in a linked worktree too,
    while checkouts go on restoring."""
    if driver == "one-shot":  # git runs `filter.nbgit.smudge` once per file, with nothing but the path
        git(clone, "config", "--unset", "filter.nbgit.process")
        git(clone, "config", "filter.nbgit.smudge", f"{NBGIT} filter smudge -- %f")
    original = snapshot(clone)
    back_and_forth(clone)
    committed = {f"{kind}:{name}": blob(clone, f"HEAD:{name}") for kind in ("tar", "zip") for name in SAMPLES}
    assert all(b'"output_type"' not in data for data in committed.values())
    for spec in ("HEAD", "main", git(clone, "rev-parse", "HEAD").stdout.decode().strip(), "HEAD^{tree}"):
        assert archived(clone, spec) == committed, spec
    assert snapshot(clone) == original
    assert_clean_state(clone)
    git(clone, "worktree", "add", "-q", str(tmp_path / "linked"), "main~0")
    assert snapshot(tmp_path / "linked") == original
    assert archived(tmp_path / "linked", "HEAD") == committed


def test_what_an_archive_or_an_export_gets_as_readme_says(clone: Path) -> None:
    """README's limits: an archive made while the index lock exists (any git command's, or a stale one)
    gets this clone's outputs; `git checkout-index --prefix` exports (no `treeish`, no lock) always do;
    `-c nbgit.restore=false` rules both out."""
    original = snapshot(clone)
    committed = {f"{kind}:{name}": blob(clone, f"HEAD:{name}") for kind in ("tar", "zip") for name in SAMPLES}
    (clone / ".git" / "index.lock").touch()  # left by a crash, or held by a background `git status`
    assert archived(clone, "HEAD") == {f"{kind}:{name}": original[name] for kind in ("tar", "zip") for name in SAMPLES}
    assert archived(clone, "HEAD", config=("-c", "nbgit.restore=false")) == committed
    (clone / ".git" / "index.lock").unlink()
    git(clone, "checkout-index", "-a", "--prefix=export/")
    assert {name: (clone / "export" / name).read_bytes() for name in SAMPLES} == original
    git(clone, "-c", "nbgit.restore=false", "checkout-index", "-a", "--prefix=plain/")
    assert {name: (clone / "plain" / name).read_bytes() for name in SAMPLES} == {name: blob(clone, f"HEAD:{name}") for name in SAMPLES}


def test_the_one_shot_filter_keeps_what_it_cleans_for_checkouts(repo: Path) -> None:
    """Run by hand, the one-shot smudge writes no work tree (git holds no index lock): the blob comes back as it is."""
    data = SAMPLES["ids.ipynb"].read_bytes()
    done = nbgit(repo, "filter", "clean", "ids.ipynb", input=data)
    assert done.returncode == 0 and done.stdout == clean(data, "ids.ipynb")
    cleaned = done.stdout
    done = nbgit(repo, "filter", "smudge", "ids.ipynb", input=cleaned)
    assert (done.returncode, done.stdout, done.stderr) == (0, cleaned, b"")
    (repo / ".git" / "index.lock").touch()  # as git holds it while it checks out
    done = nbgit(repo, "filter", "smudge", "ids.ipynb", input=cleaned)
    assert (done.returncode, done.stdout, done.stderr) == (0, data, b"")


# --- the cell-by-cell restore over the whole corpus ------------------------------------------------


@pytest.mark.slow
def test_every_corpus_notebook_comes_back_exactly_and_cell_by_cell(tmp_path: Path) -> None:
    from nbgit.store.record import fingerprint, record
    from nbgit.store.restore import restore, restore_cells

    store, policy, made_by = Store(tmp_path / "store"), Policy(), fingerprint(Policy())
    blobs: dict[str, bytes] = {}

    def fetch(keys: list[str]) -> list[bytes | None]:
        return [blobs.get(key) for key in keys]

    checked = 0
    for source in sorted(DEV.rglob("*.ipynb")):
        data, name = source.read_bytes(), source.relative_to(DEV).as_posix()
        try:
            cleaned = clean(data, name)
        except Exception:  # noqa: BLE001 - not a notebook nbgit reads: never recorded
            continue
        record(store, name, data, cleaned, made_by)
        blobs[store.key(cleaned)] = cleaned
        assert restore(store, name, cleaned, policy, fetch) == data, name
        # the same notebook changed elsewhere: one new code cell at the end, never run
        notebook = parse(cleaned, name)
        code = code_cells_of(notebook.content)
        if notebook.major == 4 and code:
            notebook.content["cells"].append({**code[0], "source": "new_cell = 1", "outputs": [], "execution_count": None, **({"id": "brand-new"} if "id" in code[0] else {})})
            changed = serialise(notebook)
            restored = restore_cells(store, name, changed, policy, fetch)
            had = [c.get("outputs") for c in code_cells(data)]
            if any(had):
                assert restored is not None and clean(restored, name) == changed, name
                assert [c.get("outputs") for c in code_cells(restored)] == [*had, []], name
                checked += 1
    assert checked > 50
    assert_store_sound(store.directory, blobs.__getitem__)


# --- the worker that keeps outputs beside the process filter --------------------------------------

WRAPPED_KEEPER = """#!{python}
import os, signal, sys, time
from nbgit import filter
from nbgit.store.keeper import OutputKeeper
FILTER = os.getpid()
print("filter", FILTER, file=open({log!r}, "a"))
kept = OutputKeeper.clean
def clean(self, path, *rest):
    print("record", os.getpid(), path, file=open({log!r}, "a"))
    {before_recording}
    kept(self, path, *rest)
OutputKeeper.clean = clean
settle = filter.Cleaner.settle
def settled(self):
    settle(self)
    {after_settling}
filter.Cleaner.settle = settled
sys.exit(filter.main())
"""


def wrap_keeper(repo: Path, tmp_path: Path, before_recording: str = "pass", after_settling: str = "pass") -> Path:
    """Run the process filter with its keeper wrapped: each record logged (by which process), then
    `before_recording` run; `after_settling` after each answer's records are handed over. The log."""
    log, script = tmp_path / "keeper.log", tmp_path / "wrapped-filter.py"
    script.write_text(WRAPPED_KEEPER.format(python=sys.executable, log=str(log), before_recording=before_recording, after_settling=after_settling))
    script.chmod(0o755)
    git(repo, "config", "filter.nbgit.process", str(script))
    return log


def recorders(log: Path) -> tuple[set[str], dict[str, str]]:
    """The filter processes' ids, and which process recorded each path."""
    lines = [line.split(" ", 2) for line in log.read_text().splitlines()]
    return {pid for kind, pid, *_ in lines if kind == "filter"}, {path: pid for kind, pid, path in (l for l in lines if l[0] == "record")}


def test_outputs_are_recorded_beside_the_filter_and_there_before_git_returns(clone: Path, tmp_path: Path) -> None:
    """A worker forked from the filter records (slowly here); git returns only once every record is
    written, so a checkout right after gives every notebook back with the outputs it had. git runs
    with its output going to a file, as to a terminal: a caller reading git's stderr through a pipe
    would also wait for the worker, which holds that pipe, and could not tell."""
    real = git(clone, "config", "filter.nbgit.process").stdout.decode().strip()
    log = wrap_keeper(clone, tmp_path, before_recording="time.sleep(0.3)")
    for name in SAMPLES:
        edit(clone / name, FIRST[name], "here = 1", ran="ran here")
    had = snapshot(clone)
    with open(tmp_path / "git-add.out", "wb") as output:
        assert subprocess.run(["git", "add", "-A"], cwd=clone, stdout=output, stderr=output).returncode == 0
    git(clone, "config", "filter.nbgit.process", real)  # (later commands need not record slowly)
    for name in SAMPLES:
        (clone / name).unlink()
    git(clone, "checkout", "-q", "--", ".")
    assert snapshot(clone) == had
    filters, recorded = recorders(log)
    assert set(recorded) == set(SAMPLES) and not filters & set(recorded.values())  # none in the filter itself
    git(clone, "commit", "-q", "--no-verify", "-m", "ran here")
    assert_clean_state(clone)


@pytest.mark.parametrize("turned_off", [("config", "nbgit.restore", "false"), ("-c", "nbgit.restore=false")], ids=["config", "command"])
def test_a_clone_keeping_no_outputs_hands_the_filter_nothing_to_record(clone: Path, tmp_path: Path, turned_off: tuple[str, ...]) -> None:
    """With `nbgit.restore` false (in the clone's config, or for one command) nothing is recorded, so the
    filter hands nothing over: no record is asked for, in a worker or in the filter (before, every
    notebook went through the pipe to a worker that recorded nothing), and the store stays as it was."""
    log = wrap_keeper(clone, tmp_path)
    for name in SAMPLES:
        edit(clone / name, FIRST[name], "here = 1", ran="ran here")
    before = sorted(path.relative_to(store_of(clone)) for path in store_of(clone).rglob("*"))
    if turned_off[0] == "config":
        git(clone, *turned_off)
        git(clone, "add", "-A")
    else:
        git(clone, *turned_off, "add", "-A")
    assert recorders(log)[1] == {}
    assert sorted(path.relative_to(store_of(clone)) for path in store_of(clone).rglob("*")) == before
    for name in SAMPLES:  # staged cleaned all the same
        assert blob(clone, f":{name}") == clean((clone / name).read_bytes(), name)


def test_asking_whether_a_notebook_is_kept_leaves_the_first_add_without_lookups(repo: Path) -> None:
    """The filter asks before each hand-over whether the outputs would be kept at all (`keeps`): that reads
    the clone's settings, but does not open the store, so a process filter that found none (a clone's
    first `git add`) still looks nothing up in it for each notebook it cleans."""
    from nbgit.store.keeper import OutputKeeper

    install(repo)
    keeper = OutputKeeper(repo, one_command=True)
    data = SAMPLES["ids.ipynb"].read_bytes()
    assert keeper.cleaned("ids.ipynb", data, Policy()) is None and keeper.keeps("ids.ipynb", Policy())
    assert not keeper._stored_anything()
    git(repo, "config", "nbgit.restore", "false")
    assert not OutputKeeper(repo, one_command=True).keeps("ids.ipynb", Policy())


def test_checkout_merging_local_changes_keeps_the_outputs_it_just_recorded(clone: Path, tmp_path: Path) -> None:
    """`git checkout -m` cleans the notebooks changed here (their outputs handed to the worker) and then
    checks out their merge with the other branch, which needs those outputs: the filter waits for the
    worker before it answers the first checkout (here the worker takes 0.3 s a record)."""
    git(clone, "checkout", "-q", "-b", "other")
    commit_edits(clone, SECOND, "elsewhere = 1")
    git(clone, "checkout", "-q", "main")
    original = snapshot(clone)
    for name in SAMPLES:
        edit(clone / name, FIRST[name], "here = 1", ran="ran here")
    wrap_keeper(clone, tmp_path, before_recording="time.sleep(0.3)")
    git(clone, "checkout", "-q", "-m", "other")
    for name in SAMPLES:
        assert_outputs(clone / name, original[name], edited=(SECOND[name],), ran={FIRST[name]: "ran here"})


def test_a_killed_worker_costs_one_warning_and_the_filter_records_the_rest(clone: Path, tmp_path: Path) -> None:
    """The worker dies on its first record (the filter waits a little after handing it over, so that
    it is dead by the next; records in the filter itself go on): git's command succeeds with one warning, the filter records the rest
    itself, and the notebook whose record was lost comes back as a checkout of a new version does:
    the outputs of the cells the store knows, none for the edited cell."""
    real = git(clone, "config", "filter.nbgit.process").stdout.decode().strip()
    log = wrap_keeper(clone, tmp_path, before_recording="os.getpid() == FILTER or os.kill(os.getpid(), signal.SIGKILL)", after_settling="time.sleep(0.3)")
    original = snapshot(clone)
    for name in SAMPLES:
        edit(clone / name, FIRST[name], "here = 1", ran="ran here")
    had = snapshot(clone)
    done = git(clone, "add", "-A")
    assert done.stderr.decode() == ("nbgit: warning: keeping outputs failed: the process keeping them was killed by signal 9; "
                                    "notebooks this command cleaned may come back without their outputs\n")
    git(clone, "config", "filter.nbgit.process", real)
    git(clone, "commit", "-q", "-m", "ran here")
    filters, recorded = recorders(log)
    first, *rest = sorted(SAMPLES)
    assert recorded[first] not in filters and all(recorded[name] in filters for name in rest)
    for name in SAMPLES:
        (clone / name).unlink()
    git(clone, "checkout", "-q", "--", ".")
    assert {name: data for name, data in snapshot(clone).items() if name != first} == {name: had[name] for name in rest}
    assert_outputs(clone / first, original[first], edited=(FIRST[first],))  # what the store had of it before: the edited cell without
    assert_clean_state(clone)


def test_one_notebook_whose_restore_fails_costs_the_others_nothing(clone: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A restore that trips over one notebook (a bug a stranger's notebook finds, as `nbformat_minor: null`
    once did) costs that notebook alone its outputs, said by name: before, it turned the store off for
    the rest of the git command, and every notebook written after it went out without outputs (which the
    next `git status` takes for their newest versions). Past `CONTAINED` such notebooks the store is off,
    as for any other failure."""
    from nbgit.store import keeper as keeper_module
    from nbgit.store import restore as restore_module

    real_restore = restore_module.restore

    def tripping(store: Store, path: str, blob: bytes, *args: Any) -> bytes:
        if path.startswith("images"):
            raise RuntimeError("a bug this notebook finds")
        return real_restore(store, path, blob, *args)

    monkeypatch.setattr(restore_module, "restore", tripping)
    policy = load_policy(clone)
    blobs = {name: git(clone, "cat-file", "blob", f":{name}").stdout for name in ("images.ipynb", "ids.ipynb", "widgets.ipynb")}
    keeper = keeper_module.OutputKeeper(clone, one_command=True)
    assert keeper.smudge("images.ipynb", blobs["images.ipynb"], policy.for_path("images.ipynb")) == blobs["images.ipynb"]
    for name in ("ids.ipynb", "widgets.ipynb"):
        assert keeper.smudge(name, blobs[name], policy.for_path(name)) == (clone / name).read_bytes() != blobs[name], name
    said = capsys.readouterr().err
    assert said == "nbgit: warning: images.ipynb: keeping outputs failed (RuntimeError: a bug this notebook finds); it goes out without them, the other notebooks with theirs\n"
    for _ in range(keeper_module.CONTAINED):
        keeper.smudge("images.ipynb", blobs["images.ipynb"], policy.for_path("images.ipynb"))
    assert keeper.smudge("ids.ipynb", blobs["ids.ipynb"], policy.for_path("ids.ipynb")) == blobs["ids.ipynb"]  # off by now
    assert "for the rest of this command" in capsys.readouterr().err
