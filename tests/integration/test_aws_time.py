"""The emulator's AWS time mode (tools/emulator/aws_time.py): each transition, seen through Describe calls.

One emulator in the mode serves the module, reset before each test. Durations are tens of seconds,
and tests move the emulator's clock forward (emu.advance) instead of sleeping: each assertion has
seconds of margin on a busy machine, and the module still runs in seconds. One test lets the real
clock run, to show that time passes without being advanced.
"""

import json
import subprocess
import sys
import time
import urllib.error

import pytest
from botocore.exceptions import ClientError

from tools.emulator.aws_time import AWS_DURATIONS
from tools.emulator.aws_time import DEFAULT_SCALE
from tools.emulator.aws_time import durations
from tools.emulator.harness import DEFAULT_ACCOUNT_ID
from tools.emulator.harness import LAUNCHER

# The instance is quicker than its cluster here, to show it still waits for it; the final snapshot
# outlasts the cluster's own deletion, to show the cluster waits for it.
DURATIONS = {
    "cluster_create": 20,
    "instance_create": 10,
    "instance_modify": 10,
    "instance_restart": 10,
    "cluster_failover": 10,
    "instance_delete": 10,
    "cluster_delete": 10,
    "cluster_snapshot": 30,
    "eni_linger": 10,
    "peering_initiate": 10,
    "peering_provision": 10,
    "eventual_consistency": 3,
}
OTHER_REGION = "us-east-1"
ENGINE = {"Engine": "aurora-postgresql"}


def _error(call, **kwargs):
    """(code, HTTP status) of the AWS error that call(**kwargs) answers."""
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    response = caught.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def _network(emu, region="eu-west-1", cidr="10.20.0.0/16", subnet_group="kc-subnets"):
    """A VPC with two subnets, a security group and (if named) a DB subnet group, made without transitions."""
    ec2, rds = emu.client("ec2", region=region), emu.client("rds", region=region)
    with emu.instant():
        vpc = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
        subnets = [
            ec2.create_subnet(
                VpcId=vpc, CidrBlock=cidr.replace("0.0/16", f"{i}.0/24"), AvailabilityZone=f"{region}{z}"
            )["Subnet"]["SubnetId"]
            for i, z in enumerate("ab")
        ]
        group = ec2.create_security_group(GroupName="aurora", Description="aurora", VpcId=vpc)["GroupId"]
        if subnet_group:
            rds.create_db_subnet_group(DBSubnetGroupName=subnet_group, DBSubnetGroupDescription="kc", SubnetIds=subnets)
    return {"vpc": vpc, "subnets": subnets, "group": group}


def _create_cluster(rds, network, name="kc"):
    rds.create_db_cluster(
        DBClusterIdentifier=name,
        MasterUsername="keycloak",
        MasterUserPassword="Passw0rd-1",
        DBSubnetGroupName="kc-subnets",
        VpcSecurityGroupIds=[network["group"]],
        **ENGINE,
    )


def _create_instance(rds, name, cluster="kc"):
    rds.create_db_instance(
        DBInstanceIdentifier=name,
        DBClusterIdentifier=cluster,
        DBInstanceClass="db.r6g.large",
        AvailabilityZone="eu-west-1a",
        **ENGINE,
    )


def _available(emu, rds, network, instances=("kc-1",)):
    """A cluster with its instances, all available (advanced past their creation)."""
    _create_cluster(rds, network)
    for name in instances:
        _create_instance(rds, name)
    emu.advance(DURATIONS["cluster_create"] + DURATIONS["instance_create"])


def _cluster_status(rds, name="kc"):
    return rds.describe_db_clusters(DBClusterIdentifier=name)["DBClusters"][0]["Status"]


def _instance(rds, name):
    return rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]


# --- opting in ---------------------------------------------------------------------------------


