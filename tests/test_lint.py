"""`bascule lint` as a user runs it: inputs, outputs, suppressions, configuration, --since, and
size-aware findings against a real server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bascule.analyze import lint_sql

ROOT_DOCS = Path(__file__).resolve().parents[1]


def run(cwd: Path, *args: str, input: str | None = None, check: int | None = None) -> subprocess.CompletedProcess:
    res = subprocess.run([sys.executable, "-m", "bascule.cli.main", "lint", *args], cwd=cwd, input=input,
                         capture_output=True, text=True, timeout=120)
    assert "Traceback" not in res.stderr, res.stderr
    if check is not None:
        assert res.returncode == check, f"exit {res.returncode}\nstdout:\n{res.stdout}\nstderr:\n{res.stderr}"
    return res


def native(root: Path, migrations: dict[str, tuple[str, str | None]], lint_toml: str = "") -> Path:
    (root / "migrations").mkdir(parents=True)
    (root / "bascule.toml").write_text(f'[project]\nmigrations = "migrations"\n{lint_toml}')
    for name, (up, down) in migrations.items():
        d = root / "migrations" / name
        d.mkdir()
        (d / "up.sql").write_text(up)
        if down is not None:
            (d / "down.sql").write_text(down)
    return root


def test_project_folder_classification_positions_and_exit_code(tmp_path):
    root = native(tmp_path, {
        "0001_users": ("CREATE TABLE users (id bigint PRIMARY KEY, email text);\n"
                       "CREATE INDEX users_email_idx ON users (email);\n", "DROP TABLE users;"),
        "0002_orders_index": ("SELECT 1;\nCREATE INDEX users_lower_email ON users (lower(email));\n",
                              "DROP INDEX users_lower_email;"),
    })
    res = run(root, check=1)
    out = res.stdout
    assert "2 migrations" in out and "static" in out
    assert "0001 users" in out and "[non-breaking]" in out
    assert "strongest lock: SHARE on users" in out
    # the index on the table created in 0001 is fine; the one in 0002 is not
    assert "migrations/0002_orders_index/up.sql:2:1: error B101" in out
    assert "0001_users/up.sql:2" not in out
    assert "  2 | CREATE INDEX users_lower_email" in out and "    | ^" in out


def test_warnings_only_exit_zero_and_usage_errors_exit_two(tmp_path):
    (tmp_path / "w.sql").write_text("CREATE TABLE t (id bigint PRIMARY KEY, payload json);\n")
    res = run(tmp_path, "w.sql", check=0)
    assert "B401" in res.stdout
    assert run(tmp_path, "--pg-version", "9", "w.sql", check=2).stderr.startswith("error:")
    assert "unknown rule" in run(tmp_path, "--disable", "B999", "w.sql", check=2).stderr
    assert "does not exist" in run(tmp_path, "nope.sql", check=2).stderr


def test_syntax_error_is_a_finding_and_other_files_are_still_linted(tmp_path):
    (tmp_path / "a.sql").write_text("ALTER TABLE t ADD COLUMN a int;\nCREATE TABLEE x (a int);\n")
    (tmp_path / "b.sql").write_text("CREATE INDEX i ON t (a);\n")
    res = run(tmp_path, "a.sql", "b.sql", check=1)
    assert "a.sql:2:8: error B502 syntax-error" in res.stdout
    assert "b.sql:1:1: error B101" in res.stdout


def test_unreadable_file_is_a_finding_too(tmp_path):
    (tmp_path / "a.sql").write_bytes(b"SELECT '\xff\xfe';\n")
    (tmp_path / "b.sql").write_text("CREATE INDEX i ON t (a);\n")
    res = run(tmp_path, "a.sql", "b.sql", check=1)
    assert "a.sql:1:1: error B502 syntax-error" in res.stdout and "not UTF-8" in res.stdout
    assert "b.sql:1:1: error B101" in res.stdout


def test_stdin(tmp_path):
    res = run(tmp_path, "-", input="DROP TABLE accounts;", check=1)
    assert "<stdin>:1:1: error B204" in res.stdout


def test_json_output(tmp_path):
    (tmp_path / "m.sql").write_text("ALTER TABLE orders ALTER COLUMN total TYPE numeric(12,2);\n"
                                    "UPDATE orders SET total = 0;\n")
    doc = json.loads(run(tmp_path, "--format", "json", "m.sql").stdout)
    assert doc["static"] is True and doc["pg_version"] == 18
    (mig,) = doc["migrations"]
    assert "data migration" in mig["classification"] and mig["strongest_lock"]["table"] == "orders"
    codes = {f["code"] for f in doc["findings"]}
    assert {"B111", "B302"} <= codes
    f = next(f for f in doc["findings"] if f["code"] == "B111")
    assert f["line"] == 1 and f["table"] == "orders" and "why" not in f
    assert doc["rules"]["B111"]["why"] and doc["rules"]["B111"]["fix"]  # once per rule, not per finding
    assert doc["exit_code"] == (1 if doc["counts"]["error"] else 0)


def test_sarif_output_is_sarif_2_1_0(tmp_path):
    (tmp_path / "m.sql").write_text("-- bascule:ignore B101 lookup table of 12 rows\n"
                                    "CREATE INDEX i ON colors (name);\nCREATE INDEX j ON orders (x);\n")
    doc = json.loads(run(tmp_path, "--format", "sarif", "m.sql", check=1).stdout)
    assert doc["version"] == "2.1.0" and doc["$schema"].endswith("sarif-2.1.0.json")
    run_ = doc["runs"][0]
    rules = run_["tool"]["driver"]["rules"]
    assert all({"id", "shortDescription", "defaultConfiguration"} <= set(r) for r in rules)
    ids = [r["id"] for r in rules]
    results = run_["results"]
    assert len(results) == 2
    for r in results:
        assert ids[r["ruleIndex"]] == r["ruleId"] == "B101"
        assert r["level"] == "error"
        loc = r["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uri"] == "m.sql" and loc["region"]["startLine"] in (2, 3)
    suppressed = [r for r in results if r.get("suppressions")]
    assert len(suppressed) == 1 and suppressed[0]["suppressions"][0]["justification"] == "lookup table of 12 rows"


def test_github_annotations(tmp_path):
    (tmp_path / "m.sql").write_text("CREATE INDEX i ON orders (x);\n")
    out = run(tmp_path, "--format", "github", "m.sql", check=1).stdout.splitlines()
    assert out[0].startswith("::error file=m.sql,line=1,col=1,title=B101 create-index-not-concurrently::")
    assert "\n" not in out[0] and "orders" in out[0]


def test_suppressions(tmp_path):
    sql = ("CREATE INDEX a ON t (x); -- bascule:ignore B101 built at 3am with writes paused\n"
           "-- bascule:ignore create-index-not-concurrently\n"
           "CREATE INDEX b ON t (y);\n"
           "-- bascule:ignore B204 table is dead since v2\n"
           "CREATE INDEX c ON t (z);\n"
           "-- bascule:ignore B1O1 typo\n"
           "SELECT 1;\n")
    r = lint_sql(sql)
    by = {(f.code, f.line): f for f in r.findings}
    assert by[("B101", 1)].suppressed == "built at 3am with writes paused"
    assert not by[("B101", 3)].suppressed and ("B902", 2) in by  # no reason: reported, not applied
    assert not by[("B101", 5)].suppressed and ("B901", 4) in by  # matches nothing
    assert ("B903", 6) in by
    whole = lint_sql("-- bascule:ignore-file B101 all lookup tables\nCREATE INDEX a ON t (x);\nCREATE INDEX b ON u (x);")
    assert [f.suppressed for f in whole.findings if f.code == "B101"] == ["all lookup tables"] * 2
    assert whole.exit_code() == 0


def test_config_lint_section(tmp_path):
    root = native(tmp_path, {"0001_x": ("ALTER TABLE t ADD COLUMN payload json;\nCREATE INDEX i ON t (a);\n",
                                        "DROP INDEX i;")},
                  lint_toml='[lint]\ndisable = ["B101"]\nseverity = { B401 = "error" }\n')
    res = run(root, "--format", "json", check=1)
    codes = {f["code"]: f["severity"] for f in json.loads(res.stdout)["findings"]}
    assert "B101" not in codes and codes["B401"] == "error"
    (root / "bascule.toml").write_text('[project]\nmigrations = "migrations"\n[lint]\nseverity = { B401 = "loud" }\n')
    assert "loud" in run(root, check=2).stderr
    (root / "bascule.toml").write_text('[project]\nmigrations = "migrations"\n[lint]\ncolour = 1\n')
    assert "unknown key" in run(root, check=2).stderr


def test_runner_other_adds_the_checks_bascule_makes_unnecessary(tmp_path):
    (tmp_path / "m.sql").write_text("ALTER TABLE orders ADD CONSTRAINT f FOREIGN KEY (u) REFERENCES users (id);\n")
    plain = {f["code"] for f in json.loads(run(tmp_path, "--format", "json", "m.sql").stdout)["findings"]}
    other = {f["code"] for f in json.loads(run(tmp_path, "--format", "json", "--runner", "other",
                                               "m.sql").stdout)["findings"]}
    assert "B120" not in plain and "B120" in other


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@t", "HOME": str(cwd), "PATH": "/usr/bin:/bin"})


def test_since_reports_only_new_migrations_but_learns_from_old_ones(tmp_path):
    root = native(tmp_path, {
        "0001_t": ("CREATE TABLE t (a varchar(10), b int);\nINSERT INTO t VALUES ('x', 1);\n", "DROP TABLE t;"),
        "0002_idx": ("CREATE INDEX t_a ON t (a);\n", "DROP INDEX t_a;"),
    })
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "base")
    d = root / "migrations" / "0003_widen"
    d.mkdir()
    (d / "up.sql").write_text("ALTER TABLE t ALTER COLUMN a TYPE varchar(20);\nCREATE INDEX t_b ON t (b);\n")
    (d / "down.sql").write_text("DROP INDEX t_b;\n")
    doc = json.loads(run(root, "--since", "main", "--format", "json", check=1).stdout)
    assert [m["migration"] for m in doc["migrations"]] == ["0003 widen"]
    codes = [(f["code"], f["line"]) for f in doc["findings"]]
    assert ("B101", 2) in codes
    assert not any(c == "B111" for c, _ in codes)  # varchar(10) → varchar(20): known from 0001, no rewrite
    assert "--since" in run(root, "--since", "no-such-ref", check=2).stderr or "git" in \
        run(root, "--since", "no-such-ref", check=2).stderr


# ----------------------------------------------------------------------------- size-aware (live)

def _sized(vdb):
    vdb.exec("CREATE TABLE big (id bigint PRIMARY KEY, name varchar(10), n int, pad text);"
             "INSERT INTO big SELECT g, 'n' || (g % 1000), g, repeat('x', 200) FROM generate_series(1, 60000) g;"
             "CREATE TABLE small (id bigint PRIMARY KEY, name varchar(10), n int);"
             "INSERT INTO small SELECT g, 'n', g FROM generate_series(1, 10) g; ANALYZE big; ANALYZE small;")


def test_live_findings_are_sized_and_small_tables_downgraded(vdb, tmp_path):
    _sized(vdb)
    (tmp_path / "m.sql").write_text("CREATE INDEX ON big (n);\nCREATE INDEX ON small (n);\n")
    static = json.loads(run(tmp_path, "--format", "json", "m.sql").stdout)
    assert [f["severity"] for f in static["findings"] if f["code"] == "B101"] == ["error", "error"]
    doc = json.loads(run(tmp_path, "--url", vdb.url, "--format", "json", "m.sql").stdout)
    assert doc["static"] is False and doc["live"]["probed"] is True
    assert doc["pg_version"] == int(vdb.scalar("SHOW server_version_num")) // 10000
    big, small = (next(f for f in doc["findings"] if f["code"] == "B101" and f["table"] == t) for t in ("big", "small"))
    assert 55_000 <= big["estimate"]["rows"] <= 65_000 and big["estimate"]["bytes"] > 8 << 20
    assert big["estimate"]["work"] == "index" and big["estimate"]["seconds"] > 0
    assert any(n.startswith("size: builds an index on big") for n in big["notes"])
    assert small["severity"] == "info" and small["estimate"]["rows"] == 10
    text = run(tmp_path, "--url", vdb.url, "m.sql").stdout
    assert "sized against the live database" in text and "size: builds an index on big" in text


def test_live_catalog_supplies_old_column_types(vdb, tmp_path):
    _sized(vdb)
    (tmp_path / "m.sql").write_text("ALTER TABLE big ALTER COLUMN name TYPE varchar(40);\n"
                                    "ALTER TABLE big ALTER COLUMN n TYPE bigint;\n")
    doc = json.loads(run(tmp_path, "--url", vdb.url, "--no-probe", "--format", "json", "m.sql").stdout)
    b111 = [f for f in doc["findings"] if f["code"] == "B111"]
    assert [f["line"] for f in b111] == [2]  # varchar(10) → varchar(40) is binary-coercible
    assert b111[0]["estimate"]["work"] == "rewrite" and doc["live"]["probed"] is False


def test_live_session_timezone_decides_timestamptz_rewrites(vdb, tmp_path):
    """`bascule up` connects like lint does: the connection's TimeZone (here set in the URL's options)
    decides whether timestamp → timestamptz rewrites the table (PostgreSQL 12+)."""
    from urllib.parse import quote

    vdb.exec("CREATE TABLE ev (id bigint PRIMARY KEY, at timestamp); CREATE INDEX ev_at ON ev (at);")
    (tmp_path / "m.sql").write_text("ALTER TABLE ev ALTER COLUMN at TYPE timestamptz;\n")
    out = {}
    for zone in ("UTC", "Europe/Paris"):
        url = vdb.url + "&options=" + quote(f"-c TimeZone={zone}", safe="")
        doc = json.loads(run(tmp_path, "--url", url, "--no-probe", "--format", "json", "m.sql").stdout)
        out[zone], = [f for f in doc["findings"] if f["code"] == "B111"]
    # (both are downgraded to info: the table is empty)
    assert out["UTC"]["work"] == "index" and not out["UTC"]["rewrite"]
    assert "keeps the rows" in out["UTC"]["message"] and "rebuilds the indexes on at" in out["UTC"]["message"]
    assert out["Europe/Paris"]["work"] == "rewrite" and "TimeZone is not UTC" in out["Europe/Paris"]["message"]


def test_live_utc_conversion_sees_partition_invalid_indexes_and_checks(vdb, tmp_path):
    """In a UTC session the live catalog answers what the conversion still does: rebuild indexes
    (of partitions too, and invalid ones) and check CHECK constraints on the column again."""
    from urllib.parse import quote

    import psycopg

    vdb.exec("CREATE TABLE lv (id int, at timestamp) PARTITION BY RANGE (id);"
             "CREATE TABLE lv1 PARTITION OF lv FOR VALUES FROM (0) TO (100); CREATE INDEX lv1_at ON lv1 (at);"
             "CREATE TABLE ck (at timestamp CHECK (at > '2000-01-01'));"
             "CREATE TABLE iv (at timestamp); INSERT INTO iv VALUES ('2020-01-01'), ('2020-01-01');"
             "CREATE TABLE plain (id int, at timestamp);")
    with pytest.raises(psycopg.errors.UniqueViolation):  # leaves iv_at INVALID
        vdb.exec("CREATE UNIQUE INDEX CONCURRENTLY iv_at ON iv (at)")
    (tmp_path / "m.sql").write_text("".join(f"ALTER TABLE {t} ALTER COLUMN at TYPE timestamptz;\n"
                                            for t in ("lv", "ck", "iv", "plain")))
    url = vdb.url + "&options=" + quote("-c TimeZone=Etc/UTC", safe="")
    doc = json.loads(run(tmp_path, "--url", url, "--no-probe", "--format", "json", "m.sql").stdout)
    by_table = {f["table"]: f["message"] for f in doc["findings"] if f["code"] == "B111"}
    assert set(by_table) == {"lv", "ck", "iv"}  # plain: nothing but the catalog changes
    assert "rebuilds the indexes on at" in by_table["lv"] and "rebuilds the indexes on at" in by_table["iv"]
    assert "checks the constraints on at again (a scan of ck)" in by_table["ck"]
    assert "the connection's TimeZone is Etc/UTC" in by_table["ck"]


def test_live_sizes_of_a_partitioned_table_come_from_its_partitions(vdb, tmp_path):
    """The parent of a partitioned table has no storage and autovacuum never analyzes it: sizes are
    the partitions' sum, and lint must not count(*) the production table to find them."""
    vdb.exec("CREATE TABLE ev (id bigint, ts date NOT NULL, payload text) PARTITION BY RANGE (ts);"
             "CREATE TABLE ev_2024 PARTITION OF ev FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');"
             "CREATE TABLE ev_2025 PARTITION OF ev FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');"
             "INSERT INTO ev SELECT g, date '2024-01-01' + (g % 700), repeat('x', 100) FROM generate_series(1, 20000) g;"
             "ANALYZE ev_2024; ANALYZE ev_2025;")
    scans = "SELECT sum(seq_scan) FROM pg_stat_user_tables WHERE relname LIKE 'ev_20%'"
    vdb.exec("SELECT pg_stat_force_next_flush()")
    before = vdb.scalar(scans)
    (tmp_path / "m.sql").write_text("ALTER TABLE ev ALTER COLUMN id TYPE int;\n")
    doc = json.loads(run(tmp_path, "--url", vdb.url, "--no-probe", "--format", "json", "m.sql").stdout)
    f, = [x for x in doc["findings"] if x["code"] == "B111"]
    assert f["estimate"]["rows"] == 20000 and f["estimate"]["bytes"] > 1_000_000
    vdb.exec("SELECT pg_stat_force_next_flush()")
    assert vdb.scalar(scans) == before  # no count(*) of the partitions


