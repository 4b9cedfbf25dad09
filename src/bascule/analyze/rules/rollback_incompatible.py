"""B602 rollback-incompatible (opt-in): changes after which the previous release of the application no
longer works as it did, so the application cannot simply be rolled back: new columns, attributes and enum
values it does not know, new write restrictions, changed defaults, generation expressions and sequences,
detached partitions, dropped indexes, disabled triggers and rules, replaced views and functions, and a
changed replica identity."""

from __future__ import annotations

from bascule.analyze.facts import bare, constraint_defs, names_of, relkey
from bascule.analyze.model import Rule
from bascule.analyze.rules._objects import SEQUENCE_VALUE_OPTIONS, created_here, named, runs

_RESTRICTIONS = {"CONSTR_CHECK": "CHECK", "CONSTR_FOREIGN": "FOREIGN KEY", "CONSTR_UNIQUE": "UNIQUE",
                 "CONSTR_PRIMARY": "PRIMARY KEY", "CONSTR_EXCLUSION": "EXCLUDE", "CONSTR_NOTNULL": "NOT NULL"}
_TRIGGERS_OFF = {"AT_DisableTrig": "DISABLE TRIGGER", "AT_DisableTrigAll": "DISABLE TRIGGER ALL",
                 "AT_DisableTrigUser": "DISABLE TRIGGER USER", "AT_EnableReplicaTrig": "ENABLE REPLICA TRIGGER"}
_RULES_OFF = {"AT_DisableRule": "DISABLE RULE", "AT_EnableReplicaRule": "ENABLE REPLICA RULE"}

_AFTER = "after a rollback"


def _seq_options(items) -> list[tuple[str, int | None]]:
    out = []
    for o in items or ():
        d = o.get("DefElem") or {}
        if d.get("defname") in SEQUENCE_VALUE_OPTIONS:
            out.append(("AS" if d["defname"] == "as" else d["defname"].upper(), d.get("location")))
    return out


def _alter_type(s, node: dict):
    rel = node.get("relation") or {}
    name = relkey(rel)
    if not name or created_here(s, "OBJECT_TYPE", rel.get("relname", "")):
        return
    for cmd in node.get("cmds") or ():
        c = cmd.get("AlterTableCmd") or {}
        if c.get("subtype") == "AT_AddColumn":
            cd = (c.get("def") or {}).get("ColumnDef") or {}
            yield s.finding(RULE, f"new attribute {cd.get('colname')} of composite type {name}: {_AFTER}, the "
                                  "previous release builds and reads values of the type without it",
                            location=cd.get("location"))


