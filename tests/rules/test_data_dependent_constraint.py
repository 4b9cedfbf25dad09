"""B210 data-dependent-constraint."""

import pytest
from _lint import fires, hits


@pytest.mark.parametrize("sql", [
    "CREATE UNIQUE INDEX users_email_key ON users (email);",
    "CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (lower(email));",
    "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);",
    "ALTER TABLE users ADD PRIMARY KEY (id);",
    "ALTER TABLE users ADD PRIMARY KEY USING INDEX users_id_key;",
    "ALTER TABLE users ALTER COLUMN email SET NOT NULL;",
    "ALTER TABLE users ADD CONSTRAINT age_positive CHECK (age > 0);",
])
def test_fires_on_existing_table(sql):
    assert fires(sql, "B210")


@pytest.mark.parametrize("sql", [
    "CREATE INDEX users_email_idx ON users (email);",
    "CREATE TABLE users (id bigint, email text);\nCREATE UNIQUE INDEX users_email_key ON users (email);",
    "CREATE TABLE users (id bigint, email text);\nALTER TABLE users ADD PRIMARY KEY (id);",
    "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_idx;",
    "ALTER TABLE users ADD CONSTRAINT age_positive CHECK (age > 0) NOT VALID;",
    "ALTER TABLE users VALIDATE CONSTRAINT age_positive;",
    "ALTER TABLE users ALTER COLUMN email DROP NOT NULL;",
    # a column added with a default: every existing row has a value
    "ALTER TABLE users ADD COLUMN plan text DEFAULT 'free';\nALTER TABLE users ALTER plan SET NOT NULL;",
])
def test_does_not_fire(sql):
    assert not fires(sql, "B210")


def test_unique_index_query_shape():
    f, = hits("SELECT 1;\nCREATE UNIQUE INDEX CONCURRENTLY i ON users (email);", "B210")
    assert (f.line, f.column) == (2, 1)
    assert f.severity == "warning" and f.table == "users"
    assert "INVALID" in f.message
    assert ("SELECT email, count(*) FROM users WHERE email IS NOT NULL GROUP BY email HAVING count(*) > 1"
            in f.message)


def test_unique_index_expressions_predicate_and_quoting():
    f, = hits('CREATE UNIQUE INDEX i ON app.accounts (lower(email), "Region" text_pattern_ops DESC) '
              "WHERE deleted_at IS NULL;", "B210", before=['CREATE TABLE app.accounts (email text, "Region" text NOT NULL)'])
    assert "INVALID" not in f.message
    assert ('SELECT lower(email), "Region", count(*) FROM app.accounts WHERE (deleted_at IS NULL) '
            'AND lower(email) IS NOT NULL GROUP BY lower(email), "Region" HAVING count(*) > 1') in f.message


def test_nulls_not_distinct_counts_nulls():
    f, = hits("CREATE UNIQUE INDEX i ON t (a) NULLS NOT DISTINCT;", "B210")
    assert "SELECT a, count(*) FROM t GROUP BY a HAVING count(*) > 1" in f.message


def test_primary_key_checks_duplicates_and_nulls():
    f, = hits("ALTER TABLE t ADD PRIMARY KEY (a, b);", "B210", before=["CREATE TABLE t (a int NOT NULL, b int)"])
    assert "GROUP BY a, b HAVING count(*) > 1" in f.message
    assert "SELECT count(*) FROM t WHERE b IS NULL" in f.message


def test_set_not_null_query_and_position():
    f, = hits("ALTER TABLE orders\n  ALTER COLUMN customer_id SET NOT NULL;", "B210")
    assert f.table == "orders" and "orders.customer_id" in f.message
    assert "SELECT count(*) FROM orders WHERE customer_id IS NULL" in f.message


def test_set_not_null_proven_or_already_not_null():
    proof = ["CREATE TABLE t (a int)", "ALTER TABLE t ADD CONSTRAINT a_nn CHECK (a IS NOT NULL) NOT VALID",
             "ALTER TABLE t VALIDATE CONSTRAINT a_nn"]
    assert not fires("ALTER TABLE t ALTER a SET NOT NULL;", "B210", before=proof)
    assert not fires("ALTER TABLE t ALTER a SET NOT NULL;", "B210", before=["CREATE TABLE t (a int NOT NULL)"])
    assert fires("ALTER TABLE t ALTER a SET NOT NULL;", "B210", before=proof[:2])


def test_new_column_without_default_then_set_not_null_fires():
    assert fires("ALTER TABLE t ADD COLUMN a int;\nUPDATE t SET a = 0;\nALTER TABLE t ALTER a SET NOT NULL;", "B210")


def test_pg18_not_null_constraint():
    f, = hits("ALTER TABLE t ADD CONSTRAINT a_nn NOT NULL a;", "B210", pg_version=18)
    assert "WHERE a IS NULL" in f.message
    assert not fires("ALTER TABLE t ADD CONSTRAINT a_nn NOT NULL a NOT VALID;", "B210", pg_version=18)


def test_check_query_shape():
    f, g = hits("ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0 AND (b < 10)),\n  ADD CONSTRAINT d CHECK (x <> 'é');",
                "B210")
    assert "SELECT count(*) FROM t WHERE NOT (a > 0 AND (b < 10))" in f.message and f.line == 1
    assert "SELECT count(*) FROM t WHERE NOT (x <> 'é')" in g.message and (g.line, g.column) == (2, 7)


def test_check_after_non_ascii_text():
    _, g = hits("ALTER TABLE t ADD CONSTRAINT d CHECK (x <> 'é'), ADD CONSTRAINT e CHECK (y > 1);", "B210")
    assert "WHERE NOT (y > 1)" in g.message


@pytest.mark.parametrize("change,condition", [
    ("a TYPE integer", "WHERE a NOT BETWEEN -2147483648 AND 2147483647"),
    ("b TYPE varchar(20)", "WHERE length(b) > 20"),
    ("d TYPE numeric(8,2)", "WHERE abs(d) >= 1e6"),
])
def test_narrowing_type_change_query(change, condition):
    before = ["CREATE TABLE t (a bigint, b varchar(50), d numeric(10,2))"]
    f, = hits(f"ALTER TABLE t ALTER {change};", "B210", before=before)
    assert condition in f.message


def test_type_change_that_cannot_fail():
    before = ["CREATE TABLE t (d numeric(10,4), f timestamptz, a bigint)"]
    assert not fires("ALTER TABLE t ALTER d TYPE numeric(10,2);", "B210", before=before)  # rounds only
    assert not fires("ALTER TABLE t ALTER f TYPE date;", "B210", before=before)
    assert not fires("ALTER TABLE t ALTER a TYPE integer USING least(a, 0);", "B210", before=before)


def test_suppression_with_reason():
    sql = "-- bascule:ignore B210 checked on prod 2024-05-01: no duplicates\nCREATE UNIQUE INDEX i ON t (a);"
    assert not fires(sql, "B210")
