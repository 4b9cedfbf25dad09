"""`bascule lint --fix` as a user runs it: per layout, what the rewrite does and that `bascule up`
applies it, ending in the schema (and data) the unsafe migration makes; names PostgreSQL would
choose given what earlier migrations created; column text kept as written."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import sql as psql

from bascule.analyze import lint_sql
from bascule.analyze.fix import Names, fix_text, make_object_name, names_before
from bascule.rehearse.fingerprint import diff, fingerprint
from bascule.sql import split_statements

USERS = ("CREATE TABLE users (id bigint, email text, t timestamptz);\n"
         "INSERT INTO users SELECT g, 'u' || g, NULL FROM generate_series(1, 300) g;\n")


# --------------------------------------------------------------------------- helpers
def _write(root: Path, layout: str, files: dict[str, str]) -> Path:
    (root / "migrations").mkdir(parents=True)
    (root / "bascule.toml").write_text(f'[project]\nmigrations = "migrations"\nlayout = "{layout}"\n')
    for rel, text in files.items():
        p = root / "migrations" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


def _bascule(root: Path, *args: str, url: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "BASCULE_ENV")}
    cmd = [sys.executable, "-m", "bascule.cli.main", *(["--url", url] if url else []), *args]
    return subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def dbs(pg18):
    """Two fresh databases: one for the unsafe project, one for the fixed copy."""
    names = ["fixm_" + uuid.uuid4().hex[:10] for _ in range(2)]
    with psycopg.connect(pg18.url("postgres"), autocommit=True) as c:
        for n in names:
            c.execute(psql.SQL("CREATE DATABASE {}").format(psql.Identifier(n)))
    yield [pg18.url(n) for n in names]
    with psycopg.connect(pg18.url("postgres"), autocommit=True) as c:
        for n in names:
            c.execute(psql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(psql.Identifier(n)))


def _assert_same_schema(a, b) -> None:
    """The public schemas of two connections are the same (fingerprint: tables, columns, indexes,
    constraints, names)."""
    fa, fb = fingerprint(a, ["public"]), fingerprint(b, ["public"])
    assert fa == fb, "\n".join(d.message for d in diff(fa, fb))


def _apply_unsafe_and_fixed(dbs: list[str], setup: str, unsafe: str, fixed: str) -> None:
    """setup + unsafe on the first database, setup + the fixed text statement by statement on the
    second, and the same schema on both."""
    with psycopg.connect(dbs[0], autocommit=True) as a, psycopg.connect(dbs[1], autocommit=True) as b:
        a.execute(setup + unsafe)
        b.execute(setup)
        for st in split_statements(fixed)[0]:
            b.execute(st.sql)
        _assert_same_schema(a, b)


def _fix_project(tmp_path: Path, layout: str, files: dict[str, str], dbs: list[str], *, data: str | None = None):
    """Two copies of a project; `bascule lint --fix` on the second; `bascule up` on both; the schemas
    (and the rows `data` selects) compared. Returns (fix run, fixed project root)."""
    unsafe = _write(tmp_path / "unsafe", layout, files)
    fixed = _write(tmp_path / "fixed", layout, files)
    run = _bascule(fixed, "lint", "--fix")
    for root, url in ((unsafe, dbs[0]), (fixed, dbs[1])):
        up = _bascule(root, "up", url=url)
        assert up.returncode == 0, f"bascule up in {root.name}:\n{up.stdout}\n{up.stderr}"
    with psycopg.connect(dbs[0]) as a, psycopg.connect(dbs[1]) as b:
        _assert_same_schema(a, b)
        if data:
            assert a.execute(data).fetchall() == b.execute(data).fetchall()
    return run, fixed


# --------------------------------------------------------------------------- layouts (bug: one transaction)
CHECKS = "ALTER TABLE users ADD CHECK (id > 0);\nALTER TABLE users ALTER email SET NOT NULL;\n"
LAYOUTS = {
    "golang-migrate": ({"1_base.up.sql": USERS, "1_base.down.sql": "DROP TABLE users;\n"},
                       "2_unsafe.up.sql", {"2_unsafe.down.sql": "SELECT 1;\n"}),
    "prisma": ({"20240101000000_base/migration.sql": USERS}, "20240102000000_unsafe/migration.sql", {}),
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_validate_rewrites_are_left_where_the_migration_must_run_as_one_transaction(tmp_path, dbs, layout):
    """golang-migrate and Prisma cannot mark a migration non-transactional: NOT VALID + VALIDATE in
    one transaction gains nothing (B125), so the statements stay as written, with the reason."""
    base, name, extra = LAYOUTS[layout]
    run, fixed = _fix_project(tmp_path, layout, {**base, name: CHECKS, **extra}, dbs)
    assert (fixed / "migrations" / name).read_text() == CHECKS
    notes = [n for n in run.stderr.splitlines() if "not rewritten" in n]
    assert len(notes) == 2 and all("one transaction" in n and "later migration" in n for n in notes), run.stderr
    assert 'declare transaction = "never"' not in run.stderr
    assert "B125" not in _bascule(fixed, "lint").stdout


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_a_migration_that_runs_statement_by_statement_anyway_is_rewritten_whole(tmp_path, dbs, layout):
    """With CREATE INDEX CONCURRENTLY (or the backfill's committing DO block) in it, bascule runs
    the migration statement by statement whatever its layout: then every rewrite is made."""
    base, name, extra = LAYOUTS[layout]
    unsafe = CHECKS + "CREATE INDEX users_email_idx ON users (email);\n"
    run, fixed = _fix_project(tmp_path, layout, {**base, name: unsafe, **extra}, dbs)
    text = (fixed / "migrations" / name).read_text()
    assert "NOT VALID" in text and "CREATE INDEX CONCURRENTLY" in text, run.stderr
    relint = _bascule(fixed, "lint", "--format", "json").stdout
    assert '"B125"' not in relint and '"B106"' not in relint and '"B107"' not in relint


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_volatile_default_backfill_applies_in_layouts_without_a_transaction_switch(tmp_path, dbs, layout):
    base, name, extra = LAYOUTS[layout]
    unsafe = "ALTER TABLE users ADD COLUMN uid uuid NOT NULL DEFAULT gen_random_uuid();\n"
    run, fixed = _fix_project(tmp_path, layout, {**base, name: unsafe, **extra}, dbs,
                              data="SELECT count(*), count(DISTINCT uid), count(uid) FROM users")
    assert "COMMIT;" in (fixed / "migrations" / name).read_text(), run.stderr


def test_plain_file_is_treated_as_one_transaction():
    """A plain .sql file has nowhere to say it runs outside a transaction: B105/B106/B107 stay."""
    text = "ALTER TABLE users ADD CHECK (id > 0);\n"
    findings = lint_sql(text, path="m.sql", before=[USERS]).findings
    res = fix_text(text, "m.sql", findings)
    assert not res.changed and any("a plain .sql file has no per-migration setting" in n for n in res.notes)
    # a native migration (the CLI then declares transaction = "never") is rewritten
    res = fix_text(text, "m.sql", findings, layout="native")
    assert "NOT VALID" in res.fixed and any('transaction = "never" in its migration.toml' in n for n in res.notes)


def test_native_layout_still_declares_the_migration_non_transactional(tmp_path, dbs):
    files = {"001_base/up.sql": USERS, "002_unsafe/up.sql": CHECKS, "002_unsafe/down.sql": "SELECT 1;\n"}
    run, fixed = _fix_project(tmp_path, "native", files, dbs)
    assert "NOT VALID" in (fixed / "migrations" / "002_unsafe" / "up.sql").read_text()
    assert 'transaction = "never"' in (fixed / "migrations" / "002_unsafe" / "migration.toml").read_text()


# --------------------------------------------------------------------------- IF [NOT] EXISTS
def test_add_column_if_not_exists_is_not_rewritten(tmp_path, dbs):
    """The column exists (with NULLs): the original does nothing; a SET DEFAULT and a backfill
    would change the column's default and its rows."""
    unsafe = "ALTER TABLE users ADD COLUMN IF NOT EXISTS t timestamptz DEFAULT clock_timestamp();\n"
    files = {"001_base/up.sql": USERS, "002_unsafe/up.sql": unsafe, "002_unsafe/down.sql": "SELECT 1;\n"}
    run, fixed = _fix_project(tmp_path, "native", files, dbs, data="SELECT count(*), count(t) FROM users")
    assert (fixed / "migrations" / "002_unsafe" / "up.sql").read_text() == unsafe
    assert "IF NOT EXISTS" in run.stderr and "not rewritten" in run.stderr


def test_alter_table_if_exists_on_no_table_does_nothing_after_the_rewrite(tmp_path, dbs):
    unsafe = "ALTER TABLE IF EXISTS gone ADD COLUMN r float8 NOT NULL DEFAULT random();\n"
    files = {"001_base/up.sql": USERS, "002_unsafe/up.sql": unsafe, "002_unsafe/down.sql": "SELECT 1;\n"}
    run, fixed = _fix_project(tmp_path, "native", files, dbs)
    assert "to_regclass('gone')" in (fixed / "migrations" / "002_unsafe" / "up.sql").read_text(), run.stderr
    # and on a table that exists, it fills every row
    unsafe = "ALTER TABLE IF EXISTS users ADD COLUMN r float8 NOT NULL DEFAULT random();\n"
    text = fix_text(unsafe, "m.sql", lint_sql(unsafe, path="m.sql", before=[USERS]).findings,
                    transaction="never").fixed
    with psycopg.connect(dbs[0], autocommit=True) as c:
        for st in split_statements(text)[0]:
            c.execute(st.sql)
        assert c.execute("SELECT count(*), count(r) FROM users").fetchone() == (300, 300)


def test_named_not_null_of_a_new_column_keeps_its_name_on_postgres18(dbs):
    """On 18 NOT NULL is a constraint with a name: SET NOT NULL would call it <table>_<col>_not_null."""
    unsafe = "ALTER TABLE users ADD COLUMN r float8 CONSTRAINT r_set NOT NULL DEFAULT random();\n"
    findings = lint_sql(unsafe, path="m.sql", before=[USERS]).findings
    res = fix_text(unsafe, "m.sql", findings, transaction="never")
    assert not res.changed and any("keep the NOT NULL constraint's name" in n for n in res.notes)
    old = fix_text(unsafe, "m.sql", lint_sql(unsafe, path="m.sql", before=[USERS], pg_version=15).findings,
                   pg_version=15, transaction="never")
    assert "SET NOT NULL" in old.fixed  # before 18 NOT NULL has no name to keep


# --------------------------------------------------------------------------- names taken before the file
def test_index_and_constraint_names_taken_by_earlier_migrations(tmp_path, dbs):
    """PostgreSQL skips a name any relation of the schema has (an index, a view, a sequence) for
    an unnamed index, and any constraint's for an unnamed constraint; --fix does the same with the
    names the earlier migrations left."""
    base = ("CREATE TABLE users (id serial CHECK (id > 0), email text, t timestamptz);\n"
            "INSERT INTO users (email) SELECT 'u' || g FROM generate_series(1, 300) g;\n"
            "CREATE INDEX users_email_idx ON users (id);\n"
            "CREATE VIEW users_email_idx1 AS SELECT 1 AS one;\n"
            "CREATE SEQUENCE users_email_key;\n"
            "CREATE INDEX ON users (lower(email));\n")
    unsafe = ("CREATE INDEX ON users (email);\nCREATE INDEX ON users (lower(email));\n"
              "ALTER TABLE users ADD UNIQUE (email);\nALTER TABLE users ADD CHECK (id < 1000000);\n")
    files = {"001_base/up.sql": base, "002_unsafe/up.sql": unsafe, "002_unsafe/down.sql": "SELECT 1;\n"}
    from bascule.analyze.inputs import collect

    _write(tmp_path / "probe", "native", files)
    units = collect([str(tmp_path / "probe" / "migrations")])
    findings = lint_sql(unsafe, path="m.sql", before=[base]).findings
    for unit, names in names_before(units):  # as the CLI walks the migrations
        if unit.path.endswith("002_unsafe/up.sql"):
            res = fix_text(unsafe, "m.sql", findings, layout="native", names=names)
    assert "CONCURRENTLY users_email_idx2 ON users (email)" in res.fixed
    assert "CONCURRENTLY users_lower_idx1 ON users" in res.fixed
    assert "users_email_key1" in res.fixed and "users_id_check1" in res.fixed
    files["002_unsafe/up.sql"] = res.fixed
    unsafe_root = _write(tmp_path / "unsafe", "native", {**files, "002_unsafe/up.sql": unsafe})
    fixed_root = _write(tmp_path / "fixed", "native", files)
    (fixed_root / "migrations" / "002_unsafe" / "migration.toml").write_text('transaction = "never"\n')
    for root, url in ((unsafe_root, dbs[0]), (fixed_root, dbs[1])):
        up = _bascule(root, "up", url=url)
        assert up.returncode == 0, up.stdout + up.stderr
    with psycopg.connect(dbs[0]) as a, psycopg.connect(dbs[1]) as b:
        _assert_same_schema(a, b)


def test_names_in_the_live_catalog_are_taken(dbs):
    from bascule.analyze.live import LiveCatalog

    with psycopg.connect(dbs[0], autocommit=True) as c:
        c.execute(USERS + "CREATE INDEX users_email_idx ON users (id);"
                  "ALTER TABLE users ADD CONSTRAINT users_id_check CHECK (id > 0);")
        text = "CREATE INDEX ON users (email);\nALTER TABLE users ADD CHECK (id < 1000000);\n"
        findings = lint_sql(text, path="m.sql", before=[USERS]).findings
        res = fix_text(text, "m.sql", findings, transaction="never", names=Names(LiveCatalog(c, probe=False)))
        assert "users_email_idx1" in res.fixed and "users_id_check1" in res.fixed
        for st in split_statements(res.fixed)[0]:
            c.execute(st.sql)
        with psycopg.connect(dbs[1], autocommit=True) as d:  # the same, unsafe
            d.execute(USERS + "CREATE INDEX users_email_idx ON users (id);"
                      "ALTER TABLE users ADD CONSTRAINT users_id_check CHECK (id > 0);" + text)
            _assert_same_schema(d, c)


def test_replayed_migrations_already_in_the_database_are_not_counted_twice(tmp_path, dbs):
    """Migration 001 ran on the database given with --env/--url: the index PostgreSQL named for it
    is in the live catalog and in the replay of 001; it takes one name, not two."""
    from bascule.analyze.inputs import collect
    from bascule.analyze.live import LiveCatalog

    base = USERS + "CREATE INDEX ON users (email);\n"
    unsafe = "CREATE INDEX ON users (email);\n"
    _write(tmp_path / "p", "native", {"001_base/up.sql": base, "002_idx/up.sql": unsafe})
    units = collect([str(tmp_path / "p" / "migrations")])
    findings = lint_sql(unsafe, path="m.sql", before=[base]).findings
    with psycopg.connect(dbs[0], autocommit=True) as a, psycopg.connect(dbs[1], autocommit=True) as b:
        a.execute(base + unsafe)
        b.execute(base)
        for unit, names in names_before(units, live=LiveCatalog(b, probe=False)):
            if unit.path.endswith("002_idx/up.sql"):
                res = fix_text(unsafe, "m.sql", findings, transaction="never", names=names)
        assert "CONCURRENTLY users_email_idx1 ON" in res.fixed
        for st in split_statements(res.fixed)[0]:
            b.execute(st.sql)
        _assert_same_schema(a, b)


def test_names_follow_drops_and_renames():
    names = Names()
    for sql in ("CREATE TABLE t (a int PRIMARY KEY, b int UNIQUE)", "CREATE INDEX ON t (a)",
                "ALTER INDEX t_a_idx RENAME TO old_idx", "CREATE TABLE u (x serial)", "DROP TABLE u",
                "ALTER TABLE t RENAME CONSTRAINT t_b_key TO bee"):
        names.learn_sql(sql)
    assert names.choose("t", "a", "idx") == "t_a_idx"  # renamed away
    assert names.choose("t", "b", "key") == "t_b_key"
    assert "bee" in names.relations and "bee" in names.constraints and "old_idx" in names.relations
    assert names.choose("t", None, "pkey") == "t_pkey1"
    assert names.choose("u", "x", "seq") == "u_x_seq"  # dropped with its table


# --------------------------------------------------------------------------- multibyte names
@pytest.mark.parametrize("table, column", [
    ("ünïcödé_täblé_ñame_with_lots_of_multibyte_characters_éééééé", "ëëëëëëëëëëëëëëëëëëëëëëëëëëëë"),
    ("日本語のとても長いテーブル名前です日本語のとても長い", "列名前の列名前の列名前"),
    ("a" * 30 + "é" * 20, "b" * 20 + "ß" * 10),
])
def test_generated_names_of_multibyte_identifiers_are_postgres_names(dbs, table, column):
    """makeObjectName cuts each part with pg_mbcliplen: a character that ends exactly at the cut
    stays whole."""
    create = f'CREATE TABLE "{table}" ("{column}" int, id int);\nINSERT INTO "{table}" VALUES (1, 1);\n'
    text = (f'ALTER TABLE "{table}" ADD CHECK ("{column}" > 0);\n'
            f'ALTER TABLE "{table}" ADD UNIQUE ("{column}");\n'
            f'CREATE INDEX ON "{table}" ("{column}", id);\n')
    findings = lint_sql(text, path="m.sql", before=[create]).findings
    res = fix_text(text, "m.sql", findings, transaction="never")
    assert res.fixed.count("CONCURRENTLY") == 2 and "NOT VALID" in res.fixed, res.notes
    _apply_unsafe_and_fixed(dbs, create, text, res.fixed)


def test_make_object_name_keeps_a_character_ending_at_the_cut():
    name = make_object_name("ünïcödé_täblé_ñame_with_lots_of_multibyte_characters_é", "ë" * 28, "check")
    assert name == "ünïcödé_täblé_ñame_wi_" + "ë" * 14 + "_check" and len(name.encode()) == 63


# --------------------------------------------------------------------------- the user's text
def test_volatile_default_keeps_the_column_text_as_written(dbs):
    setup = "CREATE TABLE events (id bigint);\nINSERT INTO events SELECT generate_series(1, 500);\n"
    unsafe = ("ALTER TABLE events ADD COLUMN n int NOT NULL DEFAULT (random()*10)::int,\n"
              "  ADD COLUMN s text COLLATE \"C\" /* kept */ DEFAULT md5(random()::text) NULL;\n")
    findings = lint_sql(unsafe, path="m.sql", before=[setup]).findings
    res = fix_text(unsafe, "m.sql", findings, transaction="never")
    first = split_statements(res.fixed)[0][0].sql
    assert first == ("ALTER TABLE events ADD COLUMN n int, ALTER COLUMN n SET DEFAULT (random()*10)::int,\n"
                     "  ADD COLUMN s text COLLATE \"C\" /* kept */ NULL, "
                     "ALTER COLUMN s SET DEFAULT md5(random()::text)")
    _apply_unsafe_and_fixed(dbs, setup, unsafe, res.fixed)
    with psycopg.connect(dbs[1]) as b:
        assert b.execute("SELECT count(*) FROM events WHERE n IS NULL OR s IS NULL").fetchone()[0] == 0


def test_lint_fix_command_avoids_names_of_earlier_migrations(tmp_path, dbs):
    """Through `bascule lint --fix`: an index name an earlier migration took makes the rewrite use
    the next one, as PostgreSQL would, and the fixed project applies with the same schema."""
    files = {"001_base/up.sql": "CREATE TABLE users (id int, email text);\nCREATE INDEX users_email_idx ON users (id);\n",
             "002_idx/up.sql": "CREATE INDEX ON users (email);\n"}
    run, fixed = _fix_project(tmp_path, "native", files, dbs)
    assert "CREATE INDEX CONCURRENTLY users_email_idx1 ON users (email);" in \
        (fixed / "migrations" / "002_idx" / "up.sql").read_text(), run.stderr


def test_pending_migrations_avoid_the_live_names_and_each_other(tmp_path, dbs):
    """The database holds users_email_idx (made outside the migrations) and has run none of them:
    two pending migrations that each create an unnamed index get _idx1 and _idx2, as PostgreSQL
    would name them, and the fixed project applies."""
    with psycopg.connect(dbs[1], autocommit=True) as c:
        c.execute(USERS + "CREATE INDEX users_email_idx ON users (id);")
    files = {"001_a/up.sql": "CREATE INDEX ON users (email);\n", "002_b/up.sql": "CREATE INDEX ON users (email);\n"}
    root = _write(tmp_path / "p", "native", files)
    run = _bascule(root, "lint", "--fix", url=dbs[1])
    texts = [(root / "migrations" / m / "up.sql").read_text() for m in ("001_a", "002_b")]
    assert "users_email_idx1 ON" in texts[0] and "users_email_idx2 ON" in texts[1], run.stderr
    up = _bascule(root, "up", url=dbs[1])
    assert up.returncode == 0, up.stdout + up.stderr


def test_constraint_names_of_other_tables_in_the_schema_are_taken(dbs):
    """PostgreSQL names a new constraint to avoid every constraint of the schema: after users was
    renamed (keeping users_id_check), a CHECK on the new users is users_id_check1. A constraint of a
    table the migrations dropped is gone with it."""
    from bascule.analyze.live import LiveCatalog

    with psycopg.connect(dbs[0], autocommit=True) as c:
        c.execute(USERS + "ALTER TABLE users ADD CHECK (id > 0); ALTER TABLE users RENAME TO old_users;"
                  "CREATE TABLE gone (id int CHECK (id > 0));" + USERS)
        text = "ALTER TABLE users ADD CHECK (id > 0);\n"
        findings = lint_sql(text, path="m.sql", before=[USERS]).findings
        live = LiveCatalog(c, probe=False)
        res = fix_text(text, "m.sql", findings, transaction="never", names=Names(live))
        assert "users_id_check1" in res.fixed, res.fixed
        for st in split_statements(res.fixed)[0]:
            c.execute(st.sql)
        assert c.execute("SELECT count(*) FROM pg_constraint WHERE conname = 'users_id_check1'").fetchone()[0] == 1
        names = Names(live)
        assert names.choose("gone", "id", "check") == "gone_id_check1"
        names.learn_sql("DROP TABLE gone")
        assert names.choose("gone", "id", "check") == "gone_id_check"


def test_one_transaction_note_keeps_each_statements_own_reason(tmp_path, dbs):
    """golang-migrate: SET NOT NULL is left for the transaction's reason, and ADD COLUMN IF NOT
    EXISTS for its own (the column may exist), not for the backfill's."""
    unsafe = ("ALTER TABLE users ALTER email SET NOT NULL;\n"
              "ALTER TABLE users ADD COLUMN IF NOT EXISTS u uuid NOT NULL DEFAULT gen_random_uuid();\n")
    files = {"1_base.up.sql": USERS, "1_base.down.sql": "DROP TABLE users;\n",
             "2_unsafe.up.sql": unsafe, "2_unsafe.down.sql": "SELECT 1;\n"}
    run, fixed = _fix_project(tmp_path, "golang-migrate", files, dbs)
    notes = [n for n in run.stderr.splitlines() if "not rewritten" in n]
    assert any("B107" in n and "one transaction" in n for n in notes), run.stderr
    assert any("B112" in n and "IF NOT EXISTS" in n for n in notes), run.stderr
