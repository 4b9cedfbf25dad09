"""B501 transaction-control-in-file."""

from _lint import fires, hits

from bascule.analyze import lint_sql


def test_bascule_runner_info_at_the_begin():
    f, = hits("-- add a column\nBEGIN;\nALTER TABLE t ADD COLUMN a int;\nCOMMIT;\n", "B501")
    assert f.severity == "info" and (f.line, f.column) == (2, 1)
    assert "BEGIN (line 2)" in f.message and "COMMIT (line 4)" in f.message
    assert "own transaction" in f.message


def test_start_transaction_and_end():
    f, = hits("START TRANSACTION ISOLATION LEVEL SERIALIZABLE;\nSELECT 1;\n  END;", "B501")
    assert "START TRANSACTION (line 1)" in f.message and "END (line 3)" in f.message


def test_other_runner_warns():
    f, = hits("BEGIN;\nCREATE TABLE x (a bigint);\nCOMMIT;\n", "B501", runner="other")
    assert f.severity == "warning" and "COMMIT ends that transaction early" in f.message


def test_other_runner_uncommitted():
    f, = hits("SELECT 1;\nbegin work;\nCREATE TABLE x (a bigint);\n", "B501", runner="other")
    assert f.severity == "warning" and (f.line, f.column) == (2, 1)
    assert "without a matching COMMIT" in f.message


def test_statement_by_statement_migration():
    f, = hits("BEGIN;\nCREATE INDEX CONCURRENTLY i ON t (a);\nCOMMIT;", "B501")
    assert "statement by statement" in f.message


def test_does_not_fire_without_transaction_control():
    assert not fires("CREATE TABLE x (a bigint);", "B501")
    # BEGIN ATOMIC bodies, DO blocks and CASE ... END are not transaction control
    sql = ("CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN true THEN 1 END; END;\n"
           "DO $$ BEGIN PERFORM 1; END $$;\n")
    assert not fires(sql, "B501")


def test_only_the_dropped_statements_are_listed():
    sql = ("BEGIN;\nCREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;\n"
           "DO $$ BEGIN PERFORM 1; END $$;\nCOMMIT;\n")
    f, = hits(sql, "B501")
    assert "BEGIN (line 1), COMMIT (line 4)" in f.message


def test_copy_data_is_not_read_as_sql():
    sql = "BEGIN;\nCOPY t (a) FROM stdin;\nBEGIN\nEND\n\\.\nCOMMIT;\n"
    f, = hits(sql, "B501")
    assert "BEGIN (line 1), COMMIT (line 6)" in f.message


def test_down_script_too():
    r = lint_sql("CREATE TABLE x (a bigint);", down="BEGIN;\nDROP TABLE x;\nCOMMIT;")
    f, = [f for f in r.findings if f.code == "B501"]
    assert f.path.endswith("down.sql") and f.line == 1


def test_suppression_with_reason():
    sql = "-- bascule:ignore B501 kept for psql users\nBEGIN;\nSELECT 1;\nCOMMIT;"
    assert not fires(sql, "B501")


def test_lines_of_a_section_that_starts_later_in_its_file():
    from pathlib import Path

    from bascule.analyze.rules.transaction_control_in_file import control_statements
    from bascule.migration import Script

    script = Script(Path("20240101_x.sql"), "BEGIN;\nSELECT 1;\n  COMMIT;\n", first_line=3)
    assert control_statements(script, script.statements) == [("BEGIN", 3, 1), ("COMMIT", 5, 3)]


def test_says_how_bascule_runs_it_on_the_target_version():
    """ALTER TYPE ... ADD VALUE runs in a transaction from PostgreSQL 12, not before."""
    sql = "BEGIN;\nALTER TYPE mood ADD VALUE 'calm';\nCOMMIT;\n"
    (new,) = hits(sql, "B501", pg_version=18)
    (old,) = hits(sql, "B501", pg_version=11)
    assert "in its own transaction" in new.message and "statement by statement" in old.message
