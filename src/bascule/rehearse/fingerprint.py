"""Schema fingerprints: prove that a migration's down restores exactly what its up changed.

`fingerprint(conn)` reads the system catalogs (plain SELECTs, nothing else) and returns a
JSON-serialisable dict describing the schema; `diff(before, after)` lists every difference as a
`Difference` with a precise message ("index users_email_idx on public.users is missing after down").

What is described (outside pg_catalog, information_schema, pg_toast, temporary schemas and
bascule's own schema `bascule`; objects that belong to an extension are covered by the extension):

  schemas             owner, grants, comment
  extensions          version, schema (database-wide: listed whatever `schemas` says)
  relations           tables, partitioned tables, views, materialized views, foreign tables:
                      kind, persistence, partition key / parent / bound, inheritance, storage options,
                      row level security, replica identity, view definition, owner, grants, comment, and
                        columns      type, default, NOT NULL (and NOT VALID on 18), identity (with its
                                     sequence options), generated expression, collation, storage,
                                     compression, column grants, comment
                        constraints  definition (pg_get_constraintdef), validity, comment
                        indexes      definition (pg_get_indexdef), valid, ready, clustered, replica
                                     identity, the constraint it backs, comment
                        triggers     definition (pg_get_triggerdef), enabled state, comment
                        policies, rules, extended statistics
  sequences           type, start, increment, min, max, cache, cycle, OWNED BY, owner, grants, comment
                      (never last_value; identity sequences are described on their column)
  functions           functions, procedures, aggregates keyed by signature: pg_get_functiondef,
                      owner, grants, comment
  types               enums (labels in order), domains (base type, default, NOT NULL, collation,
                      constraints), composite types (attributes), range types
  default_privileges  ALTER DEFAULT PRIVILEGES entries

Nothing is keyed by OID: an object dropped and recreated identically fingerprints identically.
Names are SQL identifiers as quote_ident() writes them, qualified by schema. Columns are keyed by
name and listed in ordinal order; dropped columns (gaps in attnum) are invisible. Column order is
kept separately (`column_order`) and a change in it is the distinct, lower-severity kind
"column order". Grants are lists of "PRIVILEGE to role" (grantors are not compared), with the
default privileges filled in where the ACL is NULL, so GRANT followed by REVOKE compares equal
to never granting.

Deparsed text (types, defaults, definitions) is produced with search_path = pg_catalog (so every
name outside pg_catalog is schema-qualified, whatever the caller's search_path) and with pinned
output settings (UTC, ISO dates, hex bytea), inside a transaction that is rolled back: when the
connection is idle it is a REPEATABLE READ READ ONLY transaction, otherwise a savepoint in the
caller's transaction.

Not described: roles and database-level settings, tablespaces, event triggers, publications and
subscriptions, foreign servers, collations, operators, casts, security labels, grantors.
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass

from psycopg.pq import TransactionStatus
from psycopg.rows import tuple_row

FORMAT = 1
EXCLUDED_SCHEMAS = ["pg_catalog", "information_schema", "pg_toast", "bascule"]

SESSION_SETTINGS = {"search_path": "pg_catalog", "TimeZone": "UTC", "DateStyle": "ISO, YMD",
                    "IntervalStyle": "postgres", "extra_float_digits": "1", "bytea_output": "hex"}

RELKINDS = {"r": "table", "p": "partitioned table", "v": "view", "m": "materialized view", "f": "foreign table"}
PERSISTENCE = {"p": "permanent", "u": "unlogged", "t": "temporary"}
REPLICA_IDENTITY = {"d": "default", "n": "nothing", "f": "full", "i": "index"}
CONTYPES = {"p": "primary key", "u": "unique", "f": "foreign key", "c": "check", "x": "exclusion"}
PROKINDS = {"f": "function", "p": "procedure", "a": "aggregate", "w": "window function"}
TYPTYPES = {"e": "enum", "d": "domain", "c": "composite type", "r": "range type"}
TRIGGER_ENABLED = {"O": "enabled", "D": "disabled", "R": "enabled on replica only", "A": "enabled always"}
RULE_ENABLED = TRIGGER_ENABLED
STORAGE = {"p": "plain", "e": "external", "m": "main", "x": "extended"}
COMPRESSION = {"p": "pglz", "l": "lz4"}
POLICY_COMMANDS = {"*": "ALL", "r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE"}
DEFACL_OBJTYPES = {"r": "tables", "S": "sequences", "f": "functions", "T": "types", "n": "schemas",
                   "L": "large objects"}


# --------------------------------------------------------------------------- SQL helpers
def _acl(expr: str) -> str:
    """An aclitem[] expression as a sorted text[] of 'PRIVILEGE to role [with grant option]'."""
    # aclexplode() rejects an empty array (no dimensions), which is what REVOKE ALL can leave behind.
    return (f"CASE WHEN coalesce(cardinality({expr}), 0) = 0 THEN '{{}}'::text[] ELSE "
            "(SELECT array_agg(DISTINCT g.p ORDER BY g.p) FROM ("
            "SELECT x.privilege_type || ' to ' || CASE WHEN x.grantee = 0 THEN 'PUBLIC' "
            "ELSE quote_ident(pg_get_userbyid(x.grantee)) END || "
            "CASE WHEN x.is_grantable THEN ' with grant option' ELSE '' END AS p "
            f"FROM aclexplode({expr}) AS x) AS g) END")


def _comment(catalog: str, oid: str, subid: str = "0") -> str:
    return (f"(SELECT d.description FROM pg_description d WHERE d.classoid = '{catalog}'::regclass "
            f"AND d.objoid = {oid} AND d.objsubid = {subid})")


def _not_member(catalog: str, oid: str, deptypes: str = "'e'") -> str:
    """Not an object that belongs to an extension (or, for deptypes 'i', to another object)."""
    return (f"NOT EXISTS (SELECT 1 FROM pg_depend dep WHERE dep.classid = '{catalog}'::regclass "
            f"AND dep.objid = {oid} AND dep.deptype IN ({deptypes}))")


def _qname(nsp: str, name: str) -> str:
    return f"quote_ident({nsp}) || '.' || quote_ident({name})"


def _collation(oid: str, unless: str) -> str:
    return (f"(SELECT CASE WHEN cn.nspname = 'pg_catalog' THEN quote_ident(co.collname) "
            f"ELSE {_qname('cn.nspname', 'co.collname')} END FROM pg_collation co "
            f"JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = {oid} AND {oid} <> {unless})")


RELS = f"""
    SELECT c.oid, {_qname('n.nspname', 'c.relname')} AS qname
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = ANY(%(schemas)s) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
       AND {_not_member('pg_class', 'c.oid')}"""

Q_SCHEMAS_ALL = f"""
    SELECT n.nspname FROM pg_namespace n
     WHERE n.nspname <> ALL(%(excluded)s) AND n.nspname !~ '^pg_(toast_)?temp_'
       AND {_not_member('pg_namespace', 'n.oid')}"""

Q_SCHEMAS = f"""
    SELECT quote_ident(n.nspname), pg_get_userbyid(n.nspowner),
           {_acl("coalesce(n.nspacl, acldefault('n', n.nspowner))")}, {_comment('pg_namespace', 'n.oid')}
      FROM pg_namespace n WHERE n.nspname = ANY(%(schemas)s)"""

Q_EXTENSIONS = """
    SELECT quote_ident(e.extname), e.extversion, quote_ident(n.nspname)
      FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"""

Q_RELATIONS = f"""
    WITH rels AS ({RELS})
    SELECT r.qname, c.relkind, c.relpersistence, pg_get_userbyid(c.relowner),
           {_acl("coalesce(c.relacl, acldefault('r', c.relowner))")}, {_comment('pg_class', 'c.oid')},
           CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,
           c.relispartition, pg_get_expr(c.relpartbound, c.oid),
           (SELECT array_agg({_qname('pn.nspname', 'pc.relname')} ORDER BY i.inhseqno)
              FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent
              JOIN pg_namespace pn ON pn.oid = pc.relnamespace WHERE i.inhrelid = c.oid),
           c.reloptions, c.relrowsecurity, c.relforcerowsecurity, c.relreplident,
           CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid, true) END,
           (SELECT quote_ident(s.srvname) FROM pg_foreign_table ft JOIN pg_foreign_server s ON s.oid = ft.ftserver
             WHERE ft.ftrelid = c.oid),
           (SELECT ft.ftoptions FROM pg_foreign_table ft WHERE ft.ftrelid = c.oid)
      FROM rels r JOIN pg_class c ON c.oid = r.oid"""

Q_COLUMNS = f"""
    WITH rels AS ({RELS})
    SELECT r.qname, quote_ident(a.attname), format_type(a.atttypid, a.atttypmod),
           CASE WHEN a.attgenerated = '' THEN pg_get_expr(ad.adbin, ad.adrelid) END,
           CASE WHEN a.attgenerated <> '' THEN pg_get_expr(ad.adbin, ad.adrelid) END,
           a.attgenerated, a.attnotnull,
           EXISTS (SELECT 1 FROM pg_constraint nn WHERE nn.conrelid = a.attrelid AND nn.contype = 'n'
                      AND NOT nn.convalidated AND nn.conkey[1] = a.attnum),
           a.attidentity,
           (SELECT format('AS %%s START WITH %%s INCREMENT BY %%s MINVALUE %%s MAXVALUE %%s CACHE %%s %%s',
                          format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, s.seqmin, s.seqmax,
                          s.seqcache, CASE WHEN s.seqcycle THEN 'CYCLE' ELSE 'NO CYCLE' END)
              FROM pg_depend d JOIN pg_sequence s ON s.seqrelid = d.objid
             WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
               AND d.refobjid = a.attrelid AND d.refobjsubid = a.attnum AND d.deptype = 'i'),
           {_collation('a.attcollation', 't.typcollation')},
           CASE WHEN a.attstorage <> t.typstorage THEN a.attstorage::text END,
           nullif(a.attcompression::text, ''),
           {_acl("a.attacl")}, {_comment('pg_class', 'a.attrelid', 'a.attnum')}
      FROM rels r JOIN pg_attribute a ON a.attrelid = r.oid
      JOIN pg_type t ON t.oid = a.atttypid
      LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
     WHERE a.attnum > 0 AND NOT a.attisdropped
     ORDER BY r.qname, a.attnum"""

Q_CONSTRAINTS = f"""
    WITH rels AS ({RELS})
    SELECT r.qname, quote_ident(co.conname), co.contype, pg_get_constraintdef(co.oid), co.convalidated,
           {_comment('pg_constraint', 'co.oid')}
      FROM rels r JOIN pg_constraint co ON co.conrelid = r.oid
     WHERE co.contype NOT IN ('n', 't')"""

Q_INDEXES = f"""
    WITH rels AS ({RELS})
    SELECT r.qname, quote_ident(ic.relname), pg_get_indexdef(i.indexrelid), i.indisvalid, i.indisready,
           i.indisclustered, i.indisreplident,
           (SELECT quote_ident(co.conname) FROM pg_constraint co WHERE co.conindid = i.indexrelid
               AND co.conrelid = i.indrelid AND co.contype IN ('p', 'u', 'x')),
           {_comment('pg_class', 'i.indexrelid')}
      FROM rels r JOIN pg_index i ON i.indrelid = r.oid JOIN pg_class ic ON ic.oid = i.indexrelid"""

Q_TRIGGERS = f"""
    WITH rels AS ({RELS})
    SELECT r.qname, quote_ident(t.tgname), pg_get_triggerdef(t.oid), t.tgenabled, {_comment('pg_trigger', 't.oid')}
      FROM rels r JOIN pg_trigger t ON t.tgrelid = r.oid WHERE NOT t.tgisinternal"""

Q_POLICIES = f"""
    WITH rels AS ({RELS})
    SELECT r.qname, quote_ident(p.polname), p.polcmd, p.polpermissive,
           (SELECT array_agg(CASE WHEN x = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(x)) END ORDER BY 1)
              FROM unnest(p.polroles) AS x),
           pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid),
           {_comment('pg_policy', 'p.oid')}
      FROM rels r JOIN pg_policy p ON p.polrelid = r.oid"""

Q_RULES = f"""
    WITH rels AS ({RELS})
    SELECT r.qname, quote_ident(w.rulename), pg_get_ruledef(w.oid), w.ev_enabled, {_comment('pg_rewrite', 'w.oid')}
      FROM rels r JOIN pg_rewrite w ON w.ev_class = r.oid WHERE w.rulename <> '_RETURN'"""

Q_STATISTICS = f"""
    WITH rels AS ({RELS})
    SELECT r.qname, {_qname('sn.nspname', 's.stxname')}, pg_get_statisticsobjdef(s.oid),
           pg_get_userbyid(s.stxowner), {_comment('pg_statistic_ext', 's.oid')}
      FROM rels r JOIN pg_statistic_ext s ON s.stxrelid = r.oid
      JOIN pg_namespace sn ON sn.oid = s.stxnamespace"""

Q_SEQUENCES = f"""
    SELECT {_qname('n.nspname', 'c.relname')}, format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement,
           s.seqmin, s.seqmax, s.seqcache, s.seqcycle, c.relpersistence,
           (SELECT {_qname('tn.nspname', 'tc.relname')} || '.' || quote_ident(ta.attname)
              FROM pg_depend d JOIN pg_class tc ON tc.oid = d.refobjid
              JOIN pg_namespace tn ON tn.oid = tc.relnamespace
              JOIN pg_attribute ta ON ta.attrelid = d.refobjid AND ta.attnum = d.refobjsubid
             WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass
               AND d.deptype = 'a' AND d.refobjsubid > 0),
           pg_get_userbyid(c.relowner), {_acl("coalesce(c.relacl, acldefault('s', c.relowner))")},
           {_comment('pg_class', 'c.oid')}
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_sequence s ON s.seqrelid = c.oid
     WHERE c.relkind = 'S' AND n.nspname = ANY(%(schemas)s) AND {_not_member('pg_class', 'c.oid', "'e', 'i'")}"""

Q_FUNCTIONS = f"""
    SELECT {_qname('n.nspname', 'p.proname')} || '(' || pg_get_function_identity_arguments(p.oid) || ')',
           p.prokind,
           CASE WHEN p.prokind = 'a' THEN
                concat_ws(', ', 'RETURNS ' || pg_get_function_result(p.oid),
                          'SFUNC = ' || ag.aggtransfn::regprocedure::text,
                          'STYPE = ' || format_type(ag.aggtranstype, NULL),
                          'FINALFUNC = ' || nullif(ag.aggfinalfn::oid, 0)::regprocedure::text,
                          'COMBINEFUNC = ' || nullif(ag.aggcombinefn::oid, 0)::regprocedure::text,
                          'INITCOND = ' || quote_literal(ag.agginitval),
                          'SORTOP = ' || nullif(ag.aggsortop, 0)::regoperator::text,
                          'KIND = ' || ag.aggkind::text)
                ELSE pg_get_functiondef(p.oid) END,
           pg_get_userbyid(p.proowner), {_acl("coalesce(p.proacl, acldefault('f', p.proowner))")},
           {_comment('pg_proc', 'p.oid')}
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      LEFT JOIN pg_aggregate ag ON ag.aggfnoid = p.oid
     WHERE n.nspname = ANY(%(schemas)s) AND {_not_member('pg_proc', 'p.oid', "'e', 'i'")}"""

TYPES = f"""
    SELECT t.oid, {_qname('n.nspname', 't.typname')} AS qname, t.typtype
      FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
     WHERE n.nspname = ANY(%(schemas)s) AND t.typtype IN ('e', 'd', 'c', 'r')
       AND (t.typtype <> 'c' OR (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c')
       AND {_not_member('pg_type', 't.oid')}"""

Q_TYPES = f"""
    WITH types AS ({TYPES})
    SELECT ty.qname, t.typtype, pg_get_userbyid(t.typowner),
           {_acl("coalesce(t.typacl, acldefault('T', t.typowner))")}, {_comment('pg_type', 't.oid')},
           CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END,
           CASE WHEN t.typtype = 'd' THEN pg_get_expr(t.typdefaultbin, 0) END,
           t.typnotnull,
           CASE WHEN t.typtype = 'd' THEN {_collation('t.typcollation', 'bt.typcollation')} END,
           CASE WHEN t.typtype = 'e' THEN
                (SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid)
           END,
           CASE WHEN t.typtype = 'c' THEN
                (SELECT array_agg(quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod)
                                  || coalesce(' COLLATE ' || {_collation('a.attcollation', 'at.typcollation')}, '')
                                  ORDER BY a.attnum)
                   FROM pg_attribute a JOIN pg_type at ON at.oid = a.atttypid
                  WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped)
           END,
           (SELECT concat_ws(', ', 'SUBTYPE = ' || format_type(rg.rngsubtype, NULL),
                             'SUBTYPE_OPCLASS = ' || quote_ident(oc.opcname),
                             'COLLATION = ' || {_collation('rg.rngcollation', '0')},
                             'CANONICAL = ' || nullif(rg.rngcanonical::oid, 0)::regprocedure::text,
                             'SUBTYPE_DIFF = ' || nullif(rg.rngsubdiff::oid, 0)::regprocedure::text)
              FROM pg_range rg JOIN pg_opclass oc ON oc.oid = rg.rngsubopc WHERE rg.rngtypid = t.oid)
      FROM types ty JOIN pg_type t ON t.oid = ty.oid
      LEFT JOIN pg_type bt ON bt.oid = t.typbasetype"""

Q_DOMAIN_CONSTRAINTS = f"""
    WITH types AS ({TYPES})
    SELECT ty.qname, quote_ident(co.conname), pg_get_constraintdef(co.oid), co.convalidated,
           {_comment('pg_constraint', 'co.oid')}
      FROM types ty JOIN pg_constraint co ON co.contypid = ty.oid WHERE co.contype NOT IN ('n')"""

Q_DEFAULT_PRIVILEGES = f"""
    SELECT quote_ident(pg_get_userbyid(da.defaclrole)), quote_ident(n.nspname), da.defaclobjtype,
           {_acl('da.defaclacl')}
      FROM pg_default_acl da LEFT JOIN pg_namespace n ON n.oid = da.defaclnamespace
     WHERE da.defaclnamespace = 0 OR n.nspname = ANY(%(schemas)s)"""


# --------------------------------------------------------------------------- fingerprint
def fingerprint(conn, schemas: list[str] | None = None) -> dict:
    """Describe the schema of the database `conn` is connected to (see the module docstring).

    `schemas` limits the description to those schemas (extensions are always included);
    by default every schema except the system ones and bascule's own. Reads the catalogs only.
    """
    outermost = conn.info.transaction_status == TransactionStatus.IDLE
    with conn.transaction(force_rollback=True), conn.cursor(row_factory=tuple_row) as cur:
        if outermost:
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        for name, value in SESSION_SETTINGS.items():
            cur.execute("SELECT set_config(%s, %s, true)", (name, value))
        if schemas is None:
            schemas = sorted(r[0] for r in cur.execute(Q_SCHEMAS_ALL, {"excluded": EXCLUDED_SCHEMAS}))
        return _read(cur, {"schemas": list(schemas)})


def _read(cur, params: dict) -> dict:
    def rows(q: str):
        return cur.execute(q, params).fetchall()

    fp: dict = {"format": FORMAT}
    fp["schemas"] = {name: {"owner": owner, "grants": grants, "comment": comment}
                     for name, owner, grants, comment in rows(Q_SCHEMAS)}
    fp["extensions"] = {name: {"version": version, "schema": schema} for name, version, schema in rows(Q_EXTENSIONS)}

    relations: dict = {}
    for (name, kind, persistence, owner, grants, comment, partkey, is_partition, bound, parents, options,
         rls, force_rls, replident, viewdef, server, ftoptions) in rows(Q_RELATIONS):
        rel: dict = {"kind": RELKINDS[kind], "persistence": PERSISTENCE.get(persistence, persistence)}
        if kind in ("r", "p", "f"):
            rel |= {"partition_key": partkey,
                    "partition_of": parents[0] if is_partition and parents else None,
                    "partition_bound": bound,
                    "inherits": [] if is_partition else (parents or []),
                    "row_security": rls, "force_row_security": force_rls}
        if kind in ("r", "p", "m"):
            rel["replica_identity"] = REPLICA_IDENTITY.get(replident, replident)
        if kind in ("v", "m"):
            rel["definition"] = viewdef
        if kind == "f":
            rel |= {"server": server, "server_options": sorted(ftoptions or [])}
        rel |= {"options": sorted(options or []), "owner": owner, "grants": grants, "comment": comment,
                "columns": {}, "column_order": [], "constraints": {}, "indexes": {}, "triggers": {},
                "policies": {}, "rules": {}, "statistics": {}}
        relations[name] = rel

    for (rel, col, typ, default, genexpr, generated, not_null, not_valid, identity, identity_seq, collation,
         storage, compression, grants, comment) in rows(Q_COLUMNS):
        if identity:
            identity = (f"GENERATED {'ALWAYS' if identity == 'a' else 'BY DEFAULT'} AS IDENTITY"
                        + (f" ({identity_seq})" if identity_seq else ""))
        if generated:
            genexpr = f"GENERATED ALWAYS AS ({genexpr}) {'STORED' if generated == 's' else 'VIRTUAL'}"
        relations[rel]["columns"][col] = {
            "type": typ, "default": default, "not_null": "not valid" if not_null and not_valid else not_null,
            "identity": identity or None, "generated": genexpr, "collation": collation,
            "storage": STORAGE.get(storage, storage), "compression": COMPRESSION.get(compression, compression),
            "grants": grants, "comment": comment}
        relations[rel]["column_order"].append(col)

    for rel, name, contype, definition, valid, comment in rows(Q_CONSTRAINTS):
        relations[rel]["constraints"][name] = {"type": CONTYPES.get(contype, contype),
                                               "definition": _strip_not_valid(definition),
                                               "valid": valid, "comment": comment}
    for rel, name, definition, valid, ready, clustered, replident, constraint, comment in rows(Q_INDEXES):
        relations[rel]["indexes"][name] = {"definition": definition, "valid": valid, "ready": ready,
                                           "clustered": clustered, "replica_identity": replident,
                                           "constraint": constraint, "comment": comment}
    for rel, name, definition, enabled, comment in rows(Q_TRIGGERS):
        relations[rel]["triggers"][name] = {"definition": definition,
                                            "enabled": TRIGGER_ENABLED.get(enabled, enabled), "comment": comment}
    for rel, name, cmd, permissive, roles, using, check, comment in rows(Q_POLICIES):
        relations[rel]["policies"][name] = {"command": POLICY_COMMANDS.get(cmd, cmd),
                                            "permissive": permissive, "roles": roles or [],
                                            "using": using, "with_check": check, "comment": comment}
    for rel, name, definition, enabled, comment in rows(Q_RULES):
        relations[rel]["rules"][name] = {"definition": definition, "enabled": RULE_ENABLED.get(enabled, enabled),
                                         "comment": comment}
    for rel, name, definition, owner, comment in rows(Q_STATISTICS):
        relations[rel]["statistics"][name] = {"definition": definition, "owner": owner, "comment": comment}
    for rel in relations.values():
        for key in ("constraints", "indexes", "triggers", "policies", "rules", "statistics"):
            rel[key] = dict(sorted(rel[key].items()))
    fp["relations"] = dict(sorted(relations.items()))

    fp["sequences"] = {
        name: {"type": typ, "start": start, "increment": inc, "min": smin, "max": smax, "cache": cache,
               "cycle": cycle, "persistence": PERSISTENCE.get(persistence, persistence), "owned_by": owned_by,
               "owner": owner, "grants": grants, "comment": comment}
        for name, typ, start, inc, smin, smax, cache, cycle, persistence, owned_by, owner, grants, comment
        in rows(Q_SEQUENCES)}
    fp["functions"] = {
        name: {"kind": PROKINDS.get(kind, kind), "definition": definition, "owner": owner, "grants": grants,
               "comment": comment}
        for name, kind, definition, owner, grants, comment in rows(Q_FUNCTIONS)}

    types: dict = {}
    for (name, typtype, owner, grants, comment, base, default, not_null, collation, labels, attributes,
         rangedef) in rows(Q_TYPES):
        t: dict = {"kind": TYPTYPES[typtype]}
        if typtype == "e":
            t["labels"] = labels or []
        elif typtype == "d":
            t |= {"base_type": base, "default": default, "not_null": not_null, "collation": collation,
                  "constraints": {}}
        elif typtype == "c":
            t["attributes"] = attributes or []
        elif typtype == "r":
            t["definition"] = rangedef
        t |= {"owner": owner, "grants": grants, "comment": comment}
        types[name] = t
    for typ, name, definition, valid, comment in rows(Q_DOMAIN_CONSTRAINTS):
        types[typ]["constraints"][name] = {"definition": _strip_not_valid(definition), "valid": valid,
                                           "comment": comment}
    for t in types.values():
        if "constraints" in t:
            t["constraints"] = dict(sorted(t["constraints"].items()))

    fp["types"] = types
    fp["default_privileges"] = {
        f"{DEFACL_OBJTYPES.get(objtype, objtype)} created by {role}" + (f" in schema {schema}" if schema else ""):
        {"grants": grants}
        for role, schema, objtype, grants in rows(Q_DEFAULT_PRIVILEGES)}
    for key in ("schemas", "extensions", "sequences", "functions", "types", "default_privileges"):
        fp[key] = dict(sorted(fp[key].items()))
    return fp


def _strip_not_valid(definition: str) -> str:
    """Validity is compared on its own; keep it out of the definition so it is reported once."""
    return definition[: -len(" NOT VALID")] if definition.endswith(" NOT VALID") else definition


# --------------------------------------------------------------------------- diff
LOW_SEVERITY = {"column order", "whitespace"}


@dataclass(frozen=True)
class Difference:
    """One way the schema after down differs from the schema before up.

    kind: "missing" (in before, not after), "extra" (in after, not before), "changed" (in both,
    differs; `detail` says how), and two lower-severity kinds (`severity` "warning"): "column order"
    (same columns, another order) and "whitespace" (a definition, in practice a function body,
    that differs only in whitespace).
    object_type: "table", "view", "column", "index", "constraint", "trigger", "enum", "function", ...
    name: the qualified name ("public.users", "public.users.email", "public.f(integer)"); for
    objects that live on a table or domain (index, constraint, trigger, policy, rule, statistics)
    the object's own name, with the qualified table or domain in `parent`.
    """

    kind: str
    object_type: str
    name: str
    detail: str = ""
    parent: str | None = None

    @property
    def severity(self) -> str:
        return "warning" if self.kind in LOW_SEVERITY else "error"

    @property
    def subject(self) -> str:
        return f"{self.object_type} {self.name}" + (f" on {self.parent}" if self.parent else "")

    @property
    def message(self) -> str:
        if self.kind == "missing":
            return f"{self.subject} is missing after down"
        if self.kind == "extra":
            return f"{self.subject} exists after down but did not exist before up"
        if self.kind == "column order":
            return f"{self.subject}: column order changed: {self.detail}"
        return f"{self.subject}: {self.detail}"

    def to_dict(self) -> dict:
        return asdict(self) | {"severity": self.severity, "message": self.message}


SECTIONS = [("schemas", "schema"), ("extensions", "extension"), ("types", "type"), ("sequences", "sequence"),
            ("relations", "table"), ("functions", "function"), ("default_privileges", "default privileges for")]
NESTED = {"columns", "column_order", "constraints", "indexes", "triggers", "policies", "rules", "statistics"}
TABLE_OBJECTS = [("constraints", "constraint"), ("indexes", "index"), ("triggers", "trigger"),
                 ("policies", "policy"), ("rules", "rule"), ("statistics", "statistics")]
LABELS = {"partition_key": "partition key", "partition_of": "partition of", "partition_bound": "partition bound",
          "inherits": "parent tables", "row_security": "row level security",
          "force_row_security": "forced row level security", "replica_identity": "replica identity",
          "server_options": "foreign table options", "options": "storage options", "base_type": "base type",
          "owned_by": "OWNED BY", "with_check": "WITH CHECK expression", "using": "USING expression",
          "generated": "generation expression", "enabled": "state"}
DEFINITIONS = {"definition", "using", "with_check"}


def diff(before: dict, after: dict) -> list[Difference]:
    """Every difference between two fingerprints, schemas first, then types, sequences, relations, ..."""
    out: list[Difference] = []
    for section, default_type in SECTIONS:
        b, a = before.get(section, {}), after.get(section, {})
        for name in _keys(b, a):
            ob, oa = b.get(name), a.get(name)
            if oa is None:
                out.append(Difference("missing", _type_of(ob, default_type), name, _summary(ob)))
            elif ob is None:
                out.append(Difference("extra", _type_of(oa, default_type), name, _summary(oa)))
            else:
                out += _compare(_type_of(oa, default_type), name, ob, oa)
                if section == "relations":
                    out += _diff_relation(name, _type_of(oa, default_type), ob, oa)
                elif "constraints" in ob or "constraints" in oa:
                    out += _diff_members("constraint", ob.get("constraints", {}), oa.get("constraints", {}),
                                         parent=name)
    return out


def _keys(b: dict, a: dict) -> list[str]:
    """Names of both sides, sorted (fingerprints keep their sections sorted)."""
    return sorted(set(b) | set(a))


def _in_order(b: dict, a: dict) -> list[str]:
    """Names of both sides, in before's order, then the new ones in after's order (columns, attributes)."""
    return list(b) + [k for k in a if k not in b]


def _type_of(obj: dict, default: str) -> str:
    return obj.get("kind", default) if isinstance(obj, dict) else default


def _summary(obj) -> str:
    """What a missing or extra object was: its definition, its columns, its type, ..."""
    if not isinstance(obj, dict):
        return ""
    if obj.get("definition"):
        return obj["definition"]
    if obj.get("columns"):
        return "(" + ", ".join(f"{name} {col['type']}" for name, col in obj["columns"].items()) + ")"
    for key in ("type", "base_type", "version", "labels", "attributes"):
        if obj.get(key) not in (None, []):
            return _fmt(obj[key])
    return ""


def _compare(object_type: str, name: str, b: dict, a: dict, parent: str | None = None) -> list[Difference]:
    out = []
    for key in _in_order(b, a):
        if key in NESTED:
            continue
        vb, va = b.get(key), a.get(key)
        if vb != va:
            kind = "whitespace" if key in DEFINITIONS and _whitespace_only(vb, va) else "changed"
            out.append(Difference(kind, object_type, name, _describe(key, vb, va, object_type), parent))
    return out


def _diff_relation(rel: str, kind: str, b: dict, a: dict) -> list[Difference]:
    out: list[Difference] = []
    cb, ca = b.get("columns", {}), a.get("columns", {})
    for col in _in_order(cb, ca):
        qcol = f"{rel}.{col}"
        if col not in ca:
            out.append(Difference("missing", "column", qcol, _fmt(cb[col].get("type"))))
        elif col not in cb:
            out.append(Difference("extra", "column", qcol, _fmt(ca[col].get("type"))))
        else:
            out += _compare("column", qcol, cb[col], ca[col])
    order_b, order_a = b.get("column_order", list(cb)), a.get("column_order", list(ca))
    common_b = [c for c in order_b if c in ca]
    common_a = [c for c in order_a if c in cb]
    if common_b != common_a:
        out.append(Difference("column order", kind, rel,
                              f"was ({', '.join(order_b)}), now ({', '.join(order_a)})"))

    # An index that backs a constraint goes with it: report the constraint once, not both.
    gone = {n for n in b.get("constraints", {}) if n not in a.get("constraints", {})}
    new = {n for n in a.get("constraints", {}) if n not in b.get("constraints", {})}
    for key, object_type in TABLE_OBJECTS:
        out += _diff_members(object_type, b.get(key, {}), a.get(key, {}), parent=rel,
                             skip_missing=gone if key == "indexes" else (),
                             skip_extra=new if key == "indexes" else ())
    return out


def _diff_members(object_type: str, mb: dict, ma: dict, parent: str | None,
                  skip_missing=(), skip_extra=()) -> list[Difference]:
    out: list[Difference] = []
    for name in _keys(mb, ma):
        if name not in ma:
            if mb[name].get("constraint") is None or mb[name]["constraint"] not in skip_missing:
                out.append(Difference("missing", object_type, name, _summary(mb[name]), parent))
        elif name not in mb:
            if ma[name].get("constraint") is None or ma[name]["constraint"] not in skip_extra:
                out.append(Difference("extra", object_type, name, _summary(ma[name]), parent))
        else:
            out += _compare(object_type, name, mb[name], ma[name], parent)
    return out


# --------------------------------------------------------------------------- wording
def _fmt(v) -> str:
    if v is None:
        return "none"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list | tuple):
        return "(" + ", ".join(_fmt(x) for x in v) + ")"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_fmt(x)}" for k, x in v.items()) + "}"
    return str(v)


def _quoted(v) -> str:
    return "none" if v is None else "'" + str(v).replace("'", "''") + "'"


def _describe(key: str, b, a, object_type: str = "") -> str:
    if key == "not_null":
        if a is False:
            return "NOT NULL is missing after down"
        if b is False:
            return "NOT NULL after down, but the column was nullable before up"
        return f"NOT NULL is {'NOT VALID' if a == 'not valid' else 'validated'} after down " \
               f"(was {'NOT VALID' if b == 'not valid' else 'validated'})"
    if key == "valid" and object_type == "index":
        return "is invalid after down (was valid)" if b else "is valid after down (was invalid)"
    if key == "valid":
        return "is NOT VALID after down (was validated)" if b else "is validated after down (was NOT VALID)"
    if key == "ready":
        return "is not ready after down (was ready)" if b else "is ready after down (was not ready)"
    if key in DEFINITIONS:
        return _definition_change(key, b, a)
    if key in ("grants", "roles"):
        return _set_change("grants" if key == "grants" else "roles", b or [], a or [])
    if key == "labels":
        return _labels_change(b or [], a or [])
    if key == "comment":
        return f"comment changed from {_quoted(b)} to {_quoted(a)}"
    return f"{LABELS.get(key, key)} changed from {_fmt(b)} to {_fmt(a)}"


def _whitespace_only(b, a) -> bool:
    return isinstance(b, str) and isinstance(a, str) and b != a and b.split() == a.split()


def _definition_change(key: str, b, a) -> str:
    label = LABELS.get(key, key)
    if _whitespace_only(b, a):
        lb, la = b.splitlines(), a.splitlines()
        where = next((i for i, (x, y) in enumerate(zip(lb, la, strict=False)) if x != y), min(len(lb), len(la)))
        return f"{label} differs in whitespace only, from line {where + 1}"
    if b is None or a is None or ("\n" not in b.strip() and "\n" not in a.strip()):
        return f"{label} changed: {_fmt(b)} -> {_fmt(a)}"
    # Compare lines without their indentation, report them with it stripped, numbered as in `before`.
    lb, la = b.strip().splitlines(), a.strip().splitlines()
    nb, na = [" ".join(line.split()) for line in lb], [" ".join(line.split()) for line in la]
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, nb, na, autojunk=False).get_opcodes():
        if tag != "equal":
            old = " / ".join(nb[i1:i2]) or "(nothing)"
            new = " / ".join(na[j1:j2]) or "(nothing)"
            return f"{label} changed at line {i1 + 1}: {old} -> {new}"
    return f"{label} changed: {_fmt(b)} -> {_fmt(a)}"  # pragma: no cover - the texts differ beyond whitespace


def _set_change(what: str, b: list, a: list) -> str:
    added = [x for x in a if x not in b]
    removed = [x for x in b if x not in a]
    parts = []
    if added:
        parts.append("now also " + ", ".join(added))
    if removed:
        parts.append("no longer " + ", ".join(removed))
    return f"{what} changed: " + ("; ".join(parts) if parts else f"{_fmt(b)} -> {_fmt(a)}")


def _labels_change(b: list, a: list) -> str:
    added = [x for x in a if x not in b]
    removed = [x for x in b if x not in a]
    parts = []
    if added:
        parts.append(", ".join(map(_quoted, added)) + (" is" if len(added) == 1 else " are")
                     + " still present after down")
    if removed:
        parts.append(", ".join(map(_quoted, removed)) + (" is" if len(removed) == 1 else " are")
                     + " missing after down")
    if not parts:
        parts.append("label order changed")
    return (f"labels changed: {'; '.join(parts)} (were {', '.join(map(_quoted, b))}; "
            f"now {', '.join(map(_quoted, a))})")
