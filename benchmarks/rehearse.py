"""Rehearsal costs: observer overhead, and clone vs dump/restore.

    python benchmarks/rehearse.py [--rows 5000000] [--repeat 3]

On a throwaway embedded PostgreSQL 18, fills a table with --rows rows, then:

1. observer overhead: applies the same 8 migrations (ADD COLUMN, a type change that rewrites the
   table, CREATE INDEX, CREATE INDEX CONCURRENTLY, an UPDATE backfill, a CHECK constraint ...) to
   fresh clones of that database, once through the Runner alone (what `bascule up` does) and
   once with the rehearsal profiler attached (statement timing, WAL, rewrite detection and 10 ms
   lock sampling). Target: profiled / plain <= 1.10.
2. snapshot speed: `CREATE DATABASE ... TEMPLATE` (clone) against pg_dump -Fc + pg_restore
   --jobs 2 (dump) of the same database.

3. synthetic generation: the schema alone, filled by `rehearse.synthetic.generate` to the
   source's row count, against the floor: `INSERT ... SELECT generate_series` of as many rows into
   the same table. Target: floor time / generation time >= 0.5.
Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

MIGRATIONS = [
    ("0002_add_note", "ALTER TABLE accounts ADD COLUMN note text;"),
    ("0003_backfill", "UPDATE accounts SET note = 'n' WHERE id % 10 = 0;"),
    ("0004_index", "CREATE INDEX accounts_owner_idx ON accounts (owner_id);"),
    ("0005_index_conc", "CREATE INDEX CONCURRENTLY accounts_created_idx ON accounts (created_at);"),
    ("0006_widen", "ALTER TABLE accounts ALTER COLUMN owner_id TYPE bigint;"),
    ("0007_check", "ALTER TABLE accounts ADD CONSTRAINT balance_positive CHECK (balance >= 0);"),
    ("0008_default", "ALTER TABLE accounts ADD COLUMN flags int NOT NULL DEFAULT 0;"),
    ("0009_drop", "ALTER TABLE accounts DROP COLUMN note;"),
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    import psycopg
    from _accounts import INSERT as accounts_insert
    from _accounts import fill
    from psycopg import sql

    from bascule.config import Settings
    from bascule.operations import Target, apply
    from bascule.rehearse.copy import copy_database
    from bascule.rehearse.observe import StatementProfiler
    from bascule.sources import load_migrations
    from bascule.targets.embedded import EmbeddedServer

    tmp = Path(tempfile.mkdtemp(prefix="bascule-bench-rehearse-"))
    server = EmbeddedServer(tmp / "embedded", database="source")
    try:
        server.start()
        admin = psycopg.connect(server.url("postgres"), autocommit=True)
        with psycopg.connect(server.url("source"), autocommit=True) as c:
            fill(c, args.rows)
        proj = tmp / "project" / "migrations"
        for name, up in MIGRATIONS:
            (proj / name).mkdir(parents=True)
            (proj / name / "up.sql").write_text(up + "\n")
        migrations = load_migrations(proj, "native")
        plain_t, prof_t = [], []
        n = 0

        def fresh() -> str:
            nonlocal n
            n += 1
            name = f"run{n}"
            admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE source").format(sql.Identifier(name)))
            admin.execute("CHECKPOINT")
            return server.url(name)

        settings = Settings(lock_timeout=30.0)
        for i in range(args.repeat):
            for mode in (("plain", "profiled") if i % 2 == 0 else ("profiled", "plain")):
                url = fresh()
                with Target(url, settings) as t:
                    observers = []
                    if mode == "profiled":
                        prof = StatementProfiler(url, t.conn.info.backend_pid)
                        observers.append(prof)
                    t0 = time.perf_counter()
                    res = apply(t, migrations, observers=observers)
                    elapsed = time.perf_counter() - t0
                    assert len(res.outcomes) == len(MIGRATIONS)
                    if mode == "profiled":
                        assert len(prof.records) == len(MIGRATIONS)
                        prof.close()
                (prof_t if mode == "profiled" else plain_t).append(elapsed)
                print(f"  {mode:<9} {elapsed:6.2f} s", file=sys.stderr, flush=True)
        plain_s, prof_s = statistics.median(plain_t), statistics.median(prof_t)

        size = admin.execute("SELECT pg_database_size('source')").fetchone()[0]
        clone_t, dump_t = [], []
        for i in range(max(1, args.repeat - 1)):
            name = f"clone{i}"
            r = copy_database("clone", server.url("source"), server.url("postgres"), server.url(name), name,
                              server.bindir, tmp, progress=lambda _m: None)
            clone_t.append(r.seconds)
            name = f"dump{i}"
            work = tmp / f"w{i}"
            work.mkdir()
            r = copy_database("dump", server.url("source"), server.url("postgres"), server.url(name), name,
                              server.bindir, work, progress=lambda _m: None)
            dump_t.append(r.seconds)
            shutil.rmtree(work, ignore_errors=True)
        clone_s, dump_s = statistics.median(clone_t), statistics.median(dump_t)

        # synthetic generation against the floor: INSERT ... SELECT generate_series of as many rows
        from bascule.rehearse.synthetic import generate

        syn_t, floor_t = [], []
        for i in range(max(1, args.repeat - 1)):
            name = f"syn{i}"
            work = tmp / f"s{i}"
            work.mkdir()
            copy_database("schema", server.url("source"), server.url("postgres"), server.url(name), name,
                          server.bindir, work, progress=lambda _m: None)
            with psycopg.connect(server.url("source"), autocommit=True) as src, \
                    psycopg.connect(server.url(name), autocommit=True) as dst:
                t0 = time.perf_counter()
                gen = generate(src, dst, scale=1.0, progress=lambda _m: None)
                syn_t.append(time.perf_counter() - t0)
                made = sum(g["rows_generated"] or 0 for g in gen.values())
                dst.execute("TRUNCATE accounts")
                t0 = time.perf_counter()
                dst.execute(accounts_insert, (made,))
                floor_t.append(time.perf_counter() - t0)
        syn_s, floor_s = statistics.median(syn_t), statistics.median(floor_t)
        syn_ratio = floor_s / syn_s
        ratio = prof_s / plain_s
        print(f"\nrehearsal costs, {args.rows} rows ({size / 2**20:.0f} MiB), {len(MIGRATIONS)} migrations, "
              f"median of {args.repeat}")
        print(f"  apply, Runner only          {plain_s:7.2f} s")
        print(f"  apply, with profiler        {prof_s:7.2f} s   overhead {100 * (ratio - 1):+.1f}% "
              f"(target <= +10%): {'ok' if ratio <= 1.10 else 'MISSED'}")
        print(f"  snapshot: clone             {clone_s:7.2f} s")
        print(f"  snapshot: dump + restore    {dump_s:7.2f} s   ({dump_s / clone_s:.1f}x the clone)")
        print(f"  synthetic generation        {syn_s:7.2f} s   {made / syn_s / 1e3:.0f}k rows/s; floor "
              f"(INSERT ... generate_series) {floor_s:.2f} s: ratio {syn_ratio:.2f} (target >= 0.5): "
              f"{'ok' if syn_ratio >= 0.5 else 'MISSED'}")
        print(json.dumps({"benchmark": "rehearse", "rows": args.rows, "database_bytes": size,
                          "plain_s": round(plain_s, 3), "profiled_s": round(prof_s, 3),
                          "observer_overhead": round(ratio, 3), "meets_overhead_target": ratio <= 1.10,
                          "clone_s": round(clone_s, 3), "dump_restore_s": round(dump_s, 3),
                          "dump_vs_clone": round(dump_s / clone_s, 2), "synthetic_s": round(syn_s, 3),
                          "synthetic_floor_s": round(floor_s, 3), "synthetic_vs_floor": round(syn_ratio, 3),
                          "meets_synthetic_target": syn_ratio >= 0.5,
                          "samples_s": {"plain": plain_t, "profiled": prof_t, "clone": clone_t, "dump": dump_t,
                                        "synthetic": syn_t, "synthetic_floor": floor_t}}))
        admin.close()
        return 0
    finally:
        server.destroy()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
