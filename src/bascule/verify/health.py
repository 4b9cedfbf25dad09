"""Health checks: constraints, indexes and leftovers of online migrations.

Every function here takes an open psycopg 3 connection (autocommit, as bascule opens them) and
only reads: plain SELECTs and catalog queries, which take at most ACCESS SHARE locks. Nothing is
created, altered or written, not even in bascule's own schema; `amcheck` is used only when it
is already installed. Statements that can fail for reasons outside our control (a privilege, a
table dropped meanwhile, a corrupt index) run in their own short transaction (a savepoint when the
caller already has one open), so one failure becomes a "skip" or "fail" result, not an aborted run.

Names in generated SQL are composed with psycopg.sql.Identifier. The one exception is the text
of a CHECK constraint, which PostgreSQL itself deparses with pg_get_expr(conbin, conrelid) and
which is embedded as an expression.

Result names (CheckResult.name) start with the sub-check, then the object:
  constraints: "not valid", "not valid: <constraint> on <table>", "orphans: <t>(<cols>) -> <t>(<cols>)",
               "check violations: <constraint> on <table>", "null violations: <constraint> on <table>",
               "table: <name>"
  indexes:     "invalid indexes", "invalid index: <index>", "duplicate indexes", "duplicate index: <index>",
               "redundant indexes", "redundant index: <index>", "foreign key indexes",
               "foreign key without index: <table>(<cols>)", "bloat", "bloat: <table>",
               "bloat: not analyzed", "amcheck", "amcheck: <index>", "table: <name>"
  leftovers:   "leftovers", "leftover <kind>: <object>", "sequences", "sequence: <sequence>",
               "sequences: not readable"
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import psycopg
from psycopg import sql
from psycopg.rows import tuple_row

from bascule.verify.model import CheckResult, sample_keys

EXCLUDED_SCHEMAS = ["pg_catalog", "information_schema", "bascule", "pg_toast"]
# LIKE patterns: `_` is a wildcard in LIKE, so it is escaped.
LEFTOVER_PATTERNS = [r"\_bascule\_%", r"\_pgroll\_%"]

SEQ_WARN = 75.0
SEQ_FAIL = 95.0
BLOAT_RATIO = 0.5
BLOAT_MIN_BYTES = 8 * 1024 * 1024
MAXALIGN = 8  # every 64-bit platform PostgreSQL runs on
TUPLE_HEADER = 23
ITEM_POINTER = 4
PAGE_HEADER = 24
UNKNOWN_WIDTH = 32  # the planner's own guess for a variable-width column without statistics

INT_RANGES = {  # type oid -> (name, min, max)
    21: ("smallint", -(2 ** 15), 2 ** 15 - 1),
    23: ("integer", -(2 ** 31), 2 ** 31 - 1),
    20: ("bigint", -(2 ** 63), 2 ** 63 - 1),
}

_USER_SCHEMA_FILTER = """n.nspname <> ALL(%(excluded)s)
   AND n.nspname NOT LIKE 'pg\\_temp\\_%%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%%'"""


# --------------------------------------------------------------------------- helpers
def _rows(conn: psycopg.Connection, query, params=None) -> list[tuple]:
    """A read whose failure would be a bug (catalog queries): errors propagate."""
    with conn.cursor(row_factory=tuple_row) as cur:
        cur.execute(query, params)
        return cur.fetchall()


def _try_rows(conn: psycopg.Connection, query, params=None) -> tuple[list[tuple] | None, psycopg.Error | None]:
    """A read that may fail (privileges, a relation dropped meanwhile, corruption found by amcheck):
    run it in its own transaction or savepoint and return the error instead of raising."""
    try:
        with conn.transaction():
            return _rows(conn, query, params), None
    except psycopg.Error as exc:
        return None, exc


def _error_text(exc: BaseException) -> str:
    diag = getattr(exc, "diag", None)
    primary = (diag.message_primary if diag is not None else None) or str(exc).strip().splitlines()[0]
    detail = diag.message_detail if diag is not None else None
    text = f"{primary} ({detail})" if detail else primary
    return " ".join(text.split())  # one line


def _is_privilege_error(exc: BaseException) -> bool:
    return isinstance(exc, psycopg.errors.InsufficientPrivilege)


def _lit(conn: psycopg.Connection, composed: sql.Composable) -> str:
    return composed.as_string(conn)


def _cols_list(names: Sequence[str]) -> str:
    return ", ".join(names)


def _fmt_key(cols: Sequence[str], values: Sequence) -> str:
    pairs = [f"{c}={'NULL' if v is None else v}" for c, v in zip(cols, values, strict=True)]
    return pairs[0] if len(pairs) == 1 else "(" + ", ".join(pairs) + ")"


def _fmt_bytes(n: float) -> str:
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"  # pragma: no cover


@dataclass(frozen=True)
class _Table:
    oid: int
    schema: str
    name: str
    kind: str  # pg_class.relkind: r (table), p (partitioned table), m (materialized view)
    display: str  # schema-qualified, quoted as PostgreSQL prints it

    @property
    def ident(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.name)

    def scan(self, only: bool) -> sql.Composable:
        """FROM target; ONLY leaves out inheritance children (never partitions: a partitioned
        table holds no rows itself, so ONLY is not applied to it)."""
        if only and self.kind != "p":
            return sql.SQL("ONLY {}").format(self.ident)
        return self.ident


_TABLES_SQL = """
SELECT c.oid, n.nspname, c.relname, c.relkind::text, format('%%I.%%I', n.nspname, c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'm') AND {where}
 ORDER BY n.nspname, c.relname"""


def _scope(conn: psycopg.Connection, tables: list[str] | None, check: str
           ) -> tuple[dict[int, _Table], list[CheckResult]]:
    """Resolve `tables` (regclass-able names; None = every user table) to the tables to look at.
    A partitioned table brings its partitions. Names that do not resolve give a "skip" result."""
    notes: list[CheckResult] = []
    if tables is None:
        rows = _rows(conn, _TABLES_SQL.format(where=_USER_SCHEMA_FILTER), {"excluded": EXCLUDED_SCHEMAS})
        return {r[0]: _Table(*r) for r in rows}, notes
    oids: list[int] = []
    for name in tables:
        found, err = _try_rows(conn, "SELECT to_regclass(%s)::oid", (name,))
        oid = found[0][0] if found else None
        if oid is None:
            why = _error_text(err) if err else "no such relation"
            notes.append(CheckResult(check, f"table: {name}", "skip",
                                     f"{name}: not found ({why}); nothing to check", table=None,
                                     figures={"table": name}))
            continue
        oids.append(oid)
    if not oids:
        return {}, notes
    rows = _rows(conn, """
        SELECT DISTINCT t.relid FROM unnest(%(oids)s::oid[]) AS o(oid),
               LATERAL (SELECT o.oid AS relid UNION ALL SELECT relid FROM pg_partition_tree(o.oid)) t""",
                 {"oids": oids})
    all_oids = [r[0] for r in rows]
    rows = _rows(conn, _TABLES_SQL.format(where="c.oid = ANY(%(oids)s)"), {"oids": all_oids})
    scope = {r[0]: _Table(*r) for r in rows}
    for oid in oids:
        if oid not in scope:
            found = _rows(conn, """
                SELECT format('%%I.%%I', n.nspname, c.relname) FROM pg_class c
                  JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = %s""", (oid,))
            if not found:  # dropped since it was resolved
                continue
            disp = found[0][0]
            notes.append(CheckResult(check, f"table: {disp}", "skip",
                                     f"{disp} is not a table or materialized view; nothing to check",
                                     table=disp, figures={"table": disp}))
    return scope, notes


def _attnames(conn: psycopg.Connection, relids: Iterable[int],
              collations: dict | None = None) -> dict[tuple[int, int], str]:
    """(relid, attnum) -> column name; with `collations`, also fills it with (relid, attnum) ->
    (oid, schema, name) of each collatable column's collation, from the same catalog read."""
    rows = _rows(conn, """
        SELECT a.attrelid, a.attnum, a.attname, co.oid, n.nspname, co.collname
          FROM pg_attribute a
          LEFT JOIN pg_collation co ON co.oid = a.attcollation
          LEFT JOIN pg_namespace n ON n.oid = co.collnamespace
         WHERE a.attrelid = ANY(%s) AND a.attnum > 0 AND NOT a.attisdropped""", (sorted(set(relids)),))
    if collations is not None:
        collations.update({(r[0], r[1]): (r[3], r[4], r[5]) for r in rows if r[3] is not None})
    return {(r[0], r[1]): r[2] for r in rows}


