"""Which tables a migration touches, and how, read from PostgreSQL's parse tree.

Verification snapshots these tables before the migration and compares after. The facts:
* every relation named anywhere in the script (tables read by a backfill must not change either);
* tables whose row count the migration may change (INSERT, COPY FROM, DELETE, TRUNCATE, MERGE);
* columns an UPDATE assigns (excluded from the "untouched data" checksum);
* whether the script is opaque (DO blocks, CALL): its effects cannot be read from the SQL;
* indexes it builds (for amcheck).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from bascule.migration import Statement

TableName = tuple[str | None, str]  # (schema or None, name) as written in the SQL


@dataclass
class Touch:
    tables: list[TableName] = field(default_factory=list)
    count_changing: set[TableName] = field(default_factory=set)
    updated_columns: dict[TableName, set[str]] = field(default_factory=dict)
    created: set[TableName] = field(default_factory=set)
    built_indexes: list[TableName] = field(default_factory=list)
    # columns dropped or retyped by ALTER TABLE: not part of the "untouched data" checksum
    altered_columns: dict[TableName, set[str]] = field(default_factory=dict)
    opaque: bool = False

    def add(self, t: TableName) -> None:
        if t not in self.tables:
            self.tables.append(t)


def _rangevar(d: dict) -> TableName:
    return d.get("schemaname"), d["relname"]


def _walk(node, touch: Touch) -> None:
    if isinstance(node, dict):
        if "relname" in node and "relpersistence" in node:  # a RangeVar
            touch.add(_rangevar(node))
        for v in node.values():
            _walk(v, touch)
    elif isinstance(node, list):
        for v in node:
            _walk(v, touch)


def touched(statements: list[Statement]) -> Touch:
    from pglast import parser

    touch = Touch()
    for st in statements:
        try:
            tree = json.loads(parser.parse_sql_json(st.sql))
        except parser.ParseError:  # already reported by the splitter; nothing to learn here
            continue
        for item in tree.get("stmts") or ():
            (tag, node), = item["stmt"].items()
            _walk(node, touch)
            rel = node.get("relation")
            if tag in ("InsertStmt", "DeleteStmt", "MergeStmt") and rel:
                touch.count_changing.add(_rangevar(rel))
            elif tag == "CopyStmt" and rel and node.get("is_from"):
                touch.count_changing.add(_rangevar(rel))
            elif tag == "TruncateStmt":
                for r in node.get("relations") or ():
                    touch.count_changing.add(_rangevar(r["RangeVar"]))
            elif tag == "UpdateStmt" and rel:
                cols = touch.updated_columns.setdefault(_rangevar(rel), set())
                for t in node.get("targetList") or ():
                    name = t.get("ResTarget", {}).get("name")
                    if name:
                        cols.add(name)
            elif tag in ("CreateStmt", "CreateTableAsStmt"):
                target = rel or (node.get("into") or {}).get("rel")
                if target:
                    touch.created.add(_rangevar(target))
            elif tag == "IndexStmt" and node.get("idxname"):
                touch.built_indexes.append(((rel or {}).get("schemaname"), node["idxname"]))
            elif tag == "AlterTableStmt" and rel:
                for cmd in node.get("cmds") or ():
                    c = cmd.get("AlterTableCmd", {})
                    if c.get("subtype") in ("AT_DropColumn", "AT_AlterColumnType") and c.get("name"):
                        touch.altered_columns.setdefault(_rangevar(rel), set()).add(c["name"])
            elif tag in ("DoStmt", "CallStmt"):
                touch.opaque = True
            elif tag == "DropStmt" and node.get("removeType") == "OBJECT_TABLE":
                for obj in node.get("objects") or ():
                    names = [i["String"]["sval"] for i in obj.get("List", {}).get("items", []) if "String" in i]
                    if names:
                        touch.add((names[-2] if len(names) > 1 else None, names[-1]))
    return touch
