"""`bascule demo`: a realistic walk through up, status and down on a throwaway embedded server.

The example is a users table evolving the way production tables do: created and filled,
two nullable columns added (metadata-only, no rewrite), a batched backfill that commits per
batch (so it never holds row locks on the whole table), an index built CONCURRENTLY (so
writes continue), and a column renamed safely with expand/contract (new column kept in sync
by a trigger while old and new application versions run side by side, old column dropped
later).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

MIGRATIONS: dict[str, dict[str, str]] = {
    "0001_create_users": {
        "migration.toml": 'description = "users table, filled with {rows} rows of sample data"\n',
        "up.sql": """\
CREATE TABLE users (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text NOT NULL,
    email      text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO users (name, email, created_at)
SELECT 'User ' || g, 'user' || g || '@example.com', now() - g * interval '1 minute'
  FROM generate_series(1, {rows}) AS g;
""",
        "down.sql": "DROP TABLE users;\n",
    },
    "0002_add_avatar_and_last_login": {
        "migration.toml": 'description = "two nullable columns: a catalog-only change, no table rewrite"\n',
        "up.sql": """\
-- Nullable, no default: PostgreSQL only updates the catalog; the table is not rewritten.
ALTER TABLE users
    ADD COLUMN avatar_url    text,
    ADD COLUMN last_login_at timestamptz;
""",
        "down.sql": "ALTER TABLE users DROP COLUMN last_login_at, DROP COLUMN avatar_url;\n",
    },
    "0003_backfill_last_login": {
        "migration.toml": """\
description = "batched backfill: 5000 rows per transaction, so no long-held row locks"
transaction = "never"
""",
        "up.sql": """\
-- Runs outside a transaction block so the DO block can COMMIT after every batch.
DO $$
DECLARE
    done bigint;
BEGIN
    LOOP
        UPDATE users SET last_login_at = created_at
         WHERE id IN (SELECT id FROM users WHERE last_login_at IS NULL ORDER BY id LIMIT 5000);
        GET DIAGNOSTICS done = ROW_COUNT;
        EXIT WHEN done = 0;
        COMMIT;
    END LOOP;
END $$;
""",
        "down.sql": "UPDATE users SET last_login_at = NULL;\n",
    },
    "0004_index_last_login": {
        "migration.toml": 'description = "index built CONCURRENTLY: writes keep flowing while it builds"\n',
        "up.sql": "CREATE INDEX CONCURRENTLY users_last_login_at_idx ON users (last_login_at);\n",
        "down.sql": "DROP INDEX CONCURRENTLY users_last_login_at_idx;\n",
    },
    "0005_rename_name_expand": {
        "migration.toml": """\
description = "rename name -> full_name, expand: new column kept in sync by a trigger"
# statement by statement: the backfill must not run inside the transaction that took
# ACCESS EXCLUSIVE for ADD COLUMN (every query on users would wait for the whole UPDATE)
transaction = "never"
""",
        "up.sql": """\
-- Expand: old application code keeps writing `name`, new code reads `full_name`.
ALTER TABLE users ADD COLUMN full_name text;

CREATE FUNCTION users_sync_full_name() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.name IS DISTINCT FROM OLD.name THEN
        NEW.full_name := NEW.name;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER users_sync_full_name BEFORE INSERT OR UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION users_sync_full_name();

-- Backfill in batches of 5000 rows, each committed on its own.
DO $$
DECLARE
    done bigint;
BEGIN
    LOOP
        UPDATE users SET full_name = name
         WHERE id IN (SELECT id FROM users WHERE full_name IS NULL ORDER BY id LIMIT 5000);
        GET DIAGNOSTICS done = ROW_COUNT;
        EXIT WHEN done = 0;
        COMMIT;
    END LOOP;
END $$;
""",
        "down.sql": """\
DROP TRIGGER users_sync_full_name ON users;
DROP FUNCTION users_sync_full_name();
ALTER TABLE users DROP COLUMN full_name;
""",
    },
    "0006_rename_name_contract": {
        "migration.toml": """\
description = "rename, contract: every app instance reads full_name; drop the old column"
transaction = "never"
""",
        "up.sql": """\
-- Contract: every application instance reads and writes full_name now.
-- bascule:ignore-file B211 contract phase: the sync trigger and its function are no longer used
DROP TRIGGER users_sync_full_name ON users;
DROP FUNCTION users_sync_full_name();

-- NOT NULL without a long ACCESS EXCLUSIVE scan: a CHECK proven while reads and writes continue
-- (VALIDATE takes SHARE UPDATE EXCLUSIVE), then SET NOT NULL uses it and skips the scan.
ALTER TABLE users ADD CONSTRAINT users_full_name_nn CHECK (full_name IS NOT NULL) NOT VALID;
ALTER TABLE users VALIDATE CONSTRAINT users_full_name_nn;
-- bascule:ignore B203 contract phase: no application code reads or writes users.name since 0005
ALTER TABLE users ALTER COLUMN full_name SET NOT NULL, DROP COLUMN name;
ALTER TABLE users DROP CONSTRAINT users_full_name_nn;
""",
        "down.sql": """\
ALTER TABLE users ADD COLUMN name text;
UPDATE users SET name = full_name;
ALTER TABLE users ALTER COLUMN name SET NOT NULL;
ALTER TABLE users ALTER COLUMN full_name DROP NOT NULL;
CREATE FUNCTION users_sync_full_name() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.name IS DISTINCT FROM OLD.name THEN
        NEW.full_name := NEW.name;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER users_sync_full_name BEFORE INSERT OR UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION users_sync_full_name();
""",
    },
}


def write_project(folder: Path, rows: int) -> Path:
    from bascule.config import DEFAULT_TOML

    folder.mkdir(parents=True, exist_ok=True)
    # The demo's server holds the database "demo"; point the dev environment at it so that
    # `bascule status` in a --keep'd folder shows what the demo did.
    (folder / "bascule.toml").write_text(DEFAULT_TOML.replace("embedded = true ", 'embedded = true\ndatabase = "demo"', 1))
    mig = folder / "migrations"
    for name, files in MIGRATIONS.items():
        d = mig / name
        d.mkdir(parents=True, exist_ok=True)
        for fname, text in files.items():
            (d / fname).write_text(text.replace("{rows}", str(rows)))
    return folder


def _say(text: str = "") -> None:
    print(text, flush=True)


def _section(title: str) -> None:
    _say()
    _say(f"── {title} " + "─" * max(0, 70 - len(title)))


UNSAFE_INDEX = "CREATE INDEX users_email_lower_idx ON users (lower(email));\n"


def _lint_project(cfg) -> None:
    from bascule.analyze import inputs
    from bascule.analyze.engine import LintOptions, lint_units
    from bascule.report.lint import render_text

    result = lint_units(inputs.collect([str(cfg.migrations_dir)]), LintOptions())
    text = render_text(result).replace(str(cfg.migrations_dir) + "/", "migrations/")
    _say(text)
    _say("(three findings are suppressed in 0006 with their reasons: `-- bascule:ignore CODE reason`)")


def _lint_unsafe(url: str) -> None:
    """What lint says about the unsafe way to add an index, with the live table's size, and the fix."""
    from bascule.analyze import lint_sql
    from bascule.analyze.fix import fix_text
    from bascule.analyze.live import LiveCatalog
    from bascule.targets.connect import connect

    with connect(url, application_name="bascule demo") as conn:
        conn.execute("ANALYZE users")
        result = lint_sql(UNSAFE_INDEX, path="unsafe.sql", live=LiveCatalog(conn),
                          pg_version=conn.info.server_version // 10000)
    shown = [f for f in result.findings if f.code == "B101"]
    for f in shown:
        _say(f"{f.path}:{f.line}:{f.column}: {f.severity} {f.code} {f.name}")
        _say(f"  {f.message}")
        for note in f.notes:
            _say(f"  {note}")
    fixed = fix_text(UNSAFE_INDEX, "unsafe.sql", shown)
    _say("bascule lint --fix rewrites it:")
    _say(fixed.diff().rstrip())


def run_demo(keep: bool = False, pg_version: str | None = None, rows: int = 50_000) -> None:
    from bascule import operations
    from bascule.config import load_config
    from bascule.operations import Target
    from bascule.report.text import ProgressPrinter, render_status
    from bascule.targets.embedded import EmbeddedServer

    tmp = Path(tempfile.mkdtemp(prefix="bascule-demo-"))
    server = EmbeddedServer(tmp / ".bascule" / "embedded", version=pg_version, database="demo")
    try:
        _section("1. a private PostgreSQL, no server to install")
        t0 = time.perf_counter()
        url = server.start()
        _say(f"started PostgreSQL {server.status().version} in {time.perf_counter() - t0:.1f} s "
             f"(Unix socket only, data in {server.data_dir})")
        write_project(tmp, rows)
        cfg = load_config(tmp / "bascule.toml")
        migrations = operations.load(cfg)
        _say(f"project: {tmp}")
        for m in migrations:
            _say(f"  migrations/{m.path.name}/   {m.description}")

        _section("2. bascule lint: what each migration does to the tables it touches")
        _lint_project(cfg)

        progress = ProgressPrinter(stream=sys.stdout)
        with Target(url, cfg.defaults, "demo") as t:
            _section("3. bascule status: everything pending")
            _say(render_status(operations.status(t, migrations), t.safe_url))

            _section("4. bascule up")
            res = operations.apply(t, migrations, observers=[progress])
            _say(f"applied {len(res.outcomes)} migrations")

            _section("5. bascule lint --env: an unsafe index, sized against the live users table, and --fix")
            _lint_unsafe(url)

            _section("6. bascule status: applied, with when, who and how long")
            _say(render_status(operations.status(t, migrations), t.safe_url))
            row = t.conn.execute("SELECT count(*), count(last_login_at), count(full_name) FROM users").fetchone()
            idx = t.conn.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = "
                                 "'users_last_login_at_idx'::regclass").fetchone()
            _say(f"users: {row[0]} rows, {row[1]} backfilled last_login_at, {row[2]} full_name; "
                 f"index users_last_login_at_idx valid: {idx[0]}")

            _section("7. bascule down --to 0001: roll back all but the first, newest first")
            res = operations.rollback(t, migrations, to="0001", observers=[progress])
            _say(f"rolled back {len(res.outcomes)} migrations")
            cols = [r[0] for r in t.conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'users' "
                "ORDER BY ordinal_position").fetchall()]
            _say(f"users columns now: {', '.join(cols)}")

            _section("8. bascule status and the audit trail (bascule history)")
            _say(render_status(operations.status(t, migrations), t.safe_url))
            events = t.history.events()
            _say(f"{len(events)} events recorded in bascule.events; hash chain "
                 f"{'intact' if not t.history.verify_chain() else 'BROKEN'}")
            for e in events[-4:]:
                _say(f"  {e['id']:>3} {e['event']:<16} {e['version']:<6} {e['name']}")
        _section("done")
        if keep:
            _say(f"kept {tmp}; the server is still running. Try: cd {tmp} && bascule status")
        else:
            _say("the temporary project and its server were removed. Start your own: bascule init")
    finally:
        if not keep:
            server.destroy()
            shutil.rmtree(tmp, ignore_errors=True)
