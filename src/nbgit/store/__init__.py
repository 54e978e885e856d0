"""Outputs that survive git: kept per clone when git cleans a notebook, put back when git writes one out.

git stores notebooks without their outputs (the clean filter strips them). This family keeps what
the filter strips in a store under git's common directory, so that whatever git writes into the work
tree (checkout, switch, stash pop, reset, pull, rebase, merge) gets its outputs back. Where the policy
keeps outputs, the store is used only when it drops cells (scratch cells: `keeper.uses_store`), so
that those come back the same way.

- `location`: where the store lives (git's common directory, found without running git) and what
  the clone's git config says (`nbgit.restore`, `nbgit.restoreMaxSize`);
- `disk`: the files, content-addressed, written atomically, damage detected on read;
- `history`: each path's last cleaned versions, as lines appended to 256 logs (no file per version);
- `skeleton`: a work-tree notebook as what it adds to its cleaned blob (lines in common are not kept twice);
- `record`: the clean side: the work-tree bytes of each cleaned notebook, keyed by its cleaned blob;
- `restore`: the smudge side: the exact work-tree bytes a blob came from, else outputs cell by cell;
- `evict`: the size limit (least recently used first) and `nbgit gc`;
- `keeper`: what the filter process calls: record on clean, restore on smudge, never failing git.

Nothing here runs notebook code, nothing from the store reaches a blob (the clean filter strips it
again), and only the standard library is used: the filter process imports it.
"""
