"""`bascule lint --fix`: rewrite unsafe statements into their safe, equivalent forms.

Only statements that carry an active (not suppressed) finding of a fixable rule are touched, so
`bascule:ignore` comments and the analyzer's knowledge (a table created in the same migration
has no finding) decide what changes. Everything else in the file stays byte-identical, comments
included. Each rewrite ends in the same schema the original statement produces, constraint and
index names included (an unnamed constraint gets the name PostgreSQL would have chosen):

  B101  CREATE INDEX            → CREATE INDEX CONCURRENTLY (an unnamed index gets its name)
  B102  DROP INDEX              → DROP INDEX CONCURRENTLY (one index, no CASCADE)
  B105  ADD FOREIGN KEY         → ADD CONSTRAINT name FOREIGN KEY ... NOT VALID; VALIDATE CONSTRAINT name
  B106  ADD CHECK               → ADD CONSTRAINT name CHECK (...) NOT VALID; VALIDATE CONSTRAINT name
  B107  SET NOT NULL            → temporary CHECK (col IS NOT NULL) NOT VALID; VALIDATE; SET NOT NULL;
                                  DROP the CHECK (PostgreSQL 12+ skips the scan with the proof)
  B108  ADD UNIQUE/PRIMARY KEY  → CREATE UNIQUE INDEX CONCURRENTLY name; ADD CONSTRAINT name ... USING INDEX
  B112  ADD COLUMN ... DEFAULT volatile()
                                → ADD COLUMN c type, ALTER COLUMN c SET DEFAULT expr (no rewrite); batched
                                  backfill (DO block, COMMIT per batch); NOT NULL the B107 way if it had it

The rewritten statements must not share one transaction (a VALIDATE in the transaction of its
NOT VALID constraint keeps the strong lock to the end; CONCURRENTLY and the backfill's COMMIT
are refused in a transaction block): `FixResult.needs_separate_transactions` says so. Rewrites
that need it are made only where the migration can run statement by statement: its layout can
declare it (native, diesel, dbmate, Flyway), it already does (transaction = "never"), or bascule
runs it so anyway (a statement in it refuses a transaction block: CONCURRENTLY, the backfill's
DO block). golang-migrate, Prisma and plain files have no such switch: there B105/B106/B107 are
left as written, with a note, unless the migration runs statement by statement anyway.
Generated names avoid the names in use (`Names`: the file's, and with `names_before` the earlier
migrations' and the live catalog's), as PostgreSQL's ChooseRelationName/ChooseConstraintName do.
See docs/lint-fix.md.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections import Counter
from collections.abc import Container
from dataclasses import dataclass, field
from pathlib import Path

from bascule.analyze.facts import NEWEST, SERIAL, bare, dropped_names, names_of, volatile
from bascule.analyze.model import Finding

FIXABLE = frozenset({"B101", "B102", "B105", "B106", "B107", "B108", "B112"})
NAMEDATALEN = 64
BACKFILL_PAGES = 1000  # heap pages updated per backfill transaction (PostgreSQL 14+: TID range scans)
BACKFILL_PAGES_OLD = 100  # before 14: pages per batch, as a list of every possible TID on them
_COMMENTS = ("SQL_COMMENT", "C_COMMENT")


@dataclass
class FixResult:
    path: str
    original: str
    fixed: str  # the whole rewritten file text
    changes: list[dict] = field(default_factory=list)  # {"code", "codes", "line", "column", "before", "after"}
    needs_separate_transactions: bool = False
    # a statement in the rewrite refuses a transaction block (CONCURRENTLY, a DO block that COMMITs):
    # bascule runs the migration statement by statement whatever its layout declares
    runs_alone: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.fixed != self.original

    def diff(self) -> str:
        """Unified diff of the rewrite, with git-style a/ and b/ paths."""
        name = self.path.lstrip("/")
        out = []
        for line in difflib.unified_diff(_lines(self.original), _lines(self.fixed), f"a/{name}", f"b/{name}"):
            out.append(line)
            if not line.endswith("\n"):
                out.append("\n\\ No newline at end of file\n")
        return "".join(out)


def _lines(text: str) -> list[str]:
    """Lines with their "\n" (only "\n" ends a line in SQL; "\r" stays part of it)."""
    parts = text.split("\n")
    return [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


class _Skip(Exception):
    """A statement that carries a fixable finding but has a shape --fix does not rewrite."""


@dataclass
class _Part:
    """One statement of a rewrite: generated text, or text kept from the original statement
    (left exactly as written); `comment` is what followed the original's last token."""

    text: str
    comment: str = ""
    original: bool = False


# --------------------------------------------------------------------------- names
_SIMPLE = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")


def _keywords() -> frozenset:
    from pglast.keywords import COL_NAME_KEYWORDS, RESERVED_KEYWORDS, TYPE_FUNC_NAME_KEYWORDS

    return frozenset(RESERVED_KEYWORDS) | frozenset(TYPE_FUNC_NAME_KEYWORDS) | frozenset(COL_NAME_KEYWORDS)


_KW: frozenset | None = None


def quote_ident(name: str) -> str:
    """An identifier as SQL text, double-quoted unless it is lower case and not a keyword
    (PostgreSQL's quote_ident rule: only unreserved keywords stay bare)."""
    global _KW
    if _KW is None:
        _KW = _keywords()
    if name and (name[0].isalpha() or name[0] == "_") and set(name) <= _SIMPLE and name not in _KW:
        return name
    return '"' + name.replace('"', '""') + '"'


def _clip(name: bytes, limit: int) -> bytes:
    """pg_mbcliplen: at most `limit` bytes, never cutting a UTF-8 character."""
    if len(name) <= limit:
        return name
    # a continuation byte just past the cut: the character it belongs to straddles the cut, so it
    # goes; a character that ends exactly at the cut stays whole
    while limit > 0 and (name[limit] & 0xC0) == 0x80:
        limit -= 1
    return name[:limit]


def make_object_name(name1: str, name2: str | None, label: str | None) -> str:
    """PostgreSQL's makeObjectName: name1_name2_label in at most NAMEDATALEN-1 bytes, shortening
    the longer of name1/name2 first; the label is never shortened."""
    b1 = name1.encode()
    b2 = name2.encode() if name2 is not None else None
    overhead = (1 if b2 is not None else 0) + (len(label) + 1 if label else 0)
    avail = NAMEDATALEN - 1 - overhead
    n1, n2 = len(b1), len(b2) if b2 is not None else 0
    while n1 + n2 > avail:
        if n1 > n2:
            n1 -= 1
        else:
            n2 -= 1
    out = _clip(b1, n1)
    if b2 is not None:
        out += b"_" + _clip(b2, n2)
    if label:
        out += b"_" + label.encode()
    return out.decode()


def choose_name(name1: str, name2: str | None, label: str, taken: Container[str]) -> str:
    """ChooseConstraintName / ChooseRelationName: the first of label, label1, label2, ... whose
    name is not taken."""
    n, mod = 0, label
    while True:
        name = make_object_name(name1, name2, mod)
        if name not in taken:
            return name
        n += 1
        mod = f"{label}{n}"


