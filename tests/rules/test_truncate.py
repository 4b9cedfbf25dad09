"""B301 truncate."""

import pytest
from _lint import fires, hits


@pytest.mark.parametrize("sql", [
    "TRUNCATE orders;",
    "TRUNCATE TABLE app.orders RESTART IDENTITY;",
    "TRUNCATE ONLY orders CASCADE;",
])
def test_fires_on_existing_table(sql):
    assert fires(sql, "B301")


@pytest.mark.parametrize("sql", [
    "CREATE TABLE staging (id bigint);\nINSERT INTO staging VALUES (1);\nTRUNCATE staging;",
    "CREATE TABLE copy AS SELECT * FROM orders;\nTRUNCATE copy;",
    "DELETE FROM orders WHERE id = 1;",
])
def test_does_not_fire(sql):
    assert not fires(sql, "B301")


def test_one_finding_per_table_at_its_name():
    fs = hits("SELECT 1;\nTRUNCATE orders,\n  order_items;", "B301")
    assert [(f.line, f.column, f.table) for f in fs] == [(2, 10, "orders"), (3, 3, "order_items")]
    f = fs[0]
    assert f.severity == "error" and f.category == "data-loss" and f.lock == "AccessExclusiveLock"
    assert "deletes every row of orders" in f.message and "CASCADE" not in f.message


def test_cascade_says_referencing_tables_are_emptied():
    f, = hits("TRUNCATE orders CASCADE;", "B301")
    assert "foreign key" in f.message and "CASCADE" in f.message


def test_table_from_an_earlier_migration_still_counts():
    assert fires("TRUNCATE t;", "B301", before=["CREATE TABLE t (a int);"])


def test_only_the_existing_table_of_a_list():
    fs = hits("CREATE TABLE tmp (a int);\nTRUNCATE tmp, orders;", "B301")
    assert [f.table for f in fs] == ["orders"]


def test_suppression_with_reason():
    assert not fires("-- bascule:ignore B301 cache table, rebuilt on start\nTRUNCATE cache;", "B301")
