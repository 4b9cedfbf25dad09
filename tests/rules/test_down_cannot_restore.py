"""B303 down-cannot-restore."""

import pytest

from bascule.analyze import lint_sql


def b303(up, down, **kw):
    return [f for f in lint_sql(up, down=down, **kw).findings if f.code == "B303" and not f.suppressed]


def test_dropped_column_not_recreated_is_an_error():
    f, = b303("SELECT 1;\nALTER TABLE orders DROP COLUMN legacy_code;", "SELECT 1;")
    assert f.severity == "error" and f.table == "orders" and f.category == "data-loss"
    assert "down does not recreate column legacy_code of orders" in f.message
    assert (f.path, f.line, f.column) == ("migration.sql", 2, 1)


def test_dropped_column_recreated_empty_is_a_warning():
    f, = b303("ALTER TABLE orders DROP COLUMN legacy_code;", "ALTER TABLE orders ADD COLUMN legacy_code text;")
    assert f.severity == "warning" and "cannot come back" in f.message and "legacy_code" in f.message


def test_dropped_table_not_recreated_is_an_error():
    f, = b303("DROP TABLE coupons;", "CREATE TABLE other (a int);")
    assert f.severity == "error" and "down does not recreate table coupons" in f.message


def test_dropped_table_recreated_empty_is_a_warning():
    f, = b303("DROP TABLE IF EXISTS app.coupons;", "CREATE TABLE app.coupons (id bigint, code text);")
    assert f.severity == "warning" and "empty" in f.message and f.table == "app.coupons"


def test_each_dropped_table_of_a_list():
    fs = b303("DROP TABLE a, b;", "CREATE TABLE a (x int);")
    assert sorted((f.table, f.severity) for f in fs) == [("a", "warning"), ("b", "error")]


def test_truncate_is_a_warning():
    f, = b303("TRUNCATE audit_log;", "SELECT 1;")
    assert f.severity == "warning" and "audit_log" in f.message


@pytest.mark.parametrize("up,down", [
    # the data is kept aside and put back
    ("CREATE TABLE keep AS SELECT id, code FROM orders;\nALTER TABLE orders DROP COLUMN code;",
     "ALTER TABLE orders ADD COLUMN code text;\nUPDATE orders o SET code = k.code FROM keep k WHERE k.id = o.id;"),
    ("DROP TABLE coupons;", "CREATE TABLE coupons AS SELECT * FROM coupons_backup;"),
    ("DROP TABLE coupons;", "CREATE TABLE coupons (id int);\nINSERT INTO coupons SELECT * FROM coupons_backup;"),
    ("TRUNCATE cache;", "INSERT INTO cache SELECT * FROM cache_seed;"),
    ("ALTER TABLE coupons RENAME TO coupons_retired;", "ALTER TABLE coupons_retired RENAME TO coupons;"),
    # created or added by this same up
    ("CREATE TABLE tmp (a int);\nDROP TABLE tmp;", "SELECT 1;"),
    ("ALTER TABLE orders ADD COLUMN tmp int;\nALTER TABLE orders DROP COLUMN tmp;", "SELECT 1;"),
    # nothing destroyed
    ("ALTER TABLE orders ADD COLUMN note text;", "ALTER TABLE orders DROP COLUMN note;"),
    ("DROP INDEX orders_idx;", "SELECT 1;"),
    ("DROP MATERIALIZED VIEW totals;", "SELECT 1;"),
    # explicitly irreversible
    ("DROP TABLE coupons;", "DO $$ BEGIN RAISE EXCEPTION 'irreversible: coupons were deleted'; END $$;"),
])
def test_does_not_fire(up, down):
    assert not b303(up, down)


def test_no_down_is_left_to_b304():
    r = lint_sql("DROP TABLE coupons;", expects_down=True)
    codes = {f.code for f in r.findings}
    assert "B303" not in codes and "B304" in codes


def test_table_created_in_an_earlier_migration_counts():
    f, = b303("DROP TABLE t;", "SELECT 1;", before=["CREATE TABLE t (a int);"])
    assert f.severity == "error"


def test_suppression_on_the_up_statement():
    up = "-- bascule:ignore B303 column unused since 2021, no data worth keeping\nALTER TABLE orders DROP COLUMN x;"
    assert not b303(up, "SELECT 1;")
