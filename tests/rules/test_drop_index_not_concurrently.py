"""B102 drop-index-not-concurrently."""

import pytest
from _lint import fires, hits

BEFORE = ["CREATE TABLE orders (id bigint, customer_id bigint);\nCREATE INDEX orders_customer_idx ON orders (customer_id);"]


@pytest.mark.parametrize("sql", [
    "DROP INDEX orders_customer_idx;",
    "DROP INDEX IF EXISTS app.orders_customer_idx;",
    "DROP INDEX orders_customer_idx CASCADE;",
])
def test_fires_on_index_of_existing_table(sql):
    assert fires(sql, "B102", before=BEFORE)


@pytest.mark.parametrize("sql", [
    "DROP INDEX CONCURRENTLY orders_customer_idx;",
    "DROP INDEX CONCURRENTLY IF EXISTS orders_customer_idx;",
    "DROP TABLE orders;",
    # the table was created in this migration: empty and unused
    "CREATE TABLE t (a int);\nCREATE INDEX t_a ON t (a);\nDROP INDEX t_a;",
])
def test_does_not_fire(sql):
    assert not fires(sql, "B102", before=BEFORE)


def test_names_the_table_when_known():
    f, = hits("SELECT 1;\n  DROP INDEX orders_customer_idx;", "B102", before=BEFORE)
    assert (f.line, f.column) == (2, 3)
    assert f.table == "orders" and "orders" in f.message and "orders_customer_idx" in f.message
    assert f.severity == "warning" and f.lock == "AccessExclusiveLock" and f.fixable


def test_unknown_index_still_fires_without_a_table():
    f, = hits("DROP INDEX mystery_idx;", "B102")
    assert f.table is None and "mystery_idx" in f.message and "its table" in f.message


def test_one_finding_per_index():
    fs = hits("DROP INDEX orders_customer_idx, other_idx;", "B102", before=BEFORE)
    assert [f.table for f in fs] == ["orders", None]


def test_suppression_with_reason():
    sql = "-- bascule:ignore B102 lookup table, 12 rows\nDROP INDEX orders_customer_idx;"
    assert not fires(sql, "B102", before=BEFORE)


@pytest.mark.parametrize("sql", ["DROP INDEX a_idx, b_idx;", "DROP INDEX a_idx CASCADE;"])
def test_shapes_fix_cannot_rewrite_are_not_fixable(sql):
    assert all(not f.fixable for f in hits(sql, "B102"))


def test_partitioned_table_is_not_fixable():
    before = ["CREATE TABLE ev (id bigint, ts timestamptz NOT NULL) PARTITION BY RANGE (ts)"] + ['CREATE INDEX ev_id ON ev (id)']
    f, = hits('DROP INDEX ev_id;', 'B102', before=before)
    assert f.fixable is False and "ev is partitioned" in f.notes[0]
