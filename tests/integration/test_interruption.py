"""Interruption: a run killed anywhere, run again, ends as if never killed.

Each test starts a playbook against a FaultProxy (tools/emulator/faults.py) whose Hold stops one
AWS request: before the emulator sees it, or after, keeping the answer (the resource exists but
the run never learns its id). While it is held, ansible-playbook and every process under it get
SIGKILL; then the same command runs again, straight against the emulator. Its end state,
described without ids (CIDRs, names, counts, the ROSA cluster a peering serves), must equal the
end state of the same scenario run without interruption, built once per module (and xdist worker).
"""

import json
import re
import threading
import time

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError
from botocore.exceptions import ClientError
from botocore.exceptions import ConnectionClosedError

from tools.ansible_run import kill_playbook
from tools.ansible_run import rosa_inventory
from tools.ansible_run import run_playbook
from tools.ansible_run import running
from tools.ansible_run import start_playbook
from tools.emulator.faults import FaultProxy
from tools.emulator.faults import Hold
from tools.emulator.harness import request_action
from tools.emulator.harness import request_body
from tools.emulator.harness import request_parameters
from tools.emulator.rosa import seed_rosa_cluster

CLUSTER = "keycloak-aurora"
# One ROSA cluster in the Aurora region, one in another region (a cross-region peering).
ROSA_CLUSTERS = (
    {"name": "rosa-a", "region": "eu-west-1", "machine_cidr": "10.0.0.0/16", "kind": "classic"},
    {"name": "rosa-b", "region": "eu-central-1", "machine_cidr": "10.1.0.0/16", "kind": "hcp"},
)
DELETE_VARS = {"aurora_delete_peerings": True}
# The creating calls that can carry tags, and the calls that would tag something afterwards.
TAGGABLE_CREATES = frozenset(
    {
        "CreateVpc",
        "CreateSubnet",
        "CreateSecurityGroup",
        "CreateVpcPeeringConnection",
        "CreateDBSubnetGroup",
        "CreateDBCluster",
        "CreateDBInstance",
        "CreateSecret",
    }
)
LATER_TAGGING = frozenset({"CreateTags", "AddTagsToResource", "TagResource"})
# EC2: TagSpecification.N.Tag.M.Key; RDS and other query APIs: Tags.Tag.N.Key or Tags.member.N.Key.
# EC2 CreateTags: Tag.N.Key.
_CREATE_TAGS_KEY = re.compile(r"^Tag\.\d+\.Key$")
_QUERY_TAG_KEY = re.compile(r"^(TagSpecification\.\d+\.Tag|Tags\.(?:Tag|member))\.\d+\.Key$")


def kill_point(action, nth=1, answered=True, region=None):
    """A parametrize case, the arguments of a Hold: ``answered`` kills after AWS did it, else before AWS saw it."""
    label = "-".join(str(part) for part in (action, nth, region, "answered" if answered else "unsent") if part)
    return pytest.param({"action": action, "nth": nth, "answered": answered, "region": region}, id=label)


PROVISION_KILL_POINTS = [
    kill_point("CreateVpc"),
    kill_point("CreateSubnet", nth=2),
    kill_point("CreateSecret"),
    kill_point("CreateDBCluster"),
    kill_point("CreateDBInstance", answered=False),
    kill_point("CreateDBInstance"),
    # the cross-region one, requested in the ROSA cluster's region and then accepted in the Aurora region
    kill_point("CreateVpcPeeringConnection", region="eu-central-1"),
    kill_point("AcceptVpcPeeringConnection"),
    kill_point("CreateRoute", nth=2, region="eu-central-1"),
    kill_point("AuthorizeSecurityGroupIngress"),
]
DELETE_KILL_POINTS = [
    kill_point("DeleteVpcPeeringConnection"),
    kill_point("DeleteDBCluster"),  # after the instances, with the final snapshot taken
    kill_point("DeleteSubnet", nth=2),
    kill_point("DeleteVpc"),
]


