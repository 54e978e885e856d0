"""Readable notebook diffs between revisions, for people and pull requests.

`changes` compares two revisions cell by cell; `text`, `markdown` and `html` write the result.
"""
