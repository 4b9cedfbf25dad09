"""B125 validate-in-same-transaction: VALIDATE CONSTRAINT inside the migration's transaction after an earlier
statement of it took a lock stronger than SHARE UPDATE EXCLUSIVE on the same table (typically the ADD ...
NOT VALID itself), or in an ALTER TABLE whose other subcommands take one: the validation scan then runs
while that lock is held."""

from __future__ import annotations

from bascule.analyze.facts import LOCK_NAMES, RANK, SUE, bare, relkey
from bascule.analyze.model import Rule

_BLOCKED = {"ShareLock": "writes", "ShareRowExclusiveLock": "writes", "ExclusiveLock": "writes",
            "AccessExclusiveLock": "reads and writes"}


def check(s):
    table = relkey(s.node.get("relation"))
    names = [(cmd.get("AlterTableCmd") or {}).get("name") for cmd in s.node.get("cmds") or ()
             if (cmd.get("AlterTableCmd") or {}).get("subtype") == "AT_ValidateConstraint"]
    if not table or not names:
        return
    tb = bare(table)
    strongest = None  # (mode, line) of the strongest lock on the table held since an earlier statement
    not_valid: dict[str, int] = {}  # constraint added NOT VALID earlier in the migration → its line
    for st in s.statements if s.transactional else ():
        if st is s.st:
            break
        if st.needs_autocommit(s.version_num):
            continue  # ran on its own, outside the transaction: its locks are gone
        node = st.node or {}
        if st.kind == "AlterTableStmt" and bare(relkey(node.get("relation")) or "") == tb:
            for cmd in node.get("cmds") or ():
                con = ((cmd.get("AlterTableCmd") or {}).get("def") or {}).get("Constraint") or {}
                if con.get("skip_validation") and con.get("conname") in names:
                    not_valid[con["conname"]] = st.line
        for rel, mode in s.earlier_facts[st.index].locks.items():
            if bare(rel) == tb and RANK[mode] > RANK[SUE] and (strongest is None or RANK[mode] > RANK[strongest[0]]):
                strongest = (mode, st.line)
    own = max((m for rel, m in s.facts.locks.items() if bare(rel) == tb), key=RANK.__getitem__, default=None)
    if own is not None and RANK[own] > RANK[SUE] and (strongest is None or RANK[own] > RANK[strongest[0]]):
        strongest = (own, s.st.line)  # another subcommand of this ALTER TABLE
    if strongest is None:
        return
    mode, line = strongest
    where = "this statement" if line == s.st.line else f"line {line}"
    for name in names:
        added = f" ({name} was added NOT VALID at line {not_valid[name]})" if name in not_valid else ""
        yield s.finding(RULE, f"VALIDATE CONSTRAINT {name} on {table} runs in a transaction that holds "
                              f"{LOCK_NAMES[mode]} on {table} since {where}{added}: the validation reads every row of "
                              f"{table} while {_BLOCKED[mode]} of {table} wait, so NOT VALID gains nothing",
                        table=table, lock=mode)


RULE = Rule(
    code="B125", name="validate-in-same-transaction", severity="error", category="locking",
    summary="VALIDATE CONSTRAINT runs in the transaction that already holds a strong lock on the table",
    why="Adding a constraint NOT VALID and validating it later exists to move the full-table check under SHARE "
        "UPDATE EXCLUSIVE, which lets reads and writes continue. Locks are held until the transaction ends, so when "
        "VALIDATE runs in the same transaction as the ADD CONSTRAINT (SHARE ROW EXCLUSIVE for a foreign key, ACCESS "
        "EXCLUSIVE for a CHECK) or any other strong lock on the table, the scan happens under that lock after all.",
    fix="Validate in a separate transaction: put VALIDATE CONSTRAINT in the next migration, or declare this "
        "migration transaction = \"never\" (migration.toml) so each statement commits on its own.",
    alter_subtypes=frozenset({"AT_ValidateConstraint"}),
    kinds=("AlterTableStmt",),
    peers=("squawk constraint-missing-not-valid", "strong_migrations validate_foreign_key / validate_check_constraint"),
    check=check,
)
