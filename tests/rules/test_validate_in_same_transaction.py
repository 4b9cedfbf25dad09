"""B125 validate-in-same-transaction."""

import pytest
from _lint import fires, hits

SCHEMA = ["CREATE TABLE customers (id bigint PRIMARY KEY);"
          "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, total numeric);"]
ADD_FK = "ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers NOT VALID;"
VALIDATE_FK = "ALTER TABLE orders VALIDATE CONSTRAINT orders_customer_fk;"


@pytest.mark.parametrize("sql", [
    ADD_FK + "\n" + VALIDATE_FK,
    "ALTER TABLE orders ADD CONSTRAINT total_positive CHECK (total >= 0) NOT VALID;\n"
    "ALTER TABLE orders VALIDATE CONSTRAINT total_positive;",
    # any earlier lock stronger than SHARE UPDATE EXCLUSIVE on the table
    "ALTER TABLE orders ADD COLUMN note text;\n" + VALIDATE_FK,
    "CREATE INDEX orders_total_idx ON orders (total);\n" + VALIDATE_FK,  # SHARE
    "LOCK TABLE orders IN EXCLUSIVE MODE;\n" + VALIDATE_FK,
    "ALTER TABLE app.orders ADD COLUMN note text;\n" + VALIDATE_FK,  # schema-qualified once
    # the same ALTER TABLE adds and validates
    "ALTER TABLE orders ADD CONSTRAINT total_positive CHECK (total >= 0) NOT VALID, "
    "VALIDATE CONSTRAINT total_positive;",
])
def test_fires(sql):
    assert fires(sql, "B125", before=SCHEMA)


@pytest.mark.parametrize("sql", [
    VALIDATE_FK,  # alone in its migration
    "ALTER TABLE orders SET (fillfactor = 90);\n" + VALIDATE_FK,  # SHARE UPDATE EXCLUSIVE is what VALIDATE takes
    "CREATE INDEX CONCURRENTLY orders_total_idx ON orders (total);\n" + VALIDATE_FK,  # not in a transaction
    "ALTER TABLE customers ADD COLUMN note text;\n" + VALIDATE_FK,  # another table
    "UPDATE orders SET total = 0 WHERE total IS NULL;\n" + VALIDATE_FK,  # ROW EXCLUSIVE
    VALIDATE_FK + "\nALTER TABLE orders ADD COLUMN note text;",  # the lock comes after
])
def test_does_not_fire(sql):
    assert not fires(sql, "B125", before=SCHEMA)


def test_not_when_each_statement_commits_on_its_own():
    assert not fires(ADD_FK + "\n" + VALIDATE_FK, "B125", before=SCHEMA, transaction="never")


def test_not_on_a_table_created_in_the_same_migration():
    sql = ("CREATE TABLE items (order_id bigint);\n"
           "ALTER TABLE items ADD CONSTRAINT items_order_fk FOREIGN KEY (order_id) REFERENCES orders NOT VALID;\n"
           "ALTER TABLE items VALIDATE CONSTRAINT items_order_fk;")
    assert not fires(sql, "B125", before=SCHEMA)


def test_message_position_lock_and_severity():
    f, = hits("SELECT 1;\n" + ADD_FK + "\n\n" + VALIDATE_FK, "B125", before=SCHEMA)
    assert (f.line, f.column) == (4, 1) and f.severity == "error" and f.table == "orders"
    assert f.lock == "ShareRowExclusiveLock" and "SHARE ROW EXCLUSIVE on orders since line 2" in f.message
    assert "orders_customer_fk was added NOT VALID at line 2" in f.message and "writes of orders wait" in f.message
    assert "separate transaction" in f.fix


def test_reports_the_strongest_lock_held():
    f, = hits(ADD_FK + "\nALTER TABLE orders ADD COLUMN note text;\n" + VALIDATE_FK, "B125", before=SCHEMA)
    assert f.lock == "AccessExclusiveLock" and "since line 2" in f.message and "reads and writes" in f.message


def test_unknown_tables_still_count():
    assert fires("ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID;\nALTER TABLE t VALIDATE CONSTRAINT c;", "B125")


def test_suppression_with_reason():
    sql = (ADD_FK + "\n-- bascule:ignore B125 orders has 200 rows\n" + VALIDATE_FK)
    assert not fires(sql, "B125", before=SCHEMA)
