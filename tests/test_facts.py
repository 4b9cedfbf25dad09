"""Predicted locks per statement (the analyzer's first facts), checked against the PostgreSQL
documentation's lock table and against what a real server takes."""

from __future__ import annotations

import pytest

from bascule.analyze.facts import StatementLocks, compare_with_observed, predicted_locks


@pytest.mark.parametrize("sql, expected", [
    ("ALTER TABLE t ADD COLUMN x int", {"t": "AccessExclusiveLock"}),
    ("ALTER TABLE t ALTER COLUMN x TYPE bigint", {"t": "AccessExclusiveLock"}),
    ("ALTER TABLE o ADD CONSTRAINT f FOREIGN KEY (u) REFERENCES u (id)",
     {"o": "ShareRowExclusiveLock", "u": "ShareRowExclusiveLock"}),
    ("ALTER TABLE t VALIDATE CONSTRAINT c", {"t": "ShareUpdateExclusiveLock"}),
    ("ALTER TABLE t SET (fillfactor = 70)", {"t": "ShareUpdateExclusiveLock"}),
    ("ALTER TABLE t SET STATISTICS 100", None),  # not valid SQL without a column: no prediction
    ("ALTER TABLE t ALTER COLUMN a SET STATISTICS 100", {"t": "ShareUpdateExclusiveLock"}),
    ("ALTER TABLE t DISABLE TRIGGER ALL", {"t": "ShareRowExclusiveLock"}),
    # the partition: ACCESS EXCLUSIVE in the second transaction (see test_detach_concurrently_locks_the_partition)
    ("ALTER TABLE p DETACH PARTITION c CONCURRENTLY", {"p": "ShareUpdateExclusiveLock", "c": "AccessExclusiveLock"}),
    ("ALTER TABLE p DETACH PARTITION c", {"p": "AccessExclusiveLock", "c": "AccessExclusiveLock"}),
    ("ALTER TABLE p ATTACH PARTITION c FOR VALUES IN (1)", {"p": "ShareUpdateExclusiveLock", "c": "AccessExclusiveLock"}),
    ("CREATE INDEX i ON s.t (a)", {"s.t": "ShareLock"}),
    ("CREATE INDEX CONCURRENTLY i ON t (a)", {"t": "ShareUpdateExclusiveLock"}),
    ("REINDEX TABLE CONCURRENTLY t", {"t": "ShareUpdateExclusiveLock"}),
    ("UPDATE t SET a = s.a FROM s WHERE s.id = t.id", {"t": "RowExclusiveLock", "s": "AccessShareLock"}),
    ("DELETE FROM t", {"t": "RowExclusiveLock"}),
    ("TRUNCATE a, b", {"a": "AccessExclusiveLock", "b": "AccessExclusiveLock"}),
    ("VACUUM t", {"t": "ShareUpdateExclusiveLock"}),
    ("VACUUM FULL t", {"t": "AccessExclusiveLock"}),
    ("LOCK TABLE t IN SHARE ROW EXCLUSIVE MODE", {"t": "ShareRowExclusiveLock"}),
    ("DROP TABLE t", {"t": "AccessExclusiveLock"}),
    ("CREATE TRIGGER tr BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION f()", {"t": "ShareRowExclusiveLock"}),
    ("REFRESH MATERIALIZED VIEW CONCURRENTLY mv", {"mv": "ExclusiveLock"}),
])
def test_predicted_locks(sql, expected):
    got = predicted_locks(sql).locks
    if expected is None:
        assert got == {}
    else:
        assert got == expected


@pytest.mark.parametrize("sql", [
    "ALTER TABLE t ADD COLUMN x int",
    "ALTER TABLE t VALIDATE CONSTRAINT t_a_check",
    "ALTER TABLE t SET (fillfactor = 70)",
    "CREATE INDEX i ON t (a)",
    "UPDATE t SET a = a",
    "ALTER TABLE t DISABLE TRIGGER ALL",
    "LOCK TABLE t IN EXCLUSIVE MODE",
])
def test_predictions_match_the_server(vdb, sql):
    """Run the statement in a transaction and read the table's lock from pg_locks."""
    vdb.exec("CREATE TABLE t (a int); INSERT INTO t VALUES (1); "
             "ALTER TABLE t ADD CONSTRAINT t_a_check CHECK (a > 0) NOT VALID")
    with vdb.connect() as c, c.transaction():
        c.execute(sql)
        modes = [r[0] for r in c.execute("SELECT mode FROM pg_locks WHERE relation = 't'::regclass "
                                         "AND pid = pg_backend_pid() AND granted").fetchall()]
        c.execute("SELECT 1")
    predicted = predicted_locks(sql).locks["t"]
    assert predicted in modes, (sql, modes)
    from bascule.analyze.facts import RANK

    assert max(modes, key=lambda m: RANK[m]) == predicted


