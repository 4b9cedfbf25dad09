"""Sources turn a folder on disk into Migration objects. One adapter per layout.

An adapter only reads files. `load_migrations(folder, layout)` picks the adapter (or detects
it with layout="auto"), sorts by version and rejects duplicate versions, naming both files.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from bascule.errors import SourceError
from bascule.migration import Migration, Script, checksum, normalize_text
from bascule.versions import version_key

LAYOUTS = ("native", "diesel", "golang-migrate", "dbmate", "flyway", "prisma")


# Inside `undecodable_files()`: path → UnicodeDecodeError of each file read_text could not decode.
_UNDECODABLE: ContextVar[dict | None] = ContextVar("undecodable", default=None)


@contextmanager
def undecodable_files():
    """Within this block a file that is not UTF-8 does not stop loading: read_text records it in
    the dict this yields (path as str → UnicodeDecodeError) and returns its text decoded with
    replacement characters. `bascule lint` uses it to report such a file as a finding and lint
    the other migrations; every other command keeps refusing the file."""
    bad: dict[str, UnicodeDecodeError] = {}
    token = _UNDECODABLE.set(bad)
    try:
        yield bad
    finally:
        _UNDECODABLE.reset(token)


def read_text(path: Path) -> str:
    """Read a migration file as normalized text, with a clear error for unreadable files."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror}", hint="check the file exists and is readable") from None
    try:
        return normalize_text(raw)
    except UnicodeDecodeError as exc:
        bad = _UNDECODABLE.get()
        if bad is not None:
            bad.setdefault(str(path), exc)
            return normalize_text(raw.decode("utf-8", "replace"))
        raise SourceError(f"{path}: not valid UTF-8 (byte {exc.start})", hint="save migration files as UTF-8") from None


