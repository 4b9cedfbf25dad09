"""B214 drop-generated-expression: ALTER COLUMN ... DROP EXPRESSION on a table that existed before the
migration: the generated column becomes a plain column that nothing computes any more."""

from __future__ import annotations

from bascule.analyze.model import Rule
from bascule.analyze.rules._alter import existing_table, subcommands


def check(s):
    node = s.node
    table = existing_table(s)
    if table is None:
        return
    for c in subcommands(node, "AT_DropExpression"):
        col = c.get("name")
        if s.known.is_new_column(table, col):
            continue
        msg = (f"DROP EXPRESSION on {table}.{col}: {col} keeps its values but is no longer computed, so rows that "
               f"running code inserts or updates without writing {col} get NULL or a stale value")
        if s.version < 13:
            msg += f" (and DROP EXPRESSION does not exist before PostgreSQL 13: the statement fails on {s.version})"
        yield s.finding(RULE, msg, table=table)


RULE = Rule(
    code="B214", name="drop-generated-expression", severity="warning", category="compatibility",
    summary="dropping a column's generation expression leaves it unmaintained for running code",
    why="DROP EXPRESSION turns a stored generated column into an ordinary column: existing values stay, but "
        "PostgreSQL no longer computes it. Running code never writes a generated column (PostgreSQL refused "
        "that), so every row it inserts from now on gets NULL there and every row it updates keeps a value "
        "that no longer matches its inputs, while readers still trust it.",
    fix="First deploy code that writes the column itself (or a trigger that computes it), then drop the "
        "expression in the same migration as that trigger or in a later one. If the column is being retired, "
        "stop reading it and drop the column instead.",
    alter_subtypes=frozenset({"AT_DropExpression"}),
    kinds=("AlterTableStmt",),
    peers=("squawk ban-drop-generated-expression",),
    check=check,
)
