"""`nbgit uninstall`: remove exactly what `nbgit install` wrote."""

from __future__ import annotations

from pathlib import Path

from nbgit import install
from nbgit.cli import EXIT_OK
from nbgit.wiring import wirings


def run(global_: bool = False, attributes: str | None = None) -> int:
    """Remove nbgit's config, attribute block, hooks and files from this repository (or --global)."""
    cwd = Path.cwd()
    target = install.target_for(global_, attributes, cwd)
    setup = install.make_setup(target.root, global_, None, target.config, cwd, lenient=True)
    report = install.uninstall(wirings(setup), target)
    if not report:
        print("nbgit: nothing to remove (nbgit was not installed here)")
    for line in report:
        print(f"  {line}")
    return EXIT_OK