def _name_addition(colnames: list[str]) -> str:
    """ChooseIndexNameAddition / ChooseForeignKeyConstraintNameAddition: names joined by "_",
    stopping once NAMEDATALEN bytes are reached."""
    buf = b""
    for name in colnames:
        if buf:
            buf += b"_"
        buf += name.encode()[:NAMEDATALEN - 1]
        if len(buf) >= NAMEDATALEN:
            break
    return buf.decode("utf-8", "ignore")


_SVF = {"SVFOP_CURRENT_DATE": "current_date", "SVFOP_CURRENT_TIME": "current_time",
        "SVFOP_CURRENT_TIME_N": "current_time", "SVFOP_CURRENT_TIMESTAMP": "current_timestamp",
        "SVFOP_CURRENT_TIMESTAMP_N": "current_timestamp", "SVFOP_LOCALTIME": "localtime",
        "SVFOP_LOCALTIME_N": "localtime", "SVFOP_LOCALTIMESTAMP": "localtimestamp",
        "SVFOP_LOCALTIMESTAMP_N": "localtimestamp", "SVFOP_CURRENT_ROLE": "current_role",
        "SVFOP_CURRENT_USER": "current_user", "SVFOP_USER": "user", "SVFOP_SESSION_USER": "session_user",
        "SVFOP_CURRENT_CATALOG": "current_catalog", "SVFOP_CURRENT_SCHEMA": "current_schema"}
_NAMELESS = frozenset({"A_Const", "A_Expr", "BoolExpr", "NullTest", "BooleanTest", "ParamRef"})


class _Unknown(Exception):
    pass


def _figure_colname(node: dict) -> tuple[int, str | None]:
    """PostgreSQL's FigureColnameInternal on a raw expression: (strength, name). Raises _Unknown
    for node types whose naming bascule does not model (the index then keeps no explicit name)."""
    if not node:
        return 0, None
    (tag, n), = node.items()
    if tag == "ColumnRef":
        names = names_of(n.get("fields"))
        return (2, names[-1]) if names else (0, None)
    if tag == "A_Indirection":
        names = names_of(n.get("indirection"))
        return (2, names[-1]) if names else _figure_colname(n.get("arg"))
    if tag == "FuncCall":
        return 2, names_of(n.get("funcname"))[-1]
    if tag == "A_Expr":
        if n.get("kind") == "AEXPR_NULLIF":
            return 2, "nullif"
        return 0, None
    if tag == "TypeCast":
        strength, name = _figure_colname(n.get("arg"))
        if strength <= 1 and n.get("typeName"):
            return 1, names_of(n["typeName"].get("names"))[-1]
        return strength, name
    if tag == "CollateClause":
        return _figure_colname(n.get("arg"))
    if tag == "CaseExpr":
        strength, name = _figure_colname(n.get("defresult"))
        return (1, "case") if strength <= 1 else (strength, name)
    if tag == "A_ArrayExpr":
        return 2, "array"
    if tag == "RowExpr":
        return 2, "row"
    if tag == "CoalesceExpr":
        return 2, "coalesce"
    if tag == "MinMaxExpr":
        return 2, "greatest" if n.get("op") == "IS_GREATEST" else "least"
    if tag == "SQLValueFunction" and n.get("op") in _SVF:
        return 2, _SVF[n["op"]]
    if tag in _NAMELESS:
        return 0, None
    raise _Unknown(tag)


def _index_column_names(elems: list[dict]) -> list[str]:
    """ChooseIndexColumnNames over IndexElem nodes (key columns, then INCLUDE columns)."""
    out: list[str] = []
    for e in elems:
        ie = e.get("IndexElem") or {}
        if ie.get("indexcolname"):
            orig = ie["indexcolname"]
        elif ie.get("name"):
            orig = ie["name"]
        else:
            orig = _figure_colname(ie.get("expr") or {})[1] or "expr"
        cur, i = orig, 0
        while cur in out:
            i += 1
            suffix = str(i)
            cur = _clip(orig.encode(), NAMEDATALEN - 1 - len(suffix)).decode() + suffix
        out.append(cur)
    return out


def _check_name_column(expr) -> tuple[bool, str | None]:
    """(ok, column): the one column a CHECK expression references (PostgreSQL names the constraint
    <table>_<column>_check), or None when it references none or several. ok is False when the
    expression holds a whole-row reference bascule cannot resolve."""
    cols: set[str] = set()
    ok = True

    def walk(n):
        nonlocal ok
        if isinstance(n, dict):
            ref = n.get("ColumnRef")
            if ref is not None:
                fields = ref.get("fields") or ()
                if any("A_Star" in f for f in fields):
                    ok = False
                names = names_of(fields)
                if names:
                    cols.add(names[-1])
                return
            for v in n.values():
                if isinstance(v, (dict, list)):
                    walk(v)
        elif isinstance(n, list):
            for v in n:
                walk(v)

    walk(expr)
    return ok, (next(iter(cols)) if len(cols) == 1 else None)


# --------------------------------------------------------------------------- text helpers
def _tokens(sql: str) -> list[tuple[int, int, str]]:
    """(start, end exclusive, token name): pglast's scanner reports character offsets (the parse
    tree's locations are UTF-8 byte offsets: see _char_offset)."""
    from pglast import parser

    return [(t.start, t.end + 1, t.name) for t in parser.scan(sql)]


def _char_offset(sql: str, byte_offset: int) -> int:
    """A parse-tree location (UTF-8 bytes) as a character offset in `sql`."""
    if sql.isascii():
        return byte_offset
    return len(sql.encode()[:byte_offset].decode("utf-8", "ignore"))


def _relation(rel: dict, only: bool | None = None) -> str:
    """A RangeVar as SQL text: [ONLY] [catalog.][schema.]name, quoted where needed."""
    parts = [rel[k] for k in ("catalogname", "schemaname") if rel.get(k)] + [rel["relname"]]
    text = ".".join(quote_ident(p) for p in parts)
    if only is None:
        only = not rel.get("inh", False)
    return "ONLY " + text if only else text


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _cmd_spans(sql: str, node: dict) -> list[tuple[int, int]] | None:
    """Character spans of an ALTER TABLE statement's subcommands (each from its first to its last
    non-comment token), or None when the text does not split into as many as the tree holds."""
    toks = [t for t in _tokens(sql) if t[2] not in _COMMENTS]
    loc = _char_offset(sql, (node.get("relation") or {}).get("location", -1))
    i = next((k for k, t in enumerate(toks) if t[0] == loc), None)
    if i is None:
        return None
    i += 1
    while i + 1 < len(toks) and toks[i][2] == "ASCII_46":  # schema.name
        i += 2
    if i < len(toks) and toks[i][2] == "ASCII_42":  # name *
        i += 1
    spans: list[tuple[int, int]] = []
    start = end = None
    depth = 0
    for s, e, name in toks[i:]:
        if name in ("ASCII_40", "ASCII_91"):
            depth += 1
        elif name in ("ASCII_41", "ASCII_93"):
            depth -= 1
        elif name == "ASCII_44" and depth == 0:
            if start is None:
                return None
            spans.append((start, end))
            start = None
            continue
        if start is None:
            start = s
        end = e
    if start is None:
        return None
    spans.append((start, end))
    return spans if len(spans) == len(node.get("cmds") or ()) else None


