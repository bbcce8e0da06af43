"""The inventory plugin keycloak.aurora.rosa_clusters against ROSA clusters seeded in the emulator.

ansible-inventory and ansible-playbook read a file named *.rosa_clusters.yml, as a user's would be, and
nothing else: the plugin finds the clusters from EC2 through AWS_ENDPOINT_URL.
"""

import json
import subprocess
from collections import Counter

import yaml
from test_peering import CLUSTER
from test_peering import assert_connected
from test_peering import peering_routes
from test_peering import peerings_of

from tools.ansible_run import BIN
from tools.ansible_run import REPO_ROOT
from tools.ansible_run import ansible_env
from tools.ansible_run import run_playbook
from tools.emulator.faults import FaultProxy
from tools.emulator.faults import region_denied

REGIONS = ["eu-west-1", "us-east-1"]


def inventory_file(tmp_path, name="aws", **options):
    path = tmp_path / f"{name}.rosa_clusters.yml"
    path.write_text(yaml.safe_dump({"plugin": "keycloak.aurora.rosa_clusters", "regions": REGIONS, **options}))
    return path


def ansible_inventory(env, inventory, *args):
    """(returncode, stdout, stderr) of ``ansible-inventory -i <inventory> <args>``."""
    completed = subprocess.run(
        [str(BIN / "ansible-inventory"), "-i", str(inventory), *args],
        env=ansible_env(env, json_output=False),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return completed.returncode, completed.stdout, completed.stderr


def trusted(value):
    """``value`` without the marks --list puts on the strings an inventory plugin sets: Ansible never templates
    those (AWS's data), and the test compares their text."""
    if isinstance(value, dict):
        return (
            value["__ansible_unsafe"]
            if set(value) == {"__ansible_unsafe"}
            else {k: trusted(v) for k, v in value.items()}
        )
    if isinstance(value, list):
        return [trusted(item) for item in value]
    return value


def listed(env, inventory, *args):
    """The inventory as ``ansible-inventory --list`` shows it: ({group: [hosts]}, {host: vars}), and stderr."""
    returncode, stdout, stderr = ansible_inventory(env, inventory, "--list", *args)
    assert returncode == 0, stderr
    document = json.loads(stdout)
    groups = {name: sorted(body.get("hosts", [])) for name, body in document.items() if name != "_meta"}
    return groups, trusted(document["_meta"]["hostvars"]), stderr


def seed_estate(rosa):
    """A classic and an HCP cluster in eu-west-1, one in us-east-1, and one in a region the files do not name."""
    return {
        "alpha": rosa("alpha", machine_cidr="10.0.0.0/16", kind="classic"),
        "beta": rosa("beta", machine_cidr="10.1.0.0/16", kind="hcp", workers=2, azs=2),
        "gamma": rosa("gamma", region="us-east-1", machine_cidr="10.2.0.0/16", kind="classic"),
        "delta": rosa("delta", region="eu-central-1", machine_cidr="10.3.0.0/16"),
    }


def ec2_requests(emulator):
    return Counter(action for service, action in emulator.recorded_actions() if service == "ec2")


def test_one_host_per_rosa_cluster_of_the_regions_with_the_roles_variables(emulator, rosa, tmp_path):
    seeded = seed_estate(rosa)
    rosa("alpha-stopped", machine_cidr="10.4.0.0/16")  # hibernated: still a cluster, and still listed
    stopped = emulator.client("ec2").describe_instances(
        Filters=[{"Name": "tag:api.openshift.com/name", "Values": ["alpha-stopped"]}]
    )
    ids = [i["InstanceId"] for r in stopped["Reservations"] for i in r["Instances"]]
    emulator.client("ec2").stop_instances(InstanceIds=ids)
    # A node of another kind of cluster: tagged with a name, but not as ROSA.
    plain = emulator.client("ec2").run_instances(
        ImageId=emulator.client("ec2").describe_images(Owners=["amazon"])["Images"][0]["ImageId"],
        MinCount=1,
        MaxCount=1,
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "api.openshift.com/name", "Value": "osd"}]}],
    )
    assert plain["Instances"]
    inventory = inventory_file(tmp_path)

    emulator.start_recording()
    groups, hostvars, _stderr = listed(emulator.env(), inventory)
    # Three reads per region, whatever the number of clusters.
    assert ec2_requests(emulator) == {"DescribeInstances": 2, "DescribeVpcs": 2, "DescribeRouteTables": 2}
    assert emulator.mutating_actions() == []

    assert groups["rosa_clusters"] == ["alpha", "alpha-stopped", "beta", "gamma"]
    for name in ("alpha", "beta", "gamma"):
        cluster = seeded[name]
        variables = hostvars[name]
        assert variables["rosa_cluster_name"] == name
        assert variables["rosa_region"] == cluster["region"]
        assert variables["rosa_vpc_id"] == cluster["vpc_id"]
        assert variables["rosa_machine_cidr"] == cluster["machine_cidr"]
        # The tables of the private subnets the workers run in; not the main table of the public subnets.
        assert variables["rosa_route_table_ids"] == sorted(cluster["private_route_table_ids"])
        assert variables["ansible_connection"] == "local"
        assert variables["rosa_account_id"] == "123456789012"
        assert variables["rosa_node_tags"]["api.openshift.com/name"] == name
        assert "Name" not in variables["rosa_node_tags"]  # one per node, not the cluster's
    assert "kubernetes.io/cluster/" + seeded["alpha"]["infra_id"] in hostvars["alpha"]["rosa_node_tags"]

    returncode, graph, stderr = ansible_inventory(emulator.env(), inventory, "--graph")
    assert returncode == 0, stderr
    assert "@rosa_clusters:" in graph and "|--gamma" in graph and "delta" not in graph


