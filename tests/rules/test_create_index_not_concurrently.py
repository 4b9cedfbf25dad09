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
