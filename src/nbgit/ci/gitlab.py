"""GitLab CI: the Code Quality report (shown in merge requests) and the HTML report as an artifact
(`gitlab-ci.yml` runs this as `nbgit ci gitlab`)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from nbgit.check.formats import render
from nbgit.ci.review import review, write_html
from nbgit.files import write_atomic


def run(base: str | None, html: Path, code_quality: Path) -> int:
    """Check and report for the GitLab CI job described by the environment; exit 1 on problems."""
    base = base or os.environ.get("CI_MERGE_REQUEST_DIFF_BASE_SHA") or os.environ.get("CI_COMMIT_BEFORE_SHA")
    result = review(base, Path.cwd())
    write_atomic(code_quality, render(result.outcome, "gitlab", result.root).encode("utf-8"))
    sys.stdout.write(render(result.outcome, "text", result.root))
    if write_html(result, html):
        print(f"nbgit: notebook diff written to {html}", file=sys.stderr)
    else:
        print(f"nbgit: {result.note}", file=sys.stderr)
    return 1 if result.outcome.failed else 0
