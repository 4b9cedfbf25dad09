"""B202 rename-table: ALTER TABLE|VIEW|MATERIALIZED VIEW ... RENAME TO on one that existed before."""

from __future__ import annotations

from bascule.analyze.facts import bare, relkey
from bascule.analyze.model import Rule

_KINDS = {"OBJECT_TABLE": "TABLE", "OBJECT_VIEW": "VIEW", "OBJECT_MATVIEW": "MATERIALIZED VIEW",
          "OBJECT_FOREIGN_TABLE": "FOREIGN TABLE"}


def _bridged(s, old: str) -> bool:
    """A later statement of the migration creates a view under the old name (the safe pattern)."""
    name = bare(old)
    for st in s.statements[s.st.index + 1:]:
        if st.kind == "ViewStmt" and ((st.node or {}).get("view") or {}).get("relname") == name:
            return True
    return False


def check(s):
    node = s.node
    kind = _KINDS.get(node.get("renameType"))
    if kind is None:
        return
    table = relkey(node.get("relation"))
    if not table or s.is_new(table) or _bridged(s, table):
        return
    yield s.finding(RULE, f"RENAME {kind} {table} TO {node.get('newname')}: code already running queries "
                          f"{table} and fails from the moment the migration commits",
                    table=table)


RULE = Rule(
    code="B202", name="rename-table", severity="error", category="compatibility",
    summary="renaming a table or view breaks the application code already running",
    why="RENAME TO changes only the catalog, so it is instant, but the running application still sends queries "
        "naming the old relation: they fail with \"relation does not exist\" until every instance runs the new "
        "code, and deploys always leave such a window.",
    fix="Create the new table and move data and code to it in steps (expand and contract), or rename and, in the "
        "same migration, CREATE VIEW old_name AS SELECT * FROM new_name: a simple view is updatable, so old code "
        "keeps reading and writing through it until it is dropped in a later migration.",
    kinds=("RenameStmt",),
    peers=("squawk renaming-table", "strong_migrations rename_table", "Atlas BC101"),
    check=check,
)
