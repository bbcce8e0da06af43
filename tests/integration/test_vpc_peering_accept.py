"""vpc_peering_accept against the emulator: accept, idempotence, check mode, cross-region, dead states, tags.

moto makes a peering pending-acceptance at once in both regions (the create response alone says
initiating-request) and active at once on accept, so the wait loops run one poll here; their
timeouts and transitional states are unit-tested with a fake client (tests/unit/.../test_peering.py).
"""

import json
import subprocess

from tools.ansible_run import BIN
from tools.ansible_run import REPO_ROOT
from tools.ansible_run import ansible_env

ROSA_CIDR, AURORA_CIDR = "10.0.0.0/16", "192.168.0.0/24"
ROSA_REGION, AURORA_REGION = "eu-central-1", "eu-west-1"


def accept(emulator, tmp_path, *, check=False, diff=False, **args):
    """Run the module once in a playbook; return (returncode, the task's result)."""
    args.setdefault("region", AURORA_REGION)
    playbook = tmp_path / "accept.yml"
    playbook.write_text(
        json.dumps(
            [
                {
                    "name": "Accept",
                    "hosts": "localhost",
                    "gather_facts": False,
                    "tasks": [{"name": "Accept the peering", "keycloak.aurora.vpc_peering_accept": args}],
                }
            ]
        )
    )
    command = [str(BIN / "ansible-playbook"), str(playbook)]
    command += ["--check"] if check else []
    command += ["--diff"] if diff else []
    completed = subprocess.run(
        command,
        env=ansible_env(emulator.env()),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    report = json.loads(completed.stdout)
    result = report["plays"][0]["tasks"][0]["hosts"]["localhost"]
    return completed.returncode, result


def make_peering(emulator, requester_region=AURORA_REGION, tags=None):
    """A ROSA-like requester VPC, an Aurora-like accepter VPC in eu-west-1, and a peering between them."""
    requester = emulator.client("ec2", requester_region)
    accepter = emulator.client("ec2", AURORA_REGION)
    rosa_vpc = requester.create_vpc(CidrBlock=ROSA_CIDR)["Vpc"]["VpcId"]
    aurora_vpc = accepter.create_vpc(CidrBlock=AURORA_CIDR)["Vpc"]["VpcId"]
    params = {"VpcId": rosa_vpc, "PeerVpcId": aurora_vpc}
    if requester_region != AURORA_REGION:
        params["PeerRegion"] = AURORA_REGION
    if tags:
        params["TagSpecifications"] = [
            {"ResourceType": "vpc-peering-connection", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
        ]
    pcx = requester.create_vpc_peering_connection(**params)["VpcPeeringConnection"]["VpcPeeringConnectionId"]
    return pcx, rosa_vpc, aurora_vpc


def describe(emulator, pcx, region=AURORA_REGION):
    [peering] = emulator.client("ec2", region).describe_vpc_peering_connections(VpcPeeringConnectionIds=[pcx])[
        "VpcPeeringConnections"
    ]
    return peering


def test_accepts_a_pending_peering_then_changes_nothing(emulator, tmp_path):
    pcx, rosa_vpc, aurora_vpc = make_peering(emulator)
    assert describe(emulator, pcx)["Status"]["Code"] == "pending-acceptance"

    emulator.start_recording()
    rc, result = accept(emulator, tmp_path, check=True, peering_id=pcx)
    assert rc == 0, result
    assert result["changed"] is True
    assert result["peering"]["status"] == "pending-acceptance"
    assert emulator.mutating_actions() == []
    assert describe(emulator, pcx)["Status"]["Code"] == "pending-acceptance"

    emulator.start_recording()
    rc, result = accept(emulator, tmp_path, peering_id=pcx)
    assert rc == 0, result
    assert result["changed"] is True
    assert result["peering"] == {
        "vpc_peering_connection_id": pcx,
        "status": "active",
        "requester_vpc_id": rosa_vpc,
        "requester_cidr_block": ROSA_CIDR,
        "requester_region": AURORA_REGION,
        "requester_owner_id": result["peering"]["requester_owner_id"],
        "accepter_vpc_id": aurora_vpc,
        "accepter_cidr_block": AURORA_CIDR,
        "accepter_region": AURORA_REGION,
        "tags": {},
    }
    assert emulator.mutating_actions() == [("ec2", "AcceptVpcPeeringConnection")]
    assert describe(emulator, pcx)["Status"]["Code"] == "active"

    emulator.start_recording()
    rc, result = accept(emulator, tmp_path, peering_id=pcx)
    assert rc == 0, result
    assert result["changed"] is False
    assert result["peering"]["status"] == "active"
    actions = emulator.recorded_actions()
    assert actions, "the rerun sent no request at all"
    assert all(action.startswith("Describe") for _service, action in actions), actions

    emulator.start_recording()
    rc, result = accept(emulator, tmp_path, check=True, peering_id=pcx)
    assert (rc, result["changed"]) == (0, False)
    assert emulator.mutating_actions() == []


def test_accepts_a_cross_region_peering_in_the_accepter_region(emulator, tmp_path):
    pcx, rosa_vpc, aurora_vpc = make_peering(emulator, requester_region=ROSA_REGION)

    emulator.start_recording()
    rc, result = accept(emulator, tmp_path, check=True, diff=True, peering_id=pcx)
    assert (rc, result["changed"]) == (0, True)
    assert result["diff"]["before"]["status"] == "pending-acceptance"
    assert result["diff"]["after"]["status"] == "active"
    assert emulator.mutating_actions() == []

    rc, result = accept(emulator, tmp_path, peering_id=pcx)
    assert rc == 0, result
    assert result["changed"] is True
    peering = result["peering"]
    assert peering["status"] == "active"
    assert (peering["requester_vpc_id"], peering["requester_region"]) == (rosa_vpc, ROSA_REGION)
    assert (peering["accepter_vpc_id"], peering["accepter_region"]) == (aurora_vpc, AURORA_REGION)
    assert describe(emulator, pcx, AURORA_REGION)["Status"]["Code"] == "active"
    assert describe(emulator, pcx, ROSA_REGION)["Status"]["Code"] == "active"

    rc, result = accept(emulator, tmp_path, peering_id=pcx)
    assert (rc, result["changed"]) == (0, False)


def test_the_requester_region_is_refused_naming_the_accepter_region(emulator, tmp_path):
    pcx = make_peering(emulator, requester_region=ROSA_REGION)[0]
    emulator.start_recording()
    rc, result = accept(emulator, tmp_path, peering_id=pcx, region=ROSA_REGION)
    assert rc != 0
    assert result["failed"] is True
    assert f"set region={AURORA_REGION}" in result["msg"]
    assert emulator.mutating_actions() == []
    assert describe(emulator, pcx)["Status"]["Code"] == "pending-acceptance"


def test_a_rejected_peering_fails_naming_its_state(emulator, tmp_path):
    pcx = make_peering(emulator)[0]
    emulator.client("ec2", AURORA_REGION).reject_vpc_peering_connection(VpcPeeringConnectionId=pcx)

    emulator.start_recording()
    rc, result = accept(emulator, tmp_path, peering_id=pcx)
    assert rc != 0
    assert result["failed"] is True
    assert f"VPC peering connection {pcx} is rejected" in result["msg"]
    assert "create a new one" in result["msg"]
    assert emulator.mutating_actions() == []


def test_a_deleted_peering_fails_naming_its_state(emulator, tmp_path):
    pcx = make_peering(emulator, requester_region=ROSA_REGION)[0]
    emulator.client("ec2", ROSA_REGION).delete_vpc_peering_connection(VpcPeeringConnectionId=pcx)

    rc, result = accept(emulator, tmp_path, peering_id=pcx)
    assert rc != 0
    assert f"VPC peering connection {pcx} is deleted" in result["msg"]
    assert "keycloak.aurora.aurora_peering replaces it on the next run" in result["msg"]


def region_tags(emulator, pcx, region):
    """The peering's tags as DescribeTags sees them in one region (moto keeps them per region, as AWS does)."""
    found = emulator.client("ec2", region).describe_tags(Filters=[{"Name": "resource-id", "Values": [pcx]}])["Tags"]
    return {t["Key"]: t["Value"] for t in found}


def test_tags_are_added_on_the_accepter_side_and_never_removed(emulator, tmp_path):
    pcx = make_peering(emulator, requester_region=ROSA_REGION, tags={"Name": "rosa-a"})[0]
    tags = {"AuroraCluster": "keycloak-aurora", "rosa-cluster": "rosa-a"}

    emulator.start_recording()
    rc, result = accept(emulator, tmp_path, check=True, peering_id=pcx, tags=tags)
    assert (rc, result["changed"]) == (0, True)
    assert emulator.mutating_actions() == []
    assert region_tags(emulator, pcx, AURORA_REGION) == {}

    emulator.start_recording()
    rc, result = accept(emulator, tmp_path, peering_id=pcx, tags=tags)
    assert (rc, result["changed"]) == (0, True)
    assert sorted(emulator.mutating_actions()) == [("ec2", "AcceptVpcPeeringConnection"), ("ec2", "CreateTags")]
    # The requester's Name tag lives in eu-central-1 only, as on AWS.
    assert result["peering"]["tags"] == tags
    assert region_tags(emulator, pcx, AURORA_REGION) == tags
    assert region_tags(emulator, pcx, ROSA_REGION) == {"Name": "rosa-a"}

    emulator.start_recording()
    rc, result = accept(emulator, tmp_path, peering_id=pcx, tags={"AuroraCluster": "keycloak-aurora"})
    assert (rc, result["changed"]) == (0, False)
    assert emulator.mutating_actions() == []

    rc, result = accept(emulator, tmp_path, peering_id=pcx, tags={"rosa-cluster": "rosa-b"})
    assert (rc, result["changed"]) == (0, True)
    assert region_tags(emulator, pcx, AURORA_REGION) == {"AuroraCluster": "keycloak-aurora", "rosa-cluster": "rosa-b"}


def test_tags_of_a_same_region_peering_are_visible_in_describe(emulator, tmp_path):
    pcx = make_peering(emulator, tags={"Name": "rosa-a"})[0]
    rc, result = accept(emulator, tmp_path, peering_id=pcx, tags={"AuroraCluster": "keycloak-aurora"})
    assert (rc, result["changed"]) == (0, True)
    assert result["peering"]["tags"] == {"Name": "rosa-a", "AuroraCluster": "keycloak-aurora"}
    described = {t["Key"]: t["Value"] for t in describe(emulator, pcx)["Tags"]}
    assert described == {"Name": "rosa-a", "AuroraCluster": "keycloak-aurora"}

    rc, result = accept(emulator, tmp_path, peering_id=pcx, tags={"AuroraCluster": "keycloak-aurora"})
    assert (rc, result["changed"]) == (0, False)


def test_bad_peering_id_is_refused_before_any_request(emulator, tmp_path):
    emulator.start_recording()
    rc, result = accept(emulator, tmp_path, peering_id="vpc-0123456789abcdef0")
    assert rc != 0
    assert "peering_id must be a VPC peering connection ID" in result["msg"]
    assert emulator.recorded_actions() == []
