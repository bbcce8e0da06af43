"""provision.yml --check --diff says what it would create, and sends no mutating request.

Run with ansible-core's default output, as a user reads it: the plans of both plays and the diffs
must name the new VPC's CIDR, its subnets, the instances, and per ROSA cluster the routes and rule.
"""

from tools.ansible_run import rosa_inventory
from tools.ansible_run import run_playbook

CLUSTER = "keycloak-aurora"


def provision(emulator, inventory, check):
    return run_playbook(
        emulator.env(),
        "provision.yml",
        extra_vars={"aurora_cluster": CLUSTER},
        inventory=inventory,
        check=check,
        args=["--diff"] if check else [],
        json_output=False,
    )


def test_check_mode_prints_the_plan_of_each_play_and_changes_nothing(emulator, rosa, tmp_path):
    rosa_a = rosa("rosa-a", machine_cidr="10.0.0.0/16")
    inventory = rosa_inventory(tmp_path, {"rosa-a": {}})

    emulator.start_recording()
    checked = provision(emulator, inventory, check=True)
    assert checked.returncode == 0, checked.stdout
    assert emulator.mutating_actions() == []
    assert (
        emulator.client("ec2").describe_vpcs(Filters=[{"Name": "tag-key", "Values": ["AuroraCluster"]}])["Vpcs"] == []
    )
    out = checked.stdout

    # The Aurora play's plan
    assert "Say what creating the Aurora cluster would do (check mode)" in out
    assert '"cidr_block": "192.168.0.0/24"' in out
    for zone, block in (
        ("eu-west-1a", "192.168.0.0/26"),
        ("eu-west-1b", "192.168.0.64/26"),
        ("eu-west-1c", "192.168.0.128/26"),
    ):
        assert f'"availability_zone": "{zone}",\n                    "cidr_block": "{block}"' in out
    assert f'"security_group_name": "{CLUSTER}-security-group"' in out
    assert f'"db_subnet_group_name": "{CLUSTER}-subnet-group"' in out
    assert f'"db_instance_identifier": "{CLUSTER}-instance-1"' in out
    assert f'"db_instance_identifier": "{CLUSTER}-instance-2"' in out

    # The peering play's plan: the route to the Aurora VPC in every private route table of the ROSA
    # VPC, the route back in the Aurora VPC, and the rule for the machine CIDR
    assert "Say what connecting the ROSA cluster would add (check mode)" in out
    assert f'"requester_vpc_id": "{rosa_a["vpc_id"]}"' in out
    for table in rosa_a["private_route_table_ids"]:
        assert f'"destination_cidr_block": "192.168.0.0/24",\n                    "route_table_id": "{table}"' in out
    assert '"destination_cidr_block": "10.0.0.0/16",\n                    "route_table_id": null' in out
    assert '"cidr_block": "10.0.0.0/16",\n                    "port": 5432' in out

    # --diff shows each resource that would change, before and after
    assert out.count("--- before\n+++ after") >= 3

    # What the check promised is what a real run makes
    assert provision(emulator, inventory, check=False).returncode == 0
    ec2 = emulator.client("ec2")
    [vpc] = ec2.describe_vpcs(Filters=[{"Name": "tag:AuroraCluster", "Values": [CLUSTER]}])["Vpcs"]
    assert vpc["CidrBlock"] == "192.168.0.0/24"
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]
    assert sorted((s["AvailabilityZone"], s["CidrBlock"]) for s in subnets) == [
        ("eu-west-1a", "192.168.0.0/26"),
        ("eu-west-1b", "192.168.0.64/26"),
        ("eu-west-1c", "192.168.0.128/26"),
    ]


def test_check_mode_after_provision_plans_nothing(emulator, provisioned, tmp_path):
    provisioned([{"name": "rosa-a", "machine_cidr": "10.0.0.0/16"}])
    inventory = rosa_inventory(tmp_path, {"rosa-a": {}})

    emulator.start_recording()
    checked = provision(emulator, inventory, check=True)
    assert checked.returncode == 0, checked.stdout
    assert emulator.mutating_actions() == []
    out = checked.stdout
    assert '"create_vpc": false' in out and '"create_subnets": []' in out
    assert '"create_cluster": false' in out and '"create_instances": []' in out
    assert '"create_peering": false' in out and '"routes": []' in out and '"ingress": []' in out
    assert "--- before" not in out
