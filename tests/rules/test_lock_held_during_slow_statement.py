"""B117 lock-held-during-slow-statement."""

import pytest
from _lint import fires, hits

BEFORE = ["CREATE TABLE t (id bigint, a int); CREATE TABLE u (id bigint, v varchar(10), n int);"]


def test_index_build_after_an_access_exclusive_lock():
    f, = hits("ALTER TABLE t ADD COLUMN b int;\nCREATE INDEX u_n ON u (n);", "B117", before=BEFORE)
    assert (f.line, f.column) == (2, 1) and f.severity == "warning"
    assert "t (since line 1)" in f.message and "builds an index on u" in f.message and f.table == "u"


def test_same_table_index_build():
    f, = hits("ALTER TABLE t ADD COLUMN b int;\nCREATE INDEX t_b ON t (b);", "B117", before=BEFORE)
    assert "builds an index on t" in f.message


def test_rewrite_of_another_table_is_an_error():
    f, = hits("ALTER TABLE t ADD COLUMN b int;\nALTER TABLE u ALTER COLUMN n TYPE bigint;", "B117", before=BEFORE)
    assert f.severity == "error" and "rewrites u" in f.message


def test_scan_is_an_error():
    sql = "ALTER TABLE t ADD COLUMN b int;\nALTER TABLE u ADD CONSTRAINT n_pos CHECK (n > 0);"
    f, = hits(sql, "B117", before=BEFORE)
    assert f.severity == "error" and "scans u" in f.message


def test_validate_while_holding_the_lock():
    """VALIDATE CONSTRAINT reads every row of u while t is still locked ACCESS EXCLUSIVE."""
    before = BEFORE + ["ALTER TABLE u ADD CONSTRAINT u_t_fk FOREIGN KEY (n) REFERENCES t (id) NOT VALID;"
                       "ALTER TABLE u ADD CONSTRAINT n_pos CHECK (n > 0) NOT VALID;"]
    for name in ("u_t_fk", "n_pos"):
        sql = f"ALTER TABLE t ADD COLUMN b int;\nALTER TABLE u VALIDATE CONSTRAINT {name};"
        f, = hits(sql, "B117", before=before)
        assert f.severity == "error" and "scans u" in f.message and "t (since line 1)" in f.message
    # a constraint bascule does not know may be valid already: "may scan", a warning
    f, = hits("ALTER TABLE t ADD COLUMN b int;\nALTER TABLE u VALIDATE CONSTRAINT other;", "B117", before=BEFORE)
    assert f.severity == "warning" and "may scan u" in f.message


def test_refresh_while_holding_the_lock():
    before = BEFORE + ["CREATE MATERIALIZED VIEW mv AS SELECT id, a FROM t"]
    for sql, verb in (("REFRESH MATERIALIZED VIEW mv;", "rewrites mv"),
                      ("REFRESH MATERIALIZED VIEW CONCURRENTLY mv;", "scans mv")):
        f, = hits("ALTER TABLE t ADD COLUMN b int;\n" + sql, "B117", before=before)
        assert verb in f.message, f.message
    assert not hits("ALTER TABLE t ADD COLUMN b int;\nREFRESH MATERIALIZED VIEW mv WITH NO DATA;", "B117",
                    before=before)


def test_backfill_while_holding_the_lock():
    sql = "ALTER TABLE t ADD COLUMN b int;\nUPDATE t SET b = a * 2;"
    f, = hits(sql, "B117", before=BEFORE)
    assert f.severity == "warning" and "changes rows of t" in f.message


def test_several_held_tables_are_named():
    sql = "ALTER TABLE t ADD COLUMN b int;\nLOCK TABLE u;\nUPDATE t SET b = 1 WHERE id < 100;"
    f, = hits(sql, "B117", before=BEFORE)
    assert "u (since line 2)" in f.message