def test_live_catalog_finds_quoted_mixed_case_names(vdb, tmp_path):
    """A quoted name keeps its case: "BigMixed" and "my table" are found in the live catalog (they
    were folded to bigmixed and looked up in vain), so they are sized, and a partitioned "Events"
    is known to be one (no CONCURRENTLY rewrite PostgreSQL would refuse)."""
    vdb.exec('CREATE TABLE "BigMixed" (id bigint, n int); CREATE TABLE "my table" (id bigint, n int);'
             'INSERT INTO "BigMixed" SELECT g, g FROM generate_series(1, 5000) g;'
             'INSERT INTO "my table" SELECT g, g FROM generate_series(1, 3000) g; ANALYZE "BigMixed"; ANALYZE "my table";'
             'CREATE TABLE "Events" (at int) PARTITION BY RANGE (at);'
             'CREATE TABLE "Events_1" PARTITION OF "Events" FOR VALUES FROM (0) TO (10);')
    (tmp_path / "m.sql").write_text('CREATE INDEX ON "BigMixed" (n);\nCREATE INDEX ON "my table" (n);\n'
                                    'CREATE INDEX "Events_at_idx" ON "Events" (at);\n')
    doc = json.loads(run(tmp_path, "--url", vdb.url, "--no-probe", "--format", "json", "m.sql").stdout)
    sized = {f["table"]: f["estimate"]["rows"] for f in doc["findings"] if f["code"] == "B101" and f.get("estimate")}
    assert sized.get("BigMixed") == 5000 and sized.get("my table") == 3000, sized
    events, = [f for f in doc["findings"] if f["code"] == "B101" and f["table"] == "Events"]
    assert events["fixable"] is False  # CONCURRENTLY is refused on a partitioned table


