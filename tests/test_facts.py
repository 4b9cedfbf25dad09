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
    # same name in two schemas: a qualified prediction is matched with its own schema's relation
    two = StatementLocks({"a.events": "RowExclusiveLock", "b.events": "AccessShareLock"})
    seen = [{"relation": "a.events", "mode": "RowExclusiveLock"}, {"relation": "b.events", "mode": "AccessShareLock"}]
    assert compare_with_observed(two, seen)["verdict"] == "agrees"
    quoted = StatementLocks({"My Schema.T": "ShareLock"})
    assert compare_with_observed(quoted, [{"relation": '"My Schema"."T"', "mode": "ShareLock"}])["verdict"] == "agrees"


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


# ----------------------------------------------------------------------------- more lock modes, offline and on the server

@pytest.mark.parametrize("sql, expected", [
    ("ALTER TABLE t ALTER COLUMN a SET (n_distinct = 100)", {"t": "ShareUpdateExclusiveLock"}),
    ("ALTER TABLE t SET (user_catalog_table = true)", {"t": "AccessExclusiveLock"}),
    ("ALTER VIEW v SET (security_barrier = true)", {"v": "AccessExclusiveLock"}),
    ("ALTER INDEX gi SET (fastupdate = off)", {"gi": "AccessExclusiveLock"}),
    ("ALTER INDEX i SET (fillfactor = 70)", {"i": "ShareUpdateExclusiveLock"}),
    ("ALTER INDEX pi ATTACH PARTITION p1i", {"pi": "ShareUpdateExclusiveLock", "p1i": "AccessExclusiveLock"}),
    ("COMMENT ON TABLE t IS 'x'", {"t": "ShareUpdateExclusiveLock"}),
    ("COMMENT ON COLUMN s.t.a IS 'x'", {"s.t": "ShareUpdateExclusiveLock"}),
    ("COMMENT ON CONSTRAINT c ON t IS 'x'", None),
    ("ALTER TABLE t SET SCHEMA s", {"t": "AccessExclusiveLock"}),
    ("DROP TRIGGER tr ON s.t", {"s.t": "AccessExclusiveLock"}),
    ("DROP POLICY po ON t", {"t": "AccessExclusiveLock"}),
    ("DROP RULE ru ON t", {"t": "AccessExclusiveLock"}),
    ("CREATE POLICY po ON t USING (true)", {"t": "AccessExclusiveLock"}),
    ("ALTER POLICY po ON t USING (false)", {"t": "AccessExclusiveLock"}),
    ("CREATE OR REPLACE VIEW v AS SELECT 1", {"v": "AccessExclusiveLock"}),
    ("ALTER SEQUENCE sq RESTART", {"sq": "ShareRowExclusiveLock"}),
    ("CREATE STATISTICS st ON a, b FROM t", {"t": "ShareUpdateExclusiveLock"}),
    ("CREATE TABLE c PARTITION OF p FOR VALUES IN (3)", {"c": "AccessExclusiveLock", "p": "AccessExclusiveLock"}),
    ("CREATE TABLE c () INHERITS (t)", {"c": "AccessExclusiveLock", "t": "ShareUpdateExclusiveLock"}),
    ("ALTER TABLE c INHERIT t", {"c": "AccessExclusiveLock", "t": "ShareUpdateExclusiveLock"}),
    ("ALTER TABLE p DETACH PARTITION c FINALIZE", {"p": "ShareUpdateExclusiveLock", "c": "AccessExclusiveLock"}),
    ("VACUUM (FULL false) t", {"t": "ShareUpdateExclusiveLock"}),
    ("REINDEX (CONCURRENTLY off) TABLE t", {"t": "ShareLock"}),
    ("CLUSTER t USING ti", {"t": "AccessExclusiveLock", "ti": "AccessExclusiveLock"}),
])
def test_predicted_locks_more(sql, expected):
    got = predicted_locks(sql).locks
    assert got == (expected or {})


def test_version_dependent_locks():
    """ATTACH PARTITION takes SHARE UPDATE EXCLUSIVE on the parent, and ALTER INDEX ... RENAME on the index,
    only from PostgreSQL 12 (the documentation of 11 and 12)."""
    attach = "ALTER TABLE p ATTACH PARTITION c FOR VALUES IN (1)"
    assert predicted_locks(attach, 11).locks == {"p": "AccessExclusiveLock", "c": "AccessExclusiveLock"}
    assert predicted_locks(attach, 12).locks == {"p": "ShareUpdateExclusiveLock", "c": "AccessExclusiveLock"}
    assert predicted_locks("ALTER INDEX i RENAME TO j", 11).locks == {"i": "AccessExclusiveLock"}
    assert predicted_locks("ALTER INDEX i RENAME TO j", 12).locks == {"i": "ShareUpdateExclusiveLock"}


