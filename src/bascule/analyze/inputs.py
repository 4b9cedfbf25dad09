"""What `bascule lint` reads: a migrations folder in any layout bascule knows, plain .sql files,
folders of plain .sql files, or stdin; `--since GIT_REF` narrows the report to migrations added
since that ref while every earlier migration still teaches the analyzer the schema."""

from __future__ import annotations

import os
import subprocess
from functools import lru_cache
from pathlib import Path

from bascule.analyze.engine import LintUnit
from bascule.errors import ConfigError, SourceError
from bascule.migration import Migration, Script, normalize_text

# Layouts whose tools have down migrations (Flyway's undo files are optional and paid; Prisma has none).
_HAS_DOWN = {"native", "diesel", "golang-migrate", "dbmate"}
STDIN = "<stdin>"  # the path and label of what `-` reads


def _unit_from_migration(m: Migration) -> LintUnit:
    return LintUnit(label=m.label, path=str(m.up.path), up=m.up, down=m.down, transaction=m.transaction,
                    expects_down=m.layout in _HAS_DOWN and not m.repeatable, version=m.version,
                    down_path=str(m.down.path) if m.down else None, layout=m.layout)


def _not_utf8(exc: UnicodeDecodeError) -> str:
    return f"not UTF-8 text (byte {exc.start}: {exc.reason}); PostgreSQL migrations are read as UTF-8"


def _plain(path: Path, data: str | bytes | None = None) -> LintUnit:
    """A plain .sql file, or stdin (`data` given: its bytes or text). Text that is not UTF-8 is a
    unit with an error (reported as B502): the other files are still linted."""
    try:
        if data is None:
            data = path.read_bytes()
        text = normalize_text(data)
    except UnicodeDecodeError as exc:
        return LintUnit(label=str(path), path=str(path), up=None, error=_not_utf8(exc))
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from None
    return LintUnit(label=str(path), path=str(path), up=Script(path, text))


def _natural(p: Path):
    import re

    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(p))]


def _folder(folder: Path, layout: str) -> list[LintUnit]:
    from bascule.sources import _adapters, detect_layout, load_migrations, native, undecodable_files

    chosen = layout if layout != "auto" else detect_layout(folder)
    recognised = layout != "auto" or chosen != "native" or native.detect(folder)
    if recognised and chosen in _adapters():
        with undecodable_files() as bad:  # a file that is not UTF-8 is a finding, not the end of the run
            migrations = load_migrations(folder, chosen)
        units = []
        for m in migrations:
            unit = _unit_from_migration(m)
            hit = next((s.path for s in (m.up, m.down) if s is not None and str(s.path) in bad), None)
            if hit is not None:
                unit.up, unit.down, unit.path = None, None, str(hit)
                unit.error = _not_utf8(bad.pop(str(hit)))
            units.append(unit)
        if bad:  # a metadata file (migration.toml, a Flyway .conf): no migration to report it on
            path, exc = next(iter(bad.items()))
            raise SourceError(f"{path}: not valid UTF-8 (byte {exc.start})", hint="save migration files as UTF-8")
        return units
    files = sorted((p for p in folder.rglob("*.sql") if p.is_file()), key=_natural)
    if not files:
        raise SourceError(f"no migrations and no .sql files in {folder}",
                          hint="give a migrations folder, .sql files, or - for stdin")
    return [_plain(p) for p in files]


def collect(paths: list[str], *, default_folder: Path | None = None, layout: str = "auto",
            stdin_text: str | bytes | None = None) -> list[LintUnit]:
    """Units in the order given (folders in version order). `stdin_text`: what `-` reads (bytes as
    read, or text)."""
    if not paths:
        if default_folder is None:
            raise ConfigError("nothing to lint: give .sql files, a migrations folder, or - for stdin",
                              hint="or run inside a project with a bascule.toml")
        paths = [str(default_folder)]
    if paths.count("-") > 1:
        raise ConfigError("- (stdin) is given more than once", hint="stdin can be read only once: give - once")
    units: list[LintUnit] = []
    for raw in paths:
        if raw == "-":
            units.append(_plain(Path(STDIN), stdin_text or b""))
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
    """Run git in `cwd`; its output as text (names that are not UTF-8 kept as surrogates, so they
    still match the file names Python reads from the folder)."""
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=60,
                             env={**os.environ, "LC_ALL": "C"})  # messages in English: "not a git repository"
    except FileNotFoundError as exc:
        if exc.filename == "git":
            raise ConfigError("--since needs git, which is not installed") from None
        raise ConfigError(f"cannot run git in {cwd}: {exc.strerror}") from None
    except (OSError, subprocess.SubprocessError) as exc:
        raise ConfigError(f"git {' '.join(args)} (in {cwd}) failed: {exc}") from None
    if out.returncode != 0:
        err = out.stderr.decode("utf-8", "replace").strip()
        raise ConfigError(f"git {' '.join(args)} (in {cwd}): {err or 'failed'}")
    return os.fsdecode(out.stdout)


def repository(folder: Path) -> Path | None:
    """The top level of the git work tree holding `folder`; None when it is in none. git is asked
    once per folder that holds a .git (a repository, worktree or submodule), not once per
    migration folder or linted file."""
    for d in (folder, *folder.parents):
        if (d / ".git").exists():
            return _top_level(d)
    return None


@lru_cache(maxsize=256)
def _top_level(folder: Path) -> Path | None:
    try:
        return Path(_git(["rev-parse", "--show-toplevel"], folder).strip())
    except ConfigError as exc:
        if "not a git repository" in exc.message:
            return None
        raise


def _folder_of(path: str) -> Path:
    p = Path(path).absolute()
    return p if p.is_dir() else p.parent


def added_since(ref: str, paths: list[str]) -> set[Path]:
    """Files added since `ref` (committed, staged or not) plus untracked files, as resolved
    paths. git runs in the repository holding each linted path (not the current directory), and
    `ref` is resolved there. Names come NUL-separated (-z): never quoted, whatever they hold."""
    tops: dict[Path, None] = {}
    for raw in paths:
        if raw == "-":
            continue
        top = repository(_folder_of(raw))
        if top is None:
            raise ConfigError(f"--since: {raw} is not in a git repository",
                              hint="--since compares with a commit of the repository holding the migrations: "
                                   "lint migrations inside a git work tree, or leave --since out")
        tops.setdefault(top, None)
    added: set[Path] = set()
    for top in tops:
        try:
            _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], top)
        except ConfigError:
            raise ConfigError(f"--since {ref}: no such commit in the git repository at {top}",
                              hint="--since takes a git ref: a branch (origin/main), tag or commit; in CI, "
                                   "fetch it first (actions/checkout with fetch-depth: 0)") from None
        # run at the top level: names relative to it, whatever diff.relative says
        names = _git(["diff", "-z", "--name-only", "--diff-filter=A", "--no-renames", ref, "--"], top).split("\0")
        names += _git(["ls-files", "-z", "--others", "--exclude-standard"], top).split("\0")
        added |= {(top / n).resolve() for n in names if n}
    return added


def mark_since(units: list[LintUnit], added: set[Path]) -> int:
    """Report only units whose up or down file was added (stdin always: it is in no repository);
    returns how many are reported."""
    n = 0
    for u in units:
        if u.path == STDIN:
            u.report = True
            n += 1
            continue
        files = {Path(u.path).resolve()}
        if u.down_path:
            files.add(Path(u.down_path).resolve())
        u.report = bool(files & added)
        n += u.report
    return n
