"""B401 prefer-jsonb: a column of type json."""

from __future__ import annotations

from bascule.analyze.model import Rule
from bascule.analyze.rules._columns import column_defs, described


def check(s):
    for table, col, t, _cd, how, loc in column_defs(s):
        if t.name == "json" and t.schema is None:
            yield s.finding(RULE, f"{described(col, table, t, how)}: use jsonb; json has no equality operator "
                                  f"(DISTINCT, GROUP BY and UNION on {col} fail) and cannot be indexed",
                            table=table, location=loc)


RULE = Rule(
    code="B401", name="prefer-jsonb", severity="warning", category="design",
    summary="a json column: jsonb is what you almost always want",
    why="json stores the input text verbatim and reparses it on every access. It has no equality operator, so "
        "SELECT DISTINCT, GROUP BY, UNION and comparisons on the column fail, and no operator class, so it cannot be "
        "indexed directly (neither btree nor GIN). jsonb stores a parsed binary form that supports all of these.",
    fix="Declare the column jsonb. Keep json only when the exact input text (key order, duplicate keys, "
        "whitespace) must be preserved. Converting an existing column later (ALTER COLUMN ... TYPE jsonb) "
        "rewrites the table.",
    alter_subtypes=frozenset({"AT_AddColumn", "AT_AlterColumnType"}),
    kinds=("CreateStmt", "AlterTableStmt"),
    peers=("strong_migrations adding a json column", "Eugene E3"),
    check=check,
)
