"""Linting in two processes (`--jobs 2`, the default on two cores for large inputs) must report
exactly what one process reports, including findings that depend on what earlier migrations taught
the analyzer, and must fall back to one process when the helper fails."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bascule.analyze import engine, inputs
from bascule.analyze.engine import LintOptions, lint_units

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the second process is forked")


def project(root: Path) -> Path:
    """40 migrations. The schema facts the last ones depend on are set up in the first ones, so
    with the split at 60% of the SQL they cross from the helper's share to the main process's."""
    mig = root / "migrations"
    mig.mkdir(parents=True)
    (root / "bascule.toml").write_text('[project]\nmigrations = "migrations"\n')

    def add(n: int, name: str, up: str, down: str | None = "SELECT 1;") -> None:
        d = mig / f"{n:04d}_{name}"
        d.mkdir()
        (d / "up.sql").write_text(up)
        if down is not None:
            (d / "down.sql").write_text(down)

    add(1, "accounts", "CREATE TABLE accounts (id bigint PRIMARY KEY, email text, plan text);\n"
                       "ALTER TABLE accounts ADD CONSTRAINT accounts_email_nn CHECK (email IS NOT NULL) NOT VALID;\n",
        "DROP TABLE accounts;")
    add(2, "validate", "ALTER TABLE accounts VALIDATE CONSTRAINT accounts_email_nn;\n")
    add(3, "flags", "CREATE TYPE flag AS ENUM ('a', 'b');\nCREATE TABLE notes (id bigint PRIMARY KEY, body text);\n",
        None)  # no down: B304
    add(4, "broken", "CREATE TABLE oops (id int;\n")  # syntax error: reported, nothing learned
    for n in range(5, 36):
        add(n, f"filler_{n}", f"CREATE TABLE f{n} (id bigint PRIMARY KEY, v text);\n"
                              f"ALTER TABLE accounts ADD COLUMN c{n} text;\n"
                              f"-- bascule:ignore B101 small table\nCREATE INDEX f{n}_v ON accounts (c{n});\n"
                              f"UPDATE notes SET body = 'x{n}';\n")
    # after the split: these findings depend on 0001-0003
    add(36, "not_null", "ALTER TABLE accounts ALTER COLUMN email SET NOT NULL;\n")  # proven by the CHECK: cheap
    add(37, "retype", "ALTER TABLE accounts ALTER COLUMN c5 TYPE text;\n")  # c5 is text since 0005: no-op
    add(38, "fk", "CREATE TABLE orders (id bigint PRIMARY KEY, account_id bigint);\n"
                  "ALTER TABLE orders ADD CONSTRAINT orders_account_fk FOREIGN KEY (account_id) "
                  "REFERENCES accounts (id);\n")
    add(39, "drop", "ALTER TABLE notes DROP COLUMN body;\n")
    add(40, "index", "CREATE INDEX accounts_plan ON accounts (plan);\n")
    return root


def lint(root: Path, jobs: int) -> tuple[list[dict], list[dict]]:
    units = inputs.collect([str(root / "migrations")])
    res = lint_units(units, LintOptions(jobs=jobs))
    return [f.to_dict() for f in res.findings], [m.to_dict() for m in res.migrations]


def test_two_processes_report_exactly_what_one_does(tmp_path):
    root = project(tmp_path)
    units = inputs.collect([str(root / "migrations")])
    split = engine._split_point(units)
    assert 4 < split < 36  # the set-up is in the helper's share, the dependent migrations are not
    one = lint(root, 1)
    forks = []
    real_fork = os.fork
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "fork", lambda: forks.append(1) or real_fork())
        two = lint(root, 2)
    assert forks == [1]  # it did run in two processes
    assert two == one
    findings, migrations = one
    at = {(Path(f["path"]).parent.name, f["code"]) for f in findings if not f["suppressed"]}
    # what the main process can only know by replaying the helper's share:
    assert ("0036_not_null", "B107") not in at  # SET NOT NULL proven by the validated CHECK from 0001/0002
    assert ("0040_index", "B101") in at  # accounts existed before: a blocking index build
    assert ("0038_fk", "B105") not in at  # orders is created in the same migration
    assert ("0037_retype", "B111") not in at  # knows c5's type from 0005 (unknown: "may rewrite")
    assert ("0004_broken", "B502") in at and ("0003_flags", "B304") in at
    assert sum(1 for f in findings if f["suppressed"]) == 31
    assert [m["migration"] for m in migrations][:3] == ["0001 accounts", "0002 validate", "0003 flags"]


def test_failed_helper_falls_back_to_one_process(tmp_path, monkeypatch, capsys):
    root = project(tmp_path)
    one = lint(root, 1)
    parent = os.getpid()
    real = engine._Pass.lint

    def failing_in_helper(self, unit):
        if os.getpid() != parent:
            raise RuntimeError("helper crashed")
        return real(self, unit)

    monkeypatch.setattr(engine._Pass, "lint", failing_in_helper)
    units = inputs.collect([str(root / "migrations")])
    assert engine._lint_forked(units, LintOptions(jobs=2)) is None
    assert "second process failed (RuntimeError: helper crashed); linting in one process" in capsys.readouterr().err
    assert lint(root, 2) == one


@pytest.mark.parametrize("what", ["fork", "pipe"])
def test_no_second_process_available_falls_back(tmp_path, monkeypatch, what):
    """A container's process limit (EAGAIN from fork) or no file descriptor left (EMFILE)."""
    root = project(tmp_path)
    one = lint(root, 1)

    def refuse(*a):
        raise OSError(11 if what == "fork" else 24, "Resource temporarily unavailable")

    monkeypatch.setattr(os, what, refuse)
    units = inputs.collect([str(root / "migrations")])
    assert engine._lint_forked(units, LintOptions(jobs=2)) is None
    assert lint(root, 2) == one


