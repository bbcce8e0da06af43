"""What every playbook checks before its first AWS request, and what it takes from the environment.

The region of an AWS profile, names that look like the collection's variables but are not, a missing
required variable, a forgotten or misnamed inventory group, and unpeering more than one ROSA cluster
(or from every Aurora cluster) without a confirmation.
"""

import time

import pytest
import yaml

from tools.ansible_run import rosa_inventory
from tools.ansible_run import run_playbook

CLUSTER = "keycloak-aurora"


def profile_env(emulator, tmp_path, region):
    """The emulator's environment as a user with only AWS_PROFILE exported has it: no AWS_REGION, no
    AWS_DEFAULT_REGION, no access keys (amazon.aws refuses a profile and keys together); the profile
    names the region and holds the credentials."""
    config = tmp_path / "aws-config"
    config.write_text(
        f"[profile site]\nregion = {region}\naws_access_key_id = testing\naws_secret_access_key = testing\n"
    )
    dropped = ("_REGION", "_ACCESS_KEY_ID", "_SECRET_ACCESS_KEY")
    env = {k: v for k, v in emulator.env().items() if not k.endswith(dropped)}
    env.update(
        AWS_PROFILE="site",
        AWS_CONFIG_FILE=str(config),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "aws-credentials"),
    )
    return env


def messages(run):
    """Every msg and warning of every task and host, failed or not."""
    return " ".join(
        f"{result.get('msg', '')} {' '.join(result.get('warnings', []))}"
        for play in run.report["plays"]
        for task in play["tasks"]
        for result in task["hosts"].values()
    )


def test_endpoint_takes_the_region_of_the_aws_profile(emulator, tmp_path):
    # Not the emulator's default region, so that only the profile can have named it.
    emulator.client("rds", region="eu-central-1").create_db_cluster(
        DBClusterIdentifier=CLUSTER,
        Engine="aurora-postgresql",
        EngineVersion="17.5",
        MasterUsername="keycloak",
        MasterUserPassword="Hand-made-Passw0rd",
        DatabaseName="keycloak",
    )

    run = run_playbook(
        profile_env(emulator, tmp_path, "eu-central-1"), "endpoint.yml", extra_vars={"aurora_cluster": CLUSTER}
    )

    assert run.returncode == 0, messages(run)
    assert f"{CLUSTER}.cluster-" in messages(run) and ".eu-central-1.rds.amazonaws.com" in messages(run)


def failures(run):
    return [
        result.get("msg", "")
        for play in run.report["plays"]
        for task in play["tasks"]
        for result in task["hosts"].values()
        if result.get("failed")
    ]


def test_a_typo_is_named_with_the_variable_it_was_meant_to_be(emulator, rosa, tmp_path):
    rosa("rosa-a", machine_cidr="10.0.0.0/16")
    inv = rosa_inventory(tmp_path, {"rosa-a": {"rosa_vpc_idd": "vpc-0123456789abcdef0"}})

    run = run_playbook(
        emulator.env(),
        "provision.yml",
        extra_vars={"aurora_cluster": CLUSTER, "aurora_instance": 3, "Aurora_Instance_Class": "db.r6g.large"},
        inventory=inv,
        check=True,
    )

    assert run.returncode == 0, failures(run)
    said = messages(run)
    assert "aurora_instance is not a variable of keycloak.aurora: did you mean aurora_instances?" in said
    assert "Aurora_Instance_Class is not a variable of keycloak.aurora: did you mean aurora_instance_class?" in said
    assert "rosa_vpc_idd (set for rosa-a) is not a variable of keycloak.aurora: did you mean rosa_vpc_id?" in said


