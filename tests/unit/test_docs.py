"""What the user guide names exists: playbooks, roles, plugins, variables; and it reads as Markdown."""

import re
from pathlib import Path

import pytest
import yaml

from ansible_collections.keycloak.aurora.plugins.action.entry_check import role_argument_specs
from ansible_collections.keycloak.aurora.plugins.module_utils.entry_checks import known_variables

REPO_ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted([REPO_ROOT / "README.md", *REPO_ROOT.glob("docs/**/*.md")])

# A name the collection's users set or read: aurora_*, rosa_*, keycloak_* (not a file such as aurora_create.sh).
VARIABLE = re.compile(r"(?<![\w./-])((?:aurora|rosa|keycloak)_[a-z0-9_]+)(?![\w-]|\.(?:sh|yml|yaml|py|json|md)\b)")
PLAYBOOK = re.compile(r"playbooks/([\w-]+\.yml)")
COLLECTION_NAME = re.compile(r"(?<![\w/])keycloak\.aurora\.([a-z_]+)")
HOSTS = re.compile(r"^\s*-?\s*hosts:\s*([\w-]+)\s*$", re.MULTILINE)
RAW_MARKUP = re.compile(r"\b(?:O|C|V|E|RV|M|I|B|U|L)\([^)]*\)")


# Misspellings the guide shows on purpose, to say what the entry check does with them.
SHOWN_AS_TYPOS = {"aurora_instance_clas"}


def collection_names():
    """Roles, plugins and playbooks, as keycloak.aurora.<name> calls them."""
    names = {path.name for path in REPO_ROOT.glob("roles/*")}
    names |= {path.stem for path in REPO_ROOT.glob("plugins/*/*.py")}
    names |= {path.stem for path in REPO_ROOT.glob("playbooks/*.yml")}
    action_groups = yaml.safe_load((REPO_ROOT / "meta" / "runtime.yml").read_text()).get("action_groups", {})
    return names | set(action_groups)


def group_names():
    """Inventory groups: those the playbooks target, and those the guide's own examples define."""
    texts = [path.read_text() for path in [*REPO_ROOT.glob("playbooks/*.yml"), *PAGES]]
    return {group for text in texts for group in HOSTS.findall(text)}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_every_playbook_named_exists(page):
    missing = sorted(set(PLAYBOOK.findall(page.read_text())) - {p.name for p in REPO_ROOT.glob("playbooks/*.yml")})
    assert not missing, f"{page.name} names playbooks that do not exist: {missing}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_every_collection_name_exists(page):
    missing = sorted(set(COLLECTION_NAME.findall(page.read_text())) - collection_names())
    assert not missing, f"{page.name} names roles or plugins that do not exist: {missing}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_every_variable_named_exists(page):
    # The variables the entry check of every playbook knows, as it knows them.
    known = known_variables(role_argument_specs()) | collection_names() | group_names() | SHOWN_AS_TYPOS
    missing = sorted(set(VARIABLE.findall(page.read_text())) - known)
    assert not missing, f"{page.name} names variables the collection does not have: {missing}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_no_raw_ansible_markup(page):
    # O(...), C(...) are for ansible-doc; a Markdown page shows them raw.
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.DOTALL)
    assert not RAW_MARKUP.findall(text), page.name


def test_the_variable_check_catches_a_typo():
    assert "aurora_instance_clss" not in known_variables(role_argument_specs()) | collection_names() | group_names()
    assert VARIABLE.findall("set `aurora_instance_clss` and run aurora_create.sh") == ["aurora_instance_clss"]
