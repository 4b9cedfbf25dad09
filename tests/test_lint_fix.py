"""`bascule lint --fix`: every rewrite ends in the schema the unsafe statement makes, on real servers.

For each rewrite, a schema with rows is built twice; the UNSAFE migration runs in one transaction
in the first copy, the FIXED text runs statement by statement in autocommit (as bascule's runner
runs a non-transactional migration) in the second, and the two schema fingerprints must be equal:
tables, columns, defaults, NOT NULL, constraints with their names and definitions, indexes.
Each case lives in its own schema of one database pair per server, so the whole file stays fast.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest
from psycopg import sql as psql

from bascule.analyze import fix as fixmod
from bascule.analyze import lint_sql
from bascule.analyze.fix import FIXABLE, fix_text, make_object_name, quote_ident
from bascule.rehearse.fingerprint import diff, fingerprint
from bascule.sql import split_statements

LONG = "t" * 40 + "_with_a_rather_long_name"  # 64 characters: PostgreSQL cuts it to 63 bytes

SETUP = f"""
CREATE TABLE customers (id bigint PRIMARY KEY, name text);
CREATE TABLE orders (id bigint, customer_id bigint, total numeric(10,2), note text, "Status" text,
                     placed_at timestamptz);
CREATE TABLE users (id int, email text, name text);
CREATE INDEX users_name_idx ON users (name);
CREATE TABLE events (id bigint, kind text);
CREATE TABLE "Order Items" ("Qty" int, "Item Id" bigint, "Größe" int);
CREATE TABLE {LONG} (id int, customer_id_of_the_order_with_long_name bigint, amount int);
INSERT INTO customers SELECT g, 'c' || g FROM generate_series(1, 50) g;
INSERT INTO orders SELECT g, 1 + g % 50, g, 'n' || g, 'new', now() FROM generate_series(1, 400) g;
INSERT INTO users SELECT g, 'u' || g || '@example.com', 'user ' || g FROM generate_series(1, 400) g;
INSERT INTO events SELECT g, 'k' || g % 7 FROM generate_series(1, 3000) g;
INSERT INTO "Order Items" SELECT g, 1 + g % 50, g FROM generate_series(1, 100) g;
INSERT INTO {LONG} SELECT g, 1 + g % 50, g FROM generate_series(1, 100) g;
"""

CASES = {
    "create_index": ("B101", """
CREATE INDEX ON users (lower(email), (id::text), email COLLATE "C");
-- keep me
CREATE UNIQUE INDEX users_email_uq ON users (email) INCLUDE (name) WHERE id > 0;
"""),
    "drop_index": ("B102", "DROP INDEX users_name_idx;"),
    "foreign_key": ("B105", """
ALTER TABLE orders
  ADD FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE, -- the owner
  ADD CONSTRAINT orders_customer_fk2 FOREIGN KEY (customer_id) REFERENCES customers;
ALTER TABLE "Order Items" ADD FOREIGN KEY ("Item Id") REFERENCES customers (id);
"""),
    "check": ("B106", """
ALTER TABLE orders ADD CHECK (total >= 0);
ALTER TABLE orders ADD CHECK (total < 100000 AND total::int = total), ADD CHECK (total > -1);
ALTER TABLE "Order Items" ADD CHECK ("Qty" > 0), ADD CONSTRAINT named CHECK ("Qty" < 1000) NO INHERIT;
ALTER TABLE "Order Items" ADD CHECK (/* é */ "Größe"::text <> 'ü' || '—'), ADD CHECK ("Größe" >= 0);
"""),
    "set_not_null": ("B107", """
ALTER TABLE orders ALTER COLUMN note SET NOT NULL, ALTER COLUMN "Status" SET NOT NULL;
"""),
    "unique": ("B108", """
