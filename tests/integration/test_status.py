"""status.yml against the emulator: a mixed estate in two regions, found by the naming contract, shown without a
single mutating request; a region that denies access is reported and the others are still shown."""

import json

from tools.ansible_run import run_playbook
from tools.emulator.faults import FaultProxy
from tools.emulator.faults import Refuse
from tools.emulator.rosa import seed_rosa_cluster
from tools.emulator.scripts_made import scripts_deployment
from tools.emulator.scripts_made import scripts_peering

ROSA_A = {"name": "rosa-a", "machine_cidr": "10.0.0.0/16"}


def mixed_estate(emulator, provisioned):
    """keycloak-aurora made by the collection in eu-west-1, peered with rosa-a; kc-scripts made by the scripts in
    eu-central-1, tagged keepalive, peered with rosa-b; two clusters that are not Keycloak's."""
    provisioned(rosa_clusters=(ROSA_A,))
    scripts = scripts_deployment(emulator, "kc-scripts", region="eu-central-1", tags={"keepalive": "", "owner": "sre"})
    rosa_b = seed_rosa_cluster(emulator, "rosa-b", region="eu-central-1", machine_cidr="10.1.0.0/16")
    peering_id = scripts_peering(emulator, scripts, rosa_b)
    rds = emulator.client("rds", "eu-central-1")
    # aurora-postgresql without any mark of the contract, and the contract's names on another engine
    rds.create_db_cluster(
        DBClusterIdentifier="billing", Engine="aurora-postgresql", MasterUsername="u", MasterUserPassword="secret99"
    )
    other = scripts_deployment(emulator, "mysql-app", region="eu-central-1", vpc_cidr="172.31.0.0/16")
    rds.delete_db_instance(DBInstanceIdentifier="mysql-app-instance-1")
    rds.delete_db_cluster(DBClusterIdentifier=other["cluster"], SkipFinalSnapshot=True)
    rds.create_db_cluster(
        DBClusterIdentifier="mysql-app",
        Engine="aurora-mysql",
        MasterUsername="u",
        MasterUserPassword="secret99",
        DBSubnetGroupName="mysql-app-subnet-group",
    )
    return peering_id, rosa_b


def status(emulator_env, **extra_vars):
    # The json callback shows set_stats only when asked; AWX keeps them as the job's artifacts anyway.
    return run_playbook(emulator_env, "status.yml", extra_vars=extra_vars, env={"ANSIBLE_SHOW_CUSTOM_STATS": "1"})


def stats(run):
    return run.report["global_custom_stats"]["aurora_estate"]


def test_status_shows_every_cluster_for_keycloak_of_both_makers_without_changing_anything(
    emulator, provisioned, tmp_path
):
    scripts_peering_id, rosa_b = mixed_estate(emulator, provisioned)
    emulator.start_recording()
    output = tmp_path / "estate.json"
    run = status(emulator.env(), aurora_regions=["eu-west-1", "eu-central-1"], output_file=str(output))
    assert run.returncode == 0, run.stdout[-4000:]
    assert emulator.mutating_actions() == []

    found = json.loads(output.read_text())
    assert found == stats(run)
    assert found["failed_regions"] == []
    assert [(c["region"], c["identifier"]) for c in found["clusters"]] == [
        ("eu-central-1", "kc-scripts"),
        ("eu-west-1", "keycloak-aurora"),
    ]
    scripts, collection = found["clusters"]

    assert scripts["keepalive"] == ""
    assert scripts["found_by"] == [
        "VPC tagged AuroraCluster=kc-scripts",
        "DB subnet group kc-scripts-subnet-group",
        "security group kc-scripts-security-group",
    ]
    assert scripts["vpc_cidr_block"] == "192.168.0.0/16"
    # The scripts tag their peering with the Aurora cluster only: the ROSA cluster is named by its nodes.
    assert [
        (p["vpc_peering_connection_id"], p["rosa_cluster_name"], p["requester_vpc_id"]) for p in scripts["peerings"]
    ] == [(scripts_peering_id, "rosa-b", rosa_b["vpc_id"])]
    assert [(i["identifier"], i["instance_class"], i["writer"]) for i in scripts["instances"]] == [
        ("kc-scripts-instance-1", "db.t4g.large", True)
    ]

    assert collection["keepalive"] is None
    assert collection["engine_version"] and collection["endpoint"] and collection["reader_endpoint"]
    assert [(p["rosa_cluster_name"], p["status"]) for p in collection["peerings"]] == [("rosa-a", "active")]
    assert collection["instances"] and all(i["availability_zone"] for i in collection["instances"])
    assert 0 <= collection["age_hours"] < 1
    assert collection["pending_maintenance"] == [] and collection["final_snapshots"] == []

    report = [
        task["hosts"]["localhost"]["msg"]
        for play in run.report["plays"]
        for task in play["tasks"]
        if task["task"]["name"] == "Show them"
    ][0]
    assert report[0] == "2 Aurora clusters for Keycloak in 2 regions scanned"
    assert any(line.startswith("eu-central-1 kc-scripts: available") and "keepalive" in line for line in report)
    assert f"  peering: {scripts_peering_id} active from rosa-b" in "\n".join(report)