def _primary_keys(conn: psycopg.Connection, relids: Iterable[int]) -> dict[int, list[str]]:
    rows = _rows(conn, """
        SELECT con.conrelid, array_agg(a.attname ORDER BY k.ord)
          FROM pg_constraint con
          CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
          JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
         WHERE con.contype = 'p' AND con.conrelid = ANY(%s)
         GROUP BY con.oid, con.conrelid""", (sorted(set(relids)),))
    return {r[0]: list(r[1]) for r in rows}


# --------------------------------------------------------------------------- constraints
@dataclass
class _Con:
    oid: int
    name: str
    type: str  # c, f, n
    validated: bool
    relid: int
    frelid: int
    key: list[int]
    fkey: list[int]
    matchtype: str
    parentid: int
    islocal: bool
    noinherit: bool
    expr: str | None
    ftable: _Table | None

    @property
    def type_name(self) -> str:
        return {"c": "CHECK", "f": "FOREIGN KEY", "n": "NOT NULL"}[self.type]


def _constraints(conn: psycopg.Connection, scope: dict[int, _Table]) -> list[_Con]:
    rows = _rows(conn, """
        SELECT con.oid, con.conname, con.contype::text, con.convalidated, con.conrelid, con.confrelid,
               coalesce(con.conkey, '{}'), coalesce(con.confkey, '{}'), con.confmatchtype::text,
               con.conparentid, con.conislocal, con.connoinherit,
               CASE WHEN con.contype = 'c' THEN pg_get_expr(con.conbin, con.conrelid) END,
               fn.nspname, fc.relname, fc.relkind::text,
               CASE WHEN fc.oid IS NOT NULL THEN format('%%I.%%I', fn.nspname, fc.relname) END
          FROM pg_constraint con
          LEFT JOIN pg_class fc ON fc.oid = con.confrelid
          LEFT JOIN pg_namespace fn ON fn.oid = fc.relnamespace
         WHERE con.conrelid = ANY(%(oids)s) AND con.contype IN ('c', 'f', 'n')
         ORDER BY con.conrelid, con.conname""", {"oids": list(scope)})
    cons = []
    for r in rows:
        ftable = _Table(r[5], r[13], r[14], r[15], r[16]) if r[5] else None
        cons.append(_Con(r[0], r[1], r[2], r[3], r[4], r[5], list(r[6]), list(r[7]), r[8], r[9], r[10],
                         r[11], r[12], ftable))
    # Drop the copies PostgreSQL makes of a constraint when its original is also looked at:
    # foreign keys cloned to partitions (conparentid) and CHECK / NOT NULL inherited by children.
    oids = {c.oid for c in cons}
    parents: dict[int, set[int]] = {}
    for child, parent in _rows(conn, "SELECT inhrelid, inhparent FROM pg_inherits WHERE inhrelid = ANY(%s)",
                               (list(scope),)):
        parents.setdefault(child, set()).add(parent)
    kept = []
    for c in cons:
        if c.type == "f" and c.parentid and c.parentid in oids:
            continue
        if c.type in ("c", "n") and not c.islocal and parents.get(c.relid, set()) & set(scope):
            continue
        kept.append(c)
    return kept


def _row_sample(conn: psycopg.Connection, table: _Table, only: bool, where: sql.Composable,
                pk: list[str] | None, n: int) -> tuple[list[dict], str | None]:
    """Up to n rows matching `where`, identified by primary key (or ctid when there is none), and
    why the sample could not be read (None when it could).
    A row stored in another table than `table` (an inheritance child, a partition) also names
    that table ("table"): a ctid is unique only within one table, and a parent's primary key does
    not cover its inheritance children (so rows with the same key are ordered by table too)."""
    if n <= 0:
        return [], None
    # NULL for a row of the table itself; schema-qualified like _Table.display otherwise.
    stored_in = sql.SQL("(SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n "
                        "ON n.oid = c.relnamespace WHERE c.oid = r.tableoid AND c.oid <> {}::oid)").format(
        sql.Literal(table.oid))
    if pk:
        keys = pk
        q = sql.SQL("SELECT {cols}, {stored_in} FROM {t} AS r WHERE {w} ORDER BY {order} LIMIT {n}").format(
            cols=sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(c)) for c in pk),
            stored_in=stored_in, t=table.scan(only), w=where,
            order=sql.SQL(", ").join([*(sql.Identifier(c) for c in pk), sql.SQL("r.tableoid")]),
            n=sql.Literal(n))
    else:
        keys = ["ctid"]
        q = sql.SQL("SELECT r.ctid::text, {stored_in} FROM {t} AS r WHERE {w} LIMIT {n}").format(
            stored_in=stored_in, t=table.scan(only), w=where, n=sql.Literal(n))
    rows, err = _try_rows(conn, q)
    if err is not None:
        return [], _error_text(err)
    table_key = sample_keys([*keys, "table"])[-1]  # "table_2" when a primary key column is called "table"
    out = []
    for *values, rel in rows:
        row = dict(zip(keys, values, strict=True))
        if rel is not None:
            row[table_key] = rel
        out.append(row)
    return out, None


def _fmt_rows(sample: list[dict]) -> str:
    return "; ".join(_fmt_key(list(s), list(s.values())) for s in sample)


