"""bascule.toml and environment variables.

    [project]
    migrations = "migrations"     # folder, relative to bascule.toml
    layout = "auto"               # native | diesel | golang-migrate | dbmate | flyway | prisma
    default_env = "dev"

    [defaults]                    # apply to every environment unless it overrides them
    lock_timeout = "2s"
    statement_timeout = "0"       # 0 = no limit
    lock_retries = 5
    lock_wait = "60s"             # how long `up` waits for another runner's advisory lock

    [environments.dev]
    embedded = true               # a private server under .bascule/ (the default for dev)
    # pg_version = "15"           # use installed initdb/pg_ctl of that major version

    [environments.staging]
    url = "${STAGING_DATABASE_URL}"
    lock_timeout = "5s"

Which database: `--url` > `--env NAME` > `DATABASE_URL` > `BASCULE_ENV` > default_env.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from bascule.errors import ConfigError

CONFIG_NAME = "bascule.toml"
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|min|m|h)?\s*$")
_ENV_KEYS = {"url", "embedded", "pg_version", "database", "lock_timeout", "statement_timeout", "verify",
             "lock_retries", "lock_wait", "description"}
_SETTING_KEYS = {"lock_timeout", "statement_timeout", "lock_retries", "lock_wait", "verify"}
_PROJECT_KEYS = {"migrations", "layout", "default_env"}


def parse_duration(value: str | int | float, what: str = "duration") -> float:
    """'2s', '500ms', '1min', '1h' or a bare number of milliseconds (PostgreSQL's convention) → seconds."""
    if isinstance(value, bool):
        raise ConfigError(f"{what}: expected a duration like \"2s\", got {value!r}")
    if isinstance(value, int | float):
        if value != value or value in (float("inf"), float("-inf")):  # TOML nan / inf
            raise ConfigError(f"{what}: {value!r} is not a duration", hint='write it like "500ms", "2s", "1min" or "1h"')
        return float(value) / 1000.0
    m = _DURATION.match(str(value))
    if not m:
        raise ConfigError(f"{what}: {value!r} is not a duration", hint='write it like "500ms", "2s", "1min" or "1h"')
    n, unit = float(m.group(1)), m.group(2) or "ms"
    return n * {"ms": 0.001, "s": 1, "min": 60, "m": 60, "h": 3600}[unit]


MAX_TIMEOUT_S = 2_147_483.647  # PostgreSQL's limit for lock_timeout/statement_timeout (INT_MAX ms)


def check_timeout(seconds: float, what: str, allow_zero: bool) -> float:
    """lock_timeout must be a real limit (0 would mean: wait forever in the lock queue, which is
    what bascule is there to prevent); statement_timeout may be 0 (no limit)."""
    if seconds == 0 and allow_zero:
        return seconds
    if seconds < 0.001:
        hint = ("0 turns the lock timeout off, so a migration could queue behind a long transaction and block "
                "all traffic on the table; use a small value like \"2s\" and lock_retries") if not allow_zero else None
        raise ConfigError(f"{what} must be at least 1ms", hint=hint)
    if seconds > MAX_TIMEOUT_S:
        raise ConfigError(f"{what} is larger than PostgreSQL allows (about 24.8 days)")
    return seconds


def pg_duration(seconds: float) -> str:
    """Seconds → a value PostgreSQL accepts for lock_timeout/statement_timeout."""
    return f"{int(round(seconds * 1000))}ms"


def expand_vars(text: str, where: str) -> str:
    def repl(m: re.Match) -> str:
        name, default = m.group(1), m.group(2)
        val = os.environ.get(name)
        if val is None or val == "":
            if default is not None:
                return default
            raise ConfigError(f"{where} uses ${{{name}}}, which is not set",
                              hint=f"export {name}=... or give a default: ${{{name}:-...}}")
        return val

    return _VAR.sub(repl, text)


@dataclass
class Settings:
    lock_timeout: float = 2.0
    statement_timeout: float = 0.0
    lock_retries: int = 5
    lock_wait: float = 60.0
    verify: bool = False  # `up` behaves as `up --verify` (override with --no-verify)

    def merged(self, raw: dict, where: str) -> Settings:
        s = Settings(**self.__dict__)
        for key in _SETTING_KEYS & set(raw):
            val = raw[key]
            if key == "verify":
                if not isinstance(val, bool):
                    raise ConfigError(f"{where}.verify must be true or false, got {val!r}")
                s.verify = val
            elif key == "lock_retries":
                if not isinstance(val, int) or isinstance(val, bool) or val < 0:
                    raise ConfigError(f"{where}.lock_retries must be a whole number ≥ 0, got {val!r}")
                s.lock_retries = val
            else:
                secs = parse_duration(val, f"{where}.{key}")
                if key in ("lock_timeout", "statement_timeout"):
                    check_timeout(secs, f"{where}.{key}", allow_zero=key == "statement_timeout")
                setattr(s, key, secs)
        return s


@dataclass
class Environment:
    name: str
    url: str | None = None  # raw, may still hold ${VAR}
    embedded: bool = False
    pg_version: str | None = None
    database: str = "dev"
    settings: Settings = field(default_factory=Settings)


@dataclass
class Config:
    root: Path
    path: Path | None
    migrations_dir: Path
    layout: str = "auto"
    default_env: str = "dev"
    environments: dict[str, Environment] = field(default_factory=dict)
    defaults: Settings = field(default_factory=Settings)
    lint: dict = field(default_factory=dict)  # [lint], checked by bascule.analyze.options

    @property
    def embedded_root(self) -> Path:
        return self.root / ".bascule" / "embedded"

    def environment(self, name: str) -> Environment:
        if name in self.environments:
            return self.environments[name]
        if name == "dev" and "dev" not in self.environments:
            return Environment(name="dev", embedded=True, settings=self.defaults)
        known = ", ".join(sorted(set(self.environments) | {"dev"}))
        raise ConfigError(f"unknown environment {name!r}",
                          hint=f"environments: {known} (dev is the embedded server unless {CONFIG_NAME} says otherwise)")


def find_config(start: Path | None = None) -> Path | None:
    here = (start or Path.cwd()).absolute()
    for d in [here, *here.parents]:
        p = d / CONFIG_NAME
        if p.is_file():
            return p
    return None


def load_config(path: Path | None = None, start: Path | None = None) -> Config:
    if path is None:
        path = find_config(start)
        if path is None:
            raise ConfigError(f"no {CONFIG_NAME} in {start or Path.cwd()} or any parent folder",
                              hint="run `bascule init` to create one")
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path} does not exist", hint="run `bascule init` to create one") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}", hint="see docs/configuration.md") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    return config_from_dict(data, path)


