"""Version ordering that works for every layout bascule reads.

Forms seen in the wild, all ordered chronologically / numerically:
  20140924113530            compact timestamp (golang-migrate, dbmate, Prisma prefix)
  2017-09-23-182408         diesel
  2026-06-02-122008-0000    diesel with sub-second suffix
  1.2.10, 1_2_10, 3         Flyway-style dotted (underscores read as dots), plain integers
A version becomes a tuple of integers. Date-shaped versions collapse to
(YYYYMMDDHHMMSS, rest...) so that `2017-09-23-182408` and `20170923182408` compare equal
and sort among compact timestamps. Trailing zero parts are dropped, so `1.0` and `1` are the
same version (as in Flyway) and count as a duplicate.
"""

from __future__ import annotations

import re

_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[-_T ]?(\d{2}):?(\d{2}):?(\d{2}))?((?:[-_.]\d+)*)$")
_PARTS = re.compile(r"\d+")


def version_key(version: str) -> tuple[int, ...]:
    """Sort key for a version string. Raises ValueError when it holds no digits."""
    v = version.strip()
    m = _DATE.match(v)
    if m:
        y, mo, d, hh, mi, ss, rest = m.groups()
        stamp = int(f"{y}{mo}{d}{hh or '00'}{mi or '00'}{ss or '00'}")
        parts = [stamp] + [int(p) for p in _PARTS.findall(rest or "")]
    else:
        parts = [int(p) for p in _PARTS.findall(v)]
        if not parts:
            raise ValueError(f"version {version!r} has no number in it")
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def sort_versions(versions: list[str]) -> list[str]:
    return sorted(versions, key=version_key)
