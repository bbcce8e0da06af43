"""delete.yml against the emulator: refusal while peered, cascade, half-deleted deployments, adoption,
final snapshots."""

import json

import pytest

from tools.ansible_run import run_playbook
from tools.emulator.faults import FaultProxy
from tools.emulator.faults import snapshot_quota_reached

CLUSTER = "keycloak-aurora"


def delete(emulator, check=False, **extra_vars):
    return run_playbook(emulator.env(), "delete.yml", extra_vars={"aurora_cluster": CLUSTER, **extra_vars}, check=check)


def report(run):
    [message] = [
        task["hosts"]["localhost"]["msg"]
        for play in run.report["plays"]
        for task in play["tasks"]
        if task["task"]["name"].endswith("Report what was deleted")
    ]
    return message


def leftovers(emulator, cluster=CLUSTER):
    """Everything of ``cluster`` still in the emulator, by kind; empty lists when it is all gone."""
    ec2, rds = emulator.client("ec2"), emulator.client("rds")
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:AuroraCluster", "Values": [cluster]}])["Vpcs"]
    vpc_ids = [v["VpcId"] for v in vpcs]
    by_vpc = [{"Name": "vpc-id", "Values": vpc_ids}]
    groups = rds.describe_db_subnet_groups()["DBSubnetGroups"]
    secrets = emulator.client("secretsmanager").list_secrets()["SecretList"]
    return {
        "vpcs": vpc_ids,
        "subnets": [s["SubnetId"] for s in ec2.describe_subnets(Filters=by_vpc)["Subnets"]] if vpc_ids else [],
        "security_groups": [
            g["GroupName"]
            for g in ec2.describe_security_groups()["SecurityGroups"]
            if g["GroupName"] == f"{cluster}-security-group"
        ],
        "subnet_groups": [
            g["DBSubnetGroupName"] for g in groups if g["DBSubnetGroupName"] == f"{cluster}-subnet-group"
        ],
        "clusters": [c["DBClusterIdentifier"] for c in rds.describe_db_clusters()["DBClusters"]],
        "instances": [i["DBInstanceIdentifier"] for i in rds.describe_db_instances()["DBInstances"]],
        "secrets": [
            s["Name"] for s in secrets if s["Name"] == f"{cluster}-master-password" and not s.get("DeletedDate")
        ],
    }


NOTHING_LEFT = {
    "vpcs": [],
    "subnets": [],
    "security_groups": [],
    "subnet_groups": [],
    "clusters": [],
    "instances": [],
    "secrets": [],
}


def live_peerings(emulator, region="eu-west-1"):
    found = emulator.client("ec2", region).describe_vpc_peering_connections()["VpcPeeringConnections"]
    return [p for p in found if p["Status"]["Code"] in ("pending-acceptance", "active")]


def live_peering_ids(emulator):
    """Both regions of the fixture: a cross-region peering shows in each, so count it once."""
    return {
        p["VpcPeeringConnectionId"] for region in ("eu-west-1", "eu-central-1") for p in live_peerings(emulator, region)
    }


def peering_routes(emulator, rosa_cluster):
    client = emulator.client("ec2", rosa_cluster["region"])
    tables = client.describe_route_tables(RouteTableIds=rosa_cluster["private_route_table_ids"])["RouteTables"]
    return [r for t in tables for r in t["Routes"] if r.get("VpcPeeringConnectionId")]


@pytest.fixture
def peered(provisioned):
    """A provisioned Aurora cluster peered with a ROSA cluster in its region and one in another."""
    return provisioned(
        (
            {"name": "rosa-a", "machine_cidr": "10.0.0.0/16"},
            {"name": "rosa-b", "region": "eu-central-1", "machine_cidr": "10.1.0.0/16", "kind": "hcp"},
        )
    )


def test_delete_refuses_while_peered_and_deletes_nothing(emulator, peered):
    before = leftovers(emulator)
    emulator.start_recording()
    run = delete(emulator)
    assert run.returncode != 0
    assert len(live_peering_ids(emulator)) == 2
    for peering_id in live_peering_ids(emulator):
        assert peering_id in run.stdout
    assert "rosa-a" in run.stdout and "rosa-b" in run.stdout
    assert emulator.mutating_actions() == []
    assert leftovers(emulator) == before


