"""Schema fingerprints and their diff: the rollback round trip (up, down, compare) on real servers."""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest

from bascule.rehearse.fingerprint import Difference, diff, fingerprint

TOUCH = """CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.name := coalesce(NEW.name, 'anonymous');
    RETURN NEW;
END
$$;"""
BASE = """
CREATE TYPE status AS ENUM ('active', 'inactive');
CREATE TABLE users (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email text NOT NULL,
    name text DEFAULT 'anonymous',
    age integer CONSTRAINT users_age_check CHECK (age >= 0),
    state status NOT NULL DEFAULT 'active'
);
CREATE INDEX users_email_idx ON users (email);
CREATE TABLE orders (
    id serial PRIMARY KEY,
    user_id bigint CONSTRAINT orders_user_fk REFERENCES users (id),
    total numeric(10, 2) NOT NULL DEFAULT 0
);
CREATE INDEX orders_user_idx ON orders (user_id);
CREATE VIEW active_users AS SELECT id, state FROM users WHERE state = 'active';
{touch}
CREATE TRIGGER users_touch BEFORE INSERT OR UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch();
COMMENT ON TABLE users IS 'people who sign in';
COMMENT ON COLUMN users.email IS 'login';
""".replace("{touch}", TOUCH)


def snap(db, schemas=None) -> dict:
    with db.connect() as conn:
        return fingerprint(conn, schemas)


def round_trip(db, up: str, down: str, setup: str = BASE) -> list[Difference]:
    """Fingerprint, apply up, apply down, fingerprint again, and diff."""
    if setup:
        db.exec(setup)
    before = snap(db)
    db.exec(up)
    if down:
        db.exec(down)
    after = snap(db)
    return diff(before, after)


def messages(diffs: list[Difference]) -> list[str]:
    return [d.message for d in diffs]


# --------------------------------------------------------------------------- exact restores
def test_exact_restore_fingerprints_identically(db):
    db.exec(BASE)
    before = snap(db)
    oids = db.query("SELECT 'users_email_idx'::regclass::oid, 'touch()'::regprocedure::oid")[0]

    db.exec("""
        DROP INDEX users_email_idx;
        DROP FUNCTION touch() CASCADE;
        ALTER TABLE users ADD COLUMN nickname text;
        CREATE INDEX users_nickname_idx ON users (nickname);
        ALTER TABLE orders DROP CONSTRAINT orders_user_fk;
        ALTER TYPE status RENAME TO account_status;
        CREATE TABLE audit (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now());
    """)
    assert diff(before, snap(db)), "the up changed the schema: the fingerprints must differ in between"
    db.exec("""
        DROP TABLE audit;
        ALTER TYPE account_status RENAME TO status;
        ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);
        DROP INDEX users_nickname_idx;
        ALTER TABLE users DROP COLUMN nickname;
        """ + TOUCH + """
        CREATE TRIGGER users_touch BEFORE INSERT OR UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch();
        CREATE INDEX users_email_idx ON users (email);
    """)
    after = snap(db)

    # The recreated objects are new objects: nothing may be keyed by OID.
    assert db.query("SELECT 'users_email_idx'::regclass::oid, 'touch()'::regprocedure::oid")[0] != oids
    assert diff(before, after) == []
    assert after == before
    assert json.dumps(after, sort_keys=True) == json.dumps(before, sort_keys=True)


