"""B414 enum-value-position."""

import pytest
from _lint import fires, hits


def test_fires_without_position():
    (f,) = hits("SELECT 1;\nALTER TYPE order_status ADD VALUE 'paused';", "B414")
    assert f.severity == "info" and f.line == 2 and "order_status" in f.message and "'paused'" in f.message


@pytest.mark.parametrize("sql", [
    "ALTER TYPE order_status ADD VALUE 'paused' BEFORE 'archived';",
    "ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'paused' AFTER 'active';",
    "ALTER TYPE order_status RENAME VALUE 'paused' TO 'on_hold';",
    "CREATE TYPE order_status AS ENUM ('new', 'paid');",
])
def test_does_not_fire(sql):
    assert not fires(sql, "B414")
