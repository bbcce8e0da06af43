"""Peering ROSA clusters with Aurora (provision play 2, peering.yml, unpeer.yml) against the emulator."""

from aurora_side import aurora_network

from tools.ansible_run import rosa_inventory
from tools.ansible_run import run_playbook

CLUSTER = "keycloak-aurora"
LIVE = ("pending-acceptance", "provisioning", "active")
# rosa-a as most tests here seed it: in Aurora's region, its machine CIDR apart from Aurora's.
ROSA_A = {"name": "rosa-a", "machine_cidr": "10.0.0.0/16"}


def play(emulator, playbook, inv, check=False, args=(), **extra_vars):
    return run_playbook(emulator.env(), playbook, extra_vars=extra_vars, inventory=inv, check=check, args=args)


def peerings_of(emulator, rosa_cluster, statuses=LIVE):
    client = emulator.client("ec2", rosa_cluster["region"])
    found = client.describe_vpc_peering_connections(
        Filters=[{"Name": "requester-vpc-info.vpc-id", "Values": [rosa_cluster["vpc_id"]]}]
    )["VpcPeeringConnections"]
    return [p for p in found if p["Status"]["Code"] in statuses]


def peering_routes(table):
    return {
        r["DestinationCidrBlock"]: r["VpcPeeringConnectionId"]
        for r in table["Routes"]
        if r.get("VpcPeeringConnectionId")
    }


def database_cidrs(group):
    return sorted(
        r["CidrIp"]
        for p in group["IpPermissions"]
        if (p["IpProtocol"], p.get("FromPort"), p.get("ToPort")) == ("tcp", 5432, 5432)
        for r in p["IpRanges"]
    )


def region_tags(emulator, region, peering_id):
    """The peering's tags as AWS shows them in ``region``: only those set in that region.

    Read with DescribeTags, which the emulator keeps per region as AWS does (its
    DescribeVpcPeeringConnections shows the requester's tags in both regions).
    """
    ec2 = emulator.client("ec2", region)
    found = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [peering_id]}])["Tags"]
    return {t["Key"]: t["Value"] for t in found}


def scripts_peering(emulator, rosa_cluster, aurora_vpc_id):
    """A peering as keycloak-benchmark's aurora_create_peering_connection.sh makes it: requested in the
    ROSA region tagged AuroraCluster only, accepted in the Aurora region and tagged nothing there."""
    requester = emulator.client("ec2", rosa_cluster["region"])
    peering_id = requester.create_vpc_peering_connection(
        VpcId=rosa_cluster["vpc_id"],
        PeerVpcId=aurora_vpc_id,
        PeerRegion="eu-west-1",
        TagSpecifications=[
            {"ResourceType": "vpc-peering-connection", "Tags": [{"Key": "AuroraCluster", "Value": CLUSTER}]}
        ],
    )["VpcPeeringConnection"]["VpcPeeringConnectionId"]
    emulator.client("ec2").accept_vpc_peering_connection(VpcPeeringConnectionId=peering_id)
    return peering_id


def rosa_tables(emulator, rosa_cluster):
    client = emulator.client("ec2", rosa_cluster["region"])
    return client.describe_route_tables(RouteTableIds=rosa_cluster["private_route_table_ids"])["RouteTables"]


def assert_connected(emulator, rosa_clusters):
    vpc, main, group = aurora_network(emulator, CLUSTER)
    for rosa_cluster in rosa_clusters:
        [connection] = peerings_of(emulator, rosa_cluster)
        assert connection["Status"]["Code"] == "active"
        assert connection["AccepterVpcInfo"]["VpcId"] == vpc["VpcId"]
        peering_id = connection["VpcPeeringConnectionId"]
        for table in rosa_tables(emulator, rosa_cluster):
            assert peering_routes(table) == {vpc["CidrBlock"]: peering_id}
        assert peering_routes(main)[rosa_cluster["machine_cidr"]] == peering_id
    assert peering_routes(main).keys() == {c["machine_cidr"] for c in rosa_clusters}
    assert database_cidrs(group) == sorted(c["machine_cidr"] for c in rosa_clusters)


