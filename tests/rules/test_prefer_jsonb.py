"""B401 prefer-jsonb."""

import pytest
from _lint import fires, hits


@pytest.mark.parametrize("sql", [
    "CREATE TABLE events (id bigint, payload json);",
    "CREATE TABLE events (id bigint, payloads json[] NOT NULL);",
    "ALTER TABLE events ADD COLUMN payload json;",
    "ALTER TABLE events ADD COLUMN IF NOT EXISTS payload pg_catalog.json DEFAULT '{}';",
    "ALTER TABLE events ALTER COLUMN payload TYPE json USING payload::json;",
])
def test_fires(sql):
    assert fires(sql, "B401")


@pytest.mark.parametrize("sql", [
    "CREATE TABLE events (id bigint, payload jsonb);",
    "ALTER TABLE events ALTER COLUMN payload TYPE jsonb;",
    "CREATE TABLE events (payload myschema.json);",
    "SELECT '{}'::json;",
    "CREATE TABLE events (id bigint, payload jsonb);\nALTER TABLE events ADD COLUMN note text;",
])
def test_does_not_fire(sql):
    assert not fires(sql, "B401")


def test_fires_on_a_table_created_in_the_same_migration_at_the_type():
    f, = hits("CREATE TABLE events (\n  id bigint,\n  payload json\n);", "B401")
    assert (f.line, f.column) == (3, 11)
    assert f.severity == "warning" and f.table == "events" and f.category == "design"
    assert "column payload of events is json" in f.message and "jsonb" in f.message


def test_type_change_says_becomes():
    f, = hits("ALTER TABLE events ALTER COLUMN payload TYPE json;", "B401", before=["CREATE TABLE events (payload text);"])
    assert "becomes json" in f.message


def test_one_finding_per_column():
    assert len(hits("CREATE TABLE t (a json, b jsonb, c json);", "B401")) == 2


def test_suppression_with_reason():
    assert not fires("CREATE TABLE t (raw json); -- bascule:ignore B401 keeps the exact webhook body", "B401")