def _orphans(conn: psycopg.Connection, c: _Con, child: _Table, names: dict, collations: dict,
             sample: int) -> CheckResult:
    parent = c.ftable
    assert parent is not None
    cols = [names.get((c.relid, k), f"#{k}") for k in c.key]
    pcols = [names.get((c.frelid, k), f"#{k}") for k in c.fkey]
    label = f"orphans: {child.display}({_cols_list(cols)}) -> {parent.display}({_cols_list(pcols)})"
    # Foreign keys are not inherited by inheritance children, and the referenced side is looked
    # up with ONLY too (except for a partitioned table, whose rows live in its partitions).
    src = child.scan(True)
    ref = parent.scan(True)
    cc = [sql.Identifier("c", x) for x in cols]
    notnull = sql.SQL(" AND ").join(sql.SQL("{} IS NOT NULL").format(x) for x in cc)
    # Compared as PostgreSQL's own checks do (RI_FKey_check, and the scan of VALIDATE CONSTRAINT):
    # with the referenced column's collation. Columns of different collations cannot be compared
    # without naming one, and with a nondeterministic one (case-insensitive) the choice matters.
    pairs = []
    for p, x, k, fk in zip(pcols, cc, c.key, c.fkey, strict=True):
        pcoll, ccoll = collations.get((c.frelid, fk)), collations.get((c.relid, k))
        if pcoll and ccoll and pcoll[0] != ccoll[0]:
            x = sql.SQL("{} COLLATE {}").format(x, sql.Identifier(pcoll[1], pcoll[2]))
        pairs.append(sql.SQL("p.{} = {}").format(sql.Identifier(p), x))
    match = sql.SQL(" AND ").join(pairs)
    missing = sql.SQL("{nn} AND NOT EXISTS (SELECT 1 FROM {ref} AS p WHERE {m})").format(
        nn=notnull, ref=ref, m=match)
    if c.matchtype == "f" and len(cc) > 1:  # MATCH FULL: a partly NULL key is a violation too
        where = sql.SQL("(({miss}) OR num_nulls({args}) BETWEEN 1 AND {k})").format(
            miss=missing, args=sql.SQL(", ").join(cc), k=sql.Literal(len(cc) - 1))
    else:  # MATCH SIMPLE: a key with any NULL is not checked
        where = missing
    figures = {"constraint": c.name, "columns": cols, "references": parent.display,
               "referenced_columns": pcols, "validated": c.validated,
               "match": {"f": "FULL", "p": "PARTIAL"}.get(c.matchtype, "SIMPLE")}
    rows, err = _try_rows(conn, sql.SQL("SELECT count(*) FROM {src} AS c WHERE {w}").format(src=src, w=where))
    if err is not None:
        return CheckResult("constraints", label, "skip",
                           f"cannot count orphans of {c.name}: {_error_text(err)}", child.display, figures)
    count = rows[0][0]
    figures["orphans"] = count
    if count == 0:
        return CheckResult("constraints", label, "pass",
                           f"every row of {child.display} with a complete key has a match in {parent.display} "
                           f"({c.name})", child.display, figures)
    keys: list[dict] = []
    if sample > 0:
        inner = sql.SQL("SELECT DISTINCT {sel} FROM {src} AS c WHERE {w} ORDER BY {order} LIMIT {n}").format(
            sel=sql.SQL(", ").join(sql.SQL("{} AS {}").format(x, sql.Identifier(f"k{i}")) for i, x in enumerate(cc)),
            src=src, w=where, order=sql.SQL(", ").join(sql.Identifier(f"k{i}") for i in range(len(cc))),
            n=sql.Literal(sample))
        q = sql.SQL("SELECT {cols} FROM ({inner}) AS s").format(
            cols=sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(f"k{i}")) for i in range(len(cc))),
            inner=inner)
        srows, serr = _try_rows(conn, q)
        keys = [dict(zip(cols, r, strict=True)) for r in srows or ()]
    figures["sample"] = keys
    shown = f"; sample: {_fmt_rows(keys)}" if keys else ""
    if sample > 0 and serr is not None:  # counted, but the keys could not be read (a timeout, say)
        figures["sample_error"] = _error_text(serr)
        shown = f"; no sample: {figures['sample_error']}"
    rows_word = "row" if count == 1 else "rows"
    return CheckResult("constraints", label, "fail",
                       f"{count} {rows_word} of {child.display} reference no row of {parent.display} "
                       f"({c.name}{'' if c.validated else ', NOT VALID'}){shown}", child.display, figures)


def _violations(conn: psycopg.Connection, c: _Con, table: _Table, names: dict, pk: list[str] | None,
                sample: int) -> CheckResult:
    """Rows a NOT VALID CHECK or NOT NULL constraint would reject on VALIDATE."""
    only = c.noinherit
    if c.type == "c":
        label = f"check violations: {c.name} on {table.display}"
        # NOT (expr) is NULL when expr is NULL: such rows pass, exactly as PostgreSQL decides.
        where = sql.SQL("NOT ({})").format(sql.SQL(c.expr or "true"))
        figures: dict = {"constraint": c.name, "type": "CHECK", "expression": c.expr}
        what = f"CHECK {c.name} ({c.expr})"
    else:
        col = names.get((c.relid, c.key[0]), f"#{c.key[0]}") if c.key else "?"
        label = f"null violations: {c.name} on {table.display}"
        where = sql.SQL("{} IS NULL").format(sql.Identifier(col))
        figures = {"constraint": c.name, "type": "NOT NULL", "column": col}
        what = f"NULL in {col} (NOT NULL {c.name})"
    rows, err = _try_rows(conn, sql.SQL("SELECT count(*) FROM {t} WHERE {w}").format(t=table.scan(only), w=where))
    if err is not None:
        return CheckResult("constraints", label, "skip",
                           f"cannot evaluate {c.name}: {_error_text(err)}", table.display, figures)
    count = rows[0][0]
    figures["violations"] = count
    if count == 0:
        return CheckResult("constraints", label, "pass",
                           f"no row of {table.display} would fail {c.type_name} {c.name}; "
                           f"VALIDATE CONSTRAINT would succeed", table.display, figures)
    rows_sample, sample_error = _row_sample(conn, table, only, where, pk, sample)
    figures["sample"] = rows_sample
    shown = f"; sample: {_fmt_rows(rows_sample)}" if rows_sample else ""
    if sample_error is not None:
        figures["sample_error"] = sample_error
        shown = f"; no sample: {sample_error}"
    verb = ("violates" if count == 1 else "violate") if c.type == "c" else ("has" if count == 1 else "have")
    return CheckResult("constraints", label, "fail",
                       f"{count} {'row' if count == 1 else 'rows'} of {table.display} {verb} {what}{shown}",
                       table.display, figures)


