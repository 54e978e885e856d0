"""nbgit's Jupyter Server extension: saving a notebook whose inputs did not change leaves `git status` quiet.

Installing nbgit in the environment that runs Jupyter Server enables it: the package ships
`etc/jupyter/jupyter_server_config.d/nbgit.json`, which turns on `nbgit.jupyter` there, the way
jupytext and nbdime enable their own extensions. The extension only registers a post-save hook
(`nbgit.jupyter.save_hook`) on the server's contents manager, after any hook already set, has its
checkpoint restores refresh too, and has its saves await their refreshes, which run on a thread
of their own, off the event loop; it imports nothing from Jupyter itself.
"""

from __future__ import annotations

from typing import Any


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """Where Jupyter Server finds the extension's loader: this module."""
    return [{"module": "nbgit.jupyter"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Hook nbgit into every save of the server's contents manager.

    Another extension may replace the contents manager after this one loads (jupytext's does, to
    derive its own from the configured class), so the hook is attached again, to the one the
    request handlers use, once the server's loop starts. A server that stops first lets the saves
    under way and their refreshes finish: its shutdown (`cleanup_extensions`, which Jupyter Server
    awaits before it stops its event loop) awaits them first.
    """
    from nbgit.jupyter.save_hook import attach, settle

    attach(serverapp.contents_manager)
    serverapp.io_loop.add_callback(lambda: attach(serverapp.web_app.settings["contents_manager"]))
    clean_up_extensions = getattr(serverapp, "cleanup_extensions", None)
    if clean_up_extensions is not None:

        async def settle_then_clean_up() -> None:
            await settle()
            await clean_up_extensions()

        serverapp.cleanup_extensions = settle_then_clean_up
