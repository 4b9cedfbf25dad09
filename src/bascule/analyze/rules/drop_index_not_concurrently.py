"""B102 drop-index-not-concurrently: DROP INDEX without CONCURRENTLY locks the index's table."""

from __future__ import annotations

from bascule.analyze.facts import AE, bare, dropped_names
from bascule.analyze.model import Rule


def check(s):
    node = s.node
    if node.get("removeType") != "OBJECT_INDEX" or node.get("concurrent"):
        return
    names = dropped_names(node)
    # DROP INDEX CONCURRENTLY takes one index and no CASCADE: --fix leaves those to the author
    single = len(names) == 1 and node.get("behavior") != "DROP_CASCADE"
    for name in names:
        table = s.known.index_table(bare(name))
        on = table or "its table"
        f = s.finding(RULE, f"DROP INDEX {name} without CONCURRENTLY takes ACCESS EXCLUSIVE on {on}: "
                            f"reads and writes of {on} wait until it commits", table=table, lock=AE)
        if f is not None and not single:
            f.fixable = False
        if f is not None and table and s.known.is_partitioned(table):
            f.fixable = False  # a partitioned index cannot be dropped CONCURRENTLY
            f.notes.append(f"{table} is partitioned: PostgreSQL refuses DROP INDEX CONCURRENTLY on a partitioned "
                           "index (--fix leaves it); the drop itself is quick once it has its lock, so keep a short "
                           "lock_timeout with retries")
        yield f


RULE = Rule(
    code="B102", name="drop-index-not-concurrently", severity="warning", category="locking",
    summary="DROP INDEX without CONCURRENTLY blocks reads and writes of the index's table",
    why="A plain DROP INDEX takes an ACCESS EXCLUSIVE lock on the table the index belongs to. The drop itself "
        "is quick, but it must first wait for every running query on the table, and every query that arrives "
        "meanwhile queues behind it: one long transaction turns it into an outage of the table.",
    fix="DROP INDEX CONCURRENTLY (one index per statement, no CASCADE, outside a transaction block: bascule "
        "runs such a migration statement by statement). `bascule lint --fix` rewrites it.",
    kinds=("DropStmt",),
    peers=("squawk require-concurrent-index-deletion", "strong_migrations remove_index (algorithm: :concurrently)",
           "Atlas PG102"),
    fixable=True,
    check=check,
)
