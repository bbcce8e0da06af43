"""provision.yml and delete.yml run the way AWX / Ansible Automation Platform runs a job template.

AWX hands every job to ansible-runner as a private data directory:

    project/            the project (this repository: playbooks/ and ansible.cfg)
    inventory/hosts     an executable inventory script printing the inventory as JSON
    env/extravars       the job template's extra vars merged with the survey answers (YAML)
    env/envvars         environment: what credentials inject (the built-in "Amazon Web Services"
                        type: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) and where collections are
    env/settings        runner settings

and reads the outcome from ansible-runner's artifacts (status, rc, stdout, job_events/). No prompts:
nothing reads stdin. The emulator stands in for AWS; the only difference from a job
in an execution environment is that ansible-playbook comes from this venv instead of the EE image.
"""

import json
import os
import shutil
import stat
import subprocess
import sys

import ansible_runner
import pytest
import yaml

from tools.ansible_run import BIN
from tools.ansible_run import COLLECTIONS_PATH
from tools.ansible_run import REPO_ROOT

CLUSTER = "keycloak-aurora"
ROSA = "rosa-a"
LIVE = ("pending-acceptance", "provisioning", "active")


@pytest.fixture(autouse=True)
def _no_controller_aws_or_ansible_env(monkeypatch):
    """ansible-runner starts from this process's environment: keep only what the job's envvars give."""
    for key in list(os.environ):
        if key.startswith(("AWS_", "ANSIBLE_")):
            monkeypatch.delenv(key)


def inventory_script(rosa_clusters):
    """AWX writes the inventory as a script that prints it as JSON (with _meta.hostvars)."""
    inventory = {
        "all": {"children": ["rosa_clusters", "ungrouped"]},
        "rosa_clusters": {"hosts": sorted(rosa_clusters), "vars": {"ansible_connection": "local"}},
        "ungrouped": {"hosts": []},
        "_meta": {"hostvars": rosa_clusters},
    }
    return f"#!{sys.executable}\nprint({json.dumps(inventory)!r})\n"


def private_data_dir(tmp_path, emulator, name, extra_vars, rosa_clusters):
    root = tmp_path / name
    project = root / "project"
    shutil.copytree(REPO_ROOT / "playbooks", project / "playbooks")
    shutil.copy(REPO_ROOT / "ansible.cfg", project / "ansible.cfg")

    hosts = root / "inventory" / "hosts"
    hosts.parent.mkdir(parents=True)
    hosts.write_text(inventory_script(rosa_clusters))
    hosts.chmod(hosts.stat().st_mode | stat.S_IXUSR)

    env = root / "env"
    env.mkdir()
    (env / "extravars").write_text(yaml.safe_dump(extra_vars))
    envvars = {
        **emulator.env(),  # the AWS credential's injection, plus the emulator's endpoint and region
        # An AWX project's collections/ or the execution environment's collections: here the checkout.
        "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS_PATH),
        # The EE's ansible-playbook is the one on PATH: this venv's.
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "ANSIBLE_NOCOLOR": "1",
    }
    (env / "envvars").write_text(yaml.safe_dump(envvars))
    (env / "settings").write_text(yaml.safe_dump({"job_timeout": 900, "suppress_ansible_output": True}))
    return root


def run_job(private_dir, playbook):
    # No `binary=`: with it ansible-runner runs that command raw, without the playbook. The
    # ansible-playbook AWX runs is the first on the job's PATH (env/envvars), as in an EE.
    return ansible_runner.run(
        private_data_dir=str(private_dir),
        playbook=playbook,
        ident="job",
        quiet=True,
    )


def artifacts_text(private_dir):
    """Everything the job left behind that AWX would store or show: stdout, events, status."""
    texts = []
    for path in sorted((private_dir / "artifacts").rglob("*")):
        if path.is_file():
            texts.append(path.read_text(errors="replace"))
    return "\n".join(texts)