def constraint_checks(conn: psycopg.Connection, tables: list[str] | None = None,
                      sample: int = 5) -> list[CheckResult]:
    """Constraint health of `tables` (regclass-able names; None = every user table).

    * "not valid: ..." (warn): a CHECK, FOREIGN KEY or (PostgreSQL 18+) NOT NULL constraint added
      NOT VALID and never validated: existing rows were never checked. One "not valid" pass when none.
    * "orphans: ..." (fail/pass): for every foreign key, validated or not, the child rows whose key
      has no match in the referenced table (MATCH SIMPLE: a key with a NULL is not checked;
      MATCH FULL: a partly NULL key is also counted), with a sample of up to `sample` keys; keys are
      compared with the referenced column's collation, as PostgreSQL's RI checks do.
    * "check violations: ..." (fail/pass): for NOT VALID CHECK constraints, the rows whose
      expression is false (NULL passes, as in PostgreSQL); sample by primary key, else ctid, plus
      the table of a row stored in an inheritance child or a partition.
    * "null violations: ..." (fail/pass): for NOT VALID NOT NULL constraints (PostgreSQL 18+).
    A scan that cannot run (privileges) gives "skip" with the server's reason.
    """
    scope, results = _scope(conn, tables, "constraints")
    if not scope:
        return results
    cons = _constraints(conn, scope)
    collations: dict[tuple[int, int], tuple[int, str, str]] = {}
    names = _attnames(conn, {c.relid for c in cons} | {c.frelid for c in cons if c.frelid}, collations)
    pks = _primary_keys(conn, {c.relid for c in cons})
    not_valid = [c for c in cons if not c.validated]
    for c in not_valid:
        t = scope[c.relid]
        fix = _lit(conn, sql.SQL("ALTER TABLE {} VALIDATE CONSTRAINT {}").format(t.ident, sql.Identifier(c.name)))
        results.append(CheckResult(
            "constraints", f"not valid: {c.name} on {t.display}", "warn",
            f"{c.type_name} {c.name} on {t.display} is NOT VALID: existing rows were never checked "
            f"(validate with: {fix})", t.display,
            {"table": t.display, "constraint": c.name, "type": c.type_name, "fix": fix}))
    if not not_valid:
        results.append(CheckResult("constraints", "not valid", "pass",
                                   f"no NOT VALID constraint on {len(scope)} table(s)", None,
                                   {"tables": len(scope), "constraints": len(cons)}))
    for c in cons:
        t = scope[c.relid]
        if c.type == "f" and c.ftable is not None:
            results.append(_orphans(conn, c, t, names, collations, sample))
        elif c.type in ("c", "n") and not c.validated:
            results.append(_violations(conn, c, t, names, pks.get(c.relid), sample))
    return results


# --------------------------------------------------------------------------- indexes
@dataclass
class _Index:
    oid: int
    relid: int
    schema: str
    name: str
    display: str
    kind: str  # i (index) or I (partitioned index)
    am: str
    unique: bool
    primary: bool
    valid: bool
    ready: bool
    live: bool
    nkey: int
    attnums: list[int]  # key then INCLUDE columns; 0 for an expression
    coldefs: list[str]  # the same, as pg_get_indexdef prints each column
    opclass: list[str]
    collation: list[str]
    option: list[str]
    pred: str | None
    nulls_not_distinct: bool
    definition: str
    constraints: list[str]  # constraints using this index (its own PK/UNIQUE/EXCLUDE, or FKs pointing at it)
    attached: bool  # attached to an index on the partitioned parent: cannot be dropped on its own
    size: int  # of a partitioned index: the sum over its partitions' indexes
    own: list[str] = field(default_factory=list)  # its table's own PK/UNIQUE/EXCLUDE constraint

    @property
    def keys(self) -> list[str]:
        return self.coldefs[: self.nkey]

    @property
    def includes(self) -> list[str]:
        return self.coldefs[self.nkey:]

    @property
    def protected(self) -> bool:
        return bool(self.constraints) or self.attached

    @property
    def ident(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.name)

    def signature(self) -> tuple:
        return (self.relid, self.am, tuple(self.keys), tuple(sorted(self.includes)), tuple(self.opclass),
                tuple(self.collation), tuple(self.option), self.pred, self.nulls_not_distinct)


def _indexes(conn: psycopg.Connection, relids: list[int]) -> list[_Index]:
    nnd = "i.indnullsnotdistinct" if conn.info.server_version >= 150000 else "false"
    rows = _rows(conn, """
        SELECT i.indexrelid, i.indrelid, n.nspname, ic.relname, format('%%I.%%I', n.nspname, ic.relname),
               ic.relkind::text, am.amname, i.indisunique, i.indisprimary, i.indisvalid, i.indisready,
               i.indislive, i.indnkeyatts,
               string_to_array(i.indkey::text, ' ')::int[],
               ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, true) FROM generate_series(1, i.indnatts) AS k
                      ORDER BY k),
               string_to_array(i.indclass::text, ' '), string_to_array(i.indcollation::text, ' '),
               string_to_array(i.indoption::text, ' '),
               pg_get_expr(i.indpred, i.indrelid, true), {nnd}, pg_get_indexdef(i.indexrelid),
               ARRAY(SELECT con.conname::text FROM pg_constraint con WHERE con.conindid = i.indexrelid
                      ORDER BY 1),
               EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = i.indexrelid),
               CASE WHEN ic.relkind = 'i' THEN pg_relation_size(i.indexrelid)
                    ELSE (SELECT coalesce(sum(pg_relation_size(t.relid)), 0)::int8
                            FROM pg_partition_tree(i.indexrelid) t WHERE t.isleaf) END,
               ARRAY(SELECT con.conname::text FROM pg_constraint con WHERE con.conindid = i.indexrelid
                        AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x') ORDER BY 1)
          FROM pg_index i
          JOIN pg_class ic ON ic.oid = i.indexrelid
          JOIN pg_namespace n ON n.oid = ic.relnamespace
          JOIN pg_am am ON am.oid = ic.relam
         WHERE i.indrelid = ANY(%(oids)s)
         ORDER BY i.indrelid, ic.relname""".replace("{nnd}", nnd), {"oids": relids})
    out = []
    for r in rows:
        out.append(_Index(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12],
                          list(r[13]), list(r[14]), list(r[15]), list(r[16]), list(r[17]), r[18], r[19], r[20],
                          list(r[21]), r[22], r[23], list(r[24])))
    return out


def _invalid(conn, indexes: list[_Index], scope: dict[int, _Table]) -> list[CheckResult]:
    out = []
    for ix in indexes:
        if ix.valid and ix.ready:
            continue
        t = scope[ix.relid]
        state = "INVALID" if ix.ready else "not ready (and INVALID)"
        if not ix.live:
            state += ", being dropped"
        if ix.kind == "I":
            hint = ("a partitioned index stays INVALID until every partition has an attached index: "
                    "create the missing ones and ALTER INDEX ... ATTACH PARTITION, or drop it and rebuild")
            fix = _lit(conn, sql.SQL("DROP INDEX {}").format(ix.ident))
        else:
            fix = _lit(conn, sql.SQL("DROP INDEX CONCURRENTLY {}").format(ix.ident))
            upkeep = ("the index is maintained on every write but never used" if ix.ready else
                      "it is neither used nor kept up to date, and blocks the name")
            hint = (f"usually a failed or cancelled CREATE INDEX CONCURRENTLY: {upkeep}; {fix}, then rebuild it "
                    f"(CREATE INDEX CONCURRENTLY, or REINDEX INDEX CONCURRENTLY)")
        out.append(CheckResult(
            "indexes", f"invalid index: {ix.display}", "fail",
            f"index {ix.display} on {t.display} is {state}: {hint}", t.display,
            {"index": ix.display, "definition": ix.definition, "indisvalid": ix.valid, "indisready": ix.ready,
             "indislive": ix.live, "fix": fix}))
    if not out:
        out.append(CheckResult("indexes", "invalid indexes", "pass",
                               f"no INVALID or not-ready index among {len(indexes)} on {len(scope)} table(s)",
                               None, {"indexes": len(indexes), "tables": len(scope)}))
    return out