def _assemble(sql: str, spans: list[tuple[int, int]], edits: list[str | None]) -> tuple[str | None, str]:
    """The ALTER TABLE with each subcommand kept (None), replaced (text) or removed (""), and the
    comment text that followed its last subcommand (to be placed after the semicolon)."""
    kept = [i for i, e in enumerate(edits) if e != ""]
    tail = sql[spans[-1][1]:].strip()
    if not kept:
        return None, tail
    out = [sql[:spans[0][0]]]
    for n, i in enumerate(kept):
        if n:
            out.append(sql[spans[i - 1][1]:spans[i][0]])
        out.append(edits[i] if edits[i] is not None else sql[spans[i][0]:spans[i][1]])
    return "".join(out), tail


# --------------------------------------------------------------------------- names in use
_RELATION_OBJECTS = frozenset({"OBJECT_TABLE", "OBJECT_INDEX", "OBJECT_SEQUENCE", "OBJECT_VIEW", "OBJECT_MATVIEW",
                               "OBJECT_FOREIGN_TABLE", "OBJECT_TYPE"})
_INDEX_BACKED = frozenset({"CONSTR_PRIMARY", "CONSTR_UNIQUE", "CONSTR_EXCLUSION"})


class Names:
    """The relation and constraint names in use, as the statements learned so far left them, with
    the names PostgreSQL generated for unnamed objects (indexes, serial and identity sequences,
    constraints), and, with a live catalog (analyze.live.LiveCatalog), the database's relations.

    PostgreSQL names an unnamed index after the first free name among every relation of the
    schema (tables, indexes, sequences, views, composite types: ChooseRelationName) and an
    unnamed constraint after the first free name among the schema's constraints
    (ChooseConstraintName); a constraint with an index (primary key, unique, exclusion) avoids
    both. --fix writes the name out, so it must see the same names PostgreSQL will: give
    fix_text the Names of every migration before the file (`names_before`). Names are bare
    (schema dropped), like the analyzer's knowledge: a name used in another schema only makes
    the rewrite pick the next number."""

    def __init__(self, live=None, pg_version: int = NEWEST):
        self.live = live
        self.version = pg_version
        self.relations: dict[str, str | None] = {}  # relation → the table owning it (index, sequence)
        self.constraints: dict[str, str] = {}  # constraint → its table
        self.with_index: set[str] = set()  # constraints whose index has their name
        self.gone: set[str] = set()  # names dropped or renamed away (a live relation so named is gone)
        self.dropped_tables: set[str] = set()  # tables dropped: their live indexes and constraints went too
        self._ask_live = True  # False while replaying migrations the database may already have run

    def copy(self) -> Names:
        new = Names(self.live, self.version)
        new.relations, new.constraints = dict(self.relations), dict(self.constraints)
        new.with_index, new.gone, new.dropped_tables = set(self.with_index), set(self.gone), set(self.dropped_tables)
        return new

    # -- questions ---------------------------------------------------------------------------------
    def has_relation(self, name: str, schema: str | None = None) -> bool:
        if name in self.relations:
            return True
        if self.live is None or not self._ask_live or name in self.gone:
            return False
        found = self.live.relation_owner(name, schema)
        return found is not None and found[1] not in self.dropped_tables

    def has_constraint(self, name: str, table: str | None = None, schema: str | None = None) -> bool:
        if name in self.constraints:
            return True
        if self.live is None or not self._ask_live or name in self.gone:
            return False
        owner = self.live.constraint_owner(name, schema)  # PostgreSQL avoids the whole schema's names
        return owner is not None and owner not in self.dropped_tables

    def taken(self, table: str, label: str, schema: str | None = None, also=()) -> _Taken:
        """The names an object with this label must avoid (see choose_name)."""
        relation = label not in ("check", "fkey", "not_null")
        constraint = label not in ("idx", "seq")
        return _Taken(self, table, schema, relation, constraint, also)

    def choose(self, table: str, name2: str | None, label: str, schema: str | None = None) -> str:
        return choose_name(table, name2, label, self.taken(table, label, schema))

    # -- learning ------------------------------------------------------------------------------
    def learn(self, tag: str, node: dict, live: bool = True) -> None:
        """What one statement (its parse tree) does to the names in use. live=False: the names it
        generates avoid only the names learned so far, not the live catalog's (replaying a
        migration the database may have run: its own objects are in the catalog)."""
        handler = getattr(self, "_" + tag, None)
        if handler is not None and node:
            self._ask_live = live
            try:
                handler(node)
            finally:
                self._ask_live = True

    def learn_sql(self, sql: str) -> None:
        """Every statement of `sql`; text that does not parse teaches nothing."""
        from pglast import parser

        try:
            stmts = json.loads(parser.parse_sql_json(sql)).get("stmts") or ()
        except Exception:  # noqa: BLE001 - a parse error: nothing to learn
            return
        for raw in stmts:
            ((tag, node),) = (raw.get("stmt") or {"": {}}).items()
            self.learn(tag, node)

    def _add_relation(self, name: str | None, owner: str | None) -> None:
        if name:
            self.relations[name] = owner
            self.gone.discard(name)

    def _drop_relation(self, name: str) -> None:
        self.relations.pop(name, None)
        self.gone.add(name)
        if name in self.constraints and name in self.with_index:  # an index takes its constraint along
            self._drop_constraint(name)

    def _add_constraint(self, name: str, table: str, index: bool) -> None:
        self.constraints[name] = table
        self.gone.discard(name)
        if index:
            self.with_index.add(name)
            self._add_relation(name, table)

    def _drop_constraint(self, name: str) -> None:
        self.constraints.pop(name, None)
        self.gone.add(name)
        if name in self.with_index:
            self.with_index.discard(name)
            self.relations.pop(name, None)

    def _CreateStmt(self, node: dict) -> None:
        rel = node.get("relation") or {}
        table = rel.get("relname")
        if not table:
            return
        self._add_relation(table, None)
        for elt in node.get("tableElts") or ():
            if "ColumnDef" in elt:
                self._column(table, rel.get("schemaname"), elt["ColumnDef"])
            elif "Constraint" in elt:
                self._constraint(table, rel.get("schemaname"), elt["Constraint"], [])

    def _CreateForeignTableStmt(self, node: dict) -> None:
        self._CreateStmt(node.get("base") or {})

    def _CreateSeqStmt(self, node: dict) -> None:
        self._add_relation((node.get("sequence") or {}).get("relname"), None)

    def _ViewStmt(self, node: dict) -> None:
        self._add_relation((node.get("view") or {}).get("relname"), None)

    def _CreateTableAsStmt(self, node: dict) -> None:
        self._add_relation(((node.get("into") or {}).get("rel") or {}).get("relname"), None)

    def _CompositeTypeStmt(self, node: dict) -> None:
        self._add_relation((node.get("typevar") or {}).get("relname"), None)

    def _IndexStmt(self, node: dict) -> None:
        rel = node.get("relation") or {}
        table = rel.get("relname")
        if not table:
            return
        name = node.get("idxname")
        if not name:
            try:
                cols = _index_column_names(list(node.get("indexParams") or ())
                                           + list(node.get("indexIncludingParams") or ()))
            except _Unknown:
                return
            name = self.choose(table, _name_addition(cols), "idx", rel.get("schemaname"))
        self._add_relation(name, table)

    def _AlterTableStmt(self, node: dict) -> None:
        rel = node.get("relation") or {}
        table = rel.get("relname")
        if not table or node.get("objtype") not in ("OBJECT_TABLE", "OBJECT_FOREIGN_TABLE"):
            return
        schema = rel.get("schemaname")
        for c in node.get("cmds") or ():
            cmd = c.get("AlterTableCmd") or {}
            sub, d = cmd.get("subtype"), cmd.get("def") or {}
            if sub == "AT_AddColumn" and "ColumnDef" in d:
                self._column(table, schema, d["ColumnDef"])
            elif sub == "AT_AddConstraint" and "Constraint" in d:
                self._constraint(table, schema, d["Constraint"], [])
            elif sub == "AT_AddIdentity" and "Constraint" in d:
                self._sequence(table, schema, cmd.get("name"), d["Constraint"])
            elif sub == "AT_DropConstraint" and cmd.get("name"):
                self._drop_constraint(cmd["name"])

    def _RenameStmt(self, node: dict) -> None:
        kind, new = node.get("renameType"), node.get("newname")
        if not new:
            return
        if kind == "OBJECT_TABCONSTRAINT" and node.get("subname"):
            old = node["subname"]
            table = self.constraints.get(old) or (node.get("relation") or {}).get("relname") or ""
            index = old in self.with_index
            self._drop_constraint(old)
            self._add_constraint(new, table, index)
        elif kind in _RELATION_OBJECTS and (node.get("relation") or {}).get("relname"):
            old = node["relation"]["relname"]
            owner = self.relations.get(old)
            if old in self.with_index:  # renaming a constraint's index renames the constraint
                table = self.constraints.get(old, owner or "")
                self._drop_constraint(old)
                self._add_constraint(new, table, True)
                return
            self._drop_relation(old)
            self._add_relation(new, owner)
            if kind == "OBJECT_TABLE":
                for name, of in list(self.relations.items()):
                    if of == old:
                        self.relations[name] = new
                for name, of in list(self.constraints.items()):
                    if of == old:
                        self.constraints[name] = new

    def _DropStmt(self, node: dict) -> None:
        kind = node.get("removeType")
        if kind not in _RELATION_OBJECTS:
            return
        for name in (bare(n) for n in dropped_names(node)):
            if kind in ("OBJECT_TABLE", "OBJECT_FOREIGN_TABLE"):
                self.dropped_tables.add(name)
                for other, of in list(self.relations.items()):
                    if of == name:
                        self._drop_relation(other)
                for other, of in list(self.constraints.items()):
                    if of == name:
                        self._drop_constraint(other)
            self._drop_relation(name)

    def _column(self, table: str, schema: str | None, cd: dict) -> None:
        col = cd.get("colname")
        typ = names_of((cd.get("typeName") or {}).get("names"))
        if col and len(typ) == 1 and typ[0] in SERIAL:
            self._add_relation(self.choose(table, col, "seq", schema), table)
        for c in cd.get("constraints") or ():
            con = c.get("Constraint") or {}
            if con.get("contype") == "CONSTR_IDENTITY":
                self._sequence(table, schema, col, con)
            elif col:
                self._constraint(table, schema, con, [col])

    def _sequence(self, table: str, schema: str | None, col: str | None, con: dict) -> None:
        """The sequence of an identity column: SEQUENCE NAME, or <table>_<column>_seq."""
        for o in con.get("options") or ():
            de = o.get("DefElem") or {}
            if de.get("defname") == "sequence_name":
                named = names_of(((de.get("arg") or {}).get("List") or {}).get("items"))
                if named:
                    self._add_relation(named[-1], table)
                    return
        if col:
            self._add_relation(self.choose(table, col, "seq", schema), table)

    def _constraint(self, table: str, schema: str | None, con: dict, cols: list[str]) -> None:
        """A constraint of a column (cols: that column) or of the table, named as PostgreSQL does."""
        ct, name = con.get("contype"), con.get("conname")
        if ct in _INDEX_BACKED:
            if con.get("indexname"):  # USING INDEX: the index takes the constraint's name
                index = con["indexname"]
                name = name or index
                if name != index:
                    self._drop_relation(index)
                self._add_constraint(name, table, True)
                return
            if not name:
                if ct == "CONSTR_PRIMARY":
                    name = self.choose(table, None, "pkey", schema)
                elif ct == "CONSTR_UNIQUE":
                    keys = (names_of(con.get("keys")) or cols) + names_of(con.get("including"))
                    name = self.choose(table, _name_addition(keys), "key", schema)
                else:
                    elems = [((i.get("List") or {}).get("items") or [{}])[0] for i in con.get("exclusions") or ()]
                    try:
                        keys = _index_column_names(elems + list(con.get("including") or ()))
                    except _Unknown:
                        return
                    name = self.choose(table, _name_addition(keys), "excl", schema)
            self._add_constraint(name, table, True)
        elif ct == "CONSTR_CHECK":
            if not name:
                ok, col = _check_name_column(con.get("raw_expr"))
                if not ok:
                    return
                name = self.choose(table, col, "check", schema)
            self._add_constraint(name, table, False)
        elif ct == "CONSTR_FOREIGN":
            name = name or self.choose(table, _name_addition(names_of(con.get("fk_attrs")) or cols), "fkey", schema)
            self._add_constraint(name, table, False)
        elif ct == "CONSTR_NOTNULL" and self.version >= 18:  # a constraint of its own from PostgreSQL 18
            keys = names_of(con.get("keys")) or cols
            name = name or self.choose(table, keys[0] if keys else None, "not_null", schema)
            self._add_constraint(name, table, False)


