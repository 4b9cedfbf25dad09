"""Sources (one adapter per layout), the statement splitter and version ordering."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bascule.errors import SourceError, SqlSyntaxError
from bascule.migration import Script, checksum
from bascule.sources import detect_layout, load_migrations
from bascule.sql import split_statements
from bascule.versions import sort_versions, version_key


def write(root: Path, rel: str, text: str, newline: str = "\n") -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.replace("\n", newline).encode("utf-8"))
    return path


def kinds(script: Script) -> list[str]:
    return [s.kind for s in script.statements]


# --------------------------------------------------------------------------- projects per layout

CREATE_USERS = "CREATE TABLE users (\n    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n    name text NOT NULL\n);\n"
DROP_USERS = "DROP TABLE users;\n"
ADD_EMAIL = "ALTER TABLE users ADD COLUMN email text;\nCREATE UNIQUE INDEX users_email ON users (email);\n"
DROP_EMAIL = "DROP INDEX users_email;\nALTER TABLE users DROP COLUMN email;\n"
INDEX_CONC = "CREATE INDEX CONCURRENTLY users_name ON users (name);\n"
TRIGGER_FN = """CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();  -- a ; inside the body
    RETURN NEW;
END;
$$;
"""


def make_native(root: Path, nl: str = "\n") -> Path:
    write(root, "20261121093000_create_users/up.sql", CREATE_USERS, nl)
    write(root, "20261121093000_create_users/down.sql", DROP_USERS, nl)
    write(root, "20261121094500_add_email/up.sql", ADD_EMAIL, nl)
    write(root, "20261121094500_add_email/migration.toml",
          'description = "Add an email column"\ndepends_on = ["20261121093000"]\n'
          'lock_timeout = "5s"\nstatement_timeout = 60\n', nl)
    write(root, "20261122080000_index_names/up.sql", INDEX_CONC, nl)
    write(root, "20261122080000_index_names/migration.toml", 'transaction = "never"\n', nl)
    return root


def make_diesel(root: Path, nl: str = "\n") -> Path:
    write(root, "00000000000000_diesel_initial_setup/up.sql",
          "CREATE OR REPLACE FUNCTION diesel_manage_updated_at(_tbl regclass) RETURNS VOID AS $$\n"
          "BEGIN\n    EXECUTE format('SELECT 1 FROM %s', _tbl);\nEND;\n$$ LANGUAGE plpgsql;\n", nl)
    write(root, "00000000000000_diesel_initial_setup/down.sql",
          "DROP FUNCTION IF EXISTS diesel_manage_updated_at(_tbl regclass);\n", nl)
    write(root, "2017-09-23-182408_create_users/up.sql", CREATE_USERS, nl)
    write(root, "2017-09-23-182408_create_users/down.sql", DROP_USERS, nl)
    write(root, "2026-06-02-122008-0000_index_names/up.sql", INDEX_CONC, nl)
    write(root, "2026-06-02-122008-0000_index_names/down.sql", "DROP INDEX CONCURRENTLY users_name;\n", nl)
    write(root, "2026-06-02-122008-0000_index_names/metadata.toml", "run_in_transaction = false\n", nl)
    write(root, "2026-07-01-000000_add_email/up.sql", ADD_EMAIL, nl)
    write(root, "2026-07-01-000000_add_email/metadata.toml", "run_in_transaction = true\n", nl)
    return root


def make_golang(root: Path, nl: str = "\n") -> Path:
    write(root, "1_create_users.up.sql", CREATE_USERS, nl)
    write(root, "1_create_users.down.sql", DROP_USERS, nl)
    write(root, "2_add_email.up.sql", ADD_EMAIL, nl)
    write(root, "2_add_email.down.sql", DROP_EMAIL, nl)
    write(root, "9_touch_fn.up.sql", TRIGGER_FN, nl)
    write(root, "10_index_names.up.sql", INDEX_CONC, nl)
    write(root, "README.md", "not a migration\n", nl)
    return root


DBMATE_USERS = f"-- migrate:up\n{CREATE_USERS}\n-- migrate:down\n{DROP_USERS}"
DBMATE_EMAIL = f"-- add the email column\n\n-- migrate:up\n{ADD_EMAIL}\n-- migrate:down\n{DROP_EMAIL}"
DBMATE_INDEX = f"-- migrate:up transaction:false\n{INDEX_CONC}\n-- migrate:down\n\n"


def make_dbmate(root: Path, nl: str = "\n") -> Path:
    write(root, "20151129054053_create_users.sql", DBMATE_USERS, nl)
    write(root, "20151130120000_add_email.sql", DBMATE_EMAIL, nl)
    write(root, "20160101000000_index_names.sql", DBMATE_INDEX, nl)
    return root


def make_flyway(root: Path, nl: str = "\n") -> Path:
    write(root, "V1__create_users.sql", CREATE_USERS, nl)
    write(root, "V1_1__add_email.sql", ADD_EMAIL, nl)
    write(root, "U1_1__add_email.sql", DROP_EMAIL, nl)
    write(root, "V1.2.9__touch_fn.sql", TRIGGER_FN, nl)
    write(root, "more/V1.2.10__index_names.sql", INDEX_CONC, nl)
    write(root, "more/V1.2.10__index_names.sql.conf", "# Flyway script config\nexecuteInTransaction=false\n", nl)
    write(root, "R__active_users.sql", "CREATE OR REPLACE VIEW active_users AS SELECT * FROM users;\n", nl)
    write(root, "v3__lowercase_is_ignored.sql", "SELECT 1;\n", nl)
    return root


def make_prisma(root: Path, nl: str = "\n") -> Path:
    write(root, "migration_lock.toml", 'provider = "postgresql"\n', nl)
    write(root, "20210101120000_init/migration.sql", CREATE_USERS, nl)
    write(root, "20210315093000_add_email/migration.sql", ADD_EMAIL, nl)
    return root


MAKERS = {
    "native": make_native,
    "diesel": make_diesel,
    "golang-migrate": make_golang,
    "dbmate": make_dbmate,
    "flyway": make_flyway,
    "prisma": make_prisma,
}


@pytest.mark.parametrize("layout", list(MAKERS))
def test_layout_is_detected_and_loads_the_same_as_explicit(tmp_path, layout):
    folder = MAKERS[layout](tmp_path)
    assert detect_layout(folder) == layout
    auto = load_migrations(folder, "auto")
    explicit = load_migrations(folder, layout)
    assert [(m.version, m.name, m.checksum) for m in auto] == [(m.version, m.name, m.checksum) for m in explicit]
    assert all(m.layout == layout for m in auto)


@pytest.mark.parametrize("layout", list(MAKERS))
def test_checksums_ignore_line_endings_and_bom(tmp_path, layout):
    lf = load_migrations(MAKERS[layout](tmp_path / "lf"), layout)
    crlf = load_migrations(MAKERS[layout](tmp_path / "crlf", "\r\n"), layout)
    assert [m.checksum for m in lf] == [m.checksum for m in crlf]
    assert [m.down_checksum for m in lf] == [m.down_checksum for m in crlf]
    assert [m.up.text for m in lf] == [m.up.text for m in crlf]
    # A BOM does not change the checksum either.
    first = lf[0].up.path
    first.write_bytes(b"\xef\xbb\xbf" + first.read_bytes())
    assert load_migrations(tmp_path / "lf", layout)[0].checksum == lf[0].checksum


@pytest.mark.parametrize("layout", list(MAKERS))
def test_every_script_parses(tmp_path, layout):
    for m in load_migrations(MAKERS[layout](tmp_path), layout):
        assert m.up.statements
        if m.down is not None:
            assert m.down.statements


def test_native_project(tmp_path):
    ms = load_migrations(make_native(tmp_path))
    assert [m.version for m in ms] == ["20261121093000", "20261121094500", "20261122080000"]
    assert [m.name for m in ms] == ["create_users", "add_email", "index_names"]
    users, email, index = ms
    assert users.up.text == CREATE_USERS and users.down.text == DROP_USERS
    assert users.checksum == checksum(CREATE_USERS) and users.down_checksum == checksum(DROP_USERS)
    assert email.down is None
    assert email.description == "Add an email column"
    assert email.depends_on == ("20261121093000",)
    assert (email.lock_timeout, email.statement_timeout) == ("5s", "60")
    assert [m.transaction for m in ms] == ["auto", "auto", "never"]
    assert kinds(email.up) == ["AlterTableStmt", "IndexStmt"]


def test_native_metadata_errors(tmp_path):
    write(tmp_path, "1_a/up.sql", "SELECT 1;\n")
    write(tmp_path, "1_a/migration.toml", 'transaction = "sometimes"\n')
    with pytest.raises(SourceError, match="transaction must be"):
        load_migrations(tmp_path)
    write(tmp_path, "1_a/migration.toml", 'colour = "blue"\n')
    with pytest.raises(SourceError, match="unknown key"):
        load_migrations(tmp_path)


def test_diesel_project(tmp_path):
    ms = load_migrations(make_diesel(tmp_path))
    assert [m.version for m in ms] == ["00000000000000", "2017-09-23-182408", "2026-06-02-122008-0000",
                                       "2026-07-01-000000"]
    assert [m.name for m in ms] == ["diesel_initial_setup", "create_users", "index_names", "add_email"]
    assert [m.transaction for m in ms] == ["auto", "auto", "never", "auto"]
    setup, users, index, email = ms
    assert kinds(setup.up) == ["CreateFunctionStmt"]
    assert users.up.text == CREATE_USERS and users.down.text == DROP_USERS
    assert users.checksum == checksum(CREATE_USERS)
    assert email.down is None
    assert index.up.statements[0].no_transaction and index.down.statements[0].no_transaction
    assert index.path == tmp_path / "2026-06-02-122008-0000_index_names"


def test_diesel_metadata_must_be_boolean(tmp_path):
    write(tmp_path, "2017-09-23-182408_a/up.sql", "SELECT 1;\n")
    write(tmp_path, "2017-09-23-182408_a/metadata.toml", 'run_in_transaction = "no"\n')
    with pytest.raises(SourceError, match="run_in_transaction"):
        load_migrations(tmp_path, "diesel")


def test_diesel_with_compact_versions_is_detected_by_metadata(tmp_path):
    write(tmp_path, "20140924113530_a/up.sql", "SELECT 1;\n")
    write(tmp_path, "20140924113600_b/up.sql", "SELECT 2;\n")
    assert detect_layout(tmp_path) == "native"
    write(tmp_path, "20140924113600_b/metadata.toml", "run_in_transaction = false\n")
    assert detect_layout(tmp_path) == "diesel"


@pytest.mark.parametrize("name", ["2017-09-23-182408_create_users", "00000000000000_diesel_initial_setup"])
def test_diesel_named_folders_are_not_native(tmp_path, name):
    write(tmp_path, f"{name}/up.sql", "SELECT 1;\n")
    assert detect_layout(tmp_path) == "diesel"


def test_migration_toml_means_native(tmp_path):
    write(tmp_path, "2017-09-23-182408_a/up.sql", "SELECT 1;\n")
    write(tmp_path, "2017-09-23-182408_a/migration.toml", 'description = "ours"\n')
    assert detect_layout(tmp_path) == "native"


def test_golang_migrate_project(tmp_path):
    ms = load_migrations(make_golang(tmp_path))
    assert [m.version for m in ms] == ["1", "2", "9", "10"]  # 10 after 9, not after 1
    assert [m.name for m in ms] == ["create_users", "add_email", "touch_fn", "index_names"]
    users, email, touch, index = ms
    assert users.down.text == DROP_USERS and email.down.text == DROP_EMAIL
    assert touch.down is None and index.down is None
    assert users.checksum == checksum(CREATE_USERS)
    assert users.path == tmp_path / "1_create_users.up.sql"
    assert kinds(touch.up) == ["CreateFunctionStmt"]
    assert kinds(email.down) == ["DropStmt", "AlterTableStmt"]
    assert all(m.transaction == "auto" for m in ms)
    assert index.runs_in_transaction(170000) is False
    assert users.runs_in_transaction(170000) is True


def test_golang_migrate_timestamps(tmp_path):
    write(tmp_path, "20140924113530_b.up.sql", "SELECT 2;\n")
    write(tmp_path, "20140101000000_a.up.sql", "SELECT 1;\n")
    write(tmp_path, "20150101000000_c.up.sql", "SELECT 3;\n")
    assert [m.name for m in load_migrations(tmp_path)] == ["a", "b", "c"]


def test_golang_migrate_down_without_up(tmp_path):
    make_golang(tmp_path)
    orphan = write(tmp_path, "3_orphan.down.sql", "SELECT 1;\n")
    with pytest.raises(SourceError) as exc:
        load_migrations(tmp_path, "golang-migrate")
    assert str(orphan) in exc.value.message
    assert exc.value.hint


def test_dbmate_project(tmp_path):
    ms = load_migrations(make_dbmate(tmp_path))
    assert [m.version for m in ms] == ["20151129054053", "20151130120000", "20160101000000"]
    assert [m.name for m in ms] == ["create_users", "add_email", "index_names"]
    users, email, index = ms
    assert users.up.text == CREATE_USERS
    assert users.down.text == DROP_USERS
    assert users.up.first_line == 2
    assert users.down.first_line == CREATE_USERS.count("\n") + 4
    assert email.up.first_line == 4
    assert kinds(email.up) == ["AlterTableStmt", "IndexStmt"]
    assert [s.line for s in email.up.statements] == [4, 5]
    assert index.down is None  # an empty down section
    assert [m.transaction for m in ms] == ["auto", "auto", "never"]
    # The checksum covers the whole file.
    assert users.checksum == checksum(DBMATE_USERS)
    assert users.down_checksum == checksum(DROP_USERS)


def test_dbmate_checksum_changes_with_down_section(tmp_path):
    before = load_migrations(make_dbmate(tmp_path), "dbmate")[0].checksum
    write(tmp_path, "20151129054053_create_users.sql", DBMATE_USERS.replace("DROP TABLE users", "DROP TABLE users CASCADE"))
    assert load_migrations(tmp_path, "dbmate")[0].checksum != before


def test_dbmate_syntax_error_in_down_reports_file_line(tmp_path):
    path = write(tmp_path, "20200101000000_broken.sql",
                 "-- migrate:up\n"                 # 1
                 "CREATE TABLE t (id int);\n"      # 2
                 "\n"                              # 3
                 "-- migrate:down\n"               # 4
                 "DROP TABLE t;\n"                 # 5
                 "DROP TABLE oops oops;\n")        # 6
    [m] = load_migrations(tmp_path)
    assert m.up.statements[0].line == 2
    with pytest.raises(SqlSyntaxError) as exc:
        _ = m.down.statements
    assert (exc.value.path, exc.value.line, exc.value.column) == (str(path), 6, 17)


def test_dbmate_without_up_marker(tmp_path):
    write(tmp_path, "20200101000000_ok.sql", "-- migrate:up\nSELECT 1;\n")
    bad = write(tmp_path, "20200102000000_bad.sql", "CREATE TABLE t (id int);\n")
    with pytest.raises(SourceError) as exc:
        load_migrations(tmp_path, "dbmate")
    assert str(bad) in exc.value.message and "migrate:up" in exc.value.message
    assert exc.value.hint


@pytest.mark.parametrize("text, message", [
    ("CREATE TYPE s AS ENUM ('a');\n-- migrate:up\nSELECT 1;\n", "before the `-- migrate:up`"),
    ("-- migrate:down\nSELECT 2;\n-- migrate:up\nSELECT 1;\n", "comes before"),
    ("-- migrate:up\nSELECT 1;\n-- migrate:up\nSELECT 2;\n", "second"),
    ("-- migrate:up transaction:maybe\nSELECT 1;\n", "true or false"),
])
def test_dbmate_malformed_files(tmp_path, text, message):
    write(tmp_path, "20200101000000_x.sql", text)
    with pytest.raises(SourceError, match=message):
        load_migrations(tmp_path, "dbmate")


def test_dbmate_detection_needs_a_marker(tmp_path):
    write(tmp_path, "20200101000000_plain.sql", "SELECT 1;\n-- migrate:upgrade is not a marker\n")
    assert detect_layout(tmp_path) == "native"  # nothing recognised: the default
    write(tmp_path, "20200102000000_marked.sql", "-- migrate:up\nSELECT 1;\n")
    assert detect_layout(tmp_path) == "dbmate"


def test_flyway_project(tmp_path):
    ms = load_migrations(make_flyway(tmp_path))
    assert [m.version for m in ms] == ["1", "1.1", "1.2.9", "1.2.10", ""]
    assert [m.name for m in ms] == ["create_users", "add_email", "touch_fn", "index_names", "active_users"]
    users, email, touch, index, view = ms
    assert email.description == "add email"
    assert email.down is not None and email.down.text == DROP_EMAIL
    assert email.down.path == tmp_path / "U1_1__add_email.sql"
    assert users.down is None
    assert index.path == tmp_path / "more" / "V1.2.10__index_names.sql"
    assert [m.transaction for m in ms] == ["auto", "auto", "auto", "never", "auto"]
    assert view.repeatable and not any(m.repeatable for m in ms[:-1])
    assert view.checksum == checksum("CREATE OR REPLACE VIEW active_users AS SELECT * FROM users;\n")
    assert kinds(view.up) == ["ViewStmt"]
    assert kinds(touch.up) == ["CreateFunctionStmt"]


def test_flyway_conf_true_is_default(tmp_path):
    write(tmp_path, "V1__a.sql", "SELECT 1;\n")
    write(tmp_path, "V1__a.sql.conf", "executeInTransaction=true\n")
    assert load_migrations(tmp_path)[0].transaction == "auto"
    write(tmp_path, "V1__a.sql.conf", "executeInTransaction=perhaps\n")
    with pytest.raises(SourceError, match="executeInTransaction"):
        load_migrations(tmp_path)


def test_flyway_undo_without_versioned(tmp_path):
    write(tmp_path, "V1__a.sql", "SELECT 1;\n")
    undo = write(tmp_path, "U2__b.sql", "SELECT 2;\n")
    with pytest.raises(SourceError) as exc:
        load_migrations(tmp_path, "flyway")
    assert str(undo) in exc.value.message


def test_flyway_invalid_version(tmp_path):
    write(tmp_path, "V1__a.sql", "SELECT 1;\n")
    write(tmp_path, "V1a__b.sql", "SELECT 2;\n")
    with pytest.raises(SourceError, match="invalid version"):
        load_migrations(tmp_path, "flyway")


def test_flyway_ignores_hidden_folders_and_lowercase(tmp_path):
    write(tmp_path, "V1__a.sql", "SELECT 1;\n")
    write(tmp_path, ".git/V2__b.sql", "SELECT 2;\n")
    write(tmp_path, "u1__c.sql", "SELECT 3;\n")
    assert [m.version for m in load_migrations(tmp_path)] == ["1"]


def test_prisma_project(tmp_path):
    ms = load_migrations(make_prisma(tmp_path))
    assert [m.version for m in ms] == ["20210101120000", "20210315093000"]
    assert [m.name for m in ms] == ["init", "add_email"]
    assert all(m.down is None and m.transaction == "auto" for m in ms)
    assert ms[0].up.path == tmp_path / "20210101120000_init" / "migration.sql"
    assert ms[1].checksum == checksum(ADD_EMAIL)
    assert kinds(ms[1].up) == ["AlterTableStmt", "IndexStmt"]


@pytest.mark.parametrize("layout, first, second", [
    ("native", "20261121093000_a/up.sql", "020261121093000_b/up.sql"),
    ("diesel", "2017-09-23-182408_a/up.sql", "2017-09-23-182408_b/up.sql"),
    ("golang-migrate", "1_a.up.sql", "001_b.up.sql"),
    ("dbmate", "20151129054053_a.sql", "20151129054053_b.sql"),
    ("flyway", "V1_2__a.sql", "sub/V1.2.0__b.sql"),
    ("flyway", "R__same.sql", "sub/R__same.sql"),
    ("prisma", "20210101120000_a/migration.sql", "20210101120000_b/migration.sql"),
])
def test_duplicate_versions_name_both_files(tmp_path, layout, first, second):
    text = "-- migrate:up\nSELECT 1;\n" if layout == "dbmate" else "SELECT 1;\n"
    a = write(tmp_path, first, text)
    b = write(tmp_path, second, text)
    with pytest.raises(SourceError) as exc:
        load_migrations(tmp_path, layout)
    message = exc.value.message
    assert message.startswith("duplicate")
    folder_based = layout in ("native", "diesel", "prisma")
    for path in (a, b):
        assert str(path.parent if folder_based else path) in message


def test_load_migrations_errors(tmp_path):
    with pytest.raises(SourceError, match="does not exist"):
        load_migrations(tmp_path / "missing")
    with pytest.raises(SourceError, match="unknown layout"):
        load_migrations(tmp_path, "liquibase")
    assert load_migrations(tmp_path) == []


def test_unreadable_file_is_a_source_error(tmp_path):
    (tmp_path / "V1__latin1.sql").write_bytes(b"SELECT 'caf\xe9';\n")
    with pytest.raises(SourceError, match="not valid UTF-8"):
        load_migrations(tmp_path, "flyway")


# --------------------------------------------------------------------------- statement splitting

def split(text: str, first_line: int = 1):
    return split_statements(text, "m.sql", first_line)


def test_dollar_quoted_body_with_semicolons():
    stmts, dropped = split(TRIGGER_FN + "SELECT 1;\n")
    assert [s.kind for s in stmts] == ["CreateFunctionStmt", "SelectStmt"]
    assert "RETURN NEW;" in stmts[0].sql
    assert (stmts[1].line, stmts[1].column) == (TRIGGER_FN.count("\n") + 1, 1)
    assert not dropped


def test_begin_atomic_body():
    text = ("CREATE FUNCTION add(a int, b int) RETURNS int LANGUAGE sql\n"
            "BEGIN ATOMIC\n  SELECT a + b;\n  SELECT a - b;\nEND;\nSELECT add(1, 2);\n")
    stmts, dropped = split(text)
    assert [s.kind for s in stmts] == ["CreateFunctionStmt", "SelectStmt"]
    assert stmts[0].sql.endswith("END") and stmts[1].line == 6
    assert not dropped


def test_copy_from_stdin_data():
    text = ("CREATE TABLE t (a text, b text);\n"
            "COPY t (a, b) FROM STDIN;\n"
            "x;y\tit's\n"
            "semi;colon\t'unclosed\n"
            "\\.\n"
            "SELECT count(*) FROM t;\n")
    stmts, _ = split(text)
    assert [s.kind for s in stmts] == ["CreateStmt", "CopyStmt", "SelectStmt"]
    assert stmts[1].copy_data == "x;y\tit's\nsemi;colon\t'unclosed\n"
    assert stmts[1].sql == "COPY t (a, b) FROM STDIN"
    assert stmts[2].line == 6 and stmts[2].copy_data is None


def test_copy_without_terminator():
    with pytest.raises(SqlSyntaxError) as exc:
        split("SELECT 1;\nCOPY t FROM STDIN;\n1\n2\n")
    assert exc.value.line == 2


def test_comments_with_semicolons():
    stmts, _ = split("-- first; not a statement\nSELECT 1; /* also; not */ SELECT 2;\n/* ; */\n")
    assert [s.sql for s in stmts] == ["SELECT 1", "SELECT 2"]
    assert [(s.line, s.column) for s in stmts] == [(2, 1), (2, 27)]


def test_begin_commit_are_dropped():
    stmts, dropped = split("BEGIN;\nCREATE TABLE t (id int);\nCOMMIT;\n")
    assert [s.kind for s in stmts] == ["CreateStmt"] and dropped
    stmts, dropped = split("START TRANSACTION;\nSELECT 1;\nEND;\n")
    assert [s.kind for s in stmts] == ["SelectStmt"] and dropped
    script = Script(Path("m.sql"), "BEGIN;\nSELECT 1;\nCOMMIT;\n")
    assert len(script.statements) == 1 and script.dropped_transaction_control


def test_savepoints_are_kept():
    stmts, dropped = split("SAVEPOINT a;\nROLLBACK TO SAVEPOINT a;\nRELEASE SAVEPOINT a;\n")
    assert len(stmts) == 3 and not dropped


@pytest.mark.parametrize("text, line", [
    ("SELECT 1;\nROLLBACK;\n", 2),
    ("SELECT 1;\n\nABORT;\n", 3),
    ("PREPARE TRANSACTION 'x';\n", 1),
])
def test_rollback_is_refused(text, line):
    with pytest.raises(SqlSyntaxError, match="not allowed") as exc:
        split(text)
    assert exc.value.line == line


@pytest.mark.parametrize("prefix", ["é", "€uro", "𝄞", "ééééééééééééé", "naïve 日本語 🎉"])
def test_syntax_error_position_after_non_ascii(prefix):
    text = f"SELECT '{prefix}' AS x;\nSELECT '{prefix}' FRM bad;\n"
    with pytest.raises(SqlSyntaxError) as exc:
        split(text, first_line=10)
    col = len(f"SELECT '{prefix}' FRM ") + 1
    assert (exc.value.line, exc.value.column) == (11, col)
    assert exc.value.message.startswith(f"m.sql:11:{col}:")


def test_syntax_error_at_end_of_input():
    with pytest.raises(SqlSyntaxError, match="end of input") as exc:
        split("SELECT 1;\nSELECT (\n")
    assert exc.value.line == 3
    with pytest.raises(SqlSyntaxError, match="end of input") as exc:
        split("SELECT 'é';\nSELECT (")
    assert (exc.value.line, exc.value.column) == (2, 9)


def test_nul_character_is_refused():
    with pytest.raises(SqlSyntaxError, match="NUL") as exc:
        split("SELECT 1;\nSELECT 2;\x00DROP TABLE users;\n")
    assert (exc.value.line, exc.value.column) == (2, 10)


def test_first_line_offsets_positions():
    stmts, _ = split("SELECT 1;\n  SELECT 2;\n", first_line=7)
    assert [(s.line, s.column) for s in stmts] == [(7, 1), (8, 3)]


@pytest.mark.parametrize("sql", [
    "CREATE INDEX CONCURRENTLY i ON t (a)",
    "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON s.t (a)",
    "DROP INDEX CONCURRENTLY i",
    "DROP INDEX CONCURRENTLY IF EXISTS i",
    "REINDEX INDEX CONCURRENTLY i",
    "REINDEX TABLE CONCURRENTLY t",
    "REINDEX (CONCURRENTLY) TABLE t",
    "REINDEX DATABASE app",
    "VACUUM",
    "VACUUM (ANALYZE) t",
    "VACUUM FULL t",
    "ALTER TABLE p DETACH PARTITION c CONCURRENTLY",
    "CREATE DATABASE app",
    "ALTER SYSTEM SET work_mem = '64MB'",
])
def test_no_transaction_statements(sql):
    [stmt], _ = split(sql + ";")
    assert stmt.no_transaction and stmt.needs_autocommit(170000)


@pytest.mark.parametrize("sql", [
    "CREATE INDEX i ON t (a)",
    "DROP INDEX i",
    "REINDEX INDEX i",
    "ANALYZE t",
    "ALTER TABLE p DETACH PARTITION c",
    "ALTER TYPE mood RENAME VALUE 'sad' TO 'blue'",
    "CLUSTER t USING i",
])
def test_transaction_safe_statements(sql):
    [stmt], _ = split(sql + ";")
    assert not stmt.no_transaction and stmt.no_transaction_before is None
    assert not stmt.needs_autocommit(100000)


def test_concurrent_index_name():
    [a, b], _ = split("CREATE INDEX CONCURRENTLY i ON s.t (a); CREATE INDEX CONCURRENTLY ON t (b);")
    assert a.concurrent_index == ("s", "i", "t")
    assert b.concurrent_index is None


def test_alter_type_add_value():
    [stmt], _ = split("ALTER TYPE mood ADD VALUE IF NOT EXISTS 'meh' AFTER 'ok';")
    assert stmt.kind == "AlterEnumStmt"
    assert not stmt.no_transaction and stmt.no_transaction_before == 120000
    assert stmt.needs_autocommit(110000) and not stmt.needs_autocommit(120000)


def test_do_and_call_are_autocommit_only():
    stmts, _ = split("DO $$ BEGIN PERFORM 1; END $$;\nCALL p();\n")
    assert [s.autocommit_only for s in stmts] == [True, True]


def test_empty_and_comment_only_text():
    assert split("") == ([], False)
    assert split("\n  -- nothing here;\n/* nor; here */\n") == ([], False)


SQLISH = st.sampled_from([
    "SELECT 1", ";", "\n", " ", "'", '"', "$$", "$a$", "--", "/*", "*/", "\\.", "COPY t FROM STDIN",
    "BEGIN", "COMMIT", "ROLLBACK", "ATOMIC", "END", "CREATE INDEX CONCURRENTLY i ON t (a)", "é", "𝄞",
    "(", ")", "E'\\", "U&'", "\x00", "x", "1",
])


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.one_of(st.text(), st.lists(SQLISH, max_size=25).map("".join)))
def test_split_never_raises_anything_but_syntax_errors(text):
    try:
        stmts, dropped = split_statements(text, "fuzz.sql")
    except SqlSyntaxError as exc:
        assert exc.line >= 1 and exc.column >= 1
    else:
        assert isinstance(dropped, bool)
        assert all(s.line >= 1 and s.column >= 1 for s in stmts)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(st.characters(blacklist_characters="\n\r\x00", blacklist_categories=("Cs",))),
                min_size=1, max_size=4))
def test_syntax_error_position_property(literals):
    """Whatever non-ASCII text precedes it, the error is reported at the right line and column."""
    lines = [f"SELECT '{lit.replace(chr(39), chr(39) * 2)}' AS c;" for lit in literals]
    last = lines.pop().removesuffix(" AS c;")
    text = "\n".join([*lines, f"{last} FRM bad;"]) + "\n"
    with pytest.raises(SqlSyntaxError) as exc:
        split_statements(text, "p.sql")
    assert (exc.value.line, exc.value.column) == (len(lines) + 1, len(last) + len(" FRM ") + 1)


# --------------------------------------------------------------------------- versions

def test_version_key_forms():
    assert version_key("20140924113530") == (20140924113530,)
    assert version_key("2017-09-23-182408") == (20170923182408,)
    assert version_key("2017-09-23-182408") == version_key("20170923182408")
    assert version_key("2026-06-02-122008-0000") == version_key("2026-06-02-122008")
    assert version_key("2026-06-02-122008-0001") > version_key("2026-06-02-122008")
    assert version_key("00000000000000") == (0,)
    assert version_key("1.2.10") == version_key("1_2_10") == (1, 2, 10)
    assert version_key("1.0") == version_key("1") == version_key("001")
    assert version_key(" 7 ") == (7,)


def test_version_ordering():
    assert version_key("20140924113530") < version_key("2017-09-23-182408")
    assert version_key("2017-09-23-182408") < version_key("2026-06-02-122008-0000")
    assert version_key("00000000000000") < version_key("2017-09-23-182408")
    assert version_key("1.2.9") < version_key("1.2.10") < version_key("1.3")
    assert version_key("9") < version_key("10")
    assert sort_versions(["10", "9", "1.2.10", "1.2.9", "2"]) == ["1.2.9", "1.2.10", "2", "9", "10"]
    assert sort_versions(["2026-06-02-122008-0000", "20140924113530", "2017-09-23-182408"]) == [
        "20140924113530", "2017-09-23-182408", "2026-06-02-122008-0000"]


@pytest.mark.parametrize("bad", ["", "abc", "R", "v_x"])
def test_version_key_rejects_versions_without_digits(bad):
    with pytest.raises(ValueError):
        version_key(bad)


@given(st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=5),
       st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=5))
def test_dotted_versions_order_like_integer_tuples(a, b):
    def strip(parts):
        parts = list(parts)
        while len(parts) > 1 and parts[-1] == 0:
            parts.pop()
        return tuple(parts)

    va, vb = ".".join(map(str, a)), "_".join(map(str, b))
    assert (version_key(va) < version_key(vb)) == (strip(a) < strip(b))
    assert version_key(va.replace(".", "_")) == version_key(va)



# ----------------------------------------------------------------------------- declaring a migration non-transactional

@pytest.mark.parametrize("layout,up_name,config_name,initial,expected", [
    ("native", "up.sql", "migration.toml", 'lock_timeout = "5s"\n\n[expect_rows]\nusers = "unchanged"\n',
     'transaction = "never"'),
    ("diesel", "up.sql", "metadata.toml", "run_in_transaction = true\n", "run_in_transaction = false"),
    ("flyway", "V2__index.sql", "V2__index.sql.conf", "encoding=UTF-8\nexecuteInTransaction=true\n",
     "executeInTransaction=false"),
])
def test_declare_non_transactional_rewrites_the_config_in_place(tmp_path, layout, up_name, config_name, initial,
                                                                 expected):
    from bascule.sources import declare_non_transactional

    up = tmp_path / up_name
    up.write_text("CREATE INDEX CONCURRENTLY i ON t (x);\n")
    conf = tmp_path / config_name
    conf.write_text(initial)
    conf.chmod(0o640)
    assert str(conf) in declare_non_transactional(layout, up)
    text = conf.read_text()
    assert expected in text and text.count(expected.split("=")[0].strip()) == 1
    if layout == "native":  # the key goes above any [table], the rest is kept
        assert text.index("transaction =") < text.index("[expect_rows]") and 'lock_timeout = "5s"' in text
    if layout == "flyway":
        assert "encoding=UTF-8" in text
    assert conf.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([up_name, config_name])


def test_declare_non_transactional_creates_a_missing_config_and_dbmate_keeps_options(tmp_path):
    import os

    from bascule.sources import declare_non_transactional

    up = tmp_path / "up.sql"
    up.write_text("SELECT 1;\n")
    declare_non_transactional("native", up)
    assert (tmp_path / "migration.toml").read_text().startswith('transaction = "never"')
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "migration.toml").stat().st_mode & 0o777 == 0o666 & ~umask  # like any new file
    mig = tmp_path / "20240101000000_x.sql"
    mig.write_bytes(b"-- migrate:up foo:bar transaction:true\r\nSELECT 1;\r\n-- migrate:down\r\nSELECT 2;\r\n")
    declare_non_transactional("dbmate", mig)
    assert mig.read_bytes() == (b"-- migrate:up foo:bar transaction:false\r\nSELECT 1;\r\n-- migrate:down\r\n"
                                b"SELECT 2;\r\n")
    assert declare_non_transactional("prisma", up) is None  # no per-migration switch in that layout


def test_a_failed_config_write_leaves_the_old_file_and_no_temporary_file(tmp_path, monkeypatch):
    import os

    from bascule.sources import declare_non_transactional

    up = tmp_path / "up.sql"
    up.write_text("SELECT 1;\n")
    conf = tmp_path / "migration.toml"
    conf.write_text('lock_timeout = "5s"\n')

    def full_disk(src, dst):
        raise OSError(28, "No space left on device", str(dst))

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OSError):
        declare_non_transactional("native", up)
    assert conf.read_text() == 'lock_timeout = "5s"\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["migration.toml", "up.sql"]
