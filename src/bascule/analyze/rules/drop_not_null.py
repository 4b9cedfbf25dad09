"""B209 drop-not-null: ALTER COLUMN ... DROP NOT NULL on a table that existed before the migration."""

from __future__ import annotations

from bascule.analyze.model import Rule
from bascule.analyze.rules._alter import existing_table, subcommands


def check(s):
    node = s.node
    table = existing_table(s)
    if table is None:
        return
    for c in subcommands(node, "AT_DropNotNull"):
        col = c.get("name")
        if s.known.is_new_column(table, col) or s.known.column_not_null(table, col) is False:
            continue  # nobody reads it yet, or it already allows NULL
        yield s.finding(RULE, f"DROP NOT NULL on {table}.{col}: code already running that reads {col} assumes "
                              "it is never NULL and may fail on the first NULL written", table=table)


RULE = Rule(
    code="B209", name="drop-not-null", severity="warning", category="compatibility",
    summary="allowing NULL in a column breaks code that assumes it is always set",
    why="DROP NOT NULL is instant, but from then on NULLs can be written, by new code or by inserts that leave "
        "the column out. Running code that reads the column (typed non-optional fields, arithmetic, string "
        "handling) was written for a column that is always set and can fail on the first NULL.",
    fix="First deploy code that handles NULL in the column wherever it is read, then drop NOT NULL in a later "
        "migration. If the column is being retired, stop writing and reading it first (see B203).",
    alter_subtypes=frozenset({"AT_DropNotNull"}),
    kinds=("AlterTableStmt",),
    peers=("squawk ban-drop-not-null",),
    check=check,
)
