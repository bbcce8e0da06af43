"""rosa: the pure discovery logic, and discover() against a fake EC2 client that records its calls."""

import botocore.exceptions
import pytest

from ansible_collections.keycloak.aurora.plugins.module_utils import rosa
from ansible_collections.keycloak.aurora.plugins.module_utils.exceptions import AuroraError

REGION = "eu-west-1"
VPC_A = "vpc-0aaaaaaaaaaaaaaaa"
VPC_B = "vpc-0bbbbbbbbbbbbbbbb"
VPC_C = "vpc-0cccccccccccccccc"


def instance(vpc_id, subnet_id, dns="", tags=None, state="running"):
    return {
        "InstanceId": f"i-{subnet_id}-{dns}",
        "VpcId": vpc_id,
        "SubnetId": subnet_id,
        "PrivateDnsName": dns,
        "State": {"Name": state},
        "Tags": [{"Key": k, "Value": v} for k, v in (tags or {}).items()],
    }


def table(table_id, vpc_id=VPC_A, subnets=(), main=False, state="associated"):
    associations = [
        {"RouteTableId": table_id, "SubnetId": s, "Main": False, "AssociationState": {"State": state}} for s in subnets
    ]
    if main:
        associations.append({"RouteTableId": table_id, "Main": True, "AssociationState": {"State": "associated"}})
    return {"RouteTableId": table_id, "VpcId": vpc_id, "Associations": associations}


def client_error(code, operation):
    return botocore.exceptions.ClientError({"Error": {"Code": code, "Message": code}}, operation)


def _matches(item, filters):
    fields = {
        "vpc-id": lambda i: i.get("VpcId"),
        "private-dns-name": lambda i: i.get("PrivateDnsName"),
        "instance-state-name": lambda i: i["State"]["Name"],
    }
    for f in filters:
        if f["Name"].startswith("tag:"):
            tags = {t["Key"]: t["Value"] for t in item.get("Tags", [])}
            value = tags.get(f["Name"][4:])
        else:
            value = fields[f["Name"]](item)
        if value not in f["Values"]:
            return False
    return True


class FakeEC2:
    """Just enough EC2 for discover(): filters honoured, every call recorded as (operation, kwargs)."""

    def __init__(self, instances=(), vpcs=(), subnets=(), route_tables=()):
        self.instances = list(instances)
        self.vpcs = {v["VpcId"]: v for v in vpcs}
        self.subnets = list(subnets)
        self.route_tables = list(route_tables)
        self.calls = []

    def get_paginator(self, operation):
        fake = self

        class Paginator:
            def paginate(self, **kwargs):
                fake.calls.append((operation, kwargs))
                result = getattr(fake, operation)(**kwargs)

                class Pages:
                    def build_full_result(self):
                        return result

                return Pages()

        return Paginator()

    def describe_instances(self, Filters):
        return {"Reservations": [{"Instances": [i for i in self.instances if _matches(i, Filters)]}]}

    def describe_vpcs(self, VpcIds):
        missing = [v for v in VpcIds if v not in self.vpcs]
        if missing:
            raise client_error("InvalidVpcID.NotFound", "DescribeVpcs")
        return {"Vpcs": [self.vpcs[v] for v in VpcIds]}

    def describe_subnets(self, Filters):
        return {"Subnets": [s for s in self.subnets if _matches(s, Filters)]}

    def describe_route_tables(self, Filters):
        return {"RouteTables": [t for t in self.route_tables if _matches(t, Filters)]}

    def operations(self):
        return [call[0] for call in self.calls]


def vpc(vpc_id, cidr_block="10.0.0.0/16"):
    return {
        "VpcId": vpc_id,
        "CidrBlock": cidr_block,
        "OwnerId": "123456789012",
        "CidrBlockAssociationSet": [{"CidrBlock": cidr_block, "CidrBlockState": {"State": "associated"}}],
    }


