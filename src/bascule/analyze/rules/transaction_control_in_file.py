"""B501 transaction-control-in-file: BEGIN / START TRANSACTION / COMMIT / END written in a migration.

bascule's splitter drops them (Script.dropped_transaction_control); this rule says so and points at the
first one. Only when the flag is set is the script's text lexed again, to find them: the gaps between the
statements that were kept hold exactly the dropped ones (and comments)."""

from __future__ import annotations

from pglast import parser

from bascule.analyze.model import Rule
from bascule.migration import runs_in_transaction

_STARTS = {"BEGIN_P": "BEGIN", "START": "START TRANSACTION", "COMMIT": "COMMIT", "END_P": "END"}
_OPENS = ("BEGIN", "START TRANSACTION")


def _line_starts(text: str) -> list[int]:
    out = [0]
    pos = text.find("\n")
    while pos >= 0:
        out.append(pos + 1)
        pos = text.find("\n", pos + 1)
    return out


def _gaps(script, stmts) -> list[tuple[int, int]]:
    """Character ranges of the script's text not covered by a kept statement (nor COPY data)."""
    text = script.text
    starts = _line_starts(text)
    spans = []
    for st in stmts:
        row = st.line - script.first_line
        if not 0 <= row < len(starts):
            continue
        begin = starts[row] + st.column - 1
        end = begin + len(st.sql)
        if st.copy_data is not None:  # the data rows, then a line "\."
            data = text.find(st.copy_data, end) if st.copy_data else -1
            end = max(end, data + len(st.copy_data)) if data >= 0 else end
            term = text.find("\\.", end)
            end = term + 2 if term >= 0 else len(text)
        spans.append((begin, end))
    gaps, pos = [], 0
    for begin, end in sorted(spans):
        if begin > pos:
            gaps.append((pos, begin))
        pos = max(pos, end)
    if pos < len(text):
        gaps.append((pos, len(text)))
    return gaps


def control_statements(script, stmts) -> list[tuple[str, int, int]]:
    """(keyword, line, column) of each transaction-control statement bascule dropped from the script."""
    text = script.text
    starts = _line_starts(text)
    found = []
    for begin, end in _gaps(script, stmts):
        chunk = text[begin:end]
        if not chunk.strip():
            continue
        try:
            tokens = parser.scan(chunk)
        except parser.ParseError:
            continue
        at_start = True
        for tok in tokens:
            if tok.name in ("SQL_COMMENT", "C_COMMENT"):
                continue
            if tok.name == "ASCII_59":
                at_start = True
                continue
            if at_start and tok.name in _STARTS:
                off = begin + tok.start
                row = _row(starts, off)
                found.append((_STARTS[tok.name], script.first_line + row, off - starts[row] + 1))
            at_start = False
    return found


def _row(starts: list[int], off: int) -> int:
    lo, hi = 0, len(starts) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if starts[mid] <= off:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _describe(found: list[tuple[str, int, int]]) -> str:
    shown = [f"{kw} (line {line})" for kw, line, _ in found[:4]]
    more = f" and {len(found) - 4} more" if len(found) > 4 else ""
    return ", ".join(shown) + more


def _check_script(m, script, stmts):
    if script is None or stmts is None or not script.dropped_transaction_control:
        return
    found = control_statements(script, stmts)
    line, column = (found[0][1], found[0][2]) if found else (script.first_line, 1)
    what = _describe(found) if found else "BEGIN/COMMIT"
    path = str(script.path)
    if m.opts.runner != "other":
        if not runs_in_transaction(m.unit.transaction, script, m.opts.pg_version * 10000):
            how = "runs this migration statement by statement, outside a transaction"
        else:
            how = "runs the migration in its own transaction"
        yield m.finding(RULE, f"transaction control in the file: {what}: bascule ignores them and {how}",
                        path=path, line=line, column=column)
        return
    opened = closed = 0
    for kw, _, _ in found:
        if kw in _OPENS:
            opened += 1
        else:
            closed += 1
    if opened > closed:
        msg = (f"transaction control in the file: {what}: a BEGIN without a matching COMMIT leaves the transaction "
               "open: the tool running the migration may commit it, roll it back or hang, and the session holds "
               "its locks until then")
    else:
        msg = (f"transaction control in the file: {what}: if the tool running the migration already wraps it in "
               "a transaction, BEGIN only warns and COMMIT ends that transaction early, so what follows runs "
               "outside it and is not rolled back on failure")
    yield m.finding(RULE, msg, path=path, line=line, column=column, severity="warning")


def check_migration(m):
    yield from _check_script(m, m.unit.up, m.statements)
    yield from _check_script(m, m.unit.down, m.down_statements)


RULE = Rule(
    code="B501", name="transaction-control-in-file", severity="info", category="structure",
    summary="the migration writes BEGIN/COMMIT itself",
    why="bascule runs each migration in one transaction of its own (or statement by statement when a statement "
        "cannot run in one), so it drops BEGIN, START TRANSACTION, COMMIT and END written in the file. Another "
        "tool may instead send them as they are: inside the tool's own transaction PostgreSQL only warns about "
        "BEGIN, and COMMIT ends the tool's transaction half way; a BEGIN never committed leaves a session idle "
        "in transaction, holding its locks.",
    fix="Remove BEGIN/COMMIT from the file and let the runner own the transaction. A migration that must not run "
        "in a transaction (CREATE INDEX CONCURRENTLY) is detected by bascule; for another tool use its own "
        "no-transaction setting.",
    peers=("squawk transaction-nesting", "squawk ban-uncommitted-transaction"),
    check_migration=check_migration,
)
