"""Connections to a target database, with errors a user can act on and no password leaks."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from bascule.errors import DatabaseError

_PW_IN_KV = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.I)


def redact_url(url: str) -> str:
    """Replace the password in a URL (or key=value conninfo) with ***."""
    if not url:
        return url
    if "://" not in url:
        return _PW_IN_KV.sub(r"\1***", url)
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable url>"
    netloc = parts.netloc
    if "@" not in netloc and "password=" not in parts.query:
        return url
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        if ":" in userinfo:
            user = userinfo.split(":", 1)[0]
            netloc = f"{user}:***@{hostport}"
    query = re.sub(r"(^|&)(password=)[^&]*", r"\1\2***", parts.query)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def scrub(text: str, url: str | None) -> str:
    """Remove the URL's password from a message (psycopg may echo conninfo)."""
    if not url or "://" not in url:
        return text
    try:
        pw = urlsplit(url).password
    except ValueError:
        pw = None
    if pw:
        text = text.replace(pw, "***")
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


def server_version(conn) -> int:
    return conn.info.server_version
