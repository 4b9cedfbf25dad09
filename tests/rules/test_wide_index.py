"""B412 wide-index."""

import pytest
from _lint import fires, hits


@pytest.mark.parametrize("sql", [
    "CREATE INDEX i ON orders (a, b, c, d);",
    "CREATE INDEX CONCURRENTLY ON orders USING btree (a, b, c, lower(d), e);",
    "CREATE TABLE t (a int, b int, c int, d int);\nCREATE INDEX i ON t (a, b, c, d);",  # design: new tables too
])
def test_fires(sql):
    assert fires(sql, "B412")


@pytest.mark.parametrize("sql", [
    "CREATE INDEX i ON orders (a, b, c);",
    "CREATE INDEX i ON orders (a, b, c) INCLUDE (d, e, f);",  # INCLUDE columns are not keys
    "CREATE UNIQUE INDEX i ON orders (a, b, c, d);",  # a uniqueness rule needs every column
    "CREATE INDEX i ON orders USING gin (a, b, c, d);",  # other access methods: not this rule's business
    "CREATE INDEX i ON orders USING brin (a, b, c, d);",
    "ALTER TABLE orders ADD CONSTRAINT k UNIQUE (a, b, c, d);",
])
def test_does_not_fire(sql):
    assert not fires(sql, "B412")


def test_message_position_and_severity():
    f, = hits("SELECT 1;\n  CREATE INDEX orders_wide_idx ON orders (customer_id, status, created_at, (total * 2));",
              "B412")
    assert (f.line, f.column) == (2, 3) and f.severity == "info" and f.table == "orders"
    assert "orders_wide_idx" in f.message and "4 key columns" in f.message and "(expression)" in f.message
    assert "INCLUDE" in f.fix


def test_suppression_with_reason():
    assert not fires("-- bascule:ignore B412 measured: the range query uses all four\n"
                     "CREATE INDEX i ON orders (a, b, c, d);", "B412")
