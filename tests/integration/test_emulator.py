"""The emulator harness itself: launcher, moto corrections, recorder, ROSA seeder."""

import subprocess
import sys
import threading
import time
import urllib.error
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tools.emulator.harness import DEFAULT_ACCOUNT_ID
from tools.emulator.harness import LAUNCHER
from tools.emulator.harness import is_mutating

VPC_A, VPC_B, VPC_C = "10.0.0.0/16", "10.1.0.0/16", "10.2.0.0/16"


def _launch(*args):
    return subprocess.run(
        [sys.executable, str(LAUNCHER), *args], check=False, capture_output=True, text=True, timeout=60
    )


def _listening_addresses(port):
    """Local addresses listening on `port`, from /proc/net/tcp (hex, little-endian IPv4)."""
    addresses = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, local_port = local.split(":")
        if state == "0A" and int(local_port, 16) == port:
            addresses.append(".".join(str(int(address[i : i + 2], 16)) for i in (6, 4, 2, 0)))
    return addresses


# --- launcher -----------------------------------------------------------------------------------


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc/net/tcp")
def test_launcher_listens_on_loopback_only(emulator):
    assert emulator.url == f"http://127.0.0.1:{emulator.port}"
    assert _listening_addresses(emulator.port) == ["127.0.0.1"]


def test_second_launcher_on_a_taken_port_fails_clearly(emulator, tmp_path):
    result = _launch("--port", str(emulator.port), "--port-file", str(tmp_path / "port"))
    assert result.returncode != 0
    assert f"cannot bind 127.0.0.1:{emulator.port}" in result.stderr
    assert "taken" in result.stderr
    assert not (tmp_path / "port").exists()
    emulator.client("ec2").describe_vpcs()  # the first server is unharmed


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1", "example.com"])
def test_launcher_refuses_non_loopback_host(host):
    result = _launch("--host", host, "--port", "0")
    assert result.returncode != 0
    assert "only loopback" in result.stderr


# --- correction a: DescribeVpcPeeringConnections filters -----------------------------------------


def _tag(key, value):
    return [{"ResourceType": "vpc-peering-connection", "Tags": [{"Key": key, "Value": value}]}]


def _ids(ec2, *filters):
    response = ec2.describe_vpc_peering_connections(Filters=[{"Name": n, "Values": v} for n, v in filters])
    return sorted(p["VpcPeeringConnectionId"] for p in response["VpcPeeringConnections"])


def test_peering_filters_are_honoured(emulator):
    ec2 = emulator.client("ec2")
    vpc_a, vpc_b, vpc_c = (ec2.create_vpc(CidrBlock=c)["Vpc"]["VpcId"] for c in (VPC_A, VPC_B, VPC_C))
    ab = ec2.create_vpc_peering_connection(VpcId=vpc_a, PeerVpcId=vpc_c, TagSpecifications=_tag("cluster", "one"))
    bc = ec2.create_vpc_peering_connection(VpcId=vpc_b, PeerVpcId=vpc_c, TagSpecifications=_tag("cluster", "two"))
    ab, bc = ab["VpcPeeringConnection"]["VpcPeeringConnectionId"], bc["VpcPeeringConnection"]["VpcPeeringConnectionId"]

    assert _ids(ec2) == sorted([ab, bc])
    assert _ids(ec2, ("requester-vpc-info.vpc-id", [vpc_a])) == [ab]
    assert _ids(ec2, ("requester-vpc-info.vpc-id", [vpc_a]), ("tag:cluster", ["one"])) == [ab]
    assert _ids(ec2, ("requester-vpc-info.vpc-id", [vpc_a]), ("tag:cluster", ["two"])) == []
    assert _ids(ec2, ("tag:cluster", ["two"])) == [bc]
    assert _ids(ec2, ("tag-key", ["cluster"])) == sorted([ab, bc])
    assert _ids(ec2, ("tag-key", ["other"])) == []
    assert _ids(ec2, ("accepter-vpc-info.vpc-id", [vpc_c])) == sorted([ab, bc])
    assert _ids(ec2, ("requester-vpc-info.cidr-block", [VPC_B])) == [bc]
    assert _ids(ec2, ("accepter-vpc-info.cidr-block", [VPC_C])) == sorted([ab, bc])
    assert _ids(ec2, ("vpc-peering-connection-id", [bc])) == [bc]
    owner = ec2.describe_vpcs(VpcIds=[vpc_a])["Vpcs"][0]["OwnerId"]
    assert _ids(ec2, ("requester-vpc-info.owner-id", [owner]), ("accepter-vpc-info.owner-id", [owner])) == sorted(
        [ab, bc]
    )
    assert _ids(ec2, ("requester-vpc-info.owner-id", ["000000000000"])) == []

    ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=ab)
    assert _ids(ec2, ("status-code", ["active"])) == [ab]
    assert _ids(ec2, ("status-code", ["pending-acceptance"])) == [bc]
    assert _ids(ec2, ("status-code", ["active", "pending-acceptance"])) == sorted([ab, bc])
    ec2.delete_vpc_peering_connection(VpcPeeringConnectionId=ab)
    assert _ids(ec2, ("status-code", ["active", "pending-acceptance"])) == [bc]
    # the id list still works, together with filters
    response = ec2.describe_vpc_peering_connections(
        VpcPeeringConnectionIds=[ab, bc], Filters=[{"Name": "status-code", "Values": ["deleted"]}]
    )
    assert [p["VpcPeeringConnectionId"] for p in response["VpcPeeringConnections"]] == [ab]


