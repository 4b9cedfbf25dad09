"""Lint options from bascule.toml's [lint] section and the command line, checked."""

from __future__ import annotations

from bascule.analyze.engine import LintOptions
from bascule.analyze.facts import NEWEST
from bascule.analyze.model import SEVERITIES
from bascule.errors import ConfigError

MIN_VERSION = 10  # rules know PostgreSQL 10/11 differences; `up` itself supports 12+
_KEYS = {"pg_version", "runner", "disable", "enable", "only", "severity"}


def _codes(values, where: str) -> frozenset:
    from bascule.analyze.rules import by_code

    known = by_code()
    if isinstance(values, str):
        values = [v for v in values.replace(" ", "").split(",") if v]
    if not isinstance(values, (list, tuple, set, frozenset)) or not all(isinstance(v, str) for v in values):
        raise ConfigError(f"{where} must be a list of rule codes or names")
    bad = [v for v in values if v not in known and v.lower() not in known]
    if bad:
        raise ConfigError(f"{where}: unknown rule(s) {', '.join(bad)}", hint="see `bascule lint --list-rules`")
    return frozenset((known.get(v) or known[v.lower()]).code for v in values)


def pg_version(value, where: str) -> int:
    try:
        v = int(str(value).split(".")[0])
    except ValueError:
        raise ConfigError(f"{where}: PostgreSQL major version expected, got {value!r}") from None
    if not MIN_VERSION <= v <= NEWEST:
        raise ConfigError(f"{where}: PostgreSQL {v} is not supported by the analyzer",
                          hint=f"choose {MIN_VERSION}..{NEWEST}")
    return v


def build(cfg_lint: dict | None, *, pg: str | None = None, runner: str | None = None, disable: str | None = None,
          only: str | None = None, enable: str | None = None, where: str = "bascule.toml [lint]") -> LintOptions:
    raw = dict(cfg_lint or {})
    bad = set(raw) - _KEYS
    if bad:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(bad))}", hint=f"allowed: {', '.join(sorted(_KEYS))}")
    opts = LintOptions()
    if pg is not None:
        opts.pg_version = pg_version(pg, "--pg-version")
    elif "pg_version" in raw:
        opts.pg_version = pg_version(raw["pg_version"], f"{where} pg_version")
    r = runner or raw.get("runner", "bascule")
    if r not in ("bascule", "other"):
        raise ConfigError(f"runner must be bascule or other, got {r!r}",
                          hint="other: the SQL is run by another tool (Flyway, Alembic, psql...) without bascule's "
                               "lock_timeout and resume")
    opts.runner = r
    opts.disabled = _codes(raw.get("disable", []), f"{where} disable")
    if disable:
        opts.disabled |= _codes(disable, "--disable")
    opts.enabled = _codes(raw.get("enable", []), f"{where} enable")
    if enable:
        opts.enabled |= _codes(enable, "--enable")
    if only:
        opts.enabled_only = _codes(only, "--only")
    elif "only" in raw:
        opts.enabled_only = _codes(raw["only"], f"{where} only")
    sev = raw.get("severity", {})
    if not isinstance(sev, dict):
        raise ConfigError(f"{where} severity must be a table: B403 = \"warning\"")
    for code, level in sev.items():
        if level not in SEVERITIES and level != "off":
            raise ConfigError(f"{where} severity.{code}: {level!r} is not one of {', '.join(SEVERITIES)}, off")
        (c,) = _codes([code], f"{where} severity")
        if level == "off":
            opts.disabled |= {c}
        else:
            opts.severity[c] = level
    return opts
