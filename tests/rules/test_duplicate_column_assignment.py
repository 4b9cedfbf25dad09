"""B411 duplicate-column-assignment (every case checked against PostgreSQL 18: the firing ones are
rejected, the others accepted)."""

import pytest
from _lint import fires, hits


@pytest.mark.parametrize("sql", [
    "UPDATE t SET a = 1, b = 2, a = 3;",
    "UPDATE t SET a = '{1}', a[2] = 3;",  # a whole assignment and a subscript of the same column
    "UPDATE t SET a[1] = 1, a = '{3}';",
    "UPDATE t SET (b, b) = (1, 2);",
    "UPDATE t SET (a, b) = (SELECT 1, 2), b = 3 WHERE id = 1;",
    "INSERT INTO t (a, b, a) VALUES (1, 2, 3);",
    "INSERT INTO t (a, a[2]) VALUES ('{1}', 2);",
    "INSERT INTO t (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET c = 1, c = 2;",
    "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET b = 1, b = 2;",
    "MERGE INTO t USING s ON t.id = s.id WHEN NOT MATCHED THEN INSERT (a, a) VALUES (1, 2);",
    "CREATE TABLE t (a int, b int, a text);",
    "ALTER TABLE t ADD COLUMN c int, ADD COLUMN c int;",
    "ALTER TABLE t ADD COLUMN IF NOT EXISTS c int, ADD COLUMN c int;",
    "CREATE VIEW v (a, a) AS SELECT 1, 2;",
    "CREATE MATERIALIZED VIEW v (a, a) AS SELECT 1, 2;",
    "CREATE TABLE x (a, a) AS SELECT 1, 2;",
])
def test_fires(sql):
    assert fires(sql, "B411")


@pytest.mark.parametrize("sql", [
    "UPDATE t SET a[1] = 1, a[2] = 3;",  # different subscripts of one column: allowed
    "INSERT INTO t (a[1], a[2]) VALUES (1, 2);",
    "UPDATE t SET a = 1, b = 2;",
    "INSERT INTO t (a, b) SELECT a, a FROM u;",  # a source column read twice is fine
    "ALTER TABLE t ADD COLUMN c int, ADD COLUMN IF NOT EXISTS c int;",  # the second one just skips
    "CREATE TABLE t (a int, b int, CHECK (a > b), UNIQUE (a, b));",
    "CREATE VIEW v (a, b) AS SELECT 1, 2;",
    "CREATE TABLE c (a int) INHERITS (p);",  # merged with the parent's a: a notice, not an error
])
def test_does_not_fire(sql):
    assert not fires(sql, "B411")


def test_position_message_and_severity():
    f, = hits("SELECT 1;\nUPDATE orders\n   SET status = 'paid',\n       status = 'sent';", "B411")
    assert (f.line, f.column) == (4, 8)  # the repeated assignment
    assert "status" in f.message and "orders" in f.message and f.table == "orders" and f.severity == "error"


def test_each_repeat_is_reported():
    assert [f.column for f in hits("INSERT INTO t (a, b, a, b) VALUES (1, 2, 3, 4);", "B411")] == [22, 25]


def test_table_created_in_the_same_migration_still_counts():
    assert fires("CREATE TABLE t (a int);\nALTER TABLE t ADD COLUMN b int, ADD COLUMN b text;", "B411")


def test_suppression_with_reason():
    assert not fires("-- bascule:ignore B411 this file is never run, kept as a negative example\n"
                     "UPDATE t SET a = 1, a = 2;", "B411")
