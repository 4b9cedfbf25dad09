"""B106 check-constraint-validated: ADD CHECK without NOT VALID scans the table under ACCESS EXCLUSIVE."""

from __future__ import annotations

from bascule.analyze.facts import AE, constraint_defs, relkey
from bascule.analyze.model import Rule


def check(s):
    table = relkey(s.node.get("relation"))
    if not table:
        return
    for cmd in s.node.get("cmds") or ():
        c = cmd.get("AlterTableCmd") or {}
        sub = c.get("subtype")
        d = c.get("def") or {}
        if sub == "AT_AddConstraint":
            con = d.get("Constraint") or {}
            if con.get("contype") != "CONSTR_CHECK" or con.get("skip_validation"):
                continue
            what = f"ADD CHECK{' ' + con['conname'] if con.get('conname') else ''}"
        elif sub == "AT_AddColumn":
            cd = d.get("ColumnDef") or {}
            con = next((x for x in constraint_defs(cd) if x.get("contype") == "CONSTR_CHECK"), None)
            if con is None:
                continue
            what = f"ADD COLUMN {cd.get('colname')} with a CHECK"
        else:
            continue
        f = s.finding(RULE, f"{what} on {table} checks every row while holding ACCESS EXCLUSIVE: reads and "
                              f"writes of {table} wait until it commits",
                        table=table, location=con.get("location"), lock=AE)
        if f is not None and sub == "AT_AddColumn":
            f.fixable = False  # --fix rewrites the ADD CONSTRAINT form only
        yield f


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