# --- pure functions -----------------------------------------------------------------------------


def test_instance_filters_by_tag_and_live_states():
    assert rosa.instance_filters(cluster_name="alpha") == [
        {"Name": "tag:api.openshift.com/name", "Values": ["alpha"]},
        {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]},
    ]


def test_instance_filters_by_node_names_are_cleaned_and_sorted():
    filters = rosa.instance_filters(cluster_name="alpha", node_names=["b.internal", " a.internal ", "", "b.internal"])
    assert filters[0] == {"Name": "private-dns-name", "Values": ["a.internal", "b.internal"]}
    assert filters[1]["Name"] == "instance-state-name"


def test_instance_filters_empty_node_names_fall_back_to_the_tag():
    assert rosa.instance_filters(cluster_name="alpha", node_names=["", "  "])[0]["Name"] == "tag:api.openshift.com/name"


def test_choose_vpc_single():
    instances = [instance(VPC_A, "subnet-1"), instance(VPC_A, "subnet-2")]
    assert rosa.choose_vpc(instances, "instances tagged x") == VPC_A


def test_choose_vpc_several_lists_every_vpc_with_counts():
    instances = [instance(VPC_B, "s1"), instance(VPC_A, "s2"), instance(VPC_A, "s3"), instance(VPC_C, "s4")]
    with pytest.raises(AuroraError) as e:
        rosa.choose_vpc(instances, "instances tagged api.openshift.com/name=alpha in region eu-west-1")
    message = str(e.value)
    assert "3 VPCs" in message
    assert f"{VPC_A} (2 instances), {VPC_B} (1 instance), {VPC_C} (1 instance)" in message
    assert "api.openshift.com/name=alpha" in message
    assert message.endswith("set rosa_vpc_id to choose it (none was picked).")


def test_choose_vpc_none_names_the_search():
    with pytest.raises(AuroraError, match="no EC2 instance found: searched instances tagged"):
        rosa.choose_vpc([{"InstanceId": "i-1"}], "instances tagged api.openshift.com/name=alpha in region eu-west-1")


def test_route_tables_explicit_association_wins_over_main():
    tables = [table("rtb-main", main=True), table("rtb-a", subnets=["subnet-a"]), table("rtb-b", subnets=["subnet-b"])]
    assert rosa.route_tables_for_subnets(tables, ["subnet-a", "subnet-b"], VPC_A) == ["rtb-a", "rtb-b"]


def test_route_tables_unassociated_subnet_uses_main():
    tables = [table("rtb-main", main=True), table("rtb-a", subnets=["subnet-a"])]
    assert rosa.route_tables_for_subnets(tables, ["subnet-a", "subnet-public"], VPC_A) == ["rtb-a", "rtb-main"]


def test_route_tables_are_unique_and_sorted():
    tables = [table("rtb-z", subnets=["s1", "s2"]), table("rtb-a", subnets=["s3"]), table("rtb-m", main=True)]
    assert rosa.route_tables_for_subnets(tables, ["s3", "s2", "s1", "s2"], VPC_A) == ["rtb-a", "rtb-z"]


def test_route_tables_ignore_disassociated_and_other_vpcs():
    tables = [
        table("rtb-main", main=True),
        table("rtb-old", subnets=["s1"], state="disassociated"),
        table("rtb-other", vpc_id=VPC_B, subnets=["s1"]),
    ]
    assert rosa.route_tables_for_subnets(tables, ["s1"], VPC_A) == ["rtb-main"]


def test_route_tables_without_main_and_association_is_an_error():
    with pytest.raises(AuroraError, match="subnet s9 has no route table association"):
        rosa.route_tables_for_subnets([table("rtb-a", subnets=["s1"])], ["s1", "s9"], VPC_A)


def test_route_tables_no_subnets_no_tables():
    assert rosa.route_tables_for_subnets([table("rtb-main", main=True)], [], VPC_A) == []


