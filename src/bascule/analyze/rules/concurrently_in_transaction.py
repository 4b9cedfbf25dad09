"""B104 concurrently-in-transaction: a statement PostgreSQL refuses inside a transaction block, in a
migration that will run inside one."""

from __future__ import annotations

import json

from pglast import parser

from bascule.analyze.model import Rule

_OPEN = ("TRANS_STMT_BEGIN", "TRANS_STMT_START")
_NAMES = {
    "IndexStmt": "CREATE INDEX CONCURRENTLY", "DropStmt": "DROP INDEX CONCURRENTLY",
    "AlterTableStmt": "DETACH PARTITION CONCURRENTLY", "VacuumStmt": "VACUUM", "CreatedbStmt": "CREATE DATABASE",
    "DropdbStmt": "DROP DATABASE", "AlterSystemStmt": "ALTER SYSTEM", "CreateTableSpaceStmt": "CREATE TABLESPACE",
    "DropTableSpaceStmt": "DROP TABLESPACE", "CreateSubscriptionStmt": "CREATE SUBSCRIPTION",
    "DropSubscriptionStmt": "DROP SUBSCRIPTION", "ClusterStmt": "CLUSTER without a table",
    "AlterEnumStmt": "ALTER TYPE ... ADD VALUE", "DoStmt": "a DO block that runs COMMIT or ROLLBACK",
    "DiscardStmt": "DISCARD ALL", "AlterDatabaseStmt": "ALTER DATABASE ... SET TABLESPACE",
}

# the last script looked at: (script, {statement index: line of the BEGIN that encloses it} or None)
_last: list = [None, None]


def _label(s) -> str:
    if s.tag == "ReindexStmt":
        kind = s.node.get("kind", "").removeprefix("REINDEX_OBJECT_")
        return f"REINDEX {kind} CONCURRENTLY" if kind in ("INDEX", "TABLE") else f"REINDEX {kind}"
    return _NAMES.get(s.tag, s.tag)


def _enclosing_begin(script) -> dict[int, int] | None:
    """Statement index → line of the BEGIN whose block holds it, for statements between an explicit
    BEGIN and COMMIT (bascule dropped both). None when the text cannot be re-read as a whole."""
    if _last[0] is script:
        return _last[1]
    text = script.text
    try:
        items = json.loads(parser.parse_sql_json(text)).get("stmts") or ()
    except parser.ParseError:  # COPY ... FROM STDIN data in the file
        items = None
    out: dict[int, int] | None = None
    if items is not None:
        out = {}
        raw = None if text.isascii() else text.encode("utf-8")
        index, begin_line = 0, None
        for item in items:
            (tag, node), = item["stmt"].items()
            if tag == "TransactionStmt" and node.get("kind") in _OPEN + ("TRANS_STMT_COMMIT",):
                if node["kind"] in _OPEN:
                    loc = item.get("stmt_location", 0)
                    before = text[:loc] if raw is None else raw[:loc].decode("utf-8", "ignore")
                    begin_line = script.first_line + before.count("\n")
                else:
                    begin_line = None
                continue
            if begin_line is not None:
                out[index] = begin_line
            index += 1
    _last[0], _last[1] = script, out
    return out


def _partitioned(s) -> str | None:
    """REINDEX TABLE/INDEX or CLUSTER of a partitioned table (or index): refused in a transaction
    block, which the SQL alone does not show (bascule's runner decides from the SQL)."""
    rel = s.node.get("relation") or {}
    name = rel.get("relname")
    if not name:
        return None
    if s.tag == "ClusterStmt":
        table = name
    elif s.tag == "ReindexStmt" and s.node.get("kind") in ("REINDEX_OBJECT_TABLE", "REINDEX_OBJECT_INDEX"):
        table = name if s.node["kind"] == "REINDEX_OBJECT_TABLE" else s.known.index_table(name)
    else:
        return None
    return table if table and s.known.is_partitioned(table) else None


def check(s):
    st = s.st
    refused = st.no_transaction or (st.no_transaction_before is not None
                                    and s.version * 10000 < st.no_transaction_before)
    if not refused:
        table = _partitioned(s) if s.transactional else None
        if table and s.tag == "ClusterStmt" and s.version < 15:
            yield s.finding(RULE, f"CLUSTER of partitioned {table}: PostgreSQL {s.version} cannot cluster a "
                                  "partitioned table (15+ can, outside a transaction block): the migration fails "
                                  "at this statement; cluster each partition instead")
        elif table:
            what = "CLUSTER" if s.tag == "ClusterStmt" else "REINDEX"
            yield s.finding(RULE, f"{what} of partitioned {table} cannot run inside a transaction block, and this "
                                  "migration runs as one: it fails at this statement; declare transaction = \"never\" "
                                  "for it (or the layout's equivalent)")
        return
    what = _label(s)
    if s.unit.transaction == "always":
        yield s.finding(RULE, f"{what} cannot run inside a transaction block, but this migration is set to "
                              'transaction = "always": it fails when it reaches this statement')
        return
    up = s.unit.up
    if s.opts.runner != "other" or up is None or not up.dropped_transaction_control:
        return
    blocks = _enclosing_begin(up)
    if blocks is None:
        yield s.finding(RULE, f"{what} cannot run inside a transaction block, and this file opens one with BEGIN: "
                              "if the statement runs inside it, the migration fails")
    elif st.index in blocks:
        yield s.finding(RULE, f"{what} cannot run inside a transaction block, and it sits in the one opened by "
                              f"BEGIN on line {blocks[st.index]}: the migration fails when it reaches this statement")


RULE = Rule(
    code="B104", name="concurrently-in-transaction", severity="error", category="structure",
    summary="a statement PostgreSQL refuses inside a transaction block would run inside one",
    why="CREATE/DROP INDEX CONCURRENTLY, REINDEX CONCURRENTLY, DETACH PARTITION CONCURRENTLY, VACUUM, CREATE "
        "DATABASE and a few others manage their own transactions, so PostgreSQL rejects them inside a transaction "
        "block (ERROR: ... cannot run inside a transaction block). A migration forced into one transaction, or a "
        "file that wraps them in BEGIN ... COMMIT for a tool that runs it as written, fails at that statement.",
    fix="Let the migration run outside a transaction: remove transaction = \"always\" from migration.toml (bascule "
        "then runs it statement by statement), or move the statement out of the BEGIN ... COMMIT block, ideally "
        "into a migration of its own.",
    peers=("squawk ban-concurrent-index-creation-in-transaction", "Atlas PG103",
           "strong_migrations (disable_ddl_transaction!)"),
    check=check,
)
