from pathlib import Path

import pytest
import yaml

from ansible_collections.keycloak.aurora.plugins.module_utils import entry_checks

REPO_ROOT = Path(__file__).resolve().parents[4]
SPECS = [yaml.safe_load(p.read_text()) for p in sorted(REPO_ROOT.glob("roles/*/meta/argument_specs.yml"))]
KNOWN = entry_checks.known_variables(SPECS)


def test_the_known_variables_are_the_roles_options_and_the_playbooks_own():
    assert {
        "aurora_cluster",
        "aurora_instance_class",
        "rosa_vpc_id",
        "keycloak_namespace",
        "aurora_reset_confirm",
    } <= KNOWN
    assert {"aurora_strict_vars", "aurora_unpeer_confirm", "aurora_verify_connection", "rosa_machine_cidrs"} <= KNOWN


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "aurora_instance_clas",
            "aurora_instance_clas is not a variable of keycloak.aurora: did you mean aurora_instance_class?",
        ),
        ("aurora_instance", "aurora_instance is not a variable of keycloak.aurora: did you mean aurora_instances?"),
        (
            "Aurora_Cluster",
            "Aurora_Cluster is not a variable of keycloak.aurora: did you mean aurora_cluster? "
            "(variable names are case-sensitive)",
        ),
        (
            "KEYCLOAK_NAMESPACE",
            "KEYCLOAK_NAMESPACE is not a variable of keycloak.aurora: did you mean keycloak_namespace? "
            "(variable names are case-sensitive)",
        ),
        ("aurora_sizing_profile", "aurora_sizing_profile is not a variable of keycloak.aurora"),
    ],
)
def test_an_unknown_name_that_looks_like_ours_is_named_with_the_closest_known_one(name, expected):
    assert entry_checks.unknown_variable_messages({name}, {}, KNOWN) == [expected]


@pytest.mark.parametrize(
    "name", ["aurora_cluster", "rosa_vpc", "ansible_connection", "output_file", "my_aurora_x", "awx_job_id"]
)
def test_known_names_and_names_of_others_pass(name):
    assert entry_checks.unknown_variable_messages({name}, {"rosa-a": {name}}, KNOWN) == []


def test_a_host_var_names_its_hosts_and_an_extra_var_is_said_once():
    everywhere = {"aurora_clustr", "ansible_connection"}
    hosts = {"rosa-b": everywhere | {"rosa_vpc_idd"}, "rosa-a": everywhere | {"rosa_vpc_idd"}, "rosa-c": everywhere}

    assert entry_checks.unknown_variable_messages(everywhere, hosts, KNOWN) == [
        "aurora_clustr is not a variable of keycloak.aurora: did you mean aurora_cluster?",
        "rosa_vpc_idd (set for rosa-a, rosa-b) is not a variable of keycloak.aurora: did you mean rosa_vpc_id?",
    ]


@pytest.mark.parametrize(
    ("message", "warning"),
    [
        (
            "x_a is not a variable of keycloak.aurora: did you mean x_b?",
            "x_a is not a variable of keycloak.aurora: did you mean x_b? It is ignored.",
        ),
        ("x_a is not a variable of keycloak.aurora", "x_a is not a variable of keycloak.aurora. It is ignored."),
    ],
)
def test_an_unknown_variable_is_said_to_be_ignored(message, warning):
    assert entry_checks.as_warning(message) == warning


@pytest.mark.parametrize("value", [None, "", "  "])
def test_a_missing_or_empty_required_variable_is_one_line(value):
    values = {} if value is None else {"aurora_cluster": value}

    assert entry_checks.required_errors("delete", {"localhost": values}) == [
        "aurora_cluster is not set: playbooks/delete.yml needs it, pass -e aurora_cluster=keycloak-aurora"
    ]


def test_a_required_variable_set_for_some_rosa_clusters_only_names_the_others():
    hosts = {"rosa-a": {"aurora_cluster": "keycloak-aurora"}, "rosa-b": {}, "rosa-c": {"aurora_cluster": ""}}

    assert entry_checks.required_errors("peering", hosts) == [
        "aurora_cluster is not set for rosa-b, rosa-c: playbooks/peering.yml needs it, "
        "pass -e aurora_cluster=keycloak-aurora"
    ]


def test_a_required_variable_with_a_value_it_may_not_have_is_refused_as_the_role_would():
    hosts = {"rosa-a": {"aurora_cluster": "KeycloakAurora"}, "rosa-b": {"aurora_cluster": "KeycloakAurora"}}

    assert entry_checks.required_errors("provision", hosts) == [
        "aurora_cluster 'KeycloakAurora' has capital letters, which RDS turns into lower case: use 'keycloakaurora'"
    ]


def test_unpeer_needs_no_aurora_cluster():
    assert entry_checks.required_errors("unpeer", {"rosa-a": {}}) == []
    assert entry_checks.required_errors("peering", {"rosa-a": {"aurora_cluster": "keycloak-aurora"}}) == []


def test_every_playbook_has_its_entry():
    assert set(entry_checks.PLAYBOOKS) == {p.stem for p in (REPO_ROOT / "playbooks").glob("*.yml")}


