"""Copy the database a rehearsal is for onto the rehearsal server.

* clone:  CREATE DATABASE ... TEMPLATE source, when both live in the same cluster (fast: a file
          copy; needs no other session connected to the source);
* dump:   pg_dump -Fc to a file, pg_restore --jobs 2 into the rehearsal database;
* schema: the same with --schema-only (the migrations' history rows come along: bascule.* data
          is always copied so the rehearsal knows what is pending);
* synthetic: schema as above, then rows generated to the source's row counts × scale from its
          statistics (rehearse/synthetic.py): production-sized, with no production data in it.

pg_dump/pg_restore come from the rehearsal server's binaries (PostgreSQL 18 by default), which
can dump any older server. Before copying, the source size is checked against free disk.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bascule.errors import BasculeError
from bascule.targets.connect import connect, redact_url, scrub

KINDS = ("clone", "dump", "schema", "synthetic")


class RehearsalError(BasculeError):
    exit_code = 3


@dataclass
class CopyResult:
    kind: str
    source_bytes: int
    seconds: float
    database: str
    scale: float | None = None
    generated: dict | None = None  # synthetic: per table rows requested/generated, rows/s, skipped
    stats: str | None = None  # synthetic: what of the source's statistics was used (shape, basic, none)

    def to_dict(self) -> dict:
        return self.__dict__.copy()


def source_info(url: str) -> dict:
    with connect(url, application_name="bascule-rehearse") as c:
        row = c.execute("SELECT current_database(), pg_database_size(current_database()), "
                        "current_setting('server_version_num')::int, "
                        "(SELECT array_agg(extname ORDER BY extname) FROM pg_extension), "
                        "to_regnamespace('bascule') IS NOT NULL, "
                        # tables whose data pg_dump copies (for its progress bar)
                        "(SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                        " WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
                        " AND n.nspname NOT LIKE 'pg\\_toast%%' AND NOT EXISTS (SELECT 1 FROM pg_depend d "
                        " WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'))"
                        ).fetchone()
    return {"database": row[0], "bytes": row[1], "server_version": row[2], "extensions": row[3] or [],
            "has_history": row[4], "tables": row[5]}


def rehearsal_version(source_server_version: int, pg_version: str | None) -> tuple[str | None, str | None]:
    """Which PostgreSQL the throwaway rehearsal server runs: the asked version, else the source's
    major version when its binaries are installed, else the bundled 18 (with a note saying so)."""
    from bascule.targets.embedded import find_bindir

    major = str(source_server_version // 10000)
    if pg_version is not None:
        if pg_version.isdigit() and int(pg_version) < int(major):
            raise RehearsalError(f"--pg-version {pg_version} is older than the source (PostgreSQL {major}): its "
                                 "pg_dump cannot read the source, and a dump cannot be restored there",
                                 hint=f"rehearse on PostgreSQL {major} or newer (the default is the source's version)")
        return pg_version, None
    if major == "18":
        return None, None
    try:
        find_bindir(major)
        return major, None
    except BasculeError:
        return None, (f"no PostgreSQL {major} binaries here: rehearsing a {major} database on PostgreSQL 18; "
                      "timings and locks may differ")


def check_disk(need_bytes: int, where: Path, what: str) -> None:
    free = shutil.disk_usage(where).free
    if need_bytes * 1.2 > free:
        def size(n: float) -> str:
            return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"

        raise RehearsalError(
            f"not enough disk for the {what}: needs about {size(need_bytes * 1.2)}, {size(free)} free in {where}",
            hint="free some space, use --snapshot schema, or rehearse --on a server with room")


def check_extensions(source_exts: list[str], rehearsal_url: str) -> None:
    """Every extension the source uses must be installable on the rehearsal server."""
    with connect(rehearsal_url, application_name="bascule-rehearse") as c:
        available = {r[0] for r in c.execute("SELECT name FROM pg_available_extensions").fetchall()}
    missing = [e for e in source_exts if e not in available]
    if missing:
        raise RehearsalError(
            f"the rehearsal server lacks extension(s) the source uses: {', '.join(missing)}",
            hint="install them on the rehearsal server (e.g. the postgresql-NN-" + missing[0].replace("_", "-")
                 + " package, or the contrib package), or rehearse --on a server that has them")


def without_password(url: str) -> tuple[str, str | None]:
    """(conninfo without its password, the password): the password then travels in PGPASSWORD,
    never on a command line that `ps` shows to every local user."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    try:
        params = conninfo_to_dict(url)
    except Exception:
        return url, None
    pw = params.pop("password", None)
    return make_conninfo("", **params), pw


