"""B303 down-cannot-restore: the up migration destroys data (DROP TABLE, DROP COLUMN, TRUNCATE) and the
down migration does not recreate what was dropped, or recreates it empty."""

from __future__ import annotations

from bascule.analyze.facts import bare, dropped_names, relkey
from bascule.analyze.model import Rule


def _refusing(body: str) -> bool:
    """A DO block that raises an error: the down says it cannot be run."""
    text = " ".join(body.lower().split())
    return "raise exception" in text or "raise '" in text or "raise sqlstate" in text


def _what_down_restores(down) -> tuple[set, set, set] | None:
    """(tables created, (table, column) added, tables refilled) by the down; None when the down refuses
    to run (a DO block that raises: an explicitly irreversible migration)."""
    tables: set[str] = set()
    columns: set[tuple[str, str]] = set()
    filled: set[str] = set()
    for st in down:
        node = st.node or {}
        kind = st.kind
        if kind == "CreateStmt":
            t = relkey(node.get("relation"))
            if t:
                tables.add(bare(t))
                for elt in node.get("tableElts") or ():
                    if "ColumnDef" in elt:
                        columns.add((bare(t), elt["ColumnDef"].get("colname")))
        elif kind == "CreateTableAsStmt":
            t = relkey((node.get("into") or {}).get("rel"))
            if t:
                tables.add(bare(t))
                filled.add(bare(t))
        elif kind == "AlterTableStmt":
            t = relkey(node.get("relation"))
            for cmd in node.get("cmds") or ():
                c = cmd.get("AlterTableCmd") or {}
                if t and c.get("subtype") == "AT_AddColumn":
                    columns.add((bare(t), ((c.get("def") or {}).get("ColumnDef") or {}).get("colname")))
        elif kind == "RenameStmt":  # a copy kept aside by the up, renamed back
            t = relkey(node.get("relation"))
            rt = node.get("renameType")
            if rt == "OBJECT_TABLE" and node.get("newname"):
                tables.add(node["newname"])
                filled.add(node["newname"])
            elif rt == "OBJECT_COLUMN" and t and node.get("newname"):
                columns.add((bare(t), node["newname"]))
                filled.add(bare(t))
        elif kind in ("InsertStmt", "UpdateStmt", "MergeStmt") or (kind == "CopyStmt" and node.get("is_from")):
            t = relkey(node.get("relation"))
            if t and (kind != "InsertStmt" or _inserts_query(node)):
                filled.add(bare(t))
        elif kind == "DoStmt":
            for a in node.get("args") or ():
                de = a.get("DefElem") or {}
                if de.get("defname") == "as" and _refusing(((de.get("arg") or {}).get("String") or {}).get("sval", "")):
                    return None
    return tables, columns, filled


def _inserts_query(node: dict) -> bool:
    sel = (node.get("selectStmt") or {}).get("SelectStmt") or {}
    return bool(sel.get("fromClause") or sel.get("op", "SETOP_NONE") != "SETOP_NONE")


def check_migration(m):
    if m.down_statements is None:
        return  # B304 reports a missing down
    restored = None
    created: set[str] = set()  # tables the up created before dropping them
    added: set[tuple[str, str]] = set()
    for st, facts in zip(m.statements, m.facts, strict=False):
        node = st.node or {}
        for t in facts.creates:
            created.add(bare(t))
        if st.kind == "AlterTableStmt":
            t = relkey(node.get("relation"))
            for cmd in node.get("cmds") or ():
                c = cmd.get("AlterTableCmd") or {}
                if t and c.get("subtype") == "AT_AddColumn":
                    added.add((bare(t), ((c.get("def") or {}).get("ColumnDef") or {}).get("colname")))
        if not facts.destroys:
            continue
        for table, column, how in _destroyed(st.kind, node):
            b = bare(table)
            if b in created or (column and (b, column) in added):
                continue
            if restored is None:
                restored = _what_down_restores(m.down_statements)
                if restored is None:
                    return
            tables, columns, filled = restored
            where = dict(line=st.line, column=st.column, table=table)
            if how == "TRUNCATE":
                if b not in filled:
                    yield m.finding(RULE, f"TRUNCATE {table} deletes rows that the down migration cannot bring "
                                          f"back", severity="warning", **where)
            elif column is None:
                if b not in tables:
                    yield m.finding(RULE, f"down does not recreate table {table}, which the up drops: rolling back "
                                          f"leaves it missing", **where)
                elif b not in filled:
                    yield m.finding(RULE, f"down recreates table {table} empty: the rows DROP TABLE deleted cannot "
                                          f"come back", severity="warning", **where)
            elif (b, column) not in columns:
                yield m.finding(RULE, f"down does not recreate column {column} of {table}, which the up drops: "
                                      f"rolling back leaves it missing", **where)
            elif b not in filled:
                yield m.finding(RULE, f"down re-adds column {column} of {table} empty: the values DROP COLUMN "
                                      f"deleted cannot come back", severity="warning", **where)


def _destroyed(kind: str, node: dict):
    """(table, column or None, how) for each table or column the statement destroys."""
    if kind == "DropStmt" and node.get("removeType") == "OBJECT_TABLE":
        for n in dropped_names(node):
            yield n, None, "DROP TABLE"
    elif kind == "AlterTableStmt" and node.get("objtype", "OBJECT_TABLE") == "OBJECT_TABLE":
        t = relkey(node.get("relation"))
        for cmd in node.get("cmds") or ():
            c = cmd.get("AlterTableCmd") or {}
            if t and c.get("subtype") == "AT_DropColumn" and c.get("name"):
                yield t, c["name"], "DROP COLUMN"
    elif kind == "TruncateStmt":
        for r in node.get("relations") or ():
            t = relkey(r.get("RangeVar"))
            if t:
                yield t, None, "TRUNCATE"


RULE = Rule(
    code="B303", name="down-cannot-restore", severity="error", category="data-loss",
    summary="the up migration destroys data that its down migration does not restore",
    why="DROP TABLE, DROP COLUMN and TRUNCATE delete data at commit. A down migration that does not recreate "
        "the table or column leaves the schema different from before the up, so code rolled back with it fails; "
        "one that recreates it restores the shape but not the data, which is easy to miss until a rollback is "
        "needed.",
    fix="Recreate what the up drops in the down (CREATE TABLE / ADD COLUMN with the old definition). To make the "
        "data recoverable, have the up keep it aside (ALTER TABLE ... RENAME TO, or CREATE TABLE ... AS a copy) "
        "and the down put it back. If the migration is deliberately irreversible, make the down refuse to run "
        "(DO $$ BEGIN RAISE EXCEPTION 'irreversible'; END $$) and say so.",
    peers=(),
    check_migration=check_migration,
)
