"""B113 add-column-generated-stored."""

import pytest
from _lint import fires, hits

BEFORE = ["CREATE TABLE t (id bigint, price numeric, qty int)"]
STORED = "ALTER TABLE t ADD COLUMN total numeric GENERATED ALWAYS AS (price * qty) STORED;"


@pytest.mark.parametrize("version", [12, 17, 18])
def test_fires_on_stored(version):
    f, = hits(STORED, "B113", before=BEFORE, pg_version=version)
    assert f.severity == "error" and f.rewrite and f.lock == "AccessExclusiveLock" and f.table == "t"
    assert "total" in f.message and "STORED" in f.message
    assert ("VIRTUAL" in f.message) is (version >= 18)


def test_virtual_on_postgresql_18_does_not_fire():
    assert not fires("ALTER TABLE t ADD COLUMN total numeric GENERATED ALWAYS AS (price * qty) VIRTUAL;", "B113",
                     before=BEFORE)
    # on 18 the default kind is VIRTUAL
    assert not fires("ALTER TABLE t ADD COLUMN total numeric GENERATED ALWAYS AS (price * qty);", "B113",
                     before=BEFORE, pg_version=18)


def test_position():
    f, = hits("ALTER TABLE t\n  ADD COLUMN total numeric GENERATED ALWAYS AS (price * qty) STORED;", "B113",
              before=BEFORE)
    assert (f.line, f.column) == (2, 14)


@pytest.mark.parametrize("sql", [
    "CREATE TABLE n (a int, b int GENERATED ALWAYS AS (a * 2) STORED);",
    "CREATE TABLE n (a int);\nALTER TABLE n ADD COLUMN b int GENERATED ALWAYS AS (a * 2) STORED;",
    "ALTER TABLE t ADD COLUMN id2 bigint GENERATED ALWAYS AS IDENTITY;",  # B114's case
])
def test_does_not_fire(sql):
    assert not fires(sql, "B113", before=BEFORE)


def test_suppression_with_reason():
    sql = "-- bascule:ignore B113 maintenance window booked\n" + STORED
    assert not fires(sql, "B113", before=BEFORE)
