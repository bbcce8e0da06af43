"""reap.yml against the emulator: a mixed estate in two regions (collection-made and script-made, a kept, an old
and a young cluster), a dry run without a single mutating request, a run where one cluster fails and the others
still go, and a clean second run.

Ages: moto stamps a cluster with the time it was created, so nothing here is hours old. The runs measure ages
at reap_now, 4 hours and 1 second after the newest "old" cluster was made; the young cluster is made at least
2 seconds later, so it is younger than the default reap_min_age_hours=4 at that time. The decision is the
playbook's own, with its default minimum age.
"""

import datetime
import time

from tools.ansible_run import run_playbook
from tools.emulator.faults import FaultProxy
from tools.emulator.faults import Refuse
from tools.emulator.rosa import seed_rosa_cluster
from tools.emulator.scripts_made import scripts_deployment
from tools.emulator.scripts_made import scripts_peering

REGIONS = ["eu-west-1", "eu-central-1"]


def created(emulator, region, identifier):
    [cluster] = emulator.client("rds", region).describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"]
    return cluster["ClusterCreateTime"]


def estate(emulator, provisioned):
    """keycloak-aurora (collection, eu-west-1, peered with rosa-a), kc-scripts (scripts, eu-central-1, peered
    with rosa-b), kc-refused (scripts, eu-west-1): old, no keepalive. kc-kept: old, tagged keepalive (owner only
    would not keep it). kc-young: made after the others. Returns reap_now and rosa-b."""
    provisioned(rosa_clusters=({"name": "rosa-a", "machine_cidr": "10.0.0.0/16"},))
    scripts = scripts_deployment(emulator, "kc-scripts", region="eu-central-1", vpc_cidr="192.168.0.0/16")
    rosa_b = seed_rosa_cluster(emulator, "rosa-b", region="eu-central-1", machine_cidr="10.1.0.0/16")
    scripts_peering(emulator, scripts, rosa_b)
    scripts_deployment(emulator, "kc-refused", vpc_cidr="172.20.0.0/16", tags={"owner": "x"})
    scripts_deployment(emulator, "kc-kept", vpc_cidr="172.21.0.0/16", tags={"keepalive": "", "owner": "x"})
    old = (("eu-west-1", "keycloak-aurora"), ("eu-central-1", "kc-scripts"), ("eu-west-1", "kc-refused"))
    newest_old = max(created(emulator, region, name) for region, name in (*old, ("eu-west-1", "kc-kept")))
    time.sleep(2.5)
    scripts_deployment(emulator, "kc-young", vpc_cidr="172.22.0.0/16")
    assert created(emulator, "eu-west-1", "kc-young") > newest_old + datetime.timedelta(seconds=2)
    reap_now = newest_old + datetime.timedelta(hours=4, seconds=1)
    return reap_now.astimezone(datetime.UTC).isoformat(), rosa_b


def reap(env, reap_now, check=False, **extra_vars):
    return run_playbook(
        env,
        "reap.yml",
        extra_vars={"aurora_regions": ",".join(REGIONS), "reap_now": reap_now, **extra_vars},
        check=check,
        env={"ANSIBLE_SHOW_CUSTOM_STATS": "1"},
    )


def summary(run):
    return run.report["global_custom_stats"]["aurora_reap"]


def clusters(emulator):
    return sorted(
        (region, c["DBClusterIdentifier"])
        for region in REGIONS
        for c in emulator.client("rds", region).describe_db_clusters()["DBClusters"]
    )


def live_peerings(emulator):
    return sorted(
        p["VpcPeeringConnectionId"]
        for region in REGIONS
        for p in emulator.client("ec2", region).describe_vpc_peering_connections()["VpcPeeringConnections"]
        if p["Status"]["Code"] in ("pending-acceptance", "active")
    )


