"""B304 missing-down: a migration without a down migration, in a layout that has them."""

from __future__ import annotations

from bascule.analyze.model import Rule


def check_migration(m):
    u = m.unit
    if u.expects_down and u.down is None:
        yield m.finding(RULE, f"migration {u.label} has no down migration: it cannot be rolled back by bascule down")


RULE = Rule(
    code="B304", name="missing-down", severity="warning", category="data-loss",
    summary="the migration has no down migration",
    why="Without a down migration, a bad deploy is undone by hand, under pressure. Rehearsal cannot prove "
        "the migration reversible either.",
    fix="Write the down migration (down.sql, or the layout's equivalent). If the change truly cannot be "
        "undone (data deleted), say so in a down that raises an error, and suppress this finding with a reason.",
    peers=("Atlas (migrate lint: no down)",),
    check_migration=check_migration,
)