def test_the_default_emulator_stays_instant(emulator):
    rds = emulator.client("rds")
    rds.create_db_cluster(
        DBClusterIdentifier="kc", MasterUsername="keycloak", MasterUserPassword="Passw0rd-1", **ENGINE
    )
    _create_instance(rds, "kc-1")
    assert _instance(rds, "kc-1")["DBInstanceStatus"] == "available"
    rds.delete_db_instance(DBInstanceIdentifier="kc-1")
    assert rds.describe_db_instances()["DBInstances"] == []
    with pytest.raises(urllib.error.HTTPError):  # no time mode to ask about
        emulator.aws_time()


def test_durations_are_awss_scaled_unless_given():
    table = durations(overrides={"instance_create": 2})
    assert table["instance_create"] == 2
    assert table["cluster_create"] == pytest.approx(AWS_DURATIONS["cluster_create"] * DEFAULT_SCALE)
    assert durations(1)["eni_linger"] == AWS_DURATIONS["eni_linger"]
    with pytest.raises(ValueError, match="unknown duration 'instance_creat'"):
        durations(overrides={"instance_creat": 2})


def test_the_emulator_reports_the_durations_it_was_started_with(emu):
    state = emu.aws_time()
    assert state["timed"] is True
    assert state["durations"] == {name: float(seconds) for name, seconds in DURATIONS.items()}
    assert emu.advance(1)["clock"] >= state["clock"] + 1
    with pytest.raises(urllib.error.HTTPError) as refused:  # the clock never goes back
        emu.advance(-1)
    assert refused.value.code == 400


