"""B105 foreign-key-validated."""

import pytest
from _lint import fires, hits


@pytest.mark.parametrize("sql", [
    "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);",
    "ALTER TABLE orders ADD FOREIGN KEY (user_id) REFERENCES users;",
    "ALTER TABLE orders ADD COLUMN user_id bigint DEFAULT 0 REFERENCES users (id);",
    "ALTER TABLE orders ADD COLUMN user_id bigserial REFERENCES users (id);",
])
def test_fires(sql):
    assert fires(sql, "B105")


@pytest.mark.parametrize("sql", [
    "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;",
    "ALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk;",
    # a new column without a default is all NULL: PostgreSQL skips the check
    "ALTER TABLE orders ADD COLUMN user_id bigint REFERENCES users (id);",
    # the referencing table is new: empty, nothing to check
    "CREATE TABLE orders (id bigint, user_id bigint);\n"
    "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id);",
    "CREATE TABLE orders (id bigint, user_id bigint REFERENCES users (id));",
])
def test_does_not_fire(sql):
    assert not fires(sql, "B105")


def test_position_message_and_lock():
    f, = hits("SELECT 1;\nALTER TABLE orders\n  ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id);", "B105")
    assert (f.line, f.column) == (3, 7)  # at the constraint
    assert "orders" in f.message and "users" in f.message and "fk" in f.message
    assert f.table == "orders" and f.severity == "error" and f.lock == "ShareRowExclusiveLock" and f.fixable


def test_table_from_an_earlier_migration_counts():
    assert fires("ALTER TABLE orders ADD FOREIGN KEY (user_id) REFERENCES users (id);", "B105",
                 before=["CREATE TABLE users (id bigint PRIMARY KEY);\nCREATE TABLE orders (id bigint, user_id bigint);"])


def test_new_column_with_default_is_named():
    f, = hits("ALTER TABLE orders ADD COLUMN user_id bigint DEFAULT 1 REFERENCES users (id);", "B105")
    assert "user_id" in f.message and "default" in f.message


def test_suppression_with_reason():
    sql = "-- bascule:ignore B105 orders has 30 rows\nALTER TABLE orders ADD FOREIGN KEY (user_id) REFERENCES users;"
    assert not fires(sql, "B105")


def test_new_column_form_is_not_auto_fixable():
    f, = hits("ALTER TABLE orders ADD COLUMN user_id bigint DEFAULT 1 REFERENCES users (id);", "B105")
    assert not f.fixable


def test_self_referencing_key_names_one_table():
    # supabase/auth: a refresh token's parent is another refresh token
    f, = hits("ALTER TABLE auth.refresh_tokens\n"
              "  ADD CONSTRAINT refresh_tokens_parent_fkey FOREIGN KEY (parent) REFERENCES auth.refresh_tokens (token);",
              "B105")
    assert "SHARE ROW EXCLUSIVE on auth.refresh_tokens: writes to it wait" in f.message
    assert "both" not in f.message and "auth.refresh_tokens and auth.refresh_tokens" not in f.message


def test_lock_named_is_the_statements_own_when_stronger():
    # ADD COLUMN in the same statement takes ACCESS EXCLUSIVE: reads wait too, not only writes
    f, = hits("ALTER TABLE orders ADD COLUMN note text,\n  ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id);",
              "B105")
    assert f.lock == "AccessExclusiveLock"
    assert "ACCESS EXCLUSIVE on orders and SHARE ROW EXCLUSIVE on users" in f.message
    assert "reads and writes of orders" in f.message


def test_key_on_a_column_added_by_the_migration_suggests_references_on_add_column():
    # cal.com, coder: ADD COLUMN, then ADD CONSTRAINT ... FOREIGN KEY in a second statement. PostgreSQL scans the
    # table for the second (all NULL), but ADD COLUMN ... REFERENCES skips the check (checked on PostgreSQL 18)
    sql = ('ALTER TABLE "EventType" ADD COLUMN "creatorId" INTEGER;\n'
           'ALTER TABLE "EventType" ADD CONSTRAINT "EventType_creatorId_fkey" FOREIGN KEY ("creatorId") '
           'REFERENCES "users"("id") ON DELETE SET NULL;')
    f, = hits(sql, "B105")
    assert "creatorId was added by this migration without a default" in f.message
    assert "REFERENCES in that ADD COLUMN" in f.message


@pytest.mark.parametrize("first", [
    'ALTER TABLE "EventType" ADD COLUMN "creatorId" INTEGER DEFAULT 1;\n',  # a default: every row is checked anyway
    "",  # a column from before the migration
])
def test_no_add_column_hint_otherwise(first):
    f, = hits(first + 'ALTER TABLE "EventType" ADD CONSTRAINT fk FOREIGN KEY ("creatorId") REFERENCES users (id);',
              "B105")
    assert "added by this migration" not in f.message


def test_no_add_column_hint_after_a_backfill():
    sql = ("ALTER TABLE orders ADD COLUMN user_id bigint;\nUPDATE orders SET user_id = 1 WHERE id < 10;\n"
           "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id);")
    f, = hits(sql, "B105")
    assert "added by this migration" not in f.message


def test_partitioned_table_before_18_is_not_fixable():
    before = ["CREATE TABLE cust (id bigint PRIMARY KEY)",
              "CREATE TABLE ev (id bigint, ts date NOT NULL, cust_id bigint) PARTITION BY RANGE (ts)"]
    sql = "ALTER TABLE ev ADD FOREIGN KEY (cust_id) REFERENCES cust (id);"
    old, = hits(sql, "B105", before=before, pg_version=15)  # NOT VALID refused there before 18
    assert old.fixable is False and "before PostgreSQL 18" in old.notes[0]
    new, = hits(sql, "B105", before=before, pg_version=18)
    assert new.fixable is True
