"""`bascule rehearse --command "alembic upgrade head"`: rehearse migrations written for another tool.

bascule cannot see inside Alembic, Prisma, Knex or a psql script, so it watches the server instead:

1. a throwaway embedded PostgreSQL is started with statement logging on, and the source database is
   copied onto it (`copy_database`, as for a native rehearsal) as `bascule_rehearsal_<timestamp>`;
2. the schema of the copy is fingerprinted;
3. the command runs through the shell, in the current directory, with its stdin closed and its
   environment pointing at the copy (every inherited PG* variable is removed first, and so are the
   connection variables of the tools named below, so that nothing can reach another database):

     DATABASE_URL            postgresql://postgres@/<db>?host=<socket dir>&port=<port>
     BASCULE_REHEARSAL_URL   the same URL
     PGHOST, PGPORT, PGDATABASE, PGUSER
                             for psql and every libpq-based tool: the Unix socket (trust
                             authentication on a socket only the current user can reach)
     PATH                    unchanged, with the embedded server's bin folder appended at the end, so
                             that `psql` is found when no other one is installed

   and, because the server also listens on 127.0.0.1 (tcp=True, the default; on a port free at
   start, with a random password for the postgres role: see targets/embedded.py), the same
   database over TCP for tools that cannot use a Unix socket (JDBC: Flyway, Liquibase; some ORMs):

     PGPASSWORD              the password (libpq ignores it on the socket, which asks for none)
     BASCULE_TCP_URL         postgresql://postgres:<password>@127.0.0.1:<port>/<db>
     JDBC_DATABASE_URL       jdbc:postgresql://127.0.0.1:<port>/<db>?user=postgres&password=<password>
     JDBC_DATABASE_USERNAME, JDBC_DATABASE_PASSWORD     (Heroku's names, read by Spring set-ups)
     FLYWAY_URL              jdbc:postgresql://127.0.0.1:<port>/<db>, with FLYWAY_USER, FLYWAY_PASSWORD
     LIQUIBASE_COMMAND_URL   the same, with LIQUIBASE_COMMAND_USERNAME, LIQUIBASE_COMMAND_PASSWORD

   DATABASE_URL stays on the socket: it is what psql, psycopg, SQLAlchemy and node-postgres read, and
   it needs no password. SQLAlchemy reads `postgresql://` as the psycopg2 dialect; an Alembic env.py
   using psycopg 3 replaces the scheme with `postgresql+psycopg://` (the query parameters `host` and
   `port` are understood by both drivers). The password is removed from the command's output before
   it goes into the report, and is never printed; the server's log sees only its SCRAM verifier.

4. the server log is read back: every statement the command's sessions ran in the rehearsal
   database, with its duration and the lock waits it went through;
5. the schema is fingerprinted again and the differences are what the command changed.

Log settings and parsing. The server writes its log with `log_destination = csvlog` (and
`logging_collector = on`, which csvlog needs): one CSV record per message, multi-line statements
quoted, and separate fields for the pid, database, application name, severity, message, detail and
query. Python's csv module reads that back exactly, which a text prefix (`log_line_prefix`) never
guarantees: a statement containing a newline followed by something that looks like a prefix would
be misread. csvlog exists on every supported PostgreSQL version (jsonlog only since 15).

With `log_statement = all` and `log_min_duration_statement = 0` both on, PostgreSQL (checked on 18)
does not repeat the text in the duration message of a statement it has already logged:

  simple protocol     "statement: <sql>"         then "duration: <ms> ms"
  extended protocol   "duration: <ms> ms  parse <name>: <sql>", "duration: <ms> ms  bind <name>: <sql>"
                      (log_statement does not cover parse and bind), then "execute <name>: <sql>"
                      then "duration: <ms> ms"

So statements are paired with their duration by backend pid: the `statement:`/`execute` record
opens the statement, the next bare `duration:` record of that pid closes it; parse and bind
durations are added to the statement they prepare, and so are the lock waits logged during them
(parse analysis and planning lock the relations: a DML statement sent with parameters waits there,
before its `execute` record). A `duration: ... statement: <sql>` record (the
combined form, written when log_statement did not log the statement) is a complete statement by
itself. Nothing is counted twice. An ERROR record closes the open statement of its pid with the
error message (its duration is then measured from the log timestamps). With `log_lock_waits = on`
and `deadlock_timeout = 100ms`, every wait longer than 100 ms is logged by the waiting backend
("process N still waiting for AccessExclusiveLock on relation 16384 of database 5 after 100.1 ms",
with the blocking pids in the detail, then "process N acquired ...") while its statement is open:
those records are attached to it, with the relation's name resolved on the copy.

bascule's own sessions on the copy use application_name 'bascule-rehearse' and are left out. Two
marker queries run by bascule just before and just after the command bound the part of the log
that belongs to it (the restore of the snapshot comes before) and prove the log has been written
out completely before it is read (the logging collector writes asynchronously).
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from bascule.errors import BasculeError
from bascule.rehearse.copy import RehearsalError, copy_database, rehearsal_version, scratch_dir, source_info
from bascule.targets.connect import connect, redact_url, scrub

APP_NAME = "bascule-rehearse"
LOG_NAME = "bascule"  # log_filename; csvlog writes <name>.csv in log_directory (relative to the data dir)
LOG_SETTINGS = {
    "logging_collector": "on",
    "log_destination": "csvlog",
    "log_directory": "log",
    "log_filename": f"{LOG_NAME}.log",
    "log_rotation_age": "0",
    "log_rotation_size": "0",
    "log_statement": "all",
    "log_min_duration_statement": "0",
    "log_lock_waits": "on",
    "deadlock_timeout": "100ms",
}
OUTPUT_LINES = 40
SQL_CHARS = 500
SLOWEST = 5

# csvlog columns (stable since PostgreSQL 13; older versions lack backend_type and later)
LOG_TIME, USER, DATABASE, PID = 0, 1, 2, 3
SEVERITY, MESSAGE, DETAIL, QUERY, APPLICATION, BACKEND_TYPE = 11, 13, 14, 19, 22, 23

_DURATION = re.compile(r"^duration: ([0-9.]+) ms(?:  (.*))?$", re.S)
_PREPARE = re.compile(r"^(?:parse|bind) [^:]*: ", re.S)
_EXECUTE = re.compile(r"^(?:statement|execute [^:]*|execute fetch from [^:]*): (.*)$", re.S)
_LOCK = re.compile(r"^process \d+ (?:still waiting for|acquired) .* on relation (\d+) of database \d+")
_LOCK_ANY = re.compile(r"^process \d+ (?:still waiting for|acquired) ")


# --------------------------------------------------------------------------- log parsing
def _ts(text: str) -> float | None:
    """Seconds since the epoch of a csvlog timestamp ("2026-01-02 03:04:05.678 UTC")."""
    try:
        stamp, _, zone = text.rpartition(" ")
        dt = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f")
        return dt.replace(tzinfo=UTC).timestamp() if zone in ("UTC", "GMT") else dt.timestamp()
    except ValueError:
        return None


def one_line(sql: str, limit: int = SQL_CHARS) -> str:
    text = " ".join(sql.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_log(records, database: str, marker: str | None = None, exclude_app: str = APP_NAME) -> list[dict]:
    """Statements from csvlog records (lists of fields, as csv.reader yields them).

    Keeps the client sessions connected to `database` whose application_name is not `exclude_app`;
    when `marker` is given, only the records after bascule's start marker (a record of an
    `exclude_app` session whose message contains "<marker>:start") and before its end marker.
    Each statement: {"sql" (full text), "ms", "pid", "at", "error", "lock_waits"}; ms is None for a
    statement whose session never finished it (the client was killed)."""
    started = marker is None
    open_by_pid: dict[str, dict] = {}
    prepare_ms: dict[str, float] = {}  # parse and bind durations, for the statement they prepare
    early_waits: dict[str, list] = {}  # lock waits during parse or bind (planning locks the relations)
    out: list[dict] = []

    def new(pid: str, sql: str, at: str, ms: float | None = None) -> dict:
        st = {"sql": sql, "ms": ms, "pid": int(pid), "at": at, "error": None,
              "lock_waits": early_waits.pop(pid, [])}
        out.append(st)
        return st

    def close(pid: str, ms: float | None) -> None:
        st = open_by_pid.pop(pid, None)
        if st is not None:
            st["ms"] = None if ms is None else round(ms + prepare_ms.pop(pid, 0.0), 3)

    for rec in records:
        if len(rec) <= APPLICATION:
            continue
        app, msg = rec[APPLICATION], rec[MESSAGE]
        if app == exclude_app:
            if marker is not None and marker in msg:
                if f"{marker}:start" in msg:
                    started = True
                elif f"{marker}:end" in msg:
                    break
            continue
        if not started or rec[DATABASE] != database:
            continue
        if len(rec) > BACKEND_TYPE and rec[BACKEND_TYPE] not in ("client backend", ""):
            continue  # autovacuum, walsender, parallel workers: not the command's statements
        pid, severity = rec[PID], rec[SEVERITY]
        if severity == "LOG":
            m = _DURATION.match(msg)
            if m:
                ms, rest = float(m.group(1)), m.group(2)
                if rest is None:
                    close(pid, ms)
                elif _PREPARE.match(rest):
                    prepare_ms[pid] = prepare_ms.get(pid, 0.0) + ms
                else:
                    e = _EXECUTE.match(rest)
                    if e:  # the combined form: a whole statement in one record
                        close(pid, None)
                        new(pid, e.group(1), rec[LOG_TIME], round(ms + prepare_ms.pop(pid, 0.0), 3))
                continue
            e = _EXECUTE.match(msg)
            if e:
                close(pid, None)  # a statement left open: its duration record never came
                open_by_pid[pid] = new(pid, e.group(1), rec[LOG_TIME])
                continue
            if _LOCK_ANY.match(msg):
                lm = _LOCK.match(msg)
                wait = {"message": msg, "detail": rec[DETAIL] or None,
                        "relation_oid": int(lm.group(1)) if lm else None}
                st = open_by_pid.get(pid)
                (st["lock_waits"] if st is not None else early_waits.setdefault(pid, [])).append(wait)
            continue
        if severity in ("ERROR", "FATAL", "PANIC"):
            st = open_by_pid.get(pid)
            if st is None and rec[QUERY]:  # failed before execution (parse or bind error)
                st = open_by_pid[pid] = new(pid, rec[QUERY], rec[LOG_TIME])
            if st is not None:
                st["error"] = msg
                t0, t1 = _ts(st["at"]), _ts(rec[LOG_TIME])
                close(pid, (t1 - t0) * 1000 if t0 is not None and t1 is not None else 0.0)
    return out


def read_log(path: Path, database: str, marker: str | None = None) -> list[dict]:
    with open(path, newline="", encoding="utf-8", errors="replace") as fh:
        return parse_log(csv.reader(fh), database, marker)


@lru_cache(maxsize=4096)
def statement_kinds(sql: str) -> tuple[str, ...] | None:
    """Parse-node kinds of the statements in `sql` (transaction control is "TransactionStmt"),
    None when it does not parse."""
    from bascule.analyze.facts import parse

    try:
        return tuple(tag for tag, _node in parse(sql)) or None
    except Exception:
        return None


def lint_recovered(sqls: list[str], server_version: int | None) -> dict:
    """Lint what the command ran, as one migration run by another tool (so the timeout and
    idempotency checks apply). Each finding names the statement (1-based, as in the report)."""
    import bisect
    from pathlib import Path

    from bascule.analyze.engine import LintOptions, LintUnit, lint_units
    from bascule.migration import Script

    starts, parts, line = [], [], 1
    for sql in sqls:
        text = sql.strip().rstrip(";")
        starts.append(line)
        parts.append(text + ";")
        line += text.count("\n") + 1
    version = max(10, min((server_version or 180000) // 10000, 18))
    unit = LintUnit("command", "<command>", Script(Path("<command>"), "\n".join(parts)))
    result = lint_units([unit], LintOptions(pg_version=version, runner="other"))
    findings = []
    for f in result.active:
        d = f.to_dict()
        d["statement"] = bisect.bisect_right(starts, f.line)
        for key in ("path", "line", "column", "end_line", "stmt_line", "migration"):
            d.pop(key, None)
        findings.append(d)
    return {"findings": findings, "counts": result.counts(),
            "classification": result.migrations[0].to_dict()["classification"] if result.migrations else []}


def _shape(raw: list[dict], relations: dict[int, str]) -> list[dict]:
    out = []
    for st in raw:
        kinds = statement_kinds(st["sql"])
        entry = {"sql": one_line(st["sql"]), "ms": st["ms"], "kind": kinds[0] if kinds else None,
                 "lock_waits": [w | {"relation": relations.get(w["relation_oid"])} for w in st["lock_waits"]],
                 "error": st["error"], "pid": st["pid"], "at": st["at"]}
        if kinds and len(kinds) > 1:
            entry["kinds"] = list(kinds)
        out.append(entry)
    return out


# --------------------------------------------------------------------------- the rehearsal
# Connection variables of other tools: removed from the inherited environment (a FLYWAY_URL of
# production must not be what `flyway migrate` reaches during a rehearsal), set again when the
# rehearsal server listens on TCP.
TOOL_VARIABLES = ("BASCULE_TCP_URL", "JDBC_DATABASE_URL", "JDBC_DATABASE_USERNAME", "JDBC_DATABASE_PASSWORD",
                  "FLYWAY_URL", "FLYWAY_USER", "FLYWAY_PASSWORD",
                  "LIQUIBASE_COMMAND_URL", "LIQUIBASE_COMMAND_USERNAME", "LIQUIBASE_COMMAND_PASSWORD")


def command_env(url: str, server, database: str) -> dict[str, str]:
    """The command's environment: the copy on the Unix socket (DATABASE_URL, PG*), and over TCP on
    127.0.0.1 when the server listens there (server.tcp): see the module doc."""
    from urllib.parse import quote

    from bascule.targets.embedded import LOOPBACK, SUPERUSER

    env = {k: v for k, v in os.environ.items() if not k.startswith("PG") and k not in TOOL_VARIABLES}
    env.update(DATABASE_URL=url, BASCULE_REHEARSAL_URL=url, PGHOST=str(server.socket_dir), PGPORT=str(server.port),
               PGDATABASE=database, PGUSER=SUPERUSER)
    if getattr(server, "tcp", False) and server.tcp_password:
        password = server.tcp_password
        jdbc = f"jdbc:postgresql://{LOOPBACK}:{server.port}/{quote(database, safe='')}"
        env.update(PGPASSWORD=password, BASCULE_TCP_URL=server.tcp_url(database),
                   JDBC_DATABASE_URL=f"{jdbc}?user={quote(SUPERUSER, safe='')}&password={quote(password, safe='')}",
                   JDBC_DATABASE_USERNAME=SUPERUSER, JDBC_DATABASE_PASSWORD=password,
                   FLYWAY_URL=jdbc, FLYWAY_USER=SUPERUSER, FLYWAY_PASSWORD=password,
                   LIQUIBASE_COMMAND_URL=jdbc, LIQUIBASE_COMMAND_USERNAME=SUPERUSER,
                   LIQUIBASE_COMMAND_PASSWORD=password)
    env["PATH"] = os.pathsep.join(p for p in (env.get("PATH"), str(server.bindir)) if p)
    return env


def run_command(command: str, env: dict, timeout: float) -> tuple[int, str, bool]:
    """(exit code, combined stdout and stderr, timed out). The command runs in its own process
    group so that a timeout (or Ctrl-C) ends it and everything it started."""
    proc = subprocess.Popen(command, shell=True, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    timed_out = False
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_group(proc)
        out, _ = proc.communicate()
    except BaseException:
        _kill_group(proc)
        proc.wait()
        raise
    return proc.returncode, out.decode("utf-8", errors="replace"), timed_out


def _kill_group(proc: subprocess.Popen) -> None:
    for sig, grace in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def _marker(url: str, text: str) -> None:
    """A statement whose text (not a parameter: those go to the record's detail) carries `text`."""
    from psycopg import sql

    with connect(url, application_name=APP_NAME) as c:
        c.execute(sql.SQL("SELECT {}").format(sql.Literal(text)))


def _wait_for_log(path: Path, token: str, seconds: float = 15) -> bool:
    """The logging collector writes asynchronously: wait until bascule's end marker is in the file."""
    deadline = time.monotonic() + seconds
    needle = token.encode()
    while True:
        try:
            with open(path, "rb") as fh:
                fh.seek(max(0, path.stat().st_size - 1_000_000))
                if needle in fh.read():
                    return True
        except OSError:
            pass
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def _relation_names(conn, oids: set[int]) -> dict[int, str]:
    if not oids:
        return {}
    rows = conn.execute("SELECT c.oid::int8, format('%%I.%%I', n.nspname, c.relname) FROM pg_class c "
                        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = ANY(%s::oid[])",
                        (sorted(oids),)).fetchall()
    return {int(o): name for o, name in rows}


def rehearse_command(source_url: str, command: str, snapshot: str = "dump", pg_version: str | None = None,
                     keep: bool = False, timeout: float = 3600, progress=print, tcp: bool = True, bar=None) -> dict:
    """Copy the source onto a throwaway server with statement logging, run `command` against the
    copy and report what it ran (statements, durations, lock waits) and what it changed in the
    schema. A command that fails is reported (exit code and the end of its output), not raised.
    With `tcp` (the default) the server also listens on 127.0.0.1 with a random password, for
    tools that cannot use a Unix socket; the password is never part of the report."""
    import psycopg

    from bascule.rehearse.fingerprint import diff, fingerprint
    from bascule.targets.embedded import LOOPBACK, EmbeddedServer

    if not command or not command.strip():
        raise BasculeError("no command to rehearse", hint='pass the command that applies the migrations, e.g. '
                                                          '--command "alembic upgrade head"')
    t0 = time.perf_counter()
    info = source_info(source_url)  # an unreachable source fails here, before anything is started
    notes: list[str] = []
    version, note = rehearsal_version(info["server_version"], pg_version)
    if note:
        notes.append(note)
    workdir = scratch_dir()
    dbname = "bascule_rehearsal_" + datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    token = "bascule-rehearse-" + uuid.uuid4().hex
    server = EmbeddedServer(workdir / "embedded", version=version, database="postgres", settings=LOG_SETTINGS,
                            tcp=tcp)
    log_path = server.data_dir / LOG_SETTINGS["log_directory"] / f"{LOG_NAME}.csv"
    report: dict = {"command": command, "exit_code": None, "output_tail": "", "statements": [], "total_ms": 0.0,
                    "slowest": [], "schema_changes": [], "snapshot": None, "server_version": None,
                    "source": redact_url(source_url), "source_server_version": info["server_version"],
                    "database": dbname, "notes": notes}
    try:
        progress(f"starting a throwaway PostgreSQL {version or '18'} with statement logging")
        server.start()
        url, admin_url = server.url(dbname), server.url("postgres")
        if tcp:
            report["tcp"] = {"host": LOOPBACK, "port": server.port}
            progress(f"also listening on 127.0.0.1:{server.port} for tools that connect over TCP "
                     f"(BASCULE_TCP_URL, JDBC_DATABASE_URL, FLYWAY_URL; password in PGPASSWORD)")
        snap = copy_database(snapshot, source_url, admin_url, url, dbname, server.bindir, workdir,
                             progress=progress, bar=bar)
        report["snapshot"] = snap.to_dict()
        progress(f"snapshot ready in {snap.seconds:.1f} s")
        try:
            with connect(url, application_name=APP_NAME) as c:
                report["server_version"] = c.info.server_version
                before = fingerprint(c)
            _marker(admin_url, f"{token}:start")
        except psycopg.Error as exc:
            raise RehearsalError(f"cannot read the schema of the rehearsal copy: {exc}".strip(),
                                 hint="this is a bascule problem: please report it, with the message") from None

        progress(f"running: {command}")
        c0 = time.perf_counter()
        code, output, timed_out = run_command(command, command_env(url, server, dbname), timeout)
        report["command_seconds"] = round(time.perf_counter() - c0, 3)
        if server.tcp_password:  # a command that prints its environment or its URL
            output = scrub(output, server.tcp_url(dbname))
        lines = output.rstrip("\n").splitlines()
        report["output_tail"] = "\n".join(lines[-OUTPUT_LINES:])
        if timed_out:
            report["exit_code"] = 124
            report["timed_out"] = True
            notes.append(f"the command did not finish within {timeout:g} s and was stopped")
        else:
            report["exit_code"] = code
            if code == 127:
                notes.append("the shell could not find the command (exit 127): see its output")
            elif code != 0:
                notes.append(f"the command failed with exit code {code}: see its output")
        progress(f"command exited with {report['exit_code']}")

        _marker(admin_url, f"{token}:end")
        if not log_path.exists():
            raise RehearsalError(f"the rehearsal server wrote no statement log ({log_path})",
                                 hint="this is a bascule problem: please report it; see " + str(server.log_file))
        if not _wait_for_log(log_path, f"{token}:end"):
            notes.append("the end of the command did not reach the server log within 15 s: "
                         "the last statements may be missing")
        raw = read_log(log_path, dbname, token)
        if server.tcp_password:
            for st in raw:
                st["sql"] = scrub(st["sql"], server.tcp_url(dbname))
                st["error"] = st["error"] and scrub(st["error"], server.tcp_url(dbname))
        after = None
        relations: dict[int, str] = {}
        try:
            with connect(url, application_name=APP_NAME) as c:
                after = fingerprint(c)
                relations = _relation_names(c, {w["relation_oid"] for st in raw for w in st["lock_waits"]
                                                if w["relation_oid"]})
        except BasculeError:  # the command dropped or renamed the database
            notes.append(f"the rehearsal database {dbname} is gone after the command: no schema comparison")
        except psycopg.Error as exc:
            raise RehearsalError(f"cannot read the rehearsal copy after the command: {exc}".strip(),
                                 hint="this is a bascule problem: please report it, with the message") from None

        statements = _shape(raw, relations)
        report["statements"] = statements
        report["lint"] = lint_recovered([st["sql"] for st in raw], report.get("server_version"))
        report["total_ms"] = round(sum(s["ms"] for s in statements if s["ms"] is not None), 3)
        report["slowest"] = sorted((s for s in statements if s["ms"] is not None), key=lambda s: -s["ms"])[:SLOWEST]
        if after is not None:
            report["schema_changes"] = schema_changes(before, after, diff)
        else:
            report["schema_changes"] = None
        if keep:
            report["kept"] = {"url": url, "data_dir": str(server.data_dir), "log": str(log_path),
                              "stop": f"{server.bindir / 'pg_ctl'} -D {server.data_dir} stop"}
            notes.append(f"kept the rehearsal server and database {dbname}: {url}" +
                         (f" (its TCP listener on 127.0.0.1:{server.port} needs a password that was not kept; "
                          "use the socket URL)" if tcp else ""))
        return report
    finally:
        report["duration_s"] = round(time.perf_counter() - t0, 3)
        if not keep:
            try:
                server.destroy()
            finally:
                shutil.rmtree(workdir, ignore_errors=True)


def schema_changes(before: dict, after: dict, diff) -> list[str]:
    """What the command changed, worded as changes (diff() words differences for a down). A table
    the command created is followed by its indexes, constraints and triggers, which diff() leaves
    inside the table."""
    out = []
    for d in diff(before, after):
        if d.kind == "extra":
            out.append(f"{d.subject} created" + (f": {d.detail}" if d.detail else ""))
            rel = after.get("relations", {}).get(d.name) if d.parent is None else None
            for section, what in (("indexes", "index"), ("constraints", "constraint"), ("triggers", "trigger")):
                for name, obj in sorted(((rel or {}).get(section) or {}).items()):
                    definition = obj.get("definition") if isinstance(obj, dict) else None
                    out.append(f"{what} {name} on {d.name} created" + (f": {definition}" if definition else ""))
        elif d.kind == "missing":
            out.append(f"{d.subject} dropped")
        else:
            out.append(d.message)
    return out


__all__ = ["LOG_SETTINGS", "TOOL_VARIABLES", "command_env", "parse_log", "read_log", "rehearse_command", "run_command",
           "schema_changes", "statement_kinds"]
