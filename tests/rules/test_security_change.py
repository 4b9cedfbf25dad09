"""B601 security-change (opt-in)."""

import pytest
from _lint import fires, hits

ON = {"enabled": ["B601"]}


@pytest.mark.parametrize("sql", [
    "GRANT SELECT ON orders TO reporting;",
    "GRANT SELECT ON ALL TABLES IN SCHEMA app TO reporting;",
    "REVOKE SELECT ON orders FROM app_user;",
    "REVOKE ALL ON SCHEMA public FROM PUBLIC;",
    "GRANT EXECUTE ON FUNCTION f() TO app_user;",
    "GRANT admin TO bob;",
    "REVOKE admin FROM bob;",
    "ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT ON TABLES TO reporting;",
    "CREATE POLICY owner_only ON orders TO app_user USING (owner_id = current_user_id());",
    "ALTER POLICY owner_only ON orders USING (true);",
    "ALTER POLICY owner_only ON orders TO app_user, support;",
    "DROP POLICY owner_only ON orders;",
    "ALTER TABLE orders ENABLE ROW LEVEL SECURITY;",
    "ALTER TABLE orders DISABLE ROW LEVEL SECURITY;",
    "ALTER TABLE orders FORCE ROW LEVEL SECURITY;",
    "ALTER TABLE orders NO FORCE ROW LEVEL SECURITY;",
    "ALTER FUNCTION f() SECURITY DEFINER;",
    "ALTER PROCEDURE p() SECURITY INVOKER;",
    "ALTER FUNCTION f() SET search_path = app, pg_temp;",
    "ALTER ROUTINE r() RESET ALL;",
    "ALTER FUNCTION f() LEAKPROOF;",
    "ALTER VIEW v SET (security_invoker = true);",
    "ALTER VIEW v RESET (security_barrier);",
    "ALTER VIEW v SET (check_option = local);",
    "ALTER ROLE app_user NOLOGIN;",
    "ALTER USER bob WITH PASSWORD 'secret';",
    "ALTER ROLE bob IN DATABASE app SET search_path = app;",
    "ALTER ROLE ALL SET statement_timeout = 0;",
    "ALTER GROUP admins ADD USER bob;",
    "CREATE ROLE reporting LOGIN;",
    "CREATE FUNCTION f() RETURNS int SECURITY DEFINER LANGUAGE sql AS 'select 1';",
])
def test_fires_when_enabled(sql):
    assert fires(sql, "B601", **ON)


@pytest.mark.parametrize("sql", [
    "ALTER FUNCTION f() COST 10;",
    "ALTER FUNCTION f() IMMUTABLE;",
    "ALTER FUNCTION f() NOT LEAKPROOF;",
    "ALTER TABLE orders SET (fillfactor = 70);",
    "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'select 1';",
    "DROP TRIGGER t ON orders;",
    "ALTER TABLE orders ADD COLUMN owner_id bigint;",
])
def test_does_not_fire_on_other_changes(sql):
    assert not fires(sql, "B601", **ON)


def test_opt_in_only():
    assert not fires("GRANT SELECT ON orders TO reporting;", "B601")
    assert fires("GRANT SELECT ON orders TO reporting;", "B601", only=["B601"])


def test_fires_on_tables_created_in_the_same_migration():
    # access to a new table deserves the same review
    assert fires("CREATE TABLE t (a int);\nGRANT SELECT ON t TO PUBLIC;", "B601", **ON)


def test_grant_message():
    f, = hits("SELECT 1;\nGRANT SELECT, INSERT ON app.orders TO reporting WITH GRANT OPTION;", "B601", **ON)
    assert (f.line, f.column) == (2, 1) and f.severity == "warning" and f.table == "app.orders"
    assert "GRANT SELECT, INSERT ON TABLE app.orders TO reporting" in f.message and "pass it on" in f.message


def test_revoke_message_says_what_breaks():
    f, = hits("REVOKE SELECT ON orders FROM app_user;", "B601", **ON)
    assert "permission denied" in f.message and "app_user" in f.message


def test_rls_message_names_the_table():
    f, = hits("ALTER TABLE orders ENABLE ROW LEVEL SECURITY;", "B601", **ON)
    assert f.table == "orders" and "ENABLE ROW LEVEL SECURITY on orders" in f.message


def test_security_definer_without_search_path():
    f, = hits("CREATE FUNCTION f() RETURNS int SECURITY DEFINER LANGUAGE sql AS 'select 1';", "B601", **ON)
    assert "search_path" in f.message and (f.line, f.column) == (1, 33)
    f, = hits("CREATE FUNCTION f() RETURNS int SECURITY DEFINER SET search_path = pg_catalog, pg_temp "
              "LANGUAGE sql AS 'select 1';", "B601", **ON)
    assert "without SET search_path" not in f.message


def test_password_is_never_shown():
    f, = hits("ALTER USER bob WITH PASSWORD 'hunter2';", "B601", **ON)
    assert "hunter2" not in f.message and "hunter2" not in (f.sql or "")


def test_one_finding_per_security_subcommand():
    fs = hits("ALTER TABLE orders ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY, ADD COLUMN a int;",
              "B601", **ON)
    assert len(fs) == 2


def test_suppression_with_reason():
    sql = "-- bascule:ignore B601 reviewed by security (SEC-114)\nGRANT SELECT ON orders TO reporting;"
    assert not fires(sql, "B601", **ON)