def _route_states(ec2, route_table_id):
    [table] = ec2.describe_route_tables(RouteTableIds=[route_table_id])["RouteTables"]
    return {r["DestinationCidrBlock"]: r["State"] for r in table["Routes"]}


@pytest.mark.parametrize("rosa_region", ["eu-west-1", "eu-central-1"], ids=["same region", "cross region"])
def test_a_route_through_a_peering_that_is_gone_turns_blackhole_on_both_sides(emulator, rosa_region):
    rosa_ec2, aurora_ec2 = emulator.client("ec2", rosa_region), emulator.client("ec2", "eu-west-1")
    rosa_vpc = rosa_ec2.create_vpc(CidrBlock=VPC_A)["Vpc"]["VpcId"]
    aurora_vpc = aurora_ec2.create_vpc(CidrBlock=VPC_B)["Vpc"]["VpcId"]
    pcx = rosa_ec2.create_vpc_peering_connection(VpcId=rosa_vpc, PeerVpcId=aurora_vpc, PeerRegion="eu-west-1")[
        "VpcPeeringConnection"
    ]["VpcPeeringConnectionId"]
    aurora_ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    tables = []
    for ec2, vpc, destination in ((rosa_ec2, rosa_vpc, VPC_B), (aurora_ec2, aurora_vpc, VPC_A)):
        table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
        ec2.create_route(RouteTableId=table, DestinationCidrBlock=destination, VpcPeeringConnectionId=pcx)
        tables.append((ec2, table, destination))
        assert _route_states(ec2, table)[destination] == "active"

    aurora_ec2.delete_vpc_peering_connection(VpcPeeringConnectionId=pcx)

    for ec2, table, destination in tables:
        # The route stays, through the same peering, and drops the traffic; the local route is untouched.
        assert _route_states(ec2, table) == {VPC_A if ec2 is rosa_ec2 else VPC_B: "active", destination: "blackhole"}


def _region_tags(ec2, resource_id):
    found = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [resource_id]}])["Tags"]
    return {t["Key"]: t["Value"] for t in found}


