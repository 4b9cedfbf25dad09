"""B202 rename-table."""

import pytest
from _lint import fires, hits


@pytest.mark.parametrize("sql", [
    "ALTER TABLE users RENAME TO members;",
    "ALTER TABLE app.users RENAME TO members;",
    "ALTER VIEW active_users RENAME TO current_users;",
    "ALTER MATERIALIZED VIEW totals RENAME TO daily_totals;",
    "ALTER FOREIGN TABLE remote_users RENAME TO remote_members;",
    # a view with another name does not bridge the old name
    "ALTER TABLE users RENAME TO members;\nCREATE VIEW people AS SELECT * FROM members;",
])
def test_fires_on_existing_relation(sql):
    assert fires(sql, "B202")


@pytest.mark.parametrize("sql", [
    "CREATE TABLE users (id bigint);\nALTER TABLE users RENAME TO members;",
    # the safe pattern: a view keeps the old name working
    "ALTER TABLE users RENAME TO members;\nCREATE VIEW users AS SELECT * FROM members;",
    "ALTER TABLE app.users RENAME TO members;\nCREATE OR REPLACE VIEW app.users AS SELECT * FROM app.members;",
    "ALTER TABLE users RENAME COLUMN email TO mail;",
    "ALTER INDEX users_pkey RENAME TO members_pkey;",
    "ALTER SEQUENCE users_id_seq RENAME TO members_id_seq;",
])
def test_does_not_fire(sql):
    assert not fires(sql, "B202")


def test_message_position_and_severity():
    f, = hits("CREATE TABLE x (a int);\n\nALTER TABLE orders RENAME TO purchases;", "B202")
    assert (f.line, f.column) == (3, 1)
    assert f.severity == "error" and f.table == "orders"
    assert "RENAME TABLE orders TO purchases" in f.message


def test_view_kind_named():
    f, = hits("ALTER VIEW v RENAME TO w;", "B202")
    assert "RENAME VIEW v TO w" in f.message


def test_table_from_an_earlier_migration_still_counts():
    assert fires("ALTER TABLE t RENAME TO u;", "B202", before=["CREATE TABLE t (a int);"])


def test_suppression_with_reason():
    assert not fires("ALTER TABLE t RENAME TO u; -- bascule:ignore rename-table no code uses t yet", "B202")