def test_provision_peers_three_rosa_clusters_in_two_regions(emulator, rosa, tmp_path):
    clusters = [
        rosa("rosa-a", machine_cidr="10.0.0.0/16", kind="classic"),
        rosa("rosa-b", machine_cidr="10.1.0.0/16", kind="hcp"),
        rosa("rosa-c", region="eu-central-1", machine_cidr="10.2.0.0/16", kind="classic"),
    ]
    inv = rosa_inventory(tmp_path, {"rosa-a": {}, "rosa-b": {}, "rosa-c": {"rosa_region": "eu-central-1"}})

    run = play(emulator, "provision.yml", inv, aurora_cluster=CLUSTER)
    assert run.returncode == 0, run.stdout
    assert_connected(emulator, clusters)
    [connection] = peerings_of(emulator, clusters[2])
    assert connection["AccepterVpcInfo"]["Region"] == "eu-west-1"
    peering_id = connection["VpcPeeringConnectionId"]
    expected = {"AuroraCluster": CLUSTER, "RosaCluster": "rosa-c", "Name": f"rosa-c to Aurora {CLUSTER}"}
    # Tagged in the ROSA region when it was requested, and in the Aurora region, whose console and
    # scripts see only the tags set there.
    assert region_tags(emulator, "eu-central-1", peering_id) == expected
    assert region_tags(emulator, "eu-west-1", peering_id) == expected

    emulator.start_recording()
    again = play(emulator, "provision.yml", inv, aurora_cluster=CLUSTER)
    assert again.returncode == 0 and again.changed() == 0
    assert emulator.mutating_actions() == []
    assert_connected(emulator, clusters)


def test_a_cross_region_peering_made_before_gets_its_aurora_side_tags_on_the_next_run(emulator, provisioned, tmp_path):
    [gamma] = provisioned([{"name": "rosa-c", "region": "eu-central-1", "machine_cidr": "10.2.0.0/16"}])
    inv = rosa_inventory(tmp_path, {"rosa-c": {"rosa_region": "eu-central-1"}})
    [connection] = peerings_of(emulator, gamma)
    peering_id = connection["VpcPeeringConnectionId"]
    tags = region_tags(emulator, "eu-central-1", peering_id)
    # What a run from before the accepter side was tagged left behind: tags in the ROSA region only.
    emulator.client("ec2").delete_tags(Resources=[peering_id], Tags=[{"Key": key} for key in tags])
    assert region_tags(emulator, "eu-west-1", peering_id) == {}

    emulator.start_recording()
    check = play(emulator, "peering.yml", inv, check=True, aurora_cluster=CLUSTER)
    assert check.returncode == 0, check.stdout
    assert check.stats("rosa-c")["changed"] == 1
    assert emulator.mutating_actions() == []
    assert region_tags(emulator, "eu-west-1", peering_id) == {}

    emulator.start_recording()
    run = play(emulator, "peering.yml", inv, aurora_cluster=CLUSTER)
    assert run.returncode == 0, run.stdout
    assert run.stats("rosa-c")["changed"] == 1
    assert emulator.mutating_actions() == [("ec2", "CreateTags")]
    assert region_tags(emulator, "eu-west-1", peering_id) == tags
    assert_connected(emulator, [gamma])

    for check_mode in (False, True):
        emulator.start_recording()
        again = play(emulator, "peering.yml", inv, check=check_mode, aurora_cluster=CLUSTER)
        assert again.returncode == 0 and again.changed() == 0, again.stdout
        assert emulator.mutating_actions() == []


def test_a_cross_region_peering_made_by_the_scripts_gets_the_collections_tags_on_its_aurora_side(
    emulator, rosa, provisioned, tmp_path
):
    provisioned()
    gamma = rosa("rosa-c", region="eu-central-1", machine_cidr="10.2.0.0/16")
    vpc, _main, _group = aurora_network(emulator, CLUSTER)
    peering_id = scripts_peering(emulator, gamma, vpc["VpcId"])
    inv = rosa_inventory(tmp_path, {"rosa-c": {"rosa_region": "eu-central-1"}})

    run = play(emulator, "peering.yml", inv, aurora_cluster=CLUSTER, aurora_tags={"team": "sso"})
    assert run.returncode == 0, run.stdout
    assert_connected(emulator, [gamma])
    assert [p["VpcPeeringConnectionId"] for p in peerings_of(emulator, gamma)] == [peering_id]
    assert region_tags(emulator, "eu-west-1", peering_id) == {
        "AuroraCluster": CLUSTER,
        "RosaCluster": "rosa-c",
        "Name": f"rosa-c to Aurora {CLUSTER}",
        "team": "sso",
    }
    # The ROSA side keeps what the scripts gave it: an existing peering is not retagged there.
    assert region_tags(emulator, "eu-central-1", peering_id) == {"AuroraCluster": CLUSTER}


