"""B214 drop-generated-expression."""

import pytest
from _lint import fires, hits


@pytest.mark.parametrize("sql", [
    "ALTER TABLE orders ALTER COLUMN total DROP EXPRESSION;",
    "ALTER TABLE IF EXISTS app.orders ALTER total DROP EXPRESSION IF EXISTS;",
    "ALTER TABLE orders ADD COLUMN note text, ALTER COLUMN total DROP EXPRESSION;",
])
def test_fires_on_existing_table(sql):
    assert fires(sql, "B214")


@pytest.mark.parametrize("sql", [
    "CREATE TABLE orders (a int, total int GENERATED ALWAYS AS (a * 2) STORED);\n"
    "ALTER TABLE orders ALTER COLUMN total DROP EXPRESSION;",
    "ALTER TABLE orders ADD COLUMN total int GENERATED ALWAYS AS (a * 2) STORED;\n"
    "ALTER TABLE orders ALTER COLUMN total DROP EXPRESSION;",
    "ALTER TABLE orders ALTER COLUMN total SET EXPRESSION AS (a * 3);",
    "ALTER TABLE orders ALTER COLUMN total DROP DEFAULT;",
])
def test_does_not_fire(sql):
    assert not fires(sql, "B214")


def test_table_from_an_earlier_migration_counts():
    assert fires("ALTER TABLE t ALTER g DROP EXPRESSION;", "B214",
                 before=["CREATE TABLE t (a int, g int GENERATED ALWAYS AS (a + 1) STORED);"])


def test_message_and_position():
    f, = hits("SELECT 1;\nALTER TABLE orders ALTER COLUMN total DROP EXPRESSION;", "B214")
    assert (f.line, f.column) == (2, 1) and f.severity == "warning" and f.table == "orders"
    assert "orders.total" in f.message and "no longer computed" in f.message and "NULL" in f.message
    assert "PostgreSQL 13" not in f.message


def test_before_postgresql_13_the_statement_does_not_exist():
    f, = hits("ALTER TABLE orders ALTER COLUMN total DROP EXPRESSION;", "B214", pg_version=12)
    assert "PostgreSQL 13" in f.message


def test_suppression_with_reason():
    sql = "-- bascule:ignore B214 trigger computes it from 7.2 on\nALTER TABLE o ALTER t DROP EXPRESSION;"
    assert not fires(sql, "B214")
