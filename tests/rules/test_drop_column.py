"""B203 drop-column."""

import pytest
from _lint import fires, hits


@pytest.mark.parametrize("sql", [
    "ALTER TABLE users DROP COLUMN legacy_flag;",
    "ALTER TABLE users DROP legacy_flag;",
    "ALTER TABLE app.users DROP COLUMN IF EXISTS legacy_flag CASCADE;",
    "ALTER TABLE users ADD COLUMN b int, DROP COLUMN a;",
])
def test_fires_on_existing_table(sql):
    assert fires(sql, "B203")


@pytest.mark.parametrize("sql", [
    "CREATE TABLE users (id bigint, legacy_flag bool);\nALTER TABLE users DROP COLUMN legacy_flag;",
    "ALTER TABLE users ADD COLUMN tmp int;\nUPDATE users SET tmp = 1;\nALTER TABLE users DROP COLUMN tmp;",
    "ALTER TYPE address DROP ATTRIBUTE zip;",
    "ALTER TABLE users DROP CONSTRAINT users_email_key;",
])
def test_does_not_fire(sql):
    assert not fires(sql, "B203")


def test_one_finding_per_column_with_message():
    fs = hits("SELECT 1;\nALTER TABLE orders\n  DROP COLUMN note,\n  DROP COLUMN memo;", "B203")
    assert [f.line for f in fs] == [2, 2]
    assert all(f.severity == "error" and f.table == "orders" for f in fs)
    assert "orders.note" in fs[0].message and "orders.memo" in fs[1].message
    assert "data is gone" in fs[0].message


def test_cascade_mentioned():
    f, = hits("ALTER TABLE t DROP COLUMN a CASCADE;", "B203")
    assert "CASCADE" in f.message


def test_table_from_an_earlier_migration_still_counts():
    assert fires("ALTER TABLE t DROP COLUMN a;", "B203", before=["CREATE TABLE t (a int, b int);"])


def test_suppression_with_reason():
    sql = "-- bascule:ignore B203 no code reads legacy_flag since release 4.2\nALTER TABLE t DROP COLUMN legacy_flag;"
    assert not fires(sql, "B203")


def test_suppression_without_reason_is_not_applied():
    assert fires("-- bascule:ignore B203\nALTER TABLE t DROP COLUMN a;", "B203")