def test_the_example_file_lists_the_clusters_by_region(emulator, rosa):
    seed_estate(rosa)
    groups, _hostvars, _stderr = listed(emulator.env(), REPO_ROOT / "playbooks" / "inventory" / "aws.rosa_clusters.yml")
    assert groups["rosa_clusters"] == ["alpha", "beta", "gamma"]
    assert groups["region_eu_west_1"] == ["alpha", "beta"]
    assert groups["region_us_east_1"] == ["gamma"]


def test_include_and_exclude_patterns_choose_the_clusters(emulator, rosa, tmp_path):
    seed_estate(rosa)
    inventory = inventory_file(tmp_path, include_clusters=["a*", "g*"], exclude_clusters=["gam?a"])
    groups, hostvars, _stderr = listed(emulator.env(), inventory)
    assert groups["rosa_clusters"] == ["alpha"]
    assert list(hostvars) == ["alpha"]


def test_keyed_groups_groups_and_compose(emulator, rosa, tmp_path):
    seed_estate(rosa)
    inventory = inventory_file(
        tmp_path,
        keyed_groups=[
            {"key": "rosa_region", "prefix": "region"},
            {"key": "rosa_node_tags['red-hat-clustertype']", "prefix": "type"},
        ],
        groups={"classic": "rosa_node_tags.keys() | select('match', 'kubernetes.io/cluster/') | list | length > 0"},
        compose={"rosa_kubeconfig": "'/kube/' ~ rosa_cluster_name"},
    )
    groups, hostvars, _stderr = listed(emulator.env(), inventory)
    assert groups["region_eu_west_1"] == ["alpha", "beta"]
    assert groups["region_us_east_1"] == ["gamma"]
    assert groups["type_rosa"] == ["alpha", "beta", "gamma"]
    assert groups["classic"] == ["alpha", "gamma"]
    assert hostvars["beta"]["rosa_kubeconfig"] == "/kube/beta"