def assert_successful(run, private_dir):
    stdout = (private_dir / "artifacts" / "job" / "stdout").read_text(errors="replace")
    assert (run.status, run.rc) == ("successful", 0), stdout[-6000:]
    failed = [e for e in run.events if e.get("event") in ("runner_on_failed", "runner_on_unreachable")]
    assert [e for e in failed if not e["event_data"].get("ignore_errors")] == [], stdout[-6000:]


def aurora_vpcs(emulator):
    return emulator.client("ec2").describe_vpcs(Filters=[{"Name": "tag:AuroraCluster", "Values": [CLUSTER]}])["Vpcs"]


def live_peerings(emulator):
    found = emulator.client("ec2").describe_vpc_peering_connections()["VpcPeeringConnections"]
    return [p for p in found if p["Status"]["Code"] in LIVE]


def provision(emulator, tmp_path, rosa_clusters):
    # Survey answers: text as strings, integers as numbers.
    private_dir = private_data_dir(
        tmp_path,
        emulator,
        "provision",
        {"aurora_cluster": CLUSTER, "aurora_region": "eu-west-1", "aurora_instances": 2},
        rosa_clusters,
    )
    run = run_job(private_dir, "playbooks/provision.yml")
    assert_successful(run, private_dir)
    assert run.stats["ok"].keys() == {"localhost", *rosa_clusters}
    return private_dir


def delete(emulator, tmp_path, rosa_clusters, delete_peerings):
    private_dir = private_data_dir(
        tmp_path,
        emulator,
        "delete",
        {"aurora_cluster": CLUSTER, "aurora_region": "eu-west-1", "aurora_delete_peerings": delete_peerings},
        rosa_clusters,
    )
    run = run_job(private_dir, "playbooks/delete.yml")
    assert_successful(run, private_dir)
    return private_dir


def test_provision_and_delete_as_awx_job_templates(emulator, rosa, tmp_path):
    rosa_cluster = rosa(ROSA, machine_cidr="10.0.0.0/16")
    rosa_clusters = {ROSA: {}}

    provision_dir = provision(emulator, tmp_path, rosa_clusters)

    rds = emulator.client("rds")
    [cluster] = rds.describe_db_clusters(DBClusterIdentifier=CLUSTER)["DBClusters"]
    assert cluster["Status"] == "available"
    assert len(cluster["DBClusterMembers"]) == 2
    [vpc] = aurora_vpcs(emulator)
    [peering] = live_peerings(emulator)
    assert peering["Status"]["Code"] == "active"
    assert peering["RequesterVpcInfo"]["VpcId"] == rosa_cluster["vpc_id"]
    assert peering["AccepterVpcInfo"]["VpcId"] == vpc["VpcId"]

    secret = emulator.client("secretsmanager").get_secret_value(SecretId=f"{CLUSTER}-master-password")
    password = json.loads(secret["SecretString"])["password"]
    assert len(password) >= 8

    # A boolean from the job template's extra vars (YAML true); a survey answer is the string
    # "true": see test_delete_with_the_survey_answer_true.
    delete_dir = delete(emulator, tmp_path, rosa_clusters, delete_peerings=True)

    assert rds.describe_db_clusters()["DBClusters"] == []
    assert rds.describe_db_instances()["DBInstances"] == []
    assert aurora_vpcs(emulator) == []
    assert live_peerings(emulator) == []
    groups = emulator.client("ec2").describe_security_groups()["SecurityGroups"]
    assert [g for g in groups if g["GroupName"] == f"{CLUSTER}-security-group"] == []
    assert rds.describe_db_subnet_groups()["DBSubnetGroups"] == []
    secrets = emulator.client("secretsmanager").list_secrets()["SecretList"]
    assert [s for s in secrets if s["Name"] == f"{CLUSTER}-master-password" and not s.get("DeletedDate")] == []
    routes = emulator.client("ec2").describe_route_tables(RouteTableIds=rosa_cluster["private_route_table_ids"])
    assert [r for t in routes["RouteTables"] for r in t["Routes"] if r.get("VpcPeeringConnectionId")] == []

    # What AWX stores and shows of both jobs (stdout, job events) never carries the master password.
    for private_dir in (provision_dir, delete_dir):
        assert (private_dir / "artifacts" / "job" / "job_events").is_dir()
        assert password not in artifacts_text(private_dir)


