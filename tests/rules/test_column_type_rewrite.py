"""B111 column-type-rewrite."""

import pytest
from _lint import fires, hits

BEFORE = ["CREATE TABLE t (a varchar(10), n int, num numeric(10,2), ts timestamp)"]


@pytest.mark.parametrize("sql", [
    "ALTER TABLE t ALTER COLUMN n TYPE bigint;",
    "ALTER TABLE t ALTER COLUMN a TYPE varchar(5);",
    "ALTER TABLE t ALTER COLUMN a TYPE integer USING a::integer;",
    "ALTER TABLE t ALTER COLUMN num TYPE numeric(12,3);",
    "ALTER TABLE t ALTER COLUMN n SET DATA TYPE bigint USING n + 1;",
    "ALTER TABLE t ADD COLUMN b int, ALTER COLUMN n TYPE text;",
])
def test_fires_on_a_rewriting_type_change(sql):
    f, = hits(sql, "B111", before=BEFORE)
    assert f.severity == "error" and f.rewrite and f.lock == "AccessExclusiveLock" and f.table == "t"


@pytest.mark.parametrize("sql", [
    "ALTER TABLE t ALTER COLUMN a TYPE varchar(20);",  # looser limit: catalog only
    "ALTER TABLE t ALTER COLUMN a TYPE text;",
    "ALTER TABLE t ALTER COLUMN a TYPE varchar;",
    "ALTER TABLE t ALTER COLUMN num TYPE numeric(12,2);",
    "ALTER TABLE t ALTER COLUMN num TYPE numeric;",
    "ALTER TABLE t ALTER COLUMN a TYPE text USING a::text;",  # the same conversion as no USING
    "ALTER TABLE t ALTER COLUMN n TYPE integer USING n;",
])
def test_does_not_fire_when_binary_coercible(sql):
    assert not fires(sql, "B111", before=BEFORE)


def test_message_position_and_types():
    f, = hits("SELECT 1;\nALTER TABLE t\n  ALTER COLUMN n TYPE bigint;", "B111", before=BEFORE)
    assert (f.line, f.column) == (3, 16)  # the column name
    assert "n" in f.message and "integer → bigint" in f.message and "ACCESS EXCLUSIVE" in f.message


def test_using_expression_is_named():
    f, = hits("ALTER TABLE t ALTER COLUMN a TYPE text USING upper(a);", "B111", before=BEFORE)
    assert "USING" in f.message and f.severity == "error"


def test_unknown_old_type_is_a_warning_that_says_why():
    f, = hits("ALTER TABLE orders ALTER COLUMN total TYPE numeric(12,2);", "B111")
    assert f.severity == "warning" and f.table == "orders"
    assert "does not know the current type of total" in f.message and "without a rewrite" in f.message


def test_unknown_old_type_with_using_is_certain():
    f, = hits("ALTER TABLE orders ALTER COLUMN total TYPE bigint USING total::numeric::bigint;", "B111")
    assert f.severity == "error"


def test_timestamp_to_timestamptz_depends_on_timezone():
    f, = hits("ALTER TABLE t ALTER COLUMN ts TYPE timestamptz;", "B111", before=BEFORE)
    assert f.severity == "warning" and f.rewrite and "unless the session's TimeZone is UTC" in f.message
    assert "SET LOCAL TimeZone = 'UTC'" in f.message


IDX = BEFORE + ["CREATE INDEX t_ts ON t (ts);"]


@pytest.mark.parametrize("setting", [
    "SET LOCAL TimeZone = 'UTC';", "SET TIME ZONE 'Etc/UTC';", "SET timezone TO 'gmt';", "SET TIME ZONE 0;",
    "SET TIME ZONE INTERVAL '+00:00' HOUR TO MINUTE;", "SELECT set_config('TimeZone', 'UTC', true);",
])
def test_timestamptz_in_a_utc_session_rebuilds_only_the_indexes(setting):
    sql = f"{setting}\nALTER TABLE t ALTER COLUMN ts TYPE timestamptz;"
    f, = hits(sql, "B111", before=IDX)
    assert f.severity == "warning" and not f.rewrite and f.work == "index"
    assert "keeps the rows" in f.message and "rebuilds the indexes on ts" in f.message
    assert not fires(sql, "B111", before=BEFORE)  # no index on ts: nothing to rebuild, nothing to report
    assert not fires(f"{setting}\nALTER TABLE t ALTER COLUMN ts TYPE timestamptz(6);", "B111", before=BEFORE)


