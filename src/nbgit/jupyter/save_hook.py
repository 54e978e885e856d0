"""The post-save hook: after Jupyter Server saves a notebook, `nbgit refresh` it.

It never fails a save (Jupyter answers 500 when a hook raises, though the file is written): any
problem is one warning in the server's log. It never waits for another git command's index lock
(the save would wait too): the notebook is then left listed until the next save or `nbgit refresh`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from nbgit.errors import NbgitError
from nbgit.policy import find_root

NOTEBOOK = ".ipynb"
ATTACHED = "_nbgit_refreshes_after_save"  # set on a contents manager the hook is registered with


def attach(contents_manager: Any) -> None:
    """Register the hook with `contents_manager`, once, after the hooks already there."""
    if getattr(contents_manager, ATTACHED, False):
        return
    contents_manager.register_post_save_hook(refresh_after_save)
    setattr(contents_manager, ATTACHED, True)


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
