"""Every plugin's DOCUMENTATION, EXAMPLES and RETURN is YAML that ansible-doc can read."""

import ast
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
PLUGINS = sorted(p for p in REPO_ROOT.glob("plugins/*/*.py") if p.parent.name in ("modules", "filter"))


def doc_blocks(path):
    tree = ast.parse(path.read_text())
    return {
        node.targets[0].id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Name)
        and node.targets[0].id in ("DOCUMENTATION", "EXAMPLES", "RETURN")
    }


@pytest.mark.parametrize("path", PLUGINS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_documentation_blocks_are_yaml(path):
    blocks = doc_blocks(path)
    assert set(blocks) == {"DOCUMENTATION", "EXAMPLES", "RETURN"}
    documentation = yaml.safe_load(blocks["DOCUMENTATION"])
    assert documentation.get("module", documentation.get("name")) == path.stem
    assert yaml.safe_load(blocks["EXAMPLES"])
    assert yaml.safe_load(blocks["RETURN"])


@pytest.mark.parametrize("role", sorted(p.name for p in (REPO_ROOT / "roles").iterdir()))
def test_ansible_doc_shows_every_role(role):
    import os
    import subprocess
    import sys

    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO_ROOT / "build" / "collections"), ANSIBLE_NOCOLOR="1")
    shown = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-doc"), "-t", "role", f"keycloak.aurora.{role}"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    assert "ENTRY POINT:" in shown.stdout and "aurora_region" in shown.stdout


@pytest.mark.parametrize("path", sorted(REPO_ROOT.glob("plugins/doc_fragments/*.py")), ids=lambda p: p.stem)
def test_documentation_fragments_are_yaml(path):
    tree = ast.parse(path.read_text())
    [fragment] = [node for node in tree.body if isinstance(node, ast.ClassDef)]
    blocks = [
        node.value.value
        for node in fragment.body
        if isinstance(node, ast.Assign) and node.targets[0].id == "DOCUMENTATION"
    ]
    assert blocks and all(yaml.safe_load(block)["options"] for block in blocks)
