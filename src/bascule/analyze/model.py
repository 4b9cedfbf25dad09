"""The analyzer's plain data: Rule (what a check is) and Finding (what it found)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

SEVERITIES = ("info", "warning", "error")
SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}

# Categories decide how size-awareness treats a finding: "locking" and "rewrite" findings are
# about time spent holding a lock on an existing table (dropped for a table created in the same
# migration, scaled by the live table's size); the others are about correctness.
CATEGORIES = ("locking", "rewrite", "compatibility", "data-loss", "design", "structure")


@dataclass(frozen=True)
class Rule:
    """One check. `check(s)` runs on each statement whose parse-tree tag is in `kinds` (every
    statement when `kinds` is None) and yields findings through `s.finding(...)`;
    `check_migration(m)` runs once per migration (for checks that need the whole migration)."""

    code: str
    name: str
    severity: str
    category: str
    summary: str
    why: str
    fix: str
    kinds: tuple[str, ...] | None = None
    # For ALTER TABLE: run only when the statement has one of these subcommands (AT_AddColumn, ...);
    # None: on every ALTER TABLE. Keeps the 30-odd ALTER TABLE rules off statements they ignore.
    alter_subtypes: frozenset | None = None
    peers: tuple[str, ...] = ()
    fixable: bool = False
    check: Callable | None = None
    check_migration: Callable | None = None
    # runner-dependent checks (timeouts, IF NOT EXISTS) only matter when another tool runs the SQL
    only_external: bool = False
    # opt-in checks (stricter policies some teams want): run only when enabled by code or name
    default_on: bool = True

    @property
    def docs(self) -> str:
        return f"docs/rules/{self.code}.md"


@dataclass
class Finding:
    code: str
    name: str
    severity: str
    message: str
    path: str
    line: int
    column: int
    category: str = "structure"
    why: str = ""
    fix: str = ""
    migration: str | None = None
    statement: int | None = None  # index in its script
    sql: str | None = None  # one-line preview of the statement
    table: str | None = None
    lock: str | None = None
    rewrite: bool = False
    work: str | None = None  # what the statement does to the table under its lock: rewrite|scan|index|lock
    estimate: dict | None = None  # size-aware: rows, bytes, seconds, writes_per_s, ...
    suppressed: str | None = None  # the reason given in a bascule:ignore comment
    fixable: bool = False
    end_line: int | None = None
    stmt_line: int | None = None  # where the statement starts (suppression comments attach to it)
    notes: list[str] = field(default_factory=list)

    def to_dict(self, texts: bool = True) -> dict:
        """Every field (null when it does not apply). texts=False leaves out `why` and `fix`, which
        repeat per rule (the JSON report lists them once per rule instead)."""
        d = self.__dict__.copy()
        if not texts:
            del d["why"], d["fix"]
        return d
