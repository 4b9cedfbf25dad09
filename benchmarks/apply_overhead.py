#!/usr/bin/env python3
"""Apply overhead: how much slower than plain psql is `bascule up`, and is it faster than Alembic?

One throwaway embedded PostgreSQL server; N generated migrations (the same SQL for everyone);
each contender applies all of them to its own fresh database, --repeat times, median wins:

  psql               one `psql -X -q -v ON_ERROR_STOP=1 -f up.sql` process per migration (autocommit)
  psql_single_txn    the same with --single-transaction: the floor bascule is compared with, since
                     bascule also runs each migration in its own transaction
  psql_one_session   (informational) one psql process, `BEGIN; \\i up.sql; COMMIT;` per migration:
                     server time with neither process start nor connection per migration
  bascule            `bascule --url URL up` in a project holding the N migrations (native layout)
  alembic            `alembic upgrade head` with N chained revisions, one op.execute per statement,
                     transaction_per_migration=True (one transaction per migration, like bascule)
  alembic_one_txn    (informational) Alembic's default: the whole upgrade in one transaction

Then process start: `bascule --help` and `bascule --url URL status` on the fully migrated database
(and, informational, a no-op `bascule up`), median of 5 runs each.

Before timing, one untimed warm-up run each of bascule and Alembic fills a private bytecode cache
(PYTHONPYCACHEPREFIX in the temp folder) and the page cache, so both run from .pyc files as an
installed tool does, even where PYTHONDONTWRITEBYTECODE is set.

Every contender's database is checked afterwards (tables, views, indexes, columns, comments, rows,
and the tool's own bookkeeping) so that nobody wins by doing less.

The human-readable table goes to stdout, progress to stderr; the LAST line of stdout is one JSON
object (see benchmarks/README.md).

    python benchmarks/apply_overhead.py [--migrations 500] [--repeat 3] [--no-info] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from bascule.targets.embedded import EmbeddedServer, binary_version

START_TARGET_S = 0.3
PSQL_RATIO_TARGET = 1.5
START_RUNS = 5


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- migrations
@dataclass
class Mig:
    name: str
    up: list[str]
    down: list[str]


@dataclass
class Expected:
    tables: int = 0
    views: int = 0
    indexes: int = 0  # including primary keys
    columns: int = 0  # of tables
    comments: int = 0  # on tables and columns
    rows: int = 0
    statements: int = 0


@dataclass
class _Table:
    name: str
    columns: list[str] = field(default_factory=list)
    rows: int = 0
    commented: set[str] = field(default_factory=set)  # "" = the table itself


_COLUMN_TYPES = [
    ("text", None),
    ("integer", "0"),
    ("boolean", "false"),
    ("numeric(12,2)", "0"),
    ("timestamptz", "now()"),
    ("jsonb", "'{}'::jsonb"),
    ("varchar(64)", "''"),
    ("bigint", None),
    ("date", "current_date"),
]
_WORDS = ("account", "invoice", "order", "customer", "product", "shipment", "payment", "ticket", "event",
          "session", "review", "address", "coupon", "refund", "warehouse", "supplier", "category", "tag")
_ADJ = ("primary", "billing", "legacy", "external", "internal", "archived", "pending", "default", "public")


def generate(n: int, seed: int = 20261121) -> tuple[list[Mig], Expected]:
    """N small, realistic, deterministic migrations and what the schema must look like after them."""
    rng = random.Random(seed)
    tables: list[_Table] = []
    exp = Expected()
    counter = {"table": 0, "index": 0, "view": 0, "check": 0}
    migs: list[Mig] = []

    def new_table(up: list[str], down: list[str]) -> _Table:
        counter["table"] += 1
        word = rng.choice(_WORDS)
        t = _Table(f"{word}_{counter['table']}", ["id", "name", "created_at"])
        parent = rng.choice(tables) if tables and rng.random() < 0.4 else None
        cols = ["id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
                "name text NOT NULL",
                "created_at timestamptz NOT NULL DEFAULT now()"]
        if rng.random() < 0.5:
            cols.append("status text NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'active', 'closed'))")
            t.columns.append("status")
        if parent is not None:
            cols.append(f"{parent.name}_id bigint REFERENCES {parent.name} (id) ON DELETE CASCADE")
            t.columns.append(f"{parent.name}_id")
        up.append(f"CREATE TABLE {t.name} (\n    " + ",\n    ".join(cols) + "\n)")
        down.insert(0, f"DROP TABLE {t.name}")
        exp.tables += 1
        exp.indexes += 1  # primary key
        if parent is not None:
            idx = f"{t.name}_{parent.name}_id_idx"
            up.append(f"CREATE INDEX {idx} ON {t.name} ({parent.name}_id)")
            exp.indexes += 1
        tables.append(t)
        return t

    def add_column(t: _Table, up: list[str], down: list[str]) -> None:
        typ, default = rng.choice(_COLUMN_TYPES)
        col = f"{rng.choice(_ADJ)}_{rng.choice(_WORDS)}_{len(t.columns)}"
        clause = f" NOT NULL DEFAULT {default}" if default is not None and rng.random() < 0.6 else ""
        up.append(f"ALTER TABLE {t.name} ADD COLUMN {col} {typ}{clause}")
        down.insert(0, f"ALTER TABLE {t.name} DROP COLUMN {col}")
        t.columns.append(col)

    def create_index(t: _Table, up: list[str], down: list[str]) -> None:
        counter["index"] += 1
        cols = rng.sample(t.columns[1:], k=min(len(t.columns) - 1, rng.choice((1, 1, 2))))
        idx = f"{t.name}_idx_{counter['index']}"
        unique = "UNIQUE " if "id" not in cols and rng.random() < 0.15 and t.rows == 0 and "name" in cols else ""
        up.append(f"CREATE {unique}INDEX {idx} ON {t.name} ({', '.join(cols)})")
        down.insert(0, f"DROP INDEX {idx}")
        exp.indexes += 1

    def insert_rows(t: _Table, up: list[str], down: list[str]) -> None:
        k = rng.randint(2, 6)
        names = [f"{rng.choice(_ADJ)} {rng.choice(_WORDS)} {t.rows + i + 1}" for i in range(k)]
        if any(c.startswith("status") for c in t.columns) and rng.random() < 0.5:
            values = ", ".join(f"('{nm}', '{rng.choice(('new', 'active', 'closed'))}')" for nm in names)
            up.append(f"INSERT INTO {t.name} (name, status) VALUES {values}")
        else:
            up.append(f"INSERT INTO {t.name} (name) VALUES " + ", ".join(f"('{nm}')" for nm in names))
        down.insert(0, f"DELETE FROM {t.name} WHERE name IN (" + ", ".join(f"'{nm}'" for nm in names) + ")")
        t.rows += k
        exp.rows += k

    def comment(t: _Table, up: list[str], down: list[str]) -> None:
        col = rng.choice(["", *t.columns])
        target = f"TABLE {t.name}" if col == "" else f"COLUMN {t.name}.{col}"
        text = f"{rng.choice(_ADJ).capitalize()} {rng.choice(_WORDS)} data, owned by the {rng.choice(_WORDS)} team"
        up.append(f"COMMENT ON {target} IS '{text}'")
        down.insert(0, f"COMMENT ON {target} IS NULL")
        if col not in t.commented:
            t.commented.add(col)
            exp.comments += 1

    def create_view(t: _Table, up: list[str], down: list[str]) -> None:
        counter["view"] += 1
        v = f"recent_{t.name}_v{counter['view']}"
        parent_cols = [c for c in t.columns if c.endswith("_id") and c != "id"]
        if parent_cols and rng.random() < 0.6:
            pc = parent_cols[0]
            parent = pc[: -len("_id")]
            body = (f"SELECT c.id, c.name, c.created_at, p.name AS {parent}_name\n"
                    f"  FROM {t.name} c\n  JOIN {parent} p ON p.id = c.{pc}\n"
                    f" WHERE c.created_at > now() - interval '30 days'")
        else:
            body = (f"SELECT id, name, created_at, count(*) OVER () AS total\n  FROM {t.name}\n"
                    f" WHERE created_at > now() - interval '30 days'")
        up.append(f"CREATE VIEW {v} AS\n{body}")
        down.insert(0, f"DROP VIEW {v}")
        exp.views += 1

    def add_check(t: _Table, up: list[str], down: list[str]) -> None:
        counter["check"] += 1
        c = f"{t.name}_name_chk_{counter['check']}"
        up.append(f"ALTER TABLE {t.name} ADD CONSTRAINT {c} CHECK (length(name) BETWEEN 1 AND 200)")
        down.insert(0, f"ALTER TABLE {t.name} DROP CONSTRAINT {c}")

    kinds = [("create_table", 22), ("add_column", 22), ("create_index", 14), ("insert_rows", 16),
             ("comment", 10), ("create_view", 10), ("add_check", 6)]
    names, weights = zip(*kinds, strict=True)
    for i in range(n):
        up: list[str] = []
        down: list[str] = []
        kind = "create_table" if i == 0 else rng.choices(names, weights)[0]
        if kind == "create_table":
            t = new_table(up, down)
            label = f"create_{t.name}"
        else:
            t = rng.choice(tables[-25:])  # recent tables get most changes, as in real life
            {"add_column": add_column, "create_index": create_index, "insert_rows": insert_rows,
             "comment": comment, "create_view": create_view, "add_check": add_check}[kind](t, up, down)
            label = f"{kind}_{t.name}"
        # A second, related change now and then: real migrations are often 1-3 statements.
        if kind != "create_table" and rng.random() < 0.3:
            rng.choice((add_column, create_index, comment, insert_rows))(t, up, down)
        migs.append(Mig(label, up, down))
    exp.columns = sum(len(t.columns) for t in tables)
    exp.statements = sum(len(m.up) for m in migs)
    for m in migs:
        for s in m.up + m.down:
            # Alembic passes strings through text(): no ":name" binds, no "%" to escape.
            assert not re.search(r"(?<![:\w]):\w", s) and "%" not in s, s
    return migs, exp


def up_sql(m: Mig) -> str:
    return ";\n\n".join(m.up) + ";\n"


def down_sql(m: Mig) -> str:
    return ";\n\n".join(m.down) + ";\n"


# ----------------------------------------------------------------------------- projects on disk
def width(n: int) -> int:
    return max(4, len(str(n)))


def write_native(project: Path, migs: list[Mig], run_env: dict) -> list[Path]:
    """`bascule init` + one folder per migration; returns the up.sql files in order (psql uses them too)."""
    project.mkdir(parents=True)
    subprocess.run([tool("bascule"), "init"], cwd=project, env=run_env, check=True, capture_output=True)
    w = width(len(migs))
    files = []
    for i, m in enumerate(migs, 1):
        d = project / "migrations" / f"{i:0{w}d}_{m.name}"
        d.mkdir()
        (d / "up.sql").write_text(up_sql(m))
        (d / "down.sql").write_text(down_sql(m))
        files.append(d / "up.sql")
    return files


ALEMBIC_INI = """\
[alembic]
script_location = %(here)s
path_separator = os
sqlalchemy.url = {url}

