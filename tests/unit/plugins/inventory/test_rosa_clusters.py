"""The inventory plugin rosa_clusters: its pure parts, and how it treats a region that refuses it."""

import botocore.exceptions
import pytest
import yaml
from ansible.errors import AnsibleError
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError

from ansible_collections.keycloak.aurora.plugins.inventory import rosa_clusters
from ansible_collections.keycloak.aurora.plugins.module_utils import rosa

VPC_A = "vpc-0aaaaaaaaaaaaaaaa"
VPC_B = "vpc-0bbbbbbbbbbbbbbbb"


def client_error(code):
    return botocore.exceptions.ClientError({"Error": {"Code": code, "Message": f"{code} here"}}, "DescribeInstances")


@pytest.mark.parametrize("code", ["AccessDenied", "UnauthorizedOperation", "AuthFailure", "OptInRequired"])
def test_a_region_refusal_is_recognised_bare_or_wrapped_by_amazon_aws(code):
    assert rosa_clusters.refusal_code(client_error(code)) == code
    assert rosa_clusters.refusal_code(AnsibleAWSError(message="Failed", exception=client_error(code))) == code


@pytest.mark.parametrize(
    "error", [client_error("InternalError"), AnsibleAWSError(message="no exception"), ValueError()]
)
def test_other_errors_are_no_refusal(error):
    assert rosa_clusters.refusal_code(error) is None


@pytest.mark.parametrize(
    ("name", "include", "exclude", "wanted"),
    [
        ("prod-a", [], [], True),
        ("prod-a", ["prod-*"], [], True),
        ("dev-a", ["prod-*"], [], False),
        ("dev-a", ["prod-*", "dev-?"], [], True),
        ("prod-a-canary", ["prod-*"], ["*-canary"], False),
        ("prod-a", [], ["prod-[ab]"], False),
        ("Prod-a", ["prod-*"], [], False),  # cluster names are lowercase; a pattern means what it says
    ],
)
def test_name_wanted(name, include, exclude, wanted):
    assert rosa_clusters.name_wanted(name, include, exclude) is wanted


def test_host_names_are_cluster_names_unless_a_name_is_in_several_regions():
    clusters = [
        {"cluster_name": "alpha", "region": "eu-west-1"},
        {"cluster_name": "beta", "region": "eu-west-1"},
        {"cluster_name": "beta", "region": "us-east-1"},
    ]
    assert rosa_clusters.host_names(clusters) == {
        ("alpha", "eu-west-1"): "alpha",
        ("beta", "eu-west-1"): "beta.eu-west-1",
        ("beta", "us-east-1"): "beta.us-east-1",
    }


def network(name="alpha", region="eu-west-1", vpc_id=VPC_A):
    return {
        "cluster_name": name,
        "region": region,
        "vpc_id": vpc_id,
        "vpc_cidr": "10.0.0.0/16",
        "machine_cidr": "10.0.0.0/16",
        "owner_id": "111122223333",
        "subnet_ids": ["subnet-1"],
        "route_table_ids": ["rtb-1"],
        "discovered_by": "tags",
    }


def test_host_vars_are_the_roles_inputs_and_what_groups_may_use():
    cluster = {"cluster_name": "alpha", "region": "eu-west-1", "network": network(), "tags": {"site": "a"}}
    assert rosa_clusters.host_vars(cluster) == {
        "rosa_cluster_name": "alpha",
        "rosa_region": "eu-west-1",
        "rosa_vpc_id": VPC_A,
        "rosa_machine_cidr": "10.0.0.0/16",
        "rosa_route_table_ids": ["rtb-1"],
        "ansible_connection": "local",
        "rosa_node_tags": {"site": "a"},
        "rosa_account_id": "111122223333",
    }


def node(name, vpc_id, subnet_id, **tags):
    return {
        "InstanceId": f"i-{subnet_id}",
        "VpcId": vpc_id,
        "SubnetId": subnet_id,
        "Tags": [{"Key": k, "Value": v} for k, v in {rosa.NAME_TAG: name, **tags}.items()],
    }


def test_region_clusters_keeps_a_cluster_whose_network_is_unclear_as_a_problem():
    instances = [
        node("beta", VPC_B, "subnet-b1", site="b"),
        node("alpha", VPC_A, "subnet-a1", site="a"),
        node("gamma", VPC_A, "subnet-a1"),
        node("gamma", VPC_B, "subnet-b1"),
    ]
    vpcs = {v: {"VpcId": v, "CidrBlock": "10.0.0.0/16", "OwnerId": "111122223333"} for v in (VPC_A, VPC_B)}
    tables = [
        {"RouteTableId": "rtb-a", "VpcId": VPC_A, "Associations": [{"Main": True}]},
        {"RouteTableId": "rtb-b", "VpcId": VPC_B, "Associations": [{"Main": True}]},
    ]
    found = rosa_clusters.region_clusters("eu-west-1", instances, vpcs, tables)
    assert [c["cluster_name"] for c in found] == ["alpha", "beta", "gamma"]
    assert found[0]["network"]["route_table_ids"] == ["rtb-a"]
    assert found[1]["network"]["vpc_id"] == VPC_B
    assert found[1]["tags"] == {rosa.NAME_TAG: "beta", "site": "b"}
    assert "network" not in found[2]
    assert "in 2 VPCs" in found[2]["problem"]


def test_region_vpc_ids_are_sorted_and_unique():
    instances = [node("a", VPC_B, "s1"), node("a", VPC_A, "s2"), node("b", VPC_B, "s3"), {"InstanceId": "i-1"}]
    assert rosa_clusters.region_vpc_ids(instances) == [VPC_A, VPC_B]


class Regions(rosa_clusters.InventoryModule):
    """The plugin with each region's answer given: a list of clusters, or an error to raise."""

    def __init__(self, answers):
        super().__init__()
        self.answers = answers

    def _describe_region(self, region):
        answer = self.answers[region]
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_a_region_that_refuses_is_skipped_with_its_reason():
    alpha = {"cluster_name": "alpha", "region": "eu-west-1", "network": network(), "tags": {}}
    denied = AnsibleAWSError(message="Failed to describe instances", exception=client_error("UnauthorizedOperation"))
    found = Regions({"eu-west-1": [alpha], "us-west-2": denied})._discover(["eu-west-1", "us-west-2"])
    assert found["clusters"] == [alpha]
    assert list(found["skipped_regions"]) == ["us-west-2"]
    assert "UnauthorizedOperation" in found["skipped_regions"]["us-west-2"]


def test_any_other_error_fails_naming_the_region():
    broken = AnsibleAWSError(message="Failed to describe instances", exception=client_error("InternalError"))
    with pytest.raises(AnsibleError, match="ROSA clusters of region us-west-2.*InternalError"):
        Regions({"eu-west-1": [], "us-west-2": broken})._discover(["eu-west-1", "us-west-2"])


def test_the_documentation_and_examples_are_yaml():
    documentation = yaml.safe_load(rosa_clusters.DOCUMENTATION)
    assert documentation["name"] == "rosa_clusters"
    assert set(documentation["options"]) == {"plugin", "regions", "include_clusters", "exclude_clusters"}
    examples = list(yaml.safe_load_all(rosa_clusters.EXAMPLES))
    assert len(examples) == 2
    assert all(example["plugin"] == "keycloak.aurora.rosa_clusters" for example in examples)
