"""README.md is the manual: it must stay true to the code and to CI."""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from nbgit.cli import build_parser
from nbgit.policy import CLEAN_KEYS, SECTIONS
from nbgit.volatile import VOLATILE_KEYS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_catalogue_table_matches_the_code() -> None:
    rows = dict(re.findall(r"^\| `((?:metadata|cell|output)\.[^`]+)` \| (.+) \|$", README, re.M))
    assert rows == VOLATILE_KEYS


def test_every_policy_key_is_documented() -> None:
    for name in CLEAN_KEYS:
        assert f"| `{name}` |" in README, name
    for section, keys in SECTIONS.items():
        assert f"[{section}]" in README, section
        for name in keys:
            assert f"`{name}`" in README or f"`{section}.{name}`" in README, f"{section}.{name}"


def test_every_command_is_documented_with_its_name() -> None:
    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name in commands:
        assert f"nbgit {name}" in README, name


SH_BLOCKS = re.findall(r"```sh\n(.+?)\n```", README, re.S)


TEST_COMMAND = "python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]' && .venv/bin/python -m pytest -n auto"


def test_set_up_is_two_commands_and_ci_runs_the_test_command_verbatim() -> None:
    """One command installs nbgit and wires it into your repository, one runs the tests; CI runs the latter as it is written."""
    install = next(b for b in SH_BLOCKS if "nbgit install" in b and "~/.nbgit" in b)
    test = next(b for b in SH_BLOCKS if "pytest" in b)
    assert "\n" not in install and test == TEST_COMMAND
    assert SH_BLOCKS.index(test) == SH_BLOCKS.index(install) + 1  # the two commands, one after the other
    ci = (ROOT / ".ci" / "run").read_text()
    assert TEST_COMMAND in [line.strip() for line in ci.splitlines()]


def test_first_run_in_your_repository_ends_with_the_wiring_committed(repo: Path) -> None:
    """README's set-up command (from `cd` on) and the `next:` line it prints, run in a newcomer's repository
    (notebooks committed with outputs, no policy file: README's `next:` line is exactly what install prints).

    The part before `cd` (a fresh environment, pip installing nbgit and its dependencies) takes
    minutes and is what the test suite itself runs in: its result is the environment these tests
    run in, whose `nbgit` is first on PATH here as `export PATH` puts ~/.nbgit/bin first there.
    """
    command = next(b for b in SH_BLOCKS if "nbgit install" in b and "~/.nbgit" in b)
    install, _, wire = command.partition(" && cd ")
    assert install == 'python3 -m venv ~/.nbgit && ~/.nbgit/bin/pip install -q /path/to/nbgit && export PATH="$HOME/.nbgit/bin:$PATH"'
    assert wire == "/path/to/your-repository && nbgit install"
    printed = next(b for b in SH_BLOCKS if "renormalize" in b and "git commit" in b)
    cell = {"cell_type": "code", "execution_count": 3, "id": "a", "metadata": {}, "source": ["1 + 1"],
            "outputs": [{"data": {"text/plain": ["2"]}, "execution_count": 3, "metadata": {}, "output_type": "execute_result"}]}
    notebook = {"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (repo / "analysis.ipynb").write_text(json.dumps(notebook, indent=1) + "\n")
    subprocess.run(["git", "add", "."], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", "a notebook committed with its outputs"], cwd=repo, check=True)
    done = subprocess.run(["bash", "-c", "cd " + wire.replace("/path/to/your-repository", shlex.quote(str(repo)))], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == f"next: {printed}"
    subprocess.run(["bash", "-c", printed], cwd=repo, check=True, capture_output=True)
    status = subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True).stdout
    committed = subprocess.run(["git", "show", "--name-only", "--format=", "HEAD"], cwd=repo, capture_output=True, text=True).stdout
    assert status == "" and committed.split() == [".gitattributes", "analysis.ipynb"]


def test_readme_states_the_minimum_git_version() -> None:
    assert re.search(r"git 2\.39 or newer", README)


def test_without_the_corpus_tests_that_need_it_skip_and_the_rest_pass(tmp_path: Path) -> None:
    """README: the corpus is expected at ../shared/corpus; without it the suite still collects and passes."""
    env = {**os.environ, "NBGIT_CORPUS": str(tmp_path / "no-corpus")}
    collected = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
                               cwd=ROOT, env=env, capture_output=True, text=True)
    assert collected.returncode == 0 and " error" not in collected.stdout.splitlines()[-1], collected.stdout[-2000:]
    chosen = "missing_path or rewrites_only or help_shows or check_counts_unreadable or nbformat_1"
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "tests/test_clean_cli.py", "-k", chosen],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:]
    skipped = [line for line in done.stdout.splitlines() if line.startswith("SKIPPED")]
    assert len(skipped) == 1
    assert skipped[0].endswith(f": needs the corpus of real notebooks, expected at {tmp_path / 'no-corpus'} (or set NBGIT_CORPUS)")
    assert "4 passed, 1 skipped" in done.stdout


