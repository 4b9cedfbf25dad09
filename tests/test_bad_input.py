"""Every bad input gives one clear line and a hint, the right exit code, no traceback, nothing half-applied."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _bascule(cwd, *args, env=None):
    import os

    e = dict(os.environ)
    e.pop("DATABASE_URL", None)
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "bascule.cli.main", *args], cwd=cwd, env=e,
                          capture_output=True, text=True, timeout=60)


def _clean(res):
    assert "Traceback" not in res.stderr and "Traceback" not in res.stdout, res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("error: ")]
    assert len(lines) == 1, res.stderr
    assert "hint: " in res.stderr or res.returncode == 2, res.stderr
    return lines[0]


def test_missing_config(tmp_path):
    res = _bascule(tmp_path, "status")
    assert res.returncode == 2
    assert "no bascule.toml" in _clean(res)
    assert "bascule init" in res.stderr


def test_malformed_config(tmp_path):
    (tmp_path / "bascule.toml").write_text("[project\nmigrations = 1\n")
    res = _bascule(tmp_path, "status")
    assert res.returncode == 2 and "invalid TOML" in _clean(res)


@pytest.mark.parametrize("body, expected", [
    ('[project]\nlayout = "rails"\n', "unknown layout 'rails'"),
    ('[defaults]\nlock_timeout = "soon"\n', "is not a duration"),
    ('[environments.prod]\nurl = 5\n', "url must be a string"),
    ('[environments.prod]\nuri = "x"\n', "unknown key(s) uri"),
    ('[surprise]\n', "unknown section(s) surprise"),
    ('[environments.prod]\nembedded = false\n', "embedded = false but no url"),
    ('[environments.prod]\nurl = ""\n', "url is empty"),
    ('[defaults]\nlock_timeout = nan\n', "nan is not a duration"),  # NaN compares false to every limit
    ('[defaults]\nstatement_timeout = nan\n', "nan is not a duration"),
    ('[defaults]\nlock_wait = inf\n', "inf is not a duration"),
    ('[defaults]\nlock_timout = "10s"\n', "defaults: unknown key(s) lock_timout"),  # typos are not ignored
    ('[project]\nmigratons = "db"\n', "project: unknown key(s) migratons"),
    ('[environments.prod]\ndatabase = ""\n', "database must be a non-empty name"),
    ('[environments.prod]\ndatabase = 5\n', "database must be a non-empty name"),
    ('[environments.prod]\npg_version = "abc"\n', "pg_version must be a major version"),
])
def test_invalid_config_values(tmp_path, body, expected):
    (tmp_path / "bascule.toml").write_text(body)
    (tmp_path / "migrations").mkdir()
    res = _bascule(tmp_path, "--env", "prod", "status")
    assert res.returncode == 2 and expected in _clean(res)


def test_unknown_environment(project):
    res = project.run("--env", "nope", "status", check=2)
    assert "unknown environment 'nope'" in _clean(res) and "environments: dev, test" in res.stderr


def test_unset_env_variable_in_url(tmp_path):
    (tmp_path / "bascule.toml").write_text('[environments.staging]\nurl = "${STAGING_URL_NOT_SET}"\n')
    (tmp_path / "migrations").mkdir()
    res = _bascule(tmp_path, "--env", "staging", "status")
    assert res.returncode == 2 and "STAGING_URL_NOT_SET" in _clean(res)


def test_unreachable_server_and_password_never_printed(tmp_path):
    (tmp_path / "bascule.toml").write_text("")
    (tmp_path / "migrations").mkdir()
    url = f"postgresql://app:s3cr3t-pw@/db?host={tmp_path}/nosocket&port=5432"
    res = _bascule(tmp_path, "--url", url, "status")
    assert res.returncode == 3
    line = _clean(res)
    assert "cannot connect" in line and "app:***@" in line
    assert "s3cr3t-pw" not in res.stdout + res.stderr


def test_wrong_password(tmp_path, pg18):
    import psycopg

    with psycopg.connect(pg18.url("postgres"), autocommit=True) as c:
        c.execute("DROP ROLE IF EXISTS pw_user")
        c.execute("CREATE ROLE pw_user LOGIN PASSWORD 'right-password'")
    # The embedded server trusts local users; a scram-protected socket needs its own hba rule.
    hba = pg18.data_dir / "pg_hba.conf"
    original = hba.read_text()
    hba.write_text("local all pw_user scram-sha-256\n" + original)
    with psycopg.connect(pg18.url("postgres"), autocommit=True) as c:
        c.execute("SELECT pg_reload_conf()")
    try:
        (tmp_path / "bascule.toml").write_text("")
        (tmp_path / "migrations").mkdir()
        url = pg18.url("postgres").replace("postgres@", "pw_user:wrong-password@", 1)
        res = _bascule(tmp_path, "--url", url, "status")
        assert res.returncode == 3
        line = _clean(res)
        assert "password authentication failed" in line
        assert "wrong-password" not in res.stdout + res.stderr
        assert "check the user name and password" in res.stderr
    finally:
        hba.write_text(original)
        with psycopg.connect(pg18.url("postgres"), autocommit=True) as c:
            c.execute("SELECT pg_reload_conf()")


def test_duplicate_version_names_both_files(project):
    project.add("0001", "a", "SELECT 1;")
    project.add("1", "b", "SELECT 1;")
    res = project.run("status", check=2)
    line = _clean(res)
    assert "duplicate version" in line and "0001_a" in line and "1_b" in line


def test_modified_after_applied(project):
    p = project
    d = p.add("0001", "a", "CREATE TABLE a (id int);")
    p.run("up")
    (d / "up.sql").write_text("CREATE TABLE a (id bigint);")
    p.add("0002", "b", "CREATE TABLE b (id int);")
    res = p.run("up", check=2)
    line = _clean(res)
    st = p.status()["0001"]
    assert "modified after it was applied" in line and str(d / "up.sql") in line
    assert st["checksum"][:12] in line and st["applied_checksum"][:12] in line
    assert p.db.tables() == ["a"]  # 0002 not applied either
    assert [ln.split(":")[0] for ln in p.run("validate", check=1).stdout.splitlines()[:-1]] == ["modified"]
    res = p.run("up", "--allow-modified", "", check=2)
    assert "needs a reason" in _clean(res)
    p.run("up", "--allow-modified", "widened id in review")
    assert p.db.tables() == ["a", "b"]
    allowed = [e for e in p.events() if e["event"] == "modified_allowed"]
    assert allowed and allowed[0]["detail"]["reason"] == "widened id in review"
    assert p.status()["0001"]["state"] == "modified"  # until the new checksum is accepted
    p.run("repair", "0001", "--accept-checksum", "--reason", "reviewed")
    assert p.status()["0001"]["state"] == "applied"
    p.run("validate")


def test_down_without_down_script(project):
    p = project
    p.add("0001", "a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    p.add("0002", "b", "CREATE TABLE b (id int);")  # no down.sql
    p.run("up")
    res = p.run("down", "--steps", "2", check=2)
    assert "0002 b has no down script" in _clean(res)
    assert f"write {p.root / 'migrations' / '0002_b' / 'down.sql'} first" in res.stderr
    assert p.db.tables() == ["a", "b"]  # nothing rolled back, not even 0001's turn


def test_down_hint_names_the_layouts_own_file(project):
    p = project
    p.layout = "golang-migrate"
    p.write_config()
    (p.root / "migrations" / "1_a.up.sql").write_text("CREATE TABLE a (id int);")
    p.run("up")
    res = p.run("down", check=2)
    assert f"write {p.root / 'migrations' / '1_a.down.sql'} first" in res.stderr


def test_history_verify_on_a_database_bascule_never_ran_on(project):
    res = project.run("history", "--verify")
    assert res.returncode == 0 and "Traceback" not in res.stderr and "bascule.meta" not in res.stderr


def test_to_unknown_version(project):
    project.add("0001", "a", "CREATE TABLE a (id int);")
    for cmd in (("up", "--to", "42"), ("down", "--to", "42")):
        res = project.run(*cmd, check=2)
        assert "'42' is not a known migration version" in _clean(res)
    assert project.db.tables() == []


def test_out_of_order_pending(project):
    p = project
    p.add("0001", "a", "CREATE TABLE a (id int);")
    p.add("0003", "c", "CREATE TABLE c (id int);")
    p.run("up")
    p.add("0002", "b", "CREATE TABLE b (id int);")  # merged from another branch later
    st = p.status()["0002"]
    assert st["state"] == "pending" and st["out_of_order"] is True
    res = p.run("up", check=2)
    assert "older than the newest applied" in _clean(res) and "--out-of-order" in res.stderr
    p.run("up", "--out-of-order")
    assert p.db.tables() == ["a", "b", "c"]


def test_missing_migration_folder(tmp_path):
    (tmp_path / "bascule.toml").write_text('[project]\nmigrations = "db/migrations"\n')
    res = _bascule(tmp_path, "--url", "postgresql:///x", "status")
    assert res.returncode == 2 and "does not exist" in _clean(res)


def test_bad_metadata(project):
    project.add("0001", "a", "SELECT 1;", toml='transaction = "sometimes"\n')
    res = project.run("status", check=2)
    assert "transaction must be" in _clean(res)


def test_depends_on(project):
    p = project
    p.add("0001", "a", "CREATE TABLE a (id int);")
    p.add("0002", "b", "CREATE TABLE b (id int);", toml='depends_on = ["0009"]\n')
    res = p.run("up", check=2)
    assert "depends on 0009" in _clean(res)
    assert p.db.tables() == []


def test_bad_migration_setting_applies_nothing(project):
    p = project
    p.add("0001", "a", "CREATE TABLE a (id int);")
    p.add("0002", "b", "CREATE TABLE b (id int);", toml='lock_timeout = "soon"\n')
    res = p.run("up", check=2)
    assert "is not a duration" in _clean(res)
    assert p.db.tables() == []
    assert "metadata: 0002" in p.run("validate", "--offline", check=1).stdout


def test_up_json_reports_partial_progress_on_failure(project):
    import json

    p = project
    p.add("0001", "a", "CREATE TABLE a (id int);")
    p.add("0002", "b", "SELECT 1/0;")
    res = p.run("up", "--json", check=3)
    doc = json.loads(res.stdout)
    assert [o["version"] for o in doc["outcomes"]] == ["0001"]
    assert doc["error"]["exit_code"] == 3 and "division by zero" in doc["error"]["message"]


@pytest.mark.parametrize("make", ["symlink", "folder", "down_only"])
def test_migration_folder_without_a_readable_up_script_is_an_error(project, make):
    p = project
    p.add("0001", "a", "CREATE TABLE a (id int);")
    d = p.root / "migrations" / "0002_b"
    d.mkdir()
    if make == "symlink":
        (d / "up.sql").symlink_to("/nonexistent/up.sql")
    elif make == "folder":
        (d / "up.sql").mkdir()
    else:
        (d / "down.sql").write_text("DROP TABLE b;")
    res = p.run("status", check=2)
    assert "0002_b" in _clean(res)
    import shutil

    shutil.rmtree(d)
    (p.root / "migrations" / "notes").mkdir()  # a folder that is not a migration is still ignored
    (p.root / "migrations" / "notes" / "README").write_text("x")
    assert list(p.status()) == ["0001"]


@pytest.mark.parametrize("limit", ["0", "-1"])
def test_history_limit_must_be_positive(project, limit):
    res = project.run("history", "--limit", limit, check=2)
    assert "--limit" in res.stderr and "no events recorded" not in res.stdout
