"""B306 unbatched-data-change: an UPDATE or DELETE of an existing table in one statement; with a
connection, the planner's estimate of the rows it touches decides how serious that is."""

from __future__ import annotations

from bascule.analyze.facts import relkey
from bascule.analyze.model import Rule

SMALL = 10_000
LARGE = 1_000_000


def check(s):
    node = s.node
    if not node.get("whereClause"):
        return  # B302 reports a change of every row
    table = relkey(node.get("relation"))
    if not table or s.is_new(table):
        return
    verb = "UPDATE" if s.tag == "UpdateStmt" else "DELETE"
    live = s.opts.live
    rows = live.planned_rows(s.st.sql) if live is not None else None
    if rows is None:
        yield s.finding(RULE, f"{verb} of {table} in one statement: every row it matches stays locked, and its old "
                              f"version stays in the table, until the migration commits; batch it if it touches "
                              f"many rows (size unknown without --env/--url)", table=table)
        return
    severity = "error" if rows >= LARGE else "warning" if rows >= SMALL else "info"
    f = s.finding(RULE, f"{verb} of {table} in one statement: the planner expects about {rows:,.0f} rows, each locked "
                        f"until the migration commits" + ("; batch it" if rows >= SMALL else ""),
                  table=table, severity=severity)
    if f is not None:
        f.estimate = {"table": table, "rows": int(rows), "work": "data change", "source": "planner (EXPLAIN)"}
        yield f


RULE = Rule(
    code="B306", name="unbatched-data-change", severity="info", category="locking",
    summary="an UPDATE or DELETE of an existing table runs as one statement",
    why="A single UPDATE or DELETE locks every row it changes until the transaction commits, so application "
        "writes to those rows wait for the whole statement; it writes a new version of every updated row (the "
        "table and its indexes grow, replicas fall behind on the WAL) and a failure near the end rolls all of it "
        "back. On a few hundred rows none of that matters; on millions it is an outage.",
    fix="Batch it: a DO block (bascule runs it outside a transaction) that changes a few thousand rows at a time "
        "by primary-key range and COMMITs after each batch, or a separate non-transactional migration. With "
        "--env/--url, bascule asks the planner how many rows the statement touches and sets the severity from "
        "that: under 10,000 info, from 10,000 warning, from 1,000,000 error.",
    kinds=("UpdateStmt", "DeleteStmt"),
    peers=("strong_migrations (backfilling data: batch it)",),
    check=check,
)
