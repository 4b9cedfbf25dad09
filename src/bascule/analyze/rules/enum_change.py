"""B408 enum-change: ALTER TYPE ... ADD VALUE refused in a transaction (before PostgreSQL 12) or used before
commit, RENAME VALUE, and CREATE TYPE ... AS ENUM."""

from __future__ import annotations

from bascule.analyze.facts import names_of
from bascule.analyze.model import Rule

# Statements whose string constants are evaluated when they run (a literal cast to the enum there fails).
_USES = ("InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt", "SelectStmt", "AlterTableStmt", "CreateStmt",
         "IndexStmt", "ViewStmt", "CreateTableAsStmt", "AlterDomainStmt", "CreateDomainStmt")


_cache: list = [None, None]  # [statements, enum types created]: one migration at a time


def _created_types(s) -> dict[str, int]:
    """The enum types this migration creates (bare name → index of the CREATE TYPE), computed once."""
    if _cache[0] is not s.statements:
        created: dict[str, int] = {}
        for st in s.statements:
            if st.kind == "CreateEnumStmt":
                created.setdefault((names_of((st.node or {}).get("typeName")) or [""])[-1], st.index)
        _cache[:] = [s.statements, created]
    return _cache[1]


def _wrapped_before_12(s) -> bool:
    """Whether the ADD VALUE would be sent inside a transaction block before PostgreSQL 12: bascule's
    runner already runs such a migration statement by statement, so only transaction = "always" or
    another tool wraps it."""
    mode = s.unit.transaction
    if mode != "auto":
        return mode == "always"
    if s.opts.runner == "other":
        return not any(st.no_transaction for st in s.statements)
    return False


def _type_name(node: dict) -> str:
    return ".".join(names_of(node.get("typeName")))


def _created_here(s, name: str) -> bool:
    """The enum type was created earlier in this migration."""
    at = _created_types(s).get(name.rsplit(".", 1)[-1])
    return at is not None and at < s.st.index


def _constants(node, wanted: dict[str, str]):
    """(value, location) of every string constant in the tree whose value is in `wanted`, skipping
    constants cast to a type other than the enum they would match."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, dict):
            tc = n.get("TypeCast")
            if tc is not None:
                arg = (tc.get("arg") or {}).get("A_Const") or {}
                val = (arg.get("sval") or {}).get("sval")
                if val in wanted:
                    target = (names_of((tc.get("typeName") or {}).get("names")) or [""])[-1]
                    if target != wanted[val].rsplit(".", 1)[-1]:
                        continue  # 'x'::text: not the enum
            c = n.get("A_Const")
            if c is not None:
                val = (c.get("sval") or {}).get("sval")
                if val in wanted:
                    yield val, c.get("location")
                continue
            stack.extend(v for v in n.values() if isinstance(v, (dict, list)))
        elif isinstance(n, list):
            stack.extend(v for v in n if isinstance(v, (dict, list)))


def _add_value_line(s, typ: str, value: str) -> int | None:
    bare_name = typ.rsplit(".", 1)[-1]
    for st in s.statements[:s.st.index]:
        node = st.node or {}
        if st.kind == "AlterEnumStmt" and node.get("newVal") == value and not node.get("oldVal") \
                and (names_of(node.get("typeName")) or [""])[-1] == bare_name:
            return st.line
    return None


def check(s):
    tag, node = s.tag, s.node
    if tag == "CreateEnumStmt":
        yield s.finding(RULE, f"CREATE TYPE {_type_name(node)} AS ENUM: values can be added later but never "
                              f"removed or reordered without recreating the type and rewriting every column that "
                              f"uses it", severity="info")
        return
    if tag == "AlterEnumStmt":
        typ = _type_name(node)
        if node.get("oldVal"):
            yield s.finding(RULE, f"ALTER TYPE {typ} RENAME VALUE '{node['oldVal']}' TO '{node.get('newVal')}': "
                                  f"code already running still writes and compares '{node['oldVal']}', which now "
                                  f"fails as an invalid input value", severity="warning")
            return
        if s.version < 12 and _wrapped_before_12(s) and not _created_here(s, typ):
            yield s.finding(RULE, f"ALTER TYPE {typ} ADD VALUE '{node.get('newVal')}' inside a transaction block: "
                                  f"PostgreSQL {s.version} refuses it (allowed from PostgreSQL 12); run it outside "
                                  f"a transaction, in a migration of its own")
        return
    added = s.known.enum_values_added_now
    if not added or s.version < 12 or not s.transactional:
        return  # not one transaction: the ADD VALUE committed before this statement
    wanted: dict[str, str] = {}
    for typ, values in added.items():
        if s.version >= 17 and _created_here(s, typ):
            continue  # PostgreSQL 17+: values added to a type created in the same transaction are usable
        for v in values:
            wanted.setdefault(v, typ)
    sql = s.st.sql
    if not wanted or not any(v in sql for v in wanted):  # cheap: most statements hold none of them
        return
    found = min(_constants(node, wanted), key=lambda vl: vl[1] if vl[1] is not None else -1, default=None)
    if found is not None:
        value, loc = found
        typ = wanted[value]
        line = _add_value_line(s, typ, value)
        where = f" (line {line})" if line else ""
        yield s.finding(RULE, f"'{value}' was added to enum {typ} by ALTER TYPE ... ADD VALUE{where} in this same "
                              f"transaction: PostgreSQL refuses to use it before commit (unsafe use of new value)",
                        location=loc)


RULE = Rule(
    code="B408", name="enum-change", severity="error", category="compatibility",
    summary="enum changes: ADD VALUE in a transaction, a new value used before commit, RENAME VALUE, new enums",
    why="Before PostgreSQL 12, ALTER TYPE ... ADD VALUE cannot run inside a transaction block (unless the type "
        "was created in the same transaction). From 12 on it can, but the new value cannot be used until the "
        "transaction commits: a later statement of the same migration that writes or compares it fails with "
        "\"unsafe use of new value\". RENAME VALUE changes a label that running code still sends. And an enum "
        "only grows at the end or between values: removing or reordering values means a new type and a rewrite "
        "of every column using it.",
    fix="Add the value in a migration of its own (bascule runs it outside a transaction before PostgreSQL 12) "
        "and use it in a later migration. Instead of renaming a value, add the new one, migrate the rows and "
        "code, and stop using the old one. For sets of values that change often, a lookup table with a foreign "
        "key, or text with a CHECK constraint, is easier to change.",
    kinds=("CreateEnumStmt", "AlterEnumStmt") + _USES,
    peers=("Eugene W13 (creating an enum)",),
    check=check,
)
