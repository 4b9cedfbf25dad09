"""B109 exclusion-constraint."""

import pytest
from _lint import fires, hits


@pytest.mark.parametrize("sql", [
    "ALTER TABLE bookings ADD CONSTRAINT no_overlap EXCLUDE USING gist (room WITH =, during WITH &&);",
    "ALTER TABLE bookings ADD EXCLUDE USING gist (during WITH &&) WHERE (NOT cancelled);",
])
def test_fires(sql):
    assert fires(sql, "B109")


@pytest.mark.parametrize("sql", [
    "CREATE TABLE bookings (room int, during tstzrange, EXCLUDE USING gist (room WITH =, during WITH &&));",
    "CREATE TABLE bookings (room int, during tstzrange);\n"
    "ALTER TABLE bookings ADD EXCLUDE USING gist (during WITH &&);",
    "ALTER TABLE bookings ADD UNIQUE (room);",
])
def test_does_not_fire(sql):
    assert not fires(sql, "B109")


def test_position_message_and_severity():
    f, = hits("SELECT 1;\nALTER TABLE bookings ADD CONSTRAINT no_overlap EXCLUDE USING gist (during WITH &&);", "B109")
    assert (f.line, f.column) == (2, 26)
    assert "bookings" in f.message and "no_overlap" in f.message
    assert f.severity == "error" and f.lock == "AccessExclusiveLock" and not f.fixable


def test_table_from_an_earlier_migration_counts():
    assert fires("ALTER TABLE bookings ADD EXCLUDE USING gist (during WITH &&);", "B109",
                 before=["CREATE TABLE bookings (during tstzrange);"])


def test_suppression_with_reason():
    sql = ("-- bascule:ignore B109 bookings has a few hundred rows\n"
           "ALTER TABLE bookings ADD EXCLUDE USING gist (during WITH &&);")
    assert not fires(sql, "B109")
