"""History: the `bascule` schema in the target database.

* bascule.migrations: one row per migration, its current state (a projection of the events).
* bascule.events: append-only, hash-chained log of everything that happened. A trigger refuses
  UPDATE, DELETE and TRUNCATE; each row's hash covers the previous row's hash, so a row removed
  or edited by someone who disabled the trigger is detected by `bascule history --verify`.

Nothing is ever written outside the `bascule` schema.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import socket
from dataclasses import dataclass
from datetime import UTC, datetime

from bascule import __version__

SCHEMA = "bascule"
SCHEMA_VERSION = "2"
# pg_advisory_lock key: the bytes of "bascule" as a bigint. Per database.
LOCK_KEY = int.from_bytes(b"bascule", "big")

DDL = """
CREATE SCHEMA IF NOT EXISTS bascule;
CREATE TABLE IF NOT EXISTS bascule.meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);
CREATE TABLE IF NOT EXISTS bascule.migrations (
    version          text PRIMARY KEY,
    name             text NOT NULL,
    kind             text NOT NULL DEFAULT 'versioned' CHECK (kind IN ('versioned', 'repeatable', 'baseline')),
    checksum         text,
    status           text NOT NULL CHECK (status IN ('running', 'applied', 'failed', 'rolled_back', 'baseline')),
    direction        text NOT NULL DEFAULT 'up' CHECK (direction IN ('up', 'down')),
    transactional    boolean,
    statements_done  integer NOT NULL DEFAULT 0,
    statements_total integer,
    error            text,
    sqlstate         text,
    failed_statement text,
    failed_path      text,
    failed_line      integer,
    applied_by       text,
    db_user          text,
    host             text,
    bascule_version  text,
    started_at       timestamptz,
    finished_at      timestamptz,
    duration_ms      double precision,
    attempts         integer NOT NULL DEFAULT 0,
    layout           text,
    path             text
);
CREATE TABLE IF NOT EXISTS bascule.events (
    id              bigserial PRIMARY KEY,
    at              timestamptz NOT NULL,
    event           text NOT NULL,
    version         text,
    name            text,
    checksum        text,
    actor           text,
    db_user         text NOT NULL DEFAULT current_user,
    host            text,
    bascule_version text,
    detail          jsonb NOT NULL DEFAULT '{}'::jsonb,
    prev_hash       text,
    hash            text NOT NULL
);
CREATE TABLE IF NOT EXISTS bascule.evidence (
    id              bigserial PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT clock_timestamp(),
    kind            text NOT NULL,
    version         text,
    checksum        text,
    passed          boolean,
    actor           text,
    host            text,
    bascule_version text,
    payload         jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS evidence_version_kind ON bascule.evidence (version, kind, id);
CREATE OR REPLACE FUNCTION bascule.events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'bascule.events is append-only (% refused)', TG_OP
        USING HINT = 'record a correction with bascule repair instead of editing history';
END $$;
DROP TRIGGER IF EXISTS events_append_only ON bascule.events;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON bascule.events
    FOR EACH ROW EXECUTE FUNCTION bascule.events_append_only();
DROP TRIGGER IF EXISTS events_no_truncate ON bascule.events;
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON bascule.events
    FOR EACH STATEMENT EXECUTE FUNCTION bascule.events_append_only();
"""

_MIGRATION_COLS = (
    "version", "name", "kind", "checksum", "status", "direction", "transactional", "statements_done",
    "statements_total", "error", "sqlstate", "failed_statement", "failed_path", "failed_line", "applied_by",
    "db_user", "host", "bascule_version", "started_at", "finished_at", "duration_ms", "attempts", "layout", "path",
)


@dataclass
class MigrationRecord:
    version: str
    name: str
    kind: str
    checksum: str | None
    status: str
    direction: str
    transactional: bool | None
    statements_done: int
    statements_total: int | None
    error: str | None
    sqlstate: str | None
    failed_statement: str | None
    failed_path: str | None
    failed_line: int | None
    applied_by: str | None
    db_user: str | None
    host: str | None
    bascule_version: str | None
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: float | None
    attempts: int
    layout: str | None
    path: str | None

    def to_dict(self) -> dict:
        d = self.__dict__.copy()
        for k in ("started_at", "finished_at"):
            if d[k] is not None:
                d[k] = d[k].isoformat()
        return d


def _same_version(a: str | None, b: str) -> bool:
    """`--version 1` finds events of 0001 (and R:name finds a repeatable migration)."""
    if a is None:
        return False
    if a == b:
        return True
    from bascule.versions import version_key

    try:
        return version_key(a) == version_key(b)
    except ValueError:
        return False


def actor() -> str:
    try:
        return getpass.getuser()
    except Exception:  # pragma: no cover - no passwd entry
        return "unknown"


def event_hash(prev_hash: str | None, at: datetime, event: str, version: str | None, name: str | None,
               checksum: str | None, who: str | None, host: str | None, detail: dict) -> str:
    # The instant in UTC: the same whatever TimeZone the session that reads it back uses.
    body = json.dumps([prev_hash, at.astimezone(UTC).isoformat(), event, version, name, checksum, who, host, detail],
                      sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode()).hexdigest()


class History:
    """Reads and writes the bascule schema through one connection (autocommit by default;
    writes made inside the caller's open transaction commit or roll back with it)."""

    def __init__(self, conn):
        self.conn = conn
        self.actor = actor()
        self.host = socket.gethostname()
        self._last_hash: str | None = None
        self._pending_hash: str | None = None
        self._have_last = False

    # -- schema -----------------------------------------------------------------------
    def exists(self) -> bool:
        row = self.conn.execute("SELECT to_regclass('bascule.events') IS NOT NULL").fetchone()
        return bool(row[0])

    def ensure(self) -> None:
        """Create or upgrade the schema. Call while holding the migration lock."""
        if self.exists():
            row = self.conn.execute("SELECT value FROM bascule.meta WHERE key = 'schema_version'").fetchone()
            if row and row[0] == SCHEMA_VERSION:
                return
        with self.conn.transaction():
            self.conn.execute(DDL)
            self.conn.execute(
                "INSERT INTO bascule.meta (key, value) VALUES ('schema_version', %s) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (SCHEMA_VERSION,))

    # -- locking ----------------------------------------------------------------------
    def try_lock(self) -> bool:
        return bool(self.conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()[0])

    def unlock(self) -> None:
        self.conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))

    def lock_holder(self) -> dict | None:
        row = self.conn.execute(
            """SELECT a.pid, a.application_name, a.client_addr::text, a.backend_start, a.state
                 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                WHERE l.locktype = 'advisory' AND l.granted AND l.database = (
                      SELECT oid FROM pg_database WHERE datname = current_database())
                  AND l.classid = %s AND l.objid = %s AND l.objsubid = 1""",
            ((LOCK_KEY >> 32) & 0xFFFFFFFF, LOCK_KEY & 0xFFFFFFFF)).fetchone()
        if not row:
            return None
        return {"pid": row[0], "application_name": row[1], "client_addr": row[2],
                "since": row[3].isoformat() if row[3] else None, "state": row[4]}

    # -- reads ------------------------------------------------------------------------
    def records(self) -> dict[str, MigrationRecord]:
        if not self.exists():
            return {}
        cur = self.conn.execute(f"SELECT {', '.join(_MIGRATION_COLS)} FROM bascule.migrations")
        return {r[0]: MigrationRecord(*r) for r in cur.fetchall()}

    def events(self, limit: int | None = None, version: str | None = None) -> list[dict]:
        if not self.exists():
            return []
        q = ("SELECT id, at, event, version, name, checksum, actor, db_user, host, bascule_version, detail, "
             "prev_hash, hash FROM bascule.events ORDER BY id")
        rows = self.conn.execute(q).fetchall()
        keys = ("id", "at", "event", "version", "name", "checksum", "actor", "db_user", "host",
                "bascule_version", "detail", "prev_hash", "hash")
        out = [dict(zip(keys, r, strict=True)) for r in rows]
        if version is not None:
            out = [e for e in out if _same_version(e["version"], version)]
        if limit is not None:
            out = out[-limit:] if limit > 0 else []
        return out

    def verify_chain(self) -> list[str]:
        """Problems found in the hash chain (empty list: intact; also when bascule never ran here)."""
        problems = []
        if not self.exists():
            return problems
        prev = None
        for e in self.events():
            # each row's hash covers its own stored link: a removed row breaks the next row's link,
            # not its content
            expected = event_hash(e["prev_hash"], e["at"], e["event"], e["version"], e["name"], e["checksum"],
                                  e["actor"], e["host"], e["detail"])
            if e["prev_hash"] != prev:
                problems.append(f"event {e['id']}: previous hash does not match event before it (a row was removed)")
            if e["hash"] != expected:
                problems.append(f"event {e['id']}: content does not match its hash (the row was edited)")
            prev = e["hash"]
        head = self.conn.execute("SELECT value FROM bascule.meta WHERE key = 'chain_head'").fetchone()
        if head is not None and head[0] != prev:
            problems.append("the newest event(s) were removed: the recorded chain head is not the last event")
        return problems

    # -- writes -----------------------------------------------------------------------
    def _prev_hash(self) -> str | None:
        if not self._have_last:
            row = self.conn.execute("SELECT hash FROM bascule.events ORDER BY id DESC LIMIT 1").fetchone()
            self._last_hash = row[0] if row else None
            self._have_last = True
        return self._last_hash

    def forget_cached_hash(self) -> None:
        """After a rollback the cached chain head may be one we never committed."""
        self._have_last = False

    def _event_sql(self, event: str, version: str | None, name: str | None, checksum: str | None,
                   detail: dict | None) -> tuple[str, list]:
        from psycopg.types.json import Jsonb

        detail = json.loads(json.dumps(detail or {}, default=str))
        at = datetime.now(UTC)
        prev = self._prev_hash()
        h = event_hash(prev, at, event, version, name, checksum, self.actor, self.host, detail)
        self._pending_hash = h
        # The chain head is kept in bascule.meta by the same statement, so that removing the newest
        # events (which leaves an intact but shorter chain) is detected too.
        return ("head AS (INSERT INTO bascule.meta (key, value) VALUES ('chain_head', %s) ON CONFLICT (key) "
                "DO UPDATE SET value = excluded.value RETURNING 1) "
                "INSERT INTO bascule.events (at, event, version, name, checksum, actor, host, bascule_version, "
                "detail, prev_hash, hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [h, at, event, version, name, checksum, self.actor, self.host, __version__, Jsonb(detail), prev, h])

    def _upsert_sql(self, version: str, fields: dict) -> tuple[str, list]:
        fields.setdefault("applied_by", self.actor)
        fields.setdefault("host", self.host)
        fields.setdefault("bascule_version", __version__)
        for col in fields:
            if col not in _MIGRATION_COLS:
                raise ValueError(f"unknown history column {col}")
        cols = ["version", *fields]
        sets = ", ".join(f"{c} = excluded.{c}" for c in fields)
        return (f"INSERT INTO bascule.migrations ({', '.join(cols)}, db_user) VALUES "
                f"({', '.join(['%s'] * len(cols))}, current_user) "
                f"ON CONFLICT (version) DO UPDATE SET {sets}, db_user = current_user",
                [version, *fields.values()])

    def event(self, event: str, version: str | None = None, name: str | None = None,
              checksum: str | None = None, detail: dict | None = None) -> None:
        q, params = self._event_sql(event, version, name, checksum, detail)
        self.conn.execute("WITH " + q, params)
        self._last_hash = self._pending_hash

    def upsert(self, version: str, **fields) -> None:
        q, params = self._upsert_sql(version, fields)
        self.conn.execute(q, params)

    def record(self, version: str, fields: dict, event: str, detail: dict | None = None) -> None:
        """Update the migration's row and append its event in one statement (one round trip)."""
        uq, uparams = self._upsert_sql(version, dict(fields))
        eq, eparams = self._event_sql(event, version, fields.get("name"), fields.get("checksum"), detail)
        self.conn.execute(f"WITH m AS ({uq} RETURNING 1), {eq}", uparams + eparams)
        self._last_hash = self._pending_hash

    def add_evidence(self, kind: str, version: str | None, checksum: str | None, passed: bool | None,
                     payload: dict) -> int:
        """Store evidence (verification snapshots and results, later rehearsals and approvals)."""
        from psycopg.types.json import Jsonb

        row = self.conn.execute(
            "INSERT INTO bascule.evidence (kind, version, checksum, passed, actor, host, bascule_version, payload) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            (kind, version, checksum, passed, self.actor, self.host, __version__,
             Jsonb(json.loads(json.dumps(payload, default=str))))).fetchone()
        return row[0]

    def latest_evidence(self, kind: str, version: str) -> dict | None:
        if not self.conn.execute("SELECT to_regclass('bascule.evidence') IS NOT NULL").fetchone()[0]:
            return None
        row = self.conn.execute(
            "SELECT id, at, checksum, passed, payload FROM bascule.evidence WHERE kind = %s AND version = %s "
            "ORDER BY id DESC LIMIT 1", (kind, version)).fetchone()
        if row is None:
            return None
        return {"id": row[0], "at": row[1], "checksum": row[2], "passed": row[3], "payload": row[4]}

    def set_progress(self, version: str, statements_done: int) -> None:
        self.conn.execute("UPDATE bascule.migrations SET statements_done = %s WHERE version = %s",
                          (statements_done, version))
