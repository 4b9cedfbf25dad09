"""Statement facts, read from the parse tree: which relations a statement locks and in which mode,
whether it rewrites a table, scans one while holding its lock, can run inside a transaction, is
backward-incompatible for application code already running, or destroys data.

Sources: PostgreSQL's documentation on explicit locking and ALTER TABLE (the lock each form
takes; "ACCESS EXCLUSIVE unless noted"), and the server's own rules for when ALTER TABLE must
rewrite or verify a table. Facts are plain data: rules read them, rehearsal shows the predicted
lock next to the observed one, and the plan document reuses them.

`statement_facts(tag, node, version, known)` takes an optional `known` (the analyzer's
`Knowledge` of the schema built from earlier statements, migrations and, with a connection, the
live catalog): it turns "may rewrite" into "rewrites" or "does not", and notices that a validated
CHECK (col IS NOT NULL) lets SET NOT NULL skip its scan.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Protocol

from bascule.analyze.builtins import NON_VOLATILE as BUILTIN_NON_VOLATILE
from bascule.analyze.builtins import VOLATILE as BUILTIN_VOLATILE

MODES = ("AccessShareLock", "RowShareLock", "RowExclusiveLock", "ShareUpdateExclusiveLock", "ShareLock",
         "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock")
RANK = {m: i for i, m in enumerate(MODES)}
AE, SUE, SRE, SHARE, RE, AS = ("AccessExclusiveLock", "ShareUpdateExclusiveLock", "ShareRowExclusiveLock",
                               "ShareLock", "RowExclusiveLock", "AccessShareLock")
EXCL = "ExclusiveLock"
NEWEST = 18
OLDEST = 12

# The names the PostgreSQL documentation uses (pg_locks says AccessExclusiveLock).
LOCK_NAMES = {AE: "ACCESS EXCLUSIVE", EXCL: "EXCLUSIVE", SRE: "SHARE ROW EXCLUSIVE", SHARE: "SHARE",
              SUE: "SHARE UPDATE EXCLUSIVE", RE: "ROW EXCLUSIVE", "RowShareLock": "ROW SHARE", AS: "ACCESS SHARE"}

# What each mode blocks, in the words a reviewer needs.
BLOCKS = {
    AE: "blocks reads and writes",
    EXCL: "blocks writes; reads continue",
    SRE: "blocks writes; reads continue",
    SHARE: "blocks writes; reads continue",
    SUE: "blocks other schema changes and VACUUM; reads and writes continue",
    RE: "row-level only",
    "RowShareLock": "row-level only",
    AS: "blocks only ACCESS EXCLUSIVE",
}

# ALTER TABLE subcommands that take less than ACCESS EXCLUSIVE (PostgreSQL 12+ documentation)
_ALTER_LOCKS = {
    "AT_ValidateConstraint": SUE,
    "AT_SetStatistics": SUE,
    "AT_SetOptions": SUE, "AT_ResetOptions": SUE,  # ALTER COLUMN SET/RESET (n_distinct ...)
    "AT_ClusterOn": SUE,
    "AT_DropCluster": SUE,
    "AT_SetRelOptions": SUE,  # fillfactor, autovacuum_* and most storage parameters
    "AT_ResetRelOptions": SUE,
    "AT_EnableTrig": SRE, "AT_EnableAlwaysTrig": SRE, "AT_EnableReplicaTrig": SRE, "AT_DisableTrig": SRE,
    "AT_EnableTrigAll": SRE, "AT_DisableTrigAll": SRE, "AT_EnableTrigUser": SRE, "AT_DisableTrigUser": SRE,
    "AT_AttachPartition": SUE,  # on the parent (12+); the partition itself: ACCESS EXCLUSIVE
    "AT_DetachPartitionFinalize": SUE,  # on the parent; the partition itself: ACCESS EXCLUSIVE
}
# Storage parameters that take ACCESS EXCLUSIVE even so (views', and these index access methods')
_AE_RELOPTIONS = frozenset({"user_catalog_table", "security_barrier", "security_invoker", "check_option",
                            "fastupdate", "gin_pending_list_limit", "buffering", "pages_per_range", "autosummarize"})
_LOCK_STMT_MODES = {1: AS, 2: "RowShareLock", 3: RE, 4: SUE, 5: SHARE, 6: SRE, 7: EXCL, 8: AE}

# Functions that are not volatile, so a DEFAULT using them is evaluated once when a column is
# added (PostgreSQL 11+: no rewrite). Anything else, including user functions whose volatility
# is unknown offline (CREATE FUNCTION defaults to VOLATILE), is treated as volatile.
NON_VOLATILE_FUNCS = frozenset({
    "now", "current_timestamp", "transaction_timestamp", "statement_timestamp", "current_date",
    "current_time", "localtime", "localtimestamp", "lower", "upper", "length", "coalesce", "nullif",
    "greatest", "least", "abs", "round", "trunc", "concat", "md5", "to_char", "to_date", "to_timestamp",
    "jsonb_build_object", "json_build_object", "jsonb_build_array", "json_build_array", "array",
    "make_date", "make_timestamp", "make_timestamptz", "make_interval", "current_user", "session_user",
    "current_schema", "current_database", "btrim", "ltrim", "rtrim", "replace", "substr", "substring",
    "date_trunc", "date_part", "extract", "timezone", "format", "int4", "int8", "text", "numeric",
}) | (BUILTIN_NON_VOLATILE - BUILTIN_VOLATILE)  # every built-in whose pg_catalog overloads are all non-volatile
VOLATILE_FUNCS = frozenset({"random", "gen_random_uuid", "uuid_generate_v4", "uuid_generate_v1",
                            "uuid_generate_v1mc", "clock_timestamp", "timeofday", "nextval", "setseed",
                            "uuidv4", "uuidv7", "random_normal"})
# a DEFAULT calling one of these is certainly evaluated per row (verify's list of functions without side
# effects on rows keeps to VOLATILE_FUNCS: some volatile built-ins run SQL given as text)
KNOWN_VOLATILE = VOLATILE_FUNCS | (BUILTIN_VOLATILE - NON_VOLATILE_FUNCS)

# SQL-standard value functions appear as SQLValueFunction nodes: all stable.
INT_WIDTH = {"int2": 2, "smallint": 2, "int4": 4, "integer": 4, "int": 4, "int8": 8, "bigint": 8,
             "serial": 4, "serial4": 4, "bigserial": 8, "serial8": 8, "smallserial": 2, "serial2": 2}
SERIAL = {"serial": "int4", "serial4": "int4", "bigserial": "int8", "serial8": "int8",
          "smallserial": "int2", "serial2": "int2"}
_DISPLAY = {"int2": "smallint", "int4": "integer", "int8": "bigint", "bpchar": "char", "varchar": "varchar",
            "float4": "real", "float8": "double precision", "bool": "boolean", "timestamptz": "timestamptz"}


@dataclass(frozen=True)
class TypeRef:
    """A column type as written: name without pg_catalog, typmods, array dimensions."""

    name: str
    mods: tuple = ()
    array: bool = False
    schema: str | None = None

    def __str__(self) -> str:
        # bpchar written without a length is unlimited; the parser gives plain char a length of 1
        base = _DISPLAY.get(self.name, self.name) if self.mods or self.name != "bpchar" else "bpchar"
        if self.mods:
            base += "(" + ",".join(str(m) for m in self.mods) + ")"
        return base + ("[]" if self.array else "")


def type_ref(type_name: dict | None) -> TypeRef | None:
    if not type_name:
        return None
    names = [n["String"]["sval"] for n in type_name.get("names") or () if "String" in n]
    if not names:
        return None
    schema = names[-2] if len(names) > 1 and names[-2] != "pg_catalog" else None
    mods = []
    for m in type_name.get("typmods") or ():
        c = m.get("A_Const") or {}
        if "ival" in c:
            mods.append((c["ival"] or {}).get("ival", 0))
        elif "sval" in c:
            mods.append((c["sval"] or {}).get("sval", ""))
        else:
            mods.append("?")
    return TypeRef(name=names[-1], mods=tuple(mods), array=bool(type_name.get("arrayBounds")), schema=schema)


def relkey(rangevar: dict | None) -> str | None:
    """The relation as written: "schema.name" when qualified, else "name" (already case-folded by
    the parser unless quoted)."""
    if not rangevar or "relname" not in rangevar:
        return None
    return f"{rangevar['schemaname']}.{rangevar['relname']}" if rangevar.get("schemaname") else rangevar["relname"]


def bare(key: str) -> str:
    return key.rsplit(".", 1)[-1]


def names_of(items) -> list[str]:
    return [i["String"]["sval"] for i in items or () if "String" in i]


@dataclass
class Effect:
    """One consequence of a statement on one table ("rewrites orders: SET DATA TYPE bigint")."""

    table: str
    reason: str
    column: str | None = None
    certain: bool = True  # False: depends on something bascule could not see (the old column type)
    location: int | None = None  # byte offset of the node in the parsed text, when known


class Knowledge(Protocol):
    """What the analyzer knows of the schema before a statement (see analyze/context.py)."""

    def column_type(self, table: str, column: str) -> TypeRef | None: ...
    def has_not_null_proof(self, table: str, column: str) -> bool: ...
    def column_not_null(self, table: str, column: str) -> bool | None: ...
    def domain_has_constraints(self, name: str) -> bool | None: ...
    def index_table(self, index: str) -> str | None: ...
    def index_key_columns(self, index: str) -> list[str | None] | None: ...
    def func_volatility(self, name: str) -> str | None: ...
    def column(self, table: str, column: str): ...
    # optional (SchemaKnowledge has them): partitions, foreign keys, indexes and domain columns
    def default_partition(self, table: str) -> str | None: ...
    def partition_parent(self, table: str) -> str | None: ...
    def fk_target(self, table: str, name: str) -> str | None: ...
    def referenced_tables(self, table: str, columns=None) -> list[str]: ...
    def referencing_tables(self, table: str, columns=None) -> list[str]: ...
    def table_indexes(self, table: str) -> list[str]: ...
    def domain_tables(self, name: str) -> list[str]: ...
    def constraint_type(self, table: str, name: str) -> str | None: ...


def _ask(known, method: str, *args):
    """known.method(*args), or None when there is no knowledge or it cannot answer that question."""
    fn = getattr(known, method, None) if known is not None else None
    return fn(*args) if fn is not None else None


def _on(arg) -> bool:
    """A DefElem's boolean argument: absent means on; false/off/no/0 mean off."""
    if not arg:
        return True
    if "String" in arg:
        return arg["String"].get("sval", "").lower() not in ("false", "off", "no", "0")
    if "Integer" in arg:
        return arg["Integer"].get("ival", 0) != 0
    if "Boolean" in arg:
        return bool(arg["Boolean"].get("boolval"))
    return True


