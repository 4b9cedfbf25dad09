"""B305 backfill-in-schema-transaction: a data change and a schema change on the same existing table in
one transaction."""

from __future__ import annotations

from bascule.analyze.facts import LOCK_NAMES, RANK, SHARE, bare, relkey
from bascule.analyze.model import Rule

_DATA = ("UpdateStmt", "DeleteStmt", "MergeStmt", "InsertStmt")
_SCHEMA = ("AlterTableStmt", "IndexStmt")
_VERB = {"UpdateStmt": "UPDATE", "DeleteStmt": "DELETE", "MergeStmt": "MERGE", "InsertStmt": "INSERT ... SELECT"}


def _backfill(kind: str, node: dict) -> str | None:
    """The table a data change rewrites rows of (INSERT only when it copies rows with a query)."""
    if kind not in _DATA:
        return None
    if kind == "InsertStmt":
        sel = (node.get("selectStmt") or {}).get("SelectStmt") or {}
        if not (sel.get("fromClause") or sel.get("op", "SETOP_NONE") != "SETOP_NONE"):
            return None
    return relkey(node.get("relation"))


def _schema_lock(kind: str, node: dict, locks: dict) -> tuple[str, str] | None:
    """(table, lock mode) of a schema change that blocks writes (SHARE or stronger)."""
    if kind not in _SCHEMA or (kind == "AlterTableStmt" and node.get("objtype", "OBJECT_TABLE") != "OBJECT_TABLE"):
        return None
    table = relkey(node.get("relation"))
    if not table:
        return None
    mode = locks.get(table)
    if mode is None or RANK[mode] < RANK[SHARE]:
        return None
    return table, mode


def _label(kind: str, node: dict) -> str:
    if kind == "IndexStmt":
        return "CREATE INDEX" + (f" {node['idxname']}" if node.get("idxname") else "")
    return "ALTER TABLE"


_state: list = [None, {}, {}, 0]  # [statements, schema changes, backfills, statements indexed]: one migration


def _index(s) -> tuple[dict, dict]:
    """For the migration being linted, up to this statement (built as the engine goes): table (bare) →
    [(statement index, line, label, mode)] of write-blocking schema changes, and table (bare) →
    [(statement index, line, verb)] of backfills."""
    if _state[0] is not s.statements:
        _state[:] = [s.statements, {}, {}, 0]
    _, schema, fills, done = _state
    for st in s.statements[done:s.st.index + 1]:
        node = st.node or {}
        t = _backfill(st.kind, node)
        if t is not None:
            fills.setdefault(bare(t), []).append((st.index, st.line, _VERB[st.kind]))
            continue
        hit = _schema_lock(st.kind, node, s.earlier_facts[st.index].locks)
        if hit is not None:
            schema.setdefault(bare(hit[0]), []).append((st.index, st.line, _label(st.kind, node), hit[1]))
    _state[3] = max(done, s.st.index + 1)
    return schema, fills


def check(s):
    if not s.transactional:
        return
    kind, node = s.tag, s.node
    table = _backfill(kind, node)
    if table is not None:
        if s.is_new(table):
            return
        schema, fills = _index(s)
        first = next(iter(schema.get(bare(table), ())), None)
        # once per table: on the first backfill after its first schema change
        if first is not None and first[0] < s.st.index and \
                next((e[0] for e in fills.get(bare(table), ()) if e[0] > first[0]), None) == s.st.index:
            _, line, label, mode = first
            yield s.finding(RULE, f"{_VERB[kind]} on {table} runs in the same transaction as the {label} on line {line}: "
                                  f"its {LOCK_NAMES[mode]} lock is held for the whole backfill, blocking "
                                  f"{'reads and writes' if mode == 'AccessExclusiveLock' else 'writes'} "
                                  f"of {table} until commit",
                            table=table, location=(node.get("relation") or {}).get("location"), lock=mode)
        return
    hit = _schema_lock(kind, node, s.facts.locks)
    if hit is None or s.is_new(hit[0]):
        return
    table, mode = hit
    schema, fills = _index(s)
    first = next(iter(fills.get(bare(table), ())), None)
    # once per table: on the first schema change after its first backfill
    if first is not None and first[0] < s.st.index and \
            next((e[0] for e in schema.get(bare(table), ()) if e[0] > first[0]), None) == s.st.index:
        _, line, verb = first
        changes = {e[0] for e in schema.get(bare(table), ())}
        if any(bare(t) == bare(table) and i < first[0] and i not in changes for t, (_m, i, _l) in s.held.items()):
            return  # LOCK TABLE before the backfill: it ran under ACCESS EXCLUSIVE already (B117), nothing new waits
        yield s.finding(RULE, f"{_label(kind, node)} on {table} runs in the same transaction as the {verb} on "
                              f"line {line}: every row the backfill changed stays locked while this statement "
                              f"waits for and holds {LOCK_NAMES[mode]} on {table}, until commit",
                        table=table, location=(node.get("relation") or {}).get("location"), lock=mode)


RULE = Rule(
    code="B305", name="backfill-in-schema-transaction", severity="warning", category="locking",
    summary="a backfill and a schema change on the same table in one transaction",
    why="Locks are released only at commit. A schema change takes ACCESS EXCLUSIVE (ALTER TABLE) or SHARE "
        "(CREATE INDEX) on the table, and a backfill locks every row it changes; in one transaction both are "
        "held together, so reads or writes of the table wait for the whole backfill, and a long UPDATE turns a "
        "millisecond catalog change into minutes of downtime.",
    fix="Split them: the schema change in one migration, the backfill in a separate migration that runs outside "
        "a transaction in batches (UPDATE ... WHERE id BETWEEN ... per batch, each committing), then any "
        "constraint that depends on the data (SET NOT NULL, VALIDATE) in a third.",
    kinds=_DATA + _SCHEMA,
    peers=("strong_migrations backfilling data",),
    check=check,
)