class _Taken:
    """The names one generated name must avoid: `also` (chosen earlier in the same statement)
    and the relations and/or constraints in use."""

    def __init__(self, names: Names, table: str, schema: str | None, relation: bool, constraint: bool, also=()):
        self.names, self.table, self.schema = names, table, schema
        self.relation, self.constraint, self.also = relation, constraint, also

    def __contains__(self, name: str) -> bool:
        return (name in self.also or (self.relation and self.names.has_relation(name, self.schema))
                or (self.constraint and self.names.has_constraint(name, self.table, self.schema)))


def names_before(units, live=None, pg_version: int = NEWEST, applied=None):
    """(unit, Names in use before it) for each lint unit in order, for fix_text(..., names=names).
    It is one Names object, which learns each unit's up script when the loop moves on: use it in
    the loop body (Names.copy() to keep one). `applied(unit)`: whether the live database ran the
    unit already; its objects are then in the catalog, so its names are learned without asking it
    (they would count twice). A unit still to run avoids the catalog's names, as its rewrite does.
    Without `applied`, every unit is taken as run."""
    from bascule.errors import SqlSyntaxError

    names = Names(live, pg_version)
    for u in units:
        yield u, names
        if getattr(u, "up", None) is None:
            continue
        try:
            stmts = u.up.statements
        except SqlSyntaxError:
            continue
        pending = live is not None and applied is not None and not applied(u)
        for st in stmts:
            names.learn(st.kind, st.node or {}, live=pending)


