"""B120 missing-lock-timeout: another tool runs the SQL, and a statement takes a lock stronger than ROW
EXCLUSIVE on an existing table with no `SET lock_timeout` earlier in the file. Reported once per migration."""

from __future__ import annotations

from bascule.analyze.facts import BLOCKS, LOCK_NAMES, RANK, RE, bare
from bascule.analyze.model import Rule

SETTING = "lock_timeout"


def _zero(args) -> bool:
    """SET x = 0 / '0' / '0s': the timeout is disabled."""
    for a in args or ():
        c = a.get("A_Const") or {}
        if "ival" in c:
            return not (c["ival"] or {}).get("ival")
        if "sval" in c:
            text = (c["sval"] or {}).get("sval", "").strip().lower().rstrip("abcdefghijklmnopqrstuvwxyz ")
            try:
                return float(text) == 0
            except ValueError:
                return False
    return False


def timeout_state(kind: str, node: dict, setting: str, current: bool) -> bool:
    """Whether `setting` holds a non-zero value after this statement (SET, SET LOCAL, RESET, set_config())."""
    if kind == "VariableSetStmt":
        k = node.get("kind")
        if k == "VAR_RESET_ALL":
            return False
        if node.get("name") != setting:
            return current
        if k == "VAR_SET_VALUE":
            return not _zero(node.get("args"))
        if k in ("VAR_SET_DEFAULT", "VAR_RESET"):
            return False
        return current
    if kind == "SelectStmt":
        for t in node.get("targetList") or ():
            fc = ((t.get("ResTarget") or {}).get("val") or {}).get("FuncCall") or {}
            names = [n["String"]["sval"] for n in fc.get("funcname") or () if "String" in n]
            args = fc.get("args") or ()
            if names and names[-1] == "set_config" and len(args) >= 2:
                first = ((args[0].get("A_Const") or {}).get("sval") or {}).get("sval")
                if first == setting:
                    return not _zero(args[1:2])
    return current


def unguarded(m, setting: str):
    """(statement, facts, tables created so far) for each statement of the migration that runs
    while `setting` is not in force (never set, or set back to 0, DEFAULT or RESET)."""
    on = False
    created: set[str] = set()
    for st, f in zip(m.statements, m.facts, strict=True):
        on = timeout_state(st.kind, st.node or {}, setting, on)
        created = created | {bare(c) for c in f.creates}
        if not on:
            yield st, f, created


def check_migration(m):
    for st, f, created in unguarded(m, SETTING):
        strong = [(t, mode) for t, mode in f.locks.items() if RANK[mode] > RANK[RE] and bare(t) not in created]
        if not strong:
            continue
        table, mode = max(strong, key=lambda tm: RANK[tm[1]])
        yield m.finding(
            RULE, f"{LOCK_NAMES[mode]} lock on {table} with no lock_timeout set earlier in this file: if another "
                  "session holds a conflicting lock, this statement waits without limit, and what its lock would "
                  f"block queues behind it meanwhile ({LOCK_NAMES[mode]} {BLOCKS[mode]})",
            stmt=st, table=table, lock=mode, work="lock")
        return


RULE = Rule(
    code="B120", name="missing-lock-timeout", severity="warning", category="locking",
    summary="a strong lock is taken with no lock_timeout set (when another tool runs the SQL)",
    why="A statement that needs a lock waits for every conflicting lock held by other sessions, with no limit "
        "unless lock_timeout is set. While it waits, PostgreSQL queues every later request that conflicts with "
        "the lock it is waiting for behind it: one long-running query on the table and an ALTER TABLE waiting "
        "for ACCESS EXCLUSIVE stop all reads and writes of that table.",
    fix="Start the migration with SET lock_timeout = '5s' (SET LOCAL inside a transaction) and retry the "
        "migration when it times out. bascule's own runner always sets lock_timeout and retries; this check "
        "only runs when another tool runs the SQL.",
    peers=("squawk require-timeout-settings", "Eugene E9"),
    check_migration=check_migration,
    only_external=True,
)
