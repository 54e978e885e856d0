"""`nbgit restore`: outputs put back into notebooks that came out of git without them.

Real git, real corpus notebooks, nbgit installed: notebooks written bare by a checkout nbgit missed
(its filter gone, `-c nbgit.restore=false`), then read back by git as new versions, get the outputs
this clone kept; nothing that differs from git's blob is ever written; `git status` stays empty.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable

import pytest
from conftest import git, nbgit
from test_restore import (
    DEV,
    SAMPLES,
    SECOND,
    assert_clean_state,
    assert_outputs,
    blob,
    clone,
    commit_edits,
    edit,
    install,
    snapshot,
)

pytestmark = pytest.mark.skipif(not DEV.is_dir(), reason="the corpus is not at ../shared/corpus")
__all__ = ["clone"]  # (the fixture, used by name)


def checkout_without_nbgit(repo: Path, *names: str) -> None:
    """`git checkout -- NAMES` while nbgit's filter is gone (a deleted virtualenv, a GUI client that does
    not find it): the notebooks come out as committed, without outputs."""
    process = git(repo, "config", "filter.nbgit.process").stdout.decode().strip()
    git(repo, "config", "filter.nbgit.process", str(repo / "no-such-nbgit"))
    for name in names:
        (repo / name).unlink()
    git(repo, "checkout", "--", *names)
    git(repo, "config", "filter.nbgit.process", process)
    for name in names:
        assert (repo / name).read_bytes() == blob(repo, f"HEAD:{name}"), name


def read_back(repo: Path, *names: str) -> None:
    """git reads the files back (as the next `git status` does with files written in the second the index
    was, or after a touch): to it the bare files are a new version of each notebook."""
    for name in names:
        os.utime(repo / name, (time.time() + 5, time.time() + 5))
    git(repo, "add", "-A")


def test_outputs_a_bare_checkout_lost_come_back(clone: Path) -> None:
    original = snapshot(clone)
    checkout_without_nbgit(clone, *SAMPLES)
    read_back(clone, *SAMPLES)
    for name in SAMPLES:
        (clone / name).unlink()
    git(clone, "checkout", "--", ".")
    assert {name: (clone / name).read_bytes() for name in SAMPLES} == {name: blob(clone, f"HEAD:{name}") for name in SAMPLES}  # as outputs cleared on purpose
    said = nbgit(clone, "status").stdout
    assert b"4 notebook(s) are as committed, without the outputs this clone keeps for them: " in said and b"(`nbgit restore` puts them back)" in said

    done = nbgit(clone, "restore", "--dry-run")
    assert done.returncode == 0, done.stderr.decode()
    assert b"would put back the outputs of 4 notebook(s)" in done.stdout
    assert {name: (clone / name).read_bytes() for name in SAMPLES} == {name: blob(clone, f"HEAD:{name}") for name in SAMPLES}

    done = nbgit(clone, "restore")
    assert done.returncode == 0, done.stderr.decode()
    assert b"put back the outputs of 4 notebook(s)" in done.stdout
    assert snapshot(clone) == original
    assert_clean_state(clone)
    for name in SAMPLES:  # kept anew: checkouts give them back again
        (clone / name).unlink()
    git(clone, "checkout", "--", ".")
    assert snapshot(clone) == original
    assert b"no notebook is exactly as committed" in nbgit(clone, "restore").stdout
    assert b"without the outputs this clone keeps" not in nbgit(clone, "status").stdout


def test_only_notebooks_exactly_as_committed_are_written(clone: Path) -> None:
    original = snapshot(clone)
    checkout_without_nbgit(clone, "images.ipynb", "widgets.ipynb", "v3.ipynb")
    edited = (clone / "v3.ipynb").read_bytes().replace(b'"source": [', b'"source": [\n    "edited = 1\\n",', 1)
    (clone / "v3.ipynb").write_bytes(edited)
    (clone / "widgets.ipynb").write_bytes((clone / "widgets.ipynb").read_bytes().replace(b"\n", b"\r\n"))  # an editor's layout
    done = nbgit(clone, "restore", "images.ipynb", "widgets.ipynb", "v3.ipynb", "ids.ipynb")
    assert done.returncode == 0, done.stderr.decode()
    assert b"put back the outputs of 1 notebook(s): images.ipynb" in done.stdout
    assert b"3 notebook(s) differ from what git holds (run, edited or saved since), left alone: ids.ipynb, v3.ipynb, widgets.ipynb" in done.stdout
    assert (clone / "images.ipynb").read_bytes() == original["images.ipynb"]
    assert (clone / "v3.ipynb").read_bytes() == edited
    assert (clone / "ids.ipynb").read_bytes() == original["ids.ipynb"]


def test_cells_a_bare_pull_left_without_outputs_get_them_back(clone: Path, tmp_path: Path) -> None:
    original = snapshot(clone)
    checkout_without_nbgit(clone, *SAMPLES)
    read_back(clone, *SAMPLES)  # the last version of each notebook git read here is bare
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(clone), str(other))
    install(other)
    commit_edits(other, SECOND, "from_elsewhere = 2")
    git(clone, "-c", "nbgit.restore=false", "pull", "-q", str(other), "main")
    for name in SAMPLES:
        assert (clone / name).read_bytes() == blob(clone, f"HEAD:{name}")
    done = nbgit(clone, "restore")
    assert b"put back the outputs of 4 notebook(s)" in done.stdout, done.stderr.decode()
    for name in SAMPLES:
        assert_outputs(clone / name, original[name], edited=(SECOND[name],))
    assert_clean_state(clone)


def test_from_a_subfolder_paths_are_its_own(repo: Path) -> None:
    install(repo)
    (repo / "sub").mkdir()
    for name, source in list(SAMPLES.items())[:2]:
        (repo / "sub" / name).write_bytes(source.read_bytes())
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "two")
    original = (repo / "sub" / "images.ipynb").read_bytes()
    checkout_without_nbgit(repo, "sub/images.ipynb", "sub/widgets.ipynb")
    done = nbgit(repo / "sub", "restore", "images.ipynb")
    assert b"put back the outputs of 1 notebook(s): sub/images.ipynb" in done.stdout, done.stderr.decode()
    assert (repo / "sub" / "images.ipynb").read_bytes() == original
    assert (repo / "sub" / "widgets.ipynb").read_bytes() == blob(repo, "HEAD:sub/widgets.ipynb")


def test_nothing_to_put_back_is_said_and_nothing_written(repo: Path, tmp_path: Path) -> None:
    install(repo)
    (repo / "a.ipynb").write_bytes(SAMPLES["images.ipynb"].read_bytes())
    assert nbgit(repo, "clean", "a.ipynb").returncode == 0  # never run here with outputs kept
    git(repo, "add", "a.ipynb")
    git(repo, "commit", "-q", "-m", "a")
    bare = (repo / "a.ipynb").read_bytes()
    assert bare == blob(repo, "HEAD:a.ipynb")
    done = nbgit(repo, "restore")
    assert done.returncode == 0
    assert b"this clone holds no outputs for 1 notebook(s) as committed" in done.stdout
    assert (repo / "a.ipynb").read_bytes() == bare

    git(repo, "config", "nbgit.restore", "false")
    done = nbgit(repo, "restore")
    assert done.returncode == 2
    assert done.stderr.decode().startswith("nbgit: error: this clone keeps no outputs") and "nbgit install --restore" in done.stderr.decode()
    done = nbgit(tmp_path, "restore")
    assert done.returncode == 2 and done.stderr.startswith(b"nbgit: error: ") and b"Traceback" not in done.stderr


def test_a_notebook_that_cannot_be_written_is_one_warning_and_the_others_come_back(clone: Path, read_only: Callable[[Path], None]) -> None:
    original = snapshot(clone)
    (clone / "locked").mkdir()
    for name in ("images.ipynb", "widgets.ipynb"):
        git(clone, "mv", name, f"locked/{name}")
    git(clone, "commit", "-q", "-m", "moved")
    checkout_without_nbgit(clone, "locked/images.ipynb", "v3.ipynb")
    read_only(clone / "locked")  # no file can be replaced in there
    done = nbgit(clone, "restore")
    assert done.returncode == 0, done.stderr.decode()
    warnings = done.stderr.decode().splitlines()
    assert len(warnings) == 1 and "locked/images.ipynb" in warnings[0] and "its outputs were not put back" in warnings[0], warnings
    assert (clone / "v3.ipynb").read_bytes() == original["v3.ipynb"]
    assert (clone / "locked/images.ipynb").read_bytes() == blob(clone, "HEAD:locked/images.ipynb")
    assert git(clone, "status", "--porcelain").stdout == b""


def test_a_sparse_partial_clone_is_judged_without_asking_its_remote(clone: Path, tmp_path: Path) -> None:
    """Notebooks outside a sparse checkout of a blobless clone are neither there nor fetched: `nbgit install`,
    `renormalize`, `check`, `status` and `restore` never ask the remote for their blobs (offline, a wait;
    online, a download of every notebook of the repository)."""
    (clone / "far").mkdir()
    (clone / "far" / "other.ipynb").write_bytes(SAMPLES["v3.ipynb"].read_bytes())
    edit(clone / "far" / "other.ipynb", 0, "far = 1")  # a blob of its own
    git(clone, "add", "-A")
    git(clone, "commit", "-q", "-m", "far away")
    git(clone, "config", "uploadpack.allowFilter", "true")
    partial = tmp_path / "partial"
    git(tmp_path, "clone", "-q", "--filter=blob:none", "--sparse", f"file://{clone}", str(partial))
    contacted = tmp_path / "remote-contacted"
    git(partial, "config", "remote.origin.url", "ssh://nbgit.invalid/repo")  # offline from now on
    git(partial, "config", "core.sshCommand", f"touch '{contacted}'; false")
    install(partial)
    assert nbgit(partial, "renormalize").returncode == 0
    for check in (["check"], ["check", "--staged"], ["check", "--all"]):  # duplicate-code compares every notebook
        done = nbgit(partial, *check)
        assert done.returncode == 0, (check, done.stderr.decode())
    (partial / "images.ipynb").write_bytes(SAMPLES["images.ipynb"].read_bytes())  # run here
    read_back(partial, "images.ipynb")
    checkout_without_nbgit(partial, "images.ipynb")
    assert b"1 notebook(s) are as committed, without the outputs this clone keeps for them: images.ipynb" in nbgit(partial, "status").stdout
    done = nbgit(partial, "restore")
    assert b"put back the outputs of 1 notebook(s): images.ipynb" in done.stdout, done.stderr.decode()
    assert (partial / "images.ipynb").read_bytes() == SAMPLES["images.ipynb"].read_bytes()
    assert not contacted.exists()
    far = git(partial, "rev-parse", "HEAD:far/other.ipynb").stdout.strip()
    assert b"?" + far in git(partial, "rev-list", "--objects", "--missing=print", "HEAD").stdout.split()  # still not fetched
