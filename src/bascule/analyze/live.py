"""Size-aware linting: the target's catalog and statistics turn lock facts into estimates.

With a connection, `LiveCatalog` answers the analyzer's schema questions for tables the linted
migrations did not create (column types, NOT NULL, CHECK proofs, index owners, function
volatility) and supplies each table's size and write rate. A short calibration probe measures
this server's throughput on a temporary table (write, scan, index build; rolled back), so
"rewrites orders" becomes "rewrites orders: 48 M rows, 12 GB; roughly 4 min under ACCESS
EXCLUSIVE; blocks ~310 writes/s". Only catalog reads and the temporary table: nothing else is
written, and every query runs with a short statement_timeout.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from bascule.analyze.context import Column
from bascule.analyze.facts import BLOCKS, LOCK_NAMES, TypeRef, bare
from bascule.analyze.model import Finding

# Used when the probe is skipped (--no-probe) or fails: conservative figures for a busy server
# reading from cache (bytes per second).
DEFAULT_RATES = {"write": 60e6, "scan": 400e6, "index": 40e6}
SMALL_ROWS = 10_000
SMALL_BYTES = 10 * 1024 * 1024
LONG_LOCK_S = 5.0  # a lock held longer than this on a table with writes is an outage
BUSY_WRITES = 100.0  # writes per second that make any blocking lock visible to users
MIN_STATS_AGE = 3600.0  # seconds of statistics needed before a write rate means anything
_CONTYPES = {"f": "CONSTR_FOREIGN", "c": "CONSTR_CHECK", "u": "CONSTR_UNIQUE", "p": "CONSTR_PRIMARY",
             "x": "CONSTR_EXCLUSION", "n": "CONSTR_NOTNULL", "t": "CONSTR_TRIGGER"}


def _typeref(typname: str, typmod: int, ndims: int) -> TypeRef:
    name = typname[1:] if typname.startswith("_") and ndims else typname
    mods: tuple = ()
    if typmod >= 0:
        if name in ("varchar", "bpchar", "varbit", "bit"):
            mods = (typmod - 4,)
        elif name == "numeric":
            mods = ((typmod - 4) >> 16, (typmod - 4) & 0xFFFF)
        elif name in ("timestamp", "timestamptz", "time", "timetz", "interval"):
            mods = (typmod,)
    return TypeRef(name, mods, bool(ndims))


@dataclass
class TableStats:
    table: str
    rows: int
    bytes: int
    index_bytes: int
    writes_per_s: float | None
    analyzed: bool

    def human(self) -> str:
        return f"{human_rows(self.rows)} rows, {human_bytes(self.bytes + self.index_bytes)}"


def human_rows(n: float) -> str:
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= div:
            return f"{n / div:.1f} {unit}".replace(".0 ", " ")
    return str(int(n))


def human_bytes(n: float) -> str:
    for unit, div in (("TB", 1 << 40), ("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= div:
            return f"{n / div:.1f} {unit}".replace(".0 ", " ")
    return f"{int(n)} B"


def human_seconds(s: float) -> str:
    if s < 1:
        return f"{s * 1000:.0f} ms"
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.1f} h"


def _regtext(key: str) -> str:
    """The text to_regclass() reads for a relation key ("schema.name" or "name", as the parser left
    them: unquoted identifiers already folded to lower case): each part quoted, so that "BigMixed"
    or "my table" are found as they are, not folded again."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in key.split(".", 1))