def test_unreachable_database_is_a_clear_error(tmp_path):
    (tmp_path / "m.sql").write_text("SELECT 1;\n")
    res = run(tmp_path, "--url", "postgresql://nobody@127.0.0.1:1/none", "m.sql")
    assert res.returncode == 3 and res.stderr.startswith("error: cannot connect")


def test_fix_rewrites_the_file_declares_the_transaction_mode_and_applies(project):
    project.db.exec("CREATE TABLE users (id bigint PRIMARY KEY); CREATE TABLE orders (id bigint PRIMARY KEY, "
                    "user_id bigint, note text); INSERT INTO users VALUES (1); INSERT INTO orders VALUES (1, 1, 'x');")
    d = project.add("0001", "orders_fk",
                    "ALTER TABLE orders ADD CONSTRAINT orders_user_fkey FOREIGN KEY (user_id) REFERENCES users (id);\n"
                    "CREATE INDEX orders_user_idx ON orders (user_id);\n",
                    down="DROP INDEX orders_user_idx;\nALTER TABLE orders DROP CONSTRAINT orders_user_fkey;\n")
    before = run(project.root, "--diff", check=1)
    assert "+CREATE INDEX CONCURRENTLY orders_user_idx" in before.stderr and "NOT VALID" in before.stderr
    assert "CONCURRENTLY" not in (d / "up.sql").read_text()  # --diff writes nothing
    res = run(project.root, "--fix")
    up = (d / "up.sql").read_text()
    assert "NOT VALID" in up and "VALIDATE CONSTRAINT orders_user_fkey" in up and "CONCURRENTLY" in up
    assert 'transaction = "never"' in (d / "migration.toml").read_text()
    assert "B101" not in res.stdout and "B105" not in res.stdout
    project.run("up")
    assert project.db.scalar("SELECT convalidated FROM pg_constraint WHERE conname = 'orders_user_fkey'") is True
    assert project.db.scalar("SELECT indisvalid FROM pg_index WHERE indexrelid = 'orders_user_idx'::regclass") is True


