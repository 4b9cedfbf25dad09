"""dbmate's layout: one file per migration holding both directions.

    db/migrations/
      20151129054053_create_users.sql

      -- migrate:up
      CREATE TABLE users (...);

      -- migrate:down
      DROP TABLE users;

The version is the file name's leading digits. The file must have a `-- migrate:up` line;
`-- migrate:down` is optional and, when present, comes after it. Options follow the marker:
`-- migrate:up transaction:false` runs the migration outside a transaction. Only blank and
`--` comment lines may precede the up marker. A down section holding only whitespace means
the migration has no down. The checksum covers the whole file (both sections).
"""

from __future__ import annotations

import re
from pathlib import Path

from bascule.errors import SourceError
from bascule.migration import Migration, Script, checksum
from bascule.sources import read_text

_FILE = re.compile(r"^(\d+)_?(.*)\.sql$")
_MARKER = re.compile(r"^--\s*migrate:(up|down)(?:\s+(.*?))?\s*$")
_UP_BYTES = re.compile(rb"(?m)^--[ \t]*migrate:up(?:\s|$)")
_HINT = "start the file with a `-- migrate:up` line (and put the rollback after `-- migrate:down`)"


def detect(folder: Path) -> bool:
    for p in folder.iterdir():
        if p.suffix == ".sql" and p.is_file():
            try:
                if _UP_BYTES.search(p.read_bytes()):
                    return True
            except OSError:
                continue
    return False


def _options(path: Path, lineno: int, text: str | None) -> dict[str, str]:
    options: dict[str, str] = {}
    for pair in (text or "").split():
        key, sep, value = pair.partition(":")
        if not sep or not key:
            raise SourceError(f"{path}:{lineno}: malformed migrate option {pair!r}",
                              hint="options look like `-- migrate:up transaction:false`")
        options[key] = value
    return options


def parse(path: Path, text: str) -> tuple[Script, Script | None, str]:
    """Split a dbmate file into (up, down, transaction mode)."""
    lines = text.split("\n")
    markers: dict[str, tuple[int, dict[str, str]]] = {}
    for i, line in enumerate(lines):
        m = _MARKER.match(line)
        if not m:
            continue
        which = m.group(1)
        if which in markers:
            raise SourceError(f"{path}:{i + 1}: second `-- migrate:{which}` marker (first on line "
                              f"{markers[which][0] + 1})", hint="a dbmate file has one up and one down section")
        markers[which] = (i, _options(path, i + 1, m.group(2)))
    if "up" not in markers:
        raise SourceError(f"{path}: no `-- migrate:up` marker", hint=_HINT)
    up_at, up_opts = markers["up"]
    down_at, _ = markers.get("down", (len(lines), {}))
    if down_at < up_at:
        raise SourceError(f"{path}:{down_at + 1}: `-- migrate:down` comes before `-- migrate:up`", hint=_HINT)
    for i in range(up_at):
        stripped = lines[i].strip()
        if stripped and not stripped.startswith("--"):
            raise SourceError(f"{path}:{i + 1}: SQL before the `-- migrate:up` marker", hint=_HINT)
    tx = up_opts.get("transaction", "true")
    if tx not in ("true", "false"):
        raise SourceError(f"{path}:{up_at + 1}: transaction must be true or false, not {tx!r}")
    up = Script(path, "\n".join(lines[up_at + 1:down_at]), first_line=up_at + 2)
    down = None
    if down_at < len(lines):
        down_text = "\n".join(lines[down_at + 1:])
        if down_text.strip():
            down = Script(path, down_text, first_line=down_at + 2)
    return up, down, "never" if tx == "false" else "auto"


def load(folder: Path) -> list[Migration]:
    out: list[Migration] = []
    for p in sorted(folder.iterdir()):
        m = _FILE.match(p.name)
        if not m or not p.is_file():
            continue
        text = read_text(p)
        up, down, transaction = parse(p, text)
        out.append(Migration(
            version=m.group(1), name=m.group(2), up=up, down=down, checksum=checksum(text),
            layout="dbmate", path=p, transaction=transaction,
            down_checksum=checksum(down.text) if down else None,
        ))
    return out


def declare_non_transactional(path: Path) -> str:
    """Add transaction:false to the file's `-- migrate:up` line (other options kept)."""
    with path.open(encoding="utf-8", newline="") as fh:
        lines = fh.read().splitlines(keepends=True)
    for i, line in enumerate(lines):
        body = line.rstrip("\r\n")
        m = _MARKER.match(body)
        if m and m.group(1) == "up":
            opts = [o for o in (m.group(2) or "").split() if not o.startswith("transaction:")]
            lines[i] = " ".join(["-- migrate:up", *opts, "transaction:false"]) + line[len(body):]
            break
    from bascule.sources import write_text_atomic

    write_text_atomic(path, "".join(lines))
    return f"set transaction:false on the -- migrate:up line of {path}"