@pytest.mark.parametrize(
    "args, message",
    [
        (["--aws-time-durations", '{"instance_creat": 2}'], "unknown duration"),
        (["--aws-time", "-1"], "must not be negative"),
        (["--aws-time-durations", "[2]"], "--aws-time"),
    ],
)
def test_the_launcher_refuses_bad_durations(args, message):
    result = subprocess.run(
        [sys.executable, str(LAUNCHER), "--port", "0", *args], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode != 0
    assert message in result.stderr


def test_instant_requests_have_no_transitions_and_reset_restores_time(emu):
    rds = emu.client("rds")
    network = _network(emu)
    with emu.instant():
        _create_cluster(rds, network)
        _create_instance(rds, "kc-1")
        assert emu.aws_time()["timed"] is False
        assert _cluster_status(rds) == "available"
        assert _instance(rds, "kc-1")["DBInstanceStatus"] == "available"
    assert emu.aws_time()["timed"] is True
    _create_instance(rds, "kc-2")
    assert _instance(rds, "kc-2")["DBInstanceStatus"] == "creating"

    emu._api("aws-time/instant")
    emu.reset()
    assert emu.aws_time()["timed"] is True


# --- creating and modifying --------------------------------------------------------------------


def test_a_cluster_is_creating_and_its_instances_are_never_available_before_it(emu):
    rds = emu.client("rds")
    network = _network(emu)
    _create_cluster(rds, network)
    _create_instance(rds, "kc-1")
    assert _cluster_status(rds) == "creating"
    assert _cluster_status(rds) == "creating"  # not just for one read, as moto has it
    assert _instance(rds, "kc-1")["DBInstanceStatus"] == "creating"
    assert "Endpoint" not in _instance(rds, "kc-1")  # an address comes with the instance

    emu.advance(DURATIONS["instance_create"] + 1)  # the instance's own time is over, its cluster's is not
    assert _cluster_status(rds) == "creating"
    assert _instance(rds, "kc-1")["DBInstanceStatus"] == "creating"

    emu.advance(DURATIONS["cluster_create"] - DURATIONS["instance_create"])
    assert _cluster_status(rds) == "available"
    assert _instance(rds, "kc-1")["DBInstanceStatus"] == "available"
    assert _instance(rds, "kc-1")["Endpoint"]["Port"] == 5432

    _create_instance(rds, "kc-2")  # into an available cluster: its own creation time
    assert _instance(rds, "kc-2")["DBInstanceStatus"] == "creating"
    emu.advance(DURATIONS["instance_create"] + 1)
    assert _instance(rds, "kc-2")["DBInstanceStatus"] == "available"


def test_a_class_change_is_modifying_then_a_restart(emu):
    rds = emu.client("rds")
    _available(emu, rds, _network(emu))

    rds.modify_db_instance(DBInstanceIdentifier="kc-1", DBInstanceClass="db.r6g.xlarge", ApplyImmediately=True)
    modifying = _instance(rds, "kc-1")
    assert (modifying["DBInstanceStatus"], modifying["DBInstanceClass"]) == ("modifying", "db.r6g.large")
    assert modifying["PendingModifiedValues"] == {"DBInstanceClass": "db.r6g.xlarge"}
    assert _error(rds.modify_db_instance, DBInstanceIdentifier="kc-1", DBInstanceClass="db.r6g.2xlarge") == (
        "InvalidDBInstanceState",
        400,
    )

    emu.advance(DURATIONS["instance_modify"] + 1)
    restarting = _instance(rds, "kc-1")
    assert (restarting["DBInstanceStatus"], restarting["DBInstanceClass"]) == ("rebooting", "db.r6g.xlarge")
    assert not restarting.get("PendingModifiedValues")

    emu.advance(DURATIONS["instance_restart"])
    assert _instance(rds, "kc-1")["DBInstanceStatus"] == "available"


def test_a_creating_cluster_and_instance_cannot_be_modified_or_failed_over(emu):
    rds = emu.client("rds")
    _create_cluster(rds, _network(emu))
    _create_instance(rds, "kc-1")
    _create_instance(rds, "kc-2")
    code = _error(rds.modify_db_instance, DBInstanceIdentifier="kc-1", DBInstanceClass="db.r6g.xlarge")
    assert code == ("InvalidDBInstanceState", 400)
    code = _error(rds.modify_db_cluster, DBClusterIdentifier="kc", BackupRetentionPeriod=7, ApplyImmediately=True)
    assert code == ("InvalidDBClusterStateFault", 400)
    code = _error(rds.failover_db_cluster, DBClusterIdentifier="kc", TargetDBInstanceIdentifier="kc-2")
    assert code == ("InvalidDBClusterStateFault", 400)

    emu.advance(DURATIONS["cluster_create"] + 1)
    rds.modify_db_cluster(DBClusterIdentifier="kc", BackupRetentionPeriod=7, ApplyImmediately=True)
    rds.failover_db_cluster(DBClusterIdentifier="kc", TargetDBInstanceIdentifier="kc-2")
    assert _instance(rds, "kc-2")["DBInstanceStatus"] == "available"


def _writer(rds, name="kc"):
    members = rds.describe_db_clusters(DBClusterIdentifier=name)["DBClusters"][0]["DBClusterMembers"]
    return [m["DBInstanceIdentifier"] for m in members if m["IsClusterWriter"]]


def test_a_failover_is_failing_over_and_moves_the_writer_at_its_end(emu):
    rds = emu.client("rds")
    _available(emu, rds, _network(emu), instances=("kc-1", "kc-2"))
    assert _writer(rds) == ["kc-1"]

    answer = rds.failover_db_cluster(DBClusterIdentifier="kc", TargetDBInstanceIdentifier="kc-2")["DBCluster"]
    assert answer["Status"] == "failing-over"
    assert _cluster_status(rds) == "failing-over"
    assert _writer(rds) == ["kc-1"], "the old writer stays the writer until the failover is over"
    assert [_instance(rds, name)["DBInstanceStatus"] for name in ("kc-1", "kc-2")] == ["available", "available"]
    code = _error(rds.failover_db_cluster, DBClusterIdentifier="kc", TargetDBInstanceIdentifier="kc-1")
    assert code == ("InvalidDBClusterStateFault", 400)

    emu.advance(DURATIONS["cluster_failover"] + 1)
    assert _cluster_status(rds) == "available"
    assert _writer(rds) == ["kc-2"]


# --- deleting ------------------------------------------------------------------------------------


def test_a_deleted_instance_is_deleting_for_a_while_then_gone(emu):
    rds = emu.client("rds")
    _available(emu, rds, _network(emu))

    assert rds.delete_db_instance(DBInstanceIdentifier="kc-1")["DBInstance"]["DBInstanceStatus"] == "deleting"
    assert _instance(rds, "kc-1")["DBInstanceStatus"] == "deleting"
    [member] = rds.describe_db_clusters(DBClusterIdentifier="kc")["DBClusters"][0]["DBClusterMembers"]
    assert member["DBInstanceIdentifier"] == "kc-1"
    assert _error(rds.delete_db_instance, DBInstanceIdentifier="kc-1") == ("InvalidDBInstanceState", 400)

    emu.advance(DURATIONS["instance_delete"] + 1)
    assert _error(rds.describe_db_instances, DBInstanceIdentifier="kc-1") == ("DBInstanceNotFound", 404)
    assert rds.describe_db_clusters(DBClusterIdentifier="kc")["DBClusters"][0]["DBClusterMembers"] == []


def test_a_cluster_is_deleted_only_once_all_its_members_are_deleting(emu):
    rds = emu.client("rds")
    network = _network(emu)
    _available(emu, rds, network, instances=("kc-1", "kc-2"))

    rds.delete_db_instance(DBInstanceIdentifier="kc-1")
    refused = _error(rds.delete_db_cluster, DBClusterIdentifier="kc", FinalDBSnapshotIdentifier="kc-final")
    assert refused == ("InvalidDBClusterStateFault", 400)
    assert rds.describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"] == []

    rds.delete_db_instance(DBInstanceIdentifier="kc-2")
    rds.delete_db_cluster(DBClusterIdentifier="kc", FinalDBSnapshotIdentifier="kc-final")
    assert _cluster_status(rds) == "deleting"
    assert _error(rds.delete_db_cluster, DBClusterIdentifier="kc", SkipFinalSnapshot=True) == (
        "InvalidDBClusterStateFault",
        400,
    )
    assert _error(_create_instance, rds=rds, name="kc-3") == ("InvalidDBClusterStateFault", 400)
    assert _error(_create_cluster, rds=rds, network=network) == ("DBClusterAlreadyExistsFault", 400)

    def snapshot_status():
        return rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier="kc-final")["DBClusterSnapshots"][0][
            "Status"
        ]

    assert snapshot_status() == "creating"
    restore = {"DBClusterIdentifier": "kc-restored", "SnapshotIdentifier": "kc-final", **ENGINE}
    assert _error(rds.restore_db_cluster_from_snapshot, **restore) == ("InvalidDBClusterSnapshotStateFault", 400)
    code = _error(rds.delete_db_cluster_snapshot, DBClusterSnapshotIdentifier="kc-final")
    assert code == ("InvalidDBClusterSnapshotStateFault", 400)

    emu.advance(DURATIONS["cluster_delete"] + 1)  # members gone, the cluster waits for its snapshot
    assert rds.describe_db_instances()["DBInstances"] == []
    assert _cluster_status(rds) == "deleting"
    assert snapshot_status() == "creating"

    emu.advance(DURATIONS["cluster_snapshot"] - DURATIONS["cluster_delete"])
    assert _error(rds.describe_db_clusters, DBClusterIdentifier="kc") == ("DBClusterNotFoundFault", 404)
    assert snapshot_status() == "available"
    rds.restore_db_cluster_from_snapshot(**restore)
    assert _cluster_status(rds, "kc-restored") == "creating"


