"""network: the plan and the diff of the Aurora network, from what the ensure_* functions found and made."""

from ansible_collections.keycloak.aurora.plugins.module_utils import network

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
        "Timed out (wait_timeout=600, aurora_wait_timeout in the playbooks) deleting the network of the Aurora "
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
