"""Small pure functions: transaction decisions by server version, backoff, redaction."""

from __future__ import annotations

import random
from pathlib import Path

from bascule.migration import Migration, Script, checksum
from bascule.runner import backoff_delay
from bascule.targets.connect import redact_url


def _migration(sql: str, transaction: str = "auto") -> Migration:
    return Migration(version="1", name="x", up=Script(Path("up.sql"), sql), down=None, checksum=checksum(sql),
                     layout="native", path=Path("."), transaction=transaction)


def test_enum_add_value_needs_autocommit_only_before_pg12():
    m = _migration("ALTER TYPE mood ADD VALUE 'ok';")
    assert m.runs_in_transaction(110000) is False
    assert m.runs_in_transaction(120000) is True
    assert m.runs_in_transaction(180000) is True


def test_concurrent_statements_force_step_mode_on_every_version():
    for sql in ("CREATE INDEX CONCURRENTLY i ON t (a);", "DROP INDEX CONCURRENTLY i;",
                "REINDEX INDEX CONCURRENTLY i;", "ALTER TABLE p DETACH PARTITION c CONCURRENTLY;",
                "VACUUM t;", "CREATE DATABASE x;"):
        assert _migration(sql).runs_in_transaction(180000) is False, sql
        assert _migration("SELECT 1;\n" + sql).runs_in_transaction(120000) is False, sql
    assert _migration("CREATE INDEX i ON t (a); ANALYZE t;").runs_in_transaction(180000) is True
    assert _migration("CREATE INDEX i ON t (a);", transaction="never").runs_in_transaction(180000) is False


def test_backoff_is_bounded_and_grows():
    rng = random.Random(7)
    for attempt in range(1, 12):
        cap = min(15.0, 0.5 * 2 ** (attempt - 1))
        samples = [backoff_delay(attempt, rng=rng) for _ in range(200)]
        assert all(0 <= s <= cap for s in samples)
        assert max(samples) > cap * 0.8  # full jitter uses the whole range


def test_redact_url():
    assert redact_url("postgresql://app:hunter2@db.example:5432/prod") == "postgresql://app:***@db.example:5432/prod"
    assert "hunter2" not in redact_url("postgresql://db/prod?user=app&password=hunter2")
    assert "hunter2" not in redact_url("host=db password=hunter2 dbname=prod")
    assert redact_url("postgresql://app@db/prod") == "postgresql://app@db/prod"
    assert "p@ss" not in redact_url("postgresql://app:p%40ss@db/prod")