def test_a_subnet_group_stays_in_use_until_its_cluster_is_gone(emu):
    rds = emu.client("rds")
    _available(emu, rds, _network(emu))
    assert _error(rds.delete_db_subnet_group, DBSubnetGroupName="kc-subnets") == ("InvalidDBSubnetGroupStateFault", 400)

    rds.delete_db_instance(DBInstanceIdentifier="kc-1")
    rds.delete_db_cluster(DBClusterIdentifier="kc", SkipFinalSnapshot=True)
    assert _error(rds.delete_db_subnet_group, DBSubnetGroupName="kc-subnets") == ("InvalidDBSubnetGroupStateFault", 400)

    emu.advance(DURATIONS["cluster_delete"] + 1)
    rds.delete_db_subnet_group(DBSubnetGroupName="kc-subnets")
    assert rds.describe_db_subnet_groups()["DBSubnetGroups"] == []


# --- network interfaces of DB instances ----------------------------------------------------------


def test_an_instances_interface_blocks_its_subnet_and_group_until_it_has_lingered(emu):
    rds, ec2 = emu.client("rds"), emu.client("ec2")
    network = _network(emu)
    _create_cluster(rds, network)
    _create_instance(rds, "kc-1")

    [eni] = ec2.describe_network_interfaces(
        Filters=[{"Name": "vpc-id", "Values": [network["vpc"]]}, {"Name": "requester-id", "Values": ["amazon-rds"]}]
    )["NetworkInterfaces"]
    assert eni["RequesterManaged"] is True
    assert eni["SubnetId"] == network["subnets"][0]  # the subnet of the instance's zone
    assert [g["GroupId"] for g in eni["Groups"]] == [network["group"]]
    assert eni["Description"] == "RDSNetworkInterface"
    assert eni["Status"] == "in-use"

    def blocked():
        assert _error(ec2.delete_subnet, SubnetId=network["subnets"][0]) == ("DependencyViolation", 400)
        assert _error(ec2.delete_security_group, GroupId=network["group"]) == ("DependencyViolation", 400)
        code = _error(ec2.delete_network_interface, NetworkInterfaceId=eni["NetworkInterfaceId"])
        assert code == ("InvalidNetworkInterface.InUse", 400)

    blocked()  # creating
    rds.delete_db_instance(DBInstanceIdentifier="kc-1")
    blocked()  # deleting
    emu.advance(DURATIONS["instance_delete"] + 1)
    assert rds.describe_db_instances()["DBInstances"] == []
    blocked()  # gone, its interface lingers
    ec2.delete_subnet(SubnetId=network["subnets"][1])  # a subnet without an interface goes at once

    emu.advance(DURATIONS["eni_linger"])
    assert ec2.describe_network_interfaces(NetworkInterfaceIds=[])["NetworkInterfaces"] == []
    ec2.delete_subnet(SubnetId=network["subnets"][0])
    ec2.delete_security_group(GroupId=network["group"])