def test_strict_vars_refuse_a_typo_before_any_request(emulator, rosa, tmp_path):
    rosa("rosa-a", machine_cidr="10.0.0.0/16")
    inv = rosa_inventory(tmp_path, {"rosa-a": {}})
    emulator.start_recording()

    run = run_playbook(
        emulator.env(),
        "provision.yml",
        extra_vars={"aurora_cluster": CLUSTER, "aurora_instance_clas": "db.r6g.large", "aurora_strict_vars": "true"},
        inventory=inv,
    )

    assert run.returncode != 0
    assert failures(run) == [
        "aurora_instance_clas is not a variable of keycloak.aurora: did you mean aurora_instance_class?; "
        "aurora_strict_vars is true: unknown variables are refused"
    ]
    assert emulator.recorded_actions() == []


def test_a_missing_aurora_cluster_is_refused_in_one_line_before_any_request(emulator, rosa, tmp_path):
    rosa("rosa-a", machine_cidr="10.0.0.0/16")
    inv = rosa_inventory(tmp_path, {"rosa-a": {}})
    emulator.start_recording()

    run = run_playbook(emulator.env(), "provision.yml", inventory=inv)

    assert run.returncode != 0
    assert failures(run) == [
        "aurora_cluster is not set: playbooks/provision.yml needs it, pass -e aurora_cluster=keycloak-aurora"
    ]
    assert emulator.recorded_actions() == []


HOW = (
    "pass an inventory with -i <file> that lists one host per ROSA cluster in the group rosa_clusters "
    "(example: playbooks/inventory/rosa_clusters.example.yml)."
)


@pytest.mark.parametrize(
    "playbook", ["peering", "unpeer", "keycloak_config", "verify_connection", "reset_database", "verify"]
)
def test_a_playbook_on_rosa_clusters_without_an_inventory_fails_plainly(emulator, playbook):
    emulator.start_recording()

    run = run_playbook(emulator.env(), f"{playbook}.yml", extra_vars={"aurora_cluster": CLUSTER})

    assert run.returncode != 0
    assert failures(run) == [
        f"playbooks/{playbook}.yml works on the ROSA clusters of the inventory group rosa_clusters, and the inventory "
        f"has no hosts (was -i forgotten?): {HOW}"
    ]
    assert emulator.recorded_actions() == []


def test_a_misnamed_group_is_named(emulator, tmp_path):
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"rosa-clusters": {"hosts": {"rosa-a": {}, "rosa-b": {}}}}))
    emulator.start_recording()

    run = run_playbook(emulator.env(), "peering.yml", extra_vars={"aurora_cluster": CLUSTER}, inventory=inventory)

    assert run.returncode != 0
    assert failures(run) == [
        "playbooks/peering.yml works on the ROSA clusters of the inventory group rosa_clusters, and the inventory has "
        "the hosts rosa-a, rosa-b in the groups rosa-clusters (is rosa-clusters meant to be rosa_clusters?), but none "
        f"in rosa_clusters: {HOW}"
    ]
    assert emulator.recorded_actions() == []


def test_provision_without_rosa_clusters_creates_only_aurora_and_says_so(emulator):
    run = run_playbook(emulator.env(), "provision.yml", extra_vars={"aurora_cluster": CLUSTER}, check=True)

    assert run.returncode == 0, failures(run)
    assert (
        "No ROSA cluster to connect: the inventory has no hosts (was -i forgotten?). Only the Aurora cluster is "
        "created; to connect ROSA clusters, run playbooks/peering.yml later and pass an inventory" in messages(run)
    )
    assert run.stats("localhost")["changed"] > 0


@pytest.mark.parametrize("playbook", ["delete", "endpoint"])
def test_a_localhost_playbook_without_an_inventory_warns_about_none(emulator, playbook):
    run = run_playbook(emulator.env(), f"{playbook}.yml", extra_vars={"aurora_cluster": CLUSTER})

    assert "No inventory was parsed" not in run.stderr + run.stdout
    assert "provided hosts list is empty" not in run.stderr + run.stdout
    assert "[WARNING]" not in run.stderr