_SCHEMA = """
CREATE SCHEMA s;
CREATE DOMAIN d AS int;
CREATE TABLE t (a int, b d, j jsonb);
INSERT INTO t VALUES (1, 1, '{}');
CREATE INDEX ti ON t (a);
CREATE INDEX gi ON t USING gin (j);
CREATE TRIGGER tr BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger();
CREATE POLICY po ON t USING (true);
CREATE RULE ru AS ON DELETE TO t DO INSTEAD NOTHING;
CREATE VIEW v AS SELECT a FROM t;
CREATE SEQUENCE sq;
CREATE TABLE c (a int, b d, j jsonb);
CREATE TABLE u (id int PRIMARY KEY, n int UNIQUE);
INSERT INTO u VALUES (1, 1);
CREATE INDEX un ON u (n);
CREATE TABLE o (id int, u int CONSTRAINT o_u_fk REFERENCES u, n int REFERENCES u (n));
INSERT INTO o VALUES (1, 1, 1);
CREATE TABLE p (k int, v int) PARTITION BY LIST (k);
CREATE TABLE p1 PARTITION OF p FOR VALUES IN (1);
CREATE TABLE pd PARTITION OF p DEFAULT;
INSERT INTO p VALUES (1, 1), (5, 5);
CREATE TABLE p2 (k int, v int);
INSERT INTO p2 VALUES (2, 2);
CREATE TABLE q (k int) PARTITION BY LIST (k);
CREATE TABLE q1 PARTITION OF q FOR VALUES IN (1);
CREATE INDEX qi ON ONLY q (k);
CREATE INDEX q1i ON q1 (k);
CREATE TABLE r (id int PRIMARY KEY);
CREATE TABLE e (id int, r int REFERENCES r, at int) PARTITION BY RANGE (at);
CREATE TABLE e1 PARTITION OF e FOR VALUES FROM (0) TO (10);
CREATE TABLE e2 (id int, r int, at int);
"""

# Statements whose locks depend on the schema (partitions, foreign keys, indexes, domains) or that the
# analyzer once got wrong; each is run in a rolled-back transaction and compared with pg_locks.
_LOCK_CASES = [
    # without ONLY, on every partition too (p1 and the DEFAULT partition pd)
    "ALTER TABLE p ADD COLUMN w int",
    "ALTER TABLE p ALTER COLUMN v TYPE bigint",
    "ALTER TABLE p ALTER COLUMN v SET NOT NULL",
    "ALTER TABLE p ALTER COLUMN v SET DEFAULT 0",
    "ALTER TABLE p ADD CONSTRAINT pv CHECK (v > 0)",
    "ALTER TABLE p DROP COLUMN v",
    "CREATE INDEX p_v ON p (v)",
    "ALTER TABLE ONLY p ALTER COLUMN v SET DEFAULT 0",  # ONLY: the parent alone
    "ALTER TABLE p ALTER COLUMN v SET STATISTICS 100",
    "ALTER TABLE p ALTER COLUMN v SET STORAGE PLAIN",
    "ALTER TABLE p ALTER COLUMN v SET (n_distinct = 10)",  # column options: not recursed
    "CREATE TABLE p3 PARTITION OF p FOR VALUES IN (3)",  # parent and DEFAULT partition: ACCESS EXCLUSIVE
    "CREATE TABLE q2 PARTITION OF q FOR VALUES IN (2)",
    "CREATE TABLE c2 () INHERITS (t)",
    "ALTER TABLE p ATTACH PARTITION p2 FOR VALUES IN (2)",
    "ALTER TABLE p DETACH PARTITION p1",
    # a partitioned table with a foreign key: the referenced table too (the partition's copy of the key)
    "CREATE TABLE e3 PARTITION OF e FOR VALUES FROM (20) TO (30)",
    "ALTER TABLE e ATTACH PARTITION e2 FOR VALUES FROM (10) TO (20)",
    "ALTER TABLE e DETACH PARTITION e1",
    "DROP TABLE p1",  # a partition: its parent too
    "DROP TABLE q1",
    "DROP TABLE o",  # its foreign keys: the referenced table too
    "ALTER TABLE o DROP CONSTRAINT o_u_fk",
    "ALTER TABLE o DROP COLUMN u",
    "TRUNCATE u CASCADE",
    "DROP TABLE u CASCADE",
    "ALTER TABLE u ALTER COLUMN id TYPE bigint",  # a referenced column: the referencing table too
    "ALTER TABLE u ALTER COLUMN n TYPE bigint",
    "ALTER TABLE o ALTER COLUMN u TYPE bigint",  # a referencing column: the referenced table too
    "ALTER TABLE u DROP CONSTRAINT u_pkey CASCADE",
    "REINDEX TABLE u",  # and each of its indexes
    "REINDEX INDEX un",
    "CLUSTER u USING un",
    "ALTER TABLE c INHERIT t",
    "ALTER TABLE t SET SCHEMA s",
    "ALTER TABLE t ALTER COLUMN a SET (n_distinct = 100)",
    "ALTER TABLE t SET (user_catalog_table = true)",
    "ALTER INDEX gi SET (fastupdate = off)",
    "ALTER INDEX ti SET (fillfactor = 50)",
    "ALTER INDEX ti RENAME TO ti2",
    "ALTER VIEW v SET (security_barrier = true)",
    "ALTER INDEX qi ATTACH PARTITION q1i",
    "COMMENT ON TABLE t IS 'x'",
    "COMMENT ON COLUMN t.a IS 'x'",
    "COMMENT ON INDEX ti IS 'x'",
    "DROP TRIGGER tr ON t",
    "CREATE POLICY p2 ON t USING (false)",
    "ALTER POLICY po ON t USING (false)",
    "DROP POLICY po ON t",
    "DROP RULE ru ON t",
    "CREATE OR REPLACE VIEW v AS SELECT a, a AS z FROM t",
    "ALTER DOMAIN d ADD CONSTRAINT dc CHECK (VALUE > 0)",
    "ALTER DOMAIN d SET NOT NULL",
    "ALTER SEQUENCE sq RESTART",
    "CREATE STATISTICS st ON a, j FROM t",
]


