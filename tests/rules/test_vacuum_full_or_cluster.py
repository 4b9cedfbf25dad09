"""B110 vacuum-full-or-cluster."""

import pytest
from _lint import fires, hits


@pytest.mark.parametrize("sql", [
    "VACUUM FULL events;",
    "VACUUM (FULL, ANALYZE) events;",
    "VACUUM (FULL true) events;",
    "VACUUM FULL;",
    "CLUSTER events USING events_created_idx;",
    "CLUSTER events;",
    "CLUSTER;",
])
def test_fires(sql):
    assert fires(sql, "B110")


@pytest.mark.parametrize("sql", [
    "VACUUM events;",
    "VACUUM (ANALYZE) events;",
    "VACUUM (FULL false) events;",
    "ANALYZE events;",
    "ALTER TABLE events CLUSTER ON events_created_idx;",
    "CREATE TABLE events (id bigint);\nVACUUM FULL events;",
])
def test_does_not_fire(sql):
    assert not fires(sql, "B110")


def test_one_finding_per_table():
    fs = hits("VACUUM FULL events, audit_log;", "B110")
    assert [(f.table, f.line, f.column) for f in fs] == [("events", 1, 13), ("audit_log", 1, 21)]
    assert all(f.severity == "error" and f.rewrite and f.lock == "AccessExclusiveLock" for f in fs)


def test_whole_database():
    f, = hits("VACUUM FULL;", "B110")
    assert f.table is None and "every table" in f.message


def test_cluster_message():
    f, = hits("\nCLUSTER events USING events_created_idx;", "B110")
    assert (f.line, f.column) == (2, 1) and "events" in f.message and f.table == "events"


def test_suppression_with_reason():
    sql = "-- bascule:ignore B110 maintenance window, table is 2 MB\nVACUUM FULL events;"
    assert not fires(sql, "B110")
