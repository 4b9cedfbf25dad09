"""B101 create-index-not-concurrently: CREATE INDEX without CONCURRENTLY on an existing table."""

from __future__ import annotations

from bascule.analyze.facts import SHARE, relkey
from bascule.analyze.model import Rule


def partitioned_note(table: str) -> str:
    """What to do instead of CONCURRENTLY on a partitioned table, where PostgreSQL refuses it."""
    return (f"{table} is partitioned, and PostgreSQL refuses CONCURRENTLY there (--fix leaves it): create the "
            f"index ON ONLY {table} (invalid until complete), then CREATE INDEX CONCURRENTLY on each partition and "
            "ALTER INDEX <parent index> ATTACH PARTITION <partition index> for each")


def check(s):
    node = s.node
    if node.get("concurrent"):
        return
    table = relkey(node.get("relation"))
    if not table:
        return
    name = node.get("idxname")
    f = s.finding(RULE, f"CREATE {'UNIQUE ' if node.get('unique') else ''}INDEX{' ' + name if name else ''} "
                        f"on {table} without CONCURRENTLY blocks writes to {table} until the index is built",
                  table=table, lock=SHARE)
    if f is not None and s.known.is_partitioned(table) and node.get("relation", {}).get("inh", True):
        f.fixable = False
        f.notes.append(partitioned_note(table))
    yield f


RULE = Rule(
    code="B101", name="create-index-not-concurrently", severity="error", category="locking",
    summary="CREATE INDEX without CONCURRENTLY blocks all writes to the table while the index builds",
    why="A plain CREATE INDEX takes a SHARE lock: reads continue, but every INSERT, UPDATE and DELETE waits "
        "until the whole table has been read and sorted. On a large table that is minutes of failed writes.",
    fix="CREATE INDEX CONCURRENTLY (outside a transaction; bascule runs such a migration statement by "
        "statement and cleans up an INVALID index left by a failed attempt). `bascule lint --fix` rewrites it.",
    kinds=("IndexStmt",),
    peers=("squawk require-concurrent-index-creation", "strong_migrations add_index", "Atlas PG101", "Eugene E6"),
    fixable=True,
    check=check,
)