def _known(setup: str):
    from bascule.analyze.context import SchemaKnowledge
    from bascule.analyze.facts import parse

    known = SchemaKnowledge()
    for tag, node in parse(setup):
        known.learn(tag, node)
    return known


def _lock_mismatches(c, sql: str, known, version: int) -> list[str]:
    """Run `sql` in a rolled-back transaction and compare pg_locks with the predicted locks: a
    prediction on a relation that existed before must be the server's strongest mode on it, and every
    table the server locks more strongly than ACCESS SHARE must be predicted."""
    from bascule.analyze.facts import RANK, parse, statement_facts

    names = {r[0]: (r[1], r[2]) for r in c.execute(
        "SELECT oid, relname, relkind FROM pg_class WHERE relnamespace = 'public'::regnamespace")}
    existing = {n for n, _ in names.values()}
    with c.transaction(force_rollback=True):
        c.execute(sql)
        rows = c.execute("SELECT relation, mode FROM pg_locks WHERE pid = pg_backend_pid() AND "
                         "locktype = 'relation' AND granted").fetchall()
    seen: dict[str, str] = {}
    kinds = {}
    for oid, mode in rows:
        if oid in names:
            name, kind = names[oid]
            kinds[name] = kind
            if RANK[mode] > RANK.get(seen.get(name, ""), -1):
                seen[name] = mode
    (tag, node), = parse(sql)
    predicted = {k.rsplit(".", 1)[-1]: m for k, m in statement_facts(tag, node, version, known,
                                                                      reads=False).locks.items()}
    wrong = [f"{sql}: {rel} predicted {mode}, server {seen.get(rel)}" for rel, mode in predicted.items()
             if rel in existing and seen.get(rel) != mode]
    wrong += [f"{sql}: {rel} not predicted, server {mode}" for rel, mode in seen.items()
              if kinds[rel] not in ("i", "I") and RANK[mode] > RANK["AccessShareLock"] and rel not in predicted]
    return wrong


def test_locks_with_schema_knowledge_match_the_server(vdb):
    """With what the analyzer learned from the schema's migration, the predicted lock on every relation that
    existed before is the strongest the server takes on it, and every table the server locks more strongly than
    ACCESS SHARE is predicted (on PostgreSQL 18 and 15)."""
    vdb.exec(_SCHEMA)
    version = int(vdb.scalar("SHOW server_version_num")) // 10000
    known = _known(_SCHEMA)
    with vdb.connect() as c:
        wrong = [w for sql in _LOCK_CASES for w in _lock_mismatches(c, sql, known, version)]
    assert not wrong, "\n".join(wrong)


def test_detach_concurrently_locks_the_partition(vdb):
    """DETACH PARTITION ... CONCURRENTLY waits, in its second transaction, for ACCESS EXCLUSIVE on the partition:
    a query running on the partition alone holds it up."""
    import threading
    import time

    import psycopg

    vdb.exec("CREATE TABLE p (k int) PARTITION BY LIST (k); CREATE TABLE p1 PARTITION OF p FOR VALUES IN (1);"
             "CREATE TABLE p2 PARTITION OF p FOR VALUES IN (2)")
    sql = "ALTER TABLE p DETACH PARTITION p1 CONCURRENTLY"
    with psycopg.connect(vdb.url) as reader:
        reader.execute("SELECT * FROM p1")  # ACCESS SHARE on p1 only, kept until rollback

        def detach():
            with vdb.connect() as c:
                c.execute("SET lock_timeout = '10s'")
                c.execute(sql)

        th = threading.Thread(target=detach)
        th.start()
        waiting = None
        with vdb.connect() as watch:
            for _ in range(250):
                waiting = watch.execute("SELECT mode FROM pg_locks WHERE relation = 'p1'::regclass "
                                        "AND NOT granted").fetchone()
                if waiting:
                    break
                time.sleep(0.02)
        reader.rollback()
        th.join()
    assert waiting and waiting[0] == "AccessExclusiveLock"
    assert predicted_locks(sql).locks == {"p": "ShareUpdateExclusiveLock", "p1": "AccessExclusiveLock"}


def _rewritten_and_scanned(c, sql: str) -> tuple[set[str], set[str]]:
    """Tables of the public schema that `sql` gives a new relfilenode (a rewrite) or reads sequentially, run in
    a transaction that is rolled back."""
    def state():
        c.execute("SELECT pg_stat_force_next_flush()")
        return {r[0]: (r[1], r[2]) for r in c.execute(
            "SELECT c.relname, c.relfilenode, coalesce(s.seq_scan, 0) FROM pg_class c LEFT JOIN pg_stat_user_tables s "
            "ON s.relid = c.oid WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'm')")}

    before = state()
    with c.transaction(force_rollback=True):
        c.execute(sql)
        during = dict(c.execute("SELECT relname, relfilenode FROM pg_class WHERE relnamespace = "
                                "'public'::regnamespace").fetchall())
    c.execute("SELECT 1")  # the rolled-back transaction's statistics are flushed when the backend goes idle
    after = state()
    return ({t for t, (fn, _) in before.items() if during.get(t, fn) != fn},
            {t for t, (_, n) in before.items() if after.get(t, (0, n))[1] > n})


