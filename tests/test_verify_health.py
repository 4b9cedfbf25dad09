"""Health checks (constraints, indexes, leftovers) against real PostgreSQL servers."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from bascule.verify.health import constraint_checks, index_checks, leftover_checks


def by_name(results, prefix: str):
    return [r for r in results if r.name.startswith(prefix)]


def one(results, name: str):
    found = [r for r in results if r.name == name]
    assert len(found) == 1, (name, [(r.name, r.status) for r in results])
    return found[0]


def statuses(results) -> set[str]:
    return {r.status for r in results}


def run(db, fn, *args, **kw):
    with db.connect() as conn:
        return fn(conn, *args, **kw)


# --------------------------------------------------------------------------- constraints
def test_orphan_after_not_valid_foreign_key(db):
    db.exec("""
        CREATE TABLE users (id int PRIMARY KEY);
        CREATE TABLE orders (id int PRIMARY KEY, user_id int);
        INSERT INTO users VALUES (1), (2);
        INSERT INTO orders VALUES (10, 1), (11, 42), (12, NULL);
        ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users NOT VALID;
    """)
    res = run(db, constraint_checks)
    nv = one(res, "not valid: orders_user_fk on public.orders")
    assert nv.status == "warn"
    assert nv.figures["type"] == "FOREIGN KEY" and nv.figures["table"] == "public.orders"
    assert nv.figures["fix"] == 'ALTER TABLE "public"."orders" VALIDATE CONSTRAINT "orders_user_fk"'
    orphans = one(res, "orphans: public.orders(user_id) -> public.users(id)")
    assert orphans.status == "fail"
    assert orphans.figures["orphans"] == 1
    assert orphans.figures["sample"] == [{"user_id": "42"}]
    assert "user_id=42" in orphans.message and "\n" not in orphans.message
    assert orphans.table == "public.orders"

    db.exec("DELETE FROM orders WHERE id = 11")
    assert one(run(db, constraint_checks), "orphans: public.orders(user_id) -> public.users(id)").status == "pass"
    db.exec("ALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk")
    res = run(db, constraint_checks)
    assert statuses(res) == {"pass"}
    assert one(res, "not valid").status == "pass"


def test_validated_foreign_key_is_checked_too(db):
    db.exec("""
        CREATE TABLE users (id int PRIMARY KEY);
        CREATE TABLE orders (id int PRIMARY KEY, user_id int REFERENCES users);
        INSERT INTO users VALUES (1);
        SET session_replication_role = replica;  -- FK triggers do not fire: how orphans sneak in
        INSERT INTO orders VALUES (1, 1), (2, 7);
    """)
    # session_replication_role only lasted for that one connection; the orphan stays.
    r = one(run(db, constraint_checks), "orphans: public.orders(user_id) -> public.users(id)")
    assert r.status == "fail" and r.figures["validated"] is True and r.figures["sample"] == [{"user_id": "7"}]


def test_multicolumn_foreign_key_null_is_not_an_orphan(db):
    db.exec("""
        CREATE TABLE parent (a int, b int, PRIMARY KEY (a, b));
        CREATE TABLE child (id int PRIMARY KEY, pa int, pb int);
        CREATE TABLE child_full (id int PRIMARY KEY, pa int, pb int);
        INSERT INTO parent VALUES (1, 1), (2, 2);
        INSERT INTO child VALUES (1, 1, 1), (2, 3, NULL), (3, NULL, NULL), (4, 9, 9);
        INSERT INTO child_full VALUES (1, 1, 1), (2, 3, NULL), (3, NULL, NULL);
        ALTER TABLE child ADD CONSTRAINT child_fk FOREIGN KEY (pa, pb) REFERENCES parent (a, b) NOT VALID;
        ALTER TABLE child_full ADD CONSTRAINT child_full_fk FOREIGN KEY (pa, pb) REFERENCES parent (a, b)
            MATCH FULL NOT VALID;
    """)
    res = run(db, constraint_checks)
    r = one(res, "orphans: public.child(pa, pb) -> public.parent(a, b)")
    assert r.status == "fail" and r.figures["orphans"] == 1
    assert r.figures["sample"] == [{"pa": "9", "pb": "9"}]
    assert r.figures["match"] == "SIMPLE"
    full = one(res, "orphans: public.child_full(pa, pb) -> public.parent(a, b)")
    # MATCH FULL: (3, NULL) is a violation, (NULL, NULL) is not.
    assert full.status == "fail" and full.figures["orphans"] == 1
    assert full.figures["sample"] == [{"pa": "3", "pb": None}]


def test_foreign_key_between_columns_of_different_collations(vdb):
    """PostgreSQL accepts a foreign key whose columns have different collations; the orphan count
    must not trip over the collation conflict (comparing them needs one collation)."""
    vdb.exec("""
        CREATE TABLE codes (code text COLLATE "C" PRIMARY KEY);
        CREATE TABLE kinds (kind varchar PRIMARY KEY);  -- the database's default collation
        CREATE TABLE uses (id int PRIMARY KEY, code text COLLATE "POSIX" REFERENCES codes,
                           kind text COLLATE "C" REFERENCES kinds, n int REFERENCES uses);
        INSERT INTO codes VALUES ('a'); INSERT INTO kinds VALUES ('k'); INSERT INTO uses VALUES (1, 'a', 'k', 1);
        SET session_replication_role = replica;
        INSERT INTO uses VALUES (2, 'b', 'j', 2), (3, NULL, 'k', 9);
    """)
    res = run(vdb, constraint_checks)
    r = one(res, "orphans: public.uses(code) -> public.codes(code)")
    assert r.status == "fail", r.message
    assert r.figures["orphans"] == 1 and r.figures["sample"] == [{"code": "b"}]
    r = one(res, "orphans: public.uses(kind) -> public.kinds(kind)")
    assert r.status == "fail" and r.figures["sample"] == [{"kind": "j"}]
    r = one(res, "orphans: public.uses(n) -> public.uses(id)")  # not collatable: compared as before
    assert r.status == "fail" and r.figures["sample"] == [{"n": "9"}]


def test_foreign_key_with_a_nondeterministic_collation_compares_like_the_server(vdb):
    """Referential integrity compares with the referenced column's collation (RI_FKey_check, and
    VALIDATE CONSTRAINT's own scan): under a case-insensitive key, 'red' references 'Red'; under a
    "C" key it does not. PostgreSQL 18 refuses such a key when one collation is nondeterministic."""
    try:
        vdb.exec("CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false)")
    except psycopg.Error as exc:
        pytest.skip(f"no ICU collations on this server: {exc}")
    vdb.exec("""
        CREATE TABLE tags (name text COLLATE ci PRIMARY KEY);
        CREATE TABLE posts (id int PRIMARY KEY, tag text COLLATE "C");
        INSERT INTO tags VALUES ('Red');
        INSERT INTO posts VALUES (1, 'red'), (2, 'Red'), (3, 'RED'), (4, 'Blue'), (5, 'blue'), (6, NULL);
        CREATE TABLE codes (code text COLLATE "C" PRIMARY KEY);
        CREATE TABLE refs (id int PRIMARY KEY, code text COLLATE ci);
        INSERT INTO codes VALUES ('Red'); INSERT INTO refs VALUES (1, 'Red'), (2, 'red');
    """)
    try:
        vdb.exec("ALTER TABLE posts ADD CONSTRAINT posts_tag_fk FOREIGN KEY (tag) REFERENCES tags NOT VALID")
    except psycopg.Error as exc:
        pytest.skip(f"this server refuses a foreign key between a nondeterministic and another collation: {exc}")
    vdb.exec("ALTER TABLE refs ADD CONSTRAINT refs_code_fk FOREIGN KEY (code) REFERENCES codes NOT VALID")
    res = run(vdb, constraint_checks)
    r = one(res, "orphans: public.posts(tag) -> public.tags(name)")
    assert r.status == "fail", r.message
    assert r.figures["orphans"] == 2 and r.figures["sample"] == [{"tag": "Blue"}, {"tag": "blue"}]
    r = one(res, "orphans: public.refs(code) -> public.codes(code)")  # the key's "C" decides: 'red' is missing
    assert r.status == "fail" and r.figures["orphans"] == 1 and r.figures["sample"] == [{"code": "red"}]
    # The server agrees on both.
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        vdb.exec("ALTER TABLE posts VALIDATE CONSTRAINT posts_tag_fk")
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        vdb.exec("ALTER TABLE refs VALIDATE CONSTRAINT refs_code_fk")
    vdb.exec("DELETE FROM posts WHERE id IN (4, 5); DELETE FROM refs WHERE id = 2")
    res = run(vdb, constraint_checks)
    assert one(res, "orphans: public.posts(tag) -> public.tags(name)").status == "pass"
    assert one(res, "orphans: public.refs(code) -> public.codes(code)").status == "pass"
    vdb.exec("ALTER TABLE posts VALIDATE CONSTRAINT posts_tag_fk; ALTER TABLE refs VALIDATE CONSTRAINT refs_code_fk")
    vdb.exec("INSERT INTO posts VALUES (7, 'rED')")  # and its row check accepts what we do not count


def test_not_valid_check_violated_by_one_row(db):
    db.exec("""
        CREATE TABLE items (id int PRIMARY KEY, qty int);
        CREATE TABLE nopk (qty int);
        INSERT INTO items VALUES (1, 5), (2, -1), (3, NULL);
        INSERT INTO nopk VALUES (5), (-3);
        CREATE TABLE tags (id int PRIMARY KEY, name text);
        INSERT INTO tags VALUES (1, 'ok'), (2, 'a%{x}');
        ALTER TABLE tags ADD CONSTRAINT tags_name CHECK (name NOT LIKE '%{x}%' AND name <> '%s') NOT VALID;
        ALTER TABLE items ADD CONSTRAINT qty_positive CHECK (qty > 0) NOT VALID;
        ALTER TABLE nopk ADD CONSTRAINT nopk_qty CHECK (qty > 0) NOT VALID;
    """)
    res = run(db, constraint_checks)
    assert one(res, "not valid: qty_positive on public.items").figures["type"] == "CHECK"
    r = one(res, "check violations: qty_positive on public.items")
    assert r.status == "fail"
    assert r.figures["violations"] == 1  # NULL passes a CHECK
    assert r.figures["sample"] == [{"id": "2"}]
    assert r.figures["expression"] == "(qty > 0)"
    assert r.message.startswith("1 row of public.items violates CHECK qty_positive ((qty > 0))")
    r = one(res, "check violations: nopk_qty on public.nopk")
    assert r.status == "fail" and r.figures["sample"] == [{"ctid": "(0,2)"}]
    r = one(res, "check violations: tags_name on public.tags")  # % and {} in the expression are harmless
    assert r.status == "fail" and r.figures["sample"] == [{"id": "2"}]

    db.exec("UPDATE items SET qty = 1 WHERE id = 2")
    assert one(run(db, constraint_checks), "check violations: qty_positive on public.items").status == "pass"


def test_check_violation_samples_name_the_table_of_inherited_rows(db):
    """A NOT VALID CHECK on an inheritance parent also covers its children's rows: a ctid is only
    unique within one table, and the parent's primary key does not cover its children, so a
    sampled row stored in another table names it."""
    db.exec("""
        CREATE TABLE base (id int, v int);
        CREATE TABLE kid () INHERITS (base);
        INSERT INTO base VALUES (1, -5); INSERT INTO kid VALUES (2, -7), (3, 1);
        ALTER TABLE base ADD CONSTRAINT v_pos CHECK (v > 0) NOT VALID;
        CREATE TABLE pbase (id int PRIMARY KEY, v int);
        CREATE TABLE pkid () INHERITS (pbase);  -- the primary key is not inherited: ids can repeat
        INSERT INTO pbase VALUES (1, -5); INSERT INTO pkid VALUES (1, -7), (2, 1);
        ALTER TABLE pbase ADD CONSTRAINT pv_pos CHECK (v > 0) NOT VALID;
        CREATE TABLE parted (id int PRIMARY KEY, v int) PARTITION BY RANGE (id);
        CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (10);
        INSERT INTO parted VALUES (1, -1), (2, 1);
        ALTER TABLE parted ADD CONSTRAINT parted_pos CHECK (v > 0) NOT VALID;
    """)
    res = run(db, constraint_checks)
    key = lambda s: sorted(s.items())  # noqa: E731 - rows of parent and child come in no set order
    r = one(res, "check violations: v_pos on public.base")
    assert r.status == "fail" and r.figures["violations"] == 2
    assert sorted(r.figures["sample"], key=key) == [{"ctid": "(0,1)"}, {"ctid": "(0,1)", "table": "public.kid"}]
    assert "(ctid=(0,1), table=public.kid)" in r.message
    r = one(res, "check violations: pv_pos on public.pbase")
    assert r.status == "fail" and r.figures["violations"] == 2
    # the same key in parent and child: ordered by key, then by table, so each run shows the same
    assert r.figures["sample"] == [{"id": "1"}, {"id": "1", "table": "public.pkid"}]
    r = one(res, "check violations: parted_pos on public.parted")  # rows live in partitions
    assert r.figures["sample"] == [{"id": "1", "table": "public.parted_1"}]
    # Scoped to the child itself: its own rows need no table name.
    r = one(run(db, constraint_checks, ["kid"]), "check violations: v_pos on public.kid")
    assert r.figures["sample"] == [{"ctid": "(0,1)"}]


def test_a_sample_that_cannot_be_read_says_why(db):
    """A role may count the violating rows (SELECT on the constrained column) but not read their
    primary key (no SELECT on it): the finding still fails, and says why it has no sample instead
    of showing none."""
    role = f"sampler_{uuid.uuid4().hex[:8]}"
    db.exec(f"""
        CREATE TABLE items (id int PRIMARY KEY, qty int);
        INSERT INTO items VALUES (1, 5), (2, -1);
        ALTER TABLE items ADD CONSTRAINT qty_positive CHECK (qty > 0) NOT VALID;
        CREATE ROLE {role};
        GRANT SELECT (qty) ON items TO {role};
    """)
    try:
        with db.connect() as conn:
            conn.execute(f"SET ROLE {role}")
            res = constraint_checks(conn)
        r = one(res, "check violations: qty_positive on public.items")
        assert r.status == "fail" and r.figures["violations"] == 1
        assert r.figures["sample"] == []
        assert "permission denied" in r.figures["sample_error"]
        assert "1 row of public.items violates" in r.message and "; no sample: permission denied" in r.message
    finally:
        db.exec(f"DROP OWNED BY {role}; DROP ROLE {role}")


def test_not_valid_not_null(vdb):
    with vdb.connect() as conn:
        version = conn.info.server_version
    if version < 180000:
        pytest.skip(f"NOT VALID NOT NULL constraints need PostgreSQL 18 (server is {version})")
    vdb.exec("""
        CREATE TABLE people (id int PRIMARY KEY, email text);
        INSERT INTO people VALUES (1, 'a@b.c'), (2, NULL);
        ALTER TABLE people ADD CONSTRAINT email_nn NOT NULL email NOT VALID;
    """)
    res = run(vdb, constraint_checks)
    assert one(res, "not valid: email_nn on public.people").figures["type"] == "NOT NULL"
    r = one(res, "null violations: email_nn on public.people")
    assert r.status == "fail" and r.figures["violations"] == 1 and r.figures["sample"] == [{"id": "2"}]
    vdb.exec("UPDATE people SET email = 'x@y.z'")
    assert one(run(vdb, constraint_checks), "null violations: email_nn on public.people").status == "pass"


def test_partitioned_foreign_key_counted_once(db):
    db.exec("""
        CREATE TABLE users (id int PRIMARY KEY);
        CREATE TABLE events (id int, user_id int REFERENCES users, PRIMARY KEY (id)) PARTITION BY RANGE (id);
        CREATE TABLE events_1 PARTITION OF events FOR VALUES FROM (0) TO (100);
        CREATE TABLE events_2 PARTITION OF events FOR VALUES FROM (100) TO (200);
        INSERT INTO users VALUES (1);
        SET session_replication_role = replica;
        INSERT INTO events VALUES (1, 1), (150, 5);
    """)
    res = run(db, constraint_checks)
    orphans = by_name(res, "orphans:")
    assert [(r.name, r.figures["orphans"]) for r in orphans] == [
        ("orphans: public.events(user_id) -> public.users(id)", 1)]
    # Scoped to one partition: that partition's own copy of the key is checked.
    res = run(db, constraint_checks, ["events_2"])
    assert [(r.name, r.figures["orphans"]) for r in by_name(res, "orphans:")] == [
        ("orphans: public.events_2(user_id) -> public.users(id)", 1)]


def test_quoted_identifiers(db):
    db.exec("""
        CREATE SCHEMA "Sales Dept";
        CREATE TABLE "Sales Dept"."Users" ("User Id" int PRIMARY KEY);
        CREATE TABLE "Sales Dept"."Order Items" ("Id" int PRIMARY KEY, "User Id" int);
        INSERT INTO "Sales Dept"."Order Items" VALUES (1, 3);
        ALTER TABLE "Sales Dept"."Order Items" ADD CONSTRAINT "Fk Users" FOREIGN KEY ("User Id")
            REFERENCES "Sales Dept"."Users" NOT VALID;
    """)
    res = run(db, constraint_checks, ['"Sales Dept"."Order Items"'])
    r = one(res, 'orphans: "Sales Dept"."Order Items"(User Id) -> "Sales Dept"."Users"(User Id)')
    assert r.status == "fail" and r.figures["sample"] == [{"User Id": "3"}]
    assert r.table == '"Sales Dept"."Order Items"'
    fk = one(run(db, index_checks, ['"Sales Dept"."Order Items"']),
             'foreign key without index: "Sales Dept"."Order Items"(User Id)')
    assert fk.figures["fix"] == 'CREATE INDEX CONCURRENTLY ON "Sales Dept"."Order Items" ("User Id")'


# --------------------------------------------------------------------------- indexes
def test_invalid_index_from_failed_concurrent_build(db):
    db.exec("CREATE TABLE t (id int PRIMARY KEY, email text); INSERT INTO t VALUES (1, 'a'), (2, 'a')")
    with db.connect() as conn:
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("CREATE UNIQUE INDEX CONCURRENTLY t_email_key ON t (email)")
    res = run(db, index_checks)
    r = one(res, "invalid index: public.t_email_key")
    assert r.status == "fail"
    assert r.figures["indisvalid"] is False
    assert r.figures["definition"] == "CREATE UNIQUE INDEX t_email_key ON public.t USING btree (email)"
    assert r.figures["fix"] == 'DROP INDEX CONCURRENTLY "public"."t_email_key"'
    assert "DROP INDEX CONCURRENTLY" in r.message and "rebuild" in r.message
    # The invalid index is not also reported as a duplicate or redundant one.
    assert not by_name(res, "duplicate index:") and not by_name(res, "redundant index:")

    db.exec("DROP INDEX t_email_key")
    assert one(run(db, index_checks), "invalid indexes").status == "pass"


def test_duplicate_and_redundant_indexes(db):
    db.exec("""
        CREATE TABLE t (id int PRIMARY KEY, a int, b int, c int, d text, e int);
        CREATE INDEX t_a ON t (a);
        CREATE INDEX t_a_again ON t (a);
        CREATE INDEX t_a_b ON t (a, b);
        ALTER TABLE t ADD CONSTRAINT t_c_key UNIQUE (c);
        CREATE INDEX t_c_plain ON t (c);            -- duplicates the constraint's index
        CREATE INDEX t_c_a ON t (c, a);             -- t_c_key is unique: not redundant
        CREATE INDEX t_lower_d ON t (lower(d));
        CREATE INDEX t_lower_d_b ON t (lower(d), b);
        CREATE INDEX t_e_partial ON t (e) WHERE e > 0;
        CREATE INDEX t_e_b ON t (e, b);             -- other predicate: t_e_partial is not redundant
        CREATE INDEX t_b_desc ON t (b DESC);
        CREATE INDEX t_b_a ON t (b, a);             -- other ordering: t_b_desc is not redundant
        CREATE INDEX t_d_hash ON t USING hash (d);
        CREATE INDEX t_d_hash2 ON t USING hash (d);
    """)
    res = run(db, index_checks)
    dups = {r.figures["index"]: r for r in by_name(res, "duplicate index:")}
    assert set(dups) == {"public.t_a_again", "public.t_c_plain", "public.t_d_hash2"}
    assert all(r.status == "warn" for r in dups.values())
    assert dups["public.t_a_again"].figures["duplicate_of"] == "public.t_a"
    assert dups["public.t_c_plain"].figures["duplicate_of"] == "public.t_c_key"  # keep the constraint's
    assert dups["public.t_c_plain"].figures["fix"] == 'DROP INDEX CONCURRENTLY "public"."t_c_plain"'
    red = {r.figures["index"]: r for r in by_name(res, "redundant index:")}
    assert set(red) == {"public.t_a", "public.t_lower_d"}
    assert red["public.t_a"].figures["covered_by"] == "public.t_a_b"
    assert red["public.t_lower_d"].figures["covered_by"] == "public.t_lower_d_b"
    assert all(r.status == "warn" and "\n" not in r.message for r in red.values())


def test_duplicate_backing_constraints_names_the_constraint(db):
    # (CREATE TABLE would quietly drop a UNIQUE constraint equal to the primary key; ALTER TABLE does not)
    db.exec("CREATE TABLE t (id int PRIMARY KEY); ALTER TABLE t ADD CONSTRAINT t_id_key UNIQUE (id)")
    r = one(run(db, index_checks), "duplicate index: public.t_id_key")
    assert r.figures["duplicate_of"] == "public.t_pkey"
    assert r.figures["constraints"] == ["t_id_key"] and "fix" not in r.figures


def test_duplicate_used_by_another_tables_foreign_key_is_not_called_redundant(db):
    db.exec("""
        CREATE TABLE par (id int NOT NULL);
        CREATE UNIQUE INDEX par_u ON par (id);
        CREATE TABLE chi (id int PRIMARY KEY, par_id int REFERENCES par (id));  -- references through par_u
        CREATE INDEX ON chi (par_id);
        ALTER TABLE par ADD PRIMARY KEY (id);                                    -- par_pkey duplicates par_u
    """)
    r = one(run(db, index_checks), "duplicate index: public.par_u")
    assert "drop that redundant constraint" not in r.message  # the foreign key must stay
    assert "chi_par_id_fkey reference through it" in r.message and "public.par_pkey" in r.message


def test_partitioned_duplicate_is_dropped_without_concurrently_and_sized(db):
    db.exec("""
        CREATE TABLE events (id bigint, at date NOT NULL, cust int) PARTITION BY RANGE (at);
        CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
        INSERT INTO events SELECT g, date '2025-01-01' + g % 300, g FROM generate_series(1, 2000) g;
        CREATE INDEX events_at ON events (at);
        CREATE INDEX events_at2 ON events (at);
    """)
    r = one(run(db, index_checks), "duplicate index: public.events_at2")
    assert r.figures["fix"].startswith('DROP INDEX "public"."events_at2"')  # CONCURRENTLY is refused there
    assert r.figures["size_bytes"] > 0  # its partitions' indexes
    with db.connect() as c:  # the fix works
        c.execute('DROP INDEX "public"."events_at2"')


def test_foreign_key_without_index(db):
    db.exec("""
        CREATE TABLE parent (id int PRIMARY KEY, a int, b int, UNIQUE (a, b));
        CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent,
                            pa int, pb int, FOREIGN KEY (pa, pb) REFERENCES parent (a, b));
        CREATE INDEX child_pb_pa_id ON child (pb, pa, id);  -- leading columns in another order: fine
        CREATE INDEX child_parent_partial ON child (parent_id) WHERE parent_id > 0;  -- partial: not enough
    """)
    res = run(db, index_checks)
    fks = by_name(res, "foreign key without index:")
    assert [r.name for r in fks] == ["foreign key without index: public.child(parent_id)"]
    assert fks[0].status == "warn"
    assert fks[0].figures["fix"] == 'CREATE INDEX CONCURRENTLY ON "public"."child" ("parent_id")'
    assert fks[0].figures["references"] == "public.parent"

    db.exec("CREATE INDEX child_parent_id ON child (parent_id, id)")
    res = run(db, index_checks)
    assert not by_name(res, "foreign key without index:")
    assert one(res, "foreign key indexes").status == "pass"


def test_bloat_estimate(db):
    db.exec("""
        CREATE TABLE fat (id int PRIMARY KEY, pad text) WITH (autovacuum_enabled = false);
        INSERT INTO fat SELECT g, repeat('x', 200) FROM generate_series(1, 100000) g;
        CREATE TABLE lean (id int PRIMARY KEY, pad text) WITH (autovacuum_enabled = false);
        INSERT INTO lean SELECT g, repeat('x', 200) FROM generate_series(1, 100000) g;
        CREATE TABLE never (id int) WITH (autovacuum_enabled = false);
        INSERT INTO never VALUES (1);
    """)
    db.exec("DELETE FROM fat WHERE id % 10 <> 0")
    db.exec("VACUUM ANALYZE fat")
    db.exec("ANALYZE lean")
    res = run(db, index_checks)
    fat = one(res, "bloat: public.fat")
    assert fat.status == "warn"
    assert fat.figures["bloat_percent"] > 80 and fat.figures["bloat_bytes"] > 8 * 1024 * 1024
    assert fat.figures["relpages"] > fat.figures["expected_pages"]
    assert not by_name(res, "bloat: public.lean")
    skip = one(res, "bloat: not analyzed")
    assert skip.status == "skip" and skip.figures["tables"] == ["public.never"]

    res = run(db, index_checks, ["lean"])
    assert one(res, "bloat").status == "pass"
    assert not by_name(res, "bloat: not analyzed")


def test_amcheck(db):
    db.exec("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, g::text FROM generate_series(1, 1000) g;"
            "CREATE INDEX t_v_hash ON t USING hash (v)")
    res = run(db, index_checks, ["t"], ["t_pkey"])
    r = one(res, "amcheck")
    assert r.status == "skip" and "CREATE EXTENSION amcheck" in r.message
    assert not by_name(res, "amcheck:")
    assert not by_name(run(db, index_checks, ["t"]), "amcheck")  # not asked for: nothing said

    try:
        db.exec("CREATE EXTENSION amcheck")
    except psycopg.Error as exc:
        pytest.skip(f"amcheck is not available on this server: {exc}")
    res = run(db, index_checks, ["t"], ["t_pkey", "public.t_v_hash", "no_such_index"])
    assert one(res, "amcheck: public.t_pkey").status == "pass"
    assert one(res, "amcheck: public.t_v_hash").status == "skip"
    assert one(res, "amcheck: no_such_index").status == "skip"


def test_index_checks_on_a_healthy_schema(vdb):
    vdb.exec("""
        CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text UNIQUE);
        CREATE TABLE orders (id bigserial PRIMARY KEY, user_id bigint NOT NULL REFERENCES users,
                             total numeric CHECK (total >= 0));
        CREATE INDEX orders_user_id ON orders (user_id);
        INSERT INTO users (email) SELECT 'u' || g FROM generate_series(1, 100) g;
        INSERT INTO orders (user_id, total) SELECT 1 + g % 100, g FROM generate_series(1, 1000) g;
        ANALYZE;
    """)
    with vdb.connect() as conn:
        results = constraint_checks(conn) + index_checks(conn) + leftover_checks(conn)
    bad = [(r.name, r.status, r.message) for r in results if r.status != "pass"]
    assert bad == []
    names = {r.name for r in results}
    assert {"not valid", "invalid indexes", "duplicate indexes", "redundant indexes", "foreign key indexes",
            "bloat", "leftovers", "sequences",
            "orphans: public.orders(user_id) -> public.users(id)"} <= names
    for r in results:
        assert r.check in ("constraints", "indexes", "leftovers") and r.message and "\n" not in r.message
        r.to_dict()


def test_problems_found_on_each_version(vdb):
    """The catalog queries hold on every supported version: one problem of each kind."""
    vdb.exec("""
        CREATE TABLE users (id int PRIMARY KEY);
        CREATE TABLE orders (id serial PRIMARY KEY, user_id int, qty int);
        INSERT INTO orders (user_id, qty) VALUES (5, -1);
        ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users NOT VALID;
        ALTER TABLE orders ADD CONSTRAINT qty_pos CHECK (qty > 0) NOT VALID;
        CREATE INDEX orders_qty ON orders (qty);
        CREATE INDEX orders_qty2 ON orders (qty);
        CREATE FUNCTION _bascule_tmp() RETURNS int LANGUAGE sql AS 'SELECT 1';
        ALTER SEQUENCE orders_id_seq AS bigint;
        SELECT setval('orders_id_seq', 2100000000);
    """)
    with vdb.connect() as conn:
        res = constraint_checks(conn) + index_checks(conn) + leftover_checks(conn)
    found = {(r.name, r.status) for r in res}
    assert {("orphans: public.orders(user_id) -> public.users(id)", "fail"),
            ("check violations: qty_pos on public.orders", "fail"),
            ("duplicate index: public.orders_qty2", "warn"),
            ("foreign key without index: public.orders(user_id)", "warn"),
            ("leftover function: public._bascule_tmp()", "fail"),
            ("sequence: public.orders_id_seq", "fail")} <= found


# --------------------------------------------------------------------------- leftovers
def test_leftover_objects_fail_unless_in_progress(db):
    db.exec("""
        CREATE TABLE t (id int PRIMARY KEY, email text, _bascule_email_new text);
        CREATE FUNCTION _bascule_sync_email() RETURNS trigger LANGUAGE plpgsql AS
            $$BEGIN NEW._bascule_email_new := lower(NEW.email); RETURN NEW; END$$;
        CREATE TRIGGER _bascule_sync_email BEFORE INSERT OR UPDATE ON t
            FOR EACH ROW EXECUTE FUNCTION _bascule_sync_email();
        CREATE TABLE p (id int, _pgroll_new_id bigint);
        CREATE TABLE fine (id int, bascule_note text, x_bascule_y int);
    """)
    res = run(db, leftover_checks)
    left = {r.name: r for r in by_name(res, "leftover ")}
    assert set(left) == {"leftover column: public.t._bascule_email_new",
                         "leftover function: public._bascule_sync_email()",
                         "leftover trigger: _bascule_sync_email on public.t",
                         "leftover column: public.p._pgroll_new_id"}
    assert {r.status for r in left.values()} == {"fail"}
    assert left["leftover column: public.p._pgroll_new_id"].figures["tool"] == "pgroll"
    assert left["leftover trigger: _bascule_sync_email on public.t"].table == "public.t"

    res = run(db, leftover_checks, online_in_progress=True)
    left = by_name(res, "leftover ")
    assert len(left) == 4 and {r.status for r in left} == {"warn"}
    assert all("in progress" in r.message for r in left)

    db.exec("DROP TABLE t, p; DROP FUNCTION _bascule_sync_email()")
    assert one(run(db, leftover_checks), "leftovers").status == "pass"


def test_int4_column_behind_bigint_sequence(db):
    db.exec("""
        CREATE TABLE t (id serial PRIMARY KEY);
        ALTER SEQUENCE t_id_seq AS bigint;             -- the trap: the column stays integer
        SELECT setval('t_id_seq', 2000000000);
        CREATE TABLE big (id bigserial PRIMARY KEY);
        SELECT setval('big_id_seq', 2000000000);
        CREATE TABLE dflt (id int NOT NULL);
        CREATE SEQUENCE loose AS bigint;               -- not OWNED BY, only used in a DEFAULT
        ALTER TABLE dflt ALTER id SET DEFAULT nextval('loose');
        SELECT setval('loose', 2100000000);
    """)
    res = run(db, leftover_checks)
    r = one(res, "sequence: public.t_id_seq")
    assert r.status == "warn"
    assert r.figures["last_value"] == 2000000000
    assert r.figures["max"] == 2147483647
    assert r.figures["sequence_max"] == 9223372036854775807
    assert 93 < r.figures["percent"] < 94
    assert r.table == "public.t" and "integer column public.t.id" in r.message
    assert not by_name(res, "sequence: public.big_id_seq")  # bigint column: far from its limit
    loose = one(res, "sequence: public.loose")
    assert loose.status == "fail" and loose.figures["percent"] > 95

    db.exec("SELECT setval('t_id_seq', 2100000000)")
    assert one(run(db, leftover_checks), "sequence: public.t_id_seq").status == "fail"
    db.exec("SELECT setval('t_id_seq', 1000); SELECT setval('loose', 1)")
    assert one(run(db, leftover_checks), "sequences").status == "pass"


def test_sequence_own_limit_and_descending(db):
    db.exec("""
        CREATE SEQUENCE small MAXVALUE 100;
        SELECT setval('small', 80);
        CREATE SEQUENCE down INCREMENT -1 MINVALUE -100 MAXVALUE -1 START -1;
        SELECT setval('down', -99);
    """)
    res = run(db, leftover_checks)
    assert one(res, "sequence: public.small").status == "warn"
    d = one(res, "sequence: public.down")
    assert d.status == "fail" and d.figures["max"] == -100 and d.figures["direction"] == "descending"
    assert "MINVALUE" in d.message and "MAXVALUE" not in d.message


def test_sequence_advice_names_the_column_when_its_type_is_the_limit(db):
    db.exec("""
        CREATE TABLE mid (id int GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY);
        SELECT setval('mid_id_seq', 2100000000);
        CREATE DOMAIN small_key AS smallint;
        CREATE TABLE dom (id small_key NOT NULL);
        CREATE SEQUENCE dom_seq;
        ALTER TABLE dom ALTER id SET DEFAULT nextval('dom_seq');
        SELECT setval('dom_seq', 31000);                  -- the domain's smallint is the limit
        CREATE SEQUENCE full_range AS integer MINVALUE -2147483648 START 1;
        SELECT setval('full_range', 1100000000);          -- 51% of what it can still use from 1
    """)
    res = run(db, leftover_checks)
    mid = one(res, "sequence: public.mid_id_seq")
    assert "integer column public.mid.id" in mid.message and "widen public.mid.id to bigint" in mid.message
    assert "ALTER SEQUENCE ... AS bigint" in mid.message  # the sequence is integer too
    dom = one(res, "sequence: public.dom_seq")
    assert dom.figures["max"] == 32767 and "smallint column public.dom.id" in dom.message
    assert not by_name(res, "sequence: public.full_range")


# --------------------------------------------------------------------------- scope and safety
def test_tables_scoping(db):
    db.exec("""
        CREATE TABLE users (id int PRIMARY KEY);
        CREATE TABLE t (id int PRIMARY KEY, user_id int REFERENCES users);
        CREATE INDEX t_user_id ON t (user_id);
        CREATE TABLE other (id int PRIMARY KEY, user_id int, qty int);
        INSERT INTO other VALUES (1, 99, -1);
        ALTER TABLE other ADD CONSTRAINT other_fk FOREIGN KEY (user_id) REFERENCES users NOT VALID;
        ALTER TABLE other ADD CONSTRAINT other_qty CHECK (qty > 0) NOT VALID;
        CREATE INDEX other_qty ON other (qty);
        CREATE INDEX other_qty2 ON other (qty);
    """)
    with db.connect() as conn:
        res = constraint_checks(conn, ["t"]) + index_checks(conn, ["t"])
    assert all("other" not in r.name and "other" not in (r.table or "") for r in res), res
    assert statuses(res) <= {"pass", "skip"}
    assert one(res, "orphans: public.t(user_id) -> public.users(id)").status == "pass"
    with db.connect() as conn:
        res = constraint_checks(conn, ["other"]) + index_checks(conn, ["public.other"])
    assert {"not valid: other_fk on public.other", "orphans: public.other(user_id) -> public.users(id)",
            "check violations: other_qty on public.other", "duplicate index: public.other_qty2"} <= {
        r.name for r in res}


def test_callers_row_factory_does_not_matter(db):
    from psycopg.rows import dict_row

    db.exec("""CREATE TABLE users (id int PRIMARY KEY);
               CREATE TABLE t (id serial PRIMARY KEY, user_id int REFERENCES users, _bascule_x int)""")
    with db.connect(row_factory=dict_row) as conn:
        res = constraint_checks(conn) + index_checks(conn) + leftover_checks(conn)
    assert one(res, "orphans: public.t(user_id) -> public.users(id)").status == "pass"
    assert one(res, "leftover column: public.t._bascule_x").status == "fail"


def test_unknown_table_is_skipped(db):
    db.exec("CREATE TABLE t (id int PRIMARY KEY); CREATE VIEW v AS SELECT 1 AS x")
    res = run(db, constraint_checks, ["nope", "t"])
    r = one(res, "table: nope")
    assert r.status == "skip" and "not found" in r.message
    assert one(res, "not valid").status == "pass"
    assert one(run(db, index_checks, ["v"]), "table: public.v").status == "skip"
    assert one(run(db, constraint_checks, ["a.b.c.d.e"]), "table: a.b.c.d.e").status == "skip"


def test_only_access_share_locks(db):
    db.exec("""
        CREATE TABLE users (id int PRIMARY KEY);
        CREATE TABLE orders (id serial PRIMARY KEY, user_id int, qty int, _bascule_tmp int);
        INSERT INTO users VALUES (1);
        INSERT INTO orders (user_id, qty) VALUES (1, 1), (2, -1);
        ALTER TABLE orders ADD CONSTRAINT orders_fk FOREIGN KEY (user_id) REFERENCES users NOT VALID;
        ALTER TABLE orders ADD CONSTRAINT orders_qty CHECK (qty > 0) NOT VALID;
        CREATE INDEX orders_qty_idx ON orders (qty);
        ANALYZE;
        CREATE EXTENSION IF NOT EXISTS amcheck;
    """)
    with db.connect() as conn, db.connect() as watcher:
        pid = conn.info.backend_pid
        conn.execute("BEGIN")
        res = (constraint_checks(conn) + index_checks(conn, amcheck_indexes=["orders_qty_idx"])
               + leftover_checks(conn))
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS  # still open
        locks = watcher.execute("""
            SELECT relation::regclass::text, mode FROM pg_locks
             WHERE pid = %s AND locktype = 'relation'""", (pid,)).fetchall()
        conn.execute("COMMIT")
    assert res and {"fail", "warn"} & statuses(res)
    modes = {mode for _, mode in locks}
    assert modes == {"AccessShareLock"}, locks
    held = {rel for rel, _ in locks}
    # The scans did touch the user tables and the sequence, with ACCESS SHARE only.
    assert {"orders", "users", "orders_id_seq"} <= held
