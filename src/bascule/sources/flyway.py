"""Flyway's SQL layout: files named by prefix, found anywhere under the folder.

    sql/
      V1__create_users.sql                versioned
      V1_1__add_email.sql                 version 1.1 (`_` and `.` both separate parts)
      U1_1__add_email.sql                 undo of 1.1: becomes that migration's down
      V2__backfill.sql
      V2__backfill.sql.conf               script config: executeInTransaction=false
      R__refresh_views.sql                repeatable: re-applied when its checksum changes
      reports/V3__report_tables.sql       subfolders are scanned too

Prefixes are upper case only (V, U, R), as in Flyway; other files are ignored. Versions are
stored dotted (`1_1` is `1.1`). The migration name is the description as written; the
description field has underscores turned into spaces. The checksum covers the V (or R) file.
"""

from __future__ import annotations

import re
from pathlib import Path

from bascule.errors import SourceError
from bascule.migration import Migration, Script, checksum
from bascule.sources import read_text
from bascule.versions import version_key

_FILE = re.compile(r"^([VUR])(.*?)__(.*)\.sql$")
_VERSION = re.compile(r"^\d+(?:[._]\d+)*$")
_DETECT = re.compile(r"^(?:V\d+(?:[._]\d+)*|R)__.*\.sql$")


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.sql")
                  if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def detect(folder: Path) -> bool:
    return any(_DETECT.match(p.name) for p in _files(folder))


def _script_config(sql_path: Path) -> str:
    """Transaction mode from Flyway's script config file `<script>.conf`, if there is one."""
    conf = sql_path.with_name(sql_path.name + ".conf")
    if not conf.is_file():
        return "auto"
    tx = "auto"
    for lineno, raw in enumerate(read_text(conf).split("\n"), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise SourceError(f"{conf}:{lineno}: expected key=value", hint="for example executeInTransaction=false")
        if key.strip() == "executeInTransaction":
            value = value.strip().lower()
            if value not in ("true", "false"):
                raise SourceError(f"{conf}:{lineno}: executeInTransaction must be true or false, not {value!r}")
            tx = "never" if value == "false" else "auto"
    return tx


def load(folder: Path) -> list[Migration]:
    versioned: list[Migration] = []
    repeatable: list[Migration] = []
    undos: dict[tuple[int, ...], tuple[str, Path]] = {}
    for p in _files(folder):
        m = _FILE.match(p.name)
        if not m:
            continue
        prefix, raw_version, desc = m.groups()
        if prefix == "R":
            if raw_version:
                raise SourceError(f"{p}: a repeatable migration has no version",
                                  hint="name it R__<description>.sql")
            text = read_text(p)
            repeatable.append(Migration(
                version="", name=desc, up=Script(p, text), down=None, checksum=checksum(text),
                layout="flyway", path=p, transaction=_script_config(p),
                description=desc.replace("_", " "), repeatable=True,
            ))
            continue
        if not _VERSION.match(raw_version):
            raise SourceError(f"{p}: invalid version {raw_version!r}",
                              hint="versions are numbers separated by `.` or `_`, like V1_2__add_email.sql")
        version = raw_version.replace("_", ".")
        if prefix == "U":
            key = version_key(version)
            if key in undos:
                raise SourceError(f"duplicate undo migration for version {version}: {undos[key][1]} and {p}",
                                  hint="keep one U file per version")
            undos[key] = (version, p)
            continue
        text = read_text(p)
        versioned.append(Migration(
            version=version, name=desc, up=Script(p, text), down=None, checksum=checksum(text),
            layout="flyway", path=p, transaction=_script_config(p), description=desc.replace("_", " "),
        ))
    for mig in versioned:
        undo = undos.pop(version_key(mig.version), None)
        if undo is not None:
            down_text = read_text(undo[1])
            mig.down = Script(undo[1], down_text)
            mig.down_checksum = checksum(down_text)
    if undos:
        version, path = min(undos.values(), key=lambda vp: version_key(vp[0]))
        raise SourceError(f"{path}: undo migration for version {version} has no V{version}__ migration",
                          hint="an undo file needs a versioned file with the same version")
    return versioned + repeatable


def declare_non_transactional(sql_path: Path) -> str:
    """Set executeInTransaction=false in the script's config file `<script>.conf`."""
    conf = sql_path.with_name(sql_path.name + ".conf")
    lines = read_text(conf).split("\n") if conf.is_file() else []
    lines = [ln for ln in lines if ln.strip() and not ln.strip().startswith("executeInTransaction")]
    from bascule.sources import write_text_atomic

    write_text_atomic(conf, "\n".join([*lines, "executeInTransaction=false"]) + "\n")
    return f"set executeInTransaction=false in {conf}"
