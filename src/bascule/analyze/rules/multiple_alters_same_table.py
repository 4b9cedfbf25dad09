"""B116 multiple-alters-same-table: a second (or later) ALTER TABLE on the same existing table in one
migration, each taking ACCESS EXCLUSIVE, where one ALTER TABLE with several subcommands would do."""

from __future__ import annotations

from bascule.analyze.facts import AE, bare, relkey
from bascule.analyze.model import Rule

# ALTER TABLE forms PostgreSQL will not combine with other subcommands
_ALONE = frozenset({"AT_AttachPartition", "AT_DetachPartition", "AT_DetachPartitionFinalize"})
# statements whose effect on a table they name is not visible in the parse tree (functions, DO blocks)
_OPAQUE = frozenset({"DoStmt", "CallStmt", "SelectStmt", "ExecuteStmt"})
_LOOKBACK = 200  # statements; a migration with more ALTERs in a row is a dump, not a hand-written change


def _combinable(node: dict) -> bool:
    return node.get("objtype") == "OBJECT_TABLE" and not any(
        (c.get("AlterTableCmd") or {}).get("subtype") in _ALONE for c in node.get("cmds") or ())


def _subtypes(node: dict) -> set:
    return {(c.get("AlterTableCmd") or {}).get("subtype") for c in node.get("cmds") or ()}


def _keeps_scan_free(earlier: dict, later: dict) -> bool:
    """SET NOT NULL, then DROP CONSTRAINT of the CHECK that proved it (the safe NOT NULL recipe):
    in one ALTER TABLE the CHECK would be dropped first and the scan would come back."""
    return "AT_SetNotNull" in _subtypes(earlier) and _subtypes(later) == {"AT_DropConstraint"}


def check(s):
    node = s.node
    table = relkey(node.get("relation"))
    if not table or s.facts.locks.get(table) != AE or s.is_new(table) or not _combinable(node):
        return
    name = bare(table)
    needle = name.lower()
    earlier = None  # (line, rewrites or scans) of the nearest earlier ALTER TABLE it could join
    stop = max(0, s.st.index - _LOOKBACK)
    for st in reversed(s.statements[stop:s.st.index]):
        if needle not in st.sql.lower():
            continue  # cheap: a statement that never names the table cannot touch it
        n = st.node or {}
        rel = relkey(n.get("relation")) if st.kind == "AlterTableStmt" else None
        if rel is None or bare(rel) != name:
            if st.kind in _OPAQUE or any(bare(k) == name for k in s.earlier_facts[st.index].locks):
                break  # something else uses the table in between (a backfill, an index): order matters
            continue
        if _combinable(n) and not _keeps_scan_free(n, node):
            f = s.earlier_facts[st.index]
            if f.locks.get(rel) == AE:  # not a weaker ALTER (VALIDATE CONSTRAINT, ...) kept apart on purpose
                earlier = (st.line, f.slow_on(rel))
        break  # an earlier ALTER TABLE of a longer chain was reported on its own statement
    if earlier is None:
        return
    line, earlier_slow = earlier
    where = f"line {line}"
    if s.facts.slow_on(table) and earlier_slow:
        cost = f"{table} is rewritten or scanned once per statement instead of once"
    elif s.transactional:
        cost = ("two separate statements lock it where one ALTER TABLE takes the lock once and does all the work "
                "in one pass")
    else:
        cost = f"this waits in the lock queue for {table} again, blocking its readers and writers while it waits"
    yield s.finding(RULE, f"another ALTER TABLE on {table} taking ACCESS EXCLUSIVE (already altered at {where}): "
                          f"{cost}; combine the subcommands into one ALTER TABLE",
                    table=table, lock=AE)


RULE = Rule(
    code="B116", name="multiple-alters-same-table", severity="warning", category="locking",
    summary="several ALTER TABLE statements on the same table, each taking ACCESS EXCLUSIVE, where one would do",
    why="Each ALTER TABLE acquires ACCESS EXCLUSIVE on its own: outside a transaction every statement waits in the "
        "lock queue again (and everything behind it waits too), and each one that rewrites or scans the table "
        "reads it in full again. PostgreSQL runs all the subcommands of one ALTER TABLE together, with at most "
        "one rewrite.",
    fix="Combine the subcommands into one statement, separated by commas: "
        "ALTER TABLE t ADD COLUMN a int, ADD COLUMN b text, ALTER COLUMN c SET DEFAULT 0;",
    kinds=("AlterTableStmt",),
    peers=("Eugene W12",),
    check=check,
)
