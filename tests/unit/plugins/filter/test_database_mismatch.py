import pytest

from ansible_collections.keycloak.aurora.plugins.filter.database_mismatch import database_mismatch

PUBLISHED = {"cluster": "keycloak-aurora", "region": "eu-west-1", "endpoint": "writer.example"}


@pytest.mark.parametrize("handed", [{}, None, PUBLISHED], ids=["none", "null", "the same cluster"])
def test_nothing_handed_on_or_the_roles_own_cluster_is_fine(handed):
    assert database_mismatch(handed, "keycloak-aurora", "eu-west-1") == ""


@pytest.mark.parametrize(
    ("cluster", "region", "named"),
    [
        ("other-aurora", "eu-west-1", "aurora_cluster=other-aurora in eu-west-1"),
        ("keycloak-aurora", "us-east-1", "aurora_cluster=keycloak-aurora in us-east-1"),
    ],
)
def test_another_cluster_or_region_is_refused_naming_both(cluster, region, named):
    refusal = database_mismatch(PUBLISHED, cluster, region)
    assert refusal.startswith("aurora_database describes the Aurora cluster keycloak-aurora in eu-west-1, not ")
    assert named in refusal and "pass the aurora_database that aurora_create published for it" in refusal


def test_a_hand_made_aurora_database_without_names_is_refused():
    assert "the Aurora cluster (none) in (no region)" in database_mismatch(
        {"endpoint": "x"}, "keycloak-aurora", "eu-west-1"
    )


@pytest.mark.parametrize("empty", [None, "", {}], ids=["null", "empty text", "empty dict"])
def test_a_key_the_role_reads_missing_or_empty_is_refused_naming_it(empty):
    handed = {**PUBLISHED, "writer_endpoint": empty, "port": 5432}
    assert database_mismatch(handed, "keycloak-aurora", "eu-west-1", required=["writer_endpoint", "port"]) == (
        "aurora_database has no writer_endpoint for keycloak-aurora: "
        "pass the aurora_database that aurora_create published for it."
    )
    assert database_mismatch({**PUBLISHED, "port": 0}, "keycloak-aurora", "eu-west-1", required=["port"]) == ""