def option_on(items, name: str) -> bool:
    """Whether a statement's option list (VACUUM (FULL), REINDEX (CONCURRENTLY false)) turns `name` on."""
    for o in items or ():
        d = o.get("DefElem") or {}
        if d.get("defname") == name:
            return _on(d.get("arg"))
    return False


@dataclass
class StatementFacts:
    kind: str
    locks: dict[str, str] = field(default_factory=dict)
    rewrites: list[Effect] = field(default_factory=list)
    scans: list[Effect] = field(default_factory=list)      # whole-table read while holding its lock
    breaking: list[Effect] = field(default_factory=list)   # backward-incompatible for running code
    destroys: list[Effect] = field(default_factory=list)   # data that cannot come back
    creates: list[str] = field(default_factory=list)       # tables created
    index_builds: list[Effect] = field(default_factory=list)  # indexes built (non-concurrently: under lock)
    transactional: bool = True
    data_change: bool = False
    additive: bool = False

    def take(self, rel: dict | str | None, mode: str) -> None:
        name = rel if isinstance(rel, str) else relkey(rel)
        if not name:
            return
        if RANK[mode] > RANK.get(self.locks.get(name, ""), -1):
            self.locks[name] = mode

    def strongest(self) -> tuple[str, str] | None:
        if not self.locks:
            return None
        return max(self.locks.items(), key=lambda kv: RANK[kv[1]])

    def slow_on(self, table: str) -> bool:
        b = bare(table)
        return any(bare(e.table) == b for e in self.rewrites + self.scans + self.index_builds)


class StatementLocks(StatementFacts):
    """Kept for rehearsal: predicted locks of one SQL text."""

    def __init__(self, locks: dict[str, str] | None = None):
        super().__init__(kind="", locks=dict(locks or {}))


def _reads(node, out: StatementFacts) -> None:
    """Every other relation a statement mentions is read: ACCESS SHARE."""
    if isinstance(node, dict):
        if "relname" in node and "relpersistence" in node:
            out.take(node, AS)
        for v in node.values():
            if isinstance(v, (dict, list)):
                _reads(v, out)
    elif isinstance(node, list):
        for v in node:
            _reads(v, out)


def find_nodes(tree, key: str):
    """Every `key` node (the dict under that name, e.g. "FuncCall" or "ColumnRef") anywhere in a
    parse tree, in document order."""
    if isinstance(tree, dict):
        found = tree.get(key)
        if isinstance(found, dict):
            yield found
        for v in tree.values():
            if isinstance(v, (dict, list)):
                yield from find_nodes(v, key)
    elif isinstance(tree, list):
        for v in tree:
            yield from find_nodes(v, key)


def func_names(expr) -> list[str]:
    """Names of every function called in an expression tree (last name component)."""
    return [nm[-1].lower() for fc in find_nodes(expr, "FuncCall") if (nm := names_of(fc.get("funcname")))]


def volatile(expr, known: Knowledge | None = None) -> str | None:
    """The first function in expr that is (or may be) volatile, or None when none is."""
    if expr is None:
        return None
    for name in func_names(expr):
        if name in KNOWN_VOLATILE:
            return name
        if name in NON_VOLATILE_FUNCS:
            continue
        v = known.func_volatility(name) if known is not None else None
        if v in ("i", "s"):
            continue
        return name
    return None


def constraint_defs(coldef: dict) -> list[dict]:
    return [c["Constraint"] for c in coldef.get("constraints") or () if "Constraint" in c]


def _alter_column_type_effect(table: str, col: str, new: TypeRef | None, using, known: Knowledge | None,
                              version: int) -> tuple[str | None, bool, bool]:
    """(rewrite reason or None, rewrite certain, narrowing) for ALTER COLUMN ... TYPE."""
    old = known.column_type(table, col) if known is not None else None
    if new is None:
        return "SET DATA TYPE", False, False
    if using is not None and not _trivial_using(using, col, new):
        return f"SET DATA TYPE {new} USING an expression", True, old is not None and narrowing(old, new)
    if old is None:
        return f"SET DATA TYPE {new} (the old type is unknown: no rewrite only if it is binary-coercible)", False, False
    if binary_coercible(old, new):
        return None, True, False
    if not new.array and not new.mods and _ask(known, "domain_has_constraints", new.name) is False:
        base = _ask(known, "domain_base", new.name)  # a domain without constraints converts like its base type
        if base is not None and not base.array and binary_coercible(old, base):
            return None, True, False
    if version >= 12 and tz_conversion(old, new):
        # PostgreSQL 12+ keeps the stored values when the session's TimeZone is UTC
        utc = _ask(known, "utc_session")
        if utc:
            return None, True, False
        if utc is None:
            return f"SET DATA TYPE {old} → {new} (unless the session TimeZone is UTC)", False, False
    return f"SET DATA TYPE {old} → {new}", True, narrowing(old, new)


