"""B205 drop-schema-or-database: DROP SCHEMA (CASCADE above all) and DROP DATABASE."""

from __future__ import annotations

from bascule.analyze.facts import dropped_names
from bascule.analyze.model import Rule


def _created_here(s, schema: str) -> bool:
    """An earlier statement of the same migration created the schema."""
    for st in s.statements[:s.st.index]:
        if st.kind == "CreateSchemaStmt" and (st.node or {}).get("schemaname") == schema:
            return True
    return False


def check(s):
    node = s.node
    if s.tag == "DropdbStmt":
        db = node.get("dbname", "?")
        yield s.finding(RULE, f"DROP DATABASE {db} deletes the whole database: every table, every row, and every "
                              "connection's target")
        return
    if node.get("removeType") != "OBJECT_SCHEMA":
        return
    cascade = node.get("behavior") == "DROP_CASCADE"
    for schema in dropped_names(node):
        if _created_here(s, schema):
            continue
        if cascade:
            msg = (f"DROP SCHEMA {schema} CASCADE deletes every table, view, function and type in {schema}, with "
                   "their data, and everything elsewhere that depends on them")
        else:
            msg = (f"DROP SCHEMA {schema}: code already running that uses objects in {schema} fails (without "
                   "CASCADE the drop itself fails unless the schema is empty)")
        yield s.finding(RULE, msg)


RULE = Rule(
    code="B205", name="drop-schema-or-database", severity="error", category="data-loss",
    summary="DROP SCHEMA or DROP DATABASE deletes everything in it",
    why="DROP SCHEMA ... CASCADE drops every object in the schema and every object elsewhere that depends on "
        "one of them (views, foreign keys), in one statement; DROP DATABASE removes the whole database and "
        "cannot even run inside a transaction, so nothing rolls it back. A down migration cannot bring the data "
        "back.",
    fix="Drop the objects you mean to drop one by one, each in its own reviewed migration, after the code no "
        "longer uses them; drop a schema only without CASCADE once it is empty. Databases are created and "
        "dropped by provisioning, not by migrations.",
    kinds=("DropStmt", "DropdbStmt"),
    peers=("squawk ban-drop-schema", "squawk ban-drop-database", "Atlas DS101"),
    check=check,
)
