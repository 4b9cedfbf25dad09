"""B124 concurrent-index-pg14-bug (needs a connection: the server's minor version)."""

import pytest
from _lint import fires, hits


class Server:
    """Stands for a connection to a server of this version (server_version_num): B124 reads only
    .version; every other question the analyzer asks a connection gets "unknown"."""

    def __init__(self, version: int):
        self.version = version

    def __getattr__(self, name):
        return lambda *args, **kw: None


@pytest.mark.parametrize("sql", [
    "CREATE INDEX CONCURRENTLY orders_customer_idx ON orders (customer_id);",
    "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS users_email_key ON users (email);",
    "REINDEX INDEX CONCURRENTLY orders_customer_idx;",
    "REINDEX (CONCURRENTLY) TABLE orders;",
    "REINDEX (CONCURRENTLY true) SCHEMA app;",
])
@pytest.mark.parametrize("version", [140000, 140002, 140003])
def test_fires_on_14_0_to_14_3(sql, version):
    assert fires(sql, "B124", live=Server(version))


@pytest.mark.parametrize("version", [130011, 140004, 140012, 150000, 170002])
def test_not_on_other_versions(version):
    assert not fires("CREATE INDEX CONCURRENTLY i ON orders (customer_id);", "B124", live=Server(version))


@pytest.mark.parametrize("sql", [
    "CREATE INDEX i ON orders (customer_id);",  # a plain build does not have the bug (B101 reports its lock)
    "REINDEX TABLE orders;",
    "REINDEX (CONCURRENTLY false) TABLE orders;",
    "DROP INDEX CONCURRENTLY i;",
])
def test_not_without_a_concurrent_build(sql):
    assert not fires(sql, "B124", live=Server(140002))


def test_not_without_a_connection():
    assert not fires("CREATE INDEX CONCURRENTLY i ON orders (customer_id);", "B124", pg_version=14)


def test_not_on_a_table_created_in_the_same_migration():
    sql = "CREATE TABLE t (a int);\nCREATE INDEX CONCURRENTLY i ON t (a);"
    assert not fires(sql, "B124", live=Server(140002), transaction="never")


def test_message_position_and_severity():
    f, = hits("SELECT 1;\nCREATE INDEX CONCURRENTLY orders_customer_idx ON orders (customer_id);", "B124",
              live=Server(140003))
    assert (f.line, f.column) == (2, 1) and f.severity == "error" and f.table == "orders"
    assert "14.3" in f.message and "14.4" in f.message and "orders_customer_idx" in f.message
    assert "heapallindexed" in f.fix


def test_reindex_names_the_indexs_table():
    f, = hits("REINDEX INDEX CONCURRENTLY orders_customer_idx;", "B124", live=Server(140001),
              before=["CREATE TABLE orders (customer_id bigint); CREATE INDEX orders_customer_idx ON orders (customer_id);"])
    assert f.table == "orders" and "REINDEX INDEX CONCURRENTLY orders_customer_idx" in f.message


def test_suppression_with_reason():
    sql = ("-- bascule:ignore B124 rebuilt after the 14.4 upgrade\n"
           "CREATE INDEX CONCURRENTLY i ON orders (customer_id);")
    assert not fires(sql, "B124", live=Server(140002))


def test_real_connection_to_a_fixed_server(db):
    from bascule.analyze.live import LiveCatalog

    db.exec("CREATE TABLE orders (customer_id bigint);")
    with db.connect() as conn:
        live = LiveCatalog(conn, probe=False)
        assert live.version >= 180000
        assert not fires("CREATE INDEX CONCURRENTLY i ON orders (customer_id);", "B124", live=live)
