"""Carrying out a sync's plans (`apply`): the bytes each pair's action writes, prepared on all cores,
then written, the notebook first, each file only when it is still as it was read (an edit saved
meanwhile is kept, and the pair reported instead); and the cache of pairs seen in step saved.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from nbgit.errors import NbgitError
from nbgit.files import write_atomic
from nbgit.parallel import map_on_all_cores
from nbgit.sync.model import AUTOMATIC, CONFLICT, ERROR, PAIRS_PER_WORKER, Plan, Run

if TYPE_CHECKING:
    from pathlib import Path

    from nbgit.policy import Policy


def apply(run: Run, take: str | None) -> list[Plan]:
    """Carry out each plan's action (and, with `take`, the chosen side of pairs that need a decision).

    A file that changed on disk since it was read is not overwritten: that pair is reported instead,
    and so is a file that cannot be written (the other pairs go on). Returns the plans whose files
    were written. Saves the cache of pairs seen in step.
    """
    if run.staged:
        raise NbgitError("a run judged on git's index writes nothing", "sync the files on disk: nbgit sync")
    chosen = [(item, action) for item in run.plans if (action := _chosen_action(item, take))]
    prepared = map_on_all_cores(partial(_prepared_writes, policy=run.policy), chosen, PAIRS_PER_WORKER)
    done: list[Plan] = []
    for (item, action), (writes, error) in zip(chosen, prepared):
        if error:
            item.status = item.status._replace(state=ERROR, detail=error)
            continue
        if not (item.notebook.unchanged_on_disk() and item.twin.unchanged_on_disk()):
            item.status = item.status._replace(state=CONFLICT, detail="a file changed while nbgit was syncing it: nothing written; run nbgit sync again")
            continue
        try:
            _write(item, writes)
        except NbgitError as failure:
            item.status = item.status._replace(state=ERROR, detail=failure.render())
            continue
        if item.status.state not in AUTOMATIC:
            item.status = item.status._replace(detail=f"took the {action} side")
        done.append(item)
        run.cache.remember(item.relative, item.notebook.digest, item.twin.digest)
    run.cache.save()
    return done


def _write(item: Plan, writes: dict[Path, bytes]) -> None:
    """Write a pair's new bytes, the notebook first (a merged notebook holds both sides' edits)."""
    for member, shown in sorted(zip((item.notebook, item.twin), item.relative), key=lambda m: m[0] is item.twin):
        data = writes.get(member.path)
        if data is None or data == member.data:
            continue
        try:
            member.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(member.path, data)
        except OSError as error:
            raise NbgitError(f"{shown}: cannot be written ({error.strerror})", "check the permissions of the file and its folder, then run nbgit sync again") from None
        member.data = data


def _chosen_action(item: Plan, take: str | None) -> str | None:
    """What sync does to a pair: its own action, or the side chosen with --take where that is a choice."""
    return item.action if item.status.state in AUTOMATIC else (take if take in item.choices else None)


def _prepared_writes(chosen: tuple[Plan, str], policy: Policy) -> tuple[dict[Path, bytes], str]:
    """The bytes to write for a pair and its action, or nothing and the error that stops it."""
    try:
        return _writes(*chosen, policy), ""
    except NbgitError as error:
        return {}, error.render()


def _writes(item: Plan, action: str, policy: Policy) -> dict[Path, bytes]:
    """The bytes to write for an action; a twin written from the notebook must read back to the same cells."""
    from nbgit import twins

    if action == "merge":
        return item.merged
    if action == "notebook":
        assert item.current is not None
        twins.check_round_trip(item.nb_text, item.fmt, item.current, policy, item.relative[0], item.relative[1])
        return {item.twin.path: item.nb_text.encode("utf-8")}
    text = item.twin.text(item.relative[1])
    return {item.notebook.path: twins.notebook_from_text(text, item.fmt, item.current, policy, item.relative[1], item.relative[0], item.nb_text or None)}