def opclass_changes(old: TypeRef, new: TypeRef) -> bool:
    """A binary-coercible change to a type whose default operator class differs (text → citext):
    the column's indexes are rebuilt. varchar and text share text_ops; a new limit or precision
    keeps the operator class."""
    if old.name == new.name or (old.name in _TEXTLIKE and new.name in _TEXTLIKE):
        return False
    return True


def tz_conversion(old: TypeRef, new: TypeRef) -> bool:
    """timestamp ↔ timestamptz to a type without a precision or with 6 digits: PostgreSQL 12+
    changes no stored value (and rewrites nothing) when the session's TimeZone has a fixed zero
    offset. Any other precision rewrites, whatever the old one: the rounding is applied to the
    converted value, whose precision PostgreSQL does not know. The indexes on the column are
    rebuilt all the same (their operator class changes), and CHECK constraints and foreign keys on
    it are checked again."""
    if old.array or new.array or {old.name, new.name} != {"timestamp", "timestamptz"} or old.name == new.name:
        return False
    return not new.mods or (isinstance(new.mods[0], int) and new.mods[0] >= 6)


def _trivial_using(using, col: str, new: TypeRef | None = None) -> bool:
    """USING col, or USING col::newtype (the same conversion as no USING clause)."""
    if isinstance(using, dict) and "TypeCast" in using and new is not None \
            and type_ref(using["TypeCast"].get("typeName")) == new:
        using = using["TypeCast"].get("arg")
    ref = (using.get("ColumnRef") or {}) if isinstance(using, dict) else {}
    return names_of(ref.get("fields")) == [col]


_TEXTLIKE = {"text", "varchar"}
_REG = frozenset({"regclass", "regtype", "regproc", "regprocedure", "regoper", "regoperator", "regconfig",
                  "regdictionary", "regnamespace", "regrole", "regcollation"})
# Casts PostgreSQL makes WITHOUT FUNCTION (pg_cast.castmethod 'b') to a type without a length: the
# stored bytes stay as they are, so ALTER COLUMN TYPE keeps every row (bpchar here is the unlimited
# bpchar, not char(n))
_BINARY_CASTS = frozenset({("int4", "oid"), ("oid", "int4"), ("text", "bpchar"), ("varchar", "bpchar"),
                           ("xml", "bpchar"), ("xml", "text"), ("xml", "varchar"), ("bit", "varbit"),
                           *(("oid", r) for r in _REG), *((r, "oid") for r in _REG)})


def binary_coercible(old: TypeRef, new: TypeRef) -> bool:
    """ALTER COLUMN TYPE old → new needs neither a rewrite nor a scan (PostgreSQL 9.2+): same type
    with a looser limit, varchar ↔ text, cidr → inet, numeric with more precision and same scale.
    An array changes for free only to the same element type without a limit: any element conversion rewrites."""
    if old.array != new.array:
        return False
    o, n = old.name, new.name
    if o == n and old.mods == new.mods:
        return True
    if new.array:
        return o == n and not new.mods
    if (o in _TEXTLIKE and n == "citext") or (o == "citext" and n in _TEXTLIKE and not new.mods):
        return not new.mods  # citext's casts from and to text and varchar are WITHOUT FUNCTION
    if o in _TEXTLIKE and n in _TEXTLIKE:
        if not new.mods:
            return True  # to text or unlimited varchar
        if o == "varchar" and old.mods and isinstance(old.mods[0], int) and isinstance(new.mods[0], int):
            return new.mods[0] >= old.mods[0]
        return False
    if o == n == "numeric":
        if not new.mods:
            return True
        if old.mods and all(isinstance(m, int) for m in old.mods + new.mods):
            p0, s0 = old.mods[0], old.mods[1] if len(old.mods) > 1 else 0
            p1, s1 = new.mods[0], new.mods[1] if len(new.mods) > 1 else 0
            return p1 >= p0 and s1 == s0
        return False
    if o == n and o in ("varbit", "bit varying"):
        return not new.mods or (bool(old.mods) and new.mods[0] >= old.mods[0])
    if (o, n) == ("cidr", "inet"):
        return True
    if (o, n) in _BINARY_CASTS and not new.mods:
        return True
    if o == n in ("timestamp", "timestamptz", "time", "timetz"):
        # the same or more fractional digits (6 is the most; none written means 6)
        p1 = new.mods[0] if new.mods else 6
        return isinstance(p1, int) and (p1 >= 6 or (bool(old.mods) and isinstance(old.mods[0], int)
                                                    and p1 >= old.mods[0]))
    if o == n == "interval" and old.mods and not new.mods:
        return True
    return False


def narrowing(old: TypeRef, new: TypeRef) -> bool:
    """new cannot hold every value old can (so old code may write values the column refuses)."""
    if old.name in INT_WIDTH and new.name in INT_WIDTH:
        return INT_WIDTH[new.name] < INT_WIDTH[old.name]
    if old.name in _TEXTLIKE | {"bpchar"} and new.name in _TEXTLIKE | {"bpchar"}:
        if not new.mods:
            return False
        if not old.mods:
            return True
        return isinstance(new.mods[0], int) and isinstance(old.mods[0], int) and new.mods[0] < old.mods[0]
    if old.name == new.name == "numeric" and new.mods:
        if not old.mods:
            return True
        if all(isinstance(m, int) for m in old.mods + new.mods):
            # fewer digits before the point (values fail) or after it (values are rounded)
            p0, s0 = old.mods[0], old.mods[1] if len(old.mods) > 1 else 0
            p1, s1 = new.mods[0], new.mods[1] if len(new.mods) > 1 else 0
            return p1 - s1 < p0 - s0 or s1 < s0
        return new.mods < old.mods
    if old.name in INT_WIDTH and new.name == "numeric" and new.mods and isinstance(new.mods[0], int):
        p1, s1 = new.mods[0], new.mods[1] if len(new.mods) > 1 and isinstance(new.mods[1], int) else 0
        return p1 - s1 < {2: 5, 4: 10, 8: 19}[INT_WIDTH[old.name]]  # digits of the integer type's range
    if old.name in ("float8", "numeric") and (new.name in INT_WIDTH or new.name == "float4"):
        return True
    if old.name in ("timestamptz", "timestamp") and new.name == "date":
        return True
    return False


