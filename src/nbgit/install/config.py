"""nbgit's entries in one git config file: written, recorded when shared, removed exactly."""

from __future__ import annotations

import os

from nbgit import gitrepo
from nbgit.install.programs import program_of
from nbgit.install.target import Target, config_values
from nbgit.install.wiring import Wiring

RECORD = "nbgit.wrote"  # shared config keys install wrote (multi-valued), so that uninstall removes only those
KEPT = "nbgit.kept"  # "key=value" of yours in the drivers' sections that the first install replaced; uninstall puts them back
PROCESS = "filter.nbgit.process"


def recorded_keys(target: Target) -> set[str]:
    """The shared keys install recorded writing into the target's config file."""
    return {e.value for e in gitrepo.config_entries("^" + RECORD.replace(".", r"\.") + "$", target.config, target.cwd)}


def apply_config(wiring: Wiring, target: Target) -> None:
    """Write a capability's config entries into the target file; drop its keys it no longer wants."""
    current = config_values(target.config, target.cwd)
    recorded = recorded_keys(target)
    wanted = {entry.key.lower() for entry in wiring.config}
    for key in wiring.owned_keys:
        if key.lower() not in wanted and key.lower() in current:
            gitrepo.config_unset(key, target.config, target.cwd)
    for entry in wiring.config:
        have = current.get(entry.key.lower())
        ours = not entry.shared or entry.key.lower() in recorded
        if have is None or (ours and have.value != entry.value):
            gitrepo.config_set(entry.key, entry.value, target.config, target.cwd)
        if entry.shared and have is None and entry.key.lower() not in recorded:
            gitrepo.config_set(RECORD, entry.key.lower(), target.config, target.cwd, add=True)


def keep_yours(wirings: list[Wiring], target: Target) -> None:
    """Before nbgit first installs into the target's config file, record the values already there under
    the drivers' keys it writes (a `diff.nbgit.textconv` of your own), so that uninstall puts them back.
    nbgit installed before (its filter process is wired there) owns those keys and records nothing."""
    current = config_values(target.config, target.cwd)
    process = current.get(PROCESS)
    if process is not None and os.path.basename(program_of(process.value) or "") == "nbgit-filter-process":
        return
    kept = {e.value.partition("=")[0] for e in gitrepo.config_entries("^" + KEPT.replace(".", r"\.") + "$", target.config, target.cwd)}
    for key in dict.fromkeys(k.lower() for w in wirings for k in w.owned_keys if not k.lower().startswith("nbgit.")):
        if key in current and key not in kept:
            gitrepo.config_set(KEPT, f"{key}={current[key].value}", target.config, target.cwd, add=True)


def remove_config(wirings: list[Wiring], target: Target) -> list[str]:
    """Remove every key nbgit owns and every shared key it recorded writing, and put back the values of yours
    that install replaced; the keys removed."""
    current = config_values(target.config, target.cwd)
    keys = [k for w in wirings for k in w.owned_keys] + sorted(recorded_keys(target))
    removed = [key for key in dict.fromkeys(keys) if key.lower() in current]
    kept = [e.value.partition("=") for e in gitrepo.config_entries("^" + KEPT.replace(".", r"\.") + "$", target.config, target.cwd)]
    for key in removed:
        gitrepo.config_unset(key, target.config, target.cwd)
    for record in (RECORD, KEPT):
        if record in current:
            gitrepo.config_unset(record, target.config, target.cwd)
    for key, _, value in kept:
        gitrepo.config_set(key, value, target.config, target.cwd)
    return removed