@pytest.mark.parametrize(
    "options, fragment",
    [
        ({"cluster_name": ""}, "cluster_name"),
        ({"cluster_name": "a", "vpc_id": "vpc-xyz"}, "vpc_id must be a VPC ID"),
        ({"cluster_name": "a", "machine_cidr": "10.0.0.1/16"}, "machine_cidr '10.0.0.1/16'"),
        ({"cluster_name": "a", "machine_cidr": "ten"}, "machine_cidr 'ten'"),
    ],
)
def test_option_errors_name_the_option(options, fragment):
    errors = rosa.option_errors(**options)
    assert len(errors) == 1
    assert fragment in errors[0]


def test_option_errors_accept_good_input():
    assert rosa.option_errors(cluster_name="a", vpc_id="vpc-0123456789abcdef0", machine_cidr="10.0.0.0/16") == []
    assert rosa.option_errors(cluster_name="a", vpc_id="vpc-01234567") == []


# --- discover() with a fake client --------------------------------------------------------------


@pytest.fixture
def ec2():
    """Cluster "alpha": workers in VPC_A (private subnets with their own tables); VPC_B holds nodes named n-b*."""
    return FakeEC2(
        instances=[
            instance(VPC_A, "subnet-a1", "n-a1", {"api.openshift.com/name": "alpha"}),
            instance(VPC_A, "subnet-a2", "n-a2", {"api.openshift.com/name": "alpha"}, state="stopped"),
            instance(VPC_A, "subnet-a3", "n-a3", {"api.openshift.com/name": "alpha"}, state="terminated"),
            instance(VPC_B, "subnet-b1", "n-b1", {"api.openshift.com/name": "beta"}),
        ],
        vpcs=[vpc(VPC_A, "10.0.0.0/16"), vpc(VPC_B, "10.1.0.0/16"), vpc(VPC_C, "10.2.0.0/16")],
        subnets=[
            {"SubnetId": "subnet-c1", "VpcId": VPC_C},
            {"SubnetId": "subnet-c2", "VpcId": VPC_C},
            {"SubnetId": "subnet-a1", "VpcId": VPC_A},
        ],
        route_tables=[
            table("rtb-a-main", main=True),
            table("rtb-a1", subnets=["subnet-a1"]),
            table("rtb-a2", subnets=["subnet-a2"]),
            table("rtb-a3", subnets=["subnet-a3"]),
            table("rtb-b-main", vpc_id=VPC_B, main=True),
            table("rtb-c-main", vpc_id=VPC_C, main=True),
            table("rtb-c1", vpc_id=VPC_C, subnets=["subnet-c1"]),
        ],
    )


def test_discover_by_tags(ec2):
    facts, warnings = rosa.discover(ec2, region=REGION, cluster_name="alpha")
    assert facts == {
        "cluster_name": "alpha",
        "region": REGION,
        "vpc_id": VPC_A,
        "vpc_cidr": "10.0.0.0/16",
        "machine_cidr": "10.0.0.0/16",
        "owner_id": "123456789012",
        "subnet_ids": ["subnet-a1", "subnet-a2"],  # the terminated worker's subnet does not count
        "route_table_ids": ["rtb-a1", "rtb-a2"],
        "discovered_by": "tags",
    }
    assert warnings == []
    assert ec2.operations() == ["describe_instances", "describe_vpcs", "describe_route_tables"]
    assert ec2.calls[0][1]["Filters"][0] == {"Name": "tag:api.openshift.com/name", "Values": ["alpha"]}


