import pytest

from ansible_collections.keycloak.aurora.plugins.module_utils import naming


@pytest.mark.parametrize(
    "identifier",
    ["keycloak-aurora", "a", "A1", "a" * 63, "kc-1-b"],
)
def test_valid_identifiers(identifier):
    assert naming.identifier_error(identifier) is None


@pytest.mark.parametrize(
    "identifier",
    ["", None, "Bad--name-", "1abc", "-abc", "abc-", "a--b", "a_b", "a.b", "a" * 64, "ab c"],
)
def test_invalid_identifiers(identifier):
    assert naming.identifier_error(identifier)


def test_names_follow_the_scripts():
    assert naming.vpc_name("kc") == "Aurora Cluster kc"
    assert naming.subnet_group_name("kc") == "kc-subnet-group"
    assert naming.security_group_name("kc") == "kc-security-group"
    assert naming.instance_identifier("kc", 2) == "kc-instance-2"


@pytest.mark.parametrize(
    ("identifier", "number"),
    [
        ("kc-instance-1", 1),
        ("kc-instance-12", 12),
        ("kc-instance-01", None),
        ("kc-instance-x", None),
        ("other-1", None),
    ],
)
def test_instance_number(identifier, number):
    assert naming.instance_number("kc", identifier) == number


def test_cluster_tag_cannot_be_overridden():
    assert naming.cluster_tags("kc", {"AuroraCluster": "other", "team": "sso"}) == {
        "AuroraCluster": "kc",
        "team": "sso",
    }


def test_a_cluster_name_with_capitals_is_refused_naming_the_lower_case_form():
    assert naming.cluster_name_error("keycloak-aurora") is None
    assert naming.cluster_name_error("KeycloakAurora") == (
        "'KeycloakAurora' has capital letters, which RDS turns into lower case: use 'keycloakaurora'"
    )
    assert naming.cluster_name_error("-bad").startswith("'-bad' is not allowed")
