"""Shared fixtures: the corpus, real git repositories in temporary folders, running nbgit for real."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
NBGIT = Path(sys.executable).with_name("nbgit")


def corpus_files(folder: str, pattern: str = "**/*.ipynb") -> list[Path]:
    """Every file of a corpus folder matching `pattern`, sorted (empty when the corpus is absent)."""
    return sorted((CORPUS / folder).glob(pattern))


def corpus_id(path: Path) -> str:
    """A short test id for a corpus file."""
    return str(path.relative_to(CORPUS))


@pytest.fixture(autouse=True)
def _isolated_git(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test sees a git without the user's global or system config."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Test")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "test@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Test")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "test@example.com")
    monkeypatch.delenv("GIT_DIR", raising=False)
    monkeypatch.delenv("GIT_INDEX_FILE", raising=False)
    monkeypatch.delenv("GIT_WORK_TREE", raising=False)
    # the venv's console scripts (nbgit, nbgit-filter-process) must be found by git and hooks
    monkeypatch.setenv("PATH", f"{NBGIT.parent}{os.pathsep}{os.environ['PATH']}")


def git(repo: Path, *args: str, check: bool = True, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run real git in `repo`."""
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, input=input)
    if check and done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed ({done.returncode}):\n{done.stderr.decode()}")
    return done


def nbgit(cwd: Path, *args: str, input: bytes | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run the installed `nbgit` command for real in `cwd`."""
    return subprocess.run([str(NBGIT), *args], cwd=cwd, capture_output=True, input=input, env=env)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A fresh git repository (branch main) with one empty commit."""
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    git(path, "commit", "-q", "--allow-empty", "-m", "root")
    return path


def copy_in(source: Path, repo: Path, name: str | None = None) -> Path:
    """Copy a corpus file into `repo` (the corpus is read-only) and return the copy."""
    target = repo / (name or source.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target
