"""B412 wide-index: a non-unique B-tree index with more than three key columns."""

from __future__ import annotations

from bascule.analyze.facts import relkey
from bascule.analyze.model import Rule

MAX_KEYS = 3


def check(s):
    node = s.node
    if node.get("unique") or (node.get("accessMethod") or "btree") != "btree":
        return
    keys = node.get("indexParams") or ()
    if len(keys) <= MAX_KEYS:
        return
    table = relkey(node.get("relation"))
    cols = [(k.get("IndexElem") or {}).get("name") or "(expression)" for k in keys]
    name = node.get("idxname")
    yield s.finding(RULE, f"index{' ' + name if name else ''} on {table} has {len(keys)} key columns "
                          f"({', '.join(cols)}): queries rarely use more than the first few, while every write to "
                          f"{table} maintains all of them and the index is large", table=table)


RULE = Rule(
    code="B412", name="wide-index", severity="info", category="design",
    summary="a non-unique B-tree index with more than three key columns",
    why="A B-tree index is searched by its leading columns; columns after the first two or three seldom narrow a "
        "search further, yet each one makes the index bigger (more pages to cache, vacuum and rebuild) and every "
        "INSERT and every UPDATE of an indexed column pays to maintain it. Such indexes are usually written for one "
        "query and then used by none.",
    fix="Index the leading columns the queries filter on (EXPLAIN shows which are used). To let a query be answered "
        "from the index alone, move the columns it only reads to INCLUDE (...), which PostgreSQL does not sort on. "
        "If the wide key is needed (a measured multi-column range query), suppress with that reason.",
    kinds=("IndexStmt",),
    peers=("strong_migrations add_index_columns",),
    check=check,
)