def test_fingerprint_covers_the_catalog(db):
    db.exec(BASE + """
        CREATE SCHEMA billing;
        CREATE SEQUENCE billing.invoice_no INCREMENT 10 MINVALUE 1000 CACHE 5;
        CREATE DOMAIN billing.cents AS bigint NOT NULL CHECK (VALUE >= 0);
        CREATE TYPE billing.money_pair AS (amount bigint, currency char(3));
        CREATE MATERIALIZED VIEW user_counts AS SELECT state, count(*) AS n FROM users GROUP BY state;
        CREATE UNIQUE INDEX user_counts_state_idx ON user_counts (state);
        CREATE TABLE events (id bigint, at date NOT NULL) PARTITION BY RANGE (at);
        CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
        CREATE UNLOGGED TABLE scratch (v int GENERATED ALWAYS AS (1) STORED);
        CREATE EXTENSION citext;
        CREATE PROCEDURE billing.close_day() LANGUAGE sql AS 'SELECT 1';
        ALTER TABLE users ADD CONSTRAINT users_email_lower CHECK (email = lower(email)) NOT VALID;
        ALTER TABLE users DISABLE TRIGGER users_touch;
        CREATE SCHEMA bascule;
        CREATE TABLE bascule.history (id int);
    """)
    fp = snap(db)
    json.dumps(fp)  # JSON-serialisable

    assert set(fp["schemas"]) == {"public", "billing"}, "bascule's own schema is not described"
    assert fp["extensions"]["citext"]["version"]
    users = fp["relations"]["public.users"]
    assert users["kind"] == "table" and users["persistence"] == "permanent"
    assert users["column_order"] == ["id", "email", "name", "age", "state"]
    assert users["columns"]["email"] == {
        "type": "text", "default": None, "not_null": True, "identity": None, "generated": None,
        "collation": None, "storage": None, "compression": None, "grants": [], "comment": "login"}
    assert users["columns"]["id"]["identity"].startswith("GENERATED ALWAYS AS IDENTITY (AS bigint START WITH 1")
    assert users["columns"]["state"]["type"] == "public.status"
    assert users["columns"]["state"]["default"] == "'active'::public.status"
    assert users["constraints"]["users_email_lower"] == {
        "type": "check", "definition": "CHECK ((email = lower(email)))", "valid": False, "comment": None}
    assert users["indexes"]["users_email_idx"]["definition"] == \
        "CREATE INDEX users_email_idx ON public.users USING btree (email)"
    assert users["indexes"]["users_pkey"]["constraint"] == "users_pkey"
    assert users["triggers"]["users_touch"]["enabled"] == "disabled"
    assert users["comment"] == "people who sign in"
    assert fp["relations"]["public.scratch"]["persistence"] == "unlogged"
    assert fp["relations"]["public.scratch"]["columns"]["v"]["generated"] == "GENERATED ALWAYS AS (1) STORED"
    assert fp["relations"]["public.events"]["partition_key"] == "RANGE (at)"
    assert fp["relations"]["public.events_2025"]["partition_of"] == "public.events"
    assert "user_counts_state_idx" in fp["relations"]["public.user_counts"]["indexes"]
    assert fp["relations"]["public.active_users"]["kind"] == "view"
    assert "WHERE state = 'active'::public.status" in fp["relations"]["public.active_users"]["definition"]
    seq = fp["sequences"]["billing.invoice_no"]
    assert "last_value" not in seq
    assert {k: seq[k] for k in ("type", "start", "increment", "min", "max", "cache", "cycle", "owned_by")} == {
        "type": "bigint", "start": 1000, "increment": 10, "min": 1000, "max": 9223372036854775807, "cache": 5,
        "cycle": False, "owned_by": None}
    assert fp["sequences"]["public.orders_id_seq"]["owned_by"] == "public.orders.id"
    assert not any(name.startswith("public.users_id_seq") for name in fp["sequences"]), \
        "identity sequences are described on their column"
    assert fp["types"]["public.status"]["labels"] == ["active", "inactive"]
    assert fp["types"]["billing.cents"]["constraints"]["cents_check"]["definition"] == "CHECK ((VALUE >= 0))"
    assert fp["types"]["billing.money_pair"]["attributes"] == ["amount bigint", "currency character(3)"]
    assert fp["functions"]["billing.close_day()"]["kind"] == "procedure"
    assert "NEW.name := coalesce" in fp["functions"]["public.touch()"]["definition"]
    assert not any(name.startswith("public.citext") for name in fp["functions"]), \
        "objects of an extension are covered by the extension"

    assert set(snap(db, ["billing"])["relations"]) == set()
    assert set(snap(db, ["billing"])["sequences"]) == {"billing.invoice_no"}


def test_fingerprint_only_reads_and_leaves_the_session_alone(db):
    db.exec(BASE)
    with psycopg.connect(db.url) as conn:  # not autocommit: the caller's transaction is open
        conn.execute("SET search_path = public")
        conn.execute("CREATE TABLE in_flight (id int)")
        inside = fingerprint(conn)
        assert "public.in_flight" in inside["relations"], "sees the caller's own uncommitted work"
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        assert conn.execute("SHOW search_path").fetchone()[0] == "public"
        conn.rollback()
    with db.connect() as conn:
        conn.execute("SET search_path = pg_catalog, public")
        first = fingerprint(conn)
        conn.execute("SELECT nextval('orders_id_seq'), nextval('orders_id_seq')")
        assert conn.execute("SHOW search_path").fetchone()[0] == "pg_catalog, public"
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert first == snap(db), "neither the search_path nor last_value of a sequence matters"
    assert "public.in_flight" not in first["relations"]