def test_compare_with_observed():
    pred = StatementLocks({"t": "ShareLock"})
    assert compare_with_observed(pred, [{"relation": "public.t", "mode": "ShareLock"}])["verdict"] == "agrees"
    assert compare_with_observed(pred, [])["verdict"] == "unconfirmed"
    diff = compare_with_observed(pred, [{"relation": "t", "mode": "AccessExclusiveLock"}])
    assert diff["verdict"] == "differs" and "predicted ShareLock, observed AccessExclusiveLock" in diff["details"][0]
    inherited = [{"relation": "t", "mode": "AccessExclusiveLock", "inherited": True},
                 {"relation": "t", "mode": "ShareLock"}]
    assert compare_with_observed(pred, inherited)["verdict"] == "agrees"


# ----------------------------------------------------------------------------- rewrites and scans, on the server

_TABLE = ("CREATE TABLE t (a int, v varchar(10), n numeric(10,2), ts timestamp, c int CHECK (c > 0));"
          "INSERT INTO t SELECT g, 'x', g, now(), 1 FROM generate_series(1, 500) g;")


def _facts_after_table(sql: str, version: int):
    from bascule.analyze.context import SchemaKnowledge
    from bascule.analyze.facts import parse, statement_facts

    known = SchemaKnowledge()
    for tag, node in parse(_TABLE):
        known.learn(tag, node)
    (tag, node), = parse(sql)
    return statement_facts(tag, node, version, known)


@pytest.mark.parametrize("sql, rewrites", [
    ("ALTER TABLE t ADD COLUMN x int DEFAULT 0", False),
    ("ALTER TABLE t ADD COLUMN x timestamptz DEFAULT now()", False),
    ("ALTER TABLE t ADD COLUMN x float8 DEFAULT random()", True),
    ("ALTER TABLE t ADD COLUMN x bigserial", True),
    ("ALTER TABLE t ADD COLUMN x int GENERATED ALWAYS AS IDENTITY", True),
    ("ALTER TABLE t ADD COLUMN x int GENERATED ALWAYS AS (a * 2) STORED", True),
    ("ALTER TABLE t ALTER COLUMN v TYPE varchar(20)", False),
    ("ALTER TABLE t ALTER COLUMN v TYPE text", False),
    ("ALTER TABLE t ALTER COLUMN v TYPE varchar(5)", True),
    ("ALTER TABLE t ALTER COLUMN a TYPE bigint", True),
    ("ALTER TABLE t ALTER COLUMN n TYPE numeric(12,2)", False),
    ("ALTER TABLE t ALTER COLUMN n TYPE numeric", False),
    ("ALTER TABLE t ALTER COLUMN n TYPE numeric(12,3)", True),
    ("ALTER TABLE t ALTER COLUMN a TYPE text USING a::text", True),
    ("ALTER TABLE t SET UNLOGGED", True),
    ("ALTER TABLE t ALTER COLUMN a SET NOT NULL", False),
    ("ALTER TABLE t ADD CONSTRAINT k CHECK (a > 0)", False),
])
def test_rewrite_predictions_match_the_server(vdb, sql, rewrites):
    """A rewrite gives the table a new relfilenode; the facts must say so exactly when it happens
    (on PostgreSQL 18 and 15)."""
    vdb.exec(_TABLE)
    version = int(vdb.scalar("SHOW server_version_num")) // 10000
    before = vdb.scalar("SELECT relfilenode FROM pg_class WHERE oid = 't'::regclass")
    vdb.exec(sql)
    after = vdb.scalar("SELECT relfilenode FROM pg_class WHERE oid = 't'::regclass")
    facts = _facts_after_table(sql, version)
    predicted = any(e.certain for e in facts.rewrites)
    assert predicted == (before != after) == rewrites, (sql, facts.rewrites)


@pytest.mark.parametrize("sql, scans", [
    ("ALTER TABLE t ALTER COLUMN a SET NOT NULL", True),
    ("ALTER TABLE t ADD CONSTRAINT k CHECK (a > 0)", True),
    ("ALTER TABLE t ADD CONSTRAINT k CHECK (a > 0) NOT VALID", False),
    ("ALTER TABLE t ADD COLUMN x int", False),
])
def test_scan_predictions_match_the_server(vdb, sql, scans):
    """A full scan under the lock shows as a sequential scan of the table in pg_stat_user_tables."""
    vdb.exec(_TABLE)
    version = int(vdb.scalar("SHOW server_version_num")) // 10000

    def seq_scans():
        vdb.exec("SELECT pg_stat_force_next_flush()")
        return vdb.scalar("SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 't'")

    before = seq_scans()
    vdb.exec(sql)
    after = seq_scans()
    facts = _facts_after_table(sql, version)
    assert bool(facts.scans) == (after > before) == scans, (sql, before, after)


def test_validated_not_null_check_makes_set_not_null_free():
    from bascule.analyze.context import SchemaKnowledge
    from bascule.analyze.facts import parse, statement_facts

    known = SchemaKnowledge()
    for tag, node in parse("CREATE TABLE t (a int); ALTER TABLE t ADD CONSTRAINT a_nn CHECK (a IS NOT NULL) NOT VALID;"
                           "ALTER TABLE t VALIDATE CONSTRAINT a_nn;"):
        known.learn(tag, node)
    (tag, node), = parse("ALTER TABLE t ALTER COLUMN a SET NOT NULL")
    assert statement_facts(tag, node, 12, known).scans == []
    assert statement_facts(tag, node, 11, known).scans != []