# --------------------------------------------------------------------------- the rewrites
class _File:
    """What the rewrites share while walking one file."""

    def __init__(self, pg_version: int, names: Names | None, one_transaction: str | None):
        from bascule.analyze.context import SchemaKnowledge

        self.version = pg_version
        self.names = names.copy() if names is not None else Names(pg_version=pg_version)
        self.names.version = pg_version
        self.known = SchemaKnowledge()
        # why the migration runs as one transaction, when it does: then no rewrite that needs
        # separate transactions is made
        self.one_transaction = one_transaction

    def learn(self, tag: str, node: dict, rewritten: str | None = None) -> None:
        """The file's statement, as written; its names as the rewrite (when there is one) makes them."""
        self.known.learn(tag, node)
        if rewritten is None:
            self.names.learn(tag, node)
        else:
            self.names.learn_sql(rewritten)


def _insert_after_token(sql: str, token: str, text: str) -> str:
    for _start, e, name in _tokens(sql):
        if name == token:
            return sql[:e] + text + sql[e:]
    raise _Skip(f"no {token} keyword found")


def _fix_create_index(sql: str, node: dict, f: _File) -> list[_Part]:
    if not (node.get("relation") or {}).get("inh", False):
        raise _Skip("CREATE INDEX ON ONLY is for a partitioned table, which cannot be indexed CONCURRENTLY; "
                    "build the index CONCURRENTLY on each partition and ATTACH it to an index made ON ONLY the parent")
    extra = " CONCURRENTLY"
    if not node.get("idxname"):
        try:
            cols = _index_column_names(list(node.get("indexParams") or ()) + list(node.get("indexIncludingParams") or ()))
        except _Unknown:
            cols = None
        if cols is not None:
            rel = node["relation"]
            name = f.names.choose(rel["relname"], _name_addition(cols), "idx", rel.get("schemaname"))
            extra += " " + quote_ident(name)
    return [_Part(_insert_after_token(sql, "INDEX", extra), original=True)]


def _fix_drop_index(sql: str, node: dict) -> list[_Part]:
    if len(node.get("objects") or ()) != 1:
        raise _Skip("DROP INDEX CONCURRENTLY drops one index per statement: write one DROP INDEX CONCURRENTLY "
                    "per index")
    if node.get("behavior") == "DROP_CASCADE":
        raise _Skip("DROP INDEX CONCURRENTLY does not accept CASCADE: drop the dependent objects first")
    return [_Part(_insert_after_token(sql, "INDEX", " CONCURRENTLY"), original=True)]


class _Alter:
    """One ALTER TABLE being rewritten: its head for follow-up statements and the follow-ups."""

    def __init__(self, node: dict, f: _File):
        self.rel = node["relation"]
        self.table = self.rel["relname"]
        self.missing_ok = bool(node.get("missing_ok"))
        self.head = "ALTER TABLE " + ("IF EXISTS " if self.missing_ok else "") + _relation(self.rel)
        self.f = f
        self.post: list[str] = []
        self.chosen: set[str] = set()

    def name(self, name2: str | None, label: str) -> str:
        """The name PostgreSQL gives an unnamed constraint: besides the names in use, those given to
        the statement's earlier unnamed constraints."""
        taken = self.f.names.taken(self.table, label, self.rel.get("schemaname"), self.chosen)
        name = choose_name(self.table, name2, label, taken)
        self.chosen.add(name)
        return name

    def not_null(self, col: str, inline: bool = False) -> str | None:
        """The B107 sequence for `col`: a temporary CHECK (col IS NOT NULL) NOT VALID, VALIDATE it
        (reads and writes continue), SET NOT NULL (no scan: the CHECK proves it), DROP the CHECK.
        With inline, the ADD is returned for the caller's ALTER TABLE instead of appended.
        The temporary name ends in _not_null_tmp: never PostgreSQL's <table>_<col>_not_null."""
        tmp = make_object_name(self.table, col, "not_null_tmp")
        add = f"ADD CONSTRAINT {quote_ident(tmp)} CHECK ({quote_ident(col)} IS NOT NULL) NOT VALID"
        if not inline:
            self.post.append(f"{self.head} {add}")
        self.post += [f"{self.head} VALIDATE CONSTRAINT {quote_ident(tmp)}",
                      f"{self.head} ALTER COLUMN {quote_ident(col)} SET NOT NULL",
                      f"{self.head} DROP CONSTRAINT {quote_ident(tmp)}"]
        return add if inline else None


def _not_valid(sql: str, span: tuple[int, int], con: dict, name: str) -> str:
    """The subcommand's text with CONSTRAINT name inserted (when unnamed) and NOT VALID appended."""
    s, e = span
    text = sql[s:e] + " NOT VALID"
    if not con.get("conname"):
        at = _char_offset(sql, con["location"]) - s
        text = text[:at] + f"CONSTRAINT {quote_ident(name)} " + text[at:]
    return text


def _fix_alter(sql: str, node: dict, codes: set[str], f: _File) -> tuple[list[_Part], Counter]:
    """(statements, subcommands rewritten per code) for an ALTER TABLE carrying findings `codes`."""
    cmds = [c.get("AlterTableCmd") or {} for c in node.get("cmds") or ()]
    if node.get("objtype") != "OBJECT_TABLE" or not node.get("relation"):
        raise _Skip("only ALTER TABLE is rewritten")
    spans = _cmd_spans(sql, node)
    if spans is None:
        raise _Skip("its subcommands could not be told apart in the text")
    a = _Alter(node, f)
    edits: list[str | None] = [None] * len(cmds)
    done: Counter = Counter()
    b112_cols = [i for i, c in enumerate(cmds) if c.get("subtype") == "AT_AddColumn" and _volatile_default(c)]
    if "B112" in codes and b112_cols and any(c.get("subtype") != "AT_AddColumn" for c in cmds):
        raise _Skip("ADD COLUMN with a volatile default is rewritten only in an ALTER TABLE that just adds columns")
    for i, c in enumerate(cmds):
        sub = c.get("subtype")
        d = c.get("def") or {}
        if sub == "AT_AddConstraint" and (d.get("Constraint") or {}).get("conname"):
            a.chosen.add(d["Constraint"]["conname"])  # taken for the unnamed constraints after it
        if sub == "AT_AddConstraint":
            con = d.get("Constraint") or {}
            ct = con.get("contype")
            validated = not con.get("skip_validation")
            if ct == "CONSTR_FOREIGN" and "B105" in codes and validated:
                name = con.get("conname") or a.name(_name_addition(names_of(con.get("fk_attrs"))), "fkey")
                edits[i] = _not_valid(sql, spans[i], con, name)
                a.post.append(f"{a.head} VALIDATE CONSTRAINT {quote_ident(name)}")
                done["B105"] += 1
            elif ct == "CONSTR_CHECK" and "B106" in codes and validated:
                name = con.get("conname")
                if not name:
                    ok, col = _check_name_column(con.get("raw_expr"))
                    if not ok:
                        raise _Skip("the CHECK's generated name cannot be worked out offline: name the constraint")
                    name = a.name(col, "check")
                edits[i] = _not_valid(sql, spans[i], con, name)
                a.post.append(f"{a.head} VALIDATE CONSTRAINT {quote_ident(name)}")
                done["B106"] += 1
            elif ct == "CONSTR_NOTNULL" and codes & {"B106", "B107"} and validated:
                if f.version < 18:
                    continue
                keys = names_of(con.get("keys"))
                name = con.get("conname") or a.name(keys[0] if keys else None, "not_null")
                edits[i] = _not_valid(sql, spans[i], con, name)
                a.post.append(f"{a.head} VALIDATE CONSTRAINT {quote_ident(name)}")
                done.update(codes & {"B106", "B107"})
            elif ct in ("CONSTR_UNIQUE", "CONSTR_PRIMARY") and "B108" in codes and not con.get("indexname"):
                edits[i] = ""
                _unique(a, con, cmds)
                done["B108"] += 1
        elif sub == "AT_SetNotNull" and "B107" in codes:
            if f.version < 12:
                raise _Skip("before PostgreSQL 12, SET NOT NULL always scans the table")
            edits[i] = a.not_null(c["name"], inline=True)
            done["B107"] += 1
        elif sub == "AT_AddColumn" and "B112" in codes and i in b112_cols:
            edits[i] = _add_column(a, c, sql, spans[i])
            done["B112"] += 1
    if not done:
        raise _Skip("none of its subcommands has a shape --fix rewrites")
    main, tail = _assemble(sql, spans, edits)
    out = ([_Part(main, original=True)] if main is not None else []) + [_Part(p) for p in a.post]
    out[0].comment = tail
    return out, done


