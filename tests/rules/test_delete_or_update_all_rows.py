"""B302 delete-or-update-all-rows."""

import pytest
from _lint import fires, hits


@pytest.mark.parametrize("sql", [
    "DELETE FROM orders;",
    "UPDATE orders SET status = 'new';",
    "DELETE FROM app.orders USING customers;",
    "UPDATE ONLY orders SET status = 'new' RETURNING id;",
])
def test_fires_on_existing_table(sql):
    assert fires(sql, "B302")


@pytest.mark.parametrize("sql", [
    "DELETE FROM orders WHERE id = 1;",
    "UPDATE orders SET status = 'new' WHERE status IS NULL;",
    "UPDATE orders o SET total = c.total FROM totals c;",  # a join: left to the reviewer
    "CREATE TABLE tmp (a int);\nINSERT INTO tmp VALUES (1);\nUPDATE tmp SET a = 2;\nDELETE FROM tmp;",
    "TRUNCATE orders;",
])
def test_does_not_fire(sql):
    assert not fires(sql, "B302")


def test_delete_message_position_and_severity():
    f, = hits("SELECT 1;\n  DELETE FROM orders;", "B302")
    assert (f.line, f.column) == (2, 15)
    assert f.severity == "warning" and f.table == "orders" and f.category == "data-loss"
    assert "removes every row of orders" in f.message


def test_update_message():
    f, = hits("UPDATE orders SET status = 'x';", "B302")
    assert "UPDATE without WHERE" in f.message and "every row of orders" in f.message


def test_table_from_an_earlier_migration_still_counts():
    assert fires("DELETE FROM t;", "B302", before=["CREATE TABLE t (a int);"])


def test_suppression_with_reason():
    assert not fires("-- bascule:ignore B302 settings table, 3 rows\nUPDATE settings SET theme = 'x';", "B302")
