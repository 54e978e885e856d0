"""`nbgit install`: wire the filter, diff and merge drivers, attributes, hooks and jupytext's config."""

from __future__ import annotations

from pathlib import Path

from nbgit.cli import EXIT_FOUND, EXIT_OK
from nbgit.install.apply import forget_outputs, install, next_step
from nbgit.install.target import make_setup, target_for
from nbgit.install.wiring import wirings


def run(
    global_: bool = False, attributes: str | None = None, diff: str | None = None, no_hooks: bool = False, replace_peers: bool = False, restore: bool | None = None
) -> int:
    """Install nbgit's wiring into this repository (or --global); see `nbgit install --help`."""
    cwd = Path.cwd()
    target = target_for(global_, attributes, cwd)
    setup = make_setup(target.root, global_, diff, target.config, cwd, restore=restore)
    wanted = wirings(setup)
    report, clash = install(wanted, target, setup, replace_peers, not no_hooks)
    if restore is False and target.root is not None:
        report += forget_outputs(target.root)
    where = "~/.gitconfig" if global_ else str(target.root)
    print(f"nbgit: wired into {where}")
    for line in report:
        print(f"  {line}")
    if clash:
        print("nbgit: another tool or a later attribute line overrides nbgit for some notebooks (see above); "
              "`nbgit install --replace-peers` removes other tools' wiring, a line of yours is yours to change")
        return EXIT_FOUND
    step = next_step(target, wanted, setup) if not global_ else ""
    if step:
        print(f"next: {step}")
    return EXIT_OK
