"""nbgit's textconv as `nbgit install` wires it: `PYTHON -S nbgit_textconv.py -- FILE` writes a notebook as readable text.

git starts textconv once per notebook blob on every `git diff`, `git log -p` and `git show`, so most
of its time is the interpreter's start-up, and site's part of it (reading the environment's .pth
files, importing os and what those files import) is a fifth of a process rendering a notebook.
So install runs this file with `-S`, without site: sys.path[0] is then this file's folder, where nbgit
is too (this module is installed beside the package: site-packages, or src/ of an editable install).
When a notebook needs the full renderer, nbgit.commands.textconv adds site-packages first.
A textconv that fails stops the whole `git diff`: when nbgit cannot be imported, the file comes out
as it is, with one warning. (`nbgit-textconv` does the same with site, for the wiring of older installs.)
"""

import sys

try:
    from nbgit.commands.textconv import run_as_program
except BaseException as error:  # noqa: BLE001 - whatever it is, git's diff must go on
    sys.stderr.write(
        f"nbgit: warning: textconv cannot load nbgit ({type(error).__name__}: {error}); showing the raw file "
        f"(reinstall nbgit in the environment of {sys.executable}, then run `nbgit install`)\n"
    )
    try:
        with open(sys.argv[-1], "rb") as handle:
            sys.stdout.buffer.write(handle.read())
    except OSError:
        pass
    sys.exit(0)
run_as_program(sys.argv[1:])