def _drop_fix(conn, ix: _Index) -> str:
    """How to drop an index: CONCURRENTLY, except a partitioned index, where PostgreSQL refuses it."""
    if ix.kind == "I":
        return _lit(conn, sql.SQL("DROP INDEX {}").format(ix.ident)) + " (a partitioned index cannot be dropped " \
            "CONCURRENTLY: this locks the table briefly)"
    return _lit(conn, sql.SQL("DROP INDEX CONCURRENTLY {}").format(ix.ident))


def _keep_order(ix: _Index) -> tuple:
    # The index to keep comes first: backs a constraint, attached to a parent index, unique, oldest.
    return (not ix.constraints, not ix.attached, not ix.primary, not ix.unique, ix.oid)


def _duplicates(conn, indexes: list[_Index], scope: dict[int, _Table]) -> tuple[list[CheckResult], set[int]]:
    groups: dict[tuple, list[_Index]] = {}
    for ix in indexes:
        if ix.valid and ix.ready and ix.live:
            groups.setdefault(ix.signature(), []).append(ix)
    out: list[CheckResult] = []
    reported: set[int] = set()
    for group in groups.values():
        if len(group) < 2:
            continue
        group.sort(key=_keep_order)
        keep = group[0]
        for dup in group[1:]:
            if dup.attached:
                continue  # reported on the partitioned parent, where it can be dropped
            t = scope[dup.relid]
            figures = {"index": dup.display, "duplicate_of": keep.display, "definition": dup.definition,
                       "kept_definition": keep.definition, "size_bytes": dup.size}
            if dup.constraints:
                figures["constraints"] = dup.constraints
                others = [c for c in dup.constraints if c not in dup.own]
                if dup.own:
                    msg = (f"index {dup.display} duplicates {keep.display} on {t.display}, but it backs constraint "
                           f"{', '.join(dup.own)}: drop that redundant constraint to drop it")
                else:
                    msg = f"index {dup.display} duplicates {keep.display} on {t.display}"
                if others:  # foreign keys of other tables that reference through it: they must stay
                    msg += (f"{';' if dup.own else ','} foreign key(s) {', '.join(others)} reference through it: "
                            f"re-create them (ADD ... NOT VALID, then VALIDATE) so they use {keep.display}, then "
                            "drop it")
                msg += f" ({_fmt_bytes(dup.size)})"
            else:
                fix = _drop_fix(conn, dup)
                figures["fix"] = fix
                msg = (f"index {dup.display} duplicates {keep.display} on {t.display}: "
                       f"{fix} ({_fmt_bytes(dup.size)} and a write cost on every change)")
            out.append(CheckResult("indexes", f"duplicate index: {dup.display}", "warn", msg, t.display, figures))
            reported.add(dup.oid)
    if not out:
        out.append(CheckResult("indexes", "duplicate indexes", "pass",
                               f"no duplicate index on {len(scope)} table(s)", None, {"tables": len(scope)}))
    return out, reported


def _redundant(conn, indexes: list[_Index], scope: dict[int, _Table], skip: set[int]) -> list[CheckResult]:
    usable = [ix for ix in indexes if ix.am == "btree" and ix.valid and ix.ready and ix.live]
    out = []
    for a in usable:
        if a.oid in skip or a.unique or a.protected:
            continue
        best: _Index | None = None
        for b in usable:
            if b.oid == a.oid or b.relid != a.relid or b.pred != a.pred or b.nkey <= a.nkey:
                continue
            n = a.nkey
            if (b.keys[:n] != a.keys or b.opclass[:n] != a.opclass or b.collation[:n] != a.collation
                    or b.option[:n] != a.option):
                continue
            if not set(a.includes) <= set(b.coldefs):  # a's INCLUDE columns give index-only scans b cannot
                continue
            if best is None or (b.nkey, b.size) < (best.nkey, best.size):
                best = b
        if best is None:
            continue
        t = scope[a.relid]
        fix = _drop_fix(conn, a)
        out.append(CheckResult(
            "indexes", f"redundant index: {a.display}", "warn",
            f"index {a.display} ({_cols_list(a.keys)}) is a leading prefix of {best.display} "
            f"({_cols_list(best.keys)}) on {t.display}: {fix} ({_fmt_bytes(a.size)})", t.display,
            {"index": a.display, "covered_by": best.display, "definition": a.definition,
             "covering_definition": best.definition, "size_bytes": a.size, "fix": fix}))
    if not out:
        out.append(CheckResult("indexes", "redundant indexes", "pass",
                               f"no btree index is a prefix of another on {len(scope)} table(s)", None,
                               {"tables": len(scope)}))
    return out


def _fk_indexes(conn, indexes: list[_Index], scope: dict[int, _Table]) -> list[CheckResult]:
    cons = [c for c in _constraints(conn, scope) if c.type == "f"]
    names = _attnames(conn, {c.relid for c in cons})
    by_table: dict[int, list[_Index]] = {}
    for ix in indexes:
        if ix.valid and ix.ready and ix.pred is None:
            by_table.setdefault(ix.relid, []).append(ix)
    out = []
    for c in cons:
        want = set(c.key)
        n = len(c.key)
        supported = any(
            ix.nkey >= n and set(ix.attnums[:n]) == want and 0 not in ix.attnums[:n]
            and (ix.am == "btree" or (ix.am == "hash" and n == 1))
            for ix in by_table.get(c.relid, ()))
        if supported:
            continue
        t = scope[c.relid]
        cols = [names.get((c.relid, k), f"#{k}") for k in c.key]
        collist = sql.SQL(", ").join(sql.Identifier(x) for x in cols)
        if t.kind == "p":
            fix = _lit(conn, sql.SQL("CREATE INDEX ON {} ({})").format(t.ident, collist))
            how = (f"{fix} (on a partitioned table this locks writes; to avoid it, CREATE INDEX ON ONLY the "
                   f"parent, build each partition's index CONCURRENTLY and ATTACH PARTITION them)")
        else:
            fix = _lit(conn, sql.SQL("CREATE INDEX CONCURRENTLY ON {} ({})").format(t.ident, collist))
            how = fix
        ref = c.ftable.display if c.ftable else "?"
        out.append(CheckResult(
            "indexes", f"foreign key without index: {t.display}({_cols_list(cols)})", "warn",
            f"foreign key {c.name} on {t.display}({_cols_list(cols)}) -> {ref} has no index starting with its "
            f"columns: every DELETE or key UPDATE on {ref} scans {t.display}; {how}", t.display,
            {"constraint": c.name, "columns": cols, "references": ref, "fix": fix}))
    if not out:
        out.append(CheckResult("indexes", "foreign key indexes", "pass",
                               f"all {len(cons)} foreign key(s) have a supporting index", None,
                               {"foreign_keys": len(cons)}))
    return out


