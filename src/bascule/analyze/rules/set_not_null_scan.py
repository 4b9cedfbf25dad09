"""B107 set-not-null-scan: SET NOT NULL (or PostgreSQL 18's ADD CONSTRAINT ... NOT NULL, or the implicit
SET NOT NULL of ADD PRIMARY KEY USING INDEX on nullable columns) that must check every row under ACCESS
EXCLUSIVE."""

from __future__ import annotations

from bascule.analyze.facts import AE, relkey
from bascule.analyze.model import Rule

_FIX_PK_USING_INDEX = ("Make the index's columns NOT NULL without a scan first: ADD CONSTRAINT c CHECK (col IS NOT NULL) "
                       "NOT VALID, VALIDATE CONSTRAINT c in its own transaction (reads and writes continue), SET NOT "
                       "NULL (no scan on PostgreSQL 12+: the CHECK proves it); then ADD PRIMARY KEY USING INDEX has "
                       "nothing to check, and DROP CONSTRAINT c.")
_FIX_BEFORE_12 = ("PostgreSQL before 12 always scans for SET NOT NULL: run it when the table is small or quiet, "
                  "or keep a validated CHECK (col IS NOT NULL) instead of the column attribute until you upgrade.")


def check(s):
    scans = s.facts.scans
    if not scans:
        return
    table = relkey(s.node.get("relation"))
    if not table:
        return
    for e in scans:
        if e.reason.startswith("SET NOT NULL"):
            what = f"SET NOT NULL on {table}.{e.column}"
        elif e.reason.startswith("ADD NOT NULL") and s.version >= 18:  # a syntax error before 18
            name = e.reason.removeprefix("ADD NOT NULL").split(" checks", 1)[0].strip()
            what = f"ADD CONSTRAINT {name + ' ' if name else ''}NOT NULL {e.column or ''} on {table}"
        elif e.reason.startswith("ADD PRIMARY KEY USING INDEX"):
            what = f"{e.reason.split(' and checks', 1)[0]} of {table}: it"
        else:
            continue
        f = s.finding(RULE, f"{what} checks every row while holding ACCESS EXCLUSIVE: reads and writes of {table} "
                            "wait until it commits", table=table, location=e.location, lock=AE)
        if f is not None and e.reason.startswith("ADD PRIMARY KEY USING INDEX"):
            f.fix = _FIX_PK_USING_INDEX if s.version >= 12 else _FIX_BEFORE_12
            f.fixable = False
        elif f is not None and s.version < 12:
            f.fix = _FIX_BEFORE_12
            f.fixable = False
        yield f


RULE = Rule(
    code="B107", name="set-not-null-scan", severity="error", category="locking",
    summary="SET NOT NULL checks every row while blocking reads and writes",
    why="ALTER COLUMN ... SET NOT NULL takes an ACCESS EXCLUSIVE lock and reads the whole table to prove no NULL "
        "is left, so every query on the table waits for the scan. From PostgreSQL 12 the scan is skipped when a "
        "validated CHECK (col IS NOT NULL) constraint already proves it.",
    fix="PostgreSQL 12+: ADD CONSTRAINT c CHECK (col IS NOT NULL) NOT VALID; then, in a separate transaction, "
        "VALIDATE CONSTRAINT c (SHARE UPDATE EXCLUSIVE: reads and writes continue); then SET NOT NULL (no scan) "
        "and DROP CONSTRAINT c. PostgreSQL 18: ADD CONSTRAINT c NOT NULL col NOT VALID, then VALIDATE CONSTRAINT c. "
        "`bascule lint --fix` rewrites it.",
    alter_subtypes=frozenset({"AT_SetNotNull", "AT_AddConstraint"}),
    kinds=("AlterTableStmt",),
    peers=("squawk adding-not-nullable-field", "strong_migrations change_column_null", "Eugene E2",
           "Atlas MF104 (data-dependent side)", "Atlas PG304 and Eugene W14 (ADD PRIMARY KEY USING INDEX)"),
    fixable=True,
    check=check,
)
