"""B213 drop-constraint: ALTER TABLE ... DROP CONSTRAINT on a table that existed before the migration."""

from __future__ import annotations

from bascule.analyze.facts import bare, dropped_names, relkey
from bascule.analyze.model import Rule

_WHAT = {
    "CONSTR_FOREIGN": ("FOREIGN KEY", "rows pointing at missing parent rows can be written from now on, and code "
                                      "that relies on the join finding its row gets none"),
    "CONSTR_CHECK": ("CHECK", "values it refused can be written from now on, and code or reports that assume "
                              "them valid get values they were not written for"),
    "CONSTR_UNIQUE": ("UNIQUE constraint", "its index goes with it: duplicates can be written, INSERT ... ON "
                                           "CONFLICT on those columns fails, and lookups that used the index scan"),
    "CONSTR_PRIMARY": ("PRIMARY KEY", "its index goes with it: duplicate keys can be written, INSERT ... "
                                      "ON CONFLICT on the key fails, and lookups by key scan the table"),
    "CONSTR_EXCLUSION": ("EXCLUDE constraint", "its index goes with it: conflicting rows can be written"),
    "CONSTR_NOTNULL": ("NOT NULL constraint", "NULLs can be written from now on"),
}


def _added_again(s, table: str, name: str) -> bool:
    """A later statement of the migration adds a constraint of the same name to the table (a redefinition)."""
    after = False
    for st in s.statements:
        if st is s.st:
            after = True
            continue
        node = st.node or {}
        if not after or st.kind != "AlterTableStmt" or bare(relkey(node.get("relation")) or "") != bare(table):
            continue
        for cmd in node.get("cmds") or ():
            c = cmd.get("AlterTableCmd") or {}
            if c.get("subtype") == "AT_AddConstraint" and ((c.get("def") or {}).get("Constraint") or {}).get(
                    "conname") == name:
                return True
    return False


def _table_dropped_later(s, table: str) -> bool:
    """A later statement of the migration drops the table itself (Prisma drops a table's foreign keys first):
    no row can be written to it any more, so losing the constraint promises nothing less."""
    name = bare(table)
    return any(st.kind == "DropStmt" and (st.node or {}).get("removeType") == "OBJECT_TABLE"
               and any(bare(n) == name for n in dropped_names(st.node or {}))
               for st in s.statements[s.st.index + 1:])


def check(s):
    node = s.node
    if node.get("objtype", "OBJECT_TABLE") not in ("OBJECT_TABLE", "OBJECT_FOREIGN_TABLE"):
        return
    table = relkey(node.get("relation"))
    if not table or s.is_new(table) or (s.transactional and _table_dropped_later(s, table)):
        return
    for cmd in node.get("cmds") or ():
        c = cmd.get("AlterTableCmd") or {}
        if c.get("subtype") != "AT_DropConstraint" or not c.get("name"):
            continue
        name = c["name"]
        if s.transactional and _added_again(s, table, name):
            continue  # redefined in the same transaction: never missing for other sessions
        proved = s.known.check_names.get((bare(table), name))
        if proved and s.known.column_not_null(table, proved):
            continue  # a CHECK (col IS NOT NULL) on a column that is NOT NULL now: the promise stays kept
        kind = s.known.constraint_type(table, name)
        if kind in _WHAT:
            label, effect = _WHAT[kind]
            msg = f"DROP CONSTRAINT {name} on {table} removes a {label}: {effect}"
        else:
            msg = (f"DROP CONSTRAINT {name} on {table}: rows it refused can be written from now on, whatever running "
                   "code assumes; if it is a UNIQUE or PRIMARY KEY its index goes too, and INSERT ... ON CONFLICT on "
                   "it fails")
        if c.get("behavior") == "DROP_CASCADE":
            msg += "; CASCADE also drops the foreign keys of other tables that depend on it"
        yield s.finding(RULE, msg, table=table)


RULE = Rule(
    code="B213", name="drop-constraint", severity="warning", category="compatibility",
    summary="dropping a constraint removes a guarantee that running code and other data may rely on",
    why="A constraint is a promise about the data that every reader can build on: a foreign key that the parent "
        "row exists, a CHECK that values are in range, UNIQUE that a lookup finds at most one row. DROP CONSTRAINT "
        "is instant, and from then on nothing keeps that promise. Dropping a UNIQUE or PRIMARY KEY constraint also "
        "drops its index: queries that used it scan the table, and INSERT ... ON CONFLICT naming those columns "
        "fails because no unique index matches.",
    fix="Make sure nothing relies on the constraint any more (code, ON CONFLICT targets, other services), then "
        "drop it and say why in a suppression. To change a CHECK, add the new one NOT VALID and VALIDATE it "
        "before dropping the old one; to replace a UNIQUE index, build the new one CONCURRENTLY first.",
    alter_subtypes=frozenset({"AT_DropConstraint"}),
    kinds=("AlterTableStmt",),
    peers=("squawk ban-drop-constraint", "Atlas CD101"),
    check=check,
)