def test_final_snapshots_of_a_cluster_are_shown(emulator, provisioned):
    provisioned()
    rds = emulator.client("rds")
    rds.create_db_cluster_snapshot(
        DBClusterIdentifier="keycloak-aurora", DBClusterSnapshotIdentifier="keycloak-aurora-final-20260101000000"
    )
    rds.create_db_cluster_snapshot(DBClusterIdentifier="keycloak-aurora", DBClusterSnapshotIdentifier="before-upgrade")
    run = status(emulator.env(), aurora_regions="eu-west-1")
    assert run.returncode == 0, run.stdout[-4000:]
    [cluster] = stats(run)["clusters"]
    assert [s["identifier"] for s in cluster["final_snapshots"]] == ["keycloak-aurora-final-20260101000000"]


def test_a_region_that_denies_access_is_reported_and_the_others_are_shown(emulator, provisioned):
    provisioned()
    denied = Refuse(
        "DescribeDBClusters", "AccessDenied", "not authorized in this region", status=403, region="us-west-2"
    )
    with FaultProxy(emulator.url, share=0, refuse=[denied]) as proxy:
        run = status(proxy.env())
    assert run.returncode == 0, run.stdout[-4000:]
    found = stats(run)
    assert found["regions"] == ["eu-central-1", "eu-west-1", "us-east-1", "us-west-2"]
    assert [(e["region"], e["code"]) for e in found["failed_regions"]] == [("us-west-2", "AccessDenied")]
    assert [c["identifier"] for c in found["clusters"]] == ["keycloak-aurora"]


def test_what_deleted_deployments_left_behind_is_shown_with_its_fix(emulator, rosa):
    """A cluster deleted by hand leaves its VPC, subnet group, security group and secret; a peering deleted alone leaves
    its routes (ROSA and Aurora side) and its 5432 rule. The live deployment next to them leaves nothing."""
    gone = scripts_deployment(emulator, "kc-gone", vpc_cidr="172.20.0.0/16")
    rds = emulator.client("rds")
    rds.delete_db_instance(DBInstanceIdentifier="kc-gone-instance-1")
    rds.delete_db_cluster(DBClusterIdentifier="kc-gone", SkipFinalSnapshot=True)
    emulator.client("secretsmanager").create_secret(
        Name="kc-gone-master-password", SecretString="{}", Tags=[{"Key": "AuroraCluster", "Value": "kc-gone"}]
    )
    live = scripts_deployment(emulator, "kc-live")
    rosa_b = rosa("rosa-b", machine_cidr="10.1.0.0/16", azs=2)
    rosa_c = rosa("rosa-c", machine_cidr="10.2.0.0/16", azs=2)
    scripts_peering(emulator, live, rosa_c)
    unpeered = scripts_peering(emulator, live, rosa_b)
    emulator.client("ec2").delete_vpc_peering_connection(VpcPeeringConnectionId=unpeered)

    emulator.start_recording()
    run = status(emulator.env(), aurora_regions="eu-west-1")
    assert run.returncode == 0, run.stdout[-4000:]
    assert emulator.mutating_actions() == []
    found = stats(run)
    assert [c["identifier"] for c in found["clusters"]] == ["kc-live"]
    kinds = sorted((item["kind"], item["id"], item["cluster"]) for item in found["leftovers"])
    route_ids = [f"{table} 192.168.0.0/16" for table in rosa_b["private_route_table_ids"]]
    [main] = emulator.client("ec2").describe_route_tables(
        Filters=[{"Name": "vpc-id", "Values": [live["vpc_id"]]}, {"Name": "association.main", "Values": ["true"]}]
    )["RouteTables"]
    assert kinds == sorted(
        [
            ("vpc", gone["vpc_id"], "kc-gone"),
            ("db_subnet_group", "kc-gone-subnet-group", "kc-gone"),
            ("security_group", gone["security_group_id"], "kc-gone"),
            ("secret", "kc-gone-master-password", "kc-gone"),
            ("ingress_rule", f"{live['security_group_id']} 10.1.0.0/16", "kc-live"),
            ("route", f"{main['RouteTableId']} 10.1.0.0/16", "kc-live"),
        ]
        + [("route", route_id, "kc-live") for route_id in route_ids]
    )
