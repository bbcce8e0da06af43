"""Provision and delete on AWS's critical path, against the emulator's AWS time mode (tools/emulator/aws_time.py).

One emulator in the mode serves the module, reset before each test. Its durations are tens of
seconds, longer than a playbook needs to reach its waits, so every state a test looks at holds
still; the test then moves the emulator's clock forward (emu.advance) once the playbook waits, and
the playbook, polling every POLL_DELAY seconds, goes on at once. A run that must stop on its deadline
gets a short aurora_wait_timeout instead.
"""

import time

import pytest

from tools.ansible_run import PlaybookRun
from tools.ansible_run import rosa_inventory
from tools.ansible_run import start_playbook
from tools.emulator.kubernetes_api import KubernetesAPI
from tools.emulator.rosa import seed_rosa_cluster

CLUSTER = "keycloak-aurora"
INSTANCES = [f"{CLUSTER}-instance-1", f"{CLUSTER}-instance-2"]
DURATIONS = {
    "cluster_create": 20,
    "instance_create": 80,
    "instance_modify": 20,
    "instance_restart": 5,
    "instance_delete": 20,
    "cluster_delete": 10,
    "cluster_snapshot": 10,
    "eni_linger": 40,
    "peering_initiate": 30,
    "peering_provision": 10,
    "eventual_consistency": 1,
}
# Past every transition a provision or a delete starts (instances wait for their cluster; a cluster
# being deleted waits for its members and its final snapshot; interfaces linger after their instance).
ALL_CREATED = DURATIONS["cluster_create"] + DURATIONS["instance_create"] + 1
ALL_DELETED = DURATIONS["instance_delete"] + DURATIONS["cluster_snapshot"] + DURATIONS["eni_linger"] + 1
POLL_DELAY = "0.2"
PLAYBOOK_TIMEOUT = 300


def playbook(emu, name, tmp_path, *, advance=(), inventory=None, env=None, **extra_vars):
    """Run playbooks/<name> for CLUSTER; ``advance``: [(ready, seconds)], in turn: once ``ready()`` says
    the playbook waits, move the emulator's clock ``seconds`` forward."""
    output = tmp_path / f"{name}-{time.monotonic_ns()}.json"
    with open(output, "w") as out:
        process = start_playbook(
            emu.env(),
            name,
            output=out,
            extra_vars={"aurora_cluster": CLUSTER, **extra_vars},
            inventory=inventory,
            env={"KEYCLOAK_AURORA_POLL_DELAY": POLL_DELAY, **(env or {})},
        )
        end = time.monotonic() + PLAYBOOK_TIMEOUT
        steps = list(advance)
        while process.poll() is None and time.monotonic() < end:
            if steps and steps[0][0]():
                emu.advance(steps.pop(0)[1])
            time.sleep(0.2)
        if process.poll() is None:
            process.kill()
            process.wait()
            pytest.fail(f"{name} did not end within {PLAYBOOK_TIMEOUT}s")
    assert not steps, f"{name} ended before it waited as expected: {output.read_text()[-3000:]}"
    # ansible-playbook's warnings (stderr) come first in the file, then the JSON report.
    text = output.read_text()
    start = 0 if text.startswith("{") else text.index("\n{") + 1
    return PlaybookRun(process.returncode, text[start:], text[:start])


def failure(run):
    """The message of the task that failed."""
    messages = [
        result.get("msg", "")
        for play in run.report["plays"]
        for task in play["tasks"]
        for result in task["hosts"].values()
        if result.get("failed")
    ]
    assert messages, run.stdout[-3000:]
    return messages[0]


def cluster_status(emu):
    clusters = emu.client("rds").describe_db_clusters()["DBClusters"]
    return clusters[0]["Status"] if clusters else None


def instance_states(emu):
    instances = emu.client("rds").describe_db_instances()["DBInstances"]
    return {i["DBInstanceIdentifier"]: i["DBInstanceStatus"] for i in instances}


def requested(emu, action, count):
    """ready(): the playbook has sent ``count`` requests ``action`` (the recorder started before it)."""
    return lambda: emu.recorded_actions().count(("rds", action)) >= count


def deleting(emu):
    return lambda: cluster_status(emu) == "deleting"


