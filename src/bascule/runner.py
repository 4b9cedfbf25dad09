"""The Runner: the only code that executes migration SQL.

It owns the transaction mode, lock_timeout with retry and backoff, statement_timeout,
per-statement progress for non-transactional migrations, and the observer calls.
Callers (apply, rollback, and later rehearse/online/fleet) hold the migration advisory lock.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from bascule.config import Settings, check_timeout, parse_duration, pg_duration
from bascule.errors import LockTimeoutError, MigrationFailed, PlanError
from bascule.history import History
from bascule.migration import Migration, Script, Statement
from bascule.observers import MigrationOutcome, Observer, StatementEvent, StatementOutcome, TimingObserver

BLOCKERS_SQL = """
SELECT a.pid, a.application_name, a.state, a.query_start, left(a.query, 200) AS query,
       a.backend_type, a.wait_event_type
  FROM pg_stat_activity a
 WHERE a.pid = ANY (pg_blocking_pids(%s))
 ORDER BY a.query_start NULLS LAST
"""


def backoff_delay(attempt: int, base: float = 0.5, cap: float = 15.0, rng: random.Random | None = None) -> float:
    """Exponential backoff with full jitter: uniform(0, min(cap, base * 2**(attempt-1)))."""
    r = rng or random
    return r.uniform(0, min(cap, base * (2 ** (attempt - 1))))


class BlockerWatch:
    """Samples, from a second connection, which sessions block the runner's current statement.

    When a statement ends with a lock timeout the waiting is over and pg_blocking_pids() is
    empty, so the blockers are sampled while the statement waits. The connection is opened
    only once a statement has run longer than `threshold` seconds."""

    def __init__(self, url: str, runner_pid: int, threshold: float):
        self.url = url
        self.runner_pid = runner_pid
        self.threshold = max(0.02, threshold)
        self._started: float | None = None
        self._blockers: list[dict] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._conn = None
        self._thread = threading.Thread(target=self._loop, name="bascule-blockers", daemon=True)
        self._thread.start()

    def statement_started(self) -> None:
        with self._lock:
            self._started = time.monotonic()
            self._blockers = []

    def statement_finished(self) -> list[dict]:
        with self._lock:
            self._started = None
            return list(self._blockers)

    def _loop(self) -> None:
        while not self._stop.wait(min(0.05, self.threshold / 2)):
            with self._lock:
                started = self._started
            if started is None or time.monotonic() - started < self.threshold:
                continue
            try:
                if self._conn is None:
                    from bascule.targets.connect import connect

                    self._conn = connect(self.url, application_name="bascule-monitor")
                rows = self._conn.execute(BLOCKERS_SQL, (self.runner_pid,)).fetchall()
            except Exception:  # monitoring must never break a migration
                continue
            if rows:
                found = [{"pid": r[0], "application_name": r[1], "state": r[2],
                          "query_start": r[3].isoformat() if r[3] else None, "query": r[4],
                          "backend_type": r[5]} for r in rows]
                with self._lock:
                    if self._started is started:
                        self._blockers = found

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                pass


def describe_blockers(blockers: list[dict]) -> str:
    if not blockers:
        return "no blocking session was caught in the act"
    parts = []
    for b in blockers:
        parts.append(f"pid {b['pid']} ({b['application_name'] or 'no application_name'}, {b['state']}, "
                     f"since {b['query_start']}): {b['query']!r}")
    return "held by " + "; ".join(parts)


def _may_change_session(statements: list[Statement]) -> bool:
    return any(st.sets_session or st.kind in ("DoStmt", "CallStmt") or "set_config" in st.sql.lower()
               for st in statements)


def preflight(m: Migration, direction: str, server_version: int | None) -> None:
    """Every check that can fail before a statement runs: the script parses, its declared
    timeouts are durations, and `transaction = "always"` does not meet a statement PostgreSQL
    refuses in a transaction. Callers run it on the whole plan before running any of it."""
    script = m.up if direction == "up" else m.down
    if script is None:
        raise PlanError(f"migration {m.label} has no down script", hint="write one, or roll back by hand")
    statements = script.statements
    for key in ("lock_timeout", "statement_timeout"):
        value = getattr(m, key)
        if value is not None:
            check_timeout(parse_duration(value, f"{m.path}: {key}"), f"{m.path}: {key}",
                          allow_zero=key == "statement_timeout")
    if direction == "up" and m.checks:
        from bascule.verify.custom import validate_check_sql

        for c in m.checks:
            validate_check_sql(c["sql"], f"{m.path}: check {c['name']!r}")
    if m.transaction == "always":
        for st in statements:
            if st.no_transaction or (server_version is not None and st.needs_autocommit(server_version)):
                raise PlanError(f"{st.path}:{st.line}: `{st.preview(60)}` cannot run inside a transaction, but "
                                f"the migration declares transaction = \"always\"",
                                hint="remove `transaction = \"always\"` or move the statement to its own migration")


class Runner:
    def __init__(self, conn, history: History, settings: Settings, observers: Sequence[Observer] = (),
                 monitor_url: str | None = None, sleep: Callable[[float], None] = time.sleep):
        self.conn = conn
        self.history = history
        self.settings = settings
        self.timing = TimingObserver()
        self.observers: list[Observer] = [self.timing, *observers]
        self.server_version: int = conn.info.server_version
        self.monitor_url = monitor_url
        self.sleep = sleep
        self._watch: BlockerWatch | None = None
        # Session defaults, set once; a migration that overrides them uses SET LOCAL (or, outside a
        # transaction, changes the session value and the runner remembers it). A migration that
        # runs SET itself gets the session reset after it (see _restore_session).
        self._session_timeouts = (settings.lock_timeout, settings.statement_timeout)
        self._apply_session_defaults()

    # -- helpers ----------------------------------------------------------------------
    def _timeouts(self, m: Migration) -> tuple[float, float]:
        lock = parse_duration(m.lock_timeout, f"{m.path}: lock_timeout") if m.lock_timeout else self.settings.lock_timeout
        stmt = (parse_duration(m.statement_timeout, f"{m.path}: statement_timeout")
                if m.statement_timeout else self.settings.statement_timeout)
        return lock, stmt

    def _watcher(self, lock_timeout: float) -> BlockerWatch | None:
        if self.monitor_url is None:
            return None
        if self._watch is None:
            self._watch = BlockerWatch(self.monitor_url, self.conn.info.backend_pid, min(0.1, lock_timeout / 4))
        return self._watch

    def close(self) -> None:
        if self._watch is not None:
            self._watch.close()
            self._watch = None

    def _notify(self, name: str, *args) -> None:
        for o in self.observers:
            getattr(o, name)(*args)

    def _execute(self, stmt: Statement) -> int | None:
        cur = self.conn.cursor()
        if stmt.copy_data is not None:
            with cur.copy(stmt.sql) as cp:
                cp.write(stmt.copy_data.encode("utf-8"))
            return cur.rowcount
        cur.execute(stmt.sql, prepare=False)
        return cur.rowcount

    def _run_statement(self, m: Migration, direction: str, stmt: Statement, pos: int, total: int,
                       attempt: int, in_txn: bool, lock_timeout: float) -> StatementOutcome:
        import psycopg

        ev = StatementEvent(m, direction, stmt, pos, total, attempt, in_txn)
        self._notify("before_statement", ev)
        watch = self._watcher(lock_timeout)
        if watch:
            watch.statement_started()
        t0 = time.perf_counter()
        try:
            rows = self._execute(stmt)
        except psycopg.Error as exc:
            ms = (time.perf_counter() - t0) * 1000
            blockers = watch.statement_finished() if watch else []
            diag = exc.diag
            text = diag.message_primary or str(exc).strip() or type(exc).__name__
            if diag.message_detail:
                text += f" ({diag.message_detail})"
            out = StatementOutcome(False, ms, error=text, sqlstate=exc.sqlstate)
            self._notify("after_statement", ev, out)
            exc.bascule_blockers = blockers  # type: ignore[attr-defined]
            exc.bascule_message = out.error  # type: ignore[attr-defined]
            raise
        ms = (time.perf_counter() - t0) * 1000
        if watch:
            watch.statement_finished()
        out = StatementOutcome(True, ms, rowcount=rows if rows is not None and rows >= 0 else None)
        self._notify("after_statement", ev, out)
        return out

    # -- public -----------------------------------------------------------------------
    def run(self, m: Migration, direction: str = "up", resume_from: int = 0, attempts_before: int = 0,
            interrupted: bool = False) -> MigrationOutcome:
        """Run one script. `resume_from`: statements already done by an earlier attempt (statement-
        by-statement migrations only); `interrupted`: that attempt's runner died mid-statement."""
        script: Script | None = m.up if direction == "up" else m.down
        if script is None:
            raise PlanError(f"migration {m.label} has no down script", hint="write one, or roll back by hand")
        preflight(m, direction, self.server_version)
        statements = script.statements
        transactional = m.runs_in_transaction(self.server_version, script)
        self._notify("migration_started", m, direction, len(statements), transactional, resume_from)
        try:
            if transactional:
                return self._run_transactional(m, direction, statements, attempts_before)
            return self._run_steps(m, direction, statements, resume_from, attempts_before, interrupted)
        finally:
            if _may_change_session(statements) and not self.conn.broken:
                self._restore_session()

    def _apply_session_defaults(self) -> None:
        s = self.settings
        self._session_timeouts = (s.lock_timeout, s.statement_timeout)
        extra = ""
        if self.server_version >= 140000:
            # An orphaned backend (runner killed mid-statement) notices within a second.
            extra = ", set_config('client_connection_check_interval', '1s', false)"
        self.conn.execute("SELECT set_config('lock_timeout', %s, false), set_config('statement_timeout', %s, false)"
                          + extra, (pg_duration(s.lock_timeout), pg_duration(s.statement_timeout)))

    def _restore_session(self) -> None:
        """A migration ran SET (or a DO/CALL that may have): undo it so that the next migration
        runs under bascule's timeouts, search_path and role, not the previous migration's."""
        self.conn.execute("RESET ALL")
        self._apply_session_defaults()

    def _final_fields(self, m: Migration, direction: str, started: datetime, transactional: bool, total: int,
                      attempts: int) -> dict:
        finished = datetime.now(UTC)
        return dict(
            name=m.name, kind="repeatable" if m.repeatable else "versioned", checksum=m.checksum,
            status="applied" if direction == "up" else "rolled_back", direction=direction,
            transactional=transactional, statements_done=total, statements_total=total, error=None, sqlstate=None,
            failed_statement=None, failed_path=None, failed_line=None, started_at=started, finished_at=finished,
            duration_ms=(finished - started).total_seconds() * 1000, attempts=attempts, layout=m.layout,
            path=str(m.path),
        )

    def _record_failure(self, m: Migration, direction: str, started: datetime, transactional: bool, total: int,
                        done: int, stmt: Statement, exc, attempts: int, blockers: list[dict]) -> str:
        msg = getattr(exc, "bascule_message", None) or str(exc).strip() or type(exc).__name__
        if getattr(exc, "sqlstate", None) == "55P03":
            tries = getattr(exc, "bascule_attempts", attempts)
            msg = f"lock timeout after {tries} attempt(s): {describe_blockers(blockers)}"
        finished = datetime.now(UTC)
        key = self._key(m)
        with self.conn.transaction():
            self._write_failure(m, key, direction, started, finished, transactional, total, done, stmt, exc, msg,
                                attempts, blockers)
        return msg

    def _write_failure(self, m, key, direction, started, finished, transactional, total, done, stmt, exc, msg,
                       attempts, blockers) -> None:
        self.history.upsert(
            key, name=m.name, kind="repeatable" if m.repeatable else "versioned", checksum=m.checksum,
            status="failed", direction=direction, transactional=transactional, statements_done=done,
            statements_total=total, error=msg, sqlstate=getattr(exc, "sqlstate", None),
            failed_statement=stmt.preview(1000), failed_path=stmt.path, failed_line=stmt.line, started_at=started,
            finished_at=finished, duration_ms=(finished - started).total_seconds() * 1000, attempts=attempts,
            layout=m.layout, path=str(m.path),
        )
        self.history.event("failed" if direction == "up" else "rollback_failed", key, m.name, m.checksum, {
            "error": msg, "sqlstate": getattr(exc, "sqlstate", None), "statement": stmt.preview(),
            "file": stmt.path, "line": stmt.line, "statements_done": done, "statements_total": total,
            "transactional": transactional, "blockers": blockers,
        })

    @staticmethod
    def _key(m: Migration) -> str:
        return m.history_key

    def _set_timeouts(self, lock_timeout: float, statement_timeout: float, local: bool) -> None:
        """Make these the timeouts in force; no round trip when they already are."""
        if (lock_timeout, statement_timeout) == self._session_timeouts:
            return
        self.conn.execute("SELECT set_config('lock_timeout', %s, %s), set_config('statement_timeout', %s, %s)",
                          (pg_duration(lock_timeout), local, pg_duration(statement_timeout), local))
        if not local:
            self._session_timeouts = (lock_timeout, statement_timeout)

    def _run_transactional(self, m: Migration, direction: str, statements: list[Statement],
                           attempts_before: int) -> MigrationOutcome:
        import psycopg

        lock_timeout, statement_timeout = self._timeouts(m)
        started = datetime.now(UTC)
        t0 = time.perf_counter()
        attempt = 0
        retries = 0
        total = len(statements)
        key = self._key(m)
        while True:
            attempt += 1
            current: Statement | None = None
            try:
                with self.conn.transaction():
                    self._set_timeouts(lock_timeout, statement_timeout, local=True)
                    for i, stmt in enumerate(statements):
                        current = stmt
                        self._run_statement(m, direction, stmt, i, total, attempt, True, lock_timeout)
                    fields = self._final_fields(m, direction, started, True, total, attempts_before + attempt)
                    self.history.record(key, fields, "applied" if direction == "up" else "rolled_back",
                                        {"duration_ms": round(fields["duration_ms"], 3), "transactional": True,
                                         "retries": retries, "statements": self.timing.current[:500]})
                break
            except psycopg.Error as exc:
                self.history.forget_cached_hash()
                blockers = getattr(exc, "bascule_blockers", [])
                if exc.sqlstate == "55P03" and retries < self.settings.lock_retries and not self.conn.broken:
                    retries += 1
                    wait = backoff_delay(retries)
                    self.history.event("lock_retry", key, m.name, m.checksum, {
                        "attempt": attempt, "wait_s": round(wait, 3), "statement": current.preview() if current else None,
                        "line": current.line if current else None, "blockers": blockers})
                    self._notify("lock_retry", m, attempt, wait, blockers)
                    self.sleep(wait)
                    continue
                if current is None:  # failed before the first statement (setting the timeouts)
                    current = statements[0] if statements else Statement(0, "", str(m.path), 1, 1, "none")
                if self.conn.broken:
                    raise _connection_lost(m, current, exc) from None
                exc.bascule_attempts = attempt  # type: ignore[attr-defined]
                msg = self._record_failure(m, direction, started, True, total, 0, current, exc,
                                           attempts_before + attempt, blockers)
                cls = LockTimeoutError if exc.sqlstate == "55P03" else MigrationFailed
                outcome = MigrationOutcome(m, direction, "failed", (time.perf_counter() - t0) * 1000,
                                           self.timing.current, retries, 0, True, msg)
                self._notify("migration_finished", outcome)
                raise cls(f"{m.label}: {current.path}:{current.line}: {msg}",
                          hint=_failure_hint(exc.sqlstate, True, direction=direction)) from None
        outcome = MigrationOutcome(m, direction, "applied" if direction == "up" else "rolled_back",
                                   (time.perf_counter() - t0) * 1000, list(self.timing.current), retries, 0, True)
        self._notify("migration_finished", outcome)
        return outcome

    def _drop_invalid_index(self, stmt: Statement, resuming: bool, lock_timeout: float) -> str | None:
        """Before (re)running CREATE INDEX CONCURRENTLY: drop an INVALID leftover of an earlier
        failed attempt on the same table. Returns "skip" when a valid index of that name on that
        table exists and the previous runner died at this very statement (the build finished
        before it could record it); "dropped" after dropping a leftover; None otherwise."""
        if stmt.concurrent_index is None:
            return None
        schema, name, table = stmt.concurrent_index
        from psycopg import sql

        ident = sql.Identifier(schema, name) if schema else sql.Identifier(name)
        tident = sql.Identifier(schema, table) if schema else sql.Identifier(table)
        row = self.conn.execute(
            "SELECT i.indisvalid, i.indrelid = to_regclass(%s) FROM pg_index i WHERE i.indexrelid = to_regclass(%s)",
            (tident.as_string(self.conn), ident.as_string(self.conn))).fetchone()
        if row is None or not row[1]:
            return None  # no such index, or one on another table: let PostgreSQL report the clash
        if row[0]:
            return "skip" if resuming else None
        drop = Statement(stmt.index, sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(ident).as_string(self.conn),
                         stmt.path, stmt.line, stmt.column, "DropStmt", no_transaction=True)
        watch = self._watcher(lock_timeout)
        if watch:
            watch.statement_started()
        try:
            self._execute(drop)
        except Exception as exc:
            if watch:
                exc.bascule_blockers = watch.statement_finished()  # type: ignore[attr-defined]
            raise
        if watch:
            watch.statement_finished()
        return "dropped"

    def _run_steps(self, m: Migration, direction: str, statements: list[Statement], resume_from: int,
                   attempts_before: int, interrupted: bool = False) -> MigrationOutcome:
        import psycopg

        lock_timeout, statement_timeout = self._timeouts(m)
        started = datetime.now(UTC)
        t0 = time.perf_counter()
        total = len(statements)
        key = self._key(m)
        attempts = attempts_before + 1
        notes: list[str] = []
        self._set_timeouts(lock_timeout, statement_timeout, local=False)
        self.history.upsert(key, name=m.name, kind="repeatable" if m.repeatable else "versioned",
                            checksum=m.checksum, status="running", direction=direction, transactional=False,
                            statements_done=resume_from, statements_total=total, error=None, sqlstate=None,
                            failed_statement=None, failed_path=None, failed_line=None, started_at=started,
                            finished_at=None, duration_ms=None, attempts=attempts, layout=m.layout,
                            path=str(m.path))
        self.history.event(("started" if resume_from == 0 else "resumed") if direction == "up"
                           else ("rollback_started" if resume_from == 0 else "rollback_resumed"), key, m.name, m.checksum,
                           {"direction": direction, "transactional": False, "from_statement": resume_from,
                            "statements_total": total})
        retries = total_retries = 0
        if resume_from:
            # Statements before the resume point ran in an earlier session: replay the session
            # settings they made (SET search_path, SET ROLE, ...) so the rest runs as it would have.
            for st in statements[:resume_from]:
                if st.sets_session:
                    self.conn.execute(st.sql, prepare=False)
                    notes.append(f"replayed `{st.preview(60)}` from before the resume point")
        try:
            for i in range(resume_from, total):
                stmt = statements[i]
                attempt = 0
                retries = 0
                while True:
                    attempt += 1
                    try:
                        if stmt.needs_autocommit(self.server_version) or stmt.autocommit_only:
                            action = self._drop_invalid_index(stmt, resuming=(i == resume_from and interrupted),
                                                              lock_timeout=lock_timeout)
                            if action == "dropped":
                                notes.append(f"dropped INVALID index {stmt.concurrent_index[1]} left by an "
                                             f"earlier attempt before rebuilding it")
                                self.history.event("invalid_index_dropped", key, m.name, m.checksum,
                                                   {"index": stmt.concurrent_index[1], "line": stmt.line})
                            if action == "skip":
                                notes.append(f"index {stmt.concurrent_index[1]} was already built and valid; "
                                             f"statement {i + 1} counted as done")
                            else:
                                self._run_statement(m, direction, stmt, i, total, attempt, False, lock_timeout)
                            self.history.set_progress(key, i + 1)
                        else:
                            with self.conn.transaction():
                                self._run_statement(m, direction, stmt, i, total, attempt, True, lock_timeout)
                                self.history.set_progress(key, i + 1)
                        break
                    except psycopg.Error as exc:
                        if exc.sqlstate == "55P03" and retries < self.settings.lock_retries and not self.conn.broken:
                            retries += 1
                            total_retries += 1
                            wait = backoff_delay(retries)
                            blockers = getattr(exc, "bascule_blockers", [])
                            self.history.event("lock_retry", key, m.name, m.checksum, {
                                "attempt": attempt, "wait_s": round(wait, 3), "statement": stmt.preview(),
                                "line": stmt.line, "blockers": blockers})
                            self._notify("lock_retry", m, attempt, wait, blockers)
                            self.sleep(wait)
                            continue
                        raise
        except psycopg.Error as exc:
            if self.conn.broken:
                raise _connection_lost(m, stmt, exc) from None
            blockers = getattr(exc, "bascule_blockers", [])
            exc.bascule_attempts = retries + 1  # type: ignore[attr-defined]
            msg = self._record_failure(m, direction, started, False, total, i, stmt, exc, attempts, blockers)
            outcome = MigrationOutcome(m, direction, "failed", (time.perf_counter() - t0) * 1000,
                                       list(self.timing.current), total_retries, resume_from, False, msg, notes)
            self._notify("migration_finished", outcome)
            cls = LockTimeoutError if exc.sqlstate == "55P03" else MigrationFailed
            raise cls(f"{m.label}: {stmt.path}:{stmt.line}: {msg}", hint=_failure_hint(exc.sqlstate, False, i, total, direction)) from None
        fields = self._final_fields(m, direction, started, False, total, attempts)
        self.history.record(key, fields, "applied" if direction == "up" else "rolled_back", {
            "duration_ms": round((time.perf_counter() - t0) * 1000, 3), "transactional": False,
            "retries": total_retries, "resumed_from": resume_from, "statements": self.timing.current[:500],
            "notes": notes})
        outcome = MigrationOutcome(m, direction, "applied" if direction == "up" else "rolled_back",
                                   (time.perf_counter() - t0) * 1000, list(self.timing.current), total_retries,
                                   resume_from, False, None, notes)
        self._notify("migration_finished", outcome)
        return outcome