def test_every_one_run_override_of_clean_is_documented_with_its_policy_key() -> None:
    clean = build_parser()._subparsers._group_actions[0].choices["clean"]  # type: ignore[union-attr]
    group = next(g for g in clean._action_groups if g.title and g.title.startswith("one-run overrides"))
    for action in group._group_actions:
        row = next(line for line in README.splitlines() if line.startswith(f"| `{action.option_strings[0]}"))
        assert all(f"`{flag}" in row for flag in action.option_strings), row
        assert f"`{action.dest}" in row, row


def test_help_shows_diff_paths_and_formats_and_the_hook_names() -> None:
    nbgit = Path(sys.executable).with_name("nbgit")
    diff = subprocess.run([str(nbgit), "diff", "--help"], capture_output=True, text=True).stdout
    assert "[-- PATH...]" in diff.splitlines()[0]
    assert "text for a terminal (default), markdown for a" in " ".join(diff.split())
    hook = subprocess.run([str(nbgit), "hook", "--help"], capture_output=True, text=True).stdout
    for name in ("pre-commit", "pre-merge-commit", "post-merge", "post-checkout", "post-rewrite", "check-install"):
        assert f"\n  {name} " in hook, name
        assert f"`{name}`" in README, name


def test_every_option_of_every_command_is_in_the_readme() -> None:
    """A flag the code accepts is shown somewhere in README, with the command's name or in its section."""
    parser = build_parser()
    options = [s for a in parser._actions for s in a.option_strings if s not in ("-h", "--help")]
    assert all(f"nbgit {option}" in README for option in options), options
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    missing = [f"nbgit {name} {option}" for name, command in commands.items() for action in command._actions
               for option in action.option_strings if action.help != argparse.SUPPRESS and option not in ("-h", "--help") and not re.search(rf"`[^`]*{re.escape(option)}\b", README)]
    assert missing == []


