"""The `bascule` command. Thin: parse options, call bascule.operations, render.

Heavy modules (psycopg, pglast, rich) are imported inside commands so that `bascule --help`
and `bascule status` start quickly.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bascule import __version__
from bascule.errors import EXIT_FINDINGS, BasculeError, ConfigError

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class Ctx:
    def __init__(self, config: str | None, env: str | None, url: str | None):
        self.config_path = Path(config) if config else None
        self.env = env
        self.url = url
        self._cfg = None

    @property
    def cfg(self):
        if self._cfg is None:
            from bascule.config import load_config

            self._cfg = load_config(self.config_path)
        return self._cfg

    def target(self):
        from bascule.operations import target_from_config

        return target_from_config(self.cfg, self.env, self.url)

    def migrations(self):
        from bascule.operations import load

        return load(self.cfg)


def _echo_json(obj) -> None:
    from bascule.report.text import dumps

    click.echo(dumps(obj))


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, prog_name="bascule")
@click.option("--config", "-c", metavar="FILE", help="Path to bascule.toml (default: search upward from here).")
@click.option("--env", "-e", metavar="NAME", help="Environment from bascule.toml (default: BASCULE_ENV or default_env).")
@click.option("--url", metavar="URL", help="Database URL; overrides --env and DATABASE_URL.")
@click.pass_context
def cli(ctx: click.Context, config: str | None, env: str | None, url: str | None) -> None:
    """Safe, audited schema migrations for PostgreSQL.

    Which database: --url, else --env NAME, else $DATABASE_URL, else the default environment
    (out of the box: an embedded PostgreSQL under .bascule/, started on demand).

    Exit codes: 0 ok, 1 pending/failed/problems found (with --exit-code or validate),
    2 usage or configuration error, 3 database error.
    """
    ctx.obj = Ctx(config, env, url)


# ----------------------------------------------------------------------------- init / new
@cli.command(context_settings=CONTEXT)
@click.argument("folder", default=".", type=click.Path(file_okay=False, path_type=Path))
def init(folder: Path) -> None:
    """Create bascule.toml and a migrations/ folder in FOLDER (default: here)."""
    from bascule.config import CONFIG_NAME, DEFAULT_TOML
    from bascule.errors import ConfigError

    folder.mkdir(parents=True, exist_ok=True)
    cfg = folder / CONFIG_NAME
    if cfg.exists():
        raise ConfigError(f"{cfg} already exists", hint="edit it, or remove it to start over")
    cfg.write_text(DEFAULT_TOML)
    (folder / "migrations").mkdir(exist_ok=True)
    gi = folder / ".gitignore"
    text = gi.read_text() if gi.exists() else ""
    if ".bascule/" not in text.splitlines():
        with gi.open("a") as fh:
            fh.write(("" if not text or text.endswith("\n") else "\n") + ".bascule/\n")
    click.echo(f"created {cfg} and {folder / 'migrations'}/")
    click.echo("next: bascule new create_users   (then edit up.sql and down.sql, and run bascule up)")


@cli.command(context_settings=CONTEXT)
@click.argument("name")
@click.pass_obj
def new(obj: Ctx, name: str) -> None:
    """Create the next migration NAME with an up.sql and a down.sql."""
    from bascule.operations import new_migration

    folder = new_migration(obj.cfg, name)
    click.echo(f"created {folder}/up.sql")
    click.echo(f"created {folder}/down.sql")


# ----------------------------------------------------------------------------- status
@cli.command(context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--exit-code", is_flag=True, help="Exit 1 when anything is pending, failed, modified or missing.")
@click.pass_obj
def status(obj: Ctx, as_json: bool, exit_code: bool) -> None:
    """Every migration with its state: applied, pending, failed, modified, missing."""
    from bascule import operations

    migrations = obj.migrations()
    with obj.target() as t:
        states = operations.status(t, migrations)
        if as_json:
            _echo_json({"database": t.safe_url, "migrations": [s.to_dict() for s in states]})
        else:
            from bascule.report.text import render_status

            click.echo(render_status(states, t.safe_url))
    if exit_code and any(s.state in ("pending", "failed", "modified", "missing", "running") for s in states):
        sys.exit(EXIT_FINDINGS)


# ----------------------------------------------------------------------------- up / down
def _waiting(holder: dict) -> None:
    click.echo(f"waiting for the migration lock held by pid {holder['pid']} "
               f"({holder['application_name'] or '?'})...", err=True)


def _json_failure(exc: BasculeError, t, direction: str, as_json: bool, dry_run: bool = False,
                  verifying: bool = False) -> None:
    """With --json, a failure still prints one JSON document with the same keys as a success: what
    was planned and completed, the verification reports so far, and the error."""
    if as_json:
        done = getattr(exc, "outcomes", [])
        plan = getattr(exc, "plan", None)
        doc = {"database": t.safe_url, "direction": direction, "dry_run": dry_run,
               "warnings": plan.warnings if plan is not None else [],
               "planned": [{"version": s.migration.version, "name": s.migration.name, "resume_from": s.resume_from}
                           for s in plan.steps] if plan is not None else [],
               "outcomes": [o.to_dict() for o in done], "error": exc.to_dict()}
        if verifying or getattr(exc, "reports", None) is not None:
            doc["verification"] = [r.to_dict() for r in getattr(exc, "reports", None) or []]
        _echo_json(doc)


def _run_output(result, t, as_json: bool, verification: list | None = None) -> None:
    from bascule.report.text import render_plan

    if as_json:
        doc = {"database": t.safe_url, **result.to_dict()}
        if verification is not None:
            doc["verification"] = verification
        _echo_json(doc)
    elif result.dry_run:
        click.echo(render_plan(result, t.safe_url))
    else:
        for w in result.plan.warnings:
            click.echo(f"warning: {w}", err=True)
        n = len(result.outcomes)
        if n == 0:
            msg = "nothing to apply: the database is up to date" if result.plan.direction == "up" else "nothing to roll back"
            click.echo(msg)
        else:
            verb = "applied" if result.plan.direction == "up" else "rolled back"
            total = sum(o.duration_ms for o in result.outcomes)
            click.echo(f"{verb} {n} migration{'s' if n != 1 else ''} in {total / 1000:.2f} s")


@cli.command(context_settings=CONTEXT)
@click.option("--to", "to", metavar="VERSION", help="Apply pending migrations up to and including VERSION.")
@click.option("--dry-run", is_flag=True, help="Show what would run; change nothing.")
@click.option("--allow-modified", metavar="REASON", help="Proceed although applied migrations were edited; the reason is recorded.")
@click.option("--out-of-order", is_flag=True, help="Apply pending migrations older than the newest applied one.")
@click.option("--lock-wait", metavar="DURATION", help="How long to wait for another runner's lock (default from config, 60s).")
@click.option("--verify/--no-verify", "verify_", default=None,
              help="Snapshot the tables each migration touches, apply it, verify; stop at the first failed check. "
                   "Default: the environment's `verify` setting (off).")
@click.option("--checks", metavar="LIST", help="With --verify: which checks (default: all). See `bascule verify --help`.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--verbose", "-v", is_flag=True, help="Print every statement with its timing.")
@click.pass_obj
def up(obj: Ctx, to, dry_run, allow_modified, out_of_order, lock_wait, verify_, checks, as_json, verbose) -> None:
    """Apply pending migrations (each in its own transaction unless it must run outside one).

    A migration that failed part way outside a transaction resumes at the failed statement."""
    from bascule import operations
    from bascule.config import parse_duration
    from bascule.report.text import ProgressPrinter

    wait = parse_duration(lock_wait, "--lock-wait") if lock_wait else None
    migrations = obj.migrations()
    with obj.target() as t:
        observers = [] if as_json else [ProgressPrinter(verbose=verbose)]
        verifier = None
        vobs = None
        if verify_ is None:
            verify_ = t.settings.verify
        if verify_ and not dry_run:
            from bascule.report.verify import render_text
            from bascule.verify.verifier import Verifier, VerifyObserver, parse_checks, stderr_progress

            progress = None if as_json else stderr_progress()
            verifier = Verifier(t.url, parse_checks(checks), progress=progress)
            t.open()
            vobs = VerifyObserver(verifier, t.history,
                                  None if as_json else lambda r: click.echo(render_text(r), err=True))
            observers.append(vobs)
        try:
            result = operations.apply(t, migrations, to=to, dry_run=dry_run, allow_modified=allow_modified,
                                      out_of_order=out_of_order, lock_wait=wait, observers=observers,
                                      on_wait=None if as_json else _waiting)
        except BasculeError as exc:
            if vobs is not None and getattr(exc, "reports", None) is None:
                exc.reports = list(vobs.reports)
            _json_failure(exc, t, "up", as_json, dry_run=dry_run, verifying=vobs is not None)
            raise
        finally:
            if verifier is not None:
                verifier.close()
                if verifier.opts.progress is not None:
                    verifier.opts.progress.close()
        _run_output(result, t, as_json, [r.to_dict() for r in vobs.reports] if vobs else None)


@cli.command(context_settings=CONTEXT)
@click.option("--steps", type=int, metavar="N", help="Roll back the last N applied migrations (default 1).")
@click.option("--to", "to", metavar="VERSION", help="Roll back everything applied after VERSION (VERSION stays).")
@click.option("--dry-run", is_flag=True, help="Show what would run; change nothing.")
@click.option("--lock-wait", metavar="DURATION", help="How long to wait for another runner's lock.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--verbose", "-v", is_flag=True, help="Print every statement with its timing.")
@click.pass_obj
def down(obj: Ctx, steps, to, dry_run, lock_wait, as_json, verbose) -> None:
    """Roll back applied migrations with their down scripts, newest first."""
    from bascule import operations
    from bascule.config import parse_duration
    from bascule.report.text import ProgressPrinter

    wait = parse_duration(lock_wait, "--lock-wait") if lock_wait else None
    migrations = obj.migrations()
    with obj.target() as t:
        observers = [] if as_json else [ProgressPrinter(verbose=verbose)]
        try:
            result = operations.rollback(t, migrations, steps=steps, to=to, dry_run=dry_run, lock_wait=wait,
                                         observers=observers, on_wait=None if as_json else _waiting)
        except BasculeError as exc:
            _json_failure(exc, t, "down", as_json, dry_run=dry_run)
            raise
        _run_output(result, t, as_json)


# ----------------------------------------------------------------------------- verify
@cli.command(context_settings=CONTEXT)
@click.option("--migration", "version", metavar="VERSION", help="Which migration (default: the newest applied; "
              "with --snapshot: the next pending).")
@click.option("--checks", metavar="LIST", help="Comma-separated: rowcounts,checksums,constraints,indexes,leftovers,custom "
              "(default: all).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
@click.option("--snapshot", is_flag=True, help="Take and store the before-snapshot for a migration not applied yet.")
@click.option("--exact", is_flag=True, help="Exact row counts even for tables above the size limit.")
@click.option("--amcheck", is_flag=True, help="Also run amcheck's bt_index_check on indexes the migration built "
              "(needs CREATE EXTENSION amcheck; takes only ACCESS SHARE).")
@click.option("--verbose", "-v", is_flag=True, help="List passed checks too.")
@click.pass_obj
def verify(obj: Ctx, version, checks, fmt, snapshot, exact, amcheck, verbose) -> None:
    """Prove a migration lost no data and left the database healthy. Exit 1 when a check fails.

    Before/after checks (row counts, checksums of data the migration should not change) compare
    with the before-snapshot taken by `bascule up --verify` or `bascule verify --snapshot`;
    constraint, index, leftover and custom checks run any time. Results are stored as evidence.
    """
    from bascule.verify import verifier as v

    migrations = obj.migrations()
    progress = v.stderr_progress() if fmt == "text" else None
    try:
        with obj.target() as t:
            res = v.verify_command(t, migrations, version, v.parse_checks(checks), snapshot, exact, amcheck,
                                   progress=progress)
    finally:
        if progress is not None:
            progress.close()
    if snapshot:
        if fmt == "json":
            _echo_json(res)
        else:
            click.echo(f"before-snapshot of {res['version']} stored (evidence {res['evidence_id']}): "
                       f"{len(res['tables'])} table(s): {', '.join(res['tables']) or 'none yet'}")
        return
    from bascule.report.verify import render_markdown, render_text

    if fmt == "json":
        _echo_json(res.to_dict())
    elif fmt == "markdown":
        click.echo(render_markdown(res))
    else:
        click.echo(render_text(res, verbose))
    if not res.passed:
        sys.exit(EXIT_FINDINGS)


# ----------------------------------------------------------------------------- rehearse
@cli.command(context_settings=CONTEXT)
@click.option("--from", "from_env", metavar="ENV", help="Environment to copy (default: the database --env/--url/"
              "DATABASE_URL/default_env would use).")
@click.option("--snapshot", "kind", type=click.Choice(["dump", "schema", "clone", "synthetic"]), default="dump",
              show_default=True,
              help="dump: pg_dump/pg_restore of schema and data; schema: schema only (plus bascule's history); "
                   "clone: CREATE DATABASE ... TEMPLATE on the same server (needs --on); synthetic: the schema "
                   "filled with generated rows to the source's row counts (no production data).")
@click.option("--scale", type=click.FloatRange(0.0001, 100.0), default=1.0, show_default=True,
              help="With --snapshot synthetic: rows per table = the source's count × SCALE.")
@click.option("--synthetic-stats", "synthetic_stats", type=click.Choice(["shape", "basic", "none"]), default="shape",
              show_default=True,
              help="With --snapshot synthetic: what of the source's pg_stats shapes the rows. shape: null fractions, "
                   "distinct counts, widths, most common frequencies (never other values), correlation and the "
                   "range of numeric/date/timestamp columns; basic: null fractions, distinct counts and widths; "
                   "none: row counts only.")
@click.option("--on", "on", metavar="URL|ENV", help="Rehearse on this server (a database is created and dropped "
              "there) instead of a throwaway embedded PostgreSQL.")
@click.option("--pg-version", metavar="MAJOR", help="Version of the throwaway server (default: the source's major "
              "version when its binaries are installed, else 18).")
@click.option("--no-round-trip", is_flag=True, help="Skip the up → down → up check of each migration.")
@click.option("--load", type=click.IntRange(0, 64), default=0, metavar="N",
              help="Run N client threads of small reads and writes on the touched tables while migrating; "
                   "report how long they were blocked.")
@click.option("--command", "command", metavar="CMD", help="Rehearse another tool's migrations: run CMD (e.g. "
              "\"alembic upgrade head\") against the copy with DATABASE_URL/PG* set (and, for TCP-only tools, "
              "BASCULE_TCP_URL, JDBC_DATABASE_URL, FLYWAY_URL/USER/PASSWORD on 127.0.0.1 with a random password), "
              "and report every statement it ran, from the server's log.")
@click.option("--keep", is_flag=True, help="Keep the rehearsal database (and server) for inspection.")
@click.option("--no-record", is_flag=True, help="Do not store the result as evidence.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
@click.option("--report", "report_file", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the report to FILE (format from its extension: .json, .md, else text).")
@click.pass_obj
def rehearse(obj: Ctx, from_env, kind, scale, synthetic_stats, on, pg_version, no_round_trip, load, command, keep,
             no_record, fmt, report_file) -> None:
    """Apply the pending migrations to a copy of a database, time every statement, watch every
    lock, and prove each rollback restores the schema. Exit 1 when a migration fails or a
    rollback leaves differences; the database itself is never touched (except the evidence row)."""
    from bascule.operations import Target, target_from_config
    from bascule.rehearse.rehearsal import record_evidence
    from bascule.rehearse.rehearsal import rehearse as run_rehearsal
    from bascule.report.rehearse import render_markdown, render_text
    from bascule.report.text import ProgressBar, ProgressPrinter

    migrations = obj.migrations()
    source = target_from_config(obj.cfg, from_env, None) if from_env else obj.target()
    on_url = None
    if on:
        on_url = on if ("://" in on or "=" in on) else target_from_config(obj.cfg, on, None).url
    if kind == "clone" and on_url is None:
        from bascule.errors import PlanError

        raise PlanError("--snapshot clone needs --on: a clone is made inside the server that holds the source",
                        hint="use --snapshot dump to copy onto a throwaway server")

    def say(msg: str) -> None:
        click.echo(msg, err=True)

    if command is not None:
        _rehearse_command(obj, source, command, kind, pg_version, keep, no_record, fmt, report_file, say)
        return

    # The source is not kept open during the rehearsal: a clone needs it free of other sessions.
    report = run_rehearsal(source, migrations, snapshot=kind, on_url=on_url, pg_version=pg_version, keep=keep,
                           round_trip=not no_round_trip, observers=[] if fmt == "json" else [ProgressPrinter()],
                           progress=say, load=load, scale=scale, synthetic_stats=synthetic_stats,
                           bar=ProgressBar())
    if not no_record:
        with Target(source.url, source.settings) as evidence_target:
            report.evidence = record_evidence(report, evidence_target, obj.cfg.root)
    renders = {"json": lambda: _dumps(report.to_dict()), "markdown": lambda: render_markdown(report),
               "text": lambda: render_text(report)}
    click.echo(renders[fmt]())
    if report_file is not None:
        ext = report_file.suffix.lower()
        report_file.write_text(renders["json" if ext == ".json" else "markdown" if ext == ".md" else "text"]() + "\n")
    if not report.passed:
        sys.exit(EXIT_FINDINGS)


def _rehearse_command(obj: Ctx, source, command, kind, pg_version, keep, no_record, fmt, report_file, say) -> None:
    from bascule.errors import PlanError
    from bascule.operations import Target
    from bascule.rehearse.external import rehearse_command
    from bascule.rehearse.rehearsal import store_evidence
    from bascule.report.rehearse import render_command

    if kind == "clone":
        raise PlanError("--command rehearses on a throwaway server: use --snapshot dump or schema")
    from bascule.report.text import ProgressBar

    res = rehearse_command(source.url, command, snapshot=kind, pg_version=pg_version, keep=keep, progress=say,
                           bar=ProgressBar())
    if not no_record:
        with Target(source.url, source.settings) as t:
            res["evidence"] = store_evidence(t, obj.cfg.root, "rehearsal_command", res["exit_code"] == 0, res,
                                             {"command": command, "exit_code": res["exit_code"]})
    out = _dumps(res) if fmt == "json" else render_command(res, markdown=fmt == "markdown")
    click.echo(out)
    if report_file is not None:
        report_file.write_text(out + "\n")
    if res["exit_code"] != 0:
        sys.exit(EXIT_FINDINGS)


def _dumps(obj) -> str:
    from bascule.report.text import dumps

    return dumps(obj)


# ----------------------------------------------------------------------------- history / validate
@cli.command(context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="Only the last N events.")
@click.option("--version", "version", metavar="VERSION", help="Only events of this migration.")
@click.option("--verify", is_flag=True, help="Check the hash chain; exit 1 if any event was edited or removed.")
@click.pass_obj
def history(obj: Ctx, as_json, limit, version, verify) -> None:
    """The append-only event log: applied, failed, rolled back, retries, repairs, baselines."""
    with obj.target() as t:
        h = t.history
        events = h.events(limit=limit, version=version)
        problems = h.verify_chain() if verify else []
        if as_json:
            for e in events:
                e["at"] = e["at"].isoformat()
            _echo_json({"database": t.safe_url, "events": events,
                        **({"chain_ok": not problems, "problems": problems} if verify else {})})
        else:
            if not events:
                click.echo("no events recorded yet")
            for e in events:
                d = e["detail"] or {}
                extra = ""
                if "duration_ms" in d:
                    extra = f"  {d['duration_ms']:.0f} ms"
                if d.get("error"):
                    extra += f"  error: {d['error']}"
                if d.get("reason"):
                    extra += f"  reason: {d['reason']}"
                click.echo(f"{e['id']:>5}  {e['at']:%Y-%m-%d %H:%M:%S}  {e['event']:<18} {e['version'] or '':<16} "
                           f"{e['name'] or '':<28} {e['actor']}@{e['host']}{extra}")
            if verify:
                click.echo("hash chain intact" if not problems else "\n".join(problems))
    if problems:
        sys.exit(EXIT_FINDINGS)


@cli.command(context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--offline", is_flag=True, help="Only parse the files; do not compare with the database.")
@click.pass_obj
def validate(obj: Ctx, as_json, offline) -> None:
    """Parse every migration and compare checksums with what was applied. Exit 1 on problems."""
    from bascule import operations

    migrations = obj.migrations()
    states = None
    where = "files only"
    if not offline:
        with obj.target() as t:
            states = operations.status(t, migrations)
            where = t.safe_url
    problems = operations.validate(migrations, states)
    if as_json:
        _echo_json({"database": where, "migrations": len(migrations), "problems": [p.to_dict() for p in problems]})
    else:
        for p in problems:
            click.echo(f"{p.kind}: {p.version}: {p.message}")
        click.echo(f"{len(migrations)} migrations checked against {where}: "
                   + ("ok" if not problems else f"{len(problems)} problem(s)"))
    if problems:
        sys.exit(EXIT_FINDINGS)


# ----------------------------------------------------------------------------- baseline / repair
@cli.command(context_settings=CONTEXT)
@click.argument("version")
@click.option("--reason", metavar="TEXT", help="Recorded with the baseline event.")
@click.pass_obj
def baseline(obj: Ctx, version, reason) -> None:
    """Adopt an existing database: migrations up to VERSION count as already applied."""
    from bascule import operations

    migrations = obj.migrations()
    with obj.target() as t:
        s = operations.baseline(t, migrations, version, reason)
        click.echo(f"baselined {t.safe_url} at {s.version} {s.name}: older migrations will not be run")


@cli.command(context_settings=CONTEXT)
@click.argument("version")
@click.option("--as", "as_", type=click.Choice(["applied", "pending"]),
              help="applied: you completed the failed migration by hand; pending: you undid its partial "
                   "effects and it should run again from the top.")
@click.option("--accept-checksum", is_flag=True, help="Accept the edited file of an applied migration as the new checksum.")
@click.option("--reason", metavar="TEXT", required=True, help="What was done by hand (recorded).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def repair(obj: Ctx, version, as_, accept_checksum, reason, as_json) -> None:
    """Resolve a failed migration after fixing things by hand, as a recorded event."""
    from bascule import operations
    from bascule.errors import PlanError

    if bool(as_) == bool(accept_checksum):
        raise PlanError("choose exactly one of --as applied|pending and --accept-checksum")
    action = "accept-checksum" if accept_checksum else as_
    migrations = obj.migrations()
    with obj.target() as t:
        res = operations.repair(t, migrations, version, action, reason)
    if as_json:
        _echo_json(res)
    else:
        shown = {"applied": "applied", "rolled_back": "pending"}.get(res.get("new_status", ""), "")
        click.echo(f"repaired {version}: {action}" + (f" (now {shown})" if shown else ""))


# ----------------------------------------------------------------------------- embedded
@cli.group(context_settings=CONTEXT)
def embedded() -> None:
    """Manage the private PostgreSQL server of this project (.bascule/embedded)."""


def _server(obj: Ctx, pg_version: str | None):
    import os

    from bascule.errors import ConfigError
    from bascule.targets.embedded import EmbeddedServer

    cfg = obj.cfg
    env = cfg.environment(obj.env or os.environ.get("BASCULE_ENV") or cfg.default_env)
    if not env.embedded:
        raise ConfigError(f"environment {env.name!r} is a URL, not the embedded server",
                          hint="use an environment with embedded = true (dev by default)")
    version = pg_version or env.pg_version
    root = cfg.embedded_root if version is None else cfg.root / ".bascule" / f"embedded-{version}"
    return EmbeddedServer(root, version=version, database=env.database)


_pgv = click.option("--pg-version", metavar="MAJOR", help="Use installed initdb/pg_ctl of this major version "
                                                          "instead of the bundled PostgreSQL 18.")


@embedded.command("start", context_settings=CONTEXT)
@_pgv
@click.pass_obj
def embedded_start(obj: Ctx, pg_version) -> None:
    """Initialise (first time) and start the embedded server; print its URL."""
    click.echo(_server(obj, pg_version).start())


@embedded.command("stop", context_settings=CONTEXT)
@_pgv
@click.pass_obj
def embedded_stop(obj: Ctx, pg_version) -> None:
    """Stop the embedded server (data is kept)."""
    stopped = _server(obj, pg_version).stop()
    click.echo("stopped" if stopped else "not running")


@embedded.command("status", context_settings=CONTEXT)
@_pgv
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def embedded_status(obj: Ctx, pg_version, as_json) -> None:
    """Whether the embedded server runs, its data folder and URL."""
    st = _server(obj, pg_version).status()
    if as_json:
        _echo_json(st.to_dict())
    else:
        click.echo(f"{'running' if st.running else 'stopped'} (PostgreSQL {st.version or 'not initialised'}) "
                   f"data: {st.data_dir}" + (f"\nurl: {st.url}" if st.url else ""))
    if not st.running:
        sys.exit(EXIT_FINDINGS)


@embedded.command("url", context_settings=CONTEXT)
@_pgv
@click.pass_obj
def embedded_url(obj: Ctx, pg_version) -> None:
    """Print the URL of the embedded server (starting it if needed)."""
    click.echo(_server(obj, pg_version).start())


# ----------------------------------------------------------------------------- lint
@cli.command(context_settings=CONTEXT)
@click.argument("paths", nargs=-1, metavar="[PATH|-]...")
@click.option("--since", metavar="GIT_REF", help="Report only migrations added since this git ref (the CI use); "
              "earlier ones still teach the analyzer the schema.")
@click.option("--env", "-e", "lint_env", metavar="NAME", help="Size findings against this environment's live tables.")
@click.option("--url", "lint_url", metavar="URL", help="Size findings against this database.")
@click.option("--pg-version", "pg", metavar="MAJOR", help="Target PostgreSQL major version, 10..18 (default: the "
              "connected server's, else [lint] pg_version, else 18).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif", "github"]), default="text",
              show_default=True)
@click.option("--fix", is_flag=True, help="Rewrite unsafe statements into their safe form in place, and print the diff.")
@click.option("--diff", "show_diff", is_flag=True, help="Print the --fix diff without writing any file.")
@click.option("--runner", type=click.Choice(["bascule", "other"]), help="Who runs the SQL: bascule (default) or "
              "another tool; `other` adds the checks bascule's runner makes unnecessary (lock_timeout, IF NOT EXISTS).")
@click.option("--disable", metavar="CODES", help="Comma-separated rule codes or names to skip.")
@click.option("--only", metavar="CODES", help="Run only these rules.")
@click.option("--enable", metavar="CODES", help="Turn on opt-in rules (B6xx: stricter policies), comma-separated.")
@click.option("--no-probe", is_flag=True, help="With --env/--url: skip the throughput probe (a rolled-back temporary "
              "table); estimates then use conservative default rates.")
@click.option("--list-rules", is_flag=True, help="List every rule with its code, severity and summary, and exit.")
@click.option("--jobs", "-j", type=click.IntRange(1, 2), help="Processes: 1, or 2 to lint the first migrations "
              "in a second process (default: 2 when the process may use two cores and there is over 64 KiB of SQL "
              "to report, without --env/--url).")
@click.option("--verbose", "-v", is_flag=True, help="Also show suppressed findings and each migration's rewrites.")
@click.pass_obj
def lint(obj: Ctx, paths, since, lint_env, lint_url, pg, fmt, fix, show_diff, runner, disable, only, enable,
         no_probe, list_rules, jobs, verbose) -> None:
    """Check migrations for locks, rewrites, scans, breaking changes and data loss.

    PATH is a migrations folder (any layout bascule reads), a folder of .sql files, a .sql file,
    or - for stdin; default: the project's migrations folder. Each migration is classified
    (non-breaking, breaking, data migration) with the strongest lock it takes, then every finding
    is listed with its position, why it matters and the safe alternative.

    With --env or --url, findings are sized against the live tables (rows, bytes, write rate,
    estimated time under the lock) and long-running transactions are reported; without, the
    analysis is static and says so.

    Suppress a finding with a SQL comment (-- or /* */) on or just above the statement (a reason
    is required):

    \b
        -- bascule:ignore B101 lookup table of 40 rows
        -- bascule:ignore-file B203 columns unused since release 4.2

    Configure rules in bascule.toml [lint]: pg_version, runner, disable, enable, only, severity.

    Exit codes: 0 no error-level finding, 1 error-level findings remain, 2 usage error,
    3 the database given with --env/--url cannot be reached.
    """
    import gc

    from bascule.analyze import inputs, options
    from bascule.analyze import rules as registry
    from bascule.analyze.engine import lint_units

    # Parse trees are millions of small dicts that live until the process ends and hold no cycles:
    # the cyclic collector would only re-scan them (a third of a large run's time).
    gc.disable()
    if list_rules:
        _list_rules(registry.all_rules(), fmt)
        return
    cfg = _lint_config(obj, need=bool(lint_env or obj.env))
    opts = options.build(cfg.lint if cfg else None, pg=pg, runner=runner, disable=disable, only=only, enable=enable)
    opts.jobs = jobs
    _check_rule_selection(opts)
    if list(paths).count("-") > 1:
        raise ConfigError("- (stdin) is given more than once", hint="stdin can be read only once: give - once")
    # bytes: text that is not UTF-8 is a finding (B502), as for a file
    stdin_text = click.get_binary_stream("stdin").read() if "-" in paths else None
    units = inputs.collect(list(paths), default_folder=cfg.migrations_dir if cfg else None,
                           layout=cfg.layout if cfg else "auto", stdin_text=stdin_text)
    added = inputs.added_since(since, list(paths) or [str(cfg.migrations_dir)]) if since else None
    if added is not None:
        inputs.mark_since(units, added)
    conn = None
    env_name, url = lint_env or obj.env, lint_url or obj.url
    if env_name or url:
        conn = _lint_connection(obj, cfg, env_name, url)
        from bascule.analyze.live import LiveCatalog

        opts.live = LiveCatalog(conn, probe=not no_probe)
        if pg is None:
            opts.pg_version = max(options.MIN_VERSION, min(conn.info.server_version // 10000, 18))
    try:
        result = lint_units(units, opts)
        recorded = _recorded_versions(conn) if conn is not None and (fix or show_diff) else None
        if (fix or show_diff) and _lint_fix(units, result, opts, write=fix and not show_diff, recorded=recorded):
            units = inputs.collect(list(paths), default_folder=cfg.migrations_dir if cfg else None,
                                   layout=cfg.layout if cfg else "auto", stdin_text=stdin_text)
            if added is not None:
                inputs.mark_since(units, added)
            result = lint_units(units, opts)  # report what is left after the rewrite
    finally:
        if conn is not None:
            conn.close()
    sources = {u.path: u.up.text.split("\n") for u in units if u.up is not None and u.up.first_line == 1}
    from bascule.report import lint as render

    if fmt == "json":
        click.echo(render.render_json(result))
    elif fmt == "sarif":
        click.echo(render.render_sarif(result, registry.all_rules()))
    elif fmt == "github":
        click.echo(render.render_github(result))
    else:
        click.echo(render.render_text(result, sources, color=sys.stdout.isatty(), verbose=verbose))
    sys.exit(result.exit_code())


def _lint_config(obj: Ctx, need: bool):
    """bascule.toml for lint. Plain .sql files lint without a project, so only a missing file is
    fine (None; unless `need`: --env names one of its environments). A file that is there, or
    named with --config, must be valid: a broken one is a configuration error (exit 2), never
    silently replaced by the defaults."""
    from bascule.config import find_config

    if obj.config_path is None and not need and find_config() is None:
        return None
    return obj.cfg


def _check_rule_selection(opts) -> None:
    """Refuse rule settings that cannot be honoured, or that leave nothing to run."""
    from bascule.analyze import rules as registry
    from bascule.analyze.suppress import rules_run

    why = {registry.SYNTAX.code: "a file PostgreSQL cannot parse (or that is not UTF-8) was not checked at all",
           registry.INTERNAL.code: "a statement a rule failed on was not fully checked"}
    always = set(why)
    off = sorted(always & opts.disabled)
    if off:
        code = off[0]
        raise ConfigError(f"{code} cannot be disabled or set to off: {why[code]}",
                          hint=f"change its severity instead: [lint] severity = {{ {code} = \"warning\" }}")
    if opts.enabled_only is not None and not rules_run(opts) and not opts.enabled_only & always:
        raise ConfigError(f"no rule left to run: only {', '.join(sorted(opts.enabled_only))}, "
                          f"disabled {', '.join(sorted(opts.disabled)) or 'none'}",
                          hint="a rule named by --only (or [lint] only) runs unless it is also disabled; "
                               "rules marked [--runner other] need --runner other")


def _lint_connection(obj: Ctx, cfg, env_name, url):
    from bascule.config import resolve_target
    from bascule.targets.connect import connect

    if url and cfg is None:
        return connect(url, application_name="bascule lint")
    rt = resolve_target(cfg, env_name, url)
    return connect(rt.url, application_name="bascule lint")


def _list_rules(rules, fmt: str) -> None:
    if fmt not in ("text", "json"):
        raise ConfigError(f"--list-rules prints text or json, not {fmt}",
                          hint="--format sarif lists every rule in tool.driver.rules of a lint report")
    if fmt == "json":
        _echo_json([{"code": r.code, "name": r.name, "severity": r.severity, "category": r.category,
                     "summary": r.summary, "fixable": r.fixable, "peers": list(r.peers),
                     "runner_other_only": r.only_external, "default_on": r.default_on, "docs": r.docs} for r in rules])
        return
    for r in rules:
        flags = ((" [fix]" if r.fixable else "") + (" [--runner other]" if r.only_external else "")
                 + ("" if r.default_on else " [opt-in]"))
        click.echo(f"{r.code}  {r.severity:<7}  {r.name:<34} {r.summary}{flags}")


def _recorded_versions(conn) -> dict[str, str]:
    """Versions the database has a history row for (applied, baselined, failed or running) → status;
    rolled-back ones are free to change."""
    from bascule.history.store import History

    return {v: r.status for v, r in History(conn).records().items() if r.status != "rolled_back"}


def _lint_fix(units, result, opts, write: bool, recorded: dict[str, str] | None = None) -> bool:
    """Rewrite each file with fixable findings and print the diff and notes on stderr (stdout stays
    the report). With a connection (`recorded`), migrations the database already ran are left alone:
    a rewrite would change their checksum and `bascule up` would refuse them as modified. Returns
    whether any file was written."""
    from bascule.analyze.fix import fix_text, names_before
    from bascule.analyze.inputs import STDIN
    from bascule.versions import version_key

    def ran(version: str | None) -> str | None:
        if version is None or not recorded:
            return None
        for v, status in recorded.items():
            try:
                if v == version or version_key(v) == version_key(version):
                    return status
            except ValueError:
                continue
        return None

    by_path: dict[str, list] = {}
    for f in result.findings:
        if f.fixable and not f.suppressed:
            by_path.setdefault(f.path, []).append(f)
    wrote = False
    # each migration with the relation and constraint names the earlier ones left (and the live ones)
    for u, names in names_before(units, live=opts.live, pg_version=opts.pg_version,
                                 applied=lambda unit: ran(unit.version) is not None):
        if u.up is None or u.path not in by_path:
            continue
        if u.path == STDIN:
            click.echo("note: stdin cannot be fixed in place; lint a file to use --fix", err=True)
            continue
        status = ran(u.version)
        if status is not None:
            click.echo(f"note: {u.path}: not rewritten: migration {u.label} is already {status} on this database, "
                       "and a rewrite would change its checksum (`bascule up` refuses a modified migration); "
                       "make the change in a new migration", err=True)
            continue
        path = Path(u.path)
        with path.open(encoding="utf-8", newline="") as fh:  # the whole file, line endings as they are
            text = fh.read()
        res = fix_text(text, u.path, by_path[u.path], pg_version=opts.pg_version, layout=u.layout,
                       transaction=u.transaction, names=names)
        for note in res.notes:
            click.echo(f"note: {u.path}: {note}", err=True)
        if not res.changed:
            continue
        click.echo(res.diff(), err=True)
        if not write:
            continue
        from bascule.errors import SourceError
        from bascule.sources import declare_non_transactional, write_text_atomic

        try:
            write_text_atomic(path, res.fixed)
            wrote = True
            click.echo(f"fixed {u.path}", err=True)
            done = (declare_non_transactional(u.layout, path)
                    if res.needs_separate_transactions and u.transaction != "never" else "")
        except OSError as exc:
            raise SourceError(f"cannot write {exc.filename or path}: {exc.strerror or exc}",
                              hint="--diff prints the rewrite without writing any file") from None
        if done is None and not res.runs_alone:
            click.echo(f"note: {u.path}: run this migration outside one transaction (the VALIDATE steps "
                       "must commit separately), in whatever way the tool that runs it allows", err=True)
        elif done:
            click.echo(done, err=True)
    if wrote and recorded is None and any(u.layout for u in units):
        click.echo("note: without --env/--url, --fix cannot tell which of these migrations a database already "
                   "ran: one that is applied somewhere now reads as modified there (`bascule status`); revert "
                   "it and make the change in a new migration", err=True)
    return wrote


# ----------------------------------------------------------------------------- demo
@cli.command(context_settings=CONTEXT)
@click.option("--keep", is_flag=True, help="Keep the temporary project folder and leave its server running.")
@click.option("--pg-version", metavar="MAJOR", help="Run on installed PostgreSQL of this major version.")
@click.option("--rows", type=int, default=50_000, show_default=True, help="Rows in the demo users table.")
def demo(keep, pg_version, rows) -> None:
    """Walk a realistic example through up, status and down on a throwaway embedded server."""
    from bascule.demo import run_demo

    run_demo(keep=keep, pg_version=pg_version, rows=rows)


class Terminated(KeyboardInterrupt):
    """SIGTERM (timeout, CI cancellation, docker stop, systemd): unwinds like Ctrl-C, so that every
    cleanup path (throwaway servers, rehearsal databases, dumps, the migration lock) runs."""


def _on_sigterm(signum, frame) -> None:
    raise Terminated()


def main(argv: list[str] | None = None) -> None:
    import signal
    import threading

    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        cli.main(args=argv, prog_name="bascule", standalone_mode=False)
    except BasculeError as exc:
        click.echo(f"error: {exc.message}", err=True)
        if exc.hint:
            click.echo(f"hint: {exc.hint}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort as exc:  # click turns KeyboardInterrupt (and so SIGTERM) into Abort
        if isinstance(exc.__cause__, Terminated):
            click.echo("terminated", err=True)
            sys.exit(143)
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2 if exc.exit_code == 2 else exc.exit_code)
    except Terminated:
        click.echo("terminated", err=True)
        sys.exit(143)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # database connection lost mid-run etc.
        mod = type(exc).__module__ or ""
        if mod.startswith("psycopg"):
            from bascule.targets.connect import scrub

            click.echo(f"error: database error: {scrub(str(exc).strip(), None)}", err=True)
            sys.exit(3)
        raise


if __name__ == "__main__":  # pragma: no cover
    main()
