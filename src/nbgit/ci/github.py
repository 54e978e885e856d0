"""GitHub Actions: annotations on the pull request, the job summary, one pull-request comment kept up
to date, and the HTML report for the artifact step (`action.yml` runs this as `nbgit ci github`).

GitHub's REST API is reached at `GITHUB_API_URL` with the token given; the comment is found by the
hidden marker among the pull request's comments written by the token's own account (a bot, for
GITHUB_TOKEN or a GitHub App's token), and edited, so a pull request has one nbgit comment however
often it is pushed to. (Anyone may write the marker into a comment of theirs: such a comment is never
taken for nbgit's.) A failure to comment (a fork's read-only token) is a warning.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from nbgit.check.formats import render
from nbgit.ci.review import MARKER, markdown, review, write_html
from nbgit.commands.diff import where_full_report

PER_PAGE = 100
TIMEOUT = 30  # seconds per request to GitHub


def run(base: str | None, html: Path, token: str) -> int:
    """Check, report and publish for the GitHub Actions run described by the environment; exit 1 on problems."""
    event = _event()
    pull = event.get("pull_request") if isinstance(event.get("pull_request"), dict) else {}
    base = base or (pull.get("base") or {}).get("sha") or event.get("before")
    result = review(base, Path.cwd())
    sys.stdout.write(render(result.outcome, "github", result.root))
    body = markdown(result, where_full_report(result.revisions))
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        with open(summary_file, "a", encoding="utf-8") as summary:
            summary.write(body + "\n")
    if write_html(result, html):
        _set_output("report", str(html.resolve()))
    number = pull.get("number")
    if token and number:
        _publish(body, number, token)
    return 1 if result.outcome.failed else 0


def _event() -> dict[str, Any]:
    path = os.environ.get("GITHUB_EVENT_PATH")
    if not path:
        return {}
    try:
        event = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return event if isinstance(event, dict) else {}


def _set_output(name: str, value: str) -> None:
    """A step output (`steps.ID.outputs.NAME`) for the steps after this one."""
    path = os.environ.get("GITHUB_OUTPUT")
    if path:
        with open(path, "a", encoding="utf-8") as outputs:
            outputs.write(f"{name}={value}\n")


def _publish(body: str, number: int, token: str) -> None:
    api = os.environ.get("GITHUB_API_URL", "https://api.github.com").rstrip("/")
    repository = os.environ.get("GITHUB_REPOSITORY", "")
    try:
        where = upsert_comment(api, repository, number, body, token)
        print(f"nbgit: pull-request comment {where}", file=sys.stderr)
    except (urllib.error.URLError, OSError, ValueError) as error:
        print(f"::warning title=nbgit::could not comment on pull request #{number}: {error} (the job summary has the report)")


def upsert_comment(api: str, repository: str, number: int, body: str, token: str) -> str:
    """Edit nbgit's comment on the pull request (its marker, written by the token's account), or create
    it; 'updated' or 'created'."""
    author = _account(api, token)
    page = 1
    while True:
        comments = _request("GET", f"{api}/repos/{repository}/issues/{number}/comments?per_page={PER_PAGE}&page={page}", token)
        for comment in comments:
            if MARKER in (comment.get("body") or "") and _written_by(comment.get("user") or {}, author):
                _request("PATCH", f"{api}/repos/{repository}/issues/comments/{comment['id']}", token, {"body": body})
                return "updated"
        if len(comments) < PER_PAGE:
            break
        page += 1
    _request("POST", f"{api}/repos/{repository}/issues/{number}/comments", token, {"body": body})
    return "created"


def _account(api: str, token: str) -> str | None:
    """The login the token comments as: a personal token's user; None for an app's token (GITHUB_TOKEN
    or a GitHub App's), which may not ask who it is and comments as a bot."""
    try:
        user = _request("GET", f"{api}/user", token)
    except urllib.error.HTTPError:
        return None
    login = user.get("login") if isinstance(user, dict) else None
    return login if isinstance(login, str) else None


def _written_by(user: dict[str, Any], author: str | None) -> bool:
    """Whether a comment's `user` is the token's account: its login, or for an app's token a bot
    (GitHub sets the type; no person can comment as one)."""
    return user.get("login") == author if author is not None else user.get("type") == "Bot"


def _request(method: str, url: str, token: str, payload: dict[str, Any] | None = None) -> Any:
    data = json.dumps(payload).encode("utf-8") if payload is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    request.add_header("Accept", "application/vnd.github+json")
    request.add_header("X-GitHub-Api-Version", "2022-11-28")
    request.add_header("User-Agent", "nbgit")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        return json.loads(response.read() or b"null")