def test_fix_with_a_connection_leaves_applied_migrations_alone(project):
    """Rewriting an applied migration changes its checksum: `bascule up` would then refuse it."""
    project.db.exec("CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint);")
    applied = project.add("0001", "idx", "CREATE INDEX orders_user_idx ON orders (user_id);\n")
    project.run("up")
    pending = project.add("0002", "idx2", "CREATE INDEX orders_id_user_idx ON orders (id, user_id);\n")
    before = (applied / "up.sql").read_text()
    res = run(project.root, "--url", project.db.url, "--no-probe", "--fix")
    assert (applied / "up.sql").read_text() == before
    assert "0001_idx/up.sql: not rewritten: migration 0001 idx is already applied on this database" in res.stderr
    assert "CONCURRENTLY" in (pending / "up.sql").read_text()
    assert project.status()["0001"]["state"] == "applied"
    project.run("up")
    # without a connection it cannot know, and says so
    project.add("0003", "idx3", "CREATE INDEX orders_user_id_idx ON orders (user_id, id);\n")
    res = run(project.root, "--fix", check=None)
    assert "cannot tell which of these migrations a database already ran" in res.stderr


def test_dbmate_sections_keep_file_positions_and_fix_in_place(tmp_path):
    mig = tmp_path / "db" / "migrations"
    mig.mkdir(parents=True)
    f = mig / "20260101000000_orders_index.sql"
    f.write_text("-- migrate:up\nSELECT 1;\nCREATE INDEX orders_x_idx ON orders (x);\n\n"
                 "-- migrate:down\nDROP INDEX orders_x_idx;\n")
    doc = json.loads(run(tmp_path, "--format", "json", "db/migrations", check=1).stdout)
    (b101,) = [x for x in doc["findings"] if x["code"] == "B101"]
    assert b101["line"] == 3 and b101["path"].endswith("20260101000000_orders_index.sql")
    assert not [x for x in doc["findings"] if x["code"] == "B304"]  # the down section counts
    run(tmp_path, "--fix", "db/migrations")
    text = f.read_text()
    assert "CREATE INDEX CONCURRENTLY orders_x_idx ON orders (x);" in text
    # CONCURRENTLY cannot run in dbmate's transaction: the marker line says so now
    assert text.startswith("-- migrate:up transaction:false\nSELECT 1;\n")
    assert "-- migrate:down\nDROP INDEX orders_x_idx;" in text
    assert not [x for x in json.loads(run(tmp_path, "--format", "json", "db/migrations").stdout)["findings"]
                if x["code"] in ("B101", "B104")]