def test_discover_node_names_win_over_tags(ec2):
    facts, warnings = rosa.discover(ec2, region=REGION, cluster_name="alpha", node_names=["n-b1", "gone"])
    assert facts["vpc_id"] == VPC_B
    assert facts["discovered_by"] == "node_names"
    assert facts["subnet_ids"] == ["subnet-b1"]
    assert facts["route_table_ids"] == ["rtb-b-main"]  # no explicit association: the main table
    assert warnings == ["no instance in region eu-west-1 has the private DNS name gone"]
    assert ec2.operations() == ["describe_instances", "describe_vpcs", "describe_route_tables"]
    assert ec2.calls[0][1]["Filters"][0] == {"Name": "private-dns-name", "Values": ["gone", "n-b1"]}


def test_discover_vpc_id_wins_over_node_names(ec2):
    facts, warnings = rosa.discover(
        ec2, region=REGION, cluster_name="alpha", vpc_id=VPC_C, node_names=["n-b1"], machine_cidr="10.2.128.0/17"
    )
    assert facts["vpc_id"] == VPC_C
    assert facts["discovered_by"] == "vpc_id"
    assert facts["vpc_cidr"] == "10.2.0.0/16"
    assert facts["machine_cidr"] == "10.2.128.0/17"
    assert facts["subnet_ids"] == ["subnet-c1", "subnet-c2"]
    assert facts["route_table_ids"] == ["rtb-c-main", "rtb-c1"]
    assert warnings == []
    assert ec2.operations() == ["describe_vpcs", "describe_subnets", "describe_route_tables"]


def test_discover_unknown_vpc_id_fails(ec2):
    with pytest.raises(AuroraError, match="^rosa_vpc_id vpc-0dddddddddddddddd does not exist in region eu-west-1"):
        rosa.discover(ec2, region=REGION, cluster_name="alpha", vpc_id="vpc-0dddddddddddddddd")


def test_discover_no_instance_names_tag_and_region(ec2):
    with pytest.raises(AuroraError) as e:
        rosa.discover(ec2, region="us-east-2", cluster_name="nobody")
    assert "api.openshift.com/name=nobody" in str(e.value)
    assert "region us-east-2" in str(e.value)
    assert ec2.operations() == ["describe_instances"]


def test_discover_no_instance_names_node_names(ec2):
    with pytest.raises(AuroraError, match="private DNS names ghost-1, ghost-2 in region eu-west-1"):
        rosa.discover(ec2, region=REGION, cluster_name="alpha", node_names=["ghost-2", "ghost-1"])


def test_discover_instances_in_two_vpcs_fail(ec2):
    ec2.instances.append(instance(VPC_C, "subnet-c1", "n-c1", {"api.openshift.com/name": "alpha"}))
    with pytest.raises(AuroraError) as e:
        rosa.discover(ec2, region=REGION, cluster_name="alpha")
    assert f"{VPC_A} (2 instances), {VPC_C} (1 instance)" in str(e.value)


def test_discover_warns_about_a_machine_cidr_outside_the_vpc(ec2):
    facts, warnings = rosa.discover(ec2, region=REGION, cluster_name="alpha", machine_cidr="172.16.0.0/16")
    assert facts["machine_cidr"] == "172.16.0.0/16"
    assert warnings == [f"rosa_machine_cidr 172.16.0.0/16 overlaps none of the CIDR blocks of the VPC {VPC_A}"]


def test_messages_name_the_inputs_as_the_caller_says():
    labels = {option: f"{variable} ({option})" for option, variable in rosa.VARIABLES.items()}

    with pytest.raises(AuroraError) as e:
        rosa.choose_vpc([], "instances tagged api.openshift.com/name=alpha in region eu-west-1", labels)

    assert str(e.value).endswith(
        "Check rosa_cluster_name (cluster_name), rosa_node_names (node_names) and rosa_region (region), "
        "or set rosa_vpc_id (vpc_id)."
    )
    errors = rosa.option_errors(cluster_name="", vpc_id="vpc-x", machine_cidr="10.0.0.0/33", labels=labels)
    assert [e.split(" ", 2)[:2] for e in errors] == [
        ["rosa_cluster_name", "(cluster_name)"],
        ["rosa_vpc_id", "(vpc_id)"],
        ["rosa_machine_cidr", "(machine_cidr)"],
    ]