_TYPES = ("CREATE DOMAIN dt AS text; CREATE DOMAIN dp AS numeric(10) CHECK (VALUE > 0);"
          "CREATE TABLE ty (ts timestamp, ts3 timestamp(3), tm time(3), tz timestamptz(2), n0 numeric(10), "
          "va varchar(10)[], ta text[], tx text DEFAULT 'x');"
          "INSERT INTO ty VALUES (now(), now(), now(), now(), 1, '{x}', '{x}');")


_TYPE_CASES = [
    ("ALTER TABLE ty ALTER COLUMN ts3 TYPE timestamp(6)", False),  # more fractional digits: no rewrite
    ("ALTER TABLE ty ALTER COLUMN ts TYPE timestamp(6)", False),
    ("ALTER TABLE ty ALTER COLUMN ts TYPE timestamp(3)", True),
    ("ALTER TABLE ty ALTER COLUMN ts3 TYPE timestamp(2)", True),
    ("ALTER TABLE ty ALTER COLUMN tm TYPE time(5)", False),
    ("ALTER TABLE ty ALTER COLUMN tz TYPE timestamptz", False),
    ("ALTER TABLE ty ALTER COLUMN n0 TYPE numeric(12,0)", False),  # numeric(10) is numeric(10,0)
    ("ALTER TABLE ty ALTER COLUMN n0 TYPE numeric(12,1)", True),
    ("ALTER TABLE ty ALTER COLUMN va TYPE varchar(20)[]", True),  # arrays: every element is converted
    ("ALTER TABLE ty ALTER COLUMN va TYPE text[]", True),
    ("ALTER TABLE ty ALTER COLUMN va TYPE varchar[]", False),
    ("ALTER TABLE ty ALTER COLUMN ta TYPE varchar[]", True),
    ("ALTER TABLE ty ALTER COLUMN tx TYPE dt", False),  # a domain without constraints: like its base type
    ("ALTER TABLE ty ALTER COLUMN n0 TYPE dp", True),  # with a CHECK: every value is checked, rewritten
]


def test_type_change_rewrites_match_the_server(vdb):
    """Each type change, in a rolled-back transaction: the facts predict a rewrite exactly when the table gets a
    new relfilenode (on PostgreSQL 18 and 15)."""
    from bascule.analyze.facts import parse, statement_facts

    vdb.exec(_TYPES)
    version = int(vdb.scalar("SHOW server_version_num")) // 10000
    known = _known(_TYPES)
    wrong = []
    with vdb.connect() as c:
        for sql, rewrites in _TYPE_CASES:
            rewritten, _ = _rewritten_and_scanned(c, sql)
            (tag, node), = parse(sql)
            facts = statement_facts(tag, node, version, known)
            if not any(e.certain for e in facts.rewrites) == ("ty" in rewritten) == rewrites:
                wrong.append(f"{sql}: server {'rewrote' if rewritten else 'did not rewrite'}, facts {facts.rewrites}")
    assert not wrong, "\n".join(wrong)


def test_set_expression_rewrites_a_stored_column_only(db):
    """PostgreSQL 17+: SET EXPRESSION recomputes a stored generated column (a rewrite), not a virtual one (18)."""
    from bascule.analyze.facts import parse, statement_facts

    setup = ("CREATE TABLE g (a int, s int GENERATED ALWAYS AS (a * 2) STORED, v int GENERATED ALWAYS AS (a * 2));"
             "INSERT INTO g VALUES (1);")
    db.exec(setup)
    known = _known(setup)
    with db.connect() as c:
        for col, expected in (("s", True), ("v", False)):
            sql = f"ALTER TABLE g ALTER COLUMN {col} SET EXPRESSION AS (a * 3)"
            rewritten, _ = _rewritten_and_scanned(c, sql)
            (tag, node), = parse(sql)
            facts = statement_facts(tag, node, 18, known)
            assert ("g" in rewritten) == expected == any(e.certain for e in facts.rewrites), (col, facts.rewrites)
    (tag, node), = parse("ALTER TABLE g ALTER COLUMN x SET EXPRESSION AS (a * 3)")
    assert [e.certain for e in statement_facts(tag, node, 18, known).rewrites] == [False]  # unknown column
    assert [e.certain for e in statement_facts(tag, node, 17, known).rewrites] == [True]  # all stored before 18


@pytest.mark.parametrize("sql, scanned", [
    # the DEFAULT partition is checked for rows of the new partition
    ("ALTER TABLE p ATTACH PARTITION p2 FOR VALUES IN (2)", {"p2", "pd"}),
    ("CREATE TABLE p3 PARTITION OF p FOR VALUES IN (3)", {"pd"}),
    # a domain's new constraint is checked in every table that uses it
    ("ALTER DOMAIN d ADD CONSTRAINT dc CHECK (VALUE > 0)", {"t", "c"}),
    ("ALTER DOMAIN d ADD CONSTRAINT dc CHECK (VALUE > 0) NOT VALID", set()),
    ("ALTER DOMAIN d SET NOT NULL", {"t", "c"}),
    # the referenced column changes type: the referencing table's foreign keys are checked again
    ("ALTER TABLE u ALTER COLUMN id TYPE bigint", {"u", "o"}),
])
def test_scans_with_schema_knowledge_match_the_server(vdb, sql, scanned):
    """Every table the statement reads in full (a rewrite reads it too) is predicted, and nothing more."""
    from bascule.analyze.facts import parse, statement_facts

    vdb.exec(_SCHEMA)
    version = int(vdb.scalar("SHOW server_version_num")) // 10000
    with vdb.connect() as c:
        rewritten, seen = _rewritten_and_scanned(c, sql)
    (tag, node), = parse(sql)
    facts = statement_facts(tag, node, version, _known(_SCHEMA))
    predicted = {e.table for e in facts.scans + facts.rewrites}
    assert predicted == seen | rewritten == scanned, (sql, facts.scans, seen)


