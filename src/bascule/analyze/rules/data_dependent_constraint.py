"""B210 data-dependent-constraint: a change that fails when existing rows violate it (UNIQUE, PRIMARY KEY,
SET NOT NULL, a validated CHECK, a narrowing type change) on a table that existed before the migration.

The message gives the query that finds the offending rows. Expressions (index expressions, partial index
predicates, CHECK conditions) are cut out of the statement's own text with PostgreSQL's lexer, only when
the rule fires."""

from __future__ import annotations

from pglast import parser
from pglast.keywords import RESERVED_KEYWORDS, TYPE_FUNC_NAME_KEYWORDS

from bascule.analyze.facts import INT_WIDTH, names_of, relkey
from bascule.analyze.model import Rule
from bascule.analyze.rules.narrowing_type_change import narrowed

_QUOTE = RESERVED_KEYWORDS | TYPE_FUNC_NAME_KEYWORDS
_INT_RANGE = {2: (-32768, 32767), 4: (-2147483648, 2147483647)}
_INT_DIGITS = {2: 5, 4: 10, 8: 19}
_INVALID = "; a failed CONCURRENTLY build leaves an INVALID index behind"


def ident(name: str) -> str:
    """An identifier as it must be written in SQL (quoted unless plain lower case and not reserved)."""
    if name.isascii() and name.replace("$", "").isidentifier() and name[0] != "$" and name == name.lower() \
            and name not in _QUOTE:
        return name
    return '"' + name.replace('"', '""') + '"'


def _rel(rv: dict) -> str:
    name = ident(rv.get("relname", "?"))
    return f"{ident(rv['schemaname'])}.{name}" if rv.get("schemaname") else name


# -- statement text, through the lexer -------------------------------------------------------------

def _tokens(sql: str) -> list:
    try:
        return list(parser.scan(sql))
    except parser.ParseError:
        return []


def _offset(s, location: int | None) -> int:
    """A node location as a character offset in the statement's text."""
    if location is None or location < s.st.node_base:
        return 0
    rel = location - s.st.node_base
    sql = s.st.sql
    return rel if sql.isascii() else len(sql.encode("utf-8")[:rel].decode("utf-8", "ignore"))


def _close(tokens: list, i: int) -> int:
    """Index of the token closing the parenthesis opened at tokens[i]."""
    depth = 0
    for j in range(i, len(tokens)):
        name = tokens[j].name
        if name == "ASCII_40":
            depth += 1
        elif name == "ASCII_41":
            depth -= 1
            if depth == 0:
                return j
    return len(tokens) - 1


def _index_texts(s, tokens: list) -> tuple[list[str], str | None]:
    """(text of each key of CREATE INDEX, text of its WHERE predicate)."""
    sql = s.st.sql
    start = _offset(s, (s.node.get("relation") or {}).get("location"))
    i = next((k for k, t in enumerate(tokens) if t.start >= start and t.name == "ASCII_40"), None)
    if i is None:
        return [], None
    end = _close(tokens, i)
    elems: list[str] = []
    k = i + 1
    while k < end:  # one element: an expression, then COLLATE, opclass, ASC/DESC, NULLS ...
        first = k
        last = None
        while k < end and tokens[k].name != "ASCII_44":
            if tokens[k].name == "ASCII_40":
                k = _close(tokens, k)
                if last is None:
                    last = k  # `lower(b)` or `(a + b)`: the expression ends with its first group
            k += 1
        last = last if last is not None else first
        elems.append(sql[tokens[first].start: tokens[last].end + 1])
        k += 1
    where = next((t for t in tokens[end + 1:] if t.name == "WHERE"), None)
    pred = sql[where.end + 1:].strip().rstrip(";").strip() if where is not None else None
    return elems, pred or None


def _check_text(s, con: dict) -> str | None:
    tokens = _tokens(s.st.sql)
    start = _offset(s, con.get("location"))
    i = next((k for k, t in enumerate(tokens) if t.start >= start and t.name == "CHECK"), None)
    if i is None or i + 1 >= len(tokens) or tokens[i + 1].name != "ASCII_40":
        return None
    j = _close(tokens, i + 1)
    return s.st.sql[tokens[i + 1].end + 1: tokens[j].start].strip() or None


# -- query shapes ------------------------------------------------------------------------------------

