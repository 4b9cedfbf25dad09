"""`synthetic` snapshot: production-sized data with no production data in it.

The caller restores the source's schema (schema only) into the target database. `generate` then
reads, from the SOURCE, each table's row estimate (pg_class.reltuples, or count(*) for a small
table never analyzed) and each column's pg_stats (null_frac, n_distinct, avg_width; the most
common values are read but never copied, they are production data), orders the tables parents
before children by foreign keys, and fills each table on the TARGET with ONE statement:

    INSERT INTO t (cols) [OVERRIDING SYSTEM VALUE] SELECT <expr(g)> ... FROM generate_series(1, N) g

Every generated value is a deterministic function of the row number g (NULLs too: a hash of g
decides them, no random()), so a table's "templates" (column -> expression of g) let a child
compute a valid parent key arithmetically: the parent row picked for child row g is
1 + ((g * 2654435761) % parent_rows) (or (g - 1) % parent_rows when the foreign key must be
unique, mixed-radix across the foreign keys of a composite unique key), substituted into the
parent's template. No lookups, no row-by-row work.

Integer keys (identity, serial, primary and unique keys) are given explicitly as offset + g (with
OVERRIDING SYSTEM VALUE for GENERATED ALWAYS identity) so children know the range; the sequences
are then advanced with setval so later inserts do not collide.

Constraints are enforced by the server during the INSERT; a table whose INSERT fails (a CHECK the
generator cannot know about, a too-narrow type) is reported as skipped with the error, and its
children fill the foreign key with NULL when nullable, or are skipped too.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import psycopg

G = "__G__"  # placeholder for the row-number expression in templates
MIX = 2654435761  # Knuth's multiplicative hash constant (prime): spreads child rows over parents
NULL_MOD = 10007  # prime: (g * 40503 + salt) % NULL_MOD is a permutation over consecutive g
SMALL_TABLE_BYTES = 64 * 2**20
TEXT_TYPES = {"text", "varchar", "bpchar", "name", "citext"}
INT_TYPES = {"int2": 32766, "int4": 2147483646, "int8": 9223372036854775806, "oid": 4294967294}
UNIQUE_CAPABLE = {"int", "numeric", "float", "text", "uuid", "bytea", "ts", "date", "inet", "jsonb", "interval"}


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
    labels: list[str] = field(default_factory=list)
    null_frac: float = 0.0
    n_distinct: float = -1.0
    avg_width: int | None = None
    has_stats: bool = False


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

_STATS = """
SELECT DISTINCT ON (schemaname, tablename, attname) schemaname, tablename, attname,
       null_frac, n_distinct, avg_width, most_common_vals::text
  FROM pg_stats WHERE schemaname NOT IN ('pg_catalog', 'information_schema', 'bascule')
 ORDER BY schemaname, tablename, attname, inherited DESC"""

_UNIQUES = """
SELECT indrelid, string_to_array(indkey::text, ' ')::int[], indexprs IS NOT NULL, indexrelid::regclass::text
  FROM pg_index WHERE indisunique AND indrelid = ANY(%s)"""

_FKS = """
SELECT conname, conrelid, confrelid, conkey::int[], confkey::int[]
  FROM pg_constraint WHERE contype = 'f' AND conrelid = ANY(%s) ORDER BY conrelid, conname"""


def _base_type(conn, typid: int, typmod: int, cache: dict) -> tuple[str, str, int, list[str]]:
    """(kind, base type name, base typmod, enum labels) following domains to their base type."""
    key = (typid, typmod)
    if key in cache:
        return cache[key]
    tid, tmod = typid, typmod
    for _ in range(20):
        name, typtype, basetype, basetypmod, category = conn.execute(
            "SELECT typname, typtype::text, typbasetype, typtypmod, typcategory::text FROM pg_type WHERE oid = %s",
            (tid,)).fetchone()
        if typtype != "d":
            break
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
    cache[key] = (kind, name, tmod, labels)
    return cache[key]


def read_source(conn) -> list[Table]:
    """Tables, columns, statistics, unique keys and foreign keys of the source database."""
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
        kind, base, btmod, labels = _base_type(conn, typid, typmod, cache)
        tables[relid].columns[num] = Column(num, name, notnull, hasdef, default, ident, gen, type_sql, kind,
                                            base, btmod, labels)
    by_name = {(t.schema, t.name): t for t in tables.values()}
    for schema, tname, col, null_frac, n_distinct, avg_width, _mcv in conn.execute(_STATS).fetchall():
        t = by_name.get((schema, tname))
        if t is None:
            continue
        for c in t.columns.values():
            if c.name == col:
                c.null_frac, c.n_distinct, c.avg_width, c.has_stats = null_frac or 0.0, n_distinct, avg_width, True
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


def value_expr(c: Column, n: int, unique: bool, offset: int = 0) -> tuple[str | None, str | None]:
    """(expression of G, None) for a column's value, or (None, reason) when the type is unsupported."""
    d = _distinct(c, n)
    k = f"(1 + (({G} * 7919) % {d}))"
    cast = f"::{c.type_sql}"
    kind = c.kind
    if kind == "int":
        if unique:
            return f"({offset} + {G}){cast}", None
        d = min(d, INT_TYPES[c.base_name])
        return f"(1 + (({G} * 7919) % {d})){cast}", None
    if kind == "numeric":
        scale = (c.base_typmod - 4) & 0xFFFF if c.base_typmod > 4 else None
        if unique:
            return f"({offset} + {G}){cast}", None
        return (f"{k}{cast}" if scale == 0 else f"({k} / 100.0){cast}"), None
    if kind == "float":
        return (f"({G})::float8{cast}" if unique else f"({k} / 100.0)::float8{cast}"), None
    if kind == "text":
        v = G if unique else k
        digits = len(str(n if unique else d))
        width = max(1, (c.avg_width or 13) - 1)
        limit = _text_len(c)
        if limit is not None:
            width = min(width, limit)
            if not unique and 1 + digits > limit:
                d = max(1, 10 ** (limit - 1) - 1)
                v, digits = f"(1 + (({G} * 7919) % {d}))", limit - 1
        if "email" in c.name.lower() and (limit is None or limit >= digits + 18):
            return f"('u' || {v} || '@example.invalid'){cast}", None
        pad = "x" * max(0, width - 1 - digits)
        return f"('s' || {v}{' || ' + _lit(pad) if pad else ''}){cast}", None
    if kind == "bool":
        return (f"(({G} % 2) = 0)" if d >= 2 else "true"), None
    v = G if unique else k
    if kind == "ts":
        span = 94_608_000  # three years of seconds
        step = max(1, span // (n if unique else d))
        base = "timestamptz '2020-01-01 00:00:00+00'" if c.base_name == "timestamptz" else "timestamp '2020-01-01'"
        return f"({base} + ({v} * {step}) * interval '1 second'){cast}", None
    if kind == "date":
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
    if kind == "enum" and c.labels:
        arr = "ARRAY[" + ", ".join(_lit(x) for x in c.labels) + f"]::{c.type_sql}[]"
        m = len(c.labels) if unique else min(d, len(c.labels))
        return f"({arr})[1 + (({G} - 1) % {m})]", None
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


def plan_table(t: Table, n: int, generated: dict[int, tuple[int, dict[int, str]]], offsets: dict[int, int]) -> Plan:
    """The column expressions for table t at n rows, given the already generated parents
    (oid -> (rows, templates))."""
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
        free = [a for a in idx if a not in fk_cols and cols[a].kind in UNIQUE_CAPABLE]
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
def generate(source_conn, target_conn, scale: float = 1.0, progress=print) -> dict:
    """Fill the target's tables (schema already restored) with synthetic rows shaped like the
    source's statistics. Returns {"schema.table": {rows_requested, rows_generated, seconds,
    rows_per_second, skipped, notes}}."""
    with source_conn.transaction():
        tables = order_tables(read_source(source_conn))
    generated: dict[int, tuple[int, dict[int, str]]] = {}
    result: dict[str, dict] = {}
    for t in tables:
        n = max(0, int(round(t.rows * scale)))
        entry = {"rows_requested": n, "rows_generated": 0, "seconds": 0.0, "rows_per_second": 0.0,
                 "skipped": None, "notes": t.notes}
        result[t.key] = entry
        if not any(c.has_stats for c in t.columns.values()) and n:
            t.notes.append("no pg_stats for this table (not analyzed): all values distinct, no NULLs")
        try:
            plan = plan_table(t, n, generated, {})
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
