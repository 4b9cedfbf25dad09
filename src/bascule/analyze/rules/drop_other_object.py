"""B211 drop-other-object: DROP of a sequence, type, domain, cast, extension, view, materialized view,
function, procedure, aggregate, trigger (or operator, collation, text search configuration, foreign
server) that existed before the migration."""

from __future__ import annotations

from bascule.analyze.facts import AE, names_of
from bascule.analyze.model import Rule
from bascule.analyze.rules._objects import created_here, label, named

# what running code loses, per object type (the CASCADE addition follows)
_LOSS = {
    "OBJECT_SEQUENCE": "code calling nextval/currval/setval on it fails and its current value is lost",
    "OBJECT_DOMAIN": "casts to it and functions taking it fail",
    "OBJECT_TYPE": "queries, casts and functions that use the type fail",
    "OBJECT_CAST": "queries and functions that rely on the conversion fail",
    "OBJECT_EXTENSION": "every function, type and operator it installed is gone, and code calling them fails",
    "OBJECT_VIEW": "code already running that queries it fails",
    "OBJECT_MATVIEW": "code already running that queries it fails, and its stored rows are gone",
    "OBJECT_FUNCTION": "code and SQL calling it fail",
    "OBJECT_PROCEDURE": "code calling it fails",
    "OBJECT_ROUTINE": "code calling it fails",
    "OBJECT_AGGREGATE": "queries using it fail",
    "OBJECT_TRIGGER": "its logic silently stops running on every write to the table",
    "OBJECT_OPERATOR": "queries using it fail",
    "OBJECT_COLLATION": "queries and columns that name it fail",
    "OBJECT_TSCONFIGURATION": "full-text queries naming it fail",
    "OBJECT_TSDICTIONARY": "text search configurations using it stop working",
    "OBJECT_FOREIGN_SERVER": "its foreign tables stop working",
    "OBJECT_FDW": "its servers and foreign tables stop working",
}

# what CASCADE takes with it: objects the statement does not name
_CASCADE = {
    "OBJECT_SEQUENCE": "column defaults that use it are dropped too",
    "OBJECT_DOMAIN": "table columns of this domain are dropped too, with their data",
    "OBJECT_TYPE": "table columns of this type and functions using it are dropped too",
    "OBJECT_EXTENSION": "columns, indexes, views and functions that use its objects are dropped too",
    "OBJECT_VIEW": "views built on it are dropped too",
    "OBJECT_MATVIEW": "views built on it are dropped too",
    "OBJECT_TSCONFIGURATION": "indexes and columns that use it are dropped too",
    "OBJECT_FOREIGN_SERVER": "its foreign tables and user mappings are dropped too",
    "OBJECT_FDW": "its servers and foreign tables are dropped too",
}
_CASCADE_DEFAULT = "everything that depends on it (views, column defaults, triggers, indexes) is dropped too"

_RELATIONS = ("OBJECT_SEQUENCE", "OBJECT_VIEW", "OBJECT_MATVIEW")


def _made(st, rt: str) -> str | None:
    """The key (as `named` gives it) of the object of type `rt` that statement `st` creates, OR REPLACE included."""
    node = st.node or {}
    if rt == "OBJECT_VIEW" and st.kind == "ViewStmt":
        return (node.get("view") or {}).get("relname")
    if rt == "OBJECT_MATVIEW" and st.kind == "CreateTableAsStmt" and node.get("objtype") == "OBJECT_MATVIEW":
        into = node.get("into") or {}
        return None if into.get("skipData") else (into.get("rel") or {}).get("relname")  # WITH NO DATA: unreadable
    if rt in ("OBJECT_FUNCTION", "OBJECT_PROCEDURE", "OBJECT_ROUTINE") and st.kind == "CreateFunctionStmt":
        return (names_of(node.get("funcname")) or [None])[-1]
    if rt == "OBJECT_TRIGGER" and st.kind == "CreateTrigStmt":
        return f"{(node.get('relation') or {}).get('relname')}.{node.get('trigname')}"
    return None


def _recreated(s, rt: str, key: str) -> bool:
    """A later statement of the same transaction creates the object again under its name (the usual way to change
    a view's columns or a function's signature): no other session ever sees it missing."""
    return s.transactional and any(_made(st, rt) == key for st in s.statements[s.st.index + 1:])


def check(s):
    node = s.node
    rt = node.get("removeType", "")
    loss = _LOSS.get(rt)
    if loss is None:
        return
    cascade = node.get("behavior") == "DROP_CASCADE"
    for obj in node.get("objects") or ():
        name, key, table, location = named(rt, obj)
        if (table and s.is_new(table)) or created_here(s, rt, key):
            continue
        if rt in _RELATIONS and s.is_new(name):
            continue
        if not cascade and _recreated(s, rt, key):
            continue
        what = f"DROP {label(rt)} {name}"
        extra = f" (CASCADE: {_CASCADE.get(rt, _CASCADE_DEFAULT)})" if cascade else ""
        yield s.finding(RULE, f"{what}: {loss}{extra}", table=table or (name if rt in _RELATIONS else None),
                        location=location, lock=AE if rt in _RELATIONS else None, severity="error" if cascade else None)


RULE = Rule(
    code="B211", name="drop-other-object", severity="warning", category="compatibility",
    summary="dropping a sequence, type, view, function, extension or trigger breaks what still uses it",
    why="Code refers to these objects by name: queries select from views, call functions, cast to types and "
        "take nextval from sequences, and all of them fail from the commit on. A dropped trigger fails "
        "silently instead: its auditing or derived columns simply stop. With CASCADE PostgreSQL also drops "
        "every object that depends on the one named (views, column defaults, even table columns of a dropped "
        "type or domain), none of which appear in the migration.",
    fix="Stop using the object in code and deploy that everywhere first, then drop it in a later migration "
        "without CASCADE, so that PostgreSQL refuses the drop while anything still depends on it; name each "
        "dependent object explicitly if it must go too.",
    kinds=("DropStmt",),
    peers=("squawk ban-drop-sequence", "squawk ban-drop-domain", "squawk ban-drop-type", "squawk ban-drop-extension",
           "squawk ban-drop-view", "squawk ban-drop-function", "squawk ban-drop-trigger"),
    check=check,
)
