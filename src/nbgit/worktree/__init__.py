"""The work tree the user lives with: git's view of notebooks that were re-run but not really changed."""
