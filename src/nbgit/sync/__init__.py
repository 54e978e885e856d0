"""Three-way sync of notebooks and their text twins, with git as the base; never throws an edit away.

For each pair the base is a version where both files really were in step: the staged pair when it
is, else the newest commit of the pair's history where they were (HEAD, most of the time), and, side
by side, the files as nbgit last saw them in step (a small cache in `.git/nbgit-pairs.json`). A side
equal to its base is unchanged. Then: only the notebook changed -> rewrite the twin; only the twin
changed -> update the notebook's inputs; both changed -> same inputs: nothing; different edits that
do not overlap: merge them; overlapping edits: a conflict, nothing written. A pair that was never in
step needs a decision, and a side holding git's conflict markers is never taken: so a teammate's
commit of one side only (hosting sites run no hooks) is carried over, never reverted.

Every path comes from repository content and is confined to the work tree (`pairing.inside_repository`):
a twin or notebook linked out of it, or into `.git`, is never read or written.

The decision "nothing to do" is taken without jupytext, and without the judging: a pair whose two
files hash as they did when nbgit last saw them in step is in step.

The modules, in the order a sync uses them (callers import from the module that holds a name):
- `model`: the states of a pair, `Member` (one side as read), `Plan`, `Run`, the digests;
- `cache`: `PairCache`, what nbgit last saw in step (`.git/nbgit-pairs.json`);
- `pairs`: which files are pairs (`find_pairs`, `twin_of`, `own_twin_in`) and each twin's format;
- `plan`: `plan`, every pair with its status and how to bring it in step;
- `judge`: judging the pairs not known to be in step (imported only for them);
- `apply`: `apply`, writing what the plans say.
"""
