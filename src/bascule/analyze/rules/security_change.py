"""B601 security-change (opt-in): statements that change who may read or write what: GRANT/REVOKE, role
membership and attributes, default privileges, row-level security and its policies, SECURITY DEFINER and
function settings, and the security options of views. Each deserves a security reviewer."""

from __future__ import annotations

from bascule.analyze.facts import relkey
from bascule.analyze.model import Rule
from bascule.analyze.rules._objects import label, named

_ROLESPEC = {"ROLESPEC_PUBLIC": "PUBLIC", "ROLESPEC_CURRENT_USER": "CURRENT_USER",
             "ROLESPEC_SESSION_USER": "SESSION_USER", "ROLESPEC_CURRENT_ROLE": "CURRENT_ROLE"}

_ALL_IN = {"OBJECT_TABLE": "ALL TABLES", "OBJECT_SEQUENCE": "ALL SEQUENCES", "OBJECT_FUNCTION": "ALL FUNCTIONS",
           "OBJECT_PROCEDURE": "ALL PROCEDURES", "OBJECT_ROUTINE": "ALL ROUTINES"}

_RLS = {
    "AT_EnableRowSecurity": ("ENABLE ROW LEVEL SECURITY", "roles other than the owner see and write only the rows "
                             "a policy allows (none without a policy): their queries return fewer rows and writes "
                             "fail"),
    "AT_DisableRowSecurity": ("DISABLE ROW LEVEL SECURITY", "its policies stop applying: every role with privileges "
                              "on the table sees and writes every row"),
    "AT_ForceRowSecurity": ("FORCE ROW LEVEL SECURITY", "the table owner becomes subject to its policies too"),
    "AT_NoForceRowSecurity": ("NO FORCE ROW LEVEL SECURITY", "the table owner bypasses its policies again"),
}

_VIEW_OPTIONS = {
    "security_invoker": "whose privileges and row-level security apply to the tables under the view (the "
                        "caller's or the view owner's)",
    "security_barrier": "whether conditions of the caller's query may run before the view's own filter (and see "
                        "rows it hides)",
    "check_option": "which rows may be written through the view",
}

# role attributes as SQL keywords (the parser's names → what the statement said)
_ROLE_ATTRS = {"canlogin": "LOGIN", "superuser": "SUPERUSER", "createdb": "CREATEDB", "createrole": "CREATEROLE",
               "inherit": "INHERIT", "isreplication": "REPLICATION", "bypassrls": "BYPASSRLS",
               "connectionlimit": "CONNECTION LIMIT", "password": "PASSWORD", "validUntil": "VALID UNTIL",
               "rolemembers": "members", "addroleto": "IN ROLE", "adminmembers": "ADMIN", "sysid": "SYSID"}


def _role(spec: dict | None) -> str:
    spec = (spec or {}).get("RoleSpec", spec) or {}
    return spec.get("rolename") or _ROLESPEC.get(spec.get("roletype", ""), "?")


def _roles(items) -> str:
    return ", ".join(_role(r) for r in items or ()) or "PUBLIC"


def _attrs(options) -> str:
    out = []
    for o in options or ():
        d = o.get("DefElem") or {}
        kw = _ROLE_ATTRS.get(d.get("defname", ""), d.get("defname", "?").upper())
        b = (d.get("arg") or {}).get("Boolean")
        out.append(kw if b is None or b.get("boolval") else f"NO{kw}")
    return " ".join(out)


