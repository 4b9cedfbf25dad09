"""B201 rename-column."""

import pytest
from _lint import fires, hits


@pytest.mark.parametrize("sql", [
    "ALTER TABLE users RENAME COLUMN email TO email_address;",
    "ALTER TABLE app.users RENAME email TO email_address;",
    "ALTER TABLE IF EXISTS users RENAME COLUMN email TO mail;",
    "ALTER MATERIALIZED VIEW totals RENAME COLUMN n TO total;",
    "ALTER VIEW active_users RENAME COLUMN email TO mail;",
])
def test_fires_on_existing_relation(sql):
    assert fires(sql, "B201")


@pytest.mark.parametrize("sql", [
    # created in the same migration: no running code uses it yet
    "CREATE TABLE users (id bigint, email text);\nALTER TABLE users RENAME COLUMN email TO mail;",
    # a column added by this migration: nobody reads it yet
    "ALTER TABLE users ADD COLUMN nick text;\nALTER TABLE users RENAME COLUMN nick TO handle;",
    # other renames are other rules' business
    "ALTER TABLE users RENAME TO members;",
    "ALTER TABLE users RENAME CONSTRAINT users_email_key TO users_mail_key;",
    "ALTER INDEX users_email_idx RENAME TO users_mail_idx;",
])
def test_does_not_fire(sql):
    assert not fires(sql, "B201")


def test_message_position_and_severity():
    f, = hits("SELECT 1;\n  ALTER TABLE orders RENAME COLUMN total TO amount;", "B201")
    assert (f.line, f.column) == (2, 3)
    assert f.severity == "error" and f.table == "orders" and f.category == "compatibility"
    assert "orders.total" in f.message and "amount" in f.message


def test_table_from_an_earlier_migration_still_counts():
    assert fires("ALTER TABLE t RENAME COLUMN a TO b;", "B201", before=["CREATE TABLE t (a int);"])


def test_column_added_in_an_earlier_migration_counts():
    assert fires("ALTER TABLE t RENAME COLUMN b TO c;", "B201",
                 before=["CREATE TABLE t (a int);", "ALTER TABLE t ADD COLUMN b int;"])


def test_suppression_with_reason():
    sql = "-- bascule:ignore B201 the app reads through a view since 3.1\nALTER TABLE t RENAME COLUMN a TO b;"
    assert not fires(sql, "B201")
    assert fires(sql.replace("B201", "B202"), "B201")
