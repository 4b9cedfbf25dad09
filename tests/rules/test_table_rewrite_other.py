"""B115 table-rewrite-other."""

import pytest
from _lint import fires, hits

BEFORE = ["CREATE TABLE t (id bigint, a int)",
          "CREATE DOMAIN positive AS int CHECK (VALUE > 0);",
          "CREATE DOMAIN required_text AS text NOT NULL;",
          "CREATE DOMAIN label AS text;"]


@pytest.mark.parametrize("sql, words", [
    ("ALTER TABLE t SET TABLESPACE fast_ssd;", "SET TABLESPACE"),
    ("ALTER TABLE t SET ACCESS METHOD heap2;", "SET ACCESS METHOD"),
    ("ALTER TABLE t SET LOGGED;", "SET LOGGED"),
    ("ALTER TABLE t SET UNLOGGED;", "SET UNLOGGED"),
    ("ALTER TABLE t ADD COLUMN p positive;", "domain positive"),
    ("ALTER TABLE t ADD COLUMN r required_text DEFAULT 'x';", "domain required_text"),
    # a constant default does not save a constrained domain: its constraints are checked by a rewrite
    ("ALTER TABLE t ADD COLUMN p positive DEFAULT 1;", "domain positive"),
])
def test_fires(sql, words):
    f, = hits(sql, "B115", before=BEFORE)
    assert f.severity == "error" and f.rewrite and f.lock == "AccessExclusiveLock" and f.table == "t"
    assert words in f.message


@pytest.mark.parametrize("sql", [
    "ALTER TABLE t ADD COLUMN l label;",  # a domain without constraints
    "ALTER TABLE t ADD COLUMN p int CHECK (p > 0);",
    "ALTER TABLE t SET (fillfactor = 70);",
    "ALTER TABLE t ALTER COLUMN a TYPE bigint;",  # B111
    "ALTER TABLE t ADD COLUMN u uuid DEFAULT gen_random_uuid();",  # B112
    "ALTER TABLE t ADD COLUMN id2 bigserial;",  # B114
    "CREATE TABLE n (a int);\nALTER TABLE n SET TABLESPACE fast_ssd;",
])
def test_does_not_fire(sql):
    assert not fires(sql, "B115", before=BEFORE)


def test_domain_unknown_offline_does_not_fire():
    assert not fires("ALTER TABLE t ADD COLUMN p some_domain;", "B115", before=BEFORE[:1])


def test_domain_and_volatile_default_reported_once():
    sql = "ALTER TABLE t ADD COLUMN p positive DEFAULT (random() * 10)::int + 1;"
    assert fires(sql, "B112", before=BEFORE) and not fires(sql, "B115", before=BEFORE)


def test_domain_with_default_before_11_is_b112s():
    sql = "ALTER TABLE t ADD COLUMN p positive DEFAULT 1;"
    assert fires(sql, "B112", before=BEFORE, pg_version=10) and not fires(sql, "B115", before=BEFORE, pg_version=10)


def test_two_forms_two_findings():
    found = hits("ALTER TABLE t SET TABLESPACE cold, SET UNLOGGED;", "B115", before=BEFORE)
    assert len(found) == 2
    assert any("SET TABLESPACE" in f.message for f in found) and any("SET UNLOGGED" in f.message for f in found)


def test_position_of_domain_column():
    f, = hits("ALTER TABLE t\n  ADD COLUMN p positive;", "B115", before=BEFORE)
    assert (f.line, f.column) == (2, 14)


def test_suppression_with_reason():
    sql = "-- bascule:ignore B115 moving a 10 MB table\nALTER TABLE t SET TABLESPACE cold;"
    assert not fires(sql, "B115", before=BEFORE)
