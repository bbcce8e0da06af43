"""Every role variable, given a bad value, is refused with a message that names it and what is allowed,
before any AWS request.

One ansible-playbook run per role entry point: each bad value is an inventory host of its own, so the
role validates every case in the same run, and each host's failure is read from the json callback.
"""

import json

import pytest

from tools.ansible_run import rosa_inventory
from tools.ansible_run import run_playbook

CLUSTER = "keycloak-aurora"
MISSING = object()
BASE = {"aurora_cluster": CLUSTER, "aurora_region": "eu-west-1"}

# What aurora_peering needs to find the ROSA VPC: all that its entry point facts checks, part of what main checks.
FINDING_THE_ROSA_VPC = [
    ("aurora_region", "eu-nowhere-1", "aurora_region 'eu-nowhere-1' is not an AWS region"),
    ("rosa_cluster_name", "Rosa_A", "rosa_cluster_name must be a ROSA cluster name: 1 to 54 lowercase letters"),
    ("rosa_region", "eu-nowhere-1", "rosa_region 'eu-nowhere-1' is not an AWS region"),
    ("rosa_vpc_id", "vpc-xyz", "rosa_vpc_id must be a VPC id such as vpc-0123456789abcdef0"),
    ("rosa_machine_cidr", "10.0.0.0/40", "rosa_machine_cidr"),
    ("rosa_node_names", {"node": 1}, "rosa_node_names"),
    ("rosa_kubeconfig", "/nonexistent/kubeconfig", "rosa_kubeconfig '/nonexistent/kubeconfig' is not a file"),
]
# (role, entry point) -> [(variable, bad value or MISSING, what the message must say)]
CASES = {
    ("aurora_create", "main"): [
        ("aurora_cluster", MISSING, "missing required arguments: aurora_cluster"),
        ("aurora_cluster", "Bad--name-", "aurora_cluster 'Bad--name-' is not allowed: use 1 to 63 letters"),
        ("aurora_cluster", "KeycloakAurora", "aurora_cluster 'KeycloakAurora' has capital letters, which RDS turns"),
        ("aurora_region", "mars-north-1", "aurora_region 'mars-north-1' is not an AWS region (for example"),
        ("aurora_instances", 17, "aurora_instances must be a whole number between 1 and 16, not 17"),
        ("aurora_instances", [2], "aurora_instances"),
        ("aurora_instance_class", "t4g.large", "aurora_instance_class must be an RDS instance class such as db."),
        ("aurora_engine_version", "latest", "aurora_engine_version must be an aurora-postgresql version such as"),
        ("aurora_availability_zones", 1, "aurora_availability_zones must be a whole number between 2 and 6"),
        ("aurora_vpc_cidr", "10.0.0.0/33", "aurora_vpc_cidr"),
        ("aurora_cidr_pool", "8.0.0.0/8", "aurora_cidr_pool '8.0.0.0/8' is not inside the private ranges"),
        ("aurora_database_name", "key-cloak", "aurora_database_name must be 1 to 63 letters, digits or underscores"),
        ("aurora_master_username", "rdsadmin", "aurora_master_username 'rdsadmin' is reserved"),
        ("aurora_master_password", "short", "aurora_master_password must be 8 to 128 characters long"),
        ("aurora_snapshot_identifier", "snap--1", "aurora_snapshot_identifier 'snap--1' is not allowed: use 1 to 63"),
        ("aurora_deletion_protection", "maybe", "aurora_deletion_protection"),
        ("aurora_tags", ["team"], "aurora_tags"),
        ("aurora_tags", {"AuroraCluster": "other"}, "aurora_tags may not set AuroraCluster"),
        ("aurora_wait_timeout", 0, "aurora_wait_timeout must be a positive number of seconds, not 0"),
    ],
    ("aurora_peering", "main"): [
        ("aurora_peering_state", "gone", "aurora_peering_state"),
        ("aurora_cluster", "", "aurora_cluster must be set"),
        *FINDING_THE_ROSA_VPC,
        ("aurora_tags", {"aws:owner": "me"}, "aurora_tags: 'aws:owner' is not a tag name: use 1 to 128 characters"),
        ("aurora_wait_timeout", "soon", "aurora_wait_timeout"),
    ],
    # Finding the ROSA VPC checks only its own input (it needs no Aurora cluster).
    ("aurora_peering", "facts"): FINDING_THE_ROSA_VPC,
    ("aurora_delete", "main"): [
        ("aurora_cluster", MISSING, "missing required arguments: aurora_cluster"),
        ("aurora_cluster", "-leading", "aurora_cluster '-leading' is not allowed: use 1 to 63 letters"),
        ("aurora_region", "mars-north-1", "aurora_region 'mars-north-1' is not an AWS region"),
        ("aurora_delete_peerings", "maybe", "aurora_delete_peerings"),
        ("aurora_skip_final_snapshot", [True], "aurora_skip_final_snapshot"),
        ("aurora_wait_timeout", -5, "aurora_wait_timeout must be a positive number of seconds, not -5"),
    ],
    ("aurora_keycloak", "main"): [
        ("aurora_cluster", MISSING, "missing required arguments: aurora_cluster"),
        ("keycloak_namespace", "Keycloak", "keycloak_namespace must be a Kubernetes namespace name: 1 to 63"),
        ("aurora_ca_bundle_url", "http://example.com/b.pem", "aurora_ca_bundle_url must be an https:// URL"),
        ("aurora_ca_bundle_path", "/nonexistent/bundle.pem", "aurora_ca_bundle_path '/nonexistent/bundle.pem' is not"),
        ("rosa_kubeconfig", "/nonexistent/kubeconfig", "rosa_kubeconfig '/nonexistent/kubeconfig' is not a file"),
        ("rosa_cluster_name", "-x", "rosa_cluster_name must be a ROSA cluster name"),
        ("aurora_master_password", "with space", "aurora_master_password may hold printable ASCII except"),
    ],
    ("aurora_keycloak", "verify"): [
        ("aurora_job_timeout", 0, "aurora_job_timeout must be a positive number of seconds, not 0"),
        ("aurora_check_image", "postgres 17", "aurora_check_image must be a container image reference such as"),
        ("aurora_region", "mars-north-1", "aurora_region 'mars-north-1' is not an AWS region"),
    ],
    ("aurora_keycloak", "reset"): [
        ("aurora_reset_confirm", "", "To go ahead, run again with -e aurora_reset_confirm=keycloak-aurora"),
        ("aurora_reset_confirm", "keycloak-other", "run again with -e aurora_reset_confirm=keycloak-aurora"),
    ],
}


