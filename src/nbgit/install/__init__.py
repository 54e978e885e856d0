"""`nbgit install`, `uninstall`, `status` and `renormalize`: nbgit's wiring into git.

`wiring` says what each capability needs (config entries, attribute tokens, hooks, managed files);
`target` where a run writes; `config`, `attributes` and `hooks` write and remove one kind of thing
each; `apply` installs and uninstalls them all; `inspect` tells what git really uses (`nbgit status`)
and `programs` whether the programs the config names are still there; `peers` finds nbstripout,
nb-clean, nbwipers and nbdime wired to the same files; `renormalize` re-cleans what the index holds
after an install.
"""