# The whole estate of a region: every ROSA cluster at once (the inventory plugin rosa_clusters).

ROSA_TAGS = {rosa.NAME_TAG: "alpha", rosa.TYPE_TAG: rosa.TYPE_ROSA}


def test_estate_filters_find_every_live_rosa_node_whatever_its_name():
    filters = {f["Name"]: f["Values"] for f in rosa.estate_filters()}
    assert filters == {
        "tag-key": [rosa.NAME_TAG],
        "tag:red-hat-clustertype": ["rosa"],
        "instance-state-name": ["pending", "running", "stopping", "stopped"],
    }


def test_nodes_by_cluster_groups_by_the_name_tag_and_skips_blank_names():
    a1 = instance(VPC_A, "subnet-a1", "a1", {**ROSA_TAGS})
    a2 = instance(VPC_A, "subnet-a2", "a2", {**ROSA_TAGS})
    b1 = instance(VPC_B, "subnet-b1", "b1", {**ROSA_TAGS, rosa.NAME_TAG: "beta"})
    blank = instance(VPC_C, "subnet-c1", "c1", {**ROSA_TAGS, rosa.NAME_TAG: " "})
    assert rosa.nodes_by_cluster([a1, b1, blank, a2]) == {"alpha": [a1, a2], "beta": [b1]}


def test_common_tags_are_those_every_node_carries_with_the_same_value():
    nodes = [
        instance(VPC_A, "subnet-a1", "a1", {**ROSA_TAGS, "Name": "alpha-worker-a", "site": "a", "owner": "x"}),
        instance(VPC_A, "subnet-a2", "a2", {**ROSA_TAGS, "Name": "alpha-worker-b", "site": "a", "owner": "y"}),
    ]
    assert rosa.common_tags(nodes) == {**ROSA_TAGS, "site": "a"}
    assert rosa.common_tags([]) == {}


def estate(instances):
    vpcs = {VPC_A: {"VpcId": VPC_A, "CidrBlock": "10.0.0.0/16", "OwnerId": "111122223333"}}
    tables = [table("rtb-private-a", subnets=["subnet-a1"]), table("rtb-main-a", main=True)]
    return rosa.estate_network(cluster_name="alpha", region=REGION, instances=instances, vpcs=vpcs, route_tables=tables)


def test_estate_network_has_the_shape_of_discover_and_routes_only_the_nodes_subnets():
    facts = estate([instance(VPC_A, "subnet-a1", "a1", ROSA_TAGS), instance(VPC_A, "subnet-a2", "a2", ROSA_TAGS)])
    assert facts == {
        "cluster_name": "alpha",
        "region": REGION,
        "vpc_id": VPC_A,
        "vpc_cidr": "10.0.0.0/16",
        "machine_cidr": "10.0.0.0/16",
        "owner_id": "111122223333",
        "subnet_ids": ["subnet-a1", "subnet-a2"],
        # subnet-a2 has no table of its own: the main one routes it
        "route_table_ids": ["rtb-main-a", "rtb-private-a"],
        "discovered_by": "tags",
    }


def test_estate_network_refuses_nodes_in_two_vpcs():
    with pytest.raises(AuroraError, match=r"in 2 VPCs: vpc-0a\S* \(1 instance\), vpc-0b\S* \(1 instance\)"):
        estate([instance(VPC_A, "subnet-a1", "a1", ROSA_TAGS), instance(VPC_B, "subnet-b1", "b1", ROSA_TAGS)])


def test_estate_network_refuses_a_vpc_that_was_not_described():
    with pytest.raises(AuroraError, match=f"the VPC {VPC_B} of the instances tagged {rosa.NAME_TAG}=alpha"):
        estate([instance(VPC_B, "subnet-b1", "b1", ROSA_TAGS)])