def _grant(s, node: dict):
    grant = bool(node.get("is_grant"))
    ot = node.get("objtype", "")
    privs = ", ".join(p["AccessPriv"].get("priv_name", "?").upper() for p in node.get("privileges") or ()
                      if "AccessPriv" in p) or "ALL"
    names = [relkey(o["RangeVar"]) if "RangeVar" in o else named(ot, o)[0] for o in node.get("objects") or ()]
    if node.get("targtype") == "ACL_TARGET_ALL_IN_SCHEMA":
        on = f"{_ALL_IN.get(ot, 'ALL')} IN SCHEMA {', '.join(names)}"
    else:
        on = f"{label(ot)} {', '.join(n or '?' for n in names)}"
    who = _roles(node.get("grantees"))
    option = " GRANT OPTION FOR" if node.get("grant_option") and not grant else ""
    if grant:
        effect = f"{who} gains this access" + (" and may pass it on (WITH GRANT OPTION)" if node.get("grant_option")
                                               else "")
        text = f"GRANT {privs} ON {on} TO {who}"
    else:
        effect = f"code running as {who} loses this access and gets \"permission denied\""
        text = f"REVOKE{option} {privs} ON {on} FROM {who}"
    table = names[0] if ot == "OBJECT_TABLE" and len(names) == 1 and node.get("targtype") != "ACL_TARGET_ALL_IN_SCHEMA" \
        else None
    yield s.finding(RULE, f"{text}: {effect}", table=table)


def _grant_role(s, node: dict):
    granted = ", ".join(p["AccessPriv"].get("priv_name", "?") for p in node.get("granted_roles") or ()
                        if "AccessPriv" in p)
    who = _roles(node.get("grantee_roles"))
    if node.get("is_grant"):
        yield s.finding(RULE, f"GRANT {granted} TO {who}: {who} gains the privileges of {granted}")
    else:
        yield s.finding(RULE, f"REVOKE {granted} FROM {who}: {who} loses the privileges of {granted}, and its "
                              "code gets \"permission denied\" where it relied on them")


def _default_privileges(s, node: dict):
    action = node.get("action") or {}
    privs = ", ".join(p["AccessPriv"].get("priv_name", "?").upper() for p in action.get("privileges") or ()
                      if "AccessPriv" in p) or "ALL"
    kind = label(action.get("objtype", "")).lower() + "s"
    verb = "GRANT" if action.get("is_grant") else "REVOKE"
    yield s.finding(RULE, f"ALTER DEFAULT PRIVILEGES ... {verb} {privs} ON {kind.upper()} "
                          f"{'TO' if verb == 'GRANT' else 'FROM'} {_roles(action.get('grantees'))}: changes the "
                          f"privileges of every {kind[:-1]} created from now on")


def _policy(s, node: dict, create: bool):
    table = relkey(node.get("table"))
    name = node.get("policy_name")
    parts = []
    if node.get("roles"):
        parts.append(f"roles {_roles(node['roles'])}")
    if node.get("qual"):
        parts.append("USING")
    if node.get("with_check"):
        parts.append("WITH CHECK")
    if create:
        kind = "permissive" if node.get("permissive") else "restrictive"
        cmd = (node.get("cmd_name") or "all").upper()
        msg = (f"CREATE POLICY {name} ON {table} ({kind}, FOR {cmd}): decides which rows of {table} each role "
               "reads and writes while row-level security is enabled")
    else:
        msg = (f"ALTER POLICY {name} ON {table} changes {' and '.join(parts) or 'the policy'}: the rows of {table} "
               "each role reads and writes change")
    yield s.finding(RULE, msg, table=table, location=(node.get("table") or {}).get("location"))


def _drop_policy(s, node: dict):
    for obj in node.get("objects") or ():
        name, _key, table, _loc = named("OBJECT_POLICY", obj)
        yield s.finding(RULE, f"DROP POLICY {name}: with row-level security enabled, rows it allowed become "
                              "invisible (permissive) or rows it hid become visible (restrictive)", table=table)