# --- peering -------------------------------------------------------------------------------------


def test_a_cross_region_peering_reaches_the_accepter_late_and_provisions_before_it_is_active(emu):
    requester = _network(emu, cidr="10.30.0.0/16")
    accepter = _network(emu, region=OTHER_REGION, cidr="10.40.0.0/16", subnet_group=None)
    ec2, peer_ec2 = emu.client("ec2"), emu.client("ec2", region=OTHER_REGION)
    pcx = ec2.create_vpc_peering_connection(VpcId=requester["vpc"], PeerVpcId=accepter["vpc"], PeerRegion=OTHER_REGION)[
        "VpcPeeringConnection"
    ]["VpcPeeringConnectionId"]

    def status(client):
        found = client.describe_vpc_peering_connections(
            Filters=[{"Name": "vpc-peering-connection-id", "Values": [pcx]}]
        )["VpcPeeringConnections"]
        return found[0]["Status"]["Code"] if found else None

    emu.advance(DURATIONS["eventual_consistency"] + 1)  # past the moment its id is unknown even here
    assert status(ec2) == "initiating-request"
    assert status(peer_ec2) is None
    code = _error(peer_ec2.accept_vpc_peering_connection, VpcPeeringConnectionId=pcx)
    assert code == ("InvalidVpcPeeringConnectionID.NotFound", 400)

    emu.advance(DURATIONS["peering_initiate"])
    assert status(ec2) == status(peer_ec2) == "pending-acceptance"

    accepted = peer_ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx)["VpcPeeringConnection"]
    assert accepted["Status"]["Code"] == "provisioning"
    assert status(ec2) == status(peer_ec2) == "provisioning"
    emu.advance(DURATIONS["peering_provision"] + 1)
    assert status(ec2) == status(peer_ec2) == "active"


