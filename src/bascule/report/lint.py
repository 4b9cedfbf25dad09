"""Renderers for `bascule lint`: human text, JSON, SARIF 2.1.0 and GitHub workflow annotations.

Rendering only: every figure was computed by the analyzer.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

from bascule import __version__
from bascule.analyze.engine import LintResult
from bascule.analyze.facts import LOCK_NAMES
from bascule.analyze.inputs import STDIN
from bascule.analyze.model import Finding, Rule


def lock_name(mode: str | None) -> str:
    return LOCK_NAMES.get(mode or "", mode or "")


def _source_line(sources: dict[str, list[str]], path: str, line: int) -> str | None:
    lines = sources.get(path)
    if lines is None:
        try:
            lines = Path(path).read_text(encoding="utf-8", errors="replace").split("\n")
        except OSError:
            lines = []
        sources[path] = lines
    return lines[line - 1] if 0 < line <= len(lines) else None


# Tables named in a migration's summary line before the rest are counted (-v and JSON list all).
SUMMARY_TABLES = 8


def render_text(result: LintResult, sources: dict[str, list[str]] | None = None, color: bool = False,
                verbose: bool = False) -> str:
    sources = dict(sources or {})
    out: list[str] = []
    n = result.files
    mode = ("sized against the live database" if result.live else
            "static (no connection: table sizes unknown; pass --env or --url for estimates)")
    out.append(f"bascule lint: {n} migration{'s' if n != 1 else ''}, PostgreSQL {result.pg_version}, {mode}")
    if result.live:
        lv = result.live
        rates = lv.get("rates_mb_s", {})
        probe = ("measured" if lv.get("probed") else "defaults (probe skipped or not allowed)")
        out.append(f"  server {lv.get('server_version')}; throughput {probe}: write {rates.get('write')} MB/s, "
                   f"scan {rates.get('scan')} MB/s, index build {rates.get('index')} MB/s")
    out.append("")
    width = max((len(m.label) for m in result.migrations), default=0)
    for m in result.migrations:
        tables = (m.strongest_tables or [m.strongest_lock[1]]) if m.strongest_lock else []
        if len(tables) > SUMMARY_TABLES and not verbose:  # an ALTER of a table with 2,000 partitions locks all
            shown = f"{', '.join(tables[:SUMMARY_TABLES])} and {len(tables) - SUMMARY_TABLES:,} more (-v lists them)"
        else:
            shown = ", ".join(tables)
        lock = (f"strongest lock: {lock_name(m.strongest_lock[0])} on {shown}"
                if m.strongest_lock else "no lock on an existing table")
        out.append(f"  {m.label:<{width}}  [{', '.join(m.classification)}]  {lock}"
                   + ("" if m.transactional else "  (runs statement by statement)"))
        if verbose:
            for r in m.rewrites:
                out.append(f"      rewrites {r}")
    if result.migrations:
        out.append("")
    explained: set[str] = set()
    for f in result.findings:
        if f.suppressed and not verbose:
            continue
        # why and fix once per rule (every time with --verbose): 500 copies of the same paragraph
        # hide the findings they explain
        out += _finding_text(f, sources, color, explain=verbose or f.code not in explained)
        explained.add(f.code)
    c = result.counts()
    out.append(f"{c['error']} error(s), {c['warning']} warning(s), {c['info']} info"
               + (f", {c['suppressed']} suppressed" if c["suppressed"] else ""))
    return "\n".join(out)


def _finding_text(f: Finding, sources: dict, color: bool, explain: bool = True) -> list[str]:
    sev = f.severity
    if color:
        tint = {"error": "31", "warning": "33", "info": "36"}[sev]
        sev = f"\x1b[1;{tint}m{sev}\x1b[0m"
    head = f"{f.path}:{f.line}:{f.column}: {sev} {f.code} {f.name}"
    if f.suppressed:
        head += f" (suppressed: {f.suppressed})"
    lines = [head, f"  {f.message}"]
    src = _source_line(sources, f.path, f.line)
    if src is not None and src.strip():
        gutter = str(f.line)
        lines.append(f"  {gutter} | {src.rstrip()}")
        lines.append(f"  {' ' * len(gutter)} | {' ' * max(f.column - 1, 0)}^")
    for note in f.notes:
        lines.append(f"  {note}" if note.startswith("size: ") else f"  note: {note}")
    if not explain:
        lines.append(f"  (why and fix: above, at the first {f.code}; docs/rules/{f.code}.md)")
    else:
        if f.why:
            lines.append(f"  why: {f.why}")
        if f.fix:
            lines.append(f"  fix: {f.fix}" + ("  (bascule lint --fix)" if f.fixable and "--fix" not in f.fix else ""))
    lines.append("")
    return lines


def render_json(result: LintResult) -> str:
    doc = {
        "tool": "bascule", "version": __version__, "pg_version": result.pg_version,
        "static": result.live is None, "live": result.live,
        "migrations": [m.to_dict() for m in result.migrations],
        "findings": [f.to_dict(texts=False) for f in result.findings],
        "rules": _rules_used(result),
        "counts": result.counts(), "exit_code": result.exit_code(),
    }
    return json.dumps(doc, default=str)


def _rules_used(result: LintResult) -> dict:
    """Each rule that produced a finding, once: why it matters and the safe alternative."""
    from bascule.analyze.rules import by_code

    known = by_code()
    out = {}
    for f in result.findings:
        if f.code not in out and f.code in known:
            r = known[f.code]
            out[f.code] = {"name": r.name, "severity": r.severity, "category": r.category, "summary": r.summary,
                           "why": r.why, "fix": r.fix, "fixable": r.fixable, "docs": r.docs}
    return out


_SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def _repo_root(folder: Path) -> Path | None:
    """The top level of the git repository holding `folder` (symbolic links resolved), or None
    outside one or when git cannot tell."""
    from bascule.analyze.inputs import repository
    from bascule.errors import ConfigError

    try:
        top = repository(folder)
    except ConfigError:  # no git, or git failed: report paths without a repository
        return None
    return Path(os.path.realpath(top)) if top is not None else None


@lru_cache(maxsize=4096)
def report_path(path: str) -> str:
    """A finding's file as GitHub and code scanning want it: relative to the root of the git
    repository holding it (so a job working in backend/ still says backend/migrations/...);
    outside a repository, relative to the current directory, else absolute. '/' separated."""
    p = Path(path)
    absolute = Path(os.path.realpath(p.parent if str(p.parent) else ".")) / p.name  # the file itself may be a link
    top = _repo_root(absolute.parent)
    for base in (top, Path(os.path.realpath(Path.cwd()))):
        if base is None:
            continue
        try:
            return absolute.relative_to(base).as_posix()
        except ValueError:
            continue
    return absolute.as_posix()


def _artifact(path: str) -> dict:
    """A SARIF artifactLocation: a percent-encoded URI reference relative to the repository root
    (an absolute file: URI outside any repository and the current directory); stdin has no URI,
    only a description."""
    if path == STDIN:
        return {"description": {"text": "standard input (no file)"}}
    rel = report_path(path)
    if rel.startswith("/"):
        return {"uri": Path(rel).as_uri()}
    return {"uri": quote(os.fsencode(rel), safe="/")}  # bytes: a name that is not UTF-8 keeps its bytes


def render_sarif(result: LintResult, rules: list[Rule]) -> str:
    """SARIF 2.1.0, as GitHub code scanning accepts it."""
    index = {r.code: i for i, r in enumerate(rules)}
    driver_rules = []
    for r in rules:
        driver_rules.append({
            "id": r.code, "name": r.name,
            "shortDescription": {"text": r.summary},
            "fullDescription": {"text": r.why},
            "help": {"text": r.fix, "markdown": f"**Why:** {r.why}\n\n**Safe alternative:** {r.fix}"},
            "defaultConfiguration": {"level": _SARIF_LEVEL[r.severity]},
            "properties": {"category": r.category, "tags": [r.category, "postgresql", "migration"]},
        })
    results = []
    for f in result.findings:
        res = {
            "ruleId": f.code,
            "level": _SARIF_LEVEL[f.severity],
            "message": {"text": f.message + (f" ({'; '.join(f.notes)})" if f.notes else "")},
            "locations": [{"physicalLocation": {
                "artifactLocation": _artifact(f.path),
                "region": {"startLine": max(f.line, 1), "startColumn": max(f.column, 1)},
            }}],
        }
        if f.code in index:
            res["ruleIndex"] = index[f.code]
        if f.suppressed:
            res["suppressions"] = [{"kind": "inSource", "justification": f.suppressed}]
        if f.estimate:
            res["properties"] = {"estimate": f.estimate}
        results.append(res)
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "bascule", "version": __version__, "semanticVersion": __version__,
                                "informationUri": "https://github.com/bascule/bascule", "rules": driver_rules}},
            "results": results,
        }],
    }
    return json.dumps(doc, indent=2)


def _gh_escape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def render_github(result: LintResult) -> str:
    """GitHub Actions workflow commands: one annotation per active finding, its file relative to
    the repository root (report_path)."""
    lines = []
    for f in result.active:
        cmd = {"error": "error", "warning": "warning", "info": "notice"}[f.severity]
        where = ("" if f.path == STDIN else  # stdin is no file of the repository: an annotation of the run
                 f"file={_gh_escape(report_path(f.path), True)},line={f.line},col={f.column},")
        props = f"{where}title={_gh_escape(f'{f.code} {f.name}', True)}"
        msg = f.message + (f" — {f.fix}" if f.fix else "")
        lines.append(f"::{cmd} {props}::{_gh_escape(msg)}")
    c = result.counts()
    lines.append(f"bascule lint: {c['error']} error(s), {c['warning']} warning(s), {c['info']} info")
    return "\n".join(lines)
