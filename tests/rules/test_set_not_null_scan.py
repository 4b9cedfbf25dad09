"""B107 set-not-null-scan."""

import pytest
from _lint import fires, hits

PROVEN = ["CREATE TABLE t (a int)",
          "ALTER TABLE t ADD CONSTRAINT a_nn CHECK (a IS NOT NULL) NOT VALID",
          "ALTER TABLE t VALIDATE CONSTRAINT a_nn"]


@pytest.mark.parametrize("sql", [
    "ALTER TABLE users ALTER COLUMN email SET NOT NULL;",
    "ALTER TABLE users ALTER email SET NOT NULL, ALTER name SET NOT NULL;",
    "ALTER TABLE users ADD CONSTRAINT email_nn NOT NULL email;",  # PostgreSQL 18
])
def test_fires(sql):
    assert fires(sql, "B107")


@pytest.mark.parametrize("sql", [
    "ALTER TABLE users ADD CONSTRAINT email_nn NOT NULL email NOT VALID;",
    "ALTER TABLE users ALTER COLUMN email DROP NOT NULL;",
    "CREATE TABLE users (email text);\nALTER TABLE users ALTER COLUMN email SET NOT NULL;",
])
def test_does_not_fire(sql):
    assert not fires(sql, "B107")


def test_validated_check_proves_it_on_12_and_later():
    assert not fires("ALTER TABLE t ALTER COLUMN a SET NOT NULL;", "B107", before=PROVEN)
    assert not fires("ALTER TABLE t ALTER COLUMN a SET NOT NULL;", "B107", before=PROVEN, pg_version=12)


def test_validated_check_in_the_same_migration():
    sql = "\n".join(s + ";" for s in PROVEN[1:]) + "\nALTER TABLE t ALTER COLUMN a SET NOT NULL;"
    assert not fires(sql, "B107", before=PROVEN[:1])


def test_before_12_the_check_does_not_help():
    f, = hits("ALTER TABLE t ALTER COLUMN a SET NOT NULL;", "B107", before=PROVEN, pg_version=11)
    assert "before 12" in f.fix and not f.fixable


def test_not_valid_check_is_not_a_proof():
    assert fires("ALTER TABLE t ALTER COLUMN a SET NOT NULL;", "B107", before=PROVEN[:2])


def test_dropped_check_is_no_longer_a_proof():
    assert fires("ALTER TABLE t DROP CONSTRAINT a_nn;\nALTER TABLE t ALTER COLUMN a SET NOT NULL;", "B107",
                 before=PROVEN)


def test_column_already_not_null():
    assert not fires("ALTER TABLE t ALTER COLUMN a SET NOT NULL;", "B107", before=["CREATE TABLE t (a int NOT NULL)"])


def test_postgresql_18_add_not_null_with_proof():
    assert not fires("ALTER TABLE t ADD CONSTRAINT a_nn2 NOT NULL a;", "B107", before=PROVEN)


def test_add_not_null_is_only_a_postgresql_18_form():
    assert not fires("ALTER TABLE users ADD CONSTRAINT email_nn NOT NULL email;", "B107", pg_version=17)


def test_message_position_and_severity():
    f, = hits("SELECT 1;\n  ALTER TABLE users ALTER COLUMN email SET NOT NULL;", "B107")
    assert (f.line, f.column) == (2, 3)
    assert "users.email" in f.message and f.table == "users"
    assert f.severity == "error" and f.lock == "AccessExclusiveLock" and f.fixable


def test_suppression_with_reason():
    sql = "-- bascule:ignore B107 users has 50 rows\nALTER TABLE users ALTER COLUMN email SET NOT NULL;"
    assert not fires(sql, "B107")