def case_id(variable, value):
    return f"{variable}={'(missing)' if value is MISSING else json.dumps(value)}"


def write_run(tmp_path, role, entry_point, cases, kubeconfig):
    hosts = {}
    for number, (variable, value, _message) in enumerate(cases):
        host_vars = {**BASE, "rosa_kubeconfig": str(kubeconfig)} if role == "aurora_keycloak" else dict(BASE)
        if value is MISSING:
            host_vars.pop(variable)
        else:
            host_vars[variable] = value
        hosts[f"case-{number}"] = host_vars
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({"all": {"hosts": hosts, "vars": {"ansible_connection": "local"}}}))
    playbook = tmp_path / "bad_input.yml"
    task = {
        "name": "Run the role",
        "ansible.builtin.include_role": {"name": f"keycloak.aurora.{role}", "tasks_from": entry_point},
    }
    play = {
        "name": "Bad input",
        "hosts": "all",
        "gather_facts": False,
        "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
        "tasks": [task],
    }
    playbook.write_text(json.dumps([play]))
    return playbook, inventory


def failures(report):
    """{host: message} of every failed task result in the json callback's report."""
    found = {}
    for play in report["plays"]:
        for task in play["tasks"]:
            for host, result in task["hosts"].items():
                if result.get("failed"):
                    found.setdefault(host, result.get("msg", ""))
    return found


@pytest.mark.parametrize(("role", "entry_point"), list(CASES), ids=[f"{r}-{e}" for r, e in CASES])
def test_every_bad_value_is_refused_by_name_before_any_request(emulator, tmp_path, role, entry_point):
    cases = CASES[(role, entry_point)]
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n")
    playbook, inventory = write_run(tmp_path, role, entry_point, cases, kubeconfig)
    emulator.start_recording()

    run = run_playbook(emulator.env(), playbook, inventory=inventory, args=["-f", "10"])

    assert run.returncode != 0
    failed = failures(run.report)
    for number, (variable, value, message) in enumerate(cases):
        host = f"case-{number}"
        assert host in failed, f"{case_id(variable, value)} was accepted"
        assert variable in failed[host] and message in failed[host], (case_id(variable, value), failed[host])
    assert emulator.recorded_actions() == []


