"""B414 enum-value-position: ALTER TYPE ... ADD VALUE without BEFORE or AFTER."""

from __future__ import annotations

from bascule.analyze.facts import names_of
from bascule.analyze.model import Rule


def check(s):
    node = s.node
    if node.get("oldVal") or not node.get("newVal") or node.get("newValNeighbor"):
        return
    typ = ".".join(names_of(node.get("typeName")))
    yield s.finding(RULE, f"ALTER TYPE {typ} ADD VALUE '{node['newVal']}' without BEFORE or AFTER: the new value "
                          "sorts after every existing one")


RULE = Rule(
    code="B414", name="enum-value-position", severity="info", category="design",
    summary="ALTER TYPE ... ADD VALUE without BEFORE or AFTER",
    why="Enum values compare and sort in declaration order, not by label: ORDER BY, <, > and range checks on the "
        "column follow that order. A value appended at the end may sort where nobody expects (a new 'paused' "
        "status after 'archived'), and the order cannot be changed later without recreating the type.",
    fix="Say where the value belongs: ALTER TYPE order_status ADD VALUE 'paused' BEFORE 'archived'. If it truly "
        "belongs last, AFTER the current last value says so explicitly.",
    kinds=("AlterEnumStmt",),
    peers=("squawk require-enum-value-ordering",),
    check=check,
)
