"""B402 char-column."""

import pytest
from _lint import fires, hits


@pytest.mark.parametrize("sql", [
    "CREATE TABLE countries (code char(2) PRIMARY KEY);",
    "CREATE TABLE countries (code character(2));",
    "CREATE TABLE flags (f char);",
    "ALTER TABLE countries ADD COLUMN iso3 nchar(3);",
    "ALTER TABLE countries ALTER COLUMN code TYPE bpchar;",
])
def test_fires(sql):
    assert fires(sql, "B402")


@pytest.mark.parametrize("sql", [
    "CREATE TABLE countries (code text CHECK (char_length(code) = 2));",
    "CREATE TABLE countries (code varchar(2));",
    "CREATE TABLE internal (kind \"char\");",
    "CREATE TABLE t (c myschema.bpchar);",
])
def test_does_not_fire(sql):
    assert not fires(sql, "B402")


def test_message_position_severity():
    f, = hits("CREATE TABLE countries (\n  code char(2)\n);", "B402")
    assert (f.line, f.column) == (2, 8)
    assert f.severity == "warning" and f.table == "countries"
    assert "char(2)" in f.message and "padded" in f.message and "text" in f.message


def test_suppression_with_reason():
    sql = "-- bascule:ignore B402 fixed-width ISO code, matches the partner's schema\nCREATE TABLE c (code char(2));"
    assert not fires(sql, "B402")
