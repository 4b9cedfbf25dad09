"""B109 exclusion-constraint: ADD CONSTRAINT ... EXCLUDE builds its index under ACCESS EXCLUSIVE."""

from __future__ import annotations

from bascule.analyze.facts import AE, relkey
from bascule.analyze.model import Rule
from bascule.analyze.rules._alter import subcommands


def check(s):
    if not s.facts.index_builds:
        return
    table = relkey(s.node.get("relation"))
    if not table:
        return
    for c in subcommands(s.node, "AT_AddConstraint"):
        con = (c.get("def") or {}).get("Constraint") or {}
        if con.get("contype") != "CONSTR_EXCLUSION":
            continue
        name = f" {con['conname']}" if con.get("conname") else ""
        yield s.finding(RULE, f"ADD EXCLUDE{name} on {table} builds its index and checks every row while holding "
                              f"ACCESS EXCLUSIVE: reads and writes of {table} wait until it commits",
                        table=table, location=con.get("location"), lock=AE)


RULE = Rule(
    code="B109", name="exclusion-constraint", severity="error", category="locking",
    summary="ADD EXCLUDE builds its index while blocking reads and writes, and has no concurrent form",
    why="An exclusion constraint is enforced by an index built inside the ALTER TABLE under an ACCESS EXCLUSIVE "
        "lock, and every existing row is checked against the others while the lock is held. PostgreSQL has no "
        "NOT VALID and no USING INDEX form for exclusion constraints, so there is no online way to add one.",
    fix="Add it while the table is small, or in a maintenance window with a short lock_timeout so a blocked start "
        "gives up instead of queueing. For a large busy table, create a new table with the constraint, copy rows "
        "in batches (with a trigger for new writes), and swap the tables.",
    alter_subtypes=frozenset({"AT_AddConstraint"}),
    kinds=("AlterTableStmt",),
    peers=("strong_migrations add_exclusion_constraint", "Eugene E8"),
    check=check,
)
