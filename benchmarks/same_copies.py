"""Whether two nbgits find the same copied code: the proof that a change to the fingerprints or the
grouping (made for speed) changes no finding.

    .venv/bin/python benchmarks/same_copies.py --before /tmp/main/.venv/bin   # this nbgit against that one
    .venv/bin/python benchmarks/same_copies.py --quick --before ...            # 200 notebooks per benchmark set

On the same files, each nbgit (in a process of its own, its own modules) gives:

- every file's fingerprint: each unit's cell, line hashes, physical lines and definitions (nbgit's
  `notebook_units`, `module_units`, reading JSON as a cold run of many notebooks does);
- the groups of copies among all the files at once, for several `duplicate_min_lines` (2, 3, 5, 8);
- `nbgit check --all --format json` of the `duplicate-code` check alone (every other check disabled),
  in a git repository holding the files, without the cache: the findings as users see them.

The files: every notebook and module of ../shared/corpus/dev as one repository, and the benchmark
sets of bench_check.py that duplicate-code finds most in (`real-50kb-distinct`,
`real-mixed-distinct`; benchmarks/corpora.py). The fingerprints must be equal when the change
keeps the normalised text (the same FORMAT); the groups and findings must be equal whatever it does.
Prints what differs (the first few), and exits 1 when anything does.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from corpora import ABOUT_50KB, CORPUS, MIXED, real

from nbgit.check.catalogue import CHECKS

MODULES = {".py": "python", ".R": "r", ".r": "r", ".jl": "julia"}
MIN_LINES = (2, 3, 5, 8)
POLICY = f"[check]\ndisable = {json.dumps(sorted(set(CHECKS) - {'duplicate-code'}))}\n"  # the duplicate-code check alone

# run in each nbgit's own interpreter: fingerprints and groups of the files listed on stdin, pickled to stdout
_CHILD = r"""
import pickle, sys
from pathlib import Path
from nbgit.check.copies import _problem
from nbgit.check.duplicates import copy_groups
from nbgit.check.fingerprints import module_units, notebook_units
root, paths, modules, sizes = pickle.load(sys.stdin.buffer)
from nbgit import fastjson
if hasattr(fastjson, "loaded"):  # (a cold run of many notebooks reads them with msgspec: so does this)
    fastjson.loaded(len(paths))
files = {}
for path in paths:
    data = (Path(root) / path).read_bytes()
    suffix = Path(path).suffix
    units = notebook_units(data) if suffix == ".ipynb" else module_units(data.decode("utf-8", "replace"), modules[suffix])
    files[path] = units
fingerprints = {path: [(u.cell, list(u.hashes), list(u.starts), list(u.ends), list(u.defines)) for u in units] for path, units in files.items()}
groups = {size: [tuple(_problem(group)[:-1]) + (group,) for group in copy_groups(files, size)] for size in sizes}
sys.stdout.buffer.write(pickle.dumps((fingerprints, groups)))
"""


def repository(folder: Path, name: str, quick: bool) -> Path:
    """A git repository holding one set of files, committed (the corpus, or a benchmark set)."""
    repo = folder / name
    if name == "corpus":
        shutil.copytree(CORPUS, repo, ignore=shutil.ignore_patterns(".git"))
    else:
        count = 200 if quick else 1000
        real(repo / "nbs", count, ABOUT_50KB if name == "real-50kb-distinct" else MIXED, distinct=True)
    (repo / ".nbgit.toml").write_text(POLICY)
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "files"], cwd=repo, check=True)
    return repo


def findings(bin: Path, repo: Path) -> tuple[object, object, str]:
    """(fingerprints, groups by size, the check's JSON report) of the nbgit in `bin` on `repo`'s files."""
    paths = sorted(p.relative_to(repo).as_posix() for p in repo.rglob("*")
                   if p.is_file() and ".git" not in p.parts and (p.suffix == ".ipynb" or p.suffix in MODULES))
    child = subprocess.run([str(bin / "python"), "-c", _CHILD], input=pickle.dumps((str(repo), paths, MODULES, MIN_LINES)),
                           capture_output=True, check=True)
    fingerprints, groups = pickle.loads(child.stdout)
    env = {**os.environ, "CI": "1"}
    report = subprocess.run([str(bin / "nbgit"), "check", "--all", "--no-cache", "--format", "json"], cwd=repo, capture_output=True, env=env, check=False)
    if report.returncode not in (0, 1):
        raise SystemExit(f"{bin / 'nbgit'} check failed in {repo}: {report.stderr.decode()}")
    return fingerprints, groups, report.stdout.decode()


def differences(name: str, before: tuple[object, object, str], after: tuple[object, object, str]) -> list[str]:
    """What differs between the two nbgits' findings on one set (the first few of each kind)."""
    found = []
    old_prints, old_groups, old_report = before
    new_prints, new_groups, new_report = after
    assert isinstance(old_prints, dict) and isinstance(new_prints, dict) and isinstance(old_groups, dict) and isinstance(new_groups, dict)
    changed = [path for path in sorted(set(old_prints) | set(new_prints)) if old_prints.get(path) != new_prints.get(path)]
    found += [f"{name}: fingerprint of {path} differs" for path in changed[:5]]
    if len(changed) > 5:
        found.append(f"{name}: ... {len(changed)} fingerprints differ")
    for size in MIN_LINES:
        if old_groups[size] != new_groups[size]:
            found.append(f"{name}: the groups of {size} lines or more differ ({len(old_groups[size])} before, {len(new_groups[size])} now)")
    if old_report != new_report:
        found.append(f"{name}: `nbgit check --all --format json` differs")
    return found


def digest(result: tuple[object, object, str]) -> str:
    return hashlib.sha256(pickle.dumps(result[:2]) + result[2].encode()).hexdigest()[:16]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", metavar="BIN", type=Path, required=True, help="the other nbgit's virtualenv bin folder")
    parser.add_argument("--quick", action="store_true", help="200 notebooks per benchmark set (default 1000)")
    args = parser.parse_args(argv)
    now = Path(sys.executable).parent
    problems = []
    with tempfile.TemporaryDirectory(prefix="nbgit-same-copies-") as temporary:
        for name in ("corpus", "real-50kb-distinct", "real-mixed-distinct"):
            repo = repository(Path(temporary), name, args.quick)
            before, after = findings(args.before, repo), findings(now, repo)
            groups = after[1]
            assert isinstance(groups, dict)
            count = len(json.loads(after[2] or "[]")) if after[2].lstrip().startswith("[") else "?"
            print(f"{name}: {len(after[0])} files; groups by size {', '.join(f'{s}: {len(groups[s])}' for s in MIN_LINES)};"
                  f" report {count} entries; digest before {digest(before)}, now {digest(after)}")
            problems += differences(name, before, after)
    print("\n".join(problems) if problems else "the same fingerprints, groups and findings")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
