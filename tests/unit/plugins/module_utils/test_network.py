"""network: the plan and the diff of the Aurora network, from what the ensure_* functions found and made."""

import botocore.exceptions
import pytest
from aws_fakes import FakeClock
from aws_fakes import FakePaginator

from ansible_collections.keycloak.aurora.plugins.module_utils import network
from ansible_collections.keycloak.aurora.plugins.module_utils.exceptions import AuroraError

AFTER = {
    "vpc_id": "vpc-a",
    "cidr_block": "192.168.0.0/24",
    "main_route_table_id": "rtb-a",
    "subnets": [
        {"subnet_id": "subnet-a", "availability_zone": "eu-west-1a", "cidr_block": "192.168.0.0/26"},
        {"subnet_id": "subnet-b", "availability_zone": "eu-west-1b", "cidr_block": "192.168.0.64/26"},
        {"subnet_id": "subnet-c", "availability_zone": "eu-west-1c", "cidr_block": "192.168.0.128/26"},
    ],
    "db_subnet_group_name": "kc-subnet-group",
    "security_group_id": "sg-a",
    "security_group_name": "kc-security-group",
}


def new_subnet(zone, block):
    return {"SubnetId": None, "AvailabilityZone": zone, "CidrBlock": block}


def plan(**kwargs):
    args = dict(vpc_created=False, new_subnets=[], subnet_group_created=False, security_group_created=False)
    args.update(kwargs)
    return network.network_plan(network=AFTER, **args)


def test_the_plan_of_a_new_network_names_the_cidr_every_subnet_and_both_groups():
    planned = plan(
        vpc_created=True,
        new_subnets=[new_subnet("eu-west-1b", "192.168.0.64/26"), new_subnet("eu-west-1a", "192.168.0.0/26")],
        subnet_group_created=True,
        security_group_created=True,
    )
    assert planned == {
        "create_vpc": True,
        "vpc_id": "vpc-a",
        "cidr_block": "192.168.0.0/24",
        "create_subnets": [
            {"availability_zone": "eu-west-1a", "cidr_block": "192.168.0.0/26"},
            {"availability_zone": "eu-west-1b", "cidr_block": "192.168.0.64/26"},
        ],
        "create_db_subnet_group": True,
        "db_subnet_group_name": "kc-subnet-group",
        "create_security_group": True,
        "security_group_name": "kc-security-group",
    }
    assert network.network_before(planned, AFTER) == {}


def test_the_diff_of_an_adopted_network_shows_only_the_new_subnet_as_added():
    planned = plan(new_subnets=[new_subnet("eu-west-1c", "192.168.0.128/26")])
    before = network.network_before(planned, AFTER)
    assert [s["availability_zone"] for s in before["subnets"]] == ["eu-west-1a", "eu-west-1b"]
    assert {k: v for k, v in before.items() if k != "subnets"} == {k: v for k, v in AFTER.items() if k != "subnets"}


def test_the_diff_of_a_network_missing_its_groups():
    before = network.network_before(plan(subnet_group_created=True, security_group_created=True), AFTER)
    assert before["db_subnet_group_name"] is None
    assert before["security_group_id"] is None and before["security_group_name"] is None
    assert before["subnets"] == AFTER["subnets"]


def test_nothing_planned_means_before_is_after():
    assert network.network_before(plan(), AFTER) == AFTER


def interface(eni, subnet, requester="amazon-rds"):
    found = {"NetworkInterfaceId": eni, "SubnetId": subnet, "RequesterManaged": requester is not None}
    if requester:
        found["RequesterId"] = requester
    return found


def test_lingering_interfaces_of_deleted_instances_are_named_and_only_waiting_helps():
    message = network.lingering_message(
        "kc",
        ["sg-a", "subnet-a"],
        [interface("eni-1", "subnet-a"), interface("eni-2", "subnet-b")],
        600,
    )
    assert message.startswith(
        "Timed out after aurora_wait_timeout (wait_timeout) 600s deleting the network of the Aurora "
        "cluster kc: sg-a, subnet-a still in use."
    )
    assert "eni-1 (in subnet-a), eni-2 (in subnet-b)" in message
    assert "only waiting helps. Run the delete again later." in message
    assert "Other network interfaces" not in message


def test_interfaces_of_something_else_are_named_apart_with_what_to_do():
    message = network.lingering_message(
        "kc", ["subnet-a"], [interface("eni-1", "subnet-a"), interface("eni-9", "subnet-a", requester=None)], 60
    )
    assert "deleted DB instances are still there: eni-1 (in subnet-a)." in message
    assert "Other network interfaces are in the VPC: eni-9 (in subnet-a). Delete what they belong to" in message


