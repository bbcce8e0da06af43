"""Modules and their module_utils run on the managed node's Python, which may be older than the controller's:
they use nothing that needs Python 3.11, which ruff's target version (the controller's) would suggest."""

import ast
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
REMOTE = sorted([*REPO_ROOT.glob("plugins/modules/*.py"), *REPO_ROOT.glob("plugins/module_utils/*.py")])


def utc_alias_uses(tree):
    """Lines that use datetime.UTC (new in 3.11) rather than datetime.timezone.utc."""
    return sorted(
        [
            node.lineno
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and node.attr == "UTC" and getattr(node.value, "id", None) == "datetime"
        ]
        + [
            node.lineno
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            and node.module == "datetime"
            and any(a.name == "UTC" for a in node.names)
        ]
    )


@pytest.mark.parametrize("path", REMOTE, ids=lambda p: p.name)
def test_no_datetime_utc_alias(path):
    assert utc_alias_uses(ast.parse(path.read_text())) == [], f"{path.name}: use datetime.timezone.utc"
