"""Rehearsal reports: a terminal summary and a Markdown report with a per-statement timeline."""

from __future__ import annotations


def _ms(v) -> str:
    if v is None:
        return "-"
    return f"{v:.0f} ms" if v < 1000 else f"{v / 1000:.2f} s"


def _bytes(v) -> str:
    if v is None:
        return "-"
    for unit in ("B", "kB", "MB", "GB"):
        if abs(v) < 1024 or unit == "GB":
            return f"{v:.0f} {unit}" if unit == "B" else f"{v:.1f} {unit}"
        v /= 1024
    return str(v)


def _verdict(m) -> str:
    rt = m.round_trip or {}
    v = rt.get("verdict")
    if v == "differences":
        errs = [d for d in rt.get("differences", []) if d.get("severity") == "error"]
        return f"round trip: {len(errs)} difference(s)" + ("" if rt.get("up_again", "").endswith("ok")
                                                          else f"; {rt.get('up_again')}")
    if v == "down failed":
        return f"round trip: down failed ({rt.get('detail')})"
    return f"round trip: {v}" if v else ""


def _ver(n) -> str:
    return f"{n // 10000}.{n % 10000}" if n else "?"


def render_text(report) -> str:
    snap = report.snapshot
    head = (f"rehearsal of {len(report.migrations)} migration(s) from {report.source} "
            f"(PostgreSQL {_ver(report.source_server_version)}) on PostgreSQL {_ver(report.rehearsal_server_version)}")
    if snap:
        head += f"; {snap.kind} snapshot of {_bytes(snap.source_bytes)} in {snap.seconds:.1f} s"
    lines = [head]
    for m in report.migrations:
        s = m.summary or {}
        est = (f" (estimated in production: {_ms(m.estimated_production_ms)}: row-proportional statements scaled by each table's production rows)"
               if m.estimated_production_ms is not None else "")
        lines.append(f"  {m.version} {m.name}: {m.status}" + (f" in {_ms(m.duration_ms)}" if m.status == "applied" else "")
                     + est + (f" — {m.error}" if m.error else ""))
        if s:
            ael = s.get("longest_access_exclusive")
            parts = [f"WAL {_bytes(s.get('wal_bytes'))}"]
            if ael:
                parts.append(f"ACCESS EXCLUSIVE on {ael['relation']} held {_ms(ael['ms'])}")
            elif s.get("strongest_lock"):
                sl = s["strongest_lock"]
                parts.append(f"strongest lock {sl['mode']} on {sl['relation']} ({_ms(sl['ms'])})")
            if s.get("rewritten_tables"):
                parts.append("rewrites " + ", ".join(s["rewritten_tables"]))
            lines.append("      " + "; ".join(parts))
        for r in m.statements:
            lp = r.get("lock_prediction") or {}
            if lp.get("verdict") == "differs":
                lines.append(f"      locks differ from the prediction at line {r['line']}: {'; '.join(lp['details'])}")
        slow = sorted((r for r in m.statements if r.get("ms") is not None), key=lambda r: -r["ms"])[:3]
        for r in slow:
            if r["ms"] >= 100 or r is slow[0]:
                lines.append(f"      slowest: line {r['line']}: {r['preview'][:70]} ({_ms(r['ms'])})")
        if m.load:
            worst = max(m.load, key=lambda r: r["max_wait_ms"])
            drop = worst.get("throughput_drop")
            lines.append(f"      load: worst at line {worst['line']}: probes waited up to {_ms(worst['max_wait_ms'])} "
                         f"(p99 {_ms(worst['p99_wait_ms'])}), {worst['writes_blocked']} write(s) blocked, "
                         f"{worst['failed']} failed" + (f", throughput {-drop * 100:+.0f}%" if drop is not None else ""))
        if m.round_trip:
            lines.append(f"      {_verdict(m)}")
            for d in (m.round_trip.get("differences") or [])[:10]:
                lines.append(f"        - {d['message']}")
    for n in report.notes:
        lines.append(f"note: {n}")
    if report.evidence:
        lines.append(f"evidence: {report.evidence}")
    lines.append("verdict: " + ("PASSED" if report.passed else "FAILED"))
    return "\n".join(lines)