# the scenario


def seed(emulator):
    """The ROSA clusters of the scenario, as seeded: {name: ids}."""
    return {
        spec["name"]: seed_rosa_cluster(
            emulator, spec["name"], region=spec["region"], machine_cidr=spec["machine_cidr"], kind=spec["kind"]
        )
        for spec in ROSA_CLUSTERS
    }


def write_inventory(directory):
    return rosa_inventory(directory, {spec["name"]: {"rosa_region": spec["region"]} for spec in ROSA_CLUSTERS})


def run(emulator, playbook, inventory, **extra_vars):
    """The playbook, uninterrupted, straight against the emulator; it must succeed."""
    result = run_playbook(
        emulator.env(), playbook, extra_vars={"aurora_cluster": CLUSTER, **extra_vars}, inventory=inventory
    )
    assert result.returncode == 0, f"{playbook} failed:\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}"
    return result


def run_killed(emulator, playbook, inventory, hold, workdir, **extra_vars):
    """Run the playbook through a proxy holding ``hold``; SIGKILL it, and all under it, once it gets there."""
    # A killed run leaves its module files behind: in the test's directory, not in ~/.ansible.
    temp = {"ANSIBLE_LOCAL_TEMP": str(workdir / "local-tmp"), "ANSIBLE_REMOTE_TMP": str(workdir / "remote-tmp")}
    with FaultProxy(emulator.url, share=0, hold=hold) as proxy, open(workdir / "killed.log", "w+") as log:
        process = start_playbook(
            proxy.env(),
            playbook,
            output=log,
            extra_vars={"aurora_cluster": CLUSTER, **extra_vars},
            inventory=inventory,
            env=temp,
        )
        try:
            reached = _wait_for(hold, process)
        finally:
            killed = kill_playbook(process)  # also when it never got there: no playbook outlives its test
            hold.release()
        log.seek(0)
        assert reached, f"{playbook} ended ({process.returncode}) before {hold} was reached:\n{log.read()[-6000:]}"
    assert process.returncode == -9, "killed while it ran, not after it had finished"
    assert running(killed) == set(), "every process of the run is dead, so none can retry the held request"


