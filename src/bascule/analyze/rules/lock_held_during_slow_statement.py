"""B117 lock-held-during-slow-statement: inside the migration's transaction, an ACCESS EXCLUSIVE lock taken by
an earlier statement on an existing table is still held while this statement does slow work."""

from __future__ import annotations

from bascule.analyze.facts import AE, bare, dropped_names, relkey
from bascule.analyze.model import Rule

_DML = ("InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt", "CopyStmt")


def _values_only(node: dict) -> bool:
    """INSERT ... VALUES (...): bounded by the text of the statement, not by a table's size."""
    sel = (node.get("selectStmt") or {}).get("SelectStmt") or {}
    return bool(sel.get("valuesLists"))


def _name(s, key: str, index: int) -> str:
    """How to name a held lock: DROP INDEX of an index whose table bascule does not know records the index's name,
    but PostgreSQL locks (and blocks) the table it belongs to."""
    st = s.statements[index] if 0 <= index < len(s.statements) else None
    node = (st.node or {}) if st is not None else {}
    if st is not None and st.kind == "DropStmt" and node.get("removeType") == "OBJECT_INDEX" \
            and bare(key) in {bare(n) for n in dropped_names(node)}:
        return f"the table of index {key}"
    return key


def check(s):
    held = s.held
    if not held:
        return
    f = s.facts
    work = []  # (table, what it does to it, a certain rewrite or scan)
    for e in f.rewrites:
        if not s.is_new(e.table):
            # uncertain: bascule does not know the old column type (B111 says "may rewrite" as a warning)
            work.append((e.table, "rewrites" if e.certain else "may rewrite", e.certain))
    for e in f.scans:
        if not s.is_new(e.table):
            work.append((e.table, "scans" if e.certain else "may scan", e.certain))
    for e in f.index_builds:
        if not s.is_new(e.table):
            work.append((e.table, "builds an index on", False))
    if f.data_change and s.tag in _DML and not (s.tag == "InsertStmt" and _values_only(s.node)):
        t = relkey(s.node.get("relation"))
        if t and not s.is_new(t):
            work.append((t, "changes rows of", False))
    if not work:
        return
    own = {bare(t) for t, mode in f.locks.items() if mode == AE}
    locked = [(_name(s, t, i), line) for t, (_mode, i, line) in held.items() if bare(t) not in own]
    if not locked:
        return  # this statement locks those tables itself: the earlier lock adds nothing
    table, what, heavy = next(((t, w, h) for t, w, h in work if h), work[0])
    names = ", ".join(f"{t} (since line {line})" for t, line in locked[:3])
    if len(locked) > 3:
        names += f" and {len(locked) - 3} more tables"
    who = locked[0][0] if len(locked) == 1 else "those tables"
    yield s.finding(
        RULE, f"{names} {'is' if len(locked) == 1 else 'are'} still locked ACCESS EXCLUSIVE while this statement "
              f"{what} {table}: every read and write of {who} waits until the migration commits",
        table=table, lock=AE, severity="error" if heavy else None)


RULE = Rule(
    code="B117", name="lock-held-during-slow-statement", severity="warning", category="locking",
    summary="an ACCESS EXCLUSIVE lock from an earlier statement is held while a slow statement runs",
    why="Locks are held until the transaction ends. Once a statement of the migration has taken ACCESS EXCLUSIVE "
        "on a table, every later statement in the same transaction runs while nothing else can read or write that "
        "table; a rewrite, a full scan, an index build or a data backfill later in the migration stretches a "
        "short lock into minutes of blocked traffic.",
    fix="Put the quick ACCESS EXCLUSIVE change and the slow work in separate migrations (or order the slow work "
        "first), so the lock is released as soon as the quick change is done. Backfill data outside the schema "
        "transaction, in batches.",
    kinds=("AlterTableStmt", "IndexStmt", "ReindexStmt", "ClusterStmt", "VacuumStmt", "RefreshMatViewStmt",
           "AlterDomainStmt", *_DML),
    peers=("Eugene E4",),
    check=check,
)