def render_markdown(report) -> str:
    out = [f"## Rehearsal: {'PASSED' if report.passed else 'FAILED'}", "",
           f"- source: `{report.source}` (PostgreSQL {_ver(report.source_server_version)})",
           f"- rehearsed on PostgreSQL {_ver(report.rehearsal_server_version)}"
           + (f", {report.snapshot.kind} snapshot of {_bytes(report.snapshot.source_bytes)}" if report.snapshot else ""),
           f"- started {report.started_at}, took {report.duration_s:.1f} s", ""]
    for m in report.migrations:
        out.append(f"### {m.version} {m.name}: {m.status}" + (f" ({_ms(m.duration_ms)})" if m.duration_ms else ""))
        if m.error:
            out.append(f"\n> {m.error}\n")
        if m.statements:
            out += ["", "| # | line | statement | time | rows | WAL | strongest lock | predicted | rewrite |",
                    "|---|---|---|---|---|---|---|---|---|"]
            for r in m.statements:
                sl = r.get("strongest_lock") or {}
                lock = f"{sl.get('mode', '')} on {sl.get('relation', '')} ({_ms(sl.get('ms'))})" if sl else ""
                if sl.get("inherited"):
                    lock += " (held since an earlier statement)"
                prev = r["preview"][:80].replace("|", "\\|")
                pred = ", ".join(f"{m_} on {rel}" for rel, m_ in (r.get("predicted_locks") or {}).items())
                verdict = (r.get("lock_prediction") or {}).get("verdict", "")
                out.append(f"| {r['index'] + 1} | {r['line']} | `{prev}` | {_ms(r.get('ms'))} | "
                           f"{r.get('rows') if r.get('rows') is not None else ''} | {_bytes(r.get('wal_bytes'))} | "
                           f"{lock} | {pred}{' (' + verdict + ')' if pred else ''} | "
                           f"{', '.join(r.get('rewritten') or [])} |")
        if m.round_trip:
            out += ["", f"**{_verdict(m)}**"]
            for d in m.round_trip.get("differences") or []:
                out.append(f"- {d['message']}")
        out.append("")
    for n in report.notes:
        out.append(f"_note: {n}_")
    return "\n".join(out)


def render_command(res: dict, markdown: bool = False) -> str:
    """Report of `bascule rehearse --command`: what another tool ran, statement by statement."""
    ok = res.get("exit_code") == 0
    if markdown:
        out = [f"## Rehearsal of `{res['command']}`: {'exit 0' if ok else 'FAILED, exit ' + str(res.get('exit_code'))}",
               "", "| # | statement | time | lock waits |", "|---|---|---|---|"]
        for i, st in enumerate(res.get("statements") or [], 1):
            sql = (st.get("sql") or "")[:100].replace("|", "\\|")
            out.append(f"| {i} | `{sql}` | {_ms(st.get('ms'))} | {len(st.get('lock_waits') or [])} |")
        out += ["", "Schema changes:"] + [f"- {c}" for c in res.get("schema_changes") or ["(none)"]]
        findings = (res.get("lint") or {}).get("findings") or []
        if findings:
            out += ["", "Lint of the statements it ran:", ""]
            out += [f"- #{f.get('statement')} **{f.get('severity')}** {f.get('code')} {f.get('name')}: {f.get('message')}"
                    for f in findings]
        return "\n".join(out)
    lines = [f"rehearsal of `{res['command']}`: exit {res.get('exit_code')}, {len(res.get('statements') or [])} "
             f"statement(s), {_ms(res.get('total_ms'))} in the database"]
    for st in res.get("slowest") or []:
        lines.append(f"  slowest: {_ms(st.get('ms'))}  {(st.get('sql') or '')[:90]}")
    waits = [w for st in res.get("statements") or [] for w in st.get("lock_waits") or []]
    for w in waits[:5]:
        lines.append(f"  lock wait: {w.get('message')}")
    changes = res.get("schema_changes")
    lines.append("schema changes: " + (", ".join(changes) if changes else "none"))
    lint = res.get("lint") or {}
    if lint.get("findings") is not None:
        c = lint.get("counts") or {}
        lines.append(f"lint of the statements it ran: {c.get('error', 0)} error(s), {c.get('warning', 0)} warning(s), "
                     f"{c.get('info', 0)} info")
        for f in lint["findings"]:
            if f.get("severity") != "info":
                lines.append(f"  #{f.get('statement')} {f.get('severity')} {f.get('code')} {f.get('name')}: "
                             f"{f.get('message')}")
    if not ok:
        lines.append("command output (last lines):")
        lines += [f"  {ln}" for ln in (res.get("output_tail") or "").splitlines()[-20:]]
    for n in res.get("notes") or []:
        lines.append(f"note: {n}")
    if res.get("evidence"):
        lines.append(f"evidence: {res['evidence']}")
    return "\n".join(lines)
