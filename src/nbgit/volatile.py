"""The default catalogue of volatile state: what changes on every run or save and carries no content.

Each entry is a key path (`metadata.` for the notebook, `cell.` for a cell, `output.` for an output)
and why it is volatile. Derived from the metadata keys seen in 194 real notebooks
(../shared/corpus/dev/PROFILE.md). Kernelspec, language name, tags, slideshow and jupytext
settings are content and are not listed. A policy adds keys with `extra_keys` and keeps any of
these with `keep_keys`.
"""

from __future__ import annotations

VOLATILE_KEYS: dict[str, str] = {
    # notebook level
    "metadata.signature": "trust signature, recomputed on every save by the local Jupyter",
    "metadata.widgets": "ipywidgets model state, rewritten on every run (all three shapes live here)",
    "metadata.language_info.version": "the exact interpreter version of whoever ran it last",
    "metadata.vscode": "VS Code's interpreter hash of the local machine",
    "metadata.interpreter": "older VS Code's interpreter hash",
    "metadata.colab.provenance": "Colab's record of where the copy came from",
    "metadata.colab.collapsed_sections": "Colab UI: which sections are folded",
    "metadata.colab.toc_visible": "Colab UI: whether the outline pane is open",
    "metadata.colab.last_runtime": "Colab's record of the last runtime used",
    "metadata.papermill": "papermill run record: timings, paths, environment",
    "metadata.toc": "toc2 extension's window and numbering UI state",
    "metadata.toc-autonumbering": "JupyterLab TOC UI state",
    "metadata.toc-showcode": "JupyterLab TOC UI state",
    "metadata.toc-showmarkdowntxt": "JupyterLab TOC UI state",
    "metadata.toc-showtags": "JupyterLab TOC UI state",
    "metadata.nav_menu": "old toc extension's menu size",
    "metadata.varInspector": "variable inspector extension's window state",
    "metadata.@webio": "WebIO's ids of the last kernel and comm",
    "metadata.anaconda-cloud": "Anaconda Cloud upload bookkeeping",
    "metadata.pycharm": "PyCharm's scratch state",
    "metadata.celltoolbar": "classic Notebook UI: which cell toolbar is shown",
    "metadata.notify_time": "notify extension's setting of the last session",
    "metadata.execution": "JupyterLab's notebook-level execution timing",
    # cell level
    "cell.metadata.execution": "JupyterLab's per-cell execution timestamps",
    "cell.metadata.ExecuteTime": "ExecuteTime extension's per-cell timestamps",
    "cell.metadata.collapsed": "UI: output area folded",
    "cell.metadata.scrolled": "UI: output area scrolled",
    "cell.metadata.jupyter": "JupyterLab UI: source or outputs hidden",
    "cell.metadata.heading_collapsed": "collapsible headings extension's UI state",
    "cell.metadata.hidden": "collapsible headings extension: hidden under a folded heading",
    "cell.metadata.trusted": "trust flag, recomputed by the local Jupyter",
    "cell.metadata.papermill": "papermill per-cell timings and status",
    "cell.metadata.vscode": "VS Code's per-cell language and run state",
    "cell.metadata.pycharm": "PyCharm's per-cell run state",
    "cell.metadata.executionInfo": "Colab's per-cell run timestamps and user",
    "cell.metadata.outputId": "Colab's random id of the last output",
    "cell.metadata.colab": "Colab's output frame size and widget references",
    "cell.metadata.id": "Colab's random per-cell id (not the nbformat cell id)",
    "cell.metadata.colab_type": "old Colab's cell kind, duplicated from cell_type",
    "cell.metadata._uuid": "Kaggle's random per-cell id",
    "cell.metadata._cell_guid": "Kaggle's random per-cell id",
}