def test_grant_then_revoke_compares_equal(db):
    role = "r_" + uuid.uuid4().hex[:10]
    db.exec(f"CREATE ROLE {role}")
    try:
        assert round_trip(db, f"GRANT SELECT ON users TO {role}", f"REVOKE SELECT ON users FROM {role}") == []
    finally:
        db.exec(f"DROP OWNED BY {role}; DROP ROLE {role}")


# --------------------------------------------------------------------------- downs that do not restore
def test_forgotten_index_dropped_with_its_column(vdb):
    diffs = round_trip(vdb, "ALTER TABLE users DROP COLUMN email",
                       "ALTER TABLE users ADD COLUMN email text NOT NULL DEFAULT ''; "
                       "ALTER TABLE users ALTER COLUMN email DROP DEFAULT; "
                       "ALTER TABLE users ALTER COLUMN email SET NOT NULL; "
                       "COMMENT ON COLUMN users.email IS 'login'")
    assert [d.message for d in diffs if d.kind != "column order"] == \
        ["index users_email_idx on public.users is missing after down"]
    d = next(d for d in diffs if d.kind == "missing")
    assert (d.kind, d.object_type, d.name, d.parent) == ("missing", "index", "users_email_idx", "public.users")
    assert d.detail == "CREATE INDEX users_email_idx ON public.users USING btree (email)"
    assert d.severity == "error"
    # email came back at the end: reported, but only as a column order difference
    assert [d.kind for d in diffs] == ["column order", "missing"]


def test_column_readded_at_the_end_is_only_a_column_order_difference(vdb):
    diffs = round_trip(vdb, "ALTER TABLE users DROP COLUMN name",
                       "ALTER TABLE users ADD COLUMN name text DEFAULT 'anonymous'")
    assert len(diffs) == 1
    d = diffs[0]
    assert (d.kind, d.object_type, d.name, d.severity) == ("column order", "table", "public.users", "warning")
    assert d.message == ("table public.users: column order changed: was (id, email, name, age, state), "
                         "now (id, email, age, state, name)")


def test_changed_column_type(db):
    diffs = round_trip(db, "ALTER TABLE users ALTER COLUMN email TYPE varchar(200)", "")
    assert messages(diffs) == ["column public.users.email: type changed from text to character varying(200)"]
    assert (diffs[0].kind, diffs[0].object_type, diffs[0].name) == ("changed", "column", "public.users.email")


def test_changed_default(db):
    diffs = round_trip(db, "ALTER TABLE users ALTER COLUMN name SET DEFAULT 'nobody'",
                       "ALTER TABLE users ALTER COLUMN name SET DEFAULT 'anon'")
    assert messages(diffs) == ["column public.users.name: default changed from 'anonymous'::text to 'anon'::text"]
    diffs = round_trip(db, "ALTER TABLE orders ALTER COLUMN total DROP DEFAULT", "", setup="")
    assert messages(diffs) == ["column public.orders.total: default changed from 0 to none"]


def test_lost_not_null(vdb):
    diffs = round_trip(vdb, "ALTER TABLE users ALTER COLUMN email DROP NOT NULL", "SELECT 1")
    assert messages(diffs) == ["column public.users.email: NOT NULL is missing after down"]


def test_lost_check_and_changed_foreign_key(db):
    diffs = round_trip(db, """
        ALTER TABLE users DROP CONSTRAINT users_age_check;
        ALTER TABLE orders DROP CONSTRAINT orders_user_fk;
        ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id)
            ON DELETE CASCADE;
    """, "")
    assert messages(diffs) == [
        "constraint orders_user_fk on public.orders: definition changed: FOREIGN KEY (user_id) REFERENCES "
        "public.users(id) -> FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE",
        "constraint users_age_check on public.users is missing after down",
    ]
    assert diffs[1].detail == "CHECK ((age >= 0))"


