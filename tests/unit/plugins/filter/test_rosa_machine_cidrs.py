import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.keycloak.aurora.plugins.filter.rosa_machine_cidrs import rosa_machine_cidrs


def test_a_given_machine_cidr_wins_over_the_one_found():
    hosts = [
        {"inventory_hostname": "a", "rosa_machine_cidr": "10.0.0.0/16", "rosa_vpc": {"machine_cidr": "10.9.0.0/16"}},
        {"inventory_hostname": "b", "rosa_vpc": {"cluster_name": "b", "machine_cidr": "10.1.0.0/16"}},
        {
            "inventory_hostname": "c",
            "rosa_cluster_name": "site-c",
            "rosa_vpc": {"cluster_name": "site-c", "machine_cidr": "10.0.0.0/16"},
        },
    ]
    assert rosa_machine_cidrs(hosts) == ["10.0.0.0/16", "10.1.0.0/16"]


def test_a_fact_found_for_another_cluster_name_is_not_used():
    hosts = [
        {
            "inventory_hostname": "a",
            "rosa_cluster_name": "renamed",
            "rosa_vpc": {"cluster_name": "a", "machine_cidr": "10.0.0.0/16"},
        }
    ]
    with pytest.raises(AnsibleFilterError, match=r"ROSA cluster\(s\) a is not known"):
        rosa_machine_cidrs(hosts)


def test_every_host_whose_cidr_is_not_known_is_named_with_the_way_out():
    hosts = [{"inventory_hostname": "b"}, {"inventory_hostname": "a", "rosa_machine_cidr": ""}]
    with pytest.raises(AnsibleFilterError) as raised:
        rosa_machine_cidrs(hosts)
    assert "a, b is not known" in str(raised.value)
    assert "tasks_from: facts" in str(raised.value) and "rosa_machine_cidr" in str(raised.value)


def test_no_hosts_no_cidrs():
    assert rosa_machine_cidrs([]) == []