def write_text_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` atomically: a sibling temporary file, flushed, then renamed over the
    target, so a reader or a crash sees the old file or the new one, never half of one. An existing
    file keeps its permission bits; a new one gets the usual 0666 minus the umask. Line endings are
    written as they are in `text`. A symbolic link stays a link: the file it points to is what is
    rewritten (through any chain of links). Raises OSError (the temporary file removed)."""
    import os
    import tempfile

    path = Path(os.path.realpath(path))  # a link's target, in its own folder: the link is left as it is
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(read_text(path))
    except tomllib.TOMLDecodeError as exc:
        raise SourceError(f"{path}: invalid TOML: {exc}", hint="see docs/sources.md for the metadata keys") from None


def version_folders(folder: Path, marker: str, example: str, hint: str):
    """Yield (dir, version, name) for each `<version>_<name>/` subfolder holding `marker`
    (the folder-per-migration layouts: native, diesel, Prisma)."""
    import os

    from bascule.versions import version_key

    for d in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if not (d / marker).is_file():
            if os.path.lexists(d / marker):  # a broken symlink, a folder, a file not checked out
                raise SourceError(f"{d / marker}: not a readable file", hint="check the file exists and is readable")
            try:
                version_key(d.name.partition("_")[0])
                looks = any(f.suffix in (".sql", ".toml") for f in d.iterdir())
            except ValueError:
                looks = False
            if looks:  # down.sql or migration.toml without the up script: never skip it silently
                raise SourceError(f"{d}: a migration folder without {marker}",
                                  hint=f"add {marker}, or move the folder out of {folder}")
            continue
        version, _, name = d.name.partition("_")
        try:
            version_key(version)
        except ValueError:
            raise SourceError(f"{d}: folder name must start with a version, like {example}", hint=hint) from None
        yield d, version, name


def up_down_scripts(d: Path) -> tuple[Script, str, Script | None, str | None]:
    """up.sql (required) and down.sql (optional) of a migration folder, with their checksums."""
    up = d / "up.sql"
    up_text = read_text(up)
    down_path = d / "down.sql"
    if not down_path.is_file():
        return Script(up, up_text), checksum(up_text), None, None
    down_text = read_text(down_path)
    return Script(up, up_text), checksum(up_text), Script(down_path, down_text), checksum(down_text)


def _adapters() -> dict[str, Callable[[Path], list[Migration]]]:
    from bascule.sources import dbmate, diesel, flyway, golang_migrate, native, prisma

    return {
        "native": native.load,
        "diesel": diesel.load,
        "golang-migrate": golang_migrate.load,
        "dbmate": dbmate.load,
        "flyway": flyway.load,
        "prisma": prisma.load,
    }


def detect_layout(folder: Path) -> str:
    """Guess the layout from the files present. Native wins when ambiguous."""
    from bascule.sources import dbmate, diesel, flyway, golang_migrate, native, prisma

    for name, mod in (("native", native), ("diesel", diesel), ("prisma", prisma), ("flyway", flyway),
                      ("golang-migrate", golang_migrate), ("dbmate", dbmate)):
        if mod.detect(folder):
            return name
    return "native"


def check_unique(migrations: list[Migration]) -> None:
    seen: dict[tuple, Migration] = {}
    for m in migrations:
        if m.repeatable:
            key = ("R", m.name)
        else:
            key = ("V",) + version_key(m.version)
        if key in seen:
            other = seen[key]
            what = f"repeatable migration {m.name!r}" if m.repeatable else f"version {m.version}"
            raise SourceError(
                f"duplicate {what}: {other.path} and {m.path}",
                hint="every migration needs its own version; rename one of them",
            )
        seen[key] = m


def sort_migrations(migrations: list[Migration]) -> list[Migration]:
    """Versioned migrations by version, then repeatable ones by name (Flyway's order)."""
    versioned = sorted((m for m in migrations if not m.repeatable), key=lambda m: version_key(m.version))
    repeatable = sorted((m for m in migrations if m.repeatable), key=lambda m: m.name)
    return versioned + repeatable


def load_migrations(folder: Path, layout: str = "auto") -> list[Migration]:
    folder = Path(folder)
    if not folder.is_dir():
        raise SourceError(f"migrations folder {folder} does not exist",
                          hint="run `bascule init`, or set [project] migrations in bascule.toml")
    if layout == "auto":
        layout = detect_layout(folder)
    adapters = _adapters()
    if layout not in adapters:
        raise SourceError(f"unknown layout {layout!r}", hint=f"choose one of: {', '.join(LAYOUTS)}")
    migrations = adapters[layout](folder)
    check_unique(migrations)
    return sort_migrations(migrations)


def declare_non_transactional(layout: str | None, up_path: Path) -> str | None:
    """Make a migration run statement by statement, where its layout has a place to say so
    (native migration.toml, diesel metadata.toml, dbmate's `-- migrate:up` options, a Flyway
    script config file).
    Returns what was written, or None when the layout has no per-migration switch."""
    from bascule.sources import dbmate, diesel, flyway, native

    writers = {"native": native.declare_non_transactional, "diesel": diesel.declare_non_transactional,
               "dbmate": dbmate.declare_non_transactional, "flyway": flyway.declare_non_transactional}
    writer = writers.get(layout or "")
    return writer(up_path) if writer is not None else None


def set_toml_key(toml: Path, key: str, value: str) -> str:
    """Set a top-level `key = value` line in a small TOML file (value already in TOML syntax),
    replacing the key's line or adding it first, so it stays above any [table]."""
    import re

    text = toml.read_text(encoding="utf-8") if toml.is_file() else ""
    line = f"{key} = {value}  # set by bascule lint --fix: VALIDATE must commit separately"
    pattern = re.compile(rf"(?m)^\s*{re.escape(key)}\s*=.*$")
    text = pattern.sub(line, text, count=1) if pattern.search(text) else line + "\n" + text
    write_text_atomic(toml, text)
    return f"set {key} = {value} in {toml}"