def statement_facts(tag: str, node: dict, version: int = NEWEST, known: Knowledge | None = None,
                    transactional: bool = True, reads: bool = True) -> StatementFacts:
    """Facts of one parsed statement (libpg_query JSON: `tag` is its node name). With
    reads=False, the ACCESS SHARE locks on every other relation mentioned are not collected
    (the linter never needs them; rehearsal's lock comparison does)."""
    f = StatementFacts(kind=tag, transactional=transactional)
    if reads:
        _reads(node, f)
    rel = node.get("relation")
    table = relkey(rel)
    if tag == "AlterTableStmt":
        if node.get("objtype") in ("OBJECT_INDEX",):
            for cmd in node.get("cmds") or ():
                c = cmd.get("AlterTableCmd") or {}
                sub = c.get("subtype")
                if sub == "AT_AttachPartition":  # the parent index: SHARE UPDATE EXCLUSIVE; the partition's: ACCESS EXCLUSIVE
                    f.take(rel, SUE)
                    f.take(((c.get("def") or {}).get("PartitionCmd") or {}).get("name"), AE)
                else:
                    f.take(rel, _relopts_lock(c) if sub in ("AT_SetRelOptions", "AT_ResetRelOptions")
                           else SUE if sub == "AT_SetStatistics" else AE)
                    if sub == "AT_SetTableSpace" and table:  # every block of the index is copied
                        owner = _ask(known, "index_table", bare(table)) or table
                        f.index_builds.append(Effect(owner, f"ALTER INDEX {table} SET TABLESPACE copies the index"))
            return f
        _alter_table(f, node, table, version, known)
    elif tag == "CreateStmt":
        if table:
            f.creates.append(table)
            f.take(rel, AE)
        f.additive = True
        for elt in node.get("tableElts") or ():
            cons = []
            if "ColumnDef" in elt:
                cons = constraint_defs(elt["ColumnDef"])
            elif "Constraint" in elt:
                cons = [elt["Constraint"]]
            for c in cons:
                if c.get("contype") == "CONSTR_FOREIGN":
                    _take_referenced(f, c.get("pktable"), known)
        pb = node.get("partbound")
        for inh in node.get("inhRelations") or ():
            # PARTITION OF: ACCESS EXCLUSIVE on the parent (every version, unlike ATTACH PARTITION) and on its
            # DEFAULT partition, which is scanned for rows that belong in the new one; INHERITS: SHARE UPDATE EXCLUSIVE
            f.take(inh.get("RangeVar"), AE if pb else SUE)
            parent = relkey(inh.get("RangeVar"))
            if pb and parent and not pb.get("is_default"):
                _default_partition_checked(f, parent, known, "CREATE TABLE ... PARTITION OF")
            if pb and parent:
                _partition_foreign_keys(f, parent, known)
    elif tag == "IndexStmt":
        concurrent = bool(node.get("concurrent"))
        f.take(rel, SUE if concurrent else SHARE)
        f.additive = True
        if table:
            eff = Effect(table, f"CREATE {'UNIQUE ' if node.get('unique') else ''}INDEX"
                         f"{' ' + node['idxname'] if node.get('idxname') else ''}", location=node.get("location"))
            if not concurrent:
                f.index_builds.append(eff)
    elif tag in ("InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"):
        f.take(rel, RE)
        f.data_change = True
        if tag == "DeleteStmt" and not node.get("whereClause") and table:
            f.destroys.append(Effect(table, "DELETE without WHERE removes every row"))
        if tag == "UpdateStmt" and not node.get("whereClause") and not node.get("fromClause") and table:
            f.destroys.append(Effect(table, "UPDATE without WHERE overwrites every row"))
    elif tag == "CopyStmt" and node.get("is_from"):
        f.take(rel, RE)
        f.data_change = True
    elif tag == "TruncateStmt":
        for r in node.get("relations") or ():
            rv = r.get("RangeVar")
            f.take(rv, AE)
            if relkey(rv):
                why = "TRUNCATE removes every row" + (" (CASCADE: and every row of tables referencing it)"
                                                      if node.get("behavior") == "DROP_CASCADE" else "")
                f.destroys.append(Effect(relkey(rv), why))
                if rv.get("inh"):  # without ONLY: its partitions and inheritance children too
                    kids = _take_children(f, known, relkey(rv), AE)
                    if kids and not _ask(known, "is_partitioned", relkey(rv)):
                        for child in kids:  # a partition's rows are the parent's; a child's are its own
                            f.destroys.append(Effect(child, f"TRUNCATE {relkey(rv)} (without ONLY) removes every "
                                                            f"row of its inheritance child {child}"))
        if node.get("behavior") == "DROP_CASCADE":  # and every table that references them, transitively
            todo = [t for t in (relkey(r.get("RangeVar")) for r in node.get("relations") or ()) if t]
            while todo:
                for t in _ask(known, "referencing_tables", todo.pop()) or ():
                    if t not in f.locks:
                        f.take(t, AE)
                        todo.append(t)
        f.data_change = True
    elif tag == "VacuumStmt":
        full = option_on(node.get("options"), "full")
        for r in node.get("rels") or ():
            rv = (r.get("VacuumRelation") or {}).get("relation")
            f.take(rv, AE if full else SUE)
            if full and relkey(rv):
                f.rewrites.append(Effect(relkey(rv), "VACUUM FULL"))
            if relkey(rv):  # a partitioned table: it processes every partition
                _take_children(f, known, relkey(rv), AE if full else SUE, partitions_only=True)
    elif tag == "ClusterStmt":
        f.take(rel, AE)
        if node.get("indexname"):
            f.take(node["indexname"] if not (rel or {}).get("schemaname") else f"{rel['schemaname']}.{node['indexname']}", AE)
        if table:
            f.rewrites.append(Effect(table, "CLUSTER"))
    elif tag == "ReindexStmt":
        concurrent = option_on(node.get("params"), "concurrently")
        if node.get("kind") == "REINDEX_OBJECT_INDEX" and table:
            # the index's table: SHARE (SUE concurrently); the index itself: ACCESS EXCLUSIVE
            owner = known.index_table(bare(table)) if known is not None else None
            if not concurrent:
                f.take(rel, AE)
            table = owner or table
        f.take(table, SUE if concurrent else SHARE)
        if node.get("kind") == "REINDEX_OBJECT_TABLE" and table and not concurrent:
            for ix in _ask(known, "table_indexes", table) or ():  # each index: ACCESS EXCLUSIVE while rebuilt
                f.take(ix, AE)
        if table and not concurrent:
            f.index_builds.append(Effect(table, f"REINDEX {node.get('kind', '').removeprefix('REINDEX_OBJECT_')}"))
    elif tag == "CreateTrigStmt":
        f.take(rel, SRE)
        if table and node.get("row"):  # cloned onto every partition
            _take_children(f, known, table, SRE, partitions_only=True)
    elif tag in ("CreatePolicyStmt", "AlterPolicyStmt"):
        f.take(node.get("table"), AE)
    elif tag == "AlterObjectSchemaStmt" and rel:
        f.take(rel, AE)
    elif tag == "CommentStmt" and node.get("objtype") in _COMMENT_SUE:
        nm = names_of(((node.get("object") or {}).get("List") or {}).get("items"))
        if node.get("objtype") == "OBJECT_COLUMN":
            nm = nm[:-1]
        if nm:
            f.take(".".join(nm), SUE)
    elif tag == "CreateStatsStmt":
        for r in node.get("relations") or ():
            f.take(r.get("RangeVar"), SUE)
    elif tag == "AlterSeqStmt":
        f.take(node.get("sequence"), SRE)  # nextval() waits
    elif tag == "AlterDomainStmt":
        _alter_domain(f, node, known)
    elif tag == "RenameStmt":
        _rename(f, node, table, version)
    elif tag == "RuleStmt":
        f.take(rel, AE)
    elif tag == "LockStmt":
        mode = _LOCK_STMT_MODES.get(node.get("mode", 8), AE)
        for r in node.get("relations") or ():
            rv = r.get("RangeVar") or {}
            f.take(rv, mode)
            if rv.get("inh") and relkey(rv):  # without ONLY: the partitions and inheritance children too
                _take_children(f, known, relkey(rv), mode)
    elif tag == "DropStmt":
        _drop(f, node, known)
    elif tag == "DropdbStmt":
        f.destroys.append(Effect(node.get("dbname", "?"), "DROP DATABASE"))
        f.breaking.append(Effect(node.get("dbname", "?"), "DROP DATABASE"))
    elif tag == "RefreshMatViewStmt":
        f.take(rel, EXCL if node.get("concurrent") else AE)
        if table and not node.get("skipData"):  # runs the view's query over its tables, then:
            if node.get("concurrent"):  # compares with every current row, and applies the difference
                f.scans.append(Effect(table, "REFRESH MATERIALIZED VIEW CONCURRENTLY runs its query and compares "
                                             "every row"))
            else:  # fills a new heap and swaps it in
                f.rewrites.append(Effect(table, "REFRESH MATERIALIZED VIEW runs its query and rewrites every row"))
    elif tag in ("CreateEnumStmt", "CreateDomainStmt", "CreateSeqStmt", "ViewStmt", "CreateFunctionStmt",
                 "CreateSchemaStmt", "CreateExtensionStmt", "CompositeTypeStmt", "CreateTableAsStmt"):
        f.additive = True
        if tag == "ViewStmt" and node.get("replace"):
            f.take(node.get("view"), AE)  # OR REPLACE of an existing view
        if tag == "CreateTableAsStmt":
            into = (node.get("into") or {}).get("rel")
            if relkey(into):
                f.creates.append(relkey(into))
    elif tag == "AlterEnumStmt":
        if node.get("oldVal"):
            f.breaking.append(Effect(".".join(names_of(node.get("typeName"))),
                                     f"RENAME VALUE '{node['oldVal']}' TO '{node.get('newVal')}'"))
        else:
            f.additive = True
    if table and known is not None and (rel or {}).get("inh") and table in f.locks and _recurses(tag, node, table, known):
        # without ONLY, the statement does the same to every partition (and inheritance child)
        _take_children(f, known, table, f.locks[table])
    return f