@pytest.mark.parametrize("setting", [
    "SET TimeZone = 'Europe/London';",  # +00:00 in winter, but not a fixed offset
    "SET TIME ZONE 'Africa/Abidjan';",  # +00:00 today, another offset in its history
    "SET TIME ZONE 1;",
    "SET LOCAL TimeZone = 'UTC'; SET TimeZone = 'Europe/Paris';",  # the session SET replaces the local one
])
def test_timestamptz_in_another_zone_is_a_certain_rewrite(setting):
    f, = hits(f"{setting}\nALTER TABLE t ALTER COLUMN ts TYPE timestamptz;", "B111", before=BEFORE)
    assert f.severity == "error" and f.rewrite and "TimeZone is not UTC" in f.message


@pytest.mark.parametrize("sql", [
    "SET LOCAL TimeZone = 'UTC'; RESET timezone;\nALTER TABLE t ALTER COLUMN ts TYPE timestamptz;",  # back to the default
    "SET TimeZone = 'UTC'; RESET ALL;\nALTER TABLE t ALTER COLUMN ts TYPE timestamptz;",
    "SET LOCAL TimeZone = 'UTC';\nALTER TABLE t ALTER COLUMN ts TYPE timestamptz(3);",  # fewer digits: rounds every row
    "SET LOCAL TimeZone = 'UTC';\nALTER TABLE t ALTER COLUMN ts TYPE timestamptz USING ts AT TIME ZONE 'UTC';",
])
def test_utc_session_does_not_hide_other_rewrites(sql):
    f, = hits(sql, "B111", before=BEFORE)
    assert f.rewrite


def test_set_local_lasts_only_in_a_transactional_migration():
    sql = "SET LOCAL TimeZone = 'UTC';\nALTER TABLE t ALTER COLUMN ts TYPE timestamptz;"
    f, = hits(sql, "B111", before=BEFORE, transaction="never")  # each statement commits: SET LOCAL is gone
    assert f.rewrite and "SET TimeZone = 'UTC'" in f.message and "SET LOCAL" not in f.message
    assert not fires(sql.replace("SET LOCAL", "SET"), "B111", before=BEFORE, transaction="never")


def test_set_timezone_does_not_carry_into_the_next_migration():
    f, = hits("ALTER TABLE t ALTER COLUMN ts TYPE timestamptz;", "B111", before=BEFORE + ["SET TimeZone = 'UTC';"])
    assert f.rewrite and f.severity == "warning"


def test_before_postgresql_12_timestamptz_always_rewrites():
    f, = hits("SET LOCAL TimeZone = 'UTC';\nALTER TABLE t ALTER COLUMN ts TYPE timestamptz;", "B111",
              before=BEFORE, pg_version=11)
    assert f.rewrite and f.severity == "error"


def test_type_learned_from_an_earlier_migration_change():
    before = BEFORE + ["ALTER TABLE t ALTER COLUMN a TYPE varchar(40);"]
    assert not fires("ALTER TABLE t ALTER COLUMN a TYPE varchar(50);", "B111", before=before)
    assert fires("ALTER TABLE t ALTER COLUMN a TYPE varchar(30);", "B111", before=before)


def test_table_created_in_the_same_migration():
    assert not fires("CREATE TABLE x (n int);\nALTER TABLE x ALTER COLUMN n TYPE bigint;", "B111")


def test_suppression_with_reason():
    sql = "-- bascule:ignore B111 table holds 200 rows\nALTER TABLE t ALTER COLUMN n TYPE bigint;"
    assert not fires(sql, "B111", before=BEFORE)