KEPT = {"eu-west-1/kc-kept": "tagged keepalive"}
DOOMED = ["eu-central-1/kc-scripts", "eu-west-1/kc-refused", "eu-west-1/keycloak-aurora"]
EVERYTHING = [
    ("eu-central-1", "kc-scripts"),
    ("eu-west-1", "kc-kept"),
    ("eu-west-1", "kc-refused"),
    ("eu-west-1", "kc-young"),
    ("eu-west-1", "keycloak-aurora"),
]


def test_the_reaper_deletes_old_clusters_without_keepalive_one_failure_stopping_none(emulator, provisioned):
    reap_now, _rosa_b = estate(emulator, provisioned)

    # A dry run, and check mode with reap_confirm=true: what would go and why, nothing sent that changes anything.
    emulator.start_recording()
    dry = reap(emulator.env(), reap_now)
    checked = reap(emulator.env(), reap_now, check=True, reap_confirm=True)
    assert emulator.mutating_actions() == []
    emulator.stop_recording()
    for run in (dry, checked):
        assert run.returncode == 0, run.stdout[-4000:]
        assert summary(run)["would_delete"] == DOOMED
        assert summary(run)["deleted"] == [] and summary(run)["failed"] == []
        assert summary(run)["kept"]["eu-west-1/kc-kept"] == KEPT["eu-west-1/kc-kept"]
        assert summary(run)["kept"]["eu-west-1/kc-young"].endswith("younger than reap_min_age_hours=4")
    assert clusters(emulator) == EVERYTHING

    # kc-refused cannot be deleted (its final snapshot is refused); the others still go.
    refused = Refuse(
        "DeleteDBCluster", "SnapshotQuotaExceeded", "snapshot quota", params={"DBClusterIdentifier": "kc-refused"}
    )
    with FaultProxy(emulator.url, share=0, refuse=[refused]) as proxy:
        run = reap(proxy.env(), reap_now, reap_confirm=True)
    assert run.returncode != 0
    assert summary(run)["deleted"] == ["eu-central-1/kc-scripts", "eu-west-1/keycloak-aurora"]
    assert summary(run)["failed"] == ["eu-west-1/kc-refused"]
    [lines] = [
        task["hosts"]["localhost"]["msg"]
        for play in run.report["plays"]
        for task in play["tasks"]
        if task["task"]["name"] == "Show the summary"
    ]
    assert lines[0] == "deleted 2, kept 2, failed 1"
    assert lines[1].startswith("FAILED eu-west-1 kc-refused: ") and "snapshot" in lines[1], lines
    assert sorted(summary(run)["kept"]) == ["eu-west-1/kc-kept", "eu-west-1/kc-young"]
    assert clusters(emulator) == [("eu-west-1", "kc-kept"), ("eu-west-1", "kc-refused"), ("eu-west-1", "kc-young")]
    assert live_peerings(emulator) == []
    snapshots = [
        s["DBClusterSnapshotIdentifier"]
        for region in REGIONS
        for s in emulator.client("rds", region).describe_db_cluster_snapshots(SnapshotType="manual")[
            "DBClusterSnapshots"
        ]
    ]
    assert sorted(s.rsplit("-final-", 1)[0] for s in snapshots) == ["kc-scripts", "keycloak-aurora"]

    # The next run deletes what failed; the one after has nothing left to do.
    again = reap(emulator.env(), reap_now, reap_confirm=True)
    assert again.returncode == 0, again.stdout[-4000:]
    assert summary(again)["deleted"] == ["eu-west-1/kc-refused"]
    last = reap(emulator.env(), reap_now, reap_confirm=True)
    assert last.returncode == 0, last.stdout[-4000:]
    assert summary(last)["deleted"] == [] and last.changed() == 0
    assert clusters(emulator) == [("eu-west-1", "kc-kept"), ("eu-west-1", "kc-young")]


