"""B121 missing-statement-timeout: another tool runs the SQL, and a statement rewrites, scans or builds an
index on an existing table with no `SET statement_timeout` earlier in the file. Reported once per migration."""

from __future__ import annotations

from bascule.analyze.facts import RANK, SUE, bare
from bascule.analyze.model import Rule
from bascule.analyze.rules.missing_lock_timeout import unguarded

SETTING = "statement_timeout"


def check_migration(m):
    for st, f, created in unguarded(m, SETTING):
        work = [(e.table, verb, kind) for effects, verb, kind in ((f.rewrites, "rewrites", "rewrite"),
                                                                  (f.scans, "scans", "scan"),
                                                                  (f.index_builds, "builds an index on", "index"))
                for e in effects if bare(e.table) not in created
                # a scan under SHARE UPDATE EXCLUSIVE or weaker (VALIDATE CONSTRAINT) blocks no reads or
                # writes: it may take as long as it needs, and a timeout would only undo it
                and RANK.get(f.locks.get(e.table, ""), 99) > RANK[SUE]]
        if not work:
            continue
        table, verb, kind = work[0]
        yield m.finding(
            RULE, f"this statement {verb} {table} with no statement_timeout set earlier in this file: nothing bounds "
                  f"how long it holds its lock on {table}",
            stmt=st, table=table, lock=f.locks.get(table), work=kind)
        return


RULE = Rule(
    code="B121", name="missing-statement-timeout", severity="warning", category="locking",
    summary="a rewrite, full scan or index build runs with no statement_timeout set (when another tool runs the SQL)",
    why="A statement that rewrites or scans a whole table, or builds an index, holds its lock for as long as the "
        "work takes, which grows with the table. Without statement_timeout nothing stops it when the table turns "
        "out to be far larger in production than in testing, and the lock blocks traffic the whole time.",
    fix="Set a statement_timeout that matches what the application can tolerate (SET statement_timeout = '5min', "
        "SET LOCAL inside a transaction) before the slow statement, and use the non-blocking form where one "
        "exists (CREATE INDEX CONCURRENTLY, NOT VALID then VALIDATE). bascule's own runner manages timeouts; "
        "this check only runs when another tool runs the SQL.",
    peers=("squawk require-timeout-settings",),
    check_migration=check_migration,
    only_external=True,
)
