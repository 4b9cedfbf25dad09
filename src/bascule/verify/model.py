"""Result types shared by every verification check."""

from __future__ import annotations

from dataclasses import dataclass, field

CHECKS = ("rowcounts", "checksums", "constraints", "indexes", "leftovers", "custom")
# Status of one check: pass, fail (exit 1), warn (reported, does not fail), skip (could not run, says why).
STATUSES = ("pass", "fail", "warn", "skip")


@dataclass
class CheckResult:
    check: str  # one of CHECKS
    name: str  # what was checked, e.g. "orphans: orders.user_id -> users"
    status: str  # one of STATUSES
    message: str
    table: str | None = None  # schema-qualified, quoted as PostgreSQL would print it
    figures: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"check": self.check, "name": self.name, "status": self.status, "message": self.message,
                "table": self.table, "figures": self.figures}