def provisioned(emu, tmp_path):
    """A provisioned cluster, all available."""
    run = playbook(emu, "provision.yml", tmp_path, advance=[(lambda: len(instance_states(emu)) == 2, ALL_CREATED)])
    assert run.returncode == 0, run.stdout[-3000:]
    return run


def leftovers(emu):
    ec2, rds = emu.client("ec2"), emu.client("rds")
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:AuroraCluster", "Values": [CLUSTER]}])["Vpcs"]
    secrets = emu.client("secretsmanager").list_secrets()["SecretList"]
    return {
        "vpcs": [v["VpcId"] for v in vpcs],
        # The DB instances' (a seeded ROSA cluster's workers have theirs).
        "interfaces": [
            i["NetworkInterfaceId"]
            for i in ec2.describe_network_interfaces(Filters=[{"Name": "requester-id", "Values": ["amazon-rds"]}])[
                "NetworkInterfaces"
            ]
        ],
        "subnet_groups": [g["DBSubnetGroupName"] for g in rds.describe_db_subnet_groups()["DBSubnetGroups"]],
        "clusters": [c["DBClusterIdentifier"] for c in rds.describe_db_clusters()["DBClusters"]],
        "instances": list(instance_states(emu)),
        "live_secrets": [s["Name"] for s in secrets if not s.get("DeletedDate")],
    }


NOTHING_LEFT = {"vpcs": [], "interfaces": [], "subnet_groups": [], "clusters": [], "instances": [], "live_secrets": []}


def final_snapshots(emu):
    found = emu.client("rds").describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"]
    return sorted((s["DBClusterSnapshotIdentifier"], s["Status"]) for s in found)


def db_mutations(emu):
    """The mutating requests on DB clusters and instances, in order."""
    return [a for s, a in emu.mutating_actions() if s == "rds" and ("DBCluster" in a or "DBInstance" in a)]


# --- provision ---------------------------------------------------------------------------------


def test_a_fresh_provision_requests_the_instances_while_the_cluster_is_creating(emu, tmp_path):
    seen = {}

    def both_requested():
        states = instance_states(emu)
        if len(states) < 2:
            return False
        seen.update(cluster=cluster_status(emu), instances=states)
        return True

    emu.start_recording()
    run = playbook(emu, "provision.yml", tmp_path, advance=[(both_requested, ALL_CREATED)])
    assert run.returncode == 0, run.stdout[-3000:]

    # Both instances were there, creating, while the cluster itself was still creating.
    assert seen == {"cluster": "creating", "instances": dict.fromkeys(INSTANCES, "creating")}
    actions = [action for service, action in emu.recorded_actions() if service == "rds"]
    first, last = actions.index("CreateDBCluster"), len(actions) - 1 - actions[::-1].index("CreateDBInstance")
    assert "DescribeDBClusters" not in actions[first:last], "nothing waits for the cluster before the instances"
    assert db_mutations(emu) == ["CreateDBCluster", "CreateDBInstance", "CreateDBInstance"]

    assert cluster_status(emu) == "available"
    assert instance_states(emu) == dict.fromkeys(INSTANCES, "available")
    zones = [i["AvailabilityZone"] for i in emu.client("rds").describe_db_instances()["DBInstances"]]
    assert len(set(zones)) == 2


def peering_states(emu, seeded):
    """{ROSA cluster: the status of each of its peerings, as its own region lists them}."""
    states = {}
    for rosa in seeded:
        found = emu.client("ec2", region=rosa["region"]).describe_vpc_peering_connections(
            Filters=[{"Name": "requester-vpc-info.vpc-id", "Values": [rosa["vpc_id"]]}]
        )["VpcPeeringConnections"]
        states[rosa["name"]] = [p["Status"]["Code"] for p in found]
    return states


