"""B106 check-constraint-validated: ADD CHECK without NOT VALID scans the table under ACCESS EXCLUSIVE."""

from __future__ import annotations

from bascule.analyze.facts import AE, relkey
from bascule.analyze.model import Rule
from bascule.analyze.rules._alter import added_constraints, inline_not_fixable


def check(s):
    table = relkey(s.node.get("relation"))
    if not table:
        return
    for sub, con, cd in added_constraints(s.node, ("CONSTR_CHECK",)):
        if cd is None:
            if con.get("skip_validation"):
                continue
            what = f"ADD CHECK{' ' + con['conname'] if con.get('conname') else ''}"
        else:
            what = f"ADD COLUMN {cd.get('colname')} with a CHECK"
        yield inline_not_fixable(s.finding(RULE, f"{what} on {table} checks every row while holding ACCESS EXCLUSIVE: "
                                                 f"reads and writes of {table} wait until it commits",
                                           table=table, location=con.get("location"), lock=AE), sub)

RULE = Rule(
    code="B106", name="check-constraint-validated", severity="error", category="locking",
    summary="ADD CHECK without NOT VALID scans the whole table while blocking reads and writes",
    why="ALTER TABLE ... ADD CHECK takes an ACCESS EXCLUSIVE lock and evaluates the expression on every existing "
        "row before it returns, so every query on the table waits for a full scan. A CHECK on a column being "
        "added is evaluated row by row too, even when every value is NULL.",
    fix="ADD CONSTRAINT ... CHECK (...) NOT VALID (instant: only new and updated rows are checked), then in a "
        "separate transaction ALTER TABLE ... VALIDATE CONSTRAINT, which scans under SHARE UPDATE EXCLUSIVE while "
        "reads and writes continue. For a new column: add it first, then the constraint. `bascule lint --fix` "
        "rewrites it.",
    alter_subtypes=frozenset({"AT_AddConstraint", "AT_AddColumn"}),
    kinds=("AlterTableStmt",),
    peers=("squawk constraint-missing-not-valid", "strong_migrations add_check_constraint", "Eugene E1"),
    fixable=True,
    check=check,
)