def _wait_for(hold, process, timeout=300):
    """True once the run reaches the hold; False when it ends, or takes ``timeout`` seconds, first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if hold.reached.wait(0.1):
            return True
        if process.poll() is not None:
            return hold.reached.is_set()
    return False


# the hold itself


def no_retry_ec2(proxy):
    return boto3.client(
        "ec2",
        region_name="eu-west-1",
        endpoint_url=proxy.url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}),
    )


def in_background(call):
    """Start ``call`` in a thread; the returned list gets its outcome: a result or the exception."""
    outcome = []

    def target():
        try:
            outcome.append(call())
        except (ClientError, BotoCoreError) as exc:
            outcome.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, outcome


@pytest.mark.parametrize("answered", [False, True], ids=["unsent", "answered"])
def test_a_hold_stops_the_nth_request_and_lets_nothing_after_it_through(emulator, answered):
    hold = Hold("CreateVpc", nth=2, answered=answered)
    with FaultProxy(emulator.url, share=0, hold=hold) as proxy:
        ec2 = no_retry_ec2(proxy)
        ec2.create_vpc(CidrBlock="10.10.0.0/16")
        held, held_outcome = in_background(lambda: ec2.create_vpc(CidrBlock="10.11.0.0/16"))
        assert hold.reached.wait(30)
        later, later_outcome = in_background(lambda: ec2.create_vpc(CidrBlock="10.12.0.0/16"))
        held.join(0.5)
        assert held.is_alive(), "held until released"
        hold.release()
        held.join(30)
        later.join(30)
    assert isinstance(held_outcome[0], ConnectionClosedError) and isinstance(later_outcome[0], ConnectionClosedError)
    cidrs = {v["CidrBlock"] for v in emulator.client("ec2").describe_vpcs()["Vpcs"]}
    assert "10.10.0.0/16" in cidrs and "10.12.0.0/16" not in cidrs
    assert ("10.11.0.0/16" in cidrs) is answered


# the end state, without ids


def end_state(emulator, rosa_clusters):
    """Everything of CLUSTER and of its peerings in the emulator, in terms two runs can share."""
    ec2 = emulator.client("ec2")
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:AuroraCluster", "Values": [CLUSTER]}])["Vpcs"]
    peerings = {
        p["VpcPeeringConnectionId"]: (name, p["Status"]["Code"])
        for name, rosa_cluster in rosa_clusters.items()
        for p in requested_by(emulator, rosa_cluster)
    }
    serves = {pcx: name for pcx, (name, _status) in peerings.items()}
    return {
        **aurora_network(emulator, vpcs, serves),
        **aurora_database(emulator),
        "peerings": {name: sorted(s for n, s in peerings.values() if n == name) for name in rosa_clusters},
        "rosa_routes": {name: rosa_routes(emulator, c, serves) for name, c in rosa_clusters.items()},
    }


def aurora_network(emulator, vpcs, serves):
    """Per Aurora VPC (by CIDR): subnets, security groups, main-table routes through peerings, 5432 ingress."""
    ec2 = emulator.client("ec2")
    state = {"vpcs": sorted(v["CidrBlock"] for v in vpcs), "subnets": {}, "security_groups": {}}
    state.update(aurora_routes={}, ingress={})
    for vpc in vpcs:
        by_vpc = {"Name": "vpc-id", "Values": [vpc["VpcId"]]}
        subnets = ec2.describe_subnets(Filters=[by_vpc])["Subnets"]
        groups = ec2.describe_security_groups(Filters=[by_vpc])["SecurityGroups"]
        main_tables = ec2.describe_route_tables(Filters=[by_vpc, {"Name": "association.main", "Values": ["true"]}])
        cidr = vpc["CidrBlock"]
        state["subnets"][cidr] = sorted((s["AvailabilityZone"], s["CidrBlock"]) for s in subnets)
        state["security_groups"][cidr] = sorted(g["GroupName"] for g in groups)
        state["aurora_routes"][cidr] = [peering_routes(t, serves) for t in main_tables["RouteTables"]]
        state["ingress"][cidr] = sorted(
            (g["GroupName"], p["IpProtocol"], p.get("FromPort"), p.get("ToPort"), r["CidrIp"])
            for g in groups
            for p in g["IpPermissions"]
            for r in p.get("IpRanges", [])
        )
    return state


def aurora_database(emulator):
    """Subnet groups, secrets, DB clusters, instances and final snapshots of CLUSTER."""
    rds = emulator.client("rds")
    secrets = emulator.client("secretsmanager").list_secrets(IncludePlannedDeletion=True)["SecretList"]
    snapshots = rds.describe_db_cluster_snapshots(DBClusterIdentifier=CLUSTER, SnapshotType="manual")
    return {
        "subnet_groups": sorted(
            (g["DBSubnetGroupName"], len(g["Subnets"]))
            for g in rds.describe_db_subnet_groups()["DBSubnetGroups"]
            if g["DBSubnetGroupName"].startswith(CLUSTER)
        ),
        "secrets": sorted(
            (s["Name"], "scheduled for deletion" if s.get("DeletedDate") else "live")
            for s in secrets
            if s["Name"].startswith(CLUSTER)
        ),
        "db_clusters": sorted(
            (c["DBClusterIdentifier"], c["Status"], c.get("DBSubnetGroup"))
            for c in rds.describe_db_clusters()["DBClusters"]
        ),
        "db_instances": sorted(
            (i["DBInstanceIdentifier"], i["AvailabilityZone"], i["DBInstanceClass"], i["DBInstanceStatus"])
            for i in rds.describe_db_instances()["DBInstances"]
        ),
        "final_snapshots": sum(
            s["DBClusterSnapshotIdentifier"].startswith(f"{CLUSTER}-final-") for s in snapshots["DBClusterSnapshots"]
        ),
    }


def requested_by(emulator, rosa_cluster):
    """Every peering requested from the ROSA VPC, whatever its status (a deleted one stays listed)."""
    client = emulator.client("ec2", rosa_cluster["region"])
    return client.describe_vpc_peering_connections(
        Filters=[{"Name": "requester-vpc-info.vpc-id", "Values": [rosa_cluster["vpc_id"]]}]
    )["VpcPeeringConnections"]


def rosa_routes(emulator, rosa_cluster, serves):
    """Per private route table of the ROSA cluster, in AZ order: its routes through peerings."""
    client = emulator.client("ec2", rosa_cluster["region"])
    tables = {
        t["RouteTableId"]: t
        for t in client.describe_route_tables(RouteTableIds=rosa_cluster["private_route_table_ids"])["RouteTables"]
    }
    return [peering_routes(tables[table_id], serves) for table_id in rosa_cluster["private_route_table_ids"]]


def peering_routes(table, serves):
    """(destination, ROSA cluster served by the target peering) of each route through a peering."""
    return sorted(
        (r["DestinationCidrBlock"], serves.get(r["VpcPeeringConnectionId"], "a peering of no ROSA cluster"))
        for r in table["Routes"]
        if r.get("VpcPeeringConnectionId")
    )


# the uninterrupted lifecycle, once per module


@pytest.fixture(scope="module")
def uninterrupted(emulator_server, tmp_path_factory):
    """End states of the uninterrupted provision and cascading delete, and the requests they sent."""
    emulator_server.reset()
    rosa_clusters = seed(emulator_server)
    inventory = write_inventory(tmp_path_factory.mktemp("uninterrupted"))
    emulator_server.start_recording()
    run(emulator_server, "provision.yml", inventory)
    provisioned = end_state(emulator_server, rosa_clusters)
    run(emulator_server, "delete.yml", inventory, **DELETE_VARS)
    deleted = end_state(emulator_server, rosa_clusters)
    return {"provisioned": provisioned, "deleted": deleted, "requests": emulator_server.recorded_requests()}


def test_the_uninterrupted_lifecycle_makes_one_of_each_and_leaves_a_final_snapshot(uninterrupted):
    provisioned, deleted = uninterrupted["provisioned"], uninterrupted["deleted"]
    [cidr] = provisioned["vpcs"]
    assert len(provisioned["subnets"][cidr]) == 3
    assert len({zone for zone, _block in provisioned["subnets"][cidr]}) == 3
    assert provisioned["security_groups"][cidr] == ["default", f"{CLUSTER}-security-group"]
    assert provisioned["subnet_groups"] == [(f"{CLUSTER}-subnet-group", 3)]
    assert provisioned["secrets"] == [(f"{CLUSTER}-master-password", "live")]
    assert [c[0] for c in provisioned["db_clusters"]] == [CLUSTER]
    assert [i[0] for i in provisioned["db_instances"]] == [f"{CLUSTER}-instance-1", f"{CLUSTER}-instance-2"]
    assert provisioned["peerings"] == {"rosa-a": ["active"], "rosa-b": ["active"]}
    for name, tables in provisioned["rosa_routes"].items():
        assert tables == [[(cidr, name)]] * 3, "one route per private route table, through its own peering"
    assert provisioned["aurora_routes"][cidr] == [[("10.0.0.0/16", "rosa-a"), ("10.1.0.0/16", "rosa-b")]]
    assert [rule[1:] for rule in provisioned["ingress"][cidr]] == [
        ("tcp", 5432, 5432, "10.0.0.0/16"),
        ("tcp", 5432, 5432, "10.1.0.0/16"),
    ]
    assert provisioned["final_snapshots"] == 0

    nothing = {"vpcs": [], "subnets": {}, "security_groups": {}, "aurora_routes": {}, "ingress": {}}
    assert {key: deleted[key] for key in nothing} == nothing
    assert deleted["subnet_groups"] == deleted["db_clusters"] == deleted["db_instances"] == []
    assert deleted["secrets"] == [(f"{CLUSTER}-master-password", "scheduled for deletion")]
    assert deleted["final_snapshots"] == 1
    assert deleted["peerings"] == {"rosa-a": ["deleted"], "rosa-b": ["deleted"]}
    assert deleted["rosa_routes"] == {"rosa-a": [[]] * 3, "rosa-b": [[]] * 3}


@pytest.mark.parametrize("kill", PROVISION_KILL_POINTS)
def test_a_killed_provision_run_again_ends_as_an_uninterrupted_one(emulator, uninterrupted, tmp_path, kill):
    rosa_clusters = seed(emulator)
    inventory = write_inventory(tmp_path)
    run_killed(emulator, "provision.yml", inventory, Hold(**kill), tmp_path)
    run(emulator, "provision.yml", inventory)
    assert end_state(emulator, rosa_clusters) == uninterrupted["provisioned"]


@pytest.mark.parametrize("kill", DELETE_KILL_POINTS)
def test_a_killed_cascading_delete_run_again_ends_as_an_uninterrupted_one(
    emulator, provisioned, uninterrupted, tmp_path, kill
):
    rosa_clusters = {cluster["name"]: cluster for cluster in provisioned(ROSA_CLUSTERS)}
    inventory = write_inventory(tmp_path)
    run_killed(emulator, "delete.yml", inventory, Hold(**kill), tmp_path, **DELETE_VARS)
    run(emulator, "delete.yml", inventory, **DELETE_VARS)
    # One final snapshot whatever the kill point: one taken before the kill is not taken again (the
    # rerun finds no cluster to delete), and one not taken yet is taken by the rerun.
    assert end_state(emulator, rosa_clusters) == uninterrupted["deleted"]


# tags from the creating call


def request_tags(entry):
    """The tags a recorded request carries in itself: EC2 and RDS query parameters, or JSON ``Tags``."""
    body = request_body(entry)
    if body.lstrip().startswith("{"):
        return {t["Key"]: t["Value"] for t in json.loads(body).get("Tags", [])}
    params = {key: values[-1] for key, values in request_parameters(entry).items()}
    keys = [key for key in params if _QUERY_TAG_KEY.match(key)]
    return {params[key]: params.get(key.removesuffix("Key") + "Value") for key in keys}


def tags_the_accepter_side(entry):
    """A CreateTags on a peering connection: the accepter side of a cross-region peering, which lives in
    another region than the creating call and so can only be tagged afterwards."""
    params = {key: values[-1] for key, values in request_parameters(entry).items()}
    resources = [value for key, value in params.items() if key.startswith("ResourceId.")]
    tags = {
        value: params.get(key.removesuffix("Key") + "Value")
        for key, value in params.items()
        if _CREATE_TAGS_KEY.match(key)
    }
    return bool(resources) and all(r.startswith("pcx-") for r in resources) and tags.get("AuroraCluster") == CLUSTER


def test_everything_created_is_tagged_by_the_call_that_creates_it(uninterrupted):
    """So that whatever a killed run created can be found again, even when its id never came back."""
    actions = [(request_action(entry)[1], entry) for entry in uninterrupted["requests"]]
    creates = [(action, request_tags(entry)) for action, entry in actions if action in TAGGABLE_CREATES]
    assert {action for action, _tags in creates} == TAGGABLE_CREATES, "the lifecycle creates every kind"
    assert [action for action, tags in creates if tags.get("AuroraCluster") != CLUSTER] == []
    later = [action for action, entry in actions if action in LATER_TAGGING and not tags_the_accepter_side(entry)]
    assert later == [], "no tag is added afterwards"
