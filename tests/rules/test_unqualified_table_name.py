"""B604 unqualified-table-name (opt-in)."""

import pytest
from _lint import fires, hits

ON = {"enabled": ["B604"]}


@pytest.mark.parametrize("sql", [
    "CREATE TABLE orders (id bigint);",
    "CREATE TABLE orders_copy AS SELECT * FROM app.orders;",
    "ALTER TABLE orders ADD COLUMN note text;",
    "ALTER TABLE IF EXISTS orders RENAME TO purchases;",
    "ALTER TABLE orders RENAME COLUMN a TO b;",
    "ALTER TABLE orders RENAME CONSTRAINT a TO b;",
    "ALTER TABLE orders SET SCHEMA archive;",
    "DROP TABLE orders;",
    "ALTER FOREIGN TABLE remote ADD COLUMN a int;",
])
def test_fires_when_enabled(sql):
    assert fires(sql, "B604", **ON)


@pytest.mark.parametrize("sql", [
    "CREATE TABLE app.orders (id bigint);",
    "CREATE TEMP TABLE scratch (id bigint);",
    "CREATE TEMPORARY TABLE scratch AS SELECT 1 AS a;",
    "ALTER TABLE app.orders ADD COLUMN note text;",
    "DROP TABLE IF EXISTS app.orders;",
    "CREATE INDEX i ON orders (a);",
    "CREATE VIEW v AS SELECT 1 AS a;",
    "ALTER VIEW v RENAME COLUMN a TO b;",
    "CREATE MATERIALIZED VIEW mv AS SELECT 1 AS a;",
    # the migration sets search_path itself, so it decides where names land
    "SET search_path TO app;\nCREATE TABLE orders (id bigint);\nALTER TABLE orders ADD COLUMN n text;",
])
def test_does_not_fire(sql):
    assert not fires(sql, "B604", **ON)


def test_opt_in_only():
    assert not fires("CREATE TABLE orders (id bigint);", "B604")


def test_search_path_set_later_does_not_cover_earlier_statements():
    fs = hits("CREATE TABLE a (id bigint);\nSET search_path TO app;\nCREATE TABLE b (id bigint);", "B604", **ON)
    assert [f.table for f in fs] == ["a"]


def test_message_position_and_severity():
    f, = hits("SELECT 1;\nALTER TABLE  orders ADD COLUMN note text;", "B604", **ON)
    assert (f.line, f.column) == (2, 14) and f.severity == "info" and f.table == "orders"
    assert "orders" in f.message and "search_path" in f.message


def test_each_table_of_a_drop_is_reported():
    fs = hits("DROP TABLE a, app.b, c;", "B604", **ON)
    assert [f.table for f in fs] == ["a", "c"]


def test_suppression_with_reason():
    sql = "-- bascule:ignore B604 single-schema database\nCREATE TABLE orders (id bigint);"
    assert not fires(sql, "B604", **ON)