def _table(data: dict, key: str, where: str) -> dict:
    val = data.get(key, {})
    if not isinstance(val, dict):
        raise ConfigError(f"{where}: [{key}] must be a table")
    return val


def config_from_dict(data: dict, path: Path) -> Config:
    where = str(path)
    unknown = set(data) - {"project", "defaults", "environments", "lint"}
    if unknown:
        raise ConfigError(f"{where}: unknown section(s) {', '.join(sorted(unknown))}",
                          hint="sections are [project], [defaults], [environments.NAME] and [lint]")
    project = _table(data, "project", where)
    bad = set(project) - _PROJECT_KEYS
    if bad:
        raise ConfigError(f"{where}: project: unknown key(s) {', '.join(sorted(bad))}",
                          hint=f"allowed: {', '.join(sorted(_PROJECT_KEYS))}")
    raw_defaults = _table(data, "defaults", where)
    bad = set(raw_defaults) - _SETTING_KEYS
    if bad:
        raise ConfigError(f"{where}: defaults: unknown key(s) {', '.join(sorted(bad))}",
                          hint=f"allowed: {', '.join(sorted(_SETTING_KEYS))}")
    root = path.parent.absolute()
    migrations = project.get("migrations", "migrations")
    if not isinstance(migrations, str):
        raise ConfigError(f"{where}: project.migrations must be a folder path")
    layout = project.get("layout", "auto")
    from bascule.sources import LAYOUTS

    if layout != "auto" and layout not in LAYOUTS:
        raise ConfigError(f"{where}: unknown layout {layout!r}", hint=f"choose auto or one of {', '.join(LAYOUTS)}")
    defaults = Settings().merged(raw_defaults, f"{where}: defaults")
    envs: dict[str, Environment] = {}
    for name, raw in _table(data, "environments", where).items():
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: [environments.{name}] must be a table")
        bad = set(raw) - _ENV_KEYS
        if bad:
            raise ConfigError(f"{where}: environments.{name}: unknown key(s) {', '.join(sorted(bad))}",
                              hint=f"allowed: {', '.join(sorted(_ENV_KEYS))}")
        url = raw.get("url")
        embedded = bool(raw.get("embedded", url is None))
        if url is not None and not isinstance(url, str):
            raise ConfigError(f"{where}: environments.{name}.url must be a string")
        if url is not None and not url.strip():
            raise ConfigError(f"{where}: environments.{name}.url is empty",
                              hint="give a URL like postgresql://user@host:5432/db, or remove it to use the embedded server")
        if url is None and raw.get("embedded") is False:
            raise ConfigError(f"{where}: environments.{name} has embedded = false but no url",
                              hint="add url = \"postgresql://...\" (it may read ${VAR}), or set embedded = true")
        if url and embedded and raw.get("embedded") is True:
            raise ConfigError(f"{where}: environments.{name} has both url and embedded = true",
                              hint="an environment is either a URL or the embedded server")
        pgv = raw.get("pg_version")
        if pgv is not None and (isinstance(pgv, bool) or not str(pgv).strip().isdigit()):
            raise ConfigError(f"{where}: environments.{name}.pg_version must be a major version like 18, got {pgv!r}")
        db = raw.get("database", "dev")
        if not isinstance(db, str) or not db.strip():
            raise ConfigError(f"{where}: environments.{name}.database must be a non-empty name, got {db!r}")
        envs[name] = Environment(
            name=name, url=url, embedded=embedded, pg_version=str(pgv) if pgv is not None else None,
            database=str(raw.get("database", "dev")),
            settings=defaults.merged(raw, f"{where}: environments.{name}"),
        )
    default_env = project.get("default_env", "dev")
    cfg = Config(root=root, path=path, migrations_dir=(root / migrations), layout=layout,
                 default_env=default_env, environments=envs, defaults=defaults, lint=_table(data, "lint", where))
    if default_env not in envs and default_env != "dev":
        raise ConfigError(f"{where}: default_env {default_env!r} is not defined")
    return cfg