def test_a_subnet_group_in_use_names_its_cluster_and_state():
    message = network.subnet_group_in_use_message("kc-subnet-group", "kc", "deleting", 60)
    assert "waiting to delete DB subnet group kc-subnet-group: the DB cluster kc still uses it (it is deleting)" in (
        message
    )
    assert "a DB cluster or instance still uses it" in network.subnet_group_in_use_message("g", "kc", None, 60)


# deleting: each resource as soon as AWS lets it go, all within one deadline ----------------------


def refusal(code, operation):
    return botocore.exceptions.ClientError({"Error": {"Code": code, "Message": code}}, operation)


class FakeNetwork:
    """EC2 and RDS at once: the VPC vpc-1 of cluster kc with sg-1, subnet-a and subnet-b, its DB subnet
    group, and the DB cluster kc being deleted. ``busy`` maps a resource to how many deletes it refuses."""

    def __init__(self, busy=None):
        self.busy = dict(busy or {})
        self.deleted = []
        self.attempts = []
        self.interfaces = [{"NetworkInterfaceId": "eni-1", "SubnetId": "subnet-a", "RequesterId": "amazon-rds"}]

    def get_paginator(self, name):
        return FakePaginator(getattr(self, "_" + name))

    def _describe_vpcs(self, **_kwargs):
        return {"Vpcs": [{"VpcId": "vpc-1", "CidrBlock": "192.168.0.0/24"}]}

    def _describe_security_groups(self, **_kwargs):
        return {"SecurityGroups": [{"GroupId": "sg-1", "VpcId": "vpc-1", "GroupName": "kc-security-group"}]}

    def _describe_subnets(self, **_kwargs):
        return {"Subnets": [{"SubnetId": s, "VpcId": "vpc-1"} for s in ("subnet-a", "subnet-b")]}

    def _describe_network_interfaces(self, **_kwargs):
        return {"NetworkInterfaces": self.interfaces}

    def describe_db_subnet_groups(self, DBSubnetGroupName):
        return {"DBSubnetGroups": [{"DBSubnetGroupName": DBSubnetGroupName}]}

    def describe_db_clusters(self, DBClusterIdentifier):
        return {"DBClusters": [{"DBClusterIdentifier": DBClusterIdentifier, "Status": "deleting"}]}

    def _delete(self, resource, code, operation):
        self.attempts.append(resource)
        if self.busy.get(resource):
            self.busy[resource] -= 1
            raise refusal(code, operation)
        self.deleted.append(resource)

    def delete_db_subnet_group(self, DBSubnetGroupName):
        self._delete(DBSubnetGroupName, "InvalidDBSubnetGroupStateFault", "DeleteDBSubnetGroup")

    def delete_security_group(self, GroupId):
        self._delete(GroupId, "DependencyViolation", "DeleteSecurityGroup")

    def delete_subnet(self, SubnetId):
        self._delete(SubnetId, "DependencyViolation", "DeleteSubnet")

    def delete_vpc(self, VpcId):
        self._delete(VpcId, "DependencyViolation", "DeleteVpc")


def delete_network(fake, clock, timeout=600):
    return network.ensure_network_absent(
        fake, fake, cluster="kc", check_mode=False, wait_timeout=timeout, delay=10, sleep=clock.sleep, clock=clock
    )


def test_each_resource_goes_as_soon_as_aws_lets_it_not_after_the_others():
    fake, clock = FakeNetwork(busy={"subnet-a": 3}), FakeClock()
    changed, removed = delete_network(fake, clock)
    assert changed and removed["subnet_ids"] == ["subnet-a", "subnet-b"]
    assert fake.deleted == ["kc-subnet-group", "sg-1", "subnet-b", "subnet-a", "vpc-1"]
    assert fake.attempts.count("sg-1") == 1 and fake.attempts.count("subnet-b") == 1
    assert clock.sleeps == [10, 10, 10]


def test_one_deadline_for_every_step_of_the_run_then_the_lingering_interfaces_are_named():
    fake, clock = FakeNetwork(busy={"kc-subnet-group": 2, "subnet-a": 1000}), FakeClock()
    with pytest.raises(AuroraError) as raised:
        delete_network(fake, clock, timeout=60)
    assert sum(clock.sleeps) == 60, "the subnet group's 20 s came out of the same 60"
    assert "subnet-a still in use" in str(raised.value)
    assert "eni-1 (in subnet-a)" in str(raised.value)
    assert fake.deleted == ["kc-subnet-group", "sg-1", "subnet-b"]


def test_a_subnet_group_held_past_the_deadline_names_its_cluster_being_deleted():
    fake, clock = FakeNetwork(busy={"kc-subnet-group": 1000}), FakeClock()
    with pytest.raises(AuroraError, match=r"the DB cluster kc still uses it \(it is deleting\)"):
        delete_network(fake, clock, timeout=30)
    assert fake.deleted == []