def _take_children(f: StatementFacts, known: Knowledge | None, table: str, mode: str,
                   partitions_only: bool = False) -> list[str]:
    """The same lock on every partition and inheritance child of `table` (with partitions_only, only
    when it is a partitioned table). Returns the children locked."""
    if partitions_only and not _ask(known, "is_partitioned", table):
        return []
    kids = _ask(known, "children", table) or []
    for child in kids:
        f.take(child, mode)
    return kids


def _recurses(tag: str, node: dict, table: str, known: Knowledge) -> bool:
    """Whether the statement, without ONLY, does the same to the table's partitions and children:
    the ALTER TABLE subcommands that recurse and RENAME COLUMN go down to inheritance children too;
    CREATE INDEX only to partitions (an inheritance parent's index is its own)."""
    if tag == "IndexStmt":
        return bool(_ask(known, "is_partitioned", table))
    if tag == "AlterTableStmt":
        return node.get("objtype") != "OBJECT_INDEX" and any(
            (c.get("AlterTableCmd") or {}).get("subtype") in _RECURSING for c in node.get("cmds") or ())
    return tag == "RenameStmt" and node.get("renameType") == "OBJECT_COLUMN"


# ALTER TABLE subcommands that PostgreSQL applies to every partition / inheritance child too
_RECURSING = frozenset({"AT_AddColumn", "AT_DropColumn", "AT_AlterColumnType", "AT_SetNotNull", "AT_DropNotNull",
                        "AT_AddConstraint", "AT_ValidateConstraint", "AT_DropConstraint", "AT_ColumnDefault",
                        "AT_SetStatistics", "AT_SetStorage"})