def _alter_table(s, node: dict):
    if node.get("objtype", "OBJECT_TABLE") == "OBJECT_TYPE":
        yield from _alter_type(s, node)
        return
    if node.get("objtype", "OBJECT_TABLE") not in ("OBJECT_TABLE", "OBJECT_FOREIGN_TABLE"):
        return
    table = relkey(node.get("relation"))
    if not table or s.is_new(table):
        return
    for cmd in node.get("cmds") or ():
        c = cmd.get("AlterTableCmd") or {}
        sub = c.get("subtype")
        d = c.get("def") or {}
        col = c.get("name")
        if sub == "AT_AddColumn":
            cd = d.get("ColumnDef") or {}
            new = cd.get("colname")
            types = {x.get("contype") for x in constraint_defs(cd)}
            kind = "new generated column" if "CONSTR_GENERATED" in types else "new column"
            yield s.finding(RULE, f"{kind} {table}.{new}: {_AFTER}, the previous release's SELECT * and "
                                  "INSERT/COPY without a column list see a column they were not written for",
                            table=table, location=cd.get("location"))
        elif sub == "AT_AddConstraint":
            con = d.get("Constraint") or {}
            kind = _RESTRICTIONS.get(con.get("contype"))
            if kind is None or (con.get("indexname") and created_here(s, "OBJECT_INDEX", con["indexname"])):
                continue  # USING INDEX of a unique index built in this migration: reported at CREATE INDEX
            name = f" {con['conname']}" if con.get("conname") else ""
            nv = ", NOT VALID but checked on every new write" if con.get("skip_validation") else ""
            yield s.finding(RULE, f"new write restriction on {table} ({kind}{name}{nv}): {_AFTER}, the previous "
                                  "release may write rows it rejects", table=table, location=con.get("location"))
        elif sub == "AT_SetNotNull":
            if s.known.is_new_column(table, col):
                continue
            yield s.finding(RULE, f"new write restriction on {table} (SET NOT NULL on {col}): {_AFTER}, the "
                                  f"previous release's writes of NULL to {col} fail", table=table)
        elif sub == "AT_ColumnDefault" and d:
            if s.known.is_new_column(table, col):
                continue
            yield s.finding(RULE, f"SET DEFAULT on {table}.{col}: {_AFTER}, inserts of the previous release that "
                                  f"leave {col} out store the new default", table=table)
        elif sub == "AT_SetExpression":
            yield s.finding(RULE, f"SET EXPRESSION on {table}.{col}: {_AFTER}, the previous release reads values "
                                  "computed by the new expression", table=table)
        elif sub == "AT_SetIdentity":
            changed = _seq_options((d.get("List") or {}).get("items"))
            if changed and not runs(s, "B216", "alter-identity"):  # B216 reports these when it runs
                yield s.finding(RULE, f"sequence value change on the identity of {table}.{col} "
                                      f"({', '.join(k for k, _ in changed)}): the values the previous release's "
                                      "inserts get change, and a rollback does not restore the sequence",
                                table=table, location=changed[0][1])
        elif sub == "AT_DetachPartition":
            part = relkey((d.get("PartitionCmd") or {}).get("name"))
            yield s.finding(RULE, f"DETACH PARTITION {part} from {table}: {_AFTER}, the previous release's queries "
                                  f"on {table} no longer see the rows of {part}, and its inserts for that range "
                                  "fail", table=table)
        elif sub == "AT_DropInherit":
            parent = relkey(d.get("RangeVar"))
            yield s.finding(RULE, f"NO INHERIT {parent} on {table}: {_AFTER}, the previous release's queries on "
                                  f"{parent} no longer see the rows of {table}", table=table)
        elif sub in _TRIGGERS_OFF:
            which = f"{_TRIGGERS_OFF[sub]} {col}" if col else _TRIGGERS_OFF[sub]
            what = "the trigger does" if col else "its triggers do"
            yield s.finding(RULE, f"{which} on {table}: what {what} on each write stops, for the previous "
                                  "release too", table=table)
        elif sub in _RULES_OFF:
            yield s.finding(RULE, f"{_RULES_OFF[sub]} {col} on {table}: the rule stops rewriting queries, for the "
                                  "previous release too", table=table)
        elif sub == "AT_ReplicaIdentity":
            ri = (d.get("ReplicaIdentityStmt") or {})
            how = {"d": "DEFAULT", "f": "FULL", "n": "NOTHING", "i": f"USING INDEX {ri.get('name')}"}.get(
                ri.get("identity_type"), "?")
            effect = ("UPDATE and DELETE on it fail while a publication publishes them" if how == "NOTHING" else
                      "logical replication and change-data-capture consumers receive different old-row data for "
                      "UPDATE and DELETE")
            yield s.finding(RULE, f"REPLICA IDENTITY {how} on {table}: {effect}", table=table)


def _drop(s, node: dict):
    rt = node.get("removeType")
    if rt == "OBJECT_INDEX":
        for obj in node.get("objects") or ():
            name, key, _t, _l = named(rt, obj)
            hit = s.known.indexes.get(bare(key))
            owner = hit[0] if hit else s.known.index_table(key)
            if created_here(s, rt, key) or (owner and s.is_new(owner)):
                continue
            unique = bool(hit and hit[1])
            why = ("duplicates can be written again, and its INSERT ... ON CONFLICT on those columns fails"
                   if unique else "its queries that use the index get slower plans")
            yield s.finding(RULE, f"DROP INDEX {name}{' (unique)' if unique else ''}: {_AFTER}, the previous "
                                  f"release still relies on it: {why}", table=owner)
    elif rt in ("OBJECT_TRIGGER", "OBJECT_RULE"):
        if rt == "OBJECT_TRIGGER" and runs(s, "B211", "drop-other-object"):
            return  # B211 reports every dropped trigger
        kind = "TRIGGER" if rt == "OBJECT_TRIGGER" else "RULE"
        for obj in node.get("objects") or ():
            name, key, table, _l = named(rt, obj)
            if (table and s.is_new(table)) or created_here(s, rt, key):
                continue
            yield s.finding(RULE, f"DROP {kind} {name}: {_AFTER}, the previous release still relies on what it "
                                  "did on each write", table=table)


