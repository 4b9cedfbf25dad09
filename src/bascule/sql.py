"""Split SQL scripts into statements with PostgreSQL's own parser (pglast / libpg_query).

Never by regex on semicolons: dollar-quoted bodies, BEGIN ATOMIC bodies, comments and
quoted identifiers are the parser's business. Two things libpg_query does not know about
are handled here, the way psql handles them:

* `COPY ... FROM STDIN;` followed by data lines ending with a line `\\.`: the data is cut
  out of the text and attached to the COPY statement.
* `BEGIN;` / `COMMIT;` written in the file: bascule owns the transaction, so these are
  dropped (and reported) instead of ending bascule's transaction half way.
"""

from __future__ import annotations

from bascule.errors import SqlSyntaxError
from bascule.migration import Statement

_TXN_DROPPED = {"TRANS_STMT_BEGIN", "TRANS_STMT_START", "TRANS_STMT_COMMIT"}
_TXN_REFUSED = {
    "TRANS_STMT_ROLLBACK": "ROLLBACK",
    "TRANS_STMT_PREPARE": "PREPARE TRANSACTION",
    "TRANS_STMT_COMMIT_PREPARED": "COMMIT PREPARED",
    "TRANS_STMT_ROLLBACK_PREPARED": "ROLLBACK PREPARED",
}


def _line_col(text: str, offset: int, first_line: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset)
    last_nl = text.rfind("\n", 0, offset)
    return first_line + line, offset - last_nl


def _fix_error_offset(text: str, reported: int | None, message: str = "", rerun=None) -> int:
    """Turn the position pglast reports for a parse/scan error into a character offset in `text`.

    PostgreSQL reports error positions in characters; pglast reads that number as a UTF-8 byte
    offset and returns the index of the character holding that byte, or None when it falls
    past the last byte (an error "at end of input" in ASCII text, or no position at all). So
    the true offset lies in the byte range of character `reported`. When that range allows
    several offsets, `rerun(ascii_text)` (the same parse on a copy of the text with every
    non-ASCII character replaced by "z", where pglast's mapping is exact) picks the one."""
    if reported is None:
        return len(text) if "end of input" in message else 0
    if text.isascii() or not 0 <= reported < len(text):
        return max(0, min(reported, len(text)))
    start = len(text[:reported].encode("utf-8"))
    candidates = range(start, min(start + len(text[reported].encode("utf-8")), len(text) + 1))
    if not candidates:
        return reported
    if len(candidates) > 1 and rerun is not None:
        probe = rerun("".join(ch if ch.isascii() else "z" for ch in text))
        if probe in candidates:
            return probe
    return candidates[0]


def _error_offset(exc: Exception) -> int | None:
    pos = exc.args[1] if len(exc.args) > 1 else None
    return pos if isinstance(pos, int) else None


def _rerun(func):
    """`rerun` for _fix_error_offset: the exact error offset of func(ascii_text), if it fails."""
    from pglast import parser

    def probe(ascii_text: str) -> int | None:
        try:
            func(ascii_text)
        except parser.ParseError as exc:
            return _fix_error_offset(ascii_text, _error_offset(exc), exc.args[0] if exc.args else "")
        return None

    return probe


def _syntax_error(exc: Exception, text: str, offset_base: int, path: str, first_line: int, full: str):
    from pglast import parser

    message = exc.args[0] if exc.args else str(exc)
    off = offset_base + _fix_error_offset(text, _error_offset(exc), message, _rerun(parser.parse_sql))
    line, col = _line_col(full, off, first_line)
    return SqlSyntaxError(message, path, line, col, hint="fix the SQL; bascule parses with PostgreSQL's own parser")


def scan_prefix(text: str) -> list | None:
    """PostgreSQL's tokens of `text` (pglast scan: character offsets); when the text does not scan
    to its end (an unterminated quote or comment), the tokens of the longest prefix before the
    error. None when not even a prefix scans."""
    from pglast import parser

    limit = len(text)
    while True:
        try:
            return parser.scan(text[:limit])
        except parser.ParseError as exc:
            new_limit = _fix_error_offset(text[:limit], _error_offset(exc), exc.args[0] if exc.args else "",
                                          _rerun(parser.scan))
            if new_limit >= limit or new_limit <= 0:
                return None
            limit = new_limit


def _find_copy_from_stdin(text: str) -> tuple[int, int] | None:
    """Return (start, end) of the first `COPY ... FROM STDIN ... ;` statement, where end is the
    offset just past its semicolon, or None. Uses the lexer only: enough to see statement
    boundaries before the data, which the lexer cannot read."""
    tokens = scan_prefix(text)  # data lines may hold unterminated quotes
    if tokens is None:
        return None
    at_start = True
    copy_start = None
    saw_from_stdin = False
    prev = None
    for tok in tokens:
        if tok.name == "ASCII_59":  # ';'
            if copy_start is not None and saw_from_stdin:
                return copy_start, tok.end + 1
            at_start, copy_start, saw_from_stdin = True, None, False
            prev = tok
            continue
        if tok.name in ("SQL_COMMENT", "C_COMMENT"):
            continue
        if at_start:
            copy_start = tok.start if tok.name == "COPY" else None
            at_start = False
        elif copy_start is not None and tok.name == "STDIN" and prev is not None and prev.name == "FROM":
            saw_from_stdin = True
        prev = tok
    return None


