"""B204 drop-table: DROP TABLE of a table that existed before the migration."""

from __future__ import annotations

from bascule.analyze.facts import dropped_names
from bascule.analyze.model import Rule

_KINDS = {"OBJECT_TABLE": "TABLE", "OBJECT_FOREIGN_TABLE": "FOREIGN TABLE"}


def check(s):
    node = s.node
    kind = _KINDS.get(node.get("removeType"))
    if kind is None:
        return
    cascade = node.get("behavior") == "DROP_CASCADE"
    for name in dropped_names(node):
        if s.is_new(name):
            continue
        rows = "" if kind == "FOREIGN TABLE" else ", and its rows are gone"
        extra = " (CASCADE: views and foreign keys that depend on it are dropped too)" if cascade else ""
        yield s.finding(RULE, f"DROP {kind} {name}: code already running that queries {name} fails{rows}{extra}",
                        table=name)


RULE = Rule(
    code="B204", name="drop-table", severity="error", category="compatibility",
    summary="dropping a table breaks code that still uses it, and deletes its rows",
    why="DROP TABLE removes the table and its data at commit: every query the running application still sends "
        "to it fails with \"relation does not exist\", and a down migration can recreate the table but not its "
        "rows. CASCADE silently drops the views and foreign keys that depend on it as well.",
    fix="Stop using the table in code and deploy that everywhere first; keep a backup or rename it aside for a "
        "release (ALTER TABLE t RENAME TO t_retired) if the data may be needed; drop it in a later migration and "
        "suppress this finding with the reason.",
    kinds=("DropStmt",),
    peers=("squawk ban-drop-table", "Atlas DS102"),
    check=check,
)
