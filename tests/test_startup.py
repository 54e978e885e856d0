"""The commands git starts once per file (textconv, the one-shot filter) import only what they use."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from conftest import NBGIT, corpus_files

# argparse (with gettext, locale, shutil), dataclasses (inspect, ast), pathlib (urllib.parse,
# ipaddress), msgspec (loaded only from a process's eighth notebook) and the heavy libraries
NOT_NEEDED = {"argparse", "dataclasses", "pathlib", "shutil", "msgspec", "nbformat", "jupytext", "nbdime", "git", "jsonschema"}


def imported(args: list[str], stdin: bytes, cwd: Path) -> set[str]:
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    done = subprocess.run([str(NBGIT), *args], input=stdin, capture_output=True, cwd=cwd, env=env)
    assert done.returncode == 0, done.stderr.decode()[-500:]
    return {line.split("|")[-1].strip().split(".")[0] for line in done.stderr.decode().splitlines() if line.startswith("import time:")}


@pytest.mark.parametrize("args", [["textconv", "nb.ipynb"], ["clean", "-"], ["filter", "clean"], ["filter", "clean", "nb.ipynb"]])
def test_per_file_commands_import_nothing_they_do_not_use(repo: Path, args: list[str]) -> None:
    notebooks = corpus_files("peer", "nbstripout/tests/e2e_notebooks/test_metadata.ipynb")
    if not notebooks:
        pytest.skip("corpus absent")
    data = notebooks[0].read_bytes()
    (repo / "nb.ipynb").write_bytes(data)
    modules = imported(args, data, repo)
    assert "nbgit" in modules and "json" in modules  # the command did run
    assert not modules & NOT_NEEDED, sorted(modules & NOT_NEEDED)


def test_other_commands_still_parse_their_arguments(repo: Path) -> None:
    done = subprocess.run([str(NBGIT), "clean", "--check", "-"], input=b"{}", capture_output=True, cwd=repo)
    assert done.returncode in (0, 1, 2) and b"usage" not in done.stderr
    done = subprocess.run([str(NBGIT), "filter", "clean", "--bogus"], capture_output=True, cwd=repo)
    assert done.returncode == 2 and b"usage" in done.stderr
