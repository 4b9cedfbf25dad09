"""B212 rename-other-object: RENAME of a schema, sequence, function, type, index, constraint, trigger or
other object that existed before the migration (tables, views and columns: B201/B202; enum values: B408)."""

from __future__ import annotations

from bascule.analyze.model import Rule
from bascule.analyze.rules._objects import PER_TABLE, created_here, label, named

# renameType → (severity, what breaks). Warning: running code names these objects in its SQL.
# Info: code rarely names them, but scripts and some statements do.
_KINDS = {
    "OBJECT_SCHEMA": ("warning", "every query that qualifies names with it, and search_path settings that list it, "
                                 "stop finding its objects"),
    "OBJECT_SEQUENCE": ("warning", "code calling nextval/currval/setval with the old name fails (column defaults "
                                   "follow the rename)"),
    "OBJECT_FUNCTION": ("warning", "code and function bodies calling the old name fail (views, defaults and "
                                   "triggers follow the rename)"),
    "OBJECT_PROCEDURE": ("warning", "CALLs of the old name fail"),
    "OBJECT_ROUTINE": ("warning", "calls of the old name fail"),
    "OBJECT_AGGREGATE": ("warning", "queries using the old name fail"),
    "OBJECT_TYPE": ("warning", "casts and function signatures naming the old type fail, and drivers that map the "
                               "type by name lose it"),
    "OBJECT_DOMAIN": ("warning", "casts and function signatures naming the old domain fail"),
    "OBJECT_ATTRIBUTE": ("warning", "code reading or building the old attribute fails"),
    "OBJECT_COLLATION": ("warning", "queries with COLLATE naming the old name fail"),
    "OBJECT_TSCONFIGURATION": ("warning", "full-text queries naming the old configuration fail"),
    "OBJECT_DATABASE": ("warning", "connection strings naming the old database fail"),
    "OBJECT_ROLE": ("warning", "logins and connection strings using the old role name fail"),
    "OBJECT_INDEX": ("info", "queries do not name indexes, but scripts, planner hints and ON CONFLICT ON "
                             "CONSTRAINT (when it backs a constraint, which is renamed with it) do"),
    "OBJECT_TABCONSTRAINT": ("info", "queries do not name constraints, but ON CONFLICT ON CONSTRAINT and error "
                                     "handling that matches the constraint name in messages do"),
    "OBJECT_DOMCONSTRAINT": ("info", "error handling that matches the constraint name in messages breaks"),
    "OBJECT_TRIGGER": ("info", "nothing calls a trigger by name, but scripts that enable or disable it do"),
    "OBJECT_POLICY": ("info", "nothing uses a policy by name, but scripts that alter or drop it do"),
    "OBJECT_RULE": ("info", "nothing uses a rule by name, but scripts that alter or drop it do"),
}
_OTHER = ("info", "scripts and configuration that name it break")

# RENAME of tables, views, foreign tables and columns: B202 and B201
_ELSEWHERE = ("OBJECT_TABLE", "OBJECT_VIEW", "OBJECT_MATVIEW", "OBJECT_FOREIGN_TABLE", "OBJECT_COLUMN")


def check(s):
    node = s.node
    rt = node.get("renameType", "")
    if rt in _ELSEWHERE:
        return
    severity, breaks = _KINDS.get(rt, _OTHER)
    rel = node.get("relation") or {}
    table = None
    location = rel.get("location")
    if rt in PER_TABLE or rt == "OBJECT_ATTRIBUTE":
        table = f"{rel['schemaname']}.{rel['relname']}" if rel.get("schemaname") else rel.get("relname")
        name, key = f"{node.get('subname')} ON {table}", f"{rel.get('relname')}.{node.get('subname')}"
        if rt == "OBJECT_ATTRIBUTE":
            name, key, table = f"{node.get('subname')} of {table}", rel.get("relname", "?"), None
    elif rel:
        name = f"{rel['schemaname']}.{rel['relname']}" if rel.get("schemaname") else rel.get("relname", "?")
        key = rel.get("relname", "?")
    elif rt == "OBJECT_DOMCONSTRAINT":
        domain, key, _t, location = named(rt, node.get("object") or {})
        name = f"{node.get('subname')} ON DOMAIN {domain}"
    elif node.get("object"):
        name, key, _t, location = named(rt, node["object"])
    else:
        name = key = node.get("subname", "?")
    if table and s.is_new(table):
        return
    if rt == "OBJECT_INDEX":
        owner = s.known.index_table(key)
        if owner and s.is_new(owner):
            return
    check_type = "OBJECT_TYPE" if rt in ("OBJECT_ATTRIBUTE", "OBJECT_DOMCONSTRAINT") else rt
    if created_here(s, check_type, key):
        return
    new = node.get("newname")
    yield s.finding(RULE, f"RENAME {label(rt)} {name} TO {new}: {breaks}", table=table, location=location,
                    severity=severity)


RULE = Rule(
    code="B212", name="rename-other-object", severity="warning", category="compatibility",
    summary="renaming a schema, function, type, sequence, index or constraint breaks code that names it",
    why="A rename changes only the catalog and is instant, and objects that point to the renamed one by OID "
        "(views, column defaults, triggers) follow it. Everything that names it as text does not: application "
        "SQL, PL/pgSQL function bodies, search_path settings, drivers that register a type by name, scripts and "
        "ON CONFLICT ON CONSTRAINT clauses fail from the commit until they are updated.",
    fix="Keep the old name until no code uses it: create the new object next to the old one (a new function "
        "that the old one calls, a view or synonym where possible), move code over, and drop the old name in a "
        "later migration. Index, constraint and trigger renames are usually harmless: check that nothing names "
        "them, then suppress the finding with that reason.",
    kinds=("RenameStmt",),
    peers=("squawk renaming-object", "strong_migrations rename_schema"),
    check=check,
)
