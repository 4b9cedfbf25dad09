"""Plain-text renderers (no dependencies, so `bascule status` starts fast)."""

from __future__ import annotations

import json
import sys

from bascule.observers import MigrationOutcome, Observer, StatementEvent, StatementOutcome
from bascule.plan import MigrationState

_MARK = {"applied": "✔", "pending": "·", "failed": "✘", "running": "…", "modified": "!", "missing": "?",
         "baseline": "≡"}


def _fmt_ms(ms: float | None) -> str:
    if ms is None:
        return ""
    if ms < 1000:
        return f"{ms:.0f} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    return f"{ms / 60_000:.1f} min"


def dumps(obj) -> str:
    return json.dumps(obj, indent=2, default=str, ensure_ascii=False)


def render_status(states: list[MigrationState], target: str) -> str:
    lines = [f"database: {target}"]
    if not states:
        lines.append("no migrations found")
        return "\n".join(lines)
    width = max(len(s.version) for s in states)
    swidth = max(len(s.state + (" (out of order)" if s.out_of_order else "")) for s in states)
    for s in states:
        r = s.record
        when = ""
        if r is not None and r.finished_at is not None and s.state in ("applied", "modified", "failed"):
            when = f"  {r.finished_at:%Y-%m-%d %H:%M:%S} by {r.applied_by}@{r.host} ({_fmt_ms(r.duration_ms)})"
        ver = s.version if s.version else "R"
        state = s.state + (" (out of order)" if s.out_of_order else "")
        lines.append(f"{_MARK.get(s.state, ' ')} {state:<{swidth}}  {ver:<{width}}  {s.name}{when}")
        if s.note and s.state != "failed":
            lines.append(f"    {s.note}")
        if s.state == "modified":
            lines.append(f"    checksum on disk {s.disk_checksum[:16]}…, applied {(s.db_checksum or '?')[:16]}…")
        if s.state == "failed" and r is not None:
            if s.note:
                lines.append(f"    {s.note}")
            if r.error:
                lines.append(f"    error: {r.error}")
            if r.failed_statement:
                lines.append(f"    at {r.failed_path}:{r.failed_line}: {r.failed_statement[:200]}")
            if r.transactional is False:
                lines.append(f"    {r.statements_done}/{r.statements_total} statements done "
                             f"({r.direction}); `bascule {'up' if r.direction == 'up' else 'down'}` resumes")
    counts: dict[str, int] = {}
    for s in states:
        counts[s.state] = counts.get(s.state, 0) + 1
    lines.append(", ".join(f"{n} {k}" for k, n in counts.items()))
    return "\n".join(lines)


