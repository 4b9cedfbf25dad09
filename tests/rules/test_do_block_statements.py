"""B503 do-block-statements."""

import pytest
from _lint import fires, hits

BLOCK = """SELECT 1;
DO $$
DECLARE n int;
BEGIN
  ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();
  IF NOT EXISTS (SELECT 1 FROM pg_indexes WHERE indexname = 'users_token_idx') THEN
    CREATE INDEX users_token_idx ON users (token);
  END IF;
  FOR n IN 1..3 LOOP
    UPDATE users SET token = NULL WHERE id = n;
  END LOOP;
END
$$;
"""


def test_statements_inside_the_block_are_checked_on_their_own_lines():
    found = hits(BLOCK, "B503")
    assert [(f.line, f.severity) for f in found] == [(5, "warning"), (7, "warning")]
    assert "rewrites users" in found[0].message and "ACCESS EXCLUSIVE" in found[0].message
    assert "builds an index on users" in found[1].message and found[1].table == "users"


def test_dynamic_sql_is_info():
    sql = "DO $$ BEGIN EXECUTE 'ALTER TABLE ' || quote_ident('t') || ' ADD COLUMN y int'; END $$;"
    (f,) = hits(sql, "B503")
    assert f.severity == "info" and "dynamic SQL" in f.message


@pytest.mark.parametrize("sql", [
    # batched backfill: ROW EXCLUSIVE only
    "DO $$ BEGIN LOOP UPDATE users SET a = 1 WHERE id IN (SELECT id FROM users WHERE a IS NULL LIMIT 100); "
    "EXIT WHEN NOT FOUND; COMMIT; END LOOP; END $$;",
    # a table created earlier in the same migration
    "CREATE TABLE t (a int);\nDO $$ BEGIN ALTER TABLE t ADD COLUMN b uuid DEFAULT gen_random_uuid(); END $$;",
    # another language
    "DO LANGUAGE plperl $$ my $x = 1; $$;",
    # a body PostgreSQL's PL/pgSQL parser rejects
    "DO $$ BEGIN ALTER TABLE; END $$;",
])
def test_does_not_fire(sql):
    assert not fires(sql, "B503")


def test_suppression_on_the_block():
    sql = "-- bascule:ignore B503 table has 12 rows\n" + BLOCK.split("\n", 1)[1]
    assert not fires(sql, "B503")
