"""The `accounts` table the verify and rehearse benchmarks fill: one definition for both."""

from __future__ import annotations

import sys
import time

DDL = """CREATE TABLE accounts (
    id bigint PRIMARY KEY, owner_id int NOT NULL, email text NOT NULL,
    created_at timestamptz NOT NULL, balance numeric(12, 2), active boolean NOT NULL)"""

# rows 1..%s; psycopg placeholders, so the SQL's own % is doubled
INSERT = """INSERT INTO accounts
SELECT g, g %% 100000, 'user' || g || '@example.com', timestamptz '2020-01-01' + g * interval '1 second',
       (g %% 100000) / 100.0, g %% 7 <> 0
  FROM generate_series(1, %s) g"""


def fill(conn, rows: int) -> None:
    """Create and fill accounts with `rows` rows, then VACUUM ANALYZE it (autocommit connection)."""
    print(f"filling {rows} rows ...", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    conn.execute(DDL)
    conn.execute(INSERT, (rows,))
    conn.execute("VACUUM ANALYZE accounts")
    print(f"filled in {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
