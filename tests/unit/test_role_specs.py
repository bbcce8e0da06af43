"""The roles' argument specs, their defaults files and docs/variables.md say the same thing."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
ROLES = sorted(p.parent.parent for p in REPO_ROOT.glob("roles/*/meta/argument_specs.yml"))


def main_spec(role):
    return yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name)
def test_defaults_file_repeats_every_default_of_the_spec(role):
    defaults = yaml.safe_load((role / "defaults" / "main.yml").read_text())
    spec = main_spec(role)
    with_default = {name for name, option in spec.items() if "default" in option}
    assert set(defaults) == with_default
    for name, value in defaults.items():
        if isinstance(value, str) and "{{" in value:
            continue  # computed at run time (the region from the environment): the spec describes it
        assert spec[name]["default"] == value, name


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name)
def test_every_option_is_described_and_typed(role):
    for name, option in main_spec(role).items():
        assert option.get("description"), name
        assert option.get("type"), name
        assert option.get("required") or "default" in option, name


def test_variables_reference_is_up_to_date():
    check = subprocess.run(
        [sys.executable, str(REPO_ROOT / "tools" / "role_docs.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr
