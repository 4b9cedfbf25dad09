"""B208 narrowing-type-change."""

import pytest
from _lint import fires, hits

BEFORE = ["CREATE TABLE t (a bigint, b varchar(50), c text, d numeric(10,2), e integer, f timestamptz, "
          "g double precision)"]


@pytest.mark.parametrize("sql", [
    "ALTER TABLE t ALTER COLUMN a TYPE integer;",
    "ALTER TABLE t ALTER a TYPE smallint;",
    "ALTER TABLE t ALTER b TYPE varchar(20);",
    "ALTER TABLE t ALTER c TYPE varchar(100);",
    "ALTER TABLE t ALTER d TYPE numeric(8,2);",
    "ALTER TABLE t ALTER d TYPE numeric(10,4);",  # fewer digits before the point
    "ALTER TABLE t ALTER e TYPE numeric(5);",
    "ALTER TABLE t ALTER g TYPE real;",
    "ALTER TABLE t ALTER a TYPE integer USING a::integer;",
])
def test_fires_when_the_old_type_is_known(sql):
    assert fires(sql, "B208", before=BEFORE)


@pytest.mark.parametrize("sql", [
    "ALTER TABLE t ALTER e TYPE bigint;",
    "ALTER TABLE t ALTER b TYPE varchar(100);",
    "ALTER TABLE t ALTER b TYPE text;",
    "ALTER TABLE t ALTER d TYPE numeric(12,2);",
    "ALTER TABLE t ALTER d TYPE numeric;",
    "ALTER TABLE t ALTER e TYPE numeric(12);",
    "ALTER TABLE t ALTER a TYPE bigint;",
])
def test_widening_does_not_fire(sql):
    assert not fires(sql, "B208", before=BEFORE)


def test_unknown_old_type_does_not_fire():
    assert not fires("ALTER TABLE other ALTER a TYPE integer;", "B208")


def test_table_or_column_created_in_the_same_migration():
    assert not fires("CREATE TABLE n (a bigint);\nALTER TABLE n ALTER a TYPE integer;", "B208")
    assert not fires("ALTER TABLE t ADD COLUMN z bigint;\nALTER TABLE t ALTER z TYPE integer;", "B208", before=BEFORE)


def test_type_known_from_an_earlier_alter():
    assert fires("ALTER TABLE t ALTER e TYPE integer;", "B208",
                 before=BEFORE + ["ALTER TABLE t ALTER e TYPE bigint;"])


def test_message_position_severity():
    f, = hits("ALTER TABLE t\n  ALTER COLUMN b TYPE varchar(20);", "B208", before=BEFORE)
    assert (f.line, f.column) == (2, 16)
    assert f.severity == "error" and f.table == "t"
    assert "varchar(50)" in f.message and "varchar(20)" in f.message


def test_suppression_with_reason():
    sql = "-- bascule:ignore B208 max length checked: 18\nALTER TABLE t ALTER b TYPE varchar(20);"
    assert not fires(sql, "B208", before=BEFORE)
