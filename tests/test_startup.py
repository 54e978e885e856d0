"""The commands git starts once per file (textconv, the one-shot filter) import only what they use."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import time
from pathlib import Path

import pytest
from conftest import CORPUS, NBGIT

# argparse (with gettext, locale, shutil), dataclasses (inspect, ast), pathlib (urllib.parse,
# ipaddress), msgspec (loaded only from a process's eighth notebook) and the heavy libraries
NOT_NEEDED = {"argparse", "dataclasses", "pathlib", "shutil", "msgspec", "nbformat", "jupytext", "nbdime", "git", "jsonschema"}
# what the output store brings along when the one-shot clean is given a path (it records the
# outputs then, as the process does): git never runs that form (install wires `nbgit filter clean`)
STORE_NEEDS = {"pathlib", "shutil"}


# a notebook as Jupyter saves it after a run: outputs, a count and editor metadata to strip
DIRTY = json.dumps({
    "cells": [{"cell_type": "code", "execution_count": 1, "id": "a", "metadata": {"collapsed": False, "scrolled": True},
               "outputs": [{"name": "stdout", "output_type": "stream", "text": ["1\n"]}], "source": ["print(1)"]}],
    "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
    "nbformat": 4, "nbformat_minor": 5,
}, indent=1).encode() + b"\n"


# what git's textconv process may import besides the interpreter's start-up without site (`python -S`,
# as install wires it): nbgit's quick path, stat and the C half of json (no os, re, enum, typing,
# collections or json: milliseconds each, per process)
TEXTCONV_IMPORTS = {
    "nbgit", "nbgit.commands", "nbgit.commands.textconv", "nbgit.terminal", "nbgit.policy_files", "nbgit.leanjson",
    "nbgit.render", "nbgit.record", "nbgit.volatile", "nbgit.quickview", "_json", "__future__", "stat", "_stat",
}


def imported(args: list[str], stdin: bytes, cwd: Path, program: Path = NBGIT, ci: bool | None = None) -> set[str]:
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    if ci is not None:
        env["CI"] = "1" if ci else ""
    done = subprocess.run([str(program), *args], input=stdin, capture_output=True, cwd=cwd, env=env)
    assert done.returncode == 0, done.stderr.decode()[-500:]
    names = {line.split("|")[-1].strip() for line in done.stderr.decode().splitlines() if line.startswith("import time:")}
    return names | {name.split(".")[0] for name in names}  # each module, and the package it belongs to


@pytest.mark.parametrize("args", [
    ["textconv", "nb.ipynb"], ["textconv", "--", "nb.ipynb"], ["clean", "-"], ["filter", "clean"], ["filter", "clean", "nb.ipynb"], ["filter", "clean", "--", "nb.ipynb"],
])
def test_per_file_commands_import_nothing_they_do_not_use(repo: Path, args: list[str]) -> None:
    data = DIRTY
    (repo / "nb.ipynb").write_bytes(data)
    modules = imported(args, data, repo)
    assert "nbgit" in modules and ("nbgit.quickview" if args[0] == "textconv" else "json") in modules  # the command did run
    records = args[:2] == ["filter", "clean"] and args[-1] == "nb.ipynb"
    assert ("nbgit.store.disk" in modules) == records  # the store opens only to record a path's outputs
    not_needed = NOT_NEEDED - STORE_NEEDS if records else NOT_NEEDED
    assert not modules & not_needed, sorted(modules & not_needed)


@pytest.mark.parametrize("args", [["clean", "-"], ["filter", "clean"]])
def test_a_notebook_of_a_megabyte_is_read_and_written_in_c_from_the_first(repo: Path, args: list[str]) -> None:
    """A one-shot command given a notebook of 1 MB or more loads msgspec at once (its import, about 15 ms,
    costs less than the standard library's writer takes on that much more than msgspec): a 20 MB
    notebook cleaned in 0.15 s rather than 0.4 s. The same bytes either way (tests/test_fastjson.py)."""
    big = json.loads(DIRTY)
    big["cells"][0]["outputs"][0]["text"] = [f"line {number}\n" for number in range(120_000)]
    data = json.dumps(big, indent=1, sort_keys=True).encode()
    assert len(data) >= 1 << 20
    assert "msgspec" in imported(args, data, repo)


@pytest.mark.parametrize("policy, records", [('outputs = "keep"\n', False), ('outputs = "keep"\ndrop_tagged_cells = ["scratch"]\n', True)], ids=["keeps outputs", "drops cells"])
def test_where_outputs_are_kept_the_store_opens_only_for_a_policy_that_drops_cells(repo: Path, policy: str, records: bool) -> None:
    """A policy that keeps outputs and drops no cells leaves git nothing to lose: the one-shot clean neither
    imports the store nor writes it (it only looks whether the store exists, where a checkout notes the
    notebooks committed without nbgit: `restore.as_committed`); one that drops cells keeps them there,
    as a policy stripping outputs does."""
    (repo / ".nbgit.toml").write_text(policy)
    (repo / "nb.ipynb").write_bytes(DIRTY)
    modules = imported(["filter", "clean", "--", "nb.ipynb"], DIRTY, repo)
    assert "json" in modules and ("nbgit.store.disk" in modules) == records
    not_needed = NOT_NEEDED - STORE_NEEDS if records else NOT_NEEDED - {"pathlib"}
    assert not modules & not_needed, sorted(modules & not_needed)
    assert (repo / ".git" / "nbgit" / "outputs").exists() == records


def wired_textconv(repo: Path) -> str:
    """diff.nbgit.textconv as `nbgit install` writes it."""
    done = subprocess.run([str(NBGIT), "install", "--no-hooks"], capture_output=True, cwd=repo)
    assert done.returncode == 0, done.stderr.decode()
    return subprocess.run(["git", "config", "diff.nbgit.textconv"], capture_output=True, cwd=repo, check=True).stdout.decode().strip()


def imported_by_shell(command: str, cwd: Path) -> set[str]:
    """The modules `command FILE` imports, run through sh as git runs textconv."""
    done = subprocess.run(["sh", "-c", f"{command} nb.ipynb"], capture_output=True, cwd=cwd, env={**os.environ, "PYTHONPROFILEIMPORTTIME": "1"})
    assert done.returncode == 0, done.stderr.decode()[-500:]
    return {line.split("|")[-1].strip() for line in done.stderr.decode().splitlines() if line.startswith("import time:")}


def test_textconv_as_installed_imports_only_what_reads_and_renders_a_notebook(repo: Path) -> None:
    """textconv as `nbgit install` wires it (git starts it once per notebook blob) renders a notebook of
    a repository without a policy through the quick view, importing nothing else: not site, not os."""
    (repo / "nb.ipynb").write_bytes(DIRTY)
    command = wired_textconv(repo)
    interpreter = shlex.split(command)[2]  # NBGIT_VERSION=... exec PYTHON -S ...
    bare = imported_by_shell(f"'{interpreter}' -S -c pass", repo)  # the interpreter's start-up without site
    modules = imported_by_shell(command, repo) - bare
    assert "nbgit.quickview" in modules and modules <= TEXTCONV_IMPORTS, sorted(modules - TEXTCONV_IMPORTS)
    done = subprocess.run(["sh", "-c", f"{command} nb.ipynb"], capture_output=True, cwd=repo)
    for older in ([str(NBGIT.with_name("nbgit-textconv")), "nb.ipynb"], [str(NBGIT), "textconv", "--", "nb.ipynb"]):
        assert done.returncode == 0 and done.stdout == subprocess.run(older, capture_output=True, cwd=repo).stdout
    assert done.stdout.startswith(b"nbformat 4.5") and b"print(1)" in done.stdout and b"collapsed" not in done.stdout


def test_textconv_as_installed_adds_site_packages_for_the_full_renderer(repo: Path) -> None:
    """Where the quick view cannot do (a policy here), the textconv started without site adds what
    site adds (the environment's packages: tomli on Python 3.10) before the full renderer's imports."""
    (repo / "nb.ipynb").write_bytes(DIRTY)
    (repo / ".nbgit.toml").write_text('keep_keys = ["cell.metadata.collapsed"]\n')
    command = wired_textconv(repo)
    modules = imported_by_shell(command, repo)
    assert "site" in modules and "nbgit.policy" in modules and "nbgit.quickview" not in modules
    done = subprocess.run(["sh", "-c", f"{command} nb.ipynb"], capture_output=True, cwd=repo)
    assert done.returncode == 0 and not done.stderr, done.stderr.decode()
    assert b"print(1)" in done.stdout and b"metadata.collapsed: false" in done.stdout  # the policy's rendering


def test_other_commands_still_parse_their_arguments(repo: Path) -> None:
    done = subprocess.run([str(NBGIT), "clean", "--check", "-"], input=b"{}", capture_output=True, cwd=repo)
    assert done.returncode in (0, 1, 2) and b"usage" not in done.stderr
    done = subprocess.run([str(NBGIT), "filter", "clean", "--bogus"], capture_output=True, cwd=repo)
    assert done.returncode == 2 and b"usage" in done.stderr


def test_the_fast_path_shows_control_characters_and_survives_a_reader_leaving(repo: Path) -> None:
    """textconv as git runs it (`--`, any file name) skips argparse, not cli.main's guards: what a
    notebook holds reaches the terminal with its control characters shown, and a reader that stops
    early (`git log -p | less`, quit at once) ends nothing with an error."""
    source = "print('\\x1b[2J')\n" + "x = 1\n" * 20000
    cell = {"cell_type": "code", "execution_count": None, "id": "a", "metadata": {}, "outputs": [], "source": source + "\x1b]0;title\x07"}
    notebook = {"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (repo / "-nb.ipynb").write_text(json.dumps(notebook))
    done = subprocess.run([str(NBGIT), "textconv", "--", "-nb.ipynb"], capture_output=True, cwd=repo)
    assert done.returncode == 0 and b"\\033]0;title\\a" in done.stdout and b"\x1b" not in done.stdout
    script = f"set -o pipefail; {NBGIT} textconv -- -nb.ipynb | (exec <&-; sleep 1)"  # a reader that leaves at once
    left = subprocess.run(["bash", "-c", script], capture_output=True, cwd=repo, timeout=60)
    assert left.returncode == 0 and b"Error" not in left.stderr, left.stderr
    missing = subprocess.run([str(NBGIT), "textconv", "--", "gone\x1b[31m.ipynb"], capture_output=True, cwd=repo)
    assert missing.returncode == 0 and b"gone\\033[31m.ipynb" in missing.stderr and b"\x1b" not in missing.stderr


# what only judging a notebook (parsing, cleaning, comparing) or a pair needs, or showing a pair's diff
JUDGING = {"nbgit.check.judge", "nbgit.clean", "nbgit.sync.judge", "dataclasses", "inspect", "difflib"}


@pytest.mark.parametrize("ci", [True, False])
def test_a_cached_check_rerun_imports_nothing_for_judging(repo: Path, ci: bool) -> None:
    """`nbgit check --all` on unchanged notebooks takes every verdict from the cache and every pair
    from sync's memory: it imports none of the judging (a hook or CI re-run pays start-up, not work)."""
    (repo / ".nbgit.toml").write_text("[pair]\nenabled = true\n")
    (repo / "nb.ipynb").write_bytes(DIRTY)
    for args in (["clean", "nb.ipynb"], ["sync", "nb.ipynb"]):
        assert subprocess.run([str(NBGIT), *args], cwd=repo, capture_output=True).returncode == 0
    subprocess.run(["git", "add", "."], cwd=repo, check=True)
    (repo / ".git" / "nbgit-pairs.json").unlink()  # what sync remembers: the check judges the pair again
    first = imported(["check", "--all"], b"", repo, ci=ci)
    assert {"nbgit.check.judge", "nbgit.clean", "nbgit.sync.plan", "nbgit.sync.judge"} <= first  # judged, the pair too
    again = imported(["check", "--all"], b"", repo, ci=ci)
    assert "nbgit.check.runner" in again and "nbgit.sync.plan" in again and not again & JUDGING, sorted(again & JUDGING)
    assert "shutil" not in again  # (argparse imports it for the terminal's width, unless told it: `cli._sized`)


# what a re-run needs besides, where no notebook changed and none is paired: no hashing, no parsing
HASHING_AND_PARSING = {"hashlib", "nbgit.worktree.index", "nbgit.notebook"}


@pytest.mark.parametrize("ci", [True, False])
def test_a_cached_check_rerun_without_pairs_hashes_and_parses_nothing(repo: Path, ci: bool) -> None:
    """Once the files' stat data tell their blob ids, a re-run reads no notebook: it imports neither
    hashlib (blob ids, the pairs' digests, the cache's fingerprint) nor the notebook reader."""
    from nbgit.clean import clean_bytes
    from nbgit.files import RACY_SECONDS
    from nbgit.policy import Policy

    (repo / ".nbgit.toml").write_text('[check]\ndisable = ["duplicate-code"]\n')  # a check that keys files by blob id (bench_duplicates.py)
    (repo / "nb.ipynb").write_bytes(clean_bytes(DIRTY, "nb.ipynb", Policy()))
    subprocess.run(["git", "add", "."], cwd=repo, check=True)
    first = imported(["check", "--all"], b"", repo, ci=ci)
    assert "nbgit.check.judge" in first and "hashlib" in first  # judged, its blob id computed
    time.sleep(RACY_SECONDS + 0.2)
    imported(["check", "--all"], b"", repo, ci=ci)  # the file is old enough now: its stat data are remembered
    again = imported(["check", "--all"], b"", repo, ci=ci)
    assert "nbgit.check.runner" in again and "nbgit.sync.plan" in again and not again & (JUDGING | HASHING_AND_PARSING), sorted(again & (JUDGING | HASHING_AND_PARSING))



def test_a_parser_built_for_one_command_prints_and_rejects_as_the_whole_one(capsys: pytest.CaptureFixture[str]) -> None:
    """`nbgit NAME ...` builds NAME's parser alone: its help, its usage errors and an unknown command's
    error are what the parser of every command gives."""
    from nbgit.cli import build_parser

    def said(only: str | None, argv: list[str]) -> tuple[object, str, str]:
        with pytest.raises(SystemExit) as stopped:
            build_parser(only).parse_args(argv)
        out, err = capsys.readouterr()
        return stopped.value.code, out, err

    names = [line.split()[0] for line in said(None, ["-h"])[1].split("COMMAND\n", 1)[1].splitlines() if line[:4] == "    " and line[4:5] != " "]
    assert "check" in names and "hook" in names and len(names) == len(set(names)) >= 19 and "that" not in names
    for name in names:
        for argv in ([name, "-h"], [name, "--no-such-option"]):
            assert said(name, argv) == said(None, argv)
    assert said("chek", ["chek"]) == said(None, ["chek"]) and said(None, ["chek"])[0] == 2


def test_a_check_leaves_what_it_made_to_the_end_of_the_process(repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """`nbgit check` freezes what it made before it returns: the interpreter's exit runs full garbage
    collections, which would walk every object of the run again (a re-run over 1000 notebooks holds
    some 13,000: about 8 ms, a tenth of the run)."""
    import gc

    from nbgit.commands import check

    (repo / "nb.ipynb").write_bytes(DIRTY)
    subprocess.run(["git", "add", "."], cwd=repo, check=True)
    monkeypatch.chdir(repo)
    monkeypatch.setenv("CI", "1")
    gc.unfreeze()
    try:
        assert check.run([], all=True) == 1 and "not clean" in capsys.readouterr().out
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


# a policy that sets only what textconv does not use: checks, pairing, paths, the store, the other tables
NOT_TEXTCONVS = """strict = true
exclude = ["vendor/**"]
restore_outputs = false

[[overrides]]
paths = ["reports/*.ipynb"]
outputs = "keep"

[pair]
enabled = true

[diff]
max_output_lines = 3

[merge]
outputs = "local"

[check]
disable = ["untitled"]
"""


def test_textconv_remembers_a_policy_that_renders_as_the_defaults(repo: Path) -> None:
    """A policy setting only what textconv does not use is read once: later runs compare its bytes with
    what the clone's .git remembers and render through the quick view, with the same text. Other bytes
    (a cleaning key changed, the file back as it was) and a broken policy are read again each time."""
    (repo / "nb.ipynb").write_bytes(DIRTY)
    command = wired_textconv(repo)
    (repo / ".nbgit.toml").write_text(NOT_TEXTCONVS)
    assert "nbgit.policy" in imported_by_shell(command, repo)  # the first run reads the policy...
    assert (repo / ".git" / "nbgit" / "textconv-policy").is_file()
    (repo / ".git" / "nbgit" / "textconv-policy").unlink()
    first = subprocess.run(["sh", "-c", f"{command} nb.ipynb"], capture_output=True, cwd=repo)  # ...and renders fully
    assert first.returncode == 0 and not first.stderr, first.stderr.decode()
    modules = imported_by_shell(command, repo)
    assert "nbgit.quickview" in modules and not modules & {"site", "nbgit.policy", "tomllib", "tomli", "typing"}, sorted(modules)
    again = subprocess.run(["sh", "-c", f"{command} nb.ipynb"], capture_output=True, cwd=repo)  # the quick view
    assert again.stdout == first.stdout and not again.stderr
    assert b"print(1)" in first.stdout and b"collapsed" not in first.stdout

    (repo / ".nbgit.toml").write_text(NOT_TEXTCONVS.replace('restore_outputs = false', 'restore_outputs = false\noutputs = "keep"'))
    for _ in range(2):
        assert "nbgit.policy" in imported_by_shell(command, repo)  # read every time: it renders otherwise
        kept = subprocess.run(["sh", "-c", f"{command} nb.ipynb"], capture_output=True, cwd=repo)
        assert kept.returncode == 0 and b"print(1)" in kept.stdout and b"stdout" in kept.stdout  # the output is shown

    (repo / ".nbgit.toml").write_text("outputs = [")
    for _ in range(2):
        broken = subprocess.run(["sh", "-c", f"{command} nb.ipynb"], capture_output=True, cwd=repo)
        assert broken.returncode == 0 and b"rendering with the default policy" in broken.stderr and b"print(1)" in broken.stdout


def test_textconv_reads_the_policy_again_for_another_nbgit_or_a_project_file(repo: Path) -> None:
    """The memo names nbgit's version and holds both files a policy can come from: a memo of another
    version, or a pyproject.toml edited since (it may hold [tool.nbgit]), is no answer."""
    from nbgit.policy_files import MEMO, memo_bytes

    (repo / "nb.ipynb").write_bytes(DIRTY)
    command = wired_textconv(repo)
    (repo / ".nbgit.toml").write_text("[check]\ndisable = [\"untitled\"]\n")
    (repo / "pyproject.toml").write_text("[tool.other]\nx = 1\n")
    memo = repo / ".git" / MEMO
    memo.parent.mkdir(exist_ok=True)
    memo.write_bytes(memo_bytes(str(repo), "0.0.0-other"))
    assert "nbgit.policy" in imported_by_shell(command, repo)
    assert "nbgit.policy" not in imported_by_shell(command, repo)  # remembered by this version now
    (repo / "pyproject.toml").write_text('[tool.nbgit]\noutputs = "keep"\n')
    assert "nbgit.policy" in imported_by_shell(command, repo)


def test_textconv_never_waits_on_a_named_pipe_beside_the_policy(repo: Path) -> None:
    """A hostile clone's pyproject.toml as a FIFO: comparing the policy's bytes must not block git's diff."""
    (repo / "nb.ipynb").write_bytes(DIRTY)
    command = wired_textconv(repo)
    (repo / ".nbgit.toml").write_text("[check]\ndisable = [\"untitled\"]\n")
    os.mkfifo(repo / "pyproject.toml")
    for _ in range(2):
        try:
            done = subprocess.run(["sh", "-c", f"{command} nb.ipynb"], capture_output=True, cwd=repo, timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail("textconv blocked on a FIFO")
        assert done.returncode == 0 and b"print(1)" in done.stdout


def test_a_linked_work_tree_remembers_its_policy_in_its_own_git_folder(repo: Path) -> None:
    """`git worktree add`: the work tree's `.git` is a file naming its own folder in the main clone's
    git folder, where its memo goes; the text is the same as the main work tree's."""
    (repo / "nb.ipynb").write_bytes(DIRTY)
    command = wired_textconv(repo)
    (repo / ".nbgit.toml").write_text(NOT_TEXTCONVS)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True, capture_output=True)
    subprocess.run(["git", "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-qm", "x"], cwd=repo, check=True, capture_output=True)
    linked = repo.parent / "linked"
    subprocess.run(["git", "worktree", "add", "-q", str(linked)], cwd=repo, check=True, capture_output=True)
    (linked / "nb.ipynb").write_bytes(DIRTY)
    assert (linked / ".git").is_file()
    assert "nbgit.policy" in imported_by_shell(command, linked)
    assert "nbgit.policy" not in imported_by_shell(command, linked)
    assert (repo / ".git" / "worktrees" / "linked" / "nbgit" / "textconv-policy").is_file()
    mine = subprocess.run(["sh", "-c", f"{command} nb.ipynb"], capture_output=True, cwd=linked)
    main = subprocess.run(["sh", "-c", f"{command} nb.ipynb"], capture_output=True, cwd=repo)
    assert mine.returncode == 0 and mine.stdout == main.stdout and b"print(1)" in mine.stdout


def test_a_policy_edited_while_textconv_reads_it_is_not_remembered(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The memo holds bytes that were there both before and after the policy was read: an edit landing
    in between (here: `outputs = "keep"`, right after a policy of check keys was read) leaves no memo
    claiming that the new bytes render as the defaults."""
    import nbgit.policy
    from nbgit.commands.textconv import _policy_remembered
    from nbgit.policy_files import MEMO

    policy_file, memo = repo / ".nbgit.toml", repo / ".git" / MEMO
    policy_file.write_text(NOT_TEXTCONVS)
    read = nbgit.policy.load_policy

    def read_then_edited(root: str) -> nbgit.policy.Policy:
        policy = read(root)
        policy_file.write_text('outputs = "keep"\n')
        return policy

    monkeypatch.setattr(nbgit.policy, "load_policy", read_then_edited)
    assert _policy_remembered(str(repo)).outputs == "strip" and not memo.exists()
    monkeypatch.setattr(nbgit.policy, "load_policy", read)
    policy_file.write_text(NOT_TEXTCONVS)
    assert _policy_remembered(str(repo)).outputs == "strip" and memo.is_file()


def test_a_memo_that_cannot_be_written_costs_nothing_but_time(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Any failure writing the memo (here: what Windows before Python 3.13 raises for os.fchmod) leaves
    the policy read and the notebook rendered, without a warning."""
    import nbgit.files
    from nbgit.commands.textconv import _policy_remembered

    def missing_call(path: str, data: bytes) -> None:
        raise AttributeError("module 'os' has no attribute 'fchmod'")

    (repo / ".nbgit.toml").write_text(NOT_TEXTCONVS)
    monkeypatch.setattr(nbgit.files, "replace_own", missing_call)
    assert _policy_remembered(str(repo)).source == ".nbgit.toml"


def test_the_memo_stays_in_a_git_folder_of_this_work_tree(repo: Path, tmp_path: Path) -> None:
    """`git --git-dir=X --work-tree=Y diff` with a `.git` file in Y naming some other folder (an unpacked
    archive's): textconv writes nothing there, and nothing when GIT_DIR names the git folder."""
    real, tree, elsewhere = tmp_path / "real.git", tmp_path / "tree", tmp_path / "elsewhere"
    tree.mkdir()
    elsewhere.mkdir()
    subprocess.run(["git", "init", "-q", "--bare", str(real)], check=True)
    (tree / ".git").write_text(f"gitdir: {elsewhere}\n")
    (tree / ".nbgit.toml").write_text(NOT_TEXTCONVS)
    (tree / ".gitattributes").write_text("*.ipynb diff=nbgit\n")
    (tree / "nb.ipynb").write_bytes(DIRTY)
    command = wired_textconv(repo)  # the wiring install writes, taken from a repository of its own
    bare = ["git", f"--git-dir={real}", f"--work-tree={tree}", "-c", f"diff.nbgit.textconv={command}"]
    subprocess.run([*bare, "add", "-A"], cwd=tree, check=True, capture_output=True)
    subprocess.run([*bare, "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-qm", "x"], cwd=tree, check=True, capture_output=True)
    (tree / "nb.ipynb").write_bytes(DIRTY.replace(b"print(1)", b"print(2)"))
    for _ in range(2):
        shown = subprocess.run([*bare, "diff"], cwd=tree, capture_output=True)
        assert shown.returncode == 0 and b"print(2)" in shown.stdout, shown.stderr.decode()
    assert not list(elsewhere.iterdir()) and not (real / "nbgit" / "textconv-policy").exists()


def test_a_submodule_keeps_its_memo_in_its_own_git_folder(repo: Path, tmp_path: Path) -> None:
    """A submodule's `.git` is a file naming `.git/modules/NAME` of the superproject: its memo goes there."""
    from conftest import git

    inner = tmp_path / "inner"
    inner.mkdir()
    subprocess.run(["git", "init", "-q", str(inner)], check=True)
    (inner / "nb.ipynb").write_bytes(DIRTY)
    (inner / ".nbgit.toml").write_text(NOT_TEXTCONVS)
    git(inner, "add", "-A")
    git(inner, "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-qm", "x")
    command = wired_textconv(repo)
    git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(inner), "sub")
    sub = repo / "sub"
    assert (sub / ".git").is_file()
    assert "nbgit.policy" in imported_by_shell(command, sub)
    assert "nbgit.policy" not in imported_by_shell(command, sub)
    assert (repo / ".git" / "modules" / "sub" / "nbgit" / "textconv-policy").is_file()


def test_a_git_file_naming_no_git_folder_gets_no_memo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without GIT_DIR, a `.git` file naming a folder that holds no HEAD (an unpacked archive's leftover)
    gives no place for the memo; one naming a git folder does."""
    from nbgit.policy_files import memo_file

    monkeypatch.delenv("GIT_DIR", raising=False)
    tree, elsewhere = tmp_path / "tree", tmp_path / "elsewhere"
    tree.mkdir()
    elsewhere.mkdir()
    (tree / ".git").write_text(f"gitdir: {elsewhere}\n")
    assert memo_file(str(tree)) is None
    (elsewhere / "HEAD").write_text("ref: refs/heads/main\n")
    assert memo_file(str(tree)) == f"{elsewhere}/nbgit/textconv-policy"
    monkeypatch.setenv("GIT_DIR", str(elsewhere))
    assert memo_file(str(tree)) is None


@pytest.mark.parametrize("columns", [70, 200])
def test_help_is_as_wide_as_the_terminal_says(repo: Path, columns: int) -> None:
    """Told the width (`cli._sized`) instead of importing shutil for it, help still wraps at $COLUMNS."""
    done = subprocess.run([str(NBGIT), "check", "--help"], cwd=repo, capture_output=True, env={**os.environ, "COLUMNS": str(columns)})
    lines = done.stdout.decode().split("\n\n")[0].splitlines()  # the usage, which argparse wraps (the epilog is kept as written)
    assert done.returncode == 0 and max(map(len, lines)) <= columns
    assert (lines[0].startswith("usage: nbgit check") and lines[0].rstrip().endswith("[PATH ...]")) == (columns == 200), lines[:4]


KAGGLE = CORPUS / "dev" / "Carl-McBride-Ellis+My-kaggle-notebooks" / "files"
FEW = ["feature-selection-using-borutashap.ipynb", "feature-selection-using-the-boruta-shap-package.ipynb", "ml-ensemble-example-using-house-prices-data.ipynb"]


@pytest.mark.corpus
def test_a_cold_check_of_a_few_notebooks_reads_them_without_msgspec(repo: Path) -> None:
    """`nbgit check --all` of three real notebooks as committed (every one judged, then tokenised for the
    `duplicate-code` check) reads them with the standard library: msgspec's import (about 15 ms) costs
    more than it saves on so few; a cold run of many loads it before its workers fork."""
    for name in FEW:
        (repo / name).write_bytes((KAGGLE / name).read_bytes())
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    env = {**os.environ, "CI": "1", "PYTHONPROFILEIMPORTTIME": "1"}
    done = subprocess.run([str(NBGIT), "check", "--all", "--no-cache"], cwd=repo, capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 1 and "not clean" in done.stdout, done.stderr[-500:]
    imports = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "nbgit.check.fingerprint_index" in imports  # (the notebooks were tokenised)
    assert "msgspec" not in imports
