"""What each statement of a rehearsed migration actually did to the database.

`StatementProfiler` is an Observer. It never touches the runner's connection: it opens two of its
own to the same database (application_name `bascule-rehearse-monitor`), one for the readings taken
just before and just after each statement, one for a background thread that samples the locks the
runner holds while the statement runs.

Per statement it records (see `StatementProfiler.records` for the keys):

* wall time and rows, from the Runner's StatementOutcome;
* WAL bytes: `pg_current_wal_insert_lsn()` before and after. The WAL position is cluster-wide, so
  the figure includes WAL written by every other session (and by autovacuum, checkpoints...) in
  that interval. On a quiet rehearsal server that is noise; on a busy one it is an upper bound.
* temporary files, two ways:
  - `temp_files`/`temp_bytes`: the delta of pg_stat_database for the current database, read after
    `pg_stat_clear_snapshot()`. Approximate and lagging: a backend flushes its statistics only
    when it is idle outside a transaction, at most about once a second, so a statement inside a
    transaction (every statement of a transactional migration) almost always reads 0 here and its
    files are counted under whatever statement runs when the flush lands. Other sessions' temp
    files in the same database count too.
  - `temp_files_seen`/`temp_bytes_seen`: the runner's (and its parallel workers') files in the
    default temporary directory, sampled with `pg_ls_tmpdir()` while the statement runs (largest
    size seen per file). Attributed to the right statement, but a file that lives for less than a
    sample interval is missed, files under temp_tablespaces or inside shared filesets
    (parallel hash joins/sorts) are not listed, and it needs the right to run pg_ls_tmpdir()
    (superuser or pg_monitor; None otherwise).
* rewrites: for every table the statement names (`bascule.verify.relations.touched`), resolved
  with to_regclass on the monitor connection before it runs (tables it creates do not exist yet
  and are ignored), plus their partitions and indexes, the relfilenode before and after. A
  table whose relfilenode changed was rewritten; an index whose relfilenode changed, or that
  was dropped and recreated under the same name, was rebuilt. Catalog changes are invisible to
  other sessions until they commit, so for a statement inside a transaction the comparison is
  made once that transaction has committed (at `migration_finished` for a transactional
  migration; `rewrite_check` says which). When several statements of one transaction name the
  rewritten table, the one during which the new relfilenode was seen locked (a rewrite builds a
  transient heap whose oid becomes the table's new relfilenode) is the one reported; failing
  that, all candidates are, with `rewrite_uncertain`. Names are resolved with the monitor's
  search_path, which may differ from a search_path the migration sets.
* locks actually held: a thread samples `pg_locks` for the runner's pid and its parallel workers
  (pg_stat_activity.leader_pid, PostgreSQL 13+) every `sample_interval` while the statement
  runs, plus once more right after it when it ran inside a transaction (its locks are still
  held then, so even a statement shorter than the interval is seen). A statement outside a
  transaction (CREATE INDEX CONCURRENTLY...) releases its locks as it ends, so its sampling
  starts at once and ramps up (0, 1, 2, 4 ... ms); one shorter than a millisecond or so may
  still go unseen (`samples` says how many readings there were). Only relation locks count;
  locks on bascule's own tables, on system catalogs and on TOAST relations (they follow their
  table), virtualxid/transactionid and advisory locks are ignored, and so are relations that
  never got a name another session can see (created and dropped inside the migration, like the
  transient heap of a rewrite). A lock is "held" from its first to its last sample (at least one
  interval); locks not granted are reported as `waits`. In a transactional migration, locks
  taken by an earlier statement stay held during the later ones: they are listed for each
  statement that ran while they were held, with `inherited: true` after the first.

Sampling stops between statements. The sampler query is one round trip (pg_locks joined to
pg_class for the pids, and pg_ls_tmpdir when allowed): about 0.2 ms of server time per sample.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from psycopg import sql

from bascule.analyze.facts import MODES, RANK
from bascule.observers import MigrationOutcome, Observer, StatementEvent, StatementOutcome

APPLICATION_NAME = "bascule-rehearse-monitor"

LOCK_MODES = MODES  # weakest first, as the analyzer ranks them
LOCK_RANK = RANK

# Kinds of statement that can give a table a new relfilenode without building a transient heap.
_INPLACE_REWRITERS = ("TruncateStmt",)

# Catalog reads only: pg_partition_tree() would take ACCESS SHARE on the partition tree and wait
# behind the runner's own ACCESS EXCLUSIVE, held until its transaction commits, while the runner
# waits for this snapshot before its next statement (a deadlock no server can see).
_SNAPSHOT_SQL = """
WITH RECURSIVE base AS (
    SELECT DISTINCT c.oid, c.relkind
      FROM unnest(%s::text[]) AS n(name)
      JOIN pg_class c ON c.oid = to_regclass(n.name)
     WHERE c.relkind IN ('r', 'm', 'p')
), tabs(oid) AS (
    SELECT oid FROM base
    UNION
    SELECT i.inhrelid FROM pg_inherits i JOIN tabs ON i.inhparent = tabs.oid
), rels AS (
    SELECT oid FROM tabs
    UNION
    SELECT i.indexrelid FROM pg_index i JOIN tabs ON tabs.oid = i.indrelid
)
SELECT c.oid::int8, c.relkind::text, c.relfilenode::int8, c.oid::regclass::text,
       format('%%I.%%I', n.nspname, c.relname), i.indrelid::int8
  FROM rels JOIN pg_class c ON c.oid = rels.oid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_index i ON i.indexrelid = c.oid
