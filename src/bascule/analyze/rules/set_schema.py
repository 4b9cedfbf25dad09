"""B215 set-schema: ALTER TABLE|VIEW|SEQUENCE|TYPE|FUNCTION|EXTENSION|... SET SCHEMA on an object that
existed before the migration: a rename of its qualified name."""

from __future__ import annotations

from bascule.analyze.facts import AE, bare
from bascule.analyze.model import Rule
from bascule.analyze.rules._objects import created_here, label, named

_RELATIONS = ("OBJECT_TABLE", "OBJECT_FOREIGN_TABLE", "OBJECT_VIEW", "OBJECT_MATVIEW", "OBJECT_SEQUENCE")


def _bridged(s, name: str) -> bool:
    """A later statement of the migration creates a view under the old name (CREATE VIEW old AS SELECT * FROM
    new_schema.old): old queries keep working through it."""
    old = bare(name)
    for st in s.statements[s.st.index + 1:]:
        if st.kind == "ViewStmt" and ((st.node or {}).get("view") or {}).get("relname") == old:
            return True
    return False


def check(s):
    node = s.node
    ot = node.get("objectType", "")
    rel = node.get("relation")
    if rel:
        name = f"{rel['schemaname']}.{rel['relname']}" if rel.get("schemaname") else rel.get("relname", "?")
        key, location = rel.get("relname", "?"), rel.get("location")
    elif node.get("object"):
        name, key, _t, location = named(ot, node["object"])
    else:
        return
    relation = ot in _RELATIONS
    if (relation and s.is_new(name)) or created_here(s, ot, key):
        return
    if relation and _bridged(s, name):
        return
    schema = node.get("newschema")
    table = ot in ("OBJECT_TABLE", "OBJECT_FOREIGN_TABLE")
    what = f"ALTER {label(ot)} {name} SET SCHEMA {schema}"
    if table:
        msg = (f"{what}: queries of running code that name {name} (qualified, or through a search_path "
               f"without {schema}) fail with \"does not exist\", and the move waits for and blocks every query "
               f"on {key} (ACCESS EXCLUSIVE)")
    elif ot == "OBJECT_EXTENSION":
        msg = (f"{what}: every function, type and operator of the extension moves, and code that calls them "
               f"qualified or through a search_path without {schema} fails")
    else:
        msg = (f"{what}: code that names it qualified, or through a search_path without {schema}, fails "
               "with \"does not exist\"")
    yield s.finding(RULE, msg, table=name if relation else None, location=location,
                    lock=AE if relation else None, severity="error" if table else None)


RULE = Rule(
    code="B215", name="set-schema", severity="warning", category="compatibility",
    summary="moving an object to another schema breaks every query that finds it by its old schema",
    why="SET SCHEMA changes the object's qualified name, like a rename: queries that write old_schema.name, and "
        "unqualified queries whose search_path does not include the new schema, fail with \"does not exist\" "
        "from the commit on. Objects referring to it by OID (views, defaults) follow; text does not. For a "
        "table it also takes an ACCESS EXCLUSIVE lock, which waits for running queries and blocks every new "
        "one behind it.",
    fix="Move code first where possible (qualify names with the new schema only after the move), or keep the "
        "old name reachable during the deploy: for a table or view, CREATE VIEW old_schema.name AS SELECT * "
        "FROM new_schema.name in the same migration (a simple view is updatable), dropped in a later migration.",
    kinds=("AlterObjectSchemaStmt",),
    peers=("squawk ban-set-schema",),
    check=check,
)
