"""Errors a user can cause. The CLI prints them as one line plus a hint, never a traceback."""

from __future__ import annotations

# Exit codes (see DESIGN.md): 0 ok, 1 findings/failed checks, 2 usage/config, 3 database.
EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_DATABASE = 3


class BasculeError(Exception):
    """Base class: a message, an optional hint and the process exit code."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def to_dict(self) -> dict:
        return {"error": type(self).__name__, "message": self.message, "hint": self.hint,
                "exit_code": self.exit_code}


class ConfigError(BasculeError):
    """bascule.toml missing or malformed, unknown environment, bad option value."""


class SourceError(BasculeError):
    """A migration file or folder that cannot be read: bad layout, duplicate version."""


class SqlSyntaxError(SourceError):
    """SQL that PostgreSQL's parser rejects; carries file, line and column."""

    def __init__(self, message: str, path: str, line: int, column: int, hint: str | None = None):
        super().__init__(f"{path}:{line}:{column}: {message}", hint)
        self.path = path
        self.line = line
        self.column = column


class PlanError(BasculeError):
    """The requested operation does not fit the history: unknown --to, no down, modified, out of order."""


class DatabaseError(BasculeError):
    """Unreachable server, authentication failure, a statement that failed."""

    exit_code = EXIT_DATABASE


class LockTimeoutError(DatabaseError):
    """Could not acquire a lock within lock_timeout after all retries."""


class MigrationFailed(DatabaseError):
    """A migration statement failed; history records where."""


class EmbeddedError(BasculeError):
    """The embedded PostgreSQL could not be initialised, started or stopped."""

    exit_code = EXIT_DATABASE
