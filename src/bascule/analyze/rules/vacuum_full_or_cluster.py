"""B110 vacuum-full-or-cluster: VACUUM FULL and CLUSTER rewrite the table under ACCESS EXCLUSIVE."""

from __future__ import annotations

from bascule.analyze.facts import AE, option_on, relkey
from bascule.analyze.model import Rule


def _full(node: dict) -> bool:
    return option_on(node.get("options"), "full")


def check(s):
    node = s.node
    if s.tag == "VacuumStmt":
        if not node.get("is_vacuumcmd") or not _full(node):
            return
        rels = [(r.get("VacuumRelation") or {}).get("relation") or {} for r in node.get("rels") or ()]
        if not rels:
            yield s.finding(RULE, "VACUUM FULL without a table rewrites every table of the database, each under "
                                  "ACCESS EXCLUSIVE: reads and writes of each wait while it is copied",
                            lock=AE, rewrite=True)
            return
        for rv in rels:
            table = relkey(rv)
            if table:
                yield s.finding(RULE, f"VACUUM FULL {table} rewrites {table} under ACCESS EXCLUSIVE: reads and "
                                      f"writes of {table} wait until the copy is done",
                                table=table, location=rv.get("location"), lock=AE, rewrite=True)
        return
    table = relkey(node.get("relation"))
    if not table:
        yield s.finding(RULE, "CLUSTER without a table rewrites every table clustered before, each under ACCESS "
                              "EXCLUSIVE: reads and writes of each wait while it is copied", lock=AE, rewrite=True)
        return
    yield s.finding(RULE, f"CLUSTER {table} rewrites {table} in index order under ACCESS EXCLUSIVE: reads and "
                          f"writes of {table} wait until the copy is done", table=table, lock=AE, rewrite=True)


RULE = Rule(
    code="B110", name="vacuum-full-or-cluster", severity="error", category="rewrite",
    summary="VACUUM FULL or CLUSTER rewrites the table while blocking reads and writes",
    why="VACUUM FULL and CLUSTER copy the whole table (and rebuild its indexes) into new files while holding an "
        "ACCESS EXCLUSIVE lock: no query can read or write the table until the copy ends, and the copy needs disk "
        "space for a second full copy of the table.",
    fix="To reclaim space online use pg_repack or pg_squeeze, which rebuild the table while it stays in use and "
        "lock it only briefly at the end. To make dead rows reusable, plain VACUUM is enough: it blocks neither "
        "reads nor writes (only a brief, conditional ACCESS EXCLUSIVE to truncate empty pages at the end; "
        "TRUNCATE false skips it). Maintenance is usually better run outside schema migrations.",
    kinds=("VacuumStmt", "ClusterStmt"),
    peers=(),
    check=check,
)
