"""Connections to a target database, with errors a user can act on and no password leaks."""

from __future__ import annotations

import re

from bascule.errors import DatabaseError

_PW_IN_KV = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'?|\S+)", re.I)


def _split_password(url: str) -> tuple[str, str | None, str]:
    """(before, password, after) for a URL; password None when there is none in the authority.

    Done by hand rather than with urllib: libpq accepts passwords with '#', '?' or '/' that
    urlsplit would cut at, and a redactor must err on the side of hiding too much."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url, None, ""
    at = rest.find("@")
    if at < 0:
        return url, None, ""
    userinfo = rest[:at]
    colon = userinfo.find(":")
    if colon < 0:
        return url, None, ""
    head = f"{scheme}://{userinfo[:colon + 1]}"
    return head, userinfo[colon + 1:], rest[at:]


def redact_url(url: str) -> str:
    """Replace the password in a URL (or key=value conninfo) with ***."""
    if not url:
        return url
    if "://" not in url:
        return _PW_IN_KV.sub(r"\1***", url)
    head, pw, tail = _split_password(url)
    out = f"{head}***{tail}" if pw is not None else url
    return re.sub(r"([?&]password=)[^&]*", r"\1***", out)


def scrub(text: str, url: str | None) -> str:
    """Remove the URL's password from a message (psycopg may echo conninfo)."""
    if not url:
        return text
    secrets = []
    if "://" in url:
        _, pw, _ = _split_password(url)
        if pw:
            from urllib.parse import unquote

            secrets += [pw, unquote(pw)]
        secrets += [unquote_q for unquote_q in re.findall(r"[?&]password=([^&]*)", url)]
    else:
        secrets += [m.group(2).strip("'") for m in _PW_IN_KV.finditer(url)]
    for sec in sorted(set(filter(None, secrets)), key=len, reverse=True):
        text = text.replace(sec, "***")
    return text


def connect_reason(text: str, url: str | None) -> str:
    """The useful part of libpq's message: the reason after the last 'failed:', on one line.
    With several hosts libpq reports each; the last is the one that decided."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    if not lines:
        return "connection failed"
    reasons = [ln for ln in lines if " failed: " in ln]
    main = reasons[-1] if reasons else lines[0]
    main = re.sub(r"^connection (failed|is bad): ", "", main)
    m = re.match(r"^connection to server (.*?) failed: (.*)$", main)
    if m:
        main = f"{m.group(2)} ({m.group(1)})"
    return scrub(main, url)


def _explain(msg: str) -> str:
    low = msg.lower()
    if "password authentication failed" in low or "no password supplied" in low:
        return "check the user name and password for this environment"
    if "does not exist" in low and "database" in low:
        return "create the database first, or fix the database name in the URL"
    if "no such file or directory" in low or "connection refused" in low or "could not translate host" in low:
        return "is the server running and the host/port right? For the embedded server: bascule embedded start"
    if "timeout" in low:
        return "the server did not answer in time; check the network and host"
    return "check the URL (bascule.toml, --url, --env or DATABASE_URL)"


def connect(url: str, application_name: str = "bascule", autocommit: bool = True, connect_timeout: int = 10):
    """Open a psycopg connection; failures become DatabaseError with a redacted URL and a hint."""
    import psycopg

    try:
        return psycopg.connect(url, autocommit=autocommit, application_name=application_name,
                               connect_timeout=connect_timeout)
    except psycopg.OperationalError as exc:
        raise DatabaseError(f"cannot connect to {redact_url(url)}: {connect_reason(str(exc), url)}",
                            hint=_explain(str(exc))) from None
    except psycopg.ProgrammingError as exc:
        raise DatabaseError(f"invalid connection URL {redact_url(url)}: {scrub(str(exc).strip(), url)}",
                            hint="a URL looks like postgresql://user:password@host:5432/dbname") from None

