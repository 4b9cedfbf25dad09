"""B604 unqualified-table-name (opt-in): CREATE/ALTER/DROP TABLE (and CREATE TABLE AS, RENAME, SET SCHEMA)
naming a table without its schema, so the session's search_path decides which table it is."""

from __future__ import annotations

from bascule.analyze.model import Rule

_KINDS = ("CreateStmt", "CreateTableAsStmt", "AlterTableStmt", "DropStmt", "RenameStmt", "AlterObjectSchemaStmt")
_TABLES = ("OBJECT_TABLE", "OBJECT_FOREIGN_TABLE")

_cache: list = [None, -1]  # [statements, index of the first SET search_path]: one migration at a time


def _search_path_set_at(s) -> int:
    """Index of the first statement of the migration that sets search_path (-1: none)."""
    if _cache[0] is not s.statements:
        at = -1
        for st in s.statements:
            if st.kind == "VariableSetStmt" and (st.node or {}).get("name") == "search_path":
                at = st.index
                break
        _cache[:] = [s.statements, at]
    return _cache[1]


def _tables(s):
    """(verb, RangeVar-like dict with relname and maybe location) of each table the statement names."""
    node, tag = s.node, s.tag
    if tag == "CreateStmt":
        yield "CREATE TABLE", node.get("relation") or {}
    elif tag == "CreateTableAsStmt":
        if node.get("objtype", "OBJECT_TABLE") == "OBJECT_TABLE":
            yield "CREATE TABLE", ((node.get("into") or {}).get("rel") or {})
    elif tag == "AlterTableStmt":
        if node.get("objtype", "OBJECT_TABLE") in _TABLES:
            yield "ALTER TABLE", node.get("relation") or {}
    elif tag == "RenameStmt":
        if node.get("renameType") in _TABLES or node.get("relationType") in _TABLES \
                or node.get("renameType") == "OBJECT_TABCONSTRAINT":
            yield "ALTER TABLE", node.get("relation") or {}
    elif tag == "AlterObjectSchemaStmt":
        if node.get("objectType") in _TABLES:
            yield "ALTER TABLE", node.get("relation") or {}
    elif tag == "DropStmt" and node.get("removeType") in _TABLES:
        for obj in node.get("objects") or ():
            items = [i["String"]["sval"] for i in (obj.get("List") or {}).get("items") or () if "String" in i]
            if items:
                yield "DROP TABLE", ({"relname": items[-1], "schemaname": items[-2]} if len(items) > 1
                                     else {"relname": items[-1]})


def check(s):
    at = _search_path_set_at(s)
    if 0 <= at < s.st.index:
        return  # the migration sets search_path itself: it decides where unqualified names land
    for verb, rel in _tables(s):
        if not rel.get("relname") or rel.get("schemaname") or rel.get("relpersistence") == "t":
            continue  # qualified, or a temporary table (always in pg_temp)
        name = rel["relname"]
        yield s.finding(RULE, f"{verb} {name} without a schema: the session's search_path decides which schema's "
                              f"{name} this is", table=name, location=rel.get("location"))


RULE = Rule(
    code="B604", name="unqualified-table-name", severity="info", category="design",
    summary="a table is named without its schema, so search_path decides which table it is",
    why="PostgreSQL resolves an unqualified name through the session's search_path: CREATE TABLE puts the table "
        "in the first schema of the path that exists, and ALTER and DROP act on the first match. A migration run "
        "by another role, tool or connection setting (or against a database where search_path was changed) can "
        "create the table in the wrong schema or alter a different table of the same name.",
    fix="Qualify table names with their schema (public.orders), or set search_path at the top of the migration "
        "(SET search_path TO app) so that the migration itself decides.",
    kinds=_KINDS,
    peers=("squawk require-table-schema",),
    default_on=False,
    check=check,
)
