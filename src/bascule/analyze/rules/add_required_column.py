"""B206 add-required-column: ADD COLUMN ... NOT NULL without a default on an existing table."""

from __future__ import annotations

from bascule.analyze.facts import SERIAL, constraint_defs, relkey, type_ref
from bascule.analyze.model import Rule
from bascule.analyze.rules._alter import subcommands

_FILLED = frozenset({"CONSTR_IDENTITY", "CONSTR_GENERATED"})  # PostgreSQL computes a value for every row


def _null_default(expr) -> bool:
    """DEFAULT NULL (possibly cast): no default at all as far as NOT NULL is concerned."""
    while isinstance(expr, dict) and "TypeCast" in expr:
        expr = expr["TypeCast"].get("arg")
    return isinstance(expr, dict) and bool((expr.get("A_Const") or {}).get("isnull"))


def check(s):
    node = s.node
    if node.get("objtype", "OBJECT_TABLE") != "OBJECT_TABLE":
        return
    table = relkey(node.get("relation"))
    if not table or s.is_new(table):
        return
    for c in subcommands(node, "AT_AddColumn"):
        cd = (c.get("def") or {}).get("ColumnDef") or {}
        cons = constraint_defs(cd)
        types = {k.get("contype") for k in cons}
        required = types & {"CONSTR_NOTNULL", "CONSTR_PRIMARY"}
        if not required or types & _FILLED:
            continue
        t = type_ref(cd.get("typeName"))
        if t is not None and t.name in SERIAL:
            continue
        default = next((k.get("raw_expr") for k in cons if k.get("contype") == "CONSTR_DEFAULT"), None)
        if default is not None and not _null_default(default):
            continue
        col = cd.get("colname")
        what = "PRIMARY KEY" if "CONSTR_NOTNULL" not in types else "NOT NULL"
        how = "with DEFAULT NULL" if default is not None else "without a default"
        yield s.finding(RULE, f"ADD COLUMN {col} {what} {how} on {table}: fails if {table} has any row, and "
                              f"inserts from running code that does not know {col} fail",
                        table=table, location=cd.get("location"))


RULE = Rule(
    code="B206", name="add-required-column", severity="error", category="compatibility",
    summary="adding a NOT NULL column without a default fails on existing rows and breaks running inserts",
    why="PostgreSQL fills the new column of every existing row with its default; without one that is NULL, "
        "so the ALTER fails on any non-empty table (\"column contains null values\"). Even on an empty table, "
        "every INSERT from code deployed before the migration leaves the column out and is refused.",
    fix="Add the column nullable, or with a default (a constant default is instant on PostgreSQL 11+); deploy "
        "code that writes it; backfill existing rows in batches; then make it NOT NULL the safe way "
        "(CHECK (col IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT, SET NOT NULL).",
    alter_subtypes=frozenset({"AT_AddColumn"}),
    kinds=("AlterTableStmt",),
    peers=("squawk adding-required-field", "Atlas MF103"),
    check=check,
)
