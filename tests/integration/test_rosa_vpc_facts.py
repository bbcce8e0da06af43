"""rosa_vpc_facts run by ansible-playbook against the emulator's simulated ROSA clusters."""

import json

import pytest

from tools.ansible_run import run_playbook

NAME_TAG = "api.openshift.com/name"


def facts_play(tmp_path, **options):
    """A one-task playbook running the module on localhost with ``options``; returns its path."""
    play = [
        {
            "name": "rosa_vpc_facts",
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "tasks": [{"name": "Find the ROSA network", "keycloak.aurora.rosa_vpc_facts": options}],
        }
    ]
    path = tmp_path / "rosa_vpc_facts.yml"
    path.write_text(json.dumps(play))  # JSON is YAML
    return path


def run_facts(emulator, tmp_path, check=False, **options):
    """(returncode, task result on localhost, the whole run) of the module with ``options``."""
    run = run_playbook(emulator.env(), str(facts_play(tmp_path, **options)), check=check)
    assert run.stdout, run.stderr
    result = run.report["plays"][0]["tasks"][0]["hosts"]["localhost"]
    return run.returncode, result, run


def rosa_vpc(result):
    return result["ansible_facts"]["rosa_vpc"]


@pytest.mark.parametrize("kind", ["classic", "hcp"])
def test_facts_of_a_seeded_cluster(emulator, rosa, tmp_path, kind):
    cluster = rosa("alpha", machine_cidr="10.0.0.0/16", kind=kind)
    rosa("other", machine_cidr="10.1.0.0/16")  # a neighbour that must not leak into the facts

    returncode, result, run = run_facts(emulator, tmp_path, cluster_name="alpha")
    assert returncode == 0, run.stdout
    assert result["changed"] is False
    facts = rosa_vpc(result)
    assert facts["vpc_id"] == cluster["vpc_id"]
    assert facts["machine_cidr"] == "10.0.0.0/16"
    assert facts["vpc_cidr"] == "10.0.0.0/16"
    assert facts["region"] == "eu-west-1"
    assert facts["cluster_name"] == "alpha"
    assert facts["discovered_by"] == "tags"
    assert facts["owner_id"]
    # The workers run in the private subnets only, so the main table (public subnets) is not needed.
    assert facts["route_table_ids"] == sorted(cluster["private_route_table_ids"])
    assert facts["subnet_ids"] == sorted(cluster["private_subnet_ids"])


def test_only_three_reads_are_sent(emulator, rosa, tmp_path):
    rosa("alpha")
    emulator.start_recording()
    returncode, _result, run = run_facts(emulator, tmp_path, cluster_name="alpha")
    emulator.stop_recording()
    assert returncode == 0, run.stdout
    assert emulator.recorded_actions() == [
        ("ec2", "DescribeInstances"),
        ("ec2", "DescribeVpcs"),
        ("ec2", "DescribeRouteTables"),
    ]
    assert emulator.mutating_actions() == []


def test_check_mode_sets_the_same_facts_and_only_reads(emulator, rosa, tmp_path):
    cluster = rosa("alpha")
    emulator.start_recording()
    returncode, result, run = run_facts(emulator, tmp_path, check=True, cluster_name="alpha")
    emulator.stop_recording()
    assert returncode == 0, run.stdout
    assert result["changed"] is False
    assert rosa_vpc(result)["route_table_ids"] == sorted(cluster["private_route_table_ids"])
    assert emulator.mutating_actions() == []
    assert len(emulator.recorded_actions()) <= 3


def test_cluster_in_another_region(emulator, rosa, tmp_path):
    rosa("beta", machine_cidr="10.0.0.0/16")  # same name and CIDR in eu-west-1: the region must decide
    cluster = rosa("beta", region="eu-central-1", machine_cidr="10.20.0.0/16")

    returncode, result, run = run_facts(emulator, tmp_path, cluster_name="beta", region="eu-central-1")
    assert returncode == 0, run.stdout
    facts = rosa_vpc(result)
    assert facts["vpc_id"] == cluster["vpc_id"]
    assert facts["region"] == "eu-central-1"
    assert facts["machine_cidr"] == "10.20.0.0/16"
    assert facts["route_table_ids"] == sorted(cluster["private_route_table_ids"])


