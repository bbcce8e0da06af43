"""Throttling: the lifecycle survives a fifth of all AWS requests throttled.

The playbooks talk to a FaultProxy (tools/emulator/faults.py) in front of the emulator, which
answers every fifth AWS request with AWS's own throttling error for its protocol. Seeding and
every end-state check go to the emulator directly, never through the proxy.
"""

import json
import time
import urllib.request

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.retries.standard import RetryContext
from botocore.retries.standard import ThrottledRetryableChecker

from tools.ansible_run import rosa_inventory
from tools.ansible_run import run_playbook
from tools.emulator.faults import FaultProxy
from tools.emulator.faults import no_capacity
from tools.emulator.faults import region_denied
from tools.emulator.faults import snapshot_quota_reached

CLUSTER = "keycloak-aurora"
SHARE = 0.2
REGIONS = ("eu-west-1", "eu-central-1")
LIVE = ("initiating-request", "pending-acceptance", "provisioning", "active")


@pytest.fixture
def proxy(emulator):
    with FaultProxy(emulator.url, share=SHARE) as fault_proxy:
        yield fault_proxy


def no_retry_client(proxy, service, region="eu-west-1"):
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=proxy.url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}),
    )


def error_of(call):
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["ResponseMetadata"]["HTTPStatusCode"], raised.value.response["Error"]["Code"]


# the proxy's answers, as botocore parses them


def test_each_protocol_is_throttled_with_its_own_error_that_botocore_recognises(emulator):
    with FaultProxy(emulator.url, share=1.0) as proxy:
        ec2, rds, secrets, sts = (no_retry_client(proxy, s) for s in ("ec2", "rds", "secretsmanager", "sts"))
        assert error_of(ec2.describe_vpcs) == (503, "RequestLimitExceeded")
        assert error_of(rds.describe_db_clusters) == (400, "Throttling")
        assert error_of(secrets.list_secrets) == (400, "ThrottlingException")
        assert error_of(sts.get_caller_identity) == (400, "Throttling")
        # the same logical request is never throttled twice in a row, so a retry always gets through
        assert ec2.describe_vpcs()["Vpcs"]
        assert rds.describe_db_clusters()["DBClusters"] == []
        assert secrets.list_secrets()["SecretList"] == []
        assert sts.get_caller_identity()["Account"]
        assert proxy.injected == {
            ("ec2", "DescribeVpcs"): 1,
            ("rds", "DescribeDBClusters"): 1,
            ("secretsmanager", "ListSecrets"): 1,
            ("sts", "GetCallerIdentity"): 1,
        }