def test_describe_tags_shows_a_cross_region_peerings_tags_only_in_the_region_that_set_them(emulator):
    # As on AWS, uncorrected: the peering tests read the accepter side's tags this way, so a tag
    # counts there only if it was set there.
    rosa_ec2, aurora_ec2 = emulator.client("ec2", "eu-central-1"), emulator.client("ec2", "eu-west-1")
    rosa_vpc = rosa_ec2.create_vpc(CidrBlock=VPC_A)["Vpc"]["VpcId"]
    aurora_vpc = aurora_ec2.create_vpc(CidrBlock=VPC_B)["Vpc"]["VpcId"]
    pcx = rosa_ec2.create_vpc_peering_connection(
        VpcId=rosa_vpc, PeerVpcId=aurora_vpc, PeerRegion="eu-west-1", TagSpecifications=_tag("cluster", "one")
    )["VpcPeeringConnection"]["VpcPeeringConnectionId"]
    assert _region_tags(rosa_ec2, pcx) == {"cluster": "one"}
    assert _region_tags(aurora_ec2, pcx) == {}

    aurora_ec2.create_tags(Resources=[pcx], Tags=[{"Key": "side", "Value": "accepter"}])
    assert _region_tags(aurora_ec2, pcx) == {"side": "accepter"}
    assert _region_tags(rosa_ec2, pcx) == {"cluster": "one"}


def test_peering_unknown_filter_is_not_silently_ignored(emulator):
    ec2 = emulator.client("ec2")
    vpc_a, vpc_b = (ec2.create_vpc(CidrBlock=c)["Vpc"]["VpcId"] for c in (VPC_A, VPC_B))
    ec2.create_vpc_peering_connection(VpcId=vpc_a, PeerVpcId=vpc_b)
    with pytest.raises(ClientError, match="The filter 'expiration-time' is invalid") as raised:
        ec2.describe_vpc_peering_connections(Filters=[{"Name": "expiration-time", "Values": ["x"]}])
    assert raised.value.response["Error"]["Code"] == "InvalidParameterValue"


# --- correction b: a peering between two accounts shows each account its own tags ---------------


def test_each_account_sees_and_filters_a_cross_account_peering_by_its_own_tags(emulator):
    other = emulator.assume_role("arn:aws:iam::222222222222:role/rosa-peering")
    rosa_ec2 = emulator.client("ec2", "us-west-2", credentials=other)
    aurora_ec2 = emulator.client("ec2", "eu-west-1")
    assert emulator.client("sts", credentials=other).get_caller_identity()["Account"] == "222222222222"
    rosa_vpc = rosa_ec2.create_vpc(CidrBlock=VPC_A)["Vpc"]["VpcId"]
    aurora_vpc = aurora_ec2.create_vpc(CidrBlock=VPC_B)["Vpc"]["VpcId"]
    pcx = rosa_ec2.create_vpc_peering_connection(
        VpcId=rosa_vpc,
        PeerVpcId=aurora_vpc,
        PeerOwnerId=DEFAULT_ACCOUNT_ID,
        PeerRegion="eu-west-1",
        TagSpecifications=_tag("cluster", "one"),
    )["VpcPeeringConnection"]["VpcPeeringConnectionId"]

    seen = aurora_ec2.describe_vpc_peering_connections(VpcPeeringConnectionIds=[pcx])["VpcPeeringConnections"]
    assert [p.get("Tags", []) for p in seen] == [[]]
    assert seen[0]["RequesterVpcInfo"]["OwnerId"] == "222222222222"
    assert _ids(aurora_ec2, ("tag:cluster", ["one"])) == []

    aurora_ec2.create_tags(Resources=[pcx], Tags=[{"Key": "cluster", "Value": "accepted"}])
    assert _ids(aurora_ec2, ("tag:cluster", ["accepted"])) == [pcx]
    assert _ids(rosa_ec2, ("tag:cluster", ["one"])) == [pcx]
    assert _ids(rosa_ec2, ("tag:cluster", ["accepted"])) == []
    described = rosa_ec2.describe_vpc_peering_connections(VpcPeeringConnectionIds=[pcx])["VpcPeeringConnections"]
    assert described[0]["Tags"] == [{"Key": "cluster", "Value": "one"}]