def _unique(a: _Alter, con: dict, cmds: list[dict]) -> None:
    """B108: build the index CONCURRENTLY under the constraint's final name, then attach it."""
    if con.get("without_overlaps"):
        raise _Skip("WITHOUT OVERLAPS needs a GiST index built by the constraint itself")
    keys = names_of(con.get("keys"))
    including = names_of(con.get("including"))
    added = {(c.get("def") or {}).get("ColumnDef", {}).get("colname") for c in cmds
             if c.get("subtype") == "AT_AddColumn"}
    if added & set(keys + including):
        raise _Skip("the constraint is on a column added by the same statement")
    primary = con.get("contype") == "CONSTR_PRIMARY"
    kind = "PRIMARY KEY" if primary else "UNIQUE"
    name = con.get("conname") or (a.name(None, "pkey") if primary else a.name(_name_addition(keys + including), "key"))
    idx = [f"CREATE UNIQUE INDEX CONCURRENTLY {quote_ident(name)} ON {_relation(a.rel, only=False)} "
           f"({', '.join(quote_ident(k) for k in keys)})"]
    if including:
        idx.append(f" INCLUDE ({', '.join(quote_ident(k) for k in including)})")
    if con.get("nulls_not_distinct"):
        idx.append(" NULLS NOT DISTINCT")
    if con.get("options"):
        idx.append(f" WITH ({', '.join(_defelem(o) for o in con['options'])})")
    if con.get("indexspace"):
        idx.append(f" TABLESPACE {quote_ident(con['indexspace'])}")
    a.post.append("".join(idx))
    if primary:
        for k in keys:
            if not a.f.known.column_not_null(a.table, k):
                a.not_null(k)
    attrs = ""
    if con.get("deferrable"):
        attrs += " DEFERRABLE"
    if con.get("initdeferred"):
        attrs += " INITIALLY DEFERRED"
    a.post.append(f"{a.head} ADD CONSTRAINT {quote_ident(name)} {kind} USING INDEX {quote_ident(name)}{attrs}")


def _defelem(o: dict) -> str:
    """A storage parameter (fillfactor = 70, deduplicate_items = off) as SQL text."""
    de = o.get("DefElem") or {}
    key = (quote_ident(de["defnamespace"]) + "." if de.get("defnamespace") else "") + quote_ident(de["defname"])
    arg = de.get("arg")
    if arg is None:
        return key
    if "Integer" in arg:
        val = str(arg["Integer"].get("ival", 0))
    elif "Float" in arg:
        val = arg["Float"]["fval"]
    elif "Boolean" in arg:
        val = "true" if arg["Boolean"].get("boolval") else "false"
    elif "String" in arg:
        val = _literal(arg["String"]["sval"])
    elif "TypeName" in arg:
        val = quote_ident(names_of(arg["TypeName"].get("names"))[-1])
    else:
        raise _Skip("a storage parameter bascule cannot reproduce")
    return f"{key} = {val}"


def _volatile_default(cmd: dict) -> bool:
    cd = (cmd.get("def") or {}).get("ColumnDef") or {}
    default = next((c["Constraint"].get("raw_expr") for c in cd.get("constraints") or ()
                    if (c.get("Constraint") or {}).get("contype") == "CONSTR_DEFAULT"), None)
    return default is not None and volatile(default) is not None


_B112_KEEP = {"CONSTR_DEFAULT", "CONSTR_NOTNULL", "CONSTR_NULL"}


def _add_column(a: _Alter, cmd: dict, sql: str, span: tuple[int, int]) -> str:
    """B112: ADD COLUMN without the default, SET DEFAULT (new rows), backfill existing rows in
    short transactions, then NOT NULL the B107 way if the original had it. The column definition
    and the default keep their text as written: only the DEFAULT and NOT NULL clauses move."""
    cd = cmd["def"]["ColumnDef"]
    cons = [c["Constraint"] for c in cd.get("constraints") or ()]
    other = {c.get("contype") for c in cons} - _B112_KEEP
    if other:
        raise _Skip("the new column has constraints besides DEFAULT and NOT NULL")
    if cmd.get("missing_ok"):
        raise _Skip("ADD COLUMN IF NOT EXISTS does nothing when the column exists, where the rewrite's SET DEFAULT "
                    "and backfill would change the existing column and its rows; drop IF NOT EXISTS if the column "
                    "cannot exist yet")
    if a.f.version < 12:
        raise _Skip("the NOT NULL step needs PostgreSQL 12+")
    if a.f.version >= 18 and any(c.get("contype") == "CONSTR_NOTNULL" and c.get("conname") for c in cons):
        raise _Skip("SET NOT NULL would not keep the NOT NULL constraint's name")
    col = cd["colname"]
    s, e = span
    toks = [t for t in _tokens(sql) if t[2] not in _COMMENTS and s <= t[0] < e]
    # the column's qualifiers (constraints, COLLATE), each from its first token to the next one's
    quals = sorted([(_char_offset(sql, c.get("location", -1)), c) for c in cons]
                   + ([(_char_offset(sql, cd["collClause"].get("location", -1)), None)] if cd.get("collClause") else []),
                   key=lambda q: q[0])
    starts = {t[0] for t in toks}
    if any(q[0] not in starts for q in quals):
        raise _Skip("its column definition could not be taken apart in the text")
    cut: list[tuple[int, int]] = []
    default = None
    for k, (q, con) in enumerate(quals):
        nxt = quals[k + 1][0] if k + 1 < len(quals) else e
        own = [t for t in toks if q <= t[0] < nxt]
        if con is None or con.get("contype") == "CONSTR_NULL":
            continue
        if con.get("contype") == "CONSTR_DEFAULT":
            body = own[2:] if own[0][2] == "CONSTRAINT" else own
            if len(body) < 2 or body[0][2] != "DEFAULT":
                raise _Skip("its column definition could not be taken apart in the text")
            default = sql[body[1][0]:own[-1][1]]
        cut.append((q, own[-1][1]))
    if default is None:
        raise _Skip("its column definition could not be taken apart in the text")
    text = sql[s:e]
    for q, end in reversed(cut):  # each clause with the white space before it
        while q > s and sql[q - 1].isspace():
            q -= 1
        text = text[:q - s] + text[end - s:]
    # the default is set by a later subcommand of the same ALTER TABLE: existing rows keep NULL
    # (no rewrite), rows inserted from then on get the default
    text += f", ALTER COLUMN {quote_ident(col)} SET DEFAULT {default}"
    a.post.append(_backfill(a, col))
    if any(c.get("contype") == "CONSTR_NOTNULL" for c in cons):
        a.not_null(col)
    return text


