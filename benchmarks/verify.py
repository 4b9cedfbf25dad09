"""Checksum throughput of `bascule verify` against a plain sequential scan.

    python benchmarks/verify.py [--rows 5000000] [--repeat 3]

Starts a throwaway embedded PostgreSQL 18, fills one table with --rows rows (bigint key, int,
text, timestamptz, numeric, boolean), VACUUM ANALYZEs it, then times, alternating, on the same
warm table:

* the floor: `SELECT count(*)` (a sequential scan, parallel where PostgreSQL chooses);
* bascule's checksum of that table: the query verification runs before and after a migration
  (every row rendered as text and hashed, grouped in primary-key chunks).

Prints rows/s for each and the ratio checksum/count (target: at least 0.5 on 2 cores), and as
its last line one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    import psycopg
    from _accounts import fill

    from bascule.sql import split_statements
    from bascule.targets.embedded import EmbeddedServer
    from bascule.verify.relations import touched
    from bascule.verify.snapshot import Options, take

    tmp = Path(tempfile.mkdtemp(prefix="bascule-bench-verify-"))
    server = EmbeddedServer(tmp / "embedded", database="bench")
    try:
        url = server.start()
        conn = psycopg.connect(url, autocommit=True)
        fill(conn, args.rows)
        stmts, _ = split_statements("UPDATE accounts SET active = active WHERE false;")
        touch = touched(stmts)
        touch.updated_columns.clear()  # hash every column, the expensive case
        opts = Options({"checksums"})
        scan_t, sum_t, read_t, hash_t = [], [], [], []
        # What hashing every value costs with no chunks at all (informational): one pass, folded with
        # xor, in two formulations (per column with each type's hash function; the row as a record);
        # the faster one is reported. The checksum's chunking comes on top of this.
        hash_only = ["SELECT bit_xor(hashint8extended(id, 0) # hashint4extended(owner_id, 1) "
                     "# hashtextextended(email, 2) # timestamp_hash_extended(created_at::timestamp, 3) "
                     "# hash_numeric_extended(balance, 4) # active::int) FROM accounts",
                     "SELECT bit_xor(hash_record_extended(ROW(id, owner_id, email, created_at, balance, active), 0)) "
                     "FROM accounts"]
        hash_t2: list[float] = []
        take(conn, touch, opts)  # warm-up: page cache and catalog
        # The floor is a sequential scan, as the target says (an index-only scan on the freshly
        # vacuumed primary key would be faster still, and is not what a checksum could use).
        conn.execute("SET enable_indexonlyscan = off; SET enable_indexscan = off; SET enable_bitmapscan = off")
        for _ in range(args.repeat):
            t = time.perf_counter()
            n = conn.execute("SELECT count(*) FROM accounts").fetchone()[0]
            scan_t.append(time.perf_counter() - t)
            assert n == args.rows
            t = time.perf_counter()
            conn.execute("SELECT count(*) FROM accounts WHERE ROW(id, owner_id, email, created_at, balance, active) "
                         "IS NOT NULL").fetchone()
            read_t.append(time.perf_counter() - t)
            for q, out in zip(hash_only, (hash_t, hash_t2), strict=True):
                t = time.perf_counter()
                conn.execute(q).fetchone()
                out.append(time.perf_counter() - t)
            t = time.perf_counter()
            snap = take(conn, touch, opts)
            sum_t.append(time.perf_counter() - t)
            entry = next(iter(snap["tables"].values()))
            assert entry["count"] == args.rows and len(entry["chunks"]) >= 32
        scan_s, sum_s, read_s = statistics.median(scan_t), statistics.median(sum_t), statistics.median(read_t)
        hash_s = min(statistics.median(hash_t), statistics.median(hash_t2))
        scan_rate, sum_rate = args.rows / scan_s, args.rows / sum_s
        ratio = sum_rate / scan_rate
        workers = conn.execute("SHOW max_parallel_workers_per_gather").fetchone()[0]
        conn.close()
        print(f"\nverify checksum throughput, {args.rows} rows, median of {args.repeat} "
              f"(max_parallel_workers_per_gather = {workers})")
        print(f"  SELECT count(*)          {scan_s:7.2f} s  {scan_rate / 1e6:6.2f} M rows/s  (floor)")
        print(f"  scan reading every column {read_s:6.2f} s  {args.rows / read_s / 1e6:6.2f} M rows/s  (info)")
        print(f"  hash every value, no chunks {hash_s:4.2f} s  {args.rows / hash_s / 1e6:6.2f} M rows/s  "
              f"(info: {scan_s / hash_s:.2f} of the scan)")
        print(f"  bascule checksum         {sum_s:7.2f} s  {sum_rate / 1e6:6.2f} M rows/s")
        print(f"  ratio checksum/scan      {ratio:.2f}  (target >= 0.5): {'ok' if ratio >= 0.5 else 'MISSED'}")
        print(json.dumps({"benchmark": "verify_checksum", "rows": args.rows, "scan_s": round(scan_s, 3),
                          "checksum_s": round(sum_s, 3), "read_all_columns_s": round(read_s, 3),
                          "vs_read_all_columns": round(read_s / sum_s, 3), "hash_only_s": round(hash_s, 3),
                          "hash_only_vs_scan": round(scan_s / hash_s, 3), "scan_rows_per_s": round(scan_rate),
                          "checksum_rows_per_s": round(sum_rate), "vs_scan": round(ratio, 3),
                          "meets_target": ratio >= 0.5, "samples_s": {"scan": scan_t, "checksum": sum_t, "hash_only": hash_t, "hash_only_record": hash_t2}}))
        return 0
    finally:
        server.destroy()
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