@pytest.mark.parametrize("sql", [
    # no ACCESS EXCLUSIVE taken earlier
    "CREATE INDEX u_n ON u (n);",
    "ALTER TABLE t VALIDATE CONSTRAINT c;\nCREATE INDEX u_n ON u (n);",
    # the slow statement itself locks the same table: the earlier lock adds nothing
    "ALTER TABLE t ADD COLUMN b int;\nALTER TABLE t ALTER COLUMN a TYPE bigint;",
    # quick statements after the lock
    "ALTER TABLE t ADD COLUMN b int;\nALTER TABLE u ALTER COLUMN v TYPE varchar(20);",
    "ALTER TABLE t ADD COLUMN b int;\nINSERT INTO u (id) VALUES (1), (2);",
    "ALTER TABLE t ADD COLUMN b int;\nCOMMENT ON TABLE u IS 'x';",
    # the locked table was created in this migration
    "CREATE TABLE n (id int);\nALTER TABLE n ADD b int;\nCREATE INDEX u_n ON u (n);",
    # the slow work is on a table created in this migration
    "ALTER TABLE t ADD COLUMN b int;\nCREATE TABLE n (id int);\nCREATE INDEX n_id ON n (id);",
])
def test_does_not_fire(sql):
    assert not fires(sql, "B117", before=BEFORE)


def test_not_in_a_transaction():
    sql = "ALTER TABLE t ADD COLUMN b int;\nCREATE INDEX u_n ON u (n);"
    assert not fires(sql, "B117", before=BEFORE, transaction="never")


def test_concurrent_statement_ends_the_transaction_in_auto_mode():
    # CREATE INDEX CONCURRENTLY cannot run in a transaction: bascule runs the file statement by statement
    sql = "ALTER TABLE t ADD COLUMN b int;\nCREATE INDEX CONCURRENTLY u_n ON u (n);\nUPDATE u SET n = 0 WHERE n IS NULL;"
    assert not fires(sql, "B117", before=BEFORE)


def test_suppression_with_reason():
    sql = ("ALTER TABLE t ADD COLUMN b int;\n"
           "CREATE INDEX u_n ON u (n); -- bascule:ignore B117 u has 50 rows")
    assert not fires(sql, "B117", before=BEFORE)


def test_uncertain_rewrite_is_a_warning_that_says_may():
    # kestra V1_57: the old type of task_id is unknown to bascule; widening varchar needs no rewrite at all
    sql = "ALTER TABLE logs ALTER COLUMN task_id TYPE VARCHAR(256);\nALTER TABLE metrics ALTER COLUMN task_id TYPE VARCHAR(256);"
    f, = hits(sql, "B117")
    assert f.severity == "warning" and "may rewrite metrics" in f.message


def test_known_rewrite_is_still_an_error():
    sql = "ALTER TABLE logs ALTER COLUMN task_id TYPE VARCHAR(256);\nALTER TABLE u ALTER COLUMN n TYPE bigint;"
    f, = hits(sql, "B117", before=BEFORE)
    assert f.severity == "error" and "rewrites u" in f.message and "may" not in f.message


def test_dropped_index_of_an_unknown_table_is_named_as_its_table():
    # coder 000119: the index's table is not known to bascule; PostgreSQL locks that table, not "the index"
    sql = "DROP INDEX IF EXISTS workspace_proxies_name_idx;\nCREATE UNIQUE INDEX p ON workspace_proxies (lower(name));"
    f, = hits(sql, "B117")
    assert "the table of index workspace_proxies_name_idx (since line 1) is still locked" in f.message
    assert "every read and write of the table of index workspace_proxies_name_idx waits" in f.message


def test_dropped_index_of_a_known_table_names_the_table():
    sql = "DROP INDEX u_n_old;\nCREATE INDEX u_n ON u (n);"
    f, = hits(sql, "B117", before=BEFORE + ["CREATE INDEX u_n_old ON u (n, id);"])
    assert f.message.startswith("u (since line 1)")