"""

_CURRENT_SQL = """
SELECT c.oid::int8, c.relfilenode::int8,
       CASE WHEN c.relnamespace <> ALL(%(skip)s::oid[]) THEN c.oid::regclass::text END, i.indrelid::int8
  FROM pg_class c LEFT JOIN pg_index i ON i.indexrelid = c.oid
 WHERE c.oid = ANY(%(oids)s::oid[])
"""

_BY_NAME_SQL = """
SELECT n.name, c.oid::int8, c.relfilenode::int8, c.oid::regclass::text, i.indrelid::int8
  FROM unnest(%s::text[]) AS n(name)
  JOIN pg_class c ON c.oid = to_regclass(n.name)
  LEFT JOIN pg_index i ON i.indexrelid = c.oid
"""

# One projection, evaluated left to right: the statistics snapshot is dropped before the reads.
# (Redundant in autocommit, where every query starts with a fresh snapshot, and free.)
_COUNTERS_SQL = """
SELECT pg_stat_clear_snapshot(), {wal}, pg_stat_get_db_temp_files({{db}})::int8,
       pg_stat_get_db_temp_bytes({{db}})::int8
"""


def _sampler_sql(workers: bool, tmpdir: bool) -> str:
    pids = "ARRAY[%(pid)s::int]"
    if workers:
        pids += " || ARRAY(SELECT a.pid FROM pg_stat_get_activity(NULL) a WHERE a.leader_pid = %(pid)s)"
    q = f"""
WITH p AS (SELECT {pids} AS pids)
SELECT 'l', l.relation::int8, l.relation::regclass::text, l.mode, l.granted, NULL::int8
  FROM p, pg_locks l LEFT JOIN pg_class c ON c.oid = l.relation
 WHERE l.locktype = 'relation' AND l.pid = ANY(p.pids)
   AND (c.relnamespace IS NULL OR c.relnamespace <> ALL(%(skip)s::oid[]))"""
    if tmpdir:
        q += """