def _alter_table(s, node: dict):
    table = relkey(node.get("relation"))
    for cmd in node.get("cmds") or ():
        c = cmd.get("AlterTableCmd") or {}
        sub = c.get("subtype")
        if sub in _RLS:
            what, effect = _RLS[sub]
            yield s.finding(RULE, f"{what} on {table}: {effect}", table=table)
        elif sub in ("AT_SetRelOptions", "AT_ResetRelOptions"):
            for o in ((c.get("def") or {}).get("List") or {}).get("items") or ():
                d = o.get("DefElem") or {}
                opt = d.get("defname")
                if opt in _VIEW_OPTIONS:
                    verb = "SET" if sub == "AT_SetRelOptions" else "RESET"
                    yield s.finding(RULE, f"ALTER VIEW {table} {verb} ({opt}): changes {_VIEW_OPTIONS[opt]}",
                                    table=table, location=d.get("location"))


def _function_settings(actions) -> list[tuple[str, int | None]]:
    """(what changes, location) for the security-relevant options of a function."""
    out = []
    for a in actions or ():
        d = a.get("DefElem") or {}
        opt = d.get("defname")
        arg = d.get("arg") or {}
        if opt == "security":
            definer = (arg.get("Boolean") or {}).get("boolval")
            out.append(("SECURITY DEFINER: it runs with its owner's privileges for every caller" if definer else
                        "SECURITY INVOKER: it runs with the caller's privileges, so callers that relied on the "
                        "owner's get \"permission denied\"", d.get("location")))
        elif opt == "leakproof" and (arg.get("Boolean") or {}).get("boolval"):
            out.append(("LEAKPROOF: the planner may run it before row-level security and security-barrier filters",
                        d.get("location")))
        elif opt == "set":
            vs = arg.get("VariableSetStmt") or {}
            kind = vs.get("kind", "")
            what = "RESET ALL" if kind == "VAR_RESET_ALL" else \
                f"{'RESET' if kind == 'VAR_RESET' else 'SET'} {vs.get('name', '?')}"
            out.append((f"{what}: the settings it runs with change (search_path decides which objects a "
                        "SECURITY DEFINER function resolves)", d.get("location")))
    return out


def _alter_function(s, node: dict):
    kind = label(node.get("objtype", "OBJECT_FUNCTION"))
    name = ".".join(_fn(node.get("func")))
    for what, location in _function_settings(node.get("actions")):
        yield s.finding(RULE, f"ALTER {kind} {name} {what}", location=location)


def _fn(func: dict | None) -> list[str]:
    return [n["String"]["sval"] for n in (func or {}).get("objname") or () if "String" in n]


def _create_function(s, node: dict):
    opts = {(o.get("DefElem") or {}).get("defname"): o["DefElem"] for o in node.get("options") or ()
            if "DefElem" in o}
    sec = opts.get("security")
    if sec is None or not ((sec.get("arg") or {}).get("Boolean") or {}).get("boolval"):
        return
    name = ".".join(n["String"]["sval"] for n in node.get("funcname") or () if "String" in n)
    kind = "PROCEDURE" if node.get("is_procedure") else "FUNCTION"
    extra = "" if _sets_search_path(node) else (", and without SET search_path a caller can make it resolve names to objects in a "
                               "schema the caller controls")
    yield s.finding(RULE, f"CREATE {kind} {name} SECURITY DEFINER: it runs with its owner's privileges for every "
                          f"caller{extra}", location=sec.get("location"))


def _sets_search_path(node: dict) -> bool:
    for o in node.get("options") or ():
        d = o.get("DefElem") or {}
        if d.get("defname") == "set" and ((d.get("arg") or {}).get("VariableSetStmt") or {}).get("name") == "search_path":
            return True
    return False