class LiveCatalog:
    """Catalog and statistics of one database, read lazily and cached."""

    def __init__(self, conn, probe: bool = True):
        self.conn = conn
        self._cols: dict[str, dict[str, Column] | None] = {}
        self._stats: dict[str, TableStats | None] = {}
        self._proofs: dict[str, set[str]] = {}
        self._fks: dict[tuple[str, str], list] = {}
        self._index_shapes: dict[str, dict[str, tuple[tuple, str, bool]]] = {}
        self._children: dict[str, list[str]] = {}
        self._relkinds: dict[str, str | None] = {}
        self._names: dict[tuple, object] = {}  # relation and constraint names --fix asks about
        self.version = conn.info.server_version
        self.rates = dict(DEFAULT_RATES)
        self.probed = False
        self._timezone: str | None = None
        self._run("SET statement_timeout = '10s'")
        self._run("SET lock_timeout = '1s'")  # never queue behind a migration or a long lock holder
        row = self._one("SELECT extract(epoch FROM now() - coalesce(stats_reset, pg_postmaster_start_time())) "
                        "FROM pg_stat_database WHERE datname = current_database()")
        self.stats_age = float(row[0]) if row and row[0] else None
        if probe:
            self._probe()

    # -- plumbing --------------------------------------------------------------------------------
    def _run(self, sql: str, params=None):
        return self.conn.execute(sql, params)

    def _one(self, sql: str, params=None):
        return self.conn.execute(sql, params).fetchone()

    def _regclass(self, table: str) -> int | None:
        row = self._one("SELECT to_regclass(%s)::oid", (_regtext(table),))
        return row[0] if row else None

    # -- Knowledge fallbacks -----------------------------------------------------------------------
    def columns(self, table: str) -> dict[str, Column]:
        if table not in self._cols:
            oid = self._regclass(table)
            if oid is None:
                self._cols[table] = {}
            else:
                rows = self._run(
                    "SELECT a.attname, t.typname, a.atttypmod, a.attndims, a.attnotnull, a.atthasdef "
                    "FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
                    "WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped", (oid,)).fetchall()
                self._cols[table] = {r[0]: Column(_typeref(r[1], r[2], r[3]), r[4], r[5]) for r in rows}
                self._proofs[table] = {r[0] for r in self._run(
                    "SELECT (regexp_match(pg_get_constraintdef(c.oid), "
                    "'^CHECK \\(\\(?\"?([^\" )]+)\"? IS NOT NULL\\)?\\)$'))[1] FROM pg_constraint c "
                    "WHERE c.conrelid = %s AND c.contype = 'c' AND c.convalidated", (oid,)).fetchall() if r[0]}
        return self._cols[table] or {}

    def column(self, table: str, column: str) -> Column | None:
        return self.columns(table).get(column)

    def has_not_null_proof(self, table: str, column: str) -> bool:
        self.columns(table)
        return column in self._proofs.get(table, ())

    def domain_has_constraints(self, name: str) -> bool | None:
        row = self._one("SELECT t.typnotnull OR EXISTS (SELECT 1 FROM pg_constraint c WHERE c.contypid = t.oid) "
                        "FROM pg_type t WHERE t.typname = %s AND t.typtype = 'd' LIMIT 1", (name,))
        return bool(row[0]) if row else None

    def domain_tables(self, name: str) -> list[str]:
        """Tables and materialized views with a column of domain `name` or of a domain over it (what
        ALTER DOMAIN ... ADD CONSTRAINT checks); a partitioned table stores nothing, its partitions do."""
        rows = self._run(
            "WITH RECURSIVE d(oid) AS (SELECT oid FROM pg_type WHERE typname = %s AND typtype = 'd' UNION "
            "SELECT t.oid FROM pg_type t JOIN d ON t.typbasetype = d.oid WHERE t.typtype = 'd') "
            "SELECT DISTINCT c.relname FROM pg_attribute a JOIN d ON a.atttypid = d.oid "
            "JOIN pg_class c ON c.oid = a.attrelid WHERE a.attnum > 0 AND NOT a.attisdropped "
            "AND c.relkind IN ('r', 'm') ORDER BY 1", (name,)).fetchall()
        return [r[0] for r in rows]

    def index_table(self, index: str) -> str | None:
        row = self._one("SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
                        "WHERE i.indexrelid = to_regclass(%s)", (_regtext(index),))
        return row[0] if row else None

    # valid indexes: name, table, access method, partial, key columns in order (NULL for an expression)
    _INDEX_SQL = ("SELECT ic.relname, tc.relname, am.amname, i.indpred IS NOT NULL, "
                  "ARRAY(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(n, o) "
                  "LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n AND k.n > 0 "
                  "WHERE k.o <= i.indnkeyatts ORDER BY k.o) "
                  "FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class tc ON tc.oid = i.indrelid "
                  "JOIN pg_am am ON am.oid = ic.relam WHERE i.indisvalid AND ")

    def index_shapes(self, table: str) -> dict[str, tuple[tuple, str, bool]]:
        """The table's valid indexes: name → (key columns, None for an expression; access method; partial)."""
        if table not in self._index_shapes:
            rows = self._run(self._INDEX_SQL + "i.indrelid = to_regclass(%s)", (_regtext(table),)).fetchall()
            self._index_shapes[table] = {r[0]: (tuple(r[4]), r[2], bool(r[3])) for r in rows}
        return self._index_shapes[table]

    def index_columns(self, table: str) -> list[list[str | None]]:
        """Key columns of each valid, non-partial B-tree index on the table, in index order."""
        return [list(cols) for cols, method, partial in self.index_shapes(table).values()
                if method == "btree" and not partial]

    def index_shape(self, index: str) -> tuple[str, tuple, str, bool] | None:
        """(table, key columns, access method, partial) of one valid index, or None."""
        row = self._one(self._INDEX_SQL + "i.indexrelid = to_regclass(%s)", (_regtext(index),))
        return (row[1], tuple(row[4]), row[2], bool(row[3])) if row else None

    def default_partition(self, table: str) -> str | None:
        row = self._one("SELECT c.relname FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partdefid "
                        "WHERE p.partrelid = to_regclass(%s)", (_regtext(table),))
        return row[0] if row else None

    _FK_SQL = ("SELECT c.conname, {side}.relname, "
               "ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, i) JOIN pg_attribute a "
               "      ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i), "
               "ARRAY(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(n, i) JOIN pg_attribute a "
               "      ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i) "
               "FROM pg_constraint c JOIN pg_class r ON r.oid = c.confrelid JOIN pg_class o ON o.oid = c.conrelid "
               "WHERE c.contype = 'f' AND c.{key} = to_regclass(%s)")

    def foreign_keys(self, table: str) -> list[tuple[str, str, tuple, tuple]]:
        """(constraint, referenced table, columns, referenced columns) of the table's foreign keys."""
        key = ("fk", table)
        if key not in self._fks:
            rows = self._run(self._FK_SQL.format(side="r", key="conrelid"), (_regtext(table),)).fetchall()
            self._fks[key] = [(r[0], r[1], tuple(r[2]), tuple(r[3])) for r in rows]
        return self._fks[key]

    def referencing(self, table: str) -> list[tuple[str, str, tuple, tuple]]:
        """(constraint, referencing table, its columns, columns of `table`) of the foreign keys that
        reference the table."""
        key = ("ref", table)
        if key not in self._fks:
            rows = self._run(self._FK_SQL.format(side="o", key="confrelid"), (_regtext(table),)).fetchall()
            self._fks[key] = [(r[0], r[1], tuple(r[2]), tuple(r[3])) for r in rows]
        return self._fks[key]

    def children(self, table: str) -> list[str]:
        """The table's partitions and inheritance children, at every level (asked once per table:
        nearly every ALTER TABLE and CREATE INDEX asks)."""
        if table not in self._children:
            rows = self._run(self._FAMILY + "SELECT c.relname FROM fam JOIN pg_class c ON c.oid = fam.oid "
                             "WHERE fam.oid <> to_regclass(%(t)s)", {"t": _regtext(table)}).fetchall()
            self._children[table] = [r[0] for r in rows]
        return self._children[table]

    def relkind(self, table: str) -> str | None:
        """pg_class.relkind of the table ('r', 'p' partitioned, 'v', ...), None when it does not exist."""
        if table not in self._relkinds:
            row = self._one("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", (_regtext(table),))
            self._relkinds[table] = str(row[0]) if row else None
        return self._relkinds[table]

    # the schema a name is looked up in: the one given, else the first of the search path
    _NAMESPACE = ("(CASE WHEN %(s)s::text IS NULL THEN (SELECT oid FROM pg_namespace WHERE nspname = current_schema()) "
                  "ELSE (SELECT oid FROM pg_namespace WHERE nspname = %(s)s) END)")

    def relation_owner(self, name: str, schema: str | None = None) -> tuple[str, str | None] | None:
        """(relkind, the table an index belongs to or None) of the relation `name` in the schema, or
        None when there is none: the names PostgreSQL avoids when it names an index."""
        key = ("rel", name, schema)
        if key not in self._names:
            row = self._one("SELECT c.relkind, t.relname FROM pg_class c LEFT JOIN pg_index i ON i.indexrelid = c.oid "
                            "LEFT JOIN pg_class t ON t.oid = i.indrelid "
                            f"WHERE c.relname = %(n)s AND c.relnamespace = {self._NAMESPACE}", {"n": name, "s": schema})
            self._names[key] = (str(row[0]), row[1]) if row else None
        return self._names[key]

    def constraint_owner(self, name: str, schema: str | None = None) -> str | None:
        """The table of a constraint called `name` in the schema (any table: PostgreSQL names a new
        constraint to avoid them all), or None."""
        key = ("con", name, schema)
        if key not in self._names:
            row = self._one("SELECT t.relname FROM pg_constraint k LEFT JOIN pg_class t ON t.oid = k.conrelid "
                            f"WHERE k.conname = %(n)s AND k.connamespace = {self._NAMESPACE} LIMIT 1",
                            {"n": name, "s": schema})
            self._names[key] = (row[0] or "") if row else None
        return self._names[key]

    def partition_parent(self, table: str) -> str | None:
        row = self._one("SELECT p.relname FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent "
                        "WHERE i.inhrelid = to_regclass(%s) AND p.relkind = 'p'", (_regtext(table),))
        return row[0] if row else None

    def constraint_type(self, table: str, name: str) -> str | None:
        row = self._one("SELECT contype FROM pg_constraint WHERE conrelid = to_regclass(%s) AND conname = %s",
                        (_regtext(table), name))
        return _CONTYPES.get(row[0]) if row else None

    def func_volatility(self, name: str) -> str | None:
        rows = self._run("SELECT DISTINCT provolatile FROM pg_proc WHERE proname = %s", (name,)).fetchall()
        vols = {r[0] for r in rows}
        if not vols:
            return None
        return "v" if "v" in vols else ("s" if "s" in vols else "i")

    # -- sizes -------------------------------------------------------------------------------------
    def stats(self, table: str) -> TableStats | None:
        """Rows, bytes and write rate of the table, summed over its partitions and inheritance
        children (an ALTER on a partitioned table does its work in them; the parent itself has no
        storage and is never analyzed by autovacuum)."""
        if table not in self._stats:
            rows = self._run(
                self._FAMILY + "SELECT c.oid::regclass::text, c.relkind, c.reltuples, c.relpages, "
                "pg_table_size(c.oid), pg_indexes_size(c.oid), coalesce(s.n_tup_ins + s.n_tup_upd + s.n_tup_del, 0), "
                "s.last_analyze IS NOT NULL OR s.last_autoanalyze IS NOT NULL "
                "FROM fam JOIN pg_class c ON c.oid = fam.oid LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid",
                {"t": _regtext(table)}).fetchall()
            if not rows:
                self._stats[table] = None
            else:
                total = size = isize = writes = 0.0
                analyzed = True
                for name, relkind, reltuples, relpages, rsize, risize, rwrites, ran in rows:
                    size += rsize
                    isize += risize
                    writes += rwrites
                    if relkind == "p":  # no storage of its own
                        continue
                    analyzed = analyzed and bool(ran)
                    n = float(reltuples)
                    if n < 0 or (n == 0 and relpages > 0):  # never analyzed: count what is there, if small
                        n = float(self._one(f"SELECT count(*) FROM ONLY {name}")[0]) if rsize < 256 << 20 \
                            else rsize / 100.0
                    total += n
                # an average over less than an hour (a server just started, statistics just reset)
                # says more about the last bulk load than about traffic: not reported
                wps = (writes / self.stats_age) if self.stats_age and self.stats_age >= MIN_STATS_AGE else None
                self._stats[table] = TableStats(table, int(total), int(size), int(isize), wps, analyzed)
        return self._stats[table]

    def planned_rows(self, sql: str) -> float | None:
        """The planner's estimate of the rows a statement touches (EXPLAIN without ANALYZE: nothing
        runs; planning an UPDATE takes ROW EXCLUSIVE for an instant, under the 1 s lock_timeout).
        None when the statement cannot be planned here (a table not created yet)."""
        try:
            with self.conn.transaction(force_rollback=True):
                plan = self.conn.execute(f"EXPLAIN (FORMAT JSON) {sql}").fetchone()[0]
        except Exception:
            return None
        top = (plan[0] if isinstance(plan, list) else plan).get("Plan") or {}
        # ModifyTable's own row estimate is 0; the rows it modifies are its child's
        for child in top.get("Plans") or ():
            return float(child.get("Plan Rows", 0))
        return float(top.get("Plan Rows", 0))

    def long_transactions(self, older_than_s: float = 60.0) -> list[dict]:
        rows = self._run(
            "SELECT pid, extract(epoch FROM now() - xact_start), state, left(query, 120), application_name "
            "FROM pg_stat_activity WHERE xact_start < now() - make_interval(secs => %s) "
            "AND pid <> pg_backend_pid() AND backend_type = 'client backend' ORDER BY xact_start",
            (older_than_s,)).fetchall()
        return [{"pid": r[0], "seconds": float(r[1]), "state": r[2], "query": r[3], "application": r[4]}
                for r in rows]

    # -- calibration -------------------------------------------------------------------------------
    def _probe(self, rows: int = 200_000) -> None:
        """Time a write, a scan and an index build of a temporary table of `rows` rows (~20 MB),
        in a transaction that is rolled back."""
        conn = self.conn
        try:
            with conn.transaction(force_rollback=True):
                t0 = time.perf_counter()
                conn.execute("CREATE TEMP TABLE bascule_lint_probe ON COMMIT DROP AS "
                             "SELECT g AS id, md5(g::text) AS a, g * 7 AS b FROM generate_series(1, %s) g", (rows,))
                t1 = time.perf_counter()
                size = conn.execute("SELECT pg_table_size('bascule_lint_probe')").fetchone()[0]
                conn.execute("SELECT count(*) FROM bascule_lint_probe WHERE b >= 0")
                t2 = time.perf_counter()
                conn.execute("CREATE INDEX ON bascule_lint_probe (a)")
                t3 = time.perf_counter()
            self.rates = {"write": size / max(t1 - t0, 1e-4), "scan": size / max(t2 - t1, 1e-4),
                          "index": size / max(t3 - t2, 1e-4)}
            self.probed = True
        except Exception:  # no TEMP privilege, read-only replica: keep the defaults, say so
            self.probed = False

    # the table and its partitions / inheritance children, recursively
    _FAMILY = ("WITH RECURSIVE fam(oid) AS (SELECT to_regclass(%(t)s)::oid UNION "
               "SELECT i.inhrelid FROM pg_inherits i JOIN fam ON i.inhparent = fam.oid) ")

    def indexes_on_column(self, table: str, column: str, opclass_changes: bool = True) -> bool | None:
        """Whether ALTER COLUMN ... TYPE on `column` rebuilds an index of the table or of a
        partition or child (invalid ones included: they are rebuilt too): one that uses the column
        as a key or in an expression or predicate (pg_depend) and, unless the operator class or
        collation changes, has an expression or a predicate. None when the table is not there."""
        row = self._one(self._FAMILY + """SELECT (SELECT count(*) FROM fam WHERE oid IS NOT NULL), EXISTS (
            SELECT 1 FROM pg_index x JOIN fam ON x.indrelid = fam.oid
              JOIN pg_attribute a ON a.attrelid = fam.oid AND a.attname = %(c)s AND NOT a.attisdropped
             WHERE (a.attnum = ANY (x.indkey::int2[])
                    OR EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                                 AND d.objid = x.indexrelid AND d.refclassid = 'pg_class'::regclass
                                 AND d.refobjid = fam.oid AND d.refobjsubid = a.attnum))
               AND (%(any)s OR x.indexprs IS NOT NULL OR x.indpred IS NOT NULL))""",
                        {"t": _regtext(table), "c": column, "any": opclass_changes})
        if not row or not row[0]:
            return None
        return bool(row[1])

    def checks_on_column(self, table: str, column: str) -> bool | None:
        """Whether a validated CHECK constraint of the table (or of a partition or child) uses
        `column`. None when the table is not there."""
        row = self._one(self._FAMILY + """SELECT (SELECT count(*) FROM fam WHERE oid IS NOT NULL), EXISTS (
            SELECT 1 FROM pg_constraint k JOIN fam ON k.conrelid = fam.oid
              JOIN pg_attribute a ON a.attrelid = fam.oid AND a.attname = %(c)s AND NOT a.attisdropped
             WHERE k.contype = 'c' AND k.convalidated AND a.attnum = ANY (k.conkey))""",
                        {"t": _regtext(table), "c": column})
        if not row or not row[0]:
            return None
        return bool(row[1])

    def utc_session(self) -> bool:
        """Whether this connection's TimeZone is a fixed zero offset. `bascule up` connects to the
        same target the same way, so its session starts with the same TimeZone (unless PGTZ or the
        URL's options differ where it runs)."""
        from bascule.analyze.context import zero_offset_zone

        return bool(zero_offset_zone(self.timezone()))

    def timezone(self) -> str:
        """The connection's TimeZone setting."""
        if self._timezone is None:
            self._timezone = str(self._one("SELECT current_setting('TimeZone')")[0])
        return self._timezone

    def server_info(self) -> dict:
        return {"server_version": self.version, "probed": self.probed,
                "rates_mb_s": {k: round(v / 1e6, 1) for k, v in self.rates.items()},
                "stats_age_s": self.stats_age}


