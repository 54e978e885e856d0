"""nbgit's hooks under the real pre-commit framework: the manifest is valid; a dirty or conflicted
notebook is refused with the message, a clean one passes, a partially staged one is judged by what is
staged (the framework stashes the rest); nbgit-clean fails when it changes a file, as fixers do; and
`pre-commit try-repo` installs this project from a snapshot and runs the hooks from the manifest."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import CORPUS, NBGIT, copy_in, git
from nbgit.clean import clean_bytes
from nbgit.notebook import parse, serialise
from nbgit.policy import Policy

PROJECT = Path(__file__).resolve().parents[1]
MANIFEST = PROJECT / ".pre-commit-hooks.yaml"
PRE_COMMIT = Path(sys.executable).with_name("pre-commit")
DIRTY = CORPUS / "peer/nbstripout/tests/e2e_notebooks/test_metadata.ipynb"
CONFLICTED = CORPUS / "bad_inputs/derived/source-conflict.git-merge-file.ipynb"


@functools.cache
def clean_notebook() -> bytes:
    """DIRTY as nbgit cleans it (read when a test asks: without the corpus only those tests skip)."""
    return clean_bytes(DIRTY.read_bytes(), "x", Policy())


# read before the fixtures isolate HOME: try-repo pip-installs this project and its dependencies
PIP_CACHE = os.environ.get("PIP_CACHE_DIR") or str(Path.home() / ".cache" / "pip")


def manifest() -> list[dict[str, Any]]:
    hooks: list[dict[str, Any]] = yaml.safe_load(MANIFEST.read_text())
    return hooks


def pre_commit(repo: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PRE_COMMIT")}
    env["PRE_COMMIT_HOME"] = str(repo.parent / "pre-commit-home")
    env["PIP_CACHE_DIR"] = PIP_CACHE
    return subprocess.run([str(PRE_COMMIT), *args], cwd=repo, capture_output=True, text=True, env=env, timeout=timeout)


def commit(repo: Path) -> tuple[int, str]:
    """`git commit` through the framework's hook: the exit code and everything the hooks said."""
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PRE_COMMIT_HOME"] = str(repo.parent / "pre-commit-home")
    done = subprocess.run(["git", "commit", "-m", "change"], cwd=repo, capture_output=True, text=True, env=env, timeout=120)
    return done.returncode, done.stdout + done.stderr


def use_manifest(repo: Path, skip: tuple[str, ...] = ()) -> None:
    """Install the framework in `repo` with the manifest's hooks, as `repo: local` hooks run from this environment."""
    hooks = [
        {**hook, "language": "system", "entry": hook["entry"].replace("nbgit", str(NBGIT), 1)}
        for hook in manifest()
        if hook["id"] not in skip
    ]
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump({"repos": [{"repo": "local", "hooks": hooks}]}, sort_keys=False))
    git(repo, "add", ".pre-commit-config.yaml")
    git(repo, "commit", "-qm", "pre-commit")
    done = pre_commit(repo, "install")
    assert done.returncode == 0, done.stderr


@pytest.fixture
def framework(repo: Path) -> Path:
    """A repository using the manifest's hooks through the framework, run from this environment.

    Each hook of .pre-commit-hooks.yaml is copied as a `repo: local` hook with `language: system`
    (the framework then runs nbgit from this virtualenv instead of building one), so that what is
    exercised is the manifest's own entry, file selection and serial setting. Pairing is off.
    """
    use_manifest(repo)
    return repo