def _alter_table(f: StatementFacts, node: dict, table: str | None, version: int, known: Knowledge | None) -> None:
    rel = node.get("relation")
    for cmd in node.get("cmds") or ():
        c = cmd.get("AlterTableCmd", {})
        sub = c.get("subtype")
        mode = _ALTER_LOCKS.get(sub, AE)
        if sub in ("AT_SetRelOptions", "AT_ResetRelOptions"):
            mode = _relopts_lock(c)
        elif sub == "AT_AttachPartition" and version < 12:
            mode = AE
        d = c.get("def") or {}
        col = c.get("name")
        if not table:
            continue
        if sub == "AT_AddConstraint":
            con = d.get("Constraint") or {}
            _add_constraint(f, table, con, known, version)
            if con.get("contype") == "CONSTR_FOREIGN":
                mode = SRE
                _take_referenced(f, con.get("pktable"), known)
        elif sub == "AT_AddColumn":
            _add_column(f, table, d.get("ColumnDef") or {}, known, version)
        elif sub == "AT_AlterColumnType":
            cd = d.get("ColumnDef") or {}
            new = type_ref(cd.get("typeName"))
            reason, certain, narrow = _alter_column_type_effect(table, col, new, cd.get("raw_default"), known, version)
            if reason:
                f.rewrites.append(Effect(table, reason, col, certain, cd.get("location")))
            old = _ask(known, "column_type", table, col)
            tz = old is not None and new is not None and version >= 12 and tz_conversion(old, new)
            if old is not None and new is not None and (not reason or (tz and not certain)) \
                    and (cd.get("raw_default") is None or _trivial_using(cd["raw_default"], col, new)):
                # no table rewrite (or maybe none), but PostgreSQL re-creates what depends on the column:
                # the indexes that use it (all of them when their operator class or collation changes,
                # else those with an expression or a predicate) and its CHECK constraints, checked again
                loc = cd.get("location")
                opclass = tz or cd.get("collClause") is not None or opclass_changes(old, new)
                on_col = _ask(known, "indexes_on_column", table, col, opclass)
                if on_col is not False:
                    which = "the indexes on" if opclass else "the indexes with an expression or a predicate that use"
                    f.index_builds.append(Effect(table, f"SET DATA TYPE {old} → {new} rebuilds {which} {col}",
                                                 col, on_col is True, loc))
                checks = _ask(known, "checks_on_column", table, col) if not reason else False
                if checks is not False:
                    f.scans.append(Effect(table, f"SET DATA TYPE {old} → {new} checks the CHECK constraints on {col} "
                                                 "again", col, checks is True, loc))
                # (with a possible rewrite, the rewrite's own checks below cover them); foreign keys only
                # when the operator class changes (else PostgreSQL keeps them as they are)
                fk = not reason and opclass
                referenced = (_ask(known, "referenced_tables", table, [col]) or []) if fk else []
                referencing = (_ask(known, "referencing_tables", table, [col]) or []) if fk else []
                if referenced or referencing:  # the foreign keys on the column (either end) are checked again
                    f.scans.append(Effect(table, f"SET DATA TYPE {old} → {new} checks the foreign keys on {col} "
                                                 "again", col, True, loc))
                for other in referencing:  # and the keys that reference the column
                    f.scans.append(Effect(other, f"SET DATA TYPE of {table}.{col} checks the foreign keys of "
                                                 f"{other} that reference it again", None, True, loc))
                for other in referenced:
                    f.scans.append(Effect(other, f"SET DATA TYPE of {table}.{col} checks the foreign keys that "
                                                 f"reference {other} again", None, False, loc))
            if narrow:
                f.breaking.append(Effect(table, f"narrows column {col} to {new}", col))
            # a foreign key on the column (either end) is re-created: ACCESS EXCLUSIVE on the other table, and
            # after a rewrite the referencing rows are checked again
            for other in _ask(known, "referenced_tables", table, [col]) or ():
                f.take(other, AE)
            for other in _ask(known, "referencing_tables", table, [col]) or ():
                f.take(other, AE)
                if reason:
                    f.scans.append(Effect(other, f"SET DATA TYPE of {table}.{col} checks the foreign keys of {other} "
                                          "that reference it again", certain=False))
        elif sub == "AT_SetExpression":  # PostgreSQL 17+: a stored generated column is recomputed
            gen = getattr(_ask(known, "column", table, col), "generated", None)
            if version < 18 or gen != "v":
                f.rewrites.append(Effect(table, f"SET EXPRESSION on {col} recomputes every row", col,
                                         certain=version < 18 or gen == "s"))
        elif sub == "AT_DropConstraint":
            ct = _ask(known, "constraint_type", table, col)
            if ct == "CONSTR_FOREIGN":  # its triggers on the referenced table (each partition of it) go too
                target = _ask(known, "fk_target", table, col)
                f.take(target, AE)
                if target:
                    _take_children(f, known, target, AE, partitions_only=True)
            elif ct in ("CONSTR_PRIMARY", "CONSTR_UNIQUE") and c.get("behavior") == "DROP_CASCADE":
                for other in _ask(known, "referencing_tables", table) or ():
                    f.take(other, AE)
        elif sub == "AT_SetNotNull":
            if version >= 12 and known is not None and known.has_not_null_proof(table, col):
                pass  # a validated CHECK (col IS NOT NULL) lets PostgreSQL 12+ skip the scan
            elif known is not None and known.column_not_null(table, col):
                pass  # already NOT NULL: nothing to check
            else:
                f.scans.append(Effect(table, f"SET NOT NULL on {col} checks every row", col))
            f.breaking.append(Effect(table, f"column {col} becomes NOT NULL: code that writes NULL fails", col))
        elif sub == "AT_ColumnDefault" and not d:
            f.breaking.append(Effect(table, f"DROP DEFAULT on {col}: inserts that omit it get NULL or fail", col))
        elif sub == "AT_DropColumn":
            f.breaking.append(Effect(table, f"DROP COLUMN {col}: code that reads or writes it fails", col))
            f.destroys.append(Effect(table, f"DROP COLUMN {col} deletes its data", col))
            for other in _ask(known, "referenced_tables", table, [col]) or ():
                f.take(other, AE)  # its foreign keys are dropped with it
            if c.get("behavior") == "DROP_CASCADE":  # and the foreign keys that reference it
                for other in _ask(known, "referencing_tables", table, [col]) or ():
                    f.take(other, AE)
                    f.breaking.append(Effect(other, f"DROP COLUMN {table}.{col} CASCADE drops the foreign keys of "
                                                    f"{other} that reference it", col))
        elif sub in ("AT_SetAccessMethod",):
            f.rewrites.append(Effect(table, "SET ACCESS METHOD"))
        elif sub == "AT_SetTableSpace":
            f.rewrites.append(Effect(table, "SET TABLESPACE copies every block"))
        elif sub in ("AT_SetLogged", "AT_SetUnLogged"):
            f.rewrites.append(Effect(table, "SET LOGGED" if sub == "AT_SetLogged" else "SET UNLOGGED"))
        elif sub == "AT_AddIdentity":
            pass  # on an existing column: catalog only
        elif sub == "AT_AttachPartition":
            pc = d.get("PartitionCmd") or {}
            part = relkey(pc.get("name"))
            f.take(pc.get("name"), AE)
            if part:
                f.scans.append(Effect(part, "ATTACH PARTITION checks every row of the partition unless a "
                                      "validated CHECK constraint already proves the bound", certain=False))
            if not (pc.get("bound") or {}).get("is_default"):
                _default_partition_checked(f, table, known, "ATTACH PARTITION")
            _partition_foreign_keys(f, table, known)
        elif sub in ("AT_DetachPartition", "AT_DetachPartitionFinalize"):
            pc = d.get("PartitionCmd") or {}
            concurrent = pc.get("concurrent")
            if sub == "AT_DetachPartition":
                mode = SUE if concurrent else AE
            # the partition: ACCESS EXCLUSIVE, CONCURRENTLY too (in its second transaction, once earlier
            # queries on the parent are done); plainly, the DEFAULT partition as well (its bound changes)
            f.take(pc.get("name"), AE)
            default = _ask(known, "default_partition", table)
            if sub == "AT_DetachPartition" and not concurrent and default and bare(default) != bare(relkey(pc.get("name")) or ""):
                f.take(default, AE)
            if concurrent:
                f.transactional = False
            _partition_foreign_keys(f, table, known, detach=sub == "AT_DetachPartition")
        elif sub == "AT_AddInherit":
            f.take(d.get("RangeVar"), SUE)  # the new parent
        elif sub == "AT_ValidateConstraint":
            # under SHARE UPDATE EXCLUSIVE (reads and writes go on), but every row is read, and a foreign
            # key's referenced table too (ROW SHARE); a constraint that is valid already is a no-op
            ct = _ask(known, "constraint_type", table, col)
            if ct == "CONSTR_FOREIGN":
                f.take(_ask(known, "fk_target", table, col), "RowShareLock")
            if ct in (None, "CONSTR_FOREIGN", "CONSTR_CHECK", "CONSTR_NOTNULL"):
                f.scans.append(Effect(table, f"VALIDATE CONSTRAINT {col} checks every row", certain=ct is not None))
        f.take(rel, mode)


def _relopts_lock(cmd: dict) -> str:
    """SET/RESET (storage parameters): SHARE UPDATE EXCLUSIVE, unless one of them needs ACCESS EXCLUSIVE."""
    items = ((cmd.get("def") or {}).get("List") or {}).get("items") or ()
    names = {(i.get("DefElem") or {}).get("defname") for i in items}
    return AE if names & _AE_RELOPTIONS else SUE


def _default_partition_checked(f: StatementFacts, parent: str, known: Knowledge | None, what: str) -> None:
    """A new partition's rows must not be in the parent's DEFAULT partition: ACCESS EXCLUSIVE on it, and a
    scan unless its constraints prove it."""
    default = _ask(known, "default_partition", parent)
    if default:
        f.take(default, AE)
        f.scans.append(Effect(default, f"{what} checks every row of the DEFAULT partition {default} unless a "
                              "validated CHECK constraint proves none belongs to the new partition", certain=False))


def _partition_foreign_keys(f: StatementFacts, parent: str, known: Knowledge | None, detach: bool = False) -> None:
    """A partition gains (or loses) the partitioned table's foreign keys, and their triggers on the referenced
    tables: SHARE ROW EXCLUSIVE on those, as for ADD FOREIGN KEY. When other tables reference the partitioned
    table, a new partition joins their foreign keys (SHARE ROW EXCLUSIVE on them); a detached one leaves them:
    ACCESS EXCLUSIVE on each, and each is read for rows that still reference the partition."""
    for other in _ask(known, "referenced_tables", parent) or ():
        f.take(other, SRE)
    for other in _ask(known, "referencing_tables", parent) or ():
        f.take(other, AE if detach else SRE)
        if detach:
            f.scans.append(Effect(other, f"DETACH PARTITION checks that no row of {other} references a row of "
                                         "the partition"))


def _take_referenced(f: StatementFacts, pktable: dict | str | None, known: Knowledge | None) -> None:
    """ADD FOREIGN KEY: SHARE ROW EXCLUSIVE on the referenced table, and on each of its partitions when it
    is partitioned (their action triggers)."""
    f.take(pktable, SRE)
    name = pktable if isinstance(pktable, str) else relkey(pktable)
    if name:
        _take_children(f, known, name, SRE, partitions_only=True)


