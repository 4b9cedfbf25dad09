"""B410 robust-statements (only with runner = "other")."""

import pytest
from _lint import fires, hits

CIC = "CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_a_idx ON orders (a);\n"  # makes the file non-transactional


@pytest.mark.parametrize("stmt", [
    "CREATE TABLE notes (id bigint);",
    "CREATE INDEX CONCURRENTLY notes_idx ON orders (note);",
    "CREATE INDEX CONCURRENTLY ON orders (note);",
    "CREATE SEQUENCE order_numbers;",
    "ALTER TABLE orders ADD COLUMN note text;",
    "ALTER TABLE orders DROP COLUMN note;",
    "ALTER TABLE orders DROP CONSTRAINT orders_note_check;",
    "DROP TABLE notes;",
    "DROP INDEX CONCURRENTLY notes_idx;",
    "CREATE SCHEMA reporting;",
    "CREATE EXTENSION pg_trgm;",
])
def test_fires_outside_a_transaction_with_another_runner(stmt):
    assert fires(CIC + stmt, "B410", runner="other")


@pytest.mark.parametrize("stmt", [
    "CREATE TABLE IF NOT EXISTS notes (id bigint);",
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS notes_idx ON orders (note);",
    "CREATE SEQUENCE IF NOT EXISTS order_numbers;",
    "ALTER TABLE orders ADD COLUMN IF NOT EXISTS note text;",
    "ALTER TABLE orders DROP COLUMN IF EXISTS note;",
    "ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_note_check;",
    "DROP TABLE IF EXISTS notes;",
    "DROP INDEX CONCURRENTLY IF EXISTS notes_idx;",
    "ALTER TABLE orders ADD CONSTRAINT orders_a_check CHECK (a > 0) NOT VALID;",
])
def test_robust_statements_do_not_fire(stmt):
    assert not fires(CIC + stmt, "B410", runner="other")


def test_transactional_migration_does_not_fire():
    assert not fires("CREATE TABLE notes (id bigint);\nDROP TABLE old;", "B410", runner="other")


def test_bascule_runner_resumes_so_the_rule_is_off():
    assert not fires(CIC + "CREATE TABLE notes (id bigint);", "B410")


def test_transaction_never():
    assert fires("CREATE TABLE notes (id bigint);", "B410", runner="other", transaction="never")


def test_message_position_severity():
    fs = hits(CIC + "CREATE TABLE notes (id bigint);\nALTER TABLE orders ADD COLUMN a int, ADD COLUMN IF NOT EXISTS b int;",
              "B410", runner="other")
    assert [(f.line, f.column) for f in fs] == [(2, 14), (3, 31)]
    assert all(f.severity == "warning" for f in fs)
    assert "CREATE TABLE notes without IF NOT EXISTS" in fs[0].message
    assert "ADD COLUMN a to orders" in fs[1].message and "running the file again fails" in fs[1].message


def test_unnamed_index_says_to_name_it():
    f, = hits(CIC + "CREATE INDEX CONCURRENTLY ON orders (b);", "B410", runner="other")
    assert "without a name" in f.message


def test_suppression_with_reason():
    sql = CIC + "-- bascule:ignore B410 the deploy script drops the table first\nCREATE TABLE notes (id bigint);"
    assert not fires(sql, "B410", runner="other")
