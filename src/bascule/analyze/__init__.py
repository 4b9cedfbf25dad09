"""The safety analyzer: facts per statement, context across statements and migrations, rules.

`lint_sql(text)` lints one SQL text (what tests and embedders use); `bascule lint` collects
migrations from folders, files or stdin (analyze/inputs.py) and calls `lint_units`.
"""

from __future__ import annotations

from pathlib import Path

from bascule.analyze.engine import LintOptions, LintResult, LintUnit, lint_units
from bascule.analyze.facts import NEWEST, OLDEST


def lint_sql(text: str, *, path: str = "migration.sql", down: str | None = None, transaction: str = "auto",
             before: list[str] | tuple[str, ...] = (), pg_version: int = NEWEST, runner: str = "bascule",
             expects_down: bool = False, live=None, disabled=(), only=None, enabled=()) -> LintResult:
    """Lint one migration's up SQL (and optional down SQL). `before` holds the SQL of earlier
    migrations, applied to the analyzer's knowledge of the schema but not reported."""
    from bascule.migration import Script

    units = [LintUnit(f"earlier {i + 1}", f"earlier_{i + 1}.sql", Script(Path(f"earlier_{i + 1}.sql"), sql),
                      report=False) for i, sql in enumerate(before)]
    units.append(LintUnit("migration", path, Script(Path(path), text),
                          Script(Path(Path(path).with_name("down.sql")), down) if down is not None else None,
                          transaction=transaction, expects_down=expects_down))
    opts = LintOptions(pg_version=pg_version, runner=runner, disabled=frozenset(disabled), enabled=frozenset(enabled),
                       enabled_only=frozenset(only) if only is not None else None, live=live)
    return lint_units(units, opts)


__all__ = ["lint_sql", "lint_units", "LintUnit", "LintOptions", "LintResult", "NEWEST", "OLDEST"]
