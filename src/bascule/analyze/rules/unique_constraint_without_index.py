"""B108 unique-constraint-without-index: ADD UNIQUE / PRIMARY KEY that builds its index under ACCESS EXCLUSIVE."""

from __future__ import annotations

from bascule.analyze.facts import AE, relkey
from bascule.analyze.model import Rule
from bascule.analyze.rules._alter import added_constraints, inline_not_fixable

_KIND = {"CONSTR_UNIQUE": "UNIQUE", "CONSTR_PRIMARY": "PRIMARY KEY"}


def check(s):
    if not s.facts.index_builds:
        return
    table = relkey(s.node.get("relation"))
    if not table:
        return
    for sub, con, cd in added_constraints(s.node, tuple(_KIND)):
        if cd is None:
            if con.get("indexname"):
                continue
            what = f"ADD {'CONSTRAINT ' + con['conname'] + ' ' if con.get('conname') else ''}{_KIND[con['contype']]}"
        else:
            what = f"ADD COLUMN {cd.get('colname')} {_KIND[con['contype']]}"
        f = inline_not_fixable(s.finding(RULE, f"{what} on {table} builds its index while holding ACCESS "
                                               f"EXCLUSIVE: reads and writes of {table} wait until it commits",
                                         table=table, location=con.get("location"), lock=AE), sub)
        if f is not None and s.known.is_partitioned(table):
            f.fixable = False  # no CONCURRENTLY and no USING INDEX on a partitioned table
            f.notes.append(f"{table} is partitioned: PostgreSQL refuses both CREATE INDEX CONCURRENTLY and ADD "
                           "CONSTRAINT ... USING INDEX there (--fix leaves it)")
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
