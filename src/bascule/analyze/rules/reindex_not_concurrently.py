"""B103 reindex-not-concurrently: REINDEX without CONCURRENTLY blocks writes (and, for an index, reads)."""

from __future__ import annotations

from bascule.analyze.facts import SHARE, bare, option_on, relkey
from bascule.analyze.model import Rule

_FIX_BEFORE_12 = ("PostgreSQL before 12 has no REINDEX CONCURRENTLY: build a replacement with CREATE INDEX "
                  "CONCURRENTLY, then DROP INDEX CONCURRENTLY the old one and rename the new one (an index "
                  "behind a constraint needs ADD CONSTRAINT ... USING INDEX instead).")


def _concurrent(node: dict) -> bool:
    return option_on(node.get("params"), "concurrently")


def check(s):
    node = s.node
    if _concurrent(node):
        return
    kind = node.get("kind", "")
    rel = relkey(node.get("relation"))
    if kind == "REINDEX_OBJECT_INDEX" and rel:
        table = s.known.index_table(bare(rel))
        on = table or "its table"
        msg = (f"REINDEX INDEX {rel} without CONCURRENTLY blocks writes to {on} and locks the index itself "
               f"(ACCESS EXCLUSIVE): queries planned on {on} wait until the rebuild ends")
    elif kind == "REINDEX_OBJECT_TABLE" and rel:
        table = rel
        msg = (f"REINDEX TABLE {rel} without CONCURRENTLY blocks writes to {rel}, and locks each index while it "
               f"is rebuilt (ACCESS EXCLUSIVE): queries planned on {rel} wait, reads too")
    else:
        table = None
        what = {"REINDEX_OBJECT_SCHEMA": f"SCHEMA {node.get('name', '')}".rstrip(),
                "REINDEX_OBJECT_DATABASE": "DATABASE", "REINDEX_OBJECT_SYSTEM": "SYSTEM"}.get(kind, kind)
        msg = (f"REINDEX {what} without CONCURRENTLY rebuilds every index in it, blocking writes to each "
               "table in turn")
    f = s.finding(RULE, msg, table=table, lock=SHARE)
    if f is not None and s.version < 12:
        f.fix = _FIX_BEFORE_12
    yield f


RULE = Rule(
    code="B103", name="reindex-not-concurrently", severity="error", category="locking",
    summary="REINDEX without CONCURRENTLY blocks writes to the table, and most reads (the planner locks every index)",
    why="A plain REINDEX takes a SHARE lock on the table (INSERT, UPDATE and DELETE wait) and an ACCESS EXCLUSIVE "
        "lock on each index while it is rebuilt. The planner locks every index of a table it plans a query on, "
        "so in practice most queries on the table wait too, for as long as the rebuild reads and sorts the table.",
    fix="REINDEX ... CONCURRENTLY (PostgreSQL 12+; outside a transaction block: bascule runs such a migration "
        "statement by statement). It takes SHARE UPDATE EXCLUSIVE: reads and writes continue. A failed run leaves "
        "an INVALID index named *_ccnew to drop.",
    kinds=("ReindexStmt",),
    peers=(),
    check=check,
)
