"""nbgit where reviewers work: one command per CI platform that checks, reports and publishes.

`review` runs the checks and builds the notebook diff against the base of the change; `github` and
`gitlab` publish them where each platform shows them (annotations, job summary, one pull-request
comment; Code Quality report, artifacts). The repository's `action.yml` and `gitlab-ci.yml` call these.
"""
