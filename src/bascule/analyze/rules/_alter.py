"""Helpers for the ALTER TABLE rules (not a rule: the registry lists rules by name)."""

from __future__ import annotations

from bascule.analyze.facts import relkey

TABLE_KINDS = ("OBJECT_TABLE", "OBJECT_FOREIGN_TABLE")


def existing_table(s) -> str | None:
    """The table an ALTER TABLE statement changes, when it is a table (or foreign table) that
    existed before this migration; None otherwise (an index, a view, a table created here)."""
    node = s.node
    if node.get("objtype", "OBJECT_TABLE") not in TABLE_KINDS:
        return None
    table = relkey(node.get("relation"))
    return None if not table or s.is_new(table) else table


def subcommands(node: dict, *subtypes: str):
    """The AlterTableCmd of an ALTER TABLE statement whose subtype is one of `subtypes`."""
    for cmd in node.get("cmds") or ():
        c = cmd.get("AlterTableCmd") or {}
        if c.get("subtype") in subtypes:
            yield c


def added_constraints(node: dict, contypes):
    """(subtype, constraint, column definition or None) for each constraint of one of `contypes`
    that an ALTER TABLE adds: ADD CONSTRAINT ..., and the first such constraint written inline in
    an ADD COLUMN."""
    from bascule.analyze.facts import constraint_defs

    for c in subcommands(node, "AT_AddConstraint", "AT_AddColumn"):
        d = c.get("def") or {}
        if c["subtype"] == "AT_AddConstraint":
            con = d.get("Constraint") or {}
            if con.get("contype") in contypes:
                yield c["subtype"], con, None
        else:
            cd = d.get("ColumnDef") or {}
            con = next((x for x in constraint_defs(cd) if x.get("contype") in contypes), None)
            if con is not None:
                yield c["subtype"], con, cd


def inline_not_fixable(f, subtype: str):
    """--fix rewrites the ADD CONSTRAINT form only: the same constraint inline in ADD COLUMN is not."""
    if f is not None and subtype == "AT_AddColumn":
        f.fixable = False
    return f