def _set_config_call(target: dict) -> bool:
    fc = ((target.get("ResTarget") or {}).get("val") or {}).get("FuncCall") or {}
    names = [n["String"]["sval"] for n in fc.get("funcname") or () if "String" in n]
    return names[-1:] == ["set_config"]


def _defelem_false(arg: dict | None) -> bool:
    """REINDEX (CONCURRENTLY false|off|0) is the plain, transactional form."""
    if not arg:
        return False
    if "String" in arg:
        return arg["String"].get("sval", "").lower() in ("false", "off", "no", "0")
    if "Integer" in arg:
        return arg["Integer"].get("ival", 0) == 0
    if "Boolean" in arg:
        return not arg["Boolean"].get("boolval", False)
    return False


def do_body(node: dict) -> tuple[str | None, str]:
    """The body and language of a DO statement (libpg_query's JSON form)."""
    body, lang = None, "plpgsql"
    for a in node.get("args") or ():
        d = a.get("DefElem") or {}
        val = ((d.get("arg") or {}).get("String") or {}).get("sval")
        if d.get("defname") == "as":
            body = val
        elif d.get("defname") == "language" and val:
            lang = val.lower()
    return body, lang


def parse_do_body(body: str) -> str:
    """PostgreSQL's PL/pgSQL parse of a DO block's body, as JSON text (raises on a PL/pgSQL error)."""
    from pglast import parser

    return parser.parse_plpgsql_json("CREATE FUNCTION pg_temp.bascule_do() RETURNS void LANGUAGE plpgsql "
                                     f"AS $bascule_do${body}$bascule_do$")


def _do_ends_transactions(node: dict) -> bool:
    """Whether a PL/pgSQL DO block runs COMMIT or ROLLBACK (PostgreSQL 11+ transaction control),
    read with PostgreSQL's own PL/pgSQL parser: such a block fails inside a transaction block."""
    body, lang = do_body(node)
    low = (body or "").lower()
    if lang != "plpgsql" or ("commit" not in low and "rollback" not in low) or "$bascule_do$" in low:
        return False
    try:
        tree = parse_do_body(body)
    except Exception:  # PostgreSQL reports the PL/pgSQL error when the block runs
        return False
    return '"PLpgSQL_stmt_commit"' in tree or '"PLpgSQL_stmt_rollback"' in tree


def _classify(tag: str, node: dict) -> dict:
    """Facts about one parsed statement (libpg_query's JSON form) that decide how the runner
    executes it. JSON omits false/empty fields, hence the .get() everywhere."""
    facts: dict = {"kind": tag}
    if tag == "IndexStmt" and node.get("concurrent"):
        facts["no_transaction"] = True
        rel = node.get("relation") or {}
        idx = node.get("idxname")
        facts["concurrent_index"] = (rel.get("schemaname"), idx, rel.get("relname")) if idx else None
    elif tag == "DropStmt" and node.get("concurrent"):
        facts["no_transaction"] = True
    elif tag == "ReindexStmt":
        for p in node.get("params") or ():
            d = p.get("DefElem", {})
            if d.get("defname") == "concurrently" and not _defelem_false(d.get("arg")):
                facts["no_transaction"] = True
        if node.get("kind") in ("REINDEX_OBJECT_DATABASE", "REINDEX_OBJECT_SYSTEM", "REINDEX_OBJECT_SCHEMA"):
            facts["no_transaction"] = True
    elif tag == "AlterTableStmt":
        for cmd in node.get("cmds") or ():
            c = cmd.get("AlterTableCmd", {})
            if c.get("subtype") == "AT_DetachPartition" and c.get("def", {}).get("PartitionCmd", {}).get("concurrent"):
                facts["no_transaction"] = True
    elif tag == "VacuumStmt" and node.get("is_vacuumcmd"):
        facts["no_transaction"] = True
    elif tag in ("CreatedbStmt", "DropdbStmt", "AlterSystemStmt", "CreateTableSpaceStmt",
                 "DropTableSpaceStmt", "CreateSubscriptionStmt", "DropSubscriptionStmt"):
        facts["no_transaction"] = True
    elif tag == "ClusterStmt" and not node.get("relation"):
        facts["no_transaction"] = True
    elif tag == "AlterEnumStmt" and node.get("newVal") is not None and not node.get("oldVal"):
        # ADD VALUE: refused in a transaction block before PostgreSQL 12.
        facts["no_transaction_before"] = 120000
    elif tag in ("DoStmt", "CallStmt"):
        facts["autocommit_only"] = True
        if tag == "DoStmt" and _do_ends_transactions(node):
            facts["no_transaction"] = True  # COMMIT/ROLLBACK in a DO block: refused inside a transaction block
    elif tag == "DiscardStmt" and node.get("target") == "DISCARD_ALL":
        facts["no_transaction"] = True
    elif tag == "AlterDatabaseStmt" and any((o.get("DefElem") or {}).get("defname") == "tablespace"
                                             for o in node.get("options") or ()):
        facts["no_transaction"] = True  # ALTER DATABASE ... SET TABLESPACE
    elif tag == "VariableSetStmt" and not node.get("is_local"):
        facts["sets_session"] = True
    elif tag == "SelectStmt" and not node.get("fromClause") and node.get("targetList") and all(
            _set_config_call(t) for t in node["targetList"]):
        facts["sets_session"] = True  # SELECT set_config(...): replayed on resume like a SET
    return facts


