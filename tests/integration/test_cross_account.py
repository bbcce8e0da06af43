"""ROSA clusters in another AWS account than Aurora's, against the emulator with two accounts.

The play's credentials are those of the emulator's default account, which holds Aurora and rosa-a (eu-west-1).
rosa-b lives in account OTHER_ACCOUNT and in us-east-1; its host reaches that account by assuming a role there
(rosa_role_arn) or with a profile holding an access key of that account (rosa_aws_profile). moto maps the keys
AssumeRole returns, and the access keys IAM makes, to their account.
"""

import re

import aurora_side
import pytest

from tools.ansible_run import rosa_inventory
from tools.ansible_run import run_playbook
from tools.emulator.harness import DEFAULT_ACCOUNT_ID
from tools.emulator.harness import request_action
from tools.emulator.harness import request_parameters
from tools.emulator.rosa import seed_rosa_cluster

CLUSTER = "keycloak-aurora"
AURORA_REGION = "eu-west-1"
OTHER_ACCOUNT = "222222222222"
ROLE = f"arn:aws:iam::{OTHER_ACCOUNT}:role/keycloak-aurora-peering"
ROSA_B_REGION = "us-east-1"
ROSA_B_CIDR = "10.1.0.0/16"
TEMPORARY_KEY = re.compile(r"ASIA[A-Z0-9]{16}")


def play(emulator, playbook, inventory=None, env=None, args=(), **extra_vars):
    run = run_playbook(
        emulator.env(),
        playbook,
        extra_vars={"aurora_cluster": CLUSTER, **extra_vars},
        inventory=inventory,
        env=env,
        args=args,
    )
    assert run.returncode == 0, run.stdout[-4000:]
    return run


@pytest.fixture
def estate(emulator, tmp_path):
    """rosa-a in Aurora's account, rosa-b in OTHER_ACCOUNT; an inventory reaching rosa-b by role, one by profile."""
    other = emulator.assume_role(ROLE)

    def in_other_account(service, region):
        return emulator.client(service, region, credentials=other)

    rosa_a = seed_rosa_cluster(emulator, "rosa-a", machine_cidr="10.0.0.0/16")
    rosa_b = seed_rosa_cluster(in_other_account, "rosa-b", region=ROSA_B_REGION, machine_cidr=ROSA_B_CIDR)
    # A user of the other account, whose access key a profile holds.
    iam = in_other_account("iam", AURORA_REGION)
    iam.create_user(UserName="rosa-peering")
    key = iam.create_access_key(UserName="rosa-peering")["AccessKey"]
    (tmp_path / "credentials").write_text(
        f"[rosa-estate]\naws_access_key_id = {key['AccessKeyId']}\naws_secret_access_key = {key['SecretAccessKey']}\n"
    )
    by_role = rosa_inventory(tmp_path, {"rosa-a": {}, "rosa-b": {"rosa_region": ROSA_B_REGION, "rosa_role_arn": ROLE}})
    by_profile = rosa_inventory(
        tmp_path, {"rosa-a": {}, "rosa-b": {"rosa_region": ROSA_B_REGION, "rosa_aws_profile": "rosa-estate"}}
    )
    return {
        "rosa_a": rosa_a,
        "rosa_b": rosa_b,
        "other": in_other_account,
        "by_role": by_role,
        "by_profile": by_profile,
        "env": {"AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials")},
        "access_key_id": other["AccessKeyId"],
    }


def peerings(client, status=("active",)):
    found = client.describe_vpc_peering_connections()["VpcPeeringConnections"]
    return [p for p in found if p["Status"]["Code"] in status]


def routes_through_peerings(client, route_table_ids):
    tables = client.describe_route_tables(RouteTableIds=route_table_ids)["RouteTables"]
    return {
        (table["RouteTableId"], route["DestinationCidrBlock"], route["VpcPeeringConnectionId"])
        for table in tables
        for route in table["Routes"]
        if route.get("VpcPeeringConnectionId")
    }


def aurora_network(emulator):
    vpc, main, group = aurora_side.aurora_network(emulator, CLUSTER)
    database_cidrs = {
        r["CidrIp"] for p in group["IpPermissions"] if p.get("FromPort") == 5432 for r in p.get("IpRanges", [])
    }
    return {"vpc": vpc, "main_route_table_id": main["RouteTableId"], "database_cidrs": database_cidrs}


