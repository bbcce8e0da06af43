from ansible_collections.keycloak.aurora.plugins.filter.rosa_account import rosa_account
from ansible_collections.keycloak.aurora.plugins.filter.unreachable_peerings import unreachable_peerings

ROLE = "arn:aws:iam::111122223333:role/keycloak-aurora-peering"
HOSTS = [
    {"inventory_hostname": "rosa-a"},
    {"inventory_hostname": "site-b", "rosa_cluster_name": "rosa-b", "rosa_role_arn": ROLE},
    {"inventory_hostname": "rosa-c", "rosa_aws_profile": "estate-c", "rosa_vpc_id": "vpc-c"},
]


def test_the_host_of_the_rosa_cluster_says_how_its_account_is_reached():
    assert rosa_account(HOSTS, "rosa-b") == {"rosa_aws_profile": "", "rosa_role_arn": ROLE}
    assert rosa_account(HOSTS, "rosa-c") == {"rosa_aws_profile": "estate-c", "rosa_role_arn": ""}


def test_a_host_by_its_inventory_name_only_when_it_names_no_other_cluster():
    assert rosa_account(HOSTS, "site-b") == {"rosa_aws_profile": "", "rosa_role_arn": ""}


def test_auroras_account_or_no_host_at_all_is_empty():
    empty = {"rosa_aws_profile": "", "rosa_role_arn": ""}
    assert rosa_account(HOSTS, "rosa-a") == empty
    assert rosa_account(HOSTS, "rosa-z") == empty
    assert rosa_account([], "rosa-a") == empty


def test_a_peering_that_names_no_cluster_finds_its_host_by_the_requester_vpc():
    assert rosa_account(HOSTS, "", "vpc-c") == {"rosa_aws_profile": "estate-c", "rosa_role_arn": ""}
    assert rosa_account(HOSTS, "", "vpc-z") == {"rosa_aws_profile": "", "rosa_role_arn": ""}
    assert rosa_account(HOSTS, "", None) == {"rosa_aws_profile": "", "rosa_role_arn": ""}


def test_the_name_comes_before_the_vpc():
    assert rosa_account(HOSTS, "rosa-b", "vpc-c") == {"rosa_aws_profile": "", "rosa_role_arn": ROLE}


def peering(rosa_cluster, requester_owner, requester_vpc=None):
    return {
        "rosa_cluster_name": rosa_cluster,
        "requester_owner_id": requester_owner,
        "accepter_owner_id": "1" * 12,
        "requester_vpc_id": requester_vpc,
    }


def test_only_peerings_from_other_accounts_that_no_host_reaches_are_unreachable():
    found = [
        peering("rosa-a", "1" * 12),  # Aurora's own account
        peering("rosa-b", "2" * 12),  # reached by its host's role
        peering("rosa-z", "3" * 12),  # no host
        peering(None, "3" * 12),  # untagged
        peering(None, "3" * 12, "vpc-c"),  # untagged, from rosa-c's VPC: reached by its host's profile
    ]
    assert unreachable_peerings(found, HOSTS) == found[2:4]
    assert unreachable_peerings(found, []) == found[1:]
