"""The post-save hook: after Jupyter Server saves a notebook, `nbgit refresh` it.

It never fails a save (Jupyter answers 500 when a hook raises, though the file is written): any
problem is one warning in the server's log. It never waits for another git command's index lock
(the save would wait too): the notebook is then left listed until the next save or `nbgit refresh`.
A notebook reverted to a checkpoint is written back without a save, so without the hook: the
contents manager's `restore_checkpoint` is wrapped to refresh it too.
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Any

from nbgit.errors import NbgitError
from nbgit.policy import find_root

NOTEBOOK = ".ipynb"
ATTACHED = "_nbgit_refreshes_after_save"  # set on a contents manager the hook is registered with


def attach(contents_manager: Any) -> None:
    """Register the hook with `contents_manager`, once, after the hooks already there, and have its
    checkpoint restores refresh as its saves do."""
    if getattr(contents_manager, ATTACHED, False):
        return
    contents_manager.register_post_save_hook(refresh_after_save)
    _refresh_after_restore(contents_manager)
    setattr(contents_manager, ATTACHED, True)


def _refresh_after_restore(contents_manager: Any) -> None:
    """Wrap `contents_manager.restore_checkpoint` (JupyterLab's File > Revert Notebook to Checkpoint)
    so that the notebook it writes back is refreshed: Jupyter runs no hook after a restore. Only a
    manager of files on this disk (one that maps API paths to them) is wrapped."""
    os_path_of = getattr(contents_manager, "_get_os_path", None)
    restore = getattr(contents_manager, "restore_checkpoint", None)
    if os_path_of is None or restore is None:
        return

    def refresh_restored(path: str) -> None:
        try:
            os_path = os_path_of(path)
        except Exception:  # noqa: BLE001 - the restore succeeded; a path Jupyter cannot map has nothing to refresh
            return
        refresh_after_save(os_path, contents_manager)

    async def restore_awaited(checkpoint_id: str, path: str) -> None:
        await restore(checkpoint_id, path)
        refresh_restored(path)

    def restore_at_once(checkpoint_id: str, path: str) -> None:
        restore(checkpoint_id, path)
        refresh_restored(path)

    contents_manager.restore_checkpoint = restore_awaited if inspect.iscoroutinefunction(restore) else restore_at_once


def refresh_after_save(os_path: str, contents_manager: Any, **_: Any) -> None:
    """Record the saved notebook's stat data in git's index when, cleaned, it is what the index holds.

    Its folder is taken with links resolved, as git (run there) takes it: a clone linked into the
    server's root is still that clone, and a linked folder leading out of every repository is in none.
    """
    saved = Path(os_path)
    if saved.suffix != NOTEBOOK:
        return
    folder = Path(os.path.realpath(saved.parent))
    if find_root(folder) is None:
        return
    try:
        from nbgit.worktree.refresh import refresh

        refresh(folder, [saved.name], wait=0.0, literal=True)
    except NbgitError as error:
        contents_manager.log.warning("nbgit: %s: %s; `git status` may list it until it is saved again or `nbgit refresh` runs", os_path, error.message)
    except Exception as error:  # noqa: BLE001 - a bug in nbgit must never fail a save
        contents_manager.log.warning("nbgit: %s: internal error %s: %s; this is a bug in nbgit, please report it", os_path, type(error).__name__, error)