def test_validated_compound_check_makes_set_not_null_free(vdb):
    """A validated CHECK (b IS NOT NULL AND ...) proves b NOT NULL as well: no scan on 12+; dropping it brings the
    scan back."""
    from bascule.analyze.facts import parse, statement_facts

    setup = ("CREATE TABLE t (a int, b int, c int); INSERT INTO t VALUES (1, 1, 1);"
             "ALTER TABLE t ADD CONSTRAINT nn CHECK (b IS NOT NULL AND b > 0 AND c IS NOT NULL) NOT VALID;"
             "ALTER TABLE t VALIDATE CONSTRAINT nn; ALTER TABLE t ADD CONSTRAINT a_or CHECK (a IS NOT NULL OR b > 0);")
    vdb.exec(setup)
    version = int(vdb.scalar("SHOW server_version_num")) // 10000
    known = _known(setup)
    with vdb.connect() as c:
        for col, scan in (("b", False), ("c", False), ("a", True)):
            sql = f"ALTER TABLE t ALTER COLUMN {col} SET NOT NULL"
            _, seen = _rewritten_and_scanned(c, sql)
            (tag, node), = parse(sql)
            assert bool(statement_facts(tag, node, version, known).scans) == ("t" in seen) == scan, col
    for tag, node in parse("ALTER TABLE t DROP CONSTRAINT nn"):
        known.learn(tag, node)
    (tag, node), = parse("ALTER TABLE t ALTER COLUMN c SET NOT NULL")
    assert statement_facts(tag, node, version, known).scans


_TZ_NOT_FIXED = ("Europe/London", "Africa/Abidjan", "Atlantic/Reykjavik", "Europe/Paris", "America/New_York")


def test_timestamptz_conversion_in_each_zone_matches_the_server(vdb):
    """timestamp ↔ timestamptz on PostgreSQL 12+: in every zone bascule takes for a fixed zero offset the
    server keeps the table's relfilenode and rebuilds only the column's index; in the others (some at
    +00:00 today) it rewrites the table. Checked with the zone set by SET LOCAL in the same transaction."""
    from bascule.analyze.context import ZERO_OFFSET_ZONES
    from bascule.analyze.facts import parse, statement_facts

    setup = "CREATE TABLE tz (id int, ts timestamp, tt timestamptz, other int); CREATE INDEX tz_ts ON tz (ts); " \
            "CREATE INDEX tz_tt ON tz (tt); CREATE INDEX tz_other ON tz (other); " \
            "INSERT INTO tz SELECT g, now(), now(), g FROM generate_series(1, 50) g;"
    vdb.exec(setup)
    version = int(vdb.scalar("SHOW server_version_num")) // 10000
    zones = sorted(ZERO_OFFSET_ZONES) + ["+00:00", "0"] + list(_TZ_NOT_FIXED)
    wrong = []
    q = "SELECT relname, relfilenode FROM pg_class WHERE relname LIKE 'tz%'"
    with vdb.connect() as c:
        for zone in zones:
            for sql in ("ALTER TABLE tz ALTER COLUMN ts TYPE timestamptz", "ALTER TABLE tz ALTER COLUMN tt TYPE timestamp"):
                set_sql = f"SET LOCAL TimeZone = '{zone}'"
                before = dict(c.execute(q).fetchall())
                with c.transaction(force_rollback=True):
                    c.execute(set_sql)
                    c.execute(sql)
                    during = dict(c.execute(q).fetchall())
                changed = {name for name, fn in before.items() if during.get(name) != fn}
                known = _known(setup)
                for tag, node in parse(set_sql):
                    known.learn(tag, node)
                (tag, node), = parse(sql)
                facts = statement_facts(tag, node, version, known)
                rewrite = any(e.certain for e in facts.rewrites)
                rebuilt = {f"tz_{e.column}" for e in facts.index_builds if e.certain}
                expected = {"tz", "tz_ts", "tz_tt", "tz_other"} if rewrite else rebuilt
                if changed != expected:
                    wrong.append(f"{zone}: {sql}: server changed {sorted(changed)}, facts say {sorted(expected)}")
    assert not wrong, "\n".join(wrong)


