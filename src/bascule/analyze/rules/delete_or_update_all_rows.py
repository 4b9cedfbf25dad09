"""B302 delete-or-update-all-rows: DELETE or UPDATE without WHERE on a table that existed before."""

from __future__ import annotations

from bascule.analyze.facts import relkey
from bascule.analyze.model import Rule


def check(s):
    if not s.facts.destroys:  # facts: DELETE without WHERE, UPDATE without WHERE or FROM
        return
    rel = s.node.get("relation")
    table = relkey(rel)
    if not table or s.is_new(table):
        return
    if s.tag == "DeleteStmt":
        what = f"DELETE without WHERE removes every row of {table}"
    else:
        what = f"UPDATE without WHERE rewrites every row of {table} (the old values are lost)"
    yield s.finding(RULE, f"{what}, and holds a lock on each of them until commit", table=table,
                    location=rel.get("location"))


RULE = Rule(
    code="B302", name="delete-or-update-all-rows", severity="warning", category="data-loss",
    summary="DELETE or UPDATE without WHERE on an existing table",
    why="Without a WHERE clause the statement touches every row: DELETE removes them all, UPDATE overwrites "
        "the column everywhere. Every changed row stays locked until the migration commits, so application "
        "writes to any of them wait, and the whole table's worth of dead rows and WAL is produced at once. "
        "A down migration cannot restore the old values.",
    fix="Add the WHERE clause you meant. For a real backfill, update in batches (WHERE id BETWEEN ...) outside "
        "the schema migration's transaction, so each batch commits and releases its row locks. If every row "
        "must change and the table is small, suppress with the reason.",
    kinds=("DeleteStmt", "UpdateStmt"),
    peers=(),
    check=check,
)