# COMMENT ON these takes SHARE UPDATE EXCLUSIVE on the relation (on a constraint or trigger: ACCESS SHARE)
_COMMENT_SUE = frozenset({"OBJECT_TABLE", "OBJECT_VIEW", "OBJECT_MATVIEW", "OBJECT_INDEX", "OBJECT_SEQUENCE",
                          "OBJECT_FOREIGN_TABLE", "OBJECT_COLUMN"})


def _alter_domain(f: StatementFacts, node: dict, known: Knowledge | None) -> None:
    """ADD CONSTRAINT (without NOT VALID), VALIDATE CONSTRAINT and SET NOT NULL check every column of the domain,
    in every table, under SHARE."""
    sub = node.get("subtype")
    con = (node.get("def") or {}).get("Constraint") or {}
    if not (sub in ("O", "V") or (sub == "C" and not con.get("skip_validation"))):
        return
    names = names_of(node.get("typeName"))
    for t in _ask(known, "domain_tables", names[-1]) if names else ():
        f.take(t, SHARE)
        f.scans.append(Effect(t, f"ALTER DOMAIN {'.'.join(names)} checks every value of the domain in {t}"))


def _add_column(f: StatementFacts, table: str, cd: dict, known: Knowledge | None, version: int) -> None:
    col = cd.get("colname")
    t = type_ref(cd.get("typeName"))
    cons = constraint_defs(cd)
    types = {c.get("contype") for c in cons}
    default = next((c.get("raw_expr") for c in cons if c.get("contype") == "CONSTR_DEFAULT"), None)
    loc = cd.get("location")
    f.additive = True
    if t is not None and t.name in SERIAL:
        f.rewrites.append(Effect(table, f"ADD COLUMN {col} {t.name}: every row gets nextval()", col, location=loc))
    elif "CONSTR_IDENTITY" in types:
        f.rewrites.append(Effect(table, f"ADD COLUMN {col} GENERATED AS IDENTITY fills every row", col, location=loc))
    elif "CONSTR_GENERATED" in types:
        gen = next(c for c in cons if c.get("contype") == "CONSTR_GENERATED")
        stored = gen.get("generated_kind", "s") == "s" or version < 18
        if stored:
            f.rewrites.append(Effect(table, f"ADD COLUMN {col} GENERATED ... STORED computes every row", col,
                                     location=loc))
    elif default is not None:
        v = volatile(default, known)
        if v:
            f.rewrites.append(Effect(table, f"ADD COLUMN {col} with volatile default {v}()", col, location=loc,
                                     certain=v in KNOWN_VOLATILE or (known is not None and known.func_volatility(v) == "v")))
        elif version < 11:
            f.rewrites.append(Effect(table, f"ADD COLUMN {col} with a default (before PostgreSQL 11)", col, location=loc))
    # a domain with constraints: PostgreSQL (through 18) checks it by rewriting, with or without a default
    if t is not None and not types & {"CONSTR_IDENTITY", "CONSTR_GENERATED"} and t.name not in SERIAL \
            and not any(e.column == col for e in f.rewrites if e.table == table) \
            and known is not None and known.domain_has_constraints(t.name):
        f.rewrites.append(Effect(table, f"ADD COLUMN {col} of domain {t.name} with constraints checks every row",
                                 col, location=loc))
    if types & {"CONSTR_NOTNULL", "CONSTR_PRIMARY"} and default is None \
            and not types & {"CONSTR_IDENTITY", "CONSTR_GENERATED"} \
            and not (t is not None and t.name in SERIAL):
        f.breaking.append(Effect(table, f"ADD COLUMN {col} NOT NULL without a default: fails on a non-empty "
                                 "table, and inserts from code that does not know it fail", col))
    if "CONSTR_PRIMARY" in types or "CONSTR_UNIQUE" in types:
        f.index_builds.append(Effect(table, f"ADD COLUMN {col} {'PRIMARY KEY' if 'CONSTR_PRIMARY' in types else 'UNIQUE'}"
                                     " builds an index", col))
    if "CONSTR_CHECK" in types:  # checked row by row even when every value is NULL
        f.scans.append(Effect(table, f"ADD COLUMN {col} with a CHECK checks every row", col))
    for c in cons:
        if c.get("contype") == "CONSTR_FOREIGN":
            _take_referenced(f, c.get("pktable"), known)
            # without a default (all NULL) PostgreSQL skips the check; with one it validates every row
            if default is not None or "CONSTR_GENERATED" in types or (t is not None and t.name in SERIAL):
                f.scans.append(Effect(table, f"ADD COLUMN {col} REFERENCES with a default checks every row", col,
                                      location=c.get("location")))


def _add_constraint(f: StatementFacts, table: str, con: dict, known: Knowledge | None, version: int) -> None:
    ct = con.get("contype")
    name = con.get("conname") or ""
    label = f" {name}" if name else ""
    loc = con.get("location")
    not_valid = bool(con.get("skip_validation"))
    if ct == "CONSTR_FOREIGN":
        if not not_valid:
            f.scans.append(Effect(table, f"ADD FOREIGN KEY{label} checks every row", location=loc))
    elif ct == "CONSTR_CHECK":
        if not not_valid:
            f.scans.append(Effect(table, f"ADD CHECK{label} checks every row", location=loc))
    elif ct in ("CONSTR_UNIQUE", "CONSTR_PRIMARY"):
        kind = "PRIMARY KEY" if ct == "CONSTR_PRIMARY" else "UNIQUE"
        if not con.get("indexname"):
            f.index_builds.append(Effect(table, f"ADD {kind}{label} builds its index", location=loc))
        if ct == "CONSTR_PRIMARY":
            cols = names_of(con.get("keys"))
            if not cols and con.get("indexname") and known is not None:  # USING INDEX: the index's columns
                cols = [c for c in known.index_key_columns(con["indexname"]) or () if c]
            unproven = [c for c in cols if not (known is not None and (known.column_not_null(table, c)
                                                or (version >= 12 and known.has_not_null_proof(table, c))))]
            if unproven and con.get("indexname"):
                # certain when every such column is known to be nullable (not merely unknown)
                certain = known is not None and all(known.column_not_null(table, c) is False for c in unproven)
                f.scans.append(Effect(table, f"ADD PRIMARY KEY USING INDEX {con['indexname']} sets NOT NULL on "
                                      f"{', '.join(unproven)} and checks every row", unproven[0],
                                      certain=certain, location=loc))
    elif ct == "CONSTR_EXCLUSION":
        f.index_builds.append(Effect(table, f"ADD EXCLUDE{label} builds its index", location=loc))
    elif ct == "CONSTR_NOTNULL":  # PostgreSQL 18: ADD CONSTRAINT name NOT NULL col [NOT VALID]
        cols = names_of(con.get("keys"))
        proven = bool(cols) and known is not None and all(known.column_not_null(table, c) or (
            version >= 12 and known.has_not_null_proof(table, c)) for c in cols)
        if not not_valid and not proven:
            f.scans.append(Effect(table, f"ADD NOT NULL{label} checks every row", cols[0] if cols else None,
                                  location=loc))


def _rename(f: StatementFacts, node: dict, table: str | None, version: int = NEWEST) -> None:
    rt = node.get("renameType")
    rel = node.get("relation")
    if rt == "OBJECT_INDEX":
        f.take(rel, SUE if version >= 12 else AE)
        return
    f.take(rel, AE)
    if not table:
        if rt in ("OBJECT_TYPE", "OBJECT_SCHEMA", "OBJECT_FUNCTION"):
            f.breaking.append(Effect(node.get("subname") or "?", f"RENAME {rt.removeprefix('OBJECT_')}"))
        return
    if rt == "OBJECT_COLUMN":
        f.breaking.append(Effect(table, f"RENAME COLUMN {node.get('subname')} TO {node.get('newname')}",
                                 node.get("subname")))
    elif rt in ("OBJECT_TABLE", "OBJECT_VIEW", "OBJECT_MATVIEW"):
        f.breaking.append(Effect(table, f"RENAME {rt.removeprefix('OBJECT_')} TO {node.get('newname')}"))
    elif rt == "OBJECT_TABCONSTRAINT":
        pass