UNION ALL
SELECT 't', NULL, f.name, NULL, NULL, f.size
  FROM p, pg_ls_tmpdir() f
 WHERE (regexp_match(f.name, '^pgsql_tmp(\\d+)\\.'))[1]::int = ANY(p.pids)"""
    return q


@dataclass
class _Rel:
    oid: int
    relkind: str
    filenode: int
    name: str  # as regclass prints it for the monitor
    qualified: str  # schema.name, quoted
    table: int | None  # for an index: its table


@dataclass
class _Stmt:
    record: dict
    position: int  # order within the attempt of its migration
    t0: float
    t1: float = 0.0
    in_transaction: bool = True
    kind: str = ""
    before: dict[int, _Rel] = field(default_factory=dict)
    # (oid, mode, granted) -> [first_seen, last_seen, name or None]
    locks: dict[tuple[int, str, bool], list] = field(default_factory=dict)
    unseen: set[int] = field(default_factory=set)  # relations the monitor could not see when sampled
    created: set[int] = field(default_factory=set)  # relations this statement created
    temp: dict[str, int] = field(default_factory=dict)
    samples: int = 0
    wal_lsn: str | None = None
    temp_counters: tuple[int, int] | None = None


@dataclass
class _Migration:
    version: str
    name: str
    direction: str
    transactional: bool
    statements: list[_Stmt] = field(default_factory=list)
    attempt: int = 1
    first_seen: dict[tuple[int, str], int] = field(default_factory=dict)
    # relation → (attempt, position) of the statement that created it
    created_at: dict[int, tuple[int, int]] = field(default_factory=dict)
    # statements whose rewrite check waits for their transaction to end, in order (a list kept
    # here, not a flag scanned for on every statement of a 10,000-statement migration)
    pending: list[_Stmt] = field(default_factory=list)
    status: str | None = None
    duration_ms: float | None = None


def _guarded(method):
    """Observer calls: a failure of the monitor is recorded, never raised into the Runner."""
    import functools

    @functools.wraps(method)
    def wrapper(self, *args):
        try:
            return method(self, *args)
        except Exception as exc:
            self._note(self._cur, f"{method.__name__} failed: {type(exc).__name__}: {exc}")

    return wrapper


class StatementProfiler(Observer):
    """Records, per statement, time, rows, WAL, temporary files, rewrites and the locks held.

    `records` holds one JSON-serialisable dict per statement, in the order they ran:

    version, name, direction, attempt, index (0-based position in the script), line, kind,
    preview, in_transaction, ok, error, sqlstate, ms, rows, wal_bytes, temp_files, temp_bytes,
    temp_files_seen, temp_bytes_seen, relations (tables checked for a rewrite), rewritten,
    rebuilt_indexes, rewrite_check ("after_statement", "pending" until the transaction commits,
    "at_commit", "rolled_back" when the statement or its transaction failed, "error" when the
    monitor could not tell), rewrite_uncertain, locks (list of {relation, mode, ms, first_ms,
    last_ms, inherited}; first_ms/last_ms from the statement's start), waits (list of
    {relation, mode, ms, first_ms, last_ms}), created_locks (as locks), strongest_lock
    ({relation, mode, ms, inherited} or None), samples, and monitor_errors when the monitor
    itself failed.

    Locks on relations created by the statement's own transaction (by the statement itself or,
    in a migration run as one transaction, by an earlier statement of it) go to `created_locks`,
    not `locks`, and count in neither `strongest_lock` nor the summaries: nobody else can see
    those relations yet, so nobody waits for them (CREATE INDEX CONCURRENTLY holds ACCESS
    EXCLUSIVE on the index it is creating; CREATE TABLE ... AS on its table). Once the creating
    transaction has committed (statement by statement, the next statement) such a relation is
    like any other: other sessions can use it and queue behind the locks taken on it.
    """

    def __init__(self, monitor_url: str, runner_pid: int, sample_interval: float = 0.01):
        from bascule.targets.connect import connect

        if sample_interval <= 0:
            raise ValueError("sample_interval must be > 0")
        self.monitor_url = monitor_url
        self.runner_pid = runner_pid
        self.sample_interval = sample_interval
        self.records: list[dict] = []
        self.errors: list[str] = []
        self._connect = lambda: connect(monitor_url, application_name=APPLICATION_NAME)
        self._conn = self._connect()
        self._sconn = None
        try:
            self._sconn = self._connect()
            c = self._conn
            self.server_version: int = c.info.server_version
            row = c.execute("SELECT pg_is_in_recovery(), has_function_privilege('pg_ls_tmpdir()', 'EXECUTE'), "
                            "(SELECT oid::int8 FROM pg_database WHERE datname = current_database())").fetchone()
            self._wal = not row[0]
            self._tmpdir = bool(row[1])
            self._sampler_q = _sampler_sql(self.server_version >= 130000, self._tmpdir)
            db = sql.Literal(row[2]).as_string(c)
            self._counters_q = _COUNTERS_SQL.format(
                wal="pg_current_wal_insert_lsn()::text" if self._wal else "NULL::text").format(db=db)
            self._counters_after_q = _COUNTERS_SQL.format(
                wal="pg_wal_lsn_diff(pg_current_wal_insert_lsn(), {lsn}::pg_lsn)::int8" if self._wal
                else "{lsn}::int8").format(db=db, lsn="{}")
            self._skip = self._skipped_namespaces()
        except BaseException:
            self.close()
            raise
        self._migrations: list[_Migration] = []
        self._mig: _Migration | None = None
        self._cur: _Stmt | None = None
        # sampler thread: `_run` set while a statement runs; `_busy` held during one sample
        self._run = threading.Event()
        self._pause = threading.Event()
        self._busy = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="bascule-rehearse-locks", daemon=True)
        self._thread.start()

    # -- connections --------------------------------------------------------------------
    def _skipped_namespaces(self) -> list[int]:
        rows = self._monitor().execute(
            "SELECT oid::int8 FROM pg_namespace WHERE nspname IN ('pg_catalog', 'information_schema', 'pg_toast', "
            "'bascule')").fetchall()
        return [r[0] for r in rows]

    def _monitor(self):
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = self._connect()
        return self._conn

    def close(self) -> None:
        """Stop the sampler thread and close the monitor connections."""
        self._closed = True
        run = getattr(self, "_run", None)
        if run is not None:
            run.set()
            self._pause.set()
            self._thread.join(timeout=5)
        for c in (self._conn, self._sconn):
            if c is not None:
                try:
                    c.close()
                except Exception:
                    pass

    def __enter__(self) -> StatementProfiler:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- sampling ---------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._closed:
            if not self._run.wait(0.5):
                continue
            st = self._cur
            # Inside a transaction: one interval after the start, then every interval (the sample
            # taken right after the statement sees what a shorter one held). In autocommit the locks
            # are gone by then, so start at once and ramp up: 0, 1, 2, 4 ... ms, then every interval.
            delay = 0.0 if st is not None and not st.in_transaction else self.sample_interval
            while self._run.is_set() and not self._closed:
                if delay and self._pause.wait(delay):
                    break  # stopped meanwhile
                with self._busy:
                    if self._closed or not self._run.is_set() or self._cur is not st or st is None:
                        break
                    self._sample(st)
                delay = min(self.sample_interval, max(2 * delay, 0.001))

    def _sample(self, st: _Stmt) -> None:
        """One reading of the runner's locks and temp files into `st`. Caller holds `_busy`."""
        now = time.monotonic()
        try:
            if self._sconn is None or self._sconn.closed or self._sconn.broken:
                self._sconn = self._connect()
            rows = self._sconn.execute(self._sampler_q, {"pid": self.runner_pid, "skip": self._skip}).fetchall()
        except Exception as exc:  # monitoring must never break a migration
            self._note(st, f"lock sample failed: {exc}")
            return
        st.samples += 1
        for kind, oid, name, mode, granted, size in rows:
            if kind == "t":
                st.temp[name] = max(st.temp.get(name, 0), size or 0)
                continue
            key = (oid, mode, bool(granted))
            seen = st.locks.get(key)
            resolved = None if name == str(oid) else name
            if resolved is None:
                st.unseen.add(oid)
            if seen is None:
                st.locks[key] = [now, now, resolved]
            else:
                seen[1] = now
                seen[2] = seen[2] or resolved

    def _start_sampling(self, st: _Stmt) -> None:
        with self._busy:
            self._cur = st
            self._pause.clear()
            self._run.set()

    def _stop_sampling(self, st: _Stmt, final_sample: bool) -> None:
        self._run.clear()
        self._pause.set()
        with self._busy:  # waits for a sample in flight
            if final_sample:
                self._sample(st)
            self._cur = None

    def _note(self, st: _Stmt | None, msg: str) -> None:
        msg = msg.strip().splitlines()[0] if msg.strip() else msg
        self.errors.append(msg)
        if st is not None:
            st.record.setdefault("monitor_errors", []).append(msg)

    # -- observer -----------------------------------------------------------------------------
    @_guarded
    def migration_started(self, migration, direction, total, transactional, resume_from) -> None:
        self._mig = _Migration(migration.version, migration.name, direction, transactional)
        self._migrations.append(self._mig)
        try:
            self._skip = self._skipped_namespaces()  # the bascule schema may be new
        except Exception as exc:
            self._note(None, f"monitor query failed: {exc}")

    @_guarded
    def before_statement(self, event: StatementEvent) -> None:
        mig = self._mig
        if mig is None or (mig.version, mig.direction) != (event.migration.version, event.direction):
            self.migration_started(event.migration, event.direction, event.total, event.in_transaction, 0)
            mig = self._mig
        if not mig.transactional:
            self._resolve(mig, committed=True)  # the previous statement's transaction is over
        if not mig.transactional or event.attempt != mig.attempt:
            # a new transaction: nothing is held over from the statements before it
            mig.attempt = event.attempt
            mig.first_seen.clear()
        stmt = event.statement
        rec = {
            "version": mig.version, "name": mig.name, "direction": event.direction, "attempt": event.attempt,
            "index": event.position, "line": stmt.line, "kind": stmt.kind, "preview": stmt.preview(120),
            "in_transaction": event.in_transaction, "ok": None, "error": None, "sqlstate": None, "ms": None,
            "rows": None, "wal_bytes": None, "temp_files": None, "temp_bytes": None,
            "temp_files_seen": None, "temp_bytes_seen": None, "relations": [], "rewritten": [],
            "rebuilt_indexes": [], "rewrite_check": None, "rewrite_uncertain": False, "locks": [], "waits": [],
            "created_locks": [], "strongest_lock": None, "samples": 0,
        }
        st = _Stmt(rec, len(mig.statements), time.monotonic(), in_transaction=event.in_transaction, kind=stmt.kind)
        mig.statements.append(st)
        self.records.append(rec)
        try:
            conn = self._monitor()
            st.before = self._snapshot(conn, stmt)
            rec["relations"] = sorted({r.name for r in st.before.values() if r.table is None})
            lsn, files, nbytes = self._counters(conn, self._counters_q)
            st.wal_lsn, st.temp_counters = lsn, (files, nbytes)
        except Exception as exc:
            self._note(st, f"monitor query failed before the statement: {exc}")
        st.t0 = time.monotonic()
        self._start_sampling(st)

    @_guarded
    def after_statement(self, event: StatementEvent, outcome: StatementOutcome) -> None:
        mig = self._mig
        st = self._cur
        if mig is None or st is None:
            return
        st.t1 = time.monotonic()
        # inside a transaction the statement's locks are still held: one more sample sees them
        self._stop_sampling(st, final_sample=event.in_transaction and outcome.ok)
        rec = st.record
        rec.update(ok=outcome.ok, error=outcome.error, sqlstate=outcome.sqlstate,
                   ms=round(outcome.duration_ms, 3), rows=outcome.rowcount, samples=st.samples)
        if outcome.skipped:
            rec["skipped"] = True
        try:
            conn = self._monitor()
            after = sql.SQL(self._counters_after_q).format(sql.Literal(st.wal_lsn)).as_string(conn)
            wal, files, nbytes = self._counters(conn, after)
            rec["wal_bytes"] = wal
            if st.temp_counters is not None:
                rec["temp_files"] = max(0, files - st.temp_counters[0])
                rec["temp_bytes"] = max(0, nbytes - st.temp_counters[1])
        except Exception as exc:
            self._note(st, f"monitor query failed after the statement: {exc}")
        if self._tmpdir:
            rec["temp_files_seen"] = len(st.temp)
            rec["temp_bytes_seen"] = sum(st.temp.values())
        # a relation the monitor could not see was created by the runner's open transaction
        st.created |= st.unseen
        for oid in st.unseen:
            mig.created_at.setdefault(oid, (st.record["attempt"], st.position))
        for oid, mode, granted in st.locks:
            if granted and (oid, mode) not in mig.first_seen:
                mig.first_seen[(oid, mode)] = st.position
        if not outcome.ok:
            rec["rewrite_check"] = "rolled_back"
        elif event.in_transaction:
            mig.pending.append(st)
            rec["rewrite_check"] = "pending"
        else:
            mig.pending.append(st)
            self._resolve(mig, committed=True)
        self._render(mig, st, {})

    @_guarded
    def lock_retry(self, migration, attempt, wait_s, blockers) -> None:
        mig = self._mig
        if mig is not None:
            self._resolve(mig, committed=False)

    @_guarded
    def migration_finished(self, outcome: MigrationOutcome) -> None:
        mig = self._mig
        if mig is None:
            return
        mig.status = outcome.status
        mig.duration_ms = outcome.duration_ms
        if mig.transactional:
            self._resolve(mig, committed=outcome.status != "failed")
        else:
            # a failed statement's transaction rolled back; every earlier one committed
            self._resolve(mig, committed=True)
        self._mig = None

    @staticmethod
    def _counters(conn, query: str) -> tuple:
        """WAL position (or bytes since one), temp files and temp bytes of this database."""
        return conn.execute(query).fetchone()[1:]

    # -- rewrites -------------------------------------------------------------------------------
    def _snapshot(self, conn, stmt) -> dict[int, _Rel]:
        from bascule.verify.relations import touched

        t = touched([stmt])
        names = []
        for schema, name in t.tables:
            if (schema, name) in t.created:
                continue
            ident = sql.Identifier(schema, name) if schema else sql.Identifier(name)
            names.append(ident.as_string(conn))
        if not names:
            return {}
        rows = conn.execute(_SNAPSHOT_SQL, (names,)).fetchall()
        return {r[0]: _Rel(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows}

    def _resolve(self, mig: _Migration, committed: bool) -> None:
        """Finish the rewrite check and the lock names of the statements waiting for a commit."""
        pending, mig.pending = mig.pending, []
        if not pending:
            return
        if not committed:
            for s in pending:
                s.record["rewrite_check"] = "rolled_back"
            return
        oids = {o for s in pending for o in s.before}
        lock_oids = {k[0] for s in pending for k in s.locks}
        try:
            conn = self._monitor()
            cur = {r[0]: r for r in conn.execute(_CURRENT_SQL, {"oids": sorted(oids | lock_oids),
                                                                  "skip": self._skip}).fetchall()}
            gone_indexes = sorted({r.qualified for s in pending for r in s.before.values()
                                   if r.table is not None and r.oid not in cur})
            by_name = {r[0]: r for r in conn.execute(_BY_NAME_SQL, (gone_indexes,)).fetchall()} \
                if gone_indexes else {}
        except Exception as exc:
            for s in pending:
                s.record["rewrite_check"] = "error"
                self._note(s, f"monitor query failed while checking rewrites: {exc}")
            return
        names = {oid: row[2] for oid, row in cur.items() if row[2] is not None}
        for s in pending:
            # an index of a table the statement names that was not there before it ran: it built it
            # (CREATE INDEX CONCURRENTLY commits the new index before the first sample may run)
            tables = {r.oid for r in s.before.values() if r.table is None}
            for oid, _mode, _granted in s.locks:
                row = cur.get(oid)
                if row is not None and row[3] in tables and oid not in s.before:
                    s.created.add(oid)
                    mig.created_at.setdefault(oid, (s.record["attempt"], s.position))
        check = "at_commit" if any(s.in_transaction for s in pending) else "after_statement"
        for s in pending:
            s.record["rewrite_check"] = "after_statement" if not s.in_transaction else check

        # which relations changed, and which pending statements could have done it
        changed: dict[int, tuple[_Rel, int | None]] = {}  # oid -> (before, new filenode)
        for s in pending:
            for r in s.before.values():
                if r.oid in changed or r.filenode == 0:
                    continue
                now = cur.get(r.oid)
                if now is not None:
                    if now[1] != r.filenode:
                        changed[r.oid] = (r, now[1])
                elif r.table is not None:  # index dropped: recreated under the same name on the same table?
                    again = by_name.get(r.qualified)
                    if again is not None and again[4] == r.table:
                        changed[r.oid] = (r, again[2])
        owners: dict[int, list[_Stmt]] = {}
        uncertain: set[int] = set()
        for oid, (r, new) in changed.items():
            cands = [s for s in pending if oid in s.before]
            if len(cands) > 1:
                # a rewrite builds a transient heap whose oid becomes the new relfilenode: who locked it?
                # the lock is held to the end of the transaction: the first statement to hold it built it
                by_lock = [s for s in cands if any(k[0] == new for k in s.locks)][:1]
                if by_lock:
                    cands = by_lock
                elif r.table is None:
                    inplace = [s for s in cands if s.kind in _INPLACE_REWRITERS]
                    if len(inplace) == 1:
                        cands = inplace
            if len(cands) > 1:
                uncertain.add(oid)
            owners[oid] = cands
        for oid, (r, _new) in changed.items():
            if r.table is not None and r.table in owners and oid in uncertain:
                owners[oid] = owners[r.table]  # an index is rebuilt by whatever rewrote its table
                if r.table not in uncertain:
                    uncertain.discard(oid)
        for oid, cands in owners.items():
            r = changed[oid][0]
            for s in cands:
                key = "rebuilt_indexes" if r.table is not None else "rewritten"
                if r.name not in s.record[key]:
                    s.record[key].append(r.name)
                if oid in uncertain:
                    s.record["rewrite_uncertain"] = True
        for s in pending:
            self._render(mig, s, names)

    # -- report -----------------------------------------------------------------------------------
    @staticmethod
    def _own(mig: _Migration, st: _Stmt, oid: int) -> bool:
        """Whether `st`'s own transaction created relation `oid` (by `st` itself or before it): only
        the transaction's own session can see it yet. Statement by statement, each statement's
        transaction is its own (what an earlier one created has been committed); in a migration run
        as one transaction, the statements of the same attempt up to `st` share it."""
        if not mig.transactional:
            return oid in st.created
        hit = mig.created_at.get(oid)
        return hit is not None and hit[0] == st.record["attempt"] and hit[1] <= st.position

    def _render(self, mig: _Migration, st: _Stmt, names: dict[int, str]) -> None:
        """(Re)build the lock fields of a record from the raw samples; `names` resolves relations
        that were not visible to the monitor when sampled (created by the runner's open transaction)."""
        floor = self.sample_interval
        locks, waits, created = [], [], []
        for (oid, mode, granted), seen in st.locks.items():
            first, last, name = seen
            if name is None:
                name = seen[2] = names.get(oid)
            if name is None:
                continue
            entry = {"relation": name, "mode": mode, "ms": round(max(last - first, floor) * 1000, 1),
                     "first_ms": round(max(0.0, first - st.t0) * 1000, 1),
                     "last_ms": round(max(0.0, last - st.t0) * 1000, 1)}
            if not granted:
                waits.append(entry)
                continue
            first_pos = mig.first_seen.get((oid, mode), st.position)
            entry["inherited"] = first_pos < st.position
            (created if self._own(mig, st, oid) else locks).append(entry)
        for lst in (locks, waits, created):
            lst.sort(key=lambda e: (e["relation"], LOCK_RANK.get(e["mode"], -1)))
        strongest = max(locks, key=lambda e: (LOCK_RANK.get(e["mode"], -1), e["ms"]), default=None)
        st.record.update(locks=locks, waits=waits, created_locks=created, strongest_lock=None if strongest is None else {
            "relation": strongest["relation"], "mode": strongest["mode"], "ms": strongest["ms"],
            "inherited": strongest["inherited"]})

    def migration_summary(self, version: str, direction: str | None = None) -> dict:
        """Totals for the last run of migration `version` (in `direction`, if given): time, WAL,
        temporary files, rewritten tables, the strongest lock and the longest-held ACCESS EXCLUSIVE.

        In a transactional migration a lock is held from the first sample that saw it to the last,
        across statements; otherwise each statement's locks are its own."""
        mig = next((m for m in reversed(self._migrations)
                    if m.version == version and (direction is None or m.direction == direction)), None)
        if mig is None:
            raise KeyError(f"no statement of migration {version} was observed")
        recs = [s.record for s in mig.statements]
        # lock spans: (oid, mode, attempt or statement) -> [first, last, name, first index, last index]
        spans: dict[tuple, list] = {}
        for i, s in enumerate(mig.statements):
            scope = ("attempt", s.record["attempt"]) if mig.transactional else ("statement", i)
            for (oid, mode, granted), (first, last, name) in s.locks.items():
                if not granted or name is None or self._own(mig, s, oid):
                    continue
                key = (oid, mode, scope)
                span = spans.get(key)
                if span is None:
                    spans[key] = [first, last, name, s.record["index"], s.record["index"]]
                else:
                    span[0] = min(span[0], first)
                    span[1] = max(span[1], last)
                    span[4] = s.record["index"]
        floor = self.sample_interval

        def held(span: list) -> float:
            return round(max(span[1] - span[0], floor) * 1000, 1)

        strongest = max(((k, v) for k, v in spans.items()),
                        key=lambda kv: (LOCK_RANK.get(kv[0][1], -1), held(kv[1])), default=None)
        ael = [(k, v) for k, v in spans.items() if k[1] == "AccessExclusiveLock"]
        longest = max(ael, key=lambda kv: held(kv[1]), default=None)

        def total(key: str) -> int | None:
            vals = [r[key] for r in recs if r.get(key) is not None]
            return sum(vals) if vals else None

        rewritten: list[str] = []
        rebuilt: list[str] = []
        for r in recs:
            rewritten += [t for t in r["rewritten"] if t not in rewritten]
            rebuilt += [t for t in r["rebuilt_indexes"] if t not in rebuilt]
        return {
            "version": mig.version, "name": mig.name, "direction": mig.direction, "status": mig.status,
            "transactional": mig.transactional, "attempts": max((r["attempt"] for r in recs), default=0),
            "statements": len(recs),
            "total_ms": round(mig.duration_ms if mig.duration_ms is not None
                              else sum(r["ms"] or 0 for r in recs), 3),
            "statements_ms": round(sum(r["ms"] or 0 for r in recs), 3),
            "wal_bytes": total("wal_bytes"), "temp_files": total("temp_files"), "temp_bytes": total("temp_bytes"),
            "temp_files_seen": total("temp_files_seen"), "temp_bytes_seen": total("temp_bytes_seen"),
            "rewritten_tables": rewritten, "rebuilt_indexes": rebuilt,
            "strongest_lock": None if strongest is None else {
                "relation": strongest[1][2], "mode": strongest[0][1], "ms": held(strongest[1]),
                "from_statement": strongest[1][3], "to_statement": strongest[1][4]},
            "longest_access_exclusive": None if longest is None else {
                "relation": longest[1][2], "ms": held(longest[1]),
                "from_statement": longest[1][3], "to_statement": longest[1][4]},
            "waits": [dict(w, index=r["index"]) for r in recs for w in r["waits"]],
        }


__all__ = ["APPLICATION_NAME", "LOCK_MODES", "StatementProfiler"]
