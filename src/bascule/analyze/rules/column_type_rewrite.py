"""B111 column-type-rewrite: ALTER COLUMN ... TYPE that rewrites the table under ACCESS EXCLUSIVE."""

from __future__ import annotations

from bascule.analyze.facts import AE, binary_coercible, type_ref, tz_conversion
from bascule.analyze.model import Rule
from bascule.analyze.rules._alter import subcommands


def _kept_rows_work(s, col: str) -> tuple[list, list]:
    """The index rebuilds and constraint checks of a type change of `col` that rewrites no row
    (binary-coercible, or timestamp ↔ timestamptz in a UTC session): the facts add them."""
    f = s.facts
    builds = [e for e in f.index_builds if e.column == col and e.reason.startswith("SET DATA TYPE")]
    checks = [e for e in f.scans if e.reason.startswith("SET DATA TYPE")
              and (e.column == col or f".{col} checks" in e.reason)]
    return builds, checks


def _zone_said(s) -> str:
    if s.known.session_zone_source() == "migration":
        return "the session TimeZone is UTC, as set earlier in this migration"
    zone = s.known.live.timezone() if s.known.live is not None else "UTC"
    return f"the connection's TimeZone is {zone}: `bascule up` must run with the same"


def check(s):
    rewrites = s.facts.rewrites
    for c in subcommands(s.node, "AT_AlterColumnType"):
        col = c.get("name")
        cd = (c.get("def") or {}).get("ColumnDef") or {}
        new = type_ref(cd.get("typeName"))
        shown = str(new) if new is not None else "a new type"
        coll = [n["String"]["sval"] for n in (cd.get("collClause") or {}).get("collname") or () if "String" in n]
        if coll:
            shown += f' COLLATE "{coll[-1]}"'
        eff = next((e for e in rewrites if e.column == col), None)
        if eff is None:
            builds, checks = _kept_rows_work(s, col)
            table = (builds or checks or [None])[0]
            table = table.table if table is not None else None
            if (builds or checks) and not any(e.certain and e.table == table for e in rewrites):
                # rows kept (another subcommand's rewrite would rebuild everything anyway and is
                # reported on its own)
                old = s.known.column_type(table, col)
                work = []
                if builds:
                    which = builds[0].reason.split(" rebuilds ", 1)[1]  # "the indexes on c", "the indexes with ..."
                    work.append(f"rebuilds {which if builds[0].certain else 'any of ' + which}")
                if checks:
                    work.append(f"checks the {'constraints' if all(e.certain for e in checks) else 'CHECK constraints, if any,'}"
                                f" on {col} again (a scan of {', '.join(dict.fromkeys(e.table for e in checks))})")
                first = (builds or checks)[0]
                why = f" ({_zone_said(s)})" if old is not None and new is not None and tz_conversion(old, new) else ""
                yield s.finding(
                    RULE, f"ALTER COLUMN {col} TYPE {shown} on {table} ({old} → {shown}) keeps the rows{why} but "
                          f"{' and '.join(work)} under ACCESS EXCLUSIVE: reads and writes of {table} wait meanwhile",
                    table=table, location=first.location if first.location is not None else cd.get("location"),
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
                      f"is UTC: PostgreSQL 12+ then keeps the rows, rebuilds only the indexes on {col} and checks its "
                      "constraints again. The zone also decides the converted values: if the stored values are "
                      f"UTC, put {'SET LOCAL' if s.transactional else 'SET'} TimeZone = 'UTC' before it in this "
                      "migration so that it does not depend on where it runs; if they are local times of another "
                      f"zone, convert with USING {col} AT TIME ZONE '<zone>', which rewrites (expand and contract)",
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
        "varchar to text, need no rewrite; timestamp to timestamptz (and back, without a precision below 6) needs "
        "none on PostgreSQL 12+ after SET LOCAL TimeZone = 'UTC' when the stored values are UTC (the column's "
        "indexes are still rebuilt and its constraints checked).",
    alter_subtypes=frozenset({"AT_AlterColumnType"}),
    kinds=("AlterTableStmt",),
    peers=("squawk changing-column-type", "strong_migrations change_column", "Atlas PG301", "Eugene E5"),
    check=check,
)
