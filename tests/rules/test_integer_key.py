"""B405 integer-key."""

import pytest
from _lint import fires, hits


def sev(sql, **kw):
    return [(f.message.split(" ", 2)[1], f.severity) for f in hits(sql, "B405", **kw)]


@pytest.mark.parametrize("sql", [
    "CREATE TABLE orders (id int PRIMARY KEY);",
    "CREATE TABLE orders (id serial PRIMARY KEY);",
    "CREATE TABLE orders (n integer, PRIMARY KEY (n));",
    "CREATE TABLE items (order_ref int REFERENCES orders (id));",
    "CREATE TABLE items (o int, FOREIGN KEY (o) REFERENCES orders);",
    "CREATE TABLE items (customer_id smallint);",
    "ALTER TABLE items ADD COLUMN customer_id int4;",
    "ALTER TABLE items ALTER COLUMN id TYPE integer;",
    "ALTER TABLE items ADD COLUMN n int, ADD CONSTRAINT items_n_fk FOREIGN KEY (n) REFERENCES x;",
    "CREATE TABLE t (id smallserial);",
])
def test_warns_on_keys(sql):
    assert [s for _, s in sev(sql)] == ["warning"]


@pytest.mark.parametrize("sql", [
    "CREATE TABLE orders (quantity int);",
    "CREATE TABLE orders (rank smallint);",
    "ALTER TABLE orders ADD COLUMN quantity integer NOT NULL DEFAULT 0;",
])
def test_info_on_other_integer_columns(sql):
    assert [s for _, s in sev(sql)] == ["info"]


@pytest.mark.parametrize("sql", [
    "CREATE TABLE orders (id bigint PRIMARY KEY);",
    "CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id int8);",
    "CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY, ids int[]);",
    "CREATE TABLE orders (total numeric(12,2));",
    "CREATE TABLE orders (id myschema.int4);",
])
def test_does_not_fire(sql):
    assert not fires(sql, "B405")


def test_each_column_of_a_table():
    sql = "CREATE TABLE items (\n  id serial PRIMARY KEY,\n  order_id int NOT NULL,\n  qty int\n);"
    assert sev(sql) == [("id", "warning"), ("order_id", "warning"), ("qty", "info")]
    f = hits(sql, "B405")[0]
    assert (f.line, f.column) == (2, 6) and f.table == "items"
    assert "a primary key" in f.message and "2,147,483,647" in f.message and "bigint" in f.message


def test_smallint_limit_in_message():
    f, = hits("CREATE TABLE t (code_id smallint);", "B405")
    assert "32,767" in f.message and "an identifier" in f.message


def test_suppression_with_reason():
    assert not fires("CREATE TABLE t (id int PRIMARY KEY); -- bascule:ignore B405 lookup table, 12 rows", "B405")
