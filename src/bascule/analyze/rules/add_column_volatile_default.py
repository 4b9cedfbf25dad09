"""B112 add-column-volatile-default: ADD COLUMN whose DEFAULT is computed for every existing row (a volatile
function, or any default before PostgreSQL 11): the table is rewritten under ACCESS EXCLUSIVE."""

from __future__ import annotations

from bascule.analyze.facts import AE, KNOWN_VOLATILE, SERIAL, constraint_defs, type_ref, volatile
from bascule.analyze.model import Rule
from bascule.analyze.rules._alter import subcommands


def check(s):
    rewrites = s.facts.rewrites
    if not rewrites:
        return
    for c in subcommands(s.node, "AT_AddColumn"):
        cd = (c.get("def") or {}).get("ColumnDef") or {}
        col = cd.get("colname")
        cons = constraint_defs(cd)
        default = next((k.get("raw_expr") for k in cons if k.get("contype") == "CONSTR_DEFAULT"), None)
        t = type_ref(cd.get("typeName"))
        if default is None or (t is not None and t.name in SERIAL) \
                or any(k.get("contype") in ("CONSTR_IDENTITY", "CONSTR_GENERATED") for k in cons):
            continue  # no default, or B113/B114's case
        eff = next((e for e in rewrites if e.column == col), None)
        if eff is None:
            continue
        table = eff.table
        fn = volatile(default, s.known)
        what = f"ADD COLUMN {col} on {table}"
        if fn is None:
            if s.version >= 11:
                continue  # the rewrite comes from something else (a domain with constraints: B115)
            msg = (f"{what} with a DEFAULT rewrites every row of {table} under ACCESS EXCLUSIVE on PostgreSQL "
                   f"{s.version}: before PostgreSQL 11 the default is written into each existing row")
        elif fn in KNOWN_VOLATILE or s.known.func_volatility(fn) == "v":
            msg = (f"{what} with volatile DEFAULT {fn}() rewrites every row of {table} under ACCESS EXCLUSIVE: "
                   f"{fn}() is evaluated once per existing row, and reads and writes of {table} wait until it finishes")
        else:
            msg = (f"{what} with DEFAULT {fn}() rewrites every row of {table} under ACCESS EXCLUSIVE if {fn}() is "
                   f"volatile; bascule does not know its volatility (CREATE FUNCTION makes functions VOLATILE unless "
                   "declared STABLE or IMMUTABLE)")
        yield s.finding(RULE, msg, table=table, location=eff.location, lock=AE, rewrite=True)


RULE = Rule(
    code="B112", name="add-column-volatile-default", severity="error", category="rewrite",
    summary="ADD COLUMN with a volatile DEFAULT (or any DEFAULT before PostgreSQL 11) rewrites the table",
    why="Since PostgreSQL 11, ADD COLUMN with a constant or stable default only records the value in the catalog. "
        "A volatile default (random(), gen_random_uuid(), clock_timestamp(), nextval(), most user functions) must "
        "be computed separately for each existing row, so PostgreSQL rewrites the whole table and its indexes while "
        "holding ACCESS EXCLUSIVE; before PostgreSQL 11, every default did.",
    fix="Add the column without the default and set the default for new rows in the same statement "
        "(ALTER TABLE t ADD COLUMN c uuid, ALTER COLUMN c SET DEFAULT gen_random_uuid()): existing rows get NULL, "
        "no rewrite. Then fill existing rows in batches, outside the schema migration's transaction.",
    alter_subtypes=frozenset({"AT_AddColumn"}),
    kinds=("AlterTableStmt",),
    peers=("squawk adding-field-with-default", "strong_migrations add_column_default",
           "strong_migrations add_column_default_callable", "Atlas PG302"),
    fixable=True,
    check=check,
)
