"""Judging the pairs not known to be in step (jupytext from here on), on all cores: which side
changed since a version where both files were in step, and what bringing them in step takes.

The base is the pair as nbgit last saw it in step on disk (`nbgit.sync.cache`) when a run on the
work tree remembers it, else the newest version in step that git holds: the staged pair, HEAD's, or
the newest such commit of the pair's history. A side equal to its base is unchanged. Then: only the
notebook changed -> rewrite the twin; only the twin changed -> update the notebook's inputs; both
changed -> same inputs: nothing; different edits that do not overlap: merge them; overlapping edits:
a conflict, with both sides' diffs and the commands that resolve it. A pair that was never in step
needs a decision, and a side holding git's conflict markers is never taken.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from nbgit import gitrepo
from nbgit.errors import NbgitError
from nbgit.pairing import PairSettings, twin_format
from nbgit.parallel import map_on_all_cores
from nbgit.policy import Policy
from nbgit.sync.model import (
    CONFLICT,
    ERROR,
    IN_STEP,
    MARKED,
    MERGEABLE,
    NEW_NOTEBOOK,
    NEW_TWIN,
    NOT_STAGED,
    NOTEBOOK_CHANGED,
    ORPHAN,
    OUT_OF_STEP,
    PAIRS_PER_WORKER,
    TAKES,
    TWIN_CHANGED,
    TWIN_DELETED,
    Base,
    Member,
    Plan,
    in_git,
    twin_text_of,
)
from nbgit.sync.pairs import pair_format
from nbgit.terminal import git_path_word, shell_word

if TYPE_CHECKING:
    from nbgit.sync.cache import PairCache

HISTORY_DEPTH = 50  # commits of a pair's history searched for a version in step


def judge_pairs(root: Path, policy: Policy, pair: PairSettings, items: list[Plan], cache: PairCache, staged: bool) -> None:
    """Judge the pairs `items` (those not known to be in step), on all cores: each against what git holds of
    it in HEAD and in the index, and what the cache remembers of it. Each plan gets its status, action and choices."""
    specs = [f"{rev}:{rel}" for item in items for rel in in_git(root, item) for rev in ("HEAD", "")]
    blobs = gitrepo.revision_files(root, specs)
    jobs = [(item, cache.pairs.get(item.relative[0]), blobs[4 * index : 4 * index + 4]) for index, item in enumerate(items)]
    judged = map_on_all_cores(partial(_judged, root=root, policy=policy, pair=pair, staged=staged), jobs, PAIRS_PER_WORKER)
    for item, result in zip(items, judged):
        if result is not item:
            vars(item).update(vars(result))  # a worker process judged a copy


class Versions(NamedTuple):
    """What git holds of a pair besides the files judged: (notebook, twin) in HEAD and in the index."""

    head: tuple[bytes | None, bytes | None]
    staged: tuple[bytes | None, bytes | None]


def _judged(job: tuple[Plan, list[str] | None, list[bytes | None]], root: Path, policy: Policy, pair: PairSettings, staged: bool) -> Plan:
    """One pair judged against its base: (the plan, what the cache remembers of it, its HEAD and staged blobs)."""
    item, remembered, (head_nb, index_nb, head_tw, index_tw) = job
    judge = Judge(root, policy, pair, item, remembered, Versions((head_nb, head_tw), (index_nb, index_tw)), staged)
    try:
        judge.run()
    except NbgitError as error:
        item.status = item.status._replace(state=ERROR, detail=error.render())
    return item


class Judge(NamedTuple):
    """Judges one pair: which sides changed since a version in step, and what bringing them in step takes."""

    root: Path
    policy: Policy
    pair: PairSettings
    item: Plan
    remembered: list[str] | None
    versions: Versions
    staged: bool

    def set_state(self, state: str, detail: str, action: str | None = None, *choices: str) -> None:
        self.item.status = self.item.status._replace(state=state, detail=detail)
        self.item.action, self.item.choices = action, frozenset(choices)

    def run(self) -> None:
        from nbgit import twins
        from nbgit.notebook import parse

        item = self.item
        notebook, twin = item.notebook, item.twin
        nb_rel, tw_rel = item.relative
        head_nb, head_tw = self.versions.head
        if notebook.data is None and twin.data is None:
            self.set_state(ERROR, f"{nb_rel}: neither the notebook nor its twin {tw_rel} exists")
            return
        missing = notebook if notebook.data is None else twin if twin.data is None else None
        if self.staged and missing is not None and missing.path.exists():
            missing_rel, present_rel = (nb_rel, tw_rel) if missing is notebook else (tw_rel, nb_rel)
            self.set_state(NOT_STAGED, f"{present_rel} is staged but {missing_rel} is not: `git add {git_path_word(missing_rel)}`")
            return
        if notebook.data is None:
            item.fmt = twin_format(Path(tw_rel).suffix, self.pair.format_name)
            twins.read_text(twin.text(tw_rel), item.fmt, tw_rel)  # an unreadable twin is an error now, not at --take
            if head_nb is not None:
                self.set_state(ORPHAN, f"{tw_rel}: its notebook {nb_rel} was deleted; delete the twin (`git rm {git_path_word(tw_rel)}`) or rebuild the notebook: `nbgit sync --take text {shell_word(tw_rel)}`", None, "text")
            else:
                self.set_state(NEW_NOTEBOOK, f"created {nb_rel} from {tw_rel}", "text")
            self._refuse_marked_sides()
            return
        item.current = current = parse(notebook.data, nb_rel)
        item.fmt = pair_format(self.root, self.pair, item.relative, current.content.get("metadata") or {})
        item.nb_text = twins.twin_text(current.content, self.policy, nb_rel, item.fmt, current.major)
        if twin.data is None:
            if head_tw is not None:
                self.set_state(TWIN_DELETED, f"{tw_rel}: the twin of {nb_rel} was deleted; recreate it (nbgit sync --take notebook {nb_rel}) or stop pairing this notebook ([pair] exclude) and commit the deletion", None, "notebook")
            else:
                self.set_state(NEW_TWIN, f"created {tw_rel} from {nb_rel}", "notebook")
            self._refuse_marked_sides()
            return
        text = twin.text(tw_rel)
        if item.nb_text == text:
            self.set_state(IN_STEP, "")
            return
        self._judge_changes(text)
        self._refuse_marked_sides()

    def _judge_changes(self, text: str) -> None:
        """Both files exist and differ: which changed since a version in step, and what follows.

        Both sides are compared with one base: the pair as nbgit last saw it in step on disk when it
        remembers it (a run on the work tree), else the newest version in step that git holds."""
        from nbgit import twins

        item, (nb_rel, tw_rel) = self.item, self.item.relative
        seen = self.remembered if self.remembered is not None and self.remembered[0] == tw_rel and not self.staged else None
        base = None if seen is not None else self._base()
        if seen is not None:
            nb_unchanged, tw_unchanged = seen[1] == item.notebook.digest, seen[2] == item.twin.digest
        else:
            nb_unchanged = base is not None and (item.notebook.data == base.notebook or _cleaned(item.notebook, self.policy) == base.notebook)
            tw_unchanged = base is not None and item.twin.data == base.twin
        if tw_unchanged and not nb_unchanged:
            self.set_state(NOTEBOOK_CHANGED, f"updated {tw_rel} from {nb_rel}", "notebook")
        elif nb_unchanged and not tw_unchanged:
            self.set_state(TWIN_CHANGED, f"updated {nb_rel} from {tw_rel} (outputs of unchanged cells kept)", "text")
        elif twins.inputs(item.nb_text, item.fmt, nb_rel) == twins.inputs(text, item.fmt, tw_rel):
            self.set_state(IN_STEP, "")
        elif nb_unchanged and tw_unchanged:
            self.set_state(OUT_OF_STEP, f"{nb_rel} and {tw_rel} disagree and neither changed since they were last in step; take one side: nbgit sync --take notebook|text {nb_rel}", None, "notebook", "text")
        elif (base := base or self._base()) is None and all(self.versions.head):
            self.set_state(
                OUT_OF_STEP,
                f"{nb_rel} and {tw_rel} disagree, and no commit of their history (the last {HISTORY_DEPTH}) has them in step to tell which side changed; "
                f"take one side: nbgit sync --take notebook|text {nb_rel}",
                None, "notebook", "text",
            )
        else:
            self._judge_both_changed(base, text)

    def _base(self) -> Base | None:
        """The newest version where both files were in step: the staged pair (in a run on the work
        tree), HEAD's, else the newest such commit of the pair's history; None when there is none."""
        head, index = self.versions
        if not self.staged and index != head and index[0] is not None and index[1] is not None and self._in_step(*index):
            return Base(index[0], index[1], "staged")
        if head[0] is None or head[1] is None:
            return None
        if self._in_step(*head):
            return Base(head[0], head[1], "committed")
        paths = in_git(self.root, self.item)
        commits = gitrepo.path_history(self.root, paths, HISTORY_DEPTH)
        blobs = gitrepo.revision_files(self.root, [f"{commit}:{rel}" for commit in commits for rel in paths])
        tried = {head}
        for number, commit in enumerate(commits):
            version = (blobs[2 * number], blobs[2 * number + 1])
            if version not in tried and version[0] is not None and version[1] is not None and self._in_step(*version):
                return Base(version[0], version[1], f"commit {commit[:7]}")
            tried.add(version)
        return None

    def _in_step(self, notebook: bytes, twin: bytes) -> bool:
        """Whether a version of the pair (a notebook and a twin as git holds them) was in step: same inputs."""
        from nbgit import twins

        nb_rel, tw_rel = self.item.relative
        text = _notebook_text(self.policy, nb_rel, self.item.fmt, notebook)
        try:
            return text is not None and twins.inputs(text, self.item.fmt, nb_rel) == twins.inputs(twin_text_of(twin), self.item.fmt, tw_rel)
        except (NbgitError, UnicodeDecodeError):
            return False

    def _judge_both_changed(self, base: Base | None, text: str) -> None:
        """Both sides changed: one side's inputs may still equal the base's; else merge, else a conflict."""
        from nbgit import twins
        from nbgit.notebook import parse

        item = self.item
        nb_rel, tw_rel = item.relative
        fmt, nb_text, current = item.fmt, item.nb_text, item.current
        assert current is not None
        base_text = _base_text(self.policy, nb_rel, fmt, base) if base is not None else None
        text = text.replace("\r\n", "\n")  # merged line by line: a twin saved with CRLF would differ on every line
        item.choices = frozenset({"notebook", "text"})
        status = item.status
        if base is not None and base_text is not None:
            base_inputs = twins.inputs(base_text, fmt, tw_rel)
            if twins.inputs(text, fmt, tw_rel) == base_inputs:
                item.status, item.action = status._replace(state=NOTEBOOK_CHANGED, detail=f"updated {tw_rel} from {nb_rel}"), "notebook"
                return
            if twins.inputs(nb_text, fmt, nb_rel) == base_inputs:
                item.status, item.action = status._replace(state=TWIN_CHANGED, detail=f"updated {nb_rel} from {tw_rel} (outputs of unchanged cells kept)"), "text"
                return
            merged, clean = gitrepo.merge_texts(base_text, nb_text, text, (nb_rel, f"{base.name} version", tw_rel))
            if clean:
                merged_notebook = twins.notebook_from_text(merged, fmt, current, self.policy, tw_rel, nb_rel, nb_text)
                merged_parsed = parse(merged_notebook, nb_rel)
                merged_twin = twins.twin_text(merged_parsed.content, self.policy, nb_rel, fmt)
                item.merged = {item.notebook.path: merged_notebook, item.twin.path: merged_twin.encode("utf-8")}
                item.status, item.action = status._replace(state=MERGEABLE, detail=f"merged the edits of {nb_rel} and {tw_rel} (they do not overlap)"), "merge"
                return
        detail = f"{nb_rel} and {tw_rel} were both edited"
        detail += f" since the {base.name} version, in the same place" if base_text is not None and base is not None else ", and git has no version of either to compare with"
        item.report = _conflict_report(base_text, nb_text, text, nb_rel, tw_rel)
        item.status = status._replace(state=CONFLICT, detail=detail)

    def _refuse_marked_sides(self) -> None:
        """Never copy git's (or nbdime's) conflict markers from one file of the pair into the other:
        a side holding them is not taken, by the pair's own action or by --take. A pair that would
        copy one (or whose --take offered one, as a conflict's does) says so, with the way out."""
        from nbgit.merge import describe_conflicts
        from nbgit.notebook import has_conflict_markers

        item = self.item
        nb_rel, tw_rel = item.relative
        marked = set()
        if item.current is not None and describe_conflicts(item.current.content, 7):
            marked.add("notebook")
        if item.twin.data is not None and has_conflict_markers(item.twin.data):
            marked.add("text")
        if not marked:
            return
        taken = TAKES[item.action] if item.action is not None else item.choices  # the sides its action, or --take, would copy
        item.choices = item.choices - marked
        if not taken & marked:
            return
        if marked == {"notebook"}:
            way = f"resolve the conflicts in Jupyter or with `nbgit resolve {nb_rel} --take local|remote`, then run nbgit sync again"
        else:
            way = f"`nbgit resolve {nb_rel}` writes {tw_rel} again from the notebook; or edit out the markers"
            way += f", or keep the notebook's side: nbgit sync --take notebook {nb_rel}" if "notebook" in item.choices else ""
        holders = " and ".join(rel for side, rel in (("notebook", nb_rel), ("text", tw_rel)) if side in marked)
        self.set_state(MARKED, f"{holders} hold{'s' if len(marked) == 1 else ''} conflict markers, which nbgit sync never copies into the other file; {way}", None, *item.choices)


def _cleaned(member: Member, policy: Policy) -> bytes | None:
    from nbgit.clean import clean_bytes

    try:
        return clean_bytes(member.data or b"", str(member.path), policy)
    except NbgitError:
        return None


def _notebook_text(policy: Policy, nb_rel: str, fmt: str, data: bytes) -> str | None:
    from nbgit import twins
    from nbgit.notebook import parse

    try:
        parsed = parse(data, nb_rel)
        return twins.twin_text(parsed.content, policy, nb_rel, fmt, parsed.major)
    except NbgitError:
        return None


def _base_text(policy: Policy, nb_rel: str, fmt: str, base: Base) -> str | None:
    """The pair's base as twin text, with LF line ends (jupytext reads the cells alike with CRLF): the
    base twin, else the base notebook's inputs."""
    try:
        return twin_text_of(base.twin).replace("\r\n", "\n")
    except UnicodeDecodeError:
        return _notebook_text(policy, nb_rel, fmt, base.notebook)


def _conflict_report(base: str | None, ours: str, theirs: str, nb_rel: str, tw_rel: str) -> str:
    """Both sides' changes as unified diffs, and the commands that resolve the conflict."""
    parts: list[str] = []
    if base is None:
        parts.append(_diff(theirs, ours, tw_rel, f"{nb_rel} (inputs)"))
    else:
        parts.append(f"notebook side ({nb_rel}):\n" + (_diff(base, ours, "base", f"{nb_rel} (inputs)") or "  (no change)\n"))
        parts.append(f"text side ({tw_rel}):\n" + (_diff(base, theirs, "base", tw_rel) or "  (no change)\n"))
    parts.append(
        "resolve with one of:\n"
        f"  nbgit sync --take notebook {nb_rel}   # keep the notebook's inputs, rewrite {tw_rel}\n"
        f"  nbgit sync --take text {nb_rel}   # keep {tw_rel}, update the notebook (outputs of unchanged cells kept)\n"
        f"  or edit one side to match the other, then run nbgit sync again\n"
    )
    return "".join(parts)


def _diff(a: str, b: str, a_name: str, b_name: str) -> str:
    """A unified diff of two texts, one hunk where difflib would take too long (a stranger's repository)."""
    # (only for pairs out of step: a check whose pairs are all in step never imports difflib)
    from nbgit.sequences import unified_diff

    return "".join(unified_diff(a.splitlines(True), b.splitlines(True), a_name, b_name, n=2))
