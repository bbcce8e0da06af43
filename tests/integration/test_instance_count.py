"""provision.yml keeps the instance count of an existing cluster unless aurora_instances is given,
and names every instance it removes before removing it (in check mode without removing it)."""

from tools.ansible_run import run_playbook

CLUSTER = "keycloak-aurora"
PREVIEW = "Name the DB instances aurora_instances removes, before they are removed"
CONVERGE = "Create or adopt the Aurora cluster and converge its instances"
REMOVAL = (
    "instances=2 (aurora_instances in the playbooks) removes 1 of the 3 instances of DB cluster "
    f"{CLUSTER}: {CLUSTER}-instance-3"
)


def provision(emulator, check=False, **extra_vars):
    return run_playbook(
        emulator.env(), "provision.yml", extra_vars={"aurora_cluster": CLUSTER, **extra_vars}, check=check
    )


def instances(emulator):
    described = emulator.client("rds").describe_db_instances(Filters=[{"Name": "db-cluster-id", "Values": [CLUSTER]}])[
        "DBInstances"
    ]
    return sorted(i["DBInstanceIdentifier"] for i in described)


def warnings_by_task(run):
    """[(task name without its role, warnings)] in the order the tasks ran."""
    return [
        (
            task["task"]["name"].split(" : ")[-1],
            [w for result in task["hosts"].values() for w in result.get("warnings", [])],
        )
        for play in run.report["plays"]
        for task in play["tasks"]
    ]


def test_a_second_run_without_aurora_instances_keeps_every_instance(emulator, provisioned):
    provisioned(aurora_instances=3)
    three = [f"{CLUSTER}-instance-{n}" for n in (1, 2, 3)]
    assert instances(emulator) == three

    emulator.start_recording()
    run = provision(emulator)
    assert run.returncode == 0, run.stdout
    assert run.changed() == 0
    assert emulator.mutating_actions() == []
    assert instances(emulator) == three
    # nothing to name: the preview runs only for an explicit aurora_instances
    assert all(name != PREVIEW for name, _warnings in warnings_by_task(run) if _warnings)


def test_fewer_instances_are_named_first_and_removed_only_outside_check_mode(emulator, provisioned):
    provisioned(aurora_instances=3)

    emulator.start_recording()
    checked = provision(emulator, check=True, aurora_instances=2)
    assert checked.returncode == 0, checked.stdout
    assert emulator.mutating_actions() == []
    assert instances(emulator) == [f"{CLUSTER}-instance-{n}" for n in (1, 2, 3)]
    assert [name for name, warnings in warnings_by_task(checked) if REMOVAL in warnings] == [CONVERGE]

    run = provision(emulator, aurora_instances=2)
    assert run.returncode == 0, run.stdout
    assert instances(emulator) == [f"{CLUSTER}-instance-1", f"{CLUSTER}-instance-2"]
    # named by the task before the one that removes it
    named = [name for name, warnings in warnings_by_task(run) if REMOVAL in warnings]
    assert named[0] == PREVIEW
    tasks = [name for name, _warnings in warnings_by_task(run)]
    assert tasks.index(PREVIEW) < tasks.index(CONVERGE)
