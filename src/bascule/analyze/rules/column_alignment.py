"""B413 column-alignment: CREATE TABLE whose column order wastes bytes on alignment padding in every row."""

from __future__ import annotations

from bascule.analyze.facts import SERIAL, type_ref
from bascule.analyze.model import Rule

MIN_SAVING = 8  # bytes per row

# Fixed-width types: (size, alignment) from pg_type (typlen, typalign). Anything else is variable
# (text, varchar, numeric, jsonb, bytea, arrays, ...) or unknown (domains, composites, extensions).
FIXED = {
    "int8": (8, 8), "float8": (8, 8), "timestamp": (8, 8), "timestamptz": (8, 8), "time": (8, 8),
    "timetz": (12, 8), "interval": (16, 8), "money": (8, 8), "pg_lsn": (8, 8), "xid8": (8, 8), "point": (16, 8),
    "circle": (24, 8), "line": (24, 8), "lseg": (32, 8), "box": (32, 8),
    "int4": (4, 4), "float4": (4, 4), "date": (4, 4), "oid": (4, 4), "xid": (4, 4), "cid": (4, 4),
    "regclass": (4, 4), "regtype": (4, 4), "regproc": (4, 4), "macaddr": (6, 4), "macaddr8": (8, 4),
    "int2": (2, 2), "tid": (6, 2),
    "bool": (1, 1), "char": (1, 1), "uuid": (16, 1), "name": (64, 1),
}


def _shape(cd: dict, enums) -> tuple[int, int] | None:
    t = type_ref(cd.get("typeName"))
    if t is None or t.array:
        return None
    if t.schema is None and t.name in SERIAL:
        return FIXED[SERIAL[t.name]]
    if t.schema is None and t.name in FIXED:
        return FIXED[t.name]
    if t.name in enums:
        return 4, 4  # an enum value is stored as its 4-byte OID
    return None


def padding(shapes: list[tuple[int, int] | None]) -> tuple[float, int]:
    """(expected padding bytes between columns, end offset of the last fixed column) for columns laid out in
    this order from an 8-aligned start. After a variable-length column the offset is unknown: the next
    column's padding is then the average over the offsets it could have."""
    res, mod = 0, 8  # the offset is known modulo `mod`: res
    pad = 0.0
    end = 0
    for sh in shapes:
        if sh is None:
            res, mod = 0, 1
            continue
        size, align = sh
        if mod >= align:
            p = (-res) % align
            res = (res + p + size) % mod
        else:
            n = align // mod
            p = sum((-(res + k * mod)) % align for k in range(n)) / n
            res, mod = size % align, align
        pad += p
        end += p + size
    return pad, int(end)


def check(s):
    node = s.node
    if node.get("partbound") or node.get("inhRelations") or node.get("ofTypename"):
        return  # columns come from elsewhere too
    cols = []
    for e in node.get("tableElts") or ():
        if "TableLikeClause" in e:
            return
        if "ColumnDef" in e:
            cols.append(e["ColumnDef"])
    enums = s.known.enums
    shapes = [_shape(cd, enums) for cd in cols]
    fixed = [i for i, sh in enumerate(shapes) if sh is not None]
    if len(fixed) < 2:
        return
    declared, end = padding(shapes)
    best_order = sorted(fixed, key=lambda i: -shapes[i][1]) + [i for i, sh in enumerate(shapes) if sh is None]
    best, best_end = padding([shapes[i] for i in best_order])
    variable = len(fixed) < len(shapes)
    if variable:
        saving = declared - best
    else:  # every row is padded to a multiple of 8 at its end anyway
        saving = (-(-end // 8) * 8) - (-(-best_end // 8) * 8)
    if saving < MIN_SAVING:
        return
    table = (node.get("relation") or {}).get("relname")
    amount = f"about {int(saving)}" if variable else str(int(saving))  # estimated around variable-length values
    order = ", ".join(cols[i].get("colname") for i in best_order)
    yield s.finding(RULE, f"the column order of {table} wastes {amount} bytes per row on alignment padding; "
                          f"this order avoids it: {order}",
                    table=table, location=(node.get("relation") or {}).get("location"))


RULE = Rule(
    code="B413", name="column-alignment", severity="info", category="design",
    summary="the declared column order wastes bytes per row on alignment padding",
    why="PostgreSQL stores a row's columns in their declared order and aligns each fixed-width value to its "
        "type's boundary (8 bytes for bigint, timestamptz, double precision; 4 for integer, date; 2 for smallint), "
        "padding with unused bytes. A boolean or integer placed before a bigint wastes up to 7 bytes in every row "
        "and every heap page; the order cannot be changed later without rewriting the table.",
    fix="Declare fixed-width columns from the widest alignment to the narrowest (8-byte types, then 4, 2, 1: "
        "boolean and uuid need no alignment), and variable-length ones (text, numeric, jsonb, arrays) last. The "
        "finding gives such an order; keep the key first if you prefer, as long as the rest follows the rule.",
    kinds=("CreateStmt",),
    peers=("Atlas PG110 (formerly AR101)",),
    check=check,
)
