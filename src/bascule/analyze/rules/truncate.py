"""B301 truncate: TRUNCATE of a table that existed before the migration."""

from __future__ import annotations

from bascule.analyze.facts import AE, relkey
from bascule.analyze.model import Rule


def check(s):
    node = s.node
    cascade = node.get("behavior") == "DROP_CASCADE"
    for r in node.get("relations") or ():
        rv = r.get("RangeVar")
        table = relkey(rv)
        if not table or s.is_new(table):
            continue
        also = ", and every row of every table with a foreign key to it (CASCADE)" if cascade else ""
        yield s.finding(RULE, f"TRUNCATE {table} deletes every row of {table}{also}, under an ACCESS EXCLUSIVE "
                              f"lock that blocks reads and writes until commit", table=table,
                        location=rv.get("location"), lock=AE)


RULE = Rule(
    code="B301", name="truncate", severity="error", category="data-loss",
    summary="TRUNCATE deletes every row of an existing table",
    why="TRUNCATE removes all rows at once by replacing the table's files: nothing is logged row by row, no "
        "ON DELETE trigger fires, and no down migration can bring the rows back. It takes an ACCESS EXCLUSIVE "
        "lock, so even reads wait until the transaction commits. With CASCADE it also empties every table that "
        "references it by foreign key, and their references in turn.",
    fix="If the rows must go, delete them deliberately (DELETE ... WHERE, in batches, outside the schema "
        "migration) after taking a backup, or keep the old rows in an archive table first. If emptying the "
        "table is intended (a cache, a staging table), suppress with the reason: "
        "-- bascule:ignore B301 session cache, rebuilt on start",
    kinds=("TruncateStmt",),
    peers=("squawk ban-truncate-cascade (CASCADE only)",),
    check=check,
)