def test_constraint_left_not_valid(db):
    diffs = round_trip(db, "ALTER TABLE users DROP CONSTRAINT users_age_check",
                       "ALTER TABLE users ADD CONSTRAINT users_age_check CHECK (age >= 0) NOT VALID")
    assert messages(diffs) == ["constraint users_age_check on public.users: is NOT VALID after down (was validated)"]


def test_lost_primary_key_is_reported_once(db):
    diffs = round_trip(db, "ALTER TABLE orders DROP CONSTRAINT orders_pkey", "")
    assert messages(diffs) == ["constraint orders_pkey on public.orders is missing after down"]


def test_changed_view(db):
    diffs = round_trip(db, "CREATE OR REPLACE VIEW active_users AS SELECT id, state FROM users "
                           "WHERE state = 'active' AND age > 17", "")
    assert messages(diffs) == [
        "view public.active_users: definition changed at line 4: WHERE state = 'active'::public.status; -> "
        "WHERE state = 'active'::public.status AND age > 17;"]


def test_lost_trigger(db):
    diffs = round_trip(db, "DROP TRIGGER users_touch ON users", "")
    assert messages(diffs) == ["trigger users_touch on public.users is missing after down"]
    assert diffs[0].detail.startswith("CREATE TRIGGER users_touch BEFORE INSERT OR UPDATE ON public.users")
    db.exec("CREATE TRIGGER users_touch BEFORE INSERT OR UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch()")
    diffs = round_trip(db, "ALTER TABLE users DISABLE TRIGGER users_touch", "", setup="")
    assert messages(diffs) == ["trigger users_touch on public.users: state changed from enabled to disabled"]


def test_domain_sequence_policy_and_invalid_index(db):
    setup = BASE + """
        CREATE DOMAIN cents AS bigint CONSTRAINT cents_positive CHECK (VALUE >= 0);
        CREATE SEQUENCE ticket_no INCREMENT 10;
        ALTER TABLE users ENABLE ROW LEVEL SECURITY;
        CREATE POLICY own_rows ON users USING (email = current_user);
        INSERT INTO users (email) VALUES ('a'), ('a');
    """
    diffs = round_trip(db, """
        ALTER DOMAIN cents DROP CONSTRAINT cents_positive;
        ALTER SEQUENCE ticket_no INCREMENT 1 CYCLE;
        DROP POLICY own_rows ON users;
        CREATE POLICY own_rows ON users FOR SELECT USING (email = session_user);
        SELECT nextval('ticket_no');
    """, "", setup=setup)
    assert messages(diffs) == [
        "constraint cents_positive on public.cents is missing after down",
        "sequence public.ticket_no: increment changed from 10 to 1",
        "sequence public.ticket_no: cycle changed from false to true",
        "policy own_rows on public.users: command changed from ALL to SELECT",
        "policy own_rows on public.users: USING expression changed: (email = CURRENT_USER) -> (email = SESSION_USER)",
    ]
    db.exec("DELETE FROM users WHERE id = 2")
    db.exec("CREATE UNIQUE INDEX users_email_key ON users (email)")
    before = snap(db)
    db.exec("DROP INDEX users_email_key")
    db.exec("INSERT INTO users (email) VALUES ('a')")
    with db.connect() as conn, pytest.raises(psycopg.errors.UniqueViolation):
        # fails, and leaves an invalid index behind with the same name and definition
        conn.execute("CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email)")
    assert messages(diff(before, snap(db))) == [
        "index users_email_key on public.users: is invalid after down (was valid)",
        "index users_email_key on public.users: is not ready after down (was ready)"]


def test_changed_function_body(db):
    diffs = round_trip(db, """CREATE OR REPLACE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.name := coalesce(NEW.name, 'nobody');
    RETURN NEW;
END
$$""", "")
    assert messages(diffs) == [
        "function public.touch(): definition changed at line 6: NEW.name := coalesce(NEW.name, 'anonymous'); -> "
        "NEW.name := coalesce(NEW.name, 'nobody');"]


def test_function_body_differing_in_whitespace_only(db):
    diffs = round_trip(db, "DROP FUNCTION touch() CASCADE",
                       TOUCH.replace("    ", "  ") + "CREATE TRIGGER users_touch BEFORE INSERT OR UPDATE ON users "
                       "FOR EACH ROW EXECUTE FUNCTION touch();")
    assert [(d.kind, d.severity, d.message) for d in diffs] == [
        ("whitespace", "warning", "function public.touch(): definition differs in whitespace only, from line 6")]