def _align(n: float, a: int = MAXALIGN) -> float:
    return math.ceil(n / a) * a


def _bloat(conn, scope: dict[int, _Table]) -> list[CheckResult]:
    """Estimated table bloat: pg_class.relpages against the pages the live rows should need.

    For each table with statistics (ANALYZE has run):
        bitmap     = ceil(natts / 8) when any column has nulls (pg_stats.null_frac > 0), else 0
        header     = MAXALIGN(23 + bitmap)                         heap tuple header, MAXALIGN = 8
        data       = MAXALIGN(sum(avg_width * (1 - null_frac)))   pg_stats, non-inherited rows;
                     a column without statistics counts its type length, or 32 bytes if variable
        per_tuple  = header + data + 4                             + its line pointer
        usable     = (block_size - 24) * fillfactor / 100          page header; fillfactor from
                                                                   reloptions, default 100
        per_page   = max(1, min(floor(usable / per_tuple), floor((block_size - 24) / 28)))
        expected   = ceil(reltuples / per_page)
        bloat      = max(0, relpages - expected) pages, * block_size bytes
    "warn" when bloat > 50% of relpages and > 8 MB. TOAST is not counted. It is an estimate: wide
    variable-width columns and alignment padding between columns make it rough.
    """
    tables = [t for t in scope.values() if t.kind in ("r", "m")]
    if not tables:
        return []
    block = int(_rows(conn, "SELECT current_setting('block_size')")[0][0])
    rows = _rows(conn, """
        SELECT c.oid, c.relpages, c.reltuples::float8,
               coalesce((SELECT option_value::int FROM pg_options_to_table(c.reloptions)
                          WHERE option_name = 'fillfactor'), 100),
               (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0),
               (SELECT count(*) FROM pg_stats s
                 WHERE s.schemaname = n.nspname AND s.tablename = c.relname AND NOT s.inherited),
               (SELECT coalesce(sum(coalesce(s.avg_width, CASE WHEN a.attlen > 0 THEN a.attlen ELSE %(unknown)s END)
                                    * (1 - coalesce(s.null_frac, 0))), 0)::float8
                  FROM pg_attribute a
                  LEFT JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.relname
                                      AND s.attname = a.attname AND NOT s.inherited
                 WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
               (SELECT coalesce(bool_or(s.null_frac > 0), false) FROM pg_stats s
                 WHERE s.schemaname = n.nspname AND s.tablename = c.relname AND NOT s.inherited),
               pg_relation_size(c.oid)
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.oid = ANY(%(oids)s)""", {"oids": [t.oid for t in tables], "unknown": UNKNOWN_WIDTH})
    out: list[CheckResult] = []
    never: list[str] = []
    estimated = 0
    for oid, relpages, reltuples, fillfactor, natts, nstats, width, has_nulls, size in rows:
        t = scope[oid]
        if nstats == 0 or reltuples < 0:
            if size > 0:
                never.append(t.display)
            continue
        estimated += 1
        if relpages <= 0:
            continue
        bitmap = math.ceil(natts / 8) if has_nulls else 0
        per_tuple = _align(TUPLE_HEADER + bitmap) + _align(width) + ITEM_POINTER
        usable = (block - PAGE_HEADER) * fillfactor / 100
        max_per_page = (block - PAGE_HEADER) // (_align(TUPLE_HEADER) + ITEM_POINTER)
        per_page = max(1, min(math.floor(usable / per_tuple), max_per_page))
        expected = math.ceil(reltuples / per_page)
        bloat_pages = max(0, relpages - expected)
        ratio = bloat_pages / relpages
        bloat_bytes = bloat_pages * block
        if ratio > BLOAT_RATIO and bloat_bytes > BLOAT_MIN_BYTES:
            out.append(CheckResult(
                "indexes", f"bloat: {t.display}", "warn",
                f"{t.display} is about {ratio:.0%} bloat ({_fmt_bytes(bloat_bytes)} of "
                f"{_fmt_bytes(relpages * block)}, estimated from statistics): reclaim it online with pg_repack "
                f"or pg_squeeze (VACUUM FULL takes an ACCESS EXCLUSIVE lock)", t.display,
                {"relpages": relpages, "expected_pages": expected, "bloat_pages": bloat_pages,
                 "bloat_bytes": bloat_bytes, "bloat_percent": round(ratio * 100, 1),
                 "reltuples": reltuples, "tuple_bytes": per_tuple, "fillfactor": fillfactor,
                 "block_size": block}))
    if not out and estimated:
        out.append(CheckResult("indexes", "bloat", "pass",
                               f"no table over {BLOAT_RATIO:.0%} estimated bloat and "
                               f"{_fmt_bytes(BLOAT_MIN_BYTES)} ({estimated} table(s) estimated)", None,
                               {"tables": estimated}))
    if never:
        out.append(CheckResult("indexes", "bloat: not analyzed", "skip",
                               f"{len(never)} table(s) never analyzed, bloat not estimated: "
                               f"{', '.join(never[:10])}{' ...' if len(never) > 10 else ''} (run ANALYZE)",
                               None, {"tables": never}))
    return out


def _amcheck(conn: psycopg.Connection, names: list[str]) -> list[CheckResult]:
    ext = _rows(conn, """
        SELECT n.nspname, e.extversion FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
         WHERE e.extname = 'amcheck'""")
    if not ext:
        return [CheckResult("indexes", "amcheck", "skip",
                            "amcheck is not installed, indexes not checked: CREATE EXTENSION amcheck enables "
                            "bt_index_check (bascule never creates objects outside its own schema)", None,
                            {"indexes": list(names)})]
    func = sql.Identifier(ext[0][0], "bt_index_check")
    out = []
    for name in names:
        found, err = _try_rows(conn, """
            SELECT c.oid, format('%%I.%%I', n.nspname, c.relname), c.relkind::text, am.amname, i.indisvalid,
                   format('%%I.%%I', tn.nspname, t.relname)
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              JOIN pg_index i ON i.indexrelid = c.oid
              JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace tn ON tn.oid = t.relnamespace
              JOIN pg_am am ON am.oid = c.relam
             WHERE c.oid = to_regclass(%s)""", (name,))
        if not found:
            why = _error_text(err) if err else "no index by that name"
            out.append(CheckResult("indexes", f"amcheck: {name}", "skip", f"{name}: not found ({why})", None,
                                   {"index": name}))
            continue
        oid, disp, kind, am, valid, table = found[0]
        figures = {"index": disp, "access_method": am}
        label = f"amcheck: {disp}"
        if am != "btree":
            out.append(CheckResult("indexes", label, "skip",
                                   f"{disp} is a {am} index; bt_index_check checks btree indexes only",
                                   table, figures))
        elif kind != "i":
            out.append(CheckResult("indexes", label, "skip",
                                   f"{disp} is a partitioned index; check the index of each partition",
                                   table, figures))
        elif not valid:
            out.append(CheckResult("indexes", label, "skip",
                                   f"{disp} is INVALID and cannot be checked (see the invalid index result)",
                                   table, figures))
        else:
            _, err = _try_rows(conn, sql.SQL("SELECT {}(%s::oid::regclass)").format(func), (oid,))
            if err is None:
                out.append(CheckResult("indexes", label, "pass",
                                       f"bt_index_check found no corruption in {disp}", table, figures))
            elif _is_privilege_error(err):
                out.append(CheckResult("indexes", label, "skip",
                                       f"cannot run bt_index_check on {disp}: {_error_text(err)} (GRANT EXECUTE "
                                       f"ON FUNCTION bt_index_check(regclass) to bascule's user)", table, figures))
            else:
                figures["error"] = _error_text(err)
                figures["sqlstate"] = getattr(err, "sqlstate", None)
                out.append(CheckResult("indexes", label, "fail",
                                       f"bt_index_check failed on {disp}: {_error_text(err)}; rebuild it with "
                                       f"REINDEX INDEX CONCURRENTLY", table, figures))
    return out


