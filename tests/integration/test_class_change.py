"""A new aurora_instance_class, one instance at a time, against the emulator's AWS time mode
(tools/emulator/aws_time.py): the cluster keeps an available writer throughout.

The cluster is seeded in the emulator's instant mode (provision.yml, all available at once); the
class change then takes AWS's time, scaled down to seconds: each instance is `modifying`, then
`rebooting`, and a failover keeps the cluster `failing-over` before the writer moves. The clock is
not advanced during the change: a sampler thread, polling the emulator every few hundredths of a
second, must be able to see every moment of it.
"""

import threading
import time

from tools.ansible_run import run_playbook
from tools.emulator.harness import request_parameters

CLUSTER = "keycloak-aurora"
FIRST, SECOND = f"{CLUSTER}-instance-1", f"{CLUSTER}-instance-2"
OLD_CLASS = "db.t4g.large"  # the collection's default (rds_cluster.DEFAULT_INSTANCE_CLASS)
NEW_CLASS = "db.r6g.xlarge"
DURATIONS = {
    "cluster_create": 2,
    "instance_create": 2,
    "instance_modify": 1.5,
    "instance_restart": 0.5,
    "cluster_failover": 1,
    "instance_delete": 2,
    "cluster_delete": 1,
    "cluster_snapshot": 1,
    "eni_linger": 2,
    "peering_initiate": 1,
    "peering_provision": 1,
    "eventual_consistency": 0.5,
}
POLL_DELAY = "0.2"
SAMPLE_EVERY = 0.03


def provision(emu, **extra_vars):
    return run_playbook(
        emu.env(),
        "provision.yml",
        extra_vars={"aurora_cluster": CLUSTER, **extra_vars},
        env={"KEYCLOAK_AURORA_POLL_DELAY": POLL_DELAY},
        timeout=300,
    )


def seeded(emu, instances):
    """A provisioned cluster of ``instances`` instances of OLD_CLASS, all available, made without transitions."""
    with emu.instant():
        run = provision(emu, aurora_instances=instances)
    assert run.returncode == 0, run.stdout[-3000:]
    assert members(emu) == {f"{CLUSTER}-instance-{n}": ("available", OLD_CLASS) for n in range(1, instances + 1)}


def members(emu):
    """{instance: (status, class)}."""
    instances = emu.client("rds").describe_db_instances()["DBInstances"]
    return {i["DBInstanceIdentifier"]: (i["DBInstanceStatus"], i["DBInstanceClass"]) for i in instances}


def writers(rds):
    [cluster] = rds.describe_db_clusters(DBClusterIdentifier=CLUSTER)["DBClusters"]
    return cluster["Status"], [m["DBInstanceIdentifier"] for m in cluster["DBClusterMembers"] if m["IsClusterWriter"]]


class Sampler(threading.Thread):
    """Polls the cluster until stopped; each sample: (cluster status, writers, {instance: status}).

    The instances are read between two reads of the cluster; a sample counts only when the writer is
    the same in both, so the writer's status in it is the writer's at that moment, not the status of
    an instance that stopped (or started) being the writer in between.
    """

    def __init__(self, emu):
        super().__init__(daemon=True)
        self.rds = emu.client("rds")
        self.samples = []
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.is_set():
            status, before = writers(self.rds)
            instances = self.rds.describe_db_instances()["DBInstances"]
            _status, after = writers(self.rds)
            if before == after:
                states = {i["DBInstanceIdentifier"]: i["DBInstanceStatus"] for i in instances}
                self.samples.append((status, before, states))
            time.sleep(SAMPLE_EVERY)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        self.join(timeout=30)


def class_changes(emu):
    """The mutating RDS requests, in order, each with the instance it names."""
    changes = []
    for entry in emu.recorded_requests():
        parameters = request_parameters(entry)
        action = parameters.get("Action", [None])[0]
        if action in ("ModifyDBInstance", "FailoverDBCluster"):
            named = parameters.get("DBInstanceIdentifier") or parameters.get("TargetDBInstanceIdentifier")
            changes.append((action, named[0]))
    return changes


def cluster_plan(run):
    """The ``plan`` aurora_cluster returned to the task that converges the cluster, in provision's first
    pass (the one that requests; its wait pass, later, takes the steps left)."""
    [plan, *_wait_pass] = [
        result["plan"]
        for play in run.report["plays"]
        for task in play["tasks"]
        if task["task"]["name"].endswith("Create or adopt the Aurora cluster and converge its instances")
        for result in task["hosts"].values()
    ]
    return plan


def warnings_of(run):
    return [
        w
        for play in run.report["plays"]
        for t in play["tasks"]
        for r in t["hosts"].values()
        for w in r.get("warnings", [])
    ]


def test_a_new_class_changes_the_reader_then_fails_over_then_the_old_writer_and_a_writer_is_always_available(emu):
    seeded(emu, 2)

    emu.start_recording()
    with Sampler(emu) as sampler:
        run = provision(emu, aurora_instance_class=NEW_CLASS)
    assert run.returncode == 0, run.stdout[-3000:]

    samples = sampler.samples
    without_writer = [s for s in samples if len(s[1]) != 1 or s[2].get(s[1][0]) != "available"]
    assert without_writer == [], f"moments without an available writer: {without_writer[:5]}"
    # The sampler saw the change itself, not only before and after it.
    seen = {(status, tuple(writer), tuple(sorted(states.items()))) for status, writer, states in samples}
    assert any(states == ((FIRST, "available"), (SECOND, "modifying")) for _s, _w, states in seen)
    assert any(status == "failing-over" for status, _w, _states in seen)
    assert any(writer == (SECOND,) and dict(states)[FIRST] == "modifying" for _s, writer, states in seen)

    plan = cluster_plan(run)
    assert (plan["change_class"], plan["failover_to"]) == ([SECOND, FIRST], SECOND)
    assert class_changes(emu) == [
        ("ModifyDBInstance", SECOND),
        ("FailoverDBCluster", SECOND),
        ("ModifyDBInstance", FIRST),
    ]
    assert members(emu) == {FIRST: ("available", NEW_CLASS), SECOND: ("available", NEW_CLASS)}
    assert writers(emu.client("rds")) == ("available", [SECOND])
    assert not [w for w in warnings_of(run) if "restarts the writer" in w]


def test_a_lone_writer_is_changed_with_a_warning_that_keycloak_loses_its_database(emu):
    seeded(emu, 1)

    run = provision(emu, aurora_instance_class=NEW_CLASS)
    assert run.returncode == 0, run.stdout[-3000:]
    [warning] = [w for w in warnings_of(run) if "restarts the writer" in w]
    assert FIRST in warning and "Keycloak loses its database" in warning
    assert members(emu) == {FIRST: ("available", NEW_CLASS)}
