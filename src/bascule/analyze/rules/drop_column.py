"""B203 drop-column: ALTER TABLE ... DROP COLUMN on a table that existed before the migration."""

from __future__ import annotations

from bascule.analyze.model import Rule
from bascule.analyze.rules._alter import existing_table, subcommands


def check(s):
    node = s.node
    table = existing_table(s)
    if table is None:
        return
    for c in subcommands(node, "AT_DropColumn"):
        col = c.get("name")
        if s.known.is_new_column(table, col):
            continue
        cascade = " (CASCADE: and the views, indexes and constraints that use it)" \
            if c.get("behavior") == "DROP_CASCADE" else ""
        yield s.finding(RULE, f"DROP COLUMN {col} on {table}: code already running that selects or inserts "
                              f"{table}.{col} fails, and the column's data is gone{cascade}", table=table)


RULE = Rule(
    code="B203", name="drop-column", severity="error", category="compatibility",
    summary="dropping a column breaks code that still uses it, and deletes its data",
    why="DROP COLUMN is instant (PostgreSQL only marks the column dropped), but from the commit on every query "
        "that names the column fails, and so does every insert or select of an ORM whose model still lists it. "
        "The values cannot be brought back by a down migration.",
    fix="Contract in two deploys: first stop using the column in code (and remove it from the ORM's column list, "
        "or mark it ignored), deploy that everywhere, then drop the column in a later migration. Once no code "
        "uses it, suppress this finding with the reason: -- bascule:ignore B203 unused since release 4.2",
    alter_subtypes=frozenset({"AT_DropColumn"}),
    kinds=("AlterTableStmt",),
    peers=("squawk ban-drop-column", "strong_migrations remove_column", "Atlas DS103"),
    check=check,
)