_DROP_REL = {"OBJECT_TABLE": "TABLE", "OBJECT_VIEW": "VIEW", "OBJECT_MATVIEW": "MATERIALIZED VIEW",
             "OBJECT_SEQUENCE": "SEQUENCE", "OBJECT_FOREIGN_TABLE": "FOREIGN TABLE"}


def dropped_names(node: dict) -> list[str]:
    out = []
    for obj in node.get("objects") or ():
        if "List" in obj:
            nm = names_of(obj["List"].get("items"))
            if nm:
                out.append(".".join(nm))
        elif "String" in obj:
            out.append(obj["String"]["sval"])
        elif "TypeName" in obj:
            t = type_ref(obj["TypeName"])
            if t:
                out.append(t.name)
        elif "ObjectWithArgs" in obj:  # DROP FUNCTION/PROCEDURE/ROUTINE/AGGREGATE/OPERATOR
            nm = names_of(obj["ObjectWithArgs"].get("objname"))
            if nm:
                out.append(".".join(nm))
    return out


def _drop(f: StatementFacts, node: dict, known: Knowledge | None) -> None:
    rt = node.get("removeType")
    cascade = node.get("behavior") == "DROP_CASCADE"
    names = dropped_names(node)
    if rt in _DROP_REL:
        for n in names:
            f.take(n, AE)
            if rt == "OBJECT_TABLE":
                # a partition: its parent (and the parent's DEFAULT partition); foreign keys: the tables they
                # reference (their triggers go), and with CASCADE the tables that reference it
                parent = _ask(known, "partition_parent", n)
                if parent:
                    f.take(parent, AE)
                    f.take(_ask(known, "default_partition", parent), AE)
                    # a foreign key that references the partitioned table depends on each partition: only
                    # CASCADE drops one, and then the whole foreign key goes (locking every partition)
                    referencing = (_ask(known, "referencing_tables", parent) or []) if cascade else []
                    if referencing:
                        _take_children(f, known, parent, AE)  # the siblings lose the foreign key's triggers
                    for other in referencing:
                        f.take(other, AE)
                        f.breaking.append(Effect(other, f"DROP TABLE {n} CASCADE drops the foreign keys of {other} "
                                                        f"that reference {parent}: its rows are no longer checked"))
                for other in _ask(known, "referenced_tables", n) or ():
                    f.take(other, AE)
                for other in (_ask(known, "referencing_tables", n) or ()) if cascade else ():
                    f.take(other, AE)
            f.breaking.append(Effect(n, f"DROP {_DROP_REL[rt]}"))
            if rt in ("OBJECT_TABLE", "OBJECT_MATVIEW", "OBJECT_FOREIGN_TABLE"):
                f.destroys.append(Effect(n, f"DROP {_DROP_REL[rt]} deletes its rows" + (" (CASCADE)" if cascade else "")))
    elif rt == "OBJECT_INDEX":
        concurrent = bool(node.get("concurrent"))
        for n in names:
            tbl = known.index_table(bare(n)) if known is not None else None
            f.take(tbl or n, SUE if concurrent else AE)
        if concurrent:
            f.transactional = False
    elif rt in ("OBJECT_TRIGGER", "OBJECT_RULE", "OBJECT_POLICY"):  # name ON table: ACCESS EXCLUSIVE on the table
        for obj in node.get("objects") or ():
            nm = names_of((obj.get("List") or {}).get("items"))
            if len(nm) > 1:
                f.take(".".join(nm[:-1]), AE)
    elif rt == "OBJECT_SCHEMA":
        for n in names:
            f.breaking.append(Effect(n, "DROP SCHEMA" + (" CASCADE" if cascade else "")))
            if cascade:
                f.destroys.append(Effect(n, "DROP SCHEMA CASCADE deletes every table in it"))
    elif rt in ("OBJECT_TYPE", "OBJECT_DOMAIN", "OBJECT_FUNCTION", "OBJECT_PROCEDURE", "OBJECT_ROUTINE",
                "OBJECT_AGGREGATE", "OBJECT_EXTENSION"):
        for n in names:
            f.breaking.append(Effect(n, f"DROP {rt.removeprefix('OBJECT_')}"))


def parse(sql: str) -> list[tuple[str, dict]]:
    from pglast import parser

    tree = json.loads(parser.parse_sql_json(sql))
    return [next(iter(item["stmt"].items())) for item in tree.get("stmts") or ()]


def predicted_locks(sql: str, version: int = NEWEST) -> StatementFacts:
    """Locks one SQL text takes on the relations it names (strongest per relation)."""
    from pglast import parser

    out = StatementLocks()
    try:
        stmts = parse(sql)
    except parser.ParseError:
        return out
    for tag, node in stmts:
        for rel, mode in statement_facts(tag, node, version).locks.items():
            out.take(rel, mode)
    return out


def _regclass_parts(text: str) -> tuple[str, ...]:
    """(schema, name) or (name,) of a relation as regclass prints it ('app.t', '"My Schema"."T"'),
    read by PostgreSQL's own parser."""
    from pglast import parser

    try:
        (_tag, node), = parse(f"TABLE {text}")
        rv = ((node.get("fromClause") or [{}])[0]).get("RangeVar") or {}
    except (parser.ParseError, ValueError):  # not one relation name: compare it as written
        rv = {}
    if not rv.get("relname"):
        return tuple(text.rsplit(".", 1))
    return (rv["schemaname"], rv["relname"]) if rv.get("schemaname") else (rv["relname"],)


def compare_with_observed(predicted: StatementFacts, observed: list[dict]) -> dict:
    """Prediction next to what the rehearsal profiler saw for one statement.

    observed: the profiler's `locks` (granted; each with relation, mode, inherited). Returns
    {"verdict": "agrees" | "differs" | "unconfirmed", "details": [...]}. A lock the sampler
    did not catch (a statement shorter than one sample) is "unconfirmed", not a disagreement;
    a stronger observed lock than predicted, or a different mode seen where one was predicted,
    is a disagreement."""
    seen: dict[str, list[str]] = {}  # by bare name: a name written without its schema
    seen_in: dict[tuple[str, ...], list[str]] = {}  # by schema and name
    for lk in observed:
        if lk.get("inherited"):
            continue
        p = _regclass_parts(lk["relation"])
        seen.setdefault(p[-1], []).append(lk["mode"])
        seen_in.setdefault(p[-2:], []).append(lk["mode"])
    details = []
    verdict = "agrees"
    for rel, mode in predicted.locks.items():
        p = tuple(rel.rsplit(".", 1))  # as relkey() wrote it: unquoted
        # a qualified name matches that schema's relation only (a.events and b.events are two)
        modes = seen_in.get(p[-2:]) if len(p) > 1 else seen.get(p[-1])
        if not modes:
            if verdict == "agrees":
                verdict = "unconfirmed"
            continue
        strongest = max(modes, key=lambda m: RANK.get(m, -1))
        if strongest != mode:
            verdict = "differs"
            details.append(f"{rel}: predicted {mode}, observed {strongest}")
    return {"verdict": verdict, "details": details}
