"""B405 integer-key: an int4/int2 (or serial/smallserial) column, a warning when it is a key."""

from __future__ import annotations

from bascule.analyze.facts import constraint_defs, names_of
from bascule.analyze.model import Rule
from bascule.analyze.rules._columns import column_defs, described

# type → (its maximum, the bigint spelling to suggest)
_NARROW = {"int4": ("2,147,483,647", "bigint"), "int2": ("32,767", "bigint"),
           "serial": ("2,147,483,647", "bigserial or bigint identity"),
           "serial4": ("2,147,483,647", "bigserial or bigint identity"),
           "smallserial": ("32,767", "bigserial or bigint identity"),
           "serial2": ("32,767", "bigserial or bigint identity")}


def _table_keys(s) -> dict[str, str]:
    """Columns named by PRIMARY KEY / FOREIGN KEY table constraints of this statement → the kind of key."""
    keys: dict[str, str] = {}
    node = s.node
    if s.tag == "CreateStmt":
        cons = [e["Constraint"] for e in node.get("tableElts") or () if "Constraint" in e]
    else:
        cons = [((c.get("AlterTableCmd") or {}).get("def") or {}).get("Constraint") or {}
                for c in node.get("cmds") or () if (c.get("AlterTableCmd") or {}).get("subtype") == "AT_AddConstraint"]
    for con in cons:
        ct = con.get("contype")
        if ct == "CONSTR_FOREIGN":
            for k in names_of(con.get("fk_attrs")):
                keys.setdefault(k, "a foreign key")
        elif ct == "CONSTR_PRIMARY":
            for k in names_of(con.get("keys")):
                keys[k] = "a primary key"
    return keys


def _key_kind(col: str, cd: dict, keys: dict[str, str]) -> str | None:
    contypes = {c.get("contype") for c in constraint_defs(cd)}
    if "CONSTR_PRIMARY" in contypes:
        return "a primary key"
    if col in keys:
        return keys[col]
    if "CONSTR_FOREIGN" in contypes:
        return "a foreign key"
    if col == "id" or col.endswith("_id"):
        return "an identifier"
    return None


def check(s):
    keys = None
    for table, col, t, cd, how, loc in column_defs(s):
        if t.name not in _NARROW or t.array or t.schema is not None:
            continue
        if keys is None:
            keys = _table_keys(s)
        top, wider = _NARROW[t.name]
        what = described(col, table, t, how)
        kind = _key_kind(col, cd, keys)
        if kind is None:
            yield s.finding(RULE, f"{what}: it cannot hold values above {top}; use bigint if it counts or "
                                  f"refers to something that keeps growing", table=table, location=loc, severity="info")
            continue
        yield s.finding(RULE, f"{what}, {kind}: values above {top} fail, and widening it later rewrites {table} "
                              f"and its indexes (and the columns that reference it must follow); use {wider}",
                        table=table, location=loc)


RULE = Rule(
    code="B405", name="integer-key", severity="warning", category="design",
    summary="an integer or smallint key column will run out; use bigint",
    why="integer stops at 2,147,483,647 and smallint at 32,767. A key fed by a sequence gets there on a busy "
        "table (sequence values are used up by rolled-back inserts too), and then every insert fails. Changing "
        "the type to bigint afterwards rewrites the table and rebuilds its indexes under an ACCESS EXCLUSIVE "
        "lock, and the foreign keys referencing it must change too.",
    fix="Declare keys and the columns that reference them bigint (bigint GENERATED ALWAYS AS IDENTITY, or "
        "bigserial): 4 more bytes per row, no migration later. Non-key integer columns are reported as info: "
        "integer is fine for bounded values (a quantity, a status code).",
    alter_subtypes=frozenset({"AT_AddColumn", "AT_AlterColumnType", "AT_AddConstraint"}),
    kinds=("CreateStmt", "AlterTableStmt"),
    peers=("squawk prefer-bigint-over-int", "squawk prefer-bigint-over-smallint"),
    check=check,
)
