"""verify.yml against the emulator: a healthy deployment passes, and each broken link fails its host alone,
names the playbook that mends it, and the run sends no mutating request."""

import pytest
from aurora_side import aurora_network

from tools.ansible_run import rosa_inventory
from tools.ansible_run import run_playbook

CLUSTER = "keycloak-aurora"
ROSA_A = {"name": "rosa-a", "machine_cidr": "10.0.0.0/16"}
# In another region than Aurora (eu-west-1): a cross-region peering.
ROSA_C = {"name": "rosa-c", "region": "eu-central-1", "machine_cidr": "10.2.0.0/16"}
CHECK_TASK = "Check every link of the ROSA cluster to the Aurora cluster"
FAIL_TASK = "Fail the ROSA cluster when a link is broken, saying what mends it"
PEERING_FIX = "run playbooks/peering.yml"
# Every action verify.yml sends, as docs/permissions.md lists them: reads only.
READS = {
    ("ec2", "DescribeInstances"),
    ("ec2", "DescribeVpcs"),
    ("ec2", "DescribeRouteTables"),
    ("ec2", "DescribeSecurityGroups"),
    ("ec2", "DescribeVpcPeeringConnections"),
    ("rds", "DescribeDBClusters"),
    ("rds", "DescribeDBInstances"),
    ("rds", "DescribeDBSubnetGroups"),
}


def verify(emulator, tmp_path, hosts, check=False, **extra_vars):
    inv = rosa_inventory(tmp_path, hosts)
    emulator.start_recording()
    run = run_playbook(
        emulator.env(), "verify.yml", extra_vars={"aurora_cluster": CLUSTER, **extra_vars}, inventory=inv, check=check
    )
    assert emulator.mutating_actions() == [], run.stdout[-3000:]
    return run


def task_results(run, task_name):
    """{host: result} of the task ``task_name`` in the json callback's report."""
    return {
        host: result
        for play in run.report["plays"]
        for task in play["tasks"]
        if task["task"]["name"].endswith(task_name)  # after the role's name, in a role
        for host, result in task["hosts"].items()
    }


def checks_of(run, host):
    return {c["name"]: c for c in task_results(run, CHECK_TASK)[host]["checks"]}


def peering_of(emulator, rosa_cluster):
    client = emulator.client("ec2", rosa_cluster["region"])
    found = client.describe_vpc_peering_connections(
        Filters=[{"Name": "requester-vpc-info.vpc-id", "Values": [rosa_cluster["vpc_id"]]}]
    )["VpcPeeringConnections"]
    [active] = [p for p in found if p["Status"]["Code"] == "active"]
    return active


# Each breaks one link of rosa-a with boto3, and returns the name of the check that must fail and its fix.


def delete_rosa_route(emulator, rosa_a):
    vpc, _main, _group = aurora_network(emulator, CLUSTER)
    table_id = rosa_a["private_route_table_ids"][1]
    emulator.client("ec2").delete_route(RouteTableId=table_id, DestinationCidrBlock=vpc["CidrBlock"])
    return f"route {vpc['CidrBlock']} in {table_id} (ROSA)", PEERING_FIX


def delete_aurora_route(emulator, rosa_a):
    _vpc, main, _group = aurora_network(emulator, CLUSTER)
    emulator.client("ec2").delete_route(RouteTableId=main["RouteTableId"], DestinationCidrBlock=rosa_a["machine_cidr"])
    return f"route {rosa_a['machine_cidr']} in {main['RouteTableId']} (Aurora)", PEERING_FIX


def revoke_rule(emulator, rosa_a):
    _vpc, _main, group = aurora_network(emulator, CLUSTER)
    emulator.client("ec2").revoke_security_group_ingress(
        GroupId=group["GroupId"],
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "IpRanges": [{"CidrIp": rosa_a["machine_cidr"]}]}
        ],
    )
    return f"{CLUSTER}-security-group admits tcp 5432", PEERING_FIX


def delete_peering(emulator, rosa_a):
    peering_id = peering_of(emulator, rosa_a)["VpcPeeringConnectionId"]
    emulator.client("ec2").delete_vpc_peering_connection(VpcPeeringConnectionId=peering_id)
    return "peering ROSA VPC -> Aurora VPC", PEERING_FIX


def peering_deleted_routes_left(emulator, rosa_a):
    """The peering deleted outside the collection: its routes stay, blackholes (the emulator marks them so)."""
    delete_peering(emulator, rosa_a)
    vpc, _main, _group = aurora_network(emulator, CLUSTER)
    return f"route {vpc['CidrBlock']} in {rosa_a['private_route_table_ids'][0]} (ROSA)", PEERING_FIX


def reject_new_peering(emulator, rosa_a):
    """The peering deleted, and a new one rejected by the Aurora side: no live peering remains."""
    delete_peering(emulator, rosa_a)
    vpc, _main, _group = aurora_network(emulator, CLUSTER)
    ec2 = emulator.client("ec2")
    peering_id = ec2.create_vpc_peering_connection(VpcId=rosa_a["vpc_id"], PeerVpcId=vpc["VpcId"])[
        "VpcPeeringConnection"
    ]["VpcPeeringConnectionId"]
    ec2.reject_vpc_peering_connection(VpcPeeringConnectionId=peering_id)
    return "peering ROSA VPC -> Aurora VPC", PEERING_FIX


