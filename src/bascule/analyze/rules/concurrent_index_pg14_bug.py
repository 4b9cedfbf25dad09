"""B124 concurrent-index-pg14-bug: with a connection, CREATE INDEX CONCURRENTLY or REINDEX CONCURRENTLY on
PostgreSQL 14.0 to 14.3, whose concurrent builds could miss rows (fixed in 14.4)."""

from __future__ import annotations

from bascule.analyze.facts import bare, relkey
from bascule.analyze.model import Rule

FIRST_BAD, FIXED = 140000, 140004


def _reindex_concurrently(node: dict) -> bool:
    for p in node.get("params") or ():
        d = p.get("DefElem") or {}
        if d.get("defname") == "concurrently":
            arg = d.get("arg") or {}
            if "String" in arg:  # (CONCURRENTLY false), (CONCURRENTLY off)
                return arg["String"].get("sval", "").lower() not in ("false", "off", "no", "0")
            if "Integer" in arg:  # (CONCURRENTLY 0)
                return bool((arg["Integer"] or {}).get("ival"))
            return True
    return False


def check(s):
    live = s.opts.live
    version = getattr(live, "version", None) if live is not None else None
    if not version or not FIRST_BAD <= version < FIXED:
        return
    node = s.node
    rel = relkey(node.get("relation"))
    if s.tag == "IndexStmt":
        if not node.get("concurrent"):
            return
        table, what = rel, f"CREATE INDEX CONCURRENTLY{' ' + node['idxname'] if node.get('idxname') else ''}"
    else:
        if not _reindex_concurrently(node):
            return
        kind = node.get("kind", "").removeprefix("REINDEX_OBJECT_")
        table = (s.known.index_table(bare(rel)) or rel) if kind == "INDEX" and rel else rel
        what = f"REINDEX {kind} CONCURRENTLY {rel or node.get('name') or ''}".rstrip()
    if table and s.is_new(table):
        return  # nobody writes to a table created by this migration while the index builds
    minor = f"{version // 10000}.{version % 100}"
    yield s.finding(RULE, f"{what}{' on ' + table if table and s.tag == 'IndexStmt' else ''}: the target runs "
                          f"PostgreSQL {minor}, whose concurrent index builds can silently leave out rows updated "
                          "during the build (fixed in 14.4): queries using the index then miss those rows", table=table)


RULE = Rule(
    code="B124", name="concurrent-index-pg14-bug", severity="error", category="data-loss",
    summary="a concurrent index build on PostgreSQL 14.0-14.3 can produce a corrupt index",
    why="PostgreSQL 14.0 to 14.3 have a bug in CREATE INDEX CONCURRENTLY and REINDEX CONCURRENTLY: rows that are "
        "HOT-updated (and pruned) while the index is being built can be left out of it. Nothing reports an error; "
        "queries that use the index miss those rows, and a unique index can let duplicates in. Only checked with "
        "--env/--url, which give the server's minor version.",
    fix="Upgrade the server to 14.4 or later before building indexes concurrently (or, on a table nobody writes to "
        "during the build, build it without CONCURRENTLY). Indexes already built concurrently on 14.0-14.3 should be "
        "rebuilt after the upgrade (REINDEX INDEX CONCURRENTLY); amcheck finds the missing entries with "
        "bt_index_check(index, heapallindexed => true) or pg_amcheck --heapallindexed.",
    kinds=("IndexStmt", "ReindexStmt"),
    peers=("strong_migrations add_index_corruption",),
    check=check,
)