@dataclass
class ResolvedTarget:
    env_name: str | None
    url: str
    settings: Settings
    embedded: bool = False


def resolve_target(cfg: Config, env_name: str | None = None, url: str | None = None,
                   start_embedded: bool = True) -> ResolvedTarget:
    """Decide which database to use. Explicit flags beat environment variables, which beat the file."""
    if url:
        env = cfg.environment(env_name) if env_name else None
        return ResolvedTarget(env_name, url, env.settings if env else cfg.defaults)
    if not env_name and os.environ.get("DATABASE_URL"):
        return ResolvedTarget(None, os.environ["DATABASE_URL"], cfg.defaults)
    name = env_name or os.environ.get("BASCULE_ENV") or cfg.default_env
    env = cfg.environment(name)
    if env.embedded:
        from bascule.targets.embedded import EmbeddedServer

        server = EmbeddedServer(cfg.embedded_root if env.pg_version is None
                                else cfg.root / ".bascule" / f"embedded-{env.pg_version}",
                                version=env.pg_version, database=env.database)
        target_url = server.start() if start_embedded else server.url()
        return ResolvedTarget(name, target_url, env.settings, embedded=True)
    if env.url is None:  # pragma: no cover - rejected when the config is loaded
        raise ConfigError(f"environment {name!r} has no url")
    expanded = expand_vars(env.url, f"environments.{name}.url")
    if not expanded.strip():
        raise ConfigError(f"environments.{name}.url is empty after expanding variables",
                          hint="set the variable it reads to a database URL")
    return ResolvedTarget(name, expanded, env.settings)


DEFAULT_TOML = """# bascule configuration. Docs: docs/configuration.md
[project]
migrations = "migrations"
layout = "auto"          # native | diesel | golang-migrate | dbmate | flyway | prisma
default_env = "dev"

[defaults]
lock_timeout = "2s"      # never wait longer than this for a lock; retried with backoff
lock_retries = 5
statement_timeout = "0"  # 0 = no limit
lock_wait = "60s"        # how long `bascule up` waits while another runner holds the migration lock
verify = false           # true: every `bascule up` snapshots, applies and verifies (like --verify)

[environments.dev]
embedded = true          # private PostgreSQL under .bascule/, started on demand

# [environments.staging]
# url = "${STAGING_DATABASE_URL}"
# lock_timeout = "5s"
"""
