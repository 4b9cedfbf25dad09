"""B404 timestamp-without-time-zone."""

import pytest
from _lint import fires, hits


@pytest.mark.parametrize("sql", [
    "CREATE TABLE orders (created_at timestamp NOT NULL DEFAULT now());",
    "CREATE TABLE orders (created_at timestamp without time zone);",
    "CREATE TABLE orders (created_at timestamp(3));",
    "ALTER TABLE orders ADD COLUMN shipped_at timestamp;",
    "ALTER TABLE orders ALTER COLUMN created_at TYPE timestamp;",
])
def test_fires(sql):
    assert fires(sql, "B404")


@pytest.mark.parametrize("sql", [
    "CREATE TABLE orders (created_at timestamptz);",
    "CREATE TABLE orders (created_at timestamp with time zone);",
    "ALTER TABLE orders ALTER COLUMN created_at TYPE timestamptz USING created_at AT TIME ZONE 'UTC';",
    "CREATE TABLE orders (d date, t time, i interval);",
])
def test_does_not_fire(sql):
    assert not fires(sql, "B404")


def test_message_and_severity():
    f, = hits("ALTER TABLE orders ADD COLUMN shipped_at timestamp;", "B404")
    assert f.severity == "warning" and f.table == "orders" and f.column == 42
    assert "shipped_at" in f.message and "timestamptz" in f.message


def test_suppression_with_reason():
    sql = "CREATE TABLE shops (opens_at timestamp); -- bascule:ignore B404 local wall-clock time by design"
    assert not fires(sql, "B404")
