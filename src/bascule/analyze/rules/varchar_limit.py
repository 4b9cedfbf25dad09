"""B403 varchar-limit: a varchar(n) column."""

from __future__ import annotations

from bascule.analyze.model import Rule
from bascule.analyze.rules._columns import column_defs, described


def check(s):
    for table, col, t, _cd, how, loc in column_defs(s):
        if t.name == "varchar" and t.mods and t.schema is None:
            n = t.mods[0]
            yield s.finding(RULE, f"{described(col, table, t, how)}: the limit is a constraint you cannot lower "
                                  f"without a table rewrite; consider text with CHECK (char_length({col}) <= {n})",
                            table=table, location=loc)


RULE = Rule(
    code="B403", name="varchar-limit", severity="info", category="design",
    summary="a varchar(n) column: text with a CHECK constraint is easier to change",
    why="In PostgreSQL varchar(n) is text with a length check: it stores the same way and is no faster. "
        "Raising the limit later is a catalog-only change (since 9.2), but lowering it, or changing it to "
        "anything that is not wider, rewrites the table under an ACCESS EXCLUSIVE lock; limits copied from "
        "other databases (255) often have no meaning for the data.",
    fix="Use text, and put a limit that matters into a named CHECK constraint: it can be dropped instantly, and "
        "a new one added NOT VALID and validated later without blocking writes. A varchar(n) that expresses a "
        "real rule of the data is fine: suppress with the reason.",
    alter_subtypes=frozenset({"AT_AddColumn", "AT_AlterColumnType"}),
    kinds=("CreateStmt", "AlterTableStmt"),
    peers=("squawk prefer-text-field",),
    check=check,
)
