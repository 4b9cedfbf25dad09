"""`bascule up` / `down` / `status` end to end, as a user runs them, against real PostgreSQL."""

from __future__ import annotations

import json

USERS_UP = """
CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL);
INSERT INTO users (name) SELECT 'u' || g FROM generate_series(1, 100) g;
"""


def test_up_status_down_round_trip(vproject):
    p = vproject
    p.add("0001", "create_users", USERS_UP, "DROP TABLE users;")
    p.add("0002", "add_email", "ALTER TABLE users ADD COLUMN email text;", "ALTER TABLE users DROP COLUMN email;")
    st = p.status()
    assert [st[v]["state"] for v in ("0001", "0002")] == ["pending", "pending"]
    assert p.run("status", "--exit-code", check=1).returncode == 1

    out = p.run("up")
    assert "applied 2 migrations" in out.stdout
    st = p.status()
    assert all(st[v]["state"] == "applied" for v in ("0001", "0002"))
    assert st["0001"]["applied_by"] and st["0001"]["host"] and st["0001"]["duration_ms"] is not None
    assert st["0001"]["statements_total"] == 2 and st["0001"]["transactional"] is True
    assert p.db.scalar("SELECT count(*) FROM users") == 100
    p.run("status", "--exit-code")  # nothing pending: exit 0

    p.run("down")  # default: one step
    cols = [r[0] for r in p.db.query("SELECT column_name FROM information_schema.columns WHERE table_name='users'")]
    assert "email" not in cols
    assert p.status()["0002"]["state"] == "pending"
    p.run("down", "--to", "0001")  # nothing after 0001 is applied any more
    p.run("down", "--steps", "1")
    assert p.db.tables() == []
    events = [e["event"] for e in p.events()]
    assert events == ["applied", "applied", "rolled_back", "rolled_back"]
    only_first = json.loads(p.run("history", "--json", "--version", "1").stdout)["events"]
    assert [e["event"] for e in only_first] == ["applied", "rolled_back"]
    assert "T" in only_first[0]["at"]  # ISO 8601
    assert json.loads(p.run("history", "--verify", "--json").stdout)["chain_ok"] is True


def test_up_to_version_and_dry_run(project):
    p = project
    for i in range(1, 4):
        p.add(f"000{i}", f"t{i}", f"CREATE TABLE t{i} (id int);", f"DROP TABLE t{i};")
    dry = p.run("up", "--dry-run")
    assert "would apply 3 migration(s)" in dry.stdout and "CREATE TABLE t1" in dry.stdout
    assert p.db.tables() == []  # dry run changed nothing, not even bascule's schema
    assert p.db.scalar("SELECT count(*) FROM pg_namespace WHERE nspname = 'bascule'") == 0
    p.run("up", "--to", "0002")
    assert p.db.tables() == ["t1", "t2"]
    p.run("up")
    assert p.db.tables() == ["t1", "t2", "t3"]
    p.run("down", "--to", "0001", "--dry-run")
    assert p.db.tables() == ["t1", "t2", "t3"]
    p.run("down", "--to", "0001")
    assert p.db.tables() == ["t1"]


def test_transactional_failure_leaves_database_exactly_as_before(vproject):
    p = vproject
    p.add("0001", "base", "CREATE TABLE base (id int PRIMARY KEY); INSERT INTO base VALUES (1), (2);")
    p.run("up")
    before = p.db.schema_snapshot()
    p.add("0002", "broken", "CREATE TABLE child (id int);\nALTER TABLE base ADD COLUMN x int;\n"
                            "INSERT INTO base VALUES (1);\n")
    res = p.run("up", check=3)
    assert "0002 broken" in res.stderr and "up.sql:3" in res.stderr
    assert "duplicate key" in res.stderr
    assert "Traceback" not in res.stderr
    assert p.db.schema_snapshot() == before  # no child table, no column x
    st = p.status()["0002"]
    assert st["state"] == "failed" and st["failed_line"] == 3 and st["sqlstate"] == "23505"
    assert "INSERT INTO base VALUES (1)" in st["failed_statement"]
    assert "error:" in p.run("status").stdout
    # fix the file; the failed transactional migration is simply retried from the top
    (p.root / "migrations" / "0002_broken" / "up.sql").write_text("CREATE TABLE child (id int);\n")
    p.run("up")
    assert p.status()["0002"]["state"] == "applied"
    assert [e["event"] for e in p.events()] == ["applied", "failed", "applied"]


def test_syntax_error_applies_nothing(project):
    p = project
    p.add("0001", "ok", "CREATE TABLE a (id int);")
    p.add("0002", "bad", "CREATE TABLE b (id int);\n\nSELECT 'ünïcode' FORM nowhere x;\n")
    res = p.run("up", check=2)
    assert "0002_bad/up.sql:3:" in res.stderr and "syntax error" in res.stderr
    assert p.db.tables() == []


