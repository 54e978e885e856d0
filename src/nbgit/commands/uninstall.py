"""`nbgit uninstall`: remove exactly what `nbgit install` wrote."""

from __future__ import annotations

from pathlib import Path

from nbgit.cli import EXIT_OK
from nbgit.install.apply import forget_notes, forget_outputs, uninstall
from nbgit.install.target import make_setup, target_for
from nbgit.install.wiring import wirings


def run(global_: bool = False, attributes: str | None = None) -> int:
    """Remove nbgit's config, attribute block, hooks and files (and the clone's output store and notes) from this repository (or --global)."""
    cwd = Path.cwd()
    target = target_for(global_, attributes, cwd)
    setup = make_setup(target.root, global_, None, target.config, cwd, lenient=True)
    report = uninstall(wirings(setup), target)
    if target.root is not None and not global_:
        report += forget_outputs(target.root) + forget_notes(target.root)
    if not report:
        print("nbgit: nothing to remove (nbgit was not installed here)")
    for line in report:
        print(f"  {line}")
    return EXIT_OK
