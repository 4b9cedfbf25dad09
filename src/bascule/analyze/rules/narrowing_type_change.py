"""B208 narrowing-type-change: ALTER COLUMN ... TYPE to a type that cannot hold every old value."""

from __future__ import annotations

from bascule.analyze.facts import narrowing, type_ref
from bascule.analyze.model import Rule
from bascule.analyze.rules._alter import existing_table, subcommands


def narrowed(s, table: str):
    """(column, old type, new type, location) for each ALTER COLUMN TYPE of `table` that narrows it.
    The old type comes from earlier statements and migrations (or the live catalog): unknown, no hit."""
    for c in subcommands(s.node, "AT_AlterColumnType"):
        col = c.get("name")
        cd = (c.get("def") or {}).get("ColumnDef") or {}
        new = type_ref(cd.get("typeName"))
        old = s.known.column_type(table, col)
        if old is not None and new is not None and narrowing(old, new):
            yield col, old, new, cd.get("location")


def check(s):
    table = existing_table(s)
    if table is None:
        return
    for col, old, new, loc in narrowed(s, table):
        if s.known.is_new_column(table, col):
            continue
        yield s.finding(RULE, f"ALTER COLUMN {col} TYPE {new} on {table} narrows {old} to {new}: it fails on "
                              f"existing values that do not fit, and afterwards running code that writes such "
                              "values fails", table=table, location=loc)


RULE = Rule(
    code="B208", name="narrowing-type-change", severity="error", category="compatibility",
    summary="changing a column to a type that cannot hold every old value",
    why="PostgreSQL converts every existing value to the new type: one value out of range (an integer above "
        "2^31 for bigint → integer) or too long (varchar(50) → varchar(20)) makes the whole ALTER fail, possibly "
        "after much of the table was rewritten. If it succeeds, code already running still writes values the old "
        "type accepted and now gets errors; a smaller numeric scale silently rounds.",
    fix="Keep the wider type and enforce the limit with a CHECK constraint added NOT VALID and validated "
        "separately, after checking the data (SELECT count(*) FROM t WHERE length(col) > 20) and deploying code "
        "that respects the new limit. Widening changes (integer → bigint, varchar(20) → varchar(50) or text) "
        "are safe.",
    alter_subtypes=frozenset({"AT_AlterColumnType"}),
    kinds=("AlterTableStmt",),
    peers=("strong_migrations change_column", "squawk changing-column-type"),
    check=check,
)
