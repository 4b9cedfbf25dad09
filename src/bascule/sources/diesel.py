"""Diesel's layout (diesel_migrations): one folder per migration.

    migrations/
      00000000000000_diesel_initial_setup/    created by `diesel setup`; a normal migration
      2017-09-23-182408_create_users/
        up.sql           required
        down.sql         optional
        metadata.toml    optional: `run_in_transaction = false`

The folder name is `<version>_<name>`; a diesel version never holds an underscore, so the
version is everything before the first `_` (`2017-09-23-182408`, `2026-06-02-122008-0000`,
`00000000000000`). The checksum covers up.sql.
"""

from __future__ import annotations

import re
from pathlib import Path

from bascule.errors import SourceError
from bascule.migration import Migration
from bascule.sources import read_toml, up_down_scripts, version_folders

_DATE_NAME = re.compile(r"^\d{4}-\d{2}-\d{2}-\d{6}(?:[-_]|$)")
INITIAL_SETUP = "00000000000000_diesel_initial_setup"


def is_diesel_name(name: str) -> bool:
    """Folder names only diesel produces: its date-shaped versions and its setup folder."""
    return name == INITIAL_SETUP or bool(_DATE_NAME.match(name))


def detect(folder: Path) -> bool:
    return any((d / "up.sql").is_file() and ((d / "metadata.toml").is_file() or is_diesel_name(d.name))
               for d in folder.iterdir() if d.is_dir())


def _transaction(path: Path) -> str:
    meta = read_toml(path)
    value = meta.get("run_in_transaction", True)
    if not isinstance(value, bool):
        raise SourceError(f"{path}: run_in_transaction must be true or false, not {value!r}")
    return "auto" if value else "never"


def load(folder: Path) -> list[Migration]:
    out: list[Migration] = []
    for d, version, name in version_folders(folder, "up.sql", "2017-09-23-182408_create_users",
                                            "`diesel migration generate NAME` creates a correctly named folder"):
        meta_path = d / "metadata.toml"
        transaction = _transaction(meta_path) if meta_path.is_file() else "auto"
        up, up_sum, down, down_sum = up_down_scripts(d)
        out.append(Migration(
            version=version, name=name, up=up, down=down, checksum=up_sum,
            layout="diesel", path=d, transaction=transaction, down_checksum=down_sum,
        ))
    return out


def declare_non_transactional(up_path: Path) -> str:
    """Write run_in_transaction = false into the migration's metadata.toml (created if missing)."""
    from bascule.sources import set_toml_key

    return set_toml_key(up_path.with_name("metadata.toml"), "run_in_transaction", "false")