def test_fix_on_flyway_writes_the_script_config(tmp_path):
    mig = tmp_path / "sql"
    mig.mkdir()
    (mig / "V1__base.sql").write_text("CREATE TABLE IF NOT EXISTS x (id bigint);\n")
    f = mig / "V2__fk.sql"
    f.write_text("ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);\n")
    run(tmp_path, "--fix", "sql")
    assert "NOT VALID" in f.read_text() and "VALIDATE CONSTRAINT orders_user_fk" in f.read_text()
    assert (mig / "V2__fk.sql.conf").read_text() == "executeInTransaction=false\n"
    doc = json.loads(run(tmp_path, "--format", "json", "sql").stdout)
    assert [m["transactional"] for m in doc["migrations"] if m["migration"].startswith("2")] == [False]


def test_live_foreign_keys_and_partitions_are_known(vdb):
    """Tables the linted migrations did not create: their foreign keys and partition parents come from
    the live catalog, so the locks on the other table are predicted (checked against pg_locks)."""
    from bascule.analyze.context import SchemaKnowledge
    from bascule.analyze.facts import parse, statement_facts
    from bascule.analyze.live import LiveCatalog

    vdb.exec("CREATE TABLE users (id bigint PRIMARY KEY); "
             "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint CONSTRAINT orders_user_fk REFERENCES users);"
             "CREATE TABLE ev (at date NOT NULL) PARTITION BY RANGE (at);"
             "CREATE TABLE ev_2026 PARTITION OF ev FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');")
    cases = ["ALTER TABLE orders DROP CONSTRAINT orders_user_fk", "DROP TABLE orders", "TRUNCATE users CASCADE",
             "DROP TABLE ev_2026"]
    with vdb.connect() as conn:
        known = SchemaKnowledge(live=LiveCatalog(conn, probe=False))
        version = conn.info.server_version // 10000
        predicted = {sql: statement_facts(*parse(sql)[0], version, known).locks for sql in cases}
        # a constraint the migrations dropped is not used again
        known.learn(*parse("ALTER TABLE orders DROP CONSTRAINT orders_user_fk")[0])
        assert "users" not in (known.referenced_tables("orders") or [])
    assert predicted["ALTER TABLE orders DROP CONSTRAINT orders_user_fk"].get("users") == "AccessExclusiveLock"
    assert predicted["DROP TABLE orders"].get("users") == "AccessExclusiveLock"
    assert predicted["TRUNCATE users CASCADE"].get("orders") == "AccessExclusiveLock"
    assert predicted["DROP TABLE ev_2026"].get("ev") == "AccessExclusiveLock"
    other = dict(zip(cases, ["users", "users", "orders", "ev"], strict=True))
    for sql in cases:  # and the server agrees: the other table is locked ACCESS EXCLUSIVE
        with vdb.connect() as c, c.transaction(force_rollback=True):
            c.execute(sql)
            held = dict(c.execute("SELECT relation::regclass::text, mode FROM pg_locks WHERE pid = pg_backend_pid() "
                                  "AND locktype = 'relation' AND mode = 'AccessExclusiveLock'").fetchall())
        assert held.get(other[sql]) == "AccessExclusiveLock", (sql, held)


