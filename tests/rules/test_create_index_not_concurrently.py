"""B101 create-index-not-concurrently."""

import pytest
from _lint import fires, hits


@pytest.mark.parametrize("sql", [
    "CREATE INDEX users_email_idx ON users (email);",
    "CREATE UNIQUE INDEX ON app.users (lower(email));",
    "CREATE INDEX IF NOT EXISTS i ON t USING gin (doc);",
])
def test_fires_on_existing_table(sql):
    assert fires(sql, "B101")


@pytest.mark.parametrize("sql", [
    "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);",
    # a table created in the same migration is empty and unused: no lock concern
    "CREATE TABLE users (id bigint, email text);\nCREATE INDEX users_email_idx ON users (email);",
])
def test_does_not_fire(sql):
    assert not fires(sql, "B101")


def test_position_message_and_lock():
    f, = hits("SELECT 1;\n\n  CREATE INDEX i ON orders (customer_id);", "B101")
    assert (f.line, f.column) == (3, 3)
    assert "orders" in f.message and f.lock == "ShareLock" and f.severity == "error" and f.fixable


def test_table_created_in_an_earlier_migration_still_counts():
    assert fires("CREATE INDEX i ON t (a);", "B101", before=["CREATE TABLE t (a int);"])


def test_suppression_with_reason():
    sql = "-- bascule:ignore B101 forty rows, lookup table\nCREATE INDEX i ON colors (name);"
    assert not fires(sql, "B101")


PARTITIONED = ["CREATE TABLE ev (id bigint, ts timestamptz NOT NULL, cust_id bigint) PARTITION BY RANGE (ts)",
               "CREATE TABLE ev_2024 PARTITION OF ev FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')"]


def test_partitioned_table_is_not_fixable_and_says_what_to_do():
    """PostgreSQL refuses CREATE INDEX CONCURRENTLY on a partitioned table: --fix must not write it."""
    f, = hits("CREATE INDEX ev_ts_idx ON ev (ts);", "B101", before=PARTITIONED)
    assert f.fixable is False and "ON ONLY ev" in f.notes[0] and "ATTACH PARTITION" in f.notes[0]
    part, = hits("CREATE INDEX ev_2024_ts ON ev_2024 (ts);", "B101", before=PARTITIONED)
    assert part.fixable is True  # a partition is a plain table
