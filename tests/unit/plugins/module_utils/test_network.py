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
