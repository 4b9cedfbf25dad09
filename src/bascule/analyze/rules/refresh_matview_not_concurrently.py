"""B119 refresh-matview-not-concurrently: REFRESH MATERIALIZED VIEW without CONCURRENTLY blocks reads of it."""

from __future__ import annotations

from bascule.analyze.facts import AE, relkey
from bascule.analyze.model import Rule


def check(s):
    node = s.node
    if node.get("concurrent") or node.get("skipData"):
        return
    view = relkey(node.get("relation"))
    if not view:
        return
    yield s.finding(RULE, f"REFRESH MATERIALIZED VIEW {view} without CONCURRENTLY holds ACCESS EXCLUSIVE on "
                          f"{view} while its query runs: reads of {view} wait until it commits",
                    table=view, lock=AE)


RULE = Rule(
    code="B119", name="refresh-matview-not-concurrently", severity="warning", category="locking",
    summary="REFRESH MATERIALIZED VIEW without CONCURRENTLY blocks reads of the view while it recomputes",
    why="A plain refresh runs the view's whole query and swaps in the result under an ACCESS EXCLUSIVE lock on "
        "the view, so every SELECT from it waits for as long as the query takes.",
    fix="REFRESH MATERIALIZED VIEW CONCURRENTLY, which takes an EXCLUSIVE lock (reads continue, only other "
        "refreshes wait) and applies the differences. It needs a unique index on the view (plain columns, no "
        "WHERE clause) and a populated view; it is slower when most rows change.",
    kinds=("RefreshMatViewStmt",),
    peers=(),
    check=check,
)