def _toml(value: object) -> str:
    """A policy default as README writes it in its tables (TOML)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)


def _table_after(header: str, start: int = 0) -> dict[str, str]:
    """The first README table whose header line starts with `header` (after `start`): key -> default cell."""
    at = README.index("\n" + header, start)
    rows: dict[str, str] = {}
    for line in README[at + 1 :].splitlines()[2:]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split(" | ")]
        rows[cells[0].strip("`")] = cells[1]
    return rows


def test_policy_tables_give_the_defaults_the_code_has() -> None:
    top = _table_after("| key | default |", README.index("\n## Policy"))
    assert top == {name: f"`{_toml(key.default)}`" for name, key in CLEAN_KEYS.items()}
    pair = _table_after("| key | default |", README.index("Policy (`[pair]` table)"))
    assert pair == {f"pair.{name}": f"`{_toml(key.default)}`" for name, key in SECTIONS["pair"].items()}
    assert _table_after("| `[diff]` key |") == {name: f"`{_toml(key.default)}`" for name, key in SECTIONS["diff"].items()}
    check = {name: f"`{_toml(key.default)}`" for name, key in SECTIONS["check"].items()}
    assert _table_after("| `[check]` key |") == {**check, "untitled_pattern": "the pattern above"}
    assert f"untitled_pattern = '{SECTIONS['check']['untitled_pattern'].default}'" in README
    assert f'`"{SECTIONS["merge"]["outputs"].default}"` (default)' in README


def test_check_prints_what_readme_shows(repo: Path) -> None:
    """README's `$ nbgit check` block is the real output for the notebooks it names, in a clone before `nbgit install`."""
    shown = re.search(r"```text\n\$ nbgit check\n(.+?)```", README, re.DOTALL)
    assert shown is not None

    def write(name: str, cells: list[dict[str, object]], **metadata: object) -> str:
        text = json.dumps({"cells": cells, "metadata": metadata, "nbformat": 4, "nbformat_minor": 4}, indent=1, sort_keys=True) + "\n"
        (repo / name).write_text(text)
        return text

    def code(n: int, output: bool) -> dict[str, object]:
        outputs = [{"name": "stdout", "output_type": "stream", "text": [f"{n}\n"]}] if output else []
        return {"cell_type": "code", "execution_count": n, "metadata": {}, "outputs": outputs, "source": [f"step_{n} = {n}"]}

    markdown = [{"cell_type": "markdown", "metadata": {}, "source": [f"part {k}"]} for k in range(60)]
    widgets = {"application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2, "version_minor": 0}}
    write("analysis.ipynb", markdown[:3] + [code(n, n <= 9) for n in range(1, 13)], widgets=widgets)
    write("Untitled3.ipynb", [{**code(1, False), "execution_count": None}])
    lines = write("merged.ipynb", markdown).splitlines(True)
    (repo / "merged.ipynb").write_text("".join([*lines[:211], "<<<<<<< HEAD\n", *lines[211:213], "=======\n", ">>>>>>> feature\n", *lines[213:]]))
    done = subprocess.run([str(Path(sys.executable).with_name("nbgit")), "check"], cwd=repo, capture_output=True, text=True, check=False)
    assert done.returncode == 1 and done.stdout + done.stderr == shown.group(1)


def test_status_prints_the_lines_readme_shows(repo: Path) -> None:
    """README's `nbgit status` sample, line for line, but for what depends on the machine (paths, the store's size, the notebooks)."""
    shown = re.search(r"```text\n(nbgit \S+ \(/.+?)```", README, re.DOTALL)
    assert shown is not None
    nbgit = str(Path(sys.executable).with_name("nbgit"))
    subprocess.run([nbgit, "install"], cwd=repo, capture_output=True, check=True)
    done = subprocess.run([nbgit, "status"], cwd=repo, capture_output=True, text=True, check=False)
    machine = ("nbgit ", "outputs ", "worktree ")
    same = [line for line in shown.group(1).splitlines() if not line.startswith(machine)]
    assert [line for line in done.stdout.splitlines() if not line.startswith(machine)] == same
    assert list(dict.fromkeys(line.split()[0] for line in done.stdout.splitlines())) == list(dict.fromkeys(line.split()[0] for line in shown.group(1).splitlines()))


def test_status_prints_the_broken_filter_lines_readme_shows(repo: Path) -> None:
    """README's sample of `nbgit status` once the program `filter.nbgit.process` names is gone: those lines, and exit 1."""
    shown = re.search(r"```text\n(filter +broken +filter\.nbgit\.process runs (\S+), .+?)```", README, re.DOTALL)
    assert shown is not None and not Path(shown.group(2)).exists()
    nbgit = str(Path(sys.executable).with_name("nbgit"))
    subprocess.run([nbgit, "install"], cwd=repo, capture_output=True, check=True)
    subprocess.run(["git", "config", "filter.nbgit.process", shown.group(2)], cwd=repo, check=True)
    done = subprocess.run([nbgit, "status"], cwd=repo, capture_output=True, text=True, check=False)
    printed = done.stdout.splitlines()
    assert done.returncode == 1 and [line for line in shown.group(1).splitlines() if line not in printed] == [], done.stdout
