"""`bascule lint` as a user runs it: configuration errors, --since in any repository and with any
file name, input that is not UTF-8, which comments are suppressions, rule settings for the
analyzer's own checks (B502, B901-B903), --fix through a symbolic link, and the paths GitHub and
SARIF consumers get."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

INDEX = "CREATE INDEX ON users (email);\n"


def lint(cwd: Path, *args: str, input: bytes | None = None, config: str | None = None,
         check: int | None = None) -> subprocess.CompletedProcess:
    pre = ["-c", config] if config else []
    res = subprocess.run([sys.executable, "-m", "bascule.cli.main", *pre, "lint", *args], cwd=cwd, input=input,
                         capture_output=True, timeout=120)
    res.stdout, res.stderr = res.stdout.decode("utf-8", "replace"), res.stderr.decode("utf-8", "replace")
    assert "Traceback" not in res.stderr, res.stderr
    if check is not None:
        assert res.returncode == check, f"exit {res.returncode}\nstdout:\n{res.stdout}\nstderr:\n{res.stderr}"
    return res


def findings(res: subprocess.CompletedProcess) -> list[tuple[str, str, int]]:
    return [(f["code"], Path(f["path"]).name if f["path"] != "<stdin>" else f["path"], f["line"])
            for f in json.loads(res.stdout)["findings"] if not f["suppressed"]]


def git(cwd: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
           "HOME": str(cwd), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=env).stdout


def project(root: Path, migrations: dict[str, str], toml: str = "[project]\n") -> Path:
    (root / "migrations").mkdir(parents=True)
    (root / "bascule.toml").write_text(toml)
    for name, up in migrations.items():
        (root / "migrations" / name).mkdir()
        (root / "migrations" / name / "up.sql").write_text(up)
        (root / "migrations" / name / "down.sql").write_text("SELECT 1;\n")
    return root


# ----------------------------------------------------------------------------- 1. bascule.toml

def test_a_broken_bascule_toml_is_a_configuration_error_not_the_defaults(tmp_path):
    root = project(tmp_path / "p", {"001_a": INDEX})
    (root / "bascule.toml").write_text('[lint]\ndisable = ["B101"]\n')
    lint(root, "migrations", check=0)  # valid: B101 disabled
    (root / "bascule.toml").write_text('[lint]\ndisable = ["B101"]\n[projetc]\nmigrations = "migrations"\n')
    res = lint(root, "migrations", check=2)
    assert "unknown section(s) projetc" in res.stderr and not res.stdout
    (root / "bascule.toml").write_text('[lint]\ndisable = ["B101"]\nseverity = {B404 = "error"\n')
    assert "invalid TOML" in lint(root, "migrations", check=2).stderr
    res = lint(root, check=2)  # no path: the config's error, not "nothing to lint"
    assert "invalid TOML" in res.stderr and "nothing to lint" not in res.stderr
    # --config naming a missing file
    assert "does not exist" in lint(root, "migrations", config=str(tmp_path / "nope.toml"), check=2).stderr
    # plain .sql files outside any project still lint
    (tmp_path / "loose").mkdir()
    (tmp_path / "loose" / "a.sql").write_text(INDEX)
    assert "B101" in lint(tmp_path / "loose", "a.sql", check=1).stdout


# ----------------------------------------------------------------------------- 2, 3. --since

@pytest.fixture
def branch(tmp_path) -> Path:
    """A repository whose branch `feat` adds migrations with names git quotes, one untracked."""
    root = project(tmp_path / "repo", {"001_base": "CREATE TABLE users (id bigint, email text);\n"})
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    git(root, "checkout", "-qb", "feat")
    for name in ("002_ascii", "003_café", '004_say"hi"', "005_tab\tbed"):
        (root / "migrations" / name).mkdir()
        (root / "migrations" / name / "up.sql").write_text(INDEX)
        (root / "migrations" / name / "down.sql").write_text("SELECT 1;\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "feat")
    (root / "migrations" / "006_naïve").mkdir()
    (root / "migrations" / "006_naïve" / "up.sql").write_text(INDEX)
    (root / "migrations" / "006_naïve" / "down.sql").write_text("SELECT 1;\n")
    return root


NEW = ["002 ascii", "003 café", '004 say"hi"', "005 tab\tbed", "006 naïve"]


def _reported(res) -> list[str]:
    return [m["migration"] for m in json.loads(res.stdout)["migrations"]]


def test_since_reports_migrations_whose_names_git_quotes(branch):
    res = lint(branch, "--since", "main", "--format", "json", check=1)
    assert _reported(res) == NEW


def test_since_asks_the_repository_that_holds_the_linted_paths(branch, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    git(other, "init", "-q", "-b", "main")
    git(other, "commit", "-q", "--allow-empty", "-m", "x")
    folder = str(branch / "migrations")
    assert _reported(lint(other, "--since", "main", "--format", "json", folder, check=1)) == NEW
    outside = tmp_path / "outside"  # in no repository at all
    outside.mkdir()
    assert _reported(lint(outside, "--since", "main", "--format", "json", folder, check=1)) == NEW
    # a linted path in no repository: said so, not "takes a git ref"
    (outside / "m.sql").write_text(INDEX)
    res = lint(branch, "--since", "main", str(outside / "m.sql"), check=2)
    assert "not in a git repository" in res.stderr and "takes a git ref" not in res.stderr
    # a ref the repository does not have
    assert "no such commit" in lint(outside, "--since", "nope", folder, check=2).stderr


# ----------------------------------------------------------------------------- 4. not UTF-8

def test_a_migration_that_is_not_utf8_is_a_finding_in_a_layout_folder_and_on_stdin(tmp_path):
    root = project(tmp_path, {"001_a": "CREATE TABLE users (id bigint, e text);\n", "002_b": "",
                              "003_c": "CREATE INDEX ON users (id);\n"})
    (root / "migrations" / "002_b" / "up.sql").write_bytes(b"CREATE INDEX ON users (e); -- caf\xe9 (latin-1)\n")
    res = lint(root, "--format", "json", check=1)
    assert ("B502", "up.sql", 1) in findings(res) and ("B101", "up.sql", 1) in findings(res)
    bad = next(f for f in json.loads(res.stdout)["findings"] if f["code"] == "B502")
    assert bad["path"].endswith("002_b/up.sql") and "not UTF-8" in bad["message"]
    # other commands still refuse the file
    assert "not valid UTF-8" in subprocess.run([sys.executable, "-m", "bascule.cli.main", "validate", "--offline"],
                                               cwd=root, capture_output=True, text=True).stderr
    res = lint(tmp_path, "-", "--format", "json", input=b"CREATE INDEX ON users (\xff);\n", check=1)
    assert findings(res) == [("B502", "<stdin>", 1)]


# ----------------------------------------------------------------------------- 5. suppression comments

def test_only_real_comments_are_suppressions(tmp_path):
    (tmp_path / "m.sql").write_text(
        "INSERT INTO notes (body) VALUES ('tip: write -- bascule:ignore-file B101 reason to silence it');\n"
        "CREATE INDEX ON users (email);\n"
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 -- bascule:ignore B101 in a body\n$$;\n"
        'CREATE TABLE "-- bascule:ignore B404 x" (a int);\n')
    res = lint(tmp_path, "--format", "json", "m.sql", check=1)
    codes = [c for c, _, _ in findings(res)]
    assert "B101" in codes and "B901" not in codes and "B903" not in codes


def test_block_comments_and_lower_case_codes_suppress(tmp_path):
    (tmp_path / "m.sql").write_text(
        "/* bascule:ignore B101 lookup table,\n   40 rows */\nCREATE INDEX ON colors (name);\n"
        "CREATE INDEX ON sizes (name); /* bascule:ignore b101 12 rows */\n"
        "-- bascule:ignore b101 built while writes are paused\nCREATE INDEX ON shapes (name);\n")
    doc = json.loads(lint(tmp_path, "--format", "json", "m.sql", check=0).stdout)
    assert [f["suppressed"] for f in doc["findings"]] == ["lookup table, 40 rows", "12 rows",
                                                          "built while writes are paused"]


# ----------------------------------------------------------------------------- 6. B502, B901-B903 settings

SUPPRESSED = ("-- bascule:ignore B203 column unused since 4.2\nALTER TABLE t DROP COLUMN legacy;\n"
              "-- bascule:ignore B101\nCREATE INDEX ON users (e);\n-- bascule:ignore B1O1 typo\nSELECT 1;\n")


def test_suppression_checks_follow_the_rule_settings(tmp_path):
    (tmp_path / "m.sql").write_text(SUPPRESSED)
    codes = lambda *a: {c for c, _, _ in findings(lint(tmp_path, "--format", "json", *a, "m.sql"))}  # noqa: E731
    assert {"B902", "B903"} <= codes()
    assert not {"B902", "B903"} & codes("--disable", "B902,B903")
    (tmp_path / "bascule.toml").write_text('[lint]\ndisable = ["B903"]\nseverity = { B902 = "off" }\n')
    assert not {"B902", "B903"} & codes()
    (tmp_path / "bascule.toml").write_text('[lint]\nseverity = { B902 = "warning" }\n')
    doc = json.loads(lint(tmp_path, "--format", "json", "m.sql").stdout)
    assert {f["severity"] for f in doc["findings"] if f["code"] == "B902"} == {"warning"}
    (tmp_path / "bascule.toml").unlink()
    # B502 cannot be turned off: refused, not ignored
    assert "B502 cannot be disabled" in lint(tmp_path, "--disable", "B502", "m.sql", check=2).stderr


def test_a_suppression_of_a_rule_that_did_not_run_is_not_unused(tmp_path):
    (tmp_path / "m.sql").write_text("-- bascule:ignore B203 column unused since 4.2\nALTER TABLE t DROP COLUMN legacy;\n"
                                    "-- bascule:ignore B101 tiny table\nCREATE INDEX ON users (e);\n")
    for args in (["--only", "B101,B901"], ["--disable", "B203"]):
        res = lint(tmp_path, "--format", "json", *args, "m.sql", check=0)
        assert "B901" not in {c for c, _, _ in findings(res)}, args
    (tmp_path / "m.sql").write_text("-- bascule:ignore B203 column unused since 4.2\nSELECT 1;\n")
    assert ("B901", "m.sql", 1) in findings(lint(tmp_path, "--format", "json", "m.sql"))  # ran, matched nothing


# ----------------------------------------------------------------------------- 7. --fix and symbolic links

def test_fix_writes_through_a_symbolic_link(tmp_path):
    (tmp_path / "shared").mkdir()
    (tmp_path / "app").mkdir()
    (tmp_path / "shared" / "001.sql").write_text(INDEX)
    (tmp_path / "app" / "001.sql").symlink_to("../shared/001.sql")
    lint(tmp_path, "--fix", "app/001.sql", check=0)
    assert (tmp_path / "app" / "001.sql").is_symlink()
    assert "CONCURRENTLY" in (tmp_path / "shared" / "001.sql").read_text()
    assert sorted(p.name for p in (tmp_path / "app").iterdir()) == ["001.sql"]


# ----------------------------------------------------------------------------- 8. GitHub and SARIF paths

def test_github_and_sarif_paths_are_relative_to_the_repository_root(tmp_path):
    root = tmp_path / "repo"
    project(root / "backend", {"001_add idx": INDEX})
    git(root, "init", "-q", "-b", "main")
    backend = root / "backend"
    first = lint(backend, "--format", "github", check=1).stdout.splitlines()[0]
    assert first.startswith("::error file=backend/migrations/001_add idx/up.sql,line=1,col=1,")
    for cwd, args in ((backend, []), (tmp_path, [str(backend / "migrations")])):
        doc = json.loads(lint(cwd, "--format", "sarif", *args, check=1).stdout)
        uris = {loc["physicalLocation"]["artifactLocation"]["uri"]
                for r in doc["runs"][0]["results"] for loc in r["locations"]}
        assert uris == {"backend/migrations/001_add%20idx/up.sql"}
    doc = json.loads(lint(tmp_path, "--format", "sarif", "-", input=INDEX.encode(), check=1).stdout)
    (loc,) = doc["runs"][0]["results"][0]["locations"]
    assert "uri" not in loc["physicalLocation"]["artifactLocation"]
    assert "<stdin>" not in json.dumps(doc)
    assert "file=" not in lint(tmp_path, "--format", "github", "-", input=INDEX.encode(), check=1).stdout


def test_sarif_uri_of_a_file_name_that_is_not_utf8(tmp_path):
    """A file name that is not UTF-8 keeps its bytes, percent-encoded (it crashed the report)."""
    name = os.fsdecode(b"caf\xe9.sql")
    (tmp_path / name).write_text(INDEX)
    doc = json.loads(lint(tmp_path, "--format", "sarif", name, check=1).stdout)
    uris = {loc["physicalLocation"]["artifactLocation"]["uri"]
            for r in doc["runs"][0]["results"] for loc in r["locations"]}
    assert uris == {"caf%E9.sql"}


def test_git_is_asked_once_per_repository_not_per_file(tmp_path, monkeypatch):
    """--since with many files (as a pre-commit hook passes them): one `rev-parse --show-toplevel`
    for the repository, not one per file."""
    from bascule.analyze import inputs

    root = tmp_path / "repo"
    project(root, {f"{i:03d}_m": INDEX for i in range(40)})
    git(root, "init", "-q", "-b", "main")
    git(root, "commit", "-q", "--allow-empty", "-m", "start")
    calls = []
    real = inputs._git
    monkeypatch.setattr(inputs, "_git", lambda args, cwd: calls.append(args) or real(args, cwd))
    inputs._top_level.cache_clear()
    files = [str(p) for p in sorted((root / "migrations").glob("*/up.sql"))]
    added = inputs.added_since("HEAD", files)
    assert {str(p) for p in added} >= {str(Path(f).resolve()) for f in files}
    assert sum(1 for a in calls if a[:2] == ["rev-parse", "--show-toplevel"]) == 1


# ----------------------------------------------------------------------------- 9. usage errors

def test_usage_that_cannot_be_honoured_is_refused(tmp_path):
    (tmp_path / "m.sql").write_text(INDEX)
    assert "more than once" in lint(tmp_path, "-", "-", input=INDEX.encode(), check=2).stderr
    assert "no rule left to run" in lint(tmp_path, "--only", "B101", "--disable", "B101", "m.sql", check=2).stderr
    assert "text or json" in lint(tmp_path, "--list-rules", "--format", "sarif", check=2).stderr


def test_rule_codes_on_the_command_line_and_in_library_calls_in_any_case(tmp_path):
    """`--disable b101` is B101; and a caller of lint_sql gets the same suppression bookkeeping as
    the command line (a suppression of a rule left out is not unused)."""
    from bascule.analyze import lint_sql

    (tmp_path / "m.sql").write_text(INDEX)
    assert "B101" not in {c for c, _, _ in findings(lint(tmp_path, "--disable", "b101", "--format", "json", "m.sql"))}
    sql = "-- bascule:ignore B203 the column is unused since v4\nALTER TABLE t DROP COLUMN c;\n"
    codes = {f.code for f in lint_sql(sql, disabled=["B203"]).findings}
    assert "B901" not in codes and "B203" not in codes
