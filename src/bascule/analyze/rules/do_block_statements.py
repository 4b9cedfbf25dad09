"""B503 do-block-statements: the statements inside a DO block, checked for the locks, rewrites and
scans they take (PL/pgSQL bodies are parsed with PostgreSQL's own PL/pgSQL parser)."""

from __future__ import annotations

import json

from bascule.analyze.facts import LOCK_NAMES, RANK, SHARE, parse, statement_facts
from bascule.analyze.model import Rule
from bascule.sql import do_body, parse_do_body


def _statements(tree):
    """(lineno, query) of each static SQL statement, and the line numbers of dynamic EXECUTEs."""
    static, dynamic = [], []
    stack = [tree]
    while stack:
        n = stack.pop()
        if isinstance(n, dict):
            ex = n.get("PLpgSQL_stmt_execsql")
            if ex is not None:
                q = ((ex.get("sqlstmt") or {}).get("PLpgSQL_expr") or {}).get("query")
                if q:
                    static.append((ex.get("lineno", 1), q))
                continue
            dyn = n.get("PLpgSQL_stmt_dynexecute")
            if dyn is not None:
                dynamic.append(dyn.get("lineno", 1))
                continue
            stack.extend(v for v in n.values() if isinstance(v, (dict, list)))
        elif isinstance(n, list):
            stack.extend(v for v in n if isinstance(v, (dict, list)))
    return sorted(static), sorted(dynamic)


def check(s):
    body, lang = do_body(s.node)
    if not body or lang != "plpgsql" or "$bascule_do$" in body:
        return
    try:
        tree = json.loads(parse_do_body(body))
    except Exception:  # PostgreSQL reports a PL/pgSQL error when the block runs; nothing to check here
        return
    start = s.st.sql.find(body)
    first = s.st.line + (s.st.sql.count("\n", 0, start) if start >= 0 else 0)
    static, dynamic = _statements(tree)
    for lineno, query in static:
        try:
            parsed = parse(query)
        except Exception:
            continue
        for tag, node in parsed:
            f = statement_facts(tag, node, s.version, s.known, reads=False)
            work = ([("rewrites", e) for e in f.rewrites] + [("scans", e) for e in f.scans]
                    + [("builds an index on", e) for e in f.index_builds])
            strong = [(t, m) for t, m in f.locks.items() if RANK[m] >= RANK[SHARE] and not s.is_new(t)
                      and t not in f.creates]
            if not work and not strong:
                continue
            table, mode = max(strong, key=lambda tm: RANK[tm[1]]) if strong else (work[0][1].table, None)
            what = (f"{work[0][0]} {work[0][1].table} ({work[0][1].reason})" if work
                    else f"takes {LOCK_NAMES[mode]} on {table}")
            preview = " ".join(query.split())
            preview = preview if len(preview) <= 70 else preview[:69] + "…"
            finding = s.finding(RULE, f"inside the DO block: {preview} {what}"
                                      + (f" under {LOCK_NAMES[mode]}" if work and mode else ""),
                                table=work[0][1].table if work else table, lock=mode)
            if finding is not None:
                finding.line, finding.column = first + lineno - 1, 1
                yield finding
    if dynamic:
        f = s.finding(RULE, f"the DO block runs dynamic SQL (EXECUTE, line {first + dynamic[0] - 1}): bascule cannot "
                            "see which tables it locks or rewrites; review it by hand", severity="info")
        if f is not None:
            f.line, f.column = first + dynamic[0] - 1, 1
            yield f


RULE = Rule(
    code="B503", name="do-block-statements", severity="warning", category="locking",
    summary="a statement inside a DO block takes a strong lock, rewrites or scans a table",
    why="Statements inside DO $$ ... $$ run like any other: an ALTER TABLE there takes the same ACCESS EXCLUSIVE "
        "lock and rewrites the same table, and a CREATE INDEX there blocks writes just the same. Every statement "
        "of the block runs in one transaction unless the block COMMITs, so its locks are held until the block "
        "ends. Linters that only read top-level statements never see them; bascule parses the block with "
        "PostgreSQL's PL/pgSQL parser and checks its static SQL. Dynamic SQL (EXECUTE) cannot be checked.",
    fix="Move schema changes out of DO blocks into plain statements, where each one is checked (and --fix can "
        "rewrite it). Keep DO blocks for batched data changes that COMMIT between batches.",
    kinds=("DoStmt",),
    peers=("(none: squawk, strong_migrations, Atlas and Eugene do not look inside DO blocks)",),
    check=check,
)
