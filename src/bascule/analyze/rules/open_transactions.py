"""B190 open-transactions: with a connection, transactions open for long right now would make
this migration's locks wait (and everything behind them queue)."""

from __future__ import annotations

from bascule.analyze.facts import RANK, RE
from bascule.analyze.live import human_seconds
from bascule.analyze.model import Rule

OLDER_THAN_S = 60.0


def check_migration(m):
    live = m.opts.live
    if live is None:
        return
    locked = []
    for facts in m.facts:
        for table, mode in facts.locks.items():
            if RANK[mode] > RANK[RE] and table not in facts.creates and live.stats(table) is not None:
                locked.append((table, mode))
    if not locked:
        return
    txns = live.long_transactions(OLDER_THAN_S)
    if not txns:
        return
    oldest = txns[0]
    table, mode = max(locked, key=lambda tm: RANK[tm[1]])
    who = f"pid {oldest['pid']}" + (f" ({oldest['application']})" if oldest.get("application") else "")
    yield m.finding(RULE, f"{len(txns)} transaction(s) open now, the oldest for {human_seconds(oldest['seconds'])} "
                          f"({who}, {oldest['state']}): the {mode} on {table} waits for them if they touched it, "
                          "and every query on it queues behind the waiting lock", table=table)


RULE = Rule(
    code="B190", name="open-transactions", severity="warning", category="locking",
    summary="long-running transactions are open on the target right now",
    why="A lock request waits for every transaction holding a conflicting lock, and while it waits it blocks "
        "every later request on the table: one idle-in-transaction session turns a millisecond ALTER into "
        "an outage. Only checked with --env/--url.",
    fix="Find the sessions (pg_stat_activity) and let them finish or end them before migrating; keep "
        "lock_timeout short (bascule's runner sets it and retries with backoff).",
    peers=("(none: needs a live connection)",),
    check_migration=check_migration,
)
