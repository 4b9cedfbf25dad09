"""`-- bascule:ignore CODE reason` comments.

On a line with SQL, or on its own line(s) just above a statement, the comment applies to that
statement. `-- bascule:ignore-file CODE reason` applies to the whole file. Several codes may be
given, separated by commas; codes or rule names both work. A reason is required: a suppression
without one is reported (B902) and not applied. A suppression that matched nothing is reported
(B901), and so is an unknown code (B903).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bascule.analyze.model import Finding

_COMMENT = re.compile(r"--\s*bascule:ignore(?P<file>-file)?(?:\s+(?P<codes>[A-Za-z0-9_,\-]+(?:\s*,\s*[A-Za-z0-9_\-]+)*))?"
                      r"(?P<reason>.*)$")


@dataclass
class Suppression:
    path: str
    line: int  # where the comment is
    target: int | None  # the line of the statement it applies to (None: whole file)
    codes: list[str]
    reason: str
    used: set = field(default_factory=set)


def parse(text: str, path: str, first_line: int = 1) -> list[Suppression]:
    if "bascule:ignore" not in text:
        return []
    lines = text.split("\n")
    out = []
    for i, line in enumerate(lines):
        pos = line.find("--")
        if pos < 0 or "bascule:ignore" not in line:
            continue
        m = _COMMENT.search(line, pos)
        if not m:
            continue
        codes = [c.strip() for c in (m.group("codes") or "").split(",") if c.strip()]
        reason = m.group("reason").strip().strip("-:— ").strip()
        target = None
        if not m.group("file"):
            if line[:m.start()].strip():
                target = first_line + i
            else:
                j = i + 1
                while j < len(lines) and (not lines[j].strip() or lines[j].lstrip().startswith("--")):
                    j += 1
                target = first_line + j
        out.append(Suppression(path, first_line + i, target, codes, reason))
    return out


def apply_suppressions(findings: list[Finding], units, rules: dict) -> list[Finding]:
    from bascule.analyze.rules import by_code

    known = by_code()
    sups: list[Suppression] = []
    for u in units:
        for script in (u.up, u.down):
            if script is not None:
                sups += parse(script.text, str(script.path), script.first_line)
    if not sups:
        return findings
    by_path: dict[str, list[Suppression]] = {}
    extra: list[Finding] = []
    for sp in sups:
        bad = [c for c in sp.codes if c not in known]
        if not sp.codes or bad:
            r = rules["unknown"]
            what = f"unknown rule {', '.join(bad)}" if bad else "no rule code"
            extra.append(Finding(r.code, r.name, r.severity, f"bascule:ignore names {what}", sp.path, sp.line, 1,
                                 r.category, r.why, r.fix))
            continue
        if not sp.reason:
            r = rules["no_reason"]
            extra.append(Finding(r.code, r.name, r.severity, f"bascule:ignore {', '.join(sp.codes)} gives no reason;"
                                 " it is not applied", sp.path, sp.line, 1, r.category, r.why, r.fix))
            continue
        sp.codes = [known[c].code for c in sp.codes]
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
    for sps in by_path.values():
        for sp in sps:
            for code in sp.codes:
                if code not in sp.used:
                    r = rules["unused"]
                    extra.append(Finding(r.code, r.name, r.severity, f"bascule:ignore {code} suppresses nothing",
                                         sp.path, sp.line, 1, r.category, r.why, r.fix))
    return findings + extra
