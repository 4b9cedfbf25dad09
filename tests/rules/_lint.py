"""Helpers for the per-rule tests: lint SQL with bascule's analyzer and pick one rule's findings."""

from __future__ import annotations

from bascule.analyze import lint_sql
from bascule.analyze.model import Finding


def hits(sql: str, code: str, **kw) -> list[Finding]:
    """Active (not suppressed) findings of rule `code` for the migration `sql` (kw: lint_sql's)."""
    return [f for f in lint_sql(sql, **kw).findings if f.code == code and not f.suppressed]


def fires(sql: str, code: str, **kw) -> bool:
    return bool(hits(sql, code, **kw))
