"""The roles' argument specs, their defaults files and docs/variables.md say the same thing."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
ROLES = sorted(p.parent.parent for p in REPO_ROOT.glob("roles/*/meta/argument_specs.yml"))


def entry_points(role):
    return yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]


def all_options(role):
    """The options of every entry point: one defaults file serves them all, so types and defaults must agree."""
    options = {}
    for entry_point in entry_points(role).values():
        for name, option in entry_point["options"].items():
            first = options.setdefault(name, option)
            for key in ("type", "default", "required"):
                assert first.get(key) == option.get(key), f"the {key} of {name} differs between entry points"
    return options


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name)
def test_defaults_file_repeats_every_default_of_the_spec(role):
    defaults = yaml.safe_load((role / "defaults" / "main.yml").read_text())
    spec = all_options(role)
    with_default = {name for name, option in spec.items() if "default" in option}
    assert set(defaults) == with_default
    for name, value in defaults.items():
        if isinstance(value, str) and "{{" in value:
            continue  # computed at run time (the region from the environment): the spec describes it
        assert spec[name]["default"] == value, name


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name)
def test_every_option_is_described_and_typed(role):
    for name, option in all_options(role).items():
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