def test_two_rosa_clusters_are_connected_while_the_instances_create_and_deleted_in_cascade_past_lingering_interfaces(
    emu, tmp_path, own_tmpdir
):
    """Peering (one ROSA cluster in the Aurora region, one in another), routes, rules and Keycloak's
    Secret need only the Aurora network: all done while AWS still creates the instances. Only the
    endpoint waits for the writer. The cascading delete then waits out the interfaces the deleted
    instances leave behind."""
    with emu.instant():
        seeded = [
            seed_rosa_cluster(emu, "rosa-a", machine_cidr="10.0.0.0/16"),
            seed_rosa_cluster(emu, "rosa-c", region="eu-central-1", machine_cidr="10.2.0.0/16"),
        ]
    bundle = tmp_path / "rds-bundle.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----\n")
    seen = {}
    with KubernetesAPI().start() as api:
        api.create_namespace("keycloak")
        for name in seeded[0]["node_names"]:
            api.add_node(name, {"node-role.kubernetes.io/worker": ""})
        inventory = rosa_inventory(
            tmp_path,
            {
                "rosa-a": {"rosa_kubeconfig": str(api.write_kubeconfig(tmp_path / "kubeconfig"))},
                "rosa-c": {"rosa_region": "eu-central-1"},
            },
        )

        def cross_region(status):
            return lambda: peering_states(emu, seeded[1:]) == {"rosa-c": [status]}

        def connected_and_written():
            if emu.recorded_actions().count(("ec2", "AuthorizeSecurityGroupIngress")) < 2:
                return False
            if api.get_object("Secret", "keycloak-db-secret", "keycloak") is None:
                return False
            seen.update(
                cluster=cluster_status(emu), instances=instance_states(emu), peerings=peering_states(emu, seeded)
            )
            return True

        emu.start_recording()
        run = playbook(
            emu,
            "provision.yml",
            tmp_path,
            inventory=inventory,
            env={"TMPDIR": str(own_tmpdir)},
            aurora_ca_bundle_path=str(bundle),
            # The cross-region request reaches the Aurora region, then the accepted peering provisions:
            # each moment brought forward once the playbook waits for it.
            advance=[
                (cross_region("initiating-request"), DURATIONS["peering_initiate"]),
                (cross_region("provisioning"), DURATIONS["peering_provision"]),
                (connected_and_written, ALL_CREATED),
            ],
        )
        assert run.returncode == 0, run.stdout[-3000:]

    # Both ROSA clusters connected and Keycloak's Secret written while the instances were still creating.
    assert seen == {
        "cluster": seen["cluster"],
        "instances": dict.fromkeys(INSTANCES, "creating"),
        "peerings": {"rosa-a": ["active"], "rosa-c": ["active"]},
    }
    rds = [action for service, action in emu.recorded_actions() if service == "rds"]
    assert rds.index("CreateDBInstance") < rds.index("DescribeDBClusters", rds.index("CreateDBCluster"))
    assert db_mutations(emu) == ["CreateDBCluster", "CreateDBInstance", "CreateDBInstance"]
    assert instance_states(emu) == dict.fromkeys(INSTANCES, "available")
    assert peering_states(emu, seeded) == {"rosa-a": ["active"], "rosa-c": ["active"]}
    # The settings are printed once the writer is there, with its endpoint.
    [endpoint] = [c["Endpoint"] for c in emu.client("rds").describe_db_clusters()["DBClusters"]]
    assert f"jdbc:aws-wrapper:postgresql://{endpoint}:5432/keycloak" in run.stdout
    aurora_cidr = emu.client("ec2").describe_vpcs(Filters=[{"Name": "tag:AuroraCluster", "Values": [CLUSTER]}])["Vpcs"][
        0
    ]["CidrBlock"]

    emu.start_recording()
    instances_gone = DURATIONS["instance_delete"] + DURATIONS["cluster_snapshot"] + 1
    deleted = playbook(
        emu,
        "delete.yml",
        tmp_path,
        aurora_delete_peerings=True,
        advance=[
            (deleting(emu), instances_gone),
            # The instances are gone, their interfaces linger: the subnets are refused until they go.
            (lambda: emu.recorded_actions().count(("ec2", "DeleteSubnet")) >= 2, DURATIONS["eni_linger"]),
        ],
    )
    assert deleted.returncode == 0, deleted.stdout[-3000:]
    assert leftovers(emu) == NOTHING_LEFT
    assert peering_states(emu, seeded) == {"rosa-a": ["deleted"], "rosa-c": ["deleted"]}
    for rosa in seeded:
        tables = emu.client("ec2", region=rosa["region"]).describe_route_tables(
            RouteTableIds=rosa["private_route_table_ids"]
        )["RouteTables"]
        assert [r for t in tables for r in t["Routes"] if r.get("DestinationCidrBlock") == aurora_cidr] == []
    mutations = [action for _service, action in emu.mutating_actions()]
    assert mutations.index("DeleteVpcPeeringConnection") < mutations.index("DeleteDBInstance")


