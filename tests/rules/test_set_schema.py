"""B215 set-schema."""

import pytest
from _lint import fires, hits


@pytest.mark.parametrize("sql,severity", [
    ("ALTER TABLE orders SET SCHEMA archive;", "error"),
    ("ALTER TABLE IF EXISTS app.orders SET SCHEMA archive;", "error"),
    ("ALTER FOREIGN TABLE remote_orders SET SCHEMA archive;", "error"),
    ("ALTER VIEW active_orders SET SCHEMA reporting;", "warning"),
    ("ALTER MATERIALIZED VIEW totals SET SCHEMA reporting;", "warning"),
    ("ALTER SEQUENCE order_numbers SET SCHEMA billing;", "warning"),
    ("ALTER TYPE mood SET SCHEMA app;", "warning"),
    ("ALTER DOMAIN email SET SCHEMA app;", "warning"),
    ("ALTER FUNCTION total(int) SET SCHEMA billing;", "warning"),
    ("ALTER EXTENSION pg_trgm SET SCHEMA extensions;", "warning"),
])
def test_fires(sql, severity):
    f, = hits(sql, "B215")
    assert f.severity == severity


@pytest.mark.parametrize("sql", [
    "CREATE TABLE staging (a int);\nALTER TABLE staging SET SCHEMA app;",
    "CREATE VIEW v AS SELECT 1 AS a;\nALTER VIEW v SET SCHEMA reporting;",
    "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'select 1';\nALTER FUNCTION f() SET SCHEMA app;",
    "CREATE TYPE mood AS ENUM ('ok');\nALTER TYPE mood SET SCHEMA app;",
    "CREATE EXTENSION pg_trgm;\nALTER EXTENSION pg_trgm SET SCHEMA extensions;",
    # the old name stays reachable through a view created in the same migration
    "ALTER TABLE orders SET SCHEMA archive;\nCREATE VIEW orders AS SELECT * FROM archive.orders;",
])
def test_does_not_fire(sql):
    assert not fires(sql, "B215")


def test_table_from_an_earlier_migration_counts():
    assert fires("ALTER TABLE t SET SCHEMA archive;", "B215", before=["CREATE TABLE t (a int);"])


def test_table_message_lock_and_position():
    f, = hits("SELECT 1;\nALTER TABLE app.orders SET SCHEMA archive;", "B215")
    assert (f.line, f.column) == (2, 13) and f.table == "app.orders" and f.lock == "AccessExclusiveLock"
    assert "SET SCHEMA archive" in f.message and "does not exist" in f.message and "ACCESS EXCLUSIVE" in f.message


def test_extension_message():
    f, = hits("ALTER EXTENSION postgis SET SCHEMA gis;", "B215")
    assert "every function, type and operator" in f.message and f.table is None


def test_suppression_with_reason():
    assert not fires("-- bascule:ignore B215 every query is unqualified, search_path has both\n"
                     "ALTER TYPE mood SET SCHEMA app;", "B215")
