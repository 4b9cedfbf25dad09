"""B603 server-wide-change: ALTER SYSTEM, ALTER DATABASE options and settings, ALTER EXTENSION UPDATE and
ADD/DROP member: changes to the whole server or database, outside the tables a migration is about."""

from __future__ import annotations

from bascule.analyze.model import Rule
from bascule.analyze.rules._objects import label, named


def _setting(vs: dict) -> str:
    kind = vs.get("kind", "")
    if kind == "VAR_RESET_ALL":
        return "RESET ALL"
    return f"{'RESET' if kind == 'VAR_RESET' else 'SET'} {vs.get('name', '?')}"


def _options(options) -> str:
    names = {"connection_limit": "CONNECTION LIMIT", "allow_connections": "ALLOW_CONNECTIONS",
             "is_template": "IS_TEMPLATE", "tablespace": "SET TABLESPACE"}
    return ", ".join(names.get((o.get("DefElem") or {}).get("defname", ""), (o.get("DefElem") or {}).get(
        "defname", "?").upper()) for o in options or ())


def check(s):
    node, tag = s.node, s.tag
    if tag == "AlterSystemStmt":
        what = _setting(node.get("setstmt") or {})
        yield s.finding(RULE, f"ALTER SYSTEM {what}: changes postgresql.auto.conf for every database and session "
                              "of the server, takes effect only after a reload or restart, and cannot run inside "
                              "a transaction (nothing rolls it back)")
    elif tag == "AlterDatabaseSetStmt":
        db = node.get("dbname", "?")
        yield s.finding(RULE, f"ALTER DATABASE {db} {_setting(node.get('setstmt') or {})}: changes the default for "
                              f"every new session in {db}, the application's included, and not for sessions "
                              "already open")
    elif tag == "AlterDatabaseStmt":
        db = node.get("dbname", "?")
        opts = _options(node.get("options"))
        extra = ""
        if "SET TABLESPACE" in opts:
            extra = (" (SET TABLESPACE moves every table and index of the database and fails while anyone, the "
                     "migration included, is connected to it)")
        elif "CONNECTION LIMIT" in opts or "ALLOW_CONNECTIONS" in opts:
            extra = " (new connections beyond the limit, the application's included, are refused)"
        yield s.finding(RULE, f"ALTER DATABASE {db} {opts}: changes the whole database, not the tables this "
                              f"migration is about{extra}")
    elif tag == "AlterDatabaseRefreshCollStmt":
        db = node.get("dbname", "?")
        yield s.finding(RULE, f"ALTER DATABASE {db} REFRESH COLLATION VERSION: records the new collation version "
                              "for the whole database; indexes on text built with the old one must be rebuilt first")
    elif tag == "AlterExtensionStmt":
        ext = node.get("extname", "?")
        to = None
        for o in node.get("options") or ():
            d = o.get("DefElem") or {}
            if d.get("defname") == "new_version":
                to = ((d.get("arg") or {}).get("String") or {}).get("sval")
        target = f" TO '{to}'" if to else " (to the default version)"
        yield s.finding(RULE, f"ALTER EXTENSION {ext} UPDATE{target}: runs the extension's upgrade scripts, which "
                              "can change or remove functions and types that code uses, in every schema of the "
                              "database")
    elif tag == "AlterExtensionContentsStmt":
        ext = node.get("extname", "?")
        ot = node.get("objtype", "")
        name = named(ot, node.get("object") or {})[0] if node.get("object") else "?"
        if node.get("action", 1) == 1:
            yield s.finding(RULE, f"ALTER EXTENSION {ext} ADD {label(ot)} {name}: the object now belongs to the "
                                  "extension: pg_dump leaves it out and DROP EXTENSION drops it")
        else:
            yield s.finding(RULE, f"ALTER EXTENSION {ext} DROP {label(ot)} {name}: the object leaves the "
                                  "extension: its updates no longer maintain it, and pg_dump now dumps it")


RULE = Rule(
    code="B603", name="server-wide-change", severity="warning", category="structure",
    summary="the migration changes server or database settings, or updates an extension",
    why="ALTER SYSTEM writes the server's configuration for every database on it; ALTER DATABASE settings apply "
        "to every new session of the database; an extension update runs its vendor's scripts against objects the "
        "whole database uses. None of them is about the tables the migration changes, they often need privileges "
        "the migration role should not have, and a down migration rarely restores them. ALTER SYSTEM cannot run "
        "inside a transaction at all.",
    fix="Manage server and database settings with the server's configuration (postgresql.conf, the provider's "
        "parameter groups, infrastructure code), and extension updates as a separate, reviewed operation. Where a "
        "setting must belong to the application, prefer one scoped to its role (ALTER ROLE ... SET) or to its "
        "sessions.",
    kinds=("AlterSystemStmt", "AlterDatabaseSetStmt", "AlterDatabaseStmt", "AlterDatabaseRefreshCollStmt",
           "AlterExtensionStmt", "AlterExtensionContentsStmt"),
    peers=("squawk ban-alter-system-options", "squawk ban-alter-database-options", "squawk ban-alter-extension"),
    check=check,
)
