"""B205 drop-schema-or-database."""

import pytest
from _lint import fires, hits


@pytest.mark.parametrize("sql", [
    "DROP SCHEMA reporting CASCADE;",
    "DROP SCHEMA IF EXISTS reporting;",
    "DROP DATABASE analytics;",
    "DROP DATABASE IF EXISTS analytics WITH (FORCE);",
])
def test_fires(sql):
    assert fires(sql, "B205")


@pytest.mark.parametrize("sql", [
    "CREATE SCHEMA staging;\nCREATE TABLE staging.t (a int);\nDROP SCHEMA staging CASCADE;",
    "DROP TABLE reporting.t;",
    "DROP TYPE mood;",
])
def test_does_not_fire(sql):
    assert not fires(sql, "B205")


def test_cascade_message():
    f, = hits("SELECT 1;\nDROP SCHEMA reporting CASCADE;", "B205")
    assert (f.line, f.column) == (2, 1)
    assert f.severity == "error" and f.category == "data-loss"
    assert "reporting" in f.message and "CASCADE" in f.message


def test_without_cascade_message_says_it_must_be_empty():
    f, = hits("DROP SCHEMA reporting;", "B205")
    assert "empty" in f.message


def test_each_schema_reported():
    assert len(hits("DROP SCHEMA a, b CASCADE;", "B205")) == 2


def test_drop_database_message():
    f, = hits("DROP DATABASE analytics;", "B205")
    assert "analytics" in f.message and "whole database" in f.message