def test_unknown_cluster_fails_naming_tag_and_region(emulator, rosa, tmp_path):
    rosa("alpha")
    returncode, result, run = run_facts(emulator, tmp_path, cluster_name="nobody", region="eu-west-1")
    assert returncode != 0
    assert result["failed"] is True
    assert f"{NAME_TAG}=nobody" in result["msg"]
    assert "region eu-west-1" in result["msg"]


def test_node_names_discovery(emulator, rosa, tmp_path):
    rosa("alpha", machine_cidr="10.0.0.0/16")
    cluster = rosa("gamma", machine_cidr="10.30.0.0/16", workers=2)

    # The name given does not matter when the nodes are named: they decide.
    returncode, result, run = run_facts(emulator, tmp_path, cluster_name="alpha", node_names=cluster["node_names"])
    assert returncode == 0, run.stdout
    facts = rosa_vpc(result)
    assert facts["discovered_by"] == "node_names"
    assert facts["vpc_id"] == cluster["vpc_id"]
    assert facts["machine_cidr"] == "10.30.0.0/16"
    # Two workers over three zones: only the two subnets holding them, and their tables.
    assert facts["subnet_ids"] == sorted(cluster["private_subnet_ids"][:2])
    assert facts["route_table_ids"] == sorted(cluster["private_route_table_ids"][:2])


def test_vpc_id_override_uses_every_subnet(emulator, rosa, tmp_path):
    cluster = rosa("alpha", machine_cidr="10.0.0.0/16")
    ec2 = emulator.client("ec2")
    [main_table] = ec2.describe_route_tables(
        Filters=[
            {"Name": "vpc-id", "Values": [cluster["vpc_id"]]},
            {"Name": "association.main", "Values": ["true"]},
        ]
    )["RouteTables"]

    emulator.start_recording()
    returncode, result, run = run_facts(
        emulator, tmp_path, cluster_name="whatever", vpc_id=cluster["vpc_id"], machine_cidr="10.0.0.0/17"
    )
    emulator.stop_recording()
    assert returncode == 0, run.stdout
    facts = rosa_vpc(result)
    assert facts["discovered_by"] == "vpc_id"
    assert facts["machine_cidr"] == "10.0.0.0/17"
    assert facts["vpc_cidr"] == "10.0.0.0/16"
    assert facts["subnet_ids"] == sorted(cluster["private_subnet_ids"] + cluster["public_subnet_ids"])
    # The public subnets have no explicit association: the main table routes them.
    assert facts["route_table_ids"] == sorted(cluster["private_route_table_ids"] + [main_table["RouteTableId"]])
    assert emulator.recorded_actions() == [
        ("ec2", "DescribeVpcs"),
        ("ec2", "DescribeSubnets"),
        ("ec2", "DescribeRouteTables"),
    ]


def test_unknown_vpc_id_fails(emulator, tmp_path):
    returncode, result, _run = run_facts(emulator, tmp_path, cluster_name="alpha", vpc_id="vpc-0123456789abcdef0")
    assert returncode != 0
    assert "rosa_vpc_id (vpc_id) vpc-0123456789abcdef0 does not exist in region eu-west-1" in result["msg"]


def test_bad_input_fails_before_any_request(emulator, tmp_path):
    emulator.start_recording()
    returncode, result, _run = run_facts(emulator, tmp_path, cluster_name="alpha", vpc_id="vpc-nope", machine_cidr="x")
    emulator.stop_recording()
    assert returncode != 0
    assert "rosa_vpc_id (vpc_id) must be a VPC ID" in result["msg"]
    assert "rosa_machine_cidr (machine_cidr) 'x'" in result["msg"]
    assert emulator.recorded_actions() == []


def test_one_name_in_two_vpcs_fails_listing_both(emulator, rosa, tmp_path):
    first = rosa("delta", machine_cidr="10.0.0.0/16")
    second = rosa("delta", machine_cidr="10.40.0.0/16", workers=1)

    returncode, result, _run = run_facts(emulator, tmp_path, cluster_name="delta")
    assert returncode != 0
    message = result["msg"]
    assert f"{first['vpc_id']} (3 instances)" in message
    assert f"{second['vpc_id']} (1 instance)" in message
    assert "2 VPCs" in message