def test_a_peering_from_another_account_reaches_the_accepter_account_late_with_none_of_its_tags(emu):
    other = emu.assume_role("arn:aws:iam::222222222222:role/rosa-peering")
    rosa_ec2, aurora_ec2 = emu.client("ec2", credentials=other), emu.client("ec2")
    with emu.instant():
        rosa_vpc = rosa_ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
        aurora_vpc = aurora_ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    tags = [{"ResourceType": "vpc-peering-connection", "Tags": [{"Key": "RosaCluster", "Value": "rosa-b"}]}]
    pcx = rosa_ec2.create_vpc_peering_connection(
        VpcId=rosa_vpc, PeerVpcId=aurora_vpc, PeerOwnerId=DEFAULT_ACCOUNT_ID, TagSpecifications=tags
    )["VpcPeeringConnection"]["VpcPeeringConnectionId"]

    def seen(client):
        found = client.describe_vpc_peering_connections()["VpcPeeringConnections"]
        return [(p["Status"]["Code"], p.get("Tags", [])) for p in found if p["VpcPeeringConnectionId"] == pcx]

    emu.advance(DURATIONS["eventual_consistency"] + 1)
    assert seen(rosa_ec2) == [("initiating-request", tags[0]["Tags"])]
    assert seen(aurora_ec2) == []  # the request has not reached the other account yet
    emu.advance(DURATIONS["peering_initiate"])
    assert seen(aurora_ec2) == [("pending-acceptance", [])]  # the requester's tags are not the accepter's
    aurora_ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    emu.advance(DURATIONS["peering_provision"] + 1)
    assert seen(rosa_ec2) == [("active", tags[0]["Tags"])]


def test_a_same_region_peering_awaits_acceptance_at_once(emu):
    first, second = _network(emu, cidr="10.30.0.0/16"), _network(emu, cidr="10.40.0.0/16", subnet_group=None)
    ec2 = emu.client("ec2")
    pcx = ec2.create_vpc_peering_connection(VpcId=first["vpc"], PeerVpcId=second["vpc"])["VpcPeeringConnection"]
    assert pcx["Status"]["Code"] == "initiating-request"  # what CreateVpcPeeringConnection answers, on AWS too
    emu.advance(DURATIONS["eventual_consistency"] + 1)  # not the time a cross-region request takes
    [described] = ec2.describe_vpc_peering_connections(VpcPeeringConnectionIds=[pcx["VpcPeeringConnectionId"]])[
        "VpcPeeringConnections"
    ]
    assert described["Status"]["Code"] == "pending-acceptance"


# --- eventual consistency ------------------------------------------------------------------------


