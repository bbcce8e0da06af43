"""The AWX survey specs (docs/awx/*.json) ask for what the playbooks' roles accept, as the roles declare it.

Each survey belongs to the job template of one playbook; its variables are checked against the
meta/argument_specs.yml of the roles that playbook runs (endpoint.yml has no role: its own vars).
"""

import json
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
SURVEYS = REPO_ROOT / "docs" / "awx"
PLAYBOOKS = REPO_ROOT / "playbooks"

# The (role, entry point) pairs each playbook runs.
ROLES = {
    "provision": [("aurora_create", "main"), ("aurora_peering", "main"), ("aurora_keycloak", "main")],
    "peering": [("aurora_peering", "main")],
    "unpeer": [("aurora_peering", "main")],
    "delete": [("aurora_delete", "main")],
    "keycloak_config": [("aurora_keycloak", "main")],
    "verify_connection": [("aurora_keycloak", "verify")],
    "reset_database": [("aurora_keycloak", "reset")],
    "verify": [("aurora_peering", "links"), ("aurora_keycloak", "verify")],
    "status": [],
    # The role aurora_delete runs once per doomed cluster, with aurora_cluster and aurora_region set by the playbook.
    "reap": [],
}
# Variables of a playbook itself rather than of its roles, in the shape of an argument spec.
PLAYBOOK_OPTIONS = {
    "unpeer": {"aurora_unpeer_confirm": {"type": "str", "default": ""}},
    "verify": {"aurora_verify_connection": {"type": "bool", "default": False}},
    "status": {"aurora_region": {"type": "str", "default": ""}, "aurora_regions": {"type": "str", "default": ""}},
    "reap": {
        "reap_region": {"type": "str", "default": ""},
        "aurora_regions": {"type": "str", "default": ""},
        "reap_confirm": {"type": "bool", "default": False},
        "reap_min_age_hours": {"type": "float", "default": 4},
        "aurora_skip_final_snapshot": {"type": "bool", "default": False},
    },
}
# The roles' variables a playbook declares itself, in the same meaning: status.yml's region, and
# aurora_skip_final_snapshot, which reap.yml passes on to each delete.
ROLE_VARIABLES_WITHOUT_ROLE = {"aurora_region", "aurora_skip_final_snapshot"}
# Variables the playbook sets itself: a survey must not offer them.
SET_BY_PLAYBOOK = {"aurora_peering_state"}
# Where a survey is stricter than the spec, and why.
REQUIRED_IN_SURVEY = {
    # The spec's default is the controller's AWS_REGION / AWS_DEFAULT_REGION; AWX's built-in Amazon
    # Web Services credential injects keys only, and an empty survey answer would override the default.
    "aurora_region": (set(ROLES) - {"reap"}) | {"endpoint"},
    "reap_region": {"reap"},
    # aurora_peering allows it empty for state absent (unpeer from all); peering.yml connects and needs it.
    "aurora_cluster": {"peering", "verify"},
    # Typing the cluster name again is the point of the question.
    "aurora_reset_confirm": {"reset_database"},
}
# AWX's survey question types (awx/api/views: JobTemplateSurveySpec).
QUESTION_TYPES = {"text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect"}
SPEC_TYPES = {
    "text": {"str"},
    "textarea": {"str"},
    "password": {"str"},
    "integer": {"int"},
    "float": {"float"},
    "multiplechoice": {"str", "bool"},
    "multiselect": {"list"},
}


