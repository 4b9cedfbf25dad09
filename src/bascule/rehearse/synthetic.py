"""`synthetic` snapshot: production-sized data with no production data in it.

The caller restores the source's schema (schema only) into the target database. `generate` then
reads, from the SOURCE, each table's row estimate (pg_class.reltuples, or count(*) for a small
table never analyzed) and, with `stats`:

* "none": nothing else. Every column is generated as for a table never analyzed: all values
  distinct, no NULLs (the schema's own values still apply: enum labels, booleans, CHECK lists).
* "basic": pg_stats null_frac, n_distinct and avg_width of each column.
* "shape" (default): also most_common_freqs (the frequencies, never the values), correlation, and
  for numeric, date and timestamp columns the lowest and highest histogram bound (the range).
  most_common_vals is read only for enum, boolean and CHECK-list columns, whose values are the
  schema's (see below), to give each label its frequency; any other value in it is ignored.

It orders the tables parents before children by foreign keys, and fills each table on the TARGET
with ONE statement:

    INSERT INTO t (cols) [OVERRIDING SYSTEM VALUE] SELECT <expr(g)> ... FROM generate_series(1, N) g

Every generated value is a deterministic function of the row number g (NULLs too: a hash of g
decides them, no random()), so a table's "templates" (column -> expression of g) let a child
compute a valid parent key arithmetically: the parent row picked for child row g is
1 + ((g * 2654435761) % parent_rows) (or (g - 1) % parent_rows when the foreign key must be
unique, mixed-radix across the foreign keys of a composite unique key; with "shape", a one-column
foreign key picks its parent row like any skewed column below, among n_distinct parents),
substituted into the parent's template. No lookups, no row-by-row work.

Skew ("shape"): a non-unique column of d distinct values (n_distinct; negative: a fraction of the
rows) is drawn as a slot number 1..d: slots 1..k take the k most common frequencies (over the
non-NULL rows), slots k+1..d share the rest uniformly. The slot is a bucket (CASE or width_bucket
over cumulative thresholds) of a multiplicative hash of g, or of g itself when |correlation| >= 0.9
for an ordered type (then the column is monotonic in g, ascending or descending, like the
source's physical order). The slot is then turned into a value the way the type is generated
(synthetic text 's<slot>...', an integer, a timestamp ... spread over the source's range when
known), so the synthetic column has the source's shape without any of its values. Enum labels,
true/false and the values a single-column CHECK (col IN (...)) / (col = 'x' OR ...) allows,
in a table or a domain, are schema, not data: they are used as they are, each with its own
most-common frequency. Unique columns and keys are never skewed: offset + g as below.

Integer keys (identity, serial, primary and unique keys) are given explicitly as offset + g (with
OVERRIDING SYSTEM VALUE for GENERATED ALWAYS identity) so children know the range; the sequences
are then advanced with setval so later inserts do not collide.

Constraints are enforced by the server during the INSERT; a table whose INSERT fails (a CHECK the
generator cannot know about, a too-narrow type) is reported as skipped with the error, and its
children fill the foreign key with NULL when nullable, or are skipped too.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Context, Decimal, InvalidOperation

import psycopg

G = "__G__"  # placeholder for the row-number expression in templates
MIX = 2654435761  # Knuth's multiplicative hash constant (prime): spreads child rows over parents
NULL_MOD = 10007  # prime: (g * 40503 + salt) % NULL_MOD is a permutation over consecutive g
SPREAD = 1_000_000_007  # prime: (g * SPREAD) % d visits every slot once per d consecutive rows
BUCKETS = 1_000_003  # prime: resolution of the most-common-frequency buckets (1e-6 of the rows)
PHI = 0.6180339887498949
CORRELATED = 0.9  # |pg_stats.correlation| from which an ordered column is generated monotonically
SMALL_TABLE_BYTES = 64 * 2**20
TEXT_TYPES = {"text", "varchar", "bpchar", "name", "citext"}
INT_TYPES = {"int2": 32766, "int4": 2147483646, "int8": 9223372036854775806, "oid": 4294967294}
UNIQUE_CAPABLE = {"int", "numeric", "float", "text", "uuid", "bytea", "ts", "date", "inet", "jsonb", "interval"}
ORDERED = {"int", "numeric", "float", "ts", "date", "interval"}  # value grows with the slot number
RANGED = {"int": "numeric", "numeric": "numeric", "float": "float", "date": "date", "ts": None}
STATS = ("none", "basic", "shape")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@dataclass
class Column:
    num: int
    name: str
    notnull: bool
    has_default: bool
    default_expr: str | None
    identity: str
    generated: str
    type_sql: str  # format_type, e.g. character varying(50)
    kind: str  # int, numeric, float, text, bool, ts, date, time, interval, uuid, json, jsonb, bytea, inet, enum, other
    base_name: str
    base_typmod: int
    labels: list[str] = field(default_factory=list)  # enum labels
    allowed: list[str] | None = None  # the schema's own values: enum labels, t/f, a CHECK's list
    null_frac: float = 0.0
    n_distinct: float = -1.0
    avg_width: int | None = None
    has_stats: bool = False
    freqs: list[float] = field(default_factory=list)  # most_common_freqs ("shape")
    correlation: float | None = None  # ("shape")
    bounds: tuple | None = None  # (lowest, highest) histogram bound, numeric/date/timestamp ("shape")
    mcv: list[str] | None = None  # most_common_vals, read for `allowed` columns only ("shape")


@dataclass
class Table:
    oid: int
    schema: str
    name: str
    rows: float
    columns: dict[int, Column]
    uniques: list[list[int]] = field(default_factory=list)  # unique/PK indexes, by attnum
    fks: list[tuple[str, int, list[int], list[int]]] = field(default_factory=list)  # name, parent, cols, pcols
    notes: list[str] = field(default_factory=list)

    @property
    def qname(self) -> str:
        return f"{_ident(self.schema)}.{_ident(self.name)}"

    @property
    def key(self) -> str:
        return f"{self.schema}.{self.name}"


# --------------------------------------------------------------------------- reading the source
_TABLES = r"""
SELECT c.oid, n.nspname, c.relname, c.relkind::text,
       CASE WHEN c.relkind = 'p' THEN
            (SELECT coalesce(sum(greatest(l.reltuples, 0)), 0)::float8 FROM pg_partition_tree(c.oid) t
               JOIN pg_class l ON l.oid = t.relid WHERE t.isleaf)
            ELSE c.reltuples::float8 END,
       CASE WHEN c.relkind = 'p' THEN
            (SELECT coalesce(sum(pg_relation_size(t.relid)), 0) FROM pg_partition_tree(c.oid) t)
            ELSE pg_relation_size(c.oid) END
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
   AND n.nspname NOT IN ('information_schema', 'bascule') AND n.nspname NOT LIKE 'pg\_%'
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                   AND d.objid = c.oid AND d.deptype = 'e')
 ORDER BY 2, 3"""

_COLUMNS = """
SELECT a.attrelid, a.attnum, a.attname, a.attnotnull, a.atthasdef, a.attidentity::text, a.attgenerated::text,
       format_type(a.atttypid, a.atttypmod), a.atttypid, a.atttypmod, pg_get_expr(ad.adbin, ad.adrelid)
  FROM pg_attribute a LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
 WHERE a.attrelid = ANY(%s) AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY a.attrelid, a.attnum"""

# No most_common_vals here: those are production values (see _DETAIL for the only ones read).
_STATS = """
SELECT DISTINCT ON (schemaname, tablename, attname) schemaname, tablename, attname,
       null_frac, n_distinct, avg_width, most_common_freqs::float8[], correlation
  FROM pg_stats WHERE schemaname NOT IN ('pg_catalog', 'information_schema', 'bascule')
 ORDER BY schemaname, tablename, attname, inherited DESC"""

# Per wanted column: the most common values of a column whose values are the schema's (labels),
# or the lowest and highest histogram bound of a numeric, date or timestamp column (as epoch
# seconds for dates and timestamps). CASE evaluates only the branch of the column's kind.
_DETAIL = """
SELECT DISTINCT ON (w.i) w.i,
       CASE w.how
         WHEN 'labels' THEN s.most_common_vals::text::text[]
         WHEN 'numeric' THEN (SELECT ARRAY[a[1]::text, a[cardinality(a)]::text]
                                FROM (SELECT s.histogram_bounds::text::numeric[] AS a) x)
         WHEN 'float' THEN (SELECT ARRAY[a[1]::text, a[cardinality(a)]::text]
                              FROM (SELECT s.histogram_bounds::text::float8[] AS a) x)
         WHEN 'date' THEN (SELECT ARRAY[date_part('epoch', a[1]::timestamp)::text,
                                        date_part('epoch', a[cardinality(a)]::timestamp)::text]
                             FROM (SELECT s.histogram_bounds::text::date[] AS a) x)
         WHEN 'timestamp' THEN (SELECT ARRAY[date_part('epoch', a[1])::text,
                                             date_part('epoch', a[cardinality(a)])::text]
                                  FROM (SELECT s.histogram_bounds::text::timestamp[] AS a) x)
         WHEN 'timestamptz' THEN (SELECT ARRAY[date_part('epoch', a[1])::text,
                                               date_part('epoch', a[cardinality(a)])::text]
                                    FROM (SELECT s.histogram_bounds::text::timestamptz[] AS a) x)
       END
  FROM unnest(%s::int[], %s::text[], %s::text[], %s::text[], %s::text[]) AS w(i, sch, tab, col, how)
  JOIN pg_stats s ON s.schemaname = w.sch AND s.tablename = w.tab AND s.attname = w.col
 ORDER BY w.i, s.inherited DESC"""

_CHECKS = """
SELECT conrelid, conkey[1], pg_get_constraintdef(oid)
  FROM pg_constraint WHERE contype = 'c' AND conrelid = ANY(%s) AND cardinality(conkey) = 1"""

_UNIQUES = """
SELECT indrelid, string_to_array(indkey::text, ' ')::int[], indexprs IS NOT NULL, indexrelid::regclass::text
  FROM pg_index WHERE indisunique AND indrelid = ANY(%s)"""

_FKS = """
SELECT conname, conrelid, confrelid, conkey::int[], confkey::int[]
  FROM pg_constraint WHERE contype = 'f' AND conrelid = ANY(%s) ORDER BY conrelid, conname"""

_QUOTED = re.compile(r"'((?:[^']|'')*)'")
_CAST = re.compile(r"::(?:[^=,()\[\]]|\[\])+")
_NUMBER = re.compile(r"(?<![\w\"])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w\"])")
_IN_LIST = re.compile(r"C=ANY(?:ARRAY)?\[(L\d+(?:,L\d+)*)\]")
_OR_LIST = re.compile(r"C=L\d+(?:ORC=L\d+)*")


def check_values(definition: str, column: str) -> list[str] | None:
    """The values a one-column CHECK allows when it is a plain list, from pg_get_constraintdef:
    CHECK ((col = ANY (ARRAY['a'::text, 'b'::text]))), CHECK (((col = 'a'::text) OR (col = 'b'::text))),
    CHECK ((col = 'a'::text)), numbers too; `column` is "VALUE" for a domain. None for any other CHECK."""
    m = re.fullmatch(r"\s*CHECK\s*(.*?)(?:\s+NOT VALID)?\s*", definition, re.S)
    if not m:
        return None
    values: list[str] = []

    def keep(text: str) -> str:
        values.append(text)
        return f" L{len(values) - 1} "

    s = _QUOTED.sub(lambda q: keep(q.group(1).replace("''", "'")), m.group(1))
    s = s.replace(_ident(column), " C ")
    if re.fullmatch(r"[a-z_][a-z0-9_$]*|VALUE", column):
        s = re.sub(rf"(?<![\w\"$]){re.escape(column)}(?![\w\"$])", " C ", s)
    s = _CAST.sub("", s)
    s = _NUMBER.sub(lambda q: keep(q.group(0)), s)
    skeleton = re.sub(r"[\s()]", "", s)
    if not (_IN_LIST.fullmatch(skeleton) or _OR_LIST.fullmatch(skeleton)):
        return None
    out: list[str] = []
    for i in re.findall(r"L(\d+)", skeleton):
        if values[int(i)] not in out:
            out.append(values[int(i)])
    return out


def _intersect(current: list[str] | None, values: list[str]) -> list[str]:
    return values if current is None else [v for v in current if v in values]


def _base_type(conn, typid: int, typmod: int, cache: dict) -> tuple[str, str, int, list[str], list[str] | None]:
    """(kind, base type name, base typmod, enum labels, values the domains' CHECK lists allow)
    following domains to their base type."""
    key = (typid, typmod)
    if key in cache:
        return cache[key]
    tid, tmod = typid, typmod
    domain_allowed: list[str] | None = None
    for _ in range(20):
        name, typtype, basetype, basetypmod, category = conn.execute(
            "SELECT typname, typtype::text, typbasetype, typtypmod, typcategory::text FROM pg_type WHERE oid = %s",
            (tid,)).fetchone()
        if typtype != "d":
            break
        for (definition,) in conn.execute(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE contypid = %s AND contype = 'c'", (tid,)):
            values = check_values(definition, "VALUE")
            if values is not None:
                domain_allowed = _intersect(domain_allowed, values)
        tid, tmod = basetype, (basetypmod if basetypmod != -1 else tmod)
    labels: list[str] = []
    if typtype == "e":
        kind = "enum"
        labels = [r[0] for r in conn.execute(
            "SELECT enumlabel FROM pg_enum WHERE enumtypid = %s ORDER BY enumsortorder", (tid,))]
    elif name in INT_TYPES:
        kind = "int"
    elif name == "numeric":
        kind = "numeric"
    elif name in ("float4", "float8"):
        kind = "float"
    elif name in TEXT_TYPES or (category == "S" and typtype == "b"):
        kind = "text"
    elif name == "bool":
        kind = "bool"
    elif name in ("timestamp", "timestamptz"):
        kind = "ts"
    elif name in ("date", "time", "timetz", "interval", "uuid", "json", "jsonb", "bytea"):
        kind = {"timetz": "time"}.get(name, name)
    elif name in ("inet", "cidr"):
        kind = "inet"
    else:
        kind = "other"
    cache[key] = (kind, name, tmod, labels, domain_allowed)
    return cache[key]


def _finite(text: str | None, as_decimal: bool):
    if text is None:
        return None
    try:
        v = Decimal(text) if as_decimal else float(text)
    except (InvalidOperation, ValueError):
        return None
    return v if (v.is_finite() if as_decimal else math.isfinite(v)) else None


def _read_details(conn, tables: dict[int, Table]) -> None:
    """Most common values of the `allowed` columns, ranges of the numeric/date/timestamp ones."""
    wanted: list[tuple[Column, str]] = []
    for t in tables.values():
        for c in t.columns.values():
            if not c.has_stats:
                continue
            if c.allowed is not None and c.freqs:
                wanted.append((c, "labels"))
            elif c.kind in RANGED:
                wanted.append((c, RANGED[c.kind] or c.base_name))
    if not wanted:
        return
    owner = {id(c): t for t in tables.values() for c in t.columns.values()}
    params = (list(range(len(wanted))), [owner[id(c)].schema for c, _ in wanted],
              [owner[id(c)].name for c, _ in wanted], [c.name for c, _ in wanted], [how for _, how in wanted])
    try:
        with conn.transaction():  # a savepoint: an odd type must not cost the whole snapshot
            rows = conn.execute(_DETAIL, params).fetchall()
    except psycopg.Error as exc:
        for t in tables.values():
            t.notes.append(f"most common labels and value ranges not read: {str(exc).strip().splitlines()[0]}")
        return
    for i, arr in rows:
        c, how = wanted[i]
        if arr is None:
            continue
        if how == "labels":
            c.mcv = [(v.rstrip(" ") if c.base_name == "bpchar" and v is not None else v) for v in arr]
            continue
        lo, hi = (_finite(x, how == "numeric") for x in arr[:2])
        if lo is not None and hi is not None and hi > lo:
            if how == "date":
                lo, hi = round(lo / 86400) - 10957, round(hi / 86400) - 10957  # days since 2000-01-01
            c.bounds = (lo, hi)


def read_source(conn, stats: str = "shape") -> list[Table]:
    """Tables, columns, statistics (as much as `stats` allows), unique keys and foreign keys of
    the source database."""
    if stats not in STATS:
        raise ValueError(f"stats must be one of {', '.join(STATS)}, not {stats!r}")
    tables: dict[int, Table] = {}
    for oid, schema, name, _relkind, reltuples, size in conn.execute(_TABLES).fetchall():
        t = Table(oid, schema, name, reltuples, {})
        if reltuples < 0 or (reltuples == 0 and size > 0):
            if size <= SMALL_TABLE_BYTES:
                t.rows = conn.execute(f"SELECT count(*) FROM {t.qname}").fetchone()[0]
                t.notes.append("never analyzed: row count from count(*)")
            else:
                t.rows = size / 100.0
                t.notes.append("never analyzed and large: rows estimated from its size (100 bytes a row)")
        tables[oid] = t
    oids = list(tables)
    cache: dict = {}
    for (relid, num, name, notnull, hasdef, ident, gen, type_sql, typid, typmod, default) in conn.execute(
            _COLUMNS, (oids,)).fetchall():
        kind, base, btmod, labels, domain_allowed = _base_type(conn, typid, typmod, cache)
        c = Column(num, name, notnull, hasdef, default, ident, gen, type_sql, kind, base, btmod, labels)
        c.allowed = labels if kind == "enum" else ["t", "f"] if kind == "bool" else None
        if domain_allowed is not None:
            c.allowed = _intersect(c.allowed, domain_allowed)
        tables[relid].columns[num] = c
    for relid, num, definition in conn.execute(_CHECKS, (oids,)).fetchall():
        c = tables[relid].columns.get(num)
        values = check_values(definition, c.name) if c is not None else None
        if values is not None:
            c.allowed = _intersect(c.allowed, values)
    if stats != "none":
        by_name = {(t.schema, t.name): t for t in tables.values()}
        for schema, tname, col, null_frac, n_distinct, avg_width, freqs, corr in conn.execute(_STATS).fetchall():
            t = by_name.get((schema, tname))
            if t is None:
                continue
            for c in t.columns.values():
                if c.name == col:
                    c.null_frac, c.n_distinct, c.avg_width, c.has_stats = null_frac or 0.0, n_distinct, avg_width, True
                    if stats == "shape":
                        c.freqs, c.correlation = [float(f) for f in freqs or []], corr
        if stats == "shape":
            _read_details(conn, tables)
    for relid, keys, has_exprs, iname in conn.execute(_UNIQUES, (oids,)).fetchall():
        cols = [k for k in keys if k > 0]
        if has_exprs:
            tables[relid].notes.append(f"unique index {iname} has expressions: uniqueness not planned for it")
        if cols:
            tables[relid].uniques.append(cols)
    for conname, relid, prelid, cols, pcols in conn.execute(_FKS, (oids,)).fetchall():
        tables[relid].fks.append((conname, prelid, cols, pcols))
    return list(tables.values())


def order_tables(tables: list[Table]) -> list[Table]:
    """Parents before children (Kahn); tables in a foreign-key cycle come last, by name."""
    by_oid = {t.oid: t for t in tables}
    deps = {t.oid: {p for _, p, _, _ in t.fks if p != t.oid and p in by_oid} for t in tables}
    done: list[Table] = []
    seen: set[int] = set()
    while True:
        ready = sorted((t for t in tables if t.oid not in seen and deps[t.oid] <= seen), key=lambda t: t.key)
        if not ready:
            break
        for t in ready:
            seen.add(t.oid)
            done.append(t)
    rest = sorted((t for t in tables if t.oid not in seen), key=lambda t: t.key)
    for t in rest:
        t.notes.append("in a foreign-key cycle: references to tables not generated yet are NULL")
    return done + rest


# --------------------------------------------------------------------------- expressions
def _distinct(c: Column, n: int) -> int:
    if not c.has_stats:
        d = n
    elif c.n_distinct > 0:
        d = int(c.n_distinct)
    else:
        d = int(-c.n_distinct * n)
    return max(1, d)


def _text_len(c: Column) -> int | None:
    if c.base_name in ("varchar", "bpchar") and c.base_typmod > 4:
        return c.base_typmod - 4
    return None


def _shares(c: Column, freqs: list[float], d: int) -> list[float]:
    """The share of the non-NULL rows each of the first slots takes (most common frequencies are
    fractions of all rows), at most d of them; they sum to 1 when they are all the slots."""
    nonnull = 1.0 - (c.null_frac or 0.0)
    if nonnull <= 0 or not freqs:
        return []
    p = [min(1.0, max(0.0, f / nonnull)) for f in freqs[:d]]
    total = sum(p)
    if total <= 0:
        return []
    if total > 1 or len(p) == d:
        p = [x / total for x in p]
    return p


def _order(correlation: float | None) -> int:
    """1 (ascending) or -1 (descending) when the source column follows its table's physical order."""
    if correlation is None:
        return 0
    return 1 if correlation >= CORRELATED else -1 if correlation <= -CORRELATED else 0


def _multiplier(salt: int) -> int:
    """A per-column multiplier for the bucket hash (golden-ratio steps), so that two skewed columns
    of a table do not pick their common slots on the same rows."""
    f = (0.5 + salt * PHI) % 1.0
    if f < 0.15 or f > 0.85:
        f = (f + 0.35) % 1.0
    return max(1, int(f * BUCKETS))


def slot_expr(d: int, shares: list[float], order: int, n: int, salt: int) -> str:
    """Expression of G in 0..d-1 (a zero-based slot): slot i (i < k = len(shares)) for shares[i] of
    the rows, the others spread uniformly over k..d-1. Hashed from g (order 0), else monotonic in g
    over the n rows (1 ascending, -1 descending). Set-based: arithmetic, CASE and width_bucket only."""
    if d <= 1:
        return "0"
    n = max(1, n)
    if order:
        unit, u = n, (f"({G} - 1)" if order > 0 else f"({n} - {G})")
    else:
        unit, u = BUCKETS, f"(({G} * {_multiplier(salt)}) % {BUCKETS})"
    k = min(len(shares), d)
    if k == 0:
        if order:
            return u if d == n else f"(({u} * {d}) / {n})"
        return f"(({G} * {SPREAD}) % {d})"
    cuts, acc = [], 0.0
    for x in shares[:k]:
        acc += x
        cuts.append(min(unit, round(acc * unit)))
    tail = d - k if cuts[-1] < unit else 0
    if order:
        tail_expr = f"({k} + (({u} - {cuts[-1]}) * {tail}) / {unit - cuts[-1]})"
    else:
        tail_expr = f"({k} + (({G} * {SPREAD}) % {tail}))"
    edges = cuts if tail else cuts[:-1]  # where each slot ends, but the last one (or the tail)
    if not edges:
        return "0"
    last = tail_expr if tail else str(k - 1)
    if len(edges) <= 4:
        whens = " ".join(f"WHEN {u} < {e} THEN {i}" for i, e in enumerate(edges))
        return f"(CASE {whens} ELSE {last} END)"
    arr = "'{" + ",".join(str(e) for e in edges[:-1]) + "}'::int8[]"
    return f"(CASE WHEN {u} < {edges[-1]} THEN width_bucket({u}, {arr}) ELSE {last} END)"


def _label_slots(c: Column, d: int) -> tuple[list[str], list[float]]:
    """The labels in slot order (the most common first, with their shares) and their shares."""
    allowed = c.allowed or []
    first: list[str] = []
    freqs: list[float] = []
    for v, f in zip(c.mcv or [], c.freqs, strict=False):
        if v in allowed and v not in first:
            first.append(v)
            freqs.append(f)
    rest = [x for x in allowed if x not in first]
    m = max(len(first), min(d, len(allowed)))
    slots = first + rest[:m - len(first)]
    return slots, _shares(c, freqs, len(slots))


def _num(x) -> str:
    return format(x, "f") if isinstance(x, Decimal) else repr(float(x))


def _plus(base: str, s0: str, step=1) -> str:
    """base + s0 * step, without the no-op arithmetic."""
    term = s0 if step == 1 else f"{s0} * {step}"
    return term if base in ("0", "") else f"({base} + {term})"


def value_expr(c: Column, n: int, unique: bool, offset: int = 0) -> tuple[str | None, str | None]:
    """(expression of G, None) for a column's value, or (None, reason) when the type is unsupported."""
    d = _distinct(c, n)
    cast = f"::{c.type_sql}"
    kind = c.kind
    salt = c.num
    if c.allowed:  # the schema's own values (enum labels, booleans, a CHECK's list)
        if unique:
            slots, s0 = c.allowed, f"(({G} - 1) % {len(c.allowed)})"
        else:
            slots, shares = _label_slots(c, d)
            s0 = slot_expr(len(slots), shares, 0, n, salt)
        if kind == "bool" and c.type_sql == "boolean":
            if len(slots) == 1:
                return ("true" if slots[0] == "t" else "false"), None
            return f"({s0} {'=' if slots[0] == 't' else '<>'} 0)", None
        arr = "ARRAY[" + ", ".join(_lit(x) for x in slots) + f"]::{c.type_sql}[]"
        return f"({arr})[1 + {s0}]", None
    if kind == "int":
        d = min(d, INT_TYPES[c.base_name])
    limit = _text_len(c) if kind == "text" else None
    digits = len(str(n if unique else d))
    if limit is not None and not unique and 1 + digits > limit:
        d, digits = max(1, 10 ** (limit - 1) - 1), limit - 1
    order = _order(c.correlation) if kind in ORDERED else 0
    s0 = f"({G} - 1)" if unique else slot_expr(d, _shares(c, c.freqs, d), order, n, salt)
    v = G if unique else f"(1 + {s0})"  # 1..d, as before the slots
    lo_hi = c.bounds if not unique or kind in ("ts", "date") else None
    if kind == "int":
        if unique:
            return f"({offset} + {G}){cast}", None
        if lo_hi is not None:
            lo, hi = int(lo_hi[0]), int(lo_hi[1])
            step = max(1, (hi - lo) // (d - 1)) if d > 1 else 1
            if -INT_TYPES[c.base_name] <= lo and lo + (d - 1) * step <= INT_TYPES[c.base_name]:
                return f"{_plus(str(lo), s0, step)}{cast}", None
        return f"{v}{cast}", None
    if kind == "numeric":
        scale = (c.base_typmod - 4) & 0xFFFF if c.base_typmod > 4 else None
        if unique:
            return f"({offset} + {G}){cast}", None
        if lo_hi is not None:
            lo, hi = lo_hi
            step = Context(prec=12, rounding=ROUND_DOWN).divide(hi - lo, d - 1) if d > 1 else Decimal(0)
            return f"({_num(lo)}::numeric + {s0} * {_num(step)}){cast}", None
        return (f"{v}{cast}" if scale == 0 else f"({v} / 100.0){cast}"), None
    if kind == "float":
        if unique:
            return f"({G})::float8{cast}", None
        if lo_hi is not None:
            lo, hi = lo_hi
            step = (hi - lo) / (d - 1) if d > 1 else 0.0
            return f"(float8 '{_num(lo)}' + {s0} * float8 '{_num(step)}'){cast}", None
        return f"({v} / 100.0)::float8{cast}", None
    if kind == "text":
        width = max(1, (c.avg_width or 13) - 1)
        if limit is not None:
            width = min(width, limit)
        if "email" in c.name.lower() and (limit is None or limit >= digits + 18):
            return f"('u' || {v} || '@example.invalid'){cast}", None
        pad = "x" * max(0, width - 1 - digits)
        return f"('s' || {v}{' || ' + _lit(pad) if pad else ''}){cast}", None
    if kind == "bool":  # without labels: a CHECK list left none
        return None, f"column {c.name}: no boolean value satisfies its CHECK constraints"
    if kind == "ts":
        if lo_hi is not None:
            lo, hi = lo_hi
            start = f"to_timestamp(float8 '{_num(lo)}')"  # immutable: folded into a constant
            if c.base_name != "timestamptz":
                start = f"timezone('UTC', {start})"
            if unique:
                step_us = max(10**6, int((hi - lo) * 10**6 // max(1, n)) // 10**6 * 10**6)
                return f"({start} + ({G} - 1) * interval '{step_us} microseconds'){cast}", None
            step_us = int((hi - lo) * 10**6 // (d - 1)) if d > 1 else 0
            return f"({start} + {s0} * interval '{step_us} microseconds'){cast}", None
        if c.base_name == "timestamptz":
            base = "timestamptz '2020-01-01 00:00:00+00'"
        else:
            base = "timestamp '2020-01-01'"
        span = 94_608_000  # three years of seconds
        step_s = max(1, span // (n if unique else d))
        return f"({base} + ({v} * {step_s}) * interval '1 second'){cast}", None
    if kind == "date":
        if lo_hi is not None:
            lo, hi = lo_hi
            if unique:
                return f"(date '2000-01-01' + ({lo - 1} + {G})::int){cast}", None
            spread = f"({s0} * {hi - lo}) / {d - 1}" if d > 1 else "0"
            return f"(date '2000-01-01' + ({lo} + {spread})::int){cast}", None
        return f"(date '2000-01-01' + ({v})::int){cast}", None
    if kind == "time":
        return f"(time '00:00' + ({v} % 86400) * interval '1 second'){cast}", None
    if kind == "interval":
        return f"({v} * interval '1 second'){cast}", None
    if kind == "uuid":
        return f"md5({_lit(c.name + ':')} || {v})::uuid{cast}", None
    if kind in ("json", "jsonb"):
        return f"jsonb_build_object('n', {v}){cast}", None
    if kind == "bytea":
        return f"decode(md5({v}::text), 'hex'){cast}", None
    if kind == "inet":
        return f"(inet 'fd00::' + {v}){cast}", None
    return None, f"column {c.name} has an unsupported type {c.type_sql}"


def _with_nulls(c: Column, expr: str) -> tuple[str, bool]:
    """Wrap an expression so a hash of g makes it NULL for null_frac of the rows (nullable columns only)."""
    if c.notnull or c.null_frac <= 0:
        return expr, False
    cut = round(c.null_frac * NULL_MOD)
    if cut <= 0:
        return expr, False
    salt = (c.num * 101) % NULL_MOD
    return f"CASE WHEN (({G} * 40503 + {salt}) % {NULL_MOD}) < {cut} THEN NULL ELSE {expr} END", True


@dataclass
class Plan:
    columns: list[str]
    exprs: list[str]
    overriding: bool
    sequences: list[str]  # columns whose sequence to advance afterwards
    templates: dict[int, str]
    skip: str | None = None


def plan_table(t: Table, n: int, generated: dict[int, tuple[int, dict[int, str]]], offsets: dict[int, int],
               shape: bool = True) -> Plan:
    """The column expressions for table t at n rows, given the already generated parents
    (oid -> (rows, templates)). With `shape`, a one-column foreign key picks its parent rows with
    the column's distinct count, most common frequencies and correlation."""
    cols = t.columns
    fk_cols = {a for _, _, cs, _ in t.fks for a in cs}
    serial = {a for a, c in cols.items()
              if c.identity in ("a", "d") or (c.default_expr or "").startswith("nextval(")}
    unique: set[int] = set(serial)
    unique_fks: dict[str, str] = {}  # fk name -> selector of the parent row
    for idx in t.uniques:
        if len(idx) == 1:
            unique.add(idx[0])
            continue
        if any(a in unique for a in idx):
            continue
        free = [a for a in idx if a not in fk_cols and cols[a].kind in UNIQUE_CAPABLE and not cols[a].allowed]
        if free:
            unique.add(free[0])
            continue
        # all foreign keys: mixed radix over the parents' rows makes the tuples unique
        radix = "1"
        for name, parent, fcols, _ in t.fks:
            if set(fcols) <= set(idx) and parent in generated and name not in unique_fks:
                pn = max(1, generated[parent][0])
                unique_fks[name] = f"(1 + ((({G} - 1) / ({radix})) % {pn}))"
                radix = f"{radix} * {pn}"
    exprs: dict[int, str] = {}
    templates: dict[int, str] = {}
    skip = None
    for a, c in cols.items():
        if c.generated or a in fk_cols:
            continue
        expr, why = value_expr(c, n, a in unique, offsets.get(a, 0))
        if expr is None:
            if not c.notnull:
                exprs[a] = "NULL"
            elif c.has_default:
                t.notes.append(f"{why}: left to its default")
            else:
                skip = f"{why} and is NOT NULL without a default"
            continue
        if a in unique or a in serial:  # keys are never NULL: they must stay referencable
            exprs[a] = expr
            templates[a] = expr
            continue
        exprs[a], nulled = _with_nulls(c, expr)
        if not nulled:
            templates[a] = expr
    for name, parent, fcols, pcols in t.fks:
        nullable = all(not cols[a].notnull for a in fcols)
        if parent == t.oid:
            if nullable:
                for a in fcols:
                    exprs[a] = "NULL"
                continue
            ptemplates, selector = templates, G  # the same row
        elif parent in generated and generated[parent][0] > 0:
            pn, ptemplates = generated[parent]
            single_unique = len(fcols) == 1 and fcols[0] in unique
            selector = unique_fks.get(name) or (f"(1 + (({G} - 1) % {pn}))" if single_unique
                                                 else f"(1 + (({G} * {MIX}) % {pn}))")
            if shape and name not in unique_fks and not single_unique and len(fcols) == 1 \
                    and cols[fcols[0]].has_stats:
                c = cols[fcols[0]]
                d = min(_distinct(c, n), pn)  # parent rows 1..d: a valid parent whatever the slot
                selector = f"(1 + {slot_expr(d, _shares(c, c.freqs, d), _order(c.correlation), n, c.num + 7)})"
        else:
            ptemplates, selector = {}, None
        if selector is None or any(p not in ptemplates for p in pcols):
            if nullable:
                t.notes.append(f"foreign key {name}: parent rows unknown, filled with NULL")
                for a in fcols:
                    exprs.setdefault(a, "NULL")
                continue
            skip = skip or f"foreign key {name}: the parent table was not generated with usable keys"
            continue
        for a, p in zip(fcols, pcols, strict=True):
            if a in exprs and exprs[a] != "NULL":
                continue  # already set by another foreign key sharing the column
            expr = f"({ptemplates[p].replace(G, selector)})::{cols[a].type_sql}"
            exprs[a], nulled = _with_nulls(cols[a], expr) if a not in unique else (expr, False)
            if not nulled:
                templates[a] = expr
    order = sorted(exprs)
    overriding = any(cols[a].identity == "a" for a in order)
    return Plan([cols[a].name for a in order], [exprs[a] for a in order], overriding,
                [cols[a].name for a in order if a in serial], templates, skip)


def insert_sql(t: Table, plan: Plan, n: int) -> str:
    collist = f" ({', '.join(_ident(c) for c in plan.columns)})" if plan.columns else ""
    over = " OVERRIDING SYSTEM VALUE" if plan.overriding else ""
    select = ", ".join(e.replace(G, "g") for e in plan.exprs)
    return f"INSERT INTO {t.qname}{collist}{over} SELECT {select} FROM generate_series(1, {n}::bigint) AS g"


# --------------------------------------------------------------------------- generating
def generate(source_conn, target_conn, scale: float = 1.0, progress=print, stats: str = "shape") -> dict:
    """Fill the target's tables (schema already restored) with synthetic rows shaped like the
    source's statistics: "shape", "basic" or "none" (see the module's docstring). Returns
    {"schema.table": {rows_requested, rows_generated, seconds, rows_per_second, skipped, notes}}."""
    with source_conn.transaction():
        tables = order_tables(read_source(source_conn, stats))
    generated: dict[int, tuple[int, dict[int, str]]] = {}
    result: dict[str, dict] = {}
    for t in tables:
        n = max(0, int(round(t.rows * scale)))
        entry = {"rows_requested": n, "rows_generated": 0, "seconds": 0.0, "rows_per_second": 0.0,
                 "skipped": None, "notes": t.notes}
        result[t.key] = entry
        if stats != "none" and not any(c.has_stats for c in t.columns.values()) and n:
            t.notes.append("no pg_stats for this table (not analyzed): all values distinct, no NULLs")
        try:
            plan = plan_table(t, n, generated, {}, shape=stats == "shape")
        except Exception as exc:  # a bug in planning must not hide the other tables
            entry["skipped"] = f"could not plan: {exc}"
            continue
        if plan.skip:
            entry["skipped"] = plan.skip
            progress(f"synthetic: {t.key}: skipped ({plan.skip})")
            continue
        if n == 0:
            generated[t.oid] = (0, plan.templates)
            continue
        stmt = insert_sql(t, plan, n)
        progress(f"synthetic: {t.key}: {n:,} rows")
        start = time.perf_counter()
        try:
            with target_conn.transaction():
                cur = target_conn.execute(stmt)
                rows = cur.rowcount
                for col in plan.sequences:
                    target_conn.execute(
                        f"SELECT setval(s, m) FROM (SELECT pg_get_serial_sequence(%s, %s) AS s, "
                        f"(SELECT max({_ident(col)}) FROM {t.qname}) AS m) x WHERE s IS NOT NULL AND m IS NOT NULL",
                        (t.qname, col))
        except psycopg.Error as exc:
            diag = exc.diag
            what = f"{diag.sqlstate or ''} {diag.message_primary or str(exc)}".strip()
            if diag.constraint_name:
                what += f" (constraint {diag.constraint_name})"
            entry["skipped"] = f"INSERT failed: {what}"
            entry["seconds"] = round(time.perf_counter() - start, 3)
            progress(f"synthetic: {t.key}: skipped ({entry['skipped']})")
            continue
        secs = time.perf_counter() - start
        entry.update(rows_generated=rows, seconds=round(secs, 3), rows_per_second=round(rows / secs) if secs else 0.0)
        generated[t.oid] = (rows, plan.templates)
    return result
