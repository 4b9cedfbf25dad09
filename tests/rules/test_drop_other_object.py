"""B211 drop-other-object."""

import pytest
from _lint import fires, hits


@pytest.mark.parametrize("sql", [
    "DROP SEQUENCE order_numbers;",
    "DROP DOMAIN email_address;",
    "DROP TYPE app.mood;",
    "DROP CAST (text AS money);",
    "DROP EXTENSION hstore;",
    "DROP VIEW active_users;",
    "DROP MATERIALIZED VIEW daily_totals;",
    "DROP FUNCTION set_updated_at();",
    "DROP PROCEDURE archive_orders(int);",
    "DROP ROUTINE cleanup;",
    "DROP AGGREGATE array_cat_agg(anycompatiblearray);",
    "DROP TRIGGER orders_audit ON orders;",
    "DROP COLLATION german;",
    "DROP TEXT SEARCH CONFIGURATION app_search;",
    "DROP SERVER legacy_db;",
])
def test_fires_on_existing_objects(sql):
    assert fires(sql, "B211")


@pytest.mark.parametrize("sql", [
    # created earlier in the same migration: nothing uses it yet
    "CREATE VIEW v AS SELECT 1 AS a;\nDROP VIEW v;",
    "CREATE SEQUENCE app.s;\nDROP SEQUENCE app.s;",
    "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'select 1';\nDROP FUNCTION f();",
    "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'select 1';\nDROP ROUTINE f;",
    "CREATE TYPE mood AS ENUM ('ok');\nDROP TYPE mood;",
    "CREATE DOMAIN pos AS int CHECK (VALUE > 0);\nDROP DOMAIN pos;",
    "CREATE MATERIALIZED VIEW mv AS SELECT 1 AS a;\nDROP MATERIALIZED VIEW mv;",
    "CREATE EXTENSION pg_trgm;\nDROP EXTENSION pg_trgm;",
    "CREATE CAST (text AS money) WITH INOUT;\nDROP CAST (text AS money);",
    "CREATE SEQUENCE s1;\nALTER SEQUENCE s1 RENAME TO s2;\nDROP SEQUENCE s2;",
    # a trigger on a table created in the same migration
    "CREATE TABLE t (a int);\nCREATE TRIGGER trg BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION f();\n"
    "DROP TRIGGER trg ON t;",
    "CREATE TABLE t (a int);\nDROP TRIGGER IF EXISTS trg ON t;",
    # covered by other rules
    "DROP TABLE t;",
    "DROP INDEX i;",
    "DROP SCHEMA s;",
    "DROP POLICY p ON t;",
])
def test_does_not_fire(sql):
    assert not fires(sql, "B211")


def test_create_or_replace_does_not_prove_the_object_is_new():
    # OR REPLACE / IF NOT EXISTS may have found the object already there, in use
    assert fires("CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS 'select 1';\nDROP FUNCTION f;", "B211")
    assert fires("CREATE EXTENSION IF NOT EXISTS pgcrypto;\nDROP EXTENSION pgcrypto;", "B211")


def test_object_from_an_earlier_migration_counts():
    assert fires("DROP VIEW v;", "B211", before=["CREATE VIEW v AS SELECT 1 AS a;"])


def test_message_severity_and_position():
    f, = hits("SELECT 1;\nDROP VIEW reporting.active_users;", "B211")
    assert (f.line, f.column) == (2, 1) and f.severity == "warning" and f.category == "compatibility"
    assert f.table == "reporting.active_users" and "DROP VIEW reporting.active_users" in f.message
    assert "fails" in f.message


def test_type_location_points_at_the_name():
    f, = hits("DROP TYPE  mood;", "B211")
    assert (f.line, f.column) == (1, 12)


def test_each_object_of_a_drop_is_reported():
    fs = hits("CREATE SEQUENCE tmp;\nDROP SEQUENCE tmp, order_numbers, app.invoice_numbers;", "B211")
    assert [f.table for f in fs] == ["order_numbers", "app.invoice_numbers"]


def test_cascade_is_an_error_and_says_what_goes_with_it():
    f, = hits("DROP EXTENSION postgis CASCADE;", "B211")
    assert f.severity == "error" and "CASCADE" in f.message and "columns" in f.message
    f, = hits("DROP TYPE mood CASCADE;", "B211")
    assert f.severity == "error" and "columns of this type" in f.message
    f, = hits("DROP FUNCTION f() CASCADE;", "B211")
    assert f.severity == "error" and "depends on it" in f.message


def test_materialized_view_loses_its_rows():
    f, = hits("DROP MATERIALIZED VIEW daily_totals;", "B211")
    assert "rows" in f.message


def test_trigger_names_its_table():
    f, = hits("DROP TRIGGER orders_audit ON app.orders;", "B211")
    assert f.table == "app.orders" and "orders_audit" in f.message and "silently" in f.message


def test_suppression_with_reason():
    assert not fires("-- bascule:ignore B211 view unused since 4.0\nDROP VIEW old_report;", "B211")


@pytest.mark.parametrize("sql", [
    # dropped and created again in the same transaction (coder, lemmy): other sessions never see it missing
    "DROP VIEW template_with_users;\nALTER TABLE templates ADD COLUMN b int;\n"
    "CREATE VIEW template_with_users AS SELECT * FROM templates;",
    "DROP VIEW v;\nCREATE OR REPLACE VIEW v AS SELECT 1 AS a;",
    "DROP MATERIALIZED VIEW mv;\nCREATE MATERIALIZED VIEW mv AS SELECT 1 AS a;",
    "DROP FUNCTION f(int);\nCREATE FUNCTION f(bigint) RETURNS int LANGUAGE sql AS 'select 1';",
    "DROP TRIGGER trg ON orders;\nCREATE TRIGGER trg AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION g();",
])
def test_recreated_in_the_same_transaction_does_not_fire(sql):
    assert not fires(sql, "B211")


@pytest.mark.parametrize("sql, kw", [
    # outside a transaction there is a moment without it
    ("DROP VIEW v;\nCREATE VIEW v AS SELECT 1 AS a;", {"transaction": "never"}),
    # CASCADE also drops dependents the migration may not recreate
    ("DROP VIEW v CASCADE;\nCREATE VIEW v AS SELECT 1 AS a;", {}),
    # WITH NO DATA: selecting from it fails until it is refreshed
    ("DROP MATERIALIZED VIEW mv;\nCREATE MATERIALIZED VIEW mv AS SELECT 1 AS a WITH NO DATA;", {}),
    # created before the drop is not a re-creation; another name neither
    ("CREATE OR REPLACE VIEW v AS SELECT 1 AS a;\nDROP VIEW v;", {}),
    ("DROP VIEW v;\nCREATE VIEW v2 AS SELECT 1 AS a;", {}),
    ("DROP TRIGGER trg ON orders;\nCREATE TRIGGER trg AFTER INSERT ON invoices FOR EACH ROW EXECUTE FUNCTION g();", {}),
])
def test_recreation_that_still_fires(sql, kw):
    assert fires(sql, "B211", **kw)
