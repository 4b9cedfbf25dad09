"""The embedded server as users meet it: `bascule embedded ...`, dev environment, demo."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import psycopg
import pytest

from bascule.targets.embedded import EmbeddedServer, find_bindir


def _bascule(cwd, *args, timeout=120):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "BASCULE_ENV")}
    return subprocess.run([sys.executable, "-m", "bascule.cli.main", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("pg_version", [None, "15"])
def test_embedded_lifecycle_and_dev_environment(tmp_path, pg_version):
    if pg_version:
        try:
            find_bindir(pg_version)
        except Exception as exc:
            pytest.skip(f"PostgreSQL {pg_version} binaries not installed: {exc}")
    proj = tmp_path / "app"
    assert _bascule(tmp_path, "init", "app").returncode == 0
    if pg_version:
        toml = (proj / "bascule.toml").read_text().replace("embedded = true", f'embedded = true\npg_version = "{pg_version}"')
        (proj / "bascule.toml").write_text(toml)
    try:
        st = _bascule(proj, "embedded", "status", "--json")
        assert st.returncode == 1 and json.loads(st.stdout)["running"] is False
        # no URL anywhere: `up` starts the private server on demand
        (proj / "migrations" / "0001_t").mkdir()
        (proj / "migrations" / "0001_t" / "up.sql").write_text("CREATE TABLE t (id int);")
        res = _bascule(proj, "up")
        assert res.returncode == 0, res.stderr
        info = json.loads(_bascule(proj, "embedded", "status", "--json").stdout)
        assert info["running"] is True and info["version"] == (pg_version or "18")
        url = _bascule(proj, "embedded", "url").stdout.strip()
        assert url == info["url"] and "host=" in url and "@/dev" in url
        with psycopg.connect(url) as c:
            assert c.execute("SHOW listen_addresses").fetchone()[0] == ""  # no TCP port at all
            assert c.execute("SELECT count(*) FROM t").fetchone()[0] == 0
            ver = c.info.server_version
        assert ver // 10000 == int(pg_version or 18)
        sock_mode = stat.S_IMODE(os.stat(info["socket_dir"]).st_mode)
        assert sock_mode == 0o700  # only the server's user (and root) may reach the socket
        if os.geteuid() == 0:
            owner = subprocess.run(["ps", "-o", "user=", "-p", str(info["pid"])], capture_output=True,
                                   text=True).stdout.strip()
            assert owner in ("postgres", "bascule-pg")  # PostgreSQL refuses to run as root
        assert str(proj / ".bascule") in info["data_dir"]
        assert ".bascule/" in (proj / ".gitignore").read_text()
        assert _bascule(proj, "embedded", "stop").stdout.strip() == "stopped"
        assert _bascule(proj, "embedded", "stop").stdout.strip() == "not running"
        # data survives a restart
        res = _bascule(proj, "status", "--json")
        assert json.loads(res.stdout)["migrations"][0]["state"] == "applied"
    finally:
        _bascule(proj, "embedded", "stop")


def test_long_path_uses_short_socket_dir(tmp_path):
    deep = tmp_path / ("x" * 60) / ("y" * 60)
    srv = EmbeddedServer(deep / ".bascule" / "embedded", database="dev")
    try:
        url = srv.start()
        assert len(str(srv.socket_dir)) < 100
        with psycopg.connect(url) as c:
            assert c.execute("SELECT 1").fetchone()[0] == 1
    finally:
        srv.destroy()
    assert not srv.socket_dir.exists()


def test_init_refuses_to_overwrite(tmp_path):
    assert _bascule(tmp_path, "init").returncode == 0
    res = _bascule(tmp_path, "init")
    assert res.returncode == 2 and "already exists" in res.stderr


def test_demo_runs_end_to_end(tmp_path):
    res = _bascule(tmp_path, "demo", "--rows", "3000", timeout=300)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "applied 6 migrations" in out and "rolled back 5 migrations" in out
    assert "3000 rows, 3000 backfilled last_login_at, 3000 full_name" in out
    assert "index users_last_login_at_idx valid: True" in out
    assert "hash chain intact" in out
    assert "statement by statement, outside a transaction" in out
    # the demo's own migrations lint clean (three findings suppressed with reasons) ...
    assert "0006 rename_name_contract       [breaking]" in out and "0 error(s), 0 warning(s), 0 info, 3 suppressed" in out
    # ... and the unsafe index is sized against the live table and fixed
    assert "B101 create-index-not-concurrently" in out and "size: builds an index on users: 3 k rows" in out
    assert "+CREATE INDEX CONCURRENTLY users_email_lower_idx ON users (lower(email));" in out


def test_help_explains_every_command(tmp_path):
    res = _bascule(tmp_path, "--help")
    assert res.returncode == 0
    for cmd in ("init", "new", "status", "up", "down", "history", "validate", "baseline", "repair", "embedded", "demo",
                "lint", "verify", "rehearse"):
        assert f"  {cmd}" in res.stdout
    up = _bascule(tmp_path, "up", "--help").stdout
    assert "--dry-run" in up and "--to" in up and "--allow-modified" in up and "--lock-wait" in up


def test_init_appends_to_gitignore_without_trailing_newline(tmp_path):
    (tmp_path / ".gitignore").write_text("node_modules")
    assert _bascule(tmp_path, "init").returncode == 0
    assert (tmp_path / ".gitignore").read_text().splitlines() == ["node_modules", ".bascule/"]


def test_tcp_listener_on_loopback_with_a_password(tmp_path, monkeypatch):
    """tcp=True: 127.0.0.1 only, on a port free at start (another one when it was taken meanwhile),
    a password for TCP, trust on the socket as before; the password is in no file."""
    import socket

    from bascule.targets import embedded

    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    held.listen()
    taken = held.getsockname()[1]
    offered = iter([taken])  # the first port offered is taken before the server binds it
    real_free_port = embedded._free_port
    monkeypatch.setattr(embedded, "_free_port", lambda: next(offered, None) or real_free_port())
    srv = EmbeddedServer(tmp_path / "embedded", database="dev", tcp=True)
    try:
        url = srv.start()
        assert srv.port != taken and f"port={srv.port}" in url
        with psycopg.connect(url) as c:  # the socket: trust, as without tcp
            assert c.execute("SHOW listen_addresses").fetchone()[0] == "127.0.0.1"
            assert c.execute("SELECT inet_client_addr()").fetchone()[0] is None
        tcp_url = srv.tcp_url()
        assert tcp_url.startswith(f"postgresql://postgres:{srv.tcp_password}@127.0.0.1:{srv.port}/dev")
        with psycopg.connect(tcp_url) as c:
            assert str(c.execute("SELECT inet_client_addr()").fetchone()[0]) == "127.0.0.1"
        where = f"host=127.0.0.1 port={srv.port} dbname=dev connect_timeout=5"
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(f"{where} user=postgres password=wrong")
        with psycopg.connect(url) as c:
            c.execute("CREATE ROLE other LOGIN PASSWORD 'other'")
        with pytest.raises(psycopg.OperationalError, match="pg_hba.conf rejects"):
            psycopg.connect(f"{where} user=other password=other")
        found = subprocess.run(["grep", "-rlF", srv.tcp_password, str(srv.root)], capture_output=True, text=True)
        assert found.stdout == ""
        again = EmbeddedServer(tmp_path / "embedded", database="dev")  # another process's view
        assert again.port == srv.port and again.status().running
    finally:
        held.close()
        srv.destroy()
