"""Shared by the column-type rules (B401-B406): the columns a statement defines or retypes.

Not a rule module (it is not listed in rules.MODULES): the type rules dispatch on CreateStmt and
AlterTableStmt and all need the same walk over column definitions.
"""

from __future__ import annotations

from bascule.analyze.facts import TypeRef, relkey, type_ref

_TABLES = ("OBJECT_TABLE", "OBJECT_FOREIGN_TABLE")


_last: list = [None, ()]  # [statement node, its columns]: the six type rules share one walk


def column_defs(s) -> tuple:
    """(table, column, TypeRef, ColumnDef node, how, location of the type) for every column that
    CREATE TABLE defines, ALTER TABLE ... ADD COLUMN adds or ALTER COLUMN ... TYPE retypes.
    `how` is "create", "add" or "type"; columns without a written type (PARTITION OF, OF type)
    are skipped."""
    if _last[0] is not s.node:
        _last[:] = [s.node, tuple(_walk(s))]
    return _last[1]


def _walk(s):
    node = s.node
    table = relkey(node.get("relation"))
    if not table:
        return
    if s.tag == "CreateStmt":
        for elt in node.get("tableElts") or ():
            cd = elt.get("ColumnDef")
            if cd:
                yield from _one(table, cd.get("colname"), cd, "create")
        return
    if node.get("objtype", "OBJECT_TABLE") not in _TABLES:
        return
    for cmd in node.get("cmds") or ():
        c = cmd.get("AlterTableCmd") or {}
        sub = c.get("subtype")
        if sub == "AT_AddColumn":
            cd = (c.get("def") or {}).get("ColumnDef") or {}
            yield from _one(table, cd.get("colname"), cd, "add")
        elif sub == "AT_AlterColumnType":
            cd = (c.get("def") or {}).get("ColumnDef") or {}
            yield from _one(table, c.get("name"), cd, "type")


def _one(table: str, col: str | None, cd: dict, how: str):
    tn = cd.get("typeName")
    t: TypeRef | None = type_ref(tn)
    if t is None or not col:
        return
    yield table, col, t, cd, how, tn.get("location", cd.get("location"))


def described(col: str, table: str, t: TypeRef, how: str) -> str:
    """"column payload of events is json" / "column payload of events becomes json"."""
    return f"column {col} of {table} {'becomes' if how == 'type' else 'is'} {t}"
