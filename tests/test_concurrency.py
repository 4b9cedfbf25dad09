"""Locks: concurrent runners, lock_timeout with retry, and a runner killed mid-migration."""

from __future__ import annotations

import os
import signal
import threading
import time


def _wait_for(cond, timeout=30.0, every=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(every)
    raise AssertionError("condition not reached in time")


def test_two_concurrent_runners_apply_once(project):
    p = project
    p.add("0001", "slow", "CREATE TABLE once (id int);\nSELECT pg_sleep(1.5);\n")
    a = p.popen("up")
    # wait until the first runner holds the advisory lock
    _wait_for(lambda: p.db.scalar("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"))
    b = p.popen("up")
    out_a, err_a = a.communicate(timeout=60)
    out_b, err_b = b.communicate(timeout=60)
    assert a.returncode == 0, err_a
    assert b.returncode == 0, err_b
    assert "waiting for the migration lock" in err_b
    assert "nothing to apply" in out_b
    assert [e["event"] for e in p.events()] == ["applied"]


def test_second_runner_gives_up_after_lock_wait(project):
    p = project
    p.add("0001", "slow", "SELECT pg_sleep(3);")
    a = p.popen("up")
    _wait_for(lambda: p.db.scalar("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"))
    res = p.run("up", "--lock-wait", "300ms", check=3)
    assert "another bascule runner is migrating this database" in res.stderr
    assert "pid" in res.stderr and "Traceback" not in res.stderr
    a.communicate(timeout=60)
    assert a.returncode == 0


def _hold_lock(db, table: str, mode: str, seconds: float, ready: threading.Event):
    with db.connect(application_name="long-report") as c:
        with c.transaction():
            c.execute(f"LOCK TABLE {table} IN {mode} MODE")
            c.execute("SELECT 'holding the lock for the test'")
            ready.set()
            time.sleep(seconds)


def _orders_with_pending_alter(p, lock_timeout: str, retries: int, hold_s: float, toml: str | None = None):
    """orders applied, an ALTER on it pending, and another session holding ACCESS SHARE on it for
    hold_s seconds (started and holding when this returns)."""
    p.write_config(lock_timeout=lock_timeout, lock_retries=retries)
    p.add("0001", "t", "CREATE TABLE orders (id int);")
    p.run("up")
    p.add("0002", "alter", "ALTER TABLE orders ADD COLUMN note text;", toml=toml)
    ready = threading.Event()
    holder = threading.Thread(target=_hold_lock, args=(p.db, "orders", "ACCESS SHARE", hold_s, ready))
    holder.start()
    ready.wait(10)
    return holder


def test_lock_timeout_retries_until_lock_is_free(vproject):
    p = vproject
    holder = _orders_with_pending_alter(p, "300ms", 20, 2.0)
    res = p.run("up")
    holder.join()
    assert "lock not available within lock_timeout" in res.stderr
    retries = [e for e in p.events() if e["event"] == "lock_retry"]
    assert retries, "expected at least one recorded retry"
    blockers = [b for e in retries for b in e["detail"]["blockers"]]
    assert any(b["application_name"] == "long-report" for b in blockers)
    assert any("holding the lock" in b["query"] for b in blockers)
    assert p.status()["0002"]["state"] == "applied"


def test_lock_timeout_gives_up_and_names_the_blocker(project):
    p = project
    holder = _orders_with_pending_alter(p, "300ms", 1, 8.0)
    res = p.run("up", check=3)
    holder.join()
    # Queueing behind the holder would have ended in success once it let go; a 55P03 failure
    # after exactly the configured attempts is what giving up looks like.
    assert "lock timeout after 2 attempt(s)" in res.stderr
    assert "long-report" in res.stderr and "holding the lock" in res.stderr
    st = p.status()["0002"]
    assert st["state"] == "failed" and st["sqlstate"] == "55P03"
    cols = [r[0] for r in p.db.query("SELECT column_name FROM information_schema.columns WHERE table_name='orders'")]
    assert cols == ["id"]


def test_sigkill_mid_transactional_migration(vproject):
    p = vproject
    p.add("0001", "slow", "CREATE TABLE half (id int);\nSELECT pg_sleep(30);\n")
    a = p.popen("up")
    _wait_for(lambda: p.db.scalar("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(30)%'"))
    os.kill(a.pid, signal.SIGKILL)
    a.wait()
    # the transaction died with the runner: nothing half-applied, and the lock is released
    p.add("0001", "slow", "CREATE TABLE half (id int);\n")  # the user shortens it and reruns
    p.run("up", "--allow-modified", "shortened the sleep", timeout=90)
    assert p.db.tables() == ["half"]
    assert p.status()["0001"]["state"] == "applied"


def test_sigkill_mid_non_transactional_migration_resumes(vproject):
    p = vproject
    p.add("0001", "t", "CREATE TABLE big (id int);\nINSERT INTO big SELECT generate_series(1, 1000);\n")
    p.run("up")
    p.add("0002", "steps",
          "CREATE INDEX CONCURRENTLY big_id_idx ON big (id);\n"
          "CREATE TABLE step_two (id int);\n"
          "SELECT pg_sleep(2.5);\n"
          "CREATE TABLE step_four (id int);\n")
    a = p.popen("up")
    _wait_for(lambda: p.db.scalar("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(2.5)%'"))
    os.kill(a.pid, signal.SIGKILL)
    a.wait()
    # The orphaned backend notices its client is gone (client_connection_check_interval, 14+)
    # and releases the advisory lock; until then status honestly says "running".
    _wait_for(lambda: not p.db.scalar("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"), timeout=30)
    st = p.status()["0002"]
    assert st["state"] == "failed" and "interrupted" in st["note"]
    assert st["statements_done"] == 2
    assert "2/4 statements done" in p.run("status").stdout
    res = p.run("up", timeout=120)
    assert "resuming at statement 3" in res.stderr
    # statements 1 and 2 were not run again (CREATE TABLE step_two would have failed)
    assert sorted(p.db.tables()) == ["big", "step_four", "step_two"]
    assert p.status()["0002"]["state"] == "applied"
    kinds = [e["event"] for e in p.events() if e["version"] == "0002"]
    assert kinds == ["started", "interrupted", "resumed", "applied"]


def test_per_migration_lock_timeout_overrides_environment(project):
    p = project
    holder = _orders_with_pending_alter(p, "30s", 0, 6.0, toml='lock_timeout = "200ms"\n')
    res = p.run("up", check=3)
    holder.join()
    # Under the environment's 30 s the ALTER would have waited out the 6 s holder and succeeded:
    # a lock timeout means migration.toml's 200 ms was in force.
    assert "lock timeout after 1 attempt(s)" in res.stderr
    assert p.status()["0002"]["sqlstate"] == "55P03"