BREAKS = [
    delete_rosa_route,
    delete_aurora_route,
    revoke_rule,
    delete_peering,
    peering_deleted_routes_left,
    reject_new_peering,
]


def test_a_healthy_deployment_passes_every_check_in_two_regions(emulator, provisioned, tmp_path):
    provisioned([ROSA_A, ROSA_C])
    hosts = {"rosa-a": {}, "rosa-c": {"rosa_region": "eu-central-1"}}
    for check in (False, True):
        run = verify(emulator, tmp_path, hosts, check=check)
        assert run.returncode == 0, run.stdout[-3000:]
        assert run.changed() == 0
        for host in hosts:
            checks = checks_of(run, host)
            assert len(checks) == 9  # the VPC, CIDRs, peering, 3 ROSA routes (one per zone), Aurora route, rule, writer
            assert all(c["ok"] for c in checks.values()), checks
        assert task_results(run, FAIL_TASK)["rosa-a"].get("skipped")
        assert set(emulator.recorded_actions()) == READS


@pytest.mark.parametrize("break_link", BREAKS, ids=lambda f: f.__name__)
def test_one_broken_link_fails_its_host_alone_and_names_the_fix(emulator, provisioned, tmp_path, break_link):
    rosa_a, _rosa_b = provisioned([ROSA_A, {"name": "rosa-b", "machine_cidr": "10.1.0.0/16"}])
    name, fix = break_link(emulator, rosa_a)

    run = verify(emulator, tmp_path, {"rosa-a": {}, "rosa-b": {}})
    assert run.returncode == 2, run.stdout[-3000:]
    assert run.stats("rosa-a")["failures"] == 1 and run.stats("rosa-b")["failures"] == 0
    failed = checks_of(run, "rosa-a")[name]
    assert not failed["ok"] and failed["fix"].startswith(fix), failed
    assert all(c["ok"] for c in checks_of(run, "rosa-b").values())
    message = task_results(run, FAIL_TASK)["rosa-a"]["msg"]
    assert message.startswith(f"rosa-a cannot reach the Aurora cluster {CLUSTER}") and fix in message


def test_the_fix_it_names_mends_a_peering_deleted_outside_the_collection(emulator, provisioned, tmp_path):
    rosa_a, _rosa_c = provisioned([ROSA_A, ROSA_C])
    name, _fix = peering_deleted_routes_left(emulator, rosa_a)
    assert not checks_of(verify(emulator, tmp_path, {"rosa-a": {}}), "rosa-a")[name]["ok"]

    mended = run_playbook(
        emulator.env(),
        "peering.yml",
        extra_vars={"aurora_cluster": CLUSTER},
        inventory=rosa_inventory(tmp_path, {"rosa-a": {}}),
    )
    assert mended.returncode == 0, mended.stdout[-3000:]

    run = verify(emulator, tmp_path, {"rosa-a": {}})
    assert run.returncode == 0, run.stdout[-3000:]
    assert all(c["ok"] for c in checks_of(run, "rosa-a").values())


def test_a_rosa_cluster_never_peered_fails_with_the_peering_fix(emulator, provisioned, rosa, tmp_path):
    provisioned([ROSA_A])
    rosa("rosa-new", machine_cidr="10.5.0.0/16")
    run = verify(emulator, tmp_path, {"rosa-a": {}, "rosa-new": {}})
    assert run.returncode == 2
    broken = {n for n, c in checks_of(run, "rosa-new").items() if not c["ok"]}
    assert "peering ROSA VPC -> Aurora VPC" in broken
    assert {checks_of(run, "rosa-new")[n]["fix"] for n in broken} == {PEERING_FIX}
    assert run.stats("rosa-a")["failures"] == 0


def test_a_missing_aurora_cluster_fails_with_the_provision_fix(emulator, rosa, tmp_path):
    rosa(**ROSA_A)
    run = verify(emulator, tmp_path, {"rosa-a": {}})
    assert run.returncode == 2
    checks = checks_of(run, "rosa-a")
    assert [(n, c["ok"], c["fix"]) for n, c in checks.items()] == [
        ("Aurora VPC", False, "run playbooks/provision.yml"),
        ("writer instance in the Aurora VPC", False, "run playbooks/provision.yml"),
    ]
    assert "Traceback" not in run.stdout


def test_without_aurora_cluster_nothing_is_read(emulator, rosa, tmp_path):
    rosa(**ROSA_A)
    emulator.start_recording()
    run = run_playbook(emulator.env(), "verify.yml", inventory=rosa_inventory(tmp_path, {"rosa-a": {}}))
    assert run.returncode == 2
    assert (
        "aurora_cluster is not set: playbooks/verify.yml needs it, pass -e aurora_cluster=keycloak-aurora" in run.stdout
    )
    assert emulator.recorded_actions() == []
