"""B209 drop-not-null."""

import pytest
from _lint import fires, hits


@pytest.mark.parametrize("sql", [
    "ALTER TABLE users ALTER COLUMN email DROP NOT NULL;",
    "ALTER TABLE app.users ALTER email DROP NOT NULL, ALTER name SET NOT NULL;",
])
def test_fires_on_existing_table(sql):
    assert fires(sql, "B209")


@pytest.mark.parametrize("sql", [
    "CREATE TABLE users (email text NOT NULL);\nALTER TABLE users ALTER email DROP NOT NULL;",
    "ALTER TABLE users ADD COLUMN nick text NOT NULL DEFAULT '';\nALTER TABLE users ALTER nick DROP NOT NULL;",
    "ALTER TABLE users ALTER email SET NOT NULL;",
])
def test_does_not_fire(sql):
    assert not fires(sql, "B209")


def test_already_nullable_is_a_no_op():
    assert not fires("ALTER TABLE t ALTER a DROP NOT NULL;", "B209", before=["CREATE TABLE t (a int);"])
    assert fires("ALTER TABLE t ALTER a DROP NOT NULL;", "B209", before=["CREATE TABLE t (a int NOT NULL);"])


def test_message_position_severity():
    f, = hits("SELECT 1;\n ALTER TABLE orders ALTER note DROP NOT NULL;", "B209")
    assert (f.line, f.column) == (2, 2)
    assert f.severity == "warning" and f.table == "orders" and "orders.note" in f.message


def test_suppression_with_reason():
    assert not fires("-- bascule:ignore B209 readers handle NULL since 2.3\nALTER TABLE t ALTER a DROP NOT NULL;",
                     "B209")