def test_a_fresh_cache_answers_without_any_ec2_request(emulator, rosa, tmp_path):
    seed_estate(rosa)
    cache = tmp_path / "cache"
    inventory = inventory_file(
        tmp_path, cache=True, cache_plugin="ansible.builtin.jsonfile", cache_connection=str(cache), cache_timeout=3600
    )
    first, first_vars, _stderr = listed(emulator.env(), inventory)
    assert first["rosa_clusters"] == ["alpha", "beta", "gamma"]
    assert list(cache.iterdir()), "the first run fills the cache"

    rosa("epsilon", machine_cidr="10.5.0.0/16")  # new since: the cache does not know it yet
    emulator.start_recording()
    second, second_vars, _stderr = listed(emulator.env(), inventory)
    assert ec2_requests(emulator) == {}
    assert (second, second_vars) == (first, first_vars)

    flushed, _vars, _stderr = listed(emulator.env(), inventory, "--flush-cache")
    assert ec2_requests(emulator)["DescribeInstances"] == 2
    assert flushed["rosa_clusters"] == ["alpha", "beta", "epsilon", "gamma"]


def test_a_region_that_denies_access_is_reported_and_the_others_are_listed(emulator, rosa, tmp_path):
    seed_estate(rosa)
    inventory = inventory_file(tmp_path)
    with FaultProxy(emulator.url, share=0, refuse=[region_denied("us-east-1")]) as proxy:
        groups, hostvars, stderr = listed(proxy.env(), inventory)
        assert proxy.refused == {("ec2", "DescribeInstances"): 1}
    assert groups["rosa_clusters"] == ["alpha", "beta"]
    assert "gamma" not in hostvars
    warning = " ".join(stderr.split())
    assert "The ROSA clusters of region us-east-1 are not listed" in warning
    assert "UnauthorizedOperation" in warning


def test_provision_peering_and_unpeer_with_the_plugin_as_the_only_inventory(emulator, rosa, tmp_path):
    seeded = seed_estate(rosa)
    clusters = [seeded[name] for name in ("alpha", "beta", "gamma")]
    inventory = inventory_file(tmp_path)

    emulator.start_recording()
    run = run_playbook(emulator.env(), "provision.yml", extra_vars={"aurora_cluster": CLUSTER}, inventory=inventory)
    assert run.returncode == 0, run.stdout[-4000:]
    # The entry check knows every variable the plugin sets.
    assert "is not a variable of keycloak.aurora" not in run.stdout + run.stderr
    assert_connected(emulator, clusters)
    # The plugin's reads, once per region: the playbook looked no ROSA network up again.
    assert ec2_requests(emulator)["DescribeInstances"] == len(REGIONS)
    for cluster in clusters:
        # Only the worker subnets' tables route to Aurora: the main table (public subnets) stays as it was.
        client = emulator.client("ec2", cluster["region"])
        [main] = client.describe_route_tables(
            Filters=[
                {"Name": "vpc-id", "Values": [cluster["vpc_id"]]},
                {"Name": "association.main", "Values": ["true"]},
            ]
        )["RouteTables"]
        assert peering_routes(main) == {}

    emulator.start_recording()
    again = run_playbook(emulator.env(), "peering.yml", extra_vars={"aurora_cluster": CLUSTER}, inventory=inventory)
    assert again.returncode == 0, again.stdout[-4000:]
    assert again.changed() == 0
    assert emulator.mutating_actions() == []

    # verify checks every link of every host the plugin found.
    emulator.start_recording()
    verified = run_playbook(emulator.env(), "verify.yml", extra_vars={"aurora_cluster": CLUSTER}, inventory=inventory)
    assert verified.returncode == 0, verified.stdout[-4000:]
    assert sorted(verified.report["stats"]) == ["alpha", "beta", "gamma", "localhost"]
    assert emulator.mutating_actions() == []

    gone = run_playbook(
        emulator.env(),
        "unpeer.yml",
        extra_vars={"aurora_cluster": CLUSTER},
        inventory=inventory,
        args=["--limit", "gamma"],
    )
    assert gone.returncode == 0, gone.stdout[-4000:]
    assert peerings_of(emulator, seeded["gamma"]) == []
    assert_connected(emulator, [seeded["alpha"], seeded["beta"]])
    broken = run_playbook(emulator.env(), "verify.yml", extra_vars={"aurora_cluster": CLUSTER}, inventory=inventory)
    assert broken.returncode != 0
    assert {host for host, stats in broken.report["stats"].items() if stats["failures"]} == {"gamma"}
