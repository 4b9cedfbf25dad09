"""B603 server-wide-change."""

import pytest
from _lint import fires, hits


@pytest.mark.parametrize("sql", [
    "ALTER SYSTEM SET timezone = 'UTC';",
    "ALTER SYSTEM RESET ALL;",
    "ALTER DATABASE app SET search_path TO app, public;",
    "ALTER DATABASE app RESET statement_timeout;",
    "ALTER DATABASE app WITH CONNECTION LIMIT 10;",
    "ALTER DATABASE app SET TABLESPACE fast;",
    "ALTER DATABASE app REFRESH COLLATION VERSION;",
    "ALTER EXTENSION postgis UPDATE TO '3.4.0';",
    "ALTER EXTENSION postgis UPDATE;",
    "ALTER EXTENSION hstore ADD FUNCTION my_helper(hstore);",
    "ALTER EXTENSION hstore DROP FUNCTION hstore_to_json(hstore);",
])
def test_fires(sql):
    assert fires(sql, "B603")


@pytest.mark.parametrize("sql", [
    "SET search_path TO app;",
    "SET LOCAL statement_timeout = '5s';",
    "ALTER ROLE app SET search_path TO app;",
    "CREATE EXTENSION IF NOT EXISTS pg_trgm;",
    "ALTER EXTENSION pg_trgm SET SCHEMA extensions;",
    "ALTER DATABASE app OWNER TO admin;",
])
def test_does_not_fire(sql):
    assert not fires(sql, "B603")


def test_on_by_default_and_disabled_by_code():
    assert fires("ALTER SYSTEM SET work_mem = '64MB';", "B603")
    assert not fires("ALTER SYSTEM SET work_mem = '64MB';", "B603", disabled=["B603"])


def test_alter_system_message():
    f, = hits("SELECT 1;\nALTER SYSTEM SET work_mem = '64MB';", "B603")
    assert (f.line, f.column) == (2, 1) and f.severity == "warning" and f.category == "structure"
    assert "SET work_mem" in f.message and "every database" in f.message and "transaction" in f.message


def test_database_setting_message():
    f, = hits("ALTER DATABASE app SET statement_timeout = '30s';", "B603")
    assert "app" in f.message and "new session" in f.message


def test_extension_update_names_the_version():
    f, = hits("ALTER EXTENSION postgis UPDATE TO '3.4.0';", "B603")
    assert "postgis" in f.message and "'3.4.0'" in f.message
    f, = hits("ALTER EXTENSION postgis UPDATE;", "B603")
    assert "default version" in f.message


def test_tablespace_move_needs_no_other_connections():
    f, = hits("ALTER DATABASE app SET TABLESPACE fast;", "B603")
    assert "connected" in f.message


def test_suppression_with_reason():
    sql = "-- bascule:ignore B603 dev-only migration set, applied by the DBA in prod\nALTER SYSTEM SET x = 1;"
    assert not fires(sql, "B603")
