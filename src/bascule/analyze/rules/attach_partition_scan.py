"""B118 attach-partition-scan: ATTACH PARTITION scans the partition under ACCESS EXCLUSIVE to check its bound."""

from __future__ import annotations

from bascule.analyze.facts import AE, relkey
from bascule.analyze.model import Rule
from bascule.analyze.rules._alter import subcommands


def check(s):
    parent = relkey(s.node.get("relation"))
    for c in subcommands(s.node, "AT_AttachPartition"):
        rv = ((c.get("def") or {}).get("PartitionCmd") or {}).get("name") or {}
        part = relkey(rv)
        if not part:
            continue
        yield s.finding(RULE, f"ATTACH PARTITION {part} to {parent} reads every row of {part} under ACCESS "
                              f"EXCLUSIVE to check the partition bound, unless a validated CHECK constraint on "
                              f"{part} already implies it: reads and writes of {part} wait",
                        table=part, location=rv.get("location"), lock=AE)


RULE = Rule(
    code="B118", name="attach-partition-scan", severity="warning", category="locking",
    summary="ATTACH PARTITION scans the table being attached while blocking its reads and writes",
    why="ATTACH PARTITION takes SHARE UPDATE EXCLUSIVE on the parent but ACCESS EXCLUSIVE on the table being "
        "attached (and on the default partition, if there is one), then reads every row to prove it fits the "
        "partition bound. PostgreSQL skips the scan only when an existing validated CHECK constraint implies the "
        "bound, which bascule cannot always see offline.",
    fix="Before attaching: ADD CONSTRAINT c CHECK (<the bound as an expression, with IS NOT NULL>) NOT VALID, then "
        "VALIDATE CONSTRAINT c (SHARE UPDATE EXCLUSIVE: reads and writes continue); ATTACH PARTITION then skips the "
        "scan; DROP CONSTRAINT c afterwards.",
    alter_subtypes=frozenset({"AT_AttachPartition"}),
    kinds=("AlterTableStmt",),
    peers=(),
    check=check,
)