def test_check_mode_lists_what_would_go_and_deletes_nothing(emulator, peered):
    before = leftovers(emulator)
    emulator.start_recording()
    run = delete(emulator, check=True, aurora_delete_peerings=True)
    assert run.returncode == 0, run.stdout
    listed = report(run)
    assert listed["mode"] == "would delete (check mode)"
    assert listed["cluster"] == CLUSTER and listed["network"]["vpc_id"] == before["vpcs"][0]
    assert len(listed["peerings"]) == 2
    assert emulator.mutating_actions() == []
    assert leftovers(emulator) == before


def test_cascading_delete_removes_everything_and_keeps_a_final_snapshot(emulator, peered):
    run = delete(emulator, aurora_delete_peerings=True)
    assert run.returncode == 0, run.stdout
    assert leftovers(emulator) == NOTHING_LEFT
    assert live_peering_ids(emulator) == set()
    for rosa_cluster in peered:
        assert peering_routes(emulator, rosa_cluster) == []
    snapshots = emulator.client("rds").describe_db_cluster_snapshots(DBClusterIdentifier=CLUSTER)["DBClusterSnapshots"]
    finals = [s["DBClusterSnapshotIdentifier"] for s in snapshots if s["SnapshotType"] == "manual"]
    assert finals == [report(run)["final_snapshot"]]
    assert finals[0].startswith(f"{CLUSTER}-final-")
    secret = emulator.client("secretsmanager").describe_secret(SecretId=f"{CLUSTER}-master-password")
    assert secret.get("DeletedDate"), "scheduled for deletion with a recovery window, not force-deleted"

    emulator.start_recording()
    again = delete(emulator)
    assert again.returncode == 0 and again.changed() == 0
    assert report(again) == f"Nothing of the Aurora cluster {CLUSTER} was found in eu-west-1."
    assert emulator.mutating_actions() == []


def test_skip_final_snapshot(emulator, provisioned):
    provisioned()
    run = delete(emulator, aurora_skip_final_snapshot=True)
    assert run.returncode == 0, run.stdout
    assert leftovers(emulator) == NOTHING_LEFT
    snapshots = emulator.client("rds").describe_db_cluster_snapshots()["DBClusterSnapshots"]
    assert [s for s in snapshots if s["SnapshotType"] == "manual"] == []


def manual_snapshots(emulator):
    snapshots = emulator.client("rds").describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"]
    return sorted(s["DBClusterSnapshotIdentifier"] for s in snapshots)


def earlier_snapshots(emulator, provisioned):
    """A provisioned cluster with two final snapshots of earlier deletes of the same name, and one of its own."""
    provisioned()
    rds = emulator.client("rds")
    for name in (f"{CLUSTER}-final-20240101000000", f"{CLUSTER}-final-20250301000000", f"{CLUSTER}-before-upgrade"):
        rds.create_db_cluster_snapshot(DBClusterIdentifier=CLUSTER, DBClusterSnapshotIdentifier=name)
    return [f"{CLUSTER}-final-20240101000000", f"{CLUSTER}-final-20250301000000"]


def test_the_final_snapshots_of_earlier_deletes_are_listed(emulator, provisioned):
    earlier = earlier_snapshots(emulator, provisioned)
    emulator.start_recording()
    checked = delete(emulator, check=True)
    assert checked.returncode == 0, checked.stdout
    assert report(checked)["earlier_final_snapshots"] == earlier
    assert emulator.mutating_actions() == []

    run = delete(emulator)
    assert run.returncode == 0, run.stdout
    listed = report(run)
    assert listed["earlier_final_snapshots"] == earlier, "oldest first, without this run's own"
    assert listed["final_snapshot"] not in earlier
    assert manual_snapshots(emulator) == sorted([*earlier, f"{CLUSTER}-before-upgrade", listed["final_snapshot"]])
    assert leftovers(emulator) == NOTHING_LEFT