def index_checks(conn: psycopg.Connection, tables: list[str] | None = None,
                 amcheck_indexes: list[str] | None = None) -> list[CheckResult]:
    """Index health of `tables` (regclass-able names; None = every user table).

    * "invalid index: ..." (fail): indisvalid or indisready false, with a DROP INDEX CONCURRENTLY hint.
    * "duplicate index: ..." (warn): same table, access method, key columns or expressions, INCLUDE
      columns, opclasses, collations, ordering options, predicate (and NULLS NOT DISTINCT); names
      the one to keep (one that backs a constraint, else unique, else the oldest).
    * "redundant index: ..." (warn): a btree whose key columns are a leading prefix of another btree's
      on the same table with the same predicate; never a unique or constraint-backing index.
    * "foreign key without index: ..." (warn): no valid, non-partial btree (or single-column hash)
      index whose leading columns are the key columns in any order; gives the CREATE INDEX.
    * "bloat: <table>" (warn) / "bloat" (pass) / "bloat: not analyzed" (skip): see _bloat.
    * "amcheck: <index>" (pass/fail/skip) for `amcheck_indexes`, or one "amcheck" skip when the
      extension is not installed. bt_index_check takes ACCESS SHARE only.
    Each of the first four gives one "pass" summary when it finds nothing.
    """
    scope, results = _scope(conn, tables, "indexes")
    if scope:
        indexes = _indexes(conn, list(scope))
        results += _invalid(conn, indexes, scope)
        dups, reported = _duplicates(conn, indexes, scope)
        results += dups
        results += _redundant(conn, indexes, scope, reported)
        results += _fk_indexes(conn, indexes, scope)
        results += _bloat(conn, scope)
    if amcheck_indexes is not None:
        results += _amcheck(conn, list(amcheck_indexes))
    return results


# --------------------------------------------------------------------------- leftovers
_LEFTOVERS_SQL = """
SELECT 'column', format('%%I.%%I.%%I', n.nspname, c.relname, a.attname), format('%%I.%%I', n.nspname, c.relname)
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p') AND a.attname LIKE ANY(%(patterns)s)
   AND {schemas}
UNION ALL
SELECT 'trigger', format('%%I on %%I.%%I', t.tgname, n.nspname, c.relname), format('%%I.%%I', n.nspname, c.relname)
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE NOT t.tgisinternal AND t.tgname LIKE ANY(%(patterns)s) AND {schemas}
UNION ALL
SELECT 'function', format('%%I.%%I(%%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)), NULL
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE p.proname LIKE ANY(%(patterns)s) AND {schemas}
UNION ALL
SELECT 'constraint', format('%%I on %%I.%%I', con.conname, n.nspname, c.relname), format('%%I.%%I', n.nspname, c.relname)
  FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE con.conname LIKE ANY(%(patterns)s) AND {schemas}
UNION ALL
SELECT 'index', format('%%I.%%I', n.nspname, ic.relname), format('%%I.%%I', tn.nspname, tc.relname)
  FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_namespace n ON n.oid = ic.relnamespace
  JOIN pg_class tc ON tc.oid = i.indrelid JOIN pg_namespace tn ON tn.oid = tc.relnamespace
 WHERE ic.relname LIKE ANY(%(patterns)s) AND {schemas}
   AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid AND con.conrelid = i.indrelid)
 ORDER BY 1, 2"""


def _leftovers(conn, online_in_progress: bool) -> list[CheckResult]:
    rows = _rows(conn, _LEFTOVERS_SQL.replace("{schemas}", _USER_SCHEMA_FILTER),
                 {"patterns": LEFTOVER_PATTERNS, "excluded": EXCLUDED_SCHEMAS})
    out = []
    for kind, obj, table in rows:
        tool = "pgroll" if "_pgroll_" in obj else "bascule"
        figures = {"kind": kind, "object": obj, "tool": tool}
        if online_in_progress:
            out.append(CheckResult("leftovers", f"leftover {kind}: {obj}", "warn",
                                   f"temporary {kind} {obj} belongs to the online migration in progress; "
                                   f"it goes away when that migration is completed or rolled back", table, figures))
        else:
            out.append(CheckResult("leftovers", f"leftover {kind}: {obj}", "fail",
                                   f"temporary {kind} {obj} was left by an online ({tool}) migration that is not "
                                   f"in progress: complete or roll back that migration, or drop it", table, figures))
    if not out:
        out.append(CheckResult("leftovers", "leftovers", "pass",
                               "no temporary _bascule_ or _pgroll_ column, trigger, function, constraint or index",
                               None, {}))
    return out


@dataclass
class _Seq:
    oid: int
    schema: str
    name: str
    display: str
    type_oid: int
    seqmin: int
    seqmax: int
    increment: int
    cycle: bool
    readable: bool
    start: int
    columns: list[tuple[str, str, int]]  # (table, column, type oid) of columns owning or defaulting to it

    @property
    def ident(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.name)