def test_helper_reaped_by_someone_else(tmp_path):
    """With SIGCHLD ignored (inherited from a supervisor, or set by a host) the kernel reaps the
    helper itself and waitpid fails: the result must still be used."""
    root = project(tmp_path)
    one = lint(root, 1)
    old = signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    try:
        units = inputs.collect([str(root / "migrations")])
        res = engine._lint_forked(units, LintOptions(jobs=2))
        assert res is not None and len(res) == len(units)
        assert lint(root, 2) == one
    finally:
        signal.signal(signal.SIGCHLD, old)


def test_failure_in_the_main_process_kills_and_reaps_the_helper(tmp_path, monkeypatch):
    root = project(tmp_path)
    forked = []
    real_fork = os.fork

    def fork():
        pid = real_fork()
        if pid:
            forked.append(pid)
        return pid

    def broken(self, unit):
        raise RuntimeError("main process bug")

    monkeypatch.setattr(os, "fork", fork)
    monkeypatch.setattr(engine._Pass, "learn_only", broken)
    units = inputs.collect([str(root / "migrations")])
    with pytest.raises(RuntimeError, match="main process bug"):
        engine._lint_forked(units, LintOptions(jobs=2))
    assert len(forked) == 1
    with pytest.raises(ChildProcessError):  # already reaped: no zombie left behind
        os.waitpid(forked[0], os.WNOHANG)
    # and with SIGCHLD ignored the helper may be gone before it is killed: still the main error
    old = signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    try:
        with pytest.raises(RuntimeError, match="main process bug"):
            engine._lint_forked(units, LintOptions(jobs=2))
    finally:
        signal.signal(signal.SIGCHLD, old)


def test_when_a_second_process_is_used(tmp_path):
    root = project(tmp_path)
    units = inputs.collect([str(root / "migrations")])
    assert engine._can_fork(units, LintOptions(jobs=2))  # asked for: whatever the size
    assert not engine._can_fork(units, LintOptions(jobs=1))
    assert not engine._can_fork(units, LintOptions(jobs=2, live=object()))  # a connection cannot be shared
    # by default only for large inputs: 40 small migrations are below the threshold
    assert sum(engine._weight(u) for u in units) < engine.PARALLEL_MIN_SIZE
    assert not engine._can_fork(units, LintOptions())
    big = units * 40
    assert engine._can_fork(big, LintOptions()) is (engine._usable_cpus() >= 2)
    for u in big:  # --since: only what is reported counts towards the threshold
        u.report = False
    assert not engine._can_fork(big, LintOptions())
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:  # forking a process with other threads running is unsafe
        assert not engine._can_fork(units, LintOptions(jobs=2))
    finally:
        stop.set()
        t.join()


def test_cli_jobs_option(tmp_path):
    root = project(tmp_path)
    outs = []
    for jobs in ("1", "2"):
        res = subprocess.run([sys.executable, "-m", "bascule.cli.main", "lint", "--format", "json", "-j", jobs],
                             cwd=root, capture_output=True, text=True, timeout=120)
        assert res.returncode == 1, res.stderr
        outs.append(json.loads(res.stdout))
    assert outs[0] == outs[1] and outs[0]["findings"]
    res = subprocess.run([sys.executable, "-m", "bascule.cli.main", "lint", "-j", "3"], cwd=root,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and "--jobs" in res.stderr
