"""B407 identifier-too-long: a name the migration defines is longer than 63 bytes (NAMEDATALEN - 1)."""

from __future__ import annotations

from pglast import parser

from bascule.analyze.facts import constraint_defs, names_of
from bascule.analyze.model import Rule

LIMIT = 63  # NAMEDATALEN - 1, in bytes
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_RENAMED = {"OBJECT_TABLE": "table", "OBJECT_COLUMN": "column", "OBJECT_INDEX": "index", "OBJECT_VIEW": "view",
            "OBJECT_MATVIEW": "materialized view", "OBJECT_SEQUENCE": "sequence", "OBJECT_TYPE": "type",
            "OBJECT_DOMAIN": "domain", "OBJECT_FUNCTION": "function", "OBJECT_PROCEDURE": "procedure",
            "OBJECT_SCHEMA": "schema", "OBJECT_TRIGGER": "trigger", "OBJECT_TABCONSTRAINT": "constraint",
            "OBJECT_DOMCONSTRAINT": "constraint", "OBJECT_ATTRIBUTE": "attribute", "OBJECT_POLICY": "policy",
            "OBJECT_FOREIGN_TABLE": "foreign table"}


def _names(tag: str, node: dict):
    """(kind, name as the parser kept it) for every name the statement defines."""
    def cons(items):
        for c in items:
            if c.get("conname"):
                yield "constraint", c["conname"]

    def columns(cds):
        for e in cds or ():
            cd = e.get("ColumnDef")
            if cd:
                yield "column", cd.get("colname")
                yield from cons(constraint_defs(cd))

    if tag == "CreateStmt":
        yield "table", (node.get("relation") or {}).get("relname")
        yield from columns(node.get("tableElts"))
        yield from cons(e["Constraint"] for e in node.get("tableElts") or () if "Constraint" in e)
    elif tag == "IndexStmt":
        yield "index", node.get("idxname")
    elif tag == "CreateSeqStmt":
        yield "sequence", (node.get("sequence") or {}).get("relname")
    elif tag == "ViewStmt":
        yield "view", (node.get("view") or {}).get("relname")
        for a in names_of(node.get("aliases")):
            yield "column", a
    elif tag == "CreateTableAsStmt":
        into = node.get("into") or {}
        yield ("materialized view" if node.get("objtype") == "OBJECT_MATVIEW" else "table"), \
            (into.get("rel") or {}).get("relname")
        for a in names_of(into.get("colNames")):
            yield "column", a
    elif tag == "CompositeTypeStmt":
        yield "type", (node.get("typevar") or {}).get("relname")
        yield from columns(node.get("coldeflist"))
    elif tag == "CreateEnumStmt":
        yield "type", (names_of(node.get("typeName")) or [None])[-1]
    elif tag == "CreateDomainStmt":
        yield "domain", (names_of(node.get("domainname")) or [None])[-1]
        yield from cons(constraint_defs(node))
    elif tag == "CreateFunctionStmt":
        yield ("procedure" if node.get("is_procedure") else "function"), (names_of(node.get("funcname")) or [None])[-1]
    elif tag == "CreateSchemaStmt":
        yield "schema", node.get("schemaname")
    elif tag == "CreateTrigStmt":
        yield "trigger", node.get("trigname")
    elif tag == "AlterTableStmt":
        for cmd in node.get("cmds") or ():
            c = cmd.get("AlterTableCmd") or {}
            d = c.get("def") or {}
            if c.get("subtype") == "AT_AddColumn":
                yield from columns([d])
            elif c.get("subtype") == "AT_AddConstraint":
                yield from cons([d.get("Constraint") or {}])
    elif tag == "AlterDomainStmt":
        yield from cons([(node.get("def") or {}).get("Constraint") or {}])
    elif tag == "RenameStmt":
        yield _RENAMED.get(node.get("renameType"), "new"), node.get("newname")


def _value(text: str) -> str | None:
    """The identifier a token stands for, before truncation (None for U&"..." identifiers)."""
    if text.startswith('"'):
        return text[1:-1].replace('""', '"')
    if text[:2] in ("U&", "u&"):
        return None
    return text.translate(_ASCII_LOWER)


def check(s):
    # The parser has already cut every identifier to 63 bytes: a cut name is 60 to 63 bytes long (the cut
    # falls on a character boundary). Only then is the statement's text scanned for the original token.
    suspects: dict[str, str] = {}
    for kind, name in _names(s.tag, s.node):
        if name and len(name) >= 15 and len(name.encode()) >= LIMIT - 3:
            suspects.setdefault(name, kind)
    if not suspects:
        return
    sql = s.st.sql
    for tok in parser.scan(sql):
        if tok.name != "IDENT":
            continue
        value = _value(sql[tok.start:tok.end + 1])
        if value is None:
            continue
        raw = value.encode()
        if len(raw) <= LIMIT:
            continue
        cut = raw[:LIMIT].decode("utf-8", "ignore")
        kind = suspects.pop(cut, None)
        if kind is None:
            continue
        offset = tok.start if sql.isascii() else len(sql[:tok.start].encode())
        tail = raw[len(cut.encode()):].decode("utf-8", "ignore")
        yield s.finding(RULE, f'{kind} name "{value}" is {len(raw)} bytes: PostgreSQL silently cuts it to its '
                              f'first {LIMIT} bytes, dropping "{tail}"; any other name with the same first {LIMIT} '
                              f'bytes is the same name', location=s.st.node_base + offset)
        if not suspects:
            return


RULE = Rule(
    code="B407", name="identifier-too-long", severity="error", category="design",
    summary="an identifier longer than 63 bytes is silently truncated",
    why="PostgreSQL keeps at most 63 bytes of an identifier (NAMEDATALEN - 1; bytes, not characters, so fewer "
        "with accents or non-Latin scripts) and cuts longer ones with only a NOTICE. Two long names that share "
        "their first 63 bytes become the same name: the second CREATE fails or, with IF NOT EXISTS, silently "
        "does nothing, and code or tools that compare the full name never find the object.",
    fix="Shorten the name to 63 bytes or less (abbreviate the table part of index and constraint names: "
        "orders_customer_id_created_at_idx rather than the full column list).",
    alter_subtypes=frozenset({"AT_AddColumn", "AT_AddConstraint"}),
    kinds=("CreateStmt", "IndexStmt", "CreateSeqStmt", "ViewStmt", "CreateTableAsStmt", "CompositeTypeStmt",
           "CreateEnumStmt", "CreateDomainStmt", "CreateFunctionStmt", "CreateSchemaStmt", "CreateTrigStmt",
           "AlterTableStmt", "AlterDomainStmt", "RenameStmt"),
    peers=(),
    check=check,
)
