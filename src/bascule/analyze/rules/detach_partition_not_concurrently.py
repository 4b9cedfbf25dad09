"""B122 detach-partition-not-concurrently: DETACH PARTITION without CONCURRENTLY takes ACCESS EXCLUSIVE on
the partitioned table and on the partition."""

from __future__ import annotations

from bascule.analyze.facts import AE, relkey
from bascule.analyze.model import Rule
from bascule.analyze.rules._alter import subcommands

_FIX_BEFORE_14 = ("PostgreSQL before 14 has no DETACH PARTITION CONCURRENTLY. The detach itself is a catalog change, "
                  "so the risk is the wait for ACCESS EXCLUSIVE on the partitioned table: keep lock_timeout short "
                  "and retry (bascule's runner does), run it alone in its migration when traffic is low, or upgrade "
                  "to 14+ and detach CONCURRENTLY.")

_FIX_DEFAULT = ("CONCURRENTLY is refused while the partitioned table has a DEFAULT partition. The detach itself is a "
                "catalog change, so the risk is the wait for ACCESS EXCLUSIVE: keep lock_timeout short and retry "
                "(bascule's runner does), and run it alone in its migration when traffic is low. Without the DEFAULT "
                "partition (if the application can do without one), DETACH PARTITION ... CONCURRENTLY works.")


def check(s):
    parent = relkey(s.node.get("relation"))
    if not parent:
        return
    for c in subcommands(s.node, "AT_DetachPartition"):
        pc = (c.get("def") or {}).get("PartitionCmd") or {}
        if pc.get("concurrent"):
            continue
        rv = pc.get("name") or {}
        part = relkey(rv) or "the partition"
        default = s.known.default_partition(parent) if s.version >= 14 else None
        f = s.finding(RULE, f"DETACH PARTITION {part} without CONCURRENTLY takes ACCESS EXCLUSIVE on {parent}: "
                            f"every read and write of {parent} (all its partitions) waits for it, and queues behind "
                            "it while it waits for running queries"
                            + (f" (CONCURRENTLY is refused here: {parent} has a DEFAULT partition, {default})"
                               if default else ""),
                      table=parent, location=rv.get("location"), lock=AE)
        if f is not None and s.version < 14:
            f.fix = _FIX_BEFORE_14
        elif f is not None and default:
            f.fix = _FIX_DEFAULT
        yield f


RULE = Rule(
    code="B122", name="detach-partition-not-concurrently", severity="warning", category="locking",
    summary="DETACH PARTITION without CONCURRENTLY blocks reads and writes of the whole partitioned table",
    why="A plain ALTER TABLE ... DETACH PARTITION takes ACCESS EXCLUSIVE on the partitioned table as well as on the "
        "partition. The change itself is quick, but it must first wait for every query running on any partition, and "
        "every query on the partitioned table queues behind it until it commits.",
    fix="PostgreSQL 14+: ALTER TABLE parent DETACH PARTITION part CONCURRENTLY. It takes SHARE UPDATE EXCLUSIVE on "
        "the parent (reads and writes continue), waits for running queries in between two internal transactions, "
        "and only at the end takes ACCESS EXCLUSIVE on the partition being detached. It cannot run in a transaction block (bascule runs such a statement on its own) and is refused "
        "when the partitioned table has a DEFAULT partition. If it is interrupted, finish it with DETACH PARTITION "
        "part FINALIZE.",
    alter_subtypes=frozenset({"AT_DetachPartition"}),
    kinds=("AlterTableStmt",),
    peers=("squawk require-concurrent-partition-detach",),
    check=check,
)