ALTER TABLE users ADD UNIQUE (email) INCLUDE (name) WITH (fillfactor = 80);
ALTER TABLE users ADD PRIMARY KEY (id);
ALTER TABLE orders ADD CONSTRAINT orders_pk PRIMARY KEY (id) DEFERRABLE INITIALLY DEFERRED;
"""),
    "volatile_default": ("B112", """
ALTER TABLE events ADD COLUMN uid uuid NOT NULL DEFAULT gen_random_uuid();
ALTER TABLE events ADD COLUMN r float8 DEFAULT random();
"""),
    "long_names": ("B105", f"""
ALTER TABLE {LONG} ADD FOREIGN KEY (customer_id_of_the_order_with_long_name) REFERENCES customers (id);
ALTER TABLE {LONG} ADD CHECK (customer_id_of_the_order_with_long_name > 0);
ALTER TABLE {LONG} ALTER COLUMN amount SET NOT NULL;
ALTER TABLE {LONG} ADD UNIQUE (customer_id_of_the_order_with_long_name, id, amount);
"""),
}


# --------------------------------------------------------------------------- helpers
def _fix(text: str, pg_version: int = 18, before=(SETUP,), *, layout=None, transaction="never", **kw):
    """The rewrite of a migration that runs statement by statement (transaction = "never"), as the
    tests below run it."""
    findings = lint_sql(text, path="m.sql", before=list(before), pg_version=pg_version, **kw).findings
    return fix_text(text, "m.sql", findings, pg_version=pg_version, layout=layout, transaction=transaction), findings


@pytest.fixture(scope="module", params=["18", "15"])
def pair(request):
    """(server major version, unsafe database url, fixed database url), one pair per server."""
    server = request.getfixturevalue("pg" + request.param)
    names = ["fix_" + uuid.uuid4().hex[:10] for _ in range(2)]
    with psycopg.connect(server.url("postgres"), autocommit=True) as c:
        for n in names:
            c.execute(psql.SQL("CREATE DATABASE {}").format(psql.Identifier(n)))
    yield int(request.param), server.url(names[0]), server.url(names[1])
    with psycopg.connect(server.url("postgres"), autocommit=True) as c:
        for n in names:
            c.execute(psql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(psql.Identifier(n)))


def _connect(url: str, schema: str) -> psycopg.Connection:
    conn = psycopg.connect(url, autocommit=True)
    conn.execute(psql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(psql.Identifier(schema)))
    conn.execute(psql.SQL("SET search_path = {}").format(psql.Identifier(schema)))
    return conn


def _run_unsafe(conn, text: str) -> None:
    """The original migration, in one transaction (bascule's default)."""
    with conn.transaction():
        for st in split_statements(text)[0]:
            conn.execute(st.sql)


def _run_fixed(conn, text: str) -> None:
    """The rewritten migration, statement by statement in autocommit (transaction = "never")."""
    for st in split_statements(text)[0]:
        conn.execute(st.sql)


def _both(pair, case: str, setup: str, unsafe: str, fixed: str, *, notices: list | None = None):
    version, url_a, url_b = pair
    schema = f"{case}_{uuid.uuid4().hex[:6]}"
    with _connect(url_a, schema) as a, _connect(url_b, schema) as b:
        _run_unsafe(a, setup)
        _run_unsafe(b, setup)
        _run_unsafe(a, unsafe)
        if notices is not None:
            b.execute("SET client_min_messages = debug1")
            b.add_notice_handler(lambda d: notices.append(d.message_primary))
        _run_fixed(b, fixed)
        b.execute("RESET client_min_messages")
        fa, fb = fingerprint(a, [schema]), fingerprint(b, [schema])
        assert fa == fb, "\n".join(d.message for d in diff(fa, fb))
        return a, b, schema, fa


# --------------------------------------------------------------------------- the rewrites, on real servers
@pytest.mark.parametrize("case", sorted(CASES))
def test_fixed_schema_equals_unsafe_schema(pair, case):
    code, unsafe = CASES[case]
    version = pair[0]
    res, findings = _fix(unsafe, pg_version=version)
    assert any(f.code == code for f in findings), f"lint no longer reports {code}: {findings}"
    assert res.changed and res.needs_separate_transactions
    assert {c for ch in res.changes for c in ch["codes"]} >= {code}
    split_statements(res.fixed)  # the rewritten file parses
    left = {f.code for f in _fix(res.fixed, pg_version=version)[1] if not f.suppressed} & FIXABLE
    assert not left, f"the fixed text still reports {left}:\n{res.fixed}"
    _both(pair, case, SETUP, unsafe, res.fixed)


def test_create_index_names_an_unnamed_index_as_postgres_does(pair):
    res, _ = _fix(CASES["create_index"][1])
    assert "CREATE INDEX CONCURRENTLY users_lower_id_email_idx ON users" in res.fixed
    assert "CREATE UNIQUE INDEX CONCURRENTLY users_email_uq ON users" in res.fixed
    assert "-- keep me\n" in res.fixed  # comments between statements are kept
    _, _, _, fp = _both(pair, "named", SETUP, CASES["create_index"][1], res.fixed)
    assert any(k.endswith("users_lower_id_email_idx") for rel in fp["relations"].values() for k in rel["indexes"])


def test_set_not_null_skips_its_scan_after_the_validated_check(pair):
    """PostgreSQL says so at DEBUG1: the validated CHECK proves the column has no NULL."""
    res, _ = _fix(CASES["set_not_null"][1])
    notices: list[str] = []
    _both(pair, "proof", SETUP, CASES["set_not_null"][1], res.fixed, notices=notices)
    proofs = [m for m in notices if "sufficient to prove that it does not contain nulls" in m]
    assert len(proofs) == 2, notices
    assert res.fixed.count("VALIDATE CONSTRAINT") == 2
    assert "orders_note_not_null_tmp" in res.fixed and '"orders_Status_not_null_tmp"' in res.fixed


def test_postgres18_add_not_null_constraint(pg18):
    sql = "ALTER TABLE orders ADD NOT NULL note;"
    res, _ = _fix(sql)
    assert res.fixed == ("ALTER TABLE orders ADD CONSTRAINT orders_note_not_null NOT NULL note NOT VALID;\n"
                         "ALTER TABLE orders VALIDATE CONSTRAINT orders_note_not_null;")
    names = ["fix_" + uuid.uuid4().hex[:10] for _ in range(2)]
    with psycopg.connect(pg18.url("postgres"), autocommit=True) as c:
        for n in names:
            c.execute(psql.SQL("CREATE DATABASE {}").format(psql.Identifier(n)))
    try:
        _both((18, pg18.url(names[0]), pg18.url(names[1])), "nn18", SETUP, sql, res.fixed)
    finally:
        with psycopg.connect(pg18.url("postgres"), autocommit=True) as c:
            for n in names:
                c.execute(psql.SQL("DROP DATABASE {} WITH (FORCE)").format(psql.Identifier(n)))


def test_primary_key_gets_not_null_first(pair):
    res, _ = _fix("ALTER TABLE users ADD PRIMARY KEY (id);")
    steps = [st.sql for st in split_statements(res.fixed)[0]]
    assert steps == [
        "CREATE UNIQUE INDEX CONCURRENTLY users_pkey ON users (id)",
        "ALTER TABLE users ADD CONSTRAINT users_id_not_null_tmp CHECK (id IS NOT NULL) NOT VALID",
        "ALTER TABLE users VALIDATE CONSTRAINT users_id_not_null_tmp",
        "ALTER TABLE users ALTER COLUMN id SET NOT NULL",
        "ALTER TABLE users DROP CONSTRAINT users_id_not_null_tmp",
        "ALTER TABLE users ADD CONSTRAINT users_pkey PRIMARY KEY USING INDEX users_pkey",
    ]
    # a column known NOT NULL from earlier in the file needs no such step
    res, _ = _fix("ALTER TABLE users ALTER COLUMN id SET NOT NULL; -- bascule:ignore B107 tiny table\n"
                  "ALTER TABLE users ADD PRIMARY KEY (id);")
    assert "users_id_not_null_tmp" not in res.fixed and "PRIMARY KEY USING INDEX users_pkey" in res.fixed


def test_volatile_default_backfill_fills_every_row_in_batches(pair, monkeypatch):
    """Several batches (2 heap pages each), rows updated concurrently in between are still filled,
    the column ends NOT NULL; the ADD COLUMN itself did not rewrite the table."""
    monkeypatch.setattr(fixmod, "BACKFILL_PAGES", 2)
    unsafe = CASES["volatile_default"][1]
    res, _ = _fix(unsafe, pg_version=pair[0])
    assert "DO $bascule$" in res.fixed and "COMMIT;" in res.fixed
    assert any("row-level UPDATE triggers on events" in n for n in res.notes)  # what differs from ADD COLUMN
    first = split_statements(res.fixed)[0][0].sql
    assert first == "ALTER TABLE events ADD COLUMN uid uuid, ALTER COLUMN uid SET DEFAULT gen_random_uuid()"
    version, url_a, url_b = pair
    schema = f"backfill_{uuid.uuid4().hex[:6]}"
    with _connect(url_b, schema) as b:
        _run_unsafe(b, SETUP)
        pages = b.execute("SELECT pg_relation_size('events') / 8192").fetchone()[0]
        assert pages >= 6  # enough for several batches
        node = b.execute("SELECT pg_relation_filenode('events')").fetchone()[0]
        stmts = split_statements(res.fixed)[0]
        b.execute(stmts[0].sql)
        assert b.execute("SELECT pg_relation_filenode('events')").fetchone()[0] == node  # no rewrite
        assert b.execute("SELECT count(*) FROM events WHERE uid IS NULL").fetchone()[0] == 3000
        b.execute("INSERT INTO events (id) VALUES (-1)")  # a new row gets the default at once
        assert b.execute("SELECT uid IS NOT NULL FROM events WHERE id = -1").fetchone()[0]
        for st in stmts[1:]:
            b.execute(st.sql)
        assert b.execute("SELECT count(*) FROM events WHERE uid IS NULL OR r IS NULL").fetchone()[0] == 0
        assert b.execute("SELECT count(DISTINCT uid) FROM events").fetchone()[0] == 3001
        assert b.execute("SELECT attnotnull FROM pg_attribute WHERE attrelid = 'events'::regclass "
                         "AND attname = 'uid'").fetchone()[0]
        assert not b.execute("SELECT attnotnull FROM pg_attribute WHERE attrelid = 'events'::regclass "
                             "AND attname = 'r'").fetchone()[0]


def test_backfill_before_postgres14_uses_tid_lists(pg15, monkeypatch):
    """Before 14 there is no TID range scan: each batch lists every possible TID of its pages (a TID
    scan). The SQL is the same on 15, where it is checked."""
    monkeypatch.setattr(fixmod, "BACKFILL_PAGES_OLD", 3)
    res, _ = _fix("ALTER TABLE events ADD COLUMN uid uuid NOT NULL DEFAULT gen_random_uuid();", pg_version=13)
    assert "ctid = ANY (ARRAY(" in res.fixed and "ctid >=" not in res.fixed
    name = "fix_" + uuid.uuid4().hex[:10]
    with psycopg.connect(pg15.url("postgres"), autocommit=True) as c:
        c.execute(psql.SQL("CREATE DATABASE {}").format(psql.Identifier(name)))
    try:
        with _connect(pg15.url(name), "old") as b:
            _run_unsafe(b, SETUP)
            _run_fixed(b, res.fixed)
            assert b.execute("SELECT count(*) FROM events WHERE uid IS NULL").fetchone()[0] == 0
            plan = b.execute("EXPLAIN UPDATE events SET kind = kind WHERE ctid = ANY (ARRAY(SELECT "
                             "format('(%s,%s)', p, o)::tid FROM generate_series(0, 2) p, generate_series(1, 291) o))"
                             ).fetchall()
            assert any("Tid Scan" in r[0] for r in plan)
    finally:
        with psycopg.connect(pg15.url("postgres"), autocommit=True) as c:
            c.execute(psql.SQL("DROP DATABASE {} WITH (FORCE)").format(psql.Identifier(name)))


# --------------------------------------------------------------------------- what is not rewritten
def test_suppressed_finding_is_not_rewritten():
    text = ("-- bascule:ignore B101 forty rows, lookup table\nCREATE INDEX i ON users (name);\n"
            "CREATE INDEX j ON users (email);\n")
    res, findings = _fix(text)
    assert any(f.code == "B101" and f.suppressed for f in findings)
    assert res.fixed == ("-- bascule:ignore B101 forty rows, lookup table\nCREATE INDEX i ON users (name);\n"
                         "CREATE INDEX CONCURRENTLY j ON users (email);\n")
    assert [c["line"] for c in res.changes] == [3]


def test_table_created_in_the_same_migration_is_not_rewritten():
    text = ("CREATE TABLE fresh (id int, email text);\nCREATE INDEX ON fresh (email);\n"
            "ALTER TABLE fresh ADD UNIQUE (email), ALTER COLUMN id SET NOT NULL;\n"
            "ALTER TABLE fresh ADD COLUMN u uuid DEFAULT gen_random_uuid();\n")
    res, _ = _fix(text)
    assert not res.changed and res.fixed == text and not res.changes
    assert not res.needs_separate_transactions


def test_untouched_text_is_byte_identical():
    text = ("/* header */\r\nSELECT 1;  -- one\r\n\r\n  CREATE INDEX idx ON users (email) ; -- two\r\n"
            "UPDATE users SET name = 'é' WHERE id = 1;\r\n")
    res, _ = _fix(text)
    assert res.fixed == text.replace("INDEX idx", "INDEX CONCURRENTLY idx")
    assert res.changes == [{"code": "B101", "codes": ["B101"], "line": 4, "column": 3,
                            "before": "CREATE INDEX idx ON users (email)",
                            "after": "CREATE INDEX CONCURRENTLY idx ON users (email)"}]


def test_multi_statement_rewrite_keeps_indentation_and_line_endings():
    text = "BEGIN;\r\n    ALTER TABLE orders ADD CHECK (total > 0);\r\nCOMMIT;\r\n"
    res, _ = _fix(text, layout="native", transaction="auto")
    assert res.fixed == ("BEGIN;\r\n    ALTER TABLE orders ADD CONSTRAINT orders_total_check CHECK (total > 0) NOT VALID;"
                         "\r\n    ALTER TABLE orders VALIDATE CONSTRAINT orders_total_check;\r\nCOMMIT;\r\n")
    assert any('declare transaction = "never" in its migration.toml' in n for n in res.notes)


@pytest.mark.parametrize("text, why", [
    ("DROP INDEX users_name_idx, users_email_idx;", "one index per statement"),
    ("DROP INDEX users_name_idx CASCADE;", "CASCADE"),
    ("ALTER TABLE orders ADD COLUMN c int CHECK (c > 0) DEFAULT 1;", "not rewritten"),
    ("ALTER TABLE events ADD COLUMN u uuid DEFAULT gen_random_uuid(), ALTER COLUMN kind TYPE varchar(20);",
     "just adds columns"),
])
def test_shapes_left_alone_get_a_note(text, why):
    res, findings = _fix(text, before=[SETUP + "CREATE INDEX users_email_idx ON users (email);"])
    assert any(f.code in FIXABLE for f in findings)
    assert res.fixed == text and not res.changes
    assert any(why in n and "not rewritten" in n for n in res.notes), res.notes


def test_partly_rewritten_statement_says_what_is_left():
    text = ("ALTER TABLE orders ADD FOREIGN KEY (customer_id) REFERENCES customers,\n"
            "  ADD COLUMN buyer bigint DEFAULT 1 REFERENCES customers;\n")
    res, findings = _fix(text)
    assert [f.code for f in findings].count("B105") == 2
    assert "ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers NOT VALID" in res.fixed
    assert any("B105: 1 of 2 findings not rewritten" in n for n in res.notes), res.notes


def test_findings_of_another_file_are_ignored():
    text = "CREATE INDEX i ON users (email);\n"
    findings = lint_sql(text, path="migrations/1/up.sql", before=[SETUP]).findings
    assert not fix_text(text, "migrations/2/up.sql", findings).changed
    assert fix_text(text, "migrations/1/../1/up.sql", findings).changed


def test_exclusion_constraints_and_type_changes_are_not_fixable():
    text = ("CREATE EXTENSION IF NOT EXISTS btree_gist;\n"
            "ALTER TABLE events ADD EXCLUDE USING gist (kind WITH =);\n"
            "ALTER TABLE orders ALTER COLUMN total TYPE numeric(12,2);\n")
    res, findings = _fix(text)
    assert {f.code for f in findings} & {"B109", "B111"}
    assert not res.changed


def test_diff_and_result_shape():
    res, _ = _fix("CREATE INDEX i ON users (email);")
    assert res.changed and res.path == "m.sql"
    assert res.diff() == ("--- a/m.sql\n+++ b/m.sql\n@@ -1 +1 @@\n-CREATE INDEX i ON users (email);\n"
                          "\\ No newline at end of file\n+CREATE INDEX CONCURRENTLY i ON users (email);\n"
                          "\\ No newline at end of file\n")
    assert res.needs_separate_transactions and any("statement by statement" in n and "on its own" in n
                                                   for n in res.notes)
    empty = fix_text("SELECT 1;", "m.sql", [])
    assert not empty.changed and empty.diff() == "" and not empty.notes


def test_statement_found_by_line_when_the_script_is_a_section_of_its_file():
    """A script that is a section of its file (dbmate's up and down in one file) numbers its
    statements from the section's start: the statement is found by the line it starts on."""
    from pathlib import Path

    from bascule.analyze import LintUnit, lint_units
    from bascule.migration import Script

    text = "-- migrate:down\nDROP INDEX i;\n-- migrate:up\nCREATE INDEX i ON users (email);\n"
    units = [LintUnit("setup", "setup.sql", Script(Path("setup.sql"), SETUP), report=False),
             LintUnit("m", "m.sql", Script(Path("m.sql"), "CREATE INDEX i ON users (email);\n", first_line=4))]
    findings = lint_units(units).findings
    assert [(f.code, f.statement, f.stmt_line) for f in findings if f.code == "B101"] == [("B101", 0, 4)]
    res = fix_text(text, "m.sql", findings)
    assert res.fixed == text.replace("CREATE INDEX i", "CREATE INDEX CONCURRENTLY i")


# --------------------------------------------------------------------------- names
def test_make_object_name_truncates_like_postgres():
    assert make_object_name("orders", "customer_id", "fkey") == "orders_customer_id_fkey"
    long = make_object_name("a" * 70, "b" * 10, "check")
    assert long == "a" * 46 + "_" + "b" * 10 + "_check" and len(long.encode()) == 63
    assert make_object_name("é" * 40, None, "pkey").encode().__len__() <= 63
    assert make_object_name("é" * 40, None, "pkey").endswith("é_pkey")  # never half a character
    assert quote_ident("Status") == '"Status"' and quote_ident("order") == '"order"' and quote_ident("note") == "note"
