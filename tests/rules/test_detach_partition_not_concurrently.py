"""B122 detach-partition-not-concurrently."""

import pytest
from _lint import fires, hits

PARTITIONED = ("CREATE TABLE events (id bigint, at date) PARTITION BY RANGE (at);"
               "CREATE TABLE events_2020 PARTITION OF events FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');")


@pytest.mark.parametrize("sql", [
    "ALTER TABLE events DETACH PARTITION events_2020;",
    "ALTER TABLE IF EXISTS app.events DETACH PARTITION app.events_2020;",
])
def test_fires(sql):
    assert fires(sql, "B122")


@pytest.mark.parametrize("sql", [
    "ALTER TABLE events DETACH PARTITION events_2020 CONCURRENTLY;",
    "ALTER TABLE events DETACH PARTITION events_2020 FINALIZE;",
    "ALTER TABLE events ATTACH PARTITION events_2020 FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');",
    # the partitioned table was created in the same migration: nobody uses it yet
    PARTITIONED + "\nALTER TABLE events DETACH PARTITION events_2020;",
])
def test_does_not_fire(sql):
    assert not fires(sql, "B122")


def test_position_message_lock_and_severity():
    f, = hits("SELECT 1;\nALTER TABLE events\n  DETACH PARTITION events_2020;", "B122", before=[PARTITIONED])
    assert (f.line, f.column) == (3, 20)  # the partition's name
    assert f.table == "events" and "events_2020" in f.message and "ACCESS EXCLUSIVE on events" in f.message
    assert f.severity == "warning" and f.lock == "AccessExclusiveLock"
    assert "CONCURRENTLY" in f.fix and "FINALIZE" in f.fix


def test_before_14_the_fix_says_what_to_do_instead():
    f, = hits("ALTER TABLE events DETACH PARTITION events_2020;", "B122", pg_version=13)
    assert "before 14" in f.fix and "lock_timeout" in f.fix
    assert "before 14" not in hits("ALTER TABLE events DETACH PARTITION events_2020;", "B122", pg_version=14)[0].fix


def test_a_default_partition_rules_out_concurrently():
    with_default = PARTITIONED + "CREATE TABLE events_other PARTITION OF events DEFAULT;"
    f, = hits("ALTER TABLE events DETACH PARTITION events_2020;", "B122", before=[with_default])
    assert "DEFAULT partition, events_other" in f.message and "refused" in f.fix
    # attached as DEFAULT in the same migration, or detached again before: known either way
    f, = hits("ALTER TABLE events ATTACH PARTITION spare DEFAULT;\nALTER TABLE events DETACH PARTITION events_2020;",
              "B122", before=[PARTITIONED])
    assert "DEFAULT partition, spare" in f.message
    f, = hits("ALTER TABLE events DETACH PARTITION events_2020;", "B122",
              before=[with_default, "ALTER TABLE events DETACH PARTITION events_other CONCURRENTLY;"])
    assert "DEFAULT" not in f.message


def test_suppression_with_reason():
    sql = "-- bascule:ignore B122 events is only read by a nightly job\nALTER TABLE events DETACH PARTITION events_2020;"
    assert not fires(sql, "B122")