def test_a_rerun_while_the_instances_are_creating_adopts_them_and_waits(emu, tmp_path):
    stopped = playbook(emu, "provision.yml", tmp_path, aurora_wait_timeout=1)
    assert stopped.returncode != 0
    message = failure(stopped)
    assert (
        "Timed out after aurora_wait_timeout (wait_timeout) 1s waiting for DB cluster keycloak-aurora and its instances"
    ) in message
    assert f"{INSTANCES[0]} (creating), {INSTANCES[1]} (creating)" in message

    seen = {}

    def waiting_again():
        # aurora_cluster's own look at the instances, then its first poll
        if emu.recorded_actions().count(("rds", "DescribeDBInstances")) < 2:
            return False
        seen.update(instance_states(emu))
        return True

    emu.start_recording()
    again = playbook(emu, "provision.yml", tmp_path, advance=[(waiting_again, ALL_CREATED)])
    assert again.returncode == 0, again.stdout[-3000:]
    assert seen == dict.fromkeys(INSTANCES, "creating"), "the re-run met the instances creating"
    assert db_mutations(emu) == [], "nothing created a second time"
    assert instance_states(emu) == dict.fromkeys(INSTANCES, "available")


def test_a_rerun_while_a_cross_region_peering_is_on_its_way_adopts_it(emu, tmp_path):
    provisioned(emu, tmp_path)
    with emu.instant():
        seeded = [seed_rosa_cluster(emu, "rosa-c", region="eu-central-1", machine_cidr="10.2.0.0/16")]
    inventory = rosa_inventory(tmp_path, {"rosa-c": {"rosa_region": "eu-central-1"}})

    emu.start_recording()
    stopped = playbook(emu, "peering.yml", tmp_path, inventory=inventory, aurora_wait_timeout=1)
    assert stopped.returncode != 0
    assert "Timed out after aurora_wait_timeout (wait_timeout) 1s" in failure(stopped)
    emu.advance(DURATIONS["eventual_consistency"])  # the new peering id, just requested, shows in listings
    assert peering_states(emu, seeded) == {"rosa-c": ["initiating-request"]}

    again = playbook(
        emu,
        "peering.yml",
        tmp_path,
        inventory=inventory,
        advance=[
            (lambda: peering_states(emu, seeded) == {"rosa-c": ["initiating-request"]}, DURATIONS["peering_initiate"]),
            (lambda: peering_states(emu, seeded) == {"rosa-c": ["provisioning"]}, DURATIONS["peering_provision"]),
        ],
    )
    assert again.returncode == 0, again.stdout[-3000:]
    assert peering_states(emu, seeded) == {"rosa-c": ["active"]}
    mutations = [action for _service, action in emu.mutating_actions()]
    assert mutations.count("CreateVpcPeeringConnection") == 1, "the peering on its way was adopted, not requested again"
    assert mutations.count("AcceptVpcPeeringConnection") == 1


# --- delete ------------------------------------------------------------------------------------


def test_a_delete_stopped_while_the_instances_are_deleting_finishes_when_run_again(emu, tmp_path):
    provisioned(emu, tmp_path)
    emu.start_recording()
    stopped = playbook(emu, "delete.yml", tmp_path, aurora_wait_timeout=1)
    assert stopped.returncode != 0
    assert "waiting for DB cluster keycloak-aurora to be deleted: it is deleting" in failure(stopped)
    # DeleteDBCluster as soon as every instance was deleting, not once they were gone.
    assert db_mutations(emu) == ["DeleteDBInstance", "DeleteDBInstance", "DeleteDBCluster"]
    assert instance_states(emu) == dict.fromkeys(INSTANCES, "deleting")

    emu.start_recording()
    again = playbook(emu, "delete.yml", tmp_path, advance=[(requested(emu, "DescribeDBClusters", 3), ALL_DELETED)])
    assert again.returncode == 0, again.stdout[-3000:]
    assert db_mutations(emu) == [], "the deletion under way was adopted, not requested again"
    assert leftovers(emu) == NOTHING_LEFT
    [(snapshot, status)] = final_snapshots(emu)
    assert snapshot.startswith(f"{CLUSTER}-final-") and status == "available"