def check(s):
    node, tag = s.node, s.tag
    if tag == "AlterTableStmt":
        yield from _alter_table(s, node)
    elif tag == "DropStmt":
        yield from _drop(s, node)
    elif tag == "IndexStmt":
        table = relkey(node.get("relation"))
        if node.get("unique") and table and not s.is_new(table):
            name = f" {node['idxname']}" if node.get("idxname") else ""
            how = " CONCURRENTLY" if node.get("concurrent") else ""
            yield s.finding(RULE, f"new write restriction on {table} (UNIQUE INDEX{name}{how}): {_AFTER}, the "
                                  "previous release may write duplicates it rejects", table=table,
                            location=node.get("location"))
    elif tag == "AlterEnumStmt":
        if node.get("oldVal") or not node.get("newVal"):
            return  # RENAME VALUE: B408
        nm = names_of(node.get("typeName"))
        if created_here(s, "OBJECT_TYPE", (nm or ["?"])[-1]):
            return
        yield s.finding(RULE, f"new enum value '{node['newVal']}' of {'.'.join(nm)}: {_AFTER}, the previous "
                              "release may read rows holding a value it does not know")
    elif tag == "AlterSeqStmt":
        seq = node.get("sequence") or {}
        changed = _seq_options(node.get("options"))
        if not changed or created_here(s, "OBJECT_SEQUENCE", seq.get("relname", "")) or s.is_new(relkey(seq)):
            return
        yield s.finding(RULE, f"sequence value change on {relkey(seq)} ({', '.join(k for k, _ in changed)}): the "
                              "values the previous release's inserts get change, and a rollback does not restore "
                              "the sequence", location=changed[0][1])
    elif tag == "ViewStmt" and node.get("replace"):
        view = node.get("view") or {}
        if created_here(s, "OBJECT_VIEW", view.get("relname", "")):
            return
        yield s.finding(RULE, f"CREATE OR REPLACE VIEW {relkey(view)}: {_AFTER}, the previous release reads the new "
                              "definition, which it was not written for", table=relkey(view),
                        location=view.get("location"))
    elif tag == "CreateFunctionStmt" and node.get("replace"):
        nm = names_of(node.get("funcname"))
        if created_here(s, "OBJECT_FUNCTION", (nm or ["?"])[-1]):
            return
        kind = "PROCEDURE" if node.get("is_procedure") else "FUNCTION"
        yield s.finding(RULE, f"CREATE OR REPLACE {kind} {'.'.join(nm)}: {_AFTER}, the previous release calls the "
                              "new body, which it was not written for")


RULE = Rule(
    code="B602", name="rollback-incompatible", severity="warning", category="compatibility",
    summary="after this migration the previous release of the application may not work (no app rollback)",
    why="Rolling back a deploy usually means running the previous release against the migrated schema, because "
        "migrations are rarely reverted. That release was written for the old schema: it does not know new "
        "columns, attributes or enum values, it may write rows that new constraints or unique indexes reject, it "
        "relies on dropped indexes, disabled triggers, old defaults, old view and function definitions and old "
        "sequence values. Each of these keeps the current release working but breaks or changes the previous one.",
    fix="Split the change so that each release works with both schemas: add what is new in a migration the "
        "previous release tolerates, deploy, and only then restrict or remove (expand and contract). When a "
        "change cannot be made compatible, suppress the finding with the reason and plan a forward fix instead "
        "of an application rollback.",
    kinds=("AlterTableStmt", "DropStmt", "IndexStmt", "AlterEnumStmt", "AlterSeqStmt", "ViewStmt",
           "CreateFunctionStmt"),
    peers=("squawk ban-add-column", "squawk ban-add-composite-attribute", "squawk ban-add-enum-value",
           "squawk ban-new-write-restriction", "squawk ban-set-default", "squawk ban-alter-generated-expression",
           "squawk ban-alter-sequence-values", "squawk ban-detach-inheritance", "squawk ban-drop-index",
           "squawk ban-drop-trigger", "squawk ban-disable-trigger", "squawk ban-replace-view-function",
           "squawk ban-replica-identity"),
    default_on=False,
    check=check,
)