def test_timestamptz_precisions_and_constraint_checks_match_the_server(vdb):
    """In a UTC session (PostgreSQL 12+): a target precision below 6 rewrites whatever the old one;
    without a rewrite, CHECK constraints and foreign keys on the column are checked again (a scan)."""
    from bascule.analyze.context import SchemaKnowledge
    from bascule.analyze.facts import parse, statement_facts

    setup = ("CREATE TABLE pm (a timestamp, a0 timestamp(0), a3 timestamp(3), b timestamptz, b3 timestamptz(3));"
             "INSERT INTO pm SELECT now(), now(), now(), now(), now() FROM generate_series(1, 20);"
             "CREATE TABLE ck (c timestamp CHECK (c > '2000-01-01'), d timestamp);"
             "INSERT INTO ck SELECT now(), now() FROM generate_series(1, 20);"
             "CREATE TABLE fp (c timestamp PRIMARY KEY); CREATE TABLE fc (c timestamp REFERENCES fp (c));"
             "INSERT INTO fp SELECT now() + g * interval '1 s' FROM generate_series(1, 20) g; INSERT INTO fc SELECT c FROM fp;")
    vdb.exec(setup)
    version = int(vdb.scalar("SHOW server_version_num")) // 10000
    known = SchemaKnowledge()
    known.begin_migration("setup")  # created by an earlier migration: every constraint and index is known
    for tag, node in parse(setup):
        known.learn(tag, node)
    known.begin_migration("this one")
    for tag, node in parse("SET LOCAL TimeZone = 'UTC'"):
        known.learn(tag, node)
    cases = [f"ALTER TABLE pm ALTER COLUMN {col} TYPE {to}"
             for col in ("a", "a0", "a3") for to in ("timestamptz", "timestamptz(0)", "timestamptz(3)", "timestamptz(6)")]
    cases += [f"ALTER TABLE pm ALTER COLUMN {col} TYPE {to}"
              for col in ("b", "b3") for to in ("timestamp", "timestamp(3)", "timestamp(6)")]
    cases += ["ALTER TABLE ck ALTER COLUMN c TYPE timestamptz", "ALTER TABLE ck ALTER COLUMN d TYPE timestamptz",
              "ALTER TABLE fc ALTER COLUMN c TYPE timestamptz", "ALTER TABLE fp ALTER COLUMN c TYPE timestamptz"]
    wrong = []
    with vdb.connect() as c:
        for sql in cases:
            rewritten, scanned = _rewritten_and_scanned(c, f"SET LOCAL TimeZone = 'UTC'; {sql}")
            (tag, node), = parse(sql)
            facts = statement_facts(tag, node, version, known)
            rewrites = {e.table for e in facts.rewrites if e.certain}
            sure = {e.table for e in facts.scans if e.certain}
            maybe = {e.table for e in facts.scans} | rewrites
            if rewrites != rewritten or not sure <= scanned <= maybe:
                wrong.append(f"{sql}: server rewrote {sorted(rewritten)} scanned {sorted(scanned)}; facts rewrite "
                             f"{sorted(rewrites)}, scan {sorted(sure)} (maybe {sorted(maybe)})")
    assert not wrong, "\n".join(wrong)


_KEPT_ROWS_SCHEMA = (
    "CREATE TABLE u (id bigint PRIMARY KEY, email varchar(255) NOT NULL, deleted_at timestamptz, "
    "total numeric(10,2) CHECK (total >= 0), note text, code varchar(20) CHECK (length(code) > 1), ref bigint);"
    "CREATE UNIQUE INDEX u_email_lower ON u (lower(email));"
    "CREATE UNIQUE INDEX u_email_live ON u (email) WHERE deleted_at IS NULL;"
    "CREATE INDEX u_email_plain ON u (email); CREATE INDEX u_note ON u (note); CREATE INDEX u_code ON u (code);"
    "CREATE TABLE p (id bigint PRIMARY KEY); ALTER TABLE u ADD FOREIGN KEY (ref) REFERENCES p (id);"
    "INSERT INTO p SELECT g FROM generate_series(1, 50) g;"
    "INSERT INTO u SELECT g, 'a' || g || '@x.org', NULL, g, 'n' || g, 'c' || g, g FROM generate_series(1, 50) g;")

_KEPT_ROWS_CASES = [
    "ALTER TABLE u ALTER COLUMN email TYPE varchar(320)",  # expression and partial indexes rebuilt
    "ALTER TABLE u ALTER COLUMN email TYPE text",
    "ALTER TABLE u ALTER COLUMN total TYPE numeric(12,2)",  # CHECK checked again: a scan
    "ALTER TABLE u ALTER COLUMN code TYPE varchar(40)",  # CHECK again, plain index kept
    "ALTER TABLE u ALTER COLUMN note TYPE text COLLATE \"C\"",  # collation: every index on it rebuilt
    "ALTER TABLE u ALTER COLUMN note TYPE varchar",
    "ALTER TABLE u ALTER COLUMN deleted_at TYPE timestamptz(6)",  # used by u_email_live's predicate
    "ALTER TABLE u ALTER COLUMN ref TYPE bigint",  # same type, plain FK: nothing
]


def test_type_changes_without_rewrite_match_the_server(vdb):
    """A type change that rewrites no row still re-creates what depends on the column: the facts
    must name exactly the indexes PostgreSQL rebuilds (relfilenode) and the scans it makes."""
    from bascule.analyze.context import SchemaKnowledge
    from bascule.analyze.facts import parse, statement_facts

    vdb.exec(_KEPT_ROWS_SCHEMA)
    version = int(vdb.scalar("SHOW server_version_num")) // 10000
    known = SchemaKnowledge()
    known.begin_migration("setup")
    for tag, node in parse(_KEPT_ROWS_SCHEMA):
        known.learn(tag, node)
    known.begin_migration("this one")
    q = "SELECT relname, relfilenode FROM pg_class WHERE relnamespace = 'public'::regnamespace"
    wrong, seen = [], []
    with vdb.connect() as c:
        for sql in _KEPT_ROWS_CASES:
            c.execute("SELECT pg_stat_force_next_flush()")
            before = dict(c.execute(q).fetchall())
            with c.transaction(force_rollback=True):
                scans0 = c.execute("SELECT pg_stat_get_xact_numscans('u'::regclass)").fetchone()[0]
                c.execute(sql)
                during = dict(c.execute(q).fetchall())
                scanned = c.execute("SELECT pg_stat_get_xact_numscans('u'::regclass)").fetchone()[0] > scans0
            rebuilt = {n for n, fn in before.items() if n != "u" and during.get(n) != fn}
            assert during.get("u") == before["u"], f"{sql}: the table was rewritten"
            (tag, node), = parse(sql)
            facts = statement_facts(tag, node, version, known)
            predicted = bool([e for e in facts.index_builds if e.certain])
            scan_said = any(e.table == "u" and e.certain for e in facts.scans)
            index_scan = bool(rebuilt)  # building an index reads the table too
            seen.append((sql, sorted(rebuilt), scanned))
            if predicted != bool(rebuilt) or (scanned and not (scan_said or index_scan)) or (scan_said and not scanned):
                wrong.append(f"{sql}: server rebuilt {sorted(rebuilt)} scanned={scanned}; facts index builds "
                             f"{[e.reason for e in facts.index_builds]}, scans {[e.reason for e in facts.scans]}")
    assert not wrong, "\n".join(wrong)
    # the cases cover both outcomes: rebuilt indexes, scans only, and nothing at all
    assert {bool(r) for _, r, _ in seen} == {True, False} and any(sc and not r for _, r, sc in seen)