def live_peerings(emulator):
    found = emulator.client("ec2").describe_vpc_peering_connections()["VpcPeeringConnections"]
    return sorted(p["VpcPeeringConnectionId"] for p in found if p["Status"]["Code"] == "active")


def test_unpeering_more_than_one_rosa_cluster_or_from_every_aurora_cluster_needs_a_yes(emulator, rosa, tmp_path):
    rosa("rosa-a", machine_cidr="10.0.0.0/16")
    rosa("rosa-b", machine_cidr="10.1.0.0/16")
    inv = rosa_inventory(tmp_path, {"rosa-a": {}, "rosa-b": {}})
    provisioned = run_playbook(
        emulator.env(), "provision.yml", extra_vars={"aurora_cluster": CLUSTER, "aurora_instances": 1}, inventory=inv
    )
    assert provisioned.returncode == 0, failures(provisioned)
    first, second = live_peerings(emulator)
    emulator.start_recording()

    both = run_playbook(emulator.env(), "unpeer.yml", extra_vars={"aurora_cluster": CLUSTER}, inventory=inv)
    every = run_playbook(emulator.env(), "unpeer.yml", inventory=inv, args=["--limit", "rosa-a"])

    assert both.returncode != 0 and every.returncode != 0
    [refused_both] = failures(both)
    assert refused_both.startswith(
        f"playbooks/unpeer.yml would disconnect 2 ROSA clusters from the Aurora cluster {CLUSTER}, and Keycloak there "
        "would lose its database: rosa-a (pcx-"
    )
    assert f"to {CLUSTER}); rosa-b (pcx-" in refused_both and first in refused_both and second in refused_both
    assert refused_both.endswith(
        f"Nothing was changed. To go ahead, run again with -e aurora_unpeer_confirm={CLUSTER}; "
        "to disconnect one ROSA cluster only, add --limit <host>."
    )
    [refused_every] = failures(every)
    assert refused_every.startswith(
        "playbooks/unpeer.yml would disconnect 1 ROSA cluster from every Aurora cluster of aurora_region, and "
        "Keycloak there would lose its database: rosa-a (pcx-"
    )
    assert "run again with -e aurora_unpeer_confirm=every-aurora-cluster" in refused_every
    assert emulator.mutating_actions() == []
    assert live_peerings(emulator) == [first, second]

    confirmed = run_playbook(
        emulator.env(),
        "unpeer.yml",
        extra_vars={"aurora_cluster": CLUSTER, "aurora_unpeer_confirm": CLUSTER},
        inventory=inv,
    )

    assert confirmed.returncode == 0, failures(confirmed)
    assert live_peerings(emulator) == []


def test_a_capital_letter_in_aurora_cluster_is_refused_before_any_request(emulator, rosa, tmp_path):
    rosa("rosa-a", machine_cidr="10.0.0.0/16")
    inv = rosa_inventory(tmp_path, {"rosa-a": {}})
    emulator.start_recording()

    run = run_playbook(emulator.env(), "provision.yml", extra_vars={"aurora_cluster": "Keycloak-Aurora"}, inventory=inv)

    assert run.returncode != 0
    assert failures(run) == [
        "aurora_cluster 'Keycloak-Aurora' has capital letters, which RDS turns into lower case: use 'keycloak-aurora'"
    ]
    assert emulator.recorded_actions() == []


def test_aurora_cluster_may_come_with_the_group_of_the_rosa_clusters(emulator, tmp_path):
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(
        yaml.safe_dump({"rosa_clusters": {"vars": {"aurora_cluster": CLUSTER}, "hosts": {"rosa-a": {}}}})
    )

    run = run_playbook(emulator.env(), "peering.yml", inventory=inventory)

    # Past the entry check, the role looks for the Aurora cluster, which does not exist.
    assert run.returncode != 0
    assert [f for f in failures(run) if "has no VPC tagged AuroraCluster=keycloak-aurora" in f], failures(run)


