"""B411 duplicate-column-assignment: a column assigned or declared twice in one statement, which PostgreSQL
rejects when the statement runs."""

from __future__ import annotations

from bascule.analyze.facts import names_of, relkey
from bascule.analyze.model import Rule


def _targets(items):
    """(column, whole, location) of each ResTarget: `whole` is False for a[1] = ... or a.f = ..., which may
    be combined with other subscripts or fields of the same column."""
    for item in items or ():
        rt = item.get("ResTarget") or {}
        if rt.get("name"):
            yield rt["name"], not rt.get("indirection"), rt.get("location")


def _repeats(targets):
    """(column, location of the repeat) for each column assigned twice, at least once as a whole."""
    seen: dict[str, bool] = {}  # column → assigned whole so far
    out = []
    for col, whole, loc in targets:
        if col in seen and (whole or seen[col]):
            out.append((col, loc))
        seen[col] = seen.get(col, False) or whole
    return out


def _names(names, location):
    return [(n, True, location) for n in names]


def check(s):
    node, tag = s.node, s.tag
    table = relkey(node.get("relation") or node.get("view") or (node.get("into") or {}).get("rel")) or "?"
    found = []  # (what, column, location)
    if tag == "UpdateStmt":
        found += [(f"assigned twice in UPDATE {table} SET", c, loc) for c, loc in _repeats(_targets(node.get("targetList")))]
    elif tag == "InsertStmt":
        found += [(f"named twice in the column list of INSERT INTO {table}", c, loc)
                  for c, loc in _repeats(_targets(node.get("cols")))]
        conflict = node.get("onConflictClause") or {}
        found += [(f"assigned twice in ON CONFLICT DO UPDATE SET (INSERT INTO {table})", c, loc)
                  for c, loc in _repeats(_targets(conflict.get("targetList")))]
    elif tag == "MergeStmt":
        for w in node.get("mergeWhenClauses") or ():
            mw = w.get("MergeWhenClause") or {}
            what = "assigned twice in UPDATE SET" if mw.get("commandType") == "CMD_UPDATE" else \
                "named twice in the INSERT column list"
            found += [(f"{what} of MERGE INTO {table}", c, loc) for c, loc in _repeats(_targets(mw.get("targetList")))]
    elif tag == "CreateStmt":
        cols = [(e["ColumnDef"].get("colname"), True, e["ColumnDef"].get("location"))
                for e in node.get("tableElts") or () if "ColumnDef" in e]
        found += [(f"declared twice in CREATE TABLE {table}", c, loc) for c, loc in _repeats(cols)]
    elif tag == "AlterTableStmt":
        seen: set[str] = set()
        for cmd in node.get("cmds") or ():
            c = cmd.get("AlterTableCmd") or {}
            cd = (c.get("def") or {}).get("ColumnDef") or {}
            if c.get("subtype") != "AT_AddColumn" or not cd.get("colname"):
                continue
            if cd["colname"] in seen and not c.get("missing_ok"):  # ADD COLUMN IF NOT EXISTS just skips
                found.append((f"added twice by ALTER TABLE {table}", cd["colname"], cd.get("location")))
            seen.add(cd["colname"])
    elif tag == "ViewStmt":
        loc = (node.get("view") or {}).get("location")
        found += [(f"named twice in the column list of view {table}", c, loc)
                  for c, loc in _repeats(_names(names_of(node.get("aliases")), loc))]
    elif tag == "CreateTableAsStmt":
        into = node.get("into") or {}
        loc = (into.get("rel") or {}).get("location")
        found += [(f"named twice in the column list of {table}", c, loc)
                  for c, loc in _repeats(_names(names_of(into.get("colNames")), loc))]
    for what, col, loc in found:
        yield s.finding(RULE, f"column {col} is {what}: PostgreSQL rejects the statement when it runs",
                        table=None if table == "?" else table, location=loc)


RULE = Rule(
    code="B411", name="duplicate-column-assignment", severity="error", category="structure",
    summary="a column is assigned or declared twice in one statement",
    why="PostgreSQL refuses a statement that sets the same column twice (UPDATE ... SET a = 1, a = 2; ON CONFLICT "
        "DO UPDATE; MERGE), names it twice in an INSERT column list, or declares it twice in CREATE TABLE, ALTER "
        "TABLE ... ADD COLUMN or a view's column list: \"multiple assignments to same column\", \"column specified "
        "more than once\". The migration fails at that statement, usually a typo or a copy-paste.",
    fix="Remove or rename the repeated column. Assigning different subscripts or fields of one column "
        "(SET a[1] = 0, a[2] = 0) is allowed and not reported.",
    alter_subtypes=frozenset({"AT_AddColumn"}),
    kinds=("UpdateStmt", "InsertStmt", "MergeStmt", "CreateStmt", "AlterTableStmt", "ViewStmt", "CreateTableAsStmt"),
    peers=("squawk ban-duplicate-column-assignments",),
    check=check,
)
