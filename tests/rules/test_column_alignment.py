"""B413 column-alignment."""

import pytest
from _lint import fires, hits

from bascule.analyze.rules.column_alignment import padding


@pytest.mark.parametrize("sql", [
    "CREATE TABLE t (a boolean, b bigint, c boolean, d bigint);",
    "CREATE TABLE t (a integer, b bigint, c integer);",
    "CREATE TABLE t (id bigint, name text, created_at timestamptz, active boolean, score bigint);",
    "CREATE TABLE t (a smallint, b interval, c smallint, d double precision);",
    "CREATE TABLE t (id serial, created_at timestamp, n int, at timestamptz);",
])
def test_fires(sql):
    assert fires(sql, "B413")


@pytest.mark.parametrize("sql", [
    "CREATE TABLE t (id bigint, a int, b int, c smallint, d boolean, name text);",  # already ordered
    "CREATE TABLE t (a boolean, b bigint);",  # 7 bytes of padding, but rows end 8-aligned anyway
    "CREATE TABLE t (id uuid, flag boolean, n bigint);",  # 7 bytes, taken back by the row's final 8-byte alignment
    "CREATE TABLE t (a text, b jsonb, c numeric, d varchar(20));",  # variable only
    "CREATE TABLE t (a int, b int[], c bigint);",  # arrays are variable; 3.5 expected bytes
    "CREATE TABLE p_1 PARTITION OF p FOR VALUES IN (1);",
    "CREATE TABLE c (a boolean, b bigint, d boolean, e bigint) INHERITS (p);",  # parent columns come first
    "CREATE TABLE t (LIKE u, a boolean, b bigint, c boolean, d bigint);",
    "CREATE TABLE t (a mytype, b bigint, c mytype, d bigint);",  # unknown types: variable
])
def test_does_not_fire(sql):
    assert not fires(sql, "B413")


def test_message_gives_saving_and_order():
    f, = hits("SELECT 1;\nCREATE TABLE events (\n  active boolean,\n  id bigint,\n  kind smallint,\n  at timestamptz,\n"
              "  payload jsonb\n);", "B413")
    assert (f.line, f.column) == (2, 14) and f.table == "events" and f.severity == "info" and f.category == "design"
    assert "about 13 bytes" in f.message and "id, at, kind, active, payload" in f.message


def test_exact_saving_without_variable_columns():
    f, = hits("CREATE TABLE t (a int, b bigint, c int);", "B413")
    assert "wastes 8 bytes per row" in f.message and "b, a, c" in f.message


def test_enum_known_from_an_earlier_migration_is_4_bytes():
    sql = "CREATE TABLE t (a mood, b bigint, c mood, d bigint);"
    assert fires(sql, "B413", before=["CREATE TYPE mood AS ENUM ('ok', 'sad');"])


def test_padding_model():
    assert padding([(1, 1), (8, 8), (1, 1), (8, 8)]) == (14, 32)
    assert padding([(8, 8), (8, 8), (1, 1), (1, 1)]) == (0, 18)
    assert padding([None, (8, 8)]) == (3.5, 11)  # unknown offset after a variable-length column: on average


def test_suppression_with_reason():
    assert not fires("-- bascule:ignore B413 column order mirrors the export format\n"
                     "CREATE TABLE t (a int, b bigint, c int);", "B413")


def test_saving_matches_the_server(db):
    """The estimated saving is what PostgreSQL 18 stores per row (variable-length values of random length)."""
    declared = "id bigint, name text, created_at timestamptz, active boolean, score bigint"
    f, = hits(f"CREATE TABLE a ({declared});", "B413")
    order = f.message.rsplit(": ", 1)[1].split(", ")
    types = dict(c.split(" ", 1) for c in declared.split(", "))
    saving = int(f.message.split("about ")[1].split(" ")[0])
    values = {"id": "g", "name": "repeat('x', g % 23)", "created_at": "now()", "active": "true", "score": "g"}
    db.exec(f"CREATE TABLE a ({declared}); CREATE TABLE b ({', '.join(c + ' ' + types[c] for c in order)});"
            f"INSERT INTO a SELECT {', '.join(values[c] for c in types)} FROM generate_series(1, 5000) g;"
            f"INSERT INTO b SELECT {', '.join(values[c] for c in order)} FROM generate_series(1, 5000) g;")
    per_row = float(db.scalar("SELECT (SELECT avg(pg_column_size(a.*)) FROM a) - (SELECT avg(pg_column_size(b.*)) FROM b)"))
    assert abs(per_row - saving) <= 1.5, (per_row, saving)
