"""B204 drop-table."""

import pytest
from _lint import fires, hits


@pytest.mark.parametrize("sql", [
    "DROP TABLE users;",
    "DROP TABLE IF EXISTS app.users CASCADE;",
    "DROP FOREIGN TABLE remote_users;",
])
def test_fires_on_existing_table(sql):
    assert fires(sql, "B204")


@pytest.mark.parametrize("sql", [
    "CREATE TABLE tmp (a int);\nINSERT INTO tmp VALUES (1);\nDROP TABLE tmp;",
    "CREATE TABLE app.tmp (a int);\nDROP TABLE app.tmp;",
    "DROP VIEW active_users;",
    "DROP INDEX users_email_idx;",
    "DROP SEQUENCE users_id_seq;",
])
def test_does_not_fire(sql):
    assert not fires(sql, "B204")


def test_each_table_of_a_drop_is_reported():
    fs = hits("CREATE TABLE tmp (a int);\nDROP TABLE tmp, orders, app.invoices CASCADE;", "B204")
    assert [f.table for f in fs] == ["orders", "app.invoices"]
    assert all(f.line == 2 and f.severity == "error" for f in fs)
    assert "CASCADE" in fs[0].message and "rows are gone" in fs[0].message


def test_table_from_an_earlier_migration_counts():
    assert fires("DROP TABLE t;", "B204", before=["CREATE TABLE t (a int);"])


def test_suppression_with_reason():
    assert not fires("-- bascule:ignore drop-table retired in 2.0, backup in s3://bk/t\nDROP TABLE t;", "B204")