def test_a_new_vpc_is_unknown_for_a_moment_in_real_time(emu):
    ec2 = emu.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.50.0.0/16")["Vpc"]["VpcId"]
    created = time.monotonic()
    assert _error(ec2.describe_vpcs, VpcIds=[vpc]) == ("InvalidVpcID.NotFound", 400)
    assert _error(ec2.create_subnet, VpcId=vpc, CidrBlock="10.50.0.0/24") == ("InvalidVpcID.NotFound", 400)
    by_vpc = [{"Name": "vpc-id", "Values": [vpc]}]
    assert ec2.describe_route_tables(Filters=by_vpc)["RouteTables"] == []  # a filter answers, without its main table
    assert vpc not in [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]]
    assert time.monotonic() - created < DURATIONS["eventual_consistency"], "too slow to see the moment"

    time.sleep(DURATIONS["eventual_consistency"] - (time.monotonic() - created) + 0.2)  # real time, not advanced
    assert ec2.describe_vpcs(VpcIds=[vpc])["Vpcs"][0]["VpcId"] == vpc
    [main] = ec2.describe_route_tables(Filters=by_vpc)["RouteTables"]
    assert main["Associations"][0]["Main"] is True
    ec2.create_subnet(VpcId=vpc, CidrBlock="10.50.0.0/24")


def test_new_subnets_groups_route_tables_and_peerings_are_unknown_for_a_moment(emu):
    ec2, rds = emu.client("ec2"), emu.client("rds")
    network = _network(emu)
    other = _network(emu, cidr="10.60.0.0/16", subnet_group=None)
    subnet = ec2.create_subnet(VpcId=network["vpc"], CidrBlock="10.20.9.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="new", Description="new", VpcId=network["vpc"])["GroupId"]
    route_table = ec2.create_route_table(VpcId=network["vpc"])["RouteTable"]["RouteTableId"]
    pcx = ec2.create_vpc_peering_connection(VpcId=network["vpc"], PeerVpcId=other["vpc"])["VpcPeeringConnection"][
        "VpcPeeringConnectionId"
    ]
    subnet_group = {"DBSubnetGroupName": "new", "DBSubnetGroupDescription": "new"}
    rule = [{"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "IpRanges": [{"CidrIp": "10.60.0.0/16"}]}]
    route = {"RouteTableId": route_table, "DestinationCidrBlock": "10.60.0.0/16", "VpcPeeringConnectionId": pcx}
    calls = [
        (ec2.describe_subnets, {"SubnetIds": [subnet]}, "InvalidSubnetID.NotFound"),
        (rds.create_db_subnet_group, {**subnet_group, "SubnetIds": [subnet, network["subnets"][1]]}, "InvalidSubnet"),
        (ec2.authorize_security_group_ingress, {"GroupId": group, "IpPermissions": rule}, "InvalidGroup.NotFound"),
        (ec2.create_route, route, "InvalidRouteTableID.NotFound"),
        (
            ec2.describe_vpc_peering_connections,
            {"VpcPeeringConnectionIds": [pcx]},
            "InvalidVpcPeeringConnectionID.NotFound",
        ),
    ]
    for call, kwargs, code in calls:
        assert _error(call, **kwargs) == (code, 400), call.__name__
    # A tag is text, even when it holds a fresh id.
    ec2.create_tags(Resources=[network["vpc"]], Tags=[{"Key": "peering", "Value": pcx}])
    listed = {
        "subnet": [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]],
        "group": [g["GroupId"] for g in ec2.describe_security_groups()["SecurityGroups"]],
        "route table": [r["RouteTableId"] for r in ec2.describe_route_tables()["RouteTables"]],
        "peering": [
            p["VpcPeeringConnectionId"] for p in ec2.describe_vpc_peering_connections()["VpcPeeringConnections"]
        ],
    }
    assert not {subnet, group, route_table, pcx} & {i for ids in listed.values() for i in ids}

    emu.advance(DURATIONS["eventual_consistency"] + 1)
    for call, kwargs, _code in calls:
        call(**kwargs)
    assert (
        json.dumps(ec2.describe_route_tables(RouteTableIds=[route_table])["RouteTables"][0]["Routes"]).count(pcx) == 1
    )


def test_a_state_cannot_be_saved_in_time_mode_whose_timers_a_copy_would_lose(emu):
    with pytest.raises(urllib.error.HTTPError) as raised:
        emu.save_state("start")
    assert raised.value.code == 409
