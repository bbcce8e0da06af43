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
from tools.ansible_run import start_playbook

CLUSTER = "keycloak-aurora"
INSTANCES = [f"{CLUSTER}-instance-1", f"{CLUSTER}-instance-2"]
DURATIONS = {
    "cluster_create": 20,
    "instance_create": 40,
    "instance_modify": 20,
    "instance_restart": 5,
    "instance_delete": 20,
    "cluster_delete": 10,
    "cluster_snapshot": 10,
    "eni_linger": 40,
    "peering_initiate": 10,
    "peering_provision": 5,
    "eventual_consistency": 1,
}
# Past every transition a provision or a delete starts (instances wait for their cluster; a cluster
# being deleted waits for its members and its final snapshot; interfaces linger after their instance).
ALL_CREATED = DURATIONS["cluster_create"] + DURATIONS["instance_create"] + 1
ALL_DELETED = DURATIONS["instance_delete"] + DURATIONS["cluster_snapshot"] + DURATIONS["eni_linger"] + 1
POLL_DELAY = "0.2"
PLAYBOOK_TIMEOUT = 300


def playbook(emu, name, tmp_path, *, advance=(), **extra_vars):
    """Run playbooks/<name> for CLUSTER; ``advance``: [(ready, seconds)], in turn: once ``ready()`` says
    the playbook waits, move the emulator's clock ``seconds`` forward."""
    output = tmp_path / f"{name}-{time.monotonic_ns()}.json"
    with open(output, "w") as out:
        process = start_playbook(
            emu.env(),
            name,
            output=out,
            extra_vars={"aurora_cluster": CLUSTER, **extra_vars},
            env={"KEYCLOAK_AURORA_POLL_DELAY": POLL_DELAY},
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
        "interfaces": [i["NetworkInterfaceId"] for i in ec2.describe_network_interfaces()["NetworkInterfaces"]],
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
    stopped = playbook(emu, "delete.yml", tmp_path, advance=[(deleting(emu), instance_gone)], aurora_wait_timeout=8)
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