def role_options(role, entry_point):
    specs = yaml.safe_load((REPO_ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())
    return specs["argument_specs"][entry_point]["options"]


def role_defaults(role):
    return yaml.safe_load((REPO_ROOT / "roles" / role / "defaults" / "main.yml").read_text()) or {}


def literal(value):
    return not (isinstance(value, str) and "{{" in value)


def endpoint_options():
    """endpoint.yml's own variables, in the shape of an argument spec (aurora_cluster has no default)."""
    [play] = yaml.safe_load((PLAYBOOKS / "endpoint.yml").read_text())
    types = {str: "str", bool: "bool", int: "int"}
    options = {"aurora_cluster": {"type": "str", "required": True}}
    for name, value in play["vars"].items():
        if name == "ansible_python_interpreter":
            continue
        option = {"type": types[type(value)], "default": value}
        options[name] = option
    return options


def options_for(playbook):
    """{variable: (option, its literal default or NO_LITERAL)}; the playbook's first role wins a shared name."""
    if playbook == "endpoint":
        return {
            name: (option, option["default"] if "default" in option and literal(option["default"]) else NO_LITERAL)
            for name, option in endpoint_options().items()
        }
    merged = {name: (option, option["default"]) for name, option in PLAYBOOK_OPTIONS.get(playbook, {}).items()}
    for role, entry_point in ROLES[playbook]:
        defaults = role_defaults(role)
        for name, option in role_options(role, entry_point).items():
            if name in merged:  # e.g. aurora_cluster: required by aurora_create, optional in aurora_peering
                assert merged[name][0]["type"] == option["type"], name
                continue
            value = defaults.get(name, NO_LITERAL)
            merged[name] = (option, value if literal(value) else NO_LITERAL)
    return merged


NO_LITERAL = object()
PLAYBOOK_NAMES = [*ROLES, "endpoint"]


def survey(playbook):
    return json.loads((SURVEYS / f"{playbook}.json").read_text())


def questions(playbook):
    return [pytest.param(playbook, q, id=f"{playbook}-{q['variable']}") for q in survey(playbook)["spec"]]


ALL_QUESTIONS = [param for playbook in PLAYBOOK_NAMES for param in questions(playbook)]


def test_one_survey_per_playbook():
    assert sorted(p.stem for p in SURVEYS.glob("*.json")) == sorted(PLAYBOOK_NAMES)
    assert sorted(p.stem for p in PLAYBOOKS.glob("*.yml")) == sorted(PLAYBOOK_NAMES)


@pytest.mark.parametrize("playbook", PLAYBOOK_NAMES)
def test_survey_is_an_awx_survey_spec(playbook):
    data = survey(playbook)
    assert set(data) == {"name", "description", "spec"}
    assert data["name"] and data["description"] and data["spec"]
    variables = [q["variable"] for q in data["spec"]]
    assert len(variables) == len(set(variables)), "a variable asked twice"
    for question in data["spec"]:
        assert {"question_name", "question_description", "required", "type", "variable", "default"} <= set(question)
        assert question["type"] in QUESTION_TYPES
        assert isinstance(question["required"], bool)
        assert question["question_name"] and question["question_description"]


@pytest.mark.parametrize(("playbook", "question"), ALL_QUESTIONS)
def test_default_is_a_valid_answer(playbook, question):
    """AWX refuses a survey whose default fails its own question's validation."""
    kind, default = question["type"], question["default"]
    if kind in ("text", "textarea", "password"):
        assert isinstance(default, str)
        assert question["min"] <= len(default) <= question["max"] or (default == "" and question["required"])
        assert 0 <= question["min"] <= question["max"]
    elif kind in ("integer", "float") and default == "" and not question["required"]:
        # AWX accepts an empty default and then passes nothing: the role's unset default applies.
        assert 0 <= question["min"] <= question["max"]
    elif kind in ("integer", "float"):
        assert isinstance(default, int if kind == "integer" else (int, float))
        assert question["min"] <= default <= question["max"]
    elif kind == "multiplechoice":
        assert isinstance(question["choices"], list) and question["choices"]
        assert default in question["choices"]


@pytest.mark.parametrize(("playbook", "question"), ALL_QUESTIONS)
def test_question_matches_the_argument_spec(playbook, question):
    variable = question["variable"]
    options = options_for(playbook)
    assert variable in options, f"{playbook} runs nothing that declares {variable}"
    assert variable not in SET_BY_PLAYBOOK
    option, default = options[variable]

    assert option["type"] in SPEC_TYPES[question["type"]], f"{variable}: {question['type']} vs {option['type']}"
    if question["type"] == "multiplechoice":
        if option["type"] == "bool":
            assert sorted(question["choices"]) == ["false", "true"]
        else:
            assert sorted(question["choices"]) == sorted(option["choices"])
    if question["type"] == "password":
        assert option.get("no_log") is True, f"{variable} is a password question but not no_log"

    stricter = playbook in REQUIRED_IN_SURVEY.get(variable, ())
    if stricter:
        assert question["required"], f"{variable} must be required in the {playbook} survey"
    else:
        assert question["required"] == bool(option.get("required")), variable

    # A question the survey makes required offers a sensible answer instead of the spec's empty default.
    if default is not NO_LITERAL and not stricter:
        expected = default
        if default is None:
            expected = ""  # an empty answer: AWX passes nothing and the role's unset default applies
        elif option["type"] == "bool":
            expected = "true" if default else "false"
        assert question["default"] == expected, variable


@pytest.mark.parametrize("playbook", PLAYBOOK_NAMES)
def test_every_secret_is_a_password_question(playbook):
    asked = {q["variable"]: q for q in survey(playbook)["spec"]}
    for name, (option, _role) in options_for(playbook).items():
        if option.get("no_log"):
            assert name in asked, f"{playbook}: ask for {name} as a password, or the user types it in extra vars"
            assert asked[name]["type"] == "password", name


@pytest.mark.parametrize("playbook", PLAYBOOK_NAMES)
def test_every_required_variable_is_asked(playbook):
    asked = {q["variable"] for q in survey(playbook)["spec"]}
    for name, (option, _role) in options_for(playbook).items():
        if option.get("required"):
            assert name in asked, f"{playbook}: {name} is required but the survey does not ask for it"


@pytest.mark.parametrize("playbook", sorted(PLAYBOOK_OPTIONS))
def test_playbook_options_are_the_playbooks_own(playbook):
    from ansible_collections.keycloak.aurora.plugins.module_utils.entry_checks import PLAYBOOK_VARIABLES

    text = (PLAYBOOKS / f"{playbook}.yml").read_text()
    for name in PLAYBOOK_OPTIONS[playbook]:
        assert name in text and (name in PLAYBOOK_VARIABLES or name in ROLE_VARIABLES_WITHOUT_ROLE), name