def test_a_rosa_cluster_in_another_account_is_peered_unpeered_and_deleted_with_aurora(emulator, estate):
    rosa_b, other_ec2 = estate["rosa_b"], estate["other"]("ec2", ROSA_B_REGION)

    emulator.start_recording()
    provision = play(emulator, "provision.yml", estate["by_role"])
    # The role's temporary credentials are never shown (moto's, like AWS's, have access key IDs starting ASIA):
    # neither any such key ID nor the key, secret and token the modules' AssumeRole sessions got.
    assert TEMPORARY_KEY.fullmatch(estate["access_key_id"])
    output = provision.stdout + provision.stderr
    assert not TEMPORARY_KEY.search(output)
    sessions = [s for s in emulator.assumed_roles() if s["session_name"] == "keycloak-aurora-rosa-b"]
    assert sessions
    for session in sessions:
        for secret in (session["access_key_id"], session["secret_access_key"], session["session_token"]):
            assert secret not in output

    # The ROSA account requested it, naming Aurora's account and region; Aurora's account accepted it.
    [peering] = peerings(other_ec2)
    peering_id = peering["VpcPeeringConnectionId"]
    assert peering["RequesterVpcInfo"]["OwnerId"] == OTHER_ACCOUNT
    assert (peering["AccepterVpcInfo"]["OwnerId"], peering["AccepterVpcInfo"]["Region"]) == (
        DEFAULT_ACCOUNT_ID,
        AURORA_REGION,
    )
    aurora = aurora_network(emulator)
    aurora_cidr = aurora["vpc"]["CidrBlock"]
    # Each account wrote its own routes; Aurora's account admits the other account's ROSA cluster.
    assert routes_through_peerings(other_ec2, rosa_b["private_route_table_ids"]) == {
        (table, aurora_cidr, peering_id) for table in rosa_b["private_route_table_ids"]
    }
    aurora_ec2 = emulator.client("ec2")
    assert (aurora["main_route_table_id"], ROSA_B_CIDR, peering_id) in routes_through_peerings(
        aurora_ec2, [aurora["main_route_table_id"]]
    )
    assert aurora["database_cidrs"] == {"10.0.0.0/16", ROSA_B_CIDR}
    # Each account tagged the peering: Aurora's account finds it by its own tags.
    [tagged] = aurora_ec2.describe_vpc_peering_connections(Filters=[{"Name": "tag:RosaCluster", "Values": ["rosa-b"]}])[
        "VpcPeeringConnections"
    ]
    assert tagged["VpcPeeringConnectionId"] == peering_id
    [same_account] = [p for p in peerings(aurora_ec2) if p["VpcPeeringConnectionId"] != peering_id]
    assert same_account["RequesterVpcInfo"]["OwnerId"] == DEFAULT_ACCOUNT_ID
    # Only the request from the other account names Aurora's account as the owner of the peer VPC.
    requests = [
        request_parameters(entry)
        for entry in emulator.recorded_requests()
        if request_action(entry)[1] == "CreateVpcPeeringConnection"
    ]
    assert sorted(r.get("PeerOwnerId", [None])[0] or "" for r in requests) == ["", DEFAULT_ACCOUNT_ID]

    again = play(emulator, "provision.yml", estate["by_role"])
    assert again.changed() == 0
    # verify reads each side with its account's credentials: every link of both ROSA clusters holds.
    emulator.start_recording()
    verified = play(emulator, "verify.yml", estate["by_role"])
    assert verified.stats("rosa-b")["ok"] > 0
    assert [action for action in emulator.mutating_actions() if action[0] != "sts"] == []  # AssumeRole only

    # Unpeered with the other way into the same account: a profile.
    play(emulator, "unpeer.yml", estate["by_profile"], env=estate["env"], args=["--limit", "rosa-b"])
    assert peerings(other_ec2) == []
    assert routes_through_peerings(other_ec2, rosa_b["private_route_table_ids"]) == set()
    assert aurora_network(emulator)["database_cidrs"] == {"10.0.0.0/16"}
    assert len(peerings(aurora_ec2)) == 1  # rosa-a's

    # Peered again with the profile, then deleted with Aurora: the cascade reaches into the other account.
    play(emulator, "peering.yml", estate["by_profile"], env=estate["env"])
    assert len(peerings(other_ec2)) == 1
    play(emulator, "delete.yml", estate["by_role"], aurora_delete_peerings=True, aurora_skip_final_snapshot=True)
    live = ("initiating-request", "pending-acceptance", "provisioning", "active")
    assert peerings(other_ec2, live) == [] and peerings(aurora_ec2, live) == []
    assert routes_through_peerings(other_ec2, rosa_b["private_route_table_ids"]) == set()
    assert routes_through_peerings(aurora_ec2, estate["rosa_a"]["private_route_table_ids"]) == set()
    assert aurora_ec2.describe_vpcs(Filters=[{"Name": "tag:AuroraCluster", "Values": [CLUSTER]}])["Vpcs"] == []
    assert emulator.client("rds").describe_db_clusters()["DBClusters"] == []


