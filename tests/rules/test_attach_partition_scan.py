"""B118 attach-partition-scan."""

import pytest
from _lint import fires, hits


@pytest.mark.parametrize("sql", [
    "ALTER TABLE measurements ATTACH PARTITION measurements_2024 FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');",
    "ALTER TABLE events ATTACH PARTITION events_other DEFAULT;",
    "ALTER TABLE items ATTACH PARTITION items_p0 FOR VALUES WITH (MODULUS 4, REMAINDER 0);",
])
def test_fires(sql):
    assert fires(sql, "B118")


@pytest.mark.parametrize("sql", [
    # a partition created in this migration is empty
    "CREATE TABLE measurements_2024 (LIKE measurements);\n"
    "ALTER TABLE measurements ATTACH PARTITION measurements_2024 FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');",
    "CREATE TABLE measurements_2024 PARTITION OF measurements FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');",
    "ALTER TABLE measurements DETACH PARTITION measurements_2023;",
])
def test_does_not_fire(sql):
    assert not fires(sql, "B118")


def test_names_the_partition_and_is_a_warning():
    f, = hits("ALTER TABLE measurements\n  ATTACH PARTITION m_2024 FOR VALUES FROM (1) TO (10);", "B118")
    assert (f.line, f.column) == (2, 20)  # at the partition's name
    assert f.table == "m_2024" and "m_2024" in f.message and "measurements" in f.message and "CHECK" in f.message
    assert f.severity == "warning" and f.lock == "AccessExclusiveLock"


def test_partition_from_an_earlier_migration_counts():
    assert fires("ALTER TABLE m ATTACH PARTITION m_1 FOR VALUES IN (1);", "B118",
                 before=["CREATE TABLE m (k int) PARTITION BY LIST (k);\nCREATE TABLE m_1 (k int);"])


def test_suppression_with_reason():
    sql = ("-- bascule:ignore B118 m_1 has a validated CHECK matching the bound\n"
           "ALTER TABLE m ATTACH PARTITION m_1 FOR VALUES IN (1);")
    assert not fires(sql, "B118")