def test_the_manifest_is_valid_for_the_framework() -> None:
    done = subprocess.run([str(PRE_COMMIT), "validate-manifest", str(MANIFEST)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    ids = {hook["id"]: hook for hook in manifest()}
    assert set(ids) == {"nbgit-check", "nbgit-clean", "nbgit-sync", "nbgit-check-install"}
    assert ids["nbgit-check"]["require_serial"] and ids["nbgit-sync"]["require_serial"]
    assert ids["nbgit-clean"]["types"] == ["jupyter"]


def test_framework_refuses_dirty_and_conflicted_notebooks_and_passes_clean_ones(framework: Path) -> None:
    git(framework, "config", "filter.nbgit.process", str(NBGIT.with_name("nbgit-filter-process")))  # check-install passes
    copy_in(CONFLICTED, framework, "merged.ipynb")
    git(framework, "add", "merged.ipynb")
    code, said = commit(framework)
    assert code == 1
    assert "merged.ipynb: git conflict markers (line 11)" in said
    git(framework, "rm", "-q", "--cached", "merged.ipynb")
    (framework / "merged.ipynb").unlink()
    (framework / "clean.ipynb").write_bytes(clean_notebook())
    git(framework, "add", "clean.ipynb")
    code, said = commit(framework)
    assert code == 0, said


def test_framework_judges_what_is_staged_and_clean_fixes_like_a_fixer(framework: Path) -> None:
    git(framework, "config", "filter.nbgit.process", str(NBGIT.with_name("nbgit-filter-process")))
    target = framework / "nb.ipynb"
    target.write_bytes(clean_notebook())
    git(framework, "add", "nb.ipynb")
    copy_in(DIRTY, framework, "nb.ipynb")  # outputs in the working copy only: the framework stashes them
    code, said = commit(framework)
    assert code == 0, said
    assert target.read_bytes() == DIRTY.read_bytes(), "the framework must put the unstaged change back"
    notebook = parse(DIRTY.read_bytes(), "x")
    notebook.content["cells"][0]["source"] += "\n# edited"
    edited = serialise(notebook)
    target.write_bytes(edited)
    git(framework, "add", "nb.ipynb")  # an edit, with outputs, staged
    code, said = commit(framework)
    assert code == 1
    assert "nb.ipynb cell 2: not clean" in said
    assert "nbgit clean..." in said and "files were modified by this hook" in said
    assert target.read_bytes() == clean_bytes(edited, "x", Policy())  # nbgit-clean fixed the file; staged, it passes
    git(framework, "add", "nb.ipynb")
    code, said = commit(framework)
    assert code == 0, said


def test_framework_check_install_refuses_until_installed(framework: Path) -> None:
    (framework / "clean.ipynb").write_bytes(clean_notebook())
    git(framework, "add", "clean.ipynb")
    code, said = commit(framework)
    assert code == 1
    assert "nbgit check-install..." in said and "nbgit is not installed in this clone" in said


def snapshot(tmp_path: Path) -> Path:
    """This project's working state committed to a scratch repository: what `try-repo` installs.

    Its dependencies are cut down to nbformat (whose schema files the checks read): the hooks under
    test (check, clean) import nothing else, and pip-installing nbdime and jupytext into the hook's
    fresh virtualenv would take minutes and test pip rather than the manifest.
    """
    snap = tmp_path / "nbgit-snapshot"
    snap.mkdir()
    for name in ("README.md", ".pre-commit-hooks.yaml"):
        shutil.copy(PROJECT / name, snap / name)
    project = (PROJECT / "pyproject.toml").read_text()
    start = project.index("dependencies = [")
    end = project.index("]", start) + 1
    (snap / "pyproject.toml").write_text(project[:start] + 'dependencies = ["nbformat>=5.7"]' + project[end:])
    shutil.copytree(PROJECT / "src", snap / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    git(snap, "init", "-q")
    git(snap, "add", ".")
    git(snap, "commit", "-qm", "snapshot")
    return snap


@pytest.mark.slow
def test_try_repo_installs_the_project_and_runs_the_manifests_hooks(repo: Path, tmp_path: Path) -> None:
    """The manifest as users get it: `language: python`, the framework pip-installs nbgit (needs PyPI)."""
    snap = snapshot(tmp_path)
    copy_in(DIRTY, repo, "dirty.ipynb")
    git(repo, "add", "dirty.ipynb")
    try:
        done = pre_commit(repo, "try-repo", str(snap), "nbgit-check", timeout=600)
    except subprocess.TimeoutExpired:
        pytest.fail("pre-commit try-repo did not finish within 10 minutes")
    if "Could not find a version" in done.stdout or "No matching distribution" in done.stdout:
        pytest.skip("PyPI is not reachable: the framework cannot build nbgit's environment")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "dirty.ipynb cell 2: not clean" in done.stdout
    (repo / "dirty.ipynb").write_bytes(clean_notebook())  # clean in the working copy, dirty staged: the staged one is judged
    assert pre_commit(repo, "try-repo", str(snap), "nbgit-check").returncode == 1
    git(repo, "add", "dirty.ipynb")
    copy_in(DIRTY, repo, "dirty.ipynb")  # clean staged, dirty working copy: stashed, and passes
    done = pre_commit(repo, "try-repo", str(snap), "nbgit-check")
    assert done.returncode == 0, done.stdout
    git(repo, "add", "dirty.ipynb")
    done = pre_commit(repo, "try-repo", str(snap), "nbgit-clean")
    assert done.returncode == 1 and "files were modified by this hook" in done.stdout
    assert (repo / "dirty.ipynb").read_bytes() == clean_notebook()


def test_framework_keeps_pairs_in_step(repo: Path) -> None:
    (repo / ".nbgit.toml").write_text("[pair]\nenabled = true\n")
    (repo / "a.ipynb").write_bytes(clean_notebook())
    git(repo, "config", "filter.nbgit.process", str(NBGIT.with_name("nbgit-filter-process")))
    use_manifest(repo, skip=("nbgit-clean",))
    git(repo, "add", "a.ipynb", ".nbgit.toml")
    code, said = commit(repo)
    assert code == 1  # the twin does not exist yet: check says so, sync writes it
    assert "a.ipynb: paired, but its twin a.py does not exist yet [unsynced]" in said
    assert (repo / "a.py").is_file()
    git(repo, "add", "a.py")
    code, said = commit(repo)
    assert code == 0, said
    notebook = parse(clean_notebook(), "x")
    notebook.content["cells"][0]["source"] += "\n# edited"
    (repo / "a.ipynb").write_bytes(serialise(notebook))
    git(repo, "add", "a.ipynb")
    code, said = commit(repo)
    assert code == 1
    assert "a.ipynb: changed since its twin a.py was last in step [unsynced]" in said
    assert "nbgit sync..." in said and "files were modified by this hook" in said
    assert "# edited" in (repo / "a.py").read_text()
    git(repo, "add", "a.py")
    code, said = commit(repo)
    assert code == 0, said


def test_framework_sync_fails_when_it_writes_a_twin(repo: Path) -> None:
    """A twin nbgit-sync creates is a new, untracked file the framework would not notice: the hook's
    own exit code fails the commit, so the twin is not left out of it."""
    (repo / ".nbgit.toml").write_text("[pair]\nenabled = true\n")
    (repo / "a.ipynb").write_bytes(clean_notebook())
    use_manifest(repo, skip=("nbgit-clean", "nbgit-check", "nbgit-check-install"))
    git(repo, "add", "a.ipynb", ".nbgit.toml")
    code, said = commit(repo)
    assert code == 1, said
    assert "nbgit sync..." in said and "Failed" in said and "created a.py from a.ipynb" in said
    assert (repo / "a.py").is_file() and git(repo, "rev-list", "--count", "HEAD").stdout.strip() == b"2"
    git(repo, "add", "a.py")
    code, said = commit(repo)
    assert code == 0, said
    assert git(repo, "ls-files", "a.py").stdout == b"a.py\n"
