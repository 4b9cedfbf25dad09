"""`-- bascule:ignore CODE reason` comments.

On a line with SQL, or on its own line(s) just above a statement, the comment applies to that
statement. `-- bascule:ignore-file CODE reason` applies to the whole file. Several codes may be
given, separated by commas; codes (any case) or rule names both work. A reason is required: a
suppression without one is reported (B902) and not applied. A suppression that matched nothing
is reported (B901), and so is an unknown code (B903); a suppression of a rule that did not run
(disabled, or left out by `only`) is not "unused".

Only real SQL comments count: `-- ...` and `/* ... */`, as PostgreSQL's own scanner finds them.
The same text inside a string literal, a quoted identifier or a dollar-quoted body (a function
or DO block) is SQL, not a comment.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field

from bascule.analyze.model import Finding

_DIRECTIVE = re.compile(r"(?:^[\s*]*|--\s*)bascule:ignore(?P<file>-file)?"
                        r"(?:\s+(?P<codes>[A-Za-z0-9_,\-]+(?:\s*,\s*[A-Za-z0-9_\-]+)*))?(?P<reason>.*)$")
_COMMENTS = ("SQL_COMMENT", "C_COMMENT")
SUPPRESSION_CODES = ("B901", "B902", "B903")

@dataclass
class Suppression:
    path: str
    line: int  # where the comment is
    target: int | None  # the line of the statement it applies to (None: whole file)
    codes: list[str]
    reason: str
    used: set = field(default_factory=set)


def _tokens(text: str) -> list:
    """PostgreSQL's tokens of `text` (character offsets, end inclusive). Text that does not scan
    (an unterminated string or comment: the file is a syntax error anyway) gives the tokens
    before the error."""
    from bascule.sql import scan_prefix

    return scan_prefix(text) or []


def _body(token_text: str) -> str:
    if token_text.startswith("--"):
        return token_text[2:].strip()
    inner = token_text[2:-2] if token_text.endswith("*/") else token_text[2:]
    return " ".join(part.strip().lstrip("*").strip() for part in inner.split("\n")).strip()


def parse(text: str, path: str, first_line: int = 1) -> list[Suppression]:
    if "bascule:ignore" not in text:
        return []
    tokens = _tokens(text)
    starts = [0] + [m.end() for m in re.finditer("\n", text)]  # offset of each line's start

    def line_of(offset: int) -> int:  # 0-based
        return bisect_right(starts, offset) - 1

    out = []
    for k, tok in enumerate(tokens):
        if tok.name not in _COMMENTS:
            continue
        raw = text[tok.start:tok.end + 1]
        if "bascule:ignore" not in raw:
            continue
        m = _DIRECTIVE.search(_body(raw))
        if not m:
            continue
        codes = [c.strip() for c in (m.group("codes") or "").split(",") if c.strip()]
        reason = m.group("reason").strip().strip("-:— ").strip()
        line = line_of(tok.start)
        target = None
        if not m.group("file"):
            before = next((tokens[j] for j in range(k - 1, -1, -1) if tokens[j].name not in _COMMENTS), None)
            if before is not None and line_of(before.end) == line:  # SQL on the comment's line
                target = first_line + line
            else:  # the statement that starts after it
                after = next((tokens[j] for j in range(k + 1, len(tokens)) if tokens[j].name not in _COMMENTS), None)
                target = first_line + (line_of(after.start) if after is not None else len(starts))
        out.append(Suppression(path, first_line + line, target, codes, reason))
    return out


def _canonical(known: dict, name: str):
    """The rule a suppression names: a code in any case, or a name (rules.by_code holds both)."""
    return known.get(name) or known.get(name.lower())


def rules_run(opts) -> frozenset:
    """Codes of the rules a lint with these options runs: the registry's rules that dispatch
    selects, and the suppression checks (B901-B903) not disabled or left out by `only`."""
    from bascule.analyze import rules as registry

    known = registry.by_code()

    def codes(values) -> set:
        return {r.code for r in (_canonical(known, v) for v in values or ()) if r is not None}

    by_kind, every, per_migration = registry.dispatch(opts)
    ran = {r.code for rs in by_kind.values() for r in rs} | {r.code for r in every + per_migration}
    disabled = codes(opts.disabled)
    only = codes(opts.enabled_only) if opts.enabled_only is not None else None
    ran |= {c for c in SUPPRESSION_CODES if c not in disabled and (only is None or c in only)}
    return frozenset(ran)


def apply_suppressions(findings: list[Finding], units, rules: dict, opts) -> list[Finding]:
    from bascule.analyze.rules import INTERNAL, SYNTAX, by_code

    sups: list[Suppression] = []
    for u in units:
        for script in (u.up, u.down):
            if script is not None:
                sups += parse(script.text, str(script.path), script.first_line)
    if not sups:
        return findings
    known = by_code()
    ran = rules_run(opts) | {SYNTAX.code, INTERNAL.code}
    report = {c: c in ran for c in SUPPRESSION_CODES}
    by_path: dict[str, list[Suppression]] = {}
    extra: list[Finding] = []
    for sp in sups:
        bad = [c for c in sp.codes if _canonical(known, c) is None]
        if not sp.codes or bad:
            r = rules["unknown"]
            what = f"unknown rule {', '.join(bad)}" if bad else "no rule code"
            if report[r.code]:
                extra.append(Finding(r.code, r.name, r.severity, f"bascule:ignore names {what}", sp.path, sp.line, 1,
                                     r.category, r.why, r.fix))
            continue
        if not sp.reason:
            r = rules["no_reason"]
            if report[r.code]:
                extra.append(Finding(r.code, r.name, r.severity, f"bascule:ignore {', '.join(sp.codes)} gives no "
                                     "reason; it is not applied", sp.path, sp.line, 1, r.category, r.why, r.fix))
            continue
        sp.codes = [_canonical(known, c).code for c in sp.codes]
        by_path.setdefault(sp.path, []).append(sp)
    for f in findings:
        for sp in by_path.get(f.path, ()):
            if f.code not in sp.codes:
                continue
            start = f.stmt_line if f.stmt_line is not None else f.line
            end = f.end_line if f.end_line is not None else f.line
            if sp.target is None or start <= sp.target <= end or f.line == sp.target:
                f.suppressed = sp.reason
                sp.used.add(f.code)
                break
    r = rules["unused"]
    if report[r.code]:
        for sps in by_path.values():
            for sp in sps:
                for code in sp.codes:
                    if code not in sp.used and code in ran:  # a rule that did not run found nothing
                        extra.append(Finding(r.code, r.name, r.severity, f"bascule:ignore {code} suppresses nothing",
                                             sp.path, sp.line, 1, r.category, r.why, r.fix))
    return findings + extra
