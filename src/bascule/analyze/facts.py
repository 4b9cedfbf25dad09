"""Statement facts: which relations a statement locks, and in which mode, read from the parse
tree (PostgreSQL's documentation on explicit locking and ALTER TABLE is the source).

This is the first piece of the analyzer: data, tested on its own, reused by rehearsal to show
the predicted lock next to the observed one. Rewrites, scans and compatibility facts come with
the lint issue.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

MODES = ("AccessShareLock", "RowShareLock", "RowExclusiveLock", "ShareUpdateExclusiveLock", "ShareLock",
         "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock")
RANK = {m: i for i, m in enumerate(MODES)}
AE, SUE, SRE, SHARE, RE, AS = ("AccessExclusiveLock", "ShareUpdateExclusiveLock", "ShareRowExclusiveLock",
                               "ShareLock", "RowExclusiveLock", "AccessShareLock")

# ALTER TABLE subcommands that take less than ACCESS EXCLUSIVE (PostgreSQL 12+ documentation)
_ALTER_LOCKS = {
    "AT_ValidateConstraint": SUE,
    "AT_SetStatistics": SUE,
    "AT_ClusterOn": SUE,
    "AT_DropCluster": SUE,
    "AT_SetRelOptions": SUE,  # fillfactor, autovacuum_* and most storage parameters
    "AT_ResetRelOptions": SUE,
    "AT_EnableTrig": SRE, "AT_EnableAlwaysTrig": SRE, "AT_EnableReplicaTrig": SRE, "AT_DisableTrig": SRE,
    "AT_EnableTrigAll": SRE, "AT_DisableTrigAll": SRE, "AT_EnableTrigUser": SRE, "AT_DisableTrigUser": SRE,
    "AT_AttachPartition": SUE,  # on the parent; the partition itself: ACCESS EXCLUSIVE
}
_LOCK_STMT_MODES = {1: AS, 2: "RowShareLock", 3: RE, 4: SUE, 5: SHARE, 6: SRE, 7: "ExclusiveLock", 8: AE}


@dataclass
class StatementLocks:
    """Relation name (as written, schema-qualified when it was) → strongest mode predicted."""

    locks: dict[str, str] = field(default_factory=dict)

    def take(self, rel: dict | None, mode: str) -> None:
        if not rel or "relname" not in rel:
            return
        name = f"{rel['schemaname']}.{rel['relname']}" if rel.get("schemaname") else rel["relname"]
        if RANK[mode] > RANK.get(self.locks.get(name, ""), -1):
            self.locks[name] = mode

    def strongest(self) -> tuple[str, str] | None:
        if not self.locks:
            return None
        return max(self.locks.items(), key=lambda kv: RANK[kv[1]])


def _reads(node, out: StatementLocks) -> None:
    """Every other relation a statement mentions is read: ACCESS SHARE."""
    if isinstance(node, dict):
        if "relname" in node and "relpersistence" in node:
            out.take(node, AS)
        for v in node.values():
            _reads(v, out)
    elif isinstance(node, list):
        for v in node:
            _reads(v, out)


def predicted_locks(sql: str) -> StatementLocks:
    """Locks one statement takes on the relations it names (strongest per relation)."""
    from pglast import parser

    out = StatementLocks()
    try:
        tree = json.loads(parser.parse_sql_json(sql))
    except parser.ParseError:
        return out
    for item in tree.get("stmts") or ():
        (tag, node), = item["stmt"].items()
        _reads(node, out)
        rel = node.get("relation")
        if tag == "AlterTableStmt":
            for cmd in node.get("cmds") or ():
                c = cmd.get("AlterTableCmd", {})
                sub = c.get("subtype")
                mode = _ALTER_LOCKS.get(sub, AE)
                d = c.get("def") or {}
                con = d.get("Constraint") or {}
                if sub == "AT_AddConstraint" and con.get("contype") == "CONSTR_FOREIGN":
                    mode = SRE  # both the table and the referenced table
                    out.take(con.get("pktable"), SRE)
                if sub == "AT_AttachPartition":
                    out.take((d.get("PartitionCmd") or {}).get("name"), AE)
                if sub == "AT_DetachPartition":
                    concurrent = (d.get("PartitionCmd") or {}).get("concurrent")
                    mode = SUE if concurrent else AE
                    out.take((d.get("PartitionCmd") or {}).get("name"), SUE if concurrent else AE)
                out.take(rel, mode)
        elif tag == "IndexStmt":
            out.take(rel, SUE if node.get("concurrent") else SHARE)
        elif tag in ("InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"):
            out.take(rel, RE)
        elif tag == "CopyStmt" and node.get("is_from"):
            out.take(rel, RE)
        elif tag == "TruncateStmt":
            for r in node.get("relations") or ():
                out.take(r.get("RangeVar"), AE)
        elif tag == "VacuumStmt":
            full = any((o.get("DefElem") or {}).get("defname") == "full" for o in node.get("options") or ())
            for r in node.get("rels") or ():
                out.take((r.get("VacuumRelation") or {}).get("relation"), AE if full else SUE)
        elif tag == "ClusterStmt":
            out.take(rel, AE)
        elif tag == "ReindexStmt":
            concurrent = any((p.get("DefElem") or {}).get("defname") == "concurrently" for p in node.get("params") or ())
            out.take(rel, SUE if concurrent else SHARE)
        elif tag == "CreateTrigStmt":
            out.take(rel, SRE)
        elif tag == "RenameStmt" or tag == "RuleStmt":
            out.take(rel, AE)
        elif tag == "LockStmt":
            for r in node.get("relations") or ():
                out.take(r.get("RangeVar"), _LOCK_STMT_MODES.get(node.get("mode", 8), AE))
        elif tag == "DropStmt" and node.get("removeType") in ("OBJECT_TABLE", "OBJECT_INDEX", "OBJECT_VIEW",
                                                               "OBJECT_MATVIEW", "OBJECT_SEQUENCE"):
            mode = SUE if node.get("concurrent") else AE
            for obj in node.get("objects") or ():
                names = [i["String"]["sval"] for i in (obj.get("List") or {}).get("items", []) if "String" in i]
                if names:
                    out.take({"schemaname": names[-2] if len(names) > 1 else None, "relname": names[-1]}, mode)
        elif tag == "RefreshMatViewStmt":
            out.take(rel, "ExclusiveLock" if node.get("concurrent") else AE)
    return out


def compare_with_observed(predicted: StatementLocks, observed: list[dict]) -> dict:
    """Prediction next to what the rehearsal profiler saw for one statement.

    observed: the profiler's `locks` (granted; each with relation, mode, inherited). Returns
    {"verdict": "agrees" | "differs" | "unconfirmed", "details": [...]}. A lock the sampler
    did not catch (a statement shorter than one sample) is "unconfirmed", not a disagreement;
    a stronger observed lock than predicted, or a different mode seen where one was predicted,
    is a disagreement."""
    def short(name: str) -> str:
        return name.rsplit(".", 1)[-1].strip('"')

    seen: dict[str, list[str]] = {}
    for lk in observed:
        if lk.get("inherited"):
            continue
        seen.setdefault(short(lk["relation"]), []).append(lk["mode"])
    details = []
    verdict = "agrees"
    for rel, mode in predicted.locks.items():
        modes = seen.get(short(rel))
        if not modes:
            if verdict == "agrees":
                verdict = "unconfirmed"
            continue
        strongest = max(modes, key=lambda m: RANK.get(m, -1))
        if strongest != mode:
            verdict = "differs"
            details.append(f"{rel}: predicted {mode}, observed {strongest}")
    return {"verdict": verdict, "details": details}
