"""What is applied, what is pending, and what `up` / `down` would run: computed, never rendered here."""

from __future__ import annotations

from dataclasses import dataclass, field

from bascule.errors import PlanError
from bascule.history.store import MigrationRecord
from bascule.migration import Migration
from bascule.versions import version_key

STATES = ("applied", "pending", "failed", "running", "modified", "missing", "baseline")


@dataclass
class MigrationState:
    version: str
    name: str
    state: str
    migration: Migration | None = None
    record: MigrationRecord | None = None
    out_of_order: bool = False
    disk_checksum: str | None = None
    db_checksum: str | None = None
    note: str | None = None

    @property
    def key(self) -> str:
        return self.migration.history_key if self.migration is not None else self.version

    @property
    def repeatable(self) -> bool:
        return self.key.startswith("R:")

    def to_dict(self) -> dict:
        r = self.record
        d = {
            "version": self.version, "name": self.name, "state": self.state, "out_of_order": self.out_of_order,
            "repeatable": bool(self.migration and self.migration.repeatable),
            "checksum": self.disk_checksum, "applied_checksum": self.db_checksum,
            "path": str(self.migration.path) if self.migration else (r.path if r else None),
            "has_down": bool(self.migration and self.migration.down is not None), "note": self.note,
        }
        if r is not None:
            d.update({
                "applied_by": r.applied_by, "db_user": r.db_user, "host": r.host,
                "started_at": r.started_at.isoformat() if r.started_at else None,
                "finished_at": r.finished_at.isoformat() if r.finished_at else None,
                "duration_ms": r.duration_ms, "attempts": r.attempts, "transactional": r.transactional,
                "direction": r.direction, "statements_done": r.statements_done,
                "statements_total": r.statements_total, "error": r.error, "sqlstate": r.sqlstate,
                "failed_statement": r.failed_statement, "failed_path": r.failed_path, "failed_line": r.failed_line,
            })
        return d


def _vkey(v: str) -> tuple:
    try:
        return version_key(v)
    except ValueError:
        return ()


def compute_status(migrations: list[Migration], records: dict[str, MigrationRecord],
                   runner_alive: bool = False) -> list[MigrationState]:
    """Merge what is on disk with what the database says. `runner_alive`: someone holds the
    migration lock right now, so a `running` row is really running (else it was interrupted)."""
    out: list[MigrationState] = []
    baselines = [r for r in records.values() if r.status == "baseline"]
    baseline_key = max((_vkey(r.version) for r in baselines), default=None)
    applied_keys = [_vkey(r.version) for r in records.values()
                    if r.status in ("applied", "baseline") and r.kind != "repeatable"]
    newest_applied = max(applied_keys, default=None)
    on_disk = set()
    for m in migrations:
        key = m.history_key
        on_disk.add(key)
        r = records.get(key)
        st = MigrationState(m.version, m.name, "pending", m, r, disk_checksum=m.checksum,
                            db_checksum=r.checksum if r else None)
        if r is None or r.status == "rolled_back":
            if not m.repeatable and baseline_key is not None and _vkey(m.version) <= baseline_key:
                st.state = "baseline"
                st.note = "older than the baseline: treated as applied"
            elif not m.repeatable and newest_applied is not None and _vkey(m.version) < newest_applied:
                st.out_of_order = True
                st.note = "older than the newest applied migration"
        elif r.status == "applied":
            if r.checksum != m.checksum:
                if m.repeatable:
                    st.state = "pending"
                    st.note = "changed since last applied: will be re-applied"
                else:
                    st.state = "modified"
                    st.note = "file changed since it was applied"
            else:
                st.state = "applied"
        elif r.status == "baseline":
            st.state = "baseline"
        elif r.status == "failed":
            st.state = "failed"
        elif r.status == "running":
            if runner_alive:
                st.state = "running"
            else:
                st.state = "failed"
                st.note = "interrupted: the runner stopped before finishing"
        out.append(st)
    for key, r in records.items():
        if key in on_disk or r.kind == "baseline" or r.status == "rolled_back":
            continue
        out.append(MigrationState(r.version, r.name, "missing", None, r, db_checksum=r.checksum,
                                  note=f"recorded as {r.status} but not found on disk"))
    versioned = sorted((s for s in out if not s.repeatable), key=lambda s: _vkey(s.version))
    repeatable = sorted((s for s in out if s.repeatable), key=lambda s: s.name)
    return versioned + repeatable


@dataclass
class Step:
    state: MigrationState
    direction: str
    resume_from: int = 0

    @property
    def migration(self) -> Migration:
        assert self.state.migration is not None
        return self.state.migration


@dataclass
class Plan:
    direction: str
    steps: list[Step] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    allowed_modified: list[MigrationState] = field(default_factory=list)


def find_state(states: list[MigrationState], version: str, what: str) -> MigrationState:
    k = _vkey(version)
    for s in states:
        if not s.repeatable and _vkey(s.version) == k:
            return s
    known = [s.version for s in states if not s.repeatable]
    hint = f"known versions: {', '.join(known[-5:])}" if known else "there are no migrations"
    raise PlanError(f"{what} {version!r} is not a known migration version", hint=hint)