def test_non_transactional_resume_at_failed_statement(vproject):
    """A CONCURRENTLY migration runs statement by statement; a failure resumes where it stopped and
    the INVALID index left by the failed build is dropped before it is built again."""
    p = vproject
    p.add("0001", "items", "CREATE TABLE items (id int, sku text);\n"
                           "INSERT INTO items VALUES (1, 'a'), (2, 'a'), (3, 'b');\n")
    p.add("0002", "unique_sku",
          "CREATE TABLE audit_marker (id int);\n"            # not idempotent: must not run twice
          "CREATE INDEX CONCURRENTLY items_id_idx ON items (id);\n"
          "CREATE UNIQUE INDEX CONCURRENTLY items_sku_key ON items (sku);\n"
          "INSERT INTO audit_marker VALUES (1);\n")
    res = p.run("up", check=3)
    assert "2 of 4 statements were applied" in res.stderr or "resume at statement 3" in res.stderr
    st = p.status()["0002"]
    assert st["state"] == "failed" and st["transactional"] is False
    assert st["statements_done"] == 2 and st["failed_line"] == 3
    # the failed concurrent build left an INVALID index behind
    assert p.db.scalar("SELECT indisvalid FROM pg_index WHERE indexrelid = 'items_sku_key'::regclass") is False
    # the user fixes the data by hand and runs up again
    p.db.query("DELETE FROM items WHERE id = 2 RETURNING id")
    out = p.run("up")
    assert "resuming at statement 3" in out.stderr
    assert "dropped INVALID index items_sku_key" in out.stderr
    assert p.db.scalar("SELECT indisvalid FROM pg_index WHERE indexrelid = 'items_sku_key'::regclass") is True
    assert p.db.scalar("SELECT count(*) FROM audit_marker") == 1
    st = p.status()["0002"]
    assert st["state"] == "applied" and st["attempts"] == 2
    kinds = [e["event"] for e in p.events() if e["version"] == "0002"]
    assert kinds == ["started", "failed", "resumed", "invalid_index_dropped", "applied"]


def test_transaction_never_and_always(project):
    p = project
    p.add("0001", "t", "CREATE TABLE t (id int);")
    p.add("0002", "conc", "CREATE INDEX CONCURRENTLY t_id ON t (id);", toml='transaction = "always"\n')
    res = p.run("up", check=2)
    assert "cannot run inside a transaction" in res.stderr and "CREATE INDEX CONCURRENTLY t_id" in res.stderr
    assert p.db.tables() == []  # checked before anything ran, 0001 included
    (p.root / "migrations" / "0002_conc" / "migration.toml").write_text('transaction = "auto"\n')
    p.run("up")
    assert p.status()["0002"]["transactional"] is False


def test_copy_from_stdin_and_dollar_quotes(project):
    p = project
    p.add("0001", "seed", """CREATE TABLE people (id int, name text);
COPY people (id, name) FROM stdin;
1\tO'Brien; not a statement
2\t\\N
\\.
CREATE FUNCTION shout(t text) RETURNS text LANGUAGE sql AS $fn$ SELECT upper(t) || ';' $fn$;
""")
    p.run("up")
    assert p.db.query("SELECT id, name FROM people ORDER BY id") == [(1, "O'Brien; not a statement"), (2, None)]
    assert p.db.scalar("SELECT shout('hi')") == "HI;"


def test_begin_commit_in_file_are_owned_by_bascule(project):
    p = project
    p.add("0001", "explicit_txn", "BEGIN;\nCREATE TABLE a (id int);\nCREATE TABLE b (id int);\nCOMMIT;\n")
    p.add("0002", "fails", "BEGIN;\nCREATE TABLE c (id int);\nSELECT 1/0;\nCOMMIT;\n")
    res = p.run("up", check=3)
    assert "BEGIN/COMMIT written in the file are ignored" in res.stderr
    # the file's own COMMIT did not commit half of 0002
    assert p.db.tables() == ["a", "b"]


def test_enum_add_value_version_dependent(vproject):
    """ALTER TYPE ... ADD VALUE runs in a transaction on PostgreSQL 12+ (both servers we test)."""
    p = vproject
    p.add("0001", "enum", "CREATE TYPE mood AS ENUM ('sad');")
    p.add("0002", "add_value", "ALTER TYPE mood ADD VALUE 'happy';")
    p.run("up")
    st = p.status()["0002"]
    assert st["state"] == "applied" and st["transactional"] is True
    assert p.db.scalar("SELECT string_agg(enumlabel, ',' ORDER BY enumsortorder) FROM pg_enum") == "sad,happy"


def test_history_is_append_only(project):
    import psycopg

    p = project
    p.add("0001", "a", "CREATE TABLE a (id int);")
    p.run("up")
    with p.db.connect() as c:
        for stmt in ("UPDATE bascule.events SET event = 'x'", "DELETE FROM bascule.events", "TRUNCATE bascule.events"):
            try:
                c.execute(stmt)
            except psycopg.errors.RaiseException as exc:
                assert "append-only" in str(exc)
            else:
                raise AssertionError(f"{stmt} was allowed")
        # someone with enough rights disables the trigger and edits a row: the chain shows it
        c.execute("ALTER TABLE bascule.events DISABLE TRIGGER USER")
        c.execute("UPDATE bascule.events SET detail = '{}'::jsonb")
    res = p.run("history", "--verify", check=1)
    assert "does not match its hash" in res.stdout


def test_nothing_outside_bascule_schema(project):
    p = project
    p.run("up")  # no migrations at all: creates only the bascule schema
    assert p.db.tables() == []
    assert sorted(p.db.tables("bascule")) == ["events", "evidence", "meta", "migrations"]


def test_do_block_that_commits_runs_outside_a_transaction(vproject):
    """A DO block that COMMITs between batches is refused inside a transaction block ("invalid
    transaction termination"): bascule runs such a migration statement by statement, and the
    batches before a failure stay committed."""
    p = vproject
    p.add("0001", "batched", "CREATE TABLE items (id int, done bool DEFAULT false);\n"
                             "INSERT INTO items SELECT g FROM generate_series(1, 30) g;\n"
                             "DO $$\nBEGIN\n  FOR lo IN 0..20 BY 10 LOOP\n"
                             "    UPDATE items SET done = true WHERE id > lo AND id <= lo + 10;\n"
                             "    COMMIT;\n  END LOOP;\nEND\n$$;")
    out = p.run("up")
    assert "applied 1 migration" in out.stdout
    st = p.status()["0001"]
    assert st["state"] == "applied" and st["transactional"] is False
    assert p.db.scalar("SELECT count(*) FROM items WHERE done") == 30