def test_a_same_region_peering_is_not_tagged_again(emulator, rosa, provisioned, tmp_path):
    [alpha] = provisioned([ROSA_A])
    [connection] = peerings_of(emulator, alpha)
    made = region_tags(emulator, "eu-west-1", connection["VpcPeeringConnectionId"])
    assert made == {"AuroraCluster": CLUSTER, "RosaCluster": "rosa-a", "Name": f"rosa-a to Aurora {CLUSTER}"}

    vpc, _main, _group = aurora_network(emulator, CLUSTER)
    beta = rosa("rosa-b", machine_cidr="10.1.0.0/16")
    peering_id = scripts_peering(emulator, beta, vpc["VpcId"])
    emulator.start_recording()
    run = play(emulator, "peering.yml", rosa_inventory(tmp_path, {"rosa-a": {}, "rosa-b": {}}), aurora_cluster=CLUSTER)
    assert run.returncode == 0, run.stdout
    # One region holds one set of tags, the requester's: nothing to read or add on the accepter side.
    actions = emulator.recorded_actions()
    assert ("ec2", "CreateTags") not in actions and ("ec2", "DescribeTags") not in actions
    assert region_tags(emulator, "eu-west-1", connection["VpcPeeringConnectionId"]) == made
    assert region_tags(emulator, "eu-west-1", peering_id) == {"AuroraCluster": CLUSTER}
    assert_connected(emulator, [alpha, beta])


def test_check_mode_on_a_fresh_setup_sends_no_mutating_request(emulator, rosa, tmp_path):
    rosa("rosa-a", machine_cidr="10.0.0.0/16")
    inv = rosa_inventory(tmp_path, {"rosa-a": {}})
    emulator.start_recording()
    run = play(emulator, "provision.yml", inv, check=True, aurora_cluster=CLUSTER)
    assert run.returncode == 0, run.stdout
    assert run.changed() > 0
    assert emulator.mutating_actions() == []


def test_check_mode_of_peering_reports_what_it_would_add(emulator, rosa, provisioned, tmp_path):
    provisioned()
    rosa("rosa-a", machine_cidr="10.0.0.0/16")
    inv = rosa_inventory(tmp_path, {"rosa-a": {}})
    emulator.start_recording()
    run = play(emulator, "peering.yml", inv, check=True, aurora_cluster=CLUSTER)
    assert run.returncode == 0, run.stdout
    assert run.stats("rosa-a")["changed"] == 1
    assert emulator.mutating_actions() == []


def test_ten_rosa_clusters_at_once_are_all_peered_on_the_first_run(emulator, rosa, tmp_path):
    clusters = [rosa(f"rosa-{n}", machine_cidr=f"10.{n}.0.0/16", azs=1) for n in range(10)]
    inv = rosa_inventory(tmp_path, {c["name"]: {} for c in clusters})
    run = play(emulator, "provision.yml", inv, args=["-f", "10"], aurora_cluster=CLUSTER)
    assert run.returncode == 0, run.stdout
    assert_connected(emulator, clusters)


def test_unpeer_one_host_removes_only_its_peering_routes_and_rule(emulator, provisioned, tmp_path):
    alpha, beta = provisioned([ROSA_A, {"name": "rosa-b", "machine_cidr": "10.1.0.0/16"}])
    inv = rosa_inventory(tmp_path, {"rosa-a": {}, "rosa-b": {}})
    [gone] = peerings_of(emulator, alpha)

    run = play(emulator, "unpeer.yml", inv, args=["--limit", "rosa-a"], aurora_cluster=CLUSTER)
    assert run.returncode == 0, run.stdout
    assert run.stats("rosa-a")["changed"] == 1
    assert peerings_of(emulator, alpha) == []
    assert [p["Status"]["Code"] for p in peerings_of(emulator, alpha, ["deleted"])] == ["deleted"]
    assert all(peering_routes(t) == {} for t in rosa_tables(emulator, alpha))
    _vpc, main, group = aurora_network(emulator, CLUSTER)
    assert gone["VpcPeeringConnectionId"] not in peering_routes(main).values()
    assert database_cidrs(group) == ["10.1.0.0/16"]
    assert_connected(emulator, [beta])

    emulator.start_recording()
    again = play(emulator, "unpeer.yml", inv, args=["--limit", "rosa-a"], aurora_cluster=CLUSTER)
    assert again.returncode == 0 and again.changed() == 0
    assert emulator.mutating_actions() == []