NO_HOSTS = {"all": [], "ungrouped": []}
MISNAMED = {"all": ["rosa-a", "rosa-b"], "ungrouped": [], "rosa_cluster": ["rosa-a", "rosa-b"]}
UNGROUPED = {"all": ["rosa-a"], "ungrouped": ["rosa-a"]}
EMPTY_GROUP = {"all": [], "ungrouped": [], "rosa_clusters": []}


@pytest.mark.parametrize(
    ("groups", "said"),
    [
        (NO_HOSTS, "the inventory has no hosts (was -i forgotten?)"),
        (EMPTY_GROUP, "the inventory has no hosts (was -i forgotten?)"),
        (
            MISNAMED,
            "the inventory has the hosts rosa-a, rosa-b in the groups rosa_cluster (is rosa_cluster meant to be "
            "rosa_clusters?), but none in rosa_clusters",
        ),
        (UNGROUPED, "the inventory has the hosts rosa-a, but none in rosa_clusters"),
    ],
)
def test_a_playbook_on_rosa_clusters_refuses_an_inventory_without_them(groups, said):
    level, message = entry_checks.rosa_group_problem("peering", groups)

    assert level == "error"
    assert message == (
        f"playbooks/peering.yml works on the ROSA clusters of the inventory group rosa_clusters, and {said}: pass an "
        "inventory with -i <file> that lists one host per ROSA cluster in the group rosa_clusters "
        "(example: playbooks/inventory/rosa_clusters.example.yml)."
    )


def test_provision_without_rosa_clusters_only_warns_and_localhost_playbooks_do_not_care():
    level, message = entry_checks.rosa_group_problem("provision", NO_HOSTS)

    assert level == "warning" and "Only the Aurora cluster is created" in message
    assert entry_checks.rosa_group_problem("endpoint", NO_HOSTS) is None
    assert entry_checks.rosa_group_problem("peering", {"all": ["rosa-a"], "rosa_clusters": ["rosa-a"]}) is None


@pytest.mark.parametrize(
    ("hosts", "aurora_cluster", "confirm", "expected"),
    [
        (["rosa-a"], "keycloak-aurora", "", {"confirmed": True, "expected": ""}),
        (["rosa-a", "rosa-b"], "keycloak-aurora", "", {"confirmed": False, "expected": "keycloak-aurora"}),
        (["rosa-a", "rosa-b"], "keycloak-aurora", "yes", {"confirmed": False, "expected": "keycloak-aurora"}),
        (
            ["rosa-a", "rosa-b"],
            "keycloak-aurora",
            "keycloak-aurora",
            {"confirmed": True, "expected": "keycloak-aurora"},
        ),
        (["rosa-a"], "", "", {"confirmed": False, "expected": "every-aurora-cluster"}),
        (["rosa-a"], "", "keycloak-aurora", {"confirmed": False, "expected": "every-aurora-cluster"}),
        (["rosa-a", "rosa-b"], None, "every-aurora-cluster", {"confirmed": True, "expected": "every-aurora-cluster"}),
    ],
)
def test_unpeering_more_than_one_rosa_cluster_or_from_every_aurora_cluster_needs_a_yes(
    hosts, aurora_cluster, confirm, expected
):
    assert entry_checks.unpeer_confirmation(hosts, aurora_cluster, confirm) == expected


def test_the_unpeer_refusal_lists_the_hosts_and_their_peerings():
    found = [
        (
            "rosa-a",
            [
                {"vpc_peering_connection_id": "pcx-1", "aurora_cluster": "keycloak-aurora"},
                {"vpc_peering_connection_id": "pcx-2", "aurora_cluster": "other-aurora"},
            ],
        ),
        ("rosa-b", []),
        ("rosa-c", None),
    ]

    assert entry_checks.unpeer_refusal(found, "", "every-aurora-cluster") == (
        "playbooks/unpeer.yml would disconnect 3 ROSA clusters from every Aurora cluster of aurora_region, and "
        "Keycloak there would lose its database: rosa-a (pcx-1 to keycloak-aurora, pcx-2 to other-aurora); "
        "rosa-b (no peering found); rosa-c (not looked up). Nothing was changed. To go ahead, run again with "
        "-e aurora_unpeer_confirm=every-aurora-cluster; to disconnect from one Aurora cluster only, pass "
        "-e aurora_cluster=<name>."
    )


def test_reap_refuses_aurora_cluster_and_aurora_region_saying_what_to_use_instead():
    errors = entry_checks.refused_errors("reap", {"aurora_region": "eu-central-1", "aurora_cluster": "x", "reap_x": 1})
    assert [e.split(":", 1)[0] for e in errors] == ["aurora_cluster must not be set", "aurora_region must not be set"]
    assert "playbooks/delete.yml" in errors[0]
    assert "-e reap_region=<region>" in errors[1] and "aurora_regions" in errors[1]
    assert entry_checks.refused_errors("reap", {"reap_region": "eu-west-1", "aurora_regions": "eu-west-1"}) == []
    assert entry_checks.refused_errors("delete", {"aurora_region": "eu-west-1", "aurora_cluster": "x"}) == []
