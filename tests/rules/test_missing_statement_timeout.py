"""B121 missing-statement-timeout (only when another tool runs the SQL)."""

import pytest

from bascule.analyze import lint_sql

BEFORE = ["CREATE TABLE t (id bigint, a int); CREATE TABLE u (id bigint);"]


def b121(sql, **kw):
    kw.setdefault("runner", "other")
    kw.setdefault("before", BEFORE)
    return [f for f in lint_sql(sql, **kw).findings if f.code == "B121" and not f.suppressed]


@pytest.mark.parametrize("sql, verb", [
    ("ALTER TABLE t ALTER COLUMN a TYPE bigint;", "rewrites t"),
    ("ALTER TABLE t ADD CONSTRAINT a_pos CHECK (a > 0);", "scans t"),
    ("ALTER TABLE t ALTER COLUMN a SET NOT NULL;", "scans t"),
    ("CREATE INDEX i ON t (a);", "builds an index on t"),
    ("VACUUM FULL t;", "rewrites t"),
])
def test_fires(sql, verb):
    f, = b121(sql)
    assert f.severity == "warning" and f.table == "t" and verb in f.message and "statement_timeout" in f.message


def test_once_per_migration_on_the_first_slow_statement():
    f, = b121("ALTER TABLE t ADD b int;\nCREATE INDEX i ON t (a);\nCREATE INDEX j ON u (id);")
    assert (f.line, f.column) == (2, 1) and f.lock == "ShareLock"


@pytest.mark.parametrize("setting", [
    "SET statement_timeout = '5min';",
    "SET LOCAL statement_timeout = 300000;",
    "SELECT set_config('statement_timeout', '5min', true);",
])
def test_an_earlier_setting_satisfies_it(setting):
    assert not b121(setting + "\nCREATE INDEX i ON t (a);")


def test_zero_or_lock_timeout_only_does_not():
    assert b121("SET statement_timeout = 0;\nCREATE INDEX i ON t (a);")
    assert b121("SET lock_timeout = '2s';\nCREATE INDEX i ON t (a);")


@pytest.mark.parametrize("sql", [
    "ALTER TABLE t ADD COLUMN b int;",  # catalog only
    "CREATE INDEX CONCURRENTLY i ON t (a);",
    "ALTER TABLE t ADD CONSTRAINT a_pos CHECK (a > 0) NOT VALID;",
    "CREATE TABLE n (a int);\nCREATE INDEX n_a ON n (a);",
    # reads every row, but under SHARE UPDATE EXCLUSIVE: traffic goes on, and a timeout would undo it
    "ALTER TABLE t VALIDATE CONSTRAINT a_pos;",
])
def test_does_not_fire(sql):
    assert not b121(sql)


def test_not_with_bascules_own_runner():
    assert not b121("CREATE INDEX i ON t (a);", runner="bascule")


def test_suppression_with_reason():
    sql = "-- bascule:ignore B121 the deploy tool sets statement_timeout\nCREATE INDEX i ON t (a);"
    assert not b121(sql)
