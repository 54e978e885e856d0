"""The post-save hook: after Jupyter Server saves a notebook, `nbgit refresh` it, off the event loop.

The refresh (a few git commands, the notebook cleaned, the index rewritten: 0.1 s in an index of
90,000 entries) runs on one worker thread, never on the server's event loop, which every request
and kernel message of every user goes through. The save of an asynchronous contents manager
(Jupyter Server's own, jupytext's) awaits it there, leaving the loop free: when the save answers,
the notebook is settled, so a `git commit` sent right after it never meets nbgit's index lock. A
synchronous contents manager saves on the event loop anyway; its hook waits for the worker.

A server told to stop (SIGTERM, `jupyter server stop`) first lets the saves under way and their
refreshes finish: the extension has the server's shutdown await `settle`.

One worker for the whole server: refreshes run one at a time, in the order of the saves, so two
never contend for one index lock and a notebook saved twice quickly is refreshed after its last
write (a refresh that judged the first write records nothing once the second one lands).

It never fails a save (Jupyter answers 500 when a hook raises, though the file is written): any
problem is one warning in the server's log. It never waits for another git command's index lock
(the save would wait too): the notebook is then left listed until the next save or `nbgit refresh`.
A notebook reverted to a checkpoint is written back without a save, so without the hook: the
contents manager's `restore_checkpoint` is wrapped to refresh it too.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import os
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from nbgit.errors import NbgitError
from nbgit.policy import find_root

NOTEBOOK = ".ipynb"
ATTACHED = "_nbgit_refreshes_after_save"  # set on a contents manager the hook is registered with
WORKER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nbgit-refresh")  # its thread starts with the first save
AWAITED: contextvars.ContextVar[list[Future[None]]] = contextvars.ContextVar("nbgit_refreshes_awaited")  # set while a wrapped save runs
RUNNING: set[asyncio.Future[None]] = set()  # one for each wrapped save or restore under way, done when it returns
Result = TypeVar("Result")


def attach(contents_manager: Any) -> None:
    """Register the hook with `contents_manager`, once, after the hooks already there; have its
    checkpoint restores refresh as its saves do, and its asynchronous saves and restores await their
    refreshes off the event loop."""
    if getattr(contents_manager, ATTACHED, False):
        return
    contents_manager.register_post_save_hook(refresh_after_save)
    _refresh_after_restore(contents_manager)
    save = getattr(contents_manager, "save", None)
    if inspect.iscoroutinefunction(save):
        contents_manager.save = awaiting_refreshes(save)
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

    contents_manager.restore_checkpoint = awaiting_refreshes(restore_awaited) if inspect.iscoroutinefunction(restore) else restore_at_once


def awaiting_refreshes(method: Callable[..., Awaitable[Result]]) -> Callable[..., Awaitable[Result]]:
    """`method` (a coroutine function, such as a contents manager's `save`), which then also awaits
    the refreshes its post-save hooks handed to the worker, without holding up the event loop."""

    @functools.wraps(method)
    async def awaiting(*args: Any, **kwargs: Any) -> Result:
        returned = asyncio.get_running_loop().create_future()
        RUNNING.add(returned)
        try:
            handed: list[Future[None]] = []
            token = AWAITED.set(handed)
            try:
                result = await method(*args, **kwargs)
            finally:
                AWAITED.reset(token)
            for refreshed in handed:
                await asyncio.wrap_future(refreshed)  # never raises: a refresh logs its problems itself
            return result
        finally:
            RUNNING.discard(returned)
            returned.set_result(None)

    return awaiting


async def settle() -> None:
    """Return once every wrapped save and restore under way has returned, its refreshes done. The
    server awaits this before its event loop stops: a refresh is not cut short, and no save is left
    waiting for one (a request left pending keeps Jupyter Server from exiting at all)."""
    while RUNNING:
        await asyncio.wait(set(RUNNING))


def refresh_after_save(os_path: str, contents_manager: Any, **_: Any) -> None:
    """Have the worker record the saved notebook's stat data in git's index when, cleaned, it is what
    the index holds. Inside a save wrapped by `attach`, that save awaits it; anywhere else (a
    synchronous contents manager) it is done when this returns."""
    if Path(os_path).suffix != NOTEBOOK:
        return
    try:
        refreshed = WORKER.submit(refresh_now, os_path, contents_manager.log)
    except RuntimeError:  # the server is shutting down, and no thread starts any more
        refresh_now(os_path, contents_manager.log)
        return
    handed = AWAITED.get(None)
    if handed is not None:
        handed.append(refreshed)
    else:
        refreshed.result()


def refresh_now(os_path: str, log: Any) -> None:
    """Refresh one saved notebook here and now, never raising: a problem is one warning in `log`.

    Its folder is taken with links resolved, as git (run there) takes it: a clone linked into the
    server's root is still that clone, and a linked folder leading out of every repository is in none.
    """
    saved = Path(os_path)
    try:
        folder = Path(os.path.realpath(saved.parent))
        if find_root(folder) is None:
            return
        from nbgit.worktree.refresh import refresh

        refresh(folder, [saved.name], wait=0.0, literal=True)
    except NbgitError as error:
        log.warning("nbgit: %s: %s; `git status` may list it until it is saved again or `nbgit refresh` runs", os_path, error.message)
    except Exception as error:  # noqa: BLE001 - a bug in nbgit must never fail a save
        log.warning("nbgit: %s: internal error %s: %s; this is a bug in nbgit, please report it", os_path, type(error).__name__, error)
