"""Two of a kind: duplicate Aurora VPCs or duplicate peerings are refused by every playbook
that would act on them, with all of them listed and nothing changed; two provision runs of one cluster
started together end with one deployment.
"""

import subprocess

import pytest

from tools.ansible_run import BIN
from tools.ansible_run import PLAYBOOKS
from tools.ansible_run import REPO_ROOT
from tools.ansible_run import ansible_env
from tools.ansible_run import rosa_inventory

CLUSTER = "keycloak-aurora"


def command(playbook, inv=None, **extra_vars):
    args = [str(BIN / "ansible-playbook"), str(PLAYBOOKS / playbook), "-e", f"aurora_cluster={CLUSTER}"]
    for key, value in extra_vars.items():
        args += ["-e", f"{key}={value}"]
    return args + (["-i", str(inv)] if inv else [])


def run(emulator, args):
    return subprocess.run(
        args,
        env=ansible_env(emulator.env(), json_output=False),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def tagged_vpc(ec2, block):
    spec = [{"ResourceType": "vpc", "Tags": [{"Key": "AuroraCluster", "Value": CLUSTER}]}]
    return ec2.create_vpc(CidrBlock=block, TagSpecifications=spec)["Vpc"]["VpcId"]


PLAYBOOKS_ON_THE_VPC = [
    ("provision.yml", {}),
    ("peering.yml", {}),
    ("unpeer.yml", {}),
    ("delete.yml", {"aurora_delete_peerings": "true"}),
]


@pytest.mark.parametrize(
    ("playbook", "extra_vars"), PLAYBOOKS_ON_THE_VPC, ids=[entry[0] for entry in PLAYBOOKS_ON_THE_VPC]
)
def test_two_tagged_vpcs_are_listed_and_nothing_changes(emulator, rosa, tmp_path, playbook, extra_vars):
    rosa("rosa-a", machine_cidr="10.0.0.0/16")
    ec2 = emulator.client("ec2")
    ids = [tagged_vpc(ec2, "192.168.0.0/24"), tagged_vpc(ec2, "192.168.1.0/24")]
    emulator.start_recording()

    result = run(emulator, command(playbook, rosa_inventory(tmp_path, {"rosa-a": {}}), **extra_vars))

    assert result.returncode != 0
    assert "2 VPCs carry the tag AuroraCluster=keycloak-aurora" in result.stdout, result.stdout
    assert all(vpc_id in result.stdout for vpc_id in ids)
    assert emulator.mutating_actions() == []


def duplicate_peering(emulator, rosa_cluster):
    """A second active peering between the ROSA VPC and the Aurora VPC, tagged like the first."""
    ec2 = emulator.client("ec2")
    [vpc] = ec2.describe_vpcs(Filters=[{"Name": "tag:AuroraCluster", "Values": [CLUSTER]}])["Vpcs"]
    spec = [{"ResourceType": "vpc-peering-connection", "Tags": [{"Key": "AuroraCluster", "Value": CLUSTER}]}]
    peering = ec2.create_vpc_peering_connection(
        VpcId=rosa_cluster["vpc_id"], PeerVpcId=vpc["VpcId"], TagSpecifications=spec
    )["VpcPeeringConnection"]
    ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=peering["VpcPeeringConnectionId"])
    return peering["VpcPeeringConnectionId"]


PLAYBOOKS_ON_THE_PEERING = [
    ("peering.yml", {}),
    ("unpeer.yml", {}),
    ("delete.yml", {}),
    ("delete.yml", {"aurora_delete_peerings": "true"}),
]


@pytest.fixture
def two_peerings(emulator, shared_start, provisioned, tmp_path):
    """A provisioned cluster whose ROSA VPC has a second active peering into the Aurora VPC: (inventory,
    the second peering). A shared start: the cases refuse, and each starts from it as built."""

    def build():
        [rosa_cluster] = provisioned([{"name": "rosa-a", "machine_cidr": "10.0.0.0/16"}])
        return duplicate_peering(emulator, rosa_cluster)

    second = shared_start("two-peerings", build)
    return rosa_inventory(tmp_path, {"rosa-a": {}}), second


@pytest.mark.parametrize(
    ("playbook", "extra_vars"), PLAYBOOKS_ON_THE_PEERING, ids=["peering", "unpeer", "delete", "delete-with-peerings"]
)
def test_two_peerings_between_the_same_vpcs_are_listed_and_nothing_changes(
    emulator, two_peerings, playbook, extra_vars
):
    inv, second = two_peerings
    emulator.start_recording()

    result = run(emulator, command(playbook, inv, **extra_vars))

    assert result.returncode != 0
    assert second in result.stdout, result.stdout
    assert emulator.mutating_actions() == []


def deployment(emulator):
    """What exists of the cluster, counted: one of each after a converged provision."""
    ec2, rds = emulator.client("ec2"), emulator.client("rds")
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:AuroraCluster", "Values": [CLUSTER]}])["Vpcs"]
    vpc_ids = [v["VpcId"] for v in vpcs]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": vpc_ids}])["Subnets"] if vpc_ids else []
    groups = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [f"{CLUSTER}-security-group"]}])
    instances = rds.describe_db_instances(Filters=[{"Name": "db-cluster-id", "Values": [CLUSTER]}])["DBInstances"]
    return {
        "vpcs": len(vpcs),
        "subnets": len(subnets),
        "security groups": len(groups["SecurityGroups"]),
        "clusters": len(rds.describe_db_clusters()["DBClusters"]),
        "instances": sorted(i["DBInstanceIdentifier"] for i in instances),
    }


ONE_DEPLOYMENT = {
    "vpcs": 1,
    "subnets": 3,
    "security groups": 1,
    "clusters": 1,
    "instances": [f"{CLUSTER}-instance-1", f"{CLUSTER}-instance-2"],
}


def test_two_provisions_started_together_end_with_one_deployment(emulator):
    args = command("provision.yml")
    env = ansible_env(emulator.env(), json_output=False)
    runs = [
        subprocess.Popen(
            args, env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        for _copy in range(2)
    ]
    outputs = [process.communicate(timeout=600)[0].decode() for process in runs]
    codes = [process.returncode for process in runs]

    failed = [output for code, output in zip(codes, outputs) if code != 0]
    for output in failed:
        assert "at the same time" in output, output
    if failed:
        rerun = run(emulator, args)
        assert rerun.returncode == 0, rerun.stdout
    assert deployment(emulator) == ONE_DEPLOYMENT
