"""B408 enum-change."""

import pytest
from _lint import fires, hits

ADD = "ALTER TYPE order_status ADD VALUE 'refunded';"


def test_create_enum_is_info():
    f, = hits("CREATE TYPE order_status AS ENUM ('new', 'paid');", "B408")
    assert f.severity == "info" and "never removed or reordered" in f.message


def test_rename_value_is_a_warning():
    f, = hits("ALTER TYPE order_status RENAME VALUE 'paid' TO 'settled';", "B408")
    assert f.severity == "warning" and "'paid'" in f.message and "code already running" in f.message


def test_add_value_alone_is_fine_on_12_and_later():
    assert not hits(ADD, "B408")


@pytest.mark.parametrize("later", [
    "UPDATE orders SET status = 'refunded' WHERE refunded_at IS NOT NULL;",
    "SELECT count(*) FROM orders WHERE status = 'refunded';",
    "ALTER TABLE orders ADD COLUMN last_status order_status DEFAULT 'refunded';",
    "INSERT INTO orders (status) VALUES ('refunded'::order_status);",
    "CREATE INDEX orders_refunded_idx ON orders (id) WHERE status = 'refunded';",
])
def test_new_value_used_in_the_same_transaction(later):
    f, = hits(f"{ADD}\n{later}", "B408")
    assert f.severity == "error" and f.line == 2 and "unsafe use of new value" in f.message
    assert "'refunded'" in f.message and "(line 1)" in f.message


def test_position_of_the_constant():
    f, = hits(f"{ADD}\nUPDATE orders SET status = 'refunded';", "B408")
    assert (f.line, f.column) == (2, 28)


@pytest.mark.parametrize("later", [
    "UPDATE orders SET note = 'refunded'::text;",  # cast to another type
    "UPDATE orders SET status = 'paid';",  # another value
])
def test_other_constants_do_not_count(later):
    assert not fires(f"{ADD}\n{later}", "B408")


def test_not_one_transaction():
    sql = f"{ADD}\nUPDATE orders SET status = 'refunded';"
    assert not fires(sql, "B408", transaction="never")
    sql_cic = f"{ADD}\nCREATE INDEX CONCURRENTLY i ON orders (id);\nUPDATE orders SET status = 'refunded';"
    assert not fires(sql_cic, "B408")


def test_used_in_a_later_migration_is_fine():
    assert not fires("UPDATE orders SET status = 'refunded';", "B408", before=[ADD])


def test_add_if_not_exists_of_an_existing_value():
    sql = "ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'paid';\nUPDATE orders SET status = 'paid';"
    assert not fires(sql, "B408", before=["CREATE TYPE order_status AS ENUM ('new', 'paid');"])


def test_type_created_in_the_same_transaction():
    sql = ("CREATE TYPE mood AS ENUM ('ok');\nALTER TYPE mood ADD VALUE 'sad';\n"
           "CREATE TABLE t (m mood DEFAULT 'sad');")
    errors = lambda v: [f for f in hits(sql, "B408", pg_version=v) if f.severity == "error"]  # noqa: E731
    assert errors(16) and not errors(17)


def test_add_value_in_a_transaction_before_12():
    # bascule's runner runs such a migration statement by statement: nothing to report
    assert not hits(ADD, "B408", pg_version=11)
    f, = hits(ADD, "B408", pg_version=11, transaction="always")
    assert f.severity == "error" and "PostgreSQL 11 refuses it" in f.message
    # another tool wraps the file in a transaction
    assert fires(ADD, "B408", pg_version=11, runner="other")


def test_add_value_before_12_to_a_type_created_in_the_same_transaction():
    sql = "CREATE TYPE mood AS ENUM ('ok');\nALTER TYPE mood ADD VALUE 'sad';"
    assert [f.severity for f in hits(sql, "B408", pg_version=11, runner="other")] == ["info"]


def test_suppression_with_reason():
    sql = f"{ADD}\n-- bascule:ignore B408 the runner commits between statements here\nSELECT 'refunded';"
    assert not fires(sql, "B408")
