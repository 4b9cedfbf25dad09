"""Every rule has its module, its documentation page and its tests, and the catalogue in
docs/lint.md lists it: a rule cannot ship undocumented or untested."""

from __future__ import annotations

import re
from pathlib import Path

from bascule.analyze import rules as registry

ROOT = Path(__file__).resolve().parents[1]


def test_every_rule_module_loads_and_codes_are_unique():
    loaded = registry.load()
    assert len(loaded) == len(registry.MODULES)  # no module silently missing
    codes = [r.code for r, _ in loaded] + [registry.SYNTAX.code, registry.INTERNAL.code] + \
        [r.code for r in registry.SUPPRESSION.values()]
    assert len(codes) == len(set(codes))
    names = [r.name for r in registry.all_rules()]
    assert len(names) == len(set(names))
    for rule, mod in loaded:
        assert re.fullmatch(r"B\d{3}", rule.code) and re.fullmatch(r"[a-z0-9-]+", rule.name)
        assert rule.severity in ("info", "warning", "error") and rule.summary and rule.why and rule.fix
        assert (rule.check is not None) != (rule.check_migration is not None), rule.code
        assert mod.__doc__ and rule.code in mod.__doc__, f"{mod.__name__} docstring names its code"


def test_every_rule_has_a_page_and_tests():
    for rule, mod in registry.load():
        page = ROOT / "docs" / "rules" / f"{rule.code}.md"
        assert page.is_file(), f"missing {page}"
        head = page.read_text().splitlines()[0]
        assert head == f"# {rule.code} {rule.name}", (page, head)
        module = mod.__name__.rsplit(".", 1)[-1]
        test = ROOT / "tests" / "rules" / f"test_{module}.py"
        assert test.is_file(), f"missing {test}"
        assert rule.code in test.read_text(), f"{test} never checks {rule.code}"


def test_catalogue_in_lint_md_lists_every_rule():
    text = (ROOT / "docs" / "lint.md").read_text()
    table = text.split("## Rules", 1)[1]
    for rule in registry.all_rules():
        assert f"| {rule.code} |" in table and rule.name in table, rule.code