def test_the_entry_check_runs_under_a_limit_that_leaves_localhost_out(emulator, tmp_path):
    inv = rosa_inventory(tmp_path, {"rosa-a": {}, "rosa-b": {}})
    emulator.start_recording()

    run = run_playbook(
        emulator.env(),
        "unpeer.yml",
        extra_vars={"aurora_clustr": CLUSTER, "aurora_strict_vars": True},
        inventory=inv,
        args=["--limit", "rosa-a"],
    )

    assert run.returncode != 0
    assert failures(run) == [
        "aurora_clustr is not a variable of keycloak.aurora: did you mean aurora_cluster?; "
        "aurora_strict_vars is true: unknown variables are refused"
    ]
    assert emulator.recorded_actions() == []


def test_a_required_variable_given_as_vars_of_an_imported_playbook_is_found(emulator, tmp_path):
    # As molecule's destroy and site playbooks pass it: play variables, in no hostvars.
    site = tmp_path / "site.yml"
    site.write_text(
        yaml.safe_dump(
            [
                {
                    "name": "Delete through the collection's playbook",
                    "ansible.builtin.import_playbook": "keycloak.aurora.delete",
                    "vars": {"aurora_cluster": "{{ 'imported-' ~ 'aurora' }}"},
                }
            ]
        )
    )
    run = run_playbook(emulator.env(), str(site))
    assert run.returncode == 0, run.stdout
    assert "is not set" not in messages(run)
    assert "imported-aurora" in run.stdout  # the role got the templated value: nothing of it to delete


def test_provision_starts_the_one_wait_timeout_of_the_run_on_every_host(emulator, rosa, tmp_path):
    rosa("rosa-a", machine_cidr="10.0.0.0/16")
    rosa("rosa-b", machine_cidr="10.1.0.0/16")
    inv = rosa_inventory(tmp_path, {"rosa-a": {}, "rosa-b": {}})
    site = tmp_path / "site.yml"
    site.write_text(
        yaml.safe_dump(
            [
                {"name": "Provision", "ansible.builtin.import_playbook": "keycloak.aurora.provision"},
                {
                    "name": "A later play",
                    "hosts": "localhost,rosa_clusters",
                    "gather_facts": False,
                    "tasks": [{"ansible.builtin.debug": {"var": "aurora_run_started"}}],
                },
            ]
        )
    )
    before = time.time()
    # Check mode: nothing is created, every play runs.
    run = run_playbook(emulator.env(), str(site), extra_vars={"aurora_cluster": CLUSTER}, inventory=inv, check=True)
    assert run.returncode == 0, run.stdout
    [shown] = [task["hosts"] for task in run.report["plays"][-1]["tasks"]]
    started = {host: result["aurora_run_started"] for host, result in shown.items()}
    assert set(started) == {"localhost", "rosa-a", "rosa-b"}
    assert len(set(started.values())) == 1, "one start for the whole run, set once"
    assert before <= float(started["localhost"]) <= time.time()


def test_a_role_used_on_its_own_starts_the_clock_of_its_steps_itself(emulator, tmp_path):
    site = tmp_path / "own.yml"
    site.write_text(
        yaml.safe_dump(
            [
                {
                    "name": "A playbook of the user's own, without the entry check",
                    "hosts": "localhost",
                    "gather_facts": False,
                    "roles": [{"role": "keycloak.aurora.aurora_delete", "aurora_cluster": CLUSTER}],
                    "post_tasks": [{"ansible.builtin.debug": {"var": "aurora_run_started"}}],
                }
            ]
        )
    )
    before = time.time()
    run = run_playbook(emulator.env(), str(site))
    assert run.returncode == 0, run.stdout
    [shown] = [
        task["hosts"]["localhost"]
        for task in run.report["plays"][0]["tasks"]
        if "aurora_run_started" in task["hosts"]["localhost"]
    ]
    assert before <= float(shown["aurora_run_started"]) <= time.time()