def test_unpeer_without_a_cluster_disconnects_from_every_aurora_cluster(emulator, rosa, tmp_path):
    alpha = rosa("rosa-a", machine_cidr="10.0.0.0/16")
    inv = rosa_inventory(tmp_path, {"rosa-a": {}})
    for cluster in (CLUSTER, "second-aurora"):
        assert play(emulator, "provision.yml", inv, aurora_cluster=cluster, aurora_instances=1).returncode == 0
    assert len(peerings_of(emulator, alpha)) == 2

    run = play(emulator, "unpeer.yml", inv, aurora_unpeer_confirm="every-aurora-cluster")
    assert run.returncode == 0, run.stdout
    assert peerings_of(emulator, alpha) == []
    assert all(peering_routes(t) == {} for t in rosa_tables(emulator, alpha))
    for cluster in (CLUSTER, "second-aurora"):
        _vpc, main, group = aurora_network(emulator, cluster)
        assert peering_routes(main) == {} and database_cidrs(group) == []


def test_unpeer_after_the_rosa_nodes_are_gone(emulator, provisioned, tmp_path):
    [alpha] = provisioned([ROSA_A])
    inv = rosa_inventory(tmp_path, {"rosa-a": {}})
    emulator.client("ec2").terminate_instances(InstanceIds=alpha["instance_ids"])

    run = play(emulator, "unpeer.yml", inv, aurora_cluster=CLUSTER)
    assert run.returncode == 0, run.stdout
    assert peerings_of(emulator, alpha) == []
    assert all(peering_routes(t) == {} for t in rosa_tables(emulator, alpha))
    _vpc, main, group = aurora_network(emulator, CLUSTER)
    assert peering_routes(main) == {} and database_cidrs(group) == []


def test_an_overlapping_machine_cidr_is_refused_before_any_peering(emulator, rosa, tmp_path):
    rosa("rosa-a", machine_cidr="10.0.0.0/16")
    assert (
        play(
            emulator,
            "provision.yml",
            rosa_inventory(tmp_path, {}),
            aurora_cluster=CLUSTER,
            aurora_vpc_cidr="10.0.5.0/24",
        ).returncode
        == 0
    )
    emulator.start_recording()
    run = play(emulator, "peering.yml", rosa_inventory(tmp_path, {"rosa-a": {}}), aurora_cluster=CLUSTER)
    assert run.returncode != 0
    assert "10.0.0.0/16" in run.stdout and "10.0.5.0/24" in run.stdout
    assert emulator.mutating_actions() == []


def test_a_new_aurora_vpc_avoids_the_rosa_machine_cidrs(emulator, rosa, tmp_path):
    alpha = rosa("rosa-a", machine_cidr="192.168.0.0/23")
    run = play(emulator, "provision.yml", rosa_inventory(tmp_path, {"rosa-a": {}}), aurora_cluster=CLUSTER)
    assert run.returncode == 0, run.stdout
    vpc, _main, _group = aurora_network(emulator, CLUSTER)
    assert vpc["CidrBlock"] == "192.168.2.0/24"
    assert_connected(emulator, [alpha])


def test_an_unknown_rosa_cluster_fails_alone(emulator, rosa, tmp_path):
    alpha = rosa("rosa-a", machine_cidr="10.0.0.0/16")
    inv = rosa_inventory(tmp_path, {"rosa-a": {}, "ghost": {}})
    run = play(emulator, "provision.yml", inv, aurora_cluster=CLUSTER)
    assert run.returncode != 0
    assert run.stats("ghost")["failures"] == 1
    assert "api.openshift.com/name=ghost" in run.stdout and "eu-west-1" in run.stdout
    assert run.stats("rosa-a")["failures"] == 0
    assert_connected(emulator, [alpha])
