"""B409 domain-with-constraint: CREATE DOMAIN with CHECK / NOT NULL, and ALTER DOMAIN changes that check
every column using the domain."""

from __future__ import annotations

from bascule.analyze.facts import SHARE, constraint_defs, names_of
from bascule.analyze.model import Rule

_KINDS = {"CONSTR_CHECK": "CHECK", "CONSTR_NOTNULL": "NOT NULL"}


def check(s):
    node = s.node
    name = ".".join(names_of(node.get("domainname") if s.tag == "CreateDomainStmt" else node.get("typeName")))
    if s.tag == "CreateDomainStmt":
        kinds = [_KINDS[c.get("contype")] for c in constraint_defs(node) if c.get("contype") in _KINDS]
        if kinds:
            yield s.finding(RULE, f"CREATE DOMAIN {name} with {' and '.join(dict.fromkeys(kinds))}: changing the "
                                  f"constraint later checks every column of every table that uses {name}, and "
                                  f"adding such a column to an existing table rewrites it", severity="warning")
        return
    sub = node.get("subtype")
    if sub == "C":
        con = (node.get("def") or {}).get("Constraint") or {}
        if con.get("skip_validation"):
            return  # NOT VALID: existing values are not checked
        label = _KINDS.get(con.get("contype"), "a constraint")
        yield s.finding(RULE, f"ALTER DOMAIN {name} ADD {label}: checks every column that uses {name}, in every "
                              f"table, under a SHARE lock that blocks their writes until commit", lock=SHARE,
                        location=con.get("location"))
    elif sub == "O":
        yield s.finding(RULE, f"ALTER DOMAIN {name} SET NOT NULL: checks every column that uses {name}, in every "
                              f"table, under a SHARE lock that blocks their writes until commit", lock=SHARE)
    elif sub == "V" and s.version < 19:
        yield s.finding(RULE, f"ALTER DOMAIN {name} VALIDATE CONSTRAINT {node.get('name')}: unlike a table's, it "
                              f"checks every column that uses {name} under a SHARE lock that blocks their writes "
                              f"(through PostgreSQL 18)", lock=SHARE)


RULE = Rule(
    code="B409", name="domain-with-constraint", severity="warning", category="locking",
    summary="domain constraints are checked across every table that uses the domain",
    why="A constraint on a domain applies to every column of that type in every table. Adding one (ALTER DOMAIN "
        "... ADD CONSTRAINT or SET NOT NULL) reads all those tables under a SHARE lock, blocking their writes "
        "until commit; VALIDATE CONSTRAINT on a domain takes the same SHARE lock through PostgreSQL 18 (a "
        "table's takes SHARE UPDATE EXCLUSIVE). Adding a column of a constrained domain to an existing table "
        "rewrites it. A NOT NULL on a domain is not reliable either: outer joins and some expressions yield NULL "
        "of the domain type anyway.",
    fix="Prefer a plain type with the constraint on the column (a CHECK added NOT VALID, then VALIDATE "
        "CONSTRAINT, which does not block writes on a table). To add a domain constraint, ADD ... NOT VALID "
        "first (only new values are checked) and validate at a quiet time.",
    kinds=("CreateDomainStmt", "AlterDomainStmt"),
    peers=(),
    check=check,
)