def tool_env(url: str) -> tuple[str, dict]:
    """The conninfo to give pg_dump/pg_restore and their environment: the user's PG* variables
    (PGPASSFILE, PGSSLMODE, PGPASSWORD, ...) are kept; a password in the URL moves to PGPASSWORD."""
    conninfo, pw = without_password(url)
    env = dict(os.environ)
    if pw is not None:
        env["PGPASSWORD"] = pw
    return conninfo, env


def _run(args: list[str], what: str, url_for_scrub: str, env: dict | None = None) -> None:
    res = subprocess.run([*args[:1], "--no-password", *args[1:]], capture_output=True, text=True, env=env,
                         stdin=subprocess.DEVNULL)
    if res.returncode != 0:
        err = scrub(res.stderr.strip(), url_for_scrub)
        raise RehearsalError(f"{what} failed: {err.splitlines()[-1] if err else 'exit ' + str(res.returncode)}",
                             hint=err[-800:] if err else None)


_DUMPED = re.compile(r"dumping contents of table ")
_RESTORED = re.compile(r"(?:processing|finished) item (\d+) ")


def _run_counted(args: list[str], what: str, url_for_scrub: str, env: dict | None, total: int, pattern,
                 bar, unit: str, items: set[str] | None = None) -> None:
    """Run a pg_dump/pg_restore with --verbose and feed `bar(what, done, total, unit)` from its
    messages: a line matching `pattern` is one more table (pg_dump) or TOC item (pg_restore; only
    items of `items`, each counted once). Only its error lines end up in an error."""
    import collections

    proc = subprocess.Popen([*args[:1], "--no-password", "--verbose", *args[1:]], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env=env, stdin=subprocess.DEVNULL)
    done, seen = 0, set()
    errors: collections.deque[str] = collections.deque(maxlen=40)
    bar(what, 0, total, unit)
    for line in proc.stderr:
        m = pattern.search(line)
        if m is not None:
            key = m.group(1) if m.groups() else None
            if items is None or (key in items and key not in seen):
                seen.add(key)
                done += 1
                bar(what, min(done, total), total, unit)
        elif "error" in line or "FATAL" in line or "warning" in line:
            errors.append(line.rstrip())
    rc = proc.wait()
    bar(what, total if rc == 0 else done, total, unit, finished=True)
    if rc != 0:
        err = scrub("\n".join(errors), url_for_scrub)
        raise RehearsalError(f"{what} failed: {err.splitlines()[-1] if err else 'exit ' + str(rc)}",
                             hint=err[-800:] if err else None)


def _toc_items(bindir: Path, dump_file: Path) -> set[str]:
    res = subprocess.run([str(bindir / "pg_restore"), "--list", str(dump_file)], capture_output=True, text=True,
                         stdin=subprocess.DEVNULL)
    return {line.split(";", 1)[0].strip() for line in res.stdout.splitlines() if line and not line.startswith(";")}


