"""The analyzer: statements in, findings out.

For each migration in version order, each statement is parsed once (the tree is kept on the
Statement), its facts are computed against what earlier statements established, and only the
rules registered for its parse-tree tag run on it: the Python layer stays lean, pglast does the
parsing in C. Afterwards: findings on tables created in the same migration are dropped for lock
and rewrite rules (an empty table nobody uses yet), `bascule:ignore` suppressions apply,
configured severities apply, and with a connection each finding is sized against the live table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path

from bascule.analyze.context import SchemaKnowledge
from bascule.analyze.facts import AE, NEWEST, RANK, StatementFacts, bare, statement_facts
from bascule.analyze.model import Finding, Rule
from bascule.errors import SqlSyntaxError
from bascule.migration import Script, Statement, runs_in_transaction

_LOCKISH = ("locking", "rewrite")
_ORDER = attrgetter("path", "line", "column")


@dataclass
class LintUnit:
    """One migration (or one plain .sql file) to lint."""

    label: str
    path: str
    up: Script | None
    down: Script | None = None
    transaction: str = "auto"  # auto | always | never (as the runner resolves it)
    report: bool = True  # False: only learn the schema from it (--since)
    expects_down: bool = False  # the layout has down migrations (native, diesel, golang-migrate, ...)
    version: str | None = None
    down_path: str | None = None
    error: str | None = None  # the file could not be read as SQL text (reported as B502)
    layout: str | None = None  # the source layout it was read from (None: a plain .sql file)


@dataclass
class LintOptions:
    pg_version: int = NEWEST
    runner: str = "bascule"  # "other": the SQL is run by another tool (no lock_timeout, no resume)
    disabled: frozenset = frozenset()
    enabled: frozenset = frozenset()  # opt-in rules turned on
    enabled_only: frozenset | None = None
    severity: dict = field(default_factory=dict)  # code → severity override
    live: object | None = None  # analyze.live.LiveCatalog
    jobs: int | None = None  # processes; None: two when there are two cores and enough SQL to pay for it


@dataclass
class MigrationSummary:
    label: str
    path: str
    classification: list[str]  # "non-breaking", "breaking", "data migration"
    strongest_lock: tuple[str, str] | None  # (mode, table) on an existing table
    transactional: bool
    statements: int
    rewrites: list[str] = field(default_factory=list)
    report: bool = True
    strongest_tables: list[str] = field(default_factory=list)  # every table taking the strongest mode

    def to_dict(self) -> dict:
        return {"migration": self.label, "path": self.path, "classification": self.classification,
                "strongest_lock": ({"mode": self.strongest_lock[0], "table": self.strongest_lock[1],
                                    "tables": self.strongest_tables or [self.strongest_lock[1]]}
                                   if self.strongest_lock else None),
                "transactional": self.transactional, "statements": self.statements, "rewrites": self.rewrites}


@dataclass
class LintResult:
    findings: list[Finding]
    migrations: list[MigrationSummary]
    pg_version: int
    live: dict | None = None  # server facts when connected
    files: int = 0

    @property
    def active(self) -> list[Finding]:
        return [f for f in self.findings if not f.suppressed]

    def exit_code(self) -> int:
        return 1 if any(f.severity == "error" for f in self.active) else 0

    def counts(self) -> dict:
        c = {"error": 0, "warning": 0, "info": 0, "suppressed": 0}
        for f in self.findings:
            c["suppressed" if f.suppressed else f.severity] += 1
        return c


class Stmt:
    """What a rule sees for one statement."""

    __slots__ = ("st", "tag", "node", "facts", "unit", "known", "opts", "held", "statements", "transactional",
                 "earlier_facts",
                 "_preview", "version", "version_num")

    def __init__(self, st: Statement, facts: StatementFacts, unit: LintUnit, known: SchemaKnowledge,
                 opts: LintOptions, held: dict, statements: list[Statement], transactional: bool,
                 earlier_facts: list[StatementFacts] | None = None):
        self.st = st
        self.tag = st.kind
        self.node = st.node or {}
        self.facts = facts
        self.unit = unit
        self.known = known
        self.opts = opts
        self.version = opts.pg_version
        self.version_num = opts.pg_version * 10000  # as Statement.needs_autocommit expects
        self.held = held  # table → (mode, statement index, line): locks held by earlier statements
        self.statements = statements
        self.transactional = transactional  # runs inside the migration's single transaction
        # facts of this migration's statements so far, by index (this statement's included), as the
        # engine computed them with what was known at each one: rules look back here, not re-derive
        self.earlier_facts = earlier_facts if earlier_facts is not None else [facts]
        self._preview: str | None = None

    def preview(self) -> str:
        if self._preview is None:
            self._preview = self.st.preview(160)
        return self._preview

    def is_new(self, table: str | None) -> bool:
        return bool(table) and self.known.is_new(table)

    def position(self, location: int | None) -> tuple[int, int]:
        """Line and column of a node location (byte offset in the parsed text)."""
        st = self.st
        if location is None or location < st.node_base:
            return st.line, st.column
        rel = location - st.node_base
        text = st.sql
        if not text.isascii():
            rel = len(text.encode("utf-8")[:rel].decode("utf-8", "ignore"))
        if rel > len(text):
            return st.line, st.column
        nl = text.count("\n", 0, rel)
        if nl == 0:
            return st.line, st.column + rel
        return st.line + nl, rel - text.rfind("\n", 0, rel)

    def finding(self, rule: Rule, message: str, *, table: str | None = None, location: int | None = None,
                lock: str | None = None, rewrite: bool = False, severity: str | None = None,
                notes: list[str] | None = None) -> Finding | None:
        if table and rule.category in _LOCKISH and self.known.is_new(table):
            return None
        line, col = self.position(location)
        work = None
        if table and rule.category in _LOCKISH:
            b = bare(table)
            fa = self.facts
            work = ("rewrite" if any(bare(e.table) == b for e in fa.rewrites) else
                    "index" if any(bare(e.table) == b for e in fa.index_builds) else
                    "scan" if any(bare(e.table) == b for e in fa.scans) else "lock")
        return Finding(code=rule.code, name=rule.name, severity=severity or rule.severity, message=message,
                       path=self.st.path, line=line, column=col, category=rule.category, why=rule.why,
                       fix=rule.fix, migration=self.unit.label, statement=self.st.index, sql=self.preview(),
                       table=table, lock=lock, rewrite=rewrite or work == "rewrite", work=work, fixable=rule.fixable,
                       end_line=self.st.line + self.st.sql.count("\n"), stmt_line=self.st.line,
                       notes=list(notes or ()))


class MigrationView:
    """What a migration-level rule sees."""

    def __init__(self, unit: LintUnit, statements: list[Statement], down_statements: list[Statement] | None,
                 facts: list[StatementFacts], opts: LintOptions, known: SchemaKnowledge, transactional: bool):
        self.unit = unit
        self.transactional = transactional  # the runner runs the up script as one transaction
        self.statements = statements
        self.down_statements = down_statements
        self.facts = facts
        self.opts = opts
        self.known = known

    def finding(self, rule: Rule, message: str, *, path: str | None = None, line: int = 1, column: int = 1,
                table: str | None = None, severity: str | None = None, stmt: Statement | None = None,
                lock: str | None = None, work: str | None = None) -> Finding:
        """A finding on the migration, or on one of its statements when `stmt` is given (its position,
        preview and line range, so suppressions on that statement apply)."""
        f = Finding(code=rule.code, name=rule.name, severity=severity or rule.severity, message=message,
                    path=path or self.unit.path, line=line, column=column, category=rule.category, why=rule.why,
                    fix=rule.fix, migration=self.unit.label, table=table, fixable=rule.fixable, lock=lock,
                    work=work, rewrite=work == "rewrite")
        if stmt is not None:
            f.path, f.line, f.column = stmt.path, stmt.line, stmt.column
            f.statement, f.sql, f.stmt_line = stmt.index, stmt.preview(160), stmt.line
            f.end_line = stmt.line + stmt.sql.count("\n")
        return f


def syntax_finding(exc: SqlSyntaxError, unit: LintUnit) -> Finding:
    from bascule.analyze.rules import SYNTAX

    msg = exc.message.split(": ", 1)[-1] if exc.message.startswith(f"{exc.path}:") else exc.message
    return Finding(code=SYNTAX.code, name=SYNTAX.name, severity="error", message=f"syntax error: {msg}",
                   path=exc.path, line=exc.line, column=exc.column, category="structure", why=SYNTAX.why,
                   fix=SYNTAX.fix, migration=unit.label)


def _internal_error(rule: Rule, exc: Exception, path: str, line: int, column: int, label: str) -> Finding:
    from bascule.analyze.rules import INTERNAL

    return Finding(code=INTERNAL.code, name=INTERNAL.name, severity="error", path=path, line=line, column=column,
                   message=f"rule {rule.code} {rule.name} failed on this statement: {type(exc).__name__}: {exc}",
                   category="structure", why=INTERNAL.why, fix=INTERNAL.fix, migration=label)


def _statements(script: Script | None, unit: LintUnit, out: list[Finding]) -> list[Statement] | None:
    if script is None:
        return None
    try:
        return script.statements
    except SqlSyntaxError as exc:
        if unit.report:
            out.append(syntax_finding(exc, unit))
        return None


class _Pass:
    """One pass over migrations in version order: the rules to run, and the schema knowledge that
    each migration leaves for the next."""

    def __init__(self, opts: LintOptions):
        from bascule.analyze import rules as registry

        self.opts = opts
        self.by_kind, self.every, self.per_migration = registry.dispatch(opts)
        self.alter_cache: dict[frozenset, list] = {}
        self.combined = {k: v + self.every for k, v in self.by_kind.items()}
        self.known = SchemaKnowledge(live=opts.live)
        self.version = opts.pg_version

    def learn_only(self, unit: LintUnit) -> None:
        """What lint() does to the schema knowledge, without facts or rules."""
        known = self.known
        known.begin_migration(unit.label)
        if unit.error or unit.up is None:
            return
        try:
            stmts = unit.up.statements
        except SqlSyntaxError:
            return
        for st in stmts:
            known.learn(st.kind, st.node or {})

    def lint(self, unit: LintUnit) -> tuple[list[Finding], MigrationSummary | None]:
        opts, known, version = self.opts, self.known, self.version
        out: list[Finding] = []
        known.begin_migration(unit.label)
        if unit.error:
            if unit.report:
                from bascule.analyze.rules import SYNTAX

                out.append(Finding(code=SYNTAX.code, name=SYNTAX.name, severity="error", message=unit.error,
                                   path=unit.path, line=1, column=1, category="structure", why=SYNTAX.why,
                                   fix=SYNTAX.fix, migration=unit.label))
            return out, None
        stmts = _statements(unit.up, unit, out)
        down = _statements(unit.down, unit, out)
        if stmts is None:
            return out, None
        transactional = runs_in_transaction(unit.transaction, unit.up, version * 10000)  # as the runner decides
        known.transactional = transactional  # whether a SET LOCAL lasts to the end of the migration
        held: dict[str, tuple[str, int, int]] = {}
        all_facts: list[StatementFacts] = []
        strongest: tuple[str, str] | None = None
        strongest_tables: dict[str, None] = {}
        classes: set[str] = set()
        rewrites: list[str] = []
        vnum = version * 10000
        by_kind, every, combined, alter_cache = self.by_kind, self.every, self.combined, self.alter_cache
        for st in stmts:
            node = st.node or {}
            alone = st.needs_autocommit(vnum)
            facts = statement_facts(st.kind, node, version, known, transactional=not alone, reads=False)
            all_facts.append(facts)
            in_txn = transactional and not alone
            if unit.report:
                s = Stmt(st, facts, unit, known, opts, held if in_txn else {}, stmts, in_txn, all_facts)
                if st.kind == "AlterTableStmt":
                    subs = frozenset((c.get("AlterTableCmd") or {}).get("subtype") for c in node.get("cmds") or ())
                    rules = alter_cache.get(subs)
                    if rules is None:
                        rules = alter_cache[subs] = [r for r in by_kind.get("AlterTableStmt", ())
                                                     if r.alter_subtypes is None or r.alter_subtypes & subs] + every
                else:
                    rules = combined.get(st.kind, every)
                for rule in rules:
                    try:
                        for f in rule.check(s) or ():
                            if f is not None:
                                out.append(f)
                    except Exception as exc:  # a bug in one rule must not hide every other finding
                        out.append(_internal_error(rule, exc, st.path, st.line, st.column, unit.label))
            # classification and the strongest lock on a table that existed before
            for table, mode in facts.locks.items():
                if known.is_new(table) or table in facts.creates:
                    continue
                if strongest is None or RANK[mode] > RANK[strongest[0]]:
                    strongest = (mode, table)
                    strongest_tables = {table: None}  # a dict: ordered, and a fast membership test
                elif mode == strongest[0]:
                    strongest_tables.setdefault(table, None)
            if any(not known.is_new(e.table) for e in facts.breaking) or facts.destroys:
                classes.add("breaking")
            if facts.data_change:
                classes.add("data migration")
            rewrites += [f"{e.table}: {e.reason}" for e in facts.rewrites if not known.is_new(e.table)]
            known.learn(st.kind, node)
            if in_txn:
                for table, mode in facts.locks.items():
                    if mode == AE and table not in held and not known.is_new(table):
                        held[table] = (mode, st.index, st.line)
        if unit.report:
            view = MigrationView(unit, stmts, down, all_facts, opts, known, transactional)
            for rule in self.per_migration:
                try:
                    out.extend(f for f in rule.check_migration(view) or () if f is not None)
                except Exception as exc:
                    out.append(_internal_error(rule, exc, unit.path, 1, 1, unit.label))
        if not classes - {"data migration"} and "breaking" not in classes:
            classes.add("non-breaking")
        order = ["breaking", "non-breaking", "data migration"]
        return out, MigrationSummary(unit.label, unit.path, [c for c in order if c in classes], strongest,
                                     transactional, len(stmts), rewrites, unit.report, list(strongest_tables))


# Below this much SQL to report, a second process costs more (fork, pickling the findings back)
# than it saves.
PARALLEL_MIN_SIZE = 64 * 1024  # characters
# Share of the work the helper process takes. The main process lints the rest, after replaying the
# helper's share through the schema knowledge only (parse + learn: about a third of a full lint).
PARALLEL_HEAD_SHARE = 0.6


def _weight(unit: LintUnit) -> int:
    """The work a unit is, in characters of SQL; one only learned from (--since) costs about a
    third of one that is reported (no rules run on it)."""
    size = sum(len(s.text) for s in (unit.up, unit.down) if s is not None)
    return size if unit.report else size // 3


def _usable_cpus() -> int:
    """CPUs this process may use: its affinity mask, capped by a cgroup v2 CPU quota (a container
    started with --cpus=1 sees every core of the host)."""
    import os

    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            n = min(n, max(1, int(quota) // int(period)))
    except (OSError, ValueError):
        pass
    return n


def _single_threaded() -> bool:
    """Forking a process that runs other threads can deadlock the child (a lock held by a thread
    that does not exist there). threading only knows the threads it started; Linux knows all."""
    import os
    import threading

    if threading.active_count() != 1:
        return False
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return True


def _can_fork(units: list[LintUnit], opts: LintOptions) -> bool:
    import os

    if opts.jobs == 1 or opts.live is not None or not hasattr(os, "fork") or not _single_threaded():
        return False
    if opts.jobs is not None:
        return True
    return _usable_cpus() >= 2 and sum(_weight(u) for u in units if u.report) >= PARALLEL_MIN_SIZE


def _split_point(units: list[LintUnit]) -> int:
    total = sum(_weight(u) for u in units)
    acc = 0
    for i, u in enumerate(units):
        acc += _weight(u)
        if acc >= total * PARALLEL_HEAD_SHARE:
            return i + 1
    return len(units)


def _helper(units: list[LintUnit], opts: LintOptions, read_fd: int, write_fd: int, parent: int) -> None:
    """The forked process: lint `units`, send ("ok", results) or ("error", text) down the pipe."""
    import gc
    import os
    import pickle

    gc.disable()  # what was garbage before the fork is the main process's to finalize, not ours too
    os.close(read_fd)
    try:
        run = _Pass(opts)
        out = []
        for u in units:
            if os.getppid() != parent:  # the main process is gone: nobody will read this
                return
            out.append(run.lint(u))
        data = pickle.dumps(("ok", out), protocol=pickle.HIGHEST_PROTOCOL)
    except BaseException as exc:  # noqa: BLE001 - reported to the main process, which falls back
        data = pickle.dumps(("error", f"{type(exc).__name__}: {exc}"))
    with os.fdopen(write_fd, "wb") as fh:
        fh.write(data)


def _lint_forked(units: list[LintUnit], opts: LintOptions) -> list | None:
    """Lint the first migrations in a forked process and the rest here, at the same time. The
    knowledge each migration needs only depends on the ones before it, so this process first
    replays the helper's share through learn_only. None when no helper could be started or it
    failed (the caller then lints everything in this process). The helper is always reaped, and
    killed when this process fails."""
    import os
    import pickle
    import signal
    import sys

    split = _split_point(units)
    if split in (0, len(units)):
        return None
    try:
        read_fd, write_fd = os.pipe()
    except OSError:  # out of file descriptors
        return None
    parent = os.getpid()
    try:
        pid = os.fork()
    except OSError:  # process limit (a container's pids.max), memory
        os.close(read_fd)
        os.close(write_fd)
        return None
    if pid == 0:  # never returns, never runs the main process's exit handlers or flushes its buffers
        try:
            _helper(units[:split], opts, read_fd, write_fd, parent)
        finally:
            os._exit(0)
    ok = False
    write_open = True
    data = b""
    try:
        os.close(write_fd)
        write_open = False
        run = _Pass(opts)
        for u in units[:split]:
            run.learn_only(u)
        tail = [run.lint(u) for u in units[split:]]
        ok = True
    finally:
        try:
            if not ok:
                try:
                    os.kill(pid, signal.SIGKILL)  # its result is of no use now
                except ProcessLookupError:  # already gone (and reaped, with SIGCHLD ignored)
                    pass
            if write_open:
                os.close(write_fd)
            with os.fdopen(read_fd, "rb") as fh:
                data = fh.read()
        finally:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:  # SIGCHLD ignored, or another handler reaped it
                pass
    try:
        kind, value = pickle.loads(data)
    except Exception:  # noqa: BLE001 - killed or cut short: no complete result
        kind, value = "error", "it stopped before sending its result"
    if kind == "ok" and isinstance(value, list) and len(value) == split:
        return value + tail
    sys.stderr.write(f"note: bascule lint's second process failed ({value}); linting in one process\n")
    return None


def lint_units(units: list[LintUnit], opts: LintOptions | None = None) -> LintResult:
    from bascule.analyze import rules as registry
    from bascule.analyze.suppress import apply_suppressions

    opts = opts or LintOptions()
    per_unit = _lint_forked(units, opts) if _can_fork(units, opts) else None
    if per_unit is None:
        run = _Pass(opts)
        per_unit = [run.lint(u) for u in units]
    findings = [f for out, _ in per_unit for f in out]
    summaries = [s for _, s in per_unit if s is not None and s.report]
    findings = apply_suppressions(findings, [u for u in units if u.report], registry.SUPPRESSION, opts)
    for f in findings:
        if f.code in opts.severity:
            f.severity = opts.severity[f.code]
    live_info = None
    if opts.live is not None:
        from bascule.analyze.live import size_findings

        live_info = size_findings(findings, opts.live, opts.pg_version)
    findings.sort(key=_ORDER)  # stable: within a position, the order the rules reported in
    return LintResult(findings, summaries, opts.pg_version, live_info,
                      files=sum(1 for u in units if u.report))


__all__ = ["LintUnit", "LintOptions", "LintResult", "lint_units", "Stmt", "MigrationView", "bare"]
