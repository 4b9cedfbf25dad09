"""B410 robust-statements: in a migration that does not run as one transaction, statements that fail
when run a second time (another tool re-runs the whole file after a partial failure)."""

from __future__ import annotations

from bascule.analyze.facts import dropped_names, relkey
from bascule.analyze.model import Rule

_CREATES = {"CreateStmt": ("TABLE", "relation"), "CreateSeqStmt": ("SEQUENCE", "sequence"),
            "CreateSchemaStmt": ("SCHEMA", None), "CreateExtensionStmt": ("EXTENSION", None)}


def _why(what: str) -> str:
    return f"{what}: if a later statement fails, running the file again fails here"


def check(s):
    if s.transactional:
        return  # a failed transaction leaves nothing behind: the rerun starts clean
    tag, node = s.tag, s.node
    if tag in _CREATES:
        if node.get("if_not_exists"):
            return
        kind, field = _CREATES[tag]
        name = relkey(node.get(field)) if field else node.get("schemaname") or node.get("extname")
        loc = (node.get(field) or {}).get("location") if field else None
        yield s.finding(RULE, _why(f"CREATE {kind} {name} without IF NOT EXISTS"), table=name if field else None,
                        location=loc)
    elif tag == "IndexStmt":
        if node.get("if_not_exists"):
            return
        table = relkey(node.get("relation"))
        name = node.get("idxname")
        if name:
            what = f"CREATE INDEX {name} on {table} without IF NOT EXISTS"
        else:
            what = f"CREATE INDEX on {table} without a name (only a named index can take IF NOT EXISTS)"
        yield s.finding(RULE, _why(what), table=table)
    elif tag == "DropStmt":
        if node.get("missing_ok"):
            return
        kind = node.get("removeType", "").removeprefix("OBJECT_").replace("_", " ").replace("MATVIEW",
                                                                                           "MATERIALIZED VIEW")
        yield s.finding(RULE, _why(f"DROP {kind} {', '.join(dropped_names(node))} without IF EXISTS"))
    elif tag == "AlterTableStmt":
        table = relkey(node.get("relation"))
        for cmd in node.get("cmds") or ():
            c = cmd.get("AlterTableCmd") or {}
            sub = c.get("subtype")
            if c.get("missing_ok"):
                continue
            if sub == "AT_AddColumn":
                cd = (c.get("def") or {}).get("ColumnDef") or {}
                yield s.finding(RULE, _why(f"ADD COLUMN {cd.get('colname')} to {table} without IF NOT EXISTS"),
                                table=table, location=cd.get("location"))
            elif sub == "AT_DropColumn":
                yield s.finding(RULE, _why(f"DROP COLUMN {c.get('name')} of {table} without IF EXISTS"), table=table)
            elif sub == "AT_DropConstraint":
                yield s.finding(RULE, _why(f"DROP CONSTRAINT {c.get('name')} of {table} without IF EXISTS"),
                                table=table)


RULE = Rule(
    code="B410", name="robust-statements", severity="warning", category="structure",
    summary="a statement that fails when a partly applied migration is run again",
    why="A migration that does not run as one transaction (CREATE INDEX CONCURRENTLY, or transaction = never) "
        "keeps what its first statements did when a later one fails. A tool that then re-runs the whole file "
        "stops at the first CREATE that already exists or DROP whose object is already gone. bascule's own "
        "runner resumes at the failed statement, so this is only checked when another tool runs the SQL "
        "(--runner other).",
    fix="Write each statement so a second run is a no-op: CREATE TABLE / INDEX / SEQUENCE IF NOT EXISTS, "
        "ALTER TABLE ... ADD COLUMN IF NOT EXISTS, DROP ... IF EXISTS. For CREATE INDEX CONCURRENTLY, first "
        "DROP INDEX CONCURRENTLY IF EXISTS the same name: a failed concurrent build leaves an INVALID index that "
        "IF NOT EXISTS would keep.",
    alter_subtypes=frozenset({"AT_AddColumn", "AT_DropColumn", "AT_DropConstraint"}),
    kinds=tuple(_CREATES) + ("IndexStmt", "DropStmt", "AlterTableStmt"),
    peers=("squawk prefer-robust-stmts",),
    only_external=True,
    check=check,
)