def test_botocore_classifies_the_answers_as_throttling_and_its_retries_absorb_them(emulator):
    checker = ThrottledRetryableChecker()
    with FaultProxy(emulator.url, share=1.0) as proxy:
        for service, call in (
            ("ec2", "describe_vpcs"),
            ("rds", "describe_db_clusters"),
            ("secretsmanager", "list_secrets"),
        ):
            with pytest.raises(ClientError) as raised:
                getattr(no_retry_client(proxy, service), call)()
            parsed = raised.value.response
            context = RetryContext(attempt_number=1, parsed_response=parsed)
            assert checker.is_retryable(context), parsed["Error"]
        # with botocore's default retries the throttles are invisible to the caller
        proxy.reset()
        retrying = boto3.client(
            "ec2",
            region_name="eu-west-1",
            endpoint_url=proxy.url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        for _attempt in range(3):
            retrying.describe_vpcs()
        assert proxy.injected[("ec2", "DescribeVpcs")] == 3


def test_a_request_retried_by_calling_the_client_again_is_not_throttled_twice(emulator):
    """AWSRetry calls the client again: botocore fills a new ClientRequestToken, still the same request."""
    with FaultProxy(emulator.url, share=1.0) as proxy:
        secrets = no_retry_client(proxy, "secretsmanager")
        assert error_of(lambda: secrets.create_secret(Name="s", SecretString="x")) == (400, "ThrottlingException")
        assert secrets.create_secret(Name="s", SecretString="x")["Name"] == "s"
        assert proxy.injected == {("secretsmanager", "CreateSecret"): 1}


def test_a_share_throttles_that_share_and_requests_to_moto_api_pass(emulator):
    with FaultProxy(emulator.url, share=SHARE) as proxy:
        ec2 = no_retry_client(proxy, "ec2")
        outcomes = []
        for _attempt in range(20):
            try:
                ec2.describe_availability_zones(
                    Filters=[{"Name": "zone-name", "Values": [f"eu-west-1{len(outcomes)}"]}]
                )
                outcomes.append("ok")
            except ClientError as exc:
                outcomes.append(exc.response["Error"]["Code"])
        assert outcomes == (["ok"] * 4 + ["RequestLimitExceeded"]) * 4
        assert proxy.injected == {("ec2", "DescribeAvailabilityZones"): 4}
        for _attempt in range(10):
            with urllib.request.urlopen(f"{proxy.url}/moto-api/", timeout=10) as response:
                assert response.status == 200
        assert sum(proxy.injected.values()) == 4


def test_a_denied_action_is_answered_with_the_permission_error_of_its_protocol(emulator):
    deny = {"CreateVpcPeeringConnection", "CreateDBCluster", "CreateSecret"}
    with FaultProxy(emulator.url, share=0, deny=deny) as proxy:
        ec2, rds = no_retry_client(proxy, "ec2"), no_retry_client(proxy, "rds")
        secrets = no_retry_client(proxy, "secretsmanager")
        [vpc] = ec2.describe_vpcs()["Vpcs"]

        def peer():
            return ec2.create_vpc_peering_connection(VpcId=vpc["VpcId"], PeerVpcId=vpc["VpcId"])

        assert error_of(peer) == (403, "UnauthorizedOperation")
        assert error_of(peer) == (403, "UnauthorizedOperation"), "denied every time, not just once"

        def create():
            return rds.create_db_cluster(
                DBClusterIdentifier="x", Engine="aurora-postgresql", MasterUsername="u", MasterUserPassword="p" * 8
            )

        assert error_of(create) == (403, "AccessDenied")
        # AWS's JSON services answer it with HTTP 400 (the "Common Errors" of their API references)
        assert error_of(lambda: secrets.create_secret(Name="s", SecretString="x")) == (400, "AccessDeniedException")
        assert proxy.denied == {
            ("ec2", "CreateVpcPeeringConnection"): 2,
            ("rds", "CreateDBCluster"): 1,
            ("secretsmanager", "CreateSecret"): 1,
        }
        assert proxy.injected == {}
    assert emulator.client("ec2").describe_vpc_peering_connections()["VpcPeeringConnections"] == []
    assert emulator.client("rds").describe_db_clusters()["DBClusters"] == []
    assert emulator.client("secretsmanager").list_secrets()["SecretList"] == []


def test_refusals_answer_matching_requests_with_awss_error_every_time(emulator):
    with FaultProxy(emulator.url, share=0, refuse=[no_capacity("eu-west-1a"), snapshot_quota_reached()]) as proxy:
        rds = no_retry_client(proxy, "rds")
        rds.create_db_cluster(
            DBClusterIdentifier="kc", Engine="aurora-postgresql", MasterUsername="u", MasterUserPassword="p" * 8
        )

        def instance(number, zone):
            return rds.create_db_instance(
                DBInstanceIdentifier=f"kc-instance-{number}",
                DBClusterIdentifier="kc",
                Engine="aurora-postgresql",
                DBInstanceClass="db.t4g.large",
                AvailabilityZone=zone,
            )

        assert error_of(lambda: instance(1, "eu-west-1a")) == (400, "InsufficientDBInstanceCapacity")
        assert error_of(lambda: instance(1, "eu-west-1a")) == (400, "InsufficientDBInstanceCapacity"), "every time"
        instance(1, "eu-west-1b")
        rds.delete_db_instance(DBInstanceIdentifier="kc-instance-1")

        def delete(**final):
            return rds.delete_db_cluster(DBClusterIdentifier="kc", **final)

        assert error_of(lambda: delete(FinalDBSnapshotIdentifier="kc-final-1")) == (400, "SnapshotQuotaExceeded")
        assert [c["DBClusterIdentifier"] for c in emulator.client("rds").describe_db_clusters()["DBClusters"]] == ["kc"]
        delete(SkipFinalSnapshot=True)
        assert proxy.refused == {("rds", "CreateDBInstance"): 2, ("rds", "DeleteDBCluster"): 1}
        assert proxy.injected == {} and proxy.denied == {}
    assert emulator.client("rds").describe_db_clusters()["DBClusters"] == []


def test_a_denied_region_refuses_its_requests_and_the_other_regions_answer(emulator):
    with FaultProxy(emulator.url, share=0, refuse=[region_denied("us-west-2")]) as proxy:
        denied = no_retry_client(proxy, "ec2", region="us-west-2")
        assert error_of(denied.describe_instances) == (403, "UnauthorizedOperation")
        assert error_of(denied.describe_instances) == (403, "UnauthorizedOperation"), "every time"
        assert denied.describe_vpcs()["Vpcs"], "only the action named"
        assert no_retry_client(proxy, "ec2", region="eu-west-1").describe_instances()["Reservations"] == []
        assert proxy.refused == {("ec2", "DescribeInstances"): 2}


# the collection's own retries (amazon.aws AWSRetry), with botocore's retries off


def test_the_collections_retries_alone_absorb_ec2_and_rds_throttling(emulator):
    from ansible_collections.keycloak.aurora.plugins.module_utils import network
    from ansible_collections.keycloak.aurora.plugins.module_utils import rds_cluster

    with FaultProxy(emulator.url, share=1.0) as proxy:
        assert network.describe_db_subnet_group(no_retry_client(proxy, "rds"), "none") is None
        assert rds_cluster.describe_db_cluster(no_retry_client(proxy, "rds"), "none") is None
        network.create_tags(
            no_retry_client(proxy, "ec2"), emulator.client("ec2").describe_vpcs()["Vpcs"][0]["VpcId"], {"a": "b"}
        )
        assert proxy.injected == {
            ("rds", "DescribeDBSubnetGroups"): 1,
            ("rds", "DescribeDBClusters"): 1,
            ("ec2", "CreateTags"): 1,
        }


def test_the_collections_retries_alone_absorb_secrets_manager_throttling(emulator):
    from ansible_collections.keycloak.aurora.plugins.module_utils import secret

    emulator.client("secretsmanager").create_secret(Name="s", SecretString='{"username": "keycloak", "password": "x"}')
    with FaultProxy(emulator.url, share=1.0) as proxy:
        assert secret.read_credentials(no_retry_client(proxy, "secretsmanager"), "s") == ("keycloak", "x")
        assert proxy.injected == {("secretsmanager", "GetSecretValue"): 1}


# the lifecycle under throttling


def failures(run):
    """The failed tasks of a run (host, task, message), or its raw output when it is not JSON."""
    try:
        report = run.report
    except ValueError:
        return run.stdout[-4000:] + run.stderr[-4000:]
    found = []
    for play in report["plays"]:
        for task in play["tasks"]:
            for host, result in task["hosts"].items():
                if result.get("failed") or result.get("unreachable"):
                    found.append((host, task["task"]["name"], result.get("msg"), result.get("exception", "")[-1500:]))
    return json.dumps(found, indent=1) + run.stderr[-2000:]


def rosa_peerings(emulator, rosa_cluster, statuses=LIVE):
    client = emulator.client("ec2", rosa_cluster["region"])
    found = client.describe_vpc_peering_connections(
        Filters=[{"Name": "requester-vpc-info.vpc-id", "Values": [rosa_cluster["vpc_id"]]}]
    )["VpcPeeringConnections"]
    return [p for p in found if p["Status"]["Code"] in statuses]


def all_peerings(emulator):
    """Every peering of both regions by id (a cross-region one shows in each): live and deleted."""
    return {
        p["VpcPeeringConnectionId"]: p["Status"]["Code"]
        for region in REGIONS
        for p in emulator.client("ec2", region).describe_vpc_peering_connections()["VpcPeeringConnections"]
    }


def rosa_routes(emulator, rosa_cluster):
    client = emulator.client("ec2", rosa_cluster["region"])
    tables = client.describe_route_tables(RouteTableIds=rosa_cluster["private_route_table_ids"])["RouteTables"]
    return [
        (t["RouteTableId"], r["DestinationCidrBlock"], r["VpcPeeringConnectionId"])
        for t in tables
        for r in t["Routes"]
        if r.get("VpcPeeringConnectionId")
    ]


def aurora_side(emulator):
    """(vpc, peering routes of its main table {cidr: peering}, database ingress CIDRs) of CLUSTER."""
    ec2 = emulator.client("ec2")
    [vpc] = ec2.describe_vpcs(Filters=[{"Name": "tag:AuroraCluster", "Values": [CLUSTER]}])["Vpcs"]
    by_vpc = {"Name": "vpc-id", "Values": [vpc["VpcId"]]}
    [main] = ec2.describe_route_tables(Filters=[by_vpc, {"Name": "association.main", "Values": ["true"]}])[
        "RouteTables"
    ]
    [group] = ec2.describe_security_groups(
        Filters=[by_vpc, {"Name": "group-name", "Values": [f"{CLUSTER}-security-group"]}]
    )["SecurityGroups"]
    routes = {
        r["DestinationCidrBlock"]: r["VpcPeeringConnectionId"]
        for r in main["Routes"]
        if r.get("VpcPeeringConnectionId")
    }
    cidrs = sorted(
        r["CidrIp"]
        for p in group["IpPermissions"]
        if (p["IpProtocol"], p.get("FromPort"), p.get("ToPort")) == ("tcp", 5432, 5432)
        for r in p["IpRanges"]
    )
    return vpc, routes, cidrs


def assert_connected(emulator, connected, disconnected=()):
    vpc, main_routes, cidrs = aurora_side(emulator)
    for rosa_cluster in connected:
        [peering] = rosa_peerings(emulator, rosa_cluster)
        assert peering["Status"]["Code"] == "active"
        assert peering["AccepterVpcInfo"]["VpcId"] == vpc["VpcId"]
        peering_id = peering["VpcPeeringConnectionId"]
        routes = rosa_routes(emulator, rosa_cluster)
        assert {(cidr, pcx) for _table, cidr, pcx in routes} == {(vpc["CidrBlock"], peering_id)}
        assert len(routes) == len(rosa_cluster["private_route_table_ids"])
        assert main_routes.get(rosa_cluster["machine_cidr"]) == peering_id
    for rosa_cluster in disconnected:
        assert rosa_peerings(emulator, rosa_cluster) == []
        assert rosa_routes(emulator, rosa_cluster) == []
    assert main_routes.keys() == {c["machine_cidr"] for c in connected}
    assert cidrs == sorted(c["machine_cidr"] for c in connected)


def tagged_leftovers(emulator):
    """Everything of CLUSTER still in the emulator; all empty once it is deleted."""
    ec2, rds = emulator.client("ec2"), emulator.client("rds")
    tagged = [{"Name": "tag:AuroraCluster", "Values": [CLUSTER]}]
    secrets = emulator.client("secretsmanager").list_secrets(IncludePlannedDeletion=False)["SecretList"]
    return {
        "vpcs": [v["VpcId"] for v in ec2.describe_vpcs(Filters=tagged)["Vpcs"]],
        "subnets": [s["SubnetId"] for s in ec2.describe_subnets(Filters=tagged)["Subnets"]],
        "security_groups": [
            g["GroupId"]
            for g in ec2.describe_security_groups()["SecurityGroups"]
            if g["GroupName"] == f"{CLUSTER}-security-group"
        ],
        "subnet_groups": [
            g["DBSubnetGroupName"]
            for g in rds.describe_db_subnet_groups()["DBSubnetGroups"]
            if g["DBSubnetGroupName"].startswith(CLUSTER)
        ],
        "clusters": [c["DBClusterIdentifier"] for c in rds.describe_db_clusters()["DBClusters"]],
        "instances": [i["DBInstanceIdentifier"] for i in rds.describe_db_instances()["DBInstances"]],
        "secrets": [s["Name"] for s in secrets if s["Name"].startswith(CLUSTER) and not s.get("DeletedDate")],
        "live_peerings": sorted(pcx for pcx, status in all_peerings(emulator).items() if status in LIVE),
    }


NOTHING_LEFT = {
    "vpcs": [],
    "subnets": [],
    "security_groups": [],
    "subnet_groups": [],
    "clusters": [],
    "instances": [],
    "secrets": [],
    "live_peerings": [],
}


def test_the_whole_lifecycle_succeeds_with_a_fifth_of_all_requests_throttled(emulator, rosa, proxy, tmp_path):
    alpha = rosa("rosa-a", machine_cidr="10.0.0.0/16", kind="classic")
    beta = rosa("rosa-b", region="eu-central-1", machine_cidr="10.1.0.0/16", kind="hcp")
    inv = rosa_inventory(tmp_path, {"rosa-a": {}, "rosa-b": {"rosa_region": "eu-central-1"}})
    timings = {}

    def step(name, playbook, args=(), **extra_vars):
        started = time.monotonic()
        before = sum(proxy.injected.values())
        extra_vars = {"aurora_cluster": CLUSTER, **extra_vars}
        run = run_playbook(proxy.env(), playbook, extra_vars=extra_vars, inventory=inv, args=args)
        timings[name] = (round(time.monotonic() - started, 1), sum(proxy.injected.values()) - before)
        assert run.returncode == 0, f"{name} failed under throttling:\n{failures(run)}\n{proxy.report()}"
        return run

    step("provision", "provision.yml")
    assert_connected(emulator, [alpha, beta])
    [created] = [tagged_leftovers(emulator)["vpcs"]]
    assert len(created) == 1

    step("unpeer rosa-a", "unpeer.yml", args=["--limit", "rosa-a"])
    assert_connected(emulator, [beta], disconnected=[alpha])

    run = step("cascading delete", "delete.yml", aurora_delete_peerings=True)
    print(f"\nfault proxy, {SHARE:.0%} throttled; per step (seconds, faults): {timings}\n{proxy.report()}")

    # the end state of the same lifecycle without faults (test_delete.py, test_peering.py)
    assert tagged_leftovers(emulator) == NOTHING_LEFT
    assert sorted(all_peerings(emulator).values()) == ["deleted", "deleted"], "one peering per ROSA cluster, ever"
    assert rosa_routes(emulator, alpha) == [] and rosa_routes(emulator, beta) == []
    snapshots = emulator.client("rds").describe_db_cluster_snapshots(DBClusterIdentifier=CLUSTER)["DBClusterSnapshots"]
    finals = [s["DBClusterSnapshotIdentifier"] for s in snapshots if s["SnapshotType"] == "manual"]
    [deleted] = [
        task["hosts"]["localhost"]["msg"]
        for play in run.report["plays"]
        for task in play["tasks"]
        if task["task"]["name"].endswith("Report what was deleted")
    ]
    assert finals == [deleted["final_snapshot"]] and finals[0].startswith(f"{CLUSTER}-final-")

    services = {service for service, _action in proxy.injected}
    assert {"ec2", "rds", "secretsmanager"} <= services, proxy.report()
    seen = sum(proxy.seen.values())
    assert sum(proxy.injected.values()) >= seen * SHARE - 2 * len(services), proxy.report()
