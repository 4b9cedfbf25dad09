"""B207 drop-default."""

import pytest
from _lint import fires, hits


@pytest.mark.parametrize("sql", [
    "ALTER TABLE users ALTER COLUMN status DROP DEFAULT;",
    "ALTER TABLE users ALTER status DROP DEFAULT, ALTER role SET DEFAULT 'user';",
    "ALTER VIEW active_users ALTER COLUMN status DROP DEFAULT;",
])
def test_fires_on_existing_table(sql):
    assert fires(sql, "B207")


@pytest.mark.parametrize("sql", [
    "ALTER TABLE users ALTER COLUMN status SET DEFAULT 'new';",
    "CREATE TABLE users (status text DEFAULT 'new');\nALTER TABLE users ALTER COLUMN status DROP DEFAULT;",
    # a nullable column added by this migration: running code leaves it out, gets NULL, and nobody reads it
    "ALTER TABLE users ADD COLUMN plan text DEFAULT 'free';\nALTER TABLE users ALTER plan DROP DEFAULT;",
])
def test_does_not_fire(sql):
    assert not fires(sql, "B207")


def test_new_not_null_column_default_only_for_the_backfill():
    # "add with a default to fill existing rows, then drop it": inserts from code deployed before fail
    f, = hits("ALTER TABLE users ADD COLUMN plan text NOT NULL DEFAULT 'free';\n"
              "ALTER TABLE users ALTER plan DROP DEFAULT;", "B207")
    assert f.line == 2 and "users.plan" in f.message and "fail" in f.message


def test_no_default_to_drop():
    assert not fires("ALTER TABLE t ALTER a DROP DEFAULT;", "B207", before=["CREATE TABLE t (a int);"])


def test_not_null_column_inserts_fail():
    f, = hits("SELECT 1;\nALTER TABLE t ALTER a DROP DEFAULT;", "B207",
              before=["CREATE TABLE t (a int NOT NULL DEFAULT 0);"])
    assert f.severity == "warning" and f.table == "t" and (f.line, f.column) == (2, 1)
    assert "t.a" in f.message and "fail" in f.message and "NOT NULL" in f.message


def test_nullable_column_gets_null():
    f, = hits("ALTER TABLE t ALTER a DROP DEFAULT;", "B207", before=["CREATE TABLE t (a int DEFAULT 0);"])
    assert "NULL" in f.message


def test_suppression_with_reason():
    assert not fires("-- bascule:ignore B207 every insert sets status since 5.0\nALTER TABLE t ALTER s DROP DEFAULT;",
                     "B207")


def test_known_nullable_column_message_does_not_hedge():
    # hyperswitch: payment_intent.metadata JSONB DEFAULT '{}' (nullable), later DROP DEFAULT
    f, = hits("ALTER TABLE payment_intent ALTER COLUMN metadata DROP DEFAULT;", "B207",
              before=["CREATE TABLE payment_intent (id int, metadata jsonb DEFAULT '{}'::jsonb);"])
    assert f.message.endswith("now store NULL") and "NOT NULL" not in f.message


def test_unknown_column_message_says_both_outcomes():
    f, = hits("ALTER TABLE users ALTER COLUMN status DROP DEFAULT;", "B207")
    assert "store NULL (or fail if the column is NOT NULL)" in f.message
