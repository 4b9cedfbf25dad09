"""B123 foreign-key-without-index."""

import pytest
from _lint import fires, hits

from bascule.analyze import lint_sql

SCHEMA = ["CREATE TABLE customers (id bigint PRIMARY KEY);"
          "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, region int, code text);"]


@pytest.mark.parametrize("sql", [
    "ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers;",
    "ALTER TABLE orders ADD FOREIGN KEY (customer_id) REFERENCES customers NOT VALID;",
    "ALTER TABLE orders ADD COLUMN seller_id bigint REFERENCES customers;",
    "CREATE TABLE items (id bigint PRIMARY KEY, order_id bigint REFERENCES orders);",
    "CREATE TABLE items (id bigint, order_id bigint, FOREIGN KEY (order_id) REFERENCES orders (id));",
])
def test_fires(sql):
    assert fires(sql, "B123", before=SCHEMA)


@pytest.mark.parametrize("sql", [
    # an index built later in the same migration counts
    "ALTER TABLE orders ADD FOREIGN KEY (customer_id) REFERENCES customers NOT VALID;\n"
    "CREATE INDEX CONCURRENTLY orders_customer_idx ON orders (customer_id);",
    "CREATE INDEX orders_customer_idx ON orders (customer_id, id);\n"
    "ALTER TABLE orders ADD FOREIGN KEY (customer_id) REFERENCES customers;",
    # a primary key or unique constraint leading with the columns
    "CREATE TABLE items (order_id bigint REFERENCES orders, n int, PRIMARY KEY (order_id, n));",
    "CREATE TABLE profiles (customer_id bigint PRIMARY KEY REFERENCES customers);",
    "CREATE TABLE profiles (customer_id bigint UNIQUE REFERENCES customers);",
    "CREATE TABLE items (order_id bigint, n int, CONSTRAINT items_u UNIQUE (order_id, n),"
    " FOREIGN KEY (order_id) REFERENCES orders);",
    # multi-column: any order among the leading columns
    "CREATE INDEX i ON orders (region, customer_id);\n"
    "ALTER TABLE orders ADD FOREIGN KEY (customer_id, region) REFERENCES customers (id, r);",
    # the foreign key or its table is gone by the end of the migration
    "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (customer_id) REFERENCES customers;\n"
    "ALTER TABLE orders DROP CONSTRAINT fk;",
    "CREATE TABLE tmp (c bigint REFERENCES customers);\nDROP TABLE tmp;",
])
def test_does_not_fire(sql):
    assert not fires(sql, "B123", before=SCHEMA)


def test_index_from_an_earlier_migration():
    assert not fires("ALTER TABLE orders ADD FOREIGN KEY (customer_id) REFERENCES customers;", "B123",
                     before=SCHEMA + ["CREATE INDEX orders_customer_idx ON orders (customer_id);"])


@pytest.mark.parametrize("index", [
    "CREATE INDEX i ON orders (region, customer_id);",  # not the leading column
    "CREATE INDEX i ON orders (customer_id) WHERE region = 1;",  # partial
    "CREATE INDEX i ON orders USING gin (customer_id);",  # not a B-tree
    "CREATE INDEX i ON orders ((customer_id + 0));",  # an expression
    "CREATE INDEX i ON orders (customer_id); DROP INDEX i;",  # dropped since
    "CREATE INDEX i ON orders (customer_id, region); ALTER TABLE orders DROP COLUMN region;",  # dropped with it
])
def test_indexes_that_do_not_serve(index):
    assert fires("ALTER TABLE orders ADD FOREIGN KEY (customer_id) REFERENCES customers;", "B123",
                 before=SCHEMA + [index])


def test_renamed_column_and_table_keep_their_index():
    before = SCHEMA + ["CREATE INDEX i ON orders (customer_id);",
                       "ALTER TABLE orders RENAME COLUMN customer_id TO buyer_id; ALTER TABLE orders RENAME TO sales;"]
    assert not fires("ALTER TABLE sales ADD FOREIGN KEY (buyer_id) REFERENCES customers;", "B123", before=before)


def test_position_message_and_severity():
    f, = hits("SELECT 1;\nALTER TABLE orders\n  ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id)\n"
              "  REFERENCES customers ON DELETE CASCADE;", "B123", before=SCHEMA)
    assert (f.line, f.column) == (3, 7) and f.table == "orders" and f.severity == "warning"
    assert "orders_customer_fk" in f.message and "(customer_id)" in f.message and "customers" in f.message
    assert "ON DELETE CASCADE" in f.message and f.category == "design" and f.statement == 1


def test_generated_name_and_table_created_in_the_same_migration():
    f, = hits("CREATE TABLE items (id bigint, order_id bigint REFERENCES orders);", "B123", before=SCHEMA)
    assert "items_order_id_fkey" in f.message and f.severity == "warning"


def test_unknown_table_without_a_connection_is_info():
    f, = hits("ALTER TABLE orders ADD FOREIGN KEY (customer_id) REFERENCES customers;", "B123")
    assert f.severity == "info" and "--env" in f.notes[0]


def test_suppression_with_reason():
    sql = ("-- bascule:ignore B123 customers are never deleted\n"
           "ALTER TABLE orders ADD FOREIGN KEY (customer_id) REFERENCES customers;")
    assert not fires(sql, "B123", before=SCHEMA)


def test_live_catalog_indexes(db):
    from bascule.analyze.live import LiveCatalog

    db.exec("CREATE TABLE customers (id bigint PRIMARY KEY);"
            "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, region int);"
            "CREATE INDEX orders_region_customer_idx ON orders (region, customer_id);"
            "CREATE INDEX orders_partial_idx ON orders (customer_id) WHERE region = 1;")
    sql = "ALTER TABLE orders ADD FOREIGN KEY (customer_id) REFERENCES customers;"
    with db.connect() as conn:
        live = LiveCatalog(conn, probe=False)
        assert sorted(live.index_columns("orders")) == [["id"], ["region", "customer_id"]]
        f, = [f for f in lint_sql(sql, live=live).findings if f.code == "B123"]
        assert f.severity == "warning" and not f.notes
        db.exec("CREATE INDEX orders_customer_idx ON orders (customer_id, region);")
        live = LiveCatalog(conn, probe=False)
        assert not [f for f in lint_sql(sql, live=live).findings if f.code == "B123"]
        # a live index dropped by the migration no longer counts
        assert [f for f in lint_sql("DROP INDEX orders_customer_idx;\n" + sql, live=live).findings
                if f.code == "B123"]
