"""`nbgit ci github|gitlab`: check, report and publish where reviewers work (what action.yml and gitlab-ci.yml run)."""

from __future__ import annotations

import os
from pathlib import Path


def run(platform: str, base: str | None = None, html: str = "nbgit-report.html", code_quality: str = "gl-code-quality-report.json") -> int:
    """Run the CI review for `platform`; see `nbgit ci --help`."""
    if platform == "github":
        from nbgit.ci import github

        return github.run(base, Path(html), os.environ.get("GITHUB_TOKEN", ""))
    from nbgit.ci import gitlab

    return gitlab.run(base, Path(html), Path(code_quality))