def test_a_delete_through_lingering_interfaces_names_them_then_finishes_later(emu, tmp_path):
    provisioned(emu, tmp_path)
    instance_gone = DURATIONS["instance_delete"] + DURATIONS["cluster_snapshot"] + 1  # interfaces still linger
    # One budget for the run: enough for the cluster step even on a loaded machine, less than the interfaces linger.
    budget = DURATIONS["eni_linger"] // 2
    stopped = playbook(
        emu, "delete.yml", tmp_path, advance=[(deleting(emu), instance_gone)], aurora_wait_timeout=budget
    )
    assert stopped.returncode != 0
    assert leftovers(emu)["clusters"] == [] and leftovers(emu)["subnet_groups"] == []

    message = failure(stopped)
    interfaces = emu.client("ec2").describe_network_interfaces(
        Filters=[{"Name": "requester-id", "Values": ["amazon-rds"]}]
    )["NetworkInterfaces"]
    assert len(interfaces) == 2
    for interface in interfaces:
        assert f"{interface['NetworkInterfaceId']} (in {interface['SubnetId']})" in message
    assert "only waiting helps. Run the delete again later." in message
    assert "aurora_wait_timeout" in message

    emu.advance(DURATIONS["eni_linger"])
    again = playbook(emu, "delete.yml", tmp_path)
    assert again.returncode == 0, again.stdout[-3000:]
    assert leftovers(emu) == NOTHING_LEFT


def test_every_step_of_a_delete_gets_only_what_is_left_of_the_runs_one_wait_timeout(emu, tmp_path):
    """aurora_run_started (set by the entry check, here given as an extra var) is when aurora_wait_timeout
    began: a run that started 600 s ago with a 600 s budget has nothing left for any step."""
    provisioned(emu, tmp_path)
    spent = {"aurora_wait_timeout": 600, "aurora_run_started": time.time() - 600}
    stopped = playbook(emu, "delete.yml", tmp_path, **spent)
    assert stopped.returncode != 0
    assert failure(stopped).startswith(
        "Timed out after aurora_wait_timeout (wait_timeout) 600s waiting for DB cluster keycloak-aurora to be deleted"
    )
    assert instance_states(emu) == dict.fromkeys(INSTANCES, "deleting"), "what needs no wait was still requested"

    # The cluster is gone and its interfaces linger: the network step, too, has nothing left.
    emu.advance(DURATIONS["instance_delete"] + DURATIONS["cluster_snapshot"] + 1)
    stopped = playbook(emu, "delete.yml", tmp_path, **spent)
    assert stopped.returncode != 0
    assert "only waiting helps. Run the delete again later." in failure(stopped)
    assert leftovers(emu)["clusters"] == []

    emu.advance(DURATIONS["eni_linger"])
    assert playbook(emu, "delete.yml", tmp_path, **spent).returncode == 0
    assert leftovers(emu) == NOTHING_LEFT


def test_the_same_cluster_provisioned_and_deleted_twice(emu, tmp_path):
    provisioned(emu, tmp_path)
    first = playbook(emu, "delete.yml", tmp_path, advance=[(deleting(emu), ALL_DELETED)])
    assert first.returncode == 0, first.stdout[-3000:]
    [(first_snapshot, _status)] = final_snapshots(emu)

    emu.start_recording()
    provisioned(emu, tmp_path)
    secret = emu.client("secretsmanager").describe_secret(SecretId=f"{CLUSTER}-master-password")
    assert "DeletedDate" not in secret
    assert ("secretsmanager", "RestoreSecret") in emu.mutating_actions()
    assert ("secretsmanager", "CreateSecret") not in emu.mutating_actions()

    time.sleep(1)  # final snapshot names carry the second they were taken
    second = playbook(emu, "delete.yml", tmp_path, advance=[(deleting(emu), ALL_DELETED)])
    assert second.returncode == 0, second.stdout[-3000:]
    snapshots = final_snapshots(emu)
    assert len(snapshots) == 2 and first_snapshot in [name for name, _status in snapshots]
    assert all(status == "available" for _name, status in snapshots)
    assert leftovers(emu) == NOTHING_LEFT
