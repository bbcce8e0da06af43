"""docs/site-playbook.md, run as written.

The roles read only their declared inputs: the example's ROSA clusters sit in a group that is not
rosa_clusters, and the new Aurora VPC still overlaps none of their machine CIDRs, or the playbook
refuses before anything is created.
"""

import re
from pathlib import Path

import pytest
import yaml

from tools.ansible_run import run_playbook

REPO_ROOT = Path(__file__).resolve().parents[2]
DOC = REPO_ROOT / "docs" / "site-playbook.md"
CLUSTER = "keycloak-aurora"
# The example inventory's ROSA clusters, given the first two /24s of the default pool: a VPC allocated
# without knowing them would take 192.168.0.0/24 and overlap the first.
MACHINE_CIDRS = {"rosa-site-a": ("eu-west-1", "192.168.0.0/24"), "rosa-site-b": ("us-east-1", "192.168.1.0/24")}


def documented():
    """(playbook, inventory) as the doc shows them: its first and second YAML blocks."""
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), flags=re.S)
    return yaml.safe_load(blocks[0]), yaml.safe_load(blocks[1])


def write(path, data):
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture
def sites(rosa, tmp_path):
    playbook, inventory = documented()
    [group] = inventory
    assert group != "rosa_clusters", "the example must show that the group name is free"
    assert sorted(inventory[group]["hosts"]) == sorted(MACHINE_CIDRS)
    seeded = {}
    for host, (region, machine_cidr) in MACHINE_CIDRS.items():
        assert inventory[group]["hosts"][host].get("rosa_region", "eu-west-1") == region
        seeded[host] = rosa(host, region=region, machine_cidr=machine_cidr)
    return playbook, write(tmp_path / "inventory.yml", inventory), seeded


def aurora_vpcs(emulator):
    ec2 = emulator.client("ec2")
    return ec2.describe_vpcs(Filters=[{"Name": "tag:AuroraCluster", "Values": [CLUSTER]}])["Vpcs"]


def test_the_documented_site_playbook_avoids_the_rosa_cidrs_of_its_own_group(emulator, sites, tmp_path):
    playbook, inventory, seeded = sites
    run = run_playbook(emulator.env(), write(tmp_path / "site.yml", playbook), inventory=inventory)
    assert run.returncode == 0, run.stdout

    [vpc] = aurora_vpcs(emulator)
    assert vpc["CidrBlock"] == "192.168.2.0/24"
    for host, (region, _cidr) in MACHINE_CIDRS.items():
        peerings = emulator.client("ec2", region=region).describe_vpc_peering_connections(
            Filters=[{"Name": "requester-vpc-info.vpc-id", "Values": [seeded[host]["vpc_id"]]}]
        )["VpcPeeringConnections"]
        assert [p["Status"]["Code"] for p in peerings] == ["active"], host
    # the ROSA play took the network aurora_create published instead of looking it up again
    lookups = [
        result
        for play in run.report["plays"]
        for task in play["tasks"]
        if task["task"]["name"].endswith("Find the network of the Aurora cluster, once for all ROSA clusters")
        for result in task["hosts"].values()
    ]
    assert lookups and all(result.get("skipped") for result in lookups)


def test_without_the_facts_play_it_refuses_before_any_change(emulator, sites, tmp_path):
    playbook, inventory, _seeded = sites
    emulator.start_recording()
    run = run_playbook(emulator.env(), write(tmp_path / "site.yml", playbook[1:]), inventory=inventory)
    emulator.stop_recording()
    assert run.returncode != 0
    assert "rosa-site-a, rosa-site-b is not known" in run.stdout
    assert "tasks_from: facts" in run.stdout
    assert emulator.mutating_actions() == []
    assert aurora_vpcs(emulator) == []


NETWORK = {"vpc_id": "vpc-0123456789abcdef0", "cidr_block": "10.9.0.0/24"}


@pytest.mark.parametrize(
    ("playbook", "published", "refusal"),
    [
        (
            "peering.yml",
            {"cluster": "other-aurora", "region": "eu-west-1", "network": NETWORK},
            f"aurora_database describes the Aurora cluster other-aurora in eu-west-1, not aurora_cluster={CLUSTER}",
        ),
        (
            "peering.yml",
            {"cluster": CLUSTER, "region": "eu-west-1", "writer_endpoint": "writer.example"},
            f"aurora_database has no network for {CLUSTER}",
        ),
        # Without a writer endpoint Keycloak's Secret would be skipped as if the cluster did not exist.
        (
            "keycloak_config.yml",
            {"cluster": CLUSTER, "region": "eu-west-1", "network": NETWORK, "port": 5432},
            f"aurora_database has no database_name, master_username, writer_endpoint for {CLUSTER}",
        ),
    ],
    ids=["another cluster", "no network", "no writer endpoint"],
)
def test_an_aurora_database_for_another_cluster_or_lacking_what_the_role_reads_is_refused(
    emulator, rosa, tmp_path, playbook, published, refusal
):
    rosa("rosa-site-a", machine_cidr="10.0.0.0/16")
    # The Keycloak role acts only on a ROSA cluster with a kubeconfig; the refusal comes before it is read.
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("{}")
    host = {"rosa_kubeconfig": str(kubeconfig)} if playbook == "keycloak_config.yml" else {}
    inventory = write(
        tmp_path / "inventory.yml",
        {"rosa_clusters": {"vars": {"ansible_connection": "local"}, "hosts": {"rosa-site-a": host}}},
    )
    emulator.start_recording()
    run = run_playbook(
        emulator.env(),
        playbook,
        inventory=inventory,
        extra_vars={"aurora_cluster": CLUSTER, "aurora_database": published},
    )
    emulator.stop_recording()
    assert run.returncode != 0
    assert refusal in run.stdout
    assert emulator.mutating_actions() == []
