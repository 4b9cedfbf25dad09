"""B402 char-column: a char(n) / character(n) column (bpchar)."""

from __future__ import annotations

from bascule.analyze.model import Rule
from bascule.analyze.rules._columns import column_defs, described


def check(s):
    for table, col, t, _cd, how, loc in column_defs(s):
        if t.name == "bpchar" and t.schema is None:
            n = t.mods[0] if t.mods else None
            pad = (f"values are padded with spaces to {n} character{'s' if n != 1 else ''}, which comparisons "
                   f"and length() ignore but clients receive") if n else \
                "trailing spaces are insignificant in comparisons"
            yield s.finding(RULE, f"{described(col, table, t, how)}: {pad}; use text (or varchar) with a CHECK "
                                  f"constraint",
                            table=table, location=loc)


RULE = Rule(
    code="B402", name="char-column", severity="warning", category="design",
    summary="a char(n) column: blank-padded, and no faster than text",
    why="char(n) pads every shorter value with spaces up to n characters and treats trailing spaces as "
        "insignificant: 'ab' and 'ab  ' compare equal, length() and concatenation drop the padding, while "
        "clients read it back padded. The padding is stored, so it takes more space than text and is usually "
        "the slowest of the string types; a value longer than n is an error.",
    fix="Use text, with a CHECK (char_length(code) = 2) or CHECK (char_length(code) <= 2) constraint if the "
        "length matters (or varchar(n)). The one-byte internal type \"char\" (quoted) is a different type and "
        "is not reported.",
    alter_subtypes=frozenset({"AT_AddColumn", "AT_AlterColumnType"}),
    kinds=("CreateStmt", "AlterTableStmt"),
    peers=("squawk ban-char-field",),
    check=check,
)