def test_a_tag_other_than_keepalive_keeps_nothing_and_a_young_cluster_goes_at_min_age_zero(emulator):
    """The keycloak-benchmark reaper keeps a cluster tagged only owner=x (its tag test matches any tag): this one
    does not."""
    scripts_deployment(emulator, "kc-owned", tags={"owner": "x"})
    run = run_playbook(
        emulator.env(),
        "reap.yml",
        extra_vars={"aurora_regions": "eu-west-1", "reap_min_age_hours": 0, "reap_confirm": True},
        env={"ANSIBLE_SHOW_CUSTOM_STATS": "1"},
    )
    assert run.returncode == 0, run.stdout[-4000:]
    assert summary(run)["deleted"] == ["eu-west-1/kc-owned"]
    assert clusters(emulator) == []


def test_aurora_region_or_aurora_cluster_given_to_the_reaper_is_refused_before_any_request(emulator):
    """As extra vars they would beat the host vars each doomed cluster's delete reads, and aim every delete at the
    other region (or at one cluster)."""
    scripts_deployment(emulator, "kc-west", vpc_cidr="172.20.0.0/16")
    scripts_deployment(emulator, "kc-west", region="eu-central-1", vpc_cidr="172.21.0.0/16")
    scripts_deployment(emulator, "kc-central", region="eu-central-1", vpc_cidr="172.22.0.0/16")
    before = clusters(emulator)
    emulator.start_recording()
    for override in ({"aurora_region": "eu-central-1"}, {"aurora_cluster": "kc-central"}):
        run = run_playbook(
            emulator.env(),
            "reap.yml",
            extra_vars={
                "aurora_regions": "eu-west-1",
                "reap_region": "eu-west-1",
                "reap_min_age_hours": 0,
                "reap_confirm": True,
                **override,
            },
        )
        assert run.returncode != 0
        [name] = override
        assert f"{name} must not be set" in run.stdout, run.stdout[-4000:]
    assert emulator.recorded_requests() == []
    emulator.stop_recording()
    assert clusters(emulator) == before


def named_only_deployment(emulator, cluster):
    """An aurora-postgresql cluster in an untagged VPC whose only mark is its DB subnet group <c>-subnet-group:
    a name somebody else may have chosen too."""
    ec2, rds = emulator.client("ec2"), emulator.client("rds")
    vpc_id = ec2.create_vpc(CidrBlock="172.30.0.0/16")["Vpc"]["VpcId"]
    zones = sorted(z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"])[:2]
    subnet_ids = [
        ec2.create_subnet(AvailabilityZone=zone, VpcId=vpc_id, CidrBlock=block)["Subnet"]["SubnetId"]
        for zone, block in zip(zones, ("172.30.0.0/24", "172.30.1.0/24"))
    ]
    rds.create_db_subnet_group(
        DBSubnetGroupName=f"{cluster}-subnet-group", DBSubnetGroupDescription="theirs", SubnetIds=subnet_ids
    )
    rds.create_db_cluster(
        DBClusterIdentifier=cluster,
        Engine="aurora-postgresql",
        MasterUsername="theirs",
        MasterUserPassword="secret99",
        DBSubnetGroupName=f"{cluster}-subnet-group",
    )


def test_a_cluster_found_only_by_its_subnet_group_name_is_shown_but_never_reaped(emulator):
    named_only_deployment(emulator, "kc-theirs")
    scripts_deployment(emulator, "kc-ours", vpc_cidr="172.20.0.0/16")
    run = run_playbook(
        emulator.env(),
        "reap.yml",
        extra_vars={"aurora_regions": "eu-west-1", "reap_min_age_hours": 0, "reap_confirm": True},
        env={"ANSIBLE_SHOW_CUSTOM_STATS": "1"},
    )
    assert run.returncode == 0, run.stdout[-4000:]
    assert summary(run)["deleted"] == ["eu-west-1/kc-ours"]
    assert summary(run)["kept"] == {"eu-west-1/kc-theirs": "found only by its DB subnet group name: not reaped"}
    assert clusters(emulator) == [("eu-west-1", "kc-theirs")]