def test_a_full_snapshot_quota_says_which_final_snapshots_to_remove(emulator, provisioned):
    earlier = earlier_snapshots(emulator, provisioned)
    with FaultProxy(emulator.url, share=0, refuse=[snapshot_quota_reached()]) as proxy:
        run = run_playbook(proxy.env(), "delete.yml", extra_vars={"aurora_cluster": CLUSTER})
        assert proxy.refused == {("rds", "DeleteDBCluster"): 1}, "refused once, not retried"
    assert run.returncode != 0
    assert "SnapshotQuotaExceeded" in run.stdout
    assert f"oldest first: {earlier[0]}, {earlier[1]}" in run.stdout
    assert f"aws rds delete-db-cluster-snapshot --db-cluster-snapshot-identifier {earlier[0]}" in run.stdout
    assert "aurora_skip_final_snapshot=true" in run.stdout
    assert leftovers(emulator)["clusters"] == [CLUSTER] and leftovers(emulator)["instances"] == []

    # what the message offers, done: the run finishes the job
    again = delete(emulator, aurora_skip_final_snapshot=True)
    assert again.returncode == 0, again.stdout
    assert leftovers(emulator) == NOTHING_LEFT
    assert manual_snapshots(emulator) == sorted([*earlier, f"{CLUSTER}-before-upgrade"])


def test_deleting_a_cluster_that_does_not_exist_is_ok(emulator):
    emulator.start_recording()
    run = delete(emulator)
    assert run.returncode == 0 and run.changed() == 0
    assert "Nothing of the Aurora cluster keycloak-aurora was found" in report(run)
    assert emulator.mutating_actions() == []


def test_a_bad_name_is_refused(emulator):
    emulator.start_recording()
    run = delete(emulator, aurora_cluster="Bad--name-")
    assert run.returncode != 0 and "aurora_cluster 'Bad--name-' is not allowed" in run.stdout
    assert emulator.recorded_actions() == []


def test_deletion_protection_is_refused_before_any_peering_is_removed(emulator, peered):
    emulator.client("rds").modify_db_cluster(
        DBClusterIdentifier=CLUSTER, DeletionProtection=True, ApplyImmediately=True
    )
    before = leftovers(emulator)
    emulator.start_recording()
    run = delete(emulator, aurora_delete_peerings=True)
    assert run.returncode != 0
    assert "deletion protection" in run.stdout and "--no-deletion-protection" in run.stdout
    assert emulator.mutating_actions() == []
    assert leftovers(emulator) == before and len(live_peering_ids(emulator)) == 2


def _remove(emulator, step):
    """Delete one more resource of a provisioned deployment, as an interrupted delete would leave it."""
    ec2, rds = emulator.client("ec2"), emulator.client("rds")
    [vpc] = ec2.describe_vpcs(Filters=[{"Name": "tag:AuroraCluster", "Values": [CLUSTER]}])["Vpcs"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]
    if step == "instance-2":
        rds.delete_db_instance(DBInstanceIdentifier=f"{CLUSTER}-instance-2")
    elif step == "instance-1":
        rds.delete_db_instance(DBInstanceIdentifier=f"{CLUSTER}-instance-1")
    elif step == "cluster":
        rds.delete_db_cluster(DBClusterIdentifier=CLUSTER, SkipFinalSnapshot=True)
    elif step == "subnet-group":
        rds.delete_db_subnet_group(DBSubnetGroupName=f"{CLUSTER}-subnet-group")
    elif step == "security-group":
        [group] = ec2.describe_security_groups(
            Filters=[{"Name": "group-name", "Values": [f"{CLUSTER}-security-group"]}]
        )["SecurityGroups"]
        ec2.delete_security_group(GroupId=group["GroupId"])
    elif step == "one-subnet":
        ec2.delete_subnet(SubnetId=subnets[0]["SubnetId"])
    elif step == "all-subnets":
        for subnet in subnets:
            ec2.delete_subnet(SubnetId=subnet["SubnetId"])
    elif step == "vpc":
        ec2.delete_vpc(VpcId=vpc["VpcId"])


