"""B112 add-column-volatile-default."""

import pytest
from _lint import fires, hits

BEFORE = ["CREATE TABLE t (id bigint, a int)"]


@pytest.mark.parametrize("sql", [
    "ALTER TABLE t ADD COLUMN u uuid DEFAULT gen_random_uuid();",
    "ALTER TABLE t ADD COLUMN r float8 DEFAULT random();",
    "ALTER TABLE t ADD COLUMN c timestamptz DEFAULT clock_timestamp();",
    "ALTER TABLE t ADD COLUMN s bigint DEFAULT nextval('t_s_seq');",
    "ALTER TABLE t ADD COLUMN r int NOT NULL DEFAULT (random() * 100)::int;",
    "ALTER TABLE t ADD COLUMN x int DEFAULT my_func();",  # volatility unknown: functions are VOLATILE by default
    "ALTER TABLE t ADD COLUMN x text DEFAULT set_config('app.x', 'y', false);",  # a volatile built-in
])
def test_fires_on_volatile_default(sql):
    f, = hits(sql, "B112", before=BEFORE)
    assert f.severity == "error" and f.rewrite and f.lock == "AccessExclusiveLock" and f.fixable


@pytest.mark.parametrize("sql", [
    "ALTER TABLE t ADD COLUMN c int DEFAULT 0;",
    "ALTER TABLE t ADD COLUMN c timestamptz DEFAULT now();",  # stable: evaluated once
    "ALTER TABLE t ADD COLUMN c timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP;",
    "ALTER TABLE t ADD COLUMN c text DEFAULT lower('X');",
    # stable built-ins beyond the common ones (the whole pg_catalog is known)
    "ALTER TABLE t ADD COLUMN c text DEFAULT current_setting('TimeZone');",
    "ALTER TABLE t ADD COLUMN c bigint DEFAULT txid_current();",
    "ALTER TABLE t ADD COLUMN c text DEFAULT version();",
    "ALTER TABLE t ADD COLUMN c int;",
    # the safe form: existing rows get NULL, new rows the volatile default
    "ALTER TABLE t ADD COLUMN u uuid, ALTER COLUMN u SET DEFAULT gen_random_uuid();",
])
def test_does_not_fire(sql):
    assert not fires(sql, "B112", before=BEFORE)


def test_function_declared_stable_in_an_earlier_migration():
    before = BEFORE + ["CREATE FUNCTION tenant() RETURNS int LANGUAGE sql STABLE AS 'SELECT 1';"]
    assert not fires("ALTER TABLE t ADD COLUMN tenant int DEFAULT tenant();", "B112", before=before)
    before = BEFORE + ["CREATE FUNCTION tenant() RETURNS int LANGUAGE sql AS 'SELECT 1';"]
    f, = hits("ALTER TABLE t ADD COLUMN tenant int DEFAULT tenant();", "B112", before=before)
    assert "volatile DEFAULT tenant()" in f.message


def test_unknown_function_says_so():
    f, = hits("ALTER TABLE t ADD COLUMN x int DEFAULT my_func();", "B112", before=BEFORE)
    assert "does not know its volatility" in f.message


@pytest.mark.parametrize("version, expected", [(10, True), (11, False), (12, False), (18, False)])
def test_any_default_rewrites_before_postgresql_11(version, expected):
    assert fires("ALTER TABLE t ADD COLUMN c int DEFAULT 0;", "B112", before=BEFORE, pg_version=version) is expected


def test_pg10_message():
    f, = hits("ALTER TABLE t ADD COLUMN c int DEFAULT 0;", "B112", before=BEFORE, pg_version=10)
    assert "before PostgreSQL 11" in f.message


def test_message_and_position():
    f, = hits("ALTER TABLE t\n    ADD COLUMN u uuid DEFAULT gen_random_uuid();", "B112", before=BEFORE)
    assert (f.line, f.column) == (2, 16)
    assert f.table == "t" and "u" in f.message and "gen_random_uuid()" in f.message


def test_one_finding_per_column():
    sql = "ALTER TABLE t ADD COLUMN a1 uuid DEFAULT gen_random_uuid(), ADD COLUMN a2 float8 DEFAULT random();"
    assert len(hits(sql, "B112", before=BEFORE)) == 2


def test_table_created_in_the_same_migration():
    sql = "CREATE TABLE n (id int);\nALTER TABLE n ADD COLUMN u uuid DEFAULT gen_random_uuid();"
    assert not fires(sql, "B112")


def test_suppression_with_reason():
    sql = "ALTER TABLE t ADD COLUMN u uuid DEFAULT gen_random_uuid(); -- bascule:ignore B112 empty table in all envs"
    assert not fires(sql, "B112", before=BEFORE)