def _failure_hint(sqlstate: str | None, transactional: bool, done: int = 0, total: int = 0,
                  direction: str = "up") -> str:
    if sqlstate == "55P03":
        return ("another session held a conflicting lock for longer than lock_timeout on every attempt; "
                "retry when traffic is lower, or raise lock_timeout/lock_retries for this environment")
    if sqlstate == "57014":
        return "statement_timeout cancelled the statement; raise statement_timeout or make the statement cheaper"
    if transactional:
        return (f"the transaction was rolled back: the database is as it was before. Fix the SQL and run "
                f"`bascule {direction}` again")
    return (f"{done} of {total} statements were applied and are recorded; fix the problem and run `bascule {direction}` "
            f"to resume at statement {done + 1}, or `bascule repair` if you fixed it by hand")


def _connection_lost(m: Migration, stmt: Statement, exc) -> MigrationFailed:
    """The connection died (server restart, pg_terminate_backend, network): nothing more can be
    recorded from here; the history row says `running` (or nothing, for a transactional
    migration, whose transaction the server rolled back)."""
    reason = getattr(exc, "bascule_message", None) or str(exc).strip()
    return MigrationFailed(
        f"{m.label}: {stmt.path}:{stmt.line}: connection to the database lost: {reason}",
        hint="`bascule status` shows where it stopped; `bascule up` resumes (a transactional migration was "
             "rolled back by the server and runs again from the top)")
