"""bascule's own layout: one folder per migration.

    migrations/
      20261121093000_create_users/
        up.sql            required
        down.sql          optional (without it the migration cannot be rolled back)
        migration.toml    optional: description, transaction, depends_on, lock_timeout,
                          statement_timeout

The folder name is `<version>_<name>`; the version is everything before the first `_`.
"""

from __future__ import annotations

import re
from pathlib import Path

from bascule.errors import SourceError
from bascule.migration import Migration
from bascule.sources import read_toml, up_down_scripts, version_folders

_META_KEYS = {"description", "transaction", "depends_on", "lock_timeout", "statement_timeout",
              "expect_rows", "expect_changes", "checks"}


def detect(folder: Path) -> bool:
    """Folders with up.sql, unless they look like diesel's (metadata.toml, diesel-named folders).
    A migration.toml, which only bascule uses, settles it."""
    from bascule.sources.diesel import is_diesel_name

    dirs = [d for d in folder.iterdir() if d.is_dir() and (d / "up.sql").is_file()]
    if any((d / "migration.toml").is_file() for d in dirs):
        return True
    return bool(dirs) and not any((d / "metadata.toml").exists() or is_diesel_name(d.name) for d in dirs)


def parse_metadata(path: Path) -> dict:
    meta = read_toml(path)
    unknown = set(meta) - _META_KEYS
    if unknown:
        raise SourceError(f"{path}: unknown key(s) {', '.join(sorted(unknown))}",
                          hint=f"allowed keys: {', '.join(sorted(_META_KEYS))}")
    tx = meta.get("transaction", "auto")
    if tx is True:
        tx = "always"
    elif tx is False:
        tx = "never"
    if tx not in ("auto", "always", "never"):
        raise SourceError(f"{path}: transaction must be \"auto\", \"always\" or \"never\", not {tx!r}")
    meta["transaction"] = tx
    deps = meta.get("depends_on", [])
    if isinstance(deps, str):
        deps = [deps]
    if not isinstance(deps, list) or not all(isinstance(d, str | int) for d in deps):
        raise SourceError(f"{path}: depends_on must be a list of versions")
    meta["depends_on"] = tuple(str(d) for d in deps)
    for key in ("lock_timeout", "statement_timeout"):
        if key in meta and not isinstance(meta[key], str | int):
            raise SourceError(f"{path}: {key} must be a duration like \"5s\"")
        if key in meta:
            meta[key] = str(meta[key])
    meta.update(parse_verify_metadata(path, meta))
    return meta


def parse_verify_metadata(path: Path, meta: dict) -> dict:
    """expect_rows = { users = "unchanged", audit = "+0..100" }; expect_changes = ["users.email"];
    [[checks]] name = "...", sql = "SELECT ...", message = "..."."""
    out: dict = {}
    rows = meta.get("expect_rows", {})
    if not isinstance(rows, dict):
        raise SourceError(f"{path}: expect_rows must be a table like {{ users = \"unchanged\" }}")
    for table, val in rows.items():
        ok = isinstance(val, str) and (val.strip().lower() in ("any", "unchanged")
                                        or re.fullmatch(r"\s*[+-]?\d+\s*(\.\.\s*[+-]?\d+\s*)?", val))
        if not ok:
            raise SourceError(f"{path}: expect_rows.{table} = {val!r} is not understood",
                              hint='use "unchanged", "any", "+N", "-N" or a range like "+0..100"')
    out["expect_rows"] = {str(k): str(v) for k, v in rows.items()}
    changes = meta.get("expect_changes", [])
    if not isinstance(changes, list) or not all(isinstance(c, str) and "." in c for c in changes):
        raise SourceError(f"{path}: expect_changes must be a list of \"table.column\"")
    out["expect_changes"] = tuple(changes)
    checks = meta.get("checks", [])
    if not isinstance(checks, list):
        raise SourceError(f"{path}: checks must be an array of tables ([[checks]])")
    parsed = []
    for i, c in enumerate(checks):
        if not isinstance(c, dict) or not isinstance(c.get("name"), str) or not isinstance(c.get("sql"), str):
            raise SourceError(f"{path}: checks[{i}] needs a name and an sql string")
        extra = set(c) - {"name", "sql", "message"}
        if extra:
            raise SourceError(f"{path}: checks[{i}] has unknown key(s) {', '.join(sorted(extra))}")
        parsed.append({"name": c["name"], "sql": c["sql"], "message": c.get("message", "")})
    out["checks"] = tuple(parsed)
    return out


def load(folder: Path) -> list[Migration]:
    out: list[Migration] = []
    for d, version, name in version_folders(folder, "up.sql", "20261121093000_add_users",
                                            "`bascule new NAME` creates a correctly named folder"):
        meta = parse_metadata(d / "migration.toml") if (d / "migration.toml").is_file() else {}
        up, up_sum, down, down_sum = up_down_scripts(d)
        out.append(Migration(
            version=version, name=name, up=up, down=down, checksum=up_sum,
            layout="native", path=d, transaction=meta.get("transaction", "auto"),
            description=meta.get("description", ""), depends_on=meta.get("depends_on", ()),
            lock_timeout=meta.get("lock_timeout"), statement_timeout=meta.get("statement_timeout"),
            down_checksum=down_sum, expect_rows=meta.get("expect_rows", {}),
            expect_changes=meta.get("expect_changes", ()), checks=meta.get("checks", ()),
        ))
    return out



def declare_non_transactional(up_path: Path) -> str:
    """Write transaction = "never" into the migration's migration.toml (created if missing)."""
    from bascule.sources import set_toml_key

    return set_toml_key(up_path.with_name("migration.toml"), "transaction", '"never"')
