"""B212 rename-other-object."""

import pytest
from _lint import fires, hits


@pytest.mark.parametrize("sql,severity", [
    ("ALTER SCHEMA billing RENAME TO invoicing;", "warning"),
    ("ALTER SEQUENCE order_numbers RENAME TO order_ids;", "warning"),
    ("ALTER FUNCTION total(int) RENAME TO order_total;", "warning"),
    ("ALTER PROCEDURE archive RENAME TO archive_orders;", "warning"),
    ("ALTER TYPE mood RENAME TO feeling;", "warning"),
    ("ALTER DOMAIN email RENAME TO email_address;", "warning"),
    ("ALTER TYPE address RENAME ATTRIBUTE zip TO postcode;", "warning"),
    ("ALTER INDEX orders_idx RENAME TO orders_customer_idx;", "info"),
    ("ALTER TABLE orders RENAME CONSTRAINT orders_check TO orders_amount_check;", "info"),
    ("ALTER DOMAIN email RENAME CONSTRAINT email_check TO email_format;", "info"),
    ("ALTER TRIGGER audit ON orders RENAME TO orders_audit;", "info"),
    ("ALTER POLICY p ON orders RENAME TO orders_owner;", "info"),
])
def test_fires_with_severity_by_kind(sql, severity):
    f, = hits(sql, "B212")
    assert f.severity == severity and f.category == "compatibility"


@pytest.mark.parametrize("sql", [
    # tables, views and columns: B202 and B201
    "ALTER TABLE t RENAME TO t2;",
    "ALTER VIEW v RENAME TO v2;",
    "ALTER MATERIALIZED VIEW mv RENAME TO mv2;",
    "ALTER TABLE t RENAME COLUMN a TO b;",
    "ALTER VIEW v RENAME COLUMN a TO b;",
    # enum values: B408
    "ALTER TYPE mood RENAME VALUE 'sad' TO 'blue';",
    # created earlier in the same migration
    "CREATE INDEX i ON t (a);\nALTER INDEX i RENAME TO t_a_idx;",
    "CREATE INDEX i ON t (a);\nALTER INDEX i RENAME TO j;\nALTER INDEX j RENAME TO k;",
    "CREATE SEQUENCE s;\nALTER SEQUENCE s RENAME TO s2;",
    "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'select 1';\nALTER FUNCTION f RENAME TO g;",
    "CREATE SCHEMA billing;\nALTER SCHEMA billing RENAME TO invoicing;",
    "CREATE TYPE address AS (zip text);\nALTER TYPE address RENAME ATTRIBUTE zip TO postcode;",
    "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID;\nALTER TABLE t RENAME CONSTRAINT c TO t_a_check;",
    # constraints, indexes and triggers of a table created in the same migration
    "CREATE TABLE t (a int CONSTRAINT c CHECK (a > 0));\nALTER TABLE t RENAME CONSTRAINT c TO t_a_check;",
    "CREATE TABLE t (a int);\nCREATE INDEX IF NOT EXISTS i ON t (a);\nALTER INDEX i RENAME TO t_a_idx;",
])
def test_does_not_fire(sql):
    assert not fires(sql, "B212")


def test_index_of_a_table_from_an_earlier_migration_counts():
    assert fires("ALTER INDEX i RENAME TO t_a_idx;", "B212", before=["CREATE TABLE t (a int);\nCREATE INDEX i ON t (a);"])


def test_schema_message():
    f, = hits("SELECT 1;\nALTER SCHEMA billing RENAME TO invoicing;", "B212")
    assert (f.line, f.column) == (2, 1)
    assert "RENAME SCHEMA billing TO invoicing" in f.message and "search_path" in f.message


def test_constraint_names_its_table_and_on_conflict():
    f, = hits("ALTER TABLE app.orders RENAME CONSTRAINT a TO b;", "B212")
    assert f.table == "app.orders" and "ON CONFLICT ON CONSTRAINT" in f.message


def test_sequence_location_points_at_the_name():
    f, = hits("ALTER SEQUENCE  ids RENAME TO order_ids;", "B212")
    assert (f.line, f.column) == (1, 17) and "nextval" in f.message


def test_suppression_with_reason():
    assert not fires("-- bascule:ignore B212 no code names this index\nALTER INDEX i RENAME TO j;", "B212")