STEPS = ["instance-2", "instance-1", "cluster", "subnet-group", "security-group", "one-subnet", "all-subnets", "vpc"]


@pytest.mark.parametrize("removed", range(len(STEPS) + 1), ids=["nothing"] + STEPS)
def test_every_half_deleted_state_is_finished(emulator, provisioned, removed):
    provisioned()
    for step in STEPS[:removed]:
        _remove(emulator, step)
    run = delete(emulator)
    assert run.returncode == 0, run.stdout
    assert leftovers(emulator) == NOTHING_LEFT


def test_a_deployment_of_the_documented_aws_cli_procedure_is_deleted_completely(emulator, rosa):
    """The literal steps of the Keycloak guide: fixed /16 VPC, two /19 subnets, peering with a ROSA cluster."""
    ec2, rds = emulator.client("ec2"), emulator.client("rds")
    rosa_cluster = rosa("rosa-guide", machine_cidr="10.0.0.0/16")
    vpc_id = ec2.create_vpc(
        CidrBlock="192.168.0.0/16",
        TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "AuroraCluster", "Value": CLUSTER}]}],
    )["Vpc"]["VpcId"]
    subnet_ids = [
        ec2.create_subnet(AvailabilityZone=zone, VpcId=vpc_id, CidrBlock=block)["Subnet"]["SubnetId"]
        for zone, block in (("eu-west-1a", "192.168.0.0/19"), ("eu-west-1b", "192.168.32.0/19"))
    ]
    [main] = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["RouteTables"]
    for subnet_id in subnet_ids:
        ec2.associate_route_table(RouteTableId=main["RouteTableId"], SubnetId=subnet_id)
    rds.create_db_subnet_group(
        DBSubnetGroupName=f"{CLUSTER}-subnet-group",
        DBSubnetGroupDescription="Aurora DB Subnet Group",
        SubnetIds=subnet_ids,
    )
    group_id = ec2.create_security_group(
        GroupName=f"{CLUSTER}-security-group", Description="Aurora DB Security Group", VpcId=vpc_id
    )["GroupId"]
    rds.create_db_cluster(
        DBClusterIdentifier=CLUSTER,
        Engine="aurora-postgresql",
        EngineVersion="16.1",
        MasterUsername="keycloak",
        MasterUserPassword="secret99",
        DatabaseName="keycloak",
        VpcSecurityGroupIds=[group_id],
        DBSubnetGroupName=f"{CLUSTER}-subnet-group",
    )
    rds.create_db_instance(
        DBInstanceIdentifier=f"{CLUSTER}-instance-1",
        DBClusterIdentifier=CLUSTER,
        Engine="aurora-postgresql",
        DBInstanceClass="db.t4g.large",
    )
    peering_id = ec2.create_vpc_peering_connection(VpcId=rosa_cluster["vpc_id"], PeerVpcId=vpc_id)[
        "VpcPeeringConnection"
    ]["VpcPeeringConnectionId"]
    ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=peering_id)
    ec2.create_route(
        RouteTableId=main["RouteTableId"], DestinationCidrBlock="10.0.0.0/16", VpcPeeringConnectionId=peering_id
    )
    for table_id in rosa_cluster["private_route_table_ids"]:
        ec2.create_route(
            RouteTableId=table_id, DestinationCidrBlock="192.168.0.0/16", VpcPeeringConnectionId=peering_id
        )
    ec2.authorize_security_group_ingress(
        GroupId=group_id, IpProtocol="tcp", FromPort=5432, ToPort=5432, CidrIp="10.0.0.0/16"
    )

    run = delete(emulator, aurora_delete_peerings=True, aurora_skip_final_snapshot=True)
    assert run.returncode == 0, run.stdout
    assert leftovers(emulator) == NOTHING_LEFT
    assert live_peerings(emulator) == []
    assert peering_routes(emulator, rosa_cluster) == []
    assert json.dumps(report(run)["peerings"]) == json.dumps([peering_id])