def estimate(stats: TableStats, work: str, rates: dict) -> float:
    """Seconds the statement's work takes on this table under its lock."""
    data = stats.bytes
    if work == "rewrite":
        return data / rates["write"] + stats.index_bytes / rates["index"] * 2
    if work == "scan":
        return data / rates["scan"]
    if work == "index":
        return data / rates["index"]
    return 0.0


def size_findings(findings: list[Finding], live: LiveCatalog, version: int) -> dict:
    """Attach an estimate to every locking/rewrite finding and move its severity with size and
    traffic: an empty or small table downgrades it to info; a long lock on a busy table makes it
    an error. Returns the server facts shown in the report."""
    for f in findings:
        if f.category not in ("locking", "rewrite") or not f.table or f.suppressed or f.estimate is not None:
            continue
        st = live.stats(f.table)
        if st is None:
            f.notes.append(f"{f.table} is not in the target database yet: no size to check")
            continue
        work = f.work or ("rewrite" if f.rewrite else "lock")
        secs = estimate(st, work, live.rates)
        mode = f.lock or "AccessExclusiveLock"
        est = {"table": f.table, "rows": st.rows, "bytes": st.bytes, "index_bytes": st.index_bytes,
               "work": work, "seconds": round(secs, 3), "lock": mode,
               "writes_per_s": round(st.writes_per_s, 1) if st.writes_per_s is not None else None}
        f.estimate = est
        what = {"rewrite": "rewrites", "scan": "scans", "index": "builds an index on", "lock": "locks"}[work]
        text = f"{what} {bare(f.table)}: {st.human()}"
        if work != "lock":
            text += (f"; at this server's measured throughput roughly {human_seconds(secs)} under "
                     f"{LOCK_NAMES.get(mode, mode)}")
        if st.writes_per_s:
            text += f"; {BLOCKS.get(mode, 'blocks writes')}: ~{st.writes_per_s:.0f} writes/s on average"
        f.notes.append("size: " + text)
        small = st.rows < SMALL_ROWS and st.bytes < SMALL_BYTES
        busy = (st.writes_per_s or 0) >= BUSY_WRITES
        if small and secs < 1:
            f.severity = "info"
            f.notes.append(f"small table ({st.human()}): the lock is brief; downgraded to info")
        elif secs >= LONG_LOCK_S or (busy and work != "lock") or st.rows >= 1_000_000:
            f.severity = "error"
    return live.server_info()
