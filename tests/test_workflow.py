"""baseline, repair, new, missing migrations, other layouts through the CLI, config precedence."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from bascule.config import Settings, load_config, parse_duration, resolve_target


def test_baseline_adopts_existing_database(project):
    p = project
    p.db.exec("CREATE TABLE legacy (id int) ; ")
    p.add("0001", "legacy", "CREATE TABLE legacy (id int);")
    p.add("0002", "legacy_more", "ALTER TABLE legacy ADD COLUMN name text;")
    p.add("0003", "new_stuff", "CREATE TABLE fresh (id int);")
    p.db.exec("ALTER TABLE legacy ADD COLUMN name text; ")
    p.run("baseline", "0002", "--reason", "adopting prod")
    st = p.status()
    assert [st[v]["state"] for v in ("0001", "0002", "0003")] == ["baseline", "baseline", "pending"]
    p.run("up")
    assert p.db.tables() == ["fresh", "legacy"]
    ev = p.events()
    assert ev[0]["event"] == "baseline" and ev[0]["detail"]["covers"] == ["0001", "0002"]
    res = p.run("baseline", "0003", check=2)
    assert "already has bascule history" in res.stderr


def test_repair_failed_non_transactional(project):
    p = project
    p.add("0001", "t", "CREATE TABLE t (id int); INSERT INTO t VALUES (1), (1);")
    p.add("0002", "idx", "CREATE UNIQUE INDEX CONCURRENTLY t_id_key ON t (id);\nCREATE TABLE after_idx (id int);\n")
    p.run("up", check=3)
    assert p.status()["0002"]["state"] == "failed"
    res = p.run("repair", "0002", "--as", "applied", check=2)  # --reason is required
    assert "--reason" in res.stderr
    # The user finished the job by hand:
    p.db.exec("DROP INDEX t_id_key; DELETE FROM t; CREATE UNIQUE INDEX t_id_key ON t (id); "
               "CREATE TABLE after_idx (id int); ")
    p.run("repair", "0002", "--as", "applied", "--reason", "deduplicated and built the index by hand")
    st = p.status()["0002"]
    assert st["state"] == "applied" and st["error"] is None
    rep = [e for e in p.events() if e["event"] == "repair"][0]
    assert rep["detail"]["reason"] == "deduplicated and built the index by hand"
    assert rep["detail"]["previous_error"].startswith("could not create unique index")
    # history still has the failure: repair adds, never rewrites
    assert [e["event"] for e in p.events() if e["version"] == "0002"] == ["started", "failed", "repair"]
    res = p.run("repair", "0002", "--as", "pending", "--reason", "x", check=2)
    assert "is applied" in res.stderr


def test_repair_as_pending_reruns_from_the_top(project):
    p = project
    p.add("0001", "t", "CREATE TABLE t (id int);\nCREATE INDEX CONCURRENTLY t_idx ON t (id);\nSELECT 1/0;\n")
    p.run("up", check=3)
    assert p.status()["0001"]["statements_done"] == 2
    p.db.exec("DROP TABLE t; ")  # undo the partial effects by hand
    (p.root / "migrations" / "0001_t" / "up.sql").write_text("CREATE TABLE t (id int);\nCREATE INDEX CONCURRENTLY t_idx ON t (id);\n")
    p.run("repair", "0001", "--as", "pending", "--reason", "dropped the half-made table")
    p.run("up")
    assert p.status()["0001"]["state"] == "applied"


def test_failed_migration_whose_files_are_gone_can_be_cleared(project):
    p = project
    d = p.add("0001", "bad", "CREATE TABLE bad (id int);\nSELECT 1/0;\n")
    p.run("up", check=3)
    shutil.rmtree(d)  # abandoned: the files were deleted
    assert p.status()["0001"]["state"] == "missing"
    res = p.run("repair", "0001", "--as", "applied", "--reason", "x", check=2)
    assert "can only be marked pending" in res.stderr
    p.run("repair", "0001", "--as", "pending", "--reason", "migration abandoned and deleted")
    assert "0001" not in p.status()
    p.run("status", "--exit-code")
    p.run("validate")
    assert any(e["event"] == "repair" for e in p.events())


def test_missing_on_disk(project):
    p = project
    d = p.add("0001", "gone", "CREATE TABLE gone (id int);", "DROP TABLE gone;")
    p.run("up")
    shutil.rmtree(d)
    st = p.status()["0001"]
    assert st["state"] == "missing"
    p.run("status", "--exit-code", check=1)
    assert "missing" in p.run("validate", check=1).stdout
    res = p.run("down", check=2)
    assert "files are missing" in res.stderr


def test_new_creates_increasing_versions(project):
    p = project
    a = p.run("new", "add user avatar").stdout
    b = p.run("new", "add_user_avatar_index").stdout
    folders = sorted(x.name for x in (p.root / "migrations").iterdir())
    assert len(folders) == 2 and folders[0].endswith("_add_user_avatar") and folders[1].endswith("_add_user_avatar_index")
    assert folders[0].split("_")[0] < folders[1].split("_")[0]
    assert "up.sql" in a and "down.sql" in b
    p.run("up")  # comment-only migrations apply fine
    assert all(s["state"] == "applied" for s in p.status().values())


@pytest.mark.parametrize("files", [
    {"1_a.up.sql": "CREATE TABLE a (id int);", "1_a.down.sql": "DROP TABLE a;"},  # golang-migrate
    {"20240101000000_a.sql": "-- migrate:up\nCREATE TABLE a (id int);\n-- migrate:down\nDROP TABLE a;\n"},  # dbmate
])
def test_new_refuses_a_detected_non_native_layout(project, files):
    """With layout = "auto", a native folder written next to another tool's files would make the
    whole project read as native, hiding every existing migration."""
    p = project
    p.layout = "auto"
    p.write_config()
    for name, text in files.items():
        (p.root / "migrations" / name).write_text(text)
    res = p.run("new", "x", check=2)
    assert "writes the native layout, but this project uses" in res.stderr and "detected" in res.stderr
    assert sorted(x.name for x in (p.root / "migrations").iterdir()) == sorted(files)
    assert [s["state"] for s in p.status().values()] == ["pending"]


def test_flyway_project_with_repeatable(project):
    p = project
    p.layout = "flyway"
    p.write_config()
    mig = p.root / "migrations"
    (mig / "V1__create_users.sql").write_text("CREATE TABLE users (id int, name text);")
    (mig / "V1_1__add_email.sql").write_text("ALTER TABLE users ADD COLUMN email text;")
    (mig / "U1_1__add_email.sql").write_text("ALTER TABLE users DROP COLUMN email;")
    (mig / "R__users_view.sql").write_text("CREATE OR REPLACE VIEW user_names AS SELECT name FROM users;")
    p.run("up")
    st = json.loads(p.run("status", "--json").stdout)["migrations"]
    assert [(m["version"], m["state"]) for m in st] == [("1", "applied"), ("1.1", "applied"), ("", "applied")]
    (mig / "R__users_view.sql").write_text("CREATE OR REPLACE VIEW user_names AS SELECT name, email FROM users;")
    st = json.loads(p.run("status", "--json").stdout)["migrations"]
    assert st[-1]["state"] == "pending" and "re-applied" in st[-1]["note"]
    p.run("up")
    cols = [r[0] for r in p.db.query("SELECT column_name FROM information_schema.columns WHERE table_name='user_names'")]
    assert cols == ["name", "email"]
    # Flyway's undo script is our down; the view (repeatable) still needs the column, and
    # PostgreSQL says so: the rollback fails cleanly and changes nothing.
    res = p.run("down", check=3)
    assert "view user_names depends on column email" in res.stderr and "bascule down" in res.stderr
    assert p.status()["1.1"]["state"] == "failed"


def test_golang_migrate_project_applies(project):
    p = project
    p.layout = "golang-migrate"
    p.write_config()
    (p.root / "migrations" / "1_users.up.sql").write_text("CREATE TABLE gm_users (id int);")
    (p.root / "migrations" / "1_users.down.sql").write_text("DROP TABLE gm_users;")
    (p.root / "migrations" / "2_idx.up.sql").write_text("CREATE INDEX CONCURRENTLY gm_idx ON gm_users (id);")
    p.run("up")
    assert p.status()["2"]["transactional"] is False
    assert p.db.scalar("SELECT indisvalid FROM pg_index WHERE indexrelid = 'gm_idx'::regclass") is True
    p.run("down", check=2)  # 2_idx has no down file
    p.run("down", "--to", "2")  # nothing after 2: no-op


def test_dbmate_project_transaction_false(project):
    p = project
    p.layout = "dbmate"
    p.write_config()
    (p.root / "migrations" / "20240101000000_things.sql").write_text(
        "-- migrate:up\nCREATE TABLE dbm_things (id int);\n\n-- migrate:down\nDROP TABLE dbm_things;\n")
    (p.root / "migrations" / "20240102000000_vacuum.sql").write_text(
        "-- migrate:up transaction:false\nVACUUM dbm_things;\n-- migrate:down\n")
    p.run("up")
    st = p.status()
    assert st["20240101000000"]["transactional"] is True and st["20240102000000"]["transactional"] is False
    p.run("down", "--to", "20240101000000", check=2)  # the vacuum one has no down section


def test_config_precedence(tmp_path, monkeypatch):
    cfg_file = tmp_path / "bascule.toml"
    cfg_file.write_text('[defaults]\nlock_timeout = "3s"\n[environments.staging]\nurl = "${STAGING_URL:-postgresql:///fallback}"\n'
                        'lock_timeout = "750ms"\nlock_retries = 2\n[environments.prod]\nurl = "postgresql:///prod"\n')
    cfg = load_config(cfg_file)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("BASCULE_ENV", raising=False)
    monkeypatch.delenv("STAGING_URL", raising=False)
    st = resolve_target(cfg, "staging")
    assert st.url == "postgresql:///fallback" and st.settings.lock_timeout == 0.75 and st.settings.lock_retries == 2
    monkeypatch.setenv("STAGING_URL", "postgresql:///from_env")
    assert resolve_target(cfg, "staging").url == "postgresql:///from_env"
    monkeypatch.setenv("DATABASE_URL", "postgresql:///database_url")
    assert resolve_target(cfg, None).url == "postgresql:///database_url"  # beats the default env
    assert resolve_target(cfg, "prod").url == "postgresql:///prod"  # --env beats DATABASE_URL
    assert resolve_target(cfg, "prod", "postgresql:///flag").url == "postgresql:///flag"  # --url beats all
    assert resolve_target(cfg, None, "postgresql:///flag").settings.lock_timeout == 3.0
    assert parse_duration("2s") == 2 and parse_duration("500ms") == 0.5 and parse_duration(250) == 0.25
    assert parse_duration("1min") == 60 and Settings().lock_timeout == 2.0


def test_status_json_has_failure_details(project):
    p = project
    p.add("0001", "boom", "CREATE TABLE x (id int);\nSELECT 1/0;\n")
    p.run("up", check=3)
    st = json.loads(p.run("status", "--json").stdout)
    m = st["migrations"][0]
    assert m["state"] == "failed" and m["error"] == "division by zero" and m["failed_line"] == 2
    assert m["sqlstate"] == "22012" and "SELECT 1/0" in m["failed_statement"]
    assert os.path.basename(m["failed_path"]) == "up.sql"
