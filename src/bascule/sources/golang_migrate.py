"""golang-migrate's layout: two files per migration in one flat folder.

    migrations/
      1_create_users.up.sql
      1_create_users.down.sql        optional
      20140924113530_add_email.up.sql

The version is the leading integer (a sequence number or a compact timestamp); an up file
is required, a down file without its up file is an error. The checksum covers the up file.
golang-migrate has no per-migration transaction setting, so every migration is "auto".
"""

from __future__ import annotations

import re
from pathlib import Path

from bascule.errors import SourceError
from bascule.migration import Migration, Script, checksum
from bascule.sources import read_text
from bascule.versions import version_key

_FILE = re.compile(r"^(\d+)_(.*)\.(up|down)\.sql$")


def detect(folder: Path) -> bool:
    return any(p.is_file() and _FILE.match(p.name) for p in folder.iterdir())


def load(folder: Path) -> list[Migration]:
    ups: list[tuple[str, str, Path]] = []
    downs: dict[tuple[int, ...], Path] = {}
    for p in sorted(folder.iterdir()):
        m = _FILE.match(p.name)
        if not m or not p.is_file():
            continue
        version, name, direction = m.groups()
        if direction == "up":
            ups.append((version, name, p))
            continue
        key = version_key(version)
        if key in downs:
            raise SourceError(f"duplicate down migration for version {version}: {downs[key]} and {p}",
                              hint="keep one .down.sql file per version")
        downs[key] = p
    out: list[Migration] = []
    for version, name, up in ups:
        up_text = read_text(up)
        down_path = downs.pop(version_key(version), None)
        down = None
        down_sum = None
        if down_path is not None:
            down_text = read_text(down_path)
            down = Script(down_path, down_text)
            down_sum = checksum(down_text)
        out.append(Migration(
            version=version, name=name, up=Script(up, up_text), down=down, checksum=checksum(up_text),
            layout="golang-migrate", path=up, down_checksum=down_sum,
        ))
    if downs:
        orphan = sorted(downs.values())[0]
        raise SourceError(f"{orphan}: down migration without an up migration",
                          hint=f"add {orphan.name.replace('.down.sql', '.up.sql')} or remove the file")
    return out
