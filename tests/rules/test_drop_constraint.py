"""B213 drop-constraint."""

import pytest
from _lint import fires, hits

from bascule.analyze import lint_sql

SCHEMA = ["CREATE TABLE customers (id bigint PRIMARY KEY, email text UNIQUE);"
          "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint REFERENCES customers,"
          " total numeric CONSTRAINT total_positive CHECK (total >= 0),"
          " CONSTRAINT orders_ref_key UNIQUE (customer_id, id));"]


@pytest.mark.parametrize("sql", [
    "ALTER TABLE orders DROP CONSTRAINT total_positive;",
    "ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_customer_id_fkey;",
    "ALTER TABLE customers DROP CONSTRAINT customers_pkey CASCADE;",
    "ALTER TABLE somewhere DROP CONSTRAINT c;",  # unknown table: still a dropped guarantee
])
def test_fires(sql):
    assert fires(sql, "B213", before=SCHEMA)


@pytest.mark.parametrize("sql", [
    # created in the same migration: nothing relies on it yet
    "CREATE TABLE t (a int CONSTRAINT a_pos CHECK (a > 0));\nALTER TABLE t DROP CONSTRAINT a_pos;",
    # redefined under the same name in the same transaction
    "ALTER TABLE orders DROP CONSTRAINT total_positive;\n"
    "ALTER TABLE orders ADD CONSTRAINT total_positive CHECK (total >= 0 AND total < 1e9);",
    "ALTER TABLE orders DROP COLUMN total;",
    "ALTER INDEX orders_ref_key RENAME TO orders_ref_idx;",
])
def test_does_not_fire(sql):
    assert not fires(sql, "B213", before=SCHEMA)


def test_redefinition_outside_a_transaction_leaves_a_gap():
    sql = ("ALTER TABLE orders DROP CONSTRAINT total_positive;\n"
           "ALTER TABLE orders ADD CONSTRAINT total_positive CHECK (total >= 0 AND total < 1e9);")
    assert fires(sql, "B213", before=SCHEMA, transaction="never")


@pytest.mark.parametrize("name, said", [
    ("orders_customer_id_fkey", "removes a FOREIGN KEY"),  # generated name of a column REFERENCES
    ("total_positive", "removes a CHECK"),
    ("orders_ref_key", "removes a UNIQUE constraint"),
    ("orders_pkey", "removes a PRIMARY KEY"),
])
def test_message_names_the_kind(name, said):
    f, = hits(f"ALTER TABLE orders DROP CONSTRAINT {name};", "B213", before=SCHEMA)
    assert said in f.message and name in f.message and "orders" in f.message


def test_unique_constraint_warns_about_on_conflict():
    f, = hits("ALTER TABLE customers DROP CONSTRAINT customers_email_key;", "B213", before=SCHEMA)
    assert "UNIQUE" in f.message and "ON CONFLICT" in f.message


def test_position_severity_and_cascade():
    f, = hits("SELECT 1;\n  ALTER TABLE customers DROP CONSTRAINT customers_pkey CASCADE;", "B213", before=SCHEMA)
    assert (f.line, f.column) == (2, 3) and f.severity == "warning" and f.table == "customers"
    assert f.category == "compatibility" and "CASCADE also drops the foreign keys" in f.message


def test_unknown_constraint():
    f, = hits("ALTER TABLE somewhere DROP CONSTRAINT c;", "B213")
    assert "c on somewhere" in f.message and "ON CONFLICT" in f.message


def test_suppression_with_reason():
    sql = "-- bascule:ignore B213 replaced by a trigger in release 4.1\nALTER TABLE orders DROP CONSTRAINT total_positive;"
    assert not fires(sql, "B213", before=SCHEMA)


def test_live_catalog_tells_the_kind(db):
    from bascule.analyze.live import LiveCatalog

    db.exec("CREATE TABLE customers (id bigint PRIMARY KEY);"
            "CREATE TABLE orders (id bigint, customer_id bigint REFERENCES customers);")
    with db.connect() as conn:
        f, = [f for f in lint_sql("ALTER TABLE orders DROP CONSTRAINT orders_customer_id_fkey;",
                                  live=LiveCatalog(conn, probe=False)).findings if f.code == "B213"]
        assert "removes a FOREIGN KEY" in f.message


def test_not_for_the_not_null_proof_once_the_column_is_not_null():
    sql = ("ALTER TABLE users ADD CONSTRAINT users_email_nn CHECK (email IS NOT NULL) NOT VALID;\n"
           "ALTER TABLE users VALIDATE CONSTRAINT users_email_nn;\n"
           "ALTER TABLE users ALTER COLUMN email SET NOT NULL;\n"
           "ALTER TABLE users DROP CONSTRAINT users_email_nn;\n")
    assert not fires(sql, "B213", transaction="never")
    # without the SET NOT NULL the CHECK was the only guarantee: still reported
    assert fires(sql.replace("ALTER TABLE users ALTER COLUMN email SET NOT NULL;\n", ""), "B213", transaction="never")


def test_constraint_of_a_table_dropped_later_in_the_transaction():
    # formbricks (Prisma): "DropForeignKey" statements come before the DROP TABLE of the same table
    sql = ('ALTER TABLE "Event" DROP CONSTRAINT "Event_sessionId_fkey";\n'
           'ALTER TABLE "Session" DROP CONSTRAINT "Session_personId_fkey";\n'
           'DROP TABLE "Event";\nDROP TABLE "Session";')
    assert not fires(sql, "B213")


@pytest.mark.parametrize("sql, kw", [
    # another table is dropped: the constraint's table stays
    ('ALTER TABLE "Event" DROP CONSTRAINT "Event_sessionId_fkey";\nDROP TABLE "Session";', {}),
    # outside a transaction, rows can be written between the two statements
    ('ALTER TABLE "Event" DROP CONSTRAINT "Event_sessionId_fkey";\nDROP TABLE "Event";', {"transaction": "never"}),
])
def test_dropped_table_that_still_fires(sql, kw):
    assert fires(sql, "B213", **kw)
