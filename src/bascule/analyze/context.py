"""What the analyzer knows about the schema before each statement.

Built up statement by statement from every migration linted so far (in version order), and,
with a connection, backed by the live catalog for everything the migrations did not create.
It answers the questions facts need ("what is this column's type now?", "is there a validated
CHECK (col IS NOT NULL)?", "which table does this index belong to?") and remembers what the
current migration created, so rules can tell a new, empty table from an existing one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bascule.analyze.facts import (
    SERIAL,
    TypeRef,
    bare,
    constraint_defs,
    dropped_names,
    find_nodes,
    names_of,
    relkey,
    type_ref,
)


@dataclass
class Column:
    type: TypeRef | None
    not_null: bool = False
    has_default: bool = False
    generated: str | None = None  # "s" stored, "v" virtual (PostgreSQL 18), when a linted migration says so


@dataclass
class Table:
    name: str
    columns: dict[str, Column] = field(default_factory=dict)
    created_in: str | None = None  # migration label, when a linted migration created it


# Time zones whose offset is zero and has never changed, where PostgreSQL 12+ converts timestamp
# ↔ timestamptz without rewriting the table (each checked on PostgreSQL 15 and 18 in
# tests/test_facts.py). Africa/Abidjan, Europe/London, Atlantic/Reykjavik are at +00:00 now but had
# other offsets: the table is rewritten there.
ZERO_OFFSET_ZONES = frozenset(z.lower() for z in (
    "UTC", "Etc/UTC", "UCT", "Etc/UCT", "GMT", "Etc/GMT", "GMT0", "Etc/GMT0", "GMT+0", "GMT-0", "Etc/GMT+0",
    "Etc/GMT-0", "Greenwich", "Etc/Greenwich", "Universal", "Etc/Universal", "Zulu", "Etc/Zulu", "UTC0"))


# A POSIX zone spec with a zero offset and no daylight-saving part: UTC+0, GMT-00:00, <+00>0,
# <+00>-00 (what current_setting('TimeZone') shows after SET TIME ZONE 0), +00:00
_POSIX_ZERO = re.compile(r"(<[^<>]*>|[a-z]{3,})?[+-]?0+(:0+){0,2}")


def zero_offset_zone(args) -> bool | None:
    """Whether a SET TimeZone value (the parse tree's args, or a name) is a fixed zero offset;
    None when it is not a constant."""
    if isinstance(args, str):
        v = args.strip().lower()
        return v in ZERO_OFFSET_ZONES or _POSIX_ZERO.fullmatch(v) is not None
    if not args:
        return None
    a = args[0]
    if "TypeCast" in a:  # SET TIME ZONE INTERVAL '+00:00' HOUR TO MINUTE
        a = a["TypeCast"].get("arg") or {}
    c = a.get("A_Const") or {}
    if "ival" in c:
        return (c["ival"] or {}).get("ival", 0) == 0
    if "fval" in c:
        try:
            return float((c["fval"] or {}).get("fval", "1")) == 0
        except ValueError:
            return False
    if "sval" in c:
        return zero_offset_zone((c["sval"] or {}).get("sval", ""))
    return None


def _column_refs(node) -> frozenset[str]:
    """Names of the columns an expression refers to (the last part of each ColumnRef)."""
    return frozenset(names[-1] for ref in find_nodes(node, "ColumnRef") if (names := names_of(ref.get("fields"))))


def _set_config_calls(node) -> list[dict]:
    """Every set_config(...) call anywhere in a parse tree."""
    return [fc for fc in find_nodes(node, "FuncCall") if names_of(fc.get("funcname"))[-1:] == ["set_config"]]


def _const_text(arg: dict) -> str | None:
    c = arg.get("A_Const") or {}
    return (c.get("sval") or {}).get("sval") if "sval" in c else None


def _const_bool(arg: dict) -> bool | None:
    """A constant as PostgreSQL reads it for a boolean argument (true, 'on', 't', '1', ...)."""
    if "TypeCast" in arg:
        arg = arg["TypeCast"].get("arg") or {}
    c = arg.get("A_Const") or {}
    if "boolval" in c:
        return bool((c["boolval"] or {}).get("boolval", False))
    text = _const_text(arg)
    if text is None:
        return None
    t = text.strip().lower()
    if t in ("t", "tr", "tru", "true", "y", "ye", "yes", "on", "1"):
        return True
    if t in ("f", "fa", "fal", "fals", "false", "n", "no", "off", "0"):
        return False
    return None


def _not_null_column(expr) -> str | None:
    """`col IS NOT NULL` → col (the CHECK that proves SET NOT NULL on PostgreSQL 12+)."""
    nt = (expr or {}).get("NullTest") if isinstance(expr, dict) else None
    if not nt or nt.get("nulltesttype") != "IS_NOT_NULL":
        return None
    fields = names_of(((nt.get("arg") or {}).get("ColumnRef") or {}).get("fields"))
    return fields[-1] if len(fields) == 1 else None


def _not_null_columns(expr) -> tuple:
    """Every col of a `col IS NOT NULL` that the CHECK expression implies: itself, or a term of an AND."""
    be = expr.get("BoolExpr") if isinstance(expr, dict) else None
    if be and be.get("boolop") == "AND_EXPR":
        return tuple(dict.fromkeys(c for a in be.get("args") or () for c in _not_null_columns(a)))
    col = _not_null_column(expr)
    return (col,) if col else ()


_MISSING = object()


class _GroupedMap(dict):
    """A dict that also keeps, for each group a key belongs to (the table of an index, the parent
    of a partition...), the keys in it, so per-group questions do not scan every entry the
    migrations ever made. Keys come back in the order they were first made; a key renamed with
    `_move` keeps its place (reports must not depend on the hash seed or on how a lookup is done).
    Subclasses say which groups a (key, value) belongs to."""

    def __init__(self):
        super().__init__()
        self.seq: dict = {}
        self.next_seq = 0

    def _groups(self, key, val) -> list[tuple[dict, object]]:
        """(group index, group) pairs `key` belongs to with value `val`."""
        raise NotImplementedError

    def __setitem__(self, key, val) -> None:
        old = dict.get(self, key, _MISSING)
        if old is _MISSING:
            if key not in self.seq:
                self.seq[key] = self.next_seq
                self.next_seq += 1
        else:
            for index, group in self._groups(key, old):
                index[group].discard(key)
        dict.__setitem__(self, key, val)
        for index, group in self._groups(key, val):
            index.setdefault(group, set()).add(key)

    def pop(self, key, *default):
        if dict.__contains__(self, key):
            val = dict.pop(self, key)
            for index, group in self._groups(key, val):
                index[group].discard(key)
            del self.seq[key]
            return val
        if default:
            return default[0]
        raise KeyError(key)

    def __delitem__(self, key) -> None:
        self.pop(key)

    def _members(self, index: dict, group, ordered: bool = True) -> list:
        """The keys in `group`, oldest first (in no particular order with ordered=False: for
        changes, where the order does not matter)."""
        keys = index.get(group, ())
        return sorted(keys, key=self.seq.__getitem__) if ordered else list(keys)

    def _move(self, key, new_key) -> None:
        seq = self.seq[key]
        val = self.pop(key)
        self.seq[new_key] = seq
        self[new_key] = val


class IndexMap(_GroupedMap):
    """index name → (table, unique), with the index names of each table at hand."""

    def __init__(self):
        super().__init__()
        self.by_table: dict[str, set[str]] = {}

    def _groups(self, name, val):
        return [(self.by_table, val[0])]

    def of(self, table: str) -> list[str]:
        return self._members(self.by_table, table)


class PairMap(_GroupedMap):
    """(table, name) → value, with each table's keys at hand and, with `ref`, the keys whose value
    names another table at that position (a foreign key's referenced table)."""

    def __init__(self, ref: int | None = None):
        super().__init__()
        self.by_table: dict[str, set[tuple]] = {}
        self.ref = ref
        self.by_ref: dict[str, set[tuple]] = {}

    def _groups(self, key, val):
        if self.ref is None:
            return [(self.by_table, key[0])]
        return [(self.by_table, key[0]), (self.by_ref, val[self.ref])]

    def of(self, table: str, ordered: bool = True) -> list[tuple]:
        """The keys of `table`."""
        return self._members(self.by_table, table, ordered)

    def to(self, table: str, ordered: bool = True) -> list[tuple]:
        """The keys whose value refers to `table` (at position `ref`)."""
        return self._members(self.by_ref, table, ordered)

    def rename_table(self, old: str, new: str) -> None:
        """Move `old`'s keys to `new` (in their place), and point references to `old` at `new`."""
        if self.ref is not None:
            for key in self.to(old, ordered=False):
                val = list(self[key])
                val[self.ref] = new
                self[key] = tuple(val)
        for key in self.of(old, ordered=False):
            self._move(key, (new, key[1]))


class ParentMap(_GroupedMap):
    """partition or inheritance child → its parent, with each parent's children at hand, so the
    family of a table with thousands of partitions is not found by scanning every partition once
    per member."""

    def __init__(self):
        super().__init__()
        self.kids: dict[str, set[str]] = {}

    def _groups(self, child, parent):
        return [(self.kids, parent)]

    def children_of(self, parent: str) -> list[str]:
        return self._members(self.kids, parent)

    def rename(self, old: str, new: str) -> None:
        """A table renamed: as a child (in its place), and as a parent."""
        if dict.__contains__(self, old):
            self._move(old, new)
        for child in list(self.kids.get(old, ())):
            self[child] = new


class SchemaKnowledge:
    """Implements facts.Knowledge. Keys are bare relation names (schema dropped): migrations
    rarely qualify names consistently, and a wrong match only changes a message, never SQL."""

    def __init__(self, live=None):
        self.tables: dict[str, Table] = {}
        self.indexes = IndexMap()  # index → (table, unique)
        # index → (key columns, None for an expression; access method; partial): what FK checks need
        self.index_keys: dict[str, tuple[tuple, str, bool]] = {}
        # index → every column its keys, expressions and predicate use (CREATE INDEX; constraints'
        # indexes use their keys only)
        self.index_uses: dict[str, frozenset[str]] = {}
        # (table, constraint) → (columns a CHECK uses, validated): re-checked when one changes type
        self.check_uses: PairMap = PairMap()
        self.gone_live_indexes: set[str] = set()  # live indexes the linted migrations dropped or renamed
        self.gone_live_fks: set[tuple[str, str]] = set()  # (table, constraint) live FKs the migrations dropped
        self.detached: set[str] = set()  # partitions the migrations detached (live parent no longer applies)
        self.constraints: PairMap = PairMap()  # (table, constraint) → contype, when known
        self.proofs: dict[str, set[str]] = {}  # table → columns with a validated CHECK (col IS NOT NULL)
        self.pending: dict[tuple[str, str], str] = {}  # (table, constraint) NOT VALID → column
        self.check_names: dict[tuple[str, str], str] = {}  # (table, constraint) validated → column
        self.check_cols: dict[tuple[str, str], tuple] = {}  # (table, constraint) → every column it proves
        self.domains: dict[str, bool] = {}
        self.domain_bases: dict[str, TypeRef | None] = {}
        self.funcs: dict[str, str] = {}
        self.enums: dict[str, list[str]] = {}
        self.created_now: set[str] = set()  # tables created by the migration being linted
        self.columns_added_now: set[tuple[str, str]] = set()  # (table, column) added to a table by it
        self.enum_values_added_now: dict[str, set[str]] = {}
        self.default_partitions: dict[str, str | None] = {}  # partitioned table → its DEFAULT partition (None: gone)
        self.parents = ParentMap()  # partition → its partitioned table
        self.inherits = ParentMap()  # inheritance child → its (first) parent: INHERITS, ALTER TABLE ... INHERIT
        self.partitioned: set[str] = set()  # tables created with PARTITION BY
        # (table, constraint) → (its columns, referenced table, referenced columns or () for the primary key)
        self.fks: PairMap = PairMap(ref=1)
        self.live = live
        self.migration: str | None = None
        # the session TimeZone as this migration set it: True/False whether it has a fixed zero
        # offset, "default" after RESET, None when not set (then: the connection's, if any)
        self.tz_session: bool | str | None = None
        self.tz_local: bool | str | None = None  # SET LOCAL: lasts until the transaction ends
        self.transactional = True  # the migration runs as one transaction (set by the engine)

    # -- Knowledge protocol ------------------------------------------------------------------
    def column(self, table: str, column: str) -> Column | None:
        t = self.tables.get(bare(table))
        if t is not None:
            return t.columns.get(column)
        if self.live is not None:
            return self.live.column(table, column)
        return None

    def column_type(self, table: str, column: str) -> TypeRef | None:
        c = self.column(table, column)
        return c.type if c else None

    def column_not_null(self, table: str, column: str) -> bool | None:
        c = self.column(table, column)
        return c.not_null if c else None

    def has_not_null_proof(self, table: str, column: str) -> bool:
        if column in self.proofs.get(bare(table), ()):
            return True
        return self.live is not None and bare(table) not in self.tables and self.live.has_not_null_proof(table, column)

    def domain_base(self, name: str) -> TypeRef | None:
        """The base type of a domain the linted migrations created (None: not a known domain)."""
        return self.domain_bases.get(name)

    def domain_has_constraints(self, name: str) -> bool | None:
        if name in self.domains:
            return self.domains[name]
        return self.live.domain_has_constraints(name) if self.live is not None else None

    def index_table(self, index: str) -> str | None:
        hit = self.indexes.get(bare(index))
        if hit:
            return hit[0]
        return self.live.index_table(index) if self.live is not None else None

    def index_key_columns(self, index: str) -> list[str | None] | None:
        """Key columns of an index, in order (None for an expression), or None when unknown."""
        name = bare(index)
        hit = self.index_keys.get(name)
        if hit is not None:
            return list(hit[0])
        if self.live is not None and name not in self.indexes and name not in self.gone_live_indexes:
            shape = self.live.index_shape(index)
            return list(shape[1]) if shape else None
        return None

    def index_columns(self, table: str) -> list[list[str | None]]:
        """Key columns of each non-partial B-tree index on `table` (the indexes that serve equality
        lookups on their leading columns): those the linted migrations built, PRIMARY KEY and UNIQUE
        constraints included, and with a connection the live table's, minus those the migrations
        dropped or whose columns they dropped or renamed."""
        tb = bare(table)
        out = []
        for name in self.indexes.of(tb):
            shape = self.index_keys.get(name)
            if shape is not None and shape[1] == "btree" and not shape[2]:
                out.append(list(shape[0]))
        t = self.tables.get(tb)
        if self.live is not None and (t is None or t.created_in is None):
            names = set(t.columns) if t is not None and t.columns else None
            for name, (cols, method, partial) in self.live.index_shapes(table).items():
                if method != "btree" or partial or name in self.indexes or name in self.gone_live_indexes:
                    continue
                if names is not None and any(c is not None and c not in names for c in cols):
                    continue
                out.append(list(cols))
        return out

    def indexes_known(self, table: str) -> bool:
        """index_columns(table) is complete as far as bascule can tell: a linted migration created
        the table, or a connection shows the live one."""
        t = self.tables.get(bare(table))
        return (t is not None and t.created_in is not None) or self.live is not None

    def default_partition(self, table: str) -> str | None:
        """The DEFAULT partition of a partitioned table, when bascule knows of one."""
        tb = bare(table)
        if tb in self.default_partitions:
            return self.default_partitions[tb]
        t = self.tables.get(tb)
        if self.live is not None and (t is None or t.created_in is None):
            return self.live.default_partition(table)
        return None

    def _live_for(self, table: str) -> bool:
        """Whether to ask the live catalog about `table`: connected, and no linted migration created it."""
        t = self.tables.get(bare(table))
        return self.live is not None and (t is None or t.created_in is None)

    def _live_fks(self, table: str) -> list:
        """The table's live foreign keys the linted migrations did not drop: (name, ref, cols, refcols)."""
        if not self._live_for(table):
            return []
        return [fk for fk in self.live.foreign_keys(table) if (bare(table), fk[0]) not in self.gone_live_fks]

    def _live_referencing(self, table: str) -> list:
        if not self._live_for(table):
            return []
        return [fk for fk in self.live.referencing(table) if (bare(fk[1]), fk[0]) not in self.gone_live_fks]

    def partition_parent(self, table: str) -> str | None:
        """The partitioned table a partition belongs to (a linted migration made it one, or live)."""
        hit = self.parents.get(bare(table))
        if hit is None and self._live_for(table) and bare(table) not in self.detached:
            return self.live.partition_parent(table)
        return hit

    def _primary_key(self, table: str) -> tuple:
        for key in self.constraints.of(table):
            if self.constraints[key] == "CONSTR_PRIMARY":
                return tuple(self.index_keys.get(key[1], ((),))[0])
        return ()

    def fk_target(self, table: str, name: str) -> str | None:
        """The table a foreign key constraint references, when bascule knows the constraint."""
        hit = self.fks.get((bare(table), name))
        if hit:
            return hit[1]
        return next((ref for n, ref, _c, _r in self._live_fks(table) if n == name), None)

    def referenced_tables(self, table: str, columns=None) -> list[str]:
        """Tables the foreign keys of `table` reference (only keys on one of `columns`, when given)."""
        tb = bare(table)
        fks = self.fks
        out = [fks[k][1] for k in fks.of(tb)
               if fks[k][1] != tb and (columns is None or set(fks[k][0]) & set(columns))]
        out += [ref for _n, ref, cols, _r in self._live_fks(table)
                if bare(ref) != tb and (columns is None or set(cols) & set(columns))]
        return list(dict.fromkeys(out))

    def referencing_tables(self, table: str, columns=None) -> list[str]:
        """Tables whose foreign keys reference `table` (only keys on one of `columns` of it, when given)."""
        tb = bare(table)
        out = []
        for key in self.fks.to(tb):
            t, refcols = key[0], self.fks[key][2]
            if t == tb:
                continue
            if columns is not None and not set(refcols or self._primary_key(tb)) & set(columns):
                continue
            out.append(t)
        out += [t for _n, t, _cols, refcols in self._live_referencing(table)
                if bare(t) != tb and (columns is None or set(refcols) & set(columns))]
        return list(dict.fromkeys(out))

    def table_indexes(self, table: str) -> list[str]:
        """Names of the indexes bascule knows on `table` (built by the linted migrations, or live)."""
        tb = bare(table)
        names = list(self.indexes.of(tb))
        t = self.tables.get(tb)
        if self.live is not None and (t is None or t.created_in is None):
            names += [n for n in self.live.index_shapes(table) or () if n not in self.indexes and n not in self.gone_live_indexes]
        return names

    def domain_tables(self, name: str) -> list[str]:
        """Tables with a column of domain `name` or of a domain over it, as far as the linted
        migrations (and a connection) show. A partitioned table stores no rows: its partitions are
        the tables PostgreSQL checks."""
        names = {name}
        grew = True
        while grew:  # domains over the domain, at any depth
            grew = False
            for d, base in self.domain_bases.items():
                if base is not None and base.name in names and d not in names:
                    names.add(d)
                    grew = True
        out: list[str] = []
        for t in self.tables.values():
            if any(c.type is not None and c.type.name in names for c in t.columns.values()):
                if t.name in self.partitioned:
                    out += [c for c in self._family(t.name)[1:] if c not in self.partitioned]
                else:
                    out.append(t.name)
        if self.live is not None:
            out += [t for t in self.live.domain_tables(name) if self._live_for(t)]
        return list(dict.fromkeys(out))

    def constraint_type(self, table: str, name: str) -> str | None:
        """The contype of a table's constraint ("CONSTR_FOREIGN", "CONSTR_CHECK", ...), None when unknown."""
        hit = self.constraints.get((bare(table), name))
        if hit is not None:
            return hit
        t = self.tables.get(bare(table))
        if self.live is not None and (t is None or t.created_in is None):
            return self.live.constraint_type(table, name)
        return None

    def func_volatility(self, name: str) -> str | None:
        if name in self.funcs:
            return self.funcs[name]
        return self.live.func_volatility(name) if self.live is not None else None

    # -- what rules ask ------------------------------------------------------------------------
    def is_new(self, table: str) -> bool:
        """Created by the migration being linted: empty, nobody else uses it yet."""
        return bare(table) in self.created_now

    def is_new_column(self, table: str, column: str) -> bool:
        """The column was added by the migration being linted (or its table was created by it):
        no code deployed before the migration reads or writes it."""
        return bare(table) in self.created_now or (bare(table), column) in self.columns_added_now

    # -- learning ------------------------------------------------------------------------------
    def begin_migration(self, label: str | None) -> None:
        self.migration = label
        self.created_now = set()
        self.columns_added_now = set()
        self.enum_values_added_now = {}
        self.tz_session = self.tz_local = None
        self.transactional = True

    def utc_session(self) -> bool | None:
        """Whether the session running the statement has a TimeZone with a fixed zero offset (UTC):
        as the migration set it earlier (SET LOCAL only counts in a migration run as one
        transaction), else as the live connection's is, else unknown (None)."""
        value = self.tz_local if self.tz_local is not None and self.transactional else self.tz_session
        if value == "unknown":
            return None
        if value is None or value == "default":
            return self.live.utc_session() if self.live is not None else None
        return value

    def session_zone_source(self) -> str:
        """Where utc_session() took its answer from: "migration" or "connection"."""
        value = self.tz_local if self.tz_local is not None and self.transactional else self.tz_session
        return "connection" if value is None or value == "default" else "migration"

    def _family(self, table: str) -> list[str]:
        """The table and its partitions and inheritance children, as far as bascule knows them:
        ALTER TABLE recurses to all of them."""
        out = [bare(table)]
        seen = set(out)
        i = 0
        while i < len(out):
            for c in self.parents.children_of(out[i]) + self.inherits.children_of(out[i]):
                if c not in seen:
                    seen.add(c)
                    out.append(c)
            i += 1
        return out

    def children(self, table: str) -> list[str]:
        """Partitions and inheritance children of `table`, at every level: those the linted
        migrations created or attached, and with a connection the live ones."""
        out = self._family(table)[1:]
        if self.live is not None and not self._fully_known(bare(table)):
            out += [c for c in self.live.children(table) or () if c not in out and c not in self.detached]
        return out

    def _fully_known(self, tb: str) -> bool:
        t = self.tables.get(tb)
        return t is not None and t.created_in is not None

    def indexes_on_column(self, table: str, column: str, opclass_changes: bool = True) -> bool | None:
        """Whether ALTER COLUMN ... TYPE on `column` rebuilds an index of `table` (or of its
        partitions and children): every index that uses the column when its operator class or
        collation changes (`opclass_changes`), else only those that use it and have an expression
        or a predicate (PostgreSQL does not compare those, it rebuilds them). True, False when
        bascule knows every index there, None when it cannot tell."""
        unknown = False
        for tb in self._family(table):
            for name in self.indexes.of(tb):
                shape = self.index_keys.get(name)
                if shape is None:
                    unknown = True
                    continue
                derived = None in shape[0] or shape[2]
                uses = self.index_uses.get(name)
                if uses is None and derived and column not in shape[0]:
                    unknown = True  # an expression or predicate bascule did not see the columns of
                    continue
                if (column in shape[0] or column in (uses or ())) and (opclass_changes or derived):
                    return True
            if not self._fully_known(tb):
                if self.live is None:
                    unknown = True
                else:  # the live table and everything below it, invalid indexes included
                    live = self.live.indexes_on_column(tb, column, opclass_changes)
                    if live:
                        return True
                    unknown = unknown or live is None
        return None if unknown else False

    def is_partitioned(self, table: str) -> bool | None:
        """Whether `table` is a partitioned table (PARTITION BY): True, False, or None when bascule
        cannot tell (a table it did not see created, without a connection)."""
        tb = bare(table)
        if tb in self.partitioned:
            return True
        if self._fully_known(tb):
            return False
        if self.live is not None:
            return self.live.relkind(table) == "p"
        return None

    def checks_on_column(self, table: str, column: str) -> bool | None:
        """Whether a validated CHECK constraint of `table` uses `column` (PostgreSQL checks it again
        when the column's type changes, even without a rewrite): True, False, or None when it
        cannot tell."""
        tb = bare(table)
        if self._fully_known(tb):
            uses = self.check_uses
            if any(uses[k][1] and column in uses[k][0] for k in uses.of(tb, ordered=False)):
                return True
            unknown = any(self.constraints[k] == "CONSTR_CHECK" and k not in uses
                          for k in self.constraints.of(tb, ordered=False))
            return None if unknown else False
        if self.live is not None:
            return self.live.checks_on_column(tb, column)
        return None

    def learn(self, tag: str, node: dict) -> None:
        handler = _LEARN.get(tag)
        if handler is not None:
            handler(self, node)

    def _set_variable(self, node: dict) -> None:
        kind = node.get("kind")
        if kind == "VAR_RESET_ALL":
            self.tz_session = "default"
            self.tz_local = None
            return
        if (node.get("name") or "").lower() != "timezone":  # GUC names ignore case, even quoted
            return
        if kind == "VAR_SET_CURRENT":  # SET timezone FROM CURRENT: keeps the value it has
            return
        value = zero_offset_zone(node.get("args")) if kind == "VAR_SET_VALUE" else "default"
        self._set_tz("unknown" if value is None else value, bool(node.get("is_local")))

    def _set_tz(self, value, local: bool) -> None:
        if local:
            self.tz_local = value
        else:  # a plain SET also replaces a SET LOCAL of the same transaction
            self.tz_session = value
            self.tz_local = None

    def _select(self, node: dict) -> None:
        """SELECT set_config('TimeZone', value, is_local) as a top-level target with constant
        arguments; any other set_config call in the statement makes the zone unknown."""
        calls = _set_config_calls(node)
        if not calls:
            return
        top = [((t.get("ResTarget") or {}).get("val") or {}).get("FuncCall") for t in node.get("targetList") or ()]
        for fc in calls:
            args = fc.get("args") or ()
            name = _const_text(args[0]) if args else None
            if name is not None and name.lower() != "timezone":
                continue
            local = _const_bool(args[2]) if len(args) == 3 else None
            value = zero_offset_zone(args[1:2]) if len(args) == 3 else None
            if name is None or local is None or value is None or not any(fc is t for t in top):
                self.tz_session = self.tz_local = "unknown"
            else:
                self._set_tz(value, local)

    def _unknown_session(self, node: dict) -> None:
        """DO and CALL can change any setting: the zone is unknown after them."""
        self.tz_session = self.tz_local = "unknown"

    def _create(self, node: dict) -> None:
        name = relkey(node.get("relation"))
        if not name:
            return
        t = Table(bare(name), created_in=self.migration)
        for elt in node.get("tableElts") or ():
            if "ColumnDef" in elt:
                self._add_column(t, elt["ColumnDef"])
            elif "Constraint" in elt:
                self._table_constraint(t, elt["Constraint"])
        self.tables[t.name] = t
        self.created_now.add(t.name)
        if node.get("partspec"):
            self.partitioned.add(t.name)
        else:
            self.partitioned.discard(t.name)
        self.inherits.pop(t.name, None)
        if node.get("partbound"):
            for inh in node.get("inhRelations") or ():
                if relkey(inh.get("RangeVar")):
                    self.parents[t.name] = bare(relkey(inh["RangeVar"]))
                    if node["partbound"].get("is_default"):
                        self.default_partitions[bare(relkey(inh["RangeVar"]))] = t.name
        else:
            parents = [relkey(inh.get("RangeVar")) for inh in node.get("inhRelations") or ()]
            if parents and parents[0]:
                self.inherits[t.name] = bare(parents[0])

    def _create_as(self, node: dict) -> None:
        """CREATE TABLE ... AS / CREATE MATERIALIZED VIEW: new, so nobody uses it yet (columns unknown)."""
        name = relkey((node.get("into") or {}).get("rel"))
        if name:
            self.tables[bare(name)] = Table(bare(name), created_in=self.migration)
            self.created_now.add(bare(name))

    def _add_column(self, t: Table, cd: dict) -> None:
        cons = constraint_defs(cd)
        types = {c.get("contype") for c in cons}
        ty = type_ref(cd.get("typeName"))
        if ty is not None and ty.name in SERIAL:
            ty = TypeRef(SERIAL[ty.name])
            types.add("CONSTR_DEFAULT")
            types.add("CONSTR_NOTNULL")
        t.columns[cd.get("colname")] = Column(
            ty, not_null=bool(types & {"CONSTR_NOTNULL", "CONSTR_PRIMARY", "CONSTR_IDENTITY"}),
            has_default=bool(types & {"CONSTR_DEFAULT", "CONSTR_IDENTITY", "CONSTR_GENERATED"}),
            generated=next((c.get("generated_kind", "s") for c in cons if c.get("contype") == "CONSTR_GENERATED"), None))
        col = cd.get("colname")
        for c in cons:
            ct = c.get("contype")
            if ct in ("CONSTR_PRIMARY", "CONSTR_UNIQUE"):
                name = c.get("conname") or (f"{t.name}_pkey" if ct == "CONSTR_PRIMARY" else f"{t.name}_{col}_key")
                self.indexes[name] = (t.name, True)
                self.index_keys[name] = ((col,), "btree", False)
                self.constraints[(t.name, name)] = ct
            elif ct in ("CONSTR_FOREIGN", "CONSTR_CHECK"):
                name = c.get("conname") or f"{t.name}_{col}_{'fkey' if ct == 'CONSTR_FOREIGN' else 'check'}"
                self.constraints[(t.name, name)] = ct
                if ct == "CONSTR_CHECK":
                    self.check_uses[(t.name, name)] = (frozenset({col}) | _column_refs(c.get("raw_expr")),
                                                       not c.get("skip_validation"))
                if ct == "CONSTR_FOREIGN" and relkey(c.get("pktable")):
                    self.fks[(t.name, name)] = ((col,), bare(relkey(c["pktable"])), tuple(names_of(c.get("pk_attrs"))))

    def _table_constraint(self, t: Table, con: dict) -> None:
        ct = con.get("contype")
        if ct == "CONSTR_PRIMARY":
            for k in names_of(con.get("keys")):
                if k in t.columns:
                    t.columns[k].not_null = True
        if ct in ("CONSTR_PRIMARY", "CONSTR_UNIQUE", "CONSTR_EXCLUSION"):
            name = con.get("indexname") or con.get("conname")
            keys = names_of(con.get("keys"))
            if con.get("indexname") and con.get("conname"):
                self.indexes.pop(con["indexname"], None)
                name = con["conname"]
                shape = self.index_keys.pop(con["indexname"], None)
                if shape is None and self.live is not None:  # a live index, renamed to the constraint's name
                    live = self.live.index_shape(con["indexname"])
                    shape = live[1:] if live else None
                    self.gone_live_indexes.add(con["indexname"])
                if shape is not None:
                    self.index_keys[name] = shape
            excl = None
            if ct == "CONSTR_EXCLUSION":
                elems = [(((i.get("List") or {}).get("items") or [{}])[0]).get("IndexElem") or {}
                         for i in con.get("exclusions") or ()]
                excl = (tuple(e.get("name") for e in elems), con.get("access_method") or "btree",
                        con.get("where_clause") is not None)
                excl_uses = frozenset(e["name"] for e in elems if e.get("name")) | _column_refs(
                    [e.get("expr") for e in elems]) | _column_refs(con.get("where_clause"))
                if not name:  # PostgreSQL's generated name (first column, or "expr")
                    name = f"{t.name}_{(elems[0].get('name') if elems else None) or 'expr'}_excl"
            elif not name:  # PostgreSQL's generated name
                name = f"{t.name}_pkey" if ct == "CONSTR_PRIMARY" else f"{t.name}_{'_'.join(keys)}_key"
            if name:
                self.indexes[name] = (t.name, ct != "CONSTR_EXCLUSION")
                self.constraints[(t.name, name)] = ct
                if excl is not None:
                    self.index_keys[name] = excl
                    self.index_uses[name] = excl_uses
                elif keys and not con.get("indexname"):
                    self.index_keys[name] = (tuple(keys), "btree", False)
        elif ct == "CONSTR_FOREIGN":
            name = con.get("conname") or f"{t.name}_{'_'.join(names_of(con.get('fk_attrs')))}_fkey"
            self.constraints[(t.name, name)] = ct
            if relkey(con.get("pktable")):
                self.fks[(t.name, name)] = (tuple(names_of(con.get("fk_attrs"))), bare(relkey(con["pktable"])),
                                            tuple(names_of(con.get("pk_attrs"))))
        elif ct == "CONSTR_CHECK":  # unnamed: a stand-in name (PostgreSQL's depends on the expression)
            cname = con.get("conname") or f"{t.name}_check"
            self.constraints[(t.name, cname)] = ct
            prev = self.check_uses.get((t.name, cname)) if not con.get("conname") else None
            self.check_uses[(t.name, cname)] = ((prev[0] if prev else frozenset()) | _column_refs(con.get("raw_expr")),
                                                not con.get("skip_validation") or bool(prev and prev[1]))
        if ct == "CONSTR_CHECK":
            cols = _not_null_columns(con.get("raw_expr"))
            if cols:
                col = cols[0]
                key = (t.name, con.get("conname") or "")
                self.check_cols[key] = cols
                if con.get("skip_validation"):
                    self.pending[key] = col
                else:
                    self.proofs.setdefault(t.name, set()).update(cols)
                    self.check_names[key] = col

    def _alter(self, node: dict) -> None:
        name = relkey(node.get("relation"))
        if not name or node.get("objtype") == "OBJECT_INDEX":
            return
        tb = bare(name)
        t = self.tables.get(tb)
        if t is None:
            t = self.tables[tb] = Table(tb)
            if self.live is not None:
                for col, c in self.live.columns(name).items():
                    t.columns[col] = c
        for cmd in node.get("cmds") or ():
            c = cmd.get("AlterTableCmd") or {}
            sub = c.get("subtype")
            d = c.get("def") or {}
            col = c.get("name")
            if sub == "AT_AddColumn":
                self._add_column(t, d.get("ColumnDef") or {})
                self.columns_added_now.add((tb, (d.get("ColumnDef") or {}).get("colname")))
            elif sub == "AT_DropColumn":
                t.columns.pop(col, None)
                for key in [k for k in self.fks.of(tb, ordered=False) if col in self.fks[k][0]]:
                    self.fks.pop(key)  # PostgreSQL drops the foreign keys that use the column
                self.proofs.get(tb, set()).discard(col)
                for ix in [n for n in self.indexes.of(tb) if col in self.index_keys.get(n, ((),))[0]]:
                    self.index_keys.pop(ix)  # PostgreSQL drops the indexes that use the column
                    self.indexes.pop(ix, None)
            elif sub == "AT_AddInherit":
                parent = relkey(d.get("RangeVar"))
                if parent and tb not in self.inherits:
                    self.inherits[tb] = bare(parent)
            elif sub == "AT_DropInherit":
                if self.inherits.get(tb) == bare(relkey(d.get("RangeVar")) or ""):
                    self.inherits.pop(tb, None)
            elif sub == "AT_AlterColumnType":
                cur = t.columns.get(col) or Column(None)
                cur.type = type_ref((d.get("ColumnDef") or {}).get("typeName"))
                t.columns[col] = cur
            elif sub == "AT_SetNotNull":
                t.columns.setdefault(col, Column(None)).not_null = True
            elif sub == "AT_DropNotNull":
                t.columns.setdefault(col, Column(None)).not_null = False
            elif sub == "AT_ColumnDefault":
                t.columns.setdefault(col, Column(None)).has_default = bool(d)
            elif sub == "AT_AddConstraint":
                self._table_constraint(t, d.get("Constraint") or {})
            elif sub in ("AT_AttachPartition", "AT_DetachPartition"):
                pc = d.get("PartitionCmd") or {}
                part = relkey(pc.get("name"))
                if sub == "AT_AttachPartition" and part and (pc.get("bound") or {}).get("is_default"):
                    self.default_partitions[tb] = bare(part)
                elif sub == "AT_DetachPartition" and part and self.default_partition(tb) == bare(part):
                    self.default_partitions[tb] = None
                if part and sub == "AT_AttachPartition":
                    self.parents[bare(part)] = tb
                    self.detached.discard(bare(part))
                elif part:
                    self.parents.pop(bare(part), None)
                    self.detached.add(bare(part))
            elif sub == "AT_ValidateConstraint":
                if (tb, col) in self.check_uses:
                    self.check_uses[(tb, col)] = (self.check_uses[(tb, col)][0], True)
                col2 = self.pending.pop((tb, col), None)
                if col2:
                    self.proofs.setdefault(tb, set()).update(self.check_cols.get((tb, col), (col2,)))
                    self.check_names[(tb, col)] = col2
            elif sub == "AT_DropConstraint":
                self.check_uses.pop((tb, col), None)
                col2 = self.check_names.pop((tb, col), None)
                self.pending.pop((tb, col), None)
                gone = self.check_cols.pop((tb, col), (col2,) if col2 else ())
                if col2:
                    kept = {c for k, v in self.check_names.items() if k[0] == tb for c in self.check_cols.get(k, (v,))}
                    for c in gone:
                        if c not in kept:
                            self.proofs.get(tb, set()).discard(c)
                self.indexes.pop(col, None)
                self.index_keys.pop(col, None)
                self.constraints.pop((tb, col), None)
                self.fks.pop((tb, col), None)
                self.gone_live_fks.add((tb, col))
                self.gone_live_indexes.add(col)

    def _rename(self, node: dict) -> None:
        rt = node.get("renameType")
        name = relkey(node.get("relation"))
        if rt == "OBJECT_TABLE" and name:
            t = self.tables.pop(bare(name), None)
            if t is not None:
                t.name = node.get("newname")
                self.tables[t.name] = t
            if bare(name) in self.partitioned:
                self.partitioned.discard(bare(name))
                self.partitioned.add(node.get("newname"))
            for ix in self.indexes.of(bare(name)):
                self.indexes[ix] = (node.get("newname"), self.indexes[ix][1])
            new = node.get("newname")
            self.constraints.rename_table(bare(name), new)
            self.fks.rename_table(bare(name), new)
            self.check_uses.rename_table(bare(name), new)
            self.parents.rename(bare(name), new)
            self.inherits.rename(bare(name), new)
            # what proves a column NOT NULL goes with the table
            if bare(name) in self.proofs:
                self.proofs[new] = self.proofs.pop(bare(name))
            for per_constraint in (self.pending, self.check_names, self.check_cols):
                for key in [k for k in per_constraint if k[0] == bare(name)]:
                    per_constraint[(new, key[1])] = per_constraint.pop(key)
            if bare(name) in self.default_partitions:
                self.default_partitions[new] = self.default_partitions.pop(bare(name))
            self.default_partitions = {k: (new if v == bare(name) else v) for k, v in self.default_partitions.items()}
            self.columns_added_now = {(new if t == bare(name) else t, c) for t, c in self.columns_added_now}
            if bare(name) in self.created_now:
                self.created_now.add(node.get("newname"))
        elif rt == "OBJECT_COLUMN" and name:
            t = self.tables.get(bare(name))
            if t is not None and node.get("subname") in t.columns:
                t.columns[node["newname"]] = t.columns.pop(node["subname"])
            if (bare(name), node.get("subname")) in self.columns_added_now:
                self.columns_added_now.add((bare(name), node.get("newname")))
            old = node.get("subname")
            tb = bare(name)
            new = node.get("newname")
            for k in set(self.fks.of(tb, ordered=False) + self.fks.to(tb, ordered=False)):
                v = self.fks[k]
                if (k[0] == tb and old in v[0]) or (v[1] == tb and old in v[2]):
                    self.fks[k] = (tuple(new if c == old and k[0] == tb else c for c in v[0]), v[1],
                                   tuple(new if c == old and v[1] == tb else c for c in v[2]))
            for ix in self.indexes.of(bare(name)):
                shape = self.index_keys.get(ix)
                if shape is not None and old in shape[0]:
                    keys, method, partial = shape
                    self.index_keys[ix] = (tuple(node.get("newname") if k == old else k for k in keys), method, partial)
                if old in self.index_uses.get(ix, ()):
                    self.index_uses[ix] = (self.index_uses[ix] - {old}) | {new}
            for k in self.check_uses.of(tb, ordered=False):
                cols, valid = self.check_uses[k]
                if old in cols:
                    self.check_uses[k] = ((cols - {old}) | {new}, valid)
        elif rt == "OBJECT_INDEX" and name:
            hit = self.indexes.pop(bare(name), None)
            shape = self.index_keys.pop(bare(name), None)
            if hit is None and self.live is not None:
                live = self.live.index_shape(name)
                if live is not None:
                    hit, shape = (live[0], False), live[1:]
                    self.gone_live_indexes.add(bare(name))
            if hit:
                self.indexes[node.get("newname")] = hit
            if shape is not None:
                self.index_keys[node.get("newname")] = shape
            uses = self.index_uses.pop(bare(name), None)
            if uses is not None:
                self.index_uses[node.get("newname")] = uses

    def _drop(self, node: dict) -> None:
        rt = node.get("removeType")
        for n in dropped_names(node):
            if rt == "OBJECT_TABLE":
                self.tables.pop(bare(n), None)
                self.partitioned.discard(bare(n))
                self.created_now.discard(bare(n))
                for parent in [k for k, v in self.default_partitions.items() if v == bare(n)]:
                    self.default_partitions[parent] = None
                for ix in self.indexes.of(bare(n)):
                    self.indexes.pop(ix)
                    self.index_keys.pop(ix, None)
                for key in self.constraints.of(bare(n), ordered=False):
                    self.constraints.pop(key)
                for key in set(self.fks.of(bare(n), ordered=False) + self.fks.to(bare(n), ordered=False)):
                    self.fks.pop(key)
                self.parents.pop(bare(n), None)
                self.inherits.pop(bare(n), None)
            elif rt == "OBJECT_INDEX":
                self.indexes.pop(bare(n), None)
                self.index_keys.pop(bare(n), None)
                self.index_uses.pop(bare(n), None)
                self.gone_live_indexes.add(bare(n))

    def _index(self, node: dict) -> None:
        name = relkey(node.get("relation"))
        if not name:
            return
        keys = tuple((p.get("IndexElem") or {}).get("name") for p in node.get("indexParams") or ())
        idx = node.get("idxname") or f"{bare(name)}_{'_'.join(k or 'expr' for k in keys)}_idx"  # PostgreSQL's choice
        self.indexes[idx] = (bare(name), bool(node.get("unique")))
        self.index_keys[idx] = (keys, node.get("accessMethod") or "btree", bool(node.get("whereClause")))
        self.index_uses[idx] = frozenset(k for k in keys if k) | _column_refs(
            [(p.get("IndexElem") or {}).get("expr") for p in node.get("indexParams") or ()]) | _column_refs(
            node.get("whereClause"))

    def _domain(self, node: dict) -> None:
        nm = names_of(node.get("domainname"))
        if nm:
            self.domains[nm[-1]] = any(c.get("contype") == "CONSTR_CHECK" or c.get("contype") == "CONSTR_NOTNULL"
                                       for c in constraint_defs(node))
            self.domain_bases[nm[-1]] = type_ref(node.get("typeName"))

    def _function(self, node: dict) -> None:
        nm = names_of(node.get("funcname"))
        if not nm:
            return
        vol = "v"
        for o in node.get("options") or ():
            de = o.get("DefElem") or {}
            if de.get("defname") == "volatility":
                vol = {"immutable": "i", "stable": "s"}.get(((de.get("arg") or {}).get("String") or {}).get("sval"), "v")
        self.funcs[nm[-1]] = vol

    def _enum(self, node: dict) -> None:
        nm = names_of(node.get("typeName"))
        if nm:
            self.enums[nm[-1]] = [v["String"]["sval"] for v in node.get("vals") or () if "String" in v]

    def _alter_enum(self, node: dict) -> None:
        nm = names_of(node.get("typeName"))
        if nm and node.get("newVal") and not node.get("oldVal"):
            values = self.enums.setdefault(nm[-1], [])
            if node["newVal"] in values:
                return  # ADD VALUE IF NOT EXISTS of a value the type already has: nothing is added
            values.append(node["newVal"])
            self.enum_values_added_now.setdefault(nm[-1], set()).add(node["newVal"])
        elif nm and node.get("oldVal") and node["oldVal"] in self.enums.get(nm[-1], ()):
            values = self.enums[nm[-1]]
            values[values.index(node["oldVal"])] = node.get("newVal")


_LEARN = {
    "VariableSetStmt": SchemaKnowledge._set_variable,
    "SelectStmt": SchemaKnowledge._select,
    "DoStmt": SchemaKnowledge._unknown_session,
    "CallStmt": SchemaKnowledge._unknown_session,
    "CreateStmt": SchemaKnowledge._create,
    "CreateTableAsStmt": SchemaKnowledge._create_as,
    "AlterTableStmt": SchemaKnowledge._alter,
    "RenameStmt": SchemaKnowledge._rename,
    "DropStmt": SchemaKnowledge._drop,
    "IndexStmt": SchemaKnowledge._index,
    "CreateDomainStmt": SchemaKnowledge._domain,
    "CreateFunctionStmt": SchemaKnowledge._function,
    "CreateEnumStmt": SchemaKnowledge._enum,
    "AlterEnumStmt": SchemaKnowledge._alter_enum,
}
