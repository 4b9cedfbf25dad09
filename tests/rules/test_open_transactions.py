"""B190 open-transactions: needs a live server (the suite's PG18 and PG15)."""

import time

from bascule.analyze import lint_sql
from bascule.analyze.live import LiveCatalog
from bascule.analyze.rules import open_transactions


def _tables(vdb):
    vdb.exec("CREATE TABLE small (id bigint PRIMARY KEY, n int); INSERT INTO small VALUES (1, 1);")


def test_open_transactions_are_reported(vdb, monkeypatch):
    _tables(vdb)
    monkeypatch.setattr(open_transactions, "OLDER_THAN_S", 0.2)
    with vdb.connect() as holder, vdb.connect() as conn:
        holder.execute("BEGIN")
        holder.execute("SELECT count(*) FROM small")
        time.sleep(0.4)
        r = lint_sql("ALTER TABLE small ADD COLUMN note text;", live=LiveCatalog(conn, probe=False))
        holder.execute("ROLLBACK")
    (f,) = [f for f in r.findings if f.code == "B190"]
    assert "small" in f.message and "1 transaction" in f.message



def test_quiet_server_and_static_lint(vdb):
    _tables(vdb)
    with vdb.connect() as conn:
        r = lint_sql("ALTER TABLE small ADD COLUMN note text;", live=LiveCatalog(conn, probe=False))
    assert not [f for f in r.findings if f.code == "B190"]
    assert not [f for f in lint_sql("ALTER TABLE small ADD COLUMN note text;").findings if f.code == "B190"]


def test_row_exclusive_only_does_not_wait_on_readers(vdb, monkeypatch):
    _tables(vdb)
    monkeypatch.setattr(open_transactions, "OLDER_THAN_S", 0.2)
    with vdb.connect() as holder, vdb.connect() as conn:
        holder.execute("BEGIN")
        holder.execute("SELECT count(*) FROM small")
        time.sleep(0.4)
        r = lint_sql("UPDATE small SET n = 2 WHERE id = 1;", live=LiveCatalog(conn, probe=False))
        holder.execute("ROLLBACK")
    assert not [f for f in r.findings if f.code == "B190"]