def test_a_cross_account_peering_is_accepted_only_by_the_accepter_account(emulator):
    # As on AWS, uncorrected: each account writes only its own route tables.
    other = emulator.assume_role("arn:aws:iam::222222222222:role/rosa-peering")
    rosa_ec2 = emulator.client("ec2", credentials=other)
    aurora_ec2 = emulator.client("ec2")
    rosa_vpc = rosa_ec2.create_vpc(CidrBlock=VPC_A)["Vpc"]["VpcId"]
    aurora_vpc = aurora_ec2.create_vpc(CidrBlock=VPC_B)["Vpc"]["VpcId"]
    pcx = rosa_ec2.create_vpc_peering_connection(VpcId=rosa_vpc, PeerVpcId=aurora_vpc, PeerOwnerId=DEFAULT_ACCOUNT_ID)[
        "VpcPeeringConnection"
    ]["VpcPeeringConnectionId"]
    with pytest.raises(ClientError) as refused:
        rosa_ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    assert refused.value.response["Error"]["Code"] == "OperationNotPermitted"
    aurora_ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    rosa_table = rosa_ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [rosa_vpc]}])["RouteTables"][0]
    with pytest.raises(ClientError) as foreign:
        aurora_ec2.create_route(
            RouteTableId=rosa_table["RouteTableId"], DestinationCidrBlock=VPC_B, VpcPeeringConnectionId=pcx
        )
    assert foreign.value.response["Error"]["Code"] == "InvalidRouteTableID.NotFound"
    rosa_ec2.create_route(
        RouteTableId=rosa_table["RouteTableId"], DestinationCidrBlock=VPC_B, VpcPeeringConnectionId=pcx
    )


# --- correction j: only the requester's account deletes a peering not yet active ------------------


def _cross_account_peering(emulator):
    other = emulator.assume_role("arn:aws:iam::222222222222:role/rosa-peering")
    rosa_ec2, aurora_ec2 = emulator.client("ec2", "us-west-2", credentials=other), emulator.client("ec2")
    rosa_vpc = rosa_ec2.create_vpc(CidrBlock=VPC_A)["Vpc"]["VpcId"]
    aurora_vpc = aurora_ec2.create_vpc(CidrBlock=VPC_B)["Vpc"]["VpcId"]
    pcx = rosa_ec2.create_vpc_peering_connection(
        VpcId=rosa_vpc, PeerVpcId=aurora_vpc, PeerOwnerId=DEFAULT_ACCOUNT_ID, PeerRegion="eu-west-1"
    )["VpcPeeringConnection"]["VpcPeeringConnectionId"]
    return rosa_ec2, aurora_ec2, pcx


def _status(ec2, pcx):
    [found] = ec2.describe_vpc_peering_connections(VpcPeeringConnectionIds=[pcx])["VpcPeeringConnections"]
    return found["Status"]["Code"]


def test_a_peering_not_yet_accepted_is_deleted_by_the_requesters_account_only(emulator):
    rosa_ec2, aurora_ec2, pcx = _cross_account_peering(emulator)
    with pytest.raises(ClientError) as refused:
        aurora_ec2.delete_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    assert refused.value.response["Error"]["Code"] == "OperationNotPermitted"
    assert _status(rosa_ec2, pcx) == "pending-acceptance"

    rosa_ec2.delete_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    assert _status(aurora_ec2, pcx) == "deleted"


def test_an_active_peering_is_deleted_by_either_account(emulator):
    rosa_ec2, aurora_ec2, pcx = _cross_account_peering(emulator)
    aurora_ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    aurora_ec2.delete_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    assert _status(rosa_ec2, pcx) == "deleted"


def test_a_rejected_peering_cannot_be_deleted(emulator):
    rosa_ec2, aurora_ec2, pcx = _cross_account_peering(emulator)
    aurora_ec2.reject_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    with pytest.raises(ClientError) as refused:
        rosa_ec2.delete_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    assert refused.value.response["Error"]["Code"] == "InvalidStateTransition"
    assert _status(rosa_ec2, pcx) == "rejected"


def test_the_sessions_assume_role_handed_out_are_listed_with_their_credentials_until_a_reset(emulator):
    given = emulator.assume_role("arn:aws:iam::222222222222:role/rosa-peering", "keycloak-aurora-rosa-b")
    [session] = [s for s in emulator.assumed_roles() if s["session_name"] == "keycloak-aurora-rosa-b"]
    assert (session["access_key_id"], session["secret_access_key"], session["session_token"]) == (
        given["AccessKeyId"],
        given["SecretAccessKey"],
        given["SessionToken"],
    )
    emulator.reset()
    assert emulator.assumed_roles() == []