class ProgressPrinter(Observer):
    """Line-per-migration progress, with a line per statement for non-transactional ones and any
    statement slower than a second (readable in CI logs as well as terminals)."""

    def __init__(self, stream=None, verbose: bool = False, live: bool | None = None):
        self.stream = stream or sys.stderr
        self.verbose = verbose
        self._txn = True
        # On a terminal, a statement running longer than 2 s gets a live elapsed-time line.
        self.live = live if live is not None else bool(getattr(self.stream, "isatty", lambda: False)())
        self._ticker: _Ticker | None = None

    def before_statement(self, event: StatementEvent) -> None:
        if self.live:
            self._ticker = _Ticker(self.stream, f"    [{event.position + 1}/{event.total}] "
                                                f"{event.statement.preview(60)}")

    def _stop_ticker(self) -> None:
        if self._ticker is not None:
            self._ticker.stop()
            self._ticker = None

    def _p(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def migration_started(self, migration, direction, total, transactional, resume_from) -> None:
        self._txn = transactional
        arrow = "↑" if direction == "up" else "↓"
        mode = "one transaction" if transactional else "statement by statement, outside a transaction"
        extra = f", resuming at statement {resume_from + 1}" if resume_from else ""
        self._p(f"{arrow} {migration.label}  [{total} statement{'s' if total != 1 else ''}, {mode}{extra}]")
        script = migration.up if direction == "up" else migration.down
        if script is not None and script.dropped_transaction_control:
            self._p("    note: BEGIN/COMMIT written in the file are ignored: bascule owns the transaction")

    def after_statement(self, event: StatementEvent, outcome: StatementOutcome) -> None:
        self._stop_ticker()
        if self.verbose or not self._txn or outcome.duration_ms > 1000 or not outcome.ok:
            mark = "ok" if outcome.ok else f"FAILED ({outcome.sqlstate})"
            rows = f", {outcome.rowcount} rows" if outcome.rowcount not in (None, -1) and outcome.ok else ""
            self._p(f"    [{event.position + 1}/{event.total}] {event.statement.preview(70)}  {mark} "
                    f"{_fmt_ms(outcome.duration_ms)}{rows}")

    def lock_retry(self, migration, attempt, wait_s, blockers) -> None:
        self._stop_ticker()
        who = ", ".join(f"pid {b['pid']} ({b['application_name'] or '?'}: {b['query'][:60]!r})" for b in blockers)
        self._p(f"    lock not available within lock_timeout (attempt {attempt})"
                f"{'; held by ' + who if who else ''}; retrying in {wait_s:.2f} s")

    def migration_finished(self, outcome: MigrationOutcome) -> None:
        for note in outcome.notes:
            self._p(f"    note: {note}")
        if outcome.status != "failed":
            self._p(f"    {outcome.status.replace('_', ' ')} in {_fmt_ms(outcome.duration_ms)}")


def render_plan(result, target: str) -> str:
    plan = result.plan
    verb = "apply" if plan.direction == "up" else "roll back"
    if not plan.steps:
        msg = "nothing to apply: the database is up to date" if plan.direction == "up" else "nothing to roll back"
        return f"{target}: {msg}"
    lines = [f"would {verb} {len(plan.steps)} migration(s) on {target}:"]
    for step in plan.steps:
        m = step.migration
        script = m.up if step.direction == "up" else m.down
        stmts = script.statements
        lines.append(f"  {m.label}  ({len(stmts)} statement{'' if len(stmts) == 1 else 's'}"
                     f"{', resume at ' + str(step.resume_from + 1) if step.resume_from else ''})")
        if script.dropped_transaction_control:
            lines.append("      (BEGIN/COMMIT written in the file are ignored: bascule owns the transaction)")
        for st in stmts[step.resume_from:]:
            lines.append(f"      {st.path.rsplit('/', 1)[-1]}:{st.line}  {st.preview(90)}")
    for w in plan.warnings:
        lines.append(f"warning: {w}")
    return "\n".join(lines)


class _Ticker:
    """Redraws `label  12.3 s` on one terminal line twice a second until stopped."""

    def __init__(self, stream, label: str, delay: float = 2.0):
        import threading
        import time

        self.stream = stream
        self.label = label
        self._t0 = time.monotonic()
        self._stop = threading.Event()
        self._drawn = False
        self._delay = delay
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import time

        if self._stop.wait(self._delay):
            return
        while not self._stop.is_set():
            self.stream.write(f"\r{self.label}  running {time.monotonic() - self._t0:.1f} s\x1b[K")
            self.stream.flush()
            self._drawn = True
            self._stop.wait(0.5)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1)
        if self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


class ProgressBar:
    """Counted work (pg_dump's tables, pg_restore's items) on stderr: one redrawn bar on a
    terminal; elsewhere (CI logs) a line at the start, at each quarter and at the end."""

    def __init__(self, stream=None, width: int = 30, prefix: str = "  "):
        self.stream = stream or sys.stderr
        self.width = width
        self.prefix = prefix
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())
        self._quarter: dict[str, int] = {}

    def __call__(self, what: str, done: int, total: int, unit: str, finished: bool = False) -> None:
        total = max(total, 1)
        done = min(done, total)
        filled = self.width * done // total
        line = f"{self.prefix}{what} [{'#' * filled}{'.' * (self.width - filled)}] {done}/{total} {unit}"
        if self.live:
            self.stream.write("\r" + line + "\x1b[K" + ("\n" if finished else ""))
            self.stream.flush()
            return
        quarter = 4 * done // total
        if finished or quarter > self._quarter.get(what, -1):
            if not (finished and self._quarter.get(what) == 4):
                print(line, file=self.stream, flush=True)
            self._quarter[what] = quarter


class LiveProgress:
    """Progress of long work on stderr: on a terminal one live line with the elapsed time of the
    current step; elsewhere (CI logs) one plain line per step."""

    def __init__(self, prefix: str = "    ", stream=None):
        self.stream = stream or sys.stderr
        self.prefix = prefix
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())
        self._ticker: _Ticker | None = None

    def __call__(self, what: str) -> None:
        self.close()
        if self.live:
            self._ticker = _Ticker(self.stream, f"{self.prefix}{what}", delay=0.3)
        else:
            print(f"{self.prefix}{what}", file=self.stream, flush=True)

    def close(self) -> None:
        if self._ticker is not None:
            self._ticker.stop()
            self._ticker = None