def _backfill(a: _Alter, col: str) -> str:
    """A DO block filling `col` with its default on the rows that existed before the default was
    set, a range of heap pages per transaction. The number of pages is read once, so the loop ends
    after pages / batch rounds; a final UPDATE catches rows that concurrent updates moved out of
    a range before it was filled (they still hold NULL)."""
    rel = _relation(a.rel, only=False)
    q = quote_ident(col)
    # ALTER TABLE IF EXISTS on no table did nothing: neither does the backfill
    oid = f"to_regclass({_literal(rel)})" if a.missing_ok else f"{_literal(rel)}::regclass"
    gone = f"  IF {oid} IS NULL THEN RETURN; END IF;\n" if a.missing_ok else ""
    if a.f.version >= 14:
        batch = BACKFILL_PAGES
        where = ("ctid >= format('(%s,0)', _bascule_page)::tid\n"
                 "       AND ctid < format('(%s,0)', _bascule_page + _bascule_batch)::tid")
    else:
        batch = BACKFILL_PAGES_OLD
        where = ("ctid = ANY (ARRAY(SELECT format('(%s,%s)', _bascule_p, _bascule_o)::tid\n"
                 "                          FROM generate_series(_bascule_page, _bascule_page + _bascule_batch - 1)"
                 " AS _bascule_p,\n"
                 "                               generate_series(1, (current_setting('block_size')::int - 24) / 28)"
                 " AS _bascule_o))")
    body = (f"DECLARE\n"
            f"  _bascule_batch constant bigint := {batch};  -- heap pages per transaction\n"
            f"  _bascule_pages constant bigint := pg_relation_size({oid})\n"
            f"                                    / current_setting('block_size')::bigint;\n"
            f"  _bascule_page bigint := 0;\n"
            f"BEGIN\n{gone}"
            f"  WHILE _bascule_page < _bascule_pages LOOP\n"
            f"    UPDATE {rel} SET {q} = DEFAULT\n"
            f"     WHERE {where}\n"
            f"       AND {q} IS NULL;\n"
            f"    COMMIT;\n"
            f"    _bascule_page := _bascule_page + _bascule_batch;\n"
            f"  END LOOP;\n"
            f"  UPDATE {rel} SET {q} = DEFAULT WHERE {q} IS NULL;  -- rows moved by concurrent updates\n"
            f"END\n")
    tag, n = "$bascule$", 0
    while tag in body:
        n += 1
        tag = f"$bascule{n}$"
    return f"DO {tag}\n{body}{tag}"


# --------------------------------------------------------------------------- the file
def _line_starts(text: str) -> list[int]:
    starts = [0]
    pos = text.find("\n")
    while pos >= 0:
        starts.append(pos + 1)
        pos = text.find("\n", pos + 1)
    return starts


def _same_file(a: str, b: str) -> bool:
    if a == b or os.path.normpath(a) == os.path.normpath(b):
        return True
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False


def _statement_for(f: Finding, stmts) -> int | None:
    """The index of the statement a finding is on: Finding.statement, checked against the line the
    statement starts on (a script that is a section of its file numbers statements from its start)."""
    if f.statement is None:
        return None
    if f.stmt_line is None:
        return f.statement if f.statement < len(stmts) else None
    if f.statement < len(stmts) and stmts[f.statement].line == f.stmt_line:
        return f.statement
    return next((i for i, st in enumerate(stmts) if st.line == f.stmt_line), None)


def _join(parts: list, nl: str, indent: str) -> str:
    """Statements joined by ';' and a line break at the original's indentation. A comment that
    ended the original statement goes after the first semicolon; the last statement's semicolon is
    the one already in the file."""
    out = []
    for k, p in enumerate(parts):
        if not isinstance(p, _Part):
            p = _Part(p)
        text = p.text if p.original else p.text.replace("\n", nl + indent)
        comment = p.comment  # original text: its line breaks are already the file's
        if k < len(parts) - 1:
            text += ";" + (" " + comment if comment else "") + nl + indent
        elif comment:
            text += " " + comment + (nl + indent if "--" in comment.rsplit("\n", 1)[-1] else "")
        out.append(text)
    return "".join(out)


# --------------------------------------------------------------------------- layouts and transactions
# Layouts with a per-migration switch that makes bascule run a migration statement by statement;
# the CLI writes it (sources.declare_non_transactional) when a rewrite needs it.
SWITCHES = {"native": 'transaction = "never" in its migration.toml',
            "diesel": "run_in_transaction = false in its metadata.toml",
            "dbmate": "transaction:false on its -- migrate:up line",
            "flyway": "executeInTransaction=false in its script config file (<script>.sql.conf)"}
_NO_SWITCH = {"golang-migrate": "golang-migrate has", "prisma": "Prisma has", None: "a plain .sql file has"}
GUESS = "guess"  # fix_text(layout=GUESS): work the layout out from the file's path and text
_GOLANG = re.compile(r"^\d+_.*\.up\.sql$")
_FLYWAY = re.compile(r"^(?:[VU]\d+(?:[._]\d+)*|R)__.*\.sql$")
_DBMATE_UP = re.compile(r"(?m)^--[ \t]*migrate:up(?:\s|$)")


def guess_layout(path: str, text: str) -> str | None:
    """The source layout a migration file most likely belongs to, from its name (and for dbmate
    its `-- migrate:up` line); None for a plain .sql file. Only the per-migration transaction
    switch depends on it: callers that know the layout (a LintUnit's) pass it instead."""
    p = Path(path)
    if _DBMATE_UP.search(text):
        return "dbmate"
    if p.name == "up.sql":
        from bascule.sources.diesel import is_diesel_name

        return "diesel" if (p.parent / "metadata.toml").is_file() or is_diesel_name(p.parent.name) else "native"
    if p.name == "migration.sql":
        return "prisma"
    if _GOLANG.match(p.name):
        return "golang-migrate"
    if _FLYWAY.match(p.name):
        return "flyway"
    return None


def _one_transaction(layout: str | None, transaction: str) -> str | None:
    """Why bascule runs the migration as one transaction whatever --fix writes (None: --fix can make
    it run statement by statement, or it already does). An "auto" migration with a statement that
    refuses a transaction block runs statement by statement: fix_text checks the rewrite for one."""
    if transaction == "never" or layout in SWITCHES:
        return None
    return (f"bascule runs this migration as one transaction ({_NO_SWITCH.get(layout, 'its layout has')} no "
            "per-migration setting to turn that off, and no statement in it refuses a transaction block)")


