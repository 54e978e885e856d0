"""What a CI run shows a reviewer: the check results and the notebook diff against the change's base."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from nbgit import gitrepo
from nbgit.check.formats import summary
from nbgit.check.runner import Outcome, Scope, run_checks
from nbgit.files import write_atomic
from nbgit.policy import Policy, find_root, load_policy
from nbgit.report.changes import Report, build
from nbgit.report.markdown import GITHUB_COMMENT_LIMIT, code_span, escape_markdown, to_markdown

MARKER = "<!-- nbgit: notebook review -->"  # finds the one pull-request comment nbgit keeps up to date
MAX_PROBLEM_ROWS = 100
MAX_MESSAGE_CHARS = 300  # of a problem's message in the comment's table (the job's log has it whole)
ZERO_COMMIT = "0" * 40  # what CI platforms give as the previous commit of a new branch


class Review(NamedTuple):
    """The checks' outcome, the diff report (None without a base) and why there is none."""

    root: Path
    outcome: Outcome
    report: Report | None
    revisions: list[str]
    note: str


def review(base: str | None, cwd: Path) -> Review:
    """Check every tracked notebook and compare the notebooks changed since `base` (its merge base with HEAD)."""
    root = gitrepo.top_level(cwd)
    policy: Policy = load_policy(find_root(root))
    outcome = run_checks(root, policy, Scope(all=True))
    if not base or base == ZERO_COMMIT:
        return Review(root, outcome, None, [], "no base to compare with: the notebook diff needs a pull request or a previous commit")
    if not gitrepo.commit_exists(base, root):
        note = f"the base commit {base} is not in this clone: fetch the history (actions/checkout with `fetch-depth: 0`, GitLab `GIT_DEPTH: 0`)"
        return Review(root, outcome, None, [], note)
    revisions = [f"{base}...HEAD"]
    return Review(root, outcome, build(revisions, [], policy, root), revisions, "")


def markdown(result: Review, full_report: str, limit: int = GITHUB_COMMENT_LIMIT) -> str:
    """The review as one Markdown comment (marked, so it can be found and updated): checks, then the diff.

    The table of problems takes at most half of `limit`: messages and names come from the repository
    (an unknown output type is quoted whole), and a comment past the limit is refused by GitHub."""
    lines = [MARKER, "## Notebook checks", "", escape_markdown(summary(result.outcome)) + "."]
    problems = result.outcome.problems
    if problems:
        lines += ["", "| notebook | cell | check | problem |", "|---|---|---|---|"]
        used, shown = sum(len(line) + 1 for line in lines), 0
        for problem in problems[:MAX_PROBLEM_ROWS]:
            cell = str(problem.cell) if problem.cell is not None else ""
            message = problem.message if len(problem.message) <= MAX_MESSAGE_CHARS else f"{problem.message[:MAX_MESSAGE_CHARS]} [...]"
            row = f"| {code_span(problem.path) if problem.path else ''} | {cell} | {problem.check} | {escape_markdown(message)} |"
            used += len(row) + 1
            if used > limit // 2:
                break
            lines.append(row)
            shown += 1
        if len(problems) > shown:
            lines.append(f"\n{len(problems) - shown} more problems: see the job's log.")
    head = "\n".join(lines) + "\n\n"
    if result.report is None:
        return head + escape_markdown(f"Notebook diff: {result.note}.") + "\n"
    return head + to_markdown(result.report, full_report, limit - len(head))


def write_html(result: Review, path: Path) -> bool:
    """Write the HTML report (every changed notebook, whole, unchanged cells collapsed); False without a base."""
    if result.report is None:
        return False
    from nbgit.report.html import to_html

    write_atomic(path, to_html(result.report, whole=True).encode("utf-8"))
    return True
