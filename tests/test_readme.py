"""README.md is the manual: it must stay true to the code and to CI."""

from __future__ import annotations

import re
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


def test_ci_runs_exactly_the_readme_test_command() -> None:
    blocks = re.findall(r"```sh\n(.+?)\n```", README, re.S)
    test_command = next(b for b in blocks if "pytest" in b).strip()
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert test_command in ci_lines


def test_readme_states_the_minimum_git_version() -> None:
    assert re.search(r"git 2\.39 or newer", README)
