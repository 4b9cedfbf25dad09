"""Shared by the rules about objects other than tables and columns (B211, B212, B215, B216, B602):
how a DROP/RENAME/SET SCHEMA names its object, and whether the migration itself created that object
earlier (then nobody uses it yet and the change is harmless).

Not a rule module (it is not listed in rules.MODULES).
"""

from __future__ import annotations

from bascule.analyze.facts import bare, names_of, relkey, type_ref

# Objects that share one namespace are one group: a DROP VIEW v after CREATE VIEW v, a RENAME of an
# index created by CREATE INDEX, DROP ROUTINE of a function...
GROUP = {
    "OBJECT_TABLE": "rel", "OBJECT_VIEW": "rel", "OBJECT_MATVIEW": "rel", "OBJECT_SEQUENCE": "rel",
    "OBJECT_FOREIGN_TABLE": "rel", "OBJECT_INDEX": "rel",
    "OBJECT_TYPE": "type", "OBJECT_DOMAIN": "type",
    "OBJECT_FUNCTION": "func", "OBJECT_PROCEDURE": "func", "OBJECT_ROUTINE": "func", "OBJECT_AGGREGATE": "func",
}

# What the parser's object types are called in SQL.
LABEL = {
    "OBJECT_TABLE": "TABLE", "OBJECT_VIEW": "VIEW", "OBJECT_MATVIEW": "MATERIALIZED VIEW",
    "OBJECT_SEQUENCE": "SEQUENCE", "OBJECT_FOREIGN_TABLE": "FOREIGN TABLE", "OBJECT_INDEX": "INDEX",
    "OBJECT_TYPE": "TYPE", "OBJECT_DOMAIN": "DOMAIN", "OBJECT_FUNCTION": "FUNCTION",
    "OBJECT_PROCEDURE": "PROCEDURE", "OBJECT_ROUTINE": "ROUTINE", "OBJECT_AGGREGATE": "AGGREGATE",
    "OBJECT_CAST": "CAST", "OBJECT_EXTENSION": "EXTENSION", "OBJECT_SCHEMA": "SCHEMA",
    "OBJECT_TRIGGER": "TRIGGER", "OBJECT_POLICY": "POLICY", "OBJECT_RULE": "RULE",
    "OBJECT_TABCONSTRAINT": "CONSTRAINT", "OBJECT_DOMCONSTRAINT": "CONSTRAINT", "OBJECT_OPERATOR": "OPERATOR",
    "OBJECT_COLLATION": "COLLATION", "OBJECT_TSCONFIGURATION": "TEXT SEARCH CONFIGURATION",
    "OBJECT_TSDICTIONARY": "TEXT SEARCH DICTIONARY", "OBJECT_FOREIGN_SERVER": "SERVER",
    "OBJECT_FDW": "FOREIGN DATA WRAPPER", "OBJECT_ATTRIBUTE": "ATTRIBUTE", "OBJECT_DATABASE": "DATABASE",
    "OBJECT_ROLE": "ROLE", "OBJECT_STATISTIC_EXT": "STATISTICS", "OBJECT_OPCLASS": "OPERATOR CLASS",
    "OBJECT_OPFAMILY": "OPERATOR FAMILY", "OBJECT_EVENT_TRIGGER": "EVENT TRIGGER",
    "OBJECT_PUBLICATION": "PUBLICATION", "OBJECT_SUBSCRIPTION": "SUBSCRIPTION", "OBJECT_TABLESPACE": "TABLESPACE",
    "OBJECT_LANGUAGE": "LANGUAGE", "OBJECT_CONVERSION": "CONVERSION",
}

# sequence options (ALTER SEQUENCE, identity columns) that change which values inserts get; CACHE, START WITH
# and OWNED BY do not
SEQUENCE_VALUE_OPTIONS = ("restart", "increment", "minvalue", "maxvalue", "cycle", "as")

# Objects that belong to one table: their name is unique per table, so the key is "table.name".
PER_TABLE = ("OBJECT_TRIGGER", "OBJECT_POLICY", "OBJECT_RULE", "OBJECT_TABCONSTRAINT")


def group(objtype: str) -> str:
    return GROUP.get(objtype, objtype)


def label(objtype: str) -> str:
    return LABEL.get(objtype, objtype.removeprefix("OBJECT_").replace("_", " "))


def _type_name(tn: dict | None) -> str:
    t = type_ref(tn)
    return t.name if t is not None else "?"


def named(objtype: str, obj: dict) -> tuple[str, str, str | None, int | None]:
    """(name as written, lookup key, table it belongs to, location) of one object of a DropStmt's
    `objects` or a RenameStmt/AlterObjectSchemaStmt's `object`."""
    if "ObjectWithArgs" in obj:
        nm = names_of(obj["ObjectWithArgs"].get("objname"))
        return ".".join(nm), (nm or ["?"])[-1], None, None
    if "TypeName" in obj:
        nm = names_of(obj["TypeName"].get("names"))
        return ".".join(nm), (nm or ["?"])[-1], None, obj["TypeName"].get("location")
    if "String" in obj:
        return obj["String"]["sval"], obj["String"]["sval"], None, None
    items = (obj.get("List") or {}).get("items") or ()
    if objtype == "OBJECT_CAST" and len(items) == 2:
        src, tgt = type_ref(items[0].get("TypeName")), type_ref(items[1].get("TypeName"))
        return (f"({src} AS {tgt})", f"{_type_name(items[0].get('TypeName'))}->{_type_name(items[1].get('TypeName'))}",
                None, (items[0].get("TypeName") or {}).get("location"))
    nm = names_of(items)
    if objtype in PER_TABLE and len(nm) >= 2:
        table = ".".join(nm[:-1])
        return f"{nm[-1]} ON {table}", f"{bare(table)}.{nm[-1]}", table, None
    if objtype in ("OBJECT_OPCLASS", "OBJECT_OPFAMILY") and len(nm) >= 2:
        nm = nm[1:]  # the access method comes first
    return ".".join(nm) or "?", (nm or ["?"])[-1], None, None


