"""B115 table-rewrite-other: the other ALTER TABLE forms that rewrite the table under ACCESS EXCLUSIVE:
SET TABLESPACE, SET ACCESS METHOD, SET LOGGED / SET UNLOGGED, ADD COLUMN of a domain with constraints, and
any rewrite the facts find that B111-B114 do not cover."""

from __future__ import annotations

from bascule.analyze.facts import AE, SERIAL, constraint_defs, type_ref, volatile
from bascule.analyze.model import Rule

_WHY = {
    "AT_SetTableSpace": "copies every block of {t} to the new tablespace",
    "AT_SetAccessMethod": "rewrites every row of {t} into the new access method",
    "AT_SetLogged": "rewrites {t} and writes all of it to the WAL",
    "AT_SetUnLogged": "rewrites {t} into a new unlogged file",
}


def _covered(s, cd: dict) -> bool:
    """ADD COLUMN cases reported by B112 (default), B113 (generated) or B114 (serial, identity)."""
    cons = constraint_defs(cd)
    types = {k.get("contype") for k in cons}
    t = type_ref(cd.get("typeName"))
    if types & {"CONSTR_IDENTITY", "CONSTR_GENERATED"} or (t is not None and t.name in SERIAL):
        return True
    default = next((k.get("raw_expr") for k in cons if k.get("contype") == "CONSTR_DEFAULT"), None)
    return default is not None and (s.version < 11 or volatile(default, s.known) is not None)


def check(s):
    rewrites = s.facts.rewrites
    if not rewrites:
        return
    covered: set[str] = set()  # columns another rule reports
    domains: dict[str, str] = {}
    forms: list[str] = []
    for cmd in s.node.get("cmds") or ():
        c = cmd.get("AlterTableCmd") or {}
        sub = c.get("subtype")
        if sub == "AT_AlterColumnType":
            covered.add(c.get("name"))
        elif sub == "AT_AddColumn":
            cd = (c.get("def") or {}).get("ColumnDef") or {}
            if _covered(s, cd):
                covered.add(cd.get("colname"))
            else:
                t = type_ref(cd.get("typeName"))
                domains[cd.get("colname")] = t.name if t is not None else "?"
        elif sub in _WHY:
            forms.append(sub)
    for e in rewrites:
        if e.column is not None:
            if e.column in covered:
                continue
            t = e.table
            if e.column in domains:
                msg = (f"ADD COLUMN {e.column} of domain {domains[e.column]} on {t}: the domain's constraints are "
                       f"checked by rewriting every row of {t} under ACCESS EXCLUSIVE; reads and writes wait until "
                       "it finishes")
            else:
                msg = f"{e.reason}: rewrites {t} under ACCESS EXCLUSIVE; reads and writes wait until it finishes"
            yield s.finding(RULE, msg, table=t, location=e.location, lock=AE, rewrite=True)
            continue
        t = e.table
        sub = next((f for f in forms if _label(f) in e.reason), None)
        if sub is not None:
            forms.remove(sub)
            msg = (f"ALTER TABLE {t} {_label(sub)} {_WHY[sub].format(t=t)} under ACCESS EXCLUSIVE: reads and writes "
                   f"of {t} wait until it finishes")
        else:
            msg = f"ALTER TABLE {t}: {e.reason} rewrites {t} under ACCESS EXCLUSIVE; reads and writes wait until it finishes"
        yield s.finding(RULE, msg, table=t, location=e.location, lock=AE, rewrite=True)


def _label(sub: str) -> str:
    return {"AT_SetTableSpace": "SET TABLESPACE", "AT_SetAccessMethod": "SET ACCESS METHOD",
            "AT_SetLogged": "SET LOGGED", "AT_SetUnLogged": "SET UNLOGGED"}[sub]


RULE = Rule(
    code="B115", name="table-rewrite-other", severity="error", category="rewrite",
    summary="ALTER TABLE SET TABLESPACE / SET ACCESS METHOD / SET LOGGED / SET UNLOGGED, or ADD COLUMN of a "
            "constrained domain, rewrites the whole table",
    why="These forms make PostgreSQL write a new copy of the table (and rebuild its indexes) while holding ACCESS "
        "EXCLUSIVE, so every read and write waits for the whole copy. SET LOGGED also writes the entire table to "
        "the WAL. Adding a column whose type is a domain with CHECK or NOT NULL constraints rewrites too: "
        "PostgreSQL checks the domain against every existing row by rewriting it.",
    fix="Move or convert large tables with a tool that copies online (pg_repack, or a new table filled in batches "
        "and swapped in), or schedule a maintenance window. For a constrained domain, add the column with the "
        "base type and a table CHECK constraint added NOT VALID, then VALIDATE CONSTRAINT (no rewrite, and reads "
        "and writes continue during validation).",
    alter_subtypes=frozenset({"AT_SetTableSpace", "AT_SetAccessMethod", "AT_SetLogged", "AT_SetUnLogged", "AT_AlterColumnType", "AT_AddColumn"}),
    kinds=("AlterTableStmt",),
    peers=("Eugene E10 (trace)",),
    check=check,
)
