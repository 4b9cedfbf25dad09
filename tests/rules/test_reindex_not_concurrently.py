"""B103 reindex-not-concurrently."""

import pytest
from _lint import fires, hits

BEFORE = ["CREATE TABLE orders (id bigint, customer_id bigint);\nCREATE INDEX orders_customer_idx ON orders (customer_id);"]


@pytest.mark.parametrize("sql", [
    "REINDEX INDEX orders_customer_idx;",
    "REINDEX TABLE orders;",
    "REINDEX (VERBOSE) TABLE orders;",
    "REINDEX (CONCURRENTLY false) TABLE orders;",
    "REINDEX SCHEMA app;",
    "REINDEX DATABASE;",
])
def test_fires(sql):
    assert fires(sql, "B103", before=BEFORE)


@pytest.mark.parametrize("sql", [
    "REINDEX INDEX CONCURRENTLY orders_customer_idx;",
    "REINDEX TABLE CONCURRENTLY orders;",
    "REINDEX (CONCURRENTLY) TABLE orders;",
    "REINDEX (CONCURRENTLY, VERBOSE) SCHEMA app;",
    # created in this migration: empty and unused
    "CREATE TABLE t (a int);\nCREATE INDEX t_a ON t (a);\nREINDEX TABLE t;",
    "CREATE TABLE t (a int);\nCREATE INDEX t_a ON t (a);\nREINDEX INDEX t_a;",
])
def test_does_not_fire(sql):
    assert not fires(sql, "B103", before=BEFORE)


def test_index_reindex_names_its_table():
    f, = hits("\n\nREINDEX INDEX orders_customer_idx;", "B103", before=BEFORE)
    assert (f.line, f.column) == (3, 1)
    assert f.table == "orders" and "orders_customer_idx" in f.message and "orders" in f.message
    assert f.severity == "error" and f.lock == "ShareLock"
    assert "CONCURRENTLY" in f.fix and "before 12" not in f.fix


def test_before_postgresql_12_the_fix_is_a_swap():
    f, = hits("REINDEX TABLE orders;", "B103", before=BEFORE, pg_version=11)
    assert "before 12" in f.fix and "CREATE INDEX CONCURRENTLY" in f.fix


def test_schema_reindex_has_no_single_table():
    f, = hits("REINDEX SCHEMA app;", "B103")
    assert f.table is None and "SCHEMA app" in f.message


def test_suppression_with_reason():
    sql = "-- bascule:ignore B103 corrupted index, maintenance window\nREINDEX TABLE orders;"
    assert not fires(sql, "B103", before=BEFORE)