def _duplicates(table: str, keys: list[str], pred: str | None, not_null: list[str]) -> str:
    conds = [f"({pred})"] if pred else []
    conds += [f"{k} IS NOT NULL" for k in not_null]
    where = f" WHERE {' AND '.join(conds)}" if conds else ""
    cols = ", ".join(keys)
    return f"SELECT {cols}, count(*) FROM {table}{where} GROUP BY {cols} HAVING count(*) > 1"


def _nulls(table: str, cols: list[str]) -> str:
    return f"SELECT count(*) FROM {table} WHERE {' OR '.join(f'{c} IS NULL' for c in cols)}"


def _misfits(col: str, old, new) -> str | None:
    """The WHERE condition of the values that make ALTER COLUMN TYPE old → new fail (None: none fail)."""
    n, o = new.name, old.name
    if n in INT_WIDTH and INT_WIDTH[n] in _INT_RANGE and (o in INT_WIDTH or o in ("numeric", "float4", "float8")):
        lo, hi = _INT_RANGE[INT_WIDTH[n]]
        return f"{col} NOT BETWEEN {lo} AND {hi}"
    if n in ("varchar", "bpchar") and new.mods and isinstance(new.mods[0], int):
        return f"length({col}) > {new.mods[0]}"
    if n == "numeric" and new.mods and all(isinstance(m, int) for m in new.mods):
        digits = new.mods[0] - (new.mods[1] if len(new.mods) > 1 else 0)
        if o in INT_WIDTH and digits >= _INT_DIGITS[INT_WIDTH[o]]:
            return None
        if o == "numeric" and old.mods and all(isinstance(m, int) for m in old.mods) \
                and digits >= old.mods[0] - (old.mods[1] if len(old.mods) > 1 else 0):
            return None  # only the scale shrinks: values are rounded, none fails
        return f"abs({col}) >= 1e{digits}"
    if n == "float4" and o in ("float8", "numeric"):
        return f"abs({col}) > 3.4e38"
    return None


def _plain_using(using, col: str) -> bool:
    while isinstance(using, dict) and "TypeCast" in using:
        using = using["TypeCast"].get("arg")
    return names_of(((using or {}).get("ColumnRef") or {}).get("fields")) == [col]


# -- the rule --------------------------------------------------------------------------------------------

def _index(s, table: str):
    node = s.node
    if not node.get("unique"):
        return
    tokens = _tokens(s.st.sql)
    texts, pred = _index_texts(s, tokens) if tokens else ([], None)
    keys, maybe_null = [], []
    for n, p in enumerate(node.get("indexParams") or ()):
        el = p.get("IndexElem") or {}
        if el.get("name"):
            key = ident(el["name"])
            if s.known.column_not_null(table, el["name"]) is not True:
                maybe_null.append(key)
        else:
            key = texts[n] if n < len(texts) else "<expression>"
            maybe_null.append(key)
        keys.append(key)
    if node.get("whereClause") is not None and pred is None:
        pred = "<the index predicate>"
    name = node.get("idxname")
    query = _duplicates(_rel(node["relation"]), keys, pred, [] if node.get("nulls_not_distinct") else maybe_null)
    yield s.finding(RULE, f"CREATE UNIQUE INDEX{' ' + name if name else ''} on {table} fails if {table} already "
                          f"holds duplicate ({', '.join(keys)}) values{_INVALID if node.get('concurrent') else ''}: "
                          f"check first: {query}", table=table, location=node.get("location"))


def _constraint(s, table: str, con: dict):
    ct = con.get("contype")
    if ct not in ("CONSTR_UNIQUE", "CONSTR_PRIMARY", "CONSTR_CHECK", "CONSTR_NOTNULL"):
        return
    loc = con.get("location")
    qtable = _rel(s.node["relation"])
    if ct in ("CONSTR_UNIQUE", "CONSTR_PRIMARY"):
        pk = ct == "CONSTR_PRIMARY"
        what = "PRIMARY KEY" if pk else "UNIQUE"
        if con.get("indexname"):
            if pk:  # the index is unique already; the primary key still makes its columns NOT NULL
                yield s.finding(RULE, f"ADD PRIMARY KEY USING INDEX {con['indexname']} on {table} fails if a "
                                      f"column of the index holds NULL: check first: SELECT count(*) FROM {qtable} "
                                      "WHERE <index column> IS NULL", table=table, location=loc)
            return
        cols = names_of(con.get("keys"))
        keys = [ident(c) for c in cols]
        nullable = [ident(c) for c in cols if s.known.column_not_null(table, c) is not True]
        checks = [_duplicates(qtable, keys, None, [] if pk or con.get("nulls_not_distinct") else nullable)]
        if pk and nullable:
            checks.append(_nulls(qtable, nullable))
        fails = f"duplicate ({', '.join(keys)}) values" + (" or NULLs" if pk and nullable else "")
        yield s.finding(RULE, f"ADD {what} ({', '.join(keys)}) on {table} fails if {table} already holds {fails}: "
                              f"check first: {'; '.join(checks)}", table=table, location=loc)
    elif ct == "CONSTR_CHECK" and not con.get("skip_validation"):
        expr = _check_text(s, con) or "<the condition>"
        label = f" {con['conname']}" if con.get("conname") else ""
        yield s.finding(RULE, f"ADD CHECK{label} on {table} fails if any existing row violates it: check first: "
                              f"SELECT count(*) FROM {qtable} WHERE NOT ({expr})", table=table, location=loc)
    elif ct == "CONSTR_NOTNULL" and not con.get("skip_validation"):  # PostgreSQL 18: ADD CONSTRAINT ... NOT NULL
        for col in names_of(con.get("keys")):
            yield from _set_not_null(s, table, col, loc)


