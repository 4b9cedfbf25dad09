"""The seam around every statement the Runner executes.

The Runner calls `before_statement` and `after_statement` on each observer, in order, for
every statement of every migration, and `migration_started` / `migration_finished` around each
migration. Observers must not execute SQL on the runner's connection; profiling and lock
monitoring open their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bascule.migration import Migration, Statement


@dataclass
class StatementEvent:
    migration: Migration
    direction: str  # "up" or "down"
    statement: Statement
    position: int  # 0-based index in the script
    total: int
    attempt: int = 1
    in_transaction: bool = True


@dataclass
class StatementOutcome:
    ok: bool
    duration_ms: float
    rowcount: int | None = None
    error: str | None = None
    sqlstate: str | None = None
    skipped: bool = False
    note: str | None = None


@dataclass
class MigrationOutcome:
    migration: Migration
    direction: str
    status: str  # applied | rolled_back | failed
    duration_ms: float
    statements: list[dict] = field(default_factory=list)
    retries: int = 0
    resumed_from: int = 0
    transactional: bool = True
    error: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"version": self.migration.version, "name": self.migration.name, "direction": self.direction,
                "status": self.status, "duration_ms": round(self.duration_ms, 3), "retries": self.retries,
                "resumed_from": self.resumed_from, "transactional": self.transactional, "error": self.error,
                "notes": self.notes, "statements": self.statements}


class Observer:
    """Base class: override what you need."""

    def migration_started(self, migration: Migration, direction: str, total: int, transactional: bool,
                          resume_from: int) -> None:
        pass

    def before_statement(self, event: StatementEvent) -> None:
        pass

    def after_statement(self, event: StatementEvent, outcome: StatementOutcome) -> None:
        pass

    def lock_retry(self, migration: Migration, attempt: int, wait_s: float, blockers: list[dict]) -> None:
        pass

    def migration_finished(self, outcome: MigrationOutcome) -> None:
        pass


class TimingObserver(Observer):
    """Keeps wall time and row count of every statement; the Runner always attaches one."""

    def __init__(self) -> None:
        self.current: list[dict] = []

    def migration_started(self, migration, direction, total, transactional, resume_from) -> None:
        self.current = []

    def after_statement(self, event: StatementEvent, outcome: StatementOutcome) -> None:
        self.current.append({
            "index": event.position, "line": event.statement.line, "kind": event.statement.kind,
            "ms": round(outcome.duration_ms, 3), "rows": outcome.rowcount, "ok": outcome.ok,
            "attempt": event.attempt, **({"skipped": True} if outcome.skipped else {}),
        })