def test_enable_only_and_list_rules(tmp_path):
    (tmp_path / "m.sql").write_text("CREATE TABLE t (id bigint PRIMARY KEY, at timestamp);\nGRANT SELECT ON t TO app;\n")
    codes = lambda *a: {f["code"] for f in json.loads(run(tmp_path, "--format", "json", *a, "m.sql").stdout)["findings"]}  # noqa: E731
    assert "B601" not in codes() and "B601" in codes("--enable", "security-change")
    assert codes("--only", "B404") == {"B404"}
    rules = json.loads(run(tmp_path, "--list-rules", "--format", "json", check=0).stdout)
    by = {r["code"]: r for r in rules}
    assert by["B601"]["default_on"] is False and by["B101"]["fixable"] is True and by["B120"]["runner_other_only"]
    assert all((ROOT_DOCS / r["docs"]).is_file() for r in rules if r["code"] not in ("B502", "B900", "B901", "B902", "B903"))


def test_write_rate_needs_an_hour_of_statistics(vdb):
    """Right after a bulk load on a fresh server the average since the statistics reset is
    meaningless: no write rate then; with an hour of statistics, writes / seconds."""
    from bascule.analyze.live import LiveCatalog

    vdb.exec("CREATE TABLE w (id int); INSERT INTO w SELECT generate_series(1, 3600); SELECT pg_stat_force_next_flush();")
    with vdb.connect() as conn:
        fresh = LiveCatalog(conn, probe=False)
        assert fresh.stats_age < 3600 and fresh.stats("w").writes_per_s is None
        aged = LiveCatalog(conn, probe=False)
        aged.stats_age = 7200.0
        assert aged.stats("w").writes_per_s == pytest.approx(3600 / 7200.0, rel=0.01)


