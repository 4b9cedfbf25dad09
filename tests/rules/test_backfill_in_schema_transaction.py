"""B305 backfill-in-schema-transaction."""

import pytest
from _lint import fires, hits


@pytest.mark.parametrize("sql", [
    "ALTER TABLE orders ADD COLUMN region text;\nUPDATE orders SET region = 'eu';",
    "ALTER TABLE orders ADD COLUMN region text;\nUPDATE orders SET region = 'eu' WHERE id < 1000;",
    "UPDATE orders SET region = 'eu' WHERE region IS NULL;\nALTER TABLE orders ALTER COLUMN region SET NOT NULL;",
    "DELETE FROM orders WHERE id < 10;\nCREATE INDEX orders_region_idx ON orders (region);",
    "ALTER TABLE orders ADD COLUMN total numeric;\nINSERT INTO orders (id, total) SELECT id, 0 FROM legacy;",
])
def test_fires(sql):
    assert fires(sql, "B305")


@pytest.mark.parametrize("sql", [
    # different tables
    "ALTER TABLE orders ADD COLUMN region text;\nUPDATE customers SET region = 'eu';",
    # a table created in the same migration is empty and unused
    "CREATE TABLE orders (id bigint);\nINSERT INTO orders SELECT id FROM legacy;\nALTER TABLE orders ADD COLUMN b int;",
    # seed rows are not a backfill
    "ALTER TABLE colors ADD COLUMN hex text;\nINSERT INTO colors (name, hex) VALUES ('red', '#f00');",
    # locks that do not block writes
    "UPDATE orders SET a = 1 WHERE id = 1;\nALTER TABLE orders VALIDATE CONSTRAINT orders_a_check;",
    "UPDATE orders SET a = 1 WHERE id = 1;\nALTER TABLE orders ALTER COLUMN a SET STATISTICS 500;",
    # not one transaction: each statement commits on its own
    "UPDATE orders SET a = 1 WHERE id = 1;\nCREATE INDEX CONCURRENTLY i ON orders (a);",
])
def test_does_not_fire(sql):
    assert not fires(sql, "B305")


def test_backfill_after_schema_change():
    f, = hits("ALTER TABLE orders ADD COLUMN region text;\n\nUPDATE orders SET region = 'eu';", "B305")
    assert (f.line, f.column) == (3, 8)
    assert f.severity == "warning" and f.table == "orders" and f.lock == "AccessExclusiveLock"
    assert "line 1" in f.message and "ACCESS EXCLUSIVE" in f.message and "reads and writes" in f.message


def test_schema_change_after_backfill_is_reported_on_the_schema_change():
    f, = hits("UPDATE orders SET a = 1 WHERE a IS NULL;\nCREATE INDEX i ON orders (a);", "B305")
    assert f.line == 2 and f.lock == "ShareLock" and "UPDATE on line 1" in f.message


def test_transaction_never():
    assert not fires("ALTER TABLE t ADD COLUMN b int;\nUPDATE t SET b = 1;", "B305", transaction="never")


def test_table_from_an_earlier_migration_still_counts():
    assert fires("ALTER TABLE t ADD COLUMN b int;\nUPDATE t SET b = 1;", "B305", before=["CREATE TABLE t (a int);"])


def test_schema_qualified_and_bare_names_match():
    assert fires("ALTER TABLE app.t ADD COLUMN b int;\nUPDATE t SET b = 1;", "B305")


def test_suppression_with_reason():
    sql = "ALTER TABLE t ADD COLUMN b int;\n-- bascule:ignore B305 t has 20 rows\nUPDATE t SET b = 1;"
    assert not fires(sql, "B305")


def test_reported_once_per_table_and_direction():
    sql = ("ALTER TABLE t ADD COLUMN b int;\nUPDATE t SET b = 1 WHERE id < 100;\nUPDATE t SET b = 1 WHERE id >= 100;\n"
           "ALTER TABLE t ALTER COLUMN b SET NOT NULL;\nUPDATE u SET a = 1;")
    assert [f.line for f in hits(sql, "B305")] == [2, 4]


def test_table_locked_explicitly_before_the_backfill():
    # sourcegraph: LOCK TABLE, de-duplicate, then ADD UNIQUE; the backfill already ran under ACCESS EXCLUSIVE
    # (B117 says so), and the ALTER TABLE waits for no lock it does not hold
    sql = ("LOCK TABLE external_service_repos;\nDELETE FROM external_service_repos WHERE id IN (SELECT 1);\n"
           "ALTER TABLE external_service_repos ADD CONSTRAINT u UNIQUE (repo_id, external_service_id);")
    assert not fires(sql, "B305")
    assert fires(sql, "B117")


def test_lock_on_another_table_does_not_hide_it():
    sql = "LOCK TABLE other;\nUPDATE t SET b = 1 WHERE a > 0;\nALTER TABLE t ADD CONSTRAINT u UNIQUE (b);"
    assert fires(sql, "B305")
