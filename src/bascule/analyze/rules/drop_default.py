"""B207 drop-default: ALTER COLUMN ... DROP DEFAULT on a table that existed before the migration."""

from __future__ import annotations

from bascule.analyze.facts import relkey
from bascule.analyze.model import Rule


def check(s):
    node = s.node
    if node.get("objtype", "OBJECT_TABLE") not in ("OBJECT_TABLE", "OBJECT_FOREIGN_TABLE", "OBJECT_VIEW"):
        return
    table = relkey(node.get("relation"))
    if not table or s.is_new(table):
        return
    for cmd in node.get("cmds") or ():
        c = cmd.get("AlterTableCmd") or {}
        if c.get("subtype") != "AT_ColumnDefault" or c.get("def"):
            continue
        col = c.get("name")
        known = s.known.column(table, col)
        if known is not None and not known.has_default:
            continue  # nothing to drop
        not_null = known is not None and known.not_null
        if s.known.is_new_column(table, col):
            if not not_null:
                continue  # added by this migration: running code leaves it out and gets NULL, which nobody reads
            yield s.finding(RULE, f"DROP DEFAULT on {table}.{col}, a NOT NULL column added by this migration: "
                                  f"inserts from running code, which does not know {col}, now fail", table=table)
            continue
        then = ("fail (the column is NOT NULL)" if not_null else
                "store NULL (or fail if the column is NOT NULL)" if known is None else "store NULL")
        yield s.finding(RULE, f"DROP DEFAULT on {table}.{col}: inserts from running code that leave {col} out "
                              f"now {then}", table=table)


RULE = Rule(
    code="B207", name="drop-default", severity="warning", category="compatibility",
    summary="dropping a column default breaks inserts that rely on it",
    why="A column default is applied only when an INSERT leaves the column out. After DROP DEFAULT those inserts "
        "store NULL instead, or fail with a not-null violation when the column is NOT NULL, and the running code "
        "that relied on the default does not know it changed.",
    fix="First deploy code that always writes the column, then drop the default in a later migration; or set a "
        "different default (SET DEFAULT) instead of dropping it.",
    alter_subtypes=frozenset({"AT_ColumnDefault"}),
    kinds=("AlterTableStmt",),
    peers=(),
    check=check,
)