[loggers]
keys = root,sqlalchemy,alembic

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARNING
handlers = console
qualname =

[logger_sqlalchemy]
level = WARNING
handlers =
qualname = sqlalchemy.engine

[logger_alembic]
level = INFO
handlers =
qualname = alembic

[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = generic

[formatter_generic]
format = %%(levelname)-5.5s [%%(name)s] %%(message)s
datefmt = %%H:%%M:%%S
"""

ALEMBIC_ENV = '''\
"""Alembic environment generated by benchmarks/apply_overhead.py (the `alembic init` template, trimmed)."""
from logging.config import fileConfig

from sqlalchemy import engine_from_config, pool

from alembic import context

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name)

# -x txn=one: Alembic's default, the whole upgrade in one transaction. Otherwise one per migration.
per_migration = context.get_x_argument(as_dictionary=True).get("txn", "per-migration") != "one"


def run_migrations_online() -> None:
    connectable = engine_from_config(config.get_section(config.config_ini_section, {}),
                                     prefix="sqlalchemy.", poolclass=pool.NullPool)
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=None,
                          transaction_per_migration=per_migration)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline mode is not part of this benchmark")
run_migrations_online()
'''

ALEMBIC_MAKO = '''\
"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
"""
from alembic import op

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
'''

REVISION = '''\
"""{message}

Revision ID: {rev}
Revises: {down}
"""
from alembic import op

revision = {rev!r}
down_revision = {down!r}
branch_labels = None
depends_on = None


def upgrade() -> None:
{upgrade}


def downgrade() -> None:
{downgrade}
'''


def write_alembic(folder: Path, migs: list[Mig], run_env: dict) -> str:
    """An Alembic environment with one revision per migration; returns the head revision id."""
    versions = folder / "versions"
    versions.mkdir(parents=True)
    (folder / "env.py").write_text(ALEMBIC_ENV)
    (folder / "script.py.mako").write_text(ALEMBIC_MAKO)
    rng = random.Random(7)
    prev = None
    for m in migs:
        rev = f"{rng.getrandbits(48):012x}"
        body = "\n".join(f"    op.execute({s!r})" for s in m.up)
        back = "\n".join(f"    op.execute({s!r})" for s in m.down)
        (versions / f"{rev}_{m.name}.py").write_text(
            REVISION.format(message=m.name, rev=rev, down=prev, upgrade=body, downgrade=back))
        prev = rev
    # Alembic compiles these on its first run and reuses the .pyc after; do it up front (into the
    # benchmark's PYTHONPYCACHEPREFIX) so that the first timed repeat is not penalised for it.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(folder)], env=run_env, check=True)
    assert prev is not None
    return prev


def set_alembic_url(folder: Path, url: str) -> None:
    (folder / "alembic.ini").write_text(ALEMBIC_INI.format(url=url.replace("%", "%%")))


# ----------------------------------------------------------------------------- running
def tool(name: str) -> str:
    """The console script next to this Python, not a pyenv/asdf shim (a shim adds ~50 ms per run
    that belongs to the shim, not the tool)."""
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if not found:
        raise SystemExit(f"{name} is not installed (pip install -e '.[bench]')")
    return found


def clean_env(pycache: Path) -> dict:
    """No PG*/DATABASE_URL/BASCULE_ENV from the caller's shell: every tool gets only the URL we pass.

    Bytecode: an installed tool runs from cached .pyc files. Where PYTHONDONTWRITEBYTECODE is set
    (common in containers) an editable install of bascule would compile its modules from source
    on every start, while Alembic runs from the .pyc files pip wrote: unfair to bascule. So every
    Python child gets a private PYTHONPYCACHEPREFIX in the temp folder (filled by a warm-up run),
    and nothing is written next to anyone's sources."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PG") and k not in ("DATABASE_URL", "BASCULE_ENV", "PYTHONDONTWRITEBYTECODE")}
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    env["LC_ALL"] = env.get("LC_ALL") or "C.UTF-8"
    return env


def run(cmd: list[str], *, cwd: Path | None = None, env: dict, what: str) -> float:
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if res.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {res.returncode}): {' '.join(cmd)}\n"
                           f"{res.stderr[-3000:]}{res.stdout[-1000:]}")
    return dt


def sa_url(server: EmbeddedServer, db: str) -> str:
    """SQLAlchemy URL for psycopg 3 on the embedded server's Unix socket."""
    from urllib.parse import quote

    return (f"postgresql+psycopg://postgres@/{quote(db, safe='')}"
            f"?host={quote(str(server.socket_dir), safe='/')}&port=5432")


class Bench:
    def __init__(self, server: EmbeddedServer, work: Path, migs: list[Mig], exp: Expected):
        self.server = server
        self.work = work
        self.migs = migs
        self.exp = exp
        self.env = clean_env(work / "pycache")
        self.psql_bin = str(server.bindir / "psql")
        self.admin_url = server.url("postgres")
        self.project = work / "bascule-project"
        self.files = write_native(self.project, migs, self.env)
        self.alembic_dir = work / "alembic-project"
        self.alembic_head = write_alembic(self.alembic_dir, migs, self.env)
        self.driver = work / "one_session.sql"
        self.driver.write_text("".join(f"BEGIN;\n\\i {f}\nCOMMIT;\n" for f in self.files))
        self.dbs: list[str] = []
        self.last_bascule_db: str | None = None

    # -- databases ---------------------------------------------------------------------
    def fresh_db(self, label: str) -> str:
        name = f"bench_{label}_{len(self.dbs) + 1}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            # Flush what earlier contenders wrote so that nobody pays for someone else's checkpoint.
            conn.execute("CHECKPOINT")
        self.dbs.append(name)
        return name

    def drop_db(self, name: str) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def verify(self, db: str, contender: str) -> None:
        """The schema every contender must have produced, plus the tool's own bookkeeping."""
        e = self.exp
        with psycopg.connect(self.server.url(db), autocommit=True) as conn:
            tables = [r[0] for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'")]
            got = conn.execute("""
                SELECT (SELECT count(*) FROM pg_views WHERE schemaname = 'public'),
                       (SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'
                           AND tablename <> 'alembic_version'),
                       (SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                          JOIN pg_namespace n ON n.oid = c.relnamespace
                         WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname <> 'alembic_version'
                           AND a.attnum > 0 AND NOT a.attisdropped),
                       (SELECT count(*) FROM pg_description d JOIN pg_class c ON c.oid = d.objoid
                          JOIN pg_namespace n ON n.oid = c.relnamespace
                         WHERE d.classoid = 'pg_class'::regclass AND n.nspname = 'public')
            """).fetchone()
            rows = 0
            for t in tables:
                rows += conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(t))).fetchone()[0]
            want = (e.tables, e.views, e.indexes, e.columns, e.comments, e.rows)
            have = (len(tables), *got, rows)
            if have != want:
                raise RuntimeError(f"{contender}: schema mismatch in {db}: "
                                   f"(tables, views, indexes, columns, comments, rows) = {have}, expected {want}")
            if contender == "bascule":
                n = conn.execute("SELECT count(*) FROM bascule.migrations WHERE status = 'applied'").fetchone()[0]
                ev = conn.execute("SELECT count(*) FROM bascule.events WHERE event = 'applied'").fetchone()[0]
                if (n, ev) != (len(self.migs), len(self.migs)):
                    raise RuntimeError(f"bascule: {n} applied migrations and {ev} events, expected {len(self.migs)}")
            if contender.startswith("alembic"):
                head = conn.execute("SELECT version_num FROM alembic_version").fetchall()
                if head != [(self.alembic_head,)]:
                    raise RuntimeError(f"{contender}: alembic_version is {head}, expected {self.alembic_head}")

    # -- contenders ----------------------------------------------------------------------
    def psql_files(self, db: str, single: bool) -> float:
        url = self.server.url(db)
        cmd = [self.psql_bin, "-X", "-q", "-v", "ON_ERROR_STOP=1", *(["--single-transaction"] if single else []),
               f"--dbname={url}", "-f"]
        t0 = time.perf_counter()
        for f in self.files:
            run([*cmd, str(f)], env=self.env, what=f"psql {f.parent.name}")
        return time.perf_counter() - t0

    def psql(self, db: str) -> float:
        return self.psql_files(db, single=False)

    def psql_single_txn(self, db: str) -> float:
        return self.psql_files(db, single=True)

    def psql_one_session(self, db: str) -> float:
        return run([self.psql_bin, "-X", "-q", "-v", "ON_ERROR_STOP=1", f"--dbname={self.server.url(db)}",
                    "-f", str(self.driver)], env=self.env, what="psql one session")

    def bascule(self, db: str) -> float:
        dt = run([tool("bascule"), "--url", self.server.url(db), "up"], cwd=self.project, env=self.env,
                 what="bascule up")
        if self.last_bascule_db is not None:
            self.drop_db(self.last_bascule_db)  # keep only the newest: `status` runs against it
        self.last_bascule_db = db
        return dt

    def _alembic(self, db: str, one_txn: bool) -> float:
        set_alembic_url(self.alembic_dir, sa_url(self.server, db))
        cmd = [tool("alembic"), "-c", str(self.alembic_dir / "alembic.ini"),
               *(["-x", "txn=one"] if one_txn else []), "upgrade", "head"]
        return run(cmd, cwd=self.alembic_dir, env=self.env, what="alembic upgrade head")

    def alembic(self, db: str) -> float:
        return self._alembic(db, one_txn=False)

    def alembic_one_txn(self, db: str) -> float:
        return self._alembic(db, one_txn=True)

    # -- process start -------------------------------------------------------------------
    def start_times(self) -> dict[str, float]:
        assert self.last_bascule_db is not None
        url = self.server.url(self.last_bascule_db)
        cmds = {
            "help": [tool("bascule"), "--help"],
            "status": [tool("bascule"), "--url", url, "status"],
            "noop_up": [tool("bascule"), "--url", url, "up"],
        }
        out = {}
        for key, cmd in cmds.items():
            run(cmd, cwd=self.project, env=self.env, what=f"bascule {key}")  # warm-up
            out[key] = statistics.median(run(cmd, cwd=self.project, env=self.env, what=f"bascule {key}")
                                         for _ in range(START_RUNS))
        res = subprocess.run(cmds["status"], cwd=self.project, env=self.env, capture_output=True, text=True)
        if f"{len(self.migs)} applied" not in res.stdout:
            raise RuntimeError(f"bascule status did not report {len(self.migs)} applied:\n{res.stdout[-500:]}")
        return out


PRIMARY = ("psql", "psql_single_txn", "bascule", "alembic")
INFORMATIONAL = ("psql_one_session", "alembic_one_txn")
LABELS = {
    "psql": "psql -f, one process per file, autocommit",
    "psql_single_txn": "psql -f --single-transaction, one process per file  (floor)",
    "psql_one_session": "psql, one session, BEGIN/\\i/COMMIT per file  (info)",
    "bascule": "bascule up",
    "alembic": "alembic upgrade head, transaction per migration",
    "alembic_one_txn": "alembic upgrade head, one transaction (default)  (info)",
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--migrations", type=int, default=500, help="number of migrations (default 500)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per contender; the median counts (default 3)")
    ap.add_argument("--no-info", action="store_true",
                    help="skip the informational contenders (psql one session, alembic one transaction)")
    ap.add_argument("--keep", action="store_true", help="keep the temp folder and leave the server running")
    args = ap.parse_args(argv)
    if args.migrations < 1 or args.repeat < 1:
        ap.error("--migrations and --repeat must be at least 1")

    migs, exp = generate(args.migrations)
    work = Path(tempfile.mkdtemp(prefix="bascule-bench-"))
    server = EmbeddedServer(work / "server", database="postgres")
    try:
        log(f"starting embedded PostgreSQL in {work / 'server'} ...")
        server.start()
        pg = binary_version(server.bindir)
        bench = Bench(server, work, migs, exp)
        log(f"PostgreSQL {pg}; {len(migs)} migrations, {exp.statements} statements "
            f"({exp.tables} tables, {exp.views} views, {exp.indexes} indexes, {exp.rows} rows)")
        # Warm-up, untimed: page cache for every binary and library, and .pyc files for every
        # module bascule and Alembic import (see clean_env).
        run([bench.psql_bin, "--version"], env=bench.env, what="warm-up")
        for c in ("bascule", "alembic"):
            db = bench.fresh_db(f"warmup_{c}")
            dt = getattr(bench, c)(db)
            bench.verify(db, c)
            log(f"  warm-up  {c:<17} {dt:7.2f} s  (verified, not counted)")
            bench.drop_db(db)
        bench.last_bascule_db = None

        contenders = PRIMARY + (() if args.no_info else INFORMATIONAL)
        samples: dict[str, list[float]] = {c: [] for c in contenders}
        for r in range(args.repeat):
            order = contenders[r % len(contenders):] + contenders[: r % len(contenders)]  # rotate
            for c in order:
                db = bench.fresh_db(c)
                dt = getattr(bench, c)(db)
                bench.verify(db, c)
                samples[c].append(dt)
                log(f"  run {r + 1}/{args.repeat}  {c:<17} {dt:7.2f} s  (verified)")
                if db != bench.last_bascule_db:
                    bench.drop_db(db)
        log("timing process start ...")
        start = bench.start_times()
    finally:
        if args.keep:
            log(f"kept {work}; server still running: {server.url('postgres')}\n"
                f"clean up with: python -c \"from bascule.targets.embedded import EmbeddedServer; "
                f"EmbeddedServer('{server.root}').destroy()\" && rm -rf {work}")
        else:
            try:
                server.destroy()
            finally:
                shutil.rmtree(work, ignore_errors=True)

    med = {c: statistics.median(v) for c, v in samples.items()}
    # Same-round ratios: contenders of one round ran within seconds of each other, so these are
    # less sensitive to the machine's speed drifting between rounds.
    paired = {
        "vs_psql": statistics.median(b / p for b, p in zip(samples["bascule"], samples["psql_single_txn"], strict=True)),
        "vs_alembic": statistics.median(b / p for b, p in zip(samples["bascule"], samples["alembic"], strict=True)),
    }
    vs_psql = med["bascule"] / med["psql_single_txn"]
    vs_psql_auto = med["bascule"] / med["psql"]
    vs_alembic = med["bascule"] / med["alembic"]
    n = len(migs)

    print(f"\napply overhead: {n} migrations, {exp.statements} statements, PostgreSQL {pg}, "
          f"median of {args.repeat}")
    print(f"{'contender':<60} {'median s':>9} {'ms/migr':>8} {'bascule is':>11}")
    for c in contenders:
        ratio = med["bascule"] / med[c]
        print(f"{LABELS[c]:<60} {med[c]:9.2f} {med[c] * 1000 / n:8.2f} {ratio:10.2f}x")
    print(f"\nprocess start (median of {START_RUNS}, target < {START_TARGET_S} s):")
    for key, label in (("help", "bascule --help"), ("status", f"bascule status ({n} applied)"),
                       ("noop_up", "bascule up, nothing to do  (info)")):
        verdict = "" if key == "noop_up" else ("ok" if start[key] < START_TARGET_S else "OVER TARGET")
        print(f"  {label:<36} {start[key]:.3f} s  {verdict}")
    print("\ntargets:")
    print(f"  bascule within {PSQL_RATIO_TARGET}x of psql --single-transaction: {vs_psql:.2f}x  "
          f"{'ok' if vs_psql <= PSQL_RATIO_TARGET else 'MISSED'}")
    print(f"  bascule faster than alembic:             {vs_alembic:.2f}x  {'ok' if vs_alembic < 1 else 'MISSED'}")
    print(f"  (median of same-round ratios: vs psql {paired['vs_psql']:.2f}x, vs alembic {paired['vs_alembic']:.2f}x)")

    result = {
        "benchmark": "apply_overhead",
        "migrations": n,
        "statements": exp.statements,
        "repeat": args.repeat,
        "postgres": pg,
        "psql_s": round(med["psql"], 3),
        "psql_single_txn_s": round(med["psql_single_txn"], 3),
        "bascule_s": round(med["bascule"], 3),
        "alembic_s": round(med["alembic"], 3),
        "vs_psql": round(vs_psql, 3),
        "vs_psql_autocommit": round(vs_psql_auto, 3),
        "vs_alembic": round(vs_alembic, 3),
        "help_s": round(start["help"], 3),
        "status_s": round(start["status"], 3),
        "noop_up_s": round(start["noop_up"], 3),
        **({"psql_one_session_s": round(med["psql_one_session"], 3),
            "alembic_one_txn_s": round(med["alembic_one_txn"], 3)} if not args.no_info else {}),
        "meets_psql_target": vs_psql <= PSQL_RATIO_TARGET,
        "meets_alembic_target": vs_alembic < 1,
        "meets_start_target": start["help"] < START_TARGET_S and start["status"] < START_TARGET_S,
        "paired": {k: round(v, 3) for k, v in paired.items()},
        "samples_s": {c: [round(x, 3) for x in v] for c, v in samples.items()},
    }
    sys.stderr.flush()
    print(json.dumps(result, separators=(", ", ": ")), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
