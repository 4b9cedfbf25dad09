"""B120 missing-lock-timeout (only when another tool runs the SQL)."""

import pytest

from bascule.analyze import lint_sql

BEFORE = ["CREATE TABLE t (id bigint, a int); CREATE TABLE u (id bigint);"]


def b120(sql, **kw):
    kw.setdefault("runner", "other")
    kw.setdefault("before", BEFORE)
    return [f for f in lint_sql(sql, **kw).findings if f.code == "B120" and not f.suppressed]


def test_fires_once_on_the_first_strong_lock():
    f, = b120("SELECT 1;\nALTER TABLE t ADD COLUMN b int;\nCREATE INDEX i ON u (id);")
    assert (f.line, f.column) == (2, 1) and f.severity == "warning" and f.table == "t"
    assert f.lock == "AccessExclusiveLock" and "ACCESS EXCLUSIVE" in f.message and "lock_timeout" in f.message


def test_not_with_bascules_own_runner():
    assert not b120("ALTER TABLE t ADD COLUMN b int;", runner="bascule")


@pytest.mark.parametrize("setting", [
    "SET lock_timeout = '2s';",
    "SET LOCAL lock_timeout TO 2000;",
    "SET SESSION lock_timeout = '1min';",
    "SELECT set_config('lock_timeout', '2s', false);",
])
def test_an_earlier_setting_satisfies_it(setting):
    assert not b120(setting + "\nALTER TABLE t ADD COLUMN b int;")


@pytest.mark.parametrize("setting", [
    "SET lock_timeout = 0;",
    "SET lock_timeout = '0';",
    "SET lock_timeout TO DEFAULT;",
    "SET statement_timeout = '5s';",
])
def test_disabled_or_other_settings_do_not(setting):
    assert b120(setting + "\nALTER TABLE t ADD COLUMN b int;")


def test_setting_after_the_statement_is_too_late():
    f, = b120("ALTER TABLE t ADD COLUMN b int;\nSET lock_timeout = '2s';\nALTER TABLE u ADD c int;")
    assert f.line == 1


def test_reset_turns_it_off_again():
    f, = b120("SET lock_timeout = '2s';\nRESET lock_timeout;\nALTER TABLE u ADD c int;")
    assert f.line == 3 and f.table == "u"


@pytest.mark.parametrize("sql", [
    "INSERT INTO t (id) VALUES (1);",  # ROW EXCLUSIVE
    "UPDATE t SET a = 1 WHERE id = 2;",
    "SELECT * FROM t;",
    "CREATE TABLE n (id int);\nALTER TABLE n ADD b int;\nCREATE INDEX n_b ON n (b);",
])
def test_does_not_fire(sql):
    assert not b120(sql)


def test_share_lock_names_what_it_blocks():
    f, = b120("CREATE INDEX i ON u (id);")
    assert f.lock == "ShareLock" and "blocks writes" in f.message


def test_foreign_key_from_a_new_table_locks_the_existing_one():
    f, = b120("CREATE TABLE n (id int, t_id bigint REFERENCES t (id));")
    assert f.table == "t" and f.lock == "ShareRowExclusiveLock"


def test_suppression_with_reason():
    sql = "ALTER TABLE t ADD COLUMN b int; -- bascule:ignore B120 the deploy tool sets lock_timeout"
    assert not b120(sql)
