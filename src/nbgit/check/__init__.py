"""The checks behind `nbgit check` and the pre-commit hook.

`judge` judges one notebook's committed bytes (no I/O), `runner` gathers what to judge and the checks
that need the repository, `formats` prints the outcome (text, JSON, GitHub annotations), `schema`
validates against nbformat's JSON schema.
"""
