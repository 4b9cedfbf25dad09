"""How fast does `bascule up` give up when a lock cannot be had?

    python benchmarks/lock_timeout.py [--lock-timeout-ms 300] [--repeat 5]

A session holds ACCESS SHARE on a table for 20 s while `bascule up` tries an ALTER TABLE on it,
with lock_retries = 0, three ways:

* lock_timeout from the environment (bascule.toml [defaults]);
* a pg_dump-style `SET lock_timeout = 0` in the migration before it (must not leak);
* lock_timeout from the migration's migration.toml, with a 30 s environment default.

Each run's wall time is compared with its floor: the process start and a no-op `bascule up`
(measured in the same run) plus lock_timeout. Target: give-up time / floor <= 1.5, and far below
the 20 s the holder keeps the lock (which is what queueing would cost). Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HOLD_S = 20.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lock-timeout-ms", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    import psycopg
    from psycopg import sql

    from bascule.targets.embedded import EmbeddedServer

    tmp = Path(tempfile.mkdtemp(prefix="bascule-bench-lock-"))
    server = EmbeddedServer(tmp / "embedded", database="postgres")
    lt = args.lock_timeout_ms
    try:
        server.start()
        admin = psycopg.connect(server.url("postgres"), autocommit=True)
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "BASCULE_ENV")}

        def bascule(project: Path, url: str, *a: str) -> tuple[float, int]:
            t0 = time.perf_counter()
            res = subprocess.run([sys.executable, "-m", "bascule.cli.main", "--url", url, *a], cwd=project,
                                 env=env, capture_output=True, text=True)
            return time.perf_counter() - t0, res.returncode

        scenarios = {
            "environment": (f'lock_timeout = "{lt}ms"', None, None),
            "after_set_lock_timeout_0": (f'lock_timeout = "{lt}ms"', "SET lock_timeout = 0;\nSELECT 1;\n", None),
            "migration_toml": ('lock_timeout = "30s"', None, f'lock_timeout = "{lt}ms"\n'),
        }
        results: dict[str, list[float]] = {k: [] for k in scenarios}
        floors: list[float] = []
        n = 0
        for _ in range(args.repeat):
            for name, (defaults, before, toml) in scenarios.items():
                n += 1
                db = f"b{n}"
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db)))
                url = server.url(db)
                proj = tmp / f"p{n}"
                (proj / "migrations" / "0001_t").mkdir(parents=True)
                (proj / "bascule.toml").write_text(f"[defaults]\n{defaults}\nlock_retries = 0\n")
                (proj / "migrations" / "0001_t" / "up.sql").write_text("CREATE TABLE t (id int);\n")
                bascule(proj, url, "up")
                floors.append(bascule(proj, url, "up")[0])  # nothing to do: process + connect + plan
                if before:
                    (proj / "migrations" / "0002_dump").mkdir()
                    (proj / "migrations" / "0002_dump" / "up.sql").write_text(before)
                d = proj / "migrations" / "0003_alter"
                d.mkdir()
                (d / "up.sql").write_text("ALTER TABLE t ADD COLUMN c int;\n")
                if toml:
                    (d / "migration.toml").write_text(toml)
                ready = threading.Event()

                def hold(u=url, ev=ready):
                    with psycopg.connect(u, autocommit=True) as c, c.transaction():
                        c.execute("LOCK TABLE t IN ACCESS SHARE MODE")
                        ev.set()
                        time.sleep(HOLD_S)

                th = threading.Thread(target=hold, daemon=True)
                th.start()
                ready.wait(10)
                elapsed, rc = bascule(proj, url, "up")
                assert rc == 3, f"{name}: expected a lock timeout, exit {rc}"
                results[name].append(elapsed)
                admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                              "AND pid <> pg_backend_pid()", (db,))
        floor = statistics.median(floors) + lt / 1000
        med = {k: statistics.median(v) for k, v in results.items()}
        ratios = {k: v / floor for k, v in med.items()}
        print(f"\ngiving up on a held lock, lock_timeout {lt} ms, lock_retries 0, median of {args.repeat}")
        print(f"  floor (no-op up {statistics.median(floors):.2f} s + lock_timeout)   {floor:6.2f} s")
        for k, v in med.items():
            print(f"  {k:<28} {v:6.2f} s   {ratios[k]:.2f}x the floor, {v / HOLD_S:.3f} of the holder's {HOLD_S:.0f} s")
        ok = all(r <= 1.5 for r in ratios.values())
        print(f"  target <= 1.5x the floor: {'ok' if ok else 'MISSED'}")
        print(json.dumps({"benchmark": "lock_timeout", "lock_timeout_ms": lt, "floor_s": round(floor, 3),
                          **{f"{k}_s": round(v, 3) for k, v in med.items()},
                          **{f"{k}_vs_floor": round(v, 3) for k, v in ratios.items()},
                          "vs_holder": round(max(med.values()) / HOLD_S, 3), "meets_target": ok,
                          "samples_s": results}))
        admin.close()
        return 0
    finally:
        server.destroy()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
