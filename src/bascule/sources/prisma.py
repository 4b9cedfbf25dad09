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

from bascule.errors import SourceError
from bascule.migration import Migration, Script, checksum
from bascule.sources import read_text
from bascule.versions import version_key


def detect(folder: Path) -> bool:
    return any((d / "migration.sql").is_file() for d in folder.iterdir() if d.is_dir())


def load(folder: Path) -> list[Migration]:
    out: list[Migration] = []
    for d in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        sql = d / "migration.sql"
        if not sql.is_file():
            continue
        version, _, name = d.name.partition("_")
        try:
            version_key(version)
        except ValueError:
            raise SourceError(f"{d}: folder name must start with a timestamp, like 20210101120000_init",
                              hint="`prisma migrate dev --create-only` creates a correctly named folder") from None
        text = read_text(sql)
        out.append(Migration(
            version=version, name=name, up=Script(sql, text), down=None, checksum=checksum(text),
            layout="prisma", path=d,
        ))
    return out