# A second schema for what the first does not have: a partitioned table other tables reference, inheritance
# children, domains over domains used by a partitioned table, a materialized view.
_SCHEMA_REF = """
CREATE TABLE rp (k int PRIMARY KEY) PARTITION BY RANGE (k);
CREATE TABLE rp1 PARTITION OF rp FOR VALUES FROM (0) TO (10);
CREATE TABLE rp2 PARTITION OF rp FOR VALUES FROM (10) TO (20);
INSERT INTO rp VALUES (1), (11);
CREATE TABLE rpx (k int PRIMARY KEY);
INSERT INTO rpx VALUES (1);
CREATE TABLE ref (id int, k int CONSTRAINT ref_k_fk REFERENCES rp);
INSERT INTO ref VALUES (1, 11);
CREATE TABLE loose (id int, k int);
INSERT INTO loose VALUES (1, 1);
CREATE TABLE nv (id int, k int);
INSERT INTO nv VALUES (1, 1);
ALTER TABLE nv ADD CONSTRAINT nv_k_fk FOREIGN KEY (k) REFERENCES rpx NOT VALID;
ALTER TABLE nv ADD CONSTRAINT nv_k_pos CHECK (k > 0) NOT VALID;
CREATE TABLE i1 (id int, v int);
CREATE TABLE i2 (w int) INHERITS (i1);
INSERT INTO i1 VALUES (1, 1); INSERT INTO i2 VALUES (2, 2, 2);
CREATE TABLE i3 (id int, v int);
CREATE DOMAIN posint AS int;
CREATE DOMAIN pos2 AS posint;
CREATE TABLE dt (a posint, b pos2);
CREATE TABLE pp (a pos2) PARTITION BY LIST (a);
CREATE TABLE pp1 PARTITION OF pp FOR VALUES IN (1);
INSERT INTO dt VALUES (1, 1); INSERT INTO pp VALUES (1);
CREATE TABLE base (id int PRIMARY KEY, v int);
INSERT INTO base VALUES (1, 1);
CREATE MATERIALIZED VIEW mv AS SELECT id, v FROM base;
CREATE TABLE tgt (id int PRIMARY KEY, v int);
CREATE TABLE kid (id int, b int CONSTRAINT kid_b_fk REFERENCES tgt (id));
CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
"""

_LOCK_CASES_REF = [
    # a partitioned table other tables reference: they join or leave the foreign key
    "ALTER TABLE rp DETACH PARTITION rp1",
    "CREATE TABLE rp3 PARTITION OF rp FOR VALUES FROM (20) TO (30)",
    "ALTER TABLE ref DROP CONSTRAINT ref_k_fk",
    "ALTER TABLE loose ADD CONSTRAINT loose_k_fk FOREIGN KEY (k) REFERENCES rp",
    "ALTER TABLE loose ADD CONSTRAINT loose_k_fk FOREIGN KEY (k) REFERENCES rp NOT VALID",
    "DROP TABLE rp1 CASCADE",
    # VALIDATE reads the referenced table too
    "ALTER TABLE nv VALIDATE CONSTRAINT nv_k_fk",
    "ALTER TABLE nv VALIDATE CONSTRAINT nv_k_pos",
    # inheritance children: ALTER TABLE and RENAME COLUMN recurse, TRUNCATE and LOCK without ONLY too
    "ALTER TABLE i1 ALTER COLUMN v TYPE bigint",
    "ALTER TABLE i1 ADD CONSTRAINT i1_v CHECK (v > 0)",
    "ALTER TABLE i1 RENAME COLUMN v TO v2",
    "TRUNCATE i1",
    "TRUNCATE ONLY i1",
    "LOCK TABLE i1 IN SHARE MODE",
    "ALTER TABLE i3 INHERIT i1",
    "CREATE INDEX ON i1 (v)",  # an inheritance parent's index is its own
    # partitions: RENAME COLUMN, TRUNCATE, LOCK, row triggers and ANALYZE reach each one
    "ALTER TABLE rp RENAME COLUMN k TO k2",
    "TRUNCATE rp CASCADE",
    "LOCK TABLE rp IN SHARE MODE",
    "LOCK TABLE ONLY rp IN SHARE MODE",
    "CREATE TRIGGER rp_t AFTER INSERT ON rp FOR EACH ROW EXECUTE FUNCTION trg()",
    "CREATE TRIGGER rp_s AFTER INSERT ON rp FOR EACH STATEMENT EXECUTE FUNCTION trg()",
    "ANALYZE rp",
    # domains: those over the domain too, and the partitions (a partitioned table stores nothing)
    "ALTER DOMAIN posint ADD CONSTRAINT posint_pos CHECK (VALUE > 0)",
    "ALTER DOMAIN pos2 SET NOT NULL",
    "REFRESH MATERIALIZED VIEW mv",
    "ALTER TABLE tgt DROP COLUMN id CASCADE",  # the foreign key of kid goes with it
]