# --- correction c: DeleteSubnet drops route-table associations -----------------------------------


def test_delete_subnet_drops_custom_route_table_association(emulator):
    ec2 = emulator.client("ec2")
    vpc = ec2.create_vpc(CidrBlock=VPC_A)["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)

    ec2.delete_subnet(SubnetId=subnet)
    assert ec2.describe_route_tables(RouteTableIds=[table])["RouteTables"][0]["Associations"] == []
    ec2.delete_route_table(RouteTableId=table)
    ec2.delete_vpc(VpcId=vpc)
    assert ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Vpcs"] == []


def test_delete_subnet_then_vpc_with_main_route_table_association(emulator):
    ec2 = emulator.client("ec2")
    vpc = ec2.create_vpc(CidrBlock=VPC_A)["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    main = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["RouteTables"][0]
    ec2.associate_route_table(RouteTableId=main["RouteTableId"], SubnetId=subnet)

    ec2.delete_subnet(SubnetId=subnet)
    ec2.delete_vpc(VpcId=vpc)


# --- recorder ------------------------------------------------------------------------------------


def test_a_deleted_clusters_automated_snapshots_go_with_it_and_its_name_can_be_reused(emulator):
    # AWS removes automated backups with the cluster; moto kept "rds:<c>-<minute>", and a cluster made
    # again under that name within the same minute (a restore from the final snapshot) clashed with it.
    rds = emulator.client("rds")
    params = {"Engine": "aurora-postgresql", "MasterUsername": "keycloak", "MasterUserPassword": "Passw0rd-1"}
    rds.create_db_cluster(DBClusterIdentifier="kc", **params)
    rds.create_db_cluster_snapshot(DBClusterIdentifier="kc", DBClusterSnapshotIdentifier="kept-by-hand")

    rds.delete_db_cluster(DBClusterIdentifier="kc", SkipFinalSnapshot=False, FinalDBSnapshotIdentifier="kc-final-1")

    left = {
        s["DBClusterSnapshotIdentifier"]: s["SnapshotType"]
        for s in rds.describe_db_cluster_snapshots()["DBClusterSnapshots"]
    }
    assert left == {"kept-by-hand": "manual", "kc-final-1": "manual"}
    rds.restore_db_cluster_from_snapshot(
        DBClusterIdentifier="kc", SnapshotIdentifier="kc-final-1", Engine="aurora-postgresql"
    )
    assert rds.describe_db_clusters(DBClusterIdentifier="kc")["DBClusters"]


def test_get_secret_value_answers_the_version_labelled_current_after_a_move(emulator):
    # A staged (AWSPENDING) value made current with UpdateSecretVersionStage is what readers get on
    # AWS; moto kept answering the version it had created as current.
    client = emulator.client("secretsmanager")
    client.create_secret(Name="s", SecretString="first")
    staged = client.put_secret_value(SecretId="s", SecretString="second", VersionStages=["AWSPENDING"])["VersionId"]
    assert client.get_secret_value(SecretId="s")["SecretString"] == "first"
    stages = client.describe_secret(SecretId="s")["VersionIdsToStages"]
    [current] = [version for version, labels in stages.items() if "AWSCURRENT" in labels]

    client.update_secret_version_stage(
        SecretId="s", VersionStage="AWSCURRENT", MoveToVersionId=staged, RemoveFromVersionId=current
    )

    assert client.get_secret_value(SecretId="s")["SecretString"] == "second"
    previous = client.get_secret_value(SecretId="s", VersionStage="AWSPREVIOUS")["SecretString"]
    assert previous == "first"


def test_recorder_captures_query_and_json_actions(emulator):
    ec2 = emulator.client("ec2")
    ec2.create_vpc(CidrBlock=VPC_A)  # before recording: must not show up
    emulator.start_recording()
    ec2.describe_vpcs()
    ec2.create_vpc(CidrBlock=VPC_B)
    secrets = emulator.client("secretsmanager")
    secrets.create_secret(Name="db", SecretString="s3cret")
    secrets.get_secret_value(SecretId="db")
    emulator.client("sts").get_caller_identity()
    emulator.client("rds").describe_db_clusters()
    emulator.stop_recording()
    ec2.describe_vpcs()  # after recording: must not show up

    assert emulator.recorded_actions() == [
        ("ec2", "DescribeVpcs"),
        ("ec2", "CreateVpc"),
        ("secretsmanager", "CreateSecret"),
        ("secretsmanager", "GetSecretValue"),
        ("sts", "GetCallerIdentity"),
        ("rds", "DescribeDBClusters"),
    ]
    assert emulator.mutating_actions() == [("ec2", "CreateVpc"), ("secretsmanager", "CreateSecret")]

    emulator.start_recording()  # starts from an empty log
    assert emulator.recorded_actions() == []


def test_recorder_stamps_each_request_with_its_arrival_time(emulator):
    ec2 = emulator.client("ec2")
    emulator.start_recording()
    before = time.time()
    ec2.describe_vpcs()
    time.sleep(0.3)
    between = time.time()
    ec2.create_vpc(CidrBlock=VPC_A)
    after = time.time()
    emulator.stop_recording()

    first, second = emulator.recorded_requests()
    assert before <= first["time"] <= between <= second["time"] <= after
    assert emulator.recorded_actions() == [("ec2", "DescribeVpcs"), ("ec2", "CreateVpc")]


def test_recorder_captures_concurrent_requests(emulator):
    clients = [emulator.client("ec2") for _client in range(10)]  # client creation is not thread-safe
    barrier = threading.Barrier(len(clients))
    errors = []

    def call(client):
        try:
            barrier.wait(timeout=10)
            client.describe_vpcs()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    emulator.start_recording()
    threads = [threading.Thread(target=call, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert emulator.recorded_actions() == [("ec2", "DescribeVpcs")] * 10
    assert emulator.mutating_actions() == []


def test_reset_clears_resources_and_recording(emulator):
    emulator.start_recording()
    emulator.client("ec2").create_vpc(CidrBlock=VPC_A)
    emulator.reset()
    assert emulator.recorded_actions() == []
    vpcs = emulator.client("ec2").describe_vpcs()["Vpcs"]
    assert all(v["IsDefault"] for v in vpcs)
    assert emulator.recorded_actions() == []  # reset also stopped the recorder


def _inventory(emulator):
    """What a test would look at: VPCs and their subnets, clusters with their members, secrets."""
    ec2, rds = emulator.client("ec2"), emulator.client("rds")
    return {
        "vpcs": sorted((v["VpcId"], v["CidrBlock"]) for v in ec2.describe_vpcs()["Vpcs"]),
        "subnets": sorted(s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]),
        "clusters": [
            (c["DBClusterIdentifier"], sorted(m["DBInstanceIdentifier"] for m in c["DBClusterMembers"]))
            for c in rds.describe_db_clusters()["DBClusters"]
        ],
        "secrets": sorted(s["Name"] for s in emulator.client("secretsmanager").list_secrets()["SecretList"]),
    }


def test_a_saved_state_comes_back_as_saved_however_often_it_is_changed(emulator):
    ec2, rds = emulator.client("ec2"), emulator.client("rds")
    vpc = ec2.create_vpc(CidrBlock=VPC_A)["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{n}.0/24", AvailabilityZone=f"eu-west-1{zone}")["Subnet"][
            "SubnetId"
        ]
        for n, zone in enumerate("ab")
    ]
    rds.create_db_subnet_group(DBSubnetGroupName="g", DBSubnetGroupDescription="g", SubnetIds=subnets)
    rds.create_db_cluster(
        DBClusterIdentifier="kept",
        Engine="aurora-postgresql",
        MasterUsername="keycloak",
        MasterUserPassword="secret-password",
        DBSubnetGroupName="g",
    )
    rds.create_db_instance(
        DBInstanceIdentifier="kept-1",
        DBClusterIdentifier="kept",
        Engine="aurora-postgresql",
        DBInstanceClass="db.r6g.large",
    )
    emulator.client("secretsmanager").create_secret(Name="kept", SecretString="x")
    saved = _inventory(emulator)
    emulator.save_state("start")

    for _restore in range(2):  # each restore is a fresh copy: what the last test changed does not come back
        rds.delete_db_instance(DBInstanceIdentifier="kept-1")
        ec2.delete_subnet(SubnetId=subnets[0])
        ec2.create_vpc(CidrBlock="10.20.0.0/16")
        assert _inventory(emulator) != saved
        emulator.restore_state("start")
        assert _inventory(emulator) == saved

    # The restored objects live: they change and refer to each other as the originals did.
    rds.create_db_instance(
        DBInstanceIdentifier="kept-2",
        DBClusterIdentifier="kept",
        Engine="aurora-postgresql",
        DBInstanceClass="db.r6g.large",
    )
    assert _inventory(emulator)["clusters"] == [("kept", ["kept-1", "kept-2"])]
    # A cross-region peering into a restored VPC reaches the restored backend of its region, and only that one.
    requester = emulator.client("ec2", "eu-central-1")
    other = requester.create_vpc(CidrBlock=VPC_B)["Vpc"]["VpcId"]
    peering = requester.create_vpc_peering_connection(VpcId=other, PeerVpcId=vpc, PeerRegion="eu-west-1")
    peering_id = peering["VpcPeeringConnection"]["VpcPeeringConnectionId"]
    accepted = ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=peering_id)["VpcPeeringConnection"]
    assert accepted["Status"]["Code"] == "active"


def test_a_restore_replaces_everything_even_after_a_reset_and_leaves_the_recorder_alone(emulator):
    emulator.client("ec2").create_vpc(CidrBlock=VPC_A)
    saved = _inventory(emulator)
    emulator.save_state("one-vpc")
    emulator.reset()
    emulator.client("secretsmanager").create_secret(Name="later", SecretString="x")  # a service the state never saw
    emulator.start_recording()
    emulator.restore_state("one-vpc")
    assert emulator.recorded_actions() == []
    assert _inventory(emulator) == saved  # the secret made after the save is gone too
    assert ("ec2", "DescribeVpcs") in emulator.recorded_actions()  # still recording


def test_restoring_an_unknown_state_fails_clearly(emulator):
    with pytest.raises(urllib.error.HTTPError) as raised:
        emulator.restore_state("never-saved")
    assert raised.value.code == 404
    assert b"nothing saved as never-saved" in raised.value.read()


@pytest.mark.parametrize(
    ("action", "method", "mutating"),
    [
        ("DescribeVpcs", "POST", False),
        ("ListSecrets", "POST", False),
        ("GetCallerIdentity", "POST", False),
        ("GetSecretValue", "POST", False),
        ("BatchGetSecretValue", "POST", False),
        ("CreateVpcPeeringConnection", "POST", True),
        ("AcceptVpcPeeringConnection", "POST", True),
        ("ModifyDBCluster", "POST", True),
        ("PutSecretValue", "POST", True),
        (None, "GET", False),
        (None, "PUT", True),
    ],
)
def test_mutating_classification(action, method, mutating):
    assert is_mutating(action, method) is mutating


def test_env_points_subprocesses_at_the_emulator(emulator):
    env = emulator.env()
    assert env == {
        "AWS_ENDPOINT_URL": emulator.url,
        "AWS_URL": emulator.url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    assert emulator.env("us-east-2")["AWS_DEFAULT_REGION"] == "us-east-2"


# --- ROSA seeder ---------------------------------------------------------------------------------


def _tags(resource):
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


def test_rosa_classic_cluster(emulator, rosa):
    cluster = rosa("alpha", machine_cidr="10.0.0.0/16", kind="classic")
    ec2 = emulator.client("ec2")

    assert cluster["availability_zones"] == ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    vpc = ec2.describe_vpcs(VpcIds=[cluster["vpc_id"]])["Vpcs"][0]
    assert vpc["CidrBlock"] == "10.0.0.0/16"
    assert _tags(vpc)["Name"] == "alpha-vpc"

    subnets = {
        s["SubnetId"]: s
        for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [cluster["vpc_id"]]}])["Subnets"]
    }
    assert set(subnets) == set(cluster["public_subnet_ids"] + cluster["private_subnet_ids"])
    assert [subnets[s]["AvailabilityZone"] for s in cluster["private_subnet_ids"]] == cluster["availability_zones"]
    assert [subnets[s]["AvailabilityZone"] for s in cluster["public_subnet_ids"]] == cluster["availability_zones"]

    tables = ec2.describe_route_tables(RouteTableIds=cluster["private_route_table_ids"])["RouteTables"]
    by_id = {t["RouteTableId"]: t for t in tables}
    for table_id, subnet_id, zone in zip(
        cluster["private_route_table_ids"], cluster["private_subnet_ids"], cluster["availability_zones"]
    ):
        table = by_id[table_id]
        assert [(a["SubnetId"], a["Main"]) for a in table["Associations"]] == [(subnet_id, False)]
        assert _tags(table)["Name"] == f"alpha-private-{zone}"

    reservations = ec2.describe_instances(InstanceIds=cluster["instance_ids"])["Reservations"]
    instances = [i for r in reservations for i in r["Instances"]]
    assert len(instances) == 3
    assert {i["SubnetId"] for i in instances} == set(cluster["private_subnet_ids"])
    infra_id = cluster["infra_id"]
    assert infra_id.startswith("alpha-") and len(infra_id) == len("alpha-") + 5
    for instance in instances:
        tags = _tags(instance)
        assert tags["api.openshift.com/name"] == "alpha"
        assert tags["red-hat-clustertype"] == "rosa"
        assert tags[f"kubernetes.io/cluster/{infra_id}"] == "owned"
        assert tags["Name"] == f"alpha-worker-{instance['Placement']['AvailabilityZone']}"
    assert sorted(cluster["node_names"]) == sorted(i["PrivateDnsName"] for i in instances)
    found = ec2.describe_instances(Filters=[{"Name": "tag:api.openshift.com/name", "Values": ["alpha"]}])
    assert sum(len(r["Instances"]) for r in found["Reservations"]) == 3


