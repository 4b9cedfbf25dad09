"""B104 concurrently-in-transaction."""

import pytest

from bascule.analyze import lint_sql


def b104(sql, **kw):
    return [f for f in lint_sql(sql, **kw).findings if f.code == "B104" and not f.suppressed]


@pytest.mark.parametrize("sql", [
    "CREATE INDEX CONCURRENTLY i ON t (a);",
    "DROP INDEX CONCURRENTLY i;",
    "REINDEX INDEX CONCURRENTLY i;",
    "REINDEX SCHEMA app;",
    "ALTER TABLE p DETACH PARTITION c CONCURRENTLY;",
    "VACUUM t;",
    "CREATE DATABASE other;",
])
def test_fires_when_the_migration_is_forced_into_a_transaction(sql):
    f, = b104(sql, transaction="always")
    assert f.severity == "error" and "always" in f.message


@pytest.mark.parametrize("sql", [
    "CREATE INDEX i ON t (a);",
    "REINDEX TABLE t;",
    "ANALYZE t;",
    "SELECT 1;",
])
def test_transactional_statements_are_fine_in_always(sql):
    assert not b104(sql, transaction="always")


@pytest.mark.parametrize("kw", [{}, {"transaction": "never"}, {"runner": "other"}])
def test_does_not_fire_when_run_outside_a_transaction(kw):
    assert not b104("CREATE INDEX CONCURRENTLY i ON t (a);", **kw)


def test_begin_block_run_by_another_tool():
    sql = "SELECT 1;\nBEGIN;\nALTER TABLE t ADD COLUMN b int;\n  CREATE INDEX CONCURRENTLY i ON t (b);\nCOMMIT;"
    f, = b104(sql, runner="other")
    assert (f.line, f.column) == (4, 3)
    assert "line 2" in f.message and "CREATE INDEX CONCURRENTLY" in f.message


def test_statement_after_commit_is_fine():
    sql = "BEGIN;\nALTER TABLE t ADD COLUMN b int;\nCOMMIT;\nCREATE INDEX CONCURRENTLY i ON t (b);"
    assert not b104(sql, runner="other")


def test_begin_is_dropped_by_bascule_itself():
    # bascule's own runner drops BEGIN/COMMIT and runs CONCURRENTLY outside a transaction
    sql = "BEGIN;\nCREATE INDEX CONCURRENTLY i ON t (a);\nCOMMIT;"
    assert not b104(sql)


def test_copy_data_in_the_file_falls_back_to_firing():
    # COPY rows make the file unreadable as one SQL text: bascule cannot tell where the block ends
    sql = ("BEGIN;\nCOPY t (a) FROM STDIN;\n1\n\\.\nCOMMIT;\nCREATE INDEX CONCURRENTLY i ON t (a);")
    f, = b104(sql, runner="other")
    assert "BEGIN" in f.message


def test_fires_even_on_a_table_created_in_the_same_migration():
    sql = "CREATE TABLE t (a int);\nCREATE INDEX CONCURRENTLY i ON t (a);"
    assert b104(sql, transaction="always")


def test_suppression_with_reason():
    sql = "-- bascule:ignore B104 run by hand with psql --single-transaction off\nVACUUM t;"
    assert not b104(sql, transaction="always")


def test_enum_add_value_only_before_12():
    sql = "ALTER TYPE mood ADD VALUE 'meh';"
    assert b104(sql, transaction="always", pg_version=11)
    assert not b104(sql, transaction="always", pg_version=12)


def test_reindex_of_a_partitioned_table_in_a_transactional_migration():
    before = ["CREATE TABLE ev (id bigint, ts date NOT NULL) PARTITION BY RANGE (ts)",
              "CREATE INDEX ev_id ON ev (id)", "CREATE TABLE plain (id int)", "CREATE INDEX plain_id ON plain (id)"]
    for sql in ("REINDEX TABLE ev;", "REINDEX INDEX ev_id;"):
        f, = b104(sql, before=before)
        assert "partitioned ev cannot run inside a transaction block" in f.message
        assert not b104(sql, before=before, transaction="never")
    assert not b104("REINDEX TABLE plain;", before=before)


def test_cluster_of_a_partitioned_table():
    """CLUSTER of a partitioned table (PostgreSQL 15+) is refused in a transaction block; before 15 it is
    refused altogether."""
    before = ["CREATE TABLE ev (id bigint, ts date NOT NULL) PARTITION BY RANGE (ts)",
              "CREATE INDEX ev_id ON ev (id)", "CREATE TABLE plain (id int)", "CREATE INDEX plain_id ON plain (id)"]
    f, = b104("CLUSTER ev USING ev_id;", before=before)
    assert "CLUSTER of partitioned ev cannot run inside a transaction block" in f.message
    assert not b104("CLUSTER ev USING ev_id;", before=before, transaction="never")
    f, = b104("CLUSTER ev USING ev_id;", before=before, pg_version=14)
    assert "cannot cluster a partitioned table" in f.message
    assert not b104("CLUSTER plain USING plain_id;", before=before)


@pytest.mark.parametrize("sql", [
    "DO $$ BEGIN UPDATE t SET a = a + 1; COMMIT; END $$;",
    "DO $$ BEGIN FOR i IN 1..3 LOOP UPDATE t SET a = i; ROLLBACK; END LOOP; END $$;",
    "DISCARD ALL;",
    "ALTER DATABASE app SET TABLESPACE fast;",
])
def test_statements_that_end_or_refuse_transactions(sql):
    f, = b104(sql, transaction="always")
    assert "cannot run inside a transaction block" in f.message


@pytest.mark.parametrize("sql", [
    "DO $$ BEGIN UPDATE t SET a = a + 1; END $$;",
    "DO $$ BEGIN RAISE NOTICE 'commit'; END $$;",  # the word in a string is not a COMMIT
    "DO $$ BEGIN PERFORM 1; EXCEPTION WHEN others THEN RAISE; END $$;",
    "DISCARD PLANS;",
    "ALTER DATABASE app SET work_mem = '64MB';",
])
def test_blocks_and_statements_that_are_fine_in_a_transaction(sql):
    assert not b104(sql, transaction="always")