@pytest.mark.parametrize("sql", _LOCK_CASES_REF)
def test_locks_on_referencing_tables_children_and_domains_match_the_server(vdb, sql):
    """Foreign keys that reference a partitioned table, inheritance children, domains over domains and
    partitioned tables of a domain: each predicted lock is the server's, and each table the server locks more
    strongly than ACCESS SHARE is predicted (PostgreSQL 18 and 15)."""
    vdb.exec(_SCHEMA_REF)
    version = int(vdb.scalar("SHOW server_version_num")) // 10000
    with vdb.connect() as c:
        wrong = _lock_mismatches(c, sql, _known(_SCHEMA_REF), version)
    assert not wrong, "; ".join(wrong)


@pytest.mark.parametrize("sql, work, predicted", [
    # the referenced table is read by the check too; bascule predicts the scan of the table validated
    ("ALTER TABLE nv VALIDATE CONSTRAINT nv_k_fk", {"nv", "rpx"}, {"nv"}),
    ("ALTER TABLE nv VALIDATE CONSTRAINT nv_k_pos", {"nv"}, {"nv"}),
    ("ALTER TABLE rp DETACH PARTITION rp1", {"ref"}, {"ref"}),  # rows of ref must not reference rp1's
    # the child is rewritten too; bascule names the rewrite once, on the table the statement names
    ("ALTER TABLE i1 ALTER COLUMN v TYPE bigint", {"i1", "i2"}, {"i1"}),
    ("ALTER DOMAIN posint ADD CONSTRAINT posint_pos CHECK (VALUE > 0)", {"dt", "pp1"}, {"dt", "pp1"}),
    ("REFRESH MATERIALIZED VIEW mv", {"mv", "base"}, {"mv"}),  # and its query reads base
])
def test_work_on_referencing_tables_children_and_domains_matches_the_server(vdb, sql, work, predicted):
    """The tables a statement rewrites or reads in full, on the server, and what bascule predicts."""
    from bascule.analyze.facts import parse, statement_facts

    vdb.exec(_SCHEMA_REF)
    version = int(vdb.scalar("SHOW server_version_num")) // 10000
    with vdb.connect() as c:
        rewritten, seen = _rewritten_and_scanned(c, sql)
    assert seen | rewritten == work, (sql, seen, rewritten)
    (tag, node), = parse(sql)
    facts = statement_facts(tag, node, version, _known(_SCHEMA_REF))
    assert {e.table for e in facts.scans + facts.rewrites} == predicted, (sql, facts.scans, facts.rewrites)


def test_binary_coercible_casts_keep_rows_on_the_server(vdb):
    """int → oid, text → bpchar (no length) and varchar → bpchar are casts WITHOUT FUNCTION: no rewrite;
    to char(1) is a length coercion that rewrites."""
    from bascule.analyze.facts import parse, statement_facts

    vdb.exec("CREATE TABLE bc (i int, t text, t2 text, v varchar(5)); INSERT INTO bc VALUES (1, 'a', 'b', 'c')")
    version = int(vdb.scalar("SHOW server_version_num")) // 10000
    known = _known("CREATE TABLE bc (i int, t text, t2 text, v varchar(5))")
    for sql, rewrites in [("ALTER TABLE bc ALTER COLUMN i TYPE oid", False),
                          ("ALTER TABLE bc ALTER COLUMN t TYPE bpchar", False),
                          ("ALTER TABLE bc ALTER COLUMN v TYPE bpchar", False),
                          ("ALTER TABLE bc ALTER COLUMN t2 TYPE char", True)]:
        with vdb.connect() as c:
            rewritten, _ = _rewritten_and_scanned(c, sql)
        (tag, node), = parse(sql)
        facts = statement_facts(tag, node, version, known)
        assert ("bc" in rewritten) == rewrites, sql
        assert bool(facts.rewrites) == rewrites, (sql, facts.rewrites)
    # plain char is char(1); bpchar without a length is unlimited, and is named so
    (tag, node), = parse("ALTER TABLE bc ALTER COLUMN t2 TYPE char")
    assert [e.reason for e in statement_facts(tag, node, version, known).rewrites] == \
        ["SET DATA TYPE text → char(1)"]


def test_builtin_volatility_lists_match_the_server(vdb):
    """bascule's lists of built-in functions agree with pg_catalog: a name listed as non-volatile has
    no volatile overload on the server, a name listed as volatile has one; on PostgreSQL 18 (where
    the lists come from) every built-in name is in one of them."""
    from bascule.analyze import builtins

    rows = vdb.query(builtins.QUERY)
    version = int(vdb.scalar("SHOW server_version_num")) // 10000
    wrong = [n for n, nv in rows if (n in builtins.NON_VOLATILE and not nv) or (n in builtins.VOLATILE and nv)]
    assert not wrong
    if version == 18:
        assert {n for n, _ in rows} == builtins.NON_VOLATILE | builtins.VOLATILE