def _sequences(conn) -> list[_Seq]:
    rows = _rows(conn, """
        SELECT s.seqrelid, n.nspname, c.relname, format('%%I.%%I', n.nspname, c.relname), s.seqtypid::int,
               s.seqmin, s.seqmax, s.seqincrement, s.seqcycle, has_sequence_privilege(s.seqrelid, 'SELECT'),
               s.seqstart
          FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE {schemas}
         ORDER BY 4""".replace("{schemas}", _USER_SCHEMA_FILTER), {"excluded": EXCLUDED_SCHEMAS})
    seqs = {r[0]: _Seq(*r, columns=[]) for r in rows}
    if not seqs:
        return []
    # Columns tied to each sequence: OWNED BY (serial: deptype 'a'; identity: 'i'), and columns
    # whose DEFAULT calls nextval() on it (pg_attrdef depends on the sequence).
    links = _rows(conn, """
        SELECT d.objid, format('%%I.%%I', n.nspname, c.relname), a.attname,
               (SELECT coalesce(nullif(t.typbasetype, 0), t.oid) FROM pg_type t WHERE t.oid = a.atttypid)::int
          FROM pg_depend d
          JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
          JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
           AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0 AND d.objid = ANY(%(oids)s)
        UNION
        SELECT d.refobjid, format('%%I.%%I', n.nspname, c.relname), a.attname,
               (SELECT coalesce(nullif(t.typbasetype, 0), t.oid) FROM pg_type t WHERE t.oid = a.atttypid)::int
          FROM pg_depend d
          JOIN pg_attrdef ad ON ad.oid = d.objid
          JOIN pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
          JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE d.classid = 'pg_attrdef'::regclass AND d.refclassid = 'pg_class'::regclass
           AND d.refobjid = ANY(%(oids)s)
         ORDER BY 1, 2, 3""", {"oids": list(seqs)})
    for seq, table, col, typ in links:
        seqs[seq].columns.append((table, col, typ))
    return list(seqs.values())


def _last_values(conn, seqs: list[_Seq], chunk: int = 200) -> tuple[dict[int, int], dict[int, str]]:
    """last_value of each sequence, read with a plain SELECT from the sequence (ACCESS SHARE).
    pg_sequences is not used: its last_value calls pg_sequence_last_value(), which takes
    ROW EXCLUSIVE on every sequence."""
    values: dict[int, int] = {}
    errors: dict[int, str] = {}

    def one_query(part: list[_Seq]) -> sql.Composable:
        return sql.SQL(" UNION ALL ").join(
            sql.SQL("SELECT {}::oid, last_value FROM {}").format(sql.Literal(s.oid), s.ident) for s in part)

    for i in range(0, len(seqs), chunk):
        part = seqs[i:i + chunk]
        rows, err = _try_rows(conn, one_query(part))
        if err is None:
            values.update({r[0]: r[1] for r in rows})
            continue
        for s in part:  # one failed (dropped meanwhile, privileges): find which
            rows, err = _try_rows(conn, one_query([s]))
            if err is None:
                values[s.oid] = rows[0][1]
            else:
                errors[s.oid] = _error_text(err)
    return values, errors


def _seq_checks(conn) -> list[CheckResult]:
    seqs = _sequences(conn)
    readable = [s for s in seqs if s.readable]
    values, errors = _last_values(conn, readable)
    errors.update({s.oid: "permission denied (needs SELECT on the sequence)" for s in seqs if not s.readable})
    out: list[CheckResult] = []
    checked = 0
    for s in seqs:
        if s.oid not in values:
            continue
        checked += 1
        last = values[s.oid]
        ascending = s.increment > 0
        limit = s.seqmax if ascending else s.seqmin
        limit_by = f"sequence {s.display}"
        tightest: tuple[str, str, int] | None = None
        for table, col, typ in s.columns:
            if typ not in INT_RANGES:
                continue
            _tname, tmin, tmax = INT_RANGES[typ]
            bound = tmax if ascending else tmin
            if (ascending and bound <= limit) or (not ascending and bound >= limit):  # a tie: the column too
                limit, tightest = bound, (table, col, typ)
        if tightest:
            limit_by = f"{INT_RANGES[tightest[2]][0]} column {tightest[0]}.{tightest[1]}"
        # counted from where it started (a full-range sequence starting at 1 never uses its negative half)
        start = s.start if s.seqmin <= s.start <= s.seqmax else (s.seqmin if ascending else s.seqmax)
        span = (limit - start) if ascending else (start - limit)
        used = (last - start) if ascending else (start - last)
        percent = 100.0 if span <= 0 else max(0.0, min(100.0, used * 100.0 / span))
        figures = {"sequence": s.display, "last_value": last, "max": limit, "percent": round(percent, 1),
                   "sequence_max": s.seqmax if ascending else s.seqmin,
                   "sequence_type": INT_RANGES.get(s.type_oid, ("?",))[0], "limited_by": limit_by,
                   "columns": [f"{t}.{c}" for t, c, _ in s.columns], "cycle": s.cycle}
        if not ascending:
            figures["direction"] = "descending"
        table = tightest[0] if tightest else (s.columns[0][0] if s.columns else None)
        if percent <= SEQ_WARN:
            continue
        status = "fail" if percent > SEQ_FAIL else "warn"
        trap = ""
        if tightest and INT_RANGES.get(s.type_oid, ("", 0, 0))[2] > INT_RANGES[tightest[2]][2]:
            trap = f" (the sequence itself is {INT_RANGES[s.type_oid][0]}, the column is not)"
        seq_wide = INT_RANGES.get(s.type_oid, ("", 0, 0))[0] == "bigint"
        if tightest:
            fix = (f"widen {tightest[0]}.{tightest[1]} to bigint (a table rewrite: plan it as an online migration)"
                   + ("" if seq_wide else ", and the sequence with ALTER SEQUENCE ... AS bigint"))
        else:
            fix = f"ALTER SEQUENCE ... AS bigint / {'MAXVALUE' if ascending else 'MINVALUE'}, or plan a wider key"
        out.append(CheckResult(
            "leftovers", f"sequence: {s.display}", status,
            f"sequence {s.display} has used {percent:.1f}% of its range: last_value {last} of {limit}, "
            f"the limit of the {limit_by}{trap}; {fix}", table, figures))
    if errors:
        names = {s.oid: s.display for s in seqs}
        listed = [f"{names[o]}: {e}" for o, e in sorted(errors.items(), key=lambda kv: names[kv[0]])]
        out.append(CheckResult("leftovers", "sequences: not readable", "skip",
                               f"{len(errors)} sequence(s) could not be read: {'; '.join(listed[:5])}"
                               f"{' ...' if len(listed) > 5 else ''}", None,
                               {"sequences": listed}))
    if not any(r.status in ("warn", "fail") for r in out):
        out.insert(0, CheckResult("leftovers", "sequences", "pass",
                                  f"{checked} sequence(s) below {SEQ_WARN:.0f}% of their range "
                                  f"(sequence and column type limits)", None, {"sequences": checked}))
    return out


def leftover_checks(conn: psycopg.Connection, online_in_progress: bool = False) -> list[CheckResult]:
    """Leftovers in every user schema.

    * "leftover <kind>: <object>": columns, triggers, functions, constraints and indexes whose names
      start with `_bascule_` (bascule's online migrations) or `_pgroll_` (pgroll's): "fail" when
      no online migration is in progress, "warn" when one is (they are expected then).
      One "leftovers" pass when there are none.
    * "sequence: <sequence>": last_value past 75% ("warn") or 95% ("fail") of the range, where the
      limit is the sequence's own max (min when descending) or, tighter, the max of the integer type
      of a column it feeds (OWNED BY, identity, or DEFAULT nextval): a bigint sequence behind an
      integer column runs out at 2147483647. One "sequences" pass when none is past 75%;
      "sequences: not readable" (skip) lists the sequences that could not be read.
    """
    return _leftovers(conn, online_in_progress) + _seq_checks(conn)