def test_rosa_hcp_cluster_has_no_kubernetes_cluster_tag(emulator, rosa):
    cluster = rosa("beta", region="us-east-1", machine_cidr="10.20.0.0/16", kind="hcp", azs=2, workers=4)
    ec2 = emulator.client("ec2", region="us-east-1")
    assert cluster["infra_id"] is None
    assert cluster["availability_zones"] == ["us-east-1a", "us-east-1b"]
    assert len(cluster["private_route_table_ids"]) == 2
    reservations = ec2.describe_instances(InstanceIds=cluster["instance_ids"])["Reservations"]
    instances = [i for r in reservations for i in r["Instances"]]
    assert len(instances) == 4
    for instance in instances:
        tags = _tags(instance)
        assert tags["api.openshift.com/name"] == "beta"
        assert tags["red-hat-clustertype"] == "rosa"
        assert not any(k.startswith("kubernetes.io/cluster/") for k in tags)


def test_rosa_two_clusters_are_independent_and_infra_id_is_stable(emulator, rosa):
    first = rosa("one", machine_cidr="10.0.0.0/16")
    second = rosa("two", machine_cidr="10.1.0.0/16")
    assert first["vpc_id"] != second["vpc_id"]
    assert not set(first["private_route_table_ids"]) & set(second["private_route_table_ids"])
    emulator.reset()
    assert rosa("one", machine_cidr="10.0.0.0/16")["infra_id"] == first["infra_id"]


def test_only_the_enabled_regions_are_described(emulator):
    from tools.emulator.harness import ENABLED_REGIONS

    regions = emulator.client("ec2").describe_regions()["Regions"]
    assert sorted(r["RegionName"] for r in regions) == sorted(ENABLED_REGIONS)