def fix_text(text: str, path: str, findings: list[Finding], pg_version: int = NEWEST, *,
             layout: str | None = GUESS, transaction: str = "auto", names: Names | None = None) -> FixResult:
    """Rewrite the statements of `text` (the file at `path`) that carry an active finding of a
    fixable rule. `findings` are that file's lint findings (LintResult.findings).

    layout, transaction: the migration's (LintUnit.layout, LintUnit.transaction; layout None for a
    plain .sql file; GUESS works it out from the path). A rewrite that needs its statements to
    commit separately (NOT VALID then VALIDATE, the batched backfill) is made only where the
    migration can run statement by statement: transaction "never", a layout with a switch for it
    (SWITCHES), or a migration that bascule runs statement by statement anyway because a statement
    in it refuses a transaction block (CREATE INDEX CONCURRENTLY, ...). Otherwise the finding is
    left with a note that says why.
    names: the relation and constraint names in use before this file (names_before); without
    them, names generated for unnamed indexes and constraints only avoid those of this file."""
    if layout == GUESS:
        layout = guess_layout(path, text)
    result = _fix_pass(text, path, findings, pg_version, names, None)
    if not result.changes:
        return result
    auto = _runs_alone(result.fixed, path)
    alone = _one_transaction(layout, transaction)
    if alone is not None and not auto:  # again, leaving what needs separate transactions as it is
        result = _fix_pass(text, path, findings, pg_version, names, alone)
        if not result.changes:
            return result
    result.needs_separate_transactions = True
    result.runs_alone = auto
    why = ("CONCURRENTLY and a COMMIT inside DO are refused in a transaction block, and a VALIDATE in the "
           "transaction of its NOT VALID constraint keeps the strong lock to the end")
    if auto:
        how = ("bascule does on its own, as a statement in it refuses a transaction block (CONCURRENTLY, a DO "
               "block that COMMITs); --fix declares it anyway where the layout has a place for it, so that any "
               "tool that runs it knows (never declare transaction = \"always\")")
    elif transaction == "never":
        how = "it does (transaction = \"never\")"
    else:
        switch = SWITCHES.get(layout) or 'transaction = "never"'
        how = f"declare {switch} for it (--fix does when it writes the file)"
    result.notes.append(f"this migration must run statement by statement, not in one transaction ({why}): {how}")
    return result


def _runs_alone(text: str, path: str) -> bool:
    """Whether the text holds a statement that refuses a transaction block (bascule then runs the
    whole migration statement by statement)."""
    from bascule.errors import SqlSyntaxError
    from bascule.sql import split_statements

    try:
        return any(st.no_transaction for st in split_statements(text.lstrip("\ufeff"), path)[0])
    except SqlSyntaxError:  # pragma: no cover - the rewrite always parses
        return False


def _fix_pass(text: str, path: str, findings: list[Finding], pg_version: int, names: Names | None,
              one_transaction: str | None) -> FixResult:
    from bascule.errors import SqlSyntaxError
    from bascule.sql import split_statements

    result = FixResult(path, text, text)
    wanted: dict[int, Counter] = {}
    todo = [f for f in findings if f.code in FIXABLE and not f.suppressed and f.statement is not None
            and (not f.path or _same_file(f.path, path))]
    if not todo:
        return result
    bom = 1 if text.startswith("\ufeff") else 0
    body = text[bom:]
    try:
        stmts, _ = split_statements(body, path)
    except SqlSyntaxError as exc:
        result.notes.append(f"not rewritten: the file does not parse ({exc.message})")
        return result
    for fd in todo:
        i = _statement_for(fd, stmts)
        if i is None:
            result.notes.append(f"{path}:{fd.line}: {fd.code} not rewritten: its statement was not found")
            continue
        wanted.setdefault(i, Counter())[fd.code] += 1
    starts = _line_starts(body)
    nl = "\r\n" if "\r\n" in body else "\n"
    f = _File(pg_version, names, one_transaction)
    pieces: list[str] = []
    pos = 0
    for i, st in enumerate(stmts):
        node = st.node or {}
        codes = wanted.get(i)
        after = None
        if codes:
            start = starts[st.line - 1] + st.column - 1
            end = start + len(st.sql)
            try:
                if body[start:end] != st.sql:
                    raise _Skip("its text could not be located in the file")
                new, done = _rewrite(st, node, set(codes), f)
            except _Skip as why:
                for code in sorted(codes):
                    result.notes.append(f"{path}:{st.line}: {code} not rewritten: {why}")
            else:
                line_start = starts[st.line - 1]
                indent = body[line_start:start] if not body[line_start:start].strip() else ""
                after = _join(new, nl, indent)
                pieces.append(body[pos:start])
                pieces.append(after)
                pos = end
                result.changes.append({"code": sorted(done)[0], "codes": sorted(done), "line": st.line,
                                       "column": st.column, "before": st.sql, "after": after})
                if done.get("B112"):
                    table = ((node.get("relation") or {}).get("relname")) or "the table"
                    result.notes.append(f"{path}:{st.line}: B112: the backfill is an UPDATE: row-level UPDATE "
                                        f"triggers on {table} (updated_at, audit, append-only guards) fire for every "
                                        "existing row, which ADD COLUMN did not do; check the table's triggers first")
                for code, n in sorted(codes.items()):
                    if done[code] < n:
                        what = f"{n - done[code]} of {n} findings" if done[code] else "the finding"
                        result.notes.append(f"{path}:{st.line}: {code}: {what} not rewritten: a subcommand of a shape "
                                            "--fix does not rewrite (see docs/lint-fix.md)")
        f.learn(st.kind, node, after)
    pieces.append(body[pos:])
    result.fixed = text[:bom] + "".join(pieces)
    return result


def _rewrite(st, node: dict, codes: set[str], f: _File) -> tuple[list[_Part], Counter]:
    tag = st.kind
    if tag == "IndexStmt" and "B101" in codes and not node.get("concurrent"):
        return _fix_create_index(st.sql, node, f), Counter({"B101": 1})
    if tag == "DropStmt" and "B102" in codes and node.get("removeType") == "OBJECT_INDEX" \
            and not node.get("concurrent"):
        return _fix_drop_index(st.sql, node), Counter({"B102": 1})
    if tag == "AlterTableStmt" and f.one_transaction and codes & {"B105", "B106", "B107"}:
        # (a B112 rewrite makes the migration run statement by statement: there is no second pass for it)
        raise _Skip(f"{f.one_transaction}: VALIDATE would run in the transaction that holds ADD CONSTRAINT's lock "
                    "and gain nothing (B125); add the constraint NOT VALID here and VALIDATE it in a later "
                    "migration (for SET NOT NULL: a CHECK (col IS NOT NULL) NOT VALID here; VALIDATE, SET NOT NULL "
                    "and DROP the CHECK later)")
    if tag == "AlterTableStmt" and codes & {"B105", "B106", "B107", "B108", "B112"}:
        # locations in the statement's own parse (st.node's are offsets in the whole parsed chunk)
        from pglast import parser

        own = json.loads(parser.parse_sql_json(st.sql))["stmts"][0]["stmt"]["AlterTableStmt"]
        return _fix_alter(st.sql, own, codes, f)
    raise _Skip(f"--fix does not rewrite this kind of statement ({tag})")


__all__ = ["FixResult", "fix_text", "FIXABLE", "make_object_name", "choose_name", "quote_ident", "Names",
           "names_before", "guess_layout", "GUESS", "SWITCHES"]