def copy_database(kind: str, source_url: str, rehearsal_admin_url: str, rehearsal_url: str, database: str,
                  bindir: Path, workdir: Path, progress=print, scale: float = 1.0,
                  synthetic_stats: str = "shape", bar=None) -> CopyResult:
    """Create `database` on the rehearsal server from the source. rehearsal_admin_url points at a
    maintenance database on the rehearsal server (to run CREATE DATABASE)."""
    from psycopg import sql

    if kind not in KINDS:
        raise RehearsalError(f"unknown snapshot kind {kind!r}", hint=f"choose one of {', '.join(KINDS)}")
    info = source_info(source_url)
    t0 = time.perf_counter()
    with connect(rehearsal_admin_url, application_name="bascule-rehearse") as admin:
        if kind == "clone":
            _same_cluster(source_url, admin, info["database"])
            progress(f"cloning {info['database']} ({info['bytes'] / 2**20:.0f} MiB) with CREATE DATABASE ... TEMPLATE")
            try:
                admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(database), sql.Identifier(info["database"])))
            except Exception as exc:
                raise RehearsalError(f"clone failed: {str(exc).strip().splitlines()[0]}",
                                     hint="clone needs the source on the rehearsal server and no other session "
                                          "connected to it; use --snapshot dump otherwise") from None
            return CopyResult(kind, info["bytes"], time.perf_counter() - t0, database)
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    check_extensions(info["extensions"], rehearsal_url)
    # the dump holds the source's data: a private folder, since the work folder is made traversable
    # for the unprivileged postgres user when running as root
    private = workdir / "dumps"
    private.mkdir(mode=0o700, exist_ok=True)
    private.chmod(0o700)
    dump_file = private / "source.dump"
    src_conninfo, env = tool_env(source_url)
    dst_conninfo, dst_env = tool_env(rehearsal_url)
    progress(f"pg_dump of {redact_url(source_url)} ({info['bytes'] / 2**20:.0f} MiB on disk, {kind})")
    args = [str(bindir / "pg_dump"), "--format=custom", "--no-owner", "--no-privileges", f"--file={dump_file}",
            src_conninfo]
    if kind in ("schema", "synthetic"):
        args.insert(1, "--schema-only")
    if bar is not None and kind == "dump":
        _run_counted(args, "pg_dump", source_url, env, max(info.get("tables") or 0, 1), _DUMPED, bar, "tables")
    else:
        _run(args, "pg_dump", source_url, env)
    if kind in ("schema", "synthetic") and info["has_history"]:
        # the history must come along, or every migration would look pending
        _run([str(bindir / "pg_dump"), "--format=custom", "--data-only", "--schema=bascule",
              f"--file={private / 'history.dump'}", src_conninfo], "pg_dump of bascule's history", source_url, env)
    progress(f"pg_restore ({dump_file.stat().st_size / 2**20:.0f} MiB dump) into the rehearsal database")
    restore = [str(bindir / "pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", "--jobs=2",
               f"--dbname={dst_conninfo}", str(dump_file)]
    if bar is not None:
        items = _toc_items(bindir, dump_file)
        _run_counted(restore, "pg_restore", rehearsal_url, dst_env, max(len(items), 1), _RESTORED, bar, "items",
                     items)
    else:
        _run(restore, "pg_restore", rehearsal_url, dst_env)
    if kind in ("schema", "synthetic") and (private / "history.dump").exists():
        _run([str(bindir / "pg_restore"), "--data-only", "--exit-on-error",
              f"--dbname={dst_conninfo}", str(private / "history.dump")], "pg_restore of history", rehearsal_url,
             dst_env)
    if kind == "schema":
        copy_sequence_positions(source_url, rehearsal_url)
    if kind != "synthetic":
        return CopyResult(kind, info["bytes"], time.perf_counter() - t0, database)
    from bascule.rehearse.synthetic import generate

    check_disk(int(info["bytes"] * scale), workdir, "synthetic data")
    progress(f"generating synthetic rows (scale {scale:g}) from the source's statistics ({synthetic_stats})")
    with connect(source_url, application_name="bascule-rehearse") as src, \
            connect(rehearsal_url, application_name="bascule-rehearse") as dst:
        generated = generate(src, dst, scale=scale, progress=progress, stats=synthetic_stats)
        dst.execute("ANALYZE")
    copy_sequence_positions(source_url, rehearsal_url)
    return CopyResult(kind, info["bytes"], time.perf_counter() - t0, database, scale, generated, synthetic_stats)


# the catalog only: the pg_sequences view would take ROW EXCLUSIVE on every sequence of the source
# (has_sequence_privilege in the select list: in WHERE the planner may call it on pg_class rows
# that are not sequences, and it raises an error there)
_SEQUENCES = ("SELECT format('%I.%I', n.nspname, c.relname), s.seqincrement, has_sequence_privilege(c.oid, 'SELECT') "
              "FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
              "WHERE n.nspname <> 'bascule'")


def _positions(conn) -> tuple[dict[str, tuple[int, int]], set[str]]:
    """name → (last value handed out, increment) for every readable sequence that was used, and
    the names of all the database's sequences (read or not, used or not)."""
    out = {}
    names = set()
    for name, step, readable in conn.execute(_SEQUENCES).fetchall():
        names.add(name)
        if not readable:
            continue
        last, called = conn.execute(f"SELECT last_value, is_called FROM {name}").fetchone()
        if called:
            out[name] = (last, step)
    return out, names


def copy_sequence_positions(source_url: str, rehearsal_url: str) -> int:
    """A schema-only copy starts every sequence again at its START: set each to the source's
    position (or where the copy already is, if further: synthetic keys), so that a migration that
    would exhaust a sequence in production also fails in the rehearsal. Returns how many were set."""
    with connect(source_url, application_name="bascule-rehearse") as src:
        positions, _ = _positions(src)
    if not positions:
        return 0
    with connect(rehearsal_url, application_name="bascule-rehearse") as dst:
        here, present = _positions(dst)
        with dst.transaction():
            for name, (value, step) in positions.items():
                if name not in present:  # not in the copy (a schema filter, or a failed restore)
                    continue
                mine = here.get(name, (None, step))[0]
                best = value if mine is None else (max(value, mine) if step > 0 else min(value, mine))
                dst.execute("SELECT setval(%s::regclass, %s, true)", (name, best))
    return len(positions)


def copy_roles(source_url: str, rehearsal_admin_url: str, bindir: Path) -> int:
    """Create the source's roles (no passwords) on a throwaway rehearsal server, so that a
    migration's GRANT ... TO reader or SET ROLE works there. Returns the number of roles."""
    src_conninfo, env = tool_env(source_url)
    res = subprocess.run([str(bindir / "pg_dumpall"), "--no-password", "--roles-only", "--no-role-passwords",
                          f"--dbname={src_conninfo}"], capture_output=True, text=True, env=env,
                         stdin=subprocess.DEVNULL)
    if res.returncode != 0:
        return 0
    dst_conninfo, dst_env = tool_env(rehearsal_admin_url)
    # without ON_ERROR_STOP: the bootstrap superuser already exists on both sides
    subprocess.run([str(bindir / "psql"), "--no-password", "-X", "-q", f"--dbname={dst_conninfo}"],
                   input=res.stdout, capture_output=True, text=True, env=dst_env)
    return res.stdout.count("CREATE ROLE ")


def _same_cluster(source_url: str, admin, dbname: str) -> None:
    """A clone copies the database of that name on the --on server: make sure it is the source's
    cluster, not another server that happens to hold a database with the same name."""
    q = ("SELECT (SELECT system_identifier FROM pg_control_system()), "
         "(SELECT oid FROM pg_database WHERE datname = %s)")
    try:
        with connect(source_url, application_name="bascule-rehearse") as src:
            a = src.execute(q, (dbname,)).fetchone()
        b = admin.execute(q, (dbname,)).fetchone()
    except Exception:  # pg_control_system() needs pg_monitor or superuser: fall back to the oid
        with connect(source_url, application_name="bascule-rehearse") as src:
            a = (None, src.execute("SELECT oid FROM pg_database WHERE datname = %s", (dbname,)).fetchone()[0])
        row = admin.execute("SELECT oid FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
        b = (None, row[0] if row else None)
    if a != b:
        raise RehearsalError("--snapshot clone: the --on server is not the one that holds the source database",
                             hint="clone works only inside the source's own cluster; use --snapshot dump")


def scratch_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="bascule-rehearse-"))


__all__ = ["KINDS", "CopyResult", "RehearsalError", "copy_database", "scratch_dir", "source_info"]
