"""What `bascule lint` reads: a migrations folder in any layout bascule knows, plain .sql files,
folders of plain .sql files, or stdin; `--since GIT_REF` narrows the report to migrations added
since that ref while every earlier migration still teaches the analyzer the schema."""

from __future__ import annotations

import subprocess
from pathlib import Path

from bascule.analyze.engine import LintUnit
from bascule.errors import ConfigError, SourceError
from bascule.migration import Migration, Script, normalize_text

# Layouts whose tools have down migrations (Flyway's undo files are optional and paid; Prisma has none).
_HAS_DOWN = {"native", "diesel", "golang-migrate", "dbmate"}


def _unit_from_migration(m: Migration) -> LintUnit:
    return LintUnit(label=m.label, path=str(m.up.path), up=m.up, down=m.down, transaction=m.transaction,
                    expects_down=m.layout in _HAS_DOWN and not m.repeatable, version=m.version,
                    down_path=str(m.down.path) if m.down else None, layout=m.layout)


def _plain(path: Path, text: str | None = None) -> LintUnit:
    if text is None:
        try:
            text = normalize_text(path.read_bytes())
        except UnicodeDecodeError as exc:  # reported as a finding: the other files are still linted
            return LintUnit(label=str(path), path=str(path), up=None,
                            error=f"not UTF-8 text (byte {exc.start}: {exc.reason}); PostgreSQL migrations are "
                                  "read as UTF-8")
        except OSError as exc:
            raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from None
    return LintUnit(label=str(path), path=str(path), up=Script(path, text))


def _natural(p: Path):
    import re

    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(p))]


def _folder(folder: Path, layout: str) -> list[LintUnit]:
    from bascule.sources import _adapters, detect_layout, load_migrations, native

    chosen = layout if layout != "auto" else detect_layout(folder)
    recognised = layout != "auto" or chosen != "native" or native.detect(folder)
    if recognised and chosen in _adapters():
        return [_unit_from_migration(m) for m in load_migrations(folder, chosen)]
    files = sorted((p for p in folder.rglob("*.sql") if p.is_file()), key=_natural)
    if not files:
        raise SourceError(f"no migrations and no .sql files in {folder}",
                          hint="give a migrations folder, .sql files, or - for stdin")
    return [_plain(p) for p in files]


def collect(paths: list[str], *, default_folder: Path | None = None, layout: str = "auto",
            stdin_text: str | None = None) -> list[LintUnit]:
    """Units in the order given (folders in version order)."""
    if not paths:
        if default_folder is None:
            raise ConfigError("nothing to lint: give .sql files, a migrations folder, or - for stdin",
                              hint="or run inside a project with a bascule.toml")
        paths = [str(default_folder)]
    units: list[LintUnit] = []
    for raw in paths:
        if raw == "-":
            units.append(_plain(Path("<stdin>"), normalize_text(stdin_text or "")))
            continue
        p = Path(raw)
        if p.is_dir():
            units += _folder(p, layout)
        elif p.is_file():
            units.append(_plain(p))
        else:
            raise SourceError(f"{raw} does not exist", hint="give .sql files, a migrations folder, or - for stdin")
    return units


def _git(args: list[str], cwd: Path) -> str:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        raise ConfigError("--since needs git, which is not installed") from None
    if out.returncode != 0:
        raise ConfigError(f"git {' '.join(args)}: {out.stderr.strip() or 'failed'}",
                          hint="--since takes a git ref: a branch (origin/main), tag or commit")
    return out.stdout


def added_since(ref: str, cwd: Path) -> set[Path]:
    """Files added since `ref` (committed, staged or not) plus untracked files, as absolute paths."""
    top = Path(_git(["rev-parse", "--show-toplevel"], cwd).strip())
    _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], cwd)
    names = _git(["diff", "--name-only", "--diff-filter=A", "--no-renames", ref, "--"], cwd).splitlines()
    names += _git(["ls-files", "--others", "--exclude-standard"], top).splitlines()
    return {(top / n).resolve() for n in names if n}


def mark_since(units: list[LintUnit], added: set[Path]) -> int:
    """Report only units whose up or down file was added; returns how many are reported."""
    n = 0
    for u in units:
        files = {Path(u.path).resolve()}
        if u.down_path:
            files.add(Path(u.down_path).resolve())
        u.report = bool(files & added)
        n += u.report
    return n