def _roles_stmt(s, node: dict, tag: str):
    if tag == "CreateRoleStmt":
        attrs = _attrs(node.get("options"))
        words = attrs.split()
        power = [w for w in ("SUPERUSER", "BYPASSRLS", "CREATEROLE", "REPLICATION") if w in words]
        extra = f" ({', '.join(power)}: beyond ordinary privilege checks)" if power else ""
        yield s.finding(RULE, f"CREATE ROLE {node.get('role', '?')}{' ' + attrs if attrs else ''}: a new role "
                              f"that can log in or be granted access{extra}")
    elif tag == "AlterRoleStmt":
        role = _role(node.get("role"))
        opts = node.get("options") or ()
        if any((o.get("DefElem") or {}).get("defname") == "rolemembers" for o in opts):
            members = [_roles(((o["DefElem"].get("arg") or {}).get("List") or {}).get("items"))
                       for o in opts if (o.get("DefElem") or {}).get("defname") == "rolemembers"]
            verb = "gain" if node.get("action", 1) == 1 else "lose"
            yield s.finding(RULE, f"ALTER GROUP {role}: {', '.join(members)} {verb} the privileges of {role}")
            return
        yield s.finding(RULE, f"ALTER ROLE {role} {_attrs(opts)}: changes what {role} may do (log in, create "
                              "objects, bypass row-level security, ...)")
    elif tag == "AlterRoleSetStmt":
        role = _role(node.get("role")) if node.get("role") else "ALL"
        vs = node.get("setstmt") or {}
        kind = vs.get("kind", "")
        what = "RESET ALL" if kind == "VAR_RESET_ALL" else f"{'RESET' if kind == 'VAR_RESET' else 'SET'} " \
                                                             f"{vs.get('name', '?')}"
        db = f" IN DATABASE {node['database']}" if node.get("database") else ""
        yield s.finding(RULE, f"ALTER ROLE {role}{db} {what}: changes the setting for every new session of "
                              f"{'every role' if role == 'ALL' else role}")


def check(s):
    node, tag = s.node, s.tag
    if tag == "GrantStmt":
        yield from _grant(s, node)
    elif tag == "GrantRoleStmt":
        yield from _grant_role(s, node)
    elif tag == "AlterDefaultPrivilegesStmt":
        yield from _default_privileges(s, node)
    elif tag in ("CreatePolicyStmt", "AlterPolicyStmt"):
        yield from _policy(s, node, tag == "CreatePolicyStmt")
    elif tag == "DropStmt":
        if node.get("removeType") == "OBJECT_POLICY":
            yield from _drop_policy(s, node)
    elif tag == "AlterTableStmt":
        yield from _alter_table(s, node)
    elif tag == "AlterFunctionStmt":
        yield from _alter_function(s, node)
    elif tag == "CreateFunctionStmt":
        yield from _create_function(s, node)
    else:
        yield from _roles_stmt(s, node, tag)


RULE = Rule(
    code="B601", name="security-change", severity="warning", category="compatibility",
    summary="the migration changes privileges, roles, row-level security or SECURITY DEFINER code",
    why="Privileges, role attributes, row-level security policies and SECURITY DEFINER functions decide who may "
        "read and write which rows. A migration that changes them widens or narrows access for every session at "
        "commit: a GRANT or a dropped policy can expose data, a REVOKE or an enabled policy can make running code "
        "fail with \"permission denied\" or silently see fewer rows, and a SECURITY DEFINER function without a "
        "pinned search_path can be hijacked by its callers.",
    fix="Have someone responsible for access control review the statement, then suppress the finding with the "
        "reviewer and reason (-- bascule:ignore B601 reviewed by ...). Give SECURITY DEFINER functions "
        "SET search_path = pg_catalog, pg_temp (or a fixed schema list) and revoke EXECUTE from PUBLIC.",
    kinds=("GrantStmt", "GrantRoleStmt", "AlterDefaultPrivilegesStmt", "CreatePolicyStmt", "AlterPolicyStmt",
           "DropStmt", "AlterTableStmt", "AlterFunctionStmt", "CreateFunctionStmt", "CreateRoleStmt",
           "AlterRoleStmt", "AlterRoleSetStmt"),
    peers=("squawk ban-revoke", "squawk ban-create-policy", "squawk ban-alter-policy-condition",
           "squawk ban-alter-policy-roles", "squawk ban-drop-policy", "squawk ban-alter-row-level-security",
           "squawk ban-alter-function-options", "squawk ban-alter-view-options", "squawk ban-alter-role-options"),
    default_on=False,
    check=check,
)
