"""B306 unbatched-data-change: static, and sized by the planner on the suite's PG18 and PG15."""

import pytest
from _lint import fires, hits

from bascule.analyze import lint_sql
from bascule.analyze.live import LiveCatalog


def test_static_info():
    (f,) = hits("UPDATE orders SET status = 'done' WHERE shipped_at IS NOT NULL;", "B306")
    assert f.severity == "info" and "orders" in f.message and "size unknown" in f.message


@pytest.mark.parametrize("sql", [
    "UPDATE orders SET status = 'done';",  # no WHERE: B302's finding
    "CREATE TABLE t (a int);\nUPDATE t SET a = 1 WHERE a IS NULL;",  # new table
    "INSERT INTO orders (id) VALUES (1);",
])
def test_does_not_fire(sql):
    assert not fires(sql, "B306")


def test_planner_sizes_the_change(vdb):
    vdb.exec("CREATE TABLE orders (id bigint PRIMARY KEY, status text);"
             "INSERT INTO orders SELECT g, 'new' FROM generate_series(1, 50000) g; ANALYZE orders;")
    with vdb.connect() as conn:
        live = LiveCatalog(conn, probe=False)
        few = [f for f in lint_sql("UPDATE orders SET status = 'x' WHERE id < 100;", live=live).findings
               if f.code == "B306"]
        many = [f for f in lint_sql("DELETE FROM orders WHERE id > 10;", live=live).findings if f.code == "B306"]
        later = [f for f in lint_sql("UPDATE invoices SET a = 1 WHERE b = 2;", live=live).findings
                 if f.code == "B306"]
        # planning took its lock and let it go
        assert conn.execute("SELECT count(*) FROM pg_locks WHERE relation = 'orders'::regclass "
                            "AND pid = pg_backend_pid()").fetchone()[0] == 0
    (f,) = few
    assert f.severity == "info" and 50 <= f.estimate["rows"] <= 200 and "about" in f.message
    (f,) = many
    assert f.severity == "warning" and 45_000 <= f.estimate["rows"] <= 55_000 and "batch it" in f.message
    assert vdb.scalar("SELECT count(*) FROM orders") == 50000  # EXPLAIN ran nothing
    (f,) = later  # a table not in the database yet: the static finding
    assert "size unknown" in f.message
