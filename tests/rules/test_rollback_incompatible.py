"""B602 rollback-incompatible (opt-in)."""

import pytest
from _lint import fires, hits

ON = {"enabled": ["B602"]}


@pytest.mark.parametrize("sql,kind", [
    ("ALTER TABLE orders ADD COLUMN note text;", "new column orders.note"),
    ("ALTER TABLE orders ADD COLUMN total int GENERATED ALWAYS AS (a * 2) STORED;", "new generated column"),
    ("ALTER TYPE address ADD ATTRIBUTE street text;", "new attribute street of composite type address"),
    ("ALTER TYPE mood ADD VALUE 'happy' AFTER 'sad';", "new enum value 'happy' of mood"),
    ("ALTER TABLE orders ADD CONSTRAINT positive CHECK (amount > 0) NOT VALID;", "new write restriction"),
    ("ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;",
     "FOREIGN KEY fk"),
    ("ALTER TABLE orders ALTER COLUMN amount SET NOT NULL;", "SET NOT NULL on amount"),
    ("CREATE UNIQUE INDEX CONCURRENTLY orders_ref_key ON orders (ref);", "UNIQUE INDEX orders_ref_key CONCURRENTLY"),
    ("ALTER TABLE orders ALTER COLUMN status SET DEFAULT 'new';", "SET DEFAULT on orders.status"),
    ("ALTER TABLE orders ALTER COLUMN total SET EXPRESSION AS (a * 3);", "SET EXPRESSION on orders.total"),
    ("ALTER SEQUENCE order_numbers RESTART WITH 1;", "sequence value change on order_numbers (RESTART)"),
    ("ALTER SEQUENCE order_numbers INCREMENT BY 10 MAXVALUE 99999;", "(INCREMENT, MAXVALUE)"),
    ("ALTER TABLE events DETACH PARTITION events_2020 CONCURRENTLY;", "DETACH PARTITION events_2020 from events"),
    ("ALTER TABLE events_2020 NO INHERIT events;", "NO INHERIT events on events_2020"),
    ("DROP INDEX CONCURRENTLY orders_ref_idx;", "DROP INDEX orders_ref_idx"),
    ("DROP RULE protect ON orders;", "DROP RULE protect ON orders"),
    ("ALTER TABLE orders DISABLE TRIGGER audit;", "DISABLE TRIGGER audit on orders"),
    ("ALTER TABLE orders DISABLE TRIGGER ALL;", "DISABLE TRIGGER ALL on orders"),
    ("ALTER TABLE orders ENABLE REPLICA TRIGGER audit;", "ENABLE REPLICA TRIGGER audit"),
    ("ALTER TABLE orders DISABLE RULE protect;", "DISABLE RULE protect on orders"),
    ("CREATE OR REPLACE VIEW active_orders AS SELECT id FROM orders;", "CREATE OR REPLACE VIEW active_orders"),
    ("CREATE OR REPLACE FUNCTION total(int) RETURNS int LANGUAGE sql AS 'select 1';",
     "CREATE OR REPLACE FUNCTION total"),
    ("CREATE OR REPLACE PROCEDURE archive() LANGUAGE sql AS 'select 1';", "CREATE OR REPLACE PROCEDURE archive"),
    ("ALTER TABLE orders REPLICA IDENTITY FULL;", "REPLICA IDENTITY FULL on orders"),
])
def test_fires_and_names_the_case(sql, kind):
    f, = hits(sql, "B602", **ON)
    assert kind in f.message and f.severity == "warning"


@pytest.mark.parametrize("sql", [
    # new objects: no previous release uses them
    "CREATE TABLE t (a int);\nALTER TABLE t ADD COLUMN b int;\nCREATE UNIQUE INDEX ON t (b);",
    "CREATE TABLE t (a int);\nALTER TABLE t ADD CONSTRAINT c CHECK (a > 0);\nALTER TABLE t ALTER a SET NOT NULL;",
    "CREATE TYPE mood AS ENUM ('sad');\nALTER TYPE mood ADD VALUE 'happy';",
    "CREATE TYPE address AS (zip text);\nALTER TYPE address ADD ATTRIBUTE street text;",
    "CREATE SEQUENCE s;\nALTER SEQUENCE s RESTART WITH 100;",
    "CREATE VIEW v AS SELECT 1 AS a;\nCREATE OR REPLACE VIEW v AS SELECT 2 AS a;",
    "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'select 1';\n"
    "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS 'select 2';",
    "CREATE INDEX i ON orders (ref);\nDROP INDEX i;",
    # changes the previous release cannot notice
    "ALTER SEQUENCE order_numbers CACHE 20;",
    "ALTER TABLE orders ALTER COLUMN status DROP DEFAULT;",
    "ALTER TABLE orders ENABLE TRIGGER audit;",
    "CREATE VIEW v AS SELECT 1 AS a;",
    "ALTER TYPE mood RENAME VALUE 'sad' TO 'blue';",
    "CREATE INDEX CONCURRENTLY i ON orders (ref);",
])
def test_does_not_fire(sql):
    assert not fires(sql, "B602", **ON)


@pytest.mark.parametrize("sql", [
    # a default for a column added by this migration: the previous release does not write it anyway
    "ALTER TABLE orders ADD COLUMN note text;\nALTER TABLE orders ALTER note SET DEFAULT '';",
    # the unique index built by this migration already reported the restriction
    "CREATE UNIQUE INDEX CONCURRENTLY orders_ref_idx ON orders (ref);\n"
    "ALTER TABLE orders ADD CONSTRAINT orders_ref_key UNIQUE USING INDEX orders_ref_idx;",
])
def test_reported_once_at_the_first_statement(sql):
    assert [f.line for f in hits(sql, "B602", **ON)] == [1]


def test_opt_in_only():
    assert not fires("ALTER TABLE orders ADD COLUMN note text;", "B602")


def test_unique_index_from_context_says_so():
    f, = hits("DROP INDEX orders_ref_key;", "B602", before=["CREATE TABLE orders (ref text);\n"
                                                           "CREATE UNIQUE INDEX orders_ref_key ON orders (ref);"], **ON)
    assert "(unique)" in f.message and "ON CONFLICT" in f.message and f.table == "orders"


def test_position_and_table():
    f, = hits("SELECT 1;\nALTER TABLE app.orders ADD COLUMN note text;", "B602", **ON)
    assert (f.line, f.column) == (2, 35) and f.table == "app.orders" and "after a rollback" in f.message


def test_drop_trigger_is_left_to_b211_when_it_runs():
    assert not fires("DROP TRIGGER audit ON orders;", "B602", **ON)
    f, = hits("DROP TRIGGER audit ON orders;", "B602", disabled=["B211"], **ON)
    assert "DROP TRIGGER audit ON orders" in f.message and f.table == "orders"


def test_identity_sequence_changes_are_left_to_b216_when_it_runs():
    sql = "ALTER TABLE orders ALTER COLUMN id RESTART WITH 1;"
    assert not fires(sql, "B602", **ON)
    f, = hits(sql, "B602", disabled=["B216"], **ON)
    assert "identity of orders.id (RESTART)" in f.message


def test_one_finding_per_subcommand():
    fs = hits("ALTER TABLE orders ADD COLUMN a int, ADD COLUMN b int, ALTER c SET NOT NULL;", "B602", **ON)
    assert len(fs) == 3


def test_suppression_with_reason():
    sql = "-- bascule:ignore B602 no app rollback across 5.0, forward fixes only\nALTER TABLE o ADD COLUMN n text;"
    assert not fires(sql, "B602", **ON)
