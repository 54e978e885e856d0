"""nbgit's entries in one git config file: written, recorded when shared, removed exactly."""

from __future__ import annotations

from nbgit import gitrepo
from nbgit.install.target import Target, config_values
from nbgit.install.wiring import Wiring

RECORD = "nbgit.wrote"  # shared config keys install wrote (multi-valued), so that uninstall removes only those


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


def remove_config(wirings: list[Wiring], target: Target) -> list[str]:
    """Remove every key nbgit owns and every shared key it recorded writing; the keys removed."""
    current = config_values(target.config, target.cwd)
    keys = [k for w in wirings for k in w.owned_keys] + sorted(recorded_keys(target))
    removed = [key for key in dict.fromkeys(keys) if key.lower() in current]
    for key in removed:
        gitrepo.config_unset(key, target.config, target.cwd)
    if RECORD in current:
        gitrepo.config_unset(RECORD, target.config, target.cwd)
    return removed
