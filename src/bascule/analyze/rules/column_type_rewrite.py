"""B111 column-type-rewrite: ALTER COLUMN ... TYPE that rewrites the table under ACCESS EXCLUSIVE."""

from __future__ import annotations

from bascule.analyze.facts import AE, binary_coercible, type_ref, tz_conversion
from bascule.analyze.model import Rule
from bascule.analyze.rules._alter import subcommands


def check(s):
    rewrites = s.facts.rewrites
    rebuilds = [e for e in s.facts.index_builds if e.column is not None and e.reason.startswith("SET DATA TYPE")]
    if not rewrites and not rebuilds:
        return
    for c in subcommands(s.node, "AT_AlterColumnType"):
        col = c.get("name")
        cd = (c.get("def") or {}).get("ColumnDef") or {}
        new = type_ref(cd.get("typeName"))
        shown = str(new) if new is not None else "a new type"
        eff = next((e for e in rewrites if e.column == col), None)
        if eff is None:
            ib = next((e for e in rebuilds if e.column == col), None)
            if ib is not None:  # timestamp ↔ timestamptz in a UTC session: rows kept, indexes rebuilt
                old = s.known.column_type(ib.table, col)
                yield s.finding(
                    RULE, f"ALTER COLUMN {col} TYPE {shown} on {ib.table} ({old} → {new}) keeps the rows (the session "
                          f"TimeZone is UTC) but rebuilds {'the indexes' if ib.certain else 'any index'} on {col} "
                          f"under ACCESS EXCLUSIVE: reads and writes of {ib.table} wait while they are built",
                    table=ib.table, location=ib.location if ib.location is not None else cd.get("location"),
                    lock=AE, severity="warning")
            continue  # binary-coercible: catalog only
        table = eff.table
        old = s.known.column_type(table, col)
        loc = eff.location if eff.location is not None else cd.get("location")
        what = f"ALTER COLUMN {col} TYPE {shown} on {table}"
        tz = (old is not None and new is not None and s.version >= 12 and tz_conversion(old, new)
              and "USING" not in eff.reason)
        if tz and not eff.certain:
            yield s.finding(
                RULE, f"{what} ({old} → {new}) rewrites {table} under ACCESS EXCLUSIVE unless the session's TimeZone "
                      f"is UTC: PostgreSQL 12+ then keeps the rows and rebuilds only the indexes on {col}. Put "
                      f"{'SET LOCAL' if s.transactional else 'SET'} TimeZone = 'UTC' before it in this migration "
                      "(existing values are then read as UTC) so that it does not depend on where it runs",
                table=table, location=loc, lock=AE, rewrite=True, severity="warning")
            continue
        if not eff.certain:
            yield s.finding(
                RULE, f"{what} may rewrite {table} under ACCESS EXCLUSIVE: bascule does not know the current type of "
                      f"{col}; it is safe only if that type converts to {shown} without a rewrite (varchar(n) to a "
                      "longer varchar or text, numeric(p,s) to numeric with more precision and the same scale); "
                      "connect with --env/--url to let bascule check",
                table=table, location=loc, lock=AE, rewrite=True, severity="warning")
            continue
        # a rewrite that the type change alone would not need comes from the USING expression
        uses_expr = cd.get("raw_default") is not None and (old is None or new is None or binary_coercible(old, new))
        if uses_expr:
            what += " with a USING expression"
        elif old is not None:
            what += f" ({old} → {new})"
            if tz:
                what += ", in a session whose TimeZone is not UTC,"
        yield s.finding(
            RULE, f"{what} rewrites every row and index of {table} under ACCESS EXCLUSIVE: reads and writes "
                  f"of {table} wait until it finishes",
            table=table, location=loc, lock=AE, rewrite=True)


RULE = Rule(
    code="B111", name="column-type-rewrite", severity="error", category="rewrite",
    summary="ALTER COLUMN ... TYPE rewrites the whole table and its indexes while holding ACCESS EXCLUSIVE",
    why="Changing a column's type takes an ACCESS EXCLUSIVE lock, and unless the old type is binary-coercible to "
        "the new one (varchar(10) to varchar(20) or text, numeric(10,2) to numeric(12,2)) PostgreSQL writes a new "
        "copy of every row and rebuilds every index. Nothing can read or write the table until the copy is done: "
        "on a large table, minutes of downtime.",
    fix="Add a new column of the new type, keep it in sync for new writes (trigger or application), backfill it "
        "in batches, then switch readers and drop the old column. Widening varchar or numeric precision, and "
        "varchar to text, need no rewrite; timestamp to timestamptz (and back) needs none on PostgreSQL 12+ after "
        "SET LOCAL TimeZone = 'UTC' (only the column's indexes are rebuilt).",
    alter_subtypes=frozenset({"AT_AlterColumnType"}),
    kinds=("AlterTableStmt",),
    peers=("squawk changing-column-type", "strong_migrations change_column", "Atlas PG301", "Eugene E5"),
    check=check,
)
