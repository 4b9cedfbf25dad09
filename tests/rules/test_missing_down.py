"""B304 missing-down, through the library and through real migration folders."""

import json
import subprocess
import sys

from bascule.analyze import lint_sql


def test_fires_only_where_the_layout_has_downs():
    assert [f.code for f in lint_sql("SELECT 1;", expects_down=True).findings] == ["B304"]
    assert not lint_sql("SELECT 1;", expects_down=False).findings
    assert not lint_sql("SELECT 1;", expects_down=True, down="SELECT 1;").findings


def _lint(folder):
    res = subprocess.run([sys.executable, "-m", "bascule.cli.main", "lint", "--format", "json", str(folder)],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode in (0, 1), res.stderr
    return [(f["code"], f["migration"]) for f in json.loads(res.stdout)["findings"] if f["code"] == "B304"]


def test_native_and_golang_migrate_folders(tmp_path):
    native = tmp_path / "native"
    for name, down in (("0001_a", True), ("0002_b", False)):
        (native / name).mkdir(parents=True)
        (native / name / "up.sql").write_text("CREATE TABLE IF NOT EXISTS x (id bigint);\n")
        if down:
            (native / name / "down.sql").write_text("DROP TABLE x;\n")
    assert _lint(native) == [("B304", "0002 b")]
    gm = tmp_path / "gm"
    gm.mkdir()
    (gm / "1_a.up.sql").write_text("SELECT 1;\n")
    (gm / "1_a.down.sql").write_text("SELECT 1;\n")
    (gm / "2_b.up.sql").write_text("SELECT 1;\n")
    assert [code for code, _ in _lint(gm)] == ["B304"]


def test_plain_files_and_prisma_are_not_checked(tmp_path):
    (tmp_path / "a.sql").write_text("SELECT 1;\n")
    assert _lint(tmp_path) == []
