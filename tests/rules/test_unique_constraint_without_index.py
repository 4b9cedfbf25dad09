"""B108 unique-constraint-without-index."""

import pytest
from _lint import fires, hits


@pytest.mark.parametrize("sql", [
    "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);",
    "ALTER TABLE users ADD UNIQUE (email);",
    "ALTER TABLE users ADD PRIMARY KEY (id);",
    "ALTER TABLE users ADD COLUMN code text UNIQUE;",
    "ALTER TABLE users ADD COLUMN id bigserial PRIMARY KEY;",
])
def test_fires(sql):
    assert fires(sql, "B108")


@pytest.mark.parametrize("sql", [
    "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_idx;",
    "ALTER TABLE users ADD CONSTRAINT users_pkey PRIMARY KEY USING INDEX users_id_idx;",
    "CREATE UNIQUE INDEX CONCURRENTLY users_email_idx ON users (email);",
    "CREATE TABLE users (id bigint PRIMARY KEY, email text UNIQUE);",
    "CREATE TABLE users (id bigint, email text);\nALTER TABLE users ADD PRIMARY KEY (id);",
])
def test_does_not_fire(sql):
    assert not fires(sql, "B108")


def test_position_message_and_lock():
    f, = hits("ALTER TABLE users\n  ADD CONSTRAINT users_email_key UNIQUE (email);", "B108")
    assert (f.line, f.column) == (2, 7)
    assert "users" in f.message and "users_email_key UNIQUE" in f.message
    assert f.severity == "error" and f.lock == "AccessExclusiveLock" and f.fixable and f.table == "users"


def test_new_column_is_named():
    f, = hits("ALTER TABLE users ADD COLUMN code text UNIQUE;", "B108")
    assert "ADD COLUMN code UNIQUE" in f.message


def test_table_from_an_earlier_migration_counts():
    assert fires("ALTER TABLE users ADD PRIMARY KEY (id);", "B108", before=["CREATE TABLE users (id bigint NOT NULL);"])


def test_suppression_with_reason():
    sql = "-- bascule:ignore B108 users is empty in every environment\nALTER TABLE users ADD UNIQUE (email);"
    assert not fires(sql, "B108")


def test_new_column_form_is_not_auto_fixable():
    f, = hits("ALTER TABLE users ADD COLUMN code text UNIQUE;", "B108")
    assert not f.fixable


def test_partitioned_table_is_not_fixable():
    before = ["CREATE TABLE ev (id bigint, ts timestamptz NOT NULL) PARTITION BY RANGE (ts)"] + []
    f, = hits('ALTER TABLE ev ADD UNIQUE (id, ts);', 'B108', before=before)
    assert f.fixable is False and "ev is partitioned" in f.notes[0]