def test_fix_on_diesel_writes_metadata_toml(tmp_path):
    d = tmp_path / "migrations" / "2026-01-02-030405_orders_fk"
    d.mkdir(parents=True)
    (d / "up.sql").write_text("ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) "
                              "REFERENCES users (id);\n")
    (d / "down.sql").write_text("ALTER TABLE orders DROP CONSTRAINT orders_user_fk;\n")
    (d / "metadata.toml").write_text("# diesel metadata\n")
    run(tmp_path, "--fix", "migrations")
    meta = (d / "metadata.toml").read_text()
    assert meta.startswith("run_in_transaction = false") and "# diesel metadata" in meta
    doc = json.loads(run(tmp_path, "--format", "json", "migrations").stdout)
    assert [m["transactional"] for m in doc["migrations"]] == [False]
    assert not [f for f in doc["findings"] if f["code"] in ("B105", "B125")]


def test_fix_that_cannot_write_is_a_clear_error(tmp_path):
    """A file that cannot be written (here: a file-size limit of 0 bytes, which stops root too)."""
    import resource
    import signal

    def no_file_writes():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG instead of killing us
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))

    (tmp_path / "m.sql").write_text("CREATE INDEX i ON orders (x);\n")
    res = subprocess.run([sys.executable, "-m", "bascule.cli.main", "lint", "--fix", "m.sql"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120, preexec_fn=no_file_writes)
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    assert "error: cannot write" in res.stderr and "--diff" in res.stderr
    assert (tmp_path / "m.sql").read_text() == "CREATE INDEX i ON orders (x);\n"  # untouched, not truncated
    assert [p.name for p in tmp_path.iterdir()] == ["m.sql"]  # no temporary file left behind


def test_a_partitioned_table_locks_every_partition_and_the_summary_counts_them(tmp_path):
    """ALTER TABLE on a partitioned table locks each partition; the summary line names the first
    tables and counts the rest (JSON and -v list them all)."""
    parts = "".join(f"CREATE TABLE ev_{i} PARTITION OF ev FOR VALUES FROM ({i * 10}) TO ({i * 10 + 10});\n"
                    for i in range(20))
    (tmp_path / "0001_base.sql").write_text("CREATE TABLE ev (id bigint, v int) PARTITION BY RANGE (id);\n" + parts)
    (tmp_path / "0002_default.sql").write_text("ALTER TABLE ev ALTER COLUMN v SET DEFAULT 0;\n")
    out = run(tmp_path, "0001_base.sql", "0002_default.sql").stdout
    line = next(x for x in out.splitlines() if x.strip().startswith("0002_default.sql"))
    assert "ACCESS EXCLUSIVE on ev, ev_0, ev_1, ev_2, ev_3, ev_4, ev_5, ev_6 and 13 more (-v lists them)" in line
    verbose = run(tmp_path, "-v", "0001_base.sql", "0002_default.sql").stdout
    assert "ev_19" in next(x for x in verbose.splitlines() if x.strip().startswith("0002_default.sql"))
    doc = json.loads(run(tmp_path, "--format", "json", "0001_base.sql", "0002_default.sql").stdout)
    summary = next(m for m in doc["migrations"] if m["migration"] == "0002_default.sql")
    assert summary["strongest_lock"]["tables"] == ["ev"] + [f"ev_{i}" for i in range(20)]
