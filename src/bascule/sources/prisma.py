"""Prisma Migrate's layout: one folder per migration holding migration.sql.

    prisma/migrations/
      migration_lock.toml                 Prisma's provider lock; ignored
      20210101120000_init/
        migration.sql
      20210315093000_add_posts/
        migration.sql

The folder name is `<timestamp>_<name>`. Prisma migrations have no down script, and no
transaction setting ("auto"). The checksum covers migration.sql.
"""

from __future__ import annotations

from pathlib import Path

from bascule.migration import Migration, Script, checksum
from bascule.sources import read_text, version_folders


def detect(folder: Path) -> bool:
    return any((d / "migration.sql").is_file() for d in folder.iterdir() if d.is_dir())


def load(folder: Path) -> list[Migration]:
    out: list[Migration] = []
    for d, version, name in version_folders(folder, "migration.sql", "20210101120000_init",
                                            "`prisma migrate dev --create-only` creates a correctly named folder"):
        sql = d / "migration.sql"
        text = read_text(sql)
        out.append(Migration(
            version=version, name=name, up=Script(sql, text), down=None, checksum=checksum(text),
            layout="prisma", path=d,
        ))
    return out