def test_delete_refuses_a_peering_from_an_account_the_inventory_gives_no_way_into(emulator, estate):
    play(emulator, "provision.yml", estate["by_role"])
    other_ec2, aurora_ec2 = estate["other"]("ec2", ROSA_B_REGION), emulator.client("ec2")
    emulator.start_recording()
    run = run_playbook(
        emulator.env(),
        "delete.yml",
        extra_vars={"aurora_cluster": CLUSTER, "aurora_delete_peerings": True, "aurora_skip_final_snapshot": True},
        json_output=False,
    )
    assert run.returncode != 0
    [peering] = peerings(other_ec2)
    assert f"{peering['VpcPeeringConnectionId']} from the ROSA VPC {estate['rosa_b']['vpc_id']}" in run.stdout
    assert f"of the AWS account {OTHER_ACCOUNT} (ROSA cluster rosa-b)" in run.stdout
    assert "rosa_role_arn" in run.stdout
    assert emulator.mutating_actions() == []
    assert len(peerings(aurora_ec2)) == 2


def test_a_profile_and_a_role_on_one_host_are_refused_before_any_request(emulator, estate, tmp_path):
    both = rosa_inventory(
        tmp_path, {"rosa-b": {"rosa_region": ROSA_B_REGION, "rosa_role_arn": ROLE, "rosa_aws_profile": "rosa-estate"}}
    )
    emulator.start_recording()
    run = run_playbook(emulator.env(), "peering.yml", extra_vars={"aurora_cluster": CLUSTER}, inventory=both)
    assert run.returncode != 0
    assert "rosa_aws_profile (rosa-estate) and rosa_role_arn" in run.stdout
    assert emulator.recorded_requests() == []


def left_pending(emulator, estate, tags):
    """A peering rosa-b's account requested into the Aurora VPC and Aurora's never accepted, tagged with
    ``tags`` on the requester side only: what a run interrupted between the request and the acceptance leaves."""
    other_ec2 = estate["other"]("ec2", ROSA_B_REGION)
    peering_id = other_ec2.create_vpc_peering_connection(
        VpcId=estate["rosa_b"]["vpc_id"],
        PeerVpcId=aurora_network(emulator)["vpc"]["VpcId"],
        PeerOwnerId=DEFAULT_ACCOUNT_ID,
        PeerRegion=AURORA_REGION,
        TagSpecifications=[
            {"ResourceType": "vpc-peering-connection", "Tags": [{"Key": k, "Value": v} for k, v in tags]}
        ],
    )["VpcPeeringConnection"]["VpcPeeringConnectionId"]
    [pending] = peerings(other_ec2, ("pending-acceptance",))
    assert pending["VpcPeeringConnectionId"] == peering_id
    return peering_id


def status_of(client, peering_id):
    [found] = client.describe_vpc_peering_connections(VpcPeeringConnectionIds=[peering_id])["VpcPeeringConnections"]
    return found["Status"]["Code"]


def test_a_peering_request_an_interrupted_run_left_unaccepted_is_removed_by_unpeer(emulator, estate):
    play(emulator, "provision.yml", estate["by_role"])
    play(emulator, "unpeer.yml", estate["by_role"], args=["--limit", "rosa-b"])
    other_ec2 = estate["other"]("ec2", ROSA_B_REGION)
    peering_id = left_pending(emulator, estate, [("AuroraCluster", CLUSTER), ("RosaCluster", "rosa-b")])

    play(emulator, "unpeer.yml", estate["by_role"], args=["--limit", "rosa-b"])
    # Deleted by the ROSA account: the emulator, as AWS, refuses Aurora's account a request not yet accepted.
    assert status_of(other_ec2, peering_id) == "deleted"
    assert len(peerings(emulator.client("ec2"))) == 1  # rosa-a's, untouched


def test_a_peering_request_left_unaccepted_and_untagged_on_the_aurora_side_is_removed_by_delete(
    emulator, estate, tmp_path
):
    play(emulator, "provision.yml", estate["by_role"])
    play(emulator, "unpeer.yml", estate["by_role"], args=["--limit", "rosa-b"])
    other_ec2 = estate["other"]("ec2", ROSA_B_REGION)
    # Tagged where it was requested only: Aurora's account sees no RosaCluster tag and finds rosa-b's host by
    # its rosa_vpc_id, as the inventory plugin sets it.
    peering_id = left_pending(emulator, estate, [("AuroraCluster", CLUSTER), ("RosaCluster", "rosa-b")])
    [seen] = emulator.client("ec2").describe_vpc_peering_connections(VpcPeeringConnectionIds=[peering_id])[
        "VpcPeeringConnections"
    ]
    assert seen.get("Tags", []) == []
    by_vpc = rosa_inventory(
        tmp_path,
        {
            "rosa-a": {},
            "rosa-b": {"rosa_region": ROSA_B_REGION, "rosa_role_arn": ROLE, "rosa_vpc_id": estate["rosa_b"]["vpc_id"]},
        },
    )

    play(emulator, "delete.yml", by_vpc, aurora_delete_peerings=True, aurora_skip_final_snapshot=True)
    assert status_of(other_ec2, peering_id) == "deleted"
    assert (
        emulator.client("ec2").describe_vpcs(Filters=[{"Name": "tag:AuroraCluster", "Values": [CLUSTER]}])["Vpcs"] == []
    )
