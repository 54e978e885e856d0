"""`nbgit status`: what is wired, missing or broken (exit 1 when broken), which listed notebooks are phantoms,
and which came out without the outputs this clone kept."""

from __future__ import annotations

from pathlib import Path

from nbgit import __version__
from nbgit.install.inspect import exit_code, inspect
from nbgit.install.target import make_setup, repository_root
from nbgit.install.wiring import interpreter_bin_dir, program, wirings
from nbgit.worktree import bare, phantoms


def run() -> int:
    """Print each capability as ok / missing / broken / stale / off, and peers; 1 when something is broken."""
    cwd = Path.cwd()
    root = repository_root(cwd)
    setup = make_setup(root, root is None, None, (), cwd, lenient=True)
    capabilities = wirings(setup)
    findings = inspect(capabilities, cwd)
    if root is not None:
        findings += phantoms.findings(cwd) + bare.findings(cwd)
    print(f"nbgit {__version__} ({program('nbgit', interpreter_bin_dir())}) in {root or cwd}")
    for finding in findings:
        print(f"{finding.capability:<11} {finding.state:<8} {finding.detail}")
    code = exit_code(findings, capabilities)
    print("nbgit: broken or missing wiring (see above)" if code else "nbgit: ok")
    return code
