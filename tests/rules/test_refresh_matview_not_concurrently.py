"""B119 refresh-matview-not-concurrently."""

import pytest
from _lint import fires, hits


@pytest.mark.parametrize("sql", [
    "REFRESH MATERIALIZED VIEW daily_totals;",
    "REFRESH MATERIALIZED VIEW app.daily_totals WITH DATA;",
])
def test_fires(sql):
    assert fires(sql, "B119")


@pytest.mark.parametrize("sql", [
    "REFRESH MATERIALIZED VIEW CONCURRENTLY daily_totals;",
    # no query runs: the view is emptied (and unreadable until the next refresh)
    "REFRESH MATERIALIZED VIEW daily_totals WITH NO DATA;",
    # a view created in this migration: nobody reads it yet
    "CREATE MATERIALIZED VIEW daily_totals AS SELECT 1 AS n WITH NO DATA;\nREFRESH MATERIALIZED VIEW daily_totals;",
])
def test_does_not_fire(sql):
    assert not fires(sql, "B119")


def test_message_position_and_severity():
    f, = hits("SELECT 1;\n\nREFRESH MATERIALIZED VIEW daily_totals;", "B119")
    assert (f.line, f.column) == (3, 1)
    assert f.table == "daily_totals" and "daily_totals" in f.message and "reads" in f.message
    assert f.severity == "warning" and f.lock == "AccessExclusiveLock"


def test_view_from_an_earlier_migration_counts():
    assert fires("REFRESH MATERIALIZED VIEW v;", "B119", before=["CREATE MATERIALIZED VIEW v AS SELECT 1 AS n;"])


def test_suppression_with_reason():
    sql = "-- bascule:ignore B119 nightly job, nobody reads it at deploy time\nREFRESH MATERIALIZED VIEW daily_totals;"
    assert not fires(sql, "B119")