def test_an_entry_point_refuses_only_the_variables_it_reads(emulator, tmp_path):
    # Finding the cluster reads aurora_cluster and aurora_region: bad values of the others pass it, and the run
    # gets as far as the missing cluster.
    unread = {"aurora_job_timeout": 0, "keycloak_namespace": "Keycloak", "aurora_ca_bundle_path": "/nonexistent"}
    cases = [(variable, value, "") for variable, value in unread.items()]
    playbook, inventory = write_run(tmp_path, "aurora_keycloak", "database", cases, tmp_path)

    run = run_playbook(emulator.env(), playbook, inventory=inventory)

    assert run.returncode != 0
    assert set(failures(run.report).values()) == {
        f"There is no Aurora cluster {CLUSTER} in eu-west-1: provision it first (playbooks/provision.yml)."
    }


def test_one_rosa_clusters_bad_input_stops_provision_before_aurora_is_created(emulator, rosa, tmp_path):
    rosa("rosa-a", machine_cidr="10.0.0.0/16")
    inv = rosa_inventory(tmp_path, {"rosa-a": {}, "rosa-b": {"rosa_vpc_id": "vpc-xyz"}})
    emulator.start_recording()

    run = run_playbook(emulator.env(), "provision.yml", extra_vars={"aurora_cluster": CLUSTER}, inventory=inv)

    assert run.returncode != 0
    assert "rosa_vpc_id must be a VPC id" in failures(run.report)["rosa-b"]
    assert emulator.mutating_actions() == []


def test_an_explicit_aurora_vpc_cidr_overlapping_a_rosa_cluster_is_refused_before_any_change(emulator, rosa, tmp_path):
    rosa("rosa-a", machine_cidr="10.0.0.0/16")
    inv = rosa_inventory(tmp_path, {"rosa-a": {}})
    emulator.start_recording()

    run = run_playbook(
        emulator.env(),
        "provision.yml",
        extra_vars={"aurora_cluster": CLUSTER, "aurora_vpc_cidr": "10.0.8.0/24"},
        inventory=inv,
    )

    assert run.returncode != 0
    assert "aurora_vpc_cidr 10.0.8.0/24 overlaps the machine CIDR 10.0.0.0/16" in failures(run.report)["localhost"]
    assert emulator.mutating_actions() == []


def test_a_rosa_cluster_that_cannot_be_found_is_named_by_the_variables_the_user_sets(emulator, tmp_path):
    inv = rosa_inventory(tmp_path, {"rosa-gone": {}, "rosa-b": {"rosa_vpc_id": "vpc-0123456789abcdef0"}})
    emulator.start_recording()

    run = run_playbook(emulator.env(), "provision.yml", extra_vars={"aurora_cluster": CLUSTER}, inventory=inv)

    assert run.returncode != 0
    failed = failures(run.report)
    assert failed["rosa-gone"].endswith(
        "Check rosa_cluster_name (cluster_name), rosa_node_names (node_names) and rosa_region (region), "
        "or set rosa_vpc_id (vpc_id)."
    )
    assert "rosa_vpc_id (vpc_id) vpc-0123456789abcdef0 does not exist in region eu-west-1" in failed["rosa-b"]
    assert emulator.mutating_actions() == []


def test_an_adopted_clusters_engine_version_and_vpc_cidr_are_named_as_the_user_sets_them(emulator):
    ec2 = emulator.client("ec2")
    tags = [{"ResourceType": "vpc", "Tags": [{"Key": "AuroraCluster", "Value": CLUSTER}]}]
    ec2.create_vpc(CidrBlock="192.168.5.0/24", TagSpecifications=tags)

    run = run_playbook(
        emulator.env(),
        "provision.yml",
        extra_vars={"aurora_cluster": CLUSTER, "aurora_vpc_cidr": "192.168.9.0/24"},
        inventory=None,
    )

    assert run.returncode != 0
    assert "has the CIDR block 192.168.5.0/24, not aurora_vpc_cidr (vpc_cidr) 192.168.9.0/24" in failures(
        run.report
    ).get("localhost", "")

    emulator.reset()
    emulator.client("rds").create_db_cluster(
        DBClusterIdentifier=CLUSTER,
        Engine="aurora-postgresql",
        EngineVersion="17.5",
        MasterUsername="keycloak",
        MasterUserPassword="Hand-made-Passw0rd",
        DatabaseName="keycloak",
    )

    run = run_playbook(
        emulator.env(), "provision.yml", extra_vars={"aurora_cluster": CLUSTER, "aurora_engine_version": "16.6"}
    )

    assert run.returncode != 0
    said = failures(run.report).get("localhost", "")
    assert "runs engine version 17.5, not aurora_engine_version (engine_version) 16.6;" in said
    assert "drop aurora_engine_version to adopt it as it is" in said
