"""B403 varchar-limit."""

import pytest
from _lint import fires, hits


@pytest.mark.parametrize("sql", [
    "CREATE TABLE users (email varchar(255));",
    "CREATE TABLE users (email character varying(255) NOT NULL);",
    "ALTER TABLE users ADD COLUMN nick varchar(30);",
    "ALTER TABLE users ALTER COLUMN email TYPE varchar(320);",
    "CREATE TABLE users (tags varchar(20)[]);",
])
def test_fires(sql):
    assert fires(sql, "B403")


@pytest.mark.parametrize("sql", [
    "CREATE TABLE users (email text);",
    "CREATE TABLE users (email varchar);",
    "ALTER TABLE users ALTER COLUMN email TYPE text;",
    "CREATE TABLE users (code char(2));",
])
def test_does_not_fire(sql):
    assert not fires(sql, "B403")


def test_info_with_the_check_to_use():
    f, = hits("CREATE TABLE users (id bigint, email varchar(255));", "B403")
    assert f.severity == "info" and f.table == "users" and (f.line, f.column) == (1, 38)
    assert "varchar(255)" in f.message and "char_length(email) <= 255" in f.message


def test_info_does_not_fail_the_run():
    from bascule.analyze import lint_sql

    r = lint_sql("CREATE TABLE users (email varchar(255));", only=["B403"])
    assert r.exit_code() == 0 and r.counts()["info"] == 1
