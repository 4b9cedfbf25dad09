"""The plain data every other part works on: Migration, Script, Statement.

A Migration knows its id (version), name, the up and down scripts, declared metadata and
the checksum of its up file. Statements are produced lazily (parsing needs pglast, which
`status` never needs) by `bascule.sql.split_statements`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

TransactionMode = Literal["auto", "always", "never"]


def normalize_text(content: str | bytes) -> str:
    """Normalize file content before hashing: UTF-8, no BOM, LF line endings."""
    if isinstance(content, bytes):
        content = content.decode("utf-8")
    if content.startswith("\ufeff"):
        content = content[1:]
    return content.replace("\r\n", "\n").replace("\r", "\n")


_SECRET = re.compile(r"""((?:PASSWORD|password)\s*(?:=\s*)?)('(?:[^']|'')*'|\$([A-Za-z_]*)\$.*?\$\3\$)""",
                     re.IGNORECASE | re.DOTALL)


def redact_sql(text: str) -> str:
    """Hide literal passwords in SQL shown to people or stored in history."""
    return _SECRET.sub(lambda m: m.group(1) + "'***'", text)


def checksum(content: str | bytes) -> str:
    """SHA-256 (hex) of the normalized content. Stable across bascule versions: do not change."""
    return hashlib.sha256(normalize_text(content).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Statement:
    """One SQL statement of a script.

    `line`/`column` are 1-based positions in `path`. `copy_data` holds the rows that follow a
    `COPY ... FROM STDIN` statement in the file (None otherwise). `no_transaction` is True when
    PostgreSQL refuses the statement inside a transaction block on every supported version;
    `no_transaction_before` is the server_version_num below which it is refused (ALTER TYPE ...
    ADD VALUE before PostgreSQL 12).
    """

    index: int
    sql: str
    path: str
    line: int
    column: int
    kind: str
    no_transaction: bool = False
    no_transaction_before: int | None = None
    copy_data: str | None = None
    autocommit_only: bool = False  # DO/CALL: may COMMIT inside, so never wrapped by bascule
    # (schema, index, table) of an index built CONCURRENTLY; the index lives in the table's schema
    concurrent_index: tuple[str | None, str, str] | None = None
    sets_session: bool = False  # SET (not SET LOCAL), SET ROLE, ...: changes the session for what follows
    # The parse tree (libpg_query JSON) for the analyzer; node locations inside it are byte
    # offsets in the parsed text, and `node_base` is this statement's own offset there.
    node: dict | None = field(default=None, compare=False, repr=False, hash=False)
    node_base: int = field(default=0, compare=False, repr=False)

    def needs_autocommit(self, server_version: int) -> bool:
        if self.no_transaction:
            return True
        return self.no_transaction_before is not None and server_version < self.no_transaction_before

    def preview(self, width: int = 200) -> str:
        """One line, secrets removed (PASSWORD '...' in CREATE/ALTER ROLE or USER MAPPING options)."""
        text = redact_sql(" ".join(self.sql.split()))
        return text if len(text) <= width else text[: width - 1] + "…"


@dataclass
class Script:
    """An up or down script: its text and where it came from."""

    path: Path
    text: str
    # Line in `path` where this script's text begins (1 for a whole file, more for sections).
    first_line: int = 1
    _statements: list[Statement] | None = field(default=None, repr=False, compare=False)
    dropped_transaction_control: bool = field(default=False, compare=False)

    @property
    def statements(self) -> list[Statement]:
        if self._statements is None:
            from bascule.sql import split_statements

            stmts, dropped = split_statements(self.text, str(self.path), self.first_line)
            self._statements = stmts
            self.dropped_transaction_control = dropped
        return self._statements

    def needs_autocommit(self, server_version: int) -> bool:
        return any(s.needs_autocommit(server_version) for s in self.statements)


def runs_in_transaction(mode: TransactionMode, script: Script, server_version: int) -> bool:
    """How the runner executes a script: "never" statement by statement, "always" as one
    transaction (a statement that refuses one is reported as a plan error before running), "auto"
    as one transaction unless a statement refuses it on this server version."""
    if mode == "never":
        return False
    if mode == "always":
        return True
    return not script.needs_autocommit(server_version)


@dataclass
class Migration:
    """One versioned (or repeatable) migration, whatever layout it was read from."""

    version: str
    name: str
    up: Script
    down: Script | None
    checksum: str
    layout: str
    path: Path  # the file or folder that holds the migration
    transaction: TransactionMode = "auto"
    description: str = ""
    depends_on: tuple[str, ...] = ()
    repeatable: bool = False
    lock_timeout: str | None = None
    statement_timeout: str | None = None
    down_checksum: str | None = None
    # verification metadata (migration.toml): expected row-count changes per table,
    # "table.column" the migration is meant to change, and custom checks
    expect_rows: dict[str, str] = field(default_factory=dict)
    expect_changes: tuple[str, ...] = ()
    checks: tuple[dict, ...] = ()

    @property
    def history_key(self) -> str:
        """The row's key in bascule.migrations: the version, or R:<name> for a repeatable one."""
        return f"R:{self.name}" if self.repeatable else self.version

    @property
    def label(self) -> str:
        return f"{self.version} {self.name}".strip()

    def runs_in_transaction(self, server_version: int, script: Script | None = None) -> bool:
        """Whether the script runs as one transaction on a server of this version."""
        return runs_in_transaction(self.transaction, script or self.up, server_version)