# -- objects the migration created ------------------------------------------------------------------

_cache: list = [None, ()]  # [statements, ((index, group, key), ...)]: one migration at a time


def _created(stmts) -> tuple:
    if _cache[0] is not stmts:
        _cache[:] = [stmts, tuple(_collect(stmts))]
    return _cache[1]


def _collect(stmts):
    """(statement index, group, key) for every object a plain CREATE (not OR REPLACE, not IF NOT EXISTS:
    those may find it already there) or a rename of such an object makes."""
    made: set[tuple[str, str]] = set()
    for st in stmts:
        node = st.node or {}
        tag = st.kind
        found: list[tuple[str, str]] = []
        if node.get("if_not_exists") or node.get("replace"):
            pass
        elif tag == "CreateStmt" and relkey(node.get("relation")):
            found.append(("rel", node["relation"]["relname"]))
        elif tag == "CreateTableAsStmt":
            rel = (node.get("into") or {}).get("rel") or {}
            if rel.get("relname"):
                found.append(("rel", rel["relname"]))
        elif tag == "ViewStmt":
            found.append(("rel", (node.get("view") or {}).get("relname", "?")))
        elif tag == "CreateSeqStmt":
            found.append(("rel", (node.get("sequence") or {}).get("relname", "?")))
        elif tag == "IndexStmt" and node.get("idxname"):
            found.append(("rel", node["idxname"]))
        elif tag == "CompositeTypeStmt":
            found.append(("type", (node.get("typevar") or {}).get("relname", "?")))
        elif tag in ("CreateEnumStmt", "CreateRangeStmt"):
            found.append(("type", (names_of(node.get("typeName")) or ["?"])[-1]))
        elif tag == "CreateDomainStmt":
            found.append(("type", (names_of(node.get("domainname")) or ["?"])[-1]))
        elif tag == "DefineStmt":
            kind = node.get("kind", "")
            found.append((group(kind), (names_of(node.get("defnames")) or ["?"])[-1]))
        elif tag == "CreateFunctionStmt":
            found.append(("func", (names_of(node.get("funcname")) or ["?"])[-1]))
        elif tag == "CreateCastStmt":
            found.append(("OBJECT_CAST", f"{_type_name(node.get('sourcetype'))}->{_type_name(node.get('targettype'))}"))
        elif tag == "CreateExtensionStmt":
            found.append(("OBJECT_EXTENSION", node.get("extname", "?")))
        elif tag == "CreateSchemaStmt":
            found.append(("OBJECT_SCHEMA", node.get("schemaname", "?")))
        elif tag == "CreateForeignServerStmt":
            found.append(("OBJECT_FOREIGN_SERVER", node.get("servername", "?")))
        elif tag == "CreateFdwStmt":
            found.append(("OBJECT_FDW", node.get("fdwname", "?")))
        elif tag == "CreateTrigStmt":
            found.append(("OBJECT_TRIGGER", f"{(node.get('relation') or {}).get('relname')}.{node.get('trigname')}"))
        elif tag == "CreatePolicyStmt":
            found.append(("OBJECT_POLICY", f"{(node.get('table') or {}).get('relname')}.{node.get('policy_name')}"))
        elif tag == "RuleStmt":
            found.append(("OBJECT_RULE", f"{(node.get('relation') or {}).get('relname')}.{node.get('rulename')}"))
        elif tag == "AlterTableStmt":
            tb = (node.get("relation") or {}).get("relname")
            for cmd in node.get("cmds") or ():
                c = cmd.get("AlterTableCmd") or {}
                con = (c.get("def") or {}).get("Constraint") or {}
                if c.get("subtype") == "AT_AddConstraint" and con.get("conname"):
                    found.append(("OBJECT_TABCONSTRAINT", f"{tb}.{con['conname']}"))
        elif tag == "RenameStmt":
            old = _rename_key(node)
            if old is not None and old in made:
                g, key = old
                new = node.get("newname", "?")
                found.append((g, f"{key.rsplit('.', 1)[0]}.{new}" if node.get("renameType") in PER_TABLE else new))
        for item in found:
            made.add(item)
            yield st.index, item[0], item[1]


def _rename_key(node: dict) -> tuple[str, str] | None:
    rt = node.get("renameType", "")
    rel = node.get("relation")
    if rt in PER_TABLE and rel:
        return rt, f"{rel.get('relname')}.{node.get('subname')}"
    if rel and rt in GROUP:
        return group(rt), rel.get("relname", "?")
    if node.get("object"):
        return group(rt), named(rt, node["object"])[1]
    if node.get("subname"):
        return group(rt), node["subname"]
    return None


def created_here(s, objtype: str, key: str) -> bool:
    """An earlier statement of this migration created the object (group of `objtype`, bare `key`)."""
    g = group(objtype)
    here = s.st.index
    return any(i < here and gg == g and k == key for i, gg, k in _created(s.statements))


def runs(s, code: str, name: str) -> bool:
    """Rule `code` (`name`) runs in this lint (the same decision as rules.dispatch): a rule defers to
    another that already reports the same statement."""
    o = s.opts
    if code in o.disabled or name in o.disabled:
        return False
    if o.enabled_only is not None:
        return code in o.enabled_only or name in o.enabled_only
    return True
