"""Library entry points behind the CLI: every command is a thin wrapper over one of these."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bascule.config import Config, ResolvedTarget, Settings, resolve_target
from bascule.errors import BasculeError, DatabaseError, PlanError, SqlSyntaxError
from bascule.history import History
from bascule.migration import Migration
from bascule.observers import MigrationOutcome, Observer
from bascule.plan import MigrationState, Plan, compute_status, find_state, plan_down, plan_up
from bascule.sources import load_migrations
from bascule.targets.connect import connect, redact_url


class LockBusyError(DatabaseError):
    """Another runner holds the migration lock."""


@dataclass
class Target:
    """One database: a connection, its URL (never printed unredacted) and the environment settings."""

    url: str
    settings: Settings
    env_name: str | None = None
    conn: object = None
    history: History | None = None

    @property
    def safe_url(self) -> str:
        return redact_url(self.url)

    def open(self) -> Target:
        if self.conn is None:
            self.conn = connect(self.url)
            self.history = History(self.conn)
        return self

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def __enter__(self) -> Target:
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()


def target_from_config(cfg: Config, env: str | None = None, url: str | None = None) -> Target:
    rt: ResolvedTarget = resolve_target(cfg, env, url)
    return Target(rt.url, rt.settings, rt.env_name)


def load(cfg: Config) -> list[Migration]:
    return load_migrations(cfg.migrations_dir, cfg.layout)


def status(target: Target, migrations: list[Migration], holding_lock: bool = False) -> list[MigrationState]:
    """States of all migrations. With `holding_lock` (we are the runner), a `running` row can only
    be left over from a runner that died, so it counts as failed (interrupted)."""
    target.open()
    h = target.history
    records = h.records()
    alive = False
    if not holding_lock and any(r.status == "running" for r in records.values()):
        alive = h.lock_holder() is not None
    return compute_status(migrations, records, runner_alive=alive)


def acquire_lock(target: Target, wait: float, on_wait=None) -> None:
    h = target.history
    deadline = time.monotonic() + max(0.0, wait)
    told = False
    while not h.try_lock():
        holder = h.lock_holder()
        if time.monotonic() >= deadline:
            who = (f"pid {holder['pid']} ({holder['application_name'] or '?'}, since {holder['since']})"
                   if holder else "another session")
            raise LockBusyError(f"another bascule runner is migrating this database: {who}",
                                hint="wait for it to finish, or raise --lock-wait; a crashed runner releases "
                                     "the lock automatically when its connection closes")
        if on_wait and not told and holder:
            on_wait(holder)
            told = True
        time.sleep(0.1)


def _unlock(target: Target) -> None:
    """Release the migration lock; on a dead connection the server already released it."""
    if target.conn is not None and not target.conn.broken and not target.conn.closed:
        target.history.unlock()


@dataclass
class RunResult:
    plan: Plan
    outcomes: list[MigrationOutcome] = field(default_factory=list)
    dry_run: bool = False

    def to_dict(self) -> dict:
        return {
            "direction": self.plan.direction, "dry_run": self.dry_run, "warnings": self.plan.warnings,
            "planned": [{"version": s.migration.version, "name": s.migration.name, "resume_from": s.resume_from}
                        for s in self.plan.steps],
            "outcomes": [o.to_dict() for o in self.outcomes],
        }


def _preflight(plan: Plan, server_version: int | None) -> None:
    """Check every migration we are about to run before running any: a syntax error or a bad
    setting in the third migration must not leave the first two applied."""
    from bascule.runner import preflight

    for step in plan.steps:
        preflight(step.migration, step.direction, server_version)


def _run_plan(target: Target, plan: Plan, observers: Sequence[Observer], reason: str | None) -> list[MigrationOutcome]:
    from bascule.runner import Runner

    h = target.history
    runner = Runner(target.conn, h, target.settings, observers, monitor_url=target.url)
    outcomes = []
    try:
        for s in plan.allowed_modified:
            h.event("modified_allowed", s.version, s.name, s.disk_checksum,
                    {"applied_checksum": s.db_checksum, "reason": reason})
        for step in plan.steps:
            rec = step.state.record
            if rec is not None and rec.status == "running":
                h.event("interrupted", step.state.key, step.state.name, rec.checksum,
                        {"statements_done": rec.statements_done, "statements_total": rec.statements_total,
                         "detected_by": "next runner"})
            attempts = rec.attempts if rec is not None and rec.status in ("failed", "running") else 0
            interrupted = rec is not None and rec.status == "running"
            outcomes.append(runner.run(step.migration, step.direction, step.resume_from, attempts, interrupted))
    except BasculeError as exc:
        if getattr(exc, "outcome", None) is not None:  # applied, then a check after it failed
            outcomes.append(exc.outcome)
        exc.outcomes = outcomes  # what did complete before the failure, for --json reports
        exc.plan = plan
        raise
    finally:
        runner.close()
    return outcomes


def apply(target: Target, migrations: list[Migration], to: str | None = None, dry_run: bool = False,
          allow_modified: str | None = None, out_of_order: bool = False, lock_wait: float | None = None,
          observers: Sequence[Observer] = (), on_wait=None) -> RunResult:
    if allow_modified is not None and not allow_modified.strip():
        raise PlanError("--allow-modified needs a reason", hint='for example --allow-modified "fixed a comment"')
    target.open()
    if dry_run:
        plan = plan_up(status(target, migrations), to, allow_modified is not None, out_of_order)
        _preflight(plan, target.conn.info.server_version)
        return RunResult(plan, dry_run=True)
    acquire_lock(target, target.settings.lock_wait if lock_wait is None else lock_wait, on_wait)
    try:
        target.history.ensure()
        plan = plan_up(status(target, migrations, holding_lock=True), to, allow_modified is not None, out_of_order)
        _preflight(plan, target.conn.info.server_version)
        return RunResult(plan, _run_plan(target, plan, observers, allow_modified))
    finally:
        _unlock(target)


def rollback(target: Target, migrations: list[Migration], steps: int | None = None, to: str | None = None,
             dry_run: bool = False, lock_wait: float | None = None, observers: Sequence[Observer] = (),
             on_wait=None, only: str | None = None) -> RunResult:
    target.open()
    if dry_run:
        plan = plan_down(status(target, migrations), steps, to, only)
        _preflight(plan, target.conn.info.server_version)
        return RunResult(plan, dry_run=True)
    acquire_lock(target, target.settings.lock_wait if lock_wait is None else lock_wait, on_wait)
    try:
        target.history.ensure()
        plan = plan_down(status(target, migrations, holding_lock=True), steps, to, only)
        _preflight(plan, target.conn.info.server_version)
        return RunResult(plan, _run_plan(target, plan, observers, None))
    finally:
        _unlock(target)


def baseline(target: Target, migrations: list[Migration], version: str, reason: str | None = None,
             lock_wait: float | None = None) -> MigrationState:
    """Adopt an existing database: migrations up to and including `version` count as applied."""
    target.open()
    acquire_lock(target, target.settings.lock_wait if lock_wait is None else lock_wait)
    try:
        h = target.history
        h.ensure()
        records = h.records()
        states = compute_status(migrations, records)
        s = find_state(states, version, "baseline version")
        applied = [r for r in records.values() if r.status in ("applied", "running", "failed", "baseline")]
        if applied:
            raise PlanError(f"this database already has bascule history ({len(applied)} migration(s) recorded)",
                            hint="baseline is for adopting a database bascule has never migrated")
        with target.conn.transaction():
            h.upsert(s.version, name=s.name, kind="baseline", checksum=s.disk_checksum, status="baseline",
                     statements_done=0, statements_total=0, layout=s.migration.layout if s.migration else None,
                     path=str(s.migration.path) if s.migration else None)
            covered = [x.version for x in states if x.migration is not None and not x.migration.repeatable
                       and x.state == "pending" and _le(x.version, s.version)]
            h.event("baseline", s.version, s.name, s.disk_checksum, {"reason": reason, "covers": covered})
        return s
    finally:
        _unlock(target)


def _le(a: str, b: str) -> bool:
    from bascule.versions import version_key

    return version_key(a) <= version_key(b)


REPAIR_ACTIONS = ("applied", "pending", "accept-checksum")


def repair(target: Target, migrations: list[Migration], version: str, action: str, reason: str,
           lock_wait: float | None = None) -> dict:
    """Resolve a failed (or interrupted) migration after a human fixed things by hand, or accept a
    changed checksum. Recorded as an event; the event log is never rewritten."""
    if action not in REPAIR_ACTIONS:
        raise PlanError(f"unknown repair action {action!r}", hint=f"choose one of {', '.join(REPAIR_ACTIONS)}")
    if not reason or not reason.strip():
        raise PlanError("repair needs --reason", hint='say what was done by hand, e.g. --reason "dropped half-built index"')
    target.open()
    acquire_lock(target, target.settings.lock_wait if lock_wait is None else lock_wait)
    h = target.history
    try:
        h.ensure()
        states = compute_status(migrations, h.records(), runner_alive=False)
        s = find_state(states, version, "repair version")
        rec = s.record
        if action == "accept-checksum":
            if s.state != "modified":
                raise PlanError(f"{s.version} is {s.state}, not modified: there is no checksum to accept")
            with target.conn.transaction():
                h.upsert(s.key, name=s.name, checksum=s.disk_checksum, status=rec.status if rec else "applied")
                h.event("checksum_accepted", s.key, s.name, s.disk_checksum,
                        {"old_checksum": s.db_checksum, "reason": reason})
            return {"version": s.version, "action": action, "old_checksum": s.db_checksum, "new_checksum": s.disk_checksum}
        gone_failed = s.state == "missing" and rec is not None and rec.status in ("failed", "running")
        if gone_failed and action != "pending":
            raise PlanError(f"{s.version} failed and its files are gone: it can only be marked pending "
                            "(`repair --as pending`), which clears the record; nothing on disk can be applied",
                            hint="restore the files to finish or roll it back instead")
        if s.state != "failed" and not gone_failed:
            raise PlanError(f"{s.version} is {s.state}; repair --as {action} is for failed or interrupted migrations",
                            hint="see `bascule status`")
        assert rec is not None
        new_status = "applied" if action == "applied" else "rolled_back"
        if rec.direction == "down":
            new_status = "rolled_back" if action == "applied" else "applied"
        with target.conn.transaction():
            h.upsert(s.key, name=s.name, checksum=s.disk_checksum or rec.checksum, status=new_status,
                     statements_done=0 if new_status == "rolled_back" else (rec.statements_total or 0),
                     error=None, sqlstate=None, failed_statement=None, failed_path=None, failed_line=None)
            h.event("repair", s.key, s.name, s.disk_checksum or rec.checksum, {
                "as": action, "direction": rec.direction, "new_status": new_status, "reason": reason,
                "previous_error": rec.error, "statements_done": rec.statements_done,
                "statements_total": rec.statements_total})
        return {"version": s.version, "action": action, "new_status": new_status}
    finally:
        _unlock(target)


@dataclass
class ValidationProblem:
    version: str
    kind: str  # modified | missing | syntax | failed
    message: str

    def to_dict(self) -> dict:
        return self.__dict__.copy()


def validate(migrations: list[Migration], states: list[MigrationState] | None) -> list[ValidationProblem]:
    problems: list[ValidationProblem] = []
    from bascule.runner import preflight

    for m in migrations:
        for direction, script in (("up", m.up), ("down", m.down)):
            if script is None:
                continue
            try:
                preflight(m, direction, None)
            except SqlSyntaxError as exc:
                problems.append(ValidationProblem(m.version, "syntax", exc.message))
            except BasculeError as exc:
                problems.append(ValidationProblem(m.version, "metadata", exc.message))
    unique: list[ValidationProblem] = []
    for p in problems:
        if p not in unique:
            unique.append(p)
    problems = unique
    for s in states or []:
        if s.state == "modified":
            problems.append(ValidationProblem(s.version, "modified", f"{s.migration.up.path}: checksum "
                                              f"{s.disk_checksum} differs from applied {s.db_checksum}"))
        elif s.state == "missing":
            problems.append(ValidationProblem(s.version, "missing", s.note or "missing on disk"))
        elif s.state == "failed":
            problems.append(ValidationProblem(s.version, "failed", (s.record.error if s.record else None) or "failed"))
    return problems


def new_migration(cfg: Config, name: str, now: float | None = None) -> Path:
    """Create the next native migration folder with up.sql and down.sql."""
    import re
    from datetime import datetime, timezone

    layout = cfg.layout
    if layout == "auto" and cfg.migrations_dir.is_dir():
        from bascule.sources import detect_layout

        layout = detect_layout(cfg.migrations_dir)  # a native folder next to others would hide them all
    if layout not in ("auto", "native"):
        how = "set in bascule.toml" if cfg.layout != "auto" else "detected from the files in " + str(cfg.migrations_dir)
        raise PlanError(f"`bascule new` writes the native layout, but this project uses {layout} ({how})",
                        hint="create the file with your existing tool's naming")
    slug = re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")
    if not slug:
        raise PlanError(f"{name!r} is not a usable migration name", hint="use letters, digits and underscores")
    cfg.migrations_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.fromtimestamp(now or time.time(), tz=timezone.utc).strftime("%Y%m%d%H%M%S")
    existing = [p.name.split("_", 1)[0] for p in cfg.migrations_dir.iterdir() if p.is_dir()]
    numeric = [int(e) for e in existing if e.isdigit()]
    if numeric and max(numeric) >= int(stamp):
        stamp = str(max(numeric) + 1)  # keep versions strictly increasing even within one second
    folder = cfg.migrations_dir / f"{stamp}_{slug}"
    folder.mkdir()
    (folder / "up.sql").write_text(f"-- {name}: the change.\n")
    (folder / "down.sql").write_text(f"-- {name}: undo the change made by up.sql.\n")
    return folder
