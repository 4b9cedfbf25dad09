"""The rule registry: one module per rule, listed here in code order.

Each module defines RULE (a model.Rule) and the function(s) it names: `check(s)` for a
statement-level rule, `check_migration(m)` for a migration-level one. Codes are stable: a code
is never reused for a different check.
"""

from __future__ import annotations

import importlib

from bascule.analyze.model import Rule

MODULES = (
    # locking and blocking
    "create_index_not_concurrently",      # B101
    "drop_index_not_concurrently",        # B102
    "reindex_not_concurrently",           # B103
    "concurrently_in_transaction",        # B104
    "foreign_key_validated",              # B105
    "check_constraint_validated",         # B106
    "set_not_null_scan",                  # B107
    "unique_constraint_without_index",    # B108
    "exclusion_constraint",               # B109
    "vacuum_full_or_cluster",             # B110
    "column_type_rewrite",                # B111
    "add_column_volatile_default",        # B112
    "add_column_generated_stored",        # B113
    "add_column_serial_or_identity",      # B114
    "table_rewrite_other",                # B115
    "multiple_alters_same_table",         # B116
    "lock_held_during_slow_statement",    # B117
    "attach_partition_scan",              # B118
    "refresh_matview_not_concurrently",   # B119
    "missing_lock_timeout",               # B120
    "missing_statement_timeout",          # B121
    "detach_partition_not_concurrently",  # B122
    "foreign_key_without_index",          # B123
    "concurrent_index_pg14_bug",          # B124 (live: server minor version)
    "validate_in_same_transaction",       # B125
    "open_transactions",                  # B190 (live)
    # backward compatibility
    "rename_column",                      # B201
    "rename_table",                       # B202
    "drop_column",                        # B203
    "drop_table",                         # B204
    "drop_schema_or_database",            # B205
    "add_required_column",                # B206
    "drop_default",                       # B207
    "narrowing_type_change",              # B208
    "drop_not_null",                      # B209
    "data_dependent_constraint",          # B210
    "drop_other_object",                  # B211
    "rename_other_object",                # B212
    "drop_constraint",                    # B213
    "drop_generated_expression",          # B214
    "set_schema",                         # B215
    "alter_identity",                     # B216
    # data loss and reversibility
    "truncate",                           # B301
    "delete_or_update_all_rows",          # B302
    "down_cannot_restore",                # B303
    "missing_down",                       # B304
    "backfill_in_schema_transaction",     # B305
    "unbatched_data_change",              # B306
    # types and design
    "prefer_jsonb",                       # B401
    "char_column",                        # B402
    "varchar_limit",                      # B403
    "timestamp_without_time_zone",        # B404
    "integer_key",                        # B405
    "prefer_identity",                    # B406
    "identifier_too_long",                # B407
    "enum_change",                        # B408
    "domain_with_constraint",             # B409
    "robust_statements",                  # B410
    "duplicate_column_assignment",        # B411
    "wide_index",                         # B412
    "column_alignment",                   # B413
    "enum_value_position",                # B414
    # structure
    "transaction_control_in_file",        # B501
    "do_block_statements",                # B503
    # opt-in (default_on=False): enable with [lint] enable = [...] or --enable
    "security_change",                    # B601
    "rollback_incompatible",              # B602
    "server_wide_change",                 # B603
    "unqualified_table_name",             # B604
)

SYNTAX = Rule(
    code="B502", name="syntax-error", severity="error", category="structure",
    summary="PostgreSQL's parser rejects the file",
    why="A migration that does not parse fails on every server; nothing after the error was checked.",
    fix="Fix the SQL at the position shown. bascule parses with PostgreSQL's own parser (libpg_query).",
)

INTERNAL = Rule(
    code="B900", name="internal-error", severity="error", category="structure",
    summary="a rule failed on a statement (a bug in bascule)",
    why="bascule could not finish this check, so the statement is not fully analyzed; every other rule "
        "and file was still checked.",
    fix="Report it with the statement shown. Until fixed, review the statement by hand; suppress with a reason.",
)

SUPPRESSION = {
    "unused": Rule(
        code="B901", name="unused-suppression", severity="warning", category="structure",
        summary="a bascule:ignore comment suppresses nothing",
        why="A suppression that matches no finding hides nothing today and may hide a real finding tomorrow.",
        fix="Remove the comment, or correct the rule code in it.",
    ),
    "no_reason": Rule(
        code="B902", name="suppression-without-reason", severity="error", category="structure",
        summary="a bascule:ignore comment gives no reason",
        why="Reviewers need to know why a finding is accepted; a bare suppression is not applied.",
        fix="Write the reason after the code: -- bascule:ignore B101 table has 40 rows, built in 1 ms",
    ),
    "unknown": Rule(
        code="B903", name="unknown-rule-in-suppression", severity="error", category="structure",
        summary="a bascule:ignore comment names a rule that does not exist",
        why="A typo in a suppression silently suppresses nothing.",
        fix="Use a code (B101) or name (create-index-not-concurrently) from `bascule lint --list-rules`.",
    ),
}

_loaded: list[tuple[Rule, object]] | None = None


def load() -> list[tuple[Rule, object]]:
    """(RULE, module) for every rule module, in code order."""
    global _loaded
    if _loaded is None:
        out = []
        for name in MODULES:
            mod = importlib.import_module(f"bascule.analyze.rules.{name}")
            out.append((mod.RULE, mod))
        _loaded = out
    return _loaded


def all_rules() -> list[Rule]:
    return [r for r, _ in load()] + [SYNTAX, INTERNAL, *SUPPRESSION.values()]


def by_code() -> dict[str, Rule]:
    out = {}
    for r in all_rules():
        out[r.code] = r
        out[r.code.lower()] = r  # codes in any case: b101 is B101
        out[r.name] = r
    return out


def dispatch(opts) -> tuple[dict[str, list], list, list]:
    """Rules to run, by parse-tree tag; rules for every statement; migration-level rules."""
    by_kind: dict[str, list] = {}
    every: list = []
    per_migration: list = []
    for rule, _mod in load():
        if rule.code in opts.disabled or rule.name in opts.disabled:
            continue
        if opts.enabled_only is not None and rule.code not in opts.enabled_only and rule.name not in opts.enabled_only:
            continue
        if not rule.default_on and rule.code not in opts.enabled and (opts.enabled_only is None
                                                                      or rule.code not in opts.enabled_only):
            continue
        if rule.only_external and opts.runner != "other":
            continue
        if rule.check is not None:
            if rule.kinds is None:
                every.append(rule)
            else:
                for k in rule.kinds:
                    by_kind.setdefault(k, []).append(rule)
        if rule.check_migration is not None:
            per_migration.append(rule)
    return by_kind, every, per_migration
