"""B106 check-constraint-validated."""

import pytest
from _lint import fires, hits


@pytest.mark.parametrize("sql", [
    "ALTER TABLE orders ADD CONSTRAINT positive_total CHECK (total >= 0);",
    "ALTER TABLE orders ADD CHECK (total >= 0);",
    # a CHECK on a new column is evaluated on every row, even when all are NULL
    "ALTER TABLE orders ADD COLUMN discount int CHECK (discount >= 0);",
    "ALTER TABLE orders ADD COLUMN discount int DEFAULT 0 CHECK (discount >= 0);",
])
def test_fires(sql):
    assert fires(sql, "B106")


@pytest.mark.parametrize("sql", [
    "ALTER TABLE orders ADD CONSTRAINT positive_total CHECK (total >= 0) NOT VALID;",
    "ALTER TABLE orders VALIDATE CONSTRAINT positive_total;",
    "ALTER TABLE orders ADD COLUMN discount int;",
    "CREATE TABLE orders (total int CHECK (total >= 0));",
    "CREATE TABLE orders (total int);\nALTER TABLE orders ADD CONSTRAINT c CHECK (total >= 0);",
])
def test_does_not_fire(sql):
    assert not fires(sql, "B106")


def test_position_message_and_lock():
    f, = hits("ALTER TABLE orders\n    ADD CONSTRAINT positive_total CHECK (total >= 0);", "B106")
    assert (f.line, f.column) == (2, 9)
    assert "orders" in f.message and "positive_total" in f.message
    assert f.severity == "error" and f.lock == "AccessExclusiveLock" and f.fixable and f.table == "orders"


def test_each_check_in_one_statement():
    fs = hits("ALTER TABLE orders ADD CHECK (a > 0), ADD CHECK (b > 0) NOT VALID, ADD CHECK (c > 0);", "B106")
    assert len(fs) == 2


def test_table_from_an_earlier_migration_counts():
    assert fires("ALTER TABLE orders ADD CHECK (total >= 0);", "B106", before=["CREATE TABLE orders (total int);"])


def test_suppression_with_reason():
    sql = "-- bascule:ignore B106 reference data, 200 rows\nALTER TABLE colors ADD CHECK (name <> '');"
    assert not fires(sql, "B106")


def test_new_column_form_is_not_auto_fixable():
    f, = hits("ALTER TABLE orders ADD COLUMN discount int CHECK (discount >= 0);", "B106")
    assert not f.fixable
