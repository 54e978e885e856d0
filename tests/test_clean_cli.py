"""`nbgit clean` as a user runs it: files, folders, stdin, --check, --dry-run, bad input, strict."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest

from conftest import CORPUS, copy_in, corpus_files, git, nbgit
from nbgit.clean import clean_bytes
from nbgit.policy import Policy

DIRTY = CORPUS / "peer/nbstripout/tests/e2e_notebooks/test_metadata.ipynb"
CLEAN = CORPUS / "peer/nbstripout/tests/e2e_notebooks/test_unicode.ipynb.expected"
BAD = CORPUS / "bad_inputs"


@functools.cache
def clean_notebook() -> bytes:
    """A clean notebook with non-ASCII text (read when a test asks: without the corpus only those tests skip)."""
    return clean_bytes(CLEAN.read_bytes(), "clean.ipynb", Policy())


def test_rewrites_only_what_changes_and_keeps_mtime_of_clean_files(repo: Path) -> None:
    dirty = copy_in(DIRTY, repo, "dirty.ipynb")
    clean = repo / "clean.ipynb"
    clean.write_bytes(clean_notebook())
    os.utime(clean, (1_000_000_000, 1_000_000_000))
    done = nbgit(repo, "clean")
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"" and done.stderr == b""
    assert dirty.read_bytes() == clean_bytes(DIRTY.read_bytes(), "x", Policy())
    assert clean.stat().st_mtime == 1_000_000_000
    assert sorted(p.name for p in repo.iterdir()) == [".git", "clean.ipynb", "dirty.ipynb"], "temporary file left behind"


def test_permissions_survive_the_atomic_rewrite(repo: Path) -> None:
    dirty = copy_in(DIRTY, repo, "dirty.ipynb")
    dirty.chmod(0o640)
    assert nbgit(repo, "clean", "dirty.ipynb").returncode == 0
    assert dirty.stat().st_mode & 0o777 == 0o640


def test_folders_recurse_but_skip_checkpoints_and_git_ignored(repo: Path) -> None:
    wanted = copy_in(DIRTY, repo, "a/b/deep.ipynb")
    checkpoint = copy_in(DIRTY, repo, "a/.ipynb_checkpoints/deep-checkpoint.ipynb")
    ignored = copy_in(DIRTY, repo, "build/out.ipynb")
    (repo / ".gitignore").write_text("build/\n")
    other = copy_in(DIRTY, repo, "a/notes.txt")
    assert nbgit(repo, "clean", "a", "build").returncode == 0
    assert wanted.read_bytes() != DIRTY.read_bytes()
    for untouched in (checkpoint, ignored, other):
        assert untouched.read_bytes() == DIRTY.read_bytes()


def test_a_file_named_explicitly_is_cleaned_even_if_ignored(repo: Path) -> None:
    (repo / ".gitignore").write_text("*.ipynb\n")
    target = copy_in(DIRTY, repo, "x.ipynb")
    assert nbgit(repo, "clean", "x.ipynb").returncode == 0
    assert target.read_bytes() != DIRTY.read_bytes()


def test_check_lists_changes_per_file_and_cell_and_changes_nothing(repo: Path) -> None:
    copy_in(DIRTY, repo, "dirty.ipynb")
    (repo / "clean.ipynb").write_bytes(clean_notebook())
    done = nbgit(repo, "clean", "--check")
    assert done.returncode == 1
    lines = done.stdout.decode().splitlines()
    assert lines[0] == "dirty.ipynb: would clean"
    assert "  cell 2: execution_count" in lines and "  cell 4: outputs (1)" in lines
    assert "clean.ipynb" not in done.stdout.decode()
    assert (repo / "dirty.ipynb").read_bytes() == DIRTY.read_bytes()
    assert nbgit(repo, "clean", "--check", "clean.ipynb").returncode == 0


def test_check_flags_a_notebook_only_in_another_editors_layout(repo: Path) -> None:
    content = json.loads(clean_notebook())
    (repo / "colab.ipynb").write_text(json.dumps(content, indent=2))
    done = nbgit(repo, "clean", "--check")
    assert done.returncode == 1
    assert "layout" in done.stdout.decode()


def test_dry_run_names_files_and_writes_nothing(repo: Path) -> None:
    copy_in(DIRTY, repo, "dirty.ipynb")
    done = nbgit(repo, "clean", "--dry-run")
    assert done.returncode == 0
    assert done.stdout.decode() == "would clean dirty.ipynb\n"
    assert (repo / "dirty.ipynb").read_bytes() == DIRTY.read_bytes()


def test_stdin_to_stdout(repo: Path) -> None:
    done = nbgit(repo, "clean", "-", input=DIRTY.read_bytes())
    assert done.returncode == 0 and done.stderr == b""
    assert done.stdout == clean_bytes(DIRTY.read_bytes(), "-", Policy())
    assert nbgit(repo, "clean", "-", "--check", input=DIRTY.read_bytes()).returncode == 1
    assert nbgit(repo, "clean", "-", "--check", input=clean_notebook()).returncode == 0


def test_policy_of_the_repository_applies(repo: Path) -> None:
    (repo / ".nbgit.toml").write_text('outputs = "keep"\nexecution_count = "keep"\n')
    done = nbgit(repo, "clean", "-", input=DIRTY.read_bytes())
    assert json.loads(done.stdout)["cells"][3]["outputs"] != []
    (repo / ".nbgit.toml").write_text('outputs = "maybe"\n')
    done = nbgit(repo, "clean", "-", input=DIRTY.read_bytes())
    assert done.returncode == 2 and done.stdout == b""
    assert done.stderr.decode().splitlines()[0] == ".nbgit.toml: `outputs` must be \"strip\" or \"keep\", not 'maybe'".join(["nbgit: error: ", ""])


@pytest.mark.parametrize(("flags", "counts", "outputs", "collapsed"), [
    ([], None, 0, False),
    (["--keep-output"], None, 1, False),
    (["--preserve-cell-outputs", "--preserve-execution-counts"], 3, 1, False),  # nb-clean's names
    (["--keep-count"], 3, 0, False),
    (["--keep-metadata-keys", "cell.metadata.collapsed"], None, 0, True),
])
def test_peer_flags_override_the_policy_for_one_run(repo: Path, flags: list[str], counts: int | None, outputs: int, collapsed: bool) -> None:
    """nbstripout's (and nb-clean's) flags win over the policy file and its [[overrides]], for this run only."""
    (repo / ".nbgit.toml").write_text('[[overrides]]\npaths = ["**"]\noutputs = "strip"\nexecution_count = "strip"\n')
    path = copy_in(DIRTY, repo, "nb.ipynb")
    done = nbgit(repo, "clean", *flags, "nb.ipynb")
    assert done.returncode == 0, done.stderr
    last = json.loads(path.read_bytes())["cells"][3]
    assert (last["execution_count"], len(last["outputs"]), "collapsed" in last["metadata"]) == (counts, outputs, collapsed)
    assert nbgit(repo, "clean", "--check", *flags, "nb.ipynb").returncode == 0
    assert nbgit(repo, "clean", "--check", "nb.ipynb").returncode == (0 if not flags else 1)


def test_extra_keys_and_empty_cells_flags(repo: Path) -> None:
    content = json.loads(DIRTY.read_bytes())
    content["cells"].append({"cell_type": "code", "execution_count": None, "metadata": {"owner": "me"}, "outputs": [], "source": [" "]})
    (repo / "nb.ipynb").write_text(json.dumps(content))
    done = nbgit(repo, "clean", "--extra-keys", "cell.metadata.owner metadata.kernelspec", "--drop-empty-cells", "nb.ipynb")
    assert done.returncode == 0, done.stderr
    after = json.loads((repo / "nb.ipynb").read_bytes())
    assert len(after["cells"]) == 4 and "kernelspec" not in after["metadata"]
    done = nbgit(repo, "clean", "--extra-keys", "kernelspec", "nb.ipynb")
    assert done.returncode == 2
    assert done.stderr.decode().startswith("nbgit: error: the command line: `extra_keys` must be a list of key paths")


def test_excluded_notebooks_are_left_alone(repo: Path) -> None:
    (repo / ".nbgit.toml").write_text('exclude = ["docs/**"]\n')
    kept = copy_in(DIRTY, repo, "docs/gallery/demo.ipynb")
    cleaned = copy_in(DIRTY, repo, "src/demo.ipynb")
    assert nbgit(repo, "clean").returncode == 0
    assert kept.read_bytes() == DIRTY.read_bytes() and cleaned.read_bytes() != DIRTY.read_bytes()


BAD_INPUTS: dict[str, Callable[[], bytes]] = {  # read when a test asks: without the corpus only those tests skip
    "empty": lambda: b"",
    "invalid-json": lambda: (BAD / "ageron+handson-ml2/19_training_and_deploying_at_scale.ipynb").read_bytes(),
    "git-conflict-markers": lambda: (BAD / "derived/source-conflict.git-merge-file.ipynb").read_bytes(),
    "bom": lambda: b"\xef\xbb\xbf" + CLEAN.read_bytes(),
    "utf-16": lambda: (BAD / "jupyter+nbdime/nbdime/tests/files/empty-utf-16.ipynb").read_bytes(),
    "non-utf8": lambda: CLEAN.read_bytes().replace("ü".encode(), b"\xfc") if "ü".encode() in CLEAN.read_bytes() else b'{"cells": ["\xfc"]}',
    "binary-garbage": lambda: bytes(range(256)) * 64,
    "json-array": lambda: b"[1, 2, 3]\n",
    "html-saved-as-ipynb": lambda: (BAD / "fastai+nbdev/nbs/06_mdx.ipynb").read_bytes(),
    "python-saved-as-ipynb": lambda: (BAD / "googlecolab+colabtools/democam.ipynb").read_bytes(),
}


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_bad_input_passes_through_with_one_warning_line(repo: Path, name: str) -> None:
    data = BAD_INPUTS[name]()
    (repo / "bad.ipynb").write_bytes(data)
    done = nbgit(repo, "clean", "bad.ipynb")
    assert done.returncode == 0
    lines = done.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nbgit: warning: bad.ipynb: "), lines
    assert (repo / "bad.ipynb").read_bytes() == data
    piped = nbgit(repo, "clean", "-", input=data)
    assert piped.returncode == 0 and piped.stdout == data
    assert b"Traceback" not in done.stderr + piped.stderr


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_bad_input_in_strict_mode_is_an_error_and_nothing_is_written(repo: Path, name: str) -> None:
    data = BAD_INPUTS[name]()
    (repo / ".nbgit.toml").write_text("strict = true\n")
    (repo / "bad.ipynb").write_bytes(data)
    done = nbgit(repo, "clean", "bad.ipynb")
    assert done.returncode == 2
    stderr = done.stderr.decode().splitlines()
    assert stderr[0].startswith("nbgit: error: bad.ipynb: ") and stderr[1].startswith("hint: ")
    assert (repo / "bad.ipynb").read_bytes() == data
    piped = nbgit(repo, "clean", "-", input=data)
    assert piped.returncode == 2 and piped.stdout == b""


def test_strict_writes_nothing_when_any_notebook_cannot_be_cleaned(repo: Path) -> None:
    """Under strict a failed run leaves the checkout as it found it (what a CI step expects)."""
    (repo / ".nbgit.toml").write_text("strict = true\n")
    good = copy_in(DIRTY, repo, "a-good.ipynb")
    (repo / "b-bad.ipynb").write_bytes(b"{")
    done = nbgit(repo, "clean", ".")
    assert done.returncode == 2
    assert done.stderr.decode().splitlines()[0].startswith("nbgit: error: b-bad.ipynb: invalid JSON")
    assert good.read_bytes() == DIRTY.read_bytes()
    (repo / "b-bad.ipynb").unlink()
    assert nbgit(repo, "clean", ".").returncode == 0
    assert good.read_bytes() == clean_bytes(DIRTY.read_bytes(), "x", Policy())


def test_check_counts_unreadable_files_as_failures(repo: Path) -> None:
    (repo / "bad.ipynb").write_bytes(b"{")
    done = nbgit(repo, "clean", "--check")
    assert done.returncode == 1
    assert "bad.ipynb: invalid JSON" in done.stderr.decode()


@pytest.mark.corpus
@pytest.mark.parametrize("version", ["nbformat2", "nbformat3", "missing-nbformat"])
def test_old_nbformat_versions_stay_in_their_version(repo: Path, version: str) -> None:
    source = {
        "nbformat2": CORPUS / "peer/nbstripout/tests/e2e_notebooks/test_nbformat2.ipynb",
        "nbformat3": next(p for p in corpus_files("dev") if b'"nbformat": 3' in p.read_bytes()),
        "missing-nbformat": CORPUS / "peer/nbstripout/tests/e2e_notebooks/test_missing_nbformat.ipynb",
    }[version]
    target = copy_in(source, repo, "old.ipynb")
    assert nbgit(repo, "clean", "old.ipynb").returncode == 0
    before, after = json.loads(source.read_bytes()), json.loads(target.read_bytes())
    assert after.get("nbformat") == before.get("nbformat")
    assert ("worksheets" in after) == ("worksheets" in before)
    assert nbgit(repo, "clean", "--check", "old.ipynb").returncode == 0


def test_nbformat_1_notebook_is_cleaned_in_its_version(repo: Path) -> None:
    v1 = {"nbformat": 1, "cells": [{"cell_type": "code", "code": "1+1", "prompt_number": 3, "outputs": [{"text": "2"}]}]}
    (repo / "v1.ipynb").write_text(json.dumps(v1))
    assert nbgit(repo, "clean", "v1.ipynb").returncode == 0
    after = json.loads((repo / "v1.ipynb").read_text())
    assert after["nbformat"] == 1 and after["cells"][0]["code"] == "1+1" and after["cells"][0]["prompt_number"] is None


def test_a_100_mb_notebook(repo: Path) -> None:
    image = "iVBORw0KGgo" * 90_000  # ~1 MB of base64 per output
    cell = {"cell_type": "code", "execution_count": 1, "id": "big", "metadata": {}, "source": "plot()",
            "outputs": [{"output_type": "display_data", "data": {"image/png": image}, "metadata": {}}]}
    notebook = {"cells": [dict(cell, id=f"c{i}") for i in range(100)], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = repo / "huge.ipynb"
    path.write_text(json.dumps(notebook))
    assert path.stat().st_size > 99_000_000
    done = nbgit(repo, "clean", "huge.ipynb")
    assert done.returncode == 0, done.stderr
    result = json.loads(path.read_bytes())
    assert len(result["cells"]) == 100 and all(c["outputs"] == [] for c in result["cells"])
    assert path.stat().st_size < 50_000


def test_clean_does_not_import_heavy_libraries(repo: Path) -> None:
    copy_in(DIRTY, repo, "dirty.ipynb")
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "nbgit", "clean", "dirty.ipynb"],
        cwd=repo, capture_output=True, text=True,
    )
    assert done.returncode == 0
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    assert "nbgit.clean" in imported
    for heavy in ("nbformat", "jupytext", "nbdime", "git", "jsonschema"):
        assert heavy not in imported


@pytest.mark.corpus
def test_clean_in_a_real_commit_flow(repo: Path) -> None:
    """What `nbgit clean` writes is stable through git: add, commit, re-clean gives no diff."""
    for path in corpus_files("dev")[:20]:
        copy_in(path, repo, f"nb/{path.parent.name}-{path.name}")
    nbgit(repo, "clean", "nb")
    git(repo, "add", "nb")
    git(repo, "commit", "-qm", "clean notebooks")
    assert nbgit(repo, "clean", "nb").returncode == 0
    assert git(repo, "status", "--porcelain").stdout == b""


def test_help_shows_an_example_and_exit_codes(repo: Path) -> None:
    done = nbgit(repo, "clean", "--help")
    assert done.returncode == 0
    assert b"example:" in done.stdout and b"exit codes" in done.stdout


def test_missing_path_is_an_error(repo: Path) -> None:
    done = nbgit(repo, "clean", "nope.ipynb")
    assert done.returncode == 2
    assert done.stderr.decode().startswith("nbgit: error: nope.ipynb: no such file")


def run_on_terminal(cwd: Path, *args: str, env_extra: dict[str, str] | None = None) -> str:
    """Run nbgit with stderr on a pseudo-terminal and return what it drew there."""
    import pty

    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PRE_COMMIT", "GIT_INDEX_FILE")}
    env.update(env_extra or {})
    done = subprocess.run([sys.executable, "-m", "nbgit", *args], cwd=cwd, stderr=follower, stdout=subprocess.DEVNULL, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert done.returncode == 0
    return b"".join(chunks).decode()


def test_progress_on_a_terminal_but_quiet_in_ci_and_pipes(repo: Path) -> None:
    for n in range(25):
        copy_in(DIRTY, repo, f"nb{n:02}.ipynb")
    drawn = run_on_terminal(repo, "clean")
    assert "cleaning 25/25" in drawn and "cleaned 25 of 25 notebooks" in drawn
    for n in range(25):
        copy_in(DIRTY, repo, f"nb{n:02}.ipynb")
    assert run_on_terminal(repo, "clean", env_extra={"CI": "true"}) == ""
    for n in range(25):
        copy_in(DIRTY, repo, f"nb{n:02}.ipynb")
    piped = nbgit(repo, "clean")
    assert piped.returncode == 0 and piped.stderr == b""
    assert (repo / "nb00.ipynb").read_bytes() != DIRTY.read_bytes()


def test_overrides_apply_per_path(repo: Path) -> None:
    (repo / ".nbgit.toml").write_text('[[overrides]]\npaths = ["docs/**"]\noutputs = "keep"\nexecution_count = "keep"\n')
    docs = copy_in(DIRTY, repo, "docs/tour.ipynb")
    code = copy_in(DIRTY, repo, "src/work.ipynb")
    assert nbgit(repo / "src", "clean", "..").returncode == 0
    assert json.loads(docs.read_bytes())["cells"][3]["outputs"] != []
    assert json.loads(code.read_bytes())["cells"][3]["outputs"] == []
    assert nbgit(repo, "clean", "--check").returncode == 0
