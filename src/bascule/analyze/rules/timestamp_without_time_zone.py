"""B404 timestamp-without-time-zone: a timestamp (without time zone) column."""

from __future__ import annotations

from bascule.analyze.model import Rule
from bascule.analyze.rules._columns import column_defs, described


def check(s):
    for table, col, t, _cd, how, loc in column_defs(s):
        if t.name == "timestamp" and t.schema is None:
            yield s.finding(RULE, f"{described(col, table, t, how)} (without time zone): values carry no zone "
                                  f"and are read back as written whatever the session's TimeZone; use timestamptz",
                            table=table, location=loc)


RULE = Rule(
    code="B404", name="timestamp-without-time-zone", severity="warning", category="design",
    summary="a timestamp without time zone column: use timestamptz",
    why="timestamp (without time zone) stores a wall-clock reading with no zone: the same instant written from "
        "sessions or servers in different time zones is stored as different values, comparisons with now() "
        "depend on the session's TimeZone setting, and daylight-saving transitions make some values ambiguous. "
        "timestamptz stores an absolute instant (UTC) in the same 8 bytes and converts on input and output.",
    fix="Declare the column timestamptz (timestamp with time zone). Converting an existing column later "
        "(ALTER COLUMN ... TYPE timestamptz) rewrites the table unless the session TimeZone is UTC on "
        "PostgreSQL 12+ (if the stored values are UTC, put SET LOCAL TimeZone = 'UTC' before it: only the "
        "column's indexes are rebuilt; local times of another zone need USING col AT TIME ZONE '<zone>'). "
        "Keep timestamp only for values that really are zone-less (a local opening hour).",
    alter_subtypes=frozenset({"AT_AddColumn", "AT_AlterColumnType"}),
    kinds=("CreateStmt", "AlterTableStmt"),
    peers=("squawk prefer-timestamptz",),
    check=check,
)
