"""B108 unique-constraint-without-index: ADD UNIQUE / PRIMARY KEY that builds its index under ACCESS EXCLUSIVE."""

from __future__ import annotations

from bascule.analyze.facts import AE, constraint_defs, relkey
from bascule.analyze.model import Rule

_KIND = {"CONSTR_UNIQUE": "UNIQUE", "CONSTR_PRIMARY": "PRIMARY KEY"}


def check(s):
    if not s.facts.index_builds:
        return
    table = relkey(s.node.get("relation"))
    if not table:
        return
    for cmd in s.node.get("cmds") or ():
        c = cmd.get("AlterTableCmd") or {}
        sub = c.get("subtype")
        d = c.get("def") or {}
        if sub == "AT_AddConstraint":
            con = d.get("Constraint") or {}
            kind = _KIND.get(con.get("contype"))
            if kind is None or con.get("indexname"):
                continue
            what = f"ADD {'CONSTRAINT ' + con['conname'] + ' ' if con.get('conname') else ''}{kind}"
        elif sub == "AT_AddColumn":
            cd = d.get("ColumnDef") or {}
            con = next((x for x in constraint_defs(cd) if x.get("contype") in _KIND), None)
            if con is None:
                continue
            what = f"ADD COLUMN {cd.get('colname')} {_KIND[con['contype']]}"
        else:
            continue
        f = s.finding(RULE, f"{what} on {table} builds its index while holding ACCESS EXCLUSIVE: reads and "
                              f"writes of {table} wait until it commits",
                        table=table, location=con.get("location"), lock=AE)
        if f is not None and sub == "AT_AddColumn":
            f.fixable = False  # --fix rewrites the ADD CONSTRAINT form only
        yield f


RULE = Rule(
    code="B108", name="unique-constraint-without-index", severity="error", category="locking",
    summary="ADD UNIQUE or PRIMARY KEY builds its index while blocking reads and writes",
    why="ALTER TABLE ... ADD UNIQUE / PRIMARY KEY creates the constraint's index inside the ALTER TABLE, under an "
        "ACCESS EXCLUSIVE lock: every query on the table waits while the whole table is read and sorted. Unlike "
        "CREATE INDEX, this form has no CONCURRENTLY.",
    fix="CREATE UNIQUE INDEX CONCURRENTLY i ON t (cols) first, then ALTER TABLE t ADD CONSTRAINT c UNIQUE USING "
        "INDEX i (or PRIMARY KEY USING INDEX i, once the columns are NOT NULL without a scan: see B107), which only "
        "updates the catalog. For a new column: add it, then follow the same steps. `bascule lint --fix` rewrites it.",
    alter_subtypes=frozenset({"AT_AddConstraint", "AT_AddColumn"}),
    kinds=("AlterTableStmt",),
    peers=("squawk disallowed-unique-constraint", "squawk adding-serial-primary-key-field",
           "strong_migrations add_unique_constraint", "Eugene E7"),
    fixable=True,
    check=check,
)