def _parse_chunk(chunk: str, base: int, full: str, path: str, first_line: int, out: list,
                 dropped: list[bool]) -> None:
    """Parse once with libpg_query's JSON output (much cheaper than building pglast's Python
    node objects) and cut the statements out by their byte offsets."""
    import json

    from pglast import parser

    if not chunk.strip():
        return
    try:
        tree = json.loads(parser.parse_sql_json(chunk))
    except parser.ParseError as exc:
        raise _syntax_error(exc, chunk, base, path, first_line, full) from None
    raw = None if chunk.isascii() else chunk.encode("utf-8")
    # The statements come in order: count characters and newlines from the previous one only (a
    # 10,000-statement dump must not rescan its text from the top for each).
    seen, seen_line, last_nl = base, first_line + full.count("\n", 0, base), full.rfind("\n", 0, base)
    seen_byte, seen_char = 0, 0
    for item in tree.get("stmts") or ():
        loc = item.get("stmt_location", 0)
        length = item.get("stmt_len", 0)
        if raw is None:
            sql = chunk[loc: loc + length] if length else chunk[loc:]
            start = base + loc
        else:
            sql = (raw[loc: loc + length] if length else raw[loc:]).decode("utf-8")
            seen_char += len(raw[seen_byte:loc].decode("utf-8"))  # locations fall on token starts
            seen_byte = loc
            start = base + seen_char
        sql = sql.rstrip()
        (tag, node), = item["stmt"].items()
        if tag == "TransactionStmt":
            kind = node.get("kind", "")
            if kind in _TXN_DROPPED:
                dropped[0] = True
                continue
            if kind in _TXN_REFUSED:
                line, col = _line_col(full, start, first_line)
                raise SqlSyntaxError(
                    f"{_TXN_REFUSED[kind]} is not allowed in a migration",
                    path, line, col,
                    hint="bascule runs each migration in its own transaction and rolls it back on failure",
                )
        seen_line += full.count("\n", seen, start)
        nl = full.rfind("\n", seen, start)
        if nl >= 0:
            last_nl = nl
        seen = start
        line, col = seen_line, start - last_nl
        facts = _classify(tag, node)
        out.append(Statement(index=len(out), sql=sql, path=path, line=line, column=col,
                             kind=facts.pop("kind"), node=node, node_base=loc, **facts))


def split_statements(text: str, path: str = "<string>", first_line: int = 1) -> tuple[list[Statement], bool]:
    """Split `text` into statements. Returns (statements, dropped_transaction_control).

    Raises SqlSyntaxError with the file, line and column of the first error."""
    nul = text.find("\x00")
    if nul >= 0:  # libpg_query reads a C string: it would silently ignore everything after it
        line, col = _line_col(text, nul, first_line)
        raise SqlSyntaxError("NUL character in SQL text", path, line, col,
                             hint="PostgreSQL does not accept NUL characters in SQL; remove it")
    out: list[Statement] = []
    dropped = [False]
    pos = 0
    n = len(text)
    while pos < n:
        rest = text[pos:]
        found = _find_copy_from_stdin(rest) if "stdin" in rest.lower() else None
        if found is None:
            _parse_chunk(rest, pos, text, path, first_line, out, dropped)
            break
        cstart, cend = found
        _parse_chunk(rest[:cend], pos, text, path, first_line, out, dropped)
        copy_stmt = out[-1]
        # Data starts on the line after the statement and ends at a line holding only "\.".
        data_start = rest.find("\n", cend)
        data_start = len(rest) if data_start < 0 else data_start + 1
        lines_end = data_start
        data_end = None
        while lines_end < len(rest):
            nl = rest.find("\n", lines_end)
            line_text = rest[lines_end: nl if nl >= 0 else len(rest)]
            if line_text.rstrip("\r") == "\\.":
                data_end = lines_end
                lines_end = nl + 1 if nl >= 0 else len(rest)
                break
            lines_end = nl + 1 if nl >= 0 else len(rest)
        if data_end is None:
            line, col = _line_col(text, pos + cstart, first_line)
            raise SqlSyntaxError("COPY ... FROM STDIN data is not terminated by a line \\.", path, line, col,
                                 hint="end the data rows with a line containing only \\.")
        out[-1] = Statement(
            index=copy_stmt.index, sql=copy_stmt.sql, path=path, line=copy_stmt.line, column=copy_stmt.column,
            kind=copy_stmt.kind, copy_data=rest[data_start:data_end], node=copy_stmt.node,
            node_base=copy_stmt.node_base,
        )
        pos += lines_end
    return out, dropped[0]
