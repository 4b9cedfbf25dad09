"""B201 rename-column: ALTER TABLE ... RENAME COLUMN on a table that existed before the migration."""

from __future__ import annotations

from bascule.analyze.facts import relkey
from bascule.analyze.model import Rule


def check(s):
    node = s.node
    if node.get("renameType") != "OBJECT_COLUMN":
        return
    table = relkey(node.get("relation"))
    old = node.get("subname")
    if not table or not old or s.known.is_new_column(table, old):
        return
    new = node.get("newname")
    yield s.finding(RULE, f"RENAME COLUMN {old} TO {new} on {table}: code already running reads and writes "
                          f"{table}.{old} and fails from the moment the migration commits",
                    table=table)


RULE = Rule(
    code="B201", name="rename-column", severity="error", category="compatibility",
    summary="renaming a column breaks the application code already running",
    why="RENAME COLUMN changes only the catalog, so it is instant, but every query the running application "
        "sends still names the old column: from the commit on they fail with \"column does not exist\" until "
        "every instance runs the new code. Deploys are never atomic, so there is always such a window.",
    fix="Expand and contract: add the new column, write both (trigger or application), backfill, move reads "
        "to the new column, and drop the old one in a later migration. For a pure rename, a view that exposes "
        "the old name can bridge the deploy.",
    kinds=("RenameStmt",),
    peers=("squawk renaming-column", "strong_migrations rename_column", "Atlas BC102"),
    check=check,
)