def test_delete_with_the_survey_answer_true(emulator, rosa, tmp_path):
    rosa(ROSA, machine_cidr="10.0.0.0/16")
    provision(emulator, tmp_path, {ROSA: {}})
    delete(emulator, tmp_path, {ROSA: {}}, delete_peerings="true")
    assert aurora_vpcs(emulator) == [] and live_peerings(emulator) == []


def test_ansible_builder_creates_the_execution_environment_build_context(tmp_path):
    """`ansible-builder create` only writes files (no network, no container engine): the build context."""
    context = tmp_path / "context"
    create = subprocess.run(
        [str(BIN / "ansible-builder"), "create", "-f", "execution-environment.yml", "-c", str(context)]
        + ["--output-filename", "Containerfile"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert create.returncode == 0, create.stdout + create.stderr
    containerfile = (context / "Containerfile").read_text()
    assert "ansible-galaxy collection install" in containerfile
    assert "ansible-core==2.19.14 ansible-runner==2.4.3" in containerfile
    build = context / "_build"
    galaxy = yaml.safe_load((build / "requirements.yml").read_text())
    dependencies = yaml.safe_load((REPO_ROOT / "galaxy.yml").read_text())["dependencies"]
    assert {c["name"]: c["version"] for c in galaxy["collections"]} == {
        "keycloak.aurora": ">=1.0.0,<2.0.0",
        **dependencies,
    }
    # Every pin of requirements.txt but ansible itself: the image's ansible-core runs the collection.
    pinned = [
        line
        for line in (REPO_ROOT / "requirements.txt").read_text().splitlines()
        if line and not line.startswith(("#", "ansible=="))
    ]
    assert (build / "requirements.txt").read_text().split() == pinned

    # In the image, the builder stage runs introspect.py over the installed collections: it finds this
    # collection's meta/execution-environment.yml and takes requirements.txt without its `ansible` line.
    found = tmp_path / "found.txt"
    introspect = subprocess.run(
        [sys.executable, str(build / "scripts" / "introspect.py"), "introspect", "--write-pip", str(found)]
        + [str(COLLECTIONS_PATH)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert introspect.returncode == 0, introspect.stderr
    assert sorted(line.split("#")[0].strip() for line in found.read_text().splitlines()) == sorted(pinned)


def artifact(run, name):
    """What AWX keeps as the job's artifact ``name``: the set_stats data of the playbook's stats event."""
    [stats] = [e for e in run.events if e.get("event") == "playbook_on_stats"]
    return stats["event_data"]["artifact_data"][name]


def test_status_and_the_reaper_as_awx_job_templates_hand_their_results_as_artifacts(emulator, tmp_path):
    from tools.emulator.scripts_made import scripts_deployment

    scripts_deployment(emulator, "kc-scripts")
    answers = {"aurora_region": "eu-west-1", "aurora_regions": "eu-west-1"}
    status_dir = private_data_dir(tmp_path, emulator, "status", answers, {})
    status = run_job(status_dir, "playbooks/status.yml")
    assert_successful(status, status_dir)
    assert [c["identifier"] for c in artifact(status, "aurora_estate")["clusters"]] == ["kc-scripts"]

    # The survey's answers: a float and the string "true".
    reap_answers = {
        "reap_region": "eu-west-1",
        "aurora_regions": "eu-west-1",
        "reap_min_age_hours": 0.0,
        "reap_confirm": "true",
        "aurora_skip_final_snapshot": "true",
    }
    reap_dir = private_data_dir(tmp_path, emulator, "reap", reap_answers, {})
    reap = run_job(reap_dir, "playbooks/reap.yml")
    assert_successful(reap, reap_dir)
    assert artifact(reap, "aurora_reap")["deleted"] == ["eu-west-1/kc-scripts"]
    assert emulator.client("rds").describe_db_clusters()["DBClusters"] == []
    assert emulator.client("rds").describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"] == []
