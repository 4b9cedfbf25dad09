"""B206 add-required-column."""

import pytest
from _lint import fires, hits


@pytest.mark.parametrize("sql", [
    "ALTER TABLE users ADD COLUMN tenant_id bigint NOT NULL;",
    "ALTER TABLE users ADD tenant_id bigint NOT NULL REFERENCES tenants (id);",
    "ALTER TABLE users ADD COLUMN tenant_id bigint NOT NULL DEFAULT NULL;",
    "ALTER TABLE users ADD COLUMN tenant_id bigint DEFAULT NULL::bigint NOT NULL;",
    "ALTER TABLE users ADD COLUMN uid uuid PRIMARY KEY;",
])
def test_fires_on_existing_table(sql):
    assert fires(sql, "B206")


@pytest.mark.parametrize("sql", [
    "ALTER TABLE users ADD COLUMN tenant_id bigint;",
    "ALTER TABLE users ADD COLUMN active boolean NOT NULL DEFAULT true;",
    "ALTER TABLE users ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();",
    "ALTER TABLE users ADD COLUMN id2 bigint GENERATED ALWAYS AS IDENTITY NOT NULL;",
    "ALTER TABLE users ADD COLUMN n bigserial NOT NULL;",
    "ALTER TABLE users ADD COLUMN total numeric NOT NULL GENERATED ALWAYS AS (price * qty) STORED;",
    # a table created in the same migration is empty and no code writes to it yet
    "CREATE TABLE users (id bigint);\nALTER TABLE users ADD COLUMN tenant_id bigint NOT NULL;",
])
def test_does_not_fire(sql):
    assert not fires(sql, "B206")


def test_position_message_severity():
    f, = hits("ALTER TABLE orders\n    ADD COLUMN tenant_id bigint NOT NULL;", "B206")
    assert (f.line, f.column) == (2, 16)
    assert f.severity == "error" and f.table == "orders"
    assert "tenant_id" in f.message and "orders" in f.message and "without a default" in f.message


def test_each_column_reported():
    fs = hits("ALTER TABLE t ADD a int NOT NULL, ADD b int NOT NULL DEFAULT 0, ADD c int NOT NULL;", "B206")
    assert [f.message.split()[2] for f in fs] == ["a", "c"]


def test_table_from_an_earlier_migration_counts():
    assert fires("ALTER TABLE t ADD COLUMN b int NOT NULL;", "B206", before=["CREATE TABLE t (a int);"])


def test_marks_the_migration_breaking():
    from bascule.analyze import lint_sql
    m, = lint_sql("ALTER TABLE t ADD COLUMN uid uuid PRIMARY KEY;").migrations
    assert "breaking" in m.classification


def test_suppression_with_reason():
    assert not fires("ALTER TABLE t ADD b int NOT NULL; -- bascule:ignore B206 t is always empty (staging)", "B206")
