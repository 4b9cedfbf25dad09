"""B113 add-column-generated-stored: ADD COLUMN ... GENERATED ALWAYS AS (...) STORED on an existing table."""

from __future__ import annotations

from bascule.analyze.facts import AE, constraint_defs
from bascule.analyze.model import Rule
from bascule.analyze.rules._alter import subcommands


def check(s):
    rewrites = s.facts.rewrites
    if not rewrites:
        return
    for c in subcommands(s.node, "AT_AddColumn"):
        cd = (c.get("def") or {}).get("ColumnDef") or {}
        col = cd.get("colname")
        gen = next((k for k in constraint_defs(cd) if k.get("contype") == "CONSTR_GENERATED"), None)
        if gen is None:
            continue
        eff = next((e for e in rewrites if e.column == col), None)
        if eff is None:
            continue  # PostgreSQL 18 VIRTUAL: computed when read
        table = eff.table
        hint = ("; on PostgreSQL 18 a VIRTUAL generated column needs no rewrite"
                if s.version >= 18 else "")
        yield s.finding(
            RULE, f"ADD COLUMN {col} GENERATED ALWAYS AS (...) STORED on {table} computes and writes the value for "
                  f"every existing row, rewriting {table} under ACCESS EXCLUSIVE: reads and writes wait until it "
                  f"finishes{hint}",
            table=table, location=eff.location, lock=AE, rewrite=True)


RULE = Rule(
    code="B113", name="add-column-generated-stored", severity="error", category="rewrite",
    summary="ADD COLUMN ... GENERATED ALWAYS AS (...) STORED rewrites the whole table",
    why="A stored generated column holds its value on disk, so adding one to an existing table makes PostgreSQL "
        "evaluate the expression for every row and write a new copy of the table and its indexes, all under an "
        "ACCESS EXCLUSIVE lock that blocks reads and writes.",
    fix="On PostgreSQL 18, add it as a VIRTUAL generated column (the default there when neither STORED nor "
        "VIRTUAL is written): the value is computed when read and nothing is rewritten. Before 18, add a plain "
        "column, fill it for new rows with a trigger, backfill existing rows in batches, or accept the rewrite "
        "in a maintenance window.",
    alter_subtypes=frozenset({"AT_AddColumn"}),
    kinds=("AlterTableStmt",),
    peers=("strong_migrations add_column_generated_stored", "Eugene E11"),
    check=check,
)