def test_enum_label_not_removed(vdb):
    diffs = round_trip(vdb, "ALTER TYPE status ADD VALUE 'archived'", "SELECT 1")
    assert messages(diffs) == [
        "enum public.status: labels changed: 'archived' is still present after down "
        "(were 'active', 'inactive'; now 'active', 'inactive', 'archived')"]


def test_changed_grant(db):
    reader, writer = ("r_" + uuid.uuid4().hex[:10] for _ in range(2))
    db.exec(f"CREATE ROLE {reader}; CREATE ROLE {writer}")
    try:
        db.exec(BASE + f"GRANT UPDATE ON users TO {writer}")
        diffs = round_trip(db, f"GRANT SELECT ON users TO {reader}; REVOKE UPDATE ON users FROM {writer}", "",
                           setup="")
        assert messages(diffs) == [
            f"table public.users: grants changed: now also SELECT to {reader}; no longer UPDATE to {writer}"]
        diffs = round_trip(db, f"GRANT SELECT (email) ON users TO {reader}", "", setup="")
        assert messages(diffs) == [f"column public.users.email: grants changed: now also SELECT to {reader}"]
    finally:
        db.exec(f"DROP OWNED BY {reader}, {writer}; DROP ROLE {reader}; DROP ROLE {writer}")


def test_changed_comment_and_owner(db):
    role = "r_" + uuid.uuid4().hex[:10]
    db.exec(f"CREATE ROLE {role}")
    try:
        diffs = round_trip(db, f"COMMENT ON TABLE users IS 'customers'; COMMENT ON COLUMN users.email IS NULL; "
                               f"ALTER VIEW active_users OWNER TO {role}", "")
        assert messages(diffs) == [
            f"view public.active_users: owner changed from postgres to {role}",
            f"view public.active_users: grants changed: now also DELETE to {role}, INSERT to {role}, "
            + "".join(f"{p} to {role}, " for p in _maintain(db))
            + f"REFERENCES to {role}, SELECT to {role}, TRIGGER to {role}, TRUNCATE to {role}, UPDATE to {role}; "
            "no longer DELETE to postgres, INSERT to postgres, "
            + "".join(f"{p} to postgres, " for p in _maintain(db))
            + "REFERENCES to postgres, SELECT to postgres, TRIGGER to postgres, TRUNCATE to postgres, "
            "UPDATE to postgres",
            "table public.users: comment changed from 'people who sign in' to 'customers'",
            "column public.users.email: comment changed from 'login' to none",
        ]
    finally:
        db.exec(f"DROP OWNED BY {role}; DROP ROLE {role}")


def _maintain(db) -> list[str]:
    return ["MAINTAIN"] if db.scalar("SHOW server_version_num") >= "170000" else []


def test_left_over_objects_are_extra(db):
    diffs = round_trip(db, """
        CREATE TABLE audit (id int);
        CREATE INDEX orders_total_idx ON orders (total);
        ALTER TABLE users ADD COLUMN nickname text;
        CREATE SEQUENCE ticket_no;
        ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO PUBLIC;
    """, "")
    assert [(d.kind, d.object_type, d.name, d.parent) for d in diffs] == [
        ("extra", "sequence", "public.ticket_no", None),
        ("extra", "table", "public.audit", None),
        ("extra", "index", "orders_total_idx", "public.orders"),
        ("extra", "column", "public.users.nickname", None),
        ("extra", "default privileges for", "tables created by postgres in schema public", None),
    ], "sections in order (schemas, extensions, types, sequences, relations, ...), then names"
    assert diffs[1].message == "table public.audit exists after down but did not exist before up"
    assert diffs[3].to_dict() == {
        "kind": "extra", "object_type": "column", "name": "public.users.nickname", "detail": "text",
        "parent": None, "severity": "error",
        "message": "column public.users.nickname exists after down but did not exist before up"}


def test_dropped_table_is_reported_once(db):
    diffs = round_trip(db, "DROP VIEW active_users; DROP TABLE orders", "")
    assert messages(diffs) == [
        "sequence public.orders_id_seq is missing after down",
        "view public.active_users is missing after down",
        "table public.orders is missing after down",
    ]
    assert diffs[2].detail == "(id integer, user_id bigint, total numeric(10,2))"
