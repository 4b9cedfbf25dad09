"""B409 domain-with-constraint."""

import pytest
from _lint import fires, hits


@pytest.mark.parametrize("sql", [
    "CREATE DOMAIN amount AS numeric CHECK (VALUE > 0);",
    "CREATE DOMAIN email AS text NOT NULL;",
    "CREATE DOMAIN amount AS numeric CONSTRAINT amount_pos CHECK (VALUE > 0) DEFAULT 0;",
    "ALTER DOMAIN amount ADD CONSTRAINT amount_small CHECK (VALUE < 1000000);",
    "ALTER DOMAIN amount SET NOT NULL;",
    "ALTER DOMAIN amount VALIDATE CONSTRAINT amount_small;",
])
def test_fires(sql):
    assert fires(sql, "B409")


@pytest.mark.parametrize("sql", [
    "CREATE DOMAIN amount AS numeric;",
    "CREATE DOMAIN amount AS numeric DEFAULT 0;",
    "ALTER DOMAIN amount ADD CONSTRAINT amount_small CHECK (VALUE < 1000000) NOT VALID;",
    "ALTER DOMAIN amount DROP CONSTRAINT amount_small;",
    "ALTER DOMAIN amount DROP NOT NULL;",
    "ALTER DOMAIN amount SET DEFAULT 1;",
])
def test_does_not_fire(sql):
    assert not fires(sql, "B409")


def test_add_constraint_message_lock_position():
    f, = hits("ALTER DOMAIN amount ADD CONSTRAINT amount_small CHECK (VALUE < 1000000);", "B409")
    assert f.severity == "warning" and f.lock == "ShareLock" and f.column == 25
    assert "every table" in f.message and "amount" in f.message and "blocks their writes" in f.message


def test_create_domain_message():
    f, = hits("CREATE DOMAIN amount AS numeric CHECK (VALUE > 0) NOT NULL;", "B409")
    assert "CHECK and NOT NULL" in f.message


def test_validate_is_cheaper_from_19():
    sql = "ALTER DOMAIN amount VALIDATE CONSTRAINT c;"
    assert fires(sql, "B409", pg_version=18)
    assert not fires(sql, "B409", pg_version=19)


def test_suppression_with_reason():
    sql = "-- bascule:ignore B409 used by one 50-row table\nALTER DOMAIN amount SET NOT NULL;"
    assert not fires(sql, "B409")