def _set_not_null(s, table: str, col: str, loc: int | None = None):
    k = s.known
    if k.column_not_null(table, col) or k.has_not_null_proof(table, col):
        return  # already NOT NULL, or a validated CHECK (col IS NOT NULL) proves there is no NULL
    c = k.column(table, col)
    if c is not None and c.has_default and k.is_new_column(table, col):
        return  # added by this migration with a default: every existing row got it
    yield s.finding(RULE, f"SET NOT NULL on {table}.{col} fails if a row holds NULL in {col}: check first: "
                          f"{_nulls(_rel(s.node['relation']), [ident(col)])}", table=table, location=loc)


def check(s):
    node = s.node
    table = relkey(node.get("relation"))
    if not table or s.is_new(table):
        return
    if s.tag == "IndexStmt":
        yield from _index(s, table)
        return
    if node.get("objtype", "OBJECT_TABLE") not in ("OBJECT_TABLE", "OBJECT_FOREIGN_TABLE"):
        return
    for cmd in node.get("cmds") or ():
        c = cmd.get("AlterTableCmd") or {}
        sub = c.get("subtype")
        if sub == "AT_AddConstraint":
            yield from _constraint(s, table, (c.get("def") or {}).get("Constraint") or {})
        elif sub == "AT_SetNotNull":
            yield from _set_not_null(s, table, c.get("name"))
    using = {}
    for cmd in node.get("cmds") or ():
        c = cmd.get("AlterTableCmd") or {}
        if c.get("subtype") == "AT_AlterColumnType":
            using[c.get("name")] = ((c.get("def") or {}).get("ColumnDef") or {}).get("raw_default")
    if not using:
        return
    for col, old, new, loc in narrowed(s, table):
        if using.get(col) is not None and not _plain_using(using[col], col):
            continue  # USING converts the values: what fails depends on the expression
        cond = _misfits(ident(col), old, new)
        if cond is not None:
            yield s.finding(RULE, f"ALTER COLUMN {col} TYPE {new} on {table} fails if a value of {col} does not "
                                  f"fit {new}: check first: SELECT count(*) FROM {_rel(node['relation'])} WHERE {cond}",
                            table=table, location=loc)


RULE = Rule(
    code="B210", name="data-dependent-constraint", severity="warning", category="compatibility",
    summary="a constraint or type change that fails if existing rows violate it",
    why="Adding a UNIQUE index or constraint, a primary key, SET NOT NULL, a validated CHECK or a narrower type "
        "makes PostgreSQL check every existing row, and one violating row makes the statement fail: the "
        "migration rolls back after the time spent scanning, or a CREATE UNIQUE INDEX CONCURRENTLY leaves an "
        "INVALID index that still slows writes. Whether it succeeds depends on the data, not on the SQL.",
    fix="Run the query shown against production data before deploying (duplicates: SELECT cols, count(*) ... "
        "GROUP BY cols HAVING count(*) > 1; NULLs: SELECT count(*) ... WHERE col IS NULL), clean up what it "
        "finds, and deploy code that no longer writes such rows first. Suppress the finding with the result as "
        "the reason.",
    alter_subtypes=frozenset({"AT_AddConstraint", "AT_SetNotNull", "AT_AlterColumnType", "AT_AddColumn"}),
    kinds=("IndexStmt", "AlterTableStmt"),
    peers=("Atlas MF101", "Atlas MF103", "Atlas MF104"),
    check=check,
)