def plan_up(states: list[MigrationState], to: str | None = None, allow_modified: bool = False,
            out_of_order: bool = False) -> Plan:
    plan = Plan("up")
    limit = _vkey(find_state(states, to, "--to").version) if to else None
    modified = [s for s in states if s.state == "modified"]
    if modified and not allow_modified:
        s = modified[0]
        raise PlanError(
            f"migration {s.version} {s.name} was modified after it was applied: "
            f"{s.migration.up.path if s.migration else s.name} has checksum {s.disk_checksum[:12]}, "
            f"applied was {(s.db_checksum or '?')[:12]}" + (f" (and {len(modified) - 1} more)" if len(modified) > 1 else ""),
            hint="restore the file, or run with --allow-modified REASON (recorded), "
                 "or accept the new content with `bascule repair VERSION --accept-checksum --reason ...`")
    plan.allowed_modified = modified
    for s in states:
        if s.state == "failed" and s.record is not None and s.record.direction == "down":
            raise PlanError(f"migration {s.version} {s.name} failed while being rolled back",
                            hint="run `bascule down` to resume the rollback, or `bascule repair` after fixing it by hand")
    todo = [s for s in states if s.state in ("pending", "failed") and s.migration is not None]
    if limit is not None:
        todo = [s for s in todo if not s.repeatable and _vkey(s.version) <= limit]  # --to: versioned only
    ooo = [s for s in todo if s.out_of_order]
    if ooo and not out_of_order:
        s = ooo[0]
        raise PlanError(
            f"pending migration {s.version} {s.name} is older than the newest applied migration",
            hint="it was probably merged from another branch; review it and run with --out-of-order to apply it")
    done_or_planned = {s.version for s in states if s.state in ("applied", "baseline", "modified")}
    for s in todo:
        m = s.migration
        assert m is not None
        for dep in m.depends_on:
            if not any(_vkey(dep) == _vkey(v) for v in done_or_planned):
                raise PlanError(f"migration {m.label} depends on {dep}, which is neither applied nor planned before it",
                                hint="apply the dependency first, or fix depends_on in migration.toml")
        resume = 0
        if s.state == "failed" and s.record is not None and s.record.transactional is False:
            resume = s.record.statements_done or 0
            if s.record.checksum != m.checksum and allow_modified:
                plan.allowed_modified.append(s)
            elif s.record.checksum != m.checksum:
                raise PlanError(f"migration {m.label} failed part way and its file has changed since "
                                f"(checksum {m.checksum[:12]} vs {(s.record.checksum or '?')[:12]})",
                                hint="its first statements already ran; restore the file, or use "
                                     "`bascule repair` to reset it and run it again from the top")
        plan.steps.append(Step(s, "up", resume))
        done_or_planned.add(s.version)
    missing = [s for s in states if s.state == "missing"]
    for s in missing:
        status = s.record.status if s.record else "applied"
        plan.warnings.append(f"{s.version} {s.name} is recorded as {status} but its files are missing")
    return plan


def plan_down(states: list[MigrationState], steps: int | None = None, to: str | None = None,
              only: str | None = None) -> Plan:
    """`only`: roll back exactly that applied migration (rehearsal round trips), whatever its place."""
    if steps is not None and to is not None:
        raise PlanError("use either --steps or --to, not both")
    if steps is not None and steps < 1:
        raise PlanError("--steps must be 1 or more")
    plan = Plan("down")
    failed_down = [s for s in states if s.state == "failed" and s.record is not None and s.record.direction == "down"]
    applied = [s for s in states if s.state in ("applied", "modified", "failed", "missing") and not s.repeatable
               and s not in failed_down and (s.state != "failed")]
    applied = [s for s in applied if s.record is not None and s.record.status == "applied"]
    applied.sort(key=lambda s: _vkey(s.version), reverse=True)
    chosen: list[MigrationState] = list(failed_down)
    if only is not None:
        target = find_state(states, only, "migration")
        chosen = [s for s in applied if s is target]
        if not chosen:
            raise PlanError(f"migration {only} is not applied: nothing to roll back")
    elif to is not None:
        target = find_state(states, to, "--to")
        chosen += [s for s in applied if _vkey(s.version) > _vkey(target.version)]
    else:
        n = steps if steps is not None else 1
        chosen += applied[: max(0, n - len(failed_down))]
    for s in chosen:
        if s.migration is None:
            raise PlanError(f"cannot roll back {s.version} {s.name}: its files are missing on disk",
                            hint="check out the branch that has it")
        if s.migration.down is None:
            raise PlanError(f"migration {s.migration.label} has no down script",
                            hint=f"write {_down_place(s.migration)} first; nothing was rolled back")
        resume = 0
        if s in failed_down and s.record is not None and s.record.transactional is False:
            resume = s.record.statements_done or 0
        plan.steps.append(Step(s, "down", resume))
    return plan


def _down_place(m) -> str:
    """Where the down script of `m` goes, in its layout's own terms."""
    path = m.path
    if m.layout == "golang-migrate" and path.name.endswith(".up.sql"):
        return str(path.with_name(path.name[: -len(".up.sql")] + ".down.sql"))
    if m.layout == "dbmate":
        return f"a `-- migrate:down` section at the end of {path}"
    if m.layout == "flyway":
        return f"{path.with_name('U' + path.name[1:])} (an undo migration)"
    if path.is_dir():
        return str(path / "down.sql")
    return f"{path.parent / 'down.sql'} (or the layout's equivalent)"
